//! The replay: one pass over the flow graph's transfers in time order, per-(address, asset)
//! ledgers of a [`TaintModel`], and the accounting of where taint ends.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy_primitives::U256;

use super::models::TaintModel;
use crate::graph::{FlowGraph, NONE};

/// What a node is to the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// An ordinary address: taint passes through its ledger.
    Plain,
    /// A seed: taint starts here.
    Seed,
    /// A labelled terminal entity (or an attributed deposit address): taint reaching it is
    /// credited to `category` and stops.
    Terminal {
        /// Endpoint category (exchange, mixer, bridge, defi, sanctioned …).
        category: String,
        /// Entity named in endpoints.csv.
        entity: String,
    },
}

/// Where taint starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Injection {
    /// Every unit a seed holds: its opening balance and every inflow from a non-seed.
    SeedValue,
    /// Only what seeds receive in these transactions (tx ids of the graph).
    TheftTxs(HashSet<u32>),
}

/// Replay settings.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// Where taint starts.
    pub injection: Injection,
    /// Taint is not followed past this many hops from a seed (credited to `unknown`).
    pub max_hops: Option<u32>,
    /// Per asset id: transfers below this amount are dust, their taint is not followed
    /// (credited to `unknown`). Missing or zero: no threshold.
    pub min_value: Vec<U256>,
}

/// Category name of taint that left through fees.
pub const FEE: &str = "fee";
/// Category of taint resting at non-terminal addresses at the end.
pub const UNSPENT: &str = "unspent";
/// Category of taint not followed further (hop limit, dust).
pub const UNKNOWN: &str = "unknown";

/// Accumulated taint at one endpoint (address or fee sink, category, asset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAcc {
    /// Tainted amount.
    pub amount: U256,
    /// Fewest hops from a seed at which taint arrived (None: an opening balance).
    pub min_hops: Option<u32>,
    /// Time of the first tainted arrival.
    pub first_time: Option<i64>,
    /// Time of the last tainted arrival.
    pub last_time: Option<i64>,
}

/// Key of an endpoint: (node or NONE for the fee sink, category, asset id).
pub type EndpointKey = (u32, String, u16);

/// What the replay found.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// Injected taint per asset id.
    pub injected: Vec<U256>,
    /// Value an address spent beyond what the data shows it had, per asset id; counted as
    /// clean (tainted when the address is a seed, then also in `injected`).
    pub unexplained: Vec<U256>,
    /// Endpoints.
    pub endpoints: BTreeMap<EndpointKey, EndpointAcc>,
    /// Flows that carried taint: (flow index, tainted amount, hop).
    pub tainted_flows: Vec<(usize, U256, u32)>,
    /// Highest hop reached by taint.
    pub hops_max: u32,
    /// Addresses whose ledgers were touched.
    pub addresses: usize,
}

impl Replay {
    fn credit(&mut self, key: EndpointKey, amount: U256, hop: Option<u32>, time: Option<i64>) {
        let e = self.endpoints.entry(key).or_insert(EndpointAcc {
            amount: U256::ZERO,
            min_hops: None,
            first_time: None,
            last_time: None,
        });
        e.amount += amount;
        if let Some(h) = hop {
            e.min_hops = Some(e.min_hops.map_or(h, |m| m.min(h)));
        }
        if let Some(t) = time {
            e.first_time = Some(e.first_time.map_or(t, |m| m.min(t)));
            e.last_time = Some(e.last_time.map_or(t, |m| m.max(t)));
        }
    }

    /// Σ endpoints per asset id.
    pub fn credited(&self, assets: usize) -> Vec<U256> {
        let mut v = vec![U256::ZERO; assets];
        for ((_, _, a), e) in &self.endpoints {
            v[*a as usize] += e.amount;
        }
        v
    }
}

/// Replay `g` under model `M`. `roles[node]` says what each node is; `opening` lists the
/// balances held at the start of the window (node, asset id, amount).
pub fn replay<M: TaintModel>(
    g: &FlowGraph,
    roles: &[Role],
    opening: &[(u32, u16, U256)],
    cfg: &ReplayConfig,
) -> Replay {
    let n_assets = g.assets.len();
    let mut r = Replay {
        injected: vec![U256::ZERO; n_assets],
        unexplained: vec![U256::ZERO; n_assets],
        ..Default::default()
    };
    let role = |n: u32| roles.get(n as usize).unwrap_or(&Role::Plain);
    let is_seed = |n: u32| n != NONE && matches!(role(n), Role::Seed);
    let seed_value = matches!(cfg.injection, Injection::SeedValue);
    let mut ledgers: HashMap<(u32, u16), M::Ledger> = HashMap::new();
    let mut hop: Vec<u32> = vec![u32::MAX; g.nodes.len()];
    let mut arrivals: HashMap<u32, (i64, i64)> = HashMap::new();
    for (n, rl) in roles.iter().enumerate() {
        if *rl == Role::Seed {
            hop[n] = 0;
        }
    }
    for &(node, asset, amount) in opening {
        if amount.is_zero() || matches!(role(node), Role::Terminal { .. }) {
            continue;
        }
        let tainted = if is_seed(node) && seed_value {
            r.injected[asset as usize] += amount;
            amount
        } else {
            U256::ZERO
        };
        let l = ledgers.entry((node, asset)).or_default();
        M::deposit(l, amount, M::fresh(amount, tainted));
    }

    let flows = &g.flows;
    let mut precomputed: HashMap<usize, M::Parcel> = HashMap::new();
    for i in 0..flows.len() {
        let f = flows[i];
        if f.from == f.to && f.from != NONE {
            continue; // a self-transfer moves nothing
        }
        let a = f.asset as usize;
        let sender_tracked = f.from != NONE && !matches!(role(f.from), Role::Terminal { .. });
        let parcel = if let Some(p) = precomputed.remove(&i) {
            p
        } else if sender_tracked {
            // this ledger's outflows in the same transaction, up to its next inflow there
            let mut group = vec![i];
            let mut j = i + 1;
            while j < flows.len() && flows[j].tx == f.tx {
                let h = flows[j];
                if h.asset == f.asset && h.to == f.from && h.from != h.to {
                    break;
                }
                if h.asset == f.asset && h.from == f.from && h.to != h.from {
                    group.push(j);
                }
                j += 1;
            }
            let amounts: Vec<U256> = group.iter().map(|k| flows[*k].amount).collect();
            let total: U256 = amounts.iter().copied().sum();
            let l = ledgers.entry((f.from, f.asset)).or_default();
            let have = M::balance(l);
            if total > have {
                // spent more than the data shows it had: value from before the window or
                // from outside the fetched data
                let extra = total - have;
                let tainted = if is_seed(f.from) && seed_value {
                    r.injected[a] += extra;
                    extra
                } else {
                    U256::ZERO
                };
                r.unexplained[a] += extra;
                M::deposit(l, extra, M::fresh(extra, tainted));
            }
            let mut parcels = M::withdraw_group(l, &amounts).into_iter();
            let first = parcels.next().expect("group has its first flow");
            for (k, p) in group[1..].iter().zip(parcels) {
                precomputed.insert(*k, p);
            }
            first
        } else {
            M::fresh(f.amount, U256::ZERO)
        };
        let mut tainted = M::parcel_taint(&parcel);
        let sender_hop = if f.from == NONE {
            u32::MAX
        } else {
            hop[f.from as usize]
        };
        let flow_hop = if tainted.is_zero() || sender_hop == u32::MAX {
            None
        } else {
            Some(sender_hop + 1)
        };
        let to = f.to;
        if to == NONE {
            if !tainted.is_zero() {
                r.credit((NONE, FEE.into(), f.asset), tainted, flow_hop, Some(f.time));
                r.tainted_flows.push((i, tainted, flow_hop.unwrap_or(0)));
            }
            continue;
        }
        match role(to) {
            Role::Seed => {
                let injects = match &cfg.injection {
                    Injection::SeedValue => !is_seed(f.from),
                    Injection::TheftTxs(txs) => txs.contains(&f.tx) && !is_seed(f.from),
                };
                let parcel = if injects {
                    r.injected[a] += f.amount - tainted;
                    tainted = f.amount;
                    M::fresh(f.amount, f.amount)
                } else {
                    parcel
                };
                let l = ledgers.entry((to, f.asset)).or_default();
                M::deposit(l, f.amount, parcel);
                if !tainted.is_zero() {
                    // taint into a seed is at hop 0 by definition
                    let h = if injects { 0 } else { flow_hop.unwrap_or(0) };
                    r.tainted_flows.push((i, tainted, h));
                    note_arrival(&mut arrivals, to, f.time);
                }
            }
            Role::Terminal { category, .. } => {
                if !tainted.is_zero() {
                    let h = flow_hop.unwrap_or(0);
                    let beyond = cfg.max_hops.is_some_and(|m| h > m);
                    let dust = cfg
                        .min_value
                        .get(a)
                        .is_some_and(|m| !m.is_zero() && f.amount < *m);
                    let cat = if beyond || dust {
                        UNKNOWN.to_string()
                    } else {
                        category.clone()
                    };
                    r.credit((to, cat, f.asset), tainted, flow_hop, Some(f.time));
                    r.tainted_flows.push((i, tainted, flow_hop.unwrap_or(0)));
                    r.hops_max = r.hops_max.max(flow_hop.unwrap_or(0));
                }
            }
            Role::Plain => {
                let h = flow_hop.unwrap_or(u32::MAX);
                let beyond = cfg.max_hops.is_some_and(|m| h != u32::MAX && h > m);
                let dust = cfg
                    .min_value
                    .get(a)
                    .is_some_and(|m| !m.is_zero() && f.amount < *m);
                let l = ledgers.entry((to, f.asset)).or_default();
                if !tainted.is_zero() && (beyond || dust) {
                    // not followed: the taint is accounted as unknown here, the value arrives clean
                    M::deposit(l, f.amount, M::fresh(f.amount, U256::ZERO));
                    r.credit(
                        (to, UNKNOWN.into(), f.asset),
                        tainted,
                        flow_hop,
                        Some(f.time),
                    );
                    r.tainted_flows.push((i, tainted, h));
                    continue;
                }
                M::deposit(l, f.amount, parcel);
                if !tainted.is_zero() {
                    hop[to as usize] = hop[to as usize].min(h);
                    r.hops_max = r.hops_max.max(h);
                    r.tainted_flows.push((i, tainted, h));
                    note_arrival(&mut arrivals, to, f.time);
                }
            }
        }
    }

    // taint still held at non-terminal addresses
    let mut keys: Vec<&(u32, u16)> = ledgers.keys().collect();
    keys.sort();
    for &(node, asset) in keys {
        let t = M::taint(&ledgers[&(node, asset)]);
        if t.is_zero() {
            continue;
        }
        let h = hop[node as usize];
        let times = arrivals.get(&node);
        r.credit(
            (node, UNSPENT.into(), asset),
            t,
            (h != u32::MAX).then_some(h),
            None,
        );
        if let Some((first, last)) = times {
            let e = r
                .endpoints
                .get_mut(&(node, UNSPENT.to_string(), asset))
                .expect("just credited");
            e.first_time = Some(*first);
            e.last_time = Some(*last);
        }
    }
    r.addresses = ledgers.keys().map(|k| k.0).collect::<HashSet<_>>().len();
    r
}

fn note_arrival(arrivals: &mut HashMap<u32, (i64, i64)>, node: u32, time: i64) {
    let e = arrivals.entry(node).or_insert((time, time));
    e.0 = e.0.min(time);
    e.1 = e.1.max(time);
}
