//! Offline import of ethereum-etl / BigQuery `crypto_ethereum` exports, CSV or Parquet, one file
//! per table, into the same store rows as the JSON-RPC fetcher (docs/formats.md, "Imports").
//!
//! - **Tables** ([`EthTable`]): `transactions` (needed for every transaction whose fee or value
//!   is imported), `receipts` (or BigQuery's `receipt_*` columns of `transactions`), `traces`,
//!   `logs`, `token_transfers`, `tokens`, `blocks` (times, when `transactions` has no
//!   `block_timestamp`). A file's table is told by its columns ([`EthTable::required`]), or
//!   named for every file with [`EthImportOptions::table`].
//! - **Transfers** follow the fetcher's rules exactly (`evm_rpc::extract`) and get the same keys
//!   (chain, tx hash, sub-index), so importing what was fetched, or fetching what was imported,
//!   stores nothing twice: `fee` from `receipts` (gas used × effective gas price, + blob gas),
//!   then only for a successful transaction `value`, `call:<trace address>` from `traces`
//!   (failed frames and their subtrees, DELEGATECALL / STATICCALL / CALLCODE move nothing) and
//!   `log:<log index>` from `logs` (three topics, 32 bytes of data, amount > 0) or
//!   `token_transfers`.
//! - **What is not guessed**: a transaction without receipt facts gets no fee; one whose
//!   success nothing tells (no receipt status, no root trace, no log) gets no value and no
//!   internal transfers. Both are counted in the [`EthImportReport`]. `token_transfers` alone
//!   cannot tell ERC-721 transfers (four topics) from ERC-20 ones; with the `logs` table those
//!   rows are dropped, without it they are counted as unchecked.
//! - Rows of `traces`, `logs` or `token_transfers` whose transaction is in no `transactions`
//!   file given take its block, position and time from the store (a transaction fetched or
//!   imported before); otherwise the import fails naming the row.
//! - Every file is read and checked before anything is written: a bad value anywhere is an
//!   error naming file, row and value, and nothing is stored. Writing commits one SQLite
//!   transaction per batch of transfers; a re-run after a crash inserts only what is missing.

mod assemble;
mod rows;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use alloy_primitives::B256;

use super::FetchError;
use super::etl_table::{FileFormat, Table, column_names, file_error, file_format, row_error};
use crate::model::{Asset, AssetId, Chain, Transfer, TransferKind, TxHash};
use crate::store::{BulkIds, Store};

use assemble::{Status, TxPlan};
pub use rows::{EthTable, EthTableError, TABLES};
use rows::{Parsed, RowReader};

/// How to import.
#[derive(Debug, Clone)]
pub struct EthImportOptions {
    /// Every file holds this table (instead of telling it by its columns).
    pub table: Option<EthTable>,
    /// Transfers per SQLite transaction.
    pub batch: usize,
    /// SQLite page cache while writing, MiB.
    pub cache_mib: u32,
}

impl Default for EthImportOptions {
    fn default() -> Self {
        EthImportOptions {
            table: None,
            batch: 100_000,
            cache_mib: 512,
        }
    }
}

/// One file read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportedFile {
    /// The path as given.
    pub path: String,
    /// The table it holds.
    pub table: EthTable,
    /// CSV or Parquet.
    pub format: FileFormat,
    /// Rows read.
    pub rows: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct EthImportReport {
    /// The chain imported into.
    pub chain: String,
    /// The files, in the order read.
    pub files: Vec<ImportedFile>,
    /// Transaction rows read.
    pub transactions: u64,
    /// Transfers built from the files (fee, value, internal, token).
    pub transfers_read: u64,
    /// Transfers not stored before.
    pub transfers_new: u64,
    /// Built transfers by kind: fee, native (value), internal, token.
    pub by_kind: std::collections::BTreeMap<String, u64>,
    /// Transactions that reverted (fee only).
    pub reverted: u64,
    /// Transactions without receipt facts (gas used, gas price): no fee imported.
    pub fee_unknown: u64,
    /// Transactions whose success nothing tells: no value or internal transfers imported.
    pub status_unknown: u64,
    /// Transactions known only by traces / logs / token transfers, placed by the store.
    pub placed_from_store: u64,
    /// Block reward, genesis and DAO-fork traces (not transfers of a transaction; not read).
    pub reward_traces: u64,
    /// `token_transfers` rows the `logs` table shows to be no ERC-20 transfer (ERC-721).
    pub token_rows_not_erc20: u64,
    /// `token_transfers` rows no `logs` row checked (taken as ERC-20 transfers).
    pub token_rows_unchecked: u64,
    /// Token assets recorded (metadata from `tokens`, or unknown: symbol UNKNOWN, 18 decimals).
    pub assets_recorded: u64,
    /// Seconds spent reading and checking the files (polars and row parsing).
    pub read_secs: f64,
    /// Seconds spent building transfers and writing them.
    pub write_secs: f64,
    /// What the user should know (missing receipts, unchecked token rows …), one line each.
    pub notes: Vec<String>,
}

/// Import ethereum-etl / BigQuery `crypto_ethereum` files into `store` for EVM `chain`.
pub fn import_files(
    store: &mut Store,
    chain: Chain,
    files: &[impl AsRef<Path>],
    opts: &EthImportOptions,
) -> Result<EthImportReport, FetchError> {
    if !chain.is_evm() {
        return Err(FetchError::BadInput(format!(
            "--format ethereum-etl imports an EVM chain; {chain} is not one"
        )));
    }
    let started = Instant::now();
    let mut rep = EthImportReport {
        chain: chain.to_string(),
        ..Default::default()
    };

    // 1. what each file is
    let mut plan: Vec<(usize, PathBuf, FileFormat, Vec<String>, EthTable)> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let path = f.as_ref().to_path_buf();
        let format = file_format(&path)?;
        let cols = column_names(&path, format)?;
        let table = match opts.table {
            Some(t) => {
                let missing: Vec<&str> = t
                    .required()
                    .iter()
                    .copied()
                    .filter(|c| !cols.iter().any(|x| x == c))
                    .collect();
                if !missing.is_empty() {
                    return Err(file_error(
                        &path,
                        format!("not a {t} table: no column {}", missing.join(", ")),
                    ));
                }
                t
            }
            None => rows::recognise(&path, &cols)?,
        };
        plan.push((i, path, format, cols, table));
    }
    // logs before token_transfers (logs tell ERC-721 rows), transactions before the rest
    plan.sort_by_key(|p| (TABLES.iter().position(|t| *t == p.4), p.0));
    let paths: Vec<PathBuf> = files.iter().map(|f| f.as_ref().to_path_buf()).collect();

    // 2. read and check every file
    let mut parsed = Parsed::default();
    for (i, path, format, cols, table) in &plan {
        let wanted: Vec<&str> = table
            .required()
            .iter()
            .chain(table.optional())
            .copied()
            .collect();
        let t = Table::read(path, *format, cols, &wanted)?;
        let r = RowReader {
            table: &t,
            file: *i as u32,
            chain,
        };
        match table {
            EthTable::Blocks => r.blocks(&mut parsed)?,
            EthTable::Transactions => r.transactions(&mut parsed)?,
            EthTable::Receipts => r.receipts(&mut parsed)?,
            EthTable::Traces => r.traces(&mut parsed)?,
            EthTable::Logs => r.logs(&mut parsed)?,
            EthTable::TokenTransfers => r.token_transfers(&mut parsed)?,
            EthTable::Tokens => r.tokens(&mut parsed)?,
        }
        tracing::info!(file = %path.display(), %table, rows = t.height(), "ethereum-etl file read");
        rep.files.push(ImportedFile {
            path: path.display().to_string(),
            table: *table,
            format: *format,
            rows: t.height() as u64,
        });
    }
    rep.transactions = parsed.txs.len() as u64;
    rep.reward_traces = parsed.reward_traces;
    rep.token_rows_not_erc20 = parsed.token_rows_not_erc20;
    rep.token_rows_unchecked = parsed.token_rows_unchecked;

    // traces without a hash (geth exports): their transaction by block and position
    if !parsed.unhashed_traces.is_empty() {
        let by_pos: HashMap<(u64, u32), B256> = parsed
            .txs
            .iter()
            .map(|t| ((t.block, t.tx_index), t.hash))
            .collect();
        for ((b, x), (origin, frames)) in std::mem::take(&mut parsed.unhashed_traces) {
            let h = by_pos.get(&(b, x)).ok_or_else(|| {
                row_error(
                    &paths[origin.file as usize],
                    origin.row as usize,
                    format!(
                        "a trace without transaction_hash at block {b}, transaction index {x}: \
                         no transaction of the transactions files given is there"
                    ),
                )
            })?;
            parsed
                .extras
                .entry(*h)
                .or_insert_with(|| rows::TxExtras {
                    origin,
                    frames: Vec::new(),
                    logs: Default::default(),
                })
                .frames
                .extend(frames);
        }
    }

    // 3. every transaction's plan, checked before anything is written
    let time_of = |t: &rows::TxRow| -> Result<i64, FetchError> {
        t.time
            .or_else(|| parsed.block_times.get(&t.block).copied())
            .ok_or_else(|| {
                row_error(
                    &paths[t.origin.file as usize],
                    t.origin.row as usize,
                    format!(
                        "no block_timestamp for block {}: give the blocks table with the \
                         transactions",
                        t.block
                    ),
                )
            })
    };
    let plan_of = |t: &rows::TxRow| -> Result<TxPlan, FetchError> {
        let time = time_of(t)?;
        assemble::plan(
            t,
            parsed.receipts.get(&t.hash),
            parsed.extras.get(&t.hash),
            time,
        )
        .map_err(|e| {
            row_error(
                &paths[e.origin.file as usize],
                e.origin.row as usize,
                e.detail,
            )
        })
    };
    for t in &parsed.txs {
        let p = plan_of(t)?;
        match p.status {
            Status::Reverted => rep.reverted += 1,
            Status::Unknown => rep.status_unknown += 1,
            Status::Success => {}
        }
        if p.fee.is_none() {
            rep.fee_unknown += 1;
        }
    }
    // transactions known only by their traces, logs or token transfers
    let mut orphans: Vec<TxPlan> = Vec::new();
    if !parsed.extras.is_empty() {
        let known: rustc_hash::FxHashSet<B256> = parsed.txs.iter().map(|t| t.hash).collect();
        let mut keys: Vec<&B256> = parsed
            .extras
            .keys()
            .filter(|h| !known.contains(*h))
            .collect();
        keys.sort();
        for h in keys {
            let x = &parsed.extras[h];
            let (block, tx_index, time) =
                store.tx_position(chain, &TxHash(*h))?.ok_or_else(|| {
                    row_error(
                        &paths[x.origin.file as usize],
                        x.origin.row as usize,
                        format!(
                            "transaction {h:#x} is in no transactions file given and not in the \
                             database: import its transactions (and receipts) with it"
                        ),
                    )
                })?;
            let status = assemble::status_from_extras(Some(x));
            match status {
                Status::Reverted => rep.reverted += 1,
                Status::Unknown => rep.status_unknown += 1,
                Status::Success => {}
            }
            orphans.push(TxPlan {
                hash: *h,
                block,
                tx_index,
                time,
                from: None,
                fee: None,
                status,
                value: None,
            });
        }
        rep.placed_from_store = orphans.len() as u64;
    }
    rep.read_secs = started.elapsed().as_secs_f64();

    // 4. write: assets first, then transfers in batches (a large page cache meanwhile)
    let wrote = Instant::now();
    store.set_cache_size_mib(opts.cache_mib)?;
    let tokens: BTreeSet<alloy_primitives::Address> = parsed
        .extras
        .values()
        .flat_map(|x| x.logs.entries())
        .filter_map(|e| match e {
            rows::LogEntry::Move(m) => Some(m.token),
            rows::LogEntry::Zero | rows::LogEntry::NotErc20 => None,
        })
        .collect();
    let mut ids = BulkIds::default();
    {
        let mut w = store.writer()?;
        for token in &tokens {
            let id = AssetId::Token(*token);
            match parsed.tokens.get(token) {
                Some((symbol, decimals)) => {
                    w.upsert_asset(&Asset {
                        chain,
                        id,
                        symbol: symbol.clone().unwrap_or_else(|| "UNKNOWN".into()),
                        decimals: decimals.unwrap_or(18),
                    })?;
                    rep.assets_recorded += 1;
                }
                None => {
                    let a = Asset {
                        chain,
                        id,
                        symbol: "UNKNOWN".into(),
                        decimals: 18,
                    };
                    if w.insert_asset(&a)? {
                        rep.assets_recorded += 1;
                    }
                }
            }
        }
        w.commit()?;
    }
    let batch = opts.batch.max(1);
    let mut buf: Vec<Transfer> = Vec::with_capacity(batch.min(1 << 20) + 64);
    // foreign-key checks off while bulk writing: every address id comes from the addresses
    // table itself (interned in the same or an earlier committed transaction)
    store.set_foreign_keys(false)?;
    let mut flush =
        |buf: &mut Vec<Transfer>, rep: &mut EthImportReport| -> Result<(), FetchError> {
            if buf.is_empty() {
                return Ok(());
            }
            // key order: neighbouring inserts touch neighbouring B-tree pages
            buf.sort_unstable_by(|a, b| (a.tx_hash, &a.sub).cmp(&(b.tx_hash, &b.sub)));
            let mut w = store.writer()?;
            let n = w.insert_transfers_bulk(buf, &mut ids)?;
            w.commit()?;
            rep.transfers_new += n;
            for t in buf.iter() {
                *rep.by_kind.entry(kind_name(t.kind()).into()).or_default() += 1;
            }
            rep.transfers_read += buf.len() as u64;
            buf.clear();
            Ok(())
        };
    let written = (|| -> Result<(), FetchError> {
        for t in &parsed.txs {
            let p = plan_of(t)?;
            assemble::transfers(chain, &p, parsed.extras.get(&t.hash), &mut buf);
            if buf.len() >= batch {
                flush(&mut buf, &mut rep)?;
            }
        }
        for p in &orphans {
            assemble::transfers(chain, p, parsed.extras.get(&p.hash), &mut buf);
            if buf.len() >= batch {
                flush(&mut buf, &mut rep)?;
            }
        }
        flush(&mut buf, &mut rep)
    })();
    store.set_foreign_keys(true)?;
    store.set_cache_size_mib(2)?;
    written?;
    rep.write_secs = wrote.elapsed().as_secs_f64();

    // 5. what the user should know
    if rep.fee_unknown > 0 {
        rep.notes.push(format!(
            "{} transaction(s) without receipt facts (gas used, gas price): no fee imported; \
             give the receipts table (or BigQuery's transactions with receipt_* columns)",
            rep.fee_unknown
        ));
    }
    if rep.status_unknown > 0 {
        rep.notes.push(format!(
            "{} transaction(s) whose success nothing tells (no receipt status, root trace or \
             log): their value and internal transfers are not imported; give the receipts table",
            rep.status_unknown
        ));
    }
    if rep.token_rows_unchecked > 0 && !parsed.have_logs {
        rep.notes.push(format!(
            "{} token_transfers row(s) taken as ERC-20 transfers: token_transfers cannot tell \
             ERC-721 transfers apart; give the logs table to drop them",
            rep.token_rows_unchecked
        ));
    }
    for n in &rep.notes {
        tracing::warn!("{n}");
    }
    Ok(rep)
}

fn kind_name(k: TransferKind) -> &'static str {
    k.as_str()
}
