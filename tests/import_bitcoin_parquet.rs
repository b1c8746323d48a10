//! `import --format bitcoin-etl` of Parquet: a chain of real signed transactions written by the
//! test with polars as bitcoin-etl and BigQuery `crypto_bitcoin.transactions` Parquet files
//! (`inputs` / `outputs` as lists of structs; BigQuery's `NUMERIC` values as `Decimal(38, 9)`
//! and `block_timestamp` as a `TIMESTAMP`) stores exactly what the JSON import of the same
//! transactions stores, which is the ground truth; bad files are one-line errors.

mod common;

use std::path::Path;

use common::btc_chain::{etl_export, laundering};
use moneytrail::fetch::FetchError;
use moneytrail::fetch::bitcoin_etl::import_files;
use moneytrail::model::{BitcoinNetwork, Chain};
use moneytrail::store::Store;
use polars::prelude::*;
use serde_json::Value;

const NET: BitcoinNetwork = BitcoinNetwork::Mainnet;

/// A JSON value column as a polars column: `kind` says the type of a leaf.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Int,
    Bool,
    /// satoshis: Int64, or BigQuery NUMERIC Decimal(38, 9)
    Sats,
    /// Unix seconds: Int64, or BigQuery TIMESTAMP
    Time,
    StrList,
}

fn leaf(name: &str, vals: &[Value], kind: Kind, bq: bool) -> Series {
    let n: PlSmallStr = name.into();
    match kind {
        Kind::Str => Series::new(
            n,
            vals.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Vec<_>>(),
        ),
        Kind::Int => Series::new(n, vals.iter().map(Value::as_i64).collect::<Vec<_>>()),
        Kind::Bool => Series::new(n, vals.iter().map(Value::as_bool).collect::<Vec<_>>()),
        Kind::Sats => {
            let sats: Vec<Option<i64>> = vals
                .iter()
                .map(|v| match v {
                    Value::String(s) => Some(s.parse().unwrap()),
                    v => v.as_i64(),
                })
                .collect();
            if bq {
                let units: Vec<Option<i128>> = sats
                    .iter()
                    .map(|x| x.map(|x| x as i128 * 1_000_000_000))
                    .collect();
                Series::new(n, units).into_decimal(38, 9).unwrap()
            } else {
                Series::new(n, sats)
            }
        }
        Kind::Time => {
            let secs: Vec<Option<i64>> = vals
                .iter()
                .map(|v| match v {
                    Value::String(s) => Some(
                        chrono::NaiveDateTime::parse_from_str(
                            s.trim_end_matches(" UTC"),
                            "%Y-%m-%d %H:%M:%S",
                        )
                        .unwrap()
                        .and_utc()
                        .timestamp(),
                    ),
                    v => v.as_i64(),
                })
                .collect();
            if bq {
                let us: Vec<Option<i64>> = secs.iter().map(|x| x.map(|x| x * 1_000_000)).collect();
                Series::new(n, us)
                    .cast(&DataType::Datetime(
                        TimeUnit::Microseconds,
                        Some(TimeZone::UTC),
                    ))
                    .unwrap()
            } else {
                Series::new(n, secs)
            }
        }
        Kind::StrList if vals.is_empty() => {
            Series::new_empty(n, &DataType::List(Box::new(DataType::String)))
        }
        Kind::StrList => {
            let items: Vec<Option<Series>> = vals
                .iter()
                .map(|v| {
                    let list: Vec<String> = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().unwrap().to_string())
                        .collect();
                    Some(Series::new("".into(), list))
                })
                .collect();
            let l: ListChunked = items.into_iter().collect();
            l.with_name(n).into_series()
        }
    }
}

const INPUT: &[(&str, Kind)] = &[
    ("index", Kind::Int),
    ("spent_transaction_hash", Kind::Str),
    ("spent_output_index", Kind::Int),
    ("script_asm", Kind::Str),
    ("script_hex", Kind::Str),
    ("sequence", Kind::Int),
    ("required_signatures", Kind::Int),
    ("type", Kind::Str),
    ("addresses", Kind::StrList),
    ("value", Kind::Sats),
];
const OUTPUT: &[(&str, Kind)] = &[
    ("index", Kind::Int),
    ("script_asm", Kind::Str),
    ("script_hex", Kind::Str),
    ("required_signatures", Kind::Int),
    ("type", Kind::Str),
    ("addresses", Kind::StrList),
    ("value", Kind::Sats),
];

/// `inputs` / `outputs`: a list of structs per transaction.
fn nested(name: &str, rows: &[Value], fields: &[(&str, Kind)], bq: bool) -> Series {
    let per_tx: Vec<Option<Series>> = rows
        .iter()
        .map(|r| {
            let items = r[name].as_array().unwrap();
            let cols: Vec<Series> = fields
                .iter()
                .map(|(f, k)| {
                    let vals: Vec<Value> = items.iter().map(|i| i[*f].clone()).collect();
                    leaf(f, &vals, *k, bq)
                })
                .collect();
            Some(
                StructChunked::from_series("".into(), items.len(), cols.iter())
                    .unwrap()
                    .into_series(),
            )
        })
        .collect();
    let l: ListChunked = per_tx.into_iter().collect();
    l.with_name(name.into()).into_series()
}

/// The bitcoin-etl JSON rows as a Parquet file.
fn write_parquet(json_rows: &[Value], bq: bool, path: &Path) {
    let mut top: Vec<(&str, Kind)> = vec![
        ("hash", Kind::Str),
        ("size", Kind::Int),
        ("virtual_size", Kind::Int),
        ("version", Kind::Int),
        ("lock_time", Kind::Int),
        ("block_number", Kind::Int),
        ("block_hash", Kind::Str),
        ("block_timestamp", Kind::Time),
        ("is_coinbase", Kind::Bool),
        ("input_count", Kind::Int),
        ("output_count", Kind::Int),
        ("input_value", Kind::Sats),
        ("output_value", Kind::Sats),
        ("fee", Kind::Sats),
    ];
    if !bq {
        top.push(("index", Kind::Int));
        top.push(("type", Kind::Str));
    }
    let mut cols: Vec<Column> = top
        .iter()
        .map(|(n, k)| {
            let vals: Vec<Value> = json_rows.iter().map(|r| r[*n].clone()).collect();
            leaf(n, &vals, *k, bq).into_column()
        })
        .collect();
    cols.push(nested("inputs", json_rows, INPUT, bq).into_column());
    cols.push(nested("outputs", json_rows, OUTPUT, bq).into_column());
    let mut df = DataFrame::new(json_rows.len(), cols).unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .with_compression(ParquetCompression::Snappy)
        .finish(&mut df)
        .unwrap();
}

fn rows(text: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => a,
        _ => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    }
}

#[test]
fn parquet_imports_exactly_what_json_imports() {
    let l = laundering(30, 8);
    let dir = tempfile::tempdir().unwrap();
    let jsonl_text = etl_export(&l.chain, false);
    let jsonl = dir.path().join("transactions.json");
    std::fs::write(&jsonl, &jsonl_text).unwrap();
    let etl_pq = dir.path().join("transactions.parquet");
    write_parquet(&rows(&jsonl_text), false, &etl_pq);
    let bq_pq = dir.path().join("bigquery.parquet");
    write_parquet(&rows(&etl_export(&l.chain, true)), true, &bq_pq);
    let all = l.chain.confirmed_txids();

    let mut json_store = Store::open(&dir.path().join("json.db")).unwrap();
    let rep = import_files(&mut json_store, NET, &[&jsonl]).unwrap();
    assert_eq!(rep.txs_new, all.len() as u64);
    let want_txs = json_store.utxo_txs(Chain::BITCOIN).unwrap();
    let want = json_store.transfers(Chain::BITCOIN).unwrap();
    // the JSON import is the ground truth (tests/bitcoin_etl.rs); check it once more here
    let mut truth = Vec::new();
    for t in &all {
        truth.extend(l.chain.truth(t).unwrap().rows(NET).unwrap().transfers);
    }
    truth.sort_by(|a, b| a.time_order(b));
    assert_eq!(want, truth);

    for (what, file) in [
        ("bitcoin-etl Parquet", &etl_pq),
        ("BigQuery Parquet", &bq_pq),
    ] {
        let mut store = Store::open(&dir.path().join(format!("{}.db", what.len()))).unwrap();
        let rep = import_files(&mut store, NET, &[file]).unwrap();
        assert_eq!(
            (rep.txs_read, rep.txs_new, rep.txs_unconfirmed),
            (all.len() as u64, all.len() as u64, 0),
            "{what}"
        );
        assert_eq!(store.utxo_txs(Chain::BITCOIN).unwrap(), want_txs, "{what}");
        assert_eq!(store.transfers(Chain::BITCOIN).unwrap(), want, "{what}");
        let again = import_files(&mut store, NET, &[file]).unwrap();
        assert_eq!(again.txs_new, 0, "{what}: re-import");
        // and into the JSON-imported store: nothing new
        let cross = import_files(&mut json_store, NET, &[file]).unwrap();
        assert_eq!(cross.txs_new, 0, "{what} after JSON");
    }

    // the command line reads Parquet too
    let db = dir.path().join("cli.db");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(&db)
        .args(["import", "--format", "bitcoin-etl", "--output", "json"])
        .arg(&bq_pq)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["txs_new"], all.len() as u64);
}

#[test]
fn bad_parquet_is_an_error_naming_file_row_and_value() {
    let l = laundering(24, 8);
    let dir = tempfile::tempdir().unwrap();
    let good = rows(&etl_export(&l.chain, false));

    // a malformed hash in row 4
    let mut bad = good.clone();
    bad[3]["hash"] = Value::String("xyz".into());
    let p = dir.path().join("badhash.parquet");
    write_parquet(&bad, false, &p);
    let mut store = Store::open_in_memory().unwrap();
    let e = import_files(&mut store, NET, &[&p]).unwrap_err();
    assert!(matches!(e, FetchError::BadInput(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("badhash.parquet: row 4:") && msg.contains("'xyz'"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));

    // a fee that does not add up
    let mut bad = good.clone();
    bad[5]["fee"] = Value::from(bad[5]["fee"].as_i64().unwrap() + 1);
    let p = dir.path().join("badfee.parquet");
    write_parquet(&bad, false, &p);
    let e = import_files(&mut store, NET, &[&p]).unwrap_err();
    assert!(e.to_string().contains("badfee.parquet: row 6: fee"), "{e}");

    // floating-point values are refused
    let mut df = DataFrame::new(
        1,
        vec![
            Column::new("hash".into(), ["00".repeat(32)]),
            Column::new("fee".into(), [0.5f64]),
            Column::new("outputs".into(), ["x"]),
        ],
    )
    .unwrap();
    let p = dir.path().join("float.parquet");
    ParquetWriter::new(std::fs::File::create(&p).unwrap())
        .finish(&mut df)
        .unwrap();
    let e = import_files(&mut store, NET, &[&p]).unwrap_err();
    assert!(e.to_string().contains("float.parquet: column fee"), "{e}");
    assert!(e.to_string().contains("floating point"), "{e}");

    // a Parquet file of another table
    let mut df = DataFrame::new(1, vec![Column::new("number".into(), [1i64])]).unwrap();
    let p = dir.path().join("blocks.parquet");
    ParquetWriter::new(std::fs::File::create(&p).unwrap())
        .finish(&mut df)
        .unwrap();
    let e = import_files(&mut store, NET, &[&p]).unwrap_err();
    assert!(e.to_string().contains("no column hash"), "{e}");
    assert!(store.utxo_txs(Chain::BITCOIN).unwrap().is_empty());
}
