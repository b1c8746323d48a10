//! The Bitcoin frontier: from seed addresses, follow outputs forward through their spends, hop
//! by hop, into the store. Taint lives on outputs, so this follows outpoints, not addresses.
//!
//! Hops: the outputs paying a seed are hop 0; a transaction spending outputs of hop `h` (the
//! smallest of its inputs) is a hop `h + 1` transaction and its outputs are hop `h + 1`
//! (outputs paying a seed stay hop 0). With `--hops N` every output of hop ≤ N is followed to
//! the transaction that spends it; outputs of hop N + 1 are stored with their transaction but
//! not followed. Not followed either: outputs whose address has a terminal label (exchange,
//! mixer, bridge, defi, sanctioned — call [`crate::knowledge::labels::sync_catalog_labels`]
//! first), OP_RETURN and zero-value outputs, and everything after `max_txs` new transactions.
//!
//! Two ways to find spends, one per source:
//! - **Esplora** ([`follow_esplora`]): the seeds' whole histories (`/address/:a/txs`, paged and
//!   checkpointed), then `outspends` of each followed output's transaction and the spending
//!   transactions (`/tx/:txid`). Outputs whose spend is in the store cost no request, and an
//!   `outspends` answer is checkpointed at the safe tip, so a re-run at the same tip sends only
//!   the tip request.
//! - **bitcoind** ([`follow_bitcoind`]): Core has no address or spend index, so the blocks of
//!   `[from_block, to_block]` are read in order (`getblock`), finding outputs paying the seeds
//!   and the spends of followed outputs in one pass. Outputs created before `from_block` are
//!   not seen. The scan is checkpointed per block batch; a resumed scan rebuilds its followed
//!   set from the store.
//!
//! The report reuses the EVM frontier's [`Stopped`](super::frontier::Stopped) /
//! [`StopReason`](super::frontier::StopReason).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use futures_util::{StreamExt, stream};

use super::bitcoind::BitcoindSource;
use super::esplora::{EsploraSource, OutSpend};
use super::progress::Progress;
use super::utxo::{BlockPos, UtxoTx, txhash};
use super::{FetchError, HttpStats};
use crate::model::{Address, OutPoint, TxHash, TxOutput};
use crate::store::{Checkpoint, Store};

/// Checkpoint kind of a bitcoind block scan (address column: the seeds and hops).
pub const KIND_SCAN: &str = "utxo_scan";

mod rules;

use rules::{Rules, check_seeds};
pub use rules::{UtxoFrontierConfig, UtxoFrontierReport};

/// Follow `seeds` through an Esplora server (see the module docs).
pub async fn follow_esplora(
    store: &mut Store,
    src: &EsploraSource,
    seeds: &[Address],
    cfg: &UtxoFrontierConfig,
    stats: Option<&HttpStats>,
) -> Result<UtxoFrontierReport, FetchError> {
    let started = Instant::now();
    let chain = src.bitcoin_chain();
    check_seeds(chain, seeds)?;
    let mut progress = Progress::new(cfg.progress, stats);
    let safe_tip = src.safe_tip().await?;
    let mut rep = UtxoFrontierReport {
        chain: chain.to_string(),
        source: src.source_id(),
        seeds: seeds.iter().map(|s| s.to_string()).collect(),
        hops: cfg.hops,
        to_block: safe_tip,
        ..Default::default()
    };
    progress.queued = seeds.len() as u64;
    for s in seeds {
        let r = src.sync_address(store, s, safe_tip).await?;
        rep.pages += r.pages;
        rep.txs_stored += r.txs_stored;
        progress.done += 1;
        progress.stored += r.txs_stored;
        progress.update();
    }
    let mut rules = Rules::new(seeds, cfg.hops);
    let mut seen: HashSet<OutPoint> = HashSet::new();
    let mut level: Vec<TxOutput> = Vec::new();
    for s in seeds {
        for o in store.utxo_outputs_to(chain, s)? {
            if o.block <= safe_tip && seen.insert(o.outpoint) {
                level.push(o);
            }
        }
    }
    let hop0: HashSet<TxHash> = level.iter().map(|o| o.outpoint.txid).collect();
    let mut counted: HashSet<TxHash> = HashSet::new();
    let conc = src.config().concurrency.max(1);
    let mut fetched = 0usize;
    let mut hop = 0u32;
    while !level.is_empty() {
        progress.hop = hop;
        progress.update();
        let mut follow = Vec::new();
        for o in &level {
            if rules.follow(store, o, hop)? {
                follow.push(o.outpoint);
            }
        }
        rep.outputs_followed += follow.len() as u64;
        // spends in the store first; `outspends` for the rest (once per tx and safe tip)
        let mut spender: BTreeMap<OutPoint, TxHash> = BTreeMap::new();
        let mut ask: Vec<TxHash> = Vec::new();
        for o in &follow {
            match store.utxo_spend(chain, *o)? {
                Some(s) => {
                    spender.insert(*o, s.spending_txid);
                }
                None if !ask.contains(&o.txid)
                    && !src.outspends_done(store, o.txid, safe_tip)? =>
                {
                    ask.push(o.txid)
                }
                None => {}
            }
        }
        let answers: Vec<(TxHash, Vec<Option<OutSpend>>)> = stream::iter(ask)
            .map(|t| async move { src.outspends(t).await.map(|v| (t, v)) })
            .buffered(conc)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let follow_set: HashSet<OutPoint> = follow.iter().copied().collect();
        for (t, list) in &answers {
            for (n, s) in list.iter().enumerate() {
                let o = OutPoint {
                    txid: *t,
                    vout: n as u32,
                };
                // only spends confirmed at or below the safe tip count
                if let Some(s) = s.filter(|s| s.height.is_some_and(|h| h <= safe_tip)) {
                    if follow_set.contains(&o) {
                        spender.insert(o, s.txid);
                    }
                }
            }
        }
        let mut need: Vec<TxHash> = Vec::new();
        let mut known: HashSet<TxHash> = HashSet::new();
        for t in spender.values() {
            if store.has_utxo_tx(chain, *t)? {
                known.insert(*t);
            } else if !need.contains(t) {
                need.push(*t);
            }
        }
        rep.txs_known += known.len() as u64;
        if fetched + need.len() > cfg.max_txs {
            rep.truncated = true;
            need.truncate(cfg.max_txs.saturating_sub(fetched));
        }
        fetched += need.len();
        let txs: Vec<Option<UtxoTx>> = stream::iter(need)
            .map(|t| src.tx(t))
            .buffered(conc)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let mut w = store.writer()?;
        for t in txs.iter().flatten() {
            if t.write(&mut w, src.config().network)? {
                rep.txs_stored += 1;
            }
        }
        for (t, _) in &answers {
            w.set_checkpoint(&src.outspends_checkpoint(*t, safe_tip))?;
        }
        w.commit()?;
        progress.stored = rep.txs_stored;
        // the next level: the outputs of the spending transactions
        let mut next = Vec::new();
        for o in &follow {
            let Some(t) = spender.get(o) else {
                rep.outputs_unspent += 1;
                continue;
            };
            if !store.has_utxo_tx(chain, *t)? {
                continue; // beyond max_txs
            }
            if counted.insert(*t) {
                rep.count_tx(hop + 1);
            }
            for out in store.utxo_outputs_of(chain, *t)? {
                if !rules.is_seed(&out) && seen.insert(out.outpoint) {
                    next.push(out);
                }
            }
        }
        level = next;
        hop += 1;
    }
    progress.finish();
    if rep.txs_per_hop.is_empty() {
        rep.txs_per_hop.push(0);
    }
    rep.txs_per_hop[0] = hop0.difference(&counted).count() as u64;
    rep.outputs_beyond_hops = rules.beyond;
    rep.stopped = rules.stopped;
    rep.requests = progress.requests();
    rep.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(rep)
}

/// The scan's checkpoint key: the sorted seeds and the hops.
fn scan_key(seeds: &[Address], hops: u32) -> String {
    let mut k: Vec<String> = seeds.iter().map(Address::key).collect();
    k.sort();
    k.dedup();
    format!("{};hops={hops}", k.join(","))
}

/// Follow `seeds` by scanning blocks of a bitcoind node (see the module docs).
pub async fn follow_bitcoind(
    store: &mut Store,
    src: &BitcoindSource,
    seeds: &[Address],
    cfg: &UtxoFrontierConfig,
    stats: Option<&HttpStats>,
) -> Result<UtxoFrontierReport, FetchError> {
    let started = Instant::now();
    let chain = src.bitcoin_chain();
    let network = src.network();
    check_seeds(chain, seeds)?;
    let from = cfg.from_block.ok_or_else(|| {
        FetchError::BadInput(
            "bitcoind has no address index: give --from-block N (the scan reads blocks N..=tip)"
                .into(),
        )
    })?;
    let tip = src.block_count().await?;
    let to = cfg.to_block.unwrap_or(tip).min(tip);
    if from > to {
        return Err(FetchError::BadInput(format!(
            "--from-block {from} is after the last block {to}"
        )));
    }
    let mut progress = Progress::new(cfg.progress, stats);
    progress.queued = to - from + 1;
    let mut rep = UtxoFrontierReport {
        chain: chain.to_string(),
        source: src.source_id(),
        seeds: seeds.iter().map(|s| s.to_string()).collect(),
        hops: cfg.hops,
        to_block: to,
        from_block: Some(from),
        ..Default::default()
    };
    let mut rules = Rules::new(seeds, cfg.hops);
    let key = scan_key(seeds, cfg.hops);
    let sid = src.source_id();
    let cps = store.checkpoints(&sid, chain, &key, KIND_SCAN)?;
    let done: Option<u64> = cps
        .iter()
        .filter(|c| c.from_block == from)
        .filter_map(|c| c.cursor.as_deref().and_then(|s| s.parse().ok()))
        .max();
    if done.is_some_and(|d| d >= to) {
        rep.elapsed_secs = started.elapsed().as_secs_f64();
        return Ok(rep);
    }
    let start = done.map_or(from, |d| d + 1);
    // followed outputs; on resume, rebuilt from what the earlier run stored
    let mut watched: HashMap<OutPoint, u32> = HashMap::new();
    if start > from {
        let mut quiet = Rules::new(seeds, cfg.hops);
        for t in store.utxo_txs(chain)? {
            if t.block < from || t.block >= start {
                continue;
            }
            let in_hop = t
                .inputs
                .iter()
                .filter_map(|i| i.prevout.and_then(|p| watched.remove(&p)))
                .min();
            for o in &t.outputs {
                if let Some(h) = quiet.hop_of(o, in_hop) {
                    if quiet.follow(store, o, h)? {
                        watched.insert(o.outpoint, h);
                    }
                }
            }
        }
    }
    let batch = cfg.blocks_per_batch.max(1);
    let mut h = start;
    while h <= to {
        let last = to.min(h + batch - 1);
        let heights: Vec<u64> = (h..=last).collect();
        let blocks = src.blocks(&heights).await?;
        rep.pages += blocks.len() as u64;
        let local: HashMap<bitcoin::Txid, &bitcoin::Transaction> = blocks
            .iter()
            .flat_map(|b| b.txs.iter().map(|t| (t.compute_txid(), t)))
            .collect();
        let mut keep: Vec<(bitcoin::Transaction, BlockPos)> = Vec::new();
        let mut hops: Vec<u32> = Vec::new();
        let mut scanned_to = last;
        'blocks: for b in &blocks {
            for (pos, tx) in b.txs.iter().enumerate() {
                let in_hop = if tx.is_coinbase() {
                    None
                } else {
                    tx.input
                        .iter()
                        .filter_map(|i| {
                            watched.remove(&OutPoint {
                                txid: txhash(i.previous_output.txid),
                                vout: i.previous_output.vout,
                            })
                        })
                        .min()
                };
                let id = txhash(tx.compute_txid());
                let outs: Vec<TxOutput> = tx
                    .output
                    .iter()
                    .enumerate()
                    .map(|(n, o)| TxOutput {
                        outpoint: OutPoint {
                            txid: id,
                            vout: n as u32,
                        },
                        value: o.value.to_sat(),
                        script_pubkey: o.script_pubkey.to_bytes(),
                        address: Address::from_script(network, &o.script_pubkey),
                        block: b.height,
                    })
                    .collect();
                if in_hop.is_none() && !outs.iter().any(|o| rules.is_seed(o)) {
                    continue;
                }
                if rep.txs_stored as usize + keep.len() >= cfg.max_txs {
                    rep.truncated = true;
                    // this block is scanned again by the next run
                    scanned_to = b.height.saturating_sub(1);
                    break 'blocks;
                }
                keep.push((
                    tx.clone(),
                    BlockPos {
                        height: b.height,
                        tx_index: pos as u32,
                        time: b.time,
                    },
                ));
                hops.push(in_hop.map_or(0, |x| x + 1));
                for o in &outs {
                    if let Some(hop) = rules.hop_of(o, in_hop) {
                        if rules.follow(store, o, hop)? {
                            rep.outputs_followed += 1;
                            watched.insert(o.outpoint, hop);
                        }
                    }
                }
            }
        }
        let built = src.resolve(&keep, &local).await?;
        let mut w = store.writer()?;
        for (u, hop) in built.iter().zip(&hops) {
            if u.write(&mut w, network)? {
                rep.txs_stored += 1;
            } else {
                rep.txs_known += 1;
            }
            rep.count_tx(*hop);
        }
        if scanned_to >= from && (scanned_to >= h || !rep.truncated) {
            w.set_checkpoint(&Checkpoint {
                source: sid.clone(),
                chain,
                address: key.clone(),
                kind: KIND_SCAN.into(),
                from_block: from,
                to_block: to,
                cursor: Some(scanned_to.to_string()),
                complete: scanned_to >= to,
            })?;
        }
        w.commit()?;
        progress.done = scanned_to.saturating_sub(from) + 1;
        progress.stored = rep.txs_stored;
        progress.update();
        if rep.truncated {
            break;
        }
        h = last + 1;
    }
    progress.finish();
    rep.outputs_unspent = watched.len() as u64;
    rep.outputs_beyond_hops = rules.beyond;
    rep.stopped = rules.stopped;
    rep.requests = progress.requests();
    rep.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(rep)
}
