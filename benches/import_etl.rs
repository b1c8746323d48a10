//! ethereum-etl import benchmark: prints figures, asserts only that every transfer arrived.
//!
//!     cargo bench --bench import_etl -- [ROWS] [--dir DIR] [--batch N]
//!
//! Writes ROWS (default 1,000,000) synthetic transactions in the ethereum-etl `transactions`
//! schema, their `receipts`, and ROWS `token_transfers` (one ERC-20 transfer per transaction),
//! as CSV and as Parquet (snappy), then for each format reports separately:
//!
//! - **polars read**: the CSV / Parquet reader alone (text columns, the import's projection);
//! - **read + check**: the import's whole read phase (polars, then every hash, address and
//!   amount parsed and checked, transactions joined with receipts and token transfers);
//! - **end to end**: `import_files` into a new SQLite store (WAL, one transaction per batch of
//!   100,000 transfers): rows/s and transfers/s.
//!
//! Peak heap comes from a counting global allocator (polars' allocations included; SQLite's own
//! page cache is C memory, in the peak resident set printed beside it). Addresses
//! are drawn from a pool of 50,000 (realistic interning), values are up to 22 digits. Without
//! `--bench` (as `cargo test --all-targets` runs it) it does a 2,000-row smoke run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use moneytrail::fetch::ethereum_etl::{EthImportOptions, import_files};
use moneytrail::model::Chain;
use moneytrail::store::Store;
use polars::prelude::*;

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static A: counting::Counting = counting::Counting;

fn reset_peak() {
    counting::reset_peak();
}

fn peak_mb() -> f64 {
    counting::peak() as f64 / 1e6
}

/// Reset the process's peak resident set (Linux; SQLite's page cache and mapped files count
/// there, not in the heap figure).
fn reset_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set since [`reset_rss`], MB (0 where /proc is not there).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb * 1024.0 / 1e6)
}

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

const CHAIN: Chain = Chain::ETHEREUM;

/// The three tables, as polars frames with ethereum-etl's columns and types.
fn tables(rows: usize) -> (DataFrame, DataFrame, DataFrame) {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let pool: Vec<String> = (0..50_000u64)
        .map(|i| format!("0x{:040x}", (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect();
    let token = "0xdac17f958d2ee523a2206206994597c13d831ec7".to_string();
    let n = rows;
    let (mut hash, mut nonce, mut bhash, mut bnum, mut idx) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut from, mut to, mut value, mut gas, mut price, mut input, mut ts) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut gas_used, mut cum, mut status, mut eff) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut t_from, mut t_to, mut t_value, mut t_idx) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..n {
        let block = 15_000_000 + (i / 150) as i64;
        let pos = (i % 150) as i64;
        let h = format!("0x{:016x}{:048x}", i as u64 + 1, r.next());
        let f = pool[(r.next() % pool.len() as u64) as usize].clone();
        let t = pool[(r.next() % pool.len() as u64) as usize].clone();
        hash.push(h);
        nonce.push((r.next() % 5000) as i64);
        bhash.push(format!("0x{:064x}", block));
        bnum.push(block);
        idx.push(pos);
        from.push(f.clone());
        to.push(token.clone());
        // half the transactions carry ETH as well
        value.push(if i % 2 == 0 {
            (r.next() % 10_000_000_000_000_000_000u64).to_string() + "000"
        } else {
            "0".to_string()
        });
        gas.push(90_000i64);
        let p = 10_000_000_000 + (r.next() % 50_000_000_000) as i64;
        price.push(p);
        input.push(format!("0xa9059cbb{:0>64}{:064x}", &t[2..], r.next()));
        ts.push(1_660_000_000 + (block - 15_000_000) * 12);
        let used = 21_000 + (r.next() % 40_000) as i64;
        gas_used.push(used);
        cum.push(used * (pos + 1));
        status.push(1i64);
        eff.push(p);
        t_from.push(f);
        t_to.push(t);
        t_value.push((r.next() % 1_000_000_000_000).to_string());
        t_idx.push(pos * 2);
    }
    let c = |name: &str, s: Series| s.with_name(name.into()).into_column();
    let txs = DataFrame::new(
        n,
        vec![
            c("hash", Series::new("".into(), &hash)),
            c("nonce", Series::new("".into(), &nonce)),
            c("block_hash", Series::new("".into(), &bhash)),
            c("block_number", Series::new("".into(), &bnum)),
            c("transaction_index", Series::new("".into(), &idx)),
            c("from_address", Series::new("".into(), &from)),
            c("to_address", Series::new("".into(), &to)),
            c("value", Series::new("".into(), &value)),
            c("gas", Series::new("".into(), &gas)),
            c("gas_price", Series::new("".into(), &price)),
            c("input", Series::new("".into(), &input)),
            c("block_timestamp", Series::new("".into(), &ts)),
            c("max_fee_per_gas", Series::new("".into(), &price)),
            c("max_priority_fee_per_gas", Series::new("".into(), &nonce)),
            c("transaction_type", Series::new("".into(), vec![2i64; n])),
        ],
    )
    .unwrap();
    let receipts = DataFrame::new(
        n,
        vec![
            c("transaction_hash", Series::new("".into(), &hash)),
            c("transaction_index", Series::new("".into(), &idx)),
            c("block_hash", Series::new("".into(), &bhash)),
            c("block_number", Series::new("".into(), &bnum)),
            c("cumulative_gas_used", Series::new("".into(), &cum)),
            c("gas_used", Series::new("".into(), &gas_used)),
            c(
                "contract_address",
                Series::new("".into(), vec![None::<&str>; n]),
            ),
            c("root", Series::new("".into(), vec![None::<&str>; n])),
            c("status", Series::new("".into(), &status)),
            c("effective_gas_price", Series::new("".into(), &eff)),
        ],
    )
    .unwrap();
    let tt = DataFrame::new(
        n,
        vec![
            c("token_address", Series::new("".into(), vec![token; n])),
            c("from_address", Series::new("".into(), &t_from)),
            c("to_address", Series::new("".into(), &t_to)),
            c("value", Series::new("".into(), &t_value)),
            c("transaction_hash", Series::new("".into(), &hash)),
            c("log_index", Series::new("".into(), &t_idx)),
            c("block_number", Series::new("".into(), &bnum)),
        ],
    )
    .unwrap();
    (txs, receipts, tt)
}

fn write(dir: &Path, rows: usize) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut txs, mut rc, mut tt) = tables(rows);
    let mut csv = Vec::new();
    let mut pq = Vec::new();
    for (name, df) in [
        ("transactions", &mut txs),
        ("receipts", &mut rc),
        ("token_transfers", &mut tt),
    ] {
        let p = dir.join(format!("{name}.csv"));
        CsvWriter::new(std::fs::File::create(&p).unwrap())
            .include_header(true)
            .finish(df)
            .unwrap();
        csv.push(p);
        let p = dir.join(format!("{name}.parquet"));
        ParquetWriter::new(std::fs::File::create(&p).unwrap())
            .with_compression(ParquetCompression::Snappy)
            .finish(df)
            .unwrap();
        pq.push(p);
    }
    (csv, pq)
}

fn size_mb(files: &[PathBuf]) -> f64 {
    files
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum::<u64>() as f64
        / 1e6
}

/// The import's projections, read with polars alone.
fn polars_only(files: &[PathBuf], csv: bool) -> usize {
    let cols: [&[&str]; 3] = [
        &[
            "hash",
            "block_number",
            "transaction_index",
            "from_address",
            "to_address",
            "value",
            "block_timestamp",
            "gas_price",
        ],
        &[
            "transaction_hash",
            "gas_used",
            "cumulative_gas_used",
            "status",
            "effective_gas_price",
            "contract_address",
        ],
        &[
            "token_address",
            "from_address",
            "to_address",
            "value",
            "transaction_hash",
            "log_index",
        ],
    ];
    let mut n = 0;
    for (p, c) in files.iter().zip(cols) {
        let df = if csv {
            CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .with_columns(Some(c.iter().map(|x| PlSmallStr::from(*x)).collect()))
                .try_into_reader_with_file_path(Some(p.clone()))
                .unwrap()
                .finish()
                .unwrap()
        } else {
            ParquetReader::new(std::fs::File::open(p).unwrap())
                .with_columns(Some(c.iter().map(|x| x.to_string()).collect()))
                .finish()
                .unwrap()
        };
        n += df.height();
    }
    n
}

fn run(what: &str, files: &[PathBuf], csv: bool, rows: usize, dir: &Path, batch: usize) {
    let total_rows = 3 * rows;
    reset_peak();
    let t = Instant::now();
    let n = polars_only(files, csv);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(n, total_rows);
    println!(
        "{what:8} polars read      {total_rows:>9} rows  {secs:7.2} s  {:>10.0} rows/s  peak heap {:.0} MB",
        total_rows as f64 / secs,
        peak_mb()
    );
    let db = dir.join(format!("{what}.db"));
    let _ = std::fs::remove_file(&db);
    let mut store = Store::open(&db).unwrap();
    reset_peak();
    reset_rss();
    let t = Instant::now();
    let opts = EthImportOptions {
        batch,
        ..Default::default()
    };
    let rep = import_files(&mut store, CHAIN, files, &opts).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let want = rows + rows.div_ceil(2) + rows; // fee, value (half), token
    assert_eq!(rep.transfers_new as usize, want, "{what}: {rep:?}");
    println!(
        "{what:8} read + check     {total_rows:>9} rows  {:7.2} s  {:>10.0} rows/s",
        rep.read_secs,
        total_rows as f64 / rep.read_secs
    );
    println!(
        "{what:8} end to end       {total_rows:>9} rows  {secs:7.2} s  {:>10.0} rows/s  {:>9.0} transfers/s ({} transfers; write {:.2} s)  peak heap {:.0} MB, peak RSS {:.0} MB",
        total_rows as f64 / secs,
        want as f64 / secs,
        want,
        rep.write_secs,
        peak_mb(),
        peak_rss_mb()
    );
    drop(store);
    let _ = std::fs::remove_file(&db);
    let _ = std::fs::remove_file(db.with_extension("db-wal"));
    let _ = std::fs::remove_file(db.with_extension("db-shm"));
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    // `cargo test --all-targets` runs this binary without `--bench`: a small smoke run.
    let mut rows = if bench { 1_000_000 } else { 2_000 };
    let mut dir: Option<PathBuf> = None;
    let mut batch = 100_000;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--dir" => {
                dir = args.get(i + 1).map(PathBuf::from);
                i += 1;
            }
            "--batch" => {
                batch = args
                    .get(i + 1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(batch);
                i += 1;
            }
            a => {
                if let Ok(n) = a.parse() {
                    rows = n;
                }
            }
        }
        i += 1;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let t = Instant::now();
    let (csv, pq) = write(&dir, rows);
    println!(
        "import_etl: {rows} transactions + {rows} receipts + {rows} token_transfers; CSV {:.0} MB, Parquet {:.0} MB (written in {:.1} s); {} cores",
        size_mb(&csv),
        size_mb(&pq),
        t.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    run("CSV", &csv, true, rows, &dir, batch);
    run("Parquet", &pq, false, rows, &dir, batch);
}
