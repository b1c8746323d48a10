//! Tornado Cash pool events on a real anvil chain (tests/common/tornado.rs): decoded through
//! the JSON-RPC source and through the local Etherscan / Blockscout-format server equal to
//! what the scenario emitted, field by field; the frontier past the pools with `--demix`
//! (events and withdrawal transactions stored, planted recipients reached, nothing new on a
//! re-run) and without it (pools terminal); a malformed log is an error naming its
//! transaction and log index.

mod common;

use std::time::Duration;

use alloy_primitives::{B256, U256};
use common::explorer::{ChainData, Config, Explorer};
use common::tornado::{self, Tornado};
use common::{moneytrail, ok};
use moneytrail::fetch::etherscan::{ApiKey, EtherscanSource, ExplorerConfig};
use moneytrail::fetch::events::tornado::TOPICS;
use moneytrail::fetch::evm_rpc::{RpcConfig, RpcSource};
use moneytrail::fetch::{HttpClient, RetryPolicy, Source};
use moneytrail::model::{Address, Chain, ContractEvent, EventData};
use moneytrail::store::Store;
use serde_json::Value;

const CHAIN: Chain = Chain::Evm(1);
const KEY: &str = "TORNADOKEY0123456789";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
    }
}

fn addr(s: &str) -> Address {
    Address::parse(CHAIN, s).unwrap()
}

fn evm(s: &str) -> alloy_primitives::Address {
    s.parse().unwrap()
}

fn b256(s: &str) -> B256 {
    s.parse().unwrap()
}

/// Every event of both pools over the scenario's blocks through `src`.
async fn pool_events(src: &dyn Source, t: &Tornado) -> Vec<ContractEvent> {
    let head = src.head().await.unwrap();
    let mut all = Vec::new();
    for (pool, _) in &t.pools {
        all.extend(
            src.contract_events(&addr(pool), &TOPICS, t.start_block, head)
                .await
                .unwrap(),
        );
    }
    all
}

fn block_time(t: &Tornado, block: u64) -> i64 {
    let b = t.anvil.rpc(
        "eth_getBlockByNumber",
        serde_json::json!([format!("{block:#x}"), false]),
    );
    i64::from_str_radix(
        b["timestamp"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap()
}

/// `got` holds exactly the scenario's deposits and withdrawals, field by field.
fn assert_scenario(t: &Tornado, got: &[ContractEvent], what: &str) {
    assert_eq!(
        got.len(),
        t.deposits.len() + t.withdrawals.len(),
        "{what}: event count"
    );
    for d in &t.deposits {
        let e = got
            .iter()
            .find(|e| e.tx.display(CHAIN) == d.tx)
            .unwrap_or_else(|| panic!("{what}: deposit {} missing", d.tx));
        assert_eq!(e.contract, addr(&d.pool), "{what}: {}", d.tx);
        assert_eq!(e.block, d.block, "{what}: {}", d.tx);
        assert_eq!(e.tx_from, Some(addr(&d.depositor)), "{what}: {}", d.tx);
        assert_eq!(
            e.gas_price,
            Some(U256::from(d.gas_price)),
            "{what}: {}",
            d.tx
        );
        assert_eq!(e.time, block_time(t, d.block), "{what}: {}", d.tx);
        assert_eq!(
            e.data,
            EventData::TornadoDeposit {
                commitment: b256(&d.commitment),
                leaf_index: d.leaf_index,
                timestamp: e.time as u64,
            },
            "{what}: {}",
            d.tx
        );
    }
    for w in &t.withdrawals {
        let e = got
            .iter()
            .find(|e| e.tx.display(CHAIN) == w.tx)
            .unwrap_or_else(|| panic!("{what}: withdrawal {} missing", w.tx));
        assert_eq!(e.contract, addr(&w.pool), "{what}: {}", w.tx);
        assert_eq!(e.block, w.block, "{what}: {}", w.tx);
        assert_eq!(e.tx_from, Some(addr(&w.sender)), "{what}: {}", w.tx);
        assert_eq!(
            e.gas_price,
            Some(U256::from(w.gas_price)),
            "{what}: {}",
            w.tx
        );
        assert_eq!(e.time, block_time(t, w.block), "{what}: {}", w.tx);
        assert_eq!(
            e.data,
            EventData::TornadoWithdrawal {
                to: evm(&w.recipient),
                nullifier_hash: b256(&w.nullifier),
                relayer: evm(&w.relayer),
                fee: U256::from(w.fee),
            },
            "{what}: {}",
            w.tx
        );
    }
    // chain order within each pool
    for (pool, _) in &t.pools {
        let keys: Vec<_> = got
            .iter()
            .filter(|e| e.contract == addr(pool))
            .map(|e| (e.block, e.tx_index, e.log_index))
            .collect();
        assert!(keys.is_sorted(), "{what}: not in chain order");
    }
}

#[test]
fn events_through_rpc_and_explorers_equal_the_scenario() {
    let t = tornado::build();
    assert!(t.deposits.len() >= 49 && t.withdrawals.len() >= 34);
    let rt = rt();
    let rpc_events = rt.block_on(async {
        let http = HttpClient::new(5000.0, policy()).unwrap();
        let src = RpcSource::connect(http, RpcConfig::new(&t.anvil.url, CHAIN))
            .await
            .unwrap();
        pool_events(&src, &t).await
    });
    assert_scenario(&t, &rpc_events, "json-rpc");

    let data = ChainData::from_anvil(&t.anvil);
    assert!(data.logs.len() >= rpc_events.len());
    // Etherscan with pages of 7 inside a result window of 20: the walk pages and re-anchors
    let mut cfg = Config::etherscan(KEY);
    cfg.window = 20;
    let es = Explorer::start(cfg, data.clone(), &t.anvil.url);
    let got = rt.block_on(async {
        let http = HttpClient::new(5000.0, policy()).unwrap();
        let mut c = ExplorerConfig::etherscan(CHAIN, ApiKey::new(KEY));
        c.url = es.url.clone();
        c.page_size = 7;
        let src = EtherscanSource::new(http, c).unwrap();
        pool_events(&src, &t).await
    });
    assert_scenario(&t, &got, "etherscan");
    assert_eq!(got, rpc_events, "etherscan = json-rpc");
    assert!(
        es.count("logs/getLogs") > 4,
        "paged: {}",
        es.count("logs/getLogs")
    );

    let bs = Explorer::start(Config::blockscout(), data, &t.anvil.url);
    let got = rt.block_on(async {
        let http = HttpClient::new(5000.0, policy()).unwrap();
        let src = EtherscanSource::new(http, ExplorerConfig::blockscout(&bs.url, CHAIN)).unwrap();
        pool_events(&src, &t).await
    });
    assert_eq!(got, rpc_events, "blockscout = json-rpc");
}

#[test]
fn a_malformed_log_is_an_error_naming_its_transaction_and_log_index() {
    let t = tornado::build();
    let mut data = ChainData::from_anvil(&t.anvil);
    let w = &t.withdrawals[3];
    let row = data
        .logs
        .iter_mut()
        .find(|l| l.hash == w.tx && l.topics.first().map(|x| b256(x)) == Some(TOPICS[1]))
        .unwrap();
    // the known Withdrawal topic with data one word short
    row.data.truncate(row.data.len() - 64);
    let log_index = row.log_index;
    let es = Explorer::start(Config::etherscan(KEY), data, &t.anvil.url);
    let err = rt().block_on(async {
        let http = HttpClient::new(5000.0, policy()).unwrap();
        let mut c = ExplorerConfig::etherscan(CHAIN, ApiKey::new(KEY));
        c.url = es.url.clone();
        let src = EtherscanSource::new(http, c).unwrap();
        let head = src.head().await.unwrap();
        src.contract_events(&addr(&w.pool), &TOPICS, t.start_block, head)
            .await
            .unwrap_err()
            .to_string()
    });
    assert!(err.contains(&w.tx), "{err}");
    assert!(err.contains(&format!("log {log_index} ")), "{err}");
    assert!(err.to_lowercase().contains(&w.pool.to_lowercase()), "{err}");
    assert!(err.contains("Withdrawal(address to"), "{err}");
}

fn fetch_json(db: &std::path::Path, args: &[&str]) -> Value {
    let mut all = vec![
        "--quiet", "fetch", "--chain", "ethereum", "--format", "json",
    ];
    all.extend(args);
    serde_json::from_str(&ok(&moneytrail(db, None, &all))).unwrap()
}

fn import_labels(db: &std::path::Path, dir: &std::path::Path, t: &Tornado) {
    let labels = tornado::labels_csv(dir, t);
    ok(&moneytrail(
        db,
        None,
        &["labels", "import", labels.to_str().unwrap()],
    ));
}

fn expanded(report: &Value) -> Vec<(String, u64)> {
    report["expanded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["address"].as_str().unwrap().to_lowercase(),
                e["hop"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn hop_of(report: &Value, a: &str) -> Option<u64> {
    expanded(report)
        .into_iter()
        .find(|(x, _)| x == &a.to_lowercase())
        .map(|(_, h)| h)
}

/// The block of the first tainted deposit into `pool` (where the frontier reaches it).
fn first_tainted(t: &Tornado, pool: &str) -> u64 {
    t.deposits
        .iter()
        .filter(|d| d.pool == pool && d.tainted)
        .map(|d| d.block)
        .min()
        .unwrap()
}

/// (deposits, withdrawals, distinct recipients) of `pool` over the whole window (the pool's
/// activity before the taint arrived is fetched too: the anonymity sets need it).
fn expected_pool(t: &Tornado, pool: &str) -> (u64, u64, u64) {
    let deps = t.deposits.iter().filter(|d| d.pool == pool).count() as u64;
    let wds: Vec<_> = t.withdrawals.iter().filter(|w| w.pool == pool).collect();
    let mut rec: Vec<&String> = wds.iter().map(|w| &w.recipient).collect();
    rec.sort();
    rec.dedup();
    (deps, wds.len() as u64, rec.len() as u64)
}

#[test]
fn demix_follows_the_pools_to_their_recipients_and_is_incremental() {
    let t = tornado::build();
    let dir = tempfile::tempdir().unwrap();
    let recipients = t.planted_recipients();
    let (a, c, e, h) = (
        &recipients[0],
        &recipients[1],
        &recipients[2],
        &recipients[3],
    );

    // without --demix: the pools are terminal, nothing past them, no events
    let db0 = dir.path().join("plain.db");
    import_labels(&db0, dir.path(), &t);
    let plain = fetch_json(
        &db0,
        &["--rpc-url", &t.anvil.url, "--seed", &t.s, "--hops", "3"],
    );
    assert!(plain.get("pools").is_none(), "{plain}");
    assert_eq!(hop_of(&plain, a), Some(1));
    assert_eq!(hop_of(&plain, e), Some(2), "E is paid directly by D");
    assert_eq!(hop_of(&plain, c), None);
    assert_eq!(hop_of(&plain, h), None);
    for r in t.crowd_recipients() {
        assert_eq!(hop_of(&plain, &r), None, "{r}");
    }
    let store = Store::open(&db0).unwrap();
    assert!(store.events(CHAIN, &[]).unwrap().is_empty());
    drop(store);

    // with --demix through the JSON-RPC source
    let db1 = dir.path().join("demix.db");
    import_labels(&db1, dir.path(), &t);
    let args = [
        "--rpc-url",
        &t.anvil.url,
        "--seed",
        &t.s,
        "--hops",
        "3",
        "--demix",
    ];
    let r = fetch_json(&db1, &args);
    let pools = r["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 2, "{r}");
    for (pool, _) in &t.pools {
        let p = pools
            .iter()
            .find(|p| p["address"].as_str().unwrap().eq_ignore_ascii_case(pool))
            .unwrap();
        let (deps, wds, rec) = expected_pool(&t, pool);
        assert_eq!(p["hop"], 2, "{p}");
        assert_eq!(p["deposits"], deps, "{p}");
        assert_eq!(p["withdrawals"], wds, "{p}");
        assert_eq!(p["recipients"], rec, "{p}");
        assert_eq!(p["events_stored"], deps + wds, "{p}");
        assert_eq!(p["withdrawal_txs_fetched"], wds, "{p}");
    }
    // the planted recipients are reached (C and H only through the pools, at hop 3)
    assert_eq!(hop_of(&r, a), Some(1));
    assert_eq!(hop_of(&r, e), Some(2));
    assert_eq!(hop_of(&r, c), Some(3));
    assert_eq!(hop_of(&r, h), Some(3));
    // crowd recipients paid after the taint arrived at their pool are followed; those paid
    // before are not
    let planted = t.planted_recipients();
    for w in t
        .withdrawals
        .iter()
        .filter(|w| !planted.contains(&w.recipient))
    {
        if w.block >= first_tainted(&t, &w.pool) {
            assert_eq!(hop_of(&r, &w.recipient), Some(3), "{}", w.recipient);
        } else {
            assert_eq!(hop_of(&r, &w.recipient), None, "{}", w.recipient);
        }
    }
    // relayers are services, not followed
    assert_eq!(hop_of(&r, &t.r), None);
    // every withdrawal transaction's transfers are stored: the pool pays recipient and relayer
    let store = Store::open(&db1).unwrap();
    for w in &t.withdrawals {
        let paid: Vec<_> = store
            .transfers_of(CHAIN, &addr(&w.recipient))
            .unwrap()
            .into_iter()
            .filter(|x| x.tx_hash.display(CHAIN) == w.tx && x.from == Some(addr(&w.pool)))
            .collect();
        assert_eq!(paid.len(), 1, "{}", w.tx);
        let d = t.pools.iter().find(|(p, _)| p == &w.pool).unwrap().1;
        assert_eq!(paid[0].amount.0, U256::from(d - w.fee), "{}", w.tx);
        if w.fee > 0 {
            assert!(
                store
                    .transfers_of(CHAIN, &addr(&w.relayer))
                    .unwrap()
                    .iter()
                    .any(|x| x.tx_hash.display(CHAIN) == w.tx && x.amount.0 == U256::from(w.fee)),
                "{}",
                w.tx
            );
        }
    }
    let stored = store.events(CHAIN, &[]).unwrap();
    let want: u64 = t
        .pools
        .iter()
        .map(|(p, _)| {
            let (d, w, _) = expected_pool(&t, p);
            d + w
        })
        .sum();
    assert_eq!(stored.len() as u64, want);
    drop(store);

    // a re-run fetches no event chunk and stores nothing new
    let again = fetch_json(&db1, &args);
    for p in again["pools"].as_array().unwrap() {
        assert_eq!(p["chunks_fetched"], 0, "{p}");
        assert_eq!(p["events_stored"], 0, "{p}");
        assert_eq!(p["withdrawal_txs_fetched"], 0, "{p}");
        assert_eq!(p["transfers_stored"], 0, "{p}");
    }
    assert_eq!(expanded(&again), expanded(&r));
    assert_eq!(
        Store::open(&db1).unwrap().events(CHAIN, &[]).unwrap().len() as u64,
        want
    );

    // a custodial mixer (labelled mixer, no pool events) stays terminal: here E, as Sinbad
    let db2 = dir.path().join("custodial.db");
    import_labels(&db2, dir.path(), &t);
    let sinbad = dir.path().join("sinbad.csv");
    std::fs::write(
        &sinbad,
        format!("address,label,category,actor\n{e},Sinbad deposit,mixer,sinbad\n"),
    )
    .unwrap();
    ok(&moneytrail(
        &db2,
        None,
        &["labels", "import", sinbad.to_str().unwrap()],
    ));
    let cu = fetch_json(&db2, &args);
    assert_eq!(cu["pools"].as_array().unwrap().len(), 2, "{cu}");
    assert!(
        cu["pools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p["address"].as_str().unwrap().eq_ignore_ascii_case(e))
    );
    assert_eq!(hop_of(&cu, e), None);
    let stop = cu["stopped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["address"].as_str().unwrap().eq_ignore_ascii_case(e))
        .unwrap();
    assert_eq!(stop["reason"], "terminal", "{stop}");
    assert_eq!(stop["category"], "mixer", "{stop}");
    assert_eq!(hop_of(&cu, c), Some(3));

    // `trace --demix` fetches the same way and says so in fetch.json
    let out = dir.path().join("trace");
    ok(&moneytrail(
        &db1,
        None,
        &[
            "--quiet",
            "trace",
            "--chain",
            "ethereum",
            "--rpc-url",
            &t.anvil.url,
            "--seed",
            &t.s,
            "--fetch-hops",
            "3",
            "--demix",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let f: Value = serde_json::from_slice(&std::fs::read(out.join("fetch.json")).unwrap()).unwrap();
    assert_eq!(f["pools"].as_array().unwrap().len(), 2);
    assert_eq!(hop_of(&f, h), Some(3));
    assert_eq!(hop_of(&f, c), Some(3));
}

#[test]
fn demix_through_blockscout_resumes_and_refetches_nothing() {
    let t = tornado::build();
    let dir = tempfile::tempdir().unwrap();
    let data = ChainData::from_anvil(&t.anvil);
    let head = data.head();
    let bs = Explorer::start(Config::blockscout(), data, &t.anvil.url);
    let db = dir.path().join("bs.db");
    import_labels(&db, dir.path(), &t);
    let run = |to: u64| {
        let to = to.to_string();
        fetch_json(
            &db,
            &[
                "--blockscout-url",
                &bs.url,
                "--rate",
                "2000",
                "--seed",
                &t.s,
                "--hops",
                "3",
                "--demix",
                "--chunk-blocks",
                "25",
                "--to-block",
                &to,
            ],
        )
    };
    // a first run over part of the chain (as if interrupted), then the whole window
    let mid = t.planted("tornado_multi_denomination").withdrawals[2].clone();
    let mid_block = t.withdrawals.iter().find(|w| w.tx == mid).unwrap().block;
    let first = run(mid_block);
    let before = bs.count("logs/getLogs");
    assert!(before > 0);
    let stored_first = Store::open(&db).unwrap().events(CHAIN, &[]).unwrap().len();
    assert!(stored_first > 0);
    assert!(first["pools"].as_array().unwrap().len() == 2);
    let full = run(head);
    let new_chunks: u64 = full["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["chunks_fetched"].as_u64().unwrap())
        .sum();
    let skipped: u64 = full["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["chunks_skipped"].as_u64().unwrap())
        .sum();
    assert!(new_chunks > 0 && skipped > 0, "{full}");
    let want: u64 = t
        .pools
        .iter()
        .map(|(p, _)| {
            let (d, w, _) = expected_pool(&t, p);
            d + w
        })
        .sum();
    let store = Store::open(&db).unwrap();
    let events = store.events(CHAIN, &[]).unwrap();
    assert_eq!(events.len() as u64, want, "no event lost or stored twice");
    drop(store);
    let recipients = t.planted_recipients();
    for x in &recipients {
        assert!(hop_of(&full, x).is_some(), "{x}");
    }
    // the whole window again: no getLogs request at all
    let n = bs.count("logs/getLogs");
    let again = run(head);
    assert_eq!(bs.count("logs/getLogs"), n, "getLogs on a finished window");
    for p in again["pools"].as_array().unwrap() {
        assert_eq!(p["events_stored"], 0, "{p}");
        assert_eq!(p["transfers_stored"], 0, "{p}");
    }
    assert_eq!(
        Store::open(&db).unwrap().events(CHAIN, &[]).unwrap().len() as u64,
        want
    );
}
