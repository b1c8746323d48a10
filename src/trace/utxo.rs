//! The replay on a UTXO chain: taint lives on outputs (outpoints), not on addresses, and a
//! transaction is a transient node whose inputs' taint the model splits over its outputs and
//! fee ([`TaintModel::utxo_split`]). Spending an address's clean output moves no taint even if
//! the same address holds a tainted one. CoinJoins are not terminal: the models apply to them
//! as to any transaction (with `--demix`, the rule of [`super::coinjoin`]). The results use the account replay's bookkeeping ([`Replay`]), so
//! endpoints, flows and exports are the same.

use std::collections::{HashMap, HashSet};

use alloy_primitives::U256;

use super::coinjoin::Demixer;
use super::engine::{EndpointKey, FEE, Injection, Replay, ReplayConfig, Role, UNKNOWN, UNSPENT};
use super::models::TaintModel;
use crate::graph::{FlowGraph, NONE};
use crate::model::{OutPoint, SubIndex};
use crate::store::StoredUtxoTx;

struct Held<P> {
    parcel: P,
    node: u32,
    hop: u32,
}

/// Replay UTXO transactions `txs` (time order) under `M`. `opening_block`: outputs held by
/// seeds at the end of that block are tainted from the start (SeedValue injection); only
/// transactions after it (and up to `to_block`) are replayed.
pub fn replay<M: TaintModel>(
    g: &FlowGraph,
    txs: &[StoredUtxoTx],
    roles: &[Role],
    cfg: &ReplayConfig,
    opening_block: u64,
    to_block: Option<u64>,
) -> Replay {
    replay_demix::<M>(g, txs, roles, cfg, opening_block, to_block, None)
}

/// [`replay`], with CoinJoins split by `demix` when given (`--demix`, [`super::coinjoin`]).
pub fn replay_demix<M: TaintModel>(
    g: &FlowGraph,
    txs: &[StoredUtxoTx],
    roles: &[Role],
    cfg: &ReplayConfig,
    opening_block: u64,
    to_block: Option<u64>,
    mut demix: Option<&mut Demixer>,
) -> Replay {
    let mut r = Replay {
        injected: vec![U256::ZERO; g.assets.len().max(1)],
        injected_by_day: vec![Default::default(); g.assets.len().max(1)],
        unexplained: vec![U256::ZERO; g.assets.len().max(1)],
        ..Default::default()
    };
    let asset = 0u16; // BTC: the only asset of a UTXO chain
    let role = |n: u32| roles.get(n as usize).unwrap_or(&Role::Plain);
    let node_of =
        |a: &Option<crate::model::Address>| a.as_ref().and_then(|a| g.node(a)).unwrap_or(NONE);
    let is_seed = |n: u32| n != NONE && matches!(role(n), Role::Seed);
    let seed_value = matches!(cfg.injection, Injection::SeedValue);
    let theft: HashSet<u32> = match &cfg.injection {
        Injection::TheftTxs(t) => t.clone(),
        _ => HashSet::new(),
    };
    let mut carried_left = match &cfg.injection {
        Injection::Carried(m) => m.clone(),
        _ => HashMap::new(),
    };
    // flow index of each (tx id, sub-index) row, to report tainted flows
    let mut sub_ids: HashMap<&SubIndex, u32> = HashMap::new();
    for (i, s) in g.subs.iter().enumerate() {
        sub_ids.insert(s, i as u32);
    }
    let mut row: HashMap<(u32, u32), usize> = HashMap::new();
    for (i, f) in g.flows.iter().enumerate() {
        row.insert((f.tx, f.sub), i);
    }
    let tx_id: HashMap<_, u32> = g
        .txs
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i as u32))
        .collect();
    let flow_of = |tx: u32, sub: &SubIndex| -> Option<usize> {
        sub_ids.get(sub).and_then(|s| row.get(&(tx, *s)).copied())
    };

    // tainted outpoints and where they sit
    let mut held: HashMap<OutPoint, Held<M::Parcel>> = HashMap::new();
    // outputs held by seeds at the opening block: tainted from the start
    if seed_value {
        let mut open: HashMap<OutPoint, (u32, U256)> = HashMap::new();
        for tx in txs.iter().filter(|t| t.block <= opening_block) {
            for i in &tx.inputs {
                if let Some(p) = i.prevout {
                    open.remove(&p);
                }
            }
            for o in &tx.outputs {
                let n = node_of(&o.address);
                if is_seed(n) && o.value > 0 {
                    open.insert(o.outpoint, (n, U256::from(o.value)));
                }
            }
        }
        for (op, (n, v)) in open {
            r.inject(0, v, None);
            held.insert(
                op,
                Held {
                    parcel: M::fresh(v, v),
                    node: n,
                    hop: 0,
                },
            );
        }
    }

    for tx in txs
        .iter()
        .filter(|t| t.block > opening_block && to_block.is_none_or(|b| t.block <= b))
    {
        let tid = tx_id.get(&tx.txid).copied();
        let mut inputs: Vec<(U256, M::Parcel)> = Vec::with_capacity(tx.inputs.len());
        let mut in_hop = u32::MAX;
        for i in &tx.inputs {
            let v = U256::from(i.value);
            let h = i.prevout.and_then(|p| held.remove(&p));
            let (parcel, hop) = match h {
                Some(h) => (h.parcel, h.hop),
                None => {
                    let n = node_of(&i.address);
                    // an output of a seed that the data does not show arriving: the seed held it
                    if i.prevout.is_some() && is_seed(n) && seed_value && !v.is_zero() {
                        r.inject(0, v, Some(tx.time));
                        r.unexplained[0] += v;
                        (M::fresh(v, v), 0)
                    } else {
                        (M::fresh(v, U256::ZERO), u32::MAX)
                    }
                }
            };
            let t = M::parcel_taint(&parcel);
            if !t.is_zero() {
                in_hop = in_hop.min(hop);
                if let Some(k) = tid.and_then(|t| flow_of(t, &SubIndex::Input(i.index))) {
                    r.tainted_flows.push((k, t, hop));
                }
            }
            inputs.push((v, parcel));
        }
        let mut values: Vec<U256> = tx.outputs.iter().map(|o| U256::from(o.value)).collect();
        values.push(U256::from(tx.fee));
        let any_taint = in_hop != u32::MAX;
        let out_hop = if any_taint {
            in_hop.saturating_add(1)
        } else {
            u32::MAX
        };
        let mut parcels = demix
            .as_deref_mut()
            .and_then(|d| d.split::<M>(tx, &inputs, &values))
            .unwrap_or_else(|| M::utxo_split(&inputs, &values));
        let fee_parcel = parcels.pop();
        for (o, parcel) in tx.outputs.iter().zip(parcels) {
            let n = node_of(&o.address);
            let v = U256::from(o.value);
            let mut tainted = M::parcel_taint(&parcel);
            let mut parcel = parcel;
            let mut hop = out_hop;
            let carried = tid.and_then(|t| carried_left.get_mut(&(t, n))).map(|left| {
                let x = (*left).min(v);
                *left -= x;
                x
            });
            let injects = is_seed(n)
                && !v.is_zero()
                && (seed_value
                    || tid.is_some_and(|t| theft.contains(&t))
                    || carried.is_some_and(|x| x > tainted));
            if injects {
                let t = carried.unwrap_or(v);
                r.inject(0, t - tainted, Some(tx.time));
                tainted = t;
                parcel = M::fresh(v, t);
                hop = 0;
            }
            if tainted.is_zero() {
                continue;
            }
            let sub = SubIndex::Output(o.outpoint.vout);
            if let Some(k) = tid.and_then(|t| flow_of(t, &sub)) {
                r.tainted_flows
                    .push((k, tainted, if injects { 0 } else { hop }));
            }
            let time = Some(tx.time);
            let hop_opt = (hop != u32::MAX).then_some(hop);
            let beyond = cfg.max_hops.is_some_and(|m| hop != u32::MAX && hop > m);
            let dust = cfg
                .min_value
                .first()
                .is_some_and(|m| !m.is_zero() && v < *m);
            match role(n) {
                _ if n == NONE => credit(&mut r, (NONE, UNKNOWN, asset), tainted, hop_opt, time),
                Role::Terminal { category, .. } => {
                    let cat = if beyond || dust {
                        UNKNOWN
                    } else {
                        super::engine::category_id(category)
                    };
                    credit(&mut r, (n, cat, asset), tainted, hop_opt, time);
                    r.hops_max = r.hops_max.max(hop);
                }
                _ if (beyond || dust) && !injects => {
                    credit(&mut r, (n, UNKNOWN, asset), tainted, hop_opt, time)
                }
                _ => {
                    if !injects {
                        r.hops_max = r.hops_max.max(hop);
                    }
                    held.insert(
                        o.outpoint,
                        Held {
                            parcel,
                            node: n,
                            hop,
                        },
                    );
                }
            }
        }
        if let Some(fp) = fee_parcel {
            let t = M::parcel_taint(&fp);
            if !t.is_zero() {
                credit(
                    &mut r,
                    (NONE, FEE, asset),
                    t,
                    (out_hop != u32::MAX).then_some(out_hop),
                    Some(tx.time),
                );
                if let Some(k) = tid.and_then(|t| flow_of(t, &SubIndex::Fee)) {
                    r.tainted_flows.push((k, t, out_hop));
                }
            }
        }
    }
    // what is still held
    let mut rest: Vec<(&OutPoint, &Held<M::Parcel>)> = held.iter().collect();
    rest.sort_by_key(|(op, _)| **op);
    let mut nodes = HashSet::new();
    for (_, h) in rest {
        let t = M::parcel_taint(&h.parcel);
        nodes.insert(h.node);
        if !t.is_zero() {
            credit(
                &mut r,
                (h.node, UNSPENT, asset),
                t,
                (h.hop != u32::MAX).then_some(h.hop),
                None,
            );
        }
    }
    r.tainted_flows.sort_by_key(|x| x.0);
    r.addresses = nodes.len();
    r
}

fn credit(r: &mut Replay, key: EndpointKey, amount: U256, hop: Option<u32>, time: Option<i64>) {
    r.credit_pub(key, amount, hop, time);
}
