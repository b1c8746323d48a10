//! The frontier past Tornado-style pools (`--demix`): every reached address labelled `mixer`
//! within `--hops` is asked for its pool events over the whole window ([`fetch_pool`]: the
//! deposits made before the taint arrived belong to the anonymity set); the recipients of its
//! withdrawals after the taint's first arrival are reached one hop further, from the
//! withdrawal's block, and then fetched and followed like any other address (hops, max
//! addresses, dust, services). A withdrawal below `--min-value` reaches its recipient as dust.
//! Relayers are not followed (services). A mixer without pool events (custodial: Sinbad,
//! Blender, ChipMixer, eXch) stays a terminal stop and is not reported as demixed.

use std::collections::HashMap;

use super::{Frontier, FrontierConfig, State, StopReason, min_for};
use crate::fetch::driver::Window;
use crate::fetch::events::pools::{PoolReport, fetch_pool};
use crate::fetch::{FetchError, Source};
use crate::model::{Amount, AssetId};
use crate::store::Store;

/// The pools read so far: node index → (first block read, report if it is a pool).
#[derive(Default)]
pub(super) struct Pools {
    done: HashMap<usize, (u64, Option<PoolReport>)>,
    order: Vec<usize>,
}

impl Pools {
    /// Read every mixer-labelled stop not read yet (or reached earlier than when it was read)
    /// and reach the recipients of its withdrawals after the first arrival.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn step(
        &mut self,
        store: &mut Store,
        source: &dyn Source,
        f: &mut Frontier<'_>,
        window: Window,
        cfg: &FrontierConfig,
        min_cache: &mut HashMap<AssetId, Amount>,
        dust: &mut u64,
    ) -> Result<(), FetchError> {
        let chain = source.chain();
        let known = f.nodes.len();
        for i in f.seed_count..known {
            let n = &f.nodes[i];
            let State::Stopped(StopReason::Terminal { category, .. }) = &n.state else {
                continue;
            };
            // recipients one hop further must still be within --hops
            if category != "mixer" || n.hop >= cfg.hops {
                continue;
            }
            // the pool's whole activity in the window: the demixer's anonymity sets and the
            // pool haircut need the deposits made before the taint arrived too
            let from = window.from_block;
            let arrived = n.start;
            if self.done.get(&i).is_some_and(|(a0, _)| *a0 <= arrived) {
                continue;
            }
            let (pool, hop) = (n.addr.clone(), n.hop);
            let w = Window {
                from_block: from,
                to_block: window.to_block,
            };
            let got =
                fetch_pool(store, source, &pool, w, cfg.chunk_blocks, cfg.concurrency).await?;
            let Some((mut rep, withdrawals)) = got.filter(|(r, _)| r.deposits + r.withdrawals > 0)
            else {
                tracing::info!(%pool, "mixer without pool events: terminal");
                self.done.insert(i, (arrived, None));
                continue;
            };
            rep.hop = hop;
            // the pool's holdings when the window opens: the deposits made before it and still
            // in the pool, which the window's first withdrawals draw from (recorded as the
            // pool's opening balance; the trace's pool haircut starts from it)
            if from > 0 {
                let asset = withdrawals
                    .iter()
                    .find_map(|w| w.paid.map(|p| p.0))
                    .unwrap_or(AssetId::Native);
                if let Some(b) = source.balance_at(&pool, asset, from - 1).await? {
                    let mut wr = store.writer()?;
                    wr.set_balance(chain, &pool, asset, from - 1, b)?;
                    wr.commit()?;
                    rep.opening_balance = Some(b.0.to_string());
                }
            }
            tracing::info!(
                %pool,
                deposits = rep.deposits,
                withdrawals = rep.withdrawals,
                recipients = rep.recipients,
                "pool demixed: following its withdrawal recipients"
            );
            for w in withdrawals {
                if w.block < arrived {
                    continue; // paid out before any taint arrived: nothing to follow
                }
                let (asset, amount) = w.paid.unwrap_or((AssetId::Native, Amount::ZERO));
                let is_dust = amount < min_for(store, chain, cfg, min_cache, asset)?;
                if is_dust {
                    *dust += 1;
                }
                // an expanded recipient reached earlier than it was: fetched again (its
                // chunks are done, so only the store is read) and its outflows re-followed
                if let Some(j) = f.reach(w.recipient, hop + 1, w.block, is_dust) {
                    f.nodes[j].state = State::Queued;
                }
            }
            if !self.order.contains(&i) {
                self.order.push(i);
            }
            self.done.insert(i, (arrived, Some(rep)));
        }
        Ok(())
    }

    /// The reports of the demixed pools, in the order they were reached.
    pub(super) fn into_reports(mut self) -> Vec<PoolReport> {
        self.order
            .iter()
            .filter_map(|i| self.done.remove(i).and_then(|(_, r)| r))
            .collect()
    }
}
