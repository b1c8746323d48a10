//! Exchange deposit addresses: an unlabelled address that forwards what it receives to one
//! labelled exchange wallet ("sweeps") is the exchange's deposit address. A trace credits
//! taint reaching it to the exchange, at the deposit address, before the sweep's fee.

use std::collections::BTreeMap;

use alloy_primitives::U256;

use super::flow::{FlowGraph, NONE};

/// Detection parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepositParams {
    /// Share of what the address received that must be swept to the exchange, in percent.
    pub min_share_pct: u32,
    /// A sweep counts for an inflow only if it happens within this many seconds after it.
    pub window_secs: i64,
}

impl Default for DepositParams {
    fn default() -> Self {
        DepositParams {
            min_share_pct: 95,
            window_secs: 7 * 24 * 3600,
        }
    }
}

/// One detected deposit address (the evidence of the attribution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositAddress {
    /// The deposit address (node id).
    pub node: u32,
    /// The exchange wallet it sweeps to (node id).
    pub wallet: u32,
    /// Asset whose sweeps decided it.
    pub asset: u16,
    /// What it received in that asset (not counting value from the exchange itself).
    pub received: U256,
    /// What of it was swept to the wallet within the window.
    pub swept: U256,
    /// The sweep transactions (tx ids), in order.
    pub sweep_txs: Vec<u32>,
}

/// Find deposit addresses among `candidates` (unlabelled, non-seed nodes). `exchange_of(node)`
/// names the exchange entity of a labelled exchange wallet, `None` for anything else.
pub fn detect(
    g: &FlowGraph,
    candidates: &[bool],
    exchange_of: &dyn Fn(u32) -> Option<String>,
    p: DepositParams,
) -> Vec<DepositAddress> {
    // per (candidate, asset): inflows (time, amount, from) and sweeps (time, amount, to, tx)
    type Key = (u32, u16);
    let mut inflows: BTreeMap<Key, Vec<(i64, U256, u32)>> = BTreeMap::new();
    let mut sweeps: BTreeMap<Key, Vec<(i64, U256, u32, u32)>> = BTreeMap::new();
    // first pass: only addresses that send to an exchange wallet can be deposit addresses
    // dense per-node flags: one lookup per flow, no hashing on the hot path
    let is_exchange: Vec<bool> = (0..g.nodes.len() as u32)
        .map(|n| exchange_of(n).is_some())
        .collect();
    let flag = |v: &[bool], n: u32| v.get(n as usize).copied().unwrap_or(false);
    for f in &g.flows {
        if f.from == f.to || f.from == NONE || f.to == NONE {
            continue;
        }
        if flag(candidates, f.from) && flag(&is_exchange, f.to) {
            sweeps
                .entry((f.from, f.asset))
                .or_default()
                .push((f.time, f.amount, f.to, f.tx));
        }
    }
    let mut sweepers = vec![false; g.nodes.len()];
    for k in sweeps.keys() {
        sweepers[k.0 as usize] = true;
    }
    for f in &g.flows {
        if f.from != f.to && f.to != NONE && flag(&sweepers, f.to) {
            inflows
                .entry((f.to, f.asset))
                .or_default()
                .push((f.time, f.amount, f.from));
        }
    }
    let mut found: BTreeMap<u32, DepositAddress> = BTreeMap::new();
    for ((node, asset), sw) in &sweeps {
        // the wallet that got the most
        let mut per_wallet: BTreeMap<u32, U256> = BTreeMap::new();
        for s in sw {
            *per_wallet.entry(s.2).or_default() += s.1;
        }
        let Some((&wallet, _)) = per_wallet
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        else {
            continue;
        };
        let entity = exchange_of(wallet);
        let ins: Vec<(i64, U256)> = inflows
            .get(&(*node, *asset))
            .map(|v| {
                v.iter()
                    .filter(|(_, _, from)| *from == NONE || exchange_of(*from) != entity)
                    .map(|(t, a, _)| (*t, *a))
                    .collect()
            })
            .unwrap_or_default();
        let received: U256 = ins.iter().map(|x| x.1).sum();
        if received.is_zero() {
            continue;
        }
        // match inflows to later sweeps to this wallet, oldest first, within the window
        let mut pending: std::collections::VecDeque<(i64, U256)> =
            std::collections::VecDeque::new();
        let mut ins_iter = ins.iter().peekable();
        let mut swept = U256::ZERO;
        let mut txs = Vec::new();
        for s in sw.iter().filter(|s| s.2 == wallet) {
            while let Some(i) = ins_iter.peek() {
                if i.0 <= s.0 {
                    pending.push_back(**i);
                    ins_iter.next();
                } else {
                    break;
                }
            }
            let mut left = s.1;
            while !left.is_zero() {
                let Some(front) = pending.front_mut() else {
                    break;
                };
                if s.0 - front.0 > p.window_secs {
                    pending.pop_front();
                    continue;
                }
                let take = front.1.min(left);
                front.1 -= take;
                left -= take;
                swept += take;
                if front.1.is_zero() {
                    pending.pop_front();
                }
            }
            if left < s.1 {
                txs.push(s.3);
            }
        }
        if swept * U256::from(100u32) >= received * U256::from(p.min_share_pct) {
            let d = DepositAddress {
                node: *node,
                wallet,
                asset: *asset,
                received,
                swept,
                sweep_txs: txs,
            };
            // one attribution per address: the asset with the most swept value decides
            match found.get(node) {
                Some(prev) if prev.swept >= d.swept => {}
                _ => {
                    found.insert(*node, d);
                }
            }
        }
    }
    found.into_values().collect()
}
