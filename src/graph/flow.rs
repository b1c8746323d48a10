//! The flow graph the trace engine replays: addresses and assets interned to dense integer ids,
//! transfers in one compact vector sorted once in replay order (block, tx index, sub-index).

use std::collections::{HashMap, HashSet};

use alloy_primitives::U256;

use crate::model::{Address, AssetId, Chain, SubIndex, Transfer, TxHash};

/// No address: the fee sink as receiver, minted value as sender.
pub const NONE: u32 = u32::MAX;

/// One transfer in compact form (72 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Amount in base units.
    pub amount: U256,
    /// Block number.
    pub block: u64,
    /// Block time (Unix seconds).
    pub time: i64,
    /// Transaction id (index into [`FlowGraph::txs`]).
    pub tx: u32,
    /// Sub-index id (index into [`FlowGraph::subs`]).
    pub sub: u32,
    /// Index of the transaction in its block.
    pub tx_index: u32,
    /// Sender node, or [`NONE`].
    pub from: u32,
    /// Receiver node, or [`NONE`] (fee sink).
    pub to: u32,
    /// Asset id (index into [`FlowGraph::assets`]).
    pub asset: u16,
}

/// Transfers of one chain with dense ids.
#[derive(Debug, Clone, Default)]
pub struct FlowGraph {
    /// Chain.
    pub chain: Option<Chain>,
    /// Node id → address.
    pub nodes: Vec<Address>,
    index: HashMap<Address, u32>,
    /// Asset id → asset.
    pub assets: Vec<AssetId>,
    /// Tx id → hash.
    pub txs: Vec<TxHash>,
    /// Sub id → sub-index.
    pub subs: Vec<SubIndex>,
    /// Transfers in replay order.
    pub flows: Vec<Flow>,
}

/// Interning tables used while building.
#[derive(Default)]
struct Interner {
    txs: HashMap<TxHash, u32>,
    subs: HashMap<SubIndex, u32>,
    assets: HashMap<AssetId, u16>,
}

impl FlowGraph {
    /// Build from transfers in any order; they are sorted into replay order here, so the
    /// result does not depend on how they were stored. Zero-amount transfers are dropped
    /// (they move nothing).
    pub fn build(chain: Chain, transfers: &[Transfer]) -> FlowGraph {
        let mut order: Vec<&Transfer> = transfers.iter().filter(|t| !t.amount.is_zero()).collect();
        order.sort_by(|a, b| a.time_order(b));
        order.dedup_by(|a, b| a.tx_hash == b.tx_hash && a.sub == b.sub);
        let mut g = FlowGraph {
            chain: Some(chain),
            ..Default::default()
        };
        let mut int = Interner::default();
        g.flows.reserve(order.len());
        for t in order {
            let tx = *int.txs.entry(t.tx_hash).or_insert_with(|| {
                g.txs.push(t.tx_hash);
                (g.txs.len() - 1) as u32
            });
            let sub = match int.subs.get(&t.sub) {
                Some(s) => *s,
                None => {
                    g.subs.push(t.sub.clone());
                    let id = (g.subs.len() - 1) as u32;
                    int.subs.insert(t.sub.clone(), id);
                    id
                }
            };
            let asset = *int.assets.entry(t.asset).or_insert_with(|| {
                g.assets.push(t.asset);
                (g.assets.len() - 1) as u16
            });
            let from = t.from.as_ref().map_or(NONE, |a| g.intern(a));
            let to = t.to.as_ref().map_or(NONE, |a| g.intern(a));
            g.flows.push(Flow {
                amount: t.amount.0,
                block: t.block,
                time: t.time,
                tx,
                sub,
                tx_index: t.tx_index,
                from,
                to,
                asset,
            });
        }
        g
    }

    /// The id of an address, adding it if new.
    pub fn intern(&mut self, a: &Address) -> u32 {
        if let Some(id) = self.index.get(a) {
            return *id;
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(a.clone());
        self.index.insert(a.clone(), id);
        id
    }

    /// The id of an address, if present.
    pub fn node(&self, a: &Address) -> Option<u32> {
        self.index.get(a).copied()
    }

    /// The id of an asset, if present.
    pub fn asset_id(&self, a: AssetId) -> Option<u16> {
        self.assets.iter().position(|x| *x == a).map(|i| i as u16)
    }
}

/// The part of `transfers` that matters for a trace from `seeds`: every transfer into or out of
/// an address that value from a seed can reach by a time-respecting path (through addresses
/// that are not `terminal`). Clean transfers of those addresses are kept too: they set the
/// balances that taint is split against.
pub fn neighbourhood(
    transfers: &[Transfer],
    seeds: &[Address],
    terminal: impl Fn(&Address) -> bool,
) -> Vec<Transfer> {
    let mut order: Vec<&Transfer> = transfers.iter().filter(|t| !t.amount.is_zero()).collect();
    order.sort_by(|a, b| a.time_order(b));
    let mut reached: HashSet<&Address> = seeds.iter().collect();
    for t in &order {
        if let (Some(f), Some(to)) = (&t.from, &t.to) {
            if reached.contains(f) && !reached.contains(to) && !terminal(to) {
                reached.insert(to);
            }
        }
    }
    order
        .into_iter()
        .filter(|t| {
            t.from.as_ref().is_some_and(|a| reached.contains(a))
                || t.to.as_ref().is_some_and(|a| reached.contains(a))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Amount;

    fn a(n: u8) -> Address {
        Address::Evm(alloy_primitives::Address::repeat_byte(n))
    }

    fn t(block: u64, from: u8, to: u8, v: u64) -> Transfer {
        Transfer {
            chain: Chain::ETHEREUM,
            tx_hash: TxHash(alloy_primitives::B256::repeat_byte(block as u8)),
            sub: SubIndex::Value,
            block,
            tx_index: 0,
            time: block as i64,
            from: Some(a(from)),
            to: Some(a(to)),
            asset: AssetId::Native,
            amount: Amount::from_base_units(v as u128),
        }
    }

    #[test]
    fn neighbourhood_is_time_respecting() {
        // 2 -> 3 happens before 1 (seed) reaches 2: 3 is not reached through it
        let ts = vec![
            t(1, 2, 3, 5),
            t(2, 1, 2, 5),
            t(3, 2, 4, 1),
            t(4, 9, 2, 1),
            t(5, 8, 7, 1),
        ];
        let n = neighbourhood(&ts, &[a(1)], |_| false);
        let blocks: Vec<u64> = n.iter().map(|t| t.block).collect();
        // kept: 1 (2's earlier outflow), 2, 3, 4 (clean inflow to 2); dropped: 5
        assert_eq!(blocks, vec![1, 2, 3, 4]);
        let g = FlowGraph::build(Chain::ETHEREUM, &n);
        assert_eq!(g.flows.len(), 4);
        assert_eq!(g.nodes.len(), 5);
    }

    #[test]
    fn build_sorts_and_drops_zero() {
        let mut ts = vec![t(3, 1, 2, 5), t(1, 1, 2, 0), t(2, 2, 1, 7)];
        let g1 = FlowGraph::build(Chain::ETHEREUM, &ts);
        ts.reverse();
        let g2 = FlowGraph::build(Chain::ETHEREUM, &ts);
        assert_eq!(g1.flows.len(), 2);
        assert_eq!(g1.flows[0].block, 2);
        assert_eq!(
            g1.flows
                .iter()
                .map(|f| (f.block, f.amount))
                .collect::<Vec<_>>(),
            g2.flows
                .iter()
                .map(|f| (f.block, f.amount))
                .collect::<Vec<_>>()
        );
        assert_eq!(std::mem::size_of::<Flow>(), 72);
    }
}
