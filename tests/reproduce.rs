//! `moneytrail reproduce` against local servers: a catalog overlay holds an EVM incident whose
//! seed is S of the real anvil chain of tests/trace_anvil.rs, served by the local
//! Blockscout-format server (tests/common/explorer.rs), and a Bitcoin incident whose seed is
//! the thief T of the signed-transaction chain served by the local Esplora server
//! (tests/common/esplora.rs), plus two incidents it cannot trace (a seed without history, a
//! chain without seeds). The run prints the totals table beside the year's published
//! estimates, writes one trace per incident and chain and OUT/totals/, lists what it could not
//! trace with the reason, and a second run fetches no more than needed and gives the same
//! totals. Without a reachable endpoint it fails within 10 s with the documented message; bad
//! input is exit 2.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::btc_chain::laundering;
use common::esplora::{EsploraServer, ServerOptions};
use common::explorer::{ChainData, Config, Explorer};
use common::trace_chain::build_at;
use moneytrail::model::{Address, BitcoinNetwork};

/// 2021-08-03 10:00:00 UTC: the anvil chain's blocks follow within seconds.
const T0: u64 = 1_627_984_800;

/// The year of the overlay's incidents (the embedded catalog has none that year, so the run
/// traces exactly the overlay; the year has published estimates).
const YEAR: &str = "2021";

fn moneytrail(db: &Path, catalog: &Path, args: &[&str]) -> Output {
    common::moneytrail(db, Some(catalog), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn csv_rows(p: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(p).unwrap();
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

fn incident_toml(
    id: &str,
    date: &str,
    chains: &str,
    stolen: &str,
    seeds: &[(&str, &str)],
) -> String {
    let mut s = format!(
        "id = \"{id}\"\nname = \"Test {id}\"\ndate = \"{date}\"\nchains = [{chains}]\n\
         usd_estimate = 1000000\nusd_estimate_source = \"this test\"\n{stolen}"
    );
    for (chain, a) in seeds {
        s.push_str(&format!(
            "\n[[addresses]]\nchain = \"{chain}\"\naddress = \"{a}\"\nrole = \"thief\"\nseed = true\nsource = \"this test\"\n"
        ));
    }
    s
}

/// The overlay: anvil-2021 (ethereum, seed S), btc-2021 (bitcoin, seed T), quiet-2021 (a
/// polygon seed with no history), tron-2021 (no seeds, a chain moneytrail cannot read).
fn write_catalog(dir: &Path, s: &str, t: &str) {
    let inc = dir.join("incidents");
    std::fs::create_dir_all(&inc).unwrap();
    let stolen_eth = "\n[[stolen]]\nchain = \"ethereum\"\nsymbol = \"ETH\"\namount = \"100\"\n";
    let stolen_btc = "\n[[stolen]]\nchain = \"bitcoin\"\nsymbol = \"BTC\"\namount = \"40\"\n";
    for (id, text) in [
        (
            "anvil-2021",
            incident_toml(
                "anvil-2021",
                "2021-08-03",
                "\"ethereum\"",
                stolen_eth,
                &[("ethereum", s)],
            ),
        ),
        (
            "btc-2021",
            incident_toml(
                "btc-2021",
                "2021-09-01",
                "\"bitcoin\"",
                stolen_btc,
                &[("bitcoin", t)],
            ),
        ),
        (
            "quiet-2021",
            incident_toml(
                "quiet-2021",
                "2021-10-01",
                "\"polygon\"",
                "",
                &[("polygon", "0x00000000000000000000000000000000000a11ce")],
            ),
        ),
        (
            "tron-2021",
            incident_toml("tron-2021", "2021-11-01", "\"tron\"", "", &[]),
        ),
    ] {
        std::fs::write(inc.join(format!("{id}.toml")), text).unwrap();
    }
}

/// Σ of summary.json's injected USD over its assets (None when an asset is unpriced).
fn summary_injected_usd(summary: &serde_json::Value) -> Option<f64> {
    let mut sum = 0.0;
    for a in summary["assets"].as_object().unwrap().values() {
        sum += a["usd"]["injected"].as_f64()?;
    }
    Some(sum)
}

#[test]
fn reproduce_traces_the_catalog_from_local_explorers_and_resumes() {
    // the EVM chain behind a Blockscout-format server
    let c = build_at(Some(T0));
    let blockscout = Explorer::start(
        Config::blockscout(),
        ChainData::from_anvil(&c.anvil),
        &c.anvil.url,
    );
    // the Bitcoin chain behind an Esplora server
    let l = laundering(24, 8);
    let t = Address::from_script(BitcoinNetwork::Mainnet, &l.keys["t"].script())
        .unwrap()
        .to_string();
    let esplora = EsploraServer::start(l.chain, ServerOptions::default());

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let cat = dir.path().join("catalog");
    write_catalog(&cat, &c.s, &t);
    let out = dir.path().join("out");
    let args = [
        "reproduce",
        "--year",
        YEAR,
        "--blockscout-url",
        &blockscout.url,
        "--esplora-url",
        &esplora.url,
        "--rate",
        "1000",
        "--out",
        out.to_str().unwrap(),
    ];
    let o = moneytrail(&db, &cat, &args);
    let text = stdout(&o);
    eprintln!("{text}");
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{text}\nstderr:\n{}",
        stderr(&o)
    );

    // the table names the incidents and every published estimate of the year
    for s in ["anvil-2021", "btc-2021", "quiet-2021", "tron-2021"] {
        assert!(text.contains(s), "{s} missing from:\n{text}");
    }
    let est = Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .args(["estimates", "--year", YEAR, "--exact", "--kind", "theft"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    let est: serde_json::Value = serde_json::from_slice(&est.stdout).unwrap();
    let est = est.as_array().unwrap();
    assert!(!est.is_empty(), "no published estimate of {YEAR}");
    for e in est {
        let id = e["id"].as_str().unwrap();
        assert!(text.contains(id), "estimate {id} missing from:\n{text}");
    }
    // what it could not trace, with the reason
    assert!(text.contains("no seed addresses in the catalog"), "{text}");
    assert!(text.contains("unsupported chain tron"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("quiet-2021") && l.contains("not traced: failed")),
        "{text}"
    );

    // one trace per incident and chain; totals as traced, injected = summary.json exactly
    let totals = out.join("totals");
    let incidents = csv_rows(&totals.join("totals_incidents.csv"));
    let breakdown = csv_rows(&totals.join("totals_breakdown.csv"));
    for (id, chain) in [("anvil-2021", "ethereum"), ("btc-2021", "bitcoin")] {
        let trace = out.join(id).join(chain);
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(trace.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["incident"], id);
        assert_eq!(summary["model"], "haircut");
        assert_eq!(summary["conservation_ok"], true, "{id}");
        assert!(trace.join("fetch.json").is_file());
        assert!(trace.join("flows.parquet").is_file());
        let row = incidents
            .iter()
            .find(|r| r["incident"] == id)
            .unwrap_or_else(|| panic!("{id} not in totals_incidents.csv"));
        assert_eq!(row["status"], "traced", "{row:?}");
        assert_eq!(row["chains"], chain);
        let usd: Option<f64> = row["injected_usd"].parse().ok();
        match (usd, summary_injected_usd(&summary)) {
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-6 * b.abs() + 0.01, "{id}"),
            (a, b) => assert_eq!(a, b, "{id}: injected USD"),
        }
        let assets = summary["assets"].as_object().unwrap();
        assert!(!assets.is_empty());
        for (sym, a) in assets {
            let got: Vec<&String> = breakdown
                .iter()
                .filter(|b| b["incident"] == id && b["kind"] == "injected" && &b["asset"] == sym)
                .map(|b| &b["amount"])
                .collect();
            assert_eq!(got, vec![a["injected"].as_str().unwrap()], "{id} {sym}");
            assert_ne!(a["injected"], "0", "{id} {sym}: nothing injected");
            for (cat, amount) in a["by_category"].as_object().unwrap() {
                let got = breakdown
                    .iter()
                    .filter(|b| b["incident"] == id && &b["kind"] == cat && &b["asset"] == sym)
                    .map(|b| b["amount"].parse::<f64>().unwrap())
                    .sum::<f64>();
                let want: f64 = amount.as_str().unwrap().parse().unwrap();
                assert!((got - want).abs() <= want * 1e-12, "{id} {sym} {cat}");
            }
        }
    }
    for (id, why) in [
        ("quiet-2021", "failed"),
        ("tron-2021", "no seed addresses in the catalog"),
    ] {
        let row = incidents.iter().find(|r| r["incident"] == id).unwrap();
        assert_eq!(row["status"], "not traced", "{row:?}");
        assert!(row["reason"].contains(why), "{row:?}");
    }
    for f in [
        "totals.json",
        "totals_incidents.parquet",
        "totals_breakdown.parquet",
        "totals_years.parquet",
        "totals_years.csv",
    ] {
        assert!(totals.join(f).is_file(), "{f}");
    }
    let years = csv_rows(&totals.join("totals_years.csv"));
    assert_eq!(years.len(), est.len());
    assert!(years.iter().all(|y| y["incidents_traced"] == "2"));

    // a second run resumes: the finished fetches are not repeated, the totals are the same
    let first_breakdown = std::fs::read_to_string(totals.join("totals_breakdown.csv")).unwrap();
    let strip_runs = |rows: Vec<HashMap<String, String>>| {
        rows.into_iter()
            .map(|mut r| {
                r.remove("runs");
                r
            })
            .collect::<Vec<_>>()
    };
    let first_incidents = strip_runs(incidents);
    let (b0, e0) = (blockscout.requests(), esplora.requests());
    let o = moneytrail(&db, &cat, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (b1, e1) = (blockscout.requests() - b0, esplora.requests() - e0);
    eprintln!("first run: {b0} Blockscout, {e0} Esplora requests; second run: {b1}, {e1}");
    // the probe and the head of each chain; quiet-2021's seed has no history, so it is asked
    // again (a handful of requests)
    assert!(
        e1 <= 2,
        "Esplora: {e1} requests on a re-run (first run {e0})"
    );
    assert!(
        b1 < b0 / 2 && b1 <= 12,
        "Blockscout: {b1} requests on a re-run (first run {b0})"
    );
    assert_eq!(
        std::fs::read_to_string(totals.join("totals_breakdown.csv")).unwrap(),
        first_breakdown
    );
    assert_eq!(
        strip_runs(csv_rows(&totals.join("totals_incidents.csv"))),
        first_incidents
    );
}

/// Run reproduce against `url` and return (exit code, stderr, seconds).
fn run_against(url: &str) -> (Option<i32>, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("catalog");
    write_catalog(&cat, "0x5151515151515151515151515151515151515151", "");
    std::fs::remove_file(cat.join("incidents/btc-2021.toml")).unwrap();
    let clock = Instant::now();
    let o = moneytrail(
        &dir.path().join("m.db"),
        &cat,
        &[
            "reproduce",
            "--incident",
            "anvil-2021",
            "--blockscout-url",
            url,
            "--out",
            dir.path().join("out").to_str().unwrap(),
        ],
    );
    let took = clock.elapsed();
    assert!(!dir.path().join("out").exists(), "nothing written");
    (o.status.code(), stderr(&o), took)
}

#[test]
fn an_unreachable_endpoint_fails_within_10_s_with_the_documented_message() {
    // a closed port: the connection is refused
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // a port that accepts connections (the kernel's backlog) but never answers
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    for url in [
        format!("http://127.0.0.1:{closed}/api"),
        format!("http://127.0.0.1:{silent_port}/api"),
    ] {
        let (code, err, took) = run_against(&url);
        eprintln!("{url}: exit {code:?} after {took:?}: {err}");
        assert_eq!(code, Some(1), "{err}");
        assert!(took < Duration::from_secs(10), "{url}: took {took:?}");
        assert!(err.contains(&format!("cannot reach {url} (")), "{err}");
        assert!(
            err.contains(
                "reproduce needs network access to the public explorers — run `moneytrail demo` \
                 to see moneytrail work offline"
            ),
            "{err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    drop(silent);
}

#[test]
fn bad_input_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("catalog");
    write_catalog(&cat, "0x5151515151515151515151515151515151515151", "");
    std::fs::remove_file(cat.join("incidents/btc-2021.toml")).unwrap();
    let db = dir.path().join("m.db");
    // nothing is contacted before the input is checked: a closed port would fail with exit 1
    let o = moneytrail(
        &db,
        &cat,
        &[
            "reproduce",
            "--incident",
            "no-such-incident",
            "--blockscout-url",
            "http://127.0.0.1:9/api",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("unknown incident 'no-such-incident'"));
    let o = moneytrail(
        &db,
        &cat,
        &[
            "reproduce",
            "--year",
            "2018",
            "--blockscout-url",
            "http://127.0.0.1:9/api",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("no catalogued incident in 2018"), "{err}");
    assert!(err.contains("2021") && err.contains("2022"), "{err}");
    let o = moneytrail(
        &db,
        &cat,
        &["reproduce", "--incident", "anvil-2021", "--year", "2022"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("anvil-2021"));
}
