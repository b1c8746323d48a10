//! An ethereum-etl export of a real anvil chain, written by the test with polars in the
//! published schemas (ethereum-etl `docs/schema.md`; BigQuery `crypto_ethereum`):
//!
//! - read off the node: `eth_getBlockByNumber` (full transactions), `eth_getTransactionReceipt`,
//!   `trace_block` (parity traces, mapped as ethereum-etl's `EthTraceMapper` and
//!   `calculate_trace_statuses` do), `eth_call` of `symbol()` / `decimals()` for `tokens`;
//! - `token_transfers` by ethereum-etl's rule: topic0 `Transfer` and topics + data words = 4
//!   (so ERC-721 transfers are in it, as in the real export);
//! - two styles: [`Style::Etl`] (ethereum-etl: integers, values as text, `block_timestamp` in
//!   Unix seconds, `topics` and `trace_address` comma-joined, a `receipts` table) and
//!   [`Style::BigQuery`] (`transactions` with the `receipt_*` columns and no `receipts` table,
//!   values `NUMERIC` (Parquet `Decimal(38, 9)`), `block_timestamp` a `TIMESTAMP`, `topics` an
//!   `ARRAY<STRING>`).

use std::path::{Path, PathBuf};

use alloy_primitives::U256;
use polars::prelude::*;
use serde_json::{Value, json};

use super::anvil::Anvil;

/// A column of a table.
#[derive(Debug, Clone)]
pub enum Data {
    /// Text.
    Str(Vec<Option<String>>),
    /// Integers.
    Int(Vec<Option<i64>>),
    /// A big decimal integer (wei, token units): text in ethereum-etl, NUMERIC in BigQuery.
    Num(Vec<Option<String>>),
    /// A block time in Unix seconds.
    Time(Vec<Option<i64>>),
    /// A list of text (`topics`).
    List(Vec<Option<Vec<String>>>),
}

/// One table: named columns.
#[derive(Debug, Clone, Default)]
pub struct Tab {
    pub cols: Vec<(String, Data)>,
}

impl Tab {
    fn col(&mut self, name: &str, d: Data) {
        self.cols.push((name.to_string(), d));
    }

    /// Rows.
    pub fn len(&self) -> usize {
        match &self.cols[0].1 {
            Data::Str(v) | Data::Num(v) => v.len(),
            Data::Int(v) | Data::Time(v) => v.len(),
            Data::List(v) => v.len(),
        }
    }

    /// Keep only the rows where `keep(row)`.
    pub fn filter(&self, keep: impl Fn(usize) -> bool) -> Tab {
        let idx: Vec<usize> = (0..self.len()).filter(|i| keep(*i)).collect();
        let pick = |d: &Data| match d {
            Data::Str(v) => Data::Str(idx.iter().map(|i| v[*i].clone()).collect()),
            Data::Num(v) => Data::Num(idx.iter().map(|i| v[*i].clone()).collect()),
            Data::Int(v) => Data::Int(idx.iter().map(|i| v[*i]).collect()),
            Data::Time(v) => Data::Time(idx.iter().map(|i| v[*i]).collect()),
            Data::List(v) => Data::List(idx.iter().map(|i| v[*i].clone()).collect()),
        };
        Tab {
            cols: self
                .cols
                .iter()
                .map(|(n, d)| (n.clone(), pick(d)))
                .collect(),
        }
    }

    /// A text column's values (to edit a copy).
    pub fn set_str(&mut self, name: &str, row: usize, v: Option<&str>) {
        for (n, d) in &mut self.cols {
            if n == name {
                match d {
                    Data::Str(x) | Data::Num(x) => x[row] = v.map(str::to_string),
                    _ => panic!("{name} is not text"),
                }
            }
        }
    }

    /// The value of a text column.
    pub fn get_str(&self, name: &str, row: usize) -> Option<String> {
        self.cols
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, d)| match d {
                Data::Str(x) | Data::Num(x) => x[row].clone(),
                _ => None,
            })
    }
}

/// Export style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// ethereum-etl's own CSV / column types.
    Etl,
    /// BigQuery `crypto_ethereum`.
    BigQuery,
}

/// The tables of the chain.
#[derive(Debug, Clone, Default)]
pub struct Export {
    pub blocks: Tab,
    pub transactions: Tab,
    pub receipts: Tab,
    pub traces: Tab,
    pub logs: Tab,
    pub token_transfers: Tab,
    pub tokens: Tab,
}

fn q(v: &Value) -> Option<u128> {
    v.as_str()
        .map(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).unwrap())
}

fn qi(v: &Value) -> Option<i64> {
    q(v).map(|x| x as i64)
}

fn dec(v: &Value) -> Option<String> {
    v.as_str().map(|s| {
        U256::from_str_radix(s.trim_start_matches("0x"), 16)
            .unwrap()
            .to_string()
    })
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(|x| x.to_lowercase())
}

const TRANSFER: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

/// Read blocks 0..=head of `anvil` into ethereum-etl tables in `style`.
pub fn export(anvil: &Anvil, style: Style) -> Export {
    let bq = style == Style::BigQuery;
    let head = anvil.block_number();
    let mut b = (vec![], vec![], vec![], vec![]);
    let mut t: Vec<Vec<Option<String>>> = vec![vec![]; 9];
    let mut ti: Vec<Vec<Option<i64>>> = vec![vec![]; 8];
    let mut r: Vec<Vec<Option<String>>> = vec![vec![]; 4];
    let mut ri: Vec<Vec<Option<i64>>> = vec![vec![]; 6];
    let mut tr_s: Vec<Vec<Option<String>>> = vec![vec![]; 13];
    let mut tr_i: Vec<Vec<Option<i64>>> = vec![vec![]; 6];
    let mut lg_s: Vec<Vec<Option<String>>> = vec![vec![]; 4];
    let mut lg_i: Vec<Vec<Option<i64>>> = vec![vec![]; 3];
    let mut lg_topics: Vec<Option<Vec<String>>> = vec![];
    let mut tt_s: Vec<Vec<Option<String>>> = vec![vec![]; 6];
    let mut tt_i: Vec<Vec<Option<i64>>> = vec![vec![]; 3];
    let mut token_addrs: Vec<String> = vec![];
    for n in 0..=head {
        let blk = anvil.rpc("eth_getBlockByNumber", json!([format!("0x{n:x}"), true]));
        let time = qi(&blk["timestamp"]);
        b.0.push(Some(n as i64));
        b.1.push(s(&blk["hash"]));
        b.2.push(time);
        b.3.push(s(&blk["miner"]));
        for tx in blk["transactions"].as_array().unwrap() {
            let h = tx["hash"].as_str().unwrap();
            let rc = anvil.receipt(h);
            // transactions: hash nonce block_hash block_number transaction_index from to value
            // gas gas_price input block_timestamp max_fee max_priority type
            t[0].push(s(&tx["hash"]));
            ti[0].push(qi(&tx["nonce"]));
            t[1].push(s(&tx["blockHash"]));
            ti[1].push(qi(&tx["blockNumber"]));
            ti[2].push(qi(&tx["transactionIndex"]));
            t[2].push(s(&tx["from"]));
            t[3].push(s(&tx["to"]));
            t[4].push(dec(&tx["value"]));
            ti[3].push(qi(&tx["gas"]));
            ti[4].push(qi(&tx["gasPrice"]));
            t[5].push(tx["input"].as_str().map(str::to_string));
            ti[5].push(time);
            ti[6].push(qi(&tx["maxFeePerGas"]));
            ti[7].push(qi(&tx["type"]));
            t[6].push(dec(&tx["maxPriorityFeePerGas"]));
            // receipts
            r[0].push(s(&rc["transactionHash"]));
            r[1].push(s(&rc["blockHash"]));
            r[2].push(s(&rc["contractAddress"]));
            r[3].push(s(&rc["root"]));
            ri[0].push(qi(&rc["transactionIndex"]));
            ri[1].push(qi(&rc["blockNumber"]));
            ri[2].push(qi(&rc["cumulativeGasUsed"]));
            ri[3].push(qi(&rc["gasUsed"]));
            ri[4].push(qi(&rc["status"]));
            ri[5].push(qi(&rc["effectiveGasPrice"]));
            for l in rc["logs"].as_array().unwrap() {
                let topics: Vec<String> = l["topics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_lowercase())
                    .collect();
                let data = l["data"].as_str().unwrap().to_lowercase();
                lg_i[0].push(qi(&l["logIndex"]));
                lg_s[0].push(s(&l["transactionHash"]));
                lg_i[1].push(qi(&l["transactionIndex"]));
                lg_s[1].push(s(&l["blockHash"]));
                lg_i[2].push(qi(&l["blockNumber"]));
                lg_s[2].push(s(&l["address"]));
                lg_s[3].push(Some(data.clone()));
                lg_topics.push(Some(topics.clone()));
                // ethereum-etl's token transfer extractor: topics + data words must be 4
                if topics.first().map(String::as_str) == Some(TRANSFER) {
                    let mut words = topics.clone();
                    let d = data.trim_start_matches("0x");
                    for k in (0..d.len()).step_by(64) {
                        words.push(format!("0x{}", &d[k..(k + 64).min(d.len())]));
                    }
                    if words.len() == 4 {
                        let addr = |w: &str| format!("0x{}", &w[w.len() - 40..]);
                        let token = s(&l["address"]).unwrap();
                        if !token_addrs.contains(&token) {
                            token_addrs.push(token.clone());
                        }
                        tt_s[0].push(Some(token));
                        tt_s[1].push(Some(addr(&words[1])));
                        tt_s[2].push(Some(addr(&words[2])));
                        tt_s[3].push(Some(
                            U256::from_str_radix(words[3].trim_start_matches("0x"), 16)
                                .unwrap()
                                .to_string(),
                        ));
                        tt_s[4].push(s(&l["transactionHash"]));
                        tt_s[5].push(s(&l["blockHash"]));
                        tt_i[0].push(qi(&l["logIndex"]));
                        tt_i[1].push(qi(&l["blockNumber"]));
                        tt_i[2].push(time);
                    }
                }
            }
            if bq {
                // BigQuery's transactions carry the receipt
                t[7].push(s(&rc["contractAddress"]));
                t[8].push(s(&rc["root"]));
            }
        }
        // traces (parity), mapped as ethereum-etl's EthTraceMapper, statuses as
        // calculate_trace_statuses
        let traces = anvil.rpc("trace_block", json!([format!("0x{n:x}")]));
        let traces = traces.as_array().cloned().unwrap_or_default();
        let mut rows: Vec<(Option<String>, Vec<u64>, bool, &Value)> = Vec::new();
        for tr in &traces {
            let path: Vec<u64> = tr["traceAddress"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect();
            let err = tr["error"].as_str().map(str::to_string);
            let failed = err.as_ref().is_some_and(|e| !e.is_empty());
            rows.push((s(&tr["transactionHash"]), path, failed, tr));
        }
        let mut status: Vec<bool> = rows.iter().map(|r| !r.2).collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|i| rows[*i].1.len());
        for &i in &order {
            let ty = rows[i].3["type"].as_str().unwrap();
            if !matches!(ty, "call" | "create") || rows[i].1.is_empty() {
                continue;
            }
            let parent = &rows[i].1[..rows[i].1.len() - 1];
            let p = (0..rows.len())
                .find(|j| {
                    rows[*j].0 == rows[i].0
                        && rows[*j].1 == parent
                        && matches!(rows[*j].3["type"].as_str(), Some("call" | "create"))
                })
                .expect("parent trace");
            if !status[p] {
                status[i] = false;
            }
        }
        for (i, (hash, path, _, tr)) in rows.iter().enumerate() {
            let ty = tr["type"].as_str().unwrap().to_string();
            let a = &tr["action"];
            let res = &tr["result"];
            let (from, to, value, call_type, reward_type, gas, gas_used, input, output) =
                match ty.as_str() {
                    "call" => (
                        s(&a["from"]),
                        s(&a["to"]),
                        dec(&a["value"]),
                        a["callType"].as_str().map(str::to_string),
                        None,
                        qi(&a["gas"]),
                        qi(&res["gasUsed"]),
                        a["input"].as_str().map(str::to_string),
                        res["output"].as_str().map(str::to_string),
                    ),
                    "create" => (
                        s(&a["from"]),
                        s(&res["address"]),
                        dec(&a["value"]),
                        None,
                        None,
                        qi(&a["gas"]),
                        qi(&res["gasUsed"]),
                        a["init"].as_str().map(str::to_string),
                        res["code"].as_str().map(str::to_string),
                    ),
                    "suicide" => (
                        s(&a["address"]),
                        s(&a["refundAddress"]),
                        dec(&a["balance"]),
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                    ),
                    "reward" => (
                        None,
                        s(&a["author"]),
                        dec(&a["value"]),
                        None,
                        a["rewardType"].as_str().map(str::to_string),
                        None,
                        None,
                        None,
                        None,
                    ),
                    other => panic!("trace type {other}"),
                };
            let addr = path
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",");
            tr_i[0].push(Some(n as i64));
            tr_s[0].push(hash.clone());
            tr_i[1].push(tr["transactionPosition"].as_i64());
            tr_s[1].push(from);
            tr_s[2].push(to);
            tr_s[3].push(value);
            tr_s[4].push(input);
            tr_s[5].push(output);
            tr_s[6].push(Some(ty.clone()));
            tr_s[7].push(call_type);
            tr_s[8].push(reward_type);
            tr_i[2].push(gas);
            tr_i[3].push(gas_used);
            tr_i[4].push(tr["subtraces"].as_i64());
            tr_s[9].push(Some(addr.clone()));
            tr_s[10].push(tr["error"].as_str().map(str::to_string));
            tr_i[5].push(Some(status[i] as i64));
            tr_s[11].push(Some(format!(
                "{ty}_{}_{}",
                hash.clone().unwrap_or_default(),
                path.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("_")
            )));
            tr_s[12].push(s(&blk["hash"]));
        }
    }

    let mut e = Export::default();
    e.blocks.col("number", Data::Int(b.0));
    e.blocks.col("hash", Data::Str(b.1));
    e.blocks.col("timestamp", Data::Int(b.2));
    e.blocks.col("miner", Data::Str(b.3));

    let x = &mut e.transactions;
    x.col("hash", Data::Str(t[0].clone()));
    x.col("nonce", Data::Int(ti[0].clone()));
    if !bq {
        x.col("block_hash", Data::Str(t[1].clone()));
        x.col("block_number", Data::Int(ti[1].clone()));
    }
    x.col("transaction_index", Data::Int(ti[2].clone()));
    x.col("from_address", Data::Str(t[2].clone()));
    x.col("to_address", Data::Str(t[3].clone()));
    x.col("value", Data::Num(t[4].clone()));
    x.col("gas", Data::Int(ti[3].clone()));
    x.col("gas_price", Data::Int(ti[4].clone()));
    x.col("input", Data::Str(t[5].clone()));
    if bq {
        x.col("receipt_cumulative_gas_used", Data::Int(ri[2].clone()));
        x.col("receipt_gas_used", Data::Int(ri[3].clone()));
        x.col("receipt_contract_address", Data::Str(t[7].clone()));
        x.col("receipt_root", Data::Str(t[8].clone()));
        x.col("receipt_status", Data::Int(ri[4].clone()));
        x.col("block_timestamp", Data::Time(ti[5].clone()));
        x.col("block_number", Data::Int(ti[1].clone()));
        x.col("block_hash", Data::Str(t[1].clone()));
        x.col("max_fee_per_gas", Data::Int(ti[6].clone()));
        x.col("max_priority_fee_per_gas", Data::Num(t[6].clone()));
        x.col("transaction_type", Data::Int(ti[7].clone()));
        x.col("receipt_effective_gas_price", Data::Int(ri[5].clone()));
    } else {
        x.col("block_timestamp", Data::Time(ti[5].clone()));
        x.col("max_fee_per_gas", Data::Int(ti[6].clone()));
        x.col("max_priority_fee_per_gas", Data::Num(t[6].clone()));
        x.col("transaction_type", Data::Int(ti[7].clone()));
    }

    let x = &mut e.receipts;
    x.col("transaction_hash", Data::Str(r[0].clone()));
    x.col("transaction_index", Data::Int(ri[0].clone()));
    x.col("block_hash", Data::Str(r[1].clone()));
    x.col("block_number", Data::Int(ri[1].clone()));
    x.col("cumulative_gas_used", Data::Int(ri[2].clone()));
    x.col("gas_used", Data::Int(ri[3].clone()));
    x.col("contract_address", Data::Str(r[2].clone()));
    x.col("root", Data::Str(r[3].clone()));
    x.col("status", Data::Int(ri[4].clone()));
    x.col("effective_gas_price", Data::Int(ri[5].clone()));

    let x = &mut e.traces;
    let names_s = [
        "transaction_hash",
        "from_address",
        "to_address",
        "value",
        "input",
        "output",
        "trace_type",
        "call_type",
        "reward_type",
        "trace_address",
        "error",
        "trace_id",
        "block_hash",
    ];
    let names_i = [
        "block_number",
        "transaction_index",
        "gas",
        "gas_used",
        "subtraces",
        "status",
    ];
    let order = [
        ("block_number", true),
        ("transaction_hash", false),
        ("transaction_index", true),
        ("from_address", false),
        ("to_address", false),
        ("value", false),
        ("input", false),
        ("output", false),
        ("trace_type", false),
        ("call_type", false),
        ("reward_type", false),
        ("gas", true),
        ("gas_used", true),
        ("subtraces", true),
        ("trace_address", false),
        ("error", false),
        ("status", true),
        ("trace_id", false),
    ];
    for (name, int) in order {
        if int {
            let k = names_i.iter().position(|n| *n == name).unwrap();
            x.col(name, Data::Int(tr_i[k].clone()));
        } else {
            let k = names_s.iter().position(|n| *n == name).unwrap();
            let d = if name == "value" {
                Data::Num(tr_s[k].clone())
            } else {
                Data::Str(tr_s[k].clone())
            };
            x.col(name, d);
        }
    }
    if bq {
        x.col("block_hash", Data::Str(tr_s[12].clone()));
    }

    let x = &mut e.logs;
    x.col("log_index", Data::Int(lg_i[0].clone()));
    x.col("transaction_hash", Data::Str(lg_s[0].clone()));
    x.col("transaction_index", Data::Int(lg_i[1].clone()));
    x.col("block_hash", Data::Str(lg_s[1].clone()));
    x.col("block_number", Data::Int(lg_i[2].clone()));
    x.col("address", Data::Str(lg_s[2].clone()));
    x.col("data", Data::Str(lg_s[3].clone()));
    x.col("topics", Data::List(lg_topics));

    let x = &mut e.token_transfers;
    x.col("token_address", Data::Str(tt_s[0].clone()));
    x.col("from_address", Data::Str(tt_s[1].clone()));
    x.col("to_address", Data::Str(tt_s[2].clone()));
    // BigQuery's token_transfers.value is a STRING (it can exceed NUMERIC)
    x.col("value", Data::Str(tt_s[3].clone()));
    x.col("transaction_hash", Data::Str(tt_s[4].clone()));
    x.col("log_index", Data::Int(tt_i[0].clone()));
    if bq {
        x.col("block_timestamp", Data::Time(tt_i[2].clone()));
    }
    x.col("block_number", Data::Int(tt_i[1].clone()));
    if bq {
        x.col("block_hash", Data::Str(tt_s[5].clone()));
    }

    // tokens: symbol() as a string or bytes32, decimals() when it answers
    let mut tk: Vec<Vec<Option<String>>> = vec![vec![]; 4];
    for a in &token_addrs {
        let call = |sel: &str| {
            anvil
                .rpc_result("eth_call", json!([{"to": a, "data": sel}, "latest"]))
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .map(|h| alloy_primitives::hex::decode(h.trim_start_matches("0x")).unwrap())
                .filter(|b| !b.is_empty())
        };
        let symbol = call("0x95d89b41").map(|b| {
            let raw: Vec<u8> = if b.len() == 32 {
                b.iter().copied().take_while(|c| *c != 0).collect()
            } else {
                let len = U256::from_be_slice(&b[32..64]).to::<usize>();
                b[64..64 + len].to_vec()
            };
            String::from_utf8(raw).unwrap()
        });
        let decimals = call("0x313ce567").map(|b| U256::from_be_slice(&b).to_string());
        tk[0].push(Some(a.clone()));
        tk[1].push(symbol.clone());
        tk[2].push(symbol);
        tk[3].push(decimals);
    }
    let x = &mut e.tokens;
    x.col("address", Data::Str(tk[0].clone()));
    x.col("symbol", Data::Str(tk[1].clone()));
    x.col("name", Data::Str(tk[2].clone()));
    x.col("decimals", Data::Str(tk[3].clone()));
    e
}

fn frame(t: &Tab, style: Style, parquet: bool) -> DataFrame {
    let bq = style == Style::BigQuery;
    let mut cols = Vec::new();
    for (name, d) in &t.cols {
        let n: PlSmallStr = name.as_str().into();
        let c: Column = match d {
            Data::Str(v) => Column::new(n, v.clone()),
            Data::Int(v) => Column::new(n, v.clone()),
            Data::Num(v) if bq && parquet => {
                // NUMERIC: Decimal(38, 9)
                let units: Vec<Option<i128>> = v
                    .iter()
                    .map(|x| {
                        x.as_ref()
                            .map(|x| x.parse::<i128>().unwrap() * 1_000_000_000)
                    })
                    .collect();
                Series::new(n, units)
                    .into_decimal(38, 9)
                    .unwrap()
                    .into_column()
            }
            Data::Num(v) => Column::new(n, v.clone()),
            Data::Time(v) if bq && parquet => {
                let us: Vec<Option<i64>> = v.iter().map(|x| x.map(|x| x * 1_000_000)).collect();
                Series::new(n, us)
                    .cast(&DataType::Datetime(
                        TimeUnit::Microseconds,
                        Some(TimeZone::UTC),
                    ))
                    .unwrap()
                    .into_column()
            }
            Data::Time(v) if bq => Column::new(
                n,
                v.iter()
                    .map(|x| {
                        x.map(|x| {
                            chrono::DateTime::from_timestamp(x, 0)
                                .unwrap()
                                .format("%Y-%m-%d %H:%M:%S UTC")
                                .to_string()
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
            Data::Time(v) => Column::new(n, v.clone()),
            Data::List(v) if parquet => {
                let items: Vec<Option<Series>> = v
                    .iter()
                    .map(|x| x.as_ref().map(|x| Series::new("".into(), x.clone())))
                    .collect();
                let l: ListChunked = items.into_iter().collect();
                l.with_name(n).into_column()
            }
            Data::List(v) => Column::new(
                n,
                v.iter()
                    .map(|x| x.as_ref().map(|x| x.join(",")))
                    .collect::<Vec<_>>(),
            ),
        };
        cols.push(c);
    }
    DataFrame::new(t.len(), cols).unwrap()
}

/// Write `t` as CSV (the header line and comma-separated values, as ethereum-etl does).
pub fn write_csv(t: &Tab, style: Style, path: &Path) -> PathBuf {
    let mut df = frame(t, style, false);
    let mut f = std::fs::File::create(path).unwrap();
    CsvWriter::new(&mut f)
        .include_header(true)
        .finish(&mut df)
        .unwrap();
    path.to_path_buf()
}

/// Write `t` as Parquet (snappy, as BigQuery's export does by default).
pub fn write_parquet(t: &Tab, style: Style, path: &Path) -> PathBuf {
    let mut df = frame(t, style, true);
    let f = std::fs::File::create(path).unwrap();
    ParquetWriter::new(f)
        .with_compression(ParquetCompression::Snappy)
        .finish(&mut df)
        .unwrap();
    path.to_path_buf()
}
