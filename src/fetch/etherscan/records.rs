//! The JSON the explorers answer with, and pure conversions of it into the model's terms.
//!
//! - Account lists (`txlist`, `txlistinternal`, `tokentx`): every field is a decimal string
//!   (Etherscan documents them so); a number or `null` is accepted as well. Blockscout's
//!   `txlistinternal` names the hash `transactionHash` and gives the frame's pre-order `index`
//!   and `callType` instead of Etherscan's `hash` and `traceId`; its `tokentx` adds `logIndex`.
//! - Proxy answers (`eth_getTransactionReceipt`, `eth_getTransactionByHash`, blocks) are
//!   standard JSON-RPC objects with hex quantities.
//! - Blockscout's REST `raw-trace` is the parity (`trace_*`) format with `traceAddress`.
//!
//! Nothing here does I/O; `super` turns these rows into transfers.

use std::collections::HashSet;

use alloy_primitives::{Address as EvmAddress, B256, Bytes, U64, U256, b256};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::model::{Address, Amount, Chain, TxHash};

/// topic0 of `Transfer(address,address,uint256)`.
pub(super) const TRANSFER_TOPIC: B256 =
    b256!("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

/// A string field that may come as a string, a number or `null` (→ "").
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    })
}

/// One `txlist` row (Etherscan and Blockscout name the fields the same way).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TxRecord {
    #[serde(deserialize_with = "text", default)]
    pub block_number: String,
    #[serde(deserialize_with = "text", default)]
    pub time_stamp: String,
    #[serde(deserialize_with = "text", default)]
    pub hash: String,
    #[serde(deserialize_with = "text", default)]
    pub transaction_index: String,
    #[serde(deserialize_with = "text", default)]
    pub from: String,
    #[serde(deserialize_with = "text", default)]
    pub to: String,
    #[serde(deserialize_with = "text", default)]
    pub value: String,
    #[serde(deserialize_with = "text", default)]
    pub gas_price: String,
    #[serde(deserialize_with = "text", default)]
    pub gas_used: String,
    #[serde(deserialize_with = "text", default)]
    pub is_error: String,
    #[serde(rename = "txreceipt_status", deserialize_with = "text", default)]
    pub receipt_status: String,
    #[serde(deserialize_with = "text", default)]
    pub contract_address: String,
}

/// One `txlistinternal` row, either flavour.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct InternalRecord {
    #[serde(deserialize_with = "text", default)]
    pub block_number: String,
    #[serde(deserialize_with = "text", default)]
    pub time_stamp: String,
    /// Etherscan.
    #[serde(deserialize_with = "text", default)]
    pub hash: String,
    /// Blockscout.
    #[serde(deserialize_with = "text", default)]
    pub transaction_hash: String,
    #[serde(deserialize_with = "text", default)]
    pub from: String,
    #[serde(deserialize_with = "text", default)]
    pub to: String,
    #[serde(deserialize_with = "text", default)]
    pub value: String,
    #[serde(deserialize_with = "text", default)]
    pub contract_address: String,
    #[serde(rename = "type", deserialize_with = "text", default)]
    pub kind: String,
    /// Blockscout: `call`, `delegatecall`, `staticcall`, `callcode` for `type` = `call`.
    #[serde(deserialize_with = "text", default)]
    pub call_type: String,
    /// Etherscan: the frame's trace address, child indexes joined by `_`.
    #[serde(deserialize_with = "text", default)]
    pub trace_id: String,
    #[serde(deserialize_with = "text", default)]
    pub is_error: String,
}

/// One `tokentx` row.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TokenRecord {
    #[serde(deserialize_with = "text", default)]
    pub block_number: String,
    #[serde(deserialize_with = "text", default)]
    pub time_stamp: String,
    #[serde(deserialize_with = "text", default)]
    pub hash: String,
    #[serde(deserialize_with = "text", default)]
    pub transaction_index: String,
    #[serde(deserialize_with = "text", default)]
    pub from: String,
    #[serde(deserialize_with = "text", default)]
    pub to: String,
    #[serde(deserialize_with = "text", default)]
    pub value: String,
    #[serde(deserialize_with = "text", default)]
    pub contract_address: String,
    #[serde(deserialize_with = "text", default)]
    pub token_symbol: String,
    #[serde(deserialize_with = "text", default)]
    pub token_decimal: String,
    /// Blockscout only (Etherscan's documented `tokentx` has no log index).
    #[serde(deserialize_with = "text", default)]
    pub log_index: String,
}

/// A field that does not parse: (field, value, expectation).
pub(super) type Bad = String;

fn bad(field: &str, value: &str, want: &str) -> Bad {
    format!("{field} '{value}' is not {want}")
}

/// A decimal (or `0x` hex) non-negative integer that fits in u64.
pub(super) fn num(field: &str, s: &str) -> Result<u64, Bad> {
    let t = s.trim();
    let r = match t.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse::<u64>().ok(),
    };
    r.ok_or_else(|| bad(field, s, "a block/index number"))
}

/// A u32 index.
pub(super) fn index(field: &str, s: &str) -> Result<u32, Bad> {
    u32::try_from(num(field, s)?).map_err(|_| bad(field, s, "an index below 2^32"))
}

/// Seconds since the epoch.
pub(super) fn time(field: &str, s: &str) -> Result<i64, Bad> {
    i64::try_from(num(field, s)?).map_err(|_| bad(field, s, "a Unix time"))
}

/// An exact amount: decimal base units (`0x` hex accepted).
pub(super) fn amount(field: &str, s: &str) -> Result<Amount, Bad> {
    let t = s.trim();
    if let Some(h) = t.strip_prefix("0x") {
        return U256::from_str_radix(h, 16)
            .map(Amount)
            .map_err(|_| bad(field, s, "a hex quantity"));
    }
    Amount::parse_base_units(t).map_err(|_| bad(field, s, "a decimal amount in base units"))
}

/// An address, or `None` for an empty field.
pub(super) fn opt_addr(chain: Chain, field: &str, s: &str) -> Result<Option<Address>, Bad> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    Address::parse(chain, t)
        .map(Some)
        .map_err(|e| format!("{field}: {e}"))
}

/// An address that must be there.
pub(super) fn addr(chain: Chain, field: &str, s: &str) -> Result<Address, Bad> {
    opt_addr(chain, field, s)?.ok_or_else(|| bad(field, s, "an address"))
}

/// A transaction hash.
pub(super) fn tx_hash(field: &str, s: &str) -> Result<TxHash, Bad> {
    TxHash::parse(s).map_err(|e| format!("{field}: {e}"))
}

/// Etherscan's `traceId` (`0`, `0_1`, `0_1_1`) as a trace address.
pub(super) fn trace_path(s: &str) -> Result<Vec<u32>, Bad> {
    let path = s
        .trim()
        .split('_')
        .map(|p| p.parse::<u32>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| bad("traceId", s, "a trace address like 0_1"))?;
    if path.is_empty() {
        return Err(bad("traceId", s, "a trace address like 0_1"));
    }
    Ok(path)
}

/// `isError` / `txreceipt_status` flags: true when the row says it failed.
pub(super) fn failed(is_error: &str, receipt_status: &str) -> bool {
    is_error.trim() == "1" || receipt_status.trim() == "0"
}

/// Whether a frame of this kind moves its value (CALL, CREATE, CREATE2, SELFDESTRUCT); the
/// delegating and static calls move nothing.
pub(super) fn moves_value(kind: &str, call_type: &str) -> bool {
    let k = kind.trim().to_ascii_lowercase();
    let c = call_type.trim().to_ascii_lowercase();
    match k.as_str() {
        "call" => matches!(c.as_str(), "" | "call"),
        "create" | "create2" | "selfdestruct" | "suicide" => true,
        _ => false,
    }
}

/// One frame of a call tree with its trace address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Frame {
    /// Trace address (empty for the root).
    pub path: Vec<u32>,
    /// CALL / CREATE / CREATE2 / SELFDESTRUCT.
    pub moves_value: bool,
    /// Sender of the value.
    pub from: EvmAddress,
    /// Receiver; `None` when unknown (failed CREATE).
    pub to: Option<EvmAddress>,
    /// Value carried.
    pub value: U256,
    /// This frame itself failed.
    pub failed: bool,
}

/// True when neither the frame at `path` nor any frame above it (the root included) is in
/// `failed`.
pub(super) fn alive(path: &[u32], failed: &HashSet<Vec<u32>>) -> bool {
    !(0..=path.len()).any(|n| failed.contains(&path[..n]))
}

/// Value moves below the root of a complete call tree: frames that move value > 0, with a
/// receiver, whose own frame and ancestors all succeeded. In `frames` order.
pub(super) fn surviving(frames: &[Frame]) -> Vec<&Frame> {
    let failed: HashSet<Vec<u32>> = frames
        .iter()
        .filter(|f| f.failed)
        .map(|f| f.path.clone())
        .collect();
    frames
        .iter()
        .filter(|f| {
            !f.path.is_empty()
                && f.moves_value
                && !f.value.is_zero()
                && f.to.is_some()
                && alive(&f.path, &failed)
        })
        .collect()
}

/// A parity-format trace entry (Blockscout `raw-trace`), the fields transfers need.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTrace {
    #[serde(default)]
    action: RawAction,
    #[serde(default)]
    result: Option<RawResult>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    trace_address: Vec<u32>,
    #[serde(rename = "type", deserialize_with = "text", default)]
    kind: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAction {
    #[serde(deserialize_with = "text", default)]
    call_type: String,
    #[serde(deserialize_with = "text", default)]
    from: String,
    #[serde(deserialize_with = "text", default)]
    to: String,
    #[serde(deserialize_with = "text", default)]
    value: String,
    /// SELFDESTRUCT: the destroyed contract.
    #[serde(deserialize_with = "text", default)]
    address: String,
    /// SELFDESTRUCT: the beneficiary.
    #[serde(deserialize_with = "text", default)]
    refund_address: String,
    /// SELFDESTRUCT: the balance sent.
    #[serde(deserialize_with = "text", default)]
    balance: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct RawResult {
    /// CREATE: the new contract.
    #[serde(deserialize_with = "text", default)]
    address: String,
}

fn evm(chain: Chain, field: &str, s: &str) -> Result<Option<EvmAddress>, Bad> {
    Ok(opt_addr(chain, field, s)?.and_then(|a| a.as_evm().copied()))
}

/// The frames of a parity-format trace list, sorted into pre-order. Rewards are skipped.
pub(super) fn frames_from_raw_trace(chain: Chain, v: Value) -> Result<Vec<Frame>, Bad> {
    let traces: Vec<RawTrace> = serde_json::from_value(v).map_err(|e| format!("raw trace: {e}"))?;
    let mut frames = Vec::with_capacity(traces.len());
    for t in traces {
        let a = &t.action;
        let kind = t.kind.to_ascii_lowercase();
        let failed = t.error.as_ref().is_some_and(|e| !e.is_null());
        let zero = || "0".to_string();
        let (moves, from, to, value) = match kind.as_str() {
            "call" => (
                moves_value("call", &a.call_type),
                evm(chain, "from", &a.from)?,
                evm(chain, "to", &a.to)?,
                a.value.clone(),
            ),
            "create" | "create2" => (
                true,
                evm(chain, "from", &a.from)?,
                match &t.result {
                    Some(r) => evm(chain, "result.address", &r.address)?,
                    None => None,
                },
                a.value.clone(),
            ),
            "selfdestruct" | "suicide" => (
                true,
                evm(chain, "address", &a.address)?,
                evm(chain, "refundAddress", &a.refund_address)?,
                a.balance.clone(),
            ),
            _ => continue,
        };
        let value = if value.trim().is_empty() {
            zero()
        } else {
            value
        };
        let Some(from) = from else {
            return Err(format!(
                "raw trace frame {:?} has no sender",
                t.trace_address
            ));
        };
        frames.push(Frame {
            path: t.trace_address,
            moves_value: moves,
            from,
            to,
            value: amount("value", &value)?.0,
            failed,
        });
    }
    frames.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(frames)
}

/// A receipt as the proxy returns it (the fields transfers need).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Receipt {
    pub transaction_hash: B256,
    pub transaction_index: U64,
    pub block_number: U64,
    /// Absent before Byzantium (a state root instead).
    #[serde(default)]
    pub status: Option<U64>,
    pub gas_used: U256,
    #[serde(default)]
    pub effective_gas_price: Option<U256>,
    #[serde(default)]
    pub blob_gas_used: Option<U256>,
    #[serde(default)]
    pub blob_gas_price: Option<U256>,
    #[serde(default)]
    pub contract_address: Option<EvmAddress>,
    #[serde(default)]
    pub logs: Vec<ReceiptLog>,
}

/// A log of a receipt.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReceiptLog {
    pub address: EvmAddress,
    #[serde(default)]
    pub topics: Vec<B256>,
    #[serde(default)]
    pub data: Bytes,
    pub log_index: U64,
    #[serde(default)]
    pub removed: bool,
}

/// A transaction as the proxy returns it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProxyTx {
    pub hash: B256,
    pub from: EvmAddress,
    #[serde(default)]
    pub to: Option<EvmAddress>,
    #[serde(default)]
    pub value: U256,
    #[serde(default)]
    pub gas_price: Option<U256>,
    /// EIP-1559 fee cap (absent on legacy transactions).
    #[serde(default)]
    pub max_fee_per_gas: Option<U256>,
}

/// A block header's time.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct ProxyBlock {
    pub timestamp: U64,
}

impl Receipt {
    /// The receipt's success flag; `None` before Byzantium.
    pub fn success(&self) -> Option<bool> {
        self.status.map(|s| s.to::<u64>() == 1)
    }

    /// gasUsed × effectiveGasPrice (+ blob gas), with `fallback_price` when the receipt has
    /// no effective price.
    pub fn fee(&self, fallback_price: Option<U256>) -> U256 {
        let price = self
            .effective_gas_price
            .filter(|p| !p.is_zero())
            .or(fallback_price)
            .unwrap_or_default();
        let mut fee = self.gas_used.saturating_mul(price);
        if let (Some(used), Some(p)) = (self.blob_gas_used, self.blob_gas_price) {
            fee = fee.saturating_add(used.saturating_mul(p));
        }
        fee
    }
}

/// The ERC-20 transfer a log records: topic0 `Transfer`, exactly three topics holding
/// addresses, 32 bytes of data, amount > 0, not removed. (log index, token, from, to, amount).
pub(super) fn log_transfer(
    log: &ReceiptLog,
) -> Option<(u32, EvmAddress, EvmAddress, EvmAddress, U256)> {
    let t = &log.topics;
    if log.removed || t.len() != 3 || t[0] != TRANSFER_TOPIC || log.data.len() != 32 {
        return None;
    }
    let amount = U256::from_be_slice(&log.data);
    if amount.is_zero() {
        return None;
    }
    let as_addr = |b: &B256| -> Option<EvmAddress> {
        b[..12]
            .iter()
            .all(|x| *x == 0)
            .then(|| EvmAddress::from_slice(&b[12..]))
    };
    let index = u32::try_from(log.log_index.to::<u64>()).ok()?;
    Some((index, log.address, as_addr(&t[1])?, as_addr(&t[2])?, amount))
}

/// `symbol()` and `decimals()` selectors.
pub(super) const SYMBOL_CALL: &str = "0x95d89b41";
/// `decimals()`.
pub(super) const DECIMALS_CALL: &str = "0x313ce567";

/// A `decimals()` answer.
pub(super) fn decode_decimals(b: &[u8]) -> Option<u8> {
    (b.len() >= 32)
        .then(|| U256::from_be_slice(&b[..32]))
        .and_then(|v| u8::try_from(v).ok())
}

/// A `symbol()` answer: ABI `string`, or `bytes32` padded with zeros.
pub(super) fn decode_symbol(b: &[u8]) -> Option<String> {
    let raw: Vec<u8> = if b.len() == 32 {
        b.iter().copied().take_while(|c| *c != 0).collect()
    } else if b.len() >= 64 {
        let off = usize::try_from(U256::from_be_slice(&b[..32])).ok()?;
        let len_end = off.checked_add(32)?;
        let len = usize::try_from(U256::from_be_slice(b.get(off..len_end)?)).ok()?;
        b.get(len_end..len_end.checked_add(len)?)?.to_vec()
    } else {
        return None;
    };
    let s: String = String::from_utf8_lossy(&raw)
        .chars()
        .filter(|c| !c.is_control())
        .take(32)
        .collect();
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trace_ids_and_flags() {
        assert_eq!(trace_path("0").unwrap(), vec![0]);
        assert_eq!(trace_path("0_1_12").unwrap(), vec![0, 1, 12]);
        for b in ["", "0__1", "a", "-1"] {
            assert!(trace_path(b).is_err(), "{b}");
        }
        assert!(failed("1", ""));
        assert!(failed("0", "0"));
        assert!(!failed("0", "1"));
        assert!(!failed("0", ""));
        assert!(moves_value("call", ""));
        assert!(moves_value("call", "call"));
        assert!(!moves_value("call", "delegatecall"));
        assert!(!moves_value("delegatecall", ""));
        assert!(!moves_value("staticcall", ""));
        assert!(moves_value("create2", ""));
        assert!(moves_value("suicide", ""));
    }

    #[test]
    fn records_accept_numbers_and_nulls() {
        let r: TxRecord = serde_json::from_value(json!({
            "blockNumber": 12, "timeStamp": "1700000000", "hash": "0xab", "to": null,
            "value": "1000000000000000000000000000000", "isError": "0"
        }))
        .unwrap();
        assert_eq!(num("blockNumber", &r.block_number).unwrap(), 12);
        assert_eq!(r.to, "");
        assert_eq!(
            amount("value", &r.value).unwrap().to_decimal(0),
            "1000000000000000000000000000000"
        );
        assert!(amount("value", "1.5").is_err());
        assert!(num("blockNumber", "").is_err());
        assert_eq!(num("n", "0x10").unwrap(), 16);
    }

    #[test]
    fn failed_frames_prune_their_subtrees() {
        let a = EvmAddress::repeat_byte(1);
        let f = |path: &[u32], moves: bool, value: u64, failed: bool| Frame {
            path: path.to_vec(),
            moves_value: moves,
            from: a,
            to: Some(a),
            value: U256::from(value),
            failed,
        };
        let frames = vec![
            f(&[], true, 5, false),
            f(&[0], true, 1, true),
            f(&[0, 0], true, 1, false),
            f(&[1], false, 3, false),
            f(&[2], true, 2, false),
            f(&[2, 0], true, 0, false),
        ];
        let paths: Vec<_> = surviving(&frames).iter().map(|f| f.path.clone()).collect();
        assert_eq!(paths, vec![vec![2]]);
        let root_failed = vec![f(&[], true, 5, true), f(&[0], true, 1, false)];
        assert!(surviving(&root_failed).is_empty());
    }

    #[test]
    fn raw_trace_parses_parity_frames() {
        let v = json!([
            {"action": {"callType": "call", "from": "0x00000000000000000000000000000000000000aa",
                        "to": "0x00000000000000000000000000000000000000bb", "value": "0x10", "gas": "0x0", "input": "0x"},
             "result": {"gasUsed": "0x0", "output": "0x"}, "subtraces": 1, "traceAddress": [], "type": "call"},
            {"action": {"from": "0x00000000000000000000000000000000000000bb", "value": "0x5", "gas": "0x0", "init": "0x"},
             "result": {"address": "0x00000000000000000000000000000000000000cc", "code": "0x", "gasUsed": "0x0"},
             "subtraces": 0, "traceAddress": [0], "type": "create"},
            {"action": {"callType": "delegatecall", "from": "0x00000000000000000000000000000000000000bb",
                        "to": "0x00000000000000000000000000000000000000dd", "value": "0x0"},
             "error": "Reverted", "subtraces": 0, "traceAddress": [1], "type": "call"}
        ]);
        let frames = frames_from_raw_trace(Chain::ETHEREUM, v).unwrap();
        assert_eq!(frames.len(), 3);
        let mut cc = [0u8; 20];
        cc[19] = 0xcc;
        assert_eq!(frames[1].to, Some(EvmAddress::from(cc)));
        assert_eq!(frames[1].value, U256::from(5));
        assert!(!frames[2].moves_value && frames[2].failed);
        assert!(frames_from_raw_trace(Chain::ETHEREUM, json!({"message": "Not found"})).is_err());
    }

    #[test]
    fn token_metadata_decoding() {
        let mut b = vec![0u8; 96];
        b[31] = 32;
        b[63] = 4;
        b[64..68].copy_from_slice(b"USDC");
        assert_eq!(decode_symbol(&b).as_deref(), Some("USDC"));
        let mut b = vec![0u8; 32];
        b[..3].copy_from_slice(b"MKR");
        assert_eq!(decode_symbol(&b).as_deref(), Some("MKR"));
        b = vec![0u8; 32];
        b[31] = 6;
        assert_eq!(decode_decimals(&b), Some(6));
        assert_eq!(decode_decimals(&[]), None);
    }
}
