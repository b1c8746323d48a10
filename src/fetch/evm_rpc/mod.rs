//! [`RpcSource`]: transfers from an EVM JSON-RPC node (geth, erigon, reth, nethermind, anvil).
//!
//! - **Address discovery** (which transactions touch an address), detected on first use in this
//!   order unless forced ([`Discovery`]): `trace_filter` (from- and to-address, hex block
//!   numbers) → `ots_searchTransactionsAfter` (Otterscan) → a block-range scan
//!   (`eth_getBlockByNumber` with full transactions, `eth_getBlockReceipts`, and `trace_block` or
//!   `debug_traceBlockByNumber`). ERC-20 transfers come from `eth_getLogs` on the `Transfer`
//!   topic with the address as topic 1 or topic 2; a range the node refuses as too large is
//!   split in halves until it is accepted.
//! - **Transfers of a transaction** ([`extract`]): the fee, then — only if it succeeded — its
//!   value, its internal value moves (`trace_transaction` or `debug_traceTransaction` with the
//!   call tracer; [`InternalMethod`]), and its ERC-20 `Transfer` logs.
//! - JSON-RPC goes through the shared [`HttpClient`] (rate limit, retries), in batches when the
//!   node takes them ([`client`]). docs/adr/0004-fetching.md says why this is not alloy's
//!   provider.

mod client;
mod discovery;
mod events;
mod extract;
mod token;
mod types;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use alloy_primitives::{B256, Bytes, U256};
use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::fetch::{FetchError, HttpClient, Source};
use crate::model::{Address, Amount, Asset, AssetId, Chain, Transfer, TxHash};

// the transfer rules, shared with the ethereum-etl import
pub(crate) use extract::{Frame, TRANSFER_TOPIC, internal_moves};

pub use client::redact_url;

/// How the source finds the transactions of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Discovery {
    /// `trace_filter` with fromAddress / toAddress (reth, erigon, nethermind, anvil).
    TraceFilter,
    /// `ots_searchTransactionsAfter` (erigon with Otterscan, anvil).
    Ots,
    /// Read every block of the range (any node with a tracing API; slow, needs a range).
    Scan,
}

impl fmt::Display for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Discovery::TraceFilter => "trace_filter",
            Discovery::Ots => "ots",
            Discovery::Scan => "scan",
        })
    }
}

impl FromStr for Discovery {
    type Err = FetchError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace_filter" | "trace-filter" | "trace" => Ok(Discovery::TraceFilter),
            "ots" | "otterscan" => Ok(Discovery::Ots),
            "scan" | "blocks" => Ok(Discovery::Scan),
            _ => Err(FetchError::BadInput(format!(
                "invalid discovery method '{s}' (expected trace_filter, ots or scan)"
            ))),
        }
    }
}

/// Which tracing API reads internal transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InternalMethod {
    /// `trace_transaction` / `trace_block` (parity format).
    Trace,
    /// `debug_traceTransaction` / `debug_traceBlockByNumber` with `callTracer` (geth format).
    Debug,
}

impl fmt::Display for InternalMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InternalMethod::Trace => "trace",
            InternalMethod::Debug => "debug",
        })
    }
}

impl FromStr for InternalMethod {
    type Err = FetchError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" | "parity" => Ok(InternalMethod::Trace),
            "debug" | "calltracer" | "geth" => Ok(InternalMethod::Debug),
            _ => Err(FetchError::BadInput(format!(
                "invalid internal-transfer method '{s}' (expected trace or debug)"
            ))),
        }
    }
}

/// Configuration of an [`RpcSource`].
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// Endpoint URL (http or https). May hold an API key: it is never logged or stored.
    pub url: String,
    /// The chain the user asked for.
    pub chain: Chain,
    /// Force a discovery method (default: detected).
    pub discovery: Option<Discovery>,
    /// Force the tracing API (default: detected, `trace_*` first).
    pub internal: Option<InternalMethod>,
    /// Calls per JSON-RPC batch (1 disables batching).
    pub batch_size: usize,
    /// Batches in flight at once.
    pub concurrency: usize,
    /// A block range was given, so a block scan is acceptable when nothing better exists.
    pub allow_scan: bool,
    /// Page size of `ots_searchTransactionsAfter`.
    pub ots_page_size: usize,
    /// Blocks whose transfers a scan keeps in memory (the frontier fetches many addresses over
    /// the same window).
    pub scan_cache_blocks: usize,
}

impl RpcConfig {
    /// Defaults for `url` on `chain`.
    pub fn new(url: &str, chain: Chain) -> RpcConfig {
        RpcConfig {
            url: url.to_string(),
            chain,
            discovery: None,
            internal: None,
            batch_size: 100,
            concurrency: 4,
            allow_scan: false,
            ots_page_size: 100,
            scan_cache_blocks: 20_000,
        }
    }
}

/// An EVM JSON-RPC node as a [`Source`].
pub struct RpcSource {
    rpc: client::RpcClient,
    cfg: RpcConfig,
    node_chain_id: u64,
    discovery: OnceCell<Discovery>,
    internal: OnceCell<InternalMethod>,
    stamps: Mutex<HashMap<u64, i64>>,
    scan: discovery::ScanCache,
}

fn hex(n: u64) -> String {
    format!("{n:#x}")
}

impl RpcSource {
    /// Check the endpoint (`eth_chainId`, batch support) and build the source. A URL that is
    /// malformed, unreachable or not a JSON-RPC endpoint is [`FetchError::BadInput`] naming it;
    /// a node on another chain id than `cfg.chain` is only a warning (anvil's default id is
    /// 31337).
    pub async fn connect(http: HttpClient, cfg: RpcConfig) -> Result<RpcSource, FetchError> {
        let Some(want_id) = cfg.chain.chain_id() else {
            return Err(FetchError::BadInput(format!(
                "--rpc-url reads EVM chains; {} is not one",
                cfg.chain
            )));
        };
        match url::Url::parse(&cfg.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(FetchError::BadInput(format!(
                    "invalid RPC URL '{}' (expected http:// or https://)",
                    redact_url(&cfg.url)
                )));
            }
        }
        let rpc = client::RpcClient::new(http, &cfg.url, cfg.batch_size, cfg.concurrency);
        let bad = |e: FetchError| match e {
            FetchError::Unreachable { url, detail } => {
                FetchError::BadInput(format!("cannot reach RPC URL {url}: {detail}"))
            }
            FetchError::Refused { url, detail } | FetchError::Malformed { url, detail } => {
                FetchError::BadInput(format!("{url} is not a usable JSON-RPC endpoint: {detail}"))
            }
            other => other,
        };
        let probe = [("eth_chainId", json!([])), ("eth_blockNumber", json!([]))];
        let id_value = match rpc.probe_batch(&probe).await.map_err(bad)? {
            Some(v) => v[0].clone(),
            None => {
                rpc.disable_batching();
                rpc.call_value("eth_chainId", json!([]))
                    .await
                    .map_err(|e| bad(e.into_fetch(rpc.redacted(), "eth_chainId")))?
            }
        };
        let node_chain_id: alloy_primitives::U64 =
            rpc.decode("eth_chainId", id_value).map_err(bad)?;
        let node_chain_id = node_chain_id.to::<u64>();
        if node_chain_id != want_id {
            tracing::warn!(
                "the node at {} reports chain id {node_chain_id}, but --chain {} has chain id {want_id}; continuing (transfers are stored under {})",
                rpc.redacted(),
                cfg.chain,
                cfg.chain
            );
        }
        let scan = discovery::ScanCache::new(cfg.scan_cache_blocks);
        let src = RpcSource {
            rpc,
            node_chain_id,
            discovery: OnceCell::new(),
            internal: OnceCell::new(),
            stamps: Mutex::new(HashMap::new()),
            scan,
            cfg,
        };
        if let Some(d) = src.cfg.discovery {
            let _ = src.discovery.set(d);
        }
        if let Some(m) = src.cfg.internal {
            let _ = src.internal.set(m);
        }
        Ok(src)
    }

    /// The chain id the node reports.
    pub fn node_chain_id(&self) -> u64 {
        self.node_chain_id
    }

    /// Whether JSON-RPC batches are in use.
    pub fn batching(&self) -> bool {
        self.rpc.batching()
    }

    /// The discovery method (detected on first call unless forced).
    pub async fn discovery(&self) -> Result<Discovery, FetchError> {
        self.discovery
            .get_or_try_init(|| self.detect_discovery())
            .await
            .copied()
    }

    /// The tracing API for internal transfers (detected on first call unless forced).
    pub async fn internal_method(&self) -> Result<InternalMethod, FetchError> {
        self.internal
            .get_or_try_init(|| self.detect_internal())
            .await
            .copied()
    }

    async fn detect_discovery(&self) -> Result<Discovery, FetchError> {
        let head = self.head().await?;
        let probe = json!([{
            "fromBlock": hex(head), "toBlock": hex(head),
            "fromAddress": ["0x0000000000000000000000000000000000000000"]
        }]);
        match self.rpc.call_value("trace_filter", probe).await {
            Ok(Value::Array(_)) => return Ok(Discovery::TraceFilter),
            Ok(_) => {}
            Err(client::CallError::Fetch(e)) => return Err(e),
            Err(e) => tracing::debug!(?e, "trace_filter not usable"),
        }
        match self.rpc.call_value("ots_getApiLevel", json!([])).await {
            Ok(v) if v.as_u64().unwrap_or(0) >= 8 => return Ok(Discovery::Ots),
            Ok(_) => {}
            Err(client::CallError::Fetch(e)) => return Err(e),
            Err(e) => tracing::debug!(?e, "ots not usable"),
        }
        if self.cfg.allow_scan {
            tracing::warn!(
                "{} offers neither trace_filter nor ots_searchTransactions: scanning every block of the range",
                self.rpc.redacted()
            );
            return Ok(Discovery::Scan);
        }
        Err(FetchError::Unsupported(format!(
            "the node at {} offers no address discovery (neither trace_filter nor ots_searchTransactionsAfter); \
             give --from-block (and --to-block) to scan a block range instead, or use another node",
            self.rpc.redacted()
        )))
    }

    async fn detect_internal(&self) -> Result<InternalMethod, FetchError> {
        let zero = format!("{:#x}", B256::ZERO);
        for (method, params, kind) in [
            ("trace_transaction", json!([zero]), InternalMethod::Trace),
            (
                "debug_traceTransaction",
                json!([zero, {"tracer": "callTracer"}]),
                InternalMethod::Debug,
            ),
        ] {
            match self.rpc.call_value(method, params).await {
                Ok(_) => return Ok(kind),
                Err(client::CallError::Fetch(e)) => return Err(e),
                Err(e) if e.is_unsupported() => tracing::debug!(?e, "{method} not offered"),
                // "transaction not found" and the like: the method exists
                Err(_) => return Ok(kind),
            }
        }
        Err(FetchError::Unsupported(format!(
            "the node at {} offers neither trace_transaction nor debug_traceTransaction: internal \
             transfers cannot be read from it",
            self.rpc.redacted()
        )))
    }

    /// Block times for `blocks`, from the cache or the node.
    async fn stamps(
        &self,
        blocks: impl IntoIterator<Item = u64>,
    ) -> Result<HashMap<u64, i64>, FetchError> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
            for b in blocks {
                match cache.get(&b) {
                    Some(t) => {
                        out.insert(b, *t);
                    }
                    None => missing.push(b),
                }
            }
        }
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(out);
        }
        let calls = missing
            .iter()
            .map(|b| ("eth_getBlockByNumber", json!([hex(*b), false])))
            .collect();
        let answers = self.rpc.batch(calls).await?;
        let mut cache = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 1_000_000 {
            cache.clear();
        }
        for (b, a) in missing.iter().zip(answers) {
            let v = a.map_err(|e| e.into_fetch(self.rpc.redacted(), "eth_getBlockByNumber"))?;
            if v.is_null() {
                return Err(FetchError::Malformed {
                    url: self.rpc.redacted().to_string(),
                    detail: format!("eth_getBlockByNumber: block {b} not found"),
                });
            }
            let s: types::BlockStamp = self.rpc.decode("eth_getBlockByNumber", v)?;
            if s.number.to::<u64>() != *b {
                return Err(FetchError::Malformed {
                    url: self.rpc.redacted().to_string(),
                    detail: format!("asked for block {b}, got block {}", s.number),
                });
            }
            let t = i64::try_from(s.timestamp.to::<u64>()).unwrap_or(i64::MAX);
            cache.insert(*b, t);
            out.insert(*b, t);
        }
        Ok(out)
    }

    /// Every transfer of each transaction in `hashes`; `known` holds transactions and receipts
    /// already read (Otterscan answers carry them).
    async fn txs_transfers(
        &self,
        hashes: &[B256],
        known: &HashMap<B256, (types::RpcTx, types::Receipt)>,
    ) -> Result<Vec<Transfer>, FetchError> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let internal = self.internal_method().await?;
        let mut calls: Vec<(&'static str, Value)> = Vec::new();
        let mut slots = Vec::with_capacity(hashes.len());
        for h in hashes {
            let hs = format!("{h:#x}");
            let base = calls.len();
            let have = known.contains_key(h);
            if !have {
                calls.push(("eth_getTransactionByHash", json!([hs])));
                calls.push(("eth_getTransactionReceipt", json!([hs])));
            }
            calls.push(match internal {
                InternalMethod::Trace => ("trace_transaction", json!([hs])),
                InternalMethod::Debug => (
                    "debug_traceTransaction",
                    json!([hs, {"tracer": "callTracer"}]),
                ),
            });
            slots.push((base, have));
        }
        let methods: Vec<&'static str> = calls.iter().map(|c| c.0).collect();
        let mut answers: Vec<Option<Result<Value, client::CallError>>> =
            self.rpc.batch(calls).await?.into_iter().map(Some).collect();
        let url = self.rpc.redacted().to_string();
        let mut take = |i: usize| -> Result<Value, FetchError> {
            answers[i]
                .take()
                .unwrap_or(Ok(Value::Null))
                .map_err(|e| e.into_fetch(&url, methods[i]))
        };
        let mut parts = Vec::with_capacity(hashes.len());
        for (h, (base, have)) in hashes.iter().zip(slots) {
            let (tx, receipt, trace_at) = if have {
                let (t, r) = &known[h];
                (t.clone(), r.clone(), base)
            } else {
                let t = take(base)?;
                let r = take(base + 1)?;
                if t.is_null() || r.is_null() {
                    return Err(FetchError::Malformed {
                        url: self.rpc.redacted().to_string(),
                        detail: format!("transaction or receipt of {h:#x} not found"),
                    });
                }
                (
                    self.rpc
                        .decode::<types::RpcTx>("eth_getTransactionByHash", t)?,
                    self.rpc
                        .decode::<types::Receipt>("eth_getTransactionReceipt", r)?,
                    base + 2,
                )
            };
            let frames = self.frames(internal, take(trace_at)?, h)?;
            parts.push((tx, receipt, frames));
        }
        let stamps = self
            .stamps(parts.iter().filter_map(|(_, r, _)| r.block_number))
            .await?;
        let mut out = Vec::new();
        for (tx, receipt, frames) in &parts {
            let time = receipt
                .block_number
                .and_then(|b| stamps.get(&b).copied())
                .unwrap_or_default();
            let p = extract::TxParts {
                tx,
                receipt,
                frames,
                time,
            };
            out.extend(extract::tx_transfers(self.cfg.chain, &p).map_err(|e| {
                FetchError::Malformed {
                    url: self.rpc.redacted().to_string(),
                    detail: e.to_string(),
                }
            })?);
        }
        Ok(out)
    }

    /// The call tree of one transaction from a `trace_transaction` / `debug_traceTransaction`
    /// answer.
    fn frames(
        &self,
        m: InternalMethod,
        v: Value,
        h: &B256,
    ) -> Result<Vec<extract::Frame>, FetchError> {
        let frames = match m {
            InternalMethod::Trace => {
                let t: Vec<alloy_rpc_types_trace::parity::LocalizedTransactionTrace> =
                    self.rpc.decode("trace_transaction", v)?;
                extract::frames_from_parity(t.iter().map(|t| &t.trace))
            }
            InternalMethod::Debug => {
                let f: alloy_rpc_types_trace::geth::CallFrame =
                    self.rpc.decode("debug_traceTransaction", v)?;
                extract::frames_from_geth(&f)
            }
        };
        if !frames.iter().any(|f| f.path.is_empty()) {
            return Err(FetchError::Malformed {
                url: self.rpc.redacted().to_string(),
                detail: format!(
                    "no call trace for transaction {h:#x} (is tracing enabled on the node?)"
                ),
            });
        }
        Ok(frames)
    }

    /// `eth_call` at `block` (`None`: latest), answer bytes.
    async fn eth_call(
        &self,
        to: &alloy_primitives::Address,
        data: &str,
        block: Option<u64>,
    ) -> Result<Bytes, client::CallError> {
        let tag = block.map(hex).unwrap_or_else(|| "latest".into());
        self.rpc
            .call::<Bytes>(
                "eth_call",
                json!([{"to": format!("{to:#x}"), "data": data}, tag]),
            )
            .await
    }
}

/// Errors that mean "this node has no state for that block" (a pruned, non-archive node).
fn is_missing_state(e: &client::CallError) -> bool {
    let m = match e {
        client::CallError::Rpc { message, .. } => message.to_ascii_lowercase(),
        _ => return false,
    };
    [
        "missing trie node",
        "historical state",
        "pruned",
        "state not available",
        "header not found",
        "state is not available",
    ]
    .iter()
    .any(|k| m.contains(k))
}

#[async_trait]
impl Source for RpcSource {
    fn id(&self) -> String {
        format!("rpc:{}", self.rpc.redacted())
    }

    fn chain(&self) -> Chain {
        self.cfg.chain
    }

    async fn head(&self) -> Result<u64, FetchError> {
        let n: alloy_primitives::U64 = self
            .rpc
            .call("eth_blockNumber", json!([]))
            .await
            .map_err(|e| e.into_fetch(self.rpc.redacted(), "eth_blockNumber"))?;
        Ok(n.to::<u64>())
    }

    async fn transfers_for_address(
        &self,
        address: &Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<Transfer>, FetchError> {
        let Some(a) = address.as_evm().copied() else {
            return Err(FetchError::BadInput(format!(
                "{address} is not an EVM address"
            )));
        };
        if from > to {
            return Ok(Vec::new());
        }
        let mut all: BTreeMap<(TxHash, crate::model::SubIndex), Transfer> = BTreeMap::new();
        match self.discovery().await? {
            Discovery::Scan => {
                for t in self.scan_range(from, to).await? {
                    if extract::involves(&t, &a) {
                        all.insert((t.tx_hash, t.sub.clone()), t);
                    }
                }
                return Ok(sorted(all));
            }
            Discovery::TraceFilter => {
                let hashes = self.trace_filter_hashes(&a, from, to).await?;
                for t in self.txs_transfers(&hashes, &HashMap::new()).await? {
                    if extract::involves(&t, &a) {
                        all.insert((t.tx_hash, t.sub.clone()), t);
                    }
                }
            }
            Discovery::Ots => {
                let (hashes, known) = self.ots_walk(&a, from, to).await?;
                for t in self.txs_transfers(&hashes, &known).await? {
                    if extract::involves(&t, &a) {
                        all.insert((t.tx_hash, t.sub.clone()), t);
                    }
                }
            }
        }
        // token transfers of transactions the discovery did not return
        let logs = self.token_logs(&a, from, to).await?;
        let need: HashSet<u64> = logs
            .iter()
            .filter(|l| l.block_timestamp.is_none())
            .filter_map(|l| l.block_number)
            .collect();
        let stamps = self.stamps(need).await?;
        for l in &logs {
            let time = l
                .block_timestamp
                .map(|t| i64::try_from(t).unwrap_or(i64::MAX))
                .or_else(|| l.block_number.and_then(|b| stamps.get(&b).copied()))
                .unwrap_or_default();
            if let Some(t) = extract::log_transfer(self.cfg.chain, l, time) {
                all.entry((t.tx_hash, t.sub.clone())).or_insert(t);
            }
        }
        Ok(sorted(all))
    }

    async fn transfers_of_tx(&self, tx: TxHash) -> Result<Vec<Transfer>, FetchError> {
        let mut v = self.txs_transfers(&[tx.0], &HashMap::new()).await?;
        v.sort_by(|a, b| a.time_order(b));
        Ok(v)
    }

    async fn asset(&self, id: AssetId) -> Result<Asset, FetchError> {
        let AssetId::Token(token) = id else {
            return Ok(Asset::native(self.cfg.chain));
        };
        let symbol = match self.eth_call(&token, token::SYMBOL, None).await {
            Ok(b) => token::decode_symbol(&b),
            Err(client::CallError::Fetch(e)) => return Err(e),
            Err(_) => None,
        };
        let decimals = match self.eth_call(&token, token::DECIMALS, None).await {
            Ok(b) => token::decode_decimals(&b),
            Err(client::CallError::Fetch(e)) => return Err(e),
            Err(_) => None,
        };
        if symbol.is_none() || decimals.is_none() {
            tracing::warn!(
                token = %token.to_checksum(None),
                "token metadata unreadable (symbol {:?}, decimals {:?}); using UNKNOWN / 18 where missing",
                symbol, decimals
            );
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
        let Some(a) = address.as_evm() else {
            return Err(FetchError::BadInput(format!(
                "{address} is not an EVM address"
            )));
        };
        let r = match asset {
            AssetId::Native => {
                self.rpc
                    .call::<U256>("eth_getBalance", json!([format!("{a:#x}"), hex(block)]))
                    .await
            }
            AssetId::Token(t) => self
                .eth_call(&t, &token::balance_of_call(a), Some(block))
                .await
                // no code at the token address at that block: nothing held
                .map(|b| token::decode_uint(&b).unwrap_or(U256::ZERO)),
        };
        match r {
            Ok(v) => Ok(Some(Amount(v))),
            Err(e) if is_missing_state(&e) => {
                tracing::warn!(
                    "{} has no state for block {block} (not an archive node?): no opening balance for {address}",
                    self.rpc.redacted()
                );
                Ok(None)
            }
            Err(e) => Err(e.into_fetch(self.rpc.redacted(), "balance")),
        }
    }

    async fn contract_events(
        &self,
        contract: &Address,
        topics: &[B256],
        from: u64,
        to: u64,
    ) -> Result<Vec<crate::model::ContractEvent>, FetchError> {
        self.events_in(contract, topics, from, to).await
    }
}

fn sorted(all: BTreeMap<(TxHash, crate::model::SubIndex), Transfer>) -> Vec<Transfer> {
    let mut v: Vec<Transfer> = all.into_values().collect();
    v.sort_by(|a, b| a.time_order(b));
    v
}
