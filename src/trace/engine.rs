//! The replay: one pass over the flow graph's transfers in time order, per-(address, asset)
//! ledgers of a [`TaintModel`], and the accounting of where taint ends.

use std::collections::HashSet;

use alloy_primitives::U256;

use super::demix::plan::PoolPlan;
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
    /// A cross-chain continuation: exactly these tainted amounts, received by seed `node` in
    /// transaction `tx` ((tx id, node) → amount, at most the value received).
    Carried(std::collections::HashMap<(u32, u32), U256>),
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
    /// Demixed pools by node (`--demix`): taint passes through them instead of stopping.
    pub pools: FastMap<u32, PoolPlan>,
    /// Taint crosses assets inside DEX swaps (`--follow-swaps`).
    pub swaps: bool,
}

/// A swap the taint crossed (`--follow-swaps`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapRecord {
    /// The swap (flow indices).
    pub swap: super::swaps::Swap,
    /// Σ input amounts and their taint (one asset).
    pub input: (U256, U256),
    /// The taint each output carried, in the order of `swap.outputs`.
    pub outputs: Vec<U256>,
}

/// The state of a demixed pool: the unlinked deposits still in it (one haircut ledger: balance,
/// taint) and the deposits reserved by followed links (amount, taint left), by deposit tx.
#[derive(Debug, Clone, Default)]
struct PoolState {
    balance: U256,
    taint: U256,
    reserved: FastMap<u32, (U256, U256)>,
    last_tainted: Option<i64>,
    /// Virtual deposits of the plan already added.
    next_virtual: usize,
}

impl PoolState {
    /// Add the plan's virtual (clean) deposits made before (block, tx index).
    fn catch_up(&mut self, plan: &PoolPlan, block: u64, tx_index: u32) {
        while let Some(&(b, ti, tx, v)) = plan.virtual_deposits.get(self.next_virtual) {
            if (b, ti) >= (block, tx_index) {
                break;
            }
            if plan.reserved.contains(&tx) {
                self.reserved.entry(tx).or_default().0 += v;
            } else {
                self.balance += v;
            }
            self.next_virtual += 1;
        }
    }

    /// Value `v` leaves in withdrawal tx `tx`: from its linked deposit's reserve when the plan
    /// links it, else by haircut over the unlinked deposits. Returns (tainted part, value the
    /// data did not show the pool holding).
    fn withdraw(&mut self, plan: &PoolPlan, tx: u32, v: U256) -> (U256, U256) {
        let mut left = v;
        let mut tainted = U256::ZERO;
        if let Some(lot) = plan.linked.get(&tx).and_then(|d| self.reserved.get_mut(d)) {
            let take = left.min(lot.0);
            let part = if take == lot.0 {
                lot.1
            } else {
                super::models::mul_div_floor(lot.1, take, lot.0)
            };
            lot.0 -= take;
            lot.1 -= part;
            tainted += part;
            left -= take;
        }
        let mut unexplained = U256::ZERO;
        if left > self.balance {
            unexplained = left - self.balance;
            self.balance = left;
        }
        if !left.is_zero() {
            let part = if left == self.balance {
                self.taint
            } else {
                super::models::mul_div_floor(self.taint, left, self.balance)
            };
            self.balance -= left;
            self.taint -= part;
            tainted += part;
        }
        (tainted, unexplained)
    }
}

/// The endpoint categories of the output contract, in display order; endpoints refer to them
/// by index.
pub const CATEGORIES: [&str; 9] = [
    "exchange",
    "mixer",
    "bridge",
    "sanctioned",
    "defi",
    "gambling",
    "unspent",
    "fee",
    "unknown",
];
/// Category of taint that left through fees.
pub const FEE: u8 = 7;
/// Category of taint resting at non-terminal addresses at the end.
pub const UNSPENT: u8 = 6;
/// Category of taint not followed further (hop limit, dust, no address).
pub const UNKNOWN: u8 = 8;
/// Category of DEX / DeFi contracts (the swap side of `--follow-swaps`).
pub const DEFI: u8 = 4;

/// The index of a category name (unknown names are `unknown`).
pub fn category_id(name: &str) -> u8 {
    CATEGORIES
        .iter()
        .position(|c| *c == name)
        .unwrap_or(UNKNOWN as usize) as u8
}

/// Fast hash maps for integer keys (FxHash; the keys are not attacker-chosen strings).
pub type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Amounts by UTC day (days since 1970-01-01) in arrival order, consecutive amounts of the same
/// day merged: what USD valuation needs ("amount × price of the transfer day").
pub type ByDay = Vec<(i32, U256)>;

/// Add `amount` arriving at `time` (Unix seconds) to `v`.
pub fn add_by_day(v: &mut ByDay, time: i64, amount: U256) {
    let day = time.div_euclid(86_400) as i32;
    match v.last_mut() {
        Some((d, a)) if *d == day => *a += amount,
        _ => v.push((day, amount)),
    }
}

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
    /// The dated part of `amount` by day of arrival (taint still held at the end has no
    /// arrival of its own and is not in here).
    pub by_day: ByDay,
}

/// Key of an endpoint: (node or NONE for the fee sink, category id, asset id).
pub type EndpointKey = (u32, u8, u16);

/// What the replay found.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// Injected taint per asset id.
    pub injected: Vec<U256>,
    /// The dated part of `injected` per asset id, by day (opening balances have no date).
    pub injected_by_day: Vec<ByDay>,
    /// Value an address spent beyond what the data shows it had, per asset id; counted as
    /// clean (tainted when the address is a seed, then also in `injected`).
    pub unexplained: Vec<U256>,
    /// Endpoints.
    pub endpoints: FastMap<EndpointKey, EndpointAcc>,
    /// Flows that carried taint: (flow index, tainted amount, hop).
    pub tainted_flows: Vec<(usize, U256, u32)>,
    /// Highest hop reached by taint.
    pub hops_max: u32,
    /// Addresses whose ledgers were touched.
    pub addresses: usize,
    /// Per asset id: taint that entered it from another asset in a swap.
    pub swapped_in: Vec<U256>,
    /// Per asset id: taint of it credited to a DEX and carried on in a swap.
    pub swapped_out: Vec<U256>,
    /// Swaps settled (those with taint and those ambiguous ones that were not followed).
    pub swaps: Vec<SwapRecord>,
}

impl Replay {
    fn credit(&mut self, key: EndpointKey, amount: U256, hop: Option<u32>, time: Option<i64>) {
        let e = self.endpoints.entry(key).or_insert(EndpointAcc {
            amount: U256::ZERO,
            min_hops: None,
            first_time: None,
            last_time: None,
            by_day: ByDay::new(),
        });
        e.amount += amount;
        if let Some(h) = hop {
            e.min_hops = Some(e.min_hops.map_or(h, |m| m.min(h)));
        }
        if let Some(t) = time {
            add_by_day(&mut e.by_day, t, amount);
            e.first_time = Some(e.first_time.map_or(t, |m| m.min(t)));
            e.last_time = Some(e.last_time.map_or(t, |m| m.max(t)));
        }
    }

    /// Count `amount` of asset `a` as injected, at `time` when the data dates it.
    pub(crate) fn inject(&mut self, a: usize, amount: U256, time: Option<i64>) {
        self.injected[a] += amount;
        if let Some(t) = time {
            if self.injected_by_day.len() <= a {
                self.injected_by_day.resize(a + 1, ByDay::new());
            }
            add_by_day(&mut self.injected_by_day[a], t, amount);
        }
    }

    /// Credit taint to an endpoint (for the UTXO replay).
    pub(crate) fn credit_pub(
        &mut self,
        key: EndpointKey,
        amount: U256,
        hop: Option<u32>,
        time: Option<i64>,
    ) {
        self.credit(key, amount, hop, time);
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
        injected_by_day: vec![ByDay::new(); n_assets],
        unexplained: vec![U256::ZERO; n_assets],
        swapped_in: vec![U256::ZERO; n_assets],
        swapped_out: vec![U256::ZERO; n_assets],
        ..Default::default()
    };
    let role = |n: u32| roles.get(n as usize).unwrap_or(&Role::Plain);
    let seed_flags: Vec<bool> = roles.iter().map(|r| *r == Role::Seed).collect();
    let is_seed = |n: u32| n != NONE && seed_flags.get(n as usize).copied().unwrap_or(false);
    let seed_value = matches!(cfg.injection, Injection::SeedValue);
    let mut ledgers: Ledgers<M::Ledger> = Ledgers::new(g.nodes.len(), n_assets);
    let term_cat: Vec<u8> = roles
        .iter()
        .map(|r| match r {
            Role::Terminal { category, .. } => category_id(category),
            _ => UNKNOWN,
        })
        .collect();
    let mut hop: Vec<u32> = vec![u32::MAX; g.nodes.len()];
    let mut arrivals: Vec<(i64, i64)> = vec![(i64::MAX, i64::MIN); g.nodes.len()];
    for (n, rl) in roles.iter().enumerate() {
        if *rl == Role::Seed {
            hop[n] = 0;
        }
    }
    let mut pools: FastMap<u32, PoolState> = FastMap::default();
    for &(node, asset, amount) in opening {
        if cfg.pools.get(&node).is_some_and(|p| p.asset == asset) {
            // a demixed pool's holdings at the start: unlinked, clean deposits
            pools.entry(node).or_default().balance += amount;
            continue;
        }
        if amount.is_zero() || matches!(role(node), Role::Terminal { .. }) {
            continue;
        }
        let tainted = if is_seed(node) && seed_value {
            r.inject(asset as usize, amount, None);
            amount
        } else {
            U256::ZERO
        };
        let l = ledgers.get(node, asset);
        M::deposit(l, amount, M::fresh(amount, tainted));
    }

    let flows = &g.flows;
    let mut precomputed: FastMap<usize, M::Parcel> = FastMap::default();
    let pool_plan = |n: u32, asset: u16| cfg.pools.get(&n).filter(|p| p.asset == asset);
    let mut swap_plans: FastMap<usize, super::swaps::Swap> = FastMap::default();
    if cfg.swaps {
        let dex = |n: u32| term_cat.get(n as usize) == Some(&DEFI);
        let followed = |n: u32| !matches!(role(n), Role::Terminal { .. });
        for s in super::swaps::detect(g, &dex, &followed) {
            swap_plans.insert(s.trigger, s);
        }
    }
    // output flow → (taint, hop at the DEX); input flows of followed swaps
    let mut swap_out: FastMap<usize, (U256, u32)> = FastMap::default();
    let mut swap_inputs: HashSet<usize> = HashSet::new();
    let mut carried_left = match &cfg.injection {
        Injection::Carried(m) => m.clone(),
        _ => Default::default(),
    };
    for i in 0..flows.len() {
        let f = flows[i];
        if f.from == f.to && f.from != NONE {
            continue; // a self-transfer moves nothing
        }
        let a = f.asset as usize;
        if let Some(sw) = swap_plans.remove(&i) {
            // settle the swap: the inputs leave their ledgers now (in their order), their
            // tainted share goes to every output
            let (mut amount, mut taint, mut at_dex) = (U256::ZERO, U256::ZERO, 0u32);
            if !sw.ambiguous {
                for &k in &sw.inputs {
                    let p = match precomputed.get(&k) {
                        Some(p) => p.clone(),
                        None => {
                            let from = flows[k].from;
                            let p = withdraw_flow::<M>(
                                flows,
                                k,
                                &mut ledgers,
                                &mut r,
                                is_seed(from) && seed_value,
                                &mut precomputed,
                            );
                            precomputed.insert(k, p.clone());
                            p
                        }
                    };
                    amount += flows[k].amount;
                    let t = M::parcel_taint(&p);
                    taint += t;
                    let h = hop[flows[k].from as usize];
                    if !t.is_zero() && h != u32::MAX {
                        at_dex = at_dex.max(h + 1);
                    }
                    swap_inputs.insert(k);
                }
            }
            let mut outs = Vec::with_capacity(sw.outputs.len());
            for &o in &sw.outputs {
                let t = if sw.ambiguous || amount.is_zero() {
                    U256::ZERO
                } else {
                    super::models::mul_div_floor(flows[o].amount, taint, amount)
                };
                swap_out.insert(o, (t, at_dex));
                outs.push(t);
            }
            if !taint.is_zero() || sw.ambiguous {
                r.swaps.push(SwapRecord {
                    swap: sw,
                    input: (amount, taint),
                    outputs: outs,
                });
            }
        }
        let sender_tracked = f.from != NONE && !matches!(role(f.from), Role::Terminal { .. });
        let pre = if precomputed.is_empty() {
            None
        } else {
            precomputed.remove(&i)
        };
        let parcel = if let Some(p) = pre {
            p
        } else if let Some(&(t, _)) = swap_out.get(&i) {
            r.swapped_in[a] += t;
            M::fresh(f.amount, t)
        } else if let Some(plan) = pool_plan(f.from, f.asset) {
            let st = pools.entry(f.from).or_default();
            st.catch_up(plan, f.block, f.tx_index);
            let (tainted, unexplained) = st.withdraw(plan, f.tx, f.amount);
            r.unexplained[a] += unexplained;
            M::fresh(f.amount, tainted)
        } else if sender_tracked {
            withdraw_flow::<M>(
                flows,
                i,
                &mut ledgers,
                &mut r,
                is_seed(f.from) && seed_value,
                &mut precomputed,
            )
        } else {
            M::fresh(f.amount, U256::ZERO)
        };
        let mut tainted = M::parcel_taint(&parcel);
        let sender_hop = if let Some(&(_, h)) = swap_out.get(&i) {
            h
        } else if f.from == NONE {
            u32::MAX
        } else {
            hop[f.from as usize]
        };
        let flow_hop = if tainted.is_zero() || sender_hop == u32::MAX {
            None
        } else {
            Some(sender_hop + 1)
        };
        // taint beyond --max-hops or in a transfer below --min-value is not followed: it is
        // credited to `unknown` where it arrives
        let not_followed = flow_hop.is_some_and(|h| cfg.max_hops.is_some_and(|m| h > m))
            || cfg
                .min_value
                .get(a)
                .is_some_and(|m| !m.is_zero() && f.amount < *m);
        let to = f.to;
        if to == NONE {
            if !tainted.is_zero() {
                r.credit((NONE, FEE, f.asset), tainted, flow_hop, Some(f.time));
                r.tainted_flows.push((i, tainted, flow_hop.unwrap_or(0)));
            }
            continue;
        }
        match role(to) {
            Role::Seed => {
                let carried = carried_left.get_mut(&(f.tx, to)).map(|left| {
                    let x = (*left).min(f.amount);
                    *left -= x;
                    x
                });
                let injects = match &cfg.injection {
                    Injection::SeedValue => !is_seed(f.from),
                    Injection::TheftTxs(txs) => txs.contains(&f.tx) && !is_seed(f.from),
                    Injection::Carried(_) => carried.is_some_and(|x| x > tainted),
                };
                let parcel = if injects {
                    let t = carried.unwrap_or(f.amount);
                    r.inject(a, t - tainted, Some(f.time));
                    tainted = t;
                    M::fresh(f.amount, t)
                } else {
                    parcel
                };
                let l = ledgers.get(to, f.asset);
                M::deposit(l, f.amount, parcel);
                if !tainted.is_zero() {
                    // taint into a seed is at hop 0 by definition
                    let h = if injects { 0 } else { flow_hop.unwrap_or(0) };
                    r.tainted_flows.push((i, tainted, h));
                    note_arrival(&mut arrivals, to, f.time);
                }
            }
            Role::Terminal { .. } if pool_plan(to, f.asset).is_some() => {
                let h = flow_hop.unwrap_or(u32::MAX);
                let mut carried = tainted;
                if !tainted.is_zero() && not_followed {
                    r.credit((to, UNKNOWN, f.asset), tainted, flow_hop, Some(f.time));
                    r.tainted_flows.push((i, tainted, h));
                    carried = U256::ZERO;
                }
                let plan = pool_plan(to, f.asset).expect("checked");
                let st = pools.entry(to).or_default();
                st.catch_up(plan, f.block, f.tx_index);
                if plan.reserved.contains(&f.tx) {
                    let lot = st.reserved.entry(f.tx).or_default();
                    lot.0 += f.amount;
                    lot.1 += carried;
                } else {
                    st.balance += f.amount;
                    st.taint += carried;
                }
                if !carried.is_zero() {
                    st.last_tainted = Some(f.time);
                    hop[to as usize] = hop[to as usize].min(h);
                    r.hops_max = r.hops_max.max(h);
                    r.tainted_flows.push((i, carried, h));
                    note_arrival(&mut arrivals, to, f.time);
                }
            }
            Role::Terminal { .. } => {
                if !tainted.is_zero() {
                    if swap_inputs.contains(&i) {
                        r.swapped_out[a] += tainted;
                    }
                    let cat = if not_followed {
                        UNKNOWN
                    } else {
                        term_cat[to as usize]
                    };
                    r.credit((to, cat, f.asset), tainted, flow_hop, Some(f.time));
                    r.tainted_flows.push((i, tainted, flow_hop.unwrap_or(0)));
                    r.hops_max = r.hops_max.max(flow_hop.unwrap_or(0));
                }
            }
            Role::Plain => {
                let h = flow_hop.unwrap_or(u32::MAX);
                let l = ledgers.get(to, f.asset);
                if !tainted.is_zero() && not_followed {
                    // not followed: the taint is accounted as unknown here, the value arrives clean
                    M::deposit(l, f.amount, M::fresh(f.amount, U256::ZERO));
                    r.credit((to, UNKNOWN, f.asset), tainted, flow_hop, Some(f.time));
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

    // taint still in demixed pools: credited to the pool's category (mixer), dated by its
    // last tainted deposit
    let mut pool_nodes: Vec<&u32> = pools.keys().collect();
    pool_nodes.sort_unstable();
    for node in pool_nodes {
        let st = &pools[node];
        let t = st.taint + st.reserved.values().map(|l| l.1).sum::<U256>();
        if t.is_zero() {
            continue;
        }
        let h = hop[*node as usize];
        let asset = cfg.pools[node].asset;
        r.credit(
            (*node, term_cat[*node as usize], asset),
            t,
            (h != u32::MAX).then_some(h),
            st.last_tainted,
        );
        let (first, _) = arrivals[*node as usize];
        if first != i64::MAX {
            let e = r
                .endpoints
                .get_mut(&(*node, term_cat[*node as usize], asset))
                .expect("just credited");
            e.first_time = Some(first);
        }
    }
    // taint still held at non-terminal addresses
    let mut nodes_touched = HashSet::new();
    for ((node, asset), l) in ledgers.iter() {
        nodes_touched.insert(node);
        let t = M::taint(l);
        if t.is_zero() {
            continue;
        }
        let h = hop[node as usize];
        r.credit(
            (node, UNSPENT, asset),
            t,
            (h != u32::MAX).then_some(h),
            None,
        );
        let (first, last) = arrivals[node as usize];
        if first <= last {
            let e = r
                .endpoints
                .get_mut(&(node, UNSPENT, asset))
                .expect("just credited");
            e.first_time = Some(first);
            e.last_time = Some(last);
        }
    }
    r.addresses = nodes_touched.len();
    r
}

/// Ledgers per (node, asset): a table indexed directly when nodes × assets fits in a bounded
/// amount of memory (the common case: one or a few assets), else a hash map.
pub(crate) struct Ledgers<L> {
    n_assets: usize,
    dense: Vec<L>,
    touched: Vec<bool>,
    sparse: FastMap<(u32, u16), L>,
}

impl<L: Default + Clone> Ledgers<L> {
    pub(crate) fn new(nodes: usize, assets: usize) -> Ledgers<L> {
        let cells = nodes.saturating_mul(assets.max(1));
        let dense = cells.saturating_mul(std::mem::size_of::<L>()) <= 512 << 20;
        Ledgers {
            n_assets: assets.max(1),
            dense: if dense {
                vec![L::default(); cells]
            } else {
                Vec::new()
            },
            touched: if dense {
                vec![false; cells]
            } else {
                Vec::new()
            },
            sparse: FastMap::default(),
        }
    }

    #[inline]
    pub(crate) fn get(&mut self, node: u32, asset: u16) -> &mut L {
        if self.dense.is_empty() {
            self.sparse.entry((node, asset)).or_default()
        } else {
            let i = node as usize * self.n_assets + asset as usize;
            self.touched[i] = true;
            &mut self.dense[i]
        }
    }

    /// Touched ledgers in (node, asset) order.
    pub(crate) fn iter(&self) -> Vec<((u32, u16), &L)> {
        if self.dense.is_empty() {
            let mut v: Vec<((u32, u16), &L)> = self.sparse.iter().map(|(k, l)| (*k, l)).collect();
            v.sort_by_key(|x| x.0);
            v
        } else {
            self.touched
                .iter()
                .enumerate()
                .filter(|(_, t)| **t)
                .map(|(i, _)| {
                    (
                        ((i / self.n_assets) as u32, (i % self.n_assets) as u16),
                        &self.dense[i],
                    )
                })
                .collect()
        }
    }
}

fn note_arrival(arrivals: &mut [(i64, i64)], node: u32, time: i64) {
    let e = &mut arrivals[node as usize];
    e.0 = e.0.min(time);
    e.1 = e.1.max(time);
}

/// The parcel flow `i` takes from its sender's ledger, with the ledger's other outflows in the
/// same transaction (up to its next inflow there) taken together (TIHO looks at them as one);
/// their parcels go into `precomputed`. Spending more than the ledger holds adds the missing
/// value first (tainted and injected when `seed_taints`).
fn withdraw_flow<M: TaintModel>(
    flows: &[crate::graph::flow::Flow],
    i: usize,
    ledgers: &mut Ledgers<M::Ledger>,
    r: &mut Replay,
    seed_taints: bool,
    precomputed: &mut FastMap<usize, M::Parcel>,
) -> M::Parcel {
    let f = flows[i];
    let a = f.asset as usize;
    // (most transfers are alone: no allocation then)
    let mut more: Vec<usize> = Vec::new();
    let mut j = i + 1;
    while j < flows.len() && flows[j].tx == f.tx {
        let h = flows[j];
        if h.asset == f.asset && h.to == f.from && h.from != h.to {
            break;
        }
        if h.asset == f.asset && h.from == f.from && h.to != h.from {
            more.push(j);
        }
        j += 1;
    }
    let total: U256 = f.amount + more.iter().map(|k| flows[*k].amount).sum::<U256>();
    let l = ledgers.get(f.from, f.asset);
    let have = M::balance(l);
    if total > have {
        // spent more than the data shows it had: value from before the window or from
        // outside the fetched data
        let extra = total - have;
        let tainted = if seed_taints {
            r.inject(a, extra, Some(f.time));
            extra
        } else {
            U256::ZERO
        };
        r.unexplained[a] += extra;
        M::deposit(l, extra, M::fresh(extra, tainted));
    }
    if more.is_empty() {
        M::withdraw(l, f.amount)
    } else {
        let mut amounts = Vec::with_capacity(more.len() + 1);
        amounts.push(f.amount);
        amounts.extend(more.iter().map(|k| flows[*k].amount));
        let mut parcels = M::withdraw_group(l, &amounts).into_iter();
        let first = parcels.next().expect("group has its first flow");
        for (k, p) in more.iter().zip(parcels) {
            precomputed.insert(*k, p);
        }
        first
    }
}
