//! [`BitcoindSource`]: Bitcoin from a Bitcoin Core JSON-RPC node (or one that speaks its RPC,
//! such as bcoin), through the shared [`HttpClient`] (rate limit, retries).
//!
//! - Calls: `getblockcount`, `getblockhash`, `getblock` with verbosity 2 (transactions with
//!   their hex; a node that refuses verbosity 2 — bcoin takes only booleans — is read with
//!   verbosity 0, the raw block, decoded here), `getblock` verbosity 1 (height, time and txid
//!   order, for a transaction's position), `getrawtransaction` verbose (needs `-txindex`, or
//!   bcoin's `--index-tx`). Always sent as JSON-RPC batches (arrays), `batch_size` calls each.
//! - Values, scripts and txids come from the consensus bytes (`hex`), decoded with the
//!   `bitcoin` crate and the txid recomputed, never from the JSON's floating-point BTC values.
//!   The value and script each input spends come from the previous transaction (fetched in the
//!   same kind of batch and cached).
//! - Auth: user/password (basic auth), Bitcoin Core's cookie file (`<datadir>/.cookie`,
//!   `__cookie__:<password>`), or credentials in the URL. A refusal (HTTP 401/403) is bad input.
//! - Core has no address index: this source follows transactions, not addresses
//!   ([`Source::transfers_for_address`] is unsupported); the frontier finds the seeds'
//!   outputs by scanning a block range ([`super::utxo_frontier`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

mod blocks;
mod config;

pub use blocks::RawBlock;
pub use config::{BitcoindAuth, BitcoindConfig};

use super::http::BodyVerdict;
use super::utxo::{BlockPos, UtxoTx, decode_tx_hex, txhash, txid as to_txid};
use super::{FetchError, HttpClient, Source};
use crate::model::{Address, Amount, Asset, AssetId, BitcoinNetwork, Chain, Transfer, TxHash};

#[derive(Debug, Clone)]
struct BlockInfo {
    height: u64,
    time: i64,
    index: HashMap<String, u32>,
}

/// A Bitcoin Core RPC node as a Bitcoin source.
pub struct BitcoindSource {
    http: HttpClient,
    cfg: BitcoindConfig,
    url: String,
    redacted: String,
    verbosity2: OnceCell<bool>,
    blocks: Mutex<HashMap<String, Arc<BlockInfo>>>,
    prev: Mutex<HashMap<bitcoin::Txid, Arc<bitcoin::Transaction>>>,
}

/// One JSON-RPC error answer.
#[derive(Debug, Clone)]
struct RpcError {
    code: i64,
    message: String,
}

fn accept(_: &Value) -> BodyVerdict {
    BodyVerdict::Ok
}

impl BitcoindSource {
    /// Build the source and check the node answers (`getblockcount`). A malformed URL, a node
    /// that cannot be reached, or one that refuses the credentials is [`FetchError::BadInput`].
    pub async fn connect(
        http: HttpClient,
        cfg: BitcoindConfig,
    ) -> Result<BitcoindSource, FetchError> {
        let redacted = super::evm_rpc::redact_url(&cfg.url);
        let mut u = match url::Url::parse(&cfg.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
            _ => {
                return Err(FetchError::BadInput(format!(
                    "invalid bitcoind URL '{redacted}' (expected http://host:port)"
                )));
            }
        };
        let creds = match &cfg.auth {
            BitcoindAuth::None => None,
            BitcoindAuth::UserPass { user, password } => Some((user.clone(), password.clone())),
            BitcoindAuth::Cookie(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    FetchError::BadInput(format!("cannot read cookie file {}: {e}", p.display()))
                })?;
                let (user, pass) = text.trim().split_once(':').ok_or_else(|| {
                    FetchError::BadInput(format!(
                        "cookie file {} is not of the form user:password",
                        p.display()
                    ))
                })?;
                Some((user.to_string(), pass.to_string()))
            }
        };
        if let Some((user, pass)) = creds {
            // reqwest sends URL credentials as basic auth; the URL is never printed
            if u.set_username(&user).is_err() || u.set_password(Some(&pass)).is_err() {
                return Err(FetchError::BadInput(format!(
                    "cannot use credentials with bitcoind URL '{redacted}'"
                )));
            }
        }
        let src = BitcoindSource {
            http,
            url: u.to_string(),
            redacted,
            verbosity2: OnceCell::new(),
            blocks: Mutex::new(HashMap::new()),
            prev: Mutex::new(HashMap::new()),
            cfg,
        };
        src.block_count().await.map_err(|e| match e {
            FetchError::Unreachable { url, detail } => {
                FetchError::BadInput(format!("cannot reach bitcoind at {url}: {detail}"))
            }
            other => other,
        })?;
        Ok(src)
    }

    /// Checkpoint identity: `bitcoind:<URL without credentials>`.
    pub fn source_id(&self) -> String {
        format!("bitcoind:{}", self.redacted)
    }

    /// The chain served.
    pub fn bitcoin_chain(&self) -> Chain {
        Chain::Bitcoin(self.cfg.network)
    }

    /// The network.
    pub fn network(&self) -> BitcoinNetwork {
        self.cfg.network
    }

    fn refused(&self, method: &str, e: RpcError) -> FetchError {
        FetchError::Refused {
            url: self.redacted.clone(),
            detail: format!("{method}: JSON-RPC error {}: {}", e.code, e.message),
        }
    }

    fn malformed(&self, detail: impl Into<String>) -> FetchError {
        FetchError::Malformed {
            url: self.redacted.clone(),
            detail: detail.into(),
        }
    }

    /// Send calls as JSON-RPC batches; answers in call order.
    async fn batch(
        &self,
        calls: Vec<(&'static str, Value)>,
    ) -> Result<Vec<Result<Value, RpcError>>, FetchError> {
        let size = self.cfg.batch_size.max(1);
        let chunks: Vec<Vec<(String, Value)>> = calls
            .chunks(size)
            .map(|c| c.iter().map(|(m, p)| (m.to_string(), p.clone())).collect())
            .collect();
        let answers: Vec<Result<Vec<Result<Value, RpcError>>, FetchError>> = stream::iter(chunks)
            .map(|c| self.one_batch(c))
            .buffered(self.cfg.concurrency.max(1))
            .collect()
            .await;
        let mut out = Vec::new();
        for a in answers {
            out.extend(a?);
        }
        Ok(out)
    }

    async fn one_batch(
        &self,
        calls: Vec<(String, Value)>,
    ) -> Result<Vec<Result<Value, RpcError>>, FetchError> {
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, (m, p))| json!({"jsonrpc": "2.0", "id": i, "method": m, "params": p}))
            .collect();
        let v = self
            .http
            .post_json(&self.url, &self.redacted, &Value::Array(body), &accept)
            .await
            .map_err(|e| self.auth_error(e))?;
        let items = v
            .as_array()
            .ok_or_else(|| self.malformed(format!("batch answer is not an array: {v}")))?;
        let mut out: Vec<Option<Result<Value, RpcError>>> = vec![None; calls.len()];
        for it in items {
            let Some(id) = it.get("id").and_then(Value::as_u64).map(|i| i as usize) else {
                continue;
            };
            if id >= out.len() {
                continue;
            }
            out[id] = Some(match it.get("error").filter(|e| !e.is_null()) {
                Some(e) => Err(RpcError {
                    code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                    message: e
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_string(),
                }),
                None => Ok(it.get("result").cloned().unwrap_or(Value::Null)),
            });
        }
        out.into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.ok_or_else(|| self.malformed(format!("no answer for call {}", calls[i].0)))
            })
            .collect()
    }

    fn auth_error(&self, e: FetchError) -> FetchError {
        match e {
            FetchError::Refused { url, detail }
                if detail.starts_with("HTTP 401") || detail.starts_with("HTTP 403") =>
            {
                FetchError::BadInput(format!(
                    "bitcoind at {url} refused the credentials ({}): give --bitcoind-cookie PATH or BITCOIND_RPC_USER/BITCOIND_RPC_PASSWORD",
                    detail.split(':').next().unwrap_or("HTTP 401")
                ))
            }
            other => other,
        }
    }

    async fn call(&self, method: &'static str, params: Value) -> Result<Value, FetchError> {
        let mut r = self.batch(vec![(method, params)]).await?;
        r.pop()
            .ok_or_else(|| self.malformed("empty batch answer"))?
            .map_err(|e| self.refused(method, e))
    }

    /// `getblockcount`.
    pub async fn block_count(&self) -> Result<u64, FetchError> {
        let v = self.call("getblockcount", json!([])).await?;
        v.as_u64()
            .ok_or_else(|| self.malformed(format!("getblockcount: {v}")))
    }

    /// The blocks at `heights` (in that order), through `getblockhash` and `getblock`.
    pub async fn blocks(&self, heights: &[u64]) -> Result<Vec<RawBlock>, FetchError> {
        let hashes = self
            .batch(
                heights
                    .iter()
                    .map(|h| ("getblockhash", json!([h])))
                    .collect(),
            )
            .await?
            .into_iter()
            .map(|r| {
                r.map_err(|e| self.refused("getblockhash", e))
                    .and_then(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| self.malformed("getblockhash: not a string"))
                    })
            })
            .collect::<Result<Vec<String>, _>>()?;
        let v2 = *self
            .verbosity2
            .get_or_try_init(|| async {
                let Some(h) = hashes.first() else { return Ok(true) };
                match self.batch(vec![("getblock", json!([h, 2]))]).await?.pop() {
                    Some(Ok(_)) => Ok(true),
                    Some(Err(e)) => {
                        tracing::info!(code = e.code, message = %e.message, "getblock verbosity 2 refused; reading raw blocks");
                        Ok::<bool, FetchError>(false)
                    }
                    None => Ok(true),
                }
            })
            .await?;
        let verbosity = if v2 { 2 } else { 0 };
        let answers = self
            .batch(
                hashes
                    .iter()
                    .map(|h| ("getblock", json!([h, verbosity])))
                    .collect(),
            )
            .await?;
        let mut out = Vec::with_capacity(heights.len());
        for ((ans, hash), height) in answers.into_iter().zip(&hashes).zip(heights) {
            let v = ans.map_err(|e| self.refused("getblock", e))?;
            let block = if v2 {
                blocks::parse_verbose(&v, *height)
            } else {
                blocks::parse_raw(&v, hash, *height)
            }
            .map_err(|e| self.malformed(e))?;
            out.push(block);
        }
        Ok(out)
    }

    /// Previous transactions by txid (cached), through `getrawtransaction` (raw).
    async fn prev_txs(
        &self,
        ids: &[bitcoin::Txid],
    ) -> Result<HashMap<bitcoin::Txid, Arc<bitcoin::Transaction>>, FetchError> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.prev.lock().unwrap_or_else(|e| e.into_inner());
            for id in ids {
                match cache.get(id) {
                    Some(t) => {
                        found.insert(*id, t.clone());
                    }
                    None => missing.push(*id),
                }
            }
        }
        missing.sort();
        missing.dedup();
        let answers = self
            .batch(
                missing
                    .iter()
                    .map(|id| ("getrawtransaction", json!([id.to_string(), 0])))
                    .collect(),
            )
            .await?;
        let mut cache = self.prev.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() + missing.len() > self.cfg.cache_txs {
            cache.clear();
        }
        for (id, ans) in missing.iter().zip(answers) {
            let v = ans.map_err(|e| self.not_found(*id, e))?;
            let hex = v
                .as_str()
                .ok_or_else(|| self.malformed("getrawtransaction: not a string"))?;
            let tx = decode_tx_hex(hex).map_err(|e| self.malformed(format!("tx {id}: {e}")))?;
            if tx.compute_txid() != *id {
                return Err(self.malformed(format!(
                    "getrawtransaction {id}: bytes hash to another txid"
                )));
            }
            let tx = Arc::new(tx);
            cache.insert(*id, tx.clone());
            found.insert(*id, tx);
        }
        Ok(found)
    }

    fn not_found(&self, id: bitcoin::Txid, e: RpcError) -> FetchError {
        FetchError::Refused {
            url: self.redacted.clone(),
            detail: format!(
                "getrawtransaction {id}: {} (is the transaction index on? bitcoind -txindex, bcoin --index-tx)",
                e.message
            ),
        }
    }

    /// Resolve the outputs the inputs of `txs` spend (earlier transactions of `local` first,
    /// then the node) and build the [`UtxoTx`]s.
    pub async fn resolve(
        &self,
        txs: &[(bitcoin::Transaction, BlockPos)],
        local: &HashMap<bitcoin::Txid, &bitcoin::Transaction>,
    ) -> Result<Vec<UtxoTx>, FetchError> {
        let need: Vec<bitcoin::Txid> = txs
            .iter()
            .filter(|(t, _)| !t.is_coinbase())
            .flat_map(|(t, _)| t.input.iter().map(|i| i.previous_output.txid))
            .filter(|id| !local.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let fetched = self.prev_txs(&need).await?;
        txs.iter()
            .map(|(tx, pos)| {
                let prevouts = if tx.is_coinbase() {
                    Vec::new()
                } else {
                    tx.input
                        .iter()
                        .map(|i| {
                            let p = i.previous_output;
                            let src: Option<&bitcoin::Transaction> = local
                                .get(&p.txid)
                                .copied()
                                .or_else(|| fetched.get(&p.txid).map(|a| a.as_ref()));
                            src.and_then(|s| s.output.get(p.vout as usize).cloned())
                                .ok_or_else(|| {
                                    self.malformed(format!("input spends unknown output {p}"))
                                })
                        })
                        .collect::<Result<Vec<_>, _>>()?
                };
                UtxoTx::from_bitcoin(self.cfg.network, tx, &prevouts, *pos)
                    .map_err(|e| self.malformed(e.to_string()))
            })
            .collect()
    }

    async fn block_info(
        &self,
        hashes: &[String],
    ) -> Result<HashMap<String, Arc<BlockInfo>>, FetchError> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
            for h in hashes {
                match cache.get(h) {
                    Some(b) => {
                        out.insert(h.clone(), b.clone());
                    }
                    None if !missing.contains(h) => missing.push(h.clone()),
                    None => {}
                }
            }
        }
        let answers = self
            .batch(
                missing
                    .iter()
                    .map(|h| ("getblock", json!([h, 1])))
                    .collect(),
            )
            .await?;
        let mut cache = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        for (h, ans) in missing.iter().zip(answers) {
            let v = ans.map_err(|e| self.refused("getblock", e))?;
            let height = v.get("height").and_then(Value::as_u64);
            let time = v.get("time").and_then(Value::as_i64);
            let list = v.get("tx").and_then(Value::as_array);
            let (Some(height), Some(time), Some(list)) = (height, time, list) else {
                return Err(self.malformed(format!("getblock {h}: no height, time or tx list")));
            };
            let index = list
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.as_str().map(|s| (s.to_string(), i as u32)))
                .collect();
            let info = Arc::new(BlockInfo {
                height,
                time,
                index,
            });
            cache.insert(h.clone(), info.clone());
            out.insert(h.clone(), info);
        }
        Ok(out)
    }

    /// Confirmed transactions by txid (`getrawtransaction` verbose): `None` for one in the
    /// mempool only. Errors name the txid.
    pub async fn txs(&self, ids: &[TxHash]) -> Result<Vec<Option<UtxoTx>>, FetchError> {
        let answers = self
            .batch(
                ids.iter()
                    .map(|t| ("getrawtransaction", json!([format!("{:x}", t.0), 1])))
                    .collect(),
            )
            .await?;
        let mut decoded = Vec::with_capacity(ids.len());
        for (id, ans) in ids.iter().zip(answers) {
            let v = ans.map_err(|e| self.not_found(to_txid(*id), e))?;
            let hex = v
                .get("hex")
                .and_then(Value::as_str)
                .ok_or_else(|| self.malformed("getrawtransaction verbose: no hex"))?;
            let tx =
                decode_tx_hex(hex).map_err(|e| self.malformed(format!("tx {:x}: {e}", id.0)))?;
            if txhash(tx.compute_txid()) != *id {
                return Err(self.malformed(format!(
                    "getrawtransaction {:x}: bytes hash to another txid",
                    id.0
                )));
            }
            let block = v
                .get("blockhash")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            decoded.push((tx, block));
        }
        let hashes: Vec<String> = decoded.iter().filter_map(|(_, b)| b.clone()).collect();
        let infos = self.block_info(&hashes).await?;
        let mut confirmed = Vec::new();
        let mut slots = Vec::with_capacity(ids.len());
        for (tx, block) in decoded {
            let Some(b) = block.and_then(|b| infos.get(&b).cloned()) else {
                slots.push(None);
                continue;
            };
            let text = tx.compute_txid().to_string();
            let tx_index = *b.index.get(&text).ok_or_else(|| {
                self.malformed(format!("tx {text} is not in its block's tx list"))
            })?;
            slots.push(Some(confirmed.len()));
            confirmed.push((
                tx,
                BlockPos {
                    height: b.height,
                    tx_index,
                    time: b.time,
                },
            ));
        }
        let mut built: Vec<Option<UtxoTx>> = self
            .resolve(&confirmed, &HashMap::new())
            .await?
            .into_iter()
            .map(Some)
            .collect();
        Ok(slots
            .into_iter()
            .map(|s| s.and_then(|i| built[i].take()))
            .collect())
    }
}

#[async_trait]
impl Source for BitcoindSource {
    fn id(&self) -> String {
        self.source_id()
    }

    fn chain(&self) -> Chain {
        self.bitcoin_chain()
    }

    async fn head(&self) -> Result<u64, FetchError> {
        self.block_count().await
    }

    async fn transfers_for_address(
        &self,
        _address: &Address,
        _from: u64,
        _to: u64,
    ) -> Result<Vec<Transfer>, FetchError> {
        Err(FetchError::Unsupported(
            "bitcoind has no address index: follow transactions, or scan a block range with `fetch --bitcoind-url … --from-block N`".into(),
        ))
    }

    async fn transfers_of_tx(&self, tx: TxHash) -> Result<Vec<Transfer>, FetchError> {
        let mut v = self.txs(&[tx]).await?;
        let Some(Some(u)) = v.pop() else {
            return Ok(Vec::new());
        };
        u.rows(self.cfg.network)
            .map(|r| r.transfers)
            .map_err(|e| self.malformed(e.to_string()))
    }

    async fn asset(&self, id: AssetId) -> Result<Asset, FetchError> {
        match id {
            AssetId::Native => Ok(Asset::native(self.bitcoin_chain())),
            AssetId::Token(_) => Err(FetchError::Unsupported("Bitcoin has no tokens".into())),
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
