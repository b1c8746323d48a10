//! Rows → transfers, by the rules of the JSON-RPC fetcher (`evm_rpc::extract`): sub-index 0 the
//! fee (gas used × effective gas price, + blob gas), then — only when the transaction
//! succeeded — 1 the value, 2 the value-moving frames of the call tree in pre-order (a failed
//! frame and everything below it move nothing; DELEGATECALL / STATICCALL / CALLCODE move
//! nothing), 3 ERC-20 `Transfer` logs by log index (zero amounts move nothing).

use alloy_primitives::{Address as EvmAddress, B256, U256};

use super::rows::{LogEntry, Origin, ReceiptRow, TxExtras, TxRow};
use crate::fetch::evm_rpc::{Frame, internal_moves};
use crate::model::{Address, Amount, AssetId, Chain, SubIndex, Transfer, TxHash};

/// Whether a transaction succeeded, and how that is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// It succeeded.
    Success,
    /// It reverted: only the fee.
    Reverted,
    /// Nothing says (no receipt status, no root trace, no log): value and internal transfers
    /// are not imported.
    Unknown,
}

/// One transaction ready to become transfers.
#[derive(Debug, Clone)]
pub(crate) struct TxPlan {
    /// Hash.
    pub hash: B256,
    /// Block number.
    pub block: u64,
    /// Position in the block.
    pub tx_index: u32,
    /// Block time.
    pub time: i64,
    /// Sender and fee payer (none for a transaction known only by its traces or logs).
    pub from: Option<EvmAddress>,
    /// The fee; `None` when the receipt facts are missing.
    pub fee: Option<U256>,
    /// Success.
    pub status: Status,
    /// The value and its receiver (the created contract for a creation), if any value.
    pub value: Option<(EvmAddress, U256)>,
}

/// Why a transaction cannot be assembled.
#[derive(Debug)]
pub(crate) struct PlanError {
    /// The row.
    pub origin: Origin,
    /// What is wrong.
    pub detail: String,
}

/// The receipt-side facts of a transaction row: the receipts table's row wins over the
/// transaction row's own `receipt_*` columns.
fn merged<'a>(tx: &'a TxRow, receipt: Option<&'a ReceiptRow>) -> Option<&'a ReceiptRow> {
    receipt.or(tx.receipt.as_ref())
}

/// Success as the root frame tells it, when there is one.
fn root_failed(frames: &[Frame]) -> Option<bool> {
    frames.iter().find(|f| f.path.is_empty()).map(|f| f.failed)
}

/// Status from what is known about a transaction besides its receipt: the root frame of its
/// call tree, or else the logs it emitted (only a successful transaction has logs).
pub(crate) fn status_from_extras(x: Option<&TxExtras>) -> Status {
    let Some(x) = x else {
        return Status::Unknown;
    };
    match root_failed(&x.frames) {
        Some(true) => Status::Reverted,
        Some(false) => Status::Success,
        None if !x.logs.is_empty() => Status::Success,
        None => Status::Unknown,
    }
}

/// The plan of a transaction row.
pub(crate) fn plan(
    tx: &TxRow,
    receipt: Option<&ReceiptRow>,
    extras: Option<&TxExtras>,
    time: i64,
) -> Result<TxPlan, PlanError> {
    let r = merged(tx, receipt);
    // the fetcher's rule: the effective gas price, or the transaction's when it is 0 / absent
    let fee = r.and_then(|r| {
        let used = r.gas_used?;
        let price = match r.price {
            Some(p) if p != 0 => p,
            _ => tx.gas_price?,
        };
        let mut fee = U256::from(used) * U256::from(price);
        if let Some((bu, bp)) = r.blob {
            fee += U256::from(bu) * U256::from(bp);
        }
        Some(fee)
    });
    let status = match r.and_then(|r| r.status) {
        Some(true) => Status::Success,
        Some(false) => Status::Reverted,
        None => status_from_extras(extras),
    };
    let value = if tx.value.is_zero() || status != Status::Success {
        None
    } else {
        let created = extras.and_then(|x| {
            x.frames
                .iter()
                .find(|f| f.path.is_empty() && f.moves_value)
                .and_then(|f| f.to)
        });
        let to = tx
            .to
            .or(r.and_then(|r| r.contract))
            .or(created)
            .ok_or_else(|| PlanError {
                origin: tx.origin,
                detail: format!(
                    "transaction {:#x} creates a contract with value, but no receipt contract \
                     address (or create trace) says which",
                    tx.hash
                ),
            })?;
        Some((to, tx.value))
    };
    Ok(TxPlan {
        hash: tx.hash,
        block: tx.block,
        tx_index: tx.tx_index,
        time,
        from: Some(tx.from),
        fee,
        status,
        value,
    })
}

/// Append the transfers of `p` (with its frames and logs) to `out`, in sub-index order.
pub(crate) fn transfers(chain: Chain, p: &TxPlan, x: Option<&TxExtras>, out: &mut Vec<Transfer>) {
    let base = |sub: SubIndex, from: EvmAddress, to: Option<EvmAddress>, asset, amount| Transfer {
        chain,
        tx_hash: TxHash(p.hash),
        sub,
        block: p.block,
        tx_index: p.tx_index,
        time: p.time,
        from: Some(Address::Evm(from)),
        to: to.map(Address::Evm),
        asset,
        amount: Amount(amount),
    };
    if let (Some(fee), Some(from)) = (p.fee, p.from) {
        if !fee.is_zero() {
            out.push(base(SubIndex::Fee, from, None, AssetId::Native, fee));
        }
    }
    if p.status != Status::Success {
        return;
    }
    if let (Some((to, v)), Some(from)) = (p.value, p.from) {
        out.push(base(SubIndex::Value, from, Some(to), AssetId::Native, v));
    }
    let Some(x) = x else { return };
    if !x.frames.is_empty() {
        let mut frames = x.frames.clone();
        frames.sort_by(|a, b| a.path.cmp(&b.path));
        for (path, from, to, value) in internal_moves(&frames) {
            out.push(base(
                SubIndex::Internal(path),
                from,
                Some(to),
                AssetId::Native,
                value,
            ));
        }
    }
    for (li, e) in x.logs.sorted() {
        if let LogEntry::Move(m) = e {
            out.push(base(
                SubIndex::Log(li),
                m.from,
                Some(m.to),
                AssetId::Token(m.token),
                m.amount,
            ));
        }
    }
}
