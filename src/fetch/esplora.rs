//! [`EsploraSource`]: Bitcoin from the Esplora REST API (mempool.space, blockstream.info, a
//! self-hosted electrs), keyless, through the shared [`HttpClient`] (per-host rate limit,
//! retries with backoff, `Retry-After`).
//!
//! Paths used (Blockstream's API.md): `GET /blocks/tip/height`; `GET /address/:a/txs` then
//! `GET /address/:a/txs/chain/:last_seen_txid` (newest first, 25 confirmed a page);
//! `GET /tx/:txid`; `GET /tx/:txid/merkle-proof` (its `pos` is the position in the block,
//! which Esplora's transaction JSON lacks); `GET /tx/:txid/outspends`.
//!
//! Every transaction read is rebuilt as a `bitcoin::Transaction` from the JSON (version,
//! locktime, inputs with script_sig / witness / sequence, outputs) and its txid recomputed: an
//! answer whose parts do not hash to the txid it claims is malformed, not stored. Only
//! confirmed transactions at or below the safe tip (tip − confirmations + 1) are stored.
//!
//! Checkpoints (kind [`KIND_ADDRESS_TXS`], per address): each page of an address's history is
//! committed together with a checkpoint whose cursor is the page's last txid, so an interrupted
//! fetch resumes at that page; a finished range `[from, safe tip]` is `complete`, and a later
//! run fetches only what is newer. `outspends` answers are checkpointed per transaction (kind
//! [`KIND_OUTSPENDS`], `to_block` = the safe tip asked at), so a re-run at the same tip sends
//! no request.

use std::collections::HashSet;

use async_trait::async_trait;
use futures_util::{StreamExt, stream};
use serde_json::Value;

mod json;

use json::{JOutspend, JTx};

use super::http::BodyVerdict;
use super::utxo::{BlockPos, UtxoTx, txhash};
use super::{FetchError, HttpClient, Source};
use crate::model::{Address, Amount, Asset, AssetId, BitcoinNetwork, Chain, Transfer, TxHash};
use crate::store::{Checkpoint, Store};

/// The public instance used when no URL is given.
pub const DEFAULT_ESPLORA_URL: &str = "https://mempool.space/api";
/// Checkpoint kind of an address's transaction history.
pub const KIND_ADDRESS_TXS: &str = "utxo_txs";
/// Checkpoint kind of a transaction's `outspends` answer (the address column holds the txid).
pub const KIND_OUTSPENDS: &str = "outspends";

/// Configuration of an [`EsploraSource`].
#[derive(Debug, Clone)]
pub struct EsploraConfig {
    /// Base URL, e.g. `https://mempool.space/api` (no trailing slash needed).
    pub base_url: String,
    /// The network the server serves.
    pub network: BitcoinNetwork,
    /// Confirmed transactions per history page (Esplora: 25).
    pub page_size: usize,
    /// Confirmations a transaction needs to be stored (1: any confirmed one).
    pub min_confirmations: u64,
    /// Requests in flight at once (the rate limit still applies).
    pub concurrency: usize,
}

impl EsploraConfig {
    /// Defaults for `base_url` on `network`.
    pub fn new(base_url: &str, network: BitcoinNetwork) -> EsploraConfig {
        EsploraConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            network,
            page_size: 25,
            min_confirmations: 1,
            concurrency: 4,
        }
    }
}

/// What [`EsploraSource::sync_address`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// History pages requested.
    pub pages: u64,
    /// Transactions fetched and stored (new).
    pub txs_stored: u64,
    /// Transactions of the history already in the store (not fetched again).
    pub txs_known: u64,
    /// The history was complete up to the safe tip already: nothing was requested.
    pub up_to_date: bool,
}

/// The spend of one output as `outspends` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutSpend {
    /// The spending transaction.
    pub txid: TxHash,
    /// Its input index.
    pub vin: u32,
    /// Its block height; `None` while unconfirmed.
    pub height: Option<u64>,
}

/// An Esplora server as a Bitcoin source.
pub struct EsploraSource {
    http: HttpClient,
    cfg: EsploraConfig,
    redacted: String,
}

/// Esplora answers never carry an error in a 200 body.
fn accept(_: &Value) -> BodyVerdict {
    BodyVerdict::Ok
}

impl EsploraSource {
    /// A source for `cfg`. The URL must be http(s) with a host; nothing is requested yet.
    pub fn new(http: HttpClient, cfg: EsploraConfig) -> Result<EsploraSource, FetchError> {
        match url::Url::parse(&cfg.base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(FetchError::BadInput(format!(
                    "invalid Esplora URL '{}' (expected http:// or https://, e.g. {DEFAULT_ESPLORA_URL})",
                    super::evm_rpc::redact_url(&cfg.base_url)
                )));
            }
        }
        let redacted = super::evm_rpc::redact_url(&cfg.base_url);
        Ok(EsploraSource {
            http,
            cfg,
            redacted,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &EsploraConfig {
        &self.cfg
    }

    /// The chain served.
    pub fn bitcoin_chain(&self) -> Chain {
        Chain::Bitcoin(self.cfg.network)
    }

    /// Checkpoint identity: `esplora:<base URL without credentials>`.
    pub fn source_id(&self) -> String {
        format!("esplora:{}", self.redacted)
    }

    async fn get(&self, path: &str) -> Result<Value, FetchError> {
        let url = format!("{}{path}", self.cfg.base_url);
        let redacted = format!("{}{path}", self.redacted);
        tracing::debug!(url = %redacted, "esplora GET");
        self.http.get_json(&url, &redacted, &accept).await
    }

    fn malformed(&self, path: &str, detail: impl Into<String>) -> FetchError {
        FetchError::Malformed {
            url: format!("{}{path}", self.redacted),
            detail: detail.into(),
        }
    }

    /// Height of the newest block.
    pub async fn tip_height(&self) -> Result<u64, FetchError> {
        let path = "/blocks/tip/height";
        let v = self.get(path).await?;
        v.as_u64()
            .ok_or_else(|| self.malformed(path, format!("expected a block height, got {v}")))
    }

    /// The newest height whose transactions have enough confirmations.
    pub async fn safe_tip(&self) -> Result<u64, FetchError> {
        let tip = self.tip_height().await?;
        Ok(tip.saturating_sub(self.cfg.min_confirmations.max(1) - 1))
    }

    /// Position of a confirmed transaction in its block (`merkle-proof`'s `pos`).
    pub async fn position(&self, txid: TxHash) -> Result<u32, FetchError> {
        let path = format!("/tx/{:x}/merkle-proof", txid.0);
        let v = self.get(&path).await?;
        v.get("pos")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| self.malformed(&path, "no 'pos'"))
    }

    /// One transaction, with its position; `Ok(None)` when it is not confirmed (yet).
    pub async fn tx(&self, txid: TxHash) -> Result<Option<UtxoTx>, FetchError> {
        let path = format!("/tx/{:x}", txid.0);
        let v = self.get(&path).await?;
        let j: JTx = serde_json::from_value(v).map_err(|e| self.malformed(&path, e.to_string()))?;
        if !j.status.confirmed {
            return Ok(None);
        }
        let got = self.convert(&path, j, None).await?;
        if got.txid != txid {
            return Err(self.malformed(&path, "answer is for another transaction"));
        }
        Ok(Some(got))
    }

    /// Rebuild, check the txid, and look up the position unless given.
    async fn convert(&self, path: &str, j: JTx, pos: Option<u32>) -> Result<UtxoTx, FetchError> {
        let (tx, prevouts) = json::rebuild(&j).map_err(|e| self.malformed(path, e))?;
        let claimed = TxHash::parse(&j.txid).map_err(|e| self.malformed(path, e.to_string()))?;
        let id = txhash(tx.compute_txid());
        if id != claimed {
            return Err(
                self.malformed(path, format!("transaction {} hashes to {:x}", j.txid, id.0))
            );
        }
        let height = j
            .status
            .block_height
            .ok_or_else(|| self.malformed(path, "confirmed without block_height"))?;
        let time = j
            .status
            .block_time
            .ok_or_else(|| self.malformed(path, "confirmed without block_time"))?;
        let tx_index = match pos {
            Some(p) => p,
            None if tx.is_coinbase() => 0,
            None => self.position(id).await?,
        };
        let block = BlockPos {
            height,
            tx_index,
            time,
        };
        UtxoTx::from_bitcoin(self.cfg.network, &tx, &prevouts, block)
            .map_err(|e| self.malformed(path, e.to_string()))
    }

    /// The spends of every output of `txid` (`None`: unspent).
    pub async fn outspends(&self, txid: TxHash) -> Result<Vec<Option<OutSpend>>, FetchError> {
        let path = format!("/tx/{:x}/outspends", txid.0);
        let v = self.get(&path).await?;
        let list: Vec<JOutspend> =
            serde_json::from_value(v).map_err(|e| self.malformed(&path, e.to_string()))?;
        list.into_iter()
            .map(|o| {
                if !o.spent {
                    return Ok(None);
                }
                let (Some(t), Some(vin)) = (o.txid, o.vin) else {
                    return Err(self.malformed(&path, "spent output without txid/vin"));
                };
                let height = o
                    .status
                    .filter(|s| s.confirmed)
                    .and_then(|s| s.block_height);
                Ok(Some(OutSpend {
                    txid: TxHash::parse(&t).map_err(|e| self.malformed(&path, e.to_string()))?,
                    vin,
                    height,
                }))
            })
            .collect()
    }

    /// Fetch and store every confirmed transaction of `address` up to `safe_tip`, page by page,
    /// each page committed with its checkpoint (see the module docs). Transactions already in
    /// the store are not fetched again.
    pub async fn sync_address(
        &self,
        store: &mut Store,
        address: &Address,
        safe_tip: u64,
    ) -> Result<SyncReport, FetchError> {
        let chain = self.bitcoin_chain();
        let key = address.key();
        let sid = self.source_id();
        let mut report = SyncReport::default();
        let mut first = true;
        loop {
            let cps = store.checkpoints(&sid, chain, &key, KIND_ADDRESS_TXS)?;
            let covered = covered_to(&cps);
            if covered.is_some_and(|c| c >= safe_tip) {
                report.up_to_date = first;
                return Ok(report);
            }
            first = false;
            let from = covered.map_or(0, |c| c + 1);
            let (to, mut cursor) = match cps.iter().find(|c| !c.complete && c.from_block == from) {
                Some(c) => (c.to_block.min(safe_tip), c.cursor.clone()),
                None => (safe_tip, None),
            };
            loop {
                let path = match &cursor {
                    None => format!("/address/{key}/txs"),
                    Some(c) => format!("/address/{key}/txs/chain/{c}"),
                };
                let v = self.get(&path).await?;
                report.pages += 1;
                let page: Vec<JTx> =
                    serde_json::from_value(v).map_err(|e| self.malformed(&path, e.to_string()))?;
                let confirmed: Vec<JTx> = page.into_iter().filter(|t| t.status.confirmed).collect();
                let full = confirmed.len() >= self.cfg.page_size;
                let last = confirmed.last().map(|t| t.txid.clone());
                let mut reached_end = !full;
                let mut todo = Vec::new();
                for t in confirmed {
                    let h = t.status.block_height.unwrap_or(u64::MAX);
                    if h > to {
                        continue;
                    }
                    if h < from {
                        reached_end = true;
                        break;
                    }
                    let id =
                        TxHash::parse(&t.txid).map_err(|e| self.malformed(&path, e.to_string()))?;
                    if store.has_utxo_tx(chain, id)? {
                        report.txs_known += 1;
                    } else {
                        todo.push(t);
                    }
                }
                let txs: Vec<UtxoTx> = stream::iter(todo)
                    .map(|t| self.convert(&path, t, None))
                    .buffered(self.cfg.concurrency.max(1))
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .collect::<Result<_, _>>()?;
                let mut w = store.writer()?;
                for t in &txs {
                    if t.write(&mut w, self.cfg.network)? {
                        report.txs_stored += 1;
                    }
                }
                w.set_checkpoint(&Checkpoint {
                    source: sid.clone(),
                    chain,
                    address: key.clone(),
                    kind: KIND_ADDRESS_TXS.into(),
                    from_block: from,
                    to_block: to,
                    cursor: if reached_end { None } else { last.clone() },
                    complete: reached_end,
                })?;
                w.commit()?;
                tracing::info!(address = %key, page = report.pages, stored = txs.len(), "esplora history page");
                if reached_end {
                    break;
                }
                cursor = last;
            }
        }
    }

    /// Whether the outspends of `txid` were already asked at `safe_tip` or later.
    pub fn outspends_done(
        &self,
        store: &Store,
        txid: TxHash,
        safe_tip: u64,
    ) -> Result<bool, FetchError> {
        let cps = store.checkpoints(
            &self.source_id(),
            self.bitcoin_chain(),
            &format!("{:x}", txid.0),
            KIND_OUTSPENDS,
        )?;
        Ok(cps.iter().any(|c| c.complete && c.to_block >= safe_tip))
    }

    /// The checkpoint that records an `outspends` answer for `txid` at `safe_tip`.
    pub fn outspends_checkpoint(&self, txid: TxHash, safe_tip: u64) -> Checkpoint {
        Checkpoint {
            source: self.source_id(),
            chain: self.bitcoin_chain(),
            address: format!("{:x}", txid.0),
            kind: KIND_OUTSPENDS.into(),
            from_block: 0,
            to_block: safe_tip,
            cursor: None,
            complete: true,
        }
    }
}

/// The last block `b` such that complete checkpoints cover `[0, b]`, if any.
pub fn covered_to(cps: &[Checkpoint]) -> Option<u64> {
    let mut ranges: Vec<(u64, u64)> = cps
        .iter()
        .filter(|c| c.complete)
        .map(|c| (c.from_block, c.to_block))
        .collect();
    ranges.sort_unstable();
    let mut cur: Option<u64> = None;
    for (f, t) in ranges {
        let next = cur.map_or(0, |c| c + 1);
        if f > next {
            break;
        }
        cur = Some(cur.map_or(t, |c| c.max(t)));
    }
    cur
}

#[async_trait]
impl Source for EsploraSource {
    fn id(&self) -> String {
        self.source_id()
    }

    fn chain(&self) -> Chain {
        self.bitcoin_chain()
    }

    async fn head(&self) -> Result<u64, FetchError> {
        self.tip_height().await
    }

    /// The `vin`/`vout`/`fee` transfers of every confirmed transaction of the address in
    /// `from..=to` (the history is paged newest first until older than `from`).
    async fn transfers_for_address(
        &self,
        address: &Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<Transfer>, FetchError> {
        let key = address.key();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                None => format!("/address/{key}/txs"),
                Some(c) => format!("/address/{key}/txs/chain/{c}"),
            };
            let v = self.get(&path).await?;
            let page: Vec<JTx> =
                serde_json::from_value(v).map_err(|e| self.malformed(&path, e.to_string()))?;
            let confirmed: Vec<JTx> = page.into_iter().filter(|t| t.status.confirmed).collect();
            let full = confirmed.len() >= self.cfg.page_size;
            cursor = confirmed.last().map(|t| t.txid.clone());
            let mut older = false;
            for t in confirmed {
                let h = t.status.block_height.unwrap_or(u64::MAX);
                if h < from {
                    older = true;
                    break;
                }
                if h > to || !seen.insert(t.txid.clone()) {
                    continue;
                }
                let u = self.convert(&path, t, None).await?;
                let rows = u
                    .rows(self.cfg.network)
                    .map_err(|e| self.malformed(&path, e.to_string()))?;
                out.extend(rows.transfers);
            }
            if older || !full {
                break;
            }
        }
        out.sort_by(|a, b| a.time_order(b));
        Ok(out)
    }

    async fn transfers_of_tx(&self, tx: TxHash) -> Result<Vec<Transfer>, FetchError> {
        let Some(u) = self.tx(tx).await? else {
            return Ok(Vec::new());
        };
        u.rows(self.cfg.network)
            .map(|r| r.transfers)
            .map_err(|e| self.malformed(&format!("/tx/{:x}", tx.0), e.to_string()))
    }

    async fn asset(&self, id: AssetId) -> Result<Asset, FetchError> {
        match id {
            AssetId::Native => Ok(Asset::native(self.bitcoin_chain())),
            AssetId::Token(_) => Err(FetchError::Unsupported("Bitcoin has no tokens".to_string())),
        }
    }

    async fn balance_at(
        &self,
        _address: &Address,
        _asset: AssetId,
        _block: u64,
    ) -> Result<Option<Amount>, FetchError> {
        Ok(None)
    }
}

/// A txid of the bitcoin crate in Esplora's text form.
pub fn txid_text(t: bitcoin::Txid) -> String {
    format!("{:x}", txhash(t).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(f: u64, t: u64, complete: bool) -> Checkpoint {
        Checkpoint {
            source: "s".into(),
            chain: Chain::BITCOIN,
            address: "a".into(),
            kind: KIND_ADDRESS_TXS.into(),
            from_block: f,
            to_block: t,
            cursor: None,
            complete,
        }
    }

    #[test]
    fn coverage_is_contiguous_from_zero() {
        assert_eq!(covered_to(&[]), None);
        assert_eq!(covered_to(&[cp(0, 10, true)]), Some(10));
        assert_eq!(covered_to(&[cp(0, 10, true), cp(11, 20, true)]), Some(20));
        assert_eq!(covered_to(&[cp(0, 10, true), cp(12, 20, true)]), Some(10));
        assert_eq!(covered_to(&[cp(0, 10, true), cp(11, 20, false)]), Some(10));
        assert_eq!(covered_to(&[cp(5, 10, true)]), None);
    }
}
