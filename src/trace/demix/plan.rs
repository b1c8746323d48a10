//! From the store's decoded pool events and the flow graph to the demixer's input, and from its
//! links to what the replay needs ([`PoolPlan`]) and what the outputs show (evidence lines, the
//! `demix` section of summary.json).

use alloy_primitives::U256;
use rustc_hash::{FxHashMap, FxHashSet};

use super::{DemixInput, DemixParams, Deposit, Withdrawal, demix};
use crate::graph::{FlowGraph, NONE};
use crate::model::{Address, ContractEvent, EventData};
use crate::trace::{Evidence, Follow};

/// What the replay does at one pool node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolPlan {
    /// The pool's asset (graph asset id); other assets arriving are credited as at any mixer.
    pub asset: u16,
    /// Followed links: withdrawal tx id → deposit tx id.
    pub linked: FxHashMap<u32, u32>,
    /// Deposit tx ids reserved by a followed link (kept out of the pool haircut).
    pub reserved: FxHashSet<u32>,
    /// Deposits known from the pool's events whose transfer is not in the data (the fetch
    /// stores the withdrawal transactions, not every stranger's deposit): (block, tx index,
    /// tx id, amount), in chain order. The replay adds each to the pool, clean, before the
    /// first flow of the pool after it.
    pub virtual_deposits: Vec<(u64, u32, u32, U256)>,
}

/// The demixing of one trace.
#[derive(Debug, Clone, Default)]
pub struct Demixed {
    /// Per pool node.
    pub plans: FxHashMap<u32, PoolPlan>,
    /// One line per link (followed or not).
    pub evidence: Vec<Evidence>,
    /// summary.json's `demix` section.
    pub summary: serde_json::Value,
}

/// Pools are the contracts with Tornado events that are nodes of the graph. `entity` names a
/// pool node for the outputs.
pub fn plan(
    g: &FlowGraph,
    events: &[ContractEvent],
    follow: &Follow,
    entity: &dyn Fn(u32) -> String,
) -> Demixed {
    let chain = g.chain.map(|c| c.to_string()).unwrap_or_default();
    let mut extra_txs: Vec<crate::model::TxHash> = Vec::new();
    let mut tx_id: FxHashMap<_, u32> = g
        .txs
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i as u32))
        .collect();
    // address ids: graph nodes first, others (relayers, senders outside the data) after
    let mut extra: FxHashMap<Address, u32> = FxHashMap::default();
    let mut extra_names: Vec<Address> = Vec::new();
    let mut id_of = |a: &Address| -> u32 {
        if let Some(n) = g.node(a) {
            return n;
        }
        let next = g.nodes.len() as u32 + extra_names.len() as u32;
        *extra.entry(a.clone()).or_insert_with(|| {
            extra_names.push(a.clone());
            next
        })
    };
    let mut pool_nodes: Vec<u32> = Vec::new();
    let mut pool_index: FxHashMap<u32, u32> = FxHashMap::default();
    let mut input = DemixInput::default();
    let mut missing = 0usize;
    let first = first_flows(g);
    for e in events {
        let is_pool_event = matches!(
            e.data,
            EventData::TornadoDeposit { .. } | EventData::TornadoWithdrawal { .. }
        );
        if !is_pool_event {
            continue;
        }
        let Some(node) = g.node(&e.contract) else {
            missing += 1;
            continue;
        };
        // transactions outside the flow graph get ids after the graph's
        let tx = match tx_id.get(&e.tx) {
            Some(t) => *t,
            None => {
                let t = (g.txs.len() + extra_txs.len()) as u32;
                extra_txs.push(e.tx);
                tx_id.insert(e.tx, t);
                t
            }
        };
        let pool = *pool_index.entry(node).or_insert_with(|| {
            pool_nodes.push(node);
            (pool_nodes.len() - 1) as u32
        });
        let order = (e.block, e.tx_index, e.log_index);
        match &e.data {
            EventData::TornadoDeposit { .. } => {
                // the depositor: the tx sender, else who paid the pool in that tx
                let depositor = match &e.tx_from {
                    Some(a) => id_of(a),
                    None => pool_payer(g, &first, tx, node).unwrap_or(super::UNKNOWN_DEPOSITOR),
                };
                input.deposits.push(Deposit {
                    pool,
                    tx,
                    order,
                    time: e.time,
                    depositor,
                    gas_price: e.gas_price,
                });
            }
            EventData::TornadoWithdrawal { to, relayer, .. } => {
                let recipient = id_of(&Address::Evm(*to));
                let relayer = (!relayer.is_zero()).then(|| id_of(&Address::Evm(*relayer)));
                input.withdrawals.push(Withdrawal {
                    pool,
                    tx,
                    order,
                    time: e.time,
                    recipient,
                    relayer,
                    sender: e.tx_from.as_ref().map(&mut id_of),
                    gas_price: e.gas_price,
                });
            }
            _ => {}
        }
    }
    input.pools = pool_nodes.len();
    let pool_set: FxHashSet<u32> = pool_nodes.iter().copied().collect();
    let ends: FxHashSet<u32> = input
        .deposits
        .iter()
        .map(|d| d.depositor)
        .chain(input.withdrawals.iter().map(|w| w.recipient))
        .collect();
    for f in &g.flows {
        if f.from == NONE || f.to == NONE || f.from == f.to {
            continue;
        }
        if pool_set.contains(&f.from) || pool_set.contains(&f.to) {
            continue;
        }
        if ends.contains(&f.from) && ends.contains(&f.to) {
            input.direct.insert((f.from.min(f.to), f.from.max(f.to)));
        }
    }
    let params = DemixParams {
        disabled: follow.disabled.clone(),
        min_confidence: follow.min_confidence,
        ..DemixParams::default()
    };
    let out = demix(&input, &params);
    let name = |id: u32| -> String {
        if id == NONE || id == super::UNKNOWN_DEPOSITOR {
            return String::new();
        }
        g.nodes
            .get(id as usize)
            .or_else(|| extra_names.get(id as usize - g.nodes.len()))
            .map(|a| a.to_string())
            .unwrap_or_default()
    };
    let chain_of = g.chain.unwrap_or(crate::model::Chain::ETHEREUM);
    let tx_name = |t: u32| {
        g.txs
            .get(t as usize)
            .or_else(|| extra_txs.get(t as usize - g.txs.len()))
            .map(|h| h.display(chain_of))
            .unwrap_or_default()
    };
    // deposits and withdrawals by pool index (each in chain order, as the events are)
    let mut pool_deps: Vec<Vec<&Deposit>> = vec![Vec::new(); pool_nodes.len()];
    for d in &input.deposits {
        pool_deps[d.pool as usize].push(d);
    }
    let mut pool_wds: Vec<Vec<&Withdrawal>> = vec![Vec::new(); pool_nodes.len()];
    for w in &input.withdrawals {
        pool_wds[w.pool as usize].push(w);
    }
    let mut plans: FxHashMap<u32, PoolPlan> = FxHashMap::default();
    let mut pool_meta: Vec<(u16, U256)> = Vec::with_capacity(pool_nodes.len());
    for (i, &node) in pool_nodes.iter().enumerate() {
        // the pool's asset and denomination: what its deposits paid it, the most common amount
        let mut amounts: FxHashMap<(u16, U256), u32> = FxHashMap::default();
        for d in &pool_deps[i] {
            for f in flows_of_tx(g, &first, d.tx).filter(|f| f.to == node) {
                *amounts.entry((f.asset, f.amount)).or_default() += 1;
            }
        }
        if amounts.is_empty() {
            // no deposit transfer in the data: a withdrawal pays out the denomination (to the
            // recipient and the relayer) in one transaction
            for w in &pool_wds[i] {
                let mut per: FxHashMap<u16, U256> = FxHashMap::default();
                for f in flows_of_tx(g, &first, w.tx).filter(|f| f.from == node) {
                    *per.entry(f.asset).or_default() += f.amount;
                }
                for k in per {
                    *amounts.entry(k).or_default() += 1;
                }
            }
        }
        let meta = amounts
            .into_iter()
            .max_by_key(|(k, c)| (*c, std::cmp::Reverse(*k)))
            .map(|(k, _)| k)
            .unwrap_or((0, U256::ZERO));
        pool_meta.push(meta);
        let virtual_deposits = if meta.1.is_zero() {
            Vec::new()
        } else {
            pool_deps[i]
                .iter()
                .filter(|d| !flows_of_tx(g, &first, d.tx).any(|f| f.to == node))
                .map(|d| (d.order.0, d.order.1, d.tx, meta.1))
                .collect()
        };
        plans.insert(
            node,
            PoolPlan {
                asset: meta.0,
                virtual_deposits,
                ..PoolPlan::default()
            },
        );
    }
    let mut evidence = Vec::with_capacity(out.links.len());
    for l in &out.links {
        let d = &input.deposits[l.deposit];
        let w = &input.withdrawals[l.withdrawal];
        let node = pool_nodes[w.pool as usize];
        if l.followed {
            let p = plans.get_mut(&node).expect("every pool has a plan");
            p.linked.insert(w.tx, d.tx);
            p.reserved.insert(d.tx);
        }
        let (asset, denom) = pool_meta[w.pool as usize];
        let mut measured = serde_json::json!({
            "pool": name(node),
            "asset": g.assets.get(asset as usize).map(|a| a.to_string()).unwrap_or_default(),
            "denomination_base_units": denom.to_string(),
            "deposit_tx": tx_name(d.tx),
            "withdrawal_tx": tx_name(w.tx),
            "deposit_time": d.time,
            "withdrawal_time": w.time,
            "depositor": name(d.depositor),
            "recipient": name(w.recipient),
            "relayer": w.relayer.map(&name),
            "anonymity_set": out.set_size[l.withdrawal],
            "also_found_by": l.also,
        });
        if let (Some(m), serde_json::Value::Object(extra)) =
            (measured.as_object_mut(), l.measured.clone())
        {
            m.extend(extra);
        }
        evidence.push(Evidence {
            heuristic: l.heuristic,
            chain: chain.clone(),
            address: name(w.recipient),
            linked_to: name(d.depositor),
            entity: entity(node),
            parameters: serde_json::json!({
                "min_confidence": params.min_confidence,
                "window_secs": params.window_secs,
                "fifo_max_set": params.fifo_max_set,
            }),
            measured,
            confidence: (l.confidence * 1000.0).round() / 1000.0,
            witness_txs: vec![tx_name(d.tx), tx_name(w.tx)],
            followed: Some(l.followed),
        });
    }
    let pools: Vec<serde_json::Value> = pool_nodes
        .iter()
        .enumerate()
        .map(|(i, &node)| {
            let s = &out.pools[i];
            let (asset, denom) = pool_meta[i];
            serde_json::json!({
                "pool": name(node),
                "entity": entity(node),
                "asset": g.assets.get(asset as usize).map(|a| a.to_string()).unwrap_or_default(),
                "denomination_base_units": denom.to_string(),
                "deposits": s.deposits,
                "withdrawals": s.withdrawals,
                "linked": s.linked,
                "followed": s.followed,
                "anonymity_set": {"min": s.min_set, "median": s.median_set, "max": s.max_set},
            })
        })
        .collect();
    let summary = serde_json::json!({
        "rule": "followed links move their deposit's taint to their withdrawal; every other withdrawal carries the pool's tainted share of the unlinked deposits still in it (pool haircut)",
        "min_confidence": params.min_confidence,
        "heuristics_off": params.disabled,
        "links": out.links.len(),
        "followed": out.links.iter().filter(|l| l.followed).count(),
        "events_outside_the_data": missing,
        "pools": pools,
    });
    Demixed {
        plans,
        evidence,
        summary,
    }
}

/// The first flow of each transaction (a transaction's flows are contiguous in replay order).
fn first_flows(g: &FlowGraph) -> Vec<usize> {
    let mut v = vec![usize::MAX; g.txs.len()];
    for (i, f) in g.flows.iter().enumerate() {
        if v[f.tx as usize] == usize::MAX {
            v[f.tx as usize] = i;
        }
    }
    v
}

/// The flows of one transaction.
fn flows_of_tx<'a>(
    g: &'a FlowGraph,
    first: &[usize],
    tx: u32,
) -> impl Iterator<Item = &'a crate::graph::flow::Flow> {
    let start = first.get(tx as usize).copied().unwrap_or(usize::MAX);
    g.flows
        .get(start..)
        .unwrap_or(&[])
        .iter()
        .take_while(move |f| f.tx == tx)
}

/// Who paid `pool` in transaction `tx`.
fn pool_payer(g: &FlowGraph, first: &[usize], tx: u32, pool: u32) -> Option<u32> {
    flows_of_tx(g, first, tx)
        .find(|f| f.to == pool && f.from != NONE)
        .map(|f| f.from)
}
