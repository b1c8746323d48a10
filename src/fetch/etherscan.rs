//! [`EtherscanSource`]: transfers from a block explorer's Etherscan-style API — Etherscan API
//! v2 (one base URL for every EVM chain, selected by `chainid`, API key required) or a
//! Blockscout instance's Etherscan-compatible `/api` (keyless) — with the same transfers, key
//! for key, as the JSON-RPC source.
//!
//! How each part of an address's history is read (blocks `from..=to`):
//! - `txlist`: the **fee** (gasUsed × gasPrice, also for failed transactions) of every
//!   transaction the address sent, and the **value** of those that succeeded (`isError` 0 and
//!   `txreceipt_status` not 0), to `to` or, for a creation, `contractAddress`.
//! - `txlistinternal`: **internal** value moves, keyed by trace address. Etherscan gives it as
//!   `traceId` (`0_1` = trace address [0, 1]). A frame moves nothing when it failed, when its
//!   transaction failed (from `txlist` or the receipt), or when a frame above it failed: for
//!   frames two or more levels deep the whole block's internal list (the documented
//!   block-range form of `txlistinternal`, which carries `hash` and `traceId`) shows the
//!   failed ancestors. Blockscout's list has no trace address (only a pre-order `index`), so
//!   its transactions' call trees come from its REST `raw-trace` (parity format).
//! - `tokentx`: **ERC-20 transfers**, keyed by log index. Etherscan's rows carry no log index,
//!   so the transaction's receipt (proxy `eth_getTransactionReceipt`) supplies the `Transfer`
//!   logs; Blockscout's rows carry `logIndex` and `transactionIndex`.
//! - Internal-only and token-only transactions take their index in the block from the receipt.
//!
//! - `getLogs` (module `logs`): a contract's events by topic 0 ([`Source::contract_events`]),
//!   with each transaction's sender and fee setting from the proxy `eth_getTransactionByHash`
//!   (`logs.rs`).
//!
//! Every list is walked in pages of `page_size` inside the result window (page × offset ≤
//! 10,000 on Etherscan), then from the last block seen (see `api::Api::walk`). The API key
//! goes only into the URL that is sent: messages, logs, errors and [`Source::id`] never hold
//! it.

mod api;
mod assemble;
mod logs;
mod options;
mod records;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use alloy_primitives::{Address as EvmAddress, Bytes, U64, U256};
use async_trait::async_trait;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;

use self::api::{Api, Rpc};
use self::records::{Frame, InternalRecord, Receipt};
use crate::fetch::{FetchError, HttpClient, RetryPolicy, Source};
use crate::model::{Address, Amount, Asset, AssetId, Chain, SubIndex, Transfer, TxHash};

pub use options::ExplorerOptions;

/// Etherscan API v2, for every chain it serves.
pub const ETHERSCAN_URL: &str = "https://api.etherscan.io/v2/api";
/// Blockscout's public Ethereum mainnet instance: the default without an Etherscan key.
pub const BLOCKSCOUT_ETHEREUM_URL: &str = "https://eth.blockscout.com/api";
/// The environment variable read for the Etherscan key unless another is named.
pub const DEFAULT_API_KEY_ENV: &str = "ETHERSCAN_API_KEY";
/// Requests per second to Etherscan: the free tier's limit.
pub const ETHERSCAN_RATE: f64 = 5.0;
/// Requests per second to a Blockscout instance: below its keyless limit (5/s, a pool shared
/// with every other keyless user).
pub const BLOCKSCOUT_RATE: f64 = 2.0;

/// The share of the configured rate the explorer sources send at. The explorers count
/// requests per second at their side; a client sending at exactly the limit has no room for
/// network and scheduling jitter, which then puts one request too many into one of the
/// server's seconds (measured: 2–3 rate-limit answers per ~100 requests at 10 and 20 req/s).
/// 3% under the limit leaves 30 ms of slack in every second.
pub const RATE_MARGIN: f64 = 0.97;

/// The HTTP client for an explorer configured at `rate` requests per second: it sends at
/// `rate` × [`RATE_MARGIN`].
pub fn explorer_http(rate: f64, policy: RetryPolicy) -> Result<HttpClient, FetchError> {
    HttpClient::new(rate * RATE_MARGIN, policy)
}

/// Which API dialect the endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Etherscan API v2 (`chainid` parameter, API key, `traceId`, no log index in `tokentx`).
    Etherscan,
    /// Blockscout's Etherscan-compatible `/api`, its `/api/eth-rpc` and REST `/api/v2`.
    Blockscout,
}

/// An API key. `Debug` never shows it; only the request URL carries it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// A key, or `None` when `s` is blank.
    pub fn new(s: &str) -> Option<ApiKey> {
        let t = s.trim();
        (!t.is_empty()).then(|| ApiKey(t.to_string()))
    }

    /// The key in environment variable `var`, if set and not blank.
    pub fn from_env(var: &str) -> Option<ApiKey> {
        std::env::var(var).ok().and_then(|v| ApiKey::new(&v))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Configuration of an [`EtherscanSource`].
#[derive(Debug, Clone)]
pub struct ExplorerConfig {
    /// API dialect.
    pub flavor: Flavor,
    /// Base URL (`…/v2/api` for Etherscan, `…/api` for Blockscout).
    pub url: String,
    /// The chain (its id is Etherscan's `chainid`).
    pub chain: Chain,
    /// API key (Etherscan: required by the service; Blockscout: optional).
    pub api_key: Option<ApiKey>,
    /// Records per page (`offset`). 1,000 fits Etherscan's free tier.
    pub page_size: u32,
    /// Most records one query can reach (page × offset): 10,000 on Etherscan. Shrinks by
    /// itself when the server's is smaller.
    pub result_window: u32,
    /// Receipts and traces requested at once (the rate limit still applies).
    pub concurrency: usize,
}

impl ExplorerConfig {
    /// Etherscan API v2 for `chain`.
    pub fn etherscan(chain: Chain, api_key: Option<ApiKey>) -> ExplorerConfig {
        ExplorerConfig {
            flavor: Flavor::Etherscan,
            url: ETHERSCAN_URL.to_string(),
            chain,
            api_key,
            page_size: 1000,
            result_window: 10_000,
            concurrency: 4,
        }
    }

    /// The Blockscout instance at `url` (its `/api` base).
    pub fn blockscout(url: &str, chain: Chain) -> ExplorerConfig {
        ExplorerConfig {
            flavor: Flavor::Blockscout,
            url: url.to_string(),
            api_key: None,
            ..ExplorerConfig::etherscan(chain, None)
        }
    }

    /// The default politeness for this flavour, requests per second.
    pub fn default_rate(&self) -> f64 {
        match self.flavor {
            Flavor::Etherscan => ETHERSCAN_RATE,
            Flavor::Blockscout => BLOCKSCOUT_RATE,
        }
    }
}

/// What is known of a transaction: its index in the block and whether it succeeded.
#[derive(Debug, Clone, Copy)]
struct TxInfo {
    tx_index: u32,
    success: bool,
}

/// Internal rows of one block, by transaction (Etherscan's block-range `txlistinternal`).
type BlockRows = Arc<HashMap<TxHash, Vec<(Vec<u32>, InternalRecord)>>>;

/// An Etherscan v2 or Blockscout endpoint as a [`Source`].
pub struct EtherscanSource {
    api: Api,
    cfg: ExplorerConfig,
    tokens: Mutex<HashMap<EvmAddress, (String, u8)>>,
    blocks: Mutex<HashMap<u64, BlockRows>>,
}

fn evm_of(a: &Address) -> Result<EvmAddress, FetchError> {
    a.as_evm()
        .copied()
        .ok_or_else(|| FetchError::BadInput(format!("{a} is not an EVM address")))
}

fn is(a: &Option<Address>, x: &EvmAddress) -> bool {
    matches!(a, Some(Address::Evm(y)) if y == x)
}

impl EtherscanSource {
    /// Build the source. A URL that is not http(s), or a chain that is not EVM, is
    /// [`FetchError::BadInput`]. Nothing is requested yet.
    pub fn new(http: HttpClient, cfg: ExplorerConfig) -> Result<EtherscanSource, FetchError> {
        let Some(chain_id) = cfg.chain.chain_id() else {
            return Err(FetchError::BadInput(format!(
                "explorer APIs serve EVM chains; {} is not one",
                cfg.chain
            )));
        };
        let base = match url::Url::parse(cfg.url.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
            _ => {
                let mut shown = cfg.url.clone();
                if let Some(i) = shown.find('?') {
                    shown.truncate(i);
                }
                return Err(FetchError::BadInput(format!(
                    "invalid explorer URL '{shown}' (expected http:// or https://)"
                )));
            }
        };
        if cfg.flavor == Flavor::Etherscan && cfg.api_key.is_none() {
            tracing::warn!("no Etherscan API key: the service throttles or refuses keyless calls");
        }
        let api = Api::new(
            http,
            base,
            cfg.flavor,
            chain_id,
            cfg.api_key.clone(),
            cfg.page_size,
            cfg.result_window,
        );
        Ok(EtherscanSource {
            api,
            cfg,
            tokens: Mutex::default(),
            blocks: Mutex::default(),
        })
    }

    /// The result window in use (smaller than configured when the server said so).
    pub fn result_window(&self) -> u32 {
        self.api.window()
    }

    fn malformed(&self, detail: String) -> FetchError {
        FetchError::Malformed {
            url: self.api.redacted_base(),
            detail,
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        v: Value,
    ) -> Result<T, FetchError> {
        serde_json::from_value(v).map_err(|e| self.malformed(format!("{what}: {e}")))
    }

    async fn receipt(&self, hash: TxHash) -> Result<Receipt, FetchError> {
        let h = hash.display(self.cfg.chain);
        let v = self.api.rpc(Rpc::Receipt(h.clone())).await?;
        if v.is_null() {
            return Err(self.malformed(format!("no receipt for transaction {h}")));
        }
        let r: Receipt = self.decode("eth_getTransactionReceipt", v)?;
        if r.transaction_hash != hash.0 {
            return Err(self.malformed(format!("asked for the receipt of {h}, got another")));
        }
        Ok(r)
    }

    /// Receipts of `hashes`, `concurrency` at a time.
    async fn receipts(&self, hashes: Vec<TxHash>) -> Result<HashMap<TxHash, Receipt>, FetchError> {
        stream::iter(
            hashes
                .into_iter()
                .map(|h| async move { Ok((h, self.receipt(h).await?)) }),
        )
        .buffer_unordered(self.cfg.concurrency.max(1))
        .try_collect()
        .await
    }

    /// Frames of one transaction from Blockscout's raw trace.
    async fn raw_frames(&self, hash: TxHash) -> Result<Vec<Frame>, FetchError> {
        let h = hash.display(self.cfg.chain);
        let v = self.api.raw_trace(&h).await?;
        let frames = records::frames_from_raw_trace(self.cfg.chain, v)
            .map_err(|e| self.malformed(format!("transaction {h}: {e}")))?;
        if !frames.iter().any(|f| f.path.is_empty()) {
            return Err(self.malformed(format!("no call trace for transaction {h}")));
        }
        Ok(frames)
    }

    /// Etherscan: every internal row of `block` with its trace address, by transaction.
    async fn block_rows(&self, block: u64) -> Result<BlockRows, FetchError> {
        if let Some(r) = self
            .blocks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&block)
        {
            return Ok(r.clone());
        }
        let mut map: HashMap<TxHash, Vec<(Vec<u32>, InternalRecord)>> = HashMap::new();
        for v in self.api.walk("txlistinternal", None, block, block).await? {
            let r: InternalRecord = self.decode("txlistinternal", v)?;
            let hash = records::tx_hash("hash", &r.hash).map_err(|e| self.malformed(e))?;
            let path = records::trace_path(&r.trace_id)
                .map_err(|e| self.malformed(format!("internal transaction of {}: {e}", r.hash)))?;
            map.entry(hash).or_default().push((path, r));
        }
        let rows = Arc::new(map);
        let mut cache = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(block, rows.clone());
        Ok(rows)
    }

    async fn call(&self, token: &EvmAddress, data: &'static str) -> Option<Bytes> {
        let v = self
            .api
            .rpc(Rpc::Call {
                to: format!("{token:#x}"),
                data,
            })
            .await
            .ok()?;
        serde_json::from_value(v).ok()
    }
}

fn sorted(v: Vec<Transfer>) -> Vec<Transfer> {
    let mut m: BTreeMap<(TxHash, SubIndex), Transfer> = BTreeMap::new();
    for t in v {
        m.entry((t.tx_hash, t.sub.clone())).or_insert(t);
    }
    let mut out: Vec<Transfer> = m.into_values().collect();
    out.sort_by(|a, b| a.time_order(b));
    out
}

#[async_trait]
impl Source for EtherscanSource {
    fn id(&self) -> String {
        match self.cfg.flavor {
            Flavor::Etherscan if self.cfg.url.trim_end_matches('/') == ETHERSCAN_URL => {
                format!("etherscan:{}", self.api_chain_id())
            }
            Flavor::Etherscan => format!(
                "etherscan:{}:{}",
                self.api.redacted_base(),
                self.api_chain_id()
            ),
            Flavor::Blockscout => format!("blockscout:{}", self.api.redacted_base()),
        }
    }

    fn chain(&self) -> Chain {
        self.cfg.chain
    }

    async fn head(&self) -> Result<u64, FetchError> {
        let v = self.api.rpc(Rpc::BlockNumber).await?;
        let n: U64 = self.decode("eth_blockNumber", v)?;
        Ok(n.to::<u64>())
    }

    async fn transfers_for_address(
        &self,
        address: &Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<Transfer>, FetchError> {
        let a = evm_of(address)?;
        if from > to {
            return Ok(Vec::new());
        }
        let (txs, internals, tokens) = tokio::try_join!(
            self.api.walk("txlist", Some(address), from, to),
            self.api.walk("txlistinternal", Some(address), from, to),
            self.api.walk("tokentx", Some(address), from, to),
        )?;
        tracing::debug!(%address, from, to, txs = txs.len(), internal = internals.len(), tokens = tokens.len(), "explorer lists read");
        let mut out = Vec::new();
        let mut infos = HashMap::new();
        let mut receipts = HashMap::new();
        self.add_txlist(txs, &mut infos, &mut out)?;
        self.add_internal(&a, internals, &mut infos, &mut receipts, &mut out)
            .await?;
        self.add_tokens(&a, tokens, &mut receipts, &mut out).await?;
        out.retain(|t| is(&t.from, &a) || is(&t.to, &a));
        Ok(sorted(out))
    }

    async fn transfers_of_tx(&self, tx: TxHash) -> Result<Vec<Transfer>, FetchError> {
        let h = tx.display(self.cfg.chain);
        let v = self.api.rpc(Rpc::Tx(h.clone())).await?;
        if v.is_null() {
            return Err(FetchError::BadInput(format!("transaction {h} not found")));
        }
        let ptx: records::ProxyTx = self.decode("eth_getTransactionByHash", v)?;
        if ptx.hash != tx.0 {
            return Err(self.malformed(format!("asked for transaction {h}, got another")));
        }
        let r = self.receipt(tx).await?;
        let block = r.block_number.to::<u64>();
        let b = self.api.rpc(Rpc::Block(block)).await?;
        let time = i64::try_from(
            self.decode::<records::ProxyBlock>("eth_getBlockByNumber", b)?
                .timestamp
                .to::<u64>(),
        )
        .unwrap_or(i64::MAX);
        let info = self.info_of(&r);
        let base = self.transfer(tx, SubIndex::Fee, block, info, time);
        let mut out = Vec::new();
        let fee = r.fee(ptx.gas_price);
        if !fee.is_zero() {
            out.push(self.native(base.clone(), ptx.from, None, fee));
        }
        if !info.success {
            return Ok(out);
        }
        if !ptx.value.is_zero() {
            let to = ptx.to.or(r.contract_address);
            out.push(Transfer {
                sub: SubIndex::Value,
                ..self.native(base.clone(), ptx.from, to, ptx.value)
            });
        }
        let frames = match self.cfg.flavor {
            Flavor::Blockscout => self.raw_frames(tx).await?,
            Flavor::Etherscan => {
                let rows = self.block_rows(block).await?;
                let mut frames = Vec::new();
                for (path, row) in rows.get(&tx).map(Vec::as_slice).unwrap_or_default() {
                    frames.push(self.row_frame(path.clone(), row)?);
                }
                frames.sort_by(|a, b| a.path.cmp(&b.path));
                frames
            }
        };
        for f in records::surviving(&frames) {
            out.push(Transfer {
                sub: SubIndex::Internal(f.path.clone()),
                ..self.native(base.clone(), f.from, f.to, f.value)
            });
        }
        out.extend(self.log_transfers(tx, &r, time));
        Ok(sorted(out))
    }

    async fn asset(&self, id: AssetId) -> Result<Asset, FetchError> {
        let AssetId::Token(token) = id else {
            return Ok(Asset::native(self.cfg.chain));
        };
        let known = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&token)
            .cloned();
        let (symbol, decimals) = match known {
            Some((s, d)) => (Some(s), Some(d)),
            None => (
                self.call(&token, records::SYMBOL_CALL)
                    .await
                    .and_then(|b| records::decode_symbol(&b)),
                self.call(&token, records::DECIMALS_CALL)
                    .await
                    .and_then(|b| records::decode_decimals(&b)),
            ),
        };
        if symbol.is_none() || decimals.is_none() {
            tracing::warn!(token = %token.to_checksum(None), "token metadata unreadable (symbol {symbol:?}, decimals {decimals:?}); using UNKNOWN / 18 where missing");
        }
        Ok(Asset {
            chain: self.cfg.chain,
            id,
            symbol: symbol.unwrap_or_else(|| "UNKNOWN".into()),
            decimals: decimals.unwrap_or(18),
        })
    }

    async fn balance_at(
        &self,
        address: &Address,
        asset: AssetId,
        block: u64,
    ) -> Result<Option<Amount>, FetchError> {
        let a = evm_of(address)?;
        // Etherscan's historical balances are a paid (PRO) endpoint; Blockscout documents
        // eth_getBalance at a block (native coin only).
        if self.cfg.flavor != Flavor::Blockscout || asset != AssetId::Native {
            return Ok(None);
        }
        match self
            .api
            .rpc(Rpc::Balance {
                address: format!("{a:#x}"),
                block,
            })
            .await
        {
            Ok(v) => Ok(Some(Amount(self.decode::<U256>("eth_getBalance", v)?))),
            Err(FetchError::Refused { detail, .. }) => {
                tracing::warn!(%address, block, "no balance from the explorer: {detail}");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn contract_events(
        &self,
        contract: &Address,
        topics: &[alloy_primitives::B256],
        from: u64,
        to: u64,
    ) -> Result<Vec<crate::model::ContractEvent>, FetchError> {
        self.events_in(contract, topics, from, to).await
    }
}

impl EtherscanSource {
    fn api_chain_id(&self) -> u64 {
        self.cfg.chain.chain_id().unwrap_or_default()
    }
}
