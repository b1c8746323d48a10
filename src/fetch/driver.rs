//! The resumable fetch driver: fetches addresses over one block window, chunk by chunk, each
//! chunk's transfers (and new token metadata) committed together with the [`Checkpoint`] that
//! says the chunk is done, so a `kill -9` loses at most the chunks in flight and a re-run sends
//! no request for a finished chunk. After an address's chunks, its opening balances (end of
//! the block before the window) are recorded, again with a checkpoint.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::progress::Progress;
use super::{FetchError, Source};
use crate::model::{Address, Amount, AssetId, Chain, Transfer};
use crate::store::{Checkpoint, Store};

/// Checkpoint kind of the transfer chunks of an address.
pub const KIND_TRANSFERS: &str = "transfers";
/// Checkpoint kind of an address's opening balances; its cursor lists the asset keys asked
/// for (`native` for the native asset).
pub const KIND_BALANCES: &str = "balances";

/// A block window `[from_block, to_block]`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    /// First block.
    pub from_block: u64,
    /// Last block.
    pub to_block: u64,
}

impl Window {
    /// The block whose end-of-block balances open the ledgers: `from_block - 1` (0 when the
    /// window starts at genesis).
    pub fn opening_block(&self) -> u64 {
        self.from_block.saturating_sub(1)
    }
}

/// Options of one driver run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DriverOptions {
    pub chunk_blocks: u64,
    pub concurrency: usize,
    /// Non-seed addresses with more transfers than this in the window stop being fetched.
    pub service_degree: u64,
}

/// Counters of a driver run, summed over rounds.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DriverTotals {
    pub chunks_fetched: u64,
    pub chunks_skipped: u64,
    pub transfers_seen: u64,
    pub transfers_stored: u64,
    pub balances_recorded: u64,
}

/// What the driver learnt about one address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// Transfers of the address in the window (stored ones included).
    pub degree: u64,
    /// Fetching stopped early because the degree passed the service threshold.
    pub service: bool,
}

/// Ranges of `window` not covered by a complete checkpoint, cut at multiples of `chunk`.
pub(crate) fn plan(done: &[(u64, u64)], window: Window, chunk: u64) -> (Vec<(u64, u64)>, u64) {
    let chunk = chunk.max(1);
    let mut done: Vec<(u64, u64)> = done
        .iter()
        .copied()
        .filter(|(a, b)| a <= b && *b >= window.from_block && *a <= window.to_block)
        .collect();
    done.sort_unstable();
    let skipped = done.len() as u64;
    let mut gaps = Vec::new();
    let mut x = window.from_block;
    let mut finished = false;
    for (a, b) in done {
        if finished {
            break;
        }
        if a > x {
            gaps.push((x, a - 1));
        }
        if b >= window.to_block {
            finished = true;
        } else {
            x = x.max(b + 1);
        }
    }
    if !finished && x <= window.to_block {
        gaps.push((x, window.to_block));
    }
    let mut out = Vec::new();
    for (a, b) in gaps {
        let mut x = a;
        loop {
            // the last block of x's chunk (near u64::MAX the multiple saturates)
            let end = (x / chunk)
                .saturating_add(1)
                .saturating_mul(chunk)
                .saturating_sub(1)
                .clamp(x, b);
            out.push((x, end));
            if end >= b {
                break;
            }
            x = end + 1;
        }
    }
    (out, skipped)
}

struct AddrState {
    addr: Address,
    key: String,
    seed: bool,
    chunks: VecDeque<(u64, u64)>,
    in_flight: bool,
    degree: u64,
    service: bool,
    balances_done: bool,
}

enum JobOut {
    Chunk(usize, u64, u64, Vec<Transfer>),
    Balances(usize, Vec<(AssetId, Option<Amount>)>),
}

type Job<'s> = Pin<Box<dyn Future<Output = Result<JobOut, FetchError>> + Send + 's>>;

fn asset_list(assets: &BTreeSet<AssetId>) -> String {
    assets
        .iter()
        .map(|a| match a {
            AssetId::Native => "native".to_string(),
            t => t.key(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_asset_list(s: &str) -> BTreeSet<AssetId> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .filter_map(|x| {
            if x == "native" {
                Some(AssetId::Native)
            } else {
                AssetId::from_key(x).ok()
            }
        })
        .collect()
}

/// Fetch `addrs` (address, is-seed) over `window`; see the module docs.
pub(crate) async fn fetch_addresses(
    store: &mut Store,
    source: &dyn Source,
    addrs: &[(Address, bool)],
    window: Window,
    opts: DriverOptions,
    progress: &mut Progress<'_>,
    totals: &mut DriverTotals,
) -> Result<Vec<Outcome>, FetchError> {
    let sid = source.id();
    let chain = source.chain();
    let o = window.opening_block();
    let mut st = Vec::with_capacity(addrs.len());
    for (addr, seed) in addrs {
        let key = addr.key();
        let cps = store.checkpoints(&sid, chain, &key, KIND_TRANSFERS)?;
        let done: Vec<(u64, u64)> = cps
            .iter()
            .filter(|c| c.complete)
            .map(|c| (c.from_block, c.to_block))
            .collect();
        let (chunks, skipped) = plan(&done, window, opts.chunk_blocks);
        totals.chunks_skipped += skipped;
        let degree = if skipped > 0 {
            in_window(store, chain, addr, window)?.len() as u64
        } else {
            0
        };
        let service = !seed && degree > opts.service_degree;
        if chunks.is_empty() {
            progress.done += 1;
        }
        st.push(AddrState {
            addr: addr.clone(),
            key,
            seed: *seed,
            chunks: chunks.into(),
            in_flight: false,
            degree,
            service,
            balances_done: false,
        });
    }
    progress.update();
    let mut known_assets: HashSet<AssetId> = HashSet::new();
    let mut futs: FuturesUnordered<Job<'_>> = FuturesUnordered::new();
    loop {
        for (i, s) in st.iter_mut().enumerate() {
            if futs.len() >= opts.concurrency.max(1) {
                break;
            }
            if s.in_flight {
                continue;
            }
            if !s.service {
                if let Some((a, b)) = s.chunks.pop_front() {
                    s.in_flight = true;
                    let addr = s.addr.clone();
                    futs.push(Box::pin(async move {
                        let v = source.transfers_for_address(&addr, a, b).await?;
                        Ok(JobOut::Chunk(i, a, b, v))
                    }));
                    continue;
                }
            }
            if !s.balances_done {
                s.balances_done = true;
                let need = balances_needed(store, &sid, chain, &s.addr, &s.key, window)?;
                if need.is_empty() {
                    continue;
                }
                s.in_flight = true;
                let addr = s.addr.clone();
                futs.push(Box::pin(async move {
                    let mut got = Vec::new();
                    for asset in need {
                        let v = match source.balance_at(&addr, asset, o).await {
                            Ok(v) => v,
                            // a source that cannot tell records nothing (the trace then
                            // opens the ledger at zero)
                            Err(FetchError::Unsupported(why)) => {
                                tracing::warn!(address = %addr, "no opening balance: {why}");
                                None
                            }
                            Err(e) => return Err(e),
                        };
                        got.push((asset, v));
                    }
                    Ok(JobOut::Balances(i, got))
                }));
            }
        }
        let Some(out) = futs.next().await else { break };
        match out? {
            JobOut::Chunk(i, a, b, transfers) => {
                let s = &mut st[i];
                s.in_flight = false;
                // metadata of tokens not seen before, stored with the chunk
                let mut new_assets = Vec::new();
                for id in transfers.iter().map(|t| t.asset).collect::<BTreeSet<_>>() {
                    if id == AssetId::Native || known_assets.contains(&id) {
                        continue;
                    }
                    // an import without token metadata records UNKNOWN: ask the source
                    if store
                        .asset(chain, id)?
                        .is_none_or(|a| a.symbol == "UNKNOWN")
                    {
                        new_assets.push(source.asset(id).await?);
                    }
                    known_assets.insert(id);
                }
                let mut w = store.writer()?;
                let mut inserted = 0;
                for t in &transfers {
                    if w.insert_transfer(t)? {
                        inserted += 1;
                    }
                }
                for a in &new_assets {
                    w.upsert_asset(a)?;
                }
                w.set_checkpoint(&Checkpoint {
                    source: sid.clone(),
                    chain,
                    address: s.key.clone(),
                    kind: KIND_TRANSFERS.into(),
                    from_block: a,
                    to_block: b,
                    cursor: None,
                    complete: true,
                })?;
                w.commit()?;
                totals.chunks_fetched += 1;
                totals.transfers_seen += transfers.len() as u64;
                totals.transfers_stored += inserted;
                progress.stored += inserted;
                s.degree += transfers.len() as u64;
                if !s.seed && !s.service && s.degree > opts.service_degree {
                    tracing::info!(
                        address = %s.addr,
                        degree = s.degree,
                        "more transfers than the service threshold ({}): a service, not followed",
                        opts.service_degree
                    );
                    s.service = true;
                }
                if s.chunks.is_empty() || s.service {
                    progress.done += 1;
                }
            }
            JobOut::Balances(i, got) => {
                let s = &mut st[i];
                s.in_flight = false;
                let mut asked = asked_balances(store, &sid, chain, &s.key, o)?;
                let mut w = store.writer()?;
                for (asset, amount) in &got {
                    asked.insert(*asset);
                    if let Some(v) = amount {
                        w.set_balance(chain, &s.addr, *asset, o, *v)?;
                        totals.balances_recorded += 1;
                    }
                }
                w.set_checkpoint(&Checkpoint {
                    source: sid.clone(),
                    chain,
                    address: s.key.clone(),
                    kind: KIND_BALANCES.into(),
                    from_block: o,
                    to_block: o,
                    cursor: Some(asset_list(&asked)),
                    complete: true,
                })?;
                w.commit()?;
            }
        }
        progress.update();
    }
    Ok(st
        .iter()
        .map(|s| Outcome {
            degree: s.degree,
            service: s.service,
        })
        .collect())
}

/// Stored transfers of `addr` on `chain` inside `window`.
pub(crate) fn in_window(
    store: &Store,
    chain: Chain,
    addr: &Address,
    window: Window,
) -> Result<Vec<Transfer>, FetchError> {
    let mut v = store.transfers_of(chain, addr)?;
    v.retain(|t| t.block >= window.from_block && t.block <= window.to_block);
    Ok(v)
}

/// Assets whose opening balance is still to be asked: the native asset and every asset the
/// address has transfers in within the window, minus those asked before (the balances
/// checkpoint's cursor lists them; a recorded balance is always among them).
fn balances_needed(
    store: &Store,
    sid: &str,
    chain: Chain,
    addr: &Address,
    key: &str,
    window: Window,
) -> Result<Vec<AssetId>, FetchError> {
    let o = window.opening_block();
    let mut want: BTreeSet<AssetId> = BTreeSet::from([AssetId::Native]);
    want.extend(
        in_window(store, chain, addr, window)?
            .iter()
            .map(|t| t.asset),
    );
    let asked = asked_balances(store, sid, chain, key, o)?;
    Ok(want.into_iter().filter(|a| !asked.contains(a)).collect())
}

fn asked_balances(
    store: &Store,
    sid: &str,
    chain: Chain,
    key: &str,
    o: u64,
) -> Result<BTreeSet<AssetId>, FetchError> {
    Ok(store
        .checkpoints(sid, chain, key, KIND_BALANCES)?
        .iter()
        .filter(|c| c.from_block == o)
        .filter_map(|c| c.cursor.as_deref())
        .flat_map(parse_asset_list)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(a: u64, b: u64) -> Window {
        Window {
            from_block: a,
            to_block: b,
        }
    }

    #[test]
    fn plan_cuts_at_multiples_and_skips_done_ranges() {
        let (p, s) = plan(&[], w(5, 250), 100);
        assert_eq!(p, vec![(5, 99), (100, 199), (200, 250)]);
        assert_eq!(s, 0);
        let (p, s) = plan(&[(5, 99), (200, 250)], w(5, 250), 100);
        assert_eq!(p, vec![(100, 199)]);
        assert_eq!(s, 2);
        let (p, _) = plan(&[(0, 1000)], w(5, 250), 100);
        assert!(p.is_empty());
        // a longer window later: only the new part
        let (p, _) = plan(&[(5, 99), (100, 199), (200, 250)], w(5, 320), 100);
        assert_eq!(p, vec![(251, 299), (300, 320)]);
        let (p, _) = plan(&[], w(0, 0), 100);
        assert_eq!(p, vec![(0, 0)]);
        let (p, _) = plan(&[], w(u64::MAX - 1, u64::MAX), 100);
        assert_eq!(p.last().map(|x| x.1), Some(u64::MAX));
    }

    #[test]
    fn asset_lists_round_trip() {
        let a = AssetId::Token(alloy_primitives::Address::repeat_byte(7));
        let set = BTreeSet::from([AssetId::Native, a]);
        assert_eq!(parse_asset_list(&asset_list(&set)), set);
    }
}
