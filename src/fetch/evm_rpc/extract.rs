//! Transfers of one EVM transaction, exactly as DESIGN.md orders them: the gas fee, then (only
//! if the transaction succeeded) the value, the value-carrying frames of the call tree in
//! pre-order, and the ERC-20 `Transfer` logs. Pure functions over decoded node answers, so the
//! parity (`trace_*`) and geth (`callTracer`) forms of a call tree give identical transfers.

use std::collections::HashSet;

use alloy_primitives::{Address as EvmAddress, B256, U256, b256};
use alloy_rpc_types_eth::Log;
use alloy_rpc_types_trace::geth::CallFrame;
use alloy_rpc_types_trace::parity::{Action, CallType, TraceOutput, TransactionTrace};

use super::types::{Receipt, RpcTx};
use crate::model::{Address, Amount, AssetId, Chain, SubIndex, Transfer, TxHash};

/// topic0 of `Transfer(address,address,uint256)` (ERC-20; ERC-721 shares it with 4 topics).
pub(crate) const TRANSFER_TOPIC: B256 =
    b256!("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

/// One frame of a call tree, in a form both trace formats map to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Child-index path from the root (empty for the root).
    pub path: Vec<u32>,
    /// CALL, CREATE, CREATE2 or SELFDESTRUCT: the frame's value leaves `from` for `to`.
    /// DELEGATECALL, STATICCALL and CALLCODE move nothing.
    pub moves_value: bool,
    /// Sender of the value (the self-destructing contract for SELFDESTRUCT).
    pub from: EvmAddress,
    /// Receiver (the created contract, the beneficiary); `None` when unknown (failed CREATE).
    pub to: Option<EvmAddress>,
    /// Value carried.
    pub value: U256,
    /// The frame failed (reverted, out of gas …): it and everything below it move nothing.
    pub failed: bool,
}

/// Frames of `trace_transaction` / `trace_block` / `trace_filter` output (parity format) for
/// one transaction, sorted into pre-order. Block rewards are not frames.
pub(crate) fn frames_from_parity<'a>(
    traces: impl IntoIterator<Item = &'a TransactionTrace>,
) -> Vec<Frame> {
    let mut frames: Vec<Frame> = traces
        .into_iter()
        .filter_map(|t| {
            let path = t.trace_address.iter().map(|&i| i as u32).collect();
            let failed = t.error.is_some();
            let (moves_value, from, to, value) = match &t.action {
                Action::Call(c) => (c.call_type == CallType::Call, c.from, Some(c.to), c.value),
                Action::Create(c) => {
                    let to = match &t.result {
                        Some(TraceOutput::Create(o)) => Some(o.address),
                        _ => None,
                    };
                    (true, c.from, to, c.value)
                }
                Action::Selfdestruct(s) => (true, s.address, Some(s.refund_address), s.balance),
                Action::Reward(_) => return None,
            };
            Some(Frame {
                path,
                moves_value,
                from,
                to,
                value,
                failed,
            })
        })
        .collect();
    frames.sort_by(|a, b| a.path.cmp(&b.path));
    frames
}

/// Frames of a `debug_traceTransaction` call-tracer tree, in pre-order.
pub(crate) fn frames_from_geth(root: &CallFrame) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut stack: Vec<(&CallFrame, Vec<u32>)> = vec![(root, Vec::new())];
    while let Some((f, path)) = stack.pop() {
        for (i, c) in f.calls.iter().enumerate().rev() {
            let mut p = path.clone();
            p.push(i as u32);
            stack.push((c, p));
        }
        let moves_value = matches!(
            f.typ.to_ascii_uppercase().as_str(),
            "CALL" | "CREATE" | "CREATE2" | "SELFDESTRUCT" | "SUICIDE"
        );
        out.push(Frame {
            path,
            moves_value,
            from: f.from,
            to: f.to,
            value: f.value.unwrap_or_default(),
            failed: f.error.is_some(),
        });
    }
    out
}

/// Value moves below the root: (trace address, from, to, value) of every CALL / CREATE /
/// CREATE2 / SELFDESTRUCT frame with value > 0 that neither failed nor sits below a failed
/// frame, in pre-order.
pub(crate) fn internal_moves(frames: &[Frame]) -> Vec<(Vec<u32>, EvmAddress, EvmAddress, U256)> {
    let failed: HashSet<&[u32]> = frames
        .iter()
        .filter(|f| f.failed)
        .map(|f| f.path.as_slice())
        .collect();
    let mut out = Vec::new();
    for f in frames {
        if f.path.is_empty() || !f.moves_value || f.value.is_zero() {
            continue;
        }
        if (0..=f.path.len()).any(|n| failed.contains(&f.path[..n])) {
            continue;
        }
        let Some(to) = f.to else {
            tracing::warn!(path = ?f.path, "value-carrying frame without a receiver; skipped");
            continue;
        };
        out.push((f.path.clone(), f.from, to, f.value));
    }
    out
}

/// A transaction with everything needed for its transfers.
pub(crate) struct TxParts<'a> {
    /// The transaction.
    pub tx: &'a RpcTx,
    /// Its receipt.
    pub receipt: &'a Receipt,
    /// Its call tree (parity or geth form, see [`frames_from_parity`], [`frames_from_geth`]).
    pub frames: &'a [Frame],
    /// Block time.
    pub time: i64,
}

/// Why a transaction's transfers cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("transaction {hash}: {detail}")]
pub(crate) struct ExtractError {
    /// The transaction.
    pub hash: B256,
    /// What is missing or inconsistent.
    pub detail: String,
}

/// Every transfer of one transaction, in sub-index order.
pub(crate) fn tx_transfers(chain: Chain, p: &TxParts<'_>) -> Result<Vec<Transfer>, ExtractError> {
    let err = |detail: String| ExtractError {
        hash: p.tx.hash,
        detail,
    };
    let r = p.receipt;
    if r.transaction_hash != p.tx.hash {
        return Err(err(format!(
            "receipt is for {} instead",
            r.transaction_hash
        )));
    }
    let block = r
        .block_number
        .ok_or_else(|| err("receipt has no block number (pending?)".into()))?;
    let tx_index = r
        .transaction_index
        .ok_or_else(|| err("receipt has no transaction index".into()))?;
    let tx_index =
        u32::try_from(tx_index).map_err(|_| err("transaction index out of range".into()))?;
    let base =
        |sub: SubIndex, from: EvmAddress, to: Option<EvmAddress>, asset, amount: U256| Transfer {
            chain,
            tx_hash: TxHash(p.tx.hash),
            sub,
            block,
            tx_index,
            time: p.time,
            from: Some(Address::Evm(from)),
            to: to.map(Address::Evm),
            asset,
            amount: Amount(amount),
        };
    let mut out = Vec::new();

    // 0: the fee, paid by every transaction
    let price = match r.effective_gas_price {
        0 => p.tx.gas_price.map(|g| g.to::<u128>()).unwrap_or(0),
        x => x,
    };
    let mut fee = U256::from(r.gas_used) * U256::from(price);
    if let (Some(used), Some(bprice)) = (r.blob_gas_used, r.blob_gas_price) {
        fee += U256::from(used) * U256::from(bprice);
    }
    if !fee.is_zero() {
        out.push(base(SubIndex::Fee, p.tx.from, None, AssetId::Native, fee));
    }

    // before EIP-658 a receipt has a state root instead of a status: the root frame tells
    let success = match r.inner.inner.receipt.status.as_eip658() {
        Some(s) => s,
        None => !p.frames.iter().any(|f| f.path.is_empty() && f.failed),
    };
    if !success {
        return Ok(out);
    }

    // 1: the value
    if !p.tx.value.is_zero() {
        let to = p.tx.to.or(r.contract_address).ok_or_else(|| {
            err("contract creation without contractAddress in the receipt".into())
        })?;
        out.push(base(
            SubIndex::Value,
            p.tx.from,
            Some(to),
            AssetId::Native,
            p.tx.value,
        ));
    }

    // 2: internal value moves, pre-order
    for (path, from, to, value) in internal_moves(p.frames) {
        out.push(base(
            SubIndex::Internal(path),
            from,
            Some(to),
            AssetId::Native,
            value,
        ));
    }

    // 3: token transfers
    for log in r.inner.inner.receipt.logs.iter() {
        if let Some(t) = log_transfer(chain, log, p.time) {
            out.push(t);
        }
    }
    Ok(out)
}

/// The ERC-20 transfer a log records, if it is one: topic0 `Transfer`, exactly three topics,
/// 32 bytes of data, an amount > 0, not removed by a reorg. `time` is the block time.
pub(crate) fn log_transfer(chain: Chain, log: &Log, time: i64) -> Option<Transfer> {
    let topics = log.topics();
    if log.removed
        || topics.len() != 3
        || topics[0] != TRANSFER_TOPIC
        || log.data().data.len() != 32
    {
        return None;
    }
    let amount = U256::from_be_slice(&log.data().data);
    if amount.is_zero() {
        return None;
    }
    let addr = |t: &B256| -> Option<EvmAddress> {
        // an ABI-encoded address has 12 zero bytes in front; anything else is not an address
        t[..12]
            .iter()
            .all(|b| *b == 0)
            .then(|| EvmAddress::from_slice(&t[12..]))
    };
    let (Some(from), Some(to)) = (addr(&topics[1]), addr(&topics[2])) else {
        tracing::debug!(tx = ?log.transaction_hash, "Transfer log with non-address topics skipped");
        return None;
    };
    Some(Transfer {
        chain,
        tx_hash: TxHash(log.transaction_hash?),
        sub: SubIndex::Log(u32::try_from(log.log_index?).ok()?),
        block: log.block_number?,
        tx_index: u32::try_from(log.transaction_index?).ok()?,
        time,
        from: Some(Address::Evm(from)),
        to: Some(Address::Evm(to)),
        asset: AssetId::Token(log.address()),
        amount: Amount(amount),
    })
}

/// True when `t` involves `addr` as sender or receiver.
pub(crate) fn involves(t: &Transfer, addr: &EvmAddress) -> bool {
    let is = |a: &Option<Address>| matches!(a, Some(Address::Evm(x)) if x == addr);
    is(&t.from) || is(&t.to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    fn frame(path: &[u32], moves: bool, value: u64, failed: bool) -> Frame {
        Frame {
            path: path.to_vec(),
            moves_value: moves,
            from: address!("00000000000000000000000000000000000000aa"),
            to: Some(address!("00000000000000000000000000000000000000bb")),
            value: U256::from(value),
            failed,
        }
    }

    #[test]
    fn failed_frames_and_their_subtrees_move_nothing() {
        let frames = vec![
            frame(&[], true, 10, false),
            frame(&[0], true, 1, true),
            frame(&[0, 0], true, 1, false),
            frame(&[1], false, 5, false), // delegatecall
            frame(&[2], true, 3, false),
            frame(&[2, 0], true, 0, false),
            frame(&[2, 1], true, 2, false),
        ];
        let paths: Vec<Vec<u32>> = internal_moves(&frames).into_iter().map(|m| m.0).collect();
        assert_eq!(paths, vec![vec![2], vec![2, 1]]);
    }

    #[test]
    fn parity_and_geth_trees_agree() {
        let geth: CallFrame = serde_json::from_value(serde_json::json!({
            "from": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "to": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9",
            "input": "0x", "value": "0xde0b6b3a7640000", "type": "CALL",
            "calls": [
                {"from": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "to": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9",
                 "input": "0x", "error": "execution reverted", "value": "0x6f05b59d3b20000", "type": "CALL",
                 "calls": [{"from": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "to": "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc",
                            "input": "0x", "value": "0x6f05b59d3b20000", "type": "CALL"}]},
                {"from": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "to": "0x976ea74026e726554db657fa54763abd0c3a0aa9",
                 "input": "0x", "value": "0x6f05b59d3b20000", "type": "CALL"}
            ]
        }))
        .unwrap();
        let parity: Vec<TransactionTrace> = serde_json::from_value(serde_json::json!([
            {"action": {"from": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "callType": "call", "gas": "0x0", "input": "0x",
                        "to": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "value": "0xde0b6b3a7640000"},
             "result": {"gasUsed": "0x0", "output": "0x"}, "subtraces": 2, "traceAddress": [], "type": "call"},
            {"action": {"from": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "callType": "call", "gas": "0x0", "input": "0x",
                        "to": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "value": "0x6f05b59d3b20000"},
             "error": "Reverted", "result": {"gasUsed": "0x0", "output": "0x"}, "subtraces": 1, "traceAddress": [0], "type": "call"},
            {"action": {"from": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "callType": "call", "gas": "0x0", "input": "0x",
                        "to": "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc", "value": "0x6f05b59d3b20000"},
             "result": {"gasUsed": "0x0", "output": "0x"}, "subtraces": 0, "traceAddress": [0, 0], "type": "call"},
            {"action": {"from": "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9", "callType": "call", "gas": "0x0", "input": "0x",
                        "to": "0x976ea74026e726554db657fa54763abd0c3a0aa9", "value": "0x6f05b59d3b20000"},
             "result": {"gasUsed": "0x0", "output": "0x"}, "subtraces": 0, "traceAddress": [1], "type": "call"}
        ]))
        .unwrap();
        let a = internal_moves(&frames_from_geth(&geth));
        let b = internal_moves(&frames_from_parity(&parity));
        assert_eq!(a, b);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0, vec![1]);
    }
}
