//! Fetching a Tornado-style pool for the frontier (`--demix`): its `Deposit` and `Withdrawal`
//! events over a block range and the transfers of every withdrawal transaction, chunk by
//! chunk, each chunk's events, transfers and token metadata committed together with the
//! checkpoint (source, chain, pool, `events`) that says the chunk is done. A re-run sends no
//! request for a finished chunk; an interrupted one loses at most the chunk in flight, and
//! the store's keys make a repeated chunk store nothing twice.

use std::collections::{BTreeSet, HashMap};

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::tornado;
use crate::fetch::driver::{self, Window};
use crate::fetch::{FetchError, Source};
use crate::model::{Address, Amount, AssetId, EventData, Transfer, TxHash};
use crate::store::{Checkpoint, Store};

/// Checkpoint kind of a contract's event chunks.
pub const KIND_EVENTS: &str = "events";

/// What the frontier did with one pool (the `pools` list of `fetch.json`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PoolReport {
    /// The pool.
    pub address: String,
    /// Hop at which the frontier reached it.
    pub hop: u32,
    /// First block of its events read (the trace window's start).
    pub from_block: u64,
    /// Last block (the window's end).
    pub to_block: u64,
    /// `Deposit` events in that range (stored).
    pub deposits: u64,
    /// `Withdrawal` events in that range (stored).
    pub withdrawals: u64,
    /// Events newly stored in this run.
    pub events_stored: u64,
    /// Withdrawal transactions whose transfers were fetched in this run.
    pub withdrawal_txs_fetched: u64,
    /// Transfers of those transactions newly stored in this run.
    pub transfers_stored: u64,
    /// Event chunks fetched in this run.
    pub chunks_fetched: u64,
    /// Event chunks found complete in the store.
    pub chunks_skipped: u64,
    /// Distinct withdrawal recipients (they join the frontier one hop further).
    pub recipients: u64,
    /// The pool's balance at the end of the block before the window (base units), where the
    /// source can tell: the deposits made before the window and still in the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opening_balance: Option<String>,
}

/// One withdrawal of a pool, as the frontier follows it.
#[derive(Debug, Clone)]
pub struct PoolWithdrawal {
    /// The withdrawal transaction.
    pub tx: TxHash,
    /// Its block.
    pub block: u64,
    /// The recipient (`to` of the event).
    pub recipient: Address,
    /// What the pool paid the recipient in that transaction (largest transfer, per the
    /// stored transfers), with its asset; `None` when nothing was paid.
    pub paid: Option<(AssetId, Amount)>,
}

/// Fetch `pool`'s events over `window` (chunks of `chunk_blocks`) and the transfers of its
/// withdrawal transactions into `store`; then read back its events in `window` from the
/// store. `None` when the source cannot read events (the pool stays terminal). The report's
/// `hop` is left 0 for the caller.
pub async fn fetch_pool(
    store: &mut Store,
    source: &dyn Source,
    pool: &Address,
    window: Window,
    chunk_blocks: u64,
    concurrency: usize,
) -> Result<Option<(PoolReport, Vec<PoolWithdrawal>)>, FetchError> {
    let sid = source.id();
    let chain = source.chain();
    let key = pool.key();
    let done: Vec<(u64, u64)> = store
        .checkpoints(&sid, chain, &key, KIND_EVENTS)?
        .iter()
        .filter(|c| c.complete)
        .map(|c| (c.from_block, c.to_block))
        .collect();
    let (chunks, skipped) = driver::plan(&done, window, chunk_blocks);
    let mut rep = PoolReport {
        address: pool.to_string(),
        from_block: window.from_block,
        to_block: window.to_block,
        chunks_skipped: skipped,
        ..PoolReport::default()
    };
    for (a, b) in chunks {
        let events = match source.contract_events(pool, &tornado::TOPICS, a, b).await {
            Ok(v) => v,
            Err(FetchError::Unsupported(why)) => {
                tracing::warn!(pool = %pool, "pool not demixed: {why}");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let txs: BTreeSet<TxHash> = events
            .iter()
            .filter(|e| matches!(e.data, EventData::TornadoWithdrawal { .. }))
            .map(|e| e.tx)
            .collect();
        let transfers: Vec<Vec<Transfer>> = stream::iter(
            txs.iter()
                .map(|h| async move { source.transfers_of_tx(*h).await }),
        )
        .buffered(concurrency.max(1))
        .try_collect()
        .await?;
        let mut new_assets = Vec::new();
        for id in transfers
            .iter()
            .flatten()
            .map(|t| t.asset)
            .collect::<BTreeSet<_>>()
        {
            if id != AssetId::Native
                && store
                    .asset(chain, id)?
                    .is_none_or(|a| a.symbol == "UNKNOWN")
            {
                new_assets.push(source.asset(id).await?);
            }
        }
        let mut w = store.writer()?;
        for e in &events {
            if w.insert_event(e)? {
                rep.events_stored += 1;
            }
        }
        for t in transfers.iter().flatten() {
            if w.insert_transfer(t)? {
                rep.transfers_stored += 1;
            }
        }
        for asset in &new_assets {
            w.upsert_asset(asset)?;
        }
        w.set_checkpoint(&Checkpoint {
            source: sid.clone(),
            chain,
            address: key.clone(),
            kind: KIND_EVENTS.into(),
            from_block: a,
            to_block: b,
            cursor: None,
            complete: true,
        })?;
        w.commit()?;
        rep.chunks_fetched += 1;
        rep.withdrawal_txs_fetched += txs.len() as u64;
        tracing::debug!(pool = %pool, a, b, events = events.len(), withdrawals = txs.len(), "pool chunk stored");
    }

    // what the store holds of the pool in the window (chunks of earlier runs included)
    let mut paid: HashMap<(TxHash, String), (AssetId, Amount)> = HashMap::new();
    for t in store.transfers_of(chain, pool)? {
        if t.from.as_ref() != Some(pool) || t.block < window.from_block || t.block > window.to_block
        {
            continue;
        }
        let Some(to) = &t.to else { continue };
        let e = paid
            .entry((t.tx_hash, to.key()))
            .or_insert((t.asset, Amount::ZERO));
        if t.amount > e.1 {
            *e = (t.asset, t.amount);
        }
    }
    let mut withdrawals = Vec::new();
    let mut recipients = BTreeSet::new();
    for e in store.events(chain, std::slice::from_ref(pool))? {
        if e.block < window.from_block || e.block > window.to_block {
            continue;
        }
        match &e.data {
            EventData::TornadoDeposit { .. } => rep.deposits += 1,
            EventData::TornadoWithdrawal { to, .. } => {
                rep.withdrawals += 1;
                let recipient = Address::Evm(*to);
                recipients.insert(recipient.key());
                withdrawals.push(PoolWithdrawal {
                    tx: e.tx,
                    block: e.block,
                    paid: paid.get(&(e.tx, recipient.key())).copied(),
                    recipient,
                });
            }
            _ => {}
        }
    }
    rep.recipients = recipients.len() as u64;
    Ok(Some((rep, withdrawals)))
}
