//! CoinJoins with `--demix` (ADR 0003 "CoinJoins with --demix") on real signed transactions
//! (tests/common/btc.rs) written through the fetchers' conversion into a real SQLite store,
//! traced through the library and the CLI. Amounts in sats, computed by hand below.
//!
//! ## Whirlpool (pool 0.01 BTC): Tx0, a mix, a remix, an exchange
//!   tx0: U 1,550,255 (clean) + S 1,550,255 (seed, tainted) → P1, P2, P3 1,000,170 each,
//!        W 50,000 (coordinator fee), OP_RETURN, S2 49,000, fee 1,000 (a Tx0: not a CoinJoin,
//!        the model applies)
//!   mix1: R1 1,000,000, P1, N1 1,000,170, P2, R2 1,000,000 → M1…M5 1,000,000, fee 510
//!   mix2 (remix): M1, N2 1,000,200, M2, N3, N4 (1,000,200) → Q1…Q5 1,000,000, fee 600
//!   pay: Q1 → E 999,000 (exchange), fee 1,000
//!
//! haircut: tx0 halves every output: P 500,085 each, W 25,000, S2 24,500, fee 500.
//!   demix mix1: P1 and P2 each cut into mixed 1,000,000 (taint floor(500,085·10⁶/1,000,170) =
//!   500,000) and rest 170 (taint 85) → mixed taint 1,000,000 over 5 outputs: 200,000 each; the
//!   rest 170 → the fee. mix2: M1, M2 mixed whole: 400,000 / 5 = 80,000 each, fee 0.
//!   pay: E floor(80,000·999,000/10⁶) = 79,920, fee 80.
//!   Endpoints: E 79,920; fee 500 + 170 + 0 + 80 = 750; unspent P3 500,085, W 25,000,
//!   S2 24,500, M3…M5 200,000 each, Q2…Q5 80,000 each. Σ = 1,550,255 = injected.
//!   Without --demix (the model, cumulative floors): mix1 taint 1,000,170 over 5×10⁶ + 510 →
//!   200,013 / 200,014 / 200,013 / 200,014 / 200,013, fee 103; mix2 400,027 over 5×10⁶ + 600 →
//!   79,995 / 79,996 ×4, fee 48; pay E 79,915, fee 80; fees 731.
//! fifo: tx0 lots [C 1,550,255, T 1,550,255] in order: P1 clean, P2 C 550,085 + T 450,085,
//!   P3 T, W T, S2 T, fee T 1,000. demix mix1: P2's lots cut [mixed 10⁶ | rest 170]: mixed
//!   taint 449,915 → 89,983 each of 5; rest T 170 → fee. mix2: 2 × 89,983 = 179,966 →
//!   cumulative floors 35,993 ×4, 35,994. pay: Q1's lots [T 35,993, C …] → E 35,993, fee 0.
//!   Endpoints: E 35,993; fee 1,000 + 170 = 1,170; unspent P3 1,000,170, W 50,000, S2 49,000,
//!   M3…M5 89,983 each, Q2…Q4 35,993, Q5 35,994.
//! poison: tx0 all; demix mix1: every M and the fee 510 (a tainted rest entered); mix2: every Q,
//!   but the fee 600 stays clean (the remixes carried no rest: the fee came from the clean
//!   new entrants) — without --demix it is tainted. E 999,000; fees 1,000 + 510 + 0 + 1,000.
//!
//! ## Wasabi 1 (d = 0.1 BTC, a second level 2d): 12 inputs, coordinator fee, changes
//!   inputs: i0 S 13,000,000 and i1 S 11,000,000 (tainted); clean i2 10,967,000,
//!   i3 24,000,000, i4 20,500,000, i5…i11 10,004,000.
//!   outputs: v0…v9 10,000,000; v10, v11 20,000,000; v12 2,996,000 (i0's change: 13M − d −
//!   4,000); v13 996,000 (i1's); v14 962,000 (i2's); v15 3,995,000 (i3's: 24M − 2d − 5,000);
//!   v16 496,000 (i4's); v17 30,000 (coordinator); fee 20,000.
//!   Change rule (tolerance d/100 = 100,000; 2d/100 = 200,000): i0's window [2.9M, 3M] holds
//!   only v12 → identified; i1's [900,000, 1M] holds v13 and v14 → not; i2's [867,000, 967,000]
//!   holds v14, but i1 claims it too → not; i3 (at 2d) → v15, i4 (at 2d) → v16, identified
//!   (clean: they only keep v15, v16 out of the rest).
//! haircut demix: i0 → mixed 10M (taint 10M), change v12 2,996,000, rest 4,000; i1 → mixed
//!   10M, rest 1,000,000. Level d: 20M / 10 = 2,000,000 each of v0…v9; level 2d: 0. Rest
//!   1,004,000 over v13, v14, v17, fee (2,008,000 = twice): 498,000, 481,000, 15,000, 10,000.
//!   fifo: the same (every tainted input is wholly tainted). poison demix: v0…v9, v12, v13,
//!   v14, v17, fee tainted = 105,004,000; v10, v11, v15, v16 clean.
//!   --no-heuristic coinjoin_change (or --min-confidence 0.95 > 0.9): nothing identified; rest
//!   = 3,000,000 + 1,000,000 over v12…v17 + fee (9,495,000): 1,262,137, 419,590, 405,266,
//!   1,682,991, 208,952, 12,638, 8,426; levels as before.
//!   Without --demix: 24M over all outputs in proportion (cumulative floors, total 149,495,000).

mod common;

use std::path::Path;

use bitcoin::Transaction;
use common::btc::Key;
use common::coinjoin_chain::{a, wasabi, whirlpool};
use moneytrail::fetch::utxo::txhash;
use moneytrail::model::Chain;
use moneytrail::store::Store;
use moneytrail::trace::{self, ModelKind, TraceConfig, TraceResult};
fn run(
    db: &Path,
    seed: &Key,
    model: ModelKind,
    demix: bool,
    edit: impl Fn(&mut TraceConfig),
) -> TraceResult {
    let store = Store::open(db).unwrap();
    let mut cfg = TraceConfig::new(Chain::BITCOIN, vec![a(seed)]);
    cfg.model = model;
    cfg.from_block = 1;
    cfg.follow.demix = demix;
    edit(&mut cfg);
    trace::run(trace::load(&store, &cfg).unwrap(), &cfg).unwrap()
}

fn amount(r: &TraceResult, cat: &str, who: Option<&Key>) -> u64 {
    r.endpoints
        .iter()
        .filter(|e| e.category == cat && who.is_none_or(|w| e.address == Some(a(w))))
        .map(|e| e.amount.to::<u64>())
        .sum()
}

fn total(r: &TraceResult) -> u64 {
    r.endpoints.iter().map(|e| e.amount.to::<u64>()).sum()
}

fn lines(r: &TraceResult, heuristic: &str) -> Vec<serde_json::Value> {
    r.evidence
        .iter()
        .filter(|e| e.heuristic == heuristic)
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

fn txid(t: &Transaction) -> String {
    txhash(t.compute_txid()).display(Chain::BITCOIN)
}

#[test]
fn whirlpool_tx0_mix_and_remix_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let w = whirlpool(&db);
    let k = |n: &str| w.keys[n];
    // (model, E, fees, P3, W, S2, each of M3..M5, Q2..Q5)
    type Row = (ModelKind, u64, u64, u64, u64, u64, [u64; 3], [u64; 4]);
    let rows: [Row; 3] = [
        (
            ModelKind::Haircut,
            79_920,
            750,
            500_085,
            25_000,
            24_500,
            [200_000; 3],
            [80_000; 4],
        ),
        (
            ModelKind::Fifo,
            35_993,
            1_170,
            1_000_170,
            50_000,
            49_000,
            [89_983; 3],
            [35_993, 35_993, 35_993, 35_994],
        ),
        (
            ModelKind::Poison,
            999_000,
            2_510,
            1_000_170,
            50_000,
            49_000,
            [1_000_000; 3],
            [1_000_000; 4],
        ),
    ];
    for (model, e, fees, p3, wf, s2, ms, qs) in rows {
        let r = run(&db, &k("S"), model, true, |_| {});
        assert_eq!(r.assets[0].injected.to::<u64>(), 1_550_255, "{model}");
        assert_eq!(amount(&r, "exchange", Some(&k("E"))), e, "{model} E");
        assert_eq!(amount(&r, "fee", None), fees, "{model} fees");
        assert_eq!(amount(&r, "unspent", Some(&k("P3"))), p3, "{model} P3");
        assert_eq!(amount(&r, "unspent", Some(&k("W"))), wf, "{model} W");
        assert_eq!(amount(&r, "unspent", Some(&k("S2"))), s2, "{model} S2");
        for (m, want) in ["M3", "M4", "M5"].iter().zip(ms) {
            assert_eq!(amount(&r, "unspent", Some(&k(m))), want, "{model} {m}");
        }
        for (q, want) in ["Q2", "Q3", "Q4", "Q5"].iter().zip(qs) {
            assert_eq!(amount(&r, "unspent", Some(&k(q))), want, "{model} {q}");
        }
        let sum = e + fees + p3 + wf + s2 + ms.iter().sum::<u64>() + qs.iter().sum::<u64>();
        assert_eq!(total(&r), sum, "{model}: no other endpoint");
        assert!(r.conservation_ok, "{model}");
        if model != ModelKind::Poison {
            assert_eq!(sum, 1_550_255, "{model}: injected = Σ endpoints");
        } else {
            assert_eq!(r.swept_in[0].to::<u64>(), sum - 1_550_255);
        }
        // one line per CoinJoin the taint passed through (not the Tx0), none for change
        let eq = lines(&r, "coinjoin_equal_outputs");
        assert_eq!(eq.len(), 2, "{model}");
        assert!(lines(&r, "coinjoin_change").is_empty());
        for (l, tx) in eq.iter().zip(["mix1", "mix2"]) {
            assert_eq!(l["entity"], "whirlpool");
            assert_eq!(l["linked_to"], txid(&w.txs[tx]));
            assert_eq!(l["witness_txs"], serde_json::json!([txid(&w.txs[tx])]));
            assert_eq!(l["confidence"], 0.2);
            assert_eq!(l["measured"]["participants"], 5);
            assert_eq!(l["measured"]["denomination"], "1000000");
            assert_eq!(l["parameters"]["model"], model.as_str());
        }
        let shares = |l: &serde_json::Value| -> Vec<String> {
            l["measured"]["levels"][0]["per_output_share"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["taint"].as_str().unwrap().to_string())
                .collect()
        };
        if model == ModelKind::Haircut {
            assert_eq!(eq[0]["address"], a(&k("P1")).to_string());
            assert_eq!(shares(&eq[0]), vec!["200000"; 5]);
            assert_eq!(eq[0]["measured"]["taint_to_rest"], "170");
            assert_eq!(eq[1]["address"], a(&k("M1")).to_string());
            assert_eq!(shares(&eq[1]), vec!["80000"; 5]);
            assert_eq!(
                eq[1]["measured"]["tainted_inputs"]
                    .as_array()
                    .unwrap()
                    .len(),
                2
            );
        }
        if model == ModelKind::Fifo {
            // P1 came out of the Tx0 clean under FIFO: only P2 is a tainted input of mix1
            assert_eq!(eq[0]["address"], a(&k("P2")).to_string());
            assert_eq!(eq[0]["measured"]["levels"][0]["taint"], "449915");
            assert_eq!(
                shares(&eq[1]),
                ["35993", "35993", "35993", "35993", "35994"]
            );
        }
    }

    // lifo, tiho: conservation through the Tx0, both mixes and the payment
    for model in [ModelKind::Lifo, ModelKind::Tiho] {
        let r = run(&db, &k("S"), model, true, |_| {});
        assert!(r.conservation_ok, "{model}");
        assert_eq!(total(&r), 1_550_255, "{model}");
        assert_eq!(lines(&r, "coinjoin_equal_outputs").len(), 2, "{model}");
    }

    // without --demix the models apply to the CoinJoins as to any tx (unchanged default)
    let r = run(&db, &k("S"), ModelKind::Haircut, false, |_| {});
    assert_eq!(amount(&r, "exchange", Some(&k("E"))), 79_915);
    assert_eq!(amount(&r, "fee", None), 731);
    let m: Vec<u64> = ["M3", "M4", "M5"]
        .iter()
        .map(|m| amount(&r, "unspent", Some(&k(m))))
        .collect();
    assert_eq!(m, [200_013, 200_014, 200_013]);
    let q: Vec<u64> = ["Q2", "Q3", "Q4", "Q5"]
        .iter()
        .map(|q| amount(&r, "unspent", Some(&k(q))))
        .collect();
    assert_eq!(q, [79_996; 4]);
    assert!(r.conservation_ok && total(&r) == 1_550_255);
    assert!(r.evidence.is_empty());
    let p = run(&db, &k("S"), ModelKind::Poison, false, |_| {});
    assert_eq!(
        amount(&p, "fee", None),
        3_110,
        "poison taints the remix fee"
    );
    // --no-heuristic coinjoin_equal_outputs: the model again
    let off = run(&db, &k("S"), ModelKind::Haircut, true, |c| {
        c.follow.disabled = vec!["coinjoin_equal_outputs".into()]
    });
    let rows = |r: &TraceResult| -> Vec<String> {
        r.endpoints
            .iter()
            .map(|e| format!("{:?} {} {}", e.address, e.category, e.amount))
            .collect()
    };
    assert_eq!(rows(&off), rows(&r));
    assert!(off.evidence.is_empty());
}

#[test]
fn wasabi_round_with_two_levels_changes_and_coordinator_fee() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let (keys, round) = wasabi(&db);
    let k = |n: &str| keys[n];
    let v = |r: &TraceResult, i: usize| amount(r, "unspent", Some(&k(&format!("v{i}"))));
    for model in [ModelKind::Haircut, ModelKind::Fifo] {
        let r = run(&db, &k("S"), model, true, |_| {});
        assert_eq!(r.assets[0].injected.to::<u64>(), 24_000_000);
        for i in 0..10 {
            assert_eq!(v(&r, i), 2_000_000, "{model} v{i}");
        }
        let rest: Vec<u64> = (10..18).map(|i| v(&r, i)).collect();
        assert_eq!(
            rest,
            [0, 0, 2_996_000, 498_000, 481_000, 0, 0, 15_000],
            "{model}"
        );
        assert_eq!(amount(&r, "fee", None), 10_000, "{model}");
        assert_eq!(total(&r), 24_000_000);
        assert!(r.conservation_ok);

        let ch = lines(&r, "coinjoin_change");
        assert_eq!(ch.len(), 1, "only the tainted input's change");
        let c = &ch[0];
        assert_eq!(c["address"], a(&k("S")).to_string());
        assert_eq!(c["linked_to"], a(&k("v12")).to_string());
        assert_eq!(c["entity"], "wasabi1");
        assert_eq!(c["confidence"], 0.9);
        assert_eq!(c["measured"]["change_value"], "2996000");
        assert_eq!(c["measured"]["fee_share"], "4000");
        assert_eq!(c["measured"]["denomination"], "10000000");
        assert_eq!(c["measured"]["change_taint"], "2996000");
        assert_eq!(c["measured"]["applied"], true);
        assert_eq!(c["witness_txs"], serde_json::json!([txid(&round)]));
        let eq = lines(&r, "coinjoin_equal_outputs");
        assert_eq!(eq.len(), 1);
        let e = &eq[0];
        assert_eq!(e["entity"], "wasabi1");
        assert_eq!(
            e["parameters"]["denominations"],
            serde_json::json!(["10000000", "20000000"])
        );
        assert_eq!(e["confidence"], 0.1);
        let lv = e["measured"]["levels"].as_array().unwrap();
        assert_eq!(lv.len(), 1, "only level d received taint");
        assert_eq!(lv[0]["participants"], 10);
        assert_eq!(lv[0]["taint"], "20000000");
        assert_eq!(e["measured"]["taint_to_rest"], "1004000");
        assert_eq!(
            e["measured"]["identified_change_vouts"],
            serde_json::json!([12, 15, 16])
        );
        assert_eq!(e["measured"]["rest_vouts"], serde_json::json!([13, 14, 17]));
        assert_eq!(e["measured"]["unidentified_change"], 1);
    }

    // poison: equal outputs at d, the change, the rest and the fee; level 2d and the clean
    // inputs' identified changes stay clean
    let r = run(&db, &k("S"), ModelKind::Poison, true, |_| {});
    let got: Vec<u64> = (0..18).map(|i| v(&r, i)).collect();
    let mut want = vec![10_000_000; 10];
    want.extend([0, 0, 2_996_000, 996_000, 962_000, 0, 0, 30_000]);
    assert_eq!(got, want);
    assert_eq!(amount(&r, "fee", None), 20_000);
    assert_eq!(total(&r), 105_004_000);
    assert_eq!(r.swept_in[0].to::<u64>(), 81_004_000);

    // change identification off, or below the threshold (the change line is written, not
    // applied): the remainders go to the rest
    for (below, edit) in [
        (
            false,
            &(|c: &mut TraceConfig| c.follow.disabled = vec!["coinjoin_change".into()])
                as &dyn Fn(&mut TraceConfig),
        ),
        (true, &|c: &mut TraceConfig| c.follow.min_confidence = 0.95),
    ] {
        let r = run(&db, &k("S"), ModelKind::Haircut, true, edit);
        for i in 0..10 {
            assert_eq!(v(&r, i), 2_000_000);
        }
        let rest: Vec<u64> = (10..18).map(|i| v(&r, i)).collect();
        assert_eq!(
            rest,
            [
                0, 0, 1_262_137, 419_590, 405_266, 1_682_991, 208_952, 12_638
            ]
        );
        assert_eq!(amount(&r, "fee", None), 8_426);
        assert_eq!(total(&r), 24_000_000);
        let ch = lines(&r, "coinjoin_change");
        if below {
            assert_eq!(ch.len(), 1);
            assert_eq!(ch[0]["linked_to"], a(&k("v12")).to_string());
            assert_eq!(ch[0]["confidence"], 0.9);
            assert_eq!(ch[0]["measured"]["applied"], false);
            assert_eq!(ch[0]["measured"]["change_taint"], "0");
        } else {
            assert!(ch.is_empty());
        }
        let eq = lines(&r, "coinjoin_equal_outputs");
        assert_eq!(eq[0]["measured"]["unidentified_change"], 2);
        assert_eq!(eq[0]["measured"]["taint_to_rest"], "4000000");
    }

    // without --demix: the haircut over every output in proportion (cumulative floors)
    let r = run(&db, &k("S"), ModelKind::Haircut, false, |_| {});
    let mut values: Vec<u64> = round.output.iter().map(|o| o.value.to_sat()).collect();
    values.push(20_000);
    let want = cumulative_floors(24_000_000, &values);
    let got: Vec<u64> = (0..18).map(|i| v(&r, i)).collect();
    assert_eq!(got, want[..18]);
    assert_eq!(&got[..3], [1_605_404, 1_605_405, 1_605_405]);
    assert_eq!(amount(&r, "fee", None), want[18]);
    assert!(r.evidence.is_empty());
}

/// part i = floor(t·C_i/V) − floor(t·C_(i−1)/V), C the running sum, V the total.
fn cumulative_floors(t: u64, values: &[u64]) -> Vec<u64> {
    let total: u128 = values.iter().map(|v| *v as u128).sum();
    let mut cum = 0u128;
    let mut prev = 0u128;
    values
        .iter()
        .map(|v| {
            cum += *v as u128;
            let upto = t as u128 * cum / total;
            let part = upto - prev;
            prev = upto;
            part as u64
        })
        .collect()
}

#[test]
fn cli_trace_demix_writes_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let (keys, round) = wasabi(&db);
    let out = dir.path().join("out");
    let seed = a(&keys["S"]).to_string();
    let base = [
        "trace",
        "--chain",
        "bitcoin",
        "--offline",
        "--from-block",
        "1",
        "--seed",
        seed.as_str(),
        "--out",
        out.to_str().unwrap(),
    ];
    let mut args = base.to_vec();
    args.extend(["--demix", "--model", "haircut"]);
    common::ok(&common::moneytrail(&db, None, &args));
    let ev = std::fs::read_to_string(out.join("evidence.jsonl")).unwrap();
    let ev: Vec<serde_json::Value> = ev
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = ev
        .iter()
        .map(|e| e["heuristic"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["coinjoin_change", "coinjoin_equal_outputs"]);
    assert_eq!(ev[1]["witness_txs"][0], txid(&round));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["conservation_ok"], true);
    assert_eq!(summary["assets"]["BTC"]["by_category"]["fee"], "0.0001");
    let csv = std::fs::read_to_string(out.join("endpoints.csv")).unwrap();
    let change = a(&keys["v12"]).to_string();
    let row = csv.lines().find(|l| l.contains(&change)).unwrap();
    assert!(row.contains(",0.02996,"), "{row}");
    // the report lists both links
    let md = dir.path().join("r.md");
    common::ok(&common::moneytrail(
        &db,
        None,
        &[
            "report",
            "--trace",
            out.to_str().unwrap(),
            "--format",
            "md",
            "--out",
            md.to_str().unwrap(),
        ],
    ));
    let md = std::fs::read_to_string(md).unwrap();
    let links = md.split("## Inferred links").nth(1).unwrap();
    let links = links.split("\n## ").next().unwrap();
    assert!(links.contains(&change), "{links}");
    assert!(links.contains(&txid(&round)), "{links}");
    assert_eq!(links.matches("coinjoin").count(), 2, "{links}");

    // --no-heuristic coinjoin_change: no change line, the remainder split over the rest
    std::fs::remove_dir_all(&out).unwrap();
    let mut args = base.to_vec();
    args.extend(["--demix", "--no-heuristic", "coinjoin_change"]);
    common::ok(&common::moneytrail(&db, None, &args));
    let ev = std::fs::read_to_string(out.join("evidence.jsonl")).unwrap();
    assert_eq!(ev.lines().count(), 1);
    assert!(ev.contains("\"coinjoin_equal_outputs\""));
    let csv = std::fs::read_to_string(out.join("endpoints.csv")).unwrap();
    let row = csv.lines().find(|l| l.contains(&change)).unwrap();
    assert!(row.contains(",0.01262137,"), "{row}");

    // without --demix: no evidence
    std::fs::remove_dir_all(&out).unwrap();
    common::ok(&common::moneytrail(&db, None, &base));
    let ev = std::fs::read_to_string(out.join("evidence.jsonl")).unwrap_or_default();
    assert_eq!(ev.trim(), "");
}
