//! Offline import of bitcoin-etl / BigQuery `crypto_bitcoin` transaction exports: JSON Lines
//! (one transaction a line, bitcoin-etl's `transactions.json`), one JSON array, or Parquet
//! (BigQuery's `EXPORT DATA … FORMAT PARQUET` of `crypto_bitcoin.transactions`: `inputs` and
//! `outputs` as lists of structs, values `NUMERIC`, `block_timestamp` a `TIMESTAMP`), with
//! nested `inputs` and `outputs`. A Parquet row is read with polars into the same record a
//! JSON line gives (integers and decimals exact, timestamps in Unix seconds; a floating-point
//! column is refused), so both go through one parser and store identical rows.
//!
//! Fields read: `hash`, `block_number`, `block_timestamp` (Unix seconds, or BigQuery's
//! `"2022-03-23 10:00:00 UTC"`), `index` (position in the block; when absent — BigQuery has
//! none — the coinbase is 0 and the others follow in file order), `is_coinbase`;
//! `inputs[]`: `index`, `spent_transaction_hash`, `spent_output_index`, `value`, `addresses`,
//! `type`; `outputs[]`: `index`, `script_hex`, `value`. Values are integer satoshis (numbers or
//! decimal strings). Optional `fee`, `input_value`, `output_value`, `input_count`,
//! `output_count` are checked against the parts.
//!
//! Output addresses come from `script_hex` ([`Address::from_script`], as for every source).
//! An input's address is its single `addresses` entry when `type` is an address type
//! (pubkeyhash, scripthash, witness_*) — P2PK, multisig and non-standard inputs have none, as
//! their scripts give none. Rows are written by the same conversion as the fetchers
//! ([`UtxoTx::write`]), so importing what a fetcher stored inserts nothing. Transactions
//! without a block are skipped; anything malformed is an error naming file and line.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

use super::FetchError;
use super::etl_table::{FileFormat, file_format, row_error};
use super::utxo::{BlockPos, UtxoInput, UtxoOutput, UtxoTx, decode_hex};
use crate::model::{Address, BitcoinNetwork, Chain, OutPoint, TxHash};
use crate::store::Store;

mod parquet;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Files read.
    pub files: u64,
    /// Transactions read.
    pub txs_read: u64,
    /// Transactions not stored before.
    pub txs_new: u64,
    /// Transactions without a block (unconfirmed), skipped.
    pub txs_unconfirmed: u64,
}

/// One bad record: where and why.
fn bad(path: &Path, line: usize, detail: impl std::fmt::Display) -> FetchError {
    FetchError::BadInput(format!("{}:{line}: {detail}", path.display()))
}

fn sats(v: Option<&Value>, what: &str) -> Result<u64, String> {
    match v {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("{what} {n} is not a whole number of satoshis")),
        Some(Value::String(s)) => {
            // a NUMERIC / decimal export writes "5000.000000000"
            let t = s.trim();
            let t = match t.split_once('.') {
                Some((i, f)) if f.bytes().all(|b| b == b'0') => i,
                _ => t,
            };
            t.parse::<u64>()
                .map_err(|_| format!("{what} '{s}' is not a whole number of satoshis"))
        }
        Some(Value::Null) | None => Err(format!("{what} missing")),
        Some(other) => Err(format!("{what} {other} is not a number")),
    }
}

fn opt_u64(v: &Value, key: &str) -> Result<Option<u64>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        x => sats(x, key).map(Some),
    }
}

/// Unix seconds from a number or BigQuery's `YYYY-MM-DD HH:MM:SS[.fff] UTC`.
fn timestamp(v: Option<&Value>) -> Result<i64, String> {
    match v {
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| format!("block_timestamp {n}")),
        Some(Value::String(s)) => {
            if let Ok(n) = s.trim().parse::<i64>() {
                return Ok(n);
            }
            let t = s
                .trim()
                .trim_end_matches(" UTC")
                .trim_end_matches('Z')
                .replace('T', " ");
            chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S%.f")
                .map(|d| d.and_utc().timestamp())
                .map_err(|_| format!("block_timestamp '{s}' is not a time"))
        }
        _ => Err("block_timestamp missing".into()),
    }
}

const ADDRESS_TYPES: &[&str] = &[
    "pubkeyhash",
    "scripthash",
    "witness_v0_keyhash",
    "witness_v0_scripthash",
    "witness_v1_taproot",
    "witness_unknown",
];

fn input_address(network: BitcoinNetwork, i: &Value) -> Option<Address> {
    if let Some(t) = i.get("type").and_then(Value::as_str) {
        if !ADDRESS_TYPES.contains(&t) {
            return None;
        }
    }
    let list = i.get("addresses")?.as_array()?;
    if list.len() != 1 {
        return None;
    }
    Address::parse(Chain::Bitcoin(network), list[0].as_str()?).ok()
}

/// Parse one transaction record; `Ok(None)` when it has no block.
fn parse(network: BitcoinNetwork, v: &Value) -> Result<Option<(UtxoTx, bool)>, String> {
    let hash = v
        .get("hash")
        .and_then(Value::as_str)
        .ok_or("hash missing")?;
    let txid = TxHash::parse(hash).map_err(|e| e.to_string())?;
    let height = match v.get("block_number") {
        None | Some(Value::Null) => return Ok(None),
        x => sats(x, "block_number")?,
    };
    let time = timestamp(v.get("block_timestamp"))?;
    let index = opt_u64(v, "index")?;
    let coinbase = v
        .get("is_coinbase")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut ins: Vec<&Value> = v
        .get("inputs")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut outs: Vec<&Value> = v
        .get("outputs")
        .and_then(Value::as_array)
        .ok_or("outputs missing")?
        .iter()
        .collect();
    let idx = |x: &Value| x.get("index").and_then(Value::as_u64).unwrap_or(u64::MAX);
    ins.sort_by_key(|x| idx(x));
    outs.sort_by_key(|x| idx(x));
    let inputs: Vec<UtxoInput> = if coinbase {
        vec![UtxoInput {
            prevout: None,
            value: 0,
            address: None,
        }]
    } else {
        ins.iter()
            .map(|i| {
                let t = i
                    .get("spent_transaction_hash")
                    .and_then(Value::as_str)
                    .ok_or("input without spent_transaction_hash")?;
                let vout = i
                    .get("spent_output_index")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or("input without spent_output_index")?;
                Ok(UtxoInput {
                    prevout: Some(OutPoint {
                        txid: TxHash::parse(t).map_err(|e| e.to_string())?,
                        vout,
                    }),
                    value: sats(i.get("value"), "input value")?,
                    address: input_address(network, i),
                })
            })
            .collect::<Result<_, String>>()?
    };
    let outputs: Vec<UtxoOutput> = outs
        .iter()
        .map(|o| {
            let hex = o
                .get("script_hex")
                .and_then(Value::as_str)
                .ok_or("output without script_hex")?;
            Ok(UtxoOutput {
                value: sats(o.get("value"), "output value")?,
                script_pubkey: decode_hex(hex)
                    .ok_or_else(|| format!("script_hex '{hex}' is not hex"))?,
            })
        })
        .collect::<Result<_, String>>()?;
    let tx = UtxoTx {
        txid,
        block: BlockPos {
            height,
            tx_index: index.map_or(0, |i| i as u32),
            time,
        },
        inputs,
        outputs,
    };
    tx.check().map_err(|e| e.to_string())?;
    for (key, got) in [
        (
            "input_count",
            if coinbase { 0 } else { tx.inputs.len() as u64 },
        ),
        ("output_count", tx.outputs.len() as u64),
        (
            "output_value",
            tx.output_value().map_err(|e| e.to_string())?,
        ),
        ("fee", tx.fee().map_err(|e| e.to_string())?),
    ] {
        if let Some(want) = opt_u64(v, key)? {
            if want != got && !(coinbase && key == "input_count") {
                return Err(format!("{key} is {want} but the parts give {got}"));
            }
        }
    }
    if !coinbase {
        if let Some(want) = opt_u64(v, "input_value")? {
            let got = tx.input_value().map_err(|e| e.to_string())?;
            if want != got {
                return Err(format!("input_value is {want} but the inputs give {got}"));
            }
        }
    }
    Ok(Some((tx, index.is_some())))
}

/// Records of one file: JSON Lines, or a JSON array.
fn records(path: &Path) -> Result<Vec<(usize, Value)>, FetchError> {
    let f = std::fs::File::open(path)
        .map_err(|e| FetchError::BadInput(format!("cannot read {}: {e}", path.display())))?;
    let mut r = BufReader::new(f);
    let first = r
        .fill_buf()
        .map_err(|e| FetchError::BadInput(format!("cannot read {}: {e}", path.display())))?
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    if first == Some(b'[') {
        let mut s = String::new();
        r.read_to_string(&mut s)
            .map_err(|e| FetchError::BadInput(format!("cannot read {}: {e}", path.display())))?;
        let v: Vec<Value> = serde_json::from_str(&s).map_err(|e| bad(path, e.line(), e))?;
        return Ok(v.into_iter().enumerate().map(|(i, v)| (i + 1, v)).collect());
    }
    let mut out = Vec::new();
    for (n, line) in r.lines().enumerate() {
        let line = line.map_err(|e| bad(path, n + 1, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| bad(path, n + 1, e))?;
        out.push((n + 1, v));
    }
    Ok(out)
}

/// Import `files` (JSON Lines, a JSON array or Parquet, told by the content) into `store` for
/// `network` (one SQLite transaction per 5,000 records). Errors name the file and the line
/// (JSON) or row (Parquet, from 1).
pub fn import_files(
    store: &mut Store,
    network: BitcoinNetwork,
    files: &[impl AsRef<Path>],
) -> Result<ImportReport, FetchError> {
    let mut rep = ImportReport::default();
    for path in files {
        let path = path.as_ref();
        let mut txs = Vec::new();
        if file_format(path)? == FileFormat::Parquet {
            parquet::read(path, |row, v| {
                match parse(network, &v).map_err(|e| row_error(path, row, e))? {
                    Some(t) => txs.push(t),
                    None => rep.txs_unconfirmed += 1,
                }
                Ok(())
            })?;
        } else {
            let recs = records(path)?;
            txs.reserve(recs.len());
            for (line, v) in &recs {
                match parse(network, v).map_err(|e| bad(path, *line, e))? {
                    Some(t) => txs.push(t),
                    None => rep.txs_unconfirmed += 1,
                }
            }
        }
        rep.files += 1;
        // without `index`: coinbase first, then file order within each block
        let mut next: HashMap<u64, u32> = HashMap::new();
        for (t, _) in txs.iter().filter(|(t, has)| !has && t.is_coinbase()) {
            next.insert(t.block.height, 1);
        }
        for (t, has) in txs.iter_mut() {
            if !*has && !t.is_coinbase() {
                let n = next.entry(t.block.height).or_insert(1);
                t.block.tx_index = *n;
                *n += 1;
            }
        }
        for chunk in txs.chunks(5_000) {
            let mut w = store.writer()?;
            for (t, _) in chunk {
                rep.txs_read += 1;
                if t.write(&mut w, network)? {
                    rep.txs_new += 1;
                }
            }
            w.commit()?;
        }
        tracing::info!(file = %path.display(), txs = txs.len(), "bitcoin-etl import");
    }
    Ok(rep)
}
