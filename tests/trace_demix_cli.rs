//! `trace --demix` / `--follow-swaps` through the store and the command line: a pool's events
//! and transfers written as the fetchers write them, traced offline; the output contract
//! (evidence.jsonl lines with `followed`, summary.json's `demix`, `swapped_in`), the threshold
//! and the switches, and bad flags (exit 2 naming the value).

mod common;

use alloy_primitives::{B256, U256};
use moneytrail::model::{
    Address, Amount, Asset, AssetId, Category, Chain, ContractEvent, EventData, Label, SubIndex,
    Transfer, TxHash,
};
use moneytrail::store::Store;

use common::{TraceDir, moneytrail, ok, read_trace_dir};

fn a(n: u8) -> Address {
    Address::Evm(alloy_primitives::Address::repeat_byte(n))
}

fn h(n: u8) -> TxHash {
    TxHash(B256::repeat_byte(n))
}

const POOL: u8 = 0xee;
const SEED: u8 = 0x11;
const A: u8 = 0x22;
const B: u8 = 0x33;
const U1: u8 = 0x44;
const U2: u8 = 0x45;
const X: u8 = 0x66;
const Y: u8 = 0x77;
const RELAYER: u8 = 0x99;
const DEX: u8 = 0xd0;
const ETH: u128 = 1_000_000_000_000_000_000;

fn tr(block: u8, sub: SubIndex, from: u8, to: u8, asset: AssetId, v: u128) -> Transfer {
    Transfer {
        chain: Chain::ETHEREUM,
        tx_hash: h(block),
        sub,
        block: block as u64,
        tx_index: 0,
        time: 1_650_000_000 + block as i64 * 12,
        from: Some(a(from)),
        to: Some(a(to)),
        asset,
        amount: Amount::from_base_units(v),
    }
}

fn ev(block: u8, from: u8, data: EventData) -> ContractEvent {
    ContractEvent {
        chain: Chain::ETHEREUM,
        contract: a(POOL),
        tx: h(block),
        log_index: 0,
        block: block as u64,
        tx_index: 0,
        time: 1_650_000_000 + block as i64 * 12,
        tx_from: Some(a(from)),
        gas_price: Some(U256::from(2_000_000_000u64)),
        data,
    }
}

fn deposit(block: u8, from: u8) -> ContractEvent {
    ev(
        block,
        from,
        EventData::TornadoDeposit {
            commitment: B256::repeat_byte(block),
            leaf_index: block as u32,
            timestamp: 1_650_000_000 + block as u64 * 12,
        },
    )
}

fn withdrawal(block: u8, to: u8, relayer: Option<u8>, fee: u128) -> ContractEvent {
    ev(
        block,
        relayer.unwrap_or(to),
        EventData::TornadoWithdrawal {
            to: *a(to).as_evm().unwrap(),
            nullifier_hash: B256::repeat_byte(block),
            relayer: relayer
                .map(|r| *a(r).as_evm().unwrap())
                .unwrap_or(alloy_primitives::Address::ZERO),
            fee: U256::from(fee),
        },
    )
}

fn label(n: u8, category: Category, actor: &str) -> Label {
    Label {
        chain: Chain::ETHEREUM,
        address: a(n),
        label: format!("{actor} contract"),
        category,
        actor: Some(actor.into()),
        abuse: None,
        source: "test".into(),
        confidence: 90,
        context: None,
    }
}

fn usdc() -> AssetId {
    AssetId::Token(alloy_primitives::Address::repeat_byte(0x55))
}

/// The seed sends A and B 10 ETH each; A, U1, U2 deposit 10 ETH into the pool; A withdraws to
/// itself (address match); the relayer withdraws 9 + 1 to X (pool: U1, U2, clean); B deposits;
/// the relayer withdraws 9 + 1 to Y (pool: U2's 10 clean, B's 10 tainted). Then Y swaps 4 ETH
/// for 1,000 USDC at a DEX.
fn store(path: &std::path::Path) {
    let native = AssetId::Native;
    let ts = vec![
        tr(1, SubIndex::Value, SEED, A, native, 10 * ETH),
        tr(2, SubIndex::Value, SEED, B, native, 10 * ETH),
        tr(3, SubIndex::Value, A, POOL, native, 10 * ETH),
        tr(4, SubIndex::Value, U1, POOL, native, 10 * ETH),
        tr(5, SubIndex::Value, U2, POOL, native, 10 * ETH),
        tr(6, SubIndex::Internal(vec![0]), POOL, A, native, 10 * ETH),
        tr(7, SubIndex::Internal(vec![0]), POOL, X, native, 9 * ETH),
        tr(7, SubIndex::Internal(vec![1]), POOL, RELAYER, native, ETH),
        tr(8, SubIndex::Value, B, POOL, native, 10 * ETH),
        tr(9, SubIndex::Internal(vec![0]), POOL, Y, native, 9 * ETH),
        tr(9, SubIndex::Internal(vec![1]), POOL, RELAYER, native, ETH),
        tr(10, SubIndex::Value, Y, DEX, native, 4 * ETH),
        tr(10, SubIndex::Log(3), DEX, Y, usdc(), 1_000_000_000),
    ];
    let events = vec![
        deposit(3, A),
        deposit(4, U1),
        deposit(5, U2),
        withdrawal(6, A, None, 0),
        withdrawal(7, X, Some(RELAYER), ETH),
        deposit(8, B),
        withdrawal(9, Y, Some(RELAYER), ETH),
    ];
    let mut s = Store::open(path).unwrap();
    let mut w = s.writer().unwrap();
    for t in &ts {
        w.insert_transfer(t).unwrap();
    }
    for e in &events {
        w.insert_event(e).unwrap();
    }
    w.upsert_asset(&Asset {
        chain: Chain::ETHEREUM,
        id: usdc(),
        symbol: "USDC".into(),
        decimals: 6,
    })
    .unwrap();
    w.insert_label(&label(POOL, Category::Mixer, "tornado-cash"), "test")
        .unwrap();
    w.insert_label(&label(DEX, Category::Defi, "uniswap"), "test")
        .unwrap();
    w.commit().unwrap();
}

fn trace(db: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> TraceDir {
    let seed = a(SEED).to_string();
    let mut args = vec![
        "trace",
        "--chain",
        "ethereum",
        "--offline",
        "--seed",
        &seed,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&moneytrail(db, None, &args));
    read_trace_dir(out)
}

/// The amount of the endpoint (address, category, asset) as written, or "".
fn amount(r: &TraceDir, who: u8, category: &str, asset: &str) -> String {
    let addr = a(who).to_string();
    r.endpoints
        .iter()
        .find(|e| e[1] == addr && e[3] == category && e[4] == asset)
        .map(|e| e[6].clone())
        .unwrap_or_default()
}

#[test]
fn demix_follows_the_address_match_and_haircuts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    store(&db);

    // default: the pool is terminal
    let r = trace(&db, &dir.path().join("plain"), &[]);
    assert_eq!(r.summary["assets"]["ETH"]["by_category"]["mixer"], "20");
    assert!(r.summary.get("demix").is_none());
    assert!(r.evidence.is_empty());

    let r = trace(&db, &dir.path().join("demix"), &["--demix"]);
    assert_eq!(r.summary["conservation_ok"], true);
    let eth = &r.summary["assets"]["ETH"];
    assert_eq!(eth["injected"], "20");
    // A: its own deposit back (address match, 0.95 ≥ 0.6)
    assert_eq!(amount(&r, A, "unspent", "ETH"), "10");
    // X: U1's and U2's deposits only, clean
    assert_eq!(amount(&r, X, "unspent", "ETH"), "");
    // Y: 9 of a pool of 20 holding 10 tainted → 4.5; the relayer's 1 of 11 holding 5.5 → 0.5;
    // 5 rest in the pool
    assert_eq!(eth["by_category"]["mixer"], "5");
    assert_eq!(amount(&r, RELAYER, "unspent", "ETH"), "0.5");
    // Y swapped 4 of its 9 (4.5 tainted) at the DEX: 2 tainted to defi
    assert_eq!(eth["by_category"]["defi"], "2");
    assert_eq!(amount(&r, Y, "unspent", "ETH"), "2.5");
    let links: Vec<&serde_json::Value> = r
        .evidence
        .iter()
        .filter(|e| e["heuristic"].as_str().unwrap().starts_with("tornado_"))
        .collect();
    let followed: Vec<&&serde_json::Value> =
        links.iter().filter(|e| e["followed"] == true).collect();
    assert_eq!(followed.len(), 1, "{links:?}");
    let l = followed[0];
    assert_eq!(l["heuristic"], "tornado_address_match");
    assert_eq!(l["address"], a(A).to_string());
    assert_eq!(l["linked_to"], a(A).to_string());
    assert_eq!(l["entity"], "tornado-cash");
    assert_eq!(l["confidence"], 0.95);
    assert_eq!(
        l["witness_txs"],
        serde_json::json!([h(3).display(Chain::ETHEREUM), h(6).display(Chain::ETHEREUM)])
    );
    assert_eq!(
        l["measured"]["denomination_base_units"],
        (10 * ETH).to_string()
    );
    assert_eq!(l["measured"]["anonymity_set"], 3);
    // links below the threshold are reported, not followed
    assert!(
        links
            .iter()
            .all(|e| e["followed"] == true || e["confidence"].as_f64() < Some(0.6))
    );
    let pool = &r.summary["demix"]["pools"][0];
    assert_eq!(pool["deposits"], 4);
    assert_eq!(pool["withdrawals"], 3);
    assert_eq!(pool["anonymity_set"]["min"], 2);
    assert_eq!(pool["anonymity_set"]["max"], 3);
    assert_eq!(r.summary["demix"]["min_confidence"], 0.6);
    // the Markdown report says which links were followed
    let md = dir.path().join("demix.md");
    let demix_dir = dir.path().join("demix");
    ok(&moneytrail(
        &db,
        None,
        &[
            "report",
            "--trace",
            demix_dir.to_str().unwrap(),
            "--format",
            "md",
            "--out",
            md.to_str().unwrap(),
        ],
    ));
    let md = std::fs::read_to_string(md).unwrap();
    let row = md
        .lines()
        .find(|l| l.contains("tornado\\_address\\_match"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(row.contains("| 0.95 | yes |"), "{row}");
    let fifo: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("tornado\\_temporal\\_fifo"))
        .collect();
    assert_eq!(fifo.len(), 2, "{md}");
    assert!(fifo.iter().all(|l| l.contains("| no |")), "{md}");

    // a threshold above the link: A's withdrawal is a pool haircut too (30 with 10 tainted)
    let r = trace(
        &db,
        &dir.path().join("strict"),
        &["--demix", "--min-confidence", "0.96"],
    );
    assert_eq!(r.summary["conservation_ok"], true);
    assert_eq!(amount(&r, A, "unspent", "ETH"), "3.333333333333333333");
    let l = r
        .evidence
        .iter()
        .find(|e| e["heuristic"] == "tornado_address_match")
        .unwrap();
    assert_eq!(l["followed"], false);
    // switched off: not even reported
    let r = trace(
        &db,
        &dir.path().join("off"),
        &["--demix", "--no-heuristic", "tornado_address_match"],
    );
    assert!(
        r.evidence
            .iter()
            .all(|e| e["heuristic"] != "tornado_address_match")
    );
    assert_eq!(
        r.summary["demix"]["heuristics_off"],
        serde_json::json!(["tornado_address_match"])
    );
}

#[test]
fn follow_swaps_carries_the_share_into_the_other_asset() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    store(&db);
    let r = trace(
        &db,
        &dir.path().join("swaps"),
        &["--demix", "--follow-swaps"],
    );
    assert_eq!(r.summary["conservation_ok"], true);
    // Y paid 4 ETH carrying 2 tainted: half of the 1,000 USDC
    let usdc = &r.summary["assets"]["USDC"];
    assert_eq!(usdc["injected"], "0");
    assert_eq!(usdc["swapped_in"], "500");
    assert_eq!(usdc["by_category"]["unspent"], "500");
    assert_eq!(r.summary["assets"]["ETH"]["swapped_out"], "2");
    assert_eq!(amount(&r, Y, "unspent", "USDC"), "500");
    let s = r
        .evidence
        .iter()
        .find(|e| e["heuristic"] == "dex_swap")
        .unwrap();
    assert_eq!(s["entity"], "uniswap");
    assert_eq!(s["measured"]["input_tainted"], "2");
    assert_eq!(s["measured"]["outputs"][0]["tainted"], "500");
    assert_eq!(
        s["witness_txs"],
        serde_json::json!([h(10).display(Chain::ETHEREUM)])
    );
}

#[test]
fn bad_follow_flags_are_exit_2_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    store(&db);
    let seed = a(SEED).to_string();
    let out = dir.path().join("x");
    for (flag, value) in [
        ("--min-confidence", "1.5"),
        ("--min-confidence", "abc"),
        ("--no-heuristic", "tornado_magic"),
    ] {
        let o = moneytrail(
            &db,
            None,
            &[
                "trace",
                "--chain",
                "ethereum",
                "--offline",
                "--seed",
                &seed,
                "--demix",
                flag,
                value,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(value), "{flag} {value}: {err}");
    }
}
