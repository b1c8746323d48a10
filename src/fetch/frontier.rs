//! The multi-hop frontier: breadth-first from the seeds, following outgoing value forward in
//! time, fetching every expanded address over one block window with the resumable
//! [`driver`](super::driver).
//!
//! Rules (the `fetch` and `trace` commands share them):
//! - Seeds are hop 0 and are followed from the window start. An address reached by a followed
//!   outflow of an expanded address at block `b` gets hop = sender's hop + 1 and is followed
//!   from the first such `b` (value it sent before it was funded from the seeds' side is not
//!   theirs). When an earlier followed inflow turns up later, the start moves back and its
//!   outflows are followed again.
//! - A followed outflow: sender ≠ receiver, not the fee (the fee sink is no address), at or
//!   after the sender's start, amount ≥ `min_value` in its asset's units.
//! - Not expanded: addresses with a terminal label (exchange, mixer, bridge, defi, sanctioned —
//!   call [`crate::knowledge::labels::sync_catalog_labels`] first), beyond `hops`, beyond
//!   `max_addresses`. An expanded non-seed address with more than `service_degree` transfers in
//!   the window is a service: fetching it stops there and its outflows are not followed. Every
//!   such stop is in the report.
//! - With `demix` (`--demix`), a reached address labelled `mixer` that emits Tornado pool events
//!   is read past ([`demix`]): its Deposit / Withdrawal events over the whole window (the
//!   anonymity set) and the transfers of its withdrawal transactions are stored, and the
//!   recipients (not the relayers: services) of the withdrawals after the taint's first
//!   arrival are reached one hop further, under the same limits. The pool itself stays a terminal stop; custodial mixers (no pool events)
//!   stay terminal only.

mod demix;
mod report;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::driver::{self, DriverOptions, DriverTotals, Window};
use super::progress::Progress;
use super::{FetchError, HttpStats, Source};
use crate::model::{Address, Amount, AssetId, SubIndex};
use crate::store::Store;

pub use report::{Expanded, FrontierReport, StopReason, Stopped};

/// How far and how wide the frontier goes.
#[derive(Debug, Clone)]
pub struct FrontierConfig {
    /// First block of the window.
    pub from_block: u64,
    /// Last block of the window; `None`: the source's head when the run starts.
    pub to_block: Option<u64>,
    /// Hops to follow from the seeds (0: fetch the seeds only).
    pub hops: u32,
    /// Most addresses to expand, seeds included (seeds are always expanded).
    pub max_addresses: usize,
    /// Dust: outflows below this amount, a decimal in each asset's own units ("0.01"), are not
    /// followed.
    pub min_value: Option<String>,
    /// A non-seed address with more transfers than this in the window is a service.
    pub service_degree: u64,
    /// Blocks per checkpointed chunk.
    pub chunk_blocks: u64,
    /// Chunks in flight at once (one per address).
    pub concurrency: usize,
    /// Show the progress line on stderr.
    pub progress: bool,
    /// Read past Tornado-style pools (labelled `mixer`) to their withdrawal recipients.
    pub demix: bool,
    /// Read the bridge events (THORChain router legs, Ren burns) of every reached address
    /// labelled `bridge`, from its first followed arrival (`--follow-bridges`).
    pub bridges: bool,
}

impl Default for FrontierConfig {
    fn default() -> Self {
        FrontierConfig {
            from_block: 0,
            to_block: None,
            hops: 2,
            max_addresses: 1000,
            min_value: None,
            service_degree: 10_000,
            chunk_blocks: 100_000,
            concurrency: 4,
            progress: true,
            demix: false,
            bridges: false,
        }
    }
}

#[derive(Debug, Clone)]
enum State {
    Queued,
    Expanded { degree: u64 },
    Stopped(StopReason),
}

#[derive(Debug, Clone)]
struct Node {
    addr: Address,
    hop: u32,
    start: u64,
    state: State,
}

/// The smallest amount of an asset that is not dust: `min` in the asset's units, rounded up
/// to a whole base unit.
pub fn min_units(min: &str, decimals: u8) -> Result<Amount, FetchError> {
    let bad = || {
        FetchError::BadInput(format!(
            "invalid --min-value '{min}' (a decimal amount such as 0.01)"
        ))
    };
    let s = min.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let keep = frac.len().min(decimals as usize);
    let (kept, cut) = frac.split_at(keep);
    let int = if int.is_empty() { "0" } else { int };
    let text = if kept.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{kept}")
    };
    let mut v = Amount::parse_decimal(&text, decimals).map_err(|_| bad())?;
    if cut.bytes().any(|b| b != b'0') {
        v = Amount(v.0.saturating_add(alloy_primitives::U256::from(1u8)));
    }
    Ok(v)
}

/// Fetch the seeds and the addresses their value reaches, hop by hop, into `store`.
///
/// Every expanded address is fetched over the same window `[cfg.from_block, to]` (`to`:
/// `cfg.to_block` or the head at start) and gets its opening balances — native and every
/// token it has transfers in — recorded at the end of block `from_block - 1` (block 0 for a
/// window from genesis) with [`crate::store::Writer::set_balance`]. The trace engine opens
/// each ledger with them (a seed's is tainted, any other's clean).
///
/// Resumable: chunks and balances are checkpointed with their data; a re-run sends no request
/// for finished chunks. Labels must be in the store (call
/// [`crate::knowledge::labels::sync_catalog_labels`] first). `stats` (the source's
/// [`super::HttpClient::stats`]) lets the report count requests.
pub async fn run_frontier(
    store: &mut Store,
    source: &dyn Source,
    seeds: &[Address],
    cfg: &FrontierConfig,
    stats: Option<&HttpStats>,
) -> Result<FrontierReport, FetchError> {
    let started = Instant::now();
    let chain = source.chain();
    if seeds.is_empty() {
        return Err(FetchError::BadInput("no seed addresses given".into()));
    }
    if let Some(m) = &cfg.min_value {
        min_units(m, 18)?;
    }
    let mut progress = Progress::new(cfg.progress, stats);
    let to_block = match cfg.to_block {
        Some(b) => b,
        None => source.head().await?,
    };
    if cfg.from_block > to_block {
        return Err(FetchError::BadInput(format!(
            "--from-block {} is after --to-block {to_block}",
            cfg.from_block
        )));
    }
    let window = Window {
        from_block: cfg.from_block,
        to_block,
    };
    let opts = DriverOptions {
        chunk_blocks: cfg.chunk_blocks,
        concurrency: cfg.concurrency,
        service_degree: cfg.service_degree,
    };
    let mut totals = DriverTotals::default();
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for s in seeds {
        if index.contains_key(&s.key()) {
            continue;
        }
        index.insert(s.key(), nodes.len());
        nodes.push(Node {
            addr: s.clone(),
            hop: 0,
            start: window.from_block,
            state: State::Queued,
        });
    }
    let seed_count = nodes.len();
    let mut min_cache: HashMap<AssetId, Amount> = HashMap::new();
    let mut dust = 0u64;
    let mut expanded_count = 0usize;
    let mut pools = demix::Pools::default();
    // --demix: read the pools reached so far past to their withdrawal recipients
    macro_rules! demix_step {
        () => {
            if cfg.demix {
                let mut f = Frontier {
                    nodes: &mut nodes,
                    index: &mut index,
                    seed_count,
                    hops: cfg.hops,
                };
                pools
                    .step(
                        store,
                        source,
                        &mut f,
                        window,
                        cfg,
                        &mut min_cache,
                        &mut dust,
                    )
                    .await?;
            }
        };
    }

    loop {
        let mut pending: Vec<usize> = (0..nodes.len())
            .filter(|&i| matches!(nodes[i].state, State::Queued))
            .collect();
        if pending.is_empty() {
            break;
        }
        pending.sort_by_key(|&i| (nodes[i].hop, i));
        let mut round = Vec::new();
        for i in pending {
            let seed = i < seed_count;
            if !seed {
                if let Some(stop) = terminal(store, &nodes[i].addr)? {
                    nodes[i].state = State::Stopped(stop);
                    continue;
                }
                if nodes[i].hop > cfg.hops {
                    nodes[i].state = State::Stopped(StopReason::HopLimit { hops: cfg.hops });
                    continue;
                }
                if expanded_count + round.len() >= cfg.max_addresses {
                    nodes[i].state = State::Stopped(StopReason::MaxAddresses {
                        max: cfg.max_addresses,
                    });
                    continue;
                }
            }
            round.push(i);
        }
        if round.is_empty() {
            demix_step!();
            continue;
        }
        progress.hop = round.iter().map(|&i| nodes[i].hop).max().unwrap_or(0);
        progress.queued += round.len() as u64;
        let jobs: Vec<(Address, bool)> = round
            .iter()
            .map(|&i| (nodes[i].addr.clone(), i < seed_count))
            .collect();
        let outcomes = driver::fetch_addresses(
            store,
            source,
            &jobs,
            window,
            opts,
            &mut progress,
            &mut totals,
        )
        .await?;
        expanded_count += round.len();
        let mut work = VecDeque::new();
        for (&i, o) in round.iter().zip(outcomes) {
            if o.service {
                nodes[i].state = State::Stopped(StopReason::Service {
                    degree: o.degree,
                    threshold: cfg.service_degree,
                });
            } else {
                nodes[i].state = State::Expanded { degree: o.degree };
                work.push_back(i);
            }
        }
        // follow outflows; an earlier start found for an expanded address re-follows it
        while let Some(i) = work.pop_front() {
            let (addr, hop, start) = (nodes[i].addr.clone(), nodes[i].hop, nodes[i].start);
            for t in driver::in_window(store, chain, &addr, window)? {
                if t.sub == SubIndex::Fee || t.from.as_ref() != Some(&addr) || t.block < start {
                    continue;
                }
                let Some(to) = t.to.clone() else { continue };
                if to == addr {
                    continue;
                }
                let min = min_for(store, chain, cfg, &mut min_cache, t.asset)?;
                let is_dust = t.amount < min;
                if is_dust {
                    dust += 1;
                }
                let mut f = Frontier {
                    nodes: &mut nodes,
                    index: &mut index,
                    seed_count,
                    hops: cfg.hops,
                };
                if let Some(j) = f.reach(to, hop + 1, t.block, is_dust) {
                    work.push_back(j);
                }
            }
        }
        demix_step!();
    }
    progress.finish();

    // --follow-bridges: the bridge contracts reached, asked for their memos and burns
    let mut bridge_reads = Vec::new();
    if cfg.bridges {
        for n in &nodes {
            let State::Stopped(StopReason::Terminal { category, .. }) = &n.state else {
                continue;
            };
            if category != "bridge" || n.addr.as_evm().is_none() {
                continue;
            }
            let w = Window {
                from_block: n.start.max(window.from_block),
                to_block: window.to_block,
            };
            let got = crate::fetch::events::bridges::fetch_bridge_events(
                store,
                source,
                &n.addr,
                w,
                cfg.chunk_blocks,
            )
            .await?;
            if let Some((events_stored, chunks_fetched)) = got {
                bridge_reads.push(report::BridgeRead {
                    address: n.addr.to_string(),
                    from_block: w.from_block,
                    to_block: w.to_block,
                    events_stored,
                    chunks_fetched,
                });
            }
        }
    }

    let mut per_hop: Vec<u64> = Vec::new();
    let mut expanded = Vec::new();
    let mut stopped = Vec::new();
    for n in &nodes {
        match &n.state {
            State::Expanded { degree } => {
                let h = n.hop as usize;
                if per_hop.len() <= h {
                    per_hop.resize(h + 1, 0);
                }
                per_hop[h] += 1;
                expanded.push(Expanded {
                    address: n.addr.to_string(),
                    hop: n.hop,
                    start_block: n.start,
                    transfers: *degree,
                });
            }
            State::Stopped(r) => {
                if let StopReason::Service { degree, .. } = r {
                    let h = n.hop as usize;
                    if per_hop.len() <= h {
                        per_hop.resize(h + 1, 0);
                    }
                    per_hop[h] += 1;
                    expanded.push(Expanded {
                        address: n.addr.to_string(),
                        hop: n.hop,
                        start_block: n.start,
                        transfers: *degree,
                    });
                }
                stopped.push(Stopped {
                    address: n.addr.to_string(),
                    hop: n.hop,
                    reason: r.clone(),
                });
            }
            State::Queued => {}
        }
    }
    Ok(FrontierReport {
        chain: chain.to_string(),
        source: source.id(),
        window,
        opening_block: window.opening_block(),
        seeds: nodes[..seed_count]
            .iter()
            .map(|n| n.addr.to_string())
            .collect(),
        expanded_per_hop: per_hop,
        expanded,
        stopped,
        dust_transfers: dust,
        transfers_seen: totals.transfers_seen,
        transfers_stored: totals.transfers_stored,
        balances_recorded: totals.balances_recorded,
        chunks_fetched: totals.chunks_fetched,
        chunks_skipped: totals.chunks_skipped,
        requests: progress.requests(),
        elapsed_secs: started.elapsed().as_secs_f64(),
        pools: cfg.demix.then(|| pools.into_reports()),
        bridges: cfg.bridges.then_some(bridge_reads),
    })
}

/// The smallest non-dust amount of `asset` (zero without `--min-value`), cached.
fn min_for(
    store: &Store,
    chain: crate::model::Chain,
    cfg: &FrontierConfig,
    cache: &mut HashMap<AssetId, Amount>,
    asset: AssetId,
) -> Result<Amount, FetchError> {
    let Some(m) = &cfg.min_value else {
        return Ok(Amount::ZERO);
    };
    if let Some(v) = cache.get(&asset) {
        return Ok(*v);
    }
    let dec = store.asset(chain, asset)?.map(|a| a.decimals).unwrap_or(18);
    let v = min_units(m, dec)?;
    cache.insert(asset, v);
    Ok(v)
}

/// The frontier's nodes, for [`Frontier::reach`].
struct Frontier<'a> {
    nodes: &'a mut Vec<Node>,
    index: &'a mut HashMap<String, usize>,
    seed_count: usize,
    hops: u32,
}

impl Frontier<'_> {
    /// `to` is reached at `hop` by a followed outflow (or pool withdrawal) in `block`: add it,
    /// or lower its hop / move its start back. Returns an expanded node whose start moved
    /// back (its outflows are to be followed again).
    fn reach(&mut self, to: Address, hop: u32, block: u64, is_dust: bool) -> Option<usize> {
        match self.index.get(&to.key()).copied() {
            None => {
                self.index.insert(to.key(), self.nodes.len());
                self.nodes.push(Node {
                    addr: to,
                    hop,
                    start: block,
                    state: if is_dust {
                        State::Stopped(StopReason::Dust)
                    } else {
                        State::Queued
                    },
                });
                None
            }
            Some(_) if is_dust => None,
            Some(j) => {
                let n = &mut self.nodes[j];
                if matches!(n.state, State::Stopped(StopReason::Dust)) {
                    n.state = State::Queued;
                    n.hop = hop;
                    n.start = block;
                    return None;
                }
                if hop < n.hop {
                    n.hop = hop;
                    if matches!(n.state, State::Stopped(StopReason::HopLimit { .. }))
                        && n.hop <= self.hops
                    {
                        n.state = State::Queued;
                    }
                }
                if j >= self.seed_count && block < n.start {
                    n.start = block;
                    if matches!(n.state, State::Expanded { .. }) {
                        return Some(j);
                    }
                }
                None
            }
        }
    }
}

/// The terminal label of an address, if it has one (highest confidence first).
fn terminal(store: &Store, addr: &Address) -> Result<Option<StopReason>, FetchError> {
    // the EVM zero address: tokens sent there are burnt, nothing leaves it (what comes "from"
    // it is minted), and its history is every mint and burn of every token — never fetched
    if addr.as_evm().is_some_and(|a| a.is_zero()) {
        return Ok(Some(StopReason::Terminal {
            category: "burn".into(),
            label: "zero address (tokens burnt)".into(),
        }));
    }
    Ok(store
        .labels_of(addr)?
        .into_iter()
        .find(|(l, _)| l.category.is_terminal())
        .map(|(l, _)| StopReason::Terminal {
            category: l.category.as_str().to_string(),
            label: l.label,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zero_address_is_a_stop_and_labels_make_stops() {
        let store = Store::open_in_memory().unwrap();
        let zero = Address::Evm(alloy_primitives::Address::ZERO);
        assert!(matches!(
            terminal(&store, &zero).unwrap(),
            Some(StopReason::Terminal { category, .. }) if category == "burn"
        ));
        let other = Address::Evm(alloy_primitives::Address::repeat_byte(7));
        assert!(terminal(&store, &other).unwrap().is_none());
    }

    #[test]
    fn min_value_in_asset_units() {
        assert_eq!(
            min_units("0.01", 18).unwrap(),
            Amount::from_base_units(10_000_000_000_000_000)
        );
        assert_eq!(
            min_units("1", 6).unwrap(),
            Amount::from_base_units(1_000_000)
        );
        // more digits than the asset has: rounded up to a whole base unit
        assert_eq!(min_units("0.001", 2).unwrap(), Amount::from_base_units(1));
        assert_eq!(min_units("1.000", 0).unwrap(), Amount::from_base_units(1));
        assert_eq!(min_units("0", 18).unwrap(), Amount::ZERO);
        assert!(min_units("abc", 18).is_err());
        assert!(min_units("-1", 18).is_err());
        assert!(min_units("", 18).is_err());
    }
}
