//! Demixing Tornado-style fixed-denomination pools: which withdrawal spent which deposit, as far
//! as published heuristics can honestly tell (Tutela; Béres et al., "Blockchain is watching
//! you"), each link scored; what no heuristic links is left to the pool haircut in the replay.
//!
//! Pure: [`demix`] takes the pools' deposits and withdrawals (from the decoded events, with
//! addresses and transactions as dense ids) and the direct links between addresses, and returns
//! one link per withdrawal at most, each deposit used at most once, plus the anonymity set of
//! every withdrawal. The semantics are in `docs/adr/0010-demixing.md`.

mod heuristics;
pub mod plan;

use alloy_primitives::U256;
use rustc_hash::{FxHashMap, FxHashSet};

pub use heuristics::{
    ADDRESS_MATCH, LINKED_ADDRESSES, MULTI_DENOMINATION, TEMPORAL_FIFO, UNIQUE_GAS_PRICE,
};

/// The depositor id of a deposit whose sender is not known.
pub const UNKNOWN_DEPOSITOR: u32 = u32::MAX;

/// Position of an event in chain order: (block, tx index, log index).
pub type Order = (u64, u32, u32);

/// A deposit into a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    /// Pool index.
    pub pool: u32,
    /// Transaction id (the caller's numbering).
    pub tx: u32,
    /// Chain order.
    pub order: Order,
    /// Block time.
    pub time: i64,
    /// The depositor (the transaction's sender), as an address id; [`UNKNOWN_DEPOSITOR`] when
    /// the data does not tell (then no address-based heuristic uses the deposit).
    pub depositor: u32,
    /// The sender's fee setting (gas price or max fee per gas), if known.
    pub gas_price: Option<U256>,
}

/// A withdrawal from a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// Pool index.
    pub pool: u32,
    /// Transaction id.
    pub tx: u32,
    /// Chain order.
    pub order: Order,
    /// Block time.
    pub time: i64,
    /// The recipient named in the event.
    pub recipient: u32,
    /// The relayer (None when the zero address: no relayer).
    pub relayer: Option<u32>,
    /// The transaction's sender, if known.
    pub sender: Option<u32>,
    /// The sender's fee setting, if known.
    pub gas_price: Option<U256>,
}

impl Withdrawal {
    /// Sent without a relayer: whoever sent it holds the note, and the transaction's fee
    /// setting is that person's own choice (a relayer's is the relayer's).
    pub fn unrelayed(&self) -> bool {
        self.relayer.is_none()
    }
}

/// What the demixer looks at.
#[derive(Debug, Clone, Default)]
pub struct DemixInput {
    /// Number of pools (pool indices are `0..pools`).
    pub pools: usize,
    /// Deposits, any order.
    pub deposits: Vec<Deposit>,
    /// Withdrawals, any order.
    pub withdrawals: Vec<Withdrawal>,
    /// Pairs of address ids that transacted directly (either direction, outside the pools),
    /// stored with the smaller id first.
    pub direct: FxHashSet<(u32, u32)>,
}

/// Parameters of the heuristics.
#[derive(Debug, Clone, PartialEq)]
pub struct DemixParams {
    /// Heuristics switched off, by name.
    pub disabled: Vec<String>,
    /// Multi-denomination: a depositor's (recipient's) session is its deposits (withdrawals)
    /// with gaps of at most this many seconds; the whole match (first deposit to last
    /// withdrawal) must fit in it too.
    pub window_secs: i64,
    /// Temporal FIFO links are reported only when the anonymity set is at most this large
    /// (their confidence is 1 / set size).
    pub fifo_max_set: u32,
    /// Links at or above this confidence are followed.
    pub min_confidence: f64,
}

impl Default for DemixParams {
    fn default() -> DemixParams {
        DemixParams {
            disabled: Vec::new(),
            window_secs: 86_400,
            fifo_max_set: 10,
            min_confidence: super::DEFAULT_MIN_CONFIDENCE,
        }
    }
}

impl DemixParams {
    fn on(&self, h: &str) -> bool {
        !self.disabled.iter().any(|d| d == h)
    }
}

/// One deposit linked to one withdrawal.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The heuristic that made it (the strongest, when several agree).
    pub heuristic: &'static str,
    /// Index into [`DemixInput::deposits`].
    pub deposit: usize,
    /// Index into [`DemixInput::withdrawals`].
    pub withdrawal: usize,
    /// 0–1.
    pub confidence: f64,
    /// Other heuristics that found the same pair.
    pub also: Vec<&'static str>,
    /// What the heuristic measured (gas price, group sizes, set size …).
    pub measured: serde_json::Value,
    /// Confidence ≥ the threshold: the replay moves the deposit's taint to this withdrawal.
    pub followed: bool,
}

/// Per pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PoolStats {
    /// Deposits seen.
    pub deposits: usize,
    /// Withdrawals seen.
    pub withdrawals: usize,
    /// Withdrawals linked (any confidence).
    pub linked: usize,
    /// Withdrawals linked at or above the threshold.
    pub followed: usize,
    /// Smallest anonymity set at a withdrawal (deposits so far − withdrawals so far).
    pub min_set: u32,
    /// Median anonymity set at a withdrawal.
    pub median_set: u32,
    /// Largest anonymity set at a withdrawal.
    pub max_set: u32,
}

/// What [`demix`] found.
#[derive(Debug, Clone, Default)]
pub struct DemixOutput {
    /// Links, in withdrawal order.
    pub links: Vec<Link>,
    /// The anonymity set of each withdrawal (by index into the input's withdrawals): the
    /// pool's deposits so far minus its withdrawals before this one.
    pub set_size: Vec<u32>,
    /// Per pool index.
    pub pools: Vec<PoolStats>,
}

/// Run every switched-on heuristic, keep the strongest consistent links (each deposit and each
/// withdrawal at most once, strongest first), then temporal FIFO over what is left.
pub fn demix(input: &DemixInput, p: &DemixParams) -> DemixOutput {
    let set_size = heuristics::anonymity_sets(input);
    let mut cands: Vec<heuristics::Candidate> = Vec::new();
    if p.on(ADDRESS_MATCH) {
        heuristics::address_match(input, &mut cands);
    }
    if p.on(UNIQUE_GAS_PRICE) {
        heuristics::unique_gas_price(input, &mut cands);
    }
    if p.on(LINKED_ADDRESSES) {
        heuristics::linked_addresses(input, &mut cands);
    }
    if p.on(MULTI_DENOMINATION) {
        heuristics::multi_denomination(input, p.window_secs, &mut cands);
    }
    // strongest first; ties by heuristic rank, then chain order
    cands.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.rank.cmp(&b.rank))
            .then(
                input.withdrawals[a.withdrawal]
                    .order
                    .cmp(&input.withdrawals[b.withdrawal].order),
            )
            .then(
                input.deposits[a.deposit]
                    .order
                    .cmp(&input.deposits[b.deposit].order),
            )
    });
    let mut by_w: FxHashMap<usize, Link> = FxHashMap::default();
    let mut used_d: FxHashSet<usize> = FxHashSet::default();
    for c in cands {
        if let Some(l) = by_w.get_mut(&c.withdrawal) {
            if l.deposit == c.deposit
                && l.heuristic != c.heuristic
                && !l.also.contains(&c.heuristic)
            {
                l.also.push(c.heuristic);
            }
            continue;
        }
        if used_d.contains(&c.deposit) {
            continue;
        }
        used_d.insert(c.deposit);
        by_w.insert(
            c.withdrawal,
            Link {
                heuristic: c.heuristic,
                deposit: c.deposit,
                withdrawal: c.withdrawal,
                confidence: c.confidence,
                also: Vec::new(),
                measured: c.measured,
                followed: c.confidence >= p.min_confidence,
            },
        );
    }
    if p.on(TEMPORAL_FIFO) {
        for l in heuristics::temporal_fifo(input, &by_w, &set_size, p) {
            by_w.insert(l.withdrawal, l);
        }
    }
    let mut links: Vec<Link> = by_w.into_values().collect();
    links.sort_by_key(|l| input.withdrawals[l.withdrawal].order);
    let pools = pool_stats(input, &links, &set_size);
    DemixOutput {
        links,
        set_size,
        pools,
    }
}

fn pool_stats(input: &DemixInput, links: &[Link], set_size: &[u32]) -> Vec<PoolStats> {
    let mut v = vec![PoolStats::default(); input.pools];
    let mut sets: Vec<Vec<u32>> = vec![Vec::new(); input.pools];
    for d in &input.deposits {
        v[d.pool as usize].deposits += 1;
    }
    for (k, w) in input.withdrawals.iter().enumerate() {
        v[w.pool as usize].withdrawals += 1;
        sets[w.pool as usize].push(set_size[k]);
    }
    for l in links {
        let s = &mut v[input.withdrawals[l.withdrawal].pool as usize];
        s.linked += 1;
        s.followed += l.followed as usize;
    }
    for (s, mut xs) in v.iter_mut().zip(sets) {
        xs.sort_unstable();
        if !xs.is_empty() {
            s.min_set = xs[0];
            s.max_set = xs[xs.len() - 1];
            s.median_set = xs[xs.len() / 2];
        }
    }
    v
}

#[cfg(test)]
mod tests;
