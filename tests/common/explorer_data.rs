//! What a block explorer's indexer would have recorded of a real anvil chain: every
//! transaction (with its receipt), every call frame (from `debug_traceTransaction` with the
//! call tracer, in pre-order with its trace address), every ERC-20 `Transfer` log, and the
//! tokens' metadata read from the contracts. The explorer server (`explorer.rs`) renders these
//! rows in Etherscan's or Blockscout's documented JSON.

use alloy_primitives::U256;
use serde_json::{Value, json};

use super::anvil::Anvil;

const TRANSFER: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

fn dec(v: &Value) -> String {
    match v.as_str() {
        Some(s) if s.starts_with("0x") => U256::from_str_radix(&s[2..], 16).unwrap().to_string(),
        Some(s) => s.to_string(),
        None => "0".to_string(),
    }
}

fn qty(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn lower(v: &Value) -> String {
    v.as_str().unwrap_or("").to_lowercase()
}

/// A transaction as an explorer lists it.
#[derive(Debug, Clone)]
pub struct TxRow {
    pub block: u64,
    pub time: u64,
    pub hash: String,
    pub index: u64,
    pub nonce: u64,
    pub block_hash: String,
    pub from: String,
    /// "" for a contract creation.
    pub to: String,
    pub value: String,
    pub gas: String,
    /// The price paid (the receipt's effectiveGasPrice).
    pub gas_price: String,
    pub gas_used: String,
    pub cumulative: String,
    pub ok: bool,
    /// The created contract, or "".
    pub contract: String,
    pub input: String,
}

/// One call frame (the root included, `seq` 0).
#[derive(Debug, Clone)]
pub struct FrameRow {
    pub block: u64,
    pub time: u64,
    pub hash: String,
    pub tx_index: u64,
    /// Position in the transaction's pre-order frame list (Blockscout's `index`).
    pub seq: usize,
    /// Trace address (Etherscan's `traceId` joined by `_`).
    pub path: Vec<u32>,
    /// Lower-case call tracer type: call, staticcall, delegatecall, callcode, create, create2,
    /// selfdestruct.
    pub kind: String,
    pub from: String,
    /// Callee / beneficiary; "" for a creation.
    pub to: String,
    /// The created contract, or "".
    pub created: String,
    pub value: String,
    pub gas: String,
    pub gas_used: String,
    /// The frame's own error ("" when it succeeded).
    pub error: String,
    pub input: String,
}

/// One ERC-20 Transfer log.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub block: u64,
    pub time: u64,
    pub hash: String,
    pub tx_index: u64,
    pub log_index: u64,
    pub nonce: u64,
    pub block_hash: String,
    pub token: String,
    pub from: String,
    pub to: String,
    pub value: String,
    pub name: String,
    pub symbol: String,
    /// "" when the contract has no decimals().
    pub decimals: String,
    pub gas: String,
    pub gas_price: String,
    pub gas_used: String,
    pub cumulative: String,
}

/// One event log (every log of every receipt: `getLogs`).
#[derive(Debug, Clone)]
pub struct LogRow {
    pub block: u64,
    pub time: u64,
    pub hash: String,
    pub tx_index: u64,
    pub log_index: u64,
    pub address: String,
    pub topics: Vec<String>,
    pub data: String,
    /// The price paid (the receipt's effectiveGasPrice), hex as getLogs writes it.
    pub gas_price: String,
    pub gas_used: String,
}

/// Everything indexed, in chain order.
#[derive(Debug, Clone, Default)]
pub struct ChainData {
    pub chain_id: u64,
    pub txs: Vec<TxRow>,
    pub frames: Vec<FrameRow>,
    pub tokens: Vec<TokenRow>,
    pub logs: Vec<LogRow>,
}

fn abi_string(hex: &str) -> Option<String> {
    let b = alloy_primitives::hex::decode(hex.trim_start_matches("0x")).ok()?;
    let raw: Vec<u8> = if b.len() == 32 {
        b.iter().copied().take_while(|c| *c != 0).collect()
    } else if b.len() >= 64 {
        let len = U256::from_be_slice(&b[32..64]).to::<usize>();
        b.get(64..64 + len)?.to_vec()
    } else {
        return None;
    };
    String::from_utf8(raw).ok()
}

fn flatten(frame: &Value, path: Vec<u32>, out: &mut Vec<(Vec<u32>, Value)>) {
    out.push((path.clone(), frame.clone()));
    if let Some(calls) = frame["calls"].as_array() {
        for (i, c) in calls.iter().enumerate() {
            let mut p = path.clone();
            p.push(i as u32);
            flatten(c, p, out);
        }
    }
}

impl ChainData {
    /// Index every block of the chain anvil holds.
    pub fn from_anvil(anvil: &Anvil) -> ChainData {
        let chain_id = qty(&anvil.rpc("eth_chainId", json!([])));
        let mut d = ChainData {
            chain_id,
            ..ChainData::default()
        };
        let mut meta: std::collections::HashMap<String, (String, String, String)> =
            std::collections::HashMap::new();
        let head = anvil.block_number();
        for n in 0..=head {
            let b = anvil.rpc("eth_getBlockByNumber", json!([format!("{n:#x}"), true]));
            let time = qty(&b["timestamp"]);
            let block_hash = lower(&b["hash"]);
            for tx in b["transactions"].as_array().unwrap() {
                let hash = lower(&tx["hash"]);
                let r = anvil.receipt(&hash);
                let index = qty(&r["transactionIndex"]);
                let nonce = qty(&tx["nonce"]);
                let row = TxRow {
                    block: n,
                    time,
                    hash: hash.clone(),
                    index,
                    nonce,
                    block_hash: block_hash.clone(),
                    from: lower(&tx["from"]),
                    to: lower(&tx["to"]),
                    value: dec(&tx["value"]),
                    gas: dec(&tx["gas"]),
                    gas_price: dec(&r["effectiveGasPrice"]),
                    gas_used: dec(&r["gasUsed"]),
                    cumulative: dec(&r["cumulativeGasUsed"]),
                    ok: r["status"] == "0x1",
                    contract: lower(&r["contractAddress"]),
                    input: tx["input"].as_str().unwrap_or("0x").to_string(),
                };
                let trace = anvil.rpc(
                    "debug_traceTransaction",
                    json!([hash, {"tracer": "callTracer"}]),
                );
                let mut flat = Vec::new();
                flatten(&trace, Vec::new(), &mut flat);
                for (seq, (path, f)) in flat.into_iter().enumerate() {
                    let kind = f["type"].as_str().unwrap().to_lowercase();
                    let creation = kind.starts_with("create");
                    d.frames.push(FrameRow {
                        block: n,
                        time,
                        hash: hash.clone(),
                        tx_index: index,
                        seq,
                        path,
                        to: if creation {
                            String::new()
                        } else {
                            lower(&f["to"])
                        },
                        created: if creation {
                            lower(&f["to"])
                        } else {
                            String::new()
                        },
                        kind,
                        from: lower(&f["from"]),
                        value: dec(&f["value"]),
                        gas: dec(&f["gas"]),
                        gas_used: dec(&f["gasUsed"]),
                        error: f["error"].as_str().unwrap_or("").to_string(),
                        input: f["input"].as_str().unwrap_or("0x").to_string(),
                    });
                }
                for l in r["logs"].as_array().unwrap() {
                    d.logs.push(LogRow {
                        block: n,
                        time,
                        hash: hash.clone(),
                        tx_index: index,
                        log_index: qty(&l["logIndex"]),
                        address: lower(&l["address"]),
                        topics: l["topics"].as_array().unwrap().iter().map(lower).collect(),
                        data: lower(&l["data"]),
                        gas_price: r["effectiveGasPrice"].as_str().unwrap_or("0x0").to_string(),
                        gas_used: r["gasUsed"].as_str().unwrap_or("0x0").to_string(),
                    });
                    let topics = l["topics"].as_array().unwrap();
                    let data = l["data"].as_str().unwrap();
                    if topics.len() != 3 || topics[0] != TRANSFER || data.len() != 66 {
                        continue;
                    }
                    let token = lower(&l["address"]);
                    let (name, symbol, decimals) = meta
                        .entry(token.clone())
                        .or_insert_with(|| {
                            let call = |sel: &str| {
                                anvil
                                    .rpc_result(
                                        "eth_call",
                                        json!([{"to": token, "data": sel}, "latest"]),
                                    )
                                    .ok()
                                    .and_then(|v| v.as_str().map(str::to_string))
                                    .filter(|s| s.len() > 2)
                            };
                            (
                                call("0x06fdde03")
                                    .and_then(|h| abi_string(&h))
                                    .unwrap_or_default(),
                                call("0x95d89b41")
                                    .and_then(|h| abi_string(&h))
                                    .unwrap_or_default(),
                                call("0x313ce567")
                                    .map(|h| dec(&json!(h)))
                                    .unwrap_or_default(),
                            )
                        })
                        .clone();
                    let word = |t: &Value| format!("0x{}", &t.as_str().unwrap()[26..]);
                    d.tokens.push(TokenRow {
                        block: n,
                        time,
                        hash: hash.clone(),
                        tx_index: index,
                        log_index: qty(&l["logIndex"]),
                        nonce,
                        block_hash: block_hash.clone(),
                        token,
                        from: word(&topics[1]),
                        to: word(&topics[2]),
                        value: dec(&json!(data)),
                        name,
                        symbol,
                        decimals,
                        gas: row.gas.clone(),
                        gas_price: row.gas_price.clone(),
                        gas_used: row.gas_used.clone(),
                        cumulative: row.cumulative.clone(),
                    });
                }
                d.txs.push(row);
            }
        }
        d
    }

    /// The newest block.
    pub fn head(&self) -> u64 {
        self.txs.last().map(|t| t.block).unwrap_or(0)
    }
}
