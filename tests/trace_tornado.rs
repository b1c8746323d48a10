//! `trace --demix` end to end on a real anvil chain: two Tornado-style pools compiled from
//! Solidity, a clean crowd withdrawing through a relayer, and one laundering pattern per
//! heuristic (`tests/common/tornado.rs`). The demixer must follow exactly the planted links
//! (precision = recall = 1 on the planted set) and nothing in the crowd; with every heuristic
//! off, each crowd recipient's taint must equal an independent pool-haircut computation to the
//! wei.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::tornado::{self, Tornado};
use common::{moneytrail, ok, read_trace_dir};

const HEURISTICS: [&str; 5] = [
    "tornado_address_match",
    "tornado_unique_gas_price",
    "tornado_linked_addresses",
    "tornado_multi_denomination",
    "tornado_temporal_fifo",
];

fn wei(dec: &str) -> u128 {
    let (i, f) = dec.split_once('.').unwrap_or((dec, ""));
    let f = format!("{f:0<18}");
    i.parse::<u128>().unwrap() * 10u128.pow(18) + f.parse::<u128>().unwrap()
}

fn read_out(
    out: &std::path::Path,
) -> (serde_json::Value, Vec<serde_json::Value>, Vec<Vec<String>>) {
    let d = read_trace_dir(out);
    (d.summary, d.evidence, d.endpoints)
}

fn unspent_wei(endpoints: &[Vec<String>], who: &str) -> u128 {
    endpoints
        .iter()
        .filter(|e| e[1].eq_ignore_ascii_case(who) && e[3] == "unspent" && e[4] == "ETH")
        .map(|e| wei(&e[6]))
        .sum()
}

/// The pool haircut computed from the scenario's own record: per pool in chain order, a deposit
/// adds its denomination (tainted when the seed funded it: those depositors hold nothing else);
/// a withdrawal pays the recipient floor(t × (d − fee) / b), then the relayer floor(t' × fee / b').
fn pool_haircut(t: &Tornado) -> BTreeMap<String, u128> {
    let mut got: BTreeMap<String, u128> = BTreeMap::new();
    for (pool, d) in &t.pools {
        let mut ev: Vec<(u64, bool, usize)> = t
            .deposits
            .iter()
            .enumerate()
            .filter(|(_, x)| &x.pool == pool)
            .map(|(i, x)| (x.block, false, i))
            .chain(
                t.withdrawals
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| &x.pool == pool)
                    .map(|(i, x)| (x.block, true, i)),
            )
            .collect();
        ev.sort();
        let (mut b, mut tt) = (0u128, 0u128);
        for (_, is_w, i) in ev {
            if !is_w {
                b += d;
                if t.deposits[i].tainted {
                    tt += d;
                }
                continue;
            }
            let w = &t.withdrawals[i];
            for v in [d - w.fee, w.fee] {
                if v == 0 {
                    continue;
                }
                let part = if v == b {
                    tt
                } else {
                    primitive_mul_div(tt, v, b)
                };
                b -= v;
                tt -= part;
                if v == d - w.fee {
                    *got.entry(w.recipient.to_lowercase()).or_default() += part;
                }
            }
        }
    }
    got
}

fn primitive_mul_div(a: u128, b: u128, c: u128) -> u128 {
    let r = alloy_primitives::U256::from(a) * alloy_primitives::U256::from(b)
        / alloy_primitives::U256::from(c);
    r.to::<u128>()
}

/// `trace --chain ethereum --seed S --demix --max-hops 4 EXTRA… --out OUT` on `db`.
fn trace(db: &std::path::Path, t: &Tornado, extra: &[&str], out: &std::path::Path) {
    let mut args = vec![
        "trace",
        "--chain",
        "ethereum",
        "--seed",
        &t.s,
        "--demix",
        "--max-hops",
        "4",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&moneytrail(db, None, &args));
}

#[test]
fn demix_follows_exactly_the_planted_links_and_haircuts_the_rest() {
    let t = tornado::build();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let labels = tornado::labels_csv(dir.path(), &t);
    ok(&moneytrail(
        &db,
        None,
        &["labels", "import", labels.to_str().unwrap()],
    ));
    let out = dir.path().join("demix");
    trace(&db, &t, &["--rpc-url", &t.anvil.url], &out);
    let (summary, evidence, _) = read_out(&out);
    assert_eq!(summary["conservation_ok"], true);

    // followed links, per heuristic: (deposit tx, withdrawal tx)
    let mut found: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut reported_crowd = 0;
    let planted_w: BTreeSet<String> = t
        .planted
        .iter()
        .flat_map(|p| p.withdrawals.iter().map(|w| w.to_lowercase()))
        .collect();
    for e in &evidence {
        let h = e["heuristic"].as_str().unwrap();
        if !h.starts_with("tornado_") {
            continue;
        }
        let w = e["measured"]["withdrawal_tx"]
            .as_str()
            .unwrap()
            .to_lowercase();
        let d = e["measured"]["deposit_tx"].as_str().unwrap().to_lowercase();
        if e["followed"] == true {
            found.entry(h).or_default().insert((d, w));
        } else if !planted_w.contains(&w) {
            reported_crowd += 1;
            assert!(e["confidence"].as_f64().unwrap() < 0.6, "{e}");
        }
    }
    // every planted link found by its heuristic, nothing else followed
    let mut tp = 0;
    let mut all_found = 0;
    for p in &t.planted {
        let want: BTreeSet<(String, String)> = p
            .deposits
            .iter()
            .zip(&p.withdrawals)
            .map(|(d, w)| (d.to_lowercase(), w.to_lowercase()))
            .collect();
        let got = found.get(p.heuristic).cloned().unwrap_or_default();
        if p.heuristic == "tornado_multi_denomination" {
            // pairs within the set: same deposits and withdrawals, each pair in one pool
            let ds: BTreeSet<&String> = got.iter().map(|x| &x.0).collect();
            let ws: BTreeSet<&String> = got.iter().map(|x| &x.1).collect();
            let wd: BTreeSet<&String> = want.iter().map(|x| &x.0).collect();
            let ww: BTreeSet<&String> = want.iter().map(|x| &x.1).collect();
            assert_eq!((ds, ws), (wd, ww), "{}", p.heuristic);
            for (d, w) in &got {
                let dp = &t
                    .deposits
                    .iter()
                    .find(|x| x.tx.eq_ignore_ascii_case(d))
                    .unwrap()
                    .pool;
                let wp = &t
                    .withdrawals
                    .iter()
                    .find(|x| x.tx.eq_ignore_ascii_case(w))
                    .unwrap()
                    .pool;
                assert_eq!(dp, wp);
            }
        } else {
            assert_eq!(got, want, "{}", p.heuristic);
        }
        tp += got.len();
        all_found += want.len();
    }
    let followed: usize = found.values().map(|s| s.len()).sum();
    assert_eq!(
        followed, tp,
        "a followed link outside the planted set: {found:?}"
    );
    println!(
        "planted links {all_found}, followed {followed}, true {tp}: precision {:.3}, recall {:.3}; crowd links reported below the threshold: {reported_crowd}",
        tp as f64 / followed as f64,
        tp as f64 / all_found as f64
    );

    // the planted recipients got their deposits' taint back (minus nothing: linked deposits
    // are kept out of the pool haircut); relayed ones pay the relayer's fee share
    let (_, _, endpoints) = read_out(&out);
    let a = t.planted("tornado_address_match");
    assert!(unspent_wei(&endpoints, &a.recipient) > 0);
    // the crowd got no taint: every tainted deposit was linked
    let planted: Vec<String> = t.planted_recipients();
    for w in &t.withdrawals {
        if !planted.contains(&w.recipient) {
            assert_eq!(unspent_wei(&endpoints, &w.recipient), 0, "{}", w.recipient);
        }
    }

    // every heuristic off: the pool haircut alone, checked to the wei against the scenario
    let out2 = dir.path().join("haircut");
    trace(
        &db,
        &t,
        &["--offline", "--no-heuristic", &HEURISTICS.join(",")],
        &out2,
    );
    let (summary, evidence, endpoints) = read_out(&out2);
    assert_eq!(summary["conservation_ok"], true);
    assert!(
        evidence
            .iter()
            .all(|e| !e["heuristic"].as_str().unwrap().starts_with("tornado_"))
    );
    let expected = pool_haircut(&t);
    let mut checked = 0;
    let mut tainted_crowd = 0;
    for w in &t.withdrawals {
        if planted.contains(&w.recipient) {
            continue;
        }
        let want = expected
            .get(&w.recipient.to_lowercase())
            .copied()
            .unwrap_or(0);
        assert_eq!(
            unspent_wei(&endpoints, &w.recipient),
            want,
            "{}",
            w.recipient
        );
        checked += 1;
        tainted_crowd += (want > 0) as usize;
    }
    assert!(
        checked >= 20 && tainted_crowd > 0,
        "{checked} {tainted_crowd}"
    );
    // a window that opens at the theft, after the crowd's first deposits: the fetch records
    // each pool's balance at the window's opening (those deposits, clean) and the pool haircut
    // starts from it — the same figures as the whole history
    let theft_block = u64::from_str_radix(
        t.anvil
            .rpc("eth_getTransactionReceipt", serde_json::json!([t.theft_tx]))["blockNumber"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let before: Vec<&tornado::Deposit> = t
        .deposits
        .iter()
        .filter(|d| d.block < theft_block)
        .collect();
    assert!(!before.is_empty(), "crowd deposits before the window");
    let db3 = dir.path().join("window.db");
    ok(&moneytrail(
        &db3,
        None,
        &["labels", "import", labels.to_str().unwrap()],
    ));
    let out3 = dir.path().join("window");
    trace(
        &db3,
        &t,
        &[
            "--rpc-url",
            &t.anvil.url,
            "--from-block",
            &theft_block.to_string(),
            "--no-heuristic",
            &HEURISTICS.join(","),
        ],
        &out3,
    );
    let fetch: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out3.join("fetch.json")).unwrap()).unwrap();
    for (pool, d) in &t.pools {
        let p = fetch["pools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["address"].as_str().unwrap().eq_ignore_ascii_case(pool))
            .unwrap();
        let n = before.iter().filter(|x| &x.pool == pool).count() as u128;
        let w = t
            .withdrawals
            .iter()
            .filter(|x| &x.pool == pool && x.block < theft_block)
            .count() as u128;
        assert_eq!(p["opening_balance"], ((n - w) * d).to_string(), "{p}");
    }
    let (summary3, _, endpoints3) = read_out(&out3);
    assert_eq!(summary3["conservation_ok"], true);
    for w in &t.withdrawals {
        if planted.contains(&w.recipient) {
            continue;
        }
        let want = expected
            .get(&w.recipient.to_lowercase())
            .copied()
            .unwrap_or(0);
        assert_eq!(
            unspent_wei(&endpoints3, &w.recipient),
            want,
            "{}",
            w.recipient
        );
    }

    let pools = summary["demix"]["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 2);
    for p in pools {
        let addr = p["pool"].as_str().unwrap();
        let n = t
            .deposits
            .iter()
            .filter(|d| d.pool.eq_ignore_ascii_case(addr))
            .count();
        assert_eq!(p["deposits"], n as u64, "{p}");
        assert!(p["anonymity_set"]["min"].as_u64().unwrap() >= 2, "{p}");
    }
}
