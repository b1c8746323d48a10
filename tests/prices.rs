//! `moneytrail prices`: import of every real price file layout of ../shared/data/prices (read
//! there, never copied), idempotent re-import, bad input named with exit 2, fetch from a local
//! server speaking Coinbase Exchange's candles API (pagination, 429, 500, malformed answers),
//! and `prices show`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use common::coinbase::{self, Fault};

const ETH: &str = "prices/prices-yfinance-budydeveloper/yfinance/cryptos/eth/ETH-USD_1d.csv";
const USDC: &str = "prices/prices-yfinance-budydeveloper/cryptos/usdc/USDC-USD_1d.csv";
const BINANCE: &str = "prices/prices-yfinance-budydeveloper/binance/btc/BTCUSDT_1d.csv";
const BTC: &str = "prices/prices-btc-coinbase-mathaszip/data/btc/daily/BTCUSD_1d_candles_full.csv";

fn file(rel: &str) -> PathBuf {
    common::shared_data().join(rel)
}

fn run(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok_json(db: &Path, args: &[&str]) -> Value {
    let o = run(db, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Exit code 2 and a one-line message containing every `needles`.
fn bad(db: &Path, args: &[&str], needles: &[&str]) {
    let o = run(db, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {err:?} does not name {n:?}");
    }
}

/// day → (date cell, close cell) of a real file, by a plain split.
fn closes(rel: &str, close_col: usize) -> BTreeMap<String, String> {
    std::fs::read_to_string(file(rel))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0][..10].to_string(), f[close_col].to_string())
        })
        .collect()
}

fn show(db: &Path, asset: &str, date: &str) -> Value {
    ok_json(
        db,
        &[
            "prices", "show", "--asset", asset, "--date", date, "--format", "json",
        ],
    )
}

#[test]
fn every_real_layout_imports_and_reimport_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let (eth, usdc, binance, btc) = (file(ETH), file(USDC), file(BINANCE), file(BTC));
    let paths = [&eth, &usdc, &binance].map(|p| p.to_str().unwrap().to_string());
    let mut args = vec!["prices", "import", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let r = ok_json(&db, &args);
    let want = [
        ("ETH", "yfinance", closes(ETH, 4)),
        ("USDC", "yahoo", closes(USDC, 1)),
        ("BTC", "binance-kline", closes(BINANCE, 4)),
    ];
    for (rep, (asset, layout, days)) in r.as_array().unwrap().iter().zip(&want) {
        assert_eq!(rep["asset"], *asset);
        assert_eq!(rep["layout"], *layout);
        assert_eq!(rep["rows"], days.len());
        assert_eq!(rep["new"], days.len());
        assert_eq!(rep["first"], days.keys().next().unwrap().as_str());
    }
    // the same files again: nothing new, nothing replaced
    for rep in ok_json(&db, &args).as_array().unwrap() {
        assert_eq!(
            (&rep["new"], &rep["replaced"]),
            (&Value::from(0), &Value::from(0))
        );
        assert_eq!(rep["unchanged"], rep["rows"]);
    }
    // the Coinbase/Bitstamp BTC file replaces every Binance day it also has
    let r = ok_json(
        &db,
        &[
            "prices",
            "import",
            btc.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let (bin, cb) = (&want[2].2, closes(BTC, 2));
    let both = cb.keys().filter(|d| bin.contains_key(*d)).count();
    assert_eq!(r[0]["layout"], "coinbase-bitstamp");
    assert_eq!(r[0]["replaced"], both);
    assert_eq!(r[0]["new"], cb.len() - both);
    // prices as imported, exact
    let p = show(&db, "ETH", "2022-03-23");
    assert_eq!(p["price"]["kind"], "daily");
    assert_eq!(p["price"]["source"], "file:ETH-USD_1d.csv");
    let close: f64 = want[0].2["2022-03-23"].parse().unwrap();
    assert_eq!(p["price"]["usd"].as_f64().unwrap(), close);
    let p = show(&db, "wbtc", "2020-03-12");
    assert_eq!(p["price"]["priced_as"], "BTC");
    assert_eq!(
        p["price"]["usd"].as_f64().unwrap(),
        cb["2020-03-12"].parse::<f64>().unwrap()
    );
}

#[test]
fn coingecko_exports_and_named_columns() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let eth = closes(ETH, 4);
    let march: Vec<_> = eth
        .iter()
        .filter(|(d, _)| d.starts_with("2022-03"))
        .collect();
    // CoinGecko's CSV export (dates "YYYY-MM-DD 00:00:00 UTC"), built from the real closes
    let mut cg = String::from("snapped_at,price,market_cap,total_volume\n");
    for (d, c) in &march {
        cg.push_str(&format!("{d} 00:00:00 UTC,{c},1,1\n"));
    }
    let cg_path = dir.path().join("eth-usd-max.csv");
    std::fs::write(&cg_path, cg).unwrap();
    let r = ok_json(
        &db,
        &[
            "prices",
            "import",
            cg_path.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(
        (&r[0]["layout"], &r[0]["asset"]),
        (&"coingecko".into(), &"ETH".into())
    );
    assert_eq!(r[0]["rows"], march.len());
    // unix milliseconds, and columns only a name can tell
    let mut ms = String::from("Day,USD Close\n");
    for (d, c) in &march {
        let t = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let t = t.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis();
        ms.push_str(&format!("{t},{c}\n"));
    }
    let ms_path = dir.path().join("weird.csv");
    std::fs::write(&ms_path, ms).unwrap();
    let p = ms_path.to_str().unwrap();
    bad(
        &db,
        &["prices", "import", p, "--asset", "ETH"],
        &["weird.csv", "Day,USD Close", "--columns"],
    );
    let args = [
        "prices",
        "import",
        p,
        "--asset",
        "eth",
        "--columns",
        "day,usd close",
        "--source",
        "mine",
        "--format",
        "json",
    ];
    let r = ok_json(&db, &args);
    assert_eq!(
        (&r[0]["layout"], &r[0]["source"]),
        (&"columns".into(), &"mine".into())
    );
    assert_eq!(
        (&r[0]["replaced"], &r[0]["unchanged"]),
        (&march.len().into(), &0.into())
    );
    assert_eq!(show(&db, "ETH", "2022-03-05")["price"]["source"], "mine");
}

#[test]
fn bad_input_exits_2_naming_the_value_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let w = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good = file(ETH).to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec![w("ETH-USD_1.csv", "when,value\n2022-01-01,5\n")],
            vec!["ETH-USD_1.csv", "when,value"],
        ),
        (
            vec![w(
                "ETH-USD_2.csv",
                "date,close\n2022-01-01,5\n2022-01-32,6\n",
            )],
            vec!["ETH-USD_2.csv:3", "2022-01-32"],
        ),
        (
            vec![w("ETH-USD_3.csv", "date,close\n2022-01-01,-5\n")],
            vec!["ETH-USD_3.csv:2", "'-5'"],
        ),
        (
            vec![w("ETH-USD_4.csv", "date,close\n2022-01-01,\n")],
            vec!["ETH-USD_4.csv:2", "empty close"],
        ),
        (
            vec![w("ETH-USD_5.csv", "date,close\n2022-01-01,NaN\n")],
            vec!["ETH-USD_5.csv:2", "'NaN'"],
        ),
        (
            vec![w(
                "ETH-USD_6.csv",
                "date,close\n2022-01-01,1\n2022-01-01 12:00:00,2\n",
            )],
            vec!["ETH-USD_6.csv:3", "2022-01-01"],
        ),
        (
            vec![w("prices.csv", "date,close\n2022-01-01,5\n")],
            vec!["prices.csv", "--asset"],
        ),
        // a good file first: the bad second one stops the import before anything is written
        (
            vec![
                good.clone(),
                w("ETH-USD_7.csv", "date,close\n2022-01-01,1x\n"),
            ],
            vec!["ETH-USD_7.csv:2", "'1x'"],
        ),
        (
            vec![good.clone(), "--columns".into(), "datetime".into()],
            vec!["--columns", "'datetime'"],
        ),
        (
            vec![good.clone(), "--columns".into(), "datetime,last".into()],
            vec!["'last'"],
        ),
        (
            vec![good.clone(), "--asset".into(), "E-TH".into()],
            vec!["'E-TH'"],
        ),
        (
            vec![dir.path().join("missing.csv").to_str().unwrap().into()],
            vec!["missing.csv"],
        ),
    ];
    for (files, needles) in &cases {
        let mut args = vec!["prices", "import"];
        args.extend(files.iter().map(String::as_str));
        bad(&db, &args, needles);
    }
    let cov = ok_json(
        &db,
        &["prices", "show", "--asset", "ETH", "--format", "json"],
    );
    assert_eq!(cov["daily"], Value::Null, "a failed import wrote rows");
    bad(
        &db,
        &["prices", "show", "--asset", "ETH", "--date", "2022-02-30"],
        &["'2022-02-30'"],
    );
    bad(
        &db,
        &["prices", "fetch", "--asset", "ETH", "--from", "2022/01/01"],
        &["'2022/01/01'"],
    );
    bad(
        &db,
        &[
            "prices",
            "fetch",
            "--asset",
            "ETH",
            "--from",
            "2022-02-01",
            "--to",
            "2022-01-01",
        ],
        &["2022-02-01"],
    );
    bad(
        &db,
        &["prices", "fetch", "--asset", "ETH", "--url", "ftp://x"],
        &["'ftp://x'"],
    );
}

/// The real ETH-USD daily rows as the server's candles, and the file's closes.
fn eth_server() -> (coinbase::Server, BTreeMap<String, f64>) {
    let text = std::fs::read_to_string(file(ETH)).unwrap();
    let mut days = BTreeMap::new();
    let mut closes = BTreeMap::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let d = chrono::NaiveDate::parse_from_str(f[0], "%Y-%m-%d").unwrap();
        let t = d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
        let v: Vec<f64> = f[1..6].iter().map(|x| x.parse().unwrap()).collect();
        days.insert(t, [v[0], v[1], v[2], v[3], v[4]]);
        closes.insert(f[0].to_string(), v[3]);
    }
    (coinbase::start("ETH-USD", days), closes)
}

#[test]
fn fetch_pages_through_coinbase_candles_with_retries() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let (server, closes) = eth_server();
    server
        .faults
        .lock()
        .unwrap()
        .extend([Fault::Status(429, Some(1)), Fault::Status(500, None)]);
    let args = [
        "prices",
        "fetch",
        "--asset",
        "eth",
        "--from",
        "2021-01-01",
        "--to",
        "2022-12-31",
        "--url",
        &server.url,
        "--format",
        "json",
    ];
    let r = ok_json(&db, &args);
    // 730 days: windows of 300, 300, 130; the first asked three times (429, 500, then served)
    assert_eq!((&r["days"], &r["new"]), (&730.into(), &730.into()));
    assert_eq!((&r["requests"], &r["retries"]), (&5.into(), &2.into()));
    let reqs = server.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 5);
    assert!(reqs[..3].iter().all(|q| q == &reqs[0]), "{reqs:?}");
    assert!(
        reqs[0].contains("start=2021-01-01T00:00:00Z&end=2021-10-27T00:00:00Z"),
        "{reqs:?}"
    );
    assert!(reqs[4].contains("end=2022-12-31T00:00:00Z"), "{reqs:?}");
    // every stored close equals the real file's, day by day; nothing outside the range
    for day in [
        "2021-01-01",
        "2021-10-27",
        "2021-10-28",
        "2022-03-23",
        "2022-12-31",
    ] {
        let p = show(&db, "ETH", day);
        assert_eq!(p["price"]["kind"], "daily", "{day}");
        assert_eq!(p["price"]["source"], "coinbase");
        assert_eq!(p["price"]["usd"].as_f64().unwrap(), closes[day], "{day}");
    }
    assert_eq!(show(&db, "ETH", "2020-12-31")["price"]["kind"], "monthly");
    let cov = ok_json(
        &db,
        &["prices", "show", "--asset", "ETH", "--format", "json"],
    );
    assert_eq!(cov["daily"]["days"], 730);
    // again: the same closes, unchanged
    let r = ok_json(&db, &args);
    assert_eq!((&r["new"], &r["unchanged"]), (&0.into(), &730.into()));
}

#[test]
fn fetch_reports_malformed_answers_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let (server, _) = eth_server();
    let url = server.url.replace("http://", "http://user:s3cret@");
    let args = [
        "prices",
        "fetch",
        "--asset",
        "ETH",
        "--from",
        "2022-01-01",
        "--to",
        "2022-01-31",
        "--url",
        &url,
    ];
    // an unparsable body, every time: retried, then a clear error
    *server.always.lock().unwrap() = Some(Fault::Truncated);
    let o = run(&db, &args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("/products/ETH-USD/candles?granularity=86400&start=2022-01-01"),
        "{err}"
    );
    assert!(err.contains("invalid JSON"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    assert_eq!(server.requests.lock().unwrap().len(), 5);
    // JSON of another shape: refused at once
    *server.always.lock().unwrap() = Some(Fault::WrongShape);
    let o = run(&db, &args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("malformed answer") && err.contains("/products/ETH-USD/candles"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    assert_eq!(server.requests.lock().unwrap().len(), 6);
    // an unknown product: the API's 404, at once
    *server.always.lock().unwrap() = None;
    let o = run(
        &db,
        &[
            "prices",
            "fetch",
            "--asset",
            "NOPE",
            "--from",
            "2022-01-01",
            "--to",
            "2022-01-31",
            "--url",
            &server.url,
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("404") && err.contains("NOPE-USD"), "{err}");
    let cov = ok_json(
        &db,
        &["prices", "show", "--asset", "ETH", "--format", "json"],
    );
    assert_eq!(cov["daily"], Value::Null);
}

#[test]
fn show_says_which_price_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    // nothing loaded: the embedded monthly table, the stablecoin rule, or nothing
    let p = show(&db, "BTC", "2017-01-15");
    assert_eq!(p["price"]["kind"], "monthly");
    assert_eq!(p["price"]["date"], "2017-01-01");
    assert_eq!(p["price"]["source"], "embedded:coinbase-bitstamp");
    let p = show(&db, "DAI", "2022-03-23");
    assert_eq!(
        (&p["price"]["kind"], &p["price"]["usd"]),
        (&"stablecoin".into(), &1.0.into())
    );
    let p = show(&db, "ETH", "2017-06-01");
    assert_eq!(p["price"], Value::Null);
    assert!(p["why"].as_str().unwrap().contains("no USD value"));
    // table output names the kind and the reason
    let o = run(
        &db,
        &["prices", "show", "--asset", "WETH", "--date", "2022-03-23"],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(
        out.contains("monthly") && out.contains("embedded:yfinance") && out.contains("ETH"),
        "{out}"
    );
    let o = run(&db, &["prices", "show", "--asset", "ETH"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("monthly averages: 88 months, 2017-11..2025-02"),
        "{out}"
    );
}
