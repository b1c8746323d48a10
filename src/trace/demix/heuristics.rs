//! The Tornado heuristics. Each proposes candidate (deposit, withdrawal) pairs with a
//! confidence; [`super::demix`] keeps the strongest consistent set.

use std::collections::VecDeque;

use alloy_primitives::U256;
use rustc_hash::FxHashMap;

use super::{DemixInput, DemixParams, Link};

/// The depositor withdrew to itself.
pub const ADDRESS_MATCH: &str = "tornado_address_match";
/// An unrelayed withdrawal and a deposit share a fee setting no other pool transaction used.
pub const UNIQUE_GAS_PRICE: &str = "tornado_unique_gas_price";
/// The depositor and the recipient transacted directly.
pub const LINKED_ADDRESSES: &str = "tornado_linked_addresses";
/// A set of deposits and a set of withdrawals with the same denominations and counts.
pub const MULTI_DENOMINATION: &str = "tornado_multi_denomination";
/// A withdrawal takes the oldest deposit still in the pool.
pub const TEMPORAL_FIFO: &str = "tornado_temporal_fifo";

/// Confidences (see docs/adr/0010-demixing.md for why these values).
pub const CONF_ADDRESS_MATCH: f64 = 0.95;
/// A unique fee setting that is not a whole number of gwei.
pub const CONF_GAS_ODD: f64 = 0.9;
/// A unique fee setting that is a whole number of gwei (people pick round values alike).
pub const CONF_GAS_ROUND: f64 = 0.7;
/// Direct transfer between depositor and recipient.
pub const CONF_LINKED: f64 = 0.8;

/// A proposed pair.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub heuristic: &'static str,
    /// Tie-break: lower is preferred.
    pub rank: u8,
    pub deposit: usize,
    pub withdrawal: usize,
    pub confidence: f64,
    pub measured: serde_json::Value,
}

/// Deposits (withdrawals) in chain order, paired oldest first: each withdrawal takes the
/// oldest unpaired deposit made before it.
fn pair_in_time(input: &DemixInput, deps: &[usize], wds: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut q: VecDeque<usize> = VecDeque::new();
    let mut di = 0;
    for &w in wds {
        let wo = input.withdrawals[w].order;
        while di < deps.len() && input.deposits[deps[di]].order < wo {
            q.push_back(deps[di]);
            di += 1;
        }
        if let Some(d) = q.pop_front() {
            out.push((d, w));
        }
    }
    out
}

type Groups = FxHashMap<(u32, u32), Vec<usize>>;

/// (deposit, withdrawal) index pairs.
type Pairs = Vec<(usize, usize)>;

/// Deposits by (pool, depositor) and withdrawals by (pool, recipient), each in chain order.
fn groups(input: &DemixInput) -> (Groups, Groups) {
    let mut d: Groups = FxHashMap::default();
    for (i, x) in input.deposits.iter().enumerate() {
        if x.depositor != super::UNKNOWN_DEPOSITOR {
            d.entry((x.pool, x.depositor)).or_default().push(i);
        }
    }
    let mut w: Groups = FxHashMap::default();
    for (i, x) in input.withdrawals.iter().enumerate() {
        w.entry((x.pool, x.recipient)).or_default().push(i);
    }
    for v in d.values_mut() {
        v.sort_by_key(|i| input.deposits[*i].order);
    }
    for v in w.values_mut() {
        v.sort_by_key(|i| input.withdrawals[*i].order);
    }
    (d, w)
}

pub(super) fn address_match(input: &DemixInput, out: &mut Vec<Candidate>) {
    let (d, w) = groups(input);
    for (key, wds) in &w {
        let Some(deps) = d.get(key) else { continue };
        for (dep, wd) in pair_in_time(input, deps, wds) {
            out.push(Candidate {
                heuristic: ADDRESS_MATCH,
                rank: 0,
                deposit: dep,
                withdrawal: wd,
                confidence: CONF_ADDRESS_MATCH,
                measured: serde_json::json!({
                    "deposits_by_address": deps.len(),
                    "withdrawals_to_address": wds.len(),
                }),
            });
        }
    }
}

pub(super) fn unique_gas_price(input: &DemixInput, out: &mut Vec<Candidate>) {
    let mut dcount: FxHashMap<U256, (u32, usize)> = FxHashMap::default();
    for (i, x) in input.deposits.iter().enumerate() {
        if let Some(g) = x.gas_price {
            let e = dcount.entry(g).or_insert((0, i));
            e.0 += 1;
        }
    }
    let mut wcount: FxHashMap<U256, u32> = FxHashMap::default();
    for x in &input.withdrawals {
        if let Some(g) = x.gas_price {
            *wcount.entry(g).or_default() += 1;
        }
    }
    let gwei = U256::from(1_000_000_000u64);
    for (k, w) in input.withdrawals.iter().enumerate() {
        let Some(g) = w.gas_price else { continue };
        if !w.unrelayed() || wcount.get(&g) != Some(&1) {
            continue;
        }
        let Some(&(1, dep)) = dcount.get(&g) else {
            continue;
        };
        let d = &input.deposits[dep];
        if d.pool != w.pool || d.order >= w.order {
            continue;
        }
        let round = (g % gwei).is_zero();
        out.push(Candidate {
            heuristic: UNIQUE_GAS_PRICE,
            rank: 1,
            deposit: dep,
            withdrawal: k,
            confidence: if round { CONF_GAS_ROUND } else { CONF_GAS_ODD },
            measured: serde_json::json!({
                "gas_price_wei": g.to_string(),
                "whole_gwei": round,
                "deposits_with_this_price": 1,
                "withdrawals_with_this_price": 1,
            }),
        });
    }
}

pub(super) fn linked_addresses(input: &DemixInput, out: &mut Vec<Candidate>) {
    if input.direct.is_empty() {
        return;
    }
    let (d, w) = groups(input);
    let mut adj: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for &(a, b) in &input.direct {
        if a != b {
            adj.entry(a).or_default().push(b);
            adj.entry(b).or_default().push(a);
        }
    }
    for v in adj.values_mut() {
        v.sort_unstable();
    }
    for (&(pool, r), wds) in &w {
        let Some(ns) = adj.get(&r) else { continue };
        for &n in ns {
            let Some(deps) = d.get(&(pool, n)) else {
                continue;
            };
            for (dep, wd) in pair_in_time(input, deps, wds) {
                out.push(Candidate {
                    heuristic: LINKED_ADDRESSES,
                    rank: 2,
                    deposit: dep,
                    withdrawal: wd,
                    confidence: CONF_LINKED,
                    measured: serde_json::json!({
                        "direct_transfer_between_depositor_and_recipient": true,
                    }),
                });
            }
        }
    }
}

/// A run of one address's deposits (or withdrawals) with gaps of at most the window.
struct Session {
    owner: u32,
    items: Vec<usize>,
    first_time: i64,
    last_time: i64,
}

fn sessions(items: Vec<(u32, i64, usize)>, window: i64) -> Vec<Session> {
    // items: (owner, time, index), sorted by (owner, time) by the caller
    let mut out: Vec<Session> = Vec::new();
    for (owner, t, i) in items {
        match out.last_mut() {
            Some(s) if s.owner == owner && t - s.last_time <= window => {
                s.items.push(i);
                s.last_time = t;
            }
            _ => out.push(Session {
                owner,
                items: vec![i],
                first_time: t,
                last_time: t,
            }),
        }
    }
    out
}

pub(super) fn multi_denomination(input: &DemixInput, window: i64, out: &mut Vec<Candidate>) {
    let mut ds: Vec<(u32, i64, usize)> = input
        .deposits
        .iter()
        .enumerate()
        .filter(|(_, d)| d.depositor != super::UNKNOWN_DEPOSITOR)
        .map(|(i, d)| (d.depositor, d.time, i))
        .collect();
    ds.sort_by_key(|x| (x.0, input.deposits[x.2].order));
    let mut ws: Vec<(u32, i64, usize)> = input
        .withdrawals
        .iter()
        .enumerate()
        .map(|(i, w)| (w.recipient, w.time, i))
        .collect();
    ws.sort_by_key(|x| (x.0, input.withdrawals[x.2].order));
    let sig = |pools: Vec<u32>| -> Option<Vec<(u32, u32)>> {
        let mut m: Vec<(u32, u32)> = Vec::new();
        let mut p = pools;
        p.sort_unstable();
        for x in p {
            match m.last_mut() {
                Some((q, c)) if *q == x => *c += 1,
                _ => m.push((x, 1)),
            }
        }
        (m.len() >= 2).then_some(m)
    };
    type Sig = Vec<(u32, u32)>;
    let mut by_sig: FxHashMap<Sig, (Vec<Session>, Vec<Session>)> = FxHashMap::default();
    for s in sessions(ds, window) {
        if let Some(k) = sig(s.items.iter().map(|i| input.deposits[*i].pool).collect()) {
            by_sig.entry(k).or_default().0.push(s);
        }
    }
    for s in sessions(ws, window) {
        if let Some(k) = sig(s.items.iter().map(|i| input.withdrawals[*i].pool).collect()) {
            by_sig.entry(k).or_default().1.push(s);
        }
    }
    let mut keys: Vec<&Sig> = by_sig.keys().collect();
    keys.sort();
    for key in keys {
        let (dsess, wsess) = &by_sig[key];
        if dsess.is_empty() || wsess.is_empty() {
            continue;
        }
        // compatible pairs: every withdrawal pairs with an earlier deposit of its pool, and
        // the whole match fits in the window
        // (depositor session, recipient session, the pairs they make)
        let mut pairs: Vec<(usize, usize, Pairs)> = Vec::new();
        let mut dn = vec![0u32; dsess.len()];
        let mut wn = vec![0u32; wsess.len()];
        for (a, d) in dsess.iter().enumerate() {
            for (b, w) in wsess.iter().enumerate() {
                if w.last_time - d.first_time > window || w.first_time < d.first_time {
                    continue;
                }
                let mut all = Vec::new();
                let mut ok = true;
                for &(pool, count) in key {
                    let deps: Vec<usize> = d
                        .items
                        .iter()
                        .copied()
                        .filter(|i| input.deposits[*i].pool == pool)
                        .collect();
                    let wds: Vec<usize> = w
                        .items
                        .iter()
                        .copied()
                        .filter(|i| input.withdrawals[*i].pool == pool)
                        .collect();
                    let p = pair_in_time(input, &deps, &wds);
                    if p.len() as u32 != count {
                        ok = false;
                        break;
                    }
                    all.extend(p);
                }
                if ok {
                    dn[a] += 1;
                    wn[b] += 1;
                    pairs.push((a, b, all));
                }
            }
        }
        let n: u32 = key.iter().map(|x| x.1).sum();
        let confidence = (0.55 + 0.05 * n as f64).min(0.95);
        for (a, b, all) in pairs {
            if dn[a] != 1 || wn[b] != 1 {
                continue; // ambiguous: another session has the same signature
            }
            let (d, w) = (&dsess[a], &wsess[b]);
            for (dep, wd) in all {
                out.push(Candidate {
                    heuristic: MULTI_DENOMINATION,
                    rank: 3,
                    deposit: dep,
                    withdrawal: wd,
                    confidence,
                    measured: serde_json::json!({
                        "deposits_in_set": n,
                        "pools_in_set": key.len(),
                        "counts_per_pool": key.iter().map(|x| x.1).collect::<Vec<_>>(),
                        "span_secs": w.last_time - d.first_time,
                        "candidate_sets_with_this_signature": [dsess.len(), wsess.len()],
                    }),
                });
            }
        }
    }
}

/// The pools' deposits (those `keep` accepts) and withdrawals in chain order: (order, is a
/// withdrawal, index).
fn in_chain_order(
    input: &DemixInput,
    keep: impl Fn(usize) -> bool,
) -> Vec<(super::Order, bool, usize)> {
    let mut ev: Vec<(super::Order, bool, usize)> = input
        .deposits
        .iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(i, d)| (d.order, false, i))
        .chain(
            input
                .withdrawals
                .iter()
                .enumerate()
                .map(|(i, w)| (w.order, true, i)),
        )
        .collect();
    ev.sort_unstable();
    ev
}

/// The anonymity set of each withdrawal: its pool's deposits so far minus its withdrawals
/// before it.
pub(super) fn anonymity_sets(input: &DemixInput) -> Vec<u32> {
    let ev = in_chain_order(input, |_| true);
    let mut live = vec![0i64; input.pools];
    let mut out = vec![0u32; input.withdrawals.len()];
    for (_, is_w, i) in ev {
        if is_w {
            let p = input.withdrawals[i].pool as usize;
            out[i] = live[p].max(0) as u32;
            live[p] -= 1;
        } else {
            live[input.deposits[i].pool as usize] += 1;
        }
    }
    out
}

/// Temporal FIFO over what the other heuristics left: in each pool, every withdrawal without a
/// followed link takes the oldest deposit not reserved by a followed link; confidence 1 / the
/// number of deposits it could have been — every unreserved deposit of the pool made before
/// it — (reported when that is at most `fifo_max_set`).
pub(super) fn temporal_fifo(
    input: &DemixInput,
    chosen: &FxHashMap<usize, Link>,
    set_size: &[u32],
    p: &DemixParams,
) -> Vec<Link> {
    let reserved: rustc_hash::FxHashSet<usize> = chosen
        .values()
        .filter(|l| l.followed)
        .map(|l| l.deposit)
        .collect();
    let ev = in_chain_order(input, |i| !reserved.contains(&i));
    let mut queues: Vec<VecDeque<usize>> = vec![VecDeque::new(); input.pools];
    // unreserved deposits made so far: any of them may be the one a withdrawal spends (an
    // earlier unlinked withdrawal may have taken any other), so each is 1 / this likely
    let mut seen = vec![0u32; input.pools];
    let mut out = Vec::new();
    for (_, is_w, i) in ev {
        if !is_w {
            let p = input.deposits[i].pool as usize;
            queues[p].push_back(i);
            seen[p] += 1;
            continue;
        }
        if chosen.get(&i).is_some_and(|l| l.followed) {
            continue;
        }
        let pool = input.withdrawals[i].pool as usize;
        let n = seen[pool];
        let Some(d) = queues[pool].pop_front() else {
            continue;
        };
        if chosen.contains_key(&i) || n > p.fifo_max_set {
            continue;
        }
        let confidence = 1.0 / n as f64;
        if confidence >= p.min_confidence {
            seen[pool] -= 1; // followed: that deposit is spent here
        }
        out.push(Link {
            heuristic: TEMPORAL_FIFO,
            deposit: d,
            withdrawal: i,
            confidence,
            also: Vec::new(),
            measured: serde_json::json!({
                "candidate_deposits": n,
                "anonymity_set": set_size[i],
            }),
            followed: confidence >= p.min_confidence,
        });
    }
    out
}
