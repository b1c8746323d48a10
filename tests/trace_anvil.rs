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

use common::anvil::Anvil;
use serde_json::json;

const ETH: u128 = 1_000_000_000_000_000_000;

fn hex(v: u128) -> String {
    format!("{v:#x}")
}

fn fresh(n: u8) -> String {
    format!("0x{}", format!("{n:02x}").repeat(20))
}

struct Chain {
    anvil: Anvil,
    s: String,
    m: String,
    p1: String,
    dep: String,
    hot: String,
    pool: String,
}

fn send(a: &Anvil, from: &str, to: &str, value: u128, data: &str) -> String {
    a.send(json!({"from": from, "to": to, "value": hex(value), "data": data, "gas": "0x200000", "gasPrice": "0x0"}))
}

fn build() -> Chain {
    let anvil = Anvil::start_with(&["--base-fee", "0", "--gas-price", "0", "--no-priority-fee"]);
    let acc = anvil.accounts();
    let v = acc[0].clone();
    let (s, a1, a2, m, q, p1, dep, hot, pool) = (
        fresh(0x51),
        fresh(0xa1),
        fresh(0xa2),
        fresh(0x3d),
        fresh(0x0f),
        fresh(0x01),
        fresh(0xde),
        fresh(0xb0),
        fresh(0x70),
    );
    for x in [&s, &a1, &a2, &m, &p1, &dep] {
        anvil.impersonate(x, "0x0");
    }
    let src = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n\
        contract K { function fwd(address payable to) external payable { to.transfer(msg.value); }\n\
                     function boom() external payable { revert(\"no\"); } }\n\
        contract Tok { mapping(address => uint256) public balanceOf; event Transfer(address indexed from, address indexed to, uint256 value);\n\
          constructor() { balanceOf[msg.sender] = 1000; emit Transfer(address(0), msg.sender, 1000); }\n\
          function transfer(address to, uint256 v) external returns (bool) { balanceOf[msg.sender] -= v; balanceOf[to] += v; emit Transfer(msg.sender, to, v); return true; } }\n";
    let c = common::solc(&[("K.sol", src)]);
    let deploy = |bin: &str| {
        let h = anvil.send(json!({"from": acc[9], "data": format!("0x{bin}"), "gas": "0x500000", "gasPrice": "0x0"}));
        anvil.receipt(&h)["contractAddress"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let k = deploy(&c["K"].1);
    let tok = deploy(&c["Tok"].1);
    // M's own clean funds, and its payment before the taint
    send(&anvil, &acc[2], &m, 60 * ETH, "0x");
    send(&anvil, &m, &q, 10 * ETH, "0x");
    // the theft
    send(&anvil, &v, &s, 100 * ETH, "0x");
    send(&anvil, &s, &s, ETH, "0x");
    send(&anvil, &s, &a1, 30 * ETH, "0x");
    send(&anvil, &s, &a2, 70 * ETH, "0x");
    send(&anvil, &a1, &m, 30 * ETH, "0x");
    send(&anvil, &m, &p1, 40 * ETH, "0x");
    send(&anvil, &p1, &dep, 25 * ETH, "0x");
    send(&anvil, &dep, &hot, 25 * ETH, "0x");
    // A2 → K → POOL (internal transfer)
    let fwd = format!("0x8a0cc58d{:0>64}", pool.trim_start_matches("0x"));
    let h = send(&anvil, &a2, &k, 70 * ETH, &fwd);
    assert_eq!(anvil.receipt(&h)["status"], "0x1", "fwd must succeed");
    // a reverted call carrying value
    let h = anvil.send(json!({"from": p1, "to": k, "value": hex(3 * ETH), "data": "0xa169ce09", "gas": "0x100000", "gasPrice": "0x0"}));
    assert_eq!(anvil.receipt(&h)["status"], "0x0", "boom must revert");
    // address poisoning: a zero-value token transfer to the seed
    let zero = format!("0xa9059cbb{:0>64}{:0>64}", s.trim_start_matches("0x"), "0");
    send(&anvil, &acc[9], &tok, 0, &zero);
    Chain {
        anvil,
        s,
        m,
        p1,
        dep,
        hot,
        pool,
    }
}

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
