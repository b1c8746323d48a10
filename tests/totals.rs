//! `moneytrail totals`: the published estimates of a year with their sources; the totals of a
//! trace of a real anvil chain (the chain of tests/trace_anvil.rs, dated 2022-03-23 so real
//! daily ETH prices apply) agree with its summary.json to the base unit in table, CSV, JSON and
//! Parquet form, and every USD figure is the amount × the close of the transfer day, read here
//! independently from the real price file.

mod common;

use common::ok;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::trace_chain::build_at;

/// 2022-03-23 10:00:00 UTC (the Ronin theft day; anvil's blocks follow within seconds).
const T0: u64 = 1_648_029_600;

/// `moneytrail -q …` (see [`common::moneytrail`]).
fn moneytrail(db: &Path, catalog: Option<&Path>, args: &[&str]) -> Output {
    common::moneytrail(db, catalog, &[&["-q"], args].concat())
}

fn eth_prices_file() -> PathBuf {
    common::shared_data()
        .join("prices/prices-yfinance-budydeveloper/yfinance/cryptos/eth/ETH-USD_1d.csv")
}

/// The close of `day` (YYYY-MM-DD) in the real yfinance ETH-USD file, read independently.
fn eth_close(day: &str) -> f64 {
    let mut r = csv::Reader::from_path(eth_prices_file()).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        if rec[0].starts_with(day) {
            return rec[4].parse().unwrap();
        }
    }
    panic!("{day} not in the ETH price file");
}

fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|x| {
            let x = x.unwrap();
            h.iter()
                .zip(x.iter())
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn totals_of_2022_set_every_published_estimate_beside_the_trace_with_sources() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let v: serde_json::Value = serde_json::from_str(&ok(&moneytrail(
        &db,
        None,
        &["totals", "--year", "2022", "--format", "json"],
    )))
    .unwrap();
    let years = v["years"].as_array().unwrap();
    let row = |id: &str| {
        years
            .iter()
            .find(|y| y["estimate_id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {years:?}"))
    };
    for (id, range, publisher) in [
        ("state-dept-2022", "$600M–$1B", "US State Department"),
        (
            "un-poe-2022",
            "$630M–$1B",
            "UN Security Council 1718 Panel of Experts",
        ),
        ("nis-2022-1.29b", "$1.29B", "South Korea NIS"),
        ("sk-gov-2022", ">$700M", "South Korean government"),
        ("chainalysis-2022", "$1.7B", "Chainalysis"),
    ] {
        let r = row(id);
        assert_eq!(r["range"], range, "{id}");
        assert_eq!(r["publisher"], publisher, "{id}");
        assert!(!r["source"].as_str().unwrap().is_empty(), "{id}");
        let url = r["url"].as_str().unwrap();
        assert!(url.is_empty() || url.starts_with("http"), "{id}");
        assert_eq!(r["year"], 2022);
        // nothing traced yet: 0 traced, and the incidents of 2022 listed as not traced
        assert_eq!(r["traced_usd"], 0.0);
        assert_eq!(r["incidents_traced"], 0);
    }
    assert_eq!(row("state-dept-2022")["low_usd"], 600_000_000u64);
    assert_eq!(row("state-dept-2022")["high_usd"], 1_000_000_000u64);
    assert_eq!(row("un-poe-2022")["low_usd"], 630_000_000u64);
    assert_eq!(row("chainalysis-2022")["point_usd"], 1_700_000_000u64);
    // every estimate of the year, none of another period (multi-year figures are not a year's)
    assert!(years.iter().all(|y| y["year"] == 2022));
    assert!(
        !years
            .iter()
            .any(|y| y["estimate_id"] == "chainalysis-2016-2022")
    );
    let inc = v["incidents"].as_array().unwrap();
    for id in ["ronin-2022", "harmony-2022"] {
        let i = inc.iter().find(|i| i["incident"] == id).unwrap();
        assert_eq!(i["status"], "not traced", "{id}");
        assert!(i["reason"].as_str().unwrap().contains("trace --incident"));
    }
    // the table says the same, with the not-traced list
    let t = ok(&moneytrail(&db, None, &["totals", "--year", "2022"]));
    for s in [
        "$600M–$1B",
        "$630M–$1B",
        "$1.29B",
        ">$700M",
        "$1.7B",
        "Not (fully) traced",
        "ronin-2022",
    ] {
        assert!(t.contains(s), "{s} missing from:\n{t}");
    }
}

#[test]
fn totals_of_an_anvil_trace_agree_with_its_summary_to_the_base_unit() {
    let c = build_at(Some(T0));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    // a catalog overlay holding one incident whose seed is the chain's S
    let cat = common::trace_chain::incident_overlay(dir.path(), "anvil-2022", "2022-03-23", &c.s);
    let labels = common::trace_chain::labels_csv(dir.path(), &c);
    ok(&moneytrail(
        &db,
        None,
        &["labels", "import", labels.to_str().unwrap()],
    ));
    ok(&moneytrail(
        &db,
        None,
        &[
            "prices",
            "import",
            eth_prices_file().to_str().unwrap(),
            "--asset",
            "ETH",
        ],
    ));
    let day = "2022-03-23";
    let close = eth_close(day);
    for model in ["haircut", "fifo"] {
        let out = dir.path().join(model);
        ok(&moneytrail(
            &db,
            Some(&cat),
            &[
                "trace",
                "--chain",
                "ethereum",
                "--rpc-url",
                &c.anvil.url,
                "--incident",
                "anvil-2022",
                "--model",
                model,
                "--parquet",
                "--out",
                out.to_str().unwrap(),
            ],
        ));
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["incident"], "anvil-2022");
        let eth = &summary["assets"]["ETH"];
        // every block of the chain is on the theft day: USD = amount × that day's close
        let usd = |amount: &str| amount.parse::<f64>().unwrap() * close;
        let close_to = |a: f64, b: f64| (a - b).abs() <= 0.01 + b.abs() * 1e-9;
        assert!(
            close_to(eth["usd"]["injected"].as_f64().unwrap(), usd("100")),
            "{model}"
        );
        for (cat, amount) in eth["by_category"].as_object().unwrap() {
            let got = eth["usd"]["by_category"][cat].as_f64().unwrap();
            assert!(
                close_to(got, usd(amount.as_str().unwrap())),
                "{model} {cat}: {got} vs {amount} × {close}"
            );
        }
        assert!(
            summary["pricing"]["prices"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["kind"] == "daily" && p["first"] == day && p["last"] == day),
            "{model}: {}",
            summary["pricing"]
        );
        let endpoints = csv_rows(&std::fs::read_to_string(out.join("endpoints.csv")).unwrap());
        for e in &endpoints {
            let got: f64 = e["usd"].parse().unwrap();
            assert!(close_to(got, usd(&e["amount"])), "{model}: {e:?}");
        }

        // the totals, in every form, equal summary.json exactly
        let tot = dir.path().join(format!("totals-{model}"));
        let j: serde_json::Value = serde_json::from_str(&ok(&moneytrail(
            &db,
            Some(&cat),
            &[
                "totals",
                "--incident",
                "anvil-2022",
                "--model",
                model,
                "--format",
                "json",
            ],
        )))
        .unwrap();
        let inc = &j["incidents"][0];
        assert_eq!(inc["incident"], "anvil-2022");
        assert_eq!(inc["status"], "traced");
        assert!(close_to(inc["injected_usd"].as_f64().unwrap(), usd("100")));
        assert!(close_to(
            inc["catalog_stolen_usd"].as_f64().unwrap(),
            usd("100")
        ));
        let breakdown = j["breakdown"].as_array().unwrap();
        let sum_of = |kind: &str| -> String {
            let xs: Vec<&serde_json::Value> =
                breakdown.iter().filter(|b| b["kind"] == kind).collect();
            // exact: amounts here are whole or short decimals of ETH; sum in wei
            let wei: u128 = xs
                .iter()
                .map(|b| to_wei(b["amount"].as_str().unwrap()))
                .sum();
            from_wei(wei)
        };
        assert_eq!(
            sum_of("injected"),
            eth["injected"].as_str().unwrap(),
            "{model}"
        );
        for (cat, amount) in eth["by_category"].as_object().unwrap() {
            assert_eq!(sum_of(cat), amount.as_str().unwrap(), "{model} {cat}");
        }
        for format in ["csv", "parquet"] {
            ok(&moneytrail(
                &db,
                Some(&cat),
                &[
                    "totals",
                    "--incident",
                    "anvil-2022",
                    "--model",
                    model,
                    "--format",
                    format,
                    "--out",
                    tot.to_str().unwrap(),
                ],
            ));
        }
        let csv_b = csv_rows(&std::fs::read_to_string(tot.join("totals_breakdown.csv")).unwrap());
        assert_eq!(csv_b.len(), breakdown.len());
        for (a, b) in csv_b.iter().zip(breakdown) {
            assert_eq!(a["kind"], b["kind"].as_str().unwrap());
            assert_eq!(a["amount"], b["amount"].as_str().unwrap());
        }
        let pq = read_parquet(&tot.join("totals_breakdown.parquet"));
        assert_eq!(pq.len(), breakdown.len());
        for (a, b) in pq.iter().zip(breakdown) {
            assert_eq!(a.0, b["kind"].as_str().unwrap());
            assert_eq!(a.1, b["amount"].as_str().unwrap());
            assert!(close_to(a.2.unwrap(), b["usd"].as_f64().unwrap()));
        }
        // the trace's own Parquet exports hold the CSVs' rows
        let flows_csv = csv_rows(&std::fs::read_to_string(out.join("flows.csv")).unwrap());
        let flows_pq = polars_rows(&out.join("flows.parquet"), "tainted_amount");
        assert_eq!(
            flows_pq,
            flows_csv
                .iter()
                .map(|r| r["tainted_amount"].clone())
                .collect::<Vec<_>>()
        );
    }
    // the year table counts the incident once per model, with the newest run
    let j: serde_json::Value = serde_json::from_str(&ok(&moneytrail(
        &db,
        Some(&cat),
        &["totals", "--year", "2022", "--format", "json"],
    )))
    .unwrap();
    let y = j["years"].as_array().unwrap();
    assert!(y.iter().all(|r| r["incidents_traced"] == 1));
    assert!(
        y.iter()
            .all(|r| close_to_f(r["traced_usd"].as_f64().unwrap(), 100.0 * close))
    );
    let sd = y
        .iter()
        .find(|r| r["estimate_id"] == "state-dept-2022")
        .unwrap();
    assert_eq!(sd["inside_range"], false);
    assert!(close_to_f(
        sd["ratio"].as_f64().unwrap(),
        100.0 * close / 800_000_000.0
    ));
}

fn close_to_f(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.01 + b.abs() * 1e-9
}

fn to_wei(s: &str) -> u128 {
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    let f = format!("{f:0<18}");
    i.parse::<u128>().unwrap() * 10u128.pow(18) + f.parse::<u128>().unwrap()
}

fn from_wei(w: u128) -> String {
    let i = w / 10u128.pow(18);
    let f = w % 10u128.pow(18);
    if f == 0 {
        i.to_string()
    } else {
        format!("{i}.{}", format!("{f:018}").trim_end_matches('0'))
    }
}

/// (kind, amount, usd) of a totals_breakdown.parquet, read with polars.
fn read_parquet(p: &Path) -> Vec<(String, String, Option<f64>)> {
    use polars::prelude::*;
    let f = std::fs::File::open(p).unwrap();
    let df = ParquetReader::new(f).finish().unwrap();
    let kind = df.column("kind").unwrap().str().unwrap().clone();
    let amount = df.column("amount").unwrap().str().unwrap().clone();
    let usd = df.column("usd").unwrap().f64().unwrap().clone();
    (0..df.height())
        .map(|i| {
            (
                kind.get(i).unwrap().to_string(),
                amount.get(i).unwrap().to_string(),
                usd.get(i),
            )
        })
        .collect()
}

fn polars_rows(p: &Path, col: &str) -> Vec<String> {
    use polars::prelude::*;
    let df = ParquetReader::new(std::fs::File::open(p).unwrap())
        .finish()
        .unwrap();
    let c = df.column(col).unwrap().str().unwrap().clone();
    (0..df.height())
        .map(|i| c.get(i).unwrap().to_string())
        .collect()
}
