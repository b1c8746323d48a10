//! The trace engine on a hand-built laundering scenario stored in a real SQLite store, each
//! model's endpoint amounts computed by hand in the comments (exact to the base unit), run
//! through the library and through the `moneytrail trace` command.
//!
//! Scenario (amounts in wei; S seed, V victim, X an intermediary with 50 clean of its own,
//! Z next hop, D an unlabelled deposit address sweeping to HOT (labelled exchange "binance"),
//! M a labelled Tornado-style pool (mixer), C a contract forwarding internally to W):
//!   b1  V→S 100 ETH-wei (theft) and V→S 1000 USDC units (token log)          injected 100 / 1000
//!   b2  X→Y 5, X pays fee 1 (X is still clean: the trap "outflow before taint")
//!   b3  S→X 40, S pays fee 2                                                 fee 2 tainted
//!   b4  X→Z 42
//!   b5  Z→D 30; S→HOT 1000 USDC
//!   b6  D→HOT 30 (the sweep; D's fee 1 is paid from D's clean value)
//!   b7  X→M 42
//!   b8  S→S 10 self-transfer (moves nothing), S pays fee 1                   fee 1 tainted
//!   b9  a zero-value token transfer V→S (address poisoning: moves nothing)
//!   b10 S sends a reverted tx: only its fee 1 is stored                      fee 1 tainted
//!   b11 S→C 6, C→W 6 (internal call)

use moneytrail::model::{
    Address, Amount, Asset, AssetId, Category, Chain, Label, SubIndex, Transfer, TxHash,
};
use moneytrail::store::Store;
use moneytrail::trace::{self, ModelKind, TraceConfig};

fn addr(n: u8) -> Address {
    Address::Evm(alloy_primitives::Address::repeat_byte(n))
}
const S: u8 = 0x51;
const V: u8 = 0x56;
const X: u8 = 0x58;
const Y: u8 = 0x59;
const Z: u8 = 0x5a;
const D: u8 = 0xd0;
const HOT: u8 = 0xb1;
const M: u8 = 0x70;
const C: u8 = 0xc0;
const W: u8 = 0x77;

fn usdc() -> AssetId {
    AssetId::Token(alloy_primitives::Address::repeat_byte(0xaa))
}

fn tx(
    block: u64,
    sub: SubIndex,
    from: u8,
    to: Option<u8>,
    amount: u128,
    asset: AssetId,
) -> Transfer {
    let mut h = [0u8; 32];
    h[0] = block as u8;
    Transfer {
        chain: Chain::ETHEREUM,
        tx_hash: TxHash(alloy_primitives::B256::from(h)),
        sub,
        block,
        tx_index: 0,
        time: 1_650_000_000 + 12 * block as i64,
        from: Some(addr(from)),
        to: to.map(addr),
        asset,
        amount: Amount::from_base_units(amount),
    }
}

fn scenario() -> Vec<Transfer> {
    use SubIndex::*;
    let n = AssetId::Native;
    vec![
        tx(1, Value, V, Some(S), 100, n),
        tx(1, Log(3), V, Some(S), 1000, usdc()),
        tx(2, Fee, X, None, 1, n),
        tx(2, Value, X, Some(Y), 5, n),
        tx(3, Fee, S, None, 2, n),
        tx(3, Value, S, Some(X), 40, n),
        tx(4, Value, X, Some(Z), 42, n),
        tx(5, Value, Z, Some(D), 30, n),
        {
            let mut t = tx(5, Log(0), S, Some(HOT), 1000, usdc());
            t.tx_index = 1;
            t.tx_hash.0[1] = 1;
            t
        },
        tx(6, Fee, D, None, 1, n),
        tx(6, Value, D, Some(HOT), 30, n),
        tx(7, Value, X, Some(M), 42, n),
        tx(8, Fee, S, None, 1, n),
        tx(8, Value, S, Some(S), 10, n),
        tx(9, Log(0), V, Some(S), 0, usdc()),
        tx(10, Fee, S, None, 1, n),
        tx(11, Value, S, Some(C), 6, n),
        tx(11, Internal(vec![0]), C, Some(W), 6, n),
    ]
}

fn label(n: u8, category: Category, actor: &str) -> Label {
    Label {
        chain: Chain::ETHEREUM,
        address: addr(n),
        label: format!("{actor} wallet"),
        category,
        actor: Some(actor.into()),
        abuse: None,
        source: "test".into(),
        confidence: 90,
        context: None,
    }
}

/// A store with the scenario, labels and opening balances (X holds 50 clean, D holds 1 for gas).
fn store_at(path: &std::path::Path, reversed: bool) -> Store {
    let mut s = Store::open(path).unwrap();
    let mut w = s.writer().unwrap();
    let mut ts = scenario();
    if reversed {
        ts.reverse();
    }
    for t in &ts {
        w.insert_transfer(t).unwrap();
    }
    w.upsert_asset(&Asset {
        chain: Chain::ETHEREUM,
        id: usdc(),
        symbol: "USDC".into(),
        decimals: 6,
    })
    .unwrap();
    w.insert_label(&label(HOT, Category::Exchange, "binance"), "test")
        .unwrap();
    w.insert_label(&label(M, Category::Mixer, "tornado-cash"), "test")
        .unwrap();
    w.set_balance(
        Chain::ETHEREUM,
        &addr(X),
        AssetId::Native,
        0,
        Amount::from_base_units(50),
    )
    .unwrap();
    w.set_balance(
        Chain::ETHEREUM,
        &addr(D),
        AssetId::Native,
        0,
        Amount::from_base_units(1),
    )
    .unwrap();
    w.set_balance(Chain::ETHEREUM, &addr(S), AssetId::Native, 0, Amount::ZERO)
        .unwrap();
    w.commit().unwrap();
    s
}

struct Expect {
    model: ModelKind,
    exchange: u64,
    mixer: u64,
    unspent_s: u64,
    unspent_z: u64,
}

// Hand computation (ETH, wei). Fees of S: 2 + 1 + 1 = 4, tainted under every model (S holds
// only taint). S ends with 100 − 2 − 40 − 1 − 1 − 6 = 50; W holds 6 from C (all tainted).
// X before taint: 50 − 1 − 5 = 44 clean; after b3: 44 clean + 40 tainted = 84.
// b4 X→Z 42:  haircut floor(40·42/84) = 20 | fifo takes the 44 clean lot first: 0 |
//             lifo takes 40 tainted + 2 clean: 40 | poison 42 | tiho: outputs 42 out / 42 stay,
//             tie → the outflow first: 40.
// b5 Z→D 30:  haircut Z (42, 20): floor(20·30/42) = 14, Z keeps 6 | fifo 0 | lifo Z lots
//             [40 T, 2 C] from the back: 2 clean + 28 tainted = 28, Z keeps 12 | poison 30,
//             Z keeps 12 | tiho Z (42, 40): 30 out > 12 stay: 30, Z keeps 10.
// b7 X→M 42:  haircut X (42, 20): 20 | fifo X [2 C, 40 T]: 40 | lifo X [42 C]: 0 |
//             poison 42 | tiho X (42, 0): 0.
// D is a deposit address of binance (swept 30 of the 30 it received): exchange = D's inflow.
const EXPECT: [Expect; 5] = [
    Expect {
        model: ModelKind::Haircut,
        exchange: 14,
        mixer: 20,
        unspent_s: 50,
        unspent_z: 6,
    },
    Expect {
        model: ModelKind::Fifo,
        exchange: 0,
        mixer: 40,
        unspent_s: 50,
        unspent_z: 0,
    },
    Expect {
        model: ModelKind::Lifo,
        exchange: 28,
        mixer: 0,
        unspent_s: 50,
        unspent_z: 12,
    },
    Expect {
        model: ModelKind::Tiho,
        exchange: 30,
        mixer: 0,
        unspent_s: 50,
        unspent_z: 10,
    },
    Expect {
        model: ModelKind::Poison,
        exchange: 30,
        mixer: 42,
        unspent_s: 50,
        unspent_z: 12,
    },
];

fn amount_of(r: &trace::TraceResult, category: &str, who: Option<u8>, asset: &str) -> u64 {
    r.endpoints
        .iter()
        .filter(|e| e.category == category && r.assets[e.asset].key == asset)
        .filter(|e| who.is_none_or(|w| e.address == Some(addr(w))))
        .map(|e| e.amount.to::<u64>())
        .sum()
}

#[test]
fn every_model_matches_the_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(&dir.path().join("s.db"), false);
    for e in EXPECT {
        let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![addr(S)]);
        cfg.model = e.model;
        cfg.from_block = 1;
        let r = trace::run(trace::load(&store, &cfg).unwrap(), &cfg).unwrap();
        let m = e.model;
        assert_eq!(
            r.assets
                .iter()
                .find(|a| a.key == "ETH")
                .unwrap()
                .injected
                .to::<u64>(),
            100,
            "{m}"
        );
        assert_eq!(amount_of(&r, "fee", None, "ETH"), 4, "{m} fee");
        assert_eq!(
            amount_of(&r, "exchange", Some(D), "ETH"),
            e.exchange,
            "{m} exchange"
        );
        assert_eq!(amount_of(&r, "mixer", Some(M), "ETH"), e.mixer, "{m} mixer");
        assert_eq!(
            amount_of(&r, "unspent", Some(S), "ETH"),
            e.unspent_s,
            "{m} S"
        );
        assert_eq!(
            amount_of(&r, "unspent", Some(Z), "ETH"),
            e.unspent_z,
            "{m} Z"
        );
        assert_eq!(amount_of(&r, "unspent", Some(W), "ETH"), 6, "{m} W");
        assert_eq!(
            amount_of(&r, "unspent", Some(Y), "ETH"),
            0,
            "{m}: Y got X's value before the taint"
        );
        assert_eq!(
            amount_of(&r, "exchange", Some(HOT), "USDC"),
            1000,
            "{m} USDC"
        );
        let total = 4 + e.exchange + e.mixer + e.unspent_s + e.unspent_z + 6;
        if m == ModelKind::Poison {
            assert_eq!(total, 144);
            let eth = r.assets.iter().position(|a| a.key == "ETH").unwrap();
            assert_eq!(r.swept_in[eth].to::<u64>(), 44);
        } else {
            assert_eq!(total, 100, "{m} conserves");
            assert!(r.conservation_ok, "{m}");
        }
        // the exchange endpoint names the exchange although D is unlabelled
        if e.exchange > 0 {
            let ep = r
                .endpoints
                .iter()
                .find(|x| x.address == Some(addr(D)))
                .unwrap();
            assert_eq!(ep.entity, "binance");
            assert_eq!(ep.min_hops, Some(3));
        }
        assert_eq!(r.evidence.len(), 1, "{m}: one deposit attribution");
        assert_eq!(r.evidence[0].heuristic, "exchange_deposit_address");
    }
}

#[test]
fn storage_order_does_not_matter_and_output_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let a = store_at(&dir.path().join("a.db"), false);
    let b = store_at(&dir.path().join("b.db"), true);
    for m in ModelKind::ALL {
        let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![addr(S)]);
        cfg.model = m;
        cfg.from_block = 1;
        let ra = trace::run(trace::load(&a, &cfg).unwrap(), &cfg).unwrap();
        let rb = trace::run(trace::load(&b, &cfg).unwrap(), &cfg).unwrap();
        let (da, db) = (
            dir.path().join(format!("a-{m}")),
            dir.path().join(format!("b-{m}")),
        );
        moneytrail::report::trace_out::write_all(&ra, None, &da).unwrap();
        moneytrail::report::trace_out::write_all(&rb, None, &db).unwrap();
        for f in [
            "summary.json",
            "endpoints.csv",
            "flows.csv",
            "evidence.jsonl",
            "paths.jsonl",
            "graph.graphml",
        ] {
            let x = std::fs::read(da.join(f)).unwrap();
            let y = std::fs::read(db.join(f)).unwrap();
            assert_eq!(x, y, "{m}: {f} differs with the storage order");
        }
    }
}

#[test]
fn hop_limit_and_dust_are_accounted_as_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(&dir.path().join("s.db"), false);
    let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![addr(S)]);
    cfg.from_block = 1;
    cfg.max_hops = Some(1);
    let r = trace::run(trace::load(&store, &cfg).unwrap(), &cfg).unwrap();
    // haircut: X (hop 1) passes 20 to Z and 20 to M at hop 2: not followed, accounted unknown
    // at the receivers; C→W (hop 2) likewise 6.
    assert_eq!(amount_of(&r, "unknown", Some(Z), "ETH"), 20);
    assert_eq!(amount_of(&r, "unknown", Some(M), "ETH"), 20);
    assert_eq!(amount_of(&r, "unknown", Some(W), "ETH"), 6);
    assert_eq!(amount_of(&r, "mixer", None, "ETH"), 0);
    assert!(r.conservation_ok);
    let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![addr(S)]);
    cfg.from_block = 1;
    cfg.min_value = Some("0.000000000000000041".into()); // 41 wei: 40 (S→X) and 30 are dust
    let r = trace::run(trace::load(&store, &cfg).unwrap(), &cfg).unwrap();
    assert_eq!(amount_of(&r, "unknown", Some(X), "ETH"), 40);
    assert_eq!(amount_of(&r, "mixer", None, "ETH"), 0);
    assert!(r.conservation_ok);
}

#[test]
fn theft_tx_injection_and_evidence_paths() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(&dir.path().join("s.db"), false);
    let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![addr(S)]);
    cfg.from_block = 1;
    cfg.theft_txs = vec![scenario()[0].tx_hash];
    let r = trace::run(trace::load(&store, &cfg).unwrap(), &cfg).unwrap();
    let eth = r.assets.iter().find(|a| a.key == "ETH").unwrap();
    // the theft tx carried 100 ETH-wei and 1000 USDC into S: both tainted
    assert_eq!(eth.injected.to::<u64>(), 100);
    assert_eq!(
        r.assets
            .iter()
            .find(|a| a.key == "USDC")
            .unwrap()
            .injected
            .to::<u64>(),
        1000
    );
    // the deposit endpoint's paths: S→X→Z→D, three hops, both kinds
    let ep = r
        .endpoints
        .iter()
        .find(|e| e.address == Some(addr(D)))
        .unwrap();
    let (short, large) = r.paths(ep).expect("paths");
    assert_eq!(short.flows.len(), 3);
    assert_eq!(large.flows.len(), 3);
    assert_eq!(large.bottleneck.to::<u64>(), 14);
}

#[test]
fn cli_trace_offline_writes_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(store_at(&db, false));
    let out = dir.path().join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "trace",
            "--chain",
            "ethereum",
            "--offline",
            "--from-block",
            "1",
            "--model",
            "fifo",
        ])
        .args([
            "--seed",
            &addr(S).to_string(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["model"], "fifo");
    assert_eq!(summary["chain"], "ethereum");
    assert_eq!(summary["conservation_ok"], true);
    assert_eq!(summary["assets"]["ETH"]["injected"], "0.0000000000000001");
    assert_eq!(
        summary["assets"]["ETH"]["by_category"]["mixer"],
        "0.00000000000000004"
    );
    assert_eq!(
        summary["assets"]["USDC"]["by_category"]["exchange"],
        "0.001"
    );
    assert!(summary["stats"]["transfers"].as_u64().unwrap() > 10);
    let endpoints = std::fs::read_to_string(out.join("endpoints.csv")).unwrap();
    assert!(endpoints.starts_with("chain,address,entity,category,asset,asset_contract,amount,usd,min_hops,first_time,last_time\n"));
    let flows = std::fs::read_to_string(out.join("flows.csv")).unwrap();
    assert!(flows.starts_with("chain,tx_hash,sub_index,block,time,from,to,asset,asset_contract,amount,tainted_amount,hop\n"));
    assert!(
        flows.contains(",call:0,"),
        "the internal transfer C→W is a flow"
    );
    let graphml = std::fs::read_to_string(out.join("graph.graphml")).unwrap();
    assert!(graphml.contains("<graphml") && graphml.contains("tornado-cash"));

    // bad input: a model typo, a seed with no history
    for (args, needle) in [
        (
            vec!["--model", "haircutt", "--seed", &addr(S).to_string()],
            "haircutt",
        ),
        (
            vec!["--seed", "0x00000000000000000000000000000000000000ee"],
            "0x00000000000000000000000000000000000000ee",
        ),
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_moneytrail"))
            .args([
                "--db",
                db.to_str().unwrap(),
                "trace",
                "--chain",
                "ethereum",
                "--offline",
                "--out",
                out.to_str().unwrap(),
            ])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.to_lowercase().contains(needle), "{err}");
    }
}
