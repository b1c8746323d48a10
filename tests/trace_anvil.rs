//! End to end on a real anvil chain: `moneytrail labels import` then `moneytrail trace
//! --rpc-url` (which fetches through the frontier) for every model, endpoint amounts checked
//! against values computed by hand below, exact to the wei. The chain runs with base fee and
//! gas price 0, so no fees blur the hand computation (fee handling is covered with real fees in
//! tests/trace_scenarios.rs and by the fetch tests' ground truth).
//!
//! S (seed, fresh, holds nothing) is robbed into: V→S 100 ETH. M holds 60 clean, pays Q 10
//! before any taint arrives (trap). S→S 1 self-transfer (trap). S fans out: →A1 30, →A2 70.
//! A1→M 30 (M: 50 clean + 30 tainted). M→P1 40; P1→DEP 25 (peel); DEP→HOT 25 (sweep: DEP is
//! an unlabelled deposit address of the labelled exchange HOT). A2→K 70 where contract K
//! forwards it internally to POOL (labelled mixer). P1 sends 3 ETH in a reverted call (moves
//! nothing). A zero-value token transfer to S (address poisoning: moves nothing).
//!
//! haircut: M→P1 40·30/80 = 15; P1→DEP 15·25/40 = 9.375 → exchange 9.375, mixer 70, unspent
//!          M 15 + P1 5.625.
//! fifo:    M's lots [50 C, 30 T]: P1 gets 40 clean → exchange 0, mixer 70, unspent M 30.
//! lifo:    M→P1 takes 30 T + 10 C; P1→DEP takes 10 C + 15 T → exchange 15, mixer 70,
//!          unspent P1 15.
//! tiho:    M→P1: 40 out ties 40 staying, the outflow first: 30; P1→DEP: 25 out > 15 stay: 25 →
//!          exchange 25, mixer 70, unspent P1 5.
//! poison:  exchange 25, mixer 70, unspent M 40 + P1 15 (150 in all: 50 clean swept in).

mod common;

use std::process::Command;

use common::trace_chain::build;

fn moneytrail(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(db)
        .arg("-q")
        .args(args)
        .output()
        .unwrap()
}

fn csv_rows(path: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn trace_fetches_and_every_model_matches_the_hand_computation() {
    let c = build();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        format!("address,label,category,actor\n{},Hot wallet 1,exchange,binance\n{},Pool 100 ETH,mixer,tornado-cash\n", c.hot, c.pool),
    )
    .unwrap();
    let o = moneytrail(&db, &["labels", "import", labels.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // (model, exchange, mixer, unspent M, unspent P1) in ETH as decimal strings
    let cases = [
        ("haircut", "9.375", "70", "15", "5.625"),
        ("fifo", "0", "70", "30", "0"),
        ("lifo", "15", "70", "0", "15"),
        ("tiho", "25", "70", "0", "5"),
        ("poison", "25", "70", "40", "15"),
    ];
    for (model, exchange, mixer, at_m, at_p1) in cases {
        let out = dir.path().join(model);
        let o = moneytrail(
            &db,
            &[
                "trace",
                "--chain",
                "ethereum",
                "--rpc-url",
                &c.anvil.url,
                "--seed",
                &c.s,
                "--model",
                model,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(
            o.status.success(),
            "{model}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        let eth = &summary["assets"]["ETH"];
        assert_eq!(eth["injected"], "100", "{model}");
        assert_eq!(eth["by_category"]["exchange"], exchange, "{model}");
        assert_eq!(eth["by_category"]["mixer"], mixer, "{model}");
        assert_eq!(eth["by_category"]["fee"], "0", "{model}");
        assert_eq!(summary["conservation_ok"], true, "{model}");
        let rows = csv_rows(&out.join("endpoints.csv"));
        let find = |addr: &str, cat: &str| {
            rows.iter()
                .find(|r| r["address"].eq_ignore_ascii_case(addr) && r["category"] == cat)
                .map(|r| r["amount"].clone())
                .unwrap_or_else(|| "0".into())
        };
        assert_eq!(
            find(&c.dep, "exchange"),
            exchange,
            "{model}: the deposit address is the endpoint"
        );
        assert_eq!(find(&c.pool, "mixer"), mixer, "{model}");
        assert_eq!(find(&c.m, "unspent"), at_m, "{model}");
        assert_eq!(find(&c.p1, "unspent"), at_p1, "{model}");
        assert_eq!(
            find(&c.s, "unspent"),
            "0",
            "{model}: self-transfer and poisoning move nothing"
        );
        if exchange != "0" {
            let dep = rows
                .iter()
                .find(|r| r["address"].eq_ignore_ascii_case(&c.dep))
                .unwrap();
            assert_eq!(
                dep["entity"], "binance",
                "{model}: named although unlabelled"
            );
            assert_eq!(dep["min_hops"], "4", "{model}");
            let ev = std::fs::read_to_string(out.join("evidence.jsonl")).unwrap();
            assert!(ev.contains("exchange_deposit_address"), "{model}");
        }
    }
}
