//! The Bitcoin commands as a user runs them: `fetch --chain bitcoin --esplora-url` against the
//! local Esplora server, `import --format bitcoin-etl`, `cluster explain`, and bad input —
//! invalid or wrong-network addresses, malformed exports, unreachable nodes — as one line with
//! exit code 2.

mod common;

use std::process::{Command, Output};

use common::btc_chain::{etl_export, laundering};
use common::esplora::{EsploraServer, ServerOptions};
use moneytrail::model::{Address, BitcoinNetwork};
use serde_json::Value;

fn run(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("MONEYTRAIL_CATALOG")
        .env_remove("MONEYTRAIL_DB")
        .env_remove("BITCOIND_RPC_USER")
        .env_remove("BITCOIND_RPC_PASSWORD")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn assert_bad_input(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert!(
        err.contains(needle),
        "message should name '{needle}': {err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn fetch_import_and_explain_from_the_command_line() {
    let l = laundering(30, 8);
    let t = Address::from_script(BitcoinNetwork::Mainnet, &l.keys["t"].script())
        .unwrap()
        .to_string();
    let etl = etl_export(&l.chain, false);
    let server = EsploraServer::start(l.chain, ServerOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let args = [
        "fetch",
        "--chain",
        "bitcoin",
        "--esplora-url",
        &server.url,
        "--seed",
        &t,
        "--hops",
        "2",
        "--rate",
        "500",
        "--format",
        "json",
    ];
    let r = json(&run(&db, &args));
    assert_eq!(r["chain"], "bitcoin");
    assert_eq!(r["seeds"][0], t.as_str());
    assert!(r["txs_stored"].as_u64().unwrap() >= 32, "{r}");
    // a re-run at the same tip: the tip request only
    let r = json(&run(&db, &args));
    assert_eq!(
        (r["txs_stored"].as_u64(), r["requests"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );

    // import the whole chain from a bitcoin-etl export into the same database
    let file = dir.path().join("transactions.json");
    std::fs::write(&file, etl).unwrap();
    let f = file.to_str().unwrap();
    let r = json(&run(
        &db,
        &["import", "--format", "bitcoin-etl", f, "--output", "json"],
    ));
    assert!(r["txs_new"].as_u64().unwrap() > 0);
    let r = json(&run(
        &db,
        &["import", "--format", "bitcoin-etl", f, "--output", "json"],
    ));
    assert_eq!(r["txs_new"], 0);

    let e = json(&run(&db, &["cluster", "explain", &t, "--format", "json"]));
    assert_eq!(e["address"], t.as_str());
    assert!(e["cluster_size"].as_u64().unwrap() >= 1);
    let o = run(&db, &["cluster", "explain", &t]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("cluster of"));

    // bad input: one line, exit 2, naming the value
    let tb = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
    let o = run(
        &db,
        &[
            "fetch",
            "--chain",
            "bitcoin",
            "--esplora-url",
            &server.url,
            "--seed",
            tb,
        ],
    );
    assert_bad_input(&o, tb);
    let broken = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5";
    let o = run(
        &db,
        &[
            "fetch",
            "--chain",
            "bitcoin",
            "--esplora-url",
            &server.url,
            "--seed",
            broken,
        ],
    );
    assert_bad_input(&o, broken);
    let o = run(
        &db,
        &[
            "fetch",
            "--chain",
            "bitcoin",
            "--esplora-url",
            "ftp://x",
            "--seed",
            &t,
        ],
    );
    assert_bad_input(&o, "invalid Esplora URL");
    let o = run(
        &db,
        &[
            "fetch",
            "--chain",
            "bitcoin",
            "--bitcoind-url",
            "http://127.0.0.1:1",
            "--seed",
            &t,
            "--from-block",
            "1",
        ],
    );
    assert_bad_input(&o, "cannot reach bitcoind");
    let o = run(
        &db,
        &[
            "fetch",
            "--chain",
            "ethereum",
            "--esplora-url",
            &server.url,
            "--seed",
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
        ],
    );
    assert_bad_input(&o, "ethereum");
    let o = run(
        &db,
        &["cluster", "explain", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"],
    );
    assert_bad_input(&o, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    let o = run(&db, &["cluster", "explain", "not-an-address"]);
    assert_bad_input(&o, "not-an-address");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"hash\": \"zz\"}\n").unwrap();
    let o = run(
        &db,
        &["import", "--format", "bitcoin-etl", bad.to_str().unwrap()],
    );
    assert_bad_input(&o, "bad.json:1");
    let o = run(
        &db,
        &["import", "--format", "bitcoin-etl", "/nonexistent/x.json"],
    );
    assert_bad_input(&o, "/nonexistent/x.json");
}
