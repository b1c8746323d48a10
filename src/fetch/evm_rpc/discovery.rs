//! Finding an address's transactions: `trace_filter`, Otterscan's
//! `ots_searchTransactionsAfter`, `eth_getLogs` for token transfers (block ranges split in halves
//! while the node refuses them as too large), and the block-range scan with its cache.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use alloy_primitives::{Address as EvmAddress, B256};
use alloy_rpc_types_eth::Log;
use alloy_rpc_types_trace::geth::CallFrame;
use alloy_rpc_types_trace::parity::LocalizedTransactionTrace;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::CallError;
use super::extract::{self, Frame, TRANSFER_TOPIC};
use super::types::{BlockCallTrace, Receipt, RpcTx, ScanBlock};
use super::{InternalMethod, RpcSource, hex};
use crate::fetch::FetchError;
use crate::model::Transfer;

/// Transfers of scanned blocks, kept so that the frontier's many addresses over one window
/// read each block once. Bounded: the oldest blocks are dropped first.
/// Cached blocks' transfers, and the blocks in insertion order (oldest first).
type BlockCache = (HashMap<u64, Arc<Vec<Transfer>>>, VecDeque<u64>);

pub(crate) struct ScanCache {
    cap: usize,
    inner: Mutex<BlockCache>,
    no_block_receipts: std::sync::atomic::AtomicBool,
}

impl ScanCache {
    pub(crate) fn new(cap: usize) -> ScanCache {
        ScanCache {
            cap,
            inner: Mutex::default(),
            no_block_receipts: Default::default(),
        }
    }

    fn get(&self, b: u64) -> Option<Arc<Vec<Transfer>>> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0.get(&b).cloned()
    }

    fn put(&self, b: u64, v: Vec<Transfer>) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if self.cap == 0 {
            return;
        }
        while g.1.len() >= self.cap {
            if let Some(old) = g.1.pop_front() {
                g.0.remove(&old);
            }
        }
        if g.0.insert(b, Arc::new(v)).is_none() {
            g.1.push_back(b);
        }
    }
}

/// An address as a 32-byte topic.
fn topic(a: &EvmAddress) -> String {
    format!("0x{:0>64}", format!("{a:x}").trim_start_matches("0x"))
}

/// One Otterscan search page: the transactions with their receipts (and block times).
#[derive(Deserialize)]
struct OtsPage {
    txs: Vec<RpcTx>,
    receipts: Vec<OtsReceipt>,
    #[serde(rename = "firstPage", default)]
    first_page: bool,
}

#[derive(Deserialize)]
struct OtsReceipt {
    #[serde(flatten)]
    receipt: Receipt,
    #[serde(default)]
    timestamp: Option<alloy_primitives::U64>,
}

impl RpcSource {
    /// Run `call` on `[from, to]`, splitting the range in halves while the node answers that
    /// it is too large. Sub-range results are returned in block order.
    pub(super) async fn split_ranges<T, F, Fut>(
        &self,
        method: &str,
        from: u64,
        to: u64,
        call: F,
    ) -> Result<Vec<T>, FetchError>
    where
        F: Fn(u64, u64) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>, CallError>>,
    {
        let mut out = Vec::new();
        let mut todo = vec![(from, to)];
        while let Some((a, b)) = todo.pop() {
            match call(a, b).await {
                Ok(v) => out.extend(v),
                Err(e) if a < b && e.is_range_too_large() => {
                    let mid = a + (b - a) / 2;
                    tracing::debug!(method, a, b, "range refused as too large; splitting");
                    // pop order: lower half first
                    todo.push((mid + 1, b));
                    todo.push((a, mid));
                }
                Err(e) => return Err(e.into_fetch(self.rpc.redacted(), method)),
            }
        }
        Ok(out)
    }

    /// Hashes of the transactions in `[from, to]` with a trace from or to `a`, in block order.
    pub(super) async fn trace_filter_hashes(
        &self,
        a: &EvmAddress,
        from: u64,
        to: u64,
    ) -> Result<Vec<B256>, FetchError> {
        let mut seen = HashSet::new();
        let mut hashes = Vec::new();
        for key in ["fromAddress", "toAddress"] {
            let traces = self
                .split_ranges("trace_filter", from, to, |x, y| async move {
                    let v = self
                        .rpc
                        .call_value(
                            "trace_filter",
                            json!([{ "fromBlock": hex(x), "toBlock": hex(y), key: [format!("{a:#x}")] }]),
                        )
                        .await?;
                    let t: Vec<LocalizedTransactionTrace> =
                        self.rpc.decode("trace_filter", v).map_err(CallError::Fetch)?;
                    Ok(t.into_iter()
                        .filter_map(|t| Some((t.block_number?, t.transaction_position?, t.transaction_hash?)))
                        .collect::<Vec<_>>())
                })
                .await?;
            for (block, pos, h) in traces {
                if seen.insert(h) {
                    hashes.push((block, pos, h));
                }
            }
        }
        hashes.sort();
        Ok(hashes.into_iter().map(|(_, _, h)| h).collect())
    }

    /// Otterscan search for `a` over `[from, to]`: hashes in block order, with the
    /// transactions and receipts the pages carried.
    #[allow(clippy::type_complexity)]
    pub(super) async fn ots_walk(
        &self,
        a: &EvmAddress,
        from: u64,
        to: u64,
    ) -> Result<(Vec<B256>, HashMap<B256, (RpcTx, Receipt)>), FetchError> {
        let mut known = HashMap::new();
        let mut order = BTreeSet::new();
        // ots_searchTransactionsAfter is exclusive of its block argument
        let mut cursor = from.saturating_sub(1);
        loop {
            let v = self
                .rpc
                .call_value(
                    "ots_searchTransactionsAfter",
                    json!([format!("{a:#x}"), cursor, self.cfg.ots_page_size]),
                )
                .await
                .map_err(|e| e.into_fetch(self.rpc.redacted(), "ots_searchTransactionsAfter"))?;
            let page: OtsPage = self.rpc.decode("ots_searchTransactionsAfter", v)?;
            let receipts: HashMap<B256, OtsReceipt> = page
                .receipts
                .into_iter()
                .map(|r| (r.receipt.transaction_hash, r))
                .collect();
            let mut max_block = cursor;
            for tx in page.txs {
                let Some(b) = tx.block_number.map(|b| b.to::<u64>()) else {
                    continue;
                };
                max_block = max_block.max(b);
                if b < from || b > to {
                    continue;
                }
                let pos = tx.transaction_index.map(|i| i.to::<u64>()).unwrap_or(0);
                order.insert((b, pos, tx.hash));
                if let Some(r) = receipts.get(&tx.hash) {
                    if let Some(t) = r.timestamp {
                        let mut c = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
                        c.insert(b, i64::try_from(t.to::<u64>()).unwrap_or(i64::MAX));
                    }
                    known.insert(tx.hash, (tx, r.receipt.clone()));
                }
            }
            if page.first_page || max_block <= cursor || max_block >= to {
                break;
            }
            cursor = max_block;
        }
        Ok((order.into_iter().map(|(_, _, h)| h).collect(), known))
    }

    /// ERC-20 `Transfer` logs with `a` as sender (topic 1) or receiver (topic 2).
    pub(super) async fn token_logs(
        &self,
        a: &EvmAddress,
        from: u64,
        to: u64,
    ) -> Result<Vec<Log>, FetchError> {
        let t = topic(a);
        let transfer = format!("{TRANSFER_TOPIC:#x}");
        let mut out = Vec::new();
        for topics in [json!([transfer, t]), json!([transfer, null, t])] {
            let logs = self
                .split_ranges("eth_getLogs", from, to, |x, y| {
                    let topics = topics.clone();
                    async move {
                        let v = self
                            .rpc
                            .call_value(
                                "eth_getLogs",
                                json!([{ "fromBlock": hex(x), "toBlock": hex(y), "topics": topics }]),
                            )
                            .await?;
                        self.rpc
                            .decode::<Vec<Log>>("eth_getLogs", v)
                            .map_err(CallError::Fetch)
                    }
                })
                .await?;
            out.extend(logs);
        }
        Ok(out)
    }

    /// Every transfer of every transaction in blocks `[from, to]` (cached per block).
    pub(super) async fn scan_range(&self, from: u64, to: u64) -> Result<Vec<Transfer>, FetchError> {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for b in from..=to {
            match self.scan.get(b) {
                Some(v) => out.extend(v.iter().cloned()),
                None => missing.push(b),
            }
        }
        // a few hundred blocks at a time keeps memory flat on long ranges
        for group in missing.chunks(256) {
            for (b, transfers) in self.scan_blocks(group).await? {
                out.extend(transfers.iter().cloned());
                self.scan.put(b, transfers);
            }
        }
        out.sort_by(|a, b| a.time_order(b));
        Ok(out)
    }

    async fn scan_blocks(&self, blocks: &[u64]) -> Result<Vec<(u64, Vec<Transfer>)>, FetchError> {
        let internal = self.internal_method().await?;
        let use_block_receipts = !self
            .scan
            .no_block_receipts
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut calls: Vec<(&'static str, Value)> = Vec::new();
        for b in blocks {
            calls.push(("eth_getBlockByNumber", json!([hex(*b), true])));
            if use_block_receipts {
                calls.push(("eth_getBlockReceipts", json!([hex(*b)])));
            }
            calls.push(match internal {
                InternalMethod::Trace => ("trace_block", json!([hex(*b)])),
                InternalMethod::Debug => (
                    "debug_traceBlockByNumber",
                    json!([hex(*b), {"tracer": "callTracer"}]),
                ),
            });
        }
        let methods: Vec<&'static str> = calls.iter().map(|c| c.0).collect();
        let answers = self.rpc.batch(calls).await?;
        let per = if use_block_receipts { 3 } else { 2 };
        let url = self.rpc.redacted().to_string();
        let mut out = Vec::with_capacity(blocks.len());
        let mut answers = answers.into_iter().enumerate();
        for b in blocks {
            let mut next = || -> Result<Value, CallError> {
                let (_, a) = answers.next().unwrap_or((0, Ok(Value::Null)));
                a
            };
            let block_v = next().map_err(|e| e.into_fetch(&url, methods[0]))?;
            let receipts_v = if use_block_receipts {
                Some(next())
            } else {
                None
            };
            let trace_v = next().map_err(|e| e.into_fetch(&url, methods[per - 1]))?;
            if block_v.is_null() {
                return Err(FetchError::Malformed {
                    url,
                    detail: format!("eth_getBlockByNumber: block {b} not found"),
                });
            }
            let block: ScanBlock = self.rpc.decode("eth_getBlockByNumber", block_v)?;
            if block.number.to::<u64>() != *b {
                return Err(FetchError::Malformed {
                    url,
                    detail: format!("asked for block {b}, got block {}", block.number),
                });
            }
            let receipts: Vec<Receipt> = match receipts_v {
                Some(Ok(v)) if !v.is_null() => self.rpc.decode("eth_getBlockReceipts", v)?,
                Some(Err(e)) if !e.is_unsupported() => {
                    return Err(e.into_fetch(&url, "eth_getBlockReceipts"));
                }
                _ => {
                    if use_block_receipts {
                        tracing::info!(
                            "eth_getBlockReceipts not offered; reading receipts one by one"
                        );
                        self.scan
                            .no_block_receipts
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    self.receipts_of(&block.transactions).await?
                }
            };
            let frames = self.block_frames(internal, trace_v, &block.transactions)?;
            let time = i64::try_from(block.timestamp.to::<u64>()).unwrap_or(i64::MAX);
            {
                let mut c = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
                c.insert(*b, time);
            }
            let by_hash: HashMap<B256, &Receipt> =
                receipts.iter().map(|r| (r.transaction_hash, r)).collect();
            let mut transfers = Vec::new();
            for tx in &block.transactions {
                let receipt = by_hash.get(&tx.hash).ok_or_else(|| FetchError::Malformed {
                    url: url.clone(),
                    detail: format!("block {b}: no receipt for {:#x}", tx.hash),
                })?;
                let empty = Vec::new();
                let fr = frames.get(&tx.hash).unwrap_or(&empty);
                if fr.is_empty() {
                    return Err(FetchError::Malformed {
                        url: url.clone(),
                        detail: format!("block {b}: no call trace for {:#x}", tx.hash),
                    });
                }
                let p = extract::TxParts {
                    tx,
                    receipt,
                    frames: fr,
                    time,
                };
                transfers.extend(extract::tx_transfers(self.cfg.chain, &p).map_err(|e| {
                    FetchError::Malformed {
                        url: url.clone(),
                        detail: e.to_string(),
                    }
                })?);
            }
            out.push((*b, transfers));
        }
        Ok(out)
    }

    async fn receipts_of(&self, txs: &[RpcTx]) -> Result<Vec<Receipt>, FetchError> {
        let calls = txs
            .iter()
            .map(|t| {
                (
                    "eth_getTransactionReceipt",
                    json!([format!("{:#x}", t.hash)]),
                )
            })
            .collect();
        let mut out = Vec::with_capacity(txs.len());
        for a in self.rpc.batch(calls).await? {
            let v =
                a.map_err(|e| e.into_fetch(self.rpc.redacted(), "eth_getTransactionReceipt"))?;
            out.push(self.rpc.decode("eth_getTransactionReceipt", v)?);
        }
        Ok(out)
    }

    /// Call trees of a block's transactions, by transaction hash.
    fn block_frames(
        &self,
        m: InternalMethod,
        v: Value,
        txs: &[RpcTx],
    ) -> Result<HashMap<B256, Vec<Frame>>, FetchError> {
        let mut out = HashMap::new();
        match m {
            InternalMethod::Trace => {
                let traces: Vec<LocalizedTransactionTrace> = self.rpc.decode("trace_block", v)?;
                let mut by_tx: HashMap<B256, Vec<&LocalizedTransactionTrace>> = HashMap::new();
                for t in &traces {
                    if let Some(h) = t.transaction_hash {
                        by_tx.entry(h).or_default().push(t);
                    }
                }
                for (h, ts) in by_tx {
                    out.insert(
                        h,
                        extract::frames_from_parity(ts.into_iter().map(|t| &t.trace)),
                    );
                }
            }
            InternalMethod::Debug => {
                let entries: Vec<BlockCallTrace> =
                    self.rpc.decode("debug_traceBlockByNumber", v)?;
                if entries.len() != txs.len() {
                    return Err(FetchError::Malformed {
                        url: self.rpc.redacted().to_string(),
                        detail: format!(
                            "debug_traceBlockByNumber returned {} traces for {} transactions",
                            entries.len(),
                            txs.len()
                        ),
                    });
                }
                for (e, tx) in entries.iter().zip(txs) {
                    let h = e.tx_hash.unwrap_or(tx.hash);
                    let root: &CallFrame = &e.result;
                    out.insert(h, extract::frames_from_geth(root));
                }
            }
        }
        Ok(out)
    }
}
