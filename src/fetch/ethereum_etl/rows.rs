//! The tables of an ethereum-etl / BigQuery `crypto_ethereum` export: how each is recognised by
//! its columns, and each row read into what the assembly needs.

use rustc_hash::FxHashMap as HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use alloy_primitives::{Address as EvmAddress, B256, U256};
use rayon::prelude::*;

use super::super::FetchError;
use super::super::etl_table::{Table, TextCol, parse_time, parse_u64, parse_units, row_error};
use crate::fetch::evm_rpc::{Frame, TRANSFER_TOPIC};
use crate::model::{Address, Chain, TxHash};

/// A table of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EthTable {
    /// `blocks`: block numbers and timestamps.
    Blocks,
    /// `transactions` (ethereum-etl, or BigQuery's with the `receipt_*` columns).
    Transactions,
    /// `receipts`: gas used, status, effective gas price, created contract.
    Receipts,
    /// `traces`: the call frames (internal transactions).
    Traces,
    /// `logs`: event logs (tells ERC-20 `Transfer` logs from ERC-721 ones).
    Logs,
    /// `token_transfers`: ERC-20 (and ERC-721) `Transfer` events.
    TokenTransfers,
    /// `tokens`: symbol and decimals of token contracts.
    Tokens,
}

/// Every table, in the order they are read.
pub const TABLES: [EthTable; 7] = [
    EthTable::Blocks,
    EthTable::Transactions,
    EthTable::Receipts,
    EthTable::Traces,
    EthTable::Logs,
    EthTable::TokenTransfers,
    EthTable::Tokens,
];

impl EthTable {
    /// The table's name (`token_transfers` …).
    pub fn as_str(self) -> &'static str {
        match self {
            EthTable::Blocks => "blocks",
            EthTable::Transactions => "transactions",
            EthTable::Receipts => "receipts",
            EthTable::Traces => "traces",
            EthTable::Logs => "logs",
            EthTable::TokenTransfers => "token_transfers",
            EthTable::Tokens => "tokens",
        }
    }

    /// The columns a file of this table must have; a file is recognised as this table when it
    /// has all of them (and those of no other table).
    pub fn required(self) -> &'static [&'static str] {
        match self {
            EthTable::Blocks => &["number", "timestamp"],
            EthTable::Transactions => &[
                "hash",
                "block_number",
                "transaction_index",
                "from_address",
                "to_address",
                "value",
            ],
            EthTable::Receipts => &["transaction_hash", "gas_used", "cumulative_gas_used"],
            EthTable::Traces => &[
                "trace_address",
                "trace_type",
                "from_address",
                "to_address",
                "value",
            ],
            EthTable::Logs => &["log_index", "transaction_hash", "address", "data", "topics"],
            EthTable::TokenTransfers => &[
                "token_address",
                "from_address",
                "to_address",
                "value",
                "transaction_hash",
                "log_index",
            ],
            EthTable::Tokens => &["address", "symbol", "decimals"],
        }
    }

    /// Columns read when the file has them.
    pub fn optional(self) -> &'static [&'static str] {
        match self {
            EthTable::Transactions => &[
                "block_timestamp",
                "gas_price",
                "receipt_gas_used",
                "receipt_status",
                "receipt_effective_gas_price",
                "receipt_contract_address",
                "receipt_blob_gas_used",
                "receipt_blob_gas_price",
            ],
            EthTable::Receipts => &[
                "status",
                "effective_gas_price",
                "contract_address",
                "blob_gas_used",
                "blob_gas_price",
            ],
            EthTable::Traces => &[
                "transaction_hash",
                "block_number",
                "transaction_index",
                "call_type",
                "error",
                "status",
            ],
            _ => &[],
        }
    }
}

impl fmt::Display for EthTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown table name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown table '{0}': expected blocks, transactions, receipts, traces, logs, token_transfers or tokens"
)]
pub struct EthTableError(pub String);

impl FromStr for EthTable {
    type Err = EthTableError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s.trim().to_ascii_lowercase().replace('-', "_");
        TABLES
            .iter()
            .copied()
            .find(|t| t.as_str() == n)
            .ok_or_else(|| EthTableError(s.to_string()))
    }
}

/// The table a file with `columns` holds: the one table whose required columns it has all of.
pub(crate) fn recognise(path: &Path, columns: &[String]) -> Result<EthTable, FetchError> {
    let has = |c: &str| columns.iter().any(|x| x == c);
    let hits: Vec<EthTable> = TABLES
        .iter()
        .copied()
        .filter(|t| t.required().iter().all(|c| has(c)))
        .collect();
    match hits.as_slice() {
        [t] => Ok(*t),
        [] => Err(super::super::etl_table::file_error(
            path,
            format!(
                "unknown column layout ({}): not an ethereum-etl / BigQuery crypto_ethereum table \
                 ({})",
                preview(columns),
                TABLES
                    .iter()
                    .map(|t| format!("{t}: {}", t.required().join(",")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )),
        many => Err(super::super::etl_table::file_error(
            path,
            format!(
                "columns fit several tables ({}): name it with --table",
                many.iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The columns of a file, shortened for a message.
fn preview(columns: &[String]) -> String {
    let mut s = columns
        .iter()
        .take(12)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if columns.len() > 12 {
        s.push_str(",…");
    }
    if s.is_empty() {
        s.push_str("no columns");
    }
    s
}

/// Where a row came from: file number (in the import's list) and row (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    /// Index of the file in the import's list.
    pub file: u32,
    /// Row, from 1.
    pub row: u32,
}

/// Receipt facts of one transaction (receipts table, or BigQuery's `receipt_*` columns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ReceiptRow {
    /// Gas used.
    pub gas_used: Option<u64>,
    /// Effective gas price (0 or absent: the transaction's gas price).
    pub price: Option<u128>,
    /// EIP-658 status; `None` before Byzantium (a state root instead).
    pub status: Option<bool>,
    /// Contract created.
    pub contract: Option<EvmAddress>,
    /// EIP-4844 blob gas used and price.
    pub blob: Option<(u64, u128)>,
}

/// One transaction row.
#[derive(Debug, Clone)]
pub(crate) struct TxRow {
    /// Hash.
    pub hash: B256,
    /// Block number.
    pub block: u64,
    /// Position in the block.
    pub tx_index: u32,
    /// Block time, when the row has it.
    pub time: Option<i64>,
    /// Sender.
    pub from: EvmAddress,
    /// Receiver (none for a contract creation).
    pub to: Option<EvmAddress>,
    /// Value in wei.
    pub value: U256,
    /// Gas price (for a mined transaction, the effective one).
    pub gas_price: Option<u128>,
    /// BigQuery's `receipt_*` columns, when present.
    pub receipt: Option<ReceiptRow>,
    /// Where the row is.
    pub origin: Origin,
}

/// One token movement from a `Transfer` log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenMove {
    /// Token contract.
    pub token: EvmAddress,
    /// Sender.
    pub from: EvmAddress,
    /// Receiver.
    pub to: EvmAddress,
    /// Amount (> 0).
    pub amount: U256,
}

/// A log as the transfer rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogEntry {
    /// An ERC-20 transfer of a positive amount.
    Move(TokenMove),
    /// An ERC-20 transfer of zero: moves nothing.
    Zero,
    /// A `Transfer` log that is no ERC-20 transfer: ERC-721 (four topics), data that is not
    /// one word, topics that are not addresses.
    NotErc20,
}

/// What the traces, logs and token transfers say about one transaction.
#[derive(Debug, Clone)]
pub(crate) struct TxExtras {
    /// First row that named the transaction.
    pub origin: Origin,
    /// Call frames, in file order (sorted before use).
    pub frames: Vec<Frame>,
    /// `Transfer` logs by log index, and whether the `logs` table said so.
    pub logs: Logs,
}

/// The `Transfer` logs of one transaction: a short vector (a B-tree node per transaction
/// would cost a kilobyte for the usual one or two logs).
#[derive(Debug, Clone, Default)]
pub(crate) struct Logs(Vec<(u32, LogEntry, bool)>);

impl Logs {
    /// The entry of log `li`.
    pub fn get(&self, li: u32) -> Option<(&LogEntry, bool)> {
        self.0.iter().find(|x| x.0 == li).map(|x| (&x.1, x.2))
    }

    /// Set the entry of log `li` (replacing one there).
    pub fn insert(&mut self, li: u32, e: LogEntry, from_logs: bool) {
        match self.0.iter_mut().find(|x| x.0 == li) {
            Some(x) => {
                x.1 = e;
                x.2 = from_logs;
            }
            None => self.0.push((li, e, from_logs)),
        }
    }

    /// No log.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries (any order).
    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.0.iter().map(|x| &x.1)
    }

    /// The entries in log-index order.
    pub fn sorted(&self) -> Vec<(u32, &LogEntry)> {
        let mut v: Vec<(u32, &LogEntry)> = self.0.iter().map(|x| (x.0, &x.1)).collect();
        v.sort_by_key(|x| x.0);
        v
    }
}

impl TxExtras {
    fn new(origin: Origin) -> TxExtras {
        TxExtras {
            origin,
            frames: Vec::new(),
            logs: Logs::default(),
        }
    }
}

/// Everything read from the files, before assembly.
#[derive(Default)]
pub(crate) struct Parsed {
    /// Block number → time.
    pub block_times: HashMap<u64, i64>,
    /// Transactions in file order.
    pub txs: Vec<TxRow>,
    /// Receipts by transaction.
    pub receipts: HashMap<B256, ReceiptRow>,
    /// Frames, logs and token transfers by transaction.
    pub extras: HashMap<B256, TxExtras>,
    /// Traces without a transaction hash (geth exports), by (block, transaction index).
    pub unhashed_traces: HashMap<(u64, u32), (Origin, Vec<Frame>)>,
    /// Token contract → (symbol, decimals) from `tokens`.
    pub tokens: HashMap<EvmAddress, (Option<String>, Option<u8>)>,
    /// Reward, genesis and DAO-fork traces (not transfers of a transaction).
    pub reward_traces: u64,
    /// `token_transfers` rows that the `logs` table shows to be no ERC-20 transfer.
    pub token_rows_not_erc20: u64,
    /// `token_transfers` rows that no `logs` row could check.
    pub token_rows_unchecked: u64,
    /// `logs` files were given.
    pub have_logs: bool,
}

/// One row of `traces`, read.
enum TraceRow {
    /// A block reward, genesis or DAO-fork trace.
    Reward,
    /// A frame of a transaction named by hash.
    Hashed(B256, Frame, Origin),
    /// A frame of the transaction at (block, index) (geth exports have no hash).
    Unhashed((u64, u32), Frame, Origin),
}

/// Reads the rows of one file.
pub(crate) struct RowReader<'a> {
    /// The table.
    pub table: &'a Table,
    /// Its number in the import's list.
    pub file: u32,
    /// The chain (addresses are validated for it).
    pub chain: Chain,
}

impl RowReader<'_> {
    fn err(&self, i: usize, detail: impl fmt::Display) -> FetchError {
        row_error(&self.table.path, i + 1, detail)
    }

    fn col(&self, name: &str) -> Result<TextCol, FetchError> {
        self.table.text(name)
    }

    fn origin(&self, i: usize) -> Origin {
        Origin {
            file: self.file,
            row: u32::try_from(i + 1).unwrap_or(u32::MAX),
        }
    }

    fn need<'c>(&self, c: &'c TextCol, i: usize, name: &str) -> Result<&'c str, FetchError> {
        c.get(i)
            .ok_or_else(|| self.err(i, format!("{name} is empty")))
    }

    fn hash(&self, c: &TextCol, i: usize, name: &str) -> Result<B256, FetchError> {
        let s = self.need(c, i, name)?;
        if let Some(b) = s.strip_prefix("0x").and_then(hex_array::<32>) {
            return Ok(B256::from(b));
        }
        TxHash::parse(s)
            .map(|h| h.0)
            .map_err(|e| self.err(i, format!("{name}: {e}")))
    }

    fn addr(&self, s: &str, i: usize, name: &str) -> Result<EvmAddress, FetchError> {
        // ethereum-etl writes lower case: no checksum to verify
        if let Some(b) = s.strip_prefix("0x").and_then(hex_array::<20>) {
            if !s.bytes().any(|c| c.is_ascii_uppercase()) {
                return Ok(EvmAddress::from(b));
            }
        }
        match Address::parse(self.chain, s) {
            Ok(Address::Evm(a)) => Ok(a),
            Ok(_) => Err(self.err(i, format!("{name}: '{s}' is not an EVM address"))),
            Err(e) => Err(self.err(i, format!("{name}: {e}"))),
        }
    }

    fn opt_addr(
        &self,
        c: &TextCol,
        i: usize,
        name: &str,
    ) -> Result<Option<EvmAddress>, FetchError> {
        c.get(i).map(|s| self.addr(s, i, name)).transpose()
    }

    fn req_addr(&self, c: &TextCol, i: usize, name: &str) -> Result<EvmAddress, FetchError> {
        let s = self.need(c, i, name)?;
        self.addr(s, i, name)
    }

    fn units(&self, c: &TextCol, i: usize, name: &str) -> Result<Option<U256>, FetchError> {
        c.get(i)
            .map(|s| parse_units(s).map_err(|e| self.err(i, format!("{name} {e}"))))
            .transpose()
    }

    fn u64(&self, c: &TextCol, i: usize, name: &str) -> Result<Option<u64>, FetchError> {
        c.get(i)
            .map(|s| parse_u64(s).map_err(|e| self.err(i, format!("{name} {e}"))))
            .transpose()
    }

    fn u32(&self, c: &TextCol, i: usize, name: &str) -> Result<Option<u32>, FetchError> {
        self.u64(c, i, name)?
            .map(|v| u32::try_from(v).map_err(|_| self.err(i, format!("{name} {v} is too large"))))
            .transpose()
    }

    fn u128(&self, c: &TextCol, i: usize, name: &str) -> Result<Option<u128>, FetchError> {
        self.units(c, i, name)?
            .map(|v| u128::try_from(v).map_err(|_| self.err(i, format!("{name} {v} is too large"))))
            .transpose()
    }

    fn status(&self, c: &TextCol, i: usize, name: &str) -> Result<Option<bool>, FetchError> {
        match c.get(i) {
            None => Ok(None),
            Some("1") | Some("true") | Some("True") => Ok(Some(true)),
            Some("0") | Some("false") | Some("False") => Ok(Some(false)),
            Some(s) => Err(self.err(i, format!("{name} '{s}' is not 0 or 1"))),
        }
    }

    fn time(&self, c: &TextCol, i: usize, name: &str) -> Result<Option<i64>, FetchError> {
        c.get(i)
            .map(|s| parse_time(s).map_err(|e| self.err(i, format!("{name} {e}"))))
            .transpose()
    }

    /// `f` on every row, in parallel chunks; the results in row order, or the error of the
    /// first bad row.
    fn par_rows<T: Send>(
        &self,
        f: impl Fn(usize) -> Result<Option<T>, FetchError> + Sync,
    ) -> Result<Vec<T>, FetchError> {
        const CHUNK: usize = 32_768;
        let n = self.table.height();
        let parts: Vec<Result<Vec<T>, FetchError>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut v = Vec::with_capacity(CHUNK);
                for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    if let Some(x) = f(i)? {
                        v.push(x);
                    }
                }
                Ok(v)
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }

    /// `blocks`: number → timestamp.
    pub(crate) fn blocks(&self, out: &mut Parsed) -> Result<(), FetchError> {
        let (number, ts) = (self.col("number")?, self.col("timestamp")?);
        for i in 0..self.table.height() {
            let n = self
                .u64(&number, i, "number")?
                .ok_or_else(|| self.err(i, "number is empty"))?;
            let t = self
                .time(&ts, i, "timestamp")?
                .ok_or_else(|| self.err(i, "timestamp is empty"))?;
            out.block_times.insert(n, t);
        }
        Ok(())
    }

    /// `receipts` (a receipt given twice: the last one counts).
    pub(crate) fn receipts(&self, out: &mut Parsed) -> Result<(), FetchError> {
        let c = |n| self.col(n);
        let (hash, gas_used, status, price, contract, bgu, bgp) = (
            c("transaction_hash")?,
            c("gas_used")?,
            c("status")?,
            c("effective_gas_price")?,
            c("contract_address")?,
            c("blob_gas_used")?,
            c("blob_gas_price")?,
        );
        let rows = self.par_rows(|i| {
            let h = self.hash(&hash, i, "transaction_hash")?;
            let r = self.receipt(
                i,
                [&gas_used, &status, &price, &contract, &bgu, &bgp],
                [
                    "gas_used",
                    "status",
                    "effective_gas_price",
                    "contract_address",
                    "blob_gas_used",
                    "blob_gas_price",
                ],
            )?;
            Ok(Some((h, r)))
        })?;
        out.receipts.reserve(rows.len());
        out.receipts.extend(rows);
        Ok(())
    }

    fn receipt(
        &self,
        i: usize,
        cols: [&TextCol; 6],
        names: [&str; 6],
    ) -> Result<ReceiptRow, FetchError> {
        let [gas_used, status, price, contract, bgu, bgp] = cols;
        let blob = match (self.u64(bgu, i, names[4])?, self.u128(bgp, i, names[5])?) {
            (Some(u), Some(p)) => Some((u, p)),
            _ => None,
        };
        Ok(ReceiptRow {
            gas_used: self.u64(gas_used, i, names[0])?,
            status: self.status(status, i, names[1])?,
            price: self.u128(price, i, names[2])?,
            contract: self.opt_addr(contract, i, names[3])?,
            blob,
        })
    }

    /// `transactions`.
    pub(crate) fn transactions(&self, out: &mut Parsed) -> Result<(), FetchError> {
        let c = |n| self.col(n);
        let (hash, block, index, from, to, value, ts, gas_price) = (
            c("hash")?,
            c("block_number")?,
            c("transaction_index")?,
            c("from_address")?,
            c("to_address")?,
            c("value")?,
            c("block_timestamp")?,
            c("gas_price")?,
        );
        let r = [
            c("receipt_gas_used")?,
            c("receipt_status")?,
            c("receipt_effective_gas_price")?,
            c("receipt_contract_address")?,
            c("receipt_blob_gas_used")?,
            c("receipt_blob_gas_price")?,
        ];
        let with_receipt = r[0].is_present();
        let rows = self.par_rows(|i| {
            let receipt = if with_receipt {
                Some(self.receipt(
                    i,
                    [&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]],
                    [
                        "receipt_gas_used",
                        "receipt_status",
                        "receipt_effective_gas_price",
                        "receipt_contract_address",
                        "receipt_blob_gas_used",
                        "receipt_blob_gas_price",
                    ],
                )?)
            } else {
                None
            };
            Ok(Some(TxRow {
                hash: self.hash(&hash, i, "hash")?,
                block: self
                    .u64(&block, i, "block_number")?
                    .ok_or_else(|| self.err(i, "block_number is empty (pending transaction?)"))?,
                tx_index: self
                    .u32(&index, i, "transaction_index")?
                    .ok_or_else(|| self.err(i, "transaction_index is empty"))?,
                time: self.time(&ts, i, "block_timestamp")?,
                from: self.req_addr(&from, i, "from_address")?,
                to: self.opt_addr(&to, i, "to_address")?,
                value: self.units(&value, i, "value")?.unwrap_or_default(),
                gas_price: self.u128(&gas_price, i, "gas_price")?,
                receipt,
                origin: self.origin(i),
            }))
        })?;
        out.txs.extend(rows);
        Ok(())
    }

    /// `traces`: frames by transaction.
    pub(crate) fn traces(&self, out: &mut Parsed) -> Result<(), FetchError> {
        let c = |n| self.col(n);
        let (hash, block, index, from, to, value, ttype, ctype, taddr, error, status) = (
            c("transaction_hash")?,
            c("block_number")?,
            c("transaction_index")?,
            c("from_address")?,
            c("to_address")?,
            c("value")?,
            c("trace_type")?,
            c("call_type")?,
            c("trace_address")?,
            c("error")?,
            c("status")?,
        );
        let rows = self.par_rows(|i| {
            let kind = self.need(&ttype, i, "trace_type")?.to_ascii_lowercase();
            let value_v = self.units(&value, i, "value")?;
            let path = trace_path(taddr.get(i).unwrap_or(""))
                .map_err(|e| self.err(i, format!("trace_address {e}")))?;
            let moves_value = match kind.as_str() {
                "reward" | "genesis" | "daofork" => return Ok(Some(TraceRow::Reward)),
                "call" => match ctype.get(i).map(|s| s.to_ascii_lowercase()) {
                    Some(t) if t == "call" => true,
                    Some(t) if matches!(t.as_str(), "delegatecall" | "staticcall" | "callcode") => {
                        false
                    }
                    Some(t) => {
                        return Err(self.err(i, format!("call_type '{t}' is not a call type")));
                    }
                    None if value_v.unwrap_or_default().is_zero() => false,
                    None => return Err(self.err(i, "a call trace with value has no call_type")),
                },
                "create" | "create2" => true,
                "suicide" | "selfdestruct" => {
                    if value_v.is_none() {
                        return Err(self.err(
                            i,
                            "a suicide trace without value (geth-exported traces lack it): \
                             its transfer cannot be read exactly",
                        ));
                    }
                    true
                }
                other => return Err(self.err(i, format!("trace_type '{other}' is unknown"))),
            };
            let value_v = value_v.unwrap_or_default();
            let from_a = self.opt_addr(&from, i, "from_address")?;
            let failed =
                error.get(i).is_some() || self.status(&status, i, "status")? == Some(false);
            let from_a = match from_a {
                Some(a) => a,
                None if !moves_value || value_v.is_zero() || failed => EvmAddress::ZERO,
                None => return Err(self.err(i, "a trace that moves value has no from_address")),
            };
            let frame = Frame {
                path,
                moves_value,
                from: from_a,
                to: self.opt_addr(&to, i, "to_address")?,
                value: value_v,
                failed,
            };
            Ok(Some(match hash.get(i) {
                Some(_) => TraceRow::Hashed(
                    self.hash(&hash, i, "transaction_hash")?,
                    frame,
                    self.origin(i),
                ),
                None => {
                    let b = self.u64(&block, i, "block_number")?;
                    let x = self.u32(&index, i, "transaction_index")?;
                    let (Some(b), Some(x)) = (b, x) else {
                        return Err(self.err(
                            i,
                            "a transaction trace without transaction_hash, block_number and \
                             transaction_index",
                        ));
                    };
                    TraceRow::Unhashed((b, x), frame, self.origin(i))
                }
            }))
        })?;
        for r in rows {
            match r {
                TraceRow::Reward => out.reward_traces += 1,
                TraceRow::Hashed(h, frame, origin) => out
                    .extras
                    .entry(h)
                    .or_insert_with(|| TxExtras::new(origin))
                    .frames
                    .push(frame),
                TraceRow::Unhashed(key, frame, origin) => out
                    .unhashed_traces
                    .entry(key)
                    .or_insert_with(|| (origin, Vec::new()))
                    .1
                    .push(frame),
            }
        }
        Ok(())
    }

    /// `logs`: `Transfer` logs, by the fetcher's rule (three topics, 32 bytes of data).
    pub(crate) fn logs(&self, out: &mut Parsed) -> Result<(), FetchError> {
        let c = |n| self.col(n);
        let (hash, index, address, data, topics) = (
            c("transaction_hash")?,
            c("log_index")?,
            c("address")?,
            c("data")?,
            c("topics")?,
        );
        out.have_logs = true;
        let transfer = format!("{TRANSFER_TOPIC:#x}");
        let rows = self.par_rows(|i| {
            let Some(t) = topics.get(i) else {
                return Ok(None);
            };
            let t: Vec<&str> = t
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(|x| x.trim().trim_matches(|c| c == '"' || c == '\''))
                .filter(|x| !x.is_empty())
                .collect();
            if t.first()
                .is_none_or(|t0| !t0.eq_ignore_ascii_case(&transfer))
            {
                return Ok(None);
            }
            let h = self.hash(&hash, i, "transaction_hash")?;
            let li = self
                .u32(&index, i, "log_index")?
                .ok_or_else(|| self.err(i, "log_index is empty"))?;
            let token = self.req_addr(&address, i, "address")?;
            let bytes = hex_bytes(data.get(i).unwrap_or("0x")).ok_or_else(|| {
                self.err(
                    i,
                    format!("data '{}' is not hex", data.get(i).unwrap_or("")),
                )
            })?;
            let entry = if t.len() == 3 && bytes.len() == 32 {
                let word = |s: &str| -> Result<Option<EvmAddress>, FetchError> {
                    let b = hex_bytes(s).filter(|b| b.len() == 32).ok_or_else(|| {
                        self.err(i, format!("topic '{s}' is not 32 bytes of hex"))
                    })?;
                    Ok(b[..12]
                        .iter()
                        .all(|x| *x == 0)
                        .then(|| EvmAddress::from_slice(&b[12..])))
                };
                let amount = U256::from_be_slice(&bytes);
                match (word(t[1])?, word(t[2])?) {
                    (Some(_), Some(_)) if amount.is_zero() => LogEntry::Zero,
                    (Some(from), Some(to)) => LogEntry::Move(TokenMove {
                        token,
                        from,
                        to,
                        amount,
                    }),
                    _ => LogEntry::NotErc20,
                }
            } else {
                LogEntry::NotErc20
            };
            Ok(Some((h, li, entry, self.origin(i))))
        })?;
        for (h, li, entry, origin) in rows {
            out.extras
                .entry(h)
                .or_insert_with(|| TxExtras::new(origin))
                .logs
                .insert(li, entry, true);
        }
        Ok(())
    }

    /// `token_transfers`; a log already read from `logs` keeps what `logs` says.
    pub(crate) fn token_transfers(&self, out: &mut Parsed) -> Result<(), FetchError> {
        let c = |n| self.col(n);
        let (token, from, to, value, hash, index) = (
            c("token_address")?,
            c("from_address")?,
            c("to_address")?,
            c("value")?,
            c("transaction_hash")?,
            c("log_index")?,
        );
        let rows = self.par_rows(|i| {
            let h = self.hash(&hash, i, "transaction_hash")?;
            let li = self
                .u32(&index, i, "log_index")?
                .ok_or_else(|| self.err(i, "log_index is empty"))?;
            let mv = TokenMove {
                token: self.req_addr(&token, i, "token_address")?,
                from: self.req_addr(&from, i, "from_address")?,
                to: self.req_addr(&to, i, "to_address")?,
                amount: self
                    .units(&value, i, "value")?
                    .ok_or_else(|| self.err(i, "value is empty"))?,
            };
            Ok(Some((h, li, mv, self.origin(i))))
        })?;
        for (h, li, mv, origin) in rows {
            let x = out.extras.entry(h).or_insert_with(|| TxExtras::new(origin));
            match x.logs.get(li) {
                Some((LogEntry::NotErc20, true)) => out.token_rows_not_erc20 += 1,
                Some((_, true)) => {}
                _ => {
                    out.token_rows_unchecked += 1;
                    let e = if mv.amount.is_zero() {
                        LogEntry::Zero
                    } else {
                        LogEntry::Move(mv)
                    };
                    x.logs.insert(li, e, false);
                }
            }
        }
        Ok(())
    }

    /// `tokens`: the first symbol and decimals given for each contract.
    pub(crate) fn tokens(&self, out: &mut Parsed) -> Result<(), FetchError> {
        let (address, symbol, decimals) = (
            self.col("address")?,
            self.col("symbol")?,
            self.col("decimals")?,
        );
        for i in 0..self.table.height() {
            let a = self.req_addr(&address, i, "address")?;
            let s = symbol.get(i).and_then(clean_symbol);
            // decimals that do not fit in a byte are unknown, as for the fetchers
            let d = self
                .units(&decimals, i, "decimals")?
                .and_then(|v| u8::try_from(v).ok());
            let e = out.tokens.entry(a).or_insert((None, None));
            if e.0.is_none() {
                e.0 = s;
            }
            if e.1.is_none() {
                e.1 = d;
            }
        }
        Ok(())
    }
}

/// A symbol as the fetchers keep it: control characters dropped, at most 32 characters,
/// trimmed; empty is none.
fn clean_symbol(s: &str) -> Option<String> {
    let s: String = s.chars().filter(|c| !c.is_control()).take(32).collect();
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// A trace address: `""` (the root), `0,1` (ethereum-etl CSV, BigQuery), `[0, 1]` or `0_1`.
pub(crate) fn trace_path(s: &str) -> Result<Vec<u32>, String> {
    let t = s
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    t.split([',', '_'])
        .map(|p| {
            p.trim()
                .parse::<u32>()
                .map_err(|_| format!("'{s}' is not a list of call indexes"))
        })
        .collect()
}

/// Exactly `2 × N` hex digits into `N` bytes.
#[inline]
fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let nib = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    let mut out = [0u8; N];
    for (k, o) in out.iter_mut().enumerate() {
        *o = (nib(b[2 * k])? << 4) | nib(b[2 * k + 1])?;
    }
    Some(out)
}

/// `0x…` hex into bytes.
fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let h = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    alloy_primitives::hex::decode(h).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_paths() {
        assert_eq!(trace_path("").unwrap(), Vec::<u32>::new());
        assert_eq!(trace_path("0,1").unwrap(), vec![0, 1]);
        assert_eq!(trace_path("[0, 12]").unwrap(), vec![0, 12]);
        assert_eq!(trace_path("3_0").unwrap(), vec![3, 0]);
        assert!(trace_path("0,,1").is_err());
        assert!(trace_path("a").is_err());
    }

    #[test]
    fn table_names() {
        assert_eq!(
            "token-transfers".parse::<EthTable>().unwrap(),
            EthTable::TokenTransfers
        );
        assert_eq!("RECEIPTS".parse::<EthTable>().unwrap(), EthTable::Receipts);
        assert!("blocks2".parse::<EthTable>().is_err());
        for t in TABLES {
            assert_eq!(t.as_str().parse::<EthTable>().unwrap(), t);
        }
    }

    #[test]
    fn every_table_is_recognised_by_its_own_columns_only() {
        for t in TABLES {
            let cols: Vec<String> = t
                .required()
                .iter()
                .chain(t.optional())
                .map(|c| c.to_string())
                .collect();
            assert_eq!(recognise(Path::new("x"), &cols).unwrap(), t);
        }
    }
}
