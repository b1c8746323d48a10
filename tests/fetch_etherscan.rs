//! The Etherscan v2 / Blockscout source against a local server that follows their documented
//! JSON, serving what a real anvil chain produced (tests/common/explorer.rs): the fetched
//! transfers must equal the chain's ground truth (tests/common/evm_scenario.rs) and the JSON-RPC
//! source's, key for key; pagination walks past a small result window; the CLI fills a store
//! identical to the truth; faults are retried within bounds and end in a clear error; the API
//! key never appears in an error, a log line or the source id.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::anvil::Anvil;
use common::evm_scenario::{
    self, Builder, CHAIN, ETH, Move, Scenario, fresh, selector, word, word_addr,
};
use common::explorer::{ChainData, Config, Explorer, Fault, Limit};
use moneytrail::fetch::etherscan::{ApiKey, EtherscanSource, ExplorerConfig};
use moneytrail::fetch::evm_rpc::{RpcConfig, RpcSource};
use moneytrail::fetch::{FetchError, HttpClient, RetryPolicy, Source};
use moneytrail::model::{Address, AssetId, Transfer, TxHash};
use moneytrail::store::Store;
use serde_json::json;

const KEY: &str = "SECRETKEY0123456789ABCDEF";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
        timeout: Duration::from_millis(600),
    }
}

fn etherscan(server: &Explorer, rate: f64, page: u32) -> (EtherscanSource, HttpClient) {
    let http = HttpClient::new(rate, fast_policy()).unwrap();
    let mut cfg = ExplorerConfig::etherscan(CHAIN, ApiKey::new(KEY));
    cfg.url = server.url.clone();
    cfg.page_size = page;
    (EtherscanSource::new(http.clone(), cfg).unwrap(), http)
}

fn blockscout(server: &Explorer, rate: f64, page: u32) -> (EtherscanSource, HttpClient) {
    let http = HttpClient::new(rate, fast_policy()).unwrap();
    let mut cfg = ExplorerConfig::blockscout(&server.url, CHAIN);
    cfg.page_size = page;
    (EtherscanSource::new(http.clone(), cfg).unwrap(), http)
}

fn involving(truth: &[Transfer], a: &Address) -> Vec<Transfer> {
    truth
        .iter()
        .filter(|t| t.from.as_ref() == Some(a) || t.to.as_ref() == Some(a))
        .cloned()
        .collect()
}

fn assert_same(got: &[Transfer], want: &[Transfer], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: transfer #{i} differs");
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} transfers, expected {}",
        got.len(),
        want.len()
    );
}

/// The shared scenario plus bulk traffic of the seed: 12 blocks of 3 payments, 4 blocks of 3
/// token transfers, and one transaction paying 12 addresses internally (ETH and tokens) —
/// enough records to page through a small result window, with window edges inside blocks.
fn scenario() -> Scenario {
    let sc = evm_scenario::build();
    let theft_start = sc.theft_start;
    let mut b = Builder::new(sc.anvil);
    b.truth = sc.truth;
    b.txs = sc.txs;
    b.names = sc.names;
    let (s, f1, tkn) = (b.a("S"), b.a("F1"), b.a("TKN"));
    for i in 0..12u64 {
        let txs = (0..3u64)
            .map(|j| {
                (
                    s.clone(),
                    Some(fresh(1000 + i * 3 + j)),
                    (j as u128 + 1) * ETH / 1000,
                    String::new(),
                    vec![],
                )
            })
            .collect();
        b.send_block(txs);
    }
    let transfer = selector("transfer(address,uint256)");
    for i in 0..4u64 {
        let txs = (0..3u64)
            .map(|j| {
                let to = fresh(2000 + i * 3 + j);
                let v = 1_000 + (i * 3 + j) as u128;
                let data = format!("{transfer}{}{}", word_addr(&to), word(v));
                (
                    s.clone(),
                    Some(tkn.clone()),
                    0,
                    data,
                    vec![Move::Token(tkn.clone(), s.clone(), to, v)],
                )
            })
            .collect();
        b.send_block(txs);
    }
    let to: Vec<String> = (0..12).map(|i| fresh(3000 + i)).collect();
    let (v, t) = (ETH / 100, 7_000u128);
    let mut data = format!(
        "{}{}{}{}{}",
        selector("spray(address,address[],uint256,uint256)"),
        word_addr(&tkn),
        word(0x80),
        word(v),
        word(t)
    );
    data += &word(to.len() as u128);
    let mut moves = Vec::new();
    for (i, x) in to.iter().enumerate() {
        data += &word_addr(x);
        moves.push(Move::Internal(vec![2 * i as u32], f1.clone(), x.clone(), v));
        moves.push(Move::Token(tkn.clone(), f1.clone(), x.clone(), t));
    }
    b.send(
        &s,
        Some(&f1),
        v * to.len() as u128,
        &data,
        None,
        true,
        moves,
    );
    b.finish(theft_start)
}

fn addresses(sc: &Scenario) -> Vec<Address> {
    sc.all_addresses()
        .iter()
        .map(|a| Address::parse(CHAIN, a).unwrap())
        .collect()
}

/// Every address's transfers and every transaction's transfers, from `src`, equal the truth.
fn check_against_truth(sc: &Scenario, src: &EtherscanSource, head: u64, what: &str) {
    let rt = rt();
    for a in addresses(sc) {
        let got = rt.block_on(src.transfers_for_address(&a, 0, head)).unwrap();
        assert_same(&got, &involving(&sc.truth, &a), &format!("{what}: {a}"));
    }
    // a window that ends inside the history
    let s = Address::parse(CHAIN, sc.addr("S")).unwrap();
    let mid = sc.theft_start + 5;
    let got = rt
        .block_on(src.transfers_for_address(&s, sc.theft_start, mid))
        .unwrap();
    let want: Vec<Transfer> = involving(&sc.truth, &s)
        .into_iter()
        .filter(|t| (sc.theft_start..=mid).contains(&t.block))
        .collect();
    assert_same(
        &got,
        &want,
        &format!("{what}: S in {}..={mid}", sc.theft_start),
    );
    for h in &sc.txs {
        let tx = TxHash::parse(h).unwrap();
        let got = rt.block_on(src.transfers_of_tx(tx)).unwrap();
        let want: Vec<Transfer> = sc
            .truth
            .iter()
            .filter(|t| t.tx_hash == tx)
            .cloned()
            .collect();
        assert_same(&got, &want, &format!("{what}: tx {h}"));
    }
    assert_eq!(rt.block_on(src.head()).unwrap(), head);
}

#[test]
fn etherscan_equals_ground_truth_and_the_rpc_source() {
    let sc = scenario();
    let data = ChainData::from_anvil(&sc.anvil);
    let head = data.head();
    let server = Explorer::start(
        Config {
            window: 40,
            ..Config::etherscan(KEY)
        },
        data,
        &sc.anvil.url,
    );
    // page 9: the server's window of 40 is learned from its error at page 5 (45 > 40),
    // which states the limit; then 4 pages (36 records) per window
    let (src, http) = etherscan(&server, 2000.0, 9);
    check_against_truth(&sc, &src, head, "etherscan");
    assert_eq!(src.result_window(), 40, "window learned from the server");
    assert!(
        server.count("account/txlist") > 10,
        "pagination was exercised"
    );
    assert_eq!(server.limited(), 0);
    assert_eq!(
        http.stats()
            .status_429
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // token metadata from tokentx rows, and from eth_call for a bytes32 symbol without decimals
    let rt = rt();
    let tkn = AssetId::from_key(sc.addr("TKN")).unwrap();
    let b32 = AssetId::from_key(sc.addr("B32")).unwrap();
    let a = rt.block_on(src.asset(tkn)).unwrap();
    assert_eq!((a.symbol.as_str(), a.decimals), ("TKN", 6));
    let a = rt.block_on(src.asset(b32)).unwrap();
    assert_eq!((a.symbol.as_str(), a.decimals), ("B32", 18));
    let s = Address::parse(CHAIN, sc.addr("S")).unwrap();
    assert_eq!(
        rt.block_on(src.balance_at(&s, AssetId::Native, head))
            .unwrap(),
        None
    );

    // the JSON-RPC source, key for key
    let rpc_http = HttpClient::new(2000.0, RetryPolicy::default()).unwrap();
    let rpc = rt
        .block_on(RpcSource::connect(
            rpc_http,
            RpcConfig::new(&sc.anvil.url, CHAIN),
        ))
        .unwrap();
    for a in addresses(&sc) {
        let mine = rt.block_on(src.transfers_for_address(&a, 0, head)).unwrap();
        let theirs = rt.block_on(rpc.transfers_for_address(&a, 0, head)).unwrap();
        assert_same(&mine, &theirs, &format!("etherscan vs rpc: {a}"));
    }
}

#[test]
fn blockscout_equals_ground_truth() {
    let sc = scenario();
    let data = ChainData::from_anvil(&sc.anvil);
    let head = data.head();
    let server = Explorer::start(
        Config {
            window: 30,
            ..Config::blockscout()
        },
        data,
        &sc.anvil.url,
    );
    let (src, _) = blockscout(&server, 2000.0, 10);
    check_against_truth(&sc, &src, head, "blockscout");
    assert!(server.count("raw-trace") > 0);
    assert!(src.id().starts_with("blockscout:"));
    // Blockscout documents eth_getBalance at a block: the native opening balance
    let rt = rt();
    let s = sc.addr("S");
    let at = sc.theft_start - 1;
    let want = sc
        .anvil
        .rpc("eth_getBalance", json!([s, format!("{at:#x}")]));
    let want =
        alloy_primitives::U256::from_str_radix(want.as_str().unwrap().trim_start_matches("0x"), 16)
            .unwrap();
    let got = rt
        .block_on(src.balance_at(&Address::parse(CHAIN, s).unwrap(), AssetId::Native, at))
        .unwrap();
    assert_eq!(got.map(|a| a.0), Some(want));
}

fn moneytrail(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_moneytrail"));
    c.arg("--db")
        .arg(db)
        .args(args)
        .env_remove("MONEYTRAIL_DB")
        .env_remove("ETHERSCAN_API_KEY");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn cli_fetch_fills_the_store_with_the_truth() {
    let sc = evm_scenario::build();
    let data = ChainData::from_anvil(&sc.anvil);
    let seeds = sc.all_addresses().join(",");
    let dir = tempfile::tempdir().unwrap();
    for flavor in ["etherscan", "blockscout"] {
        let server = match flavor {
            "etherscan" => Explorer::start(
                Config {
                    window: 20,
                    ..Config::etherscan(KEY)
                },
                data.clone(),
                &sc.anvil.url,
            ),
            _ => Explorer::start(Config::blockscout(), data.clone(), &sc.anvil.url),
        };
        let db = dir.path().join(format!("{flavor}.db"));
        let mut args = vec![
            "-v",
            "fetch",
            "--chain",
            "evm:31337",
            "--seed",
            &seeds,
            "--hops",
            "0",
            "--rate",
            "1000",
            "--format",
            "json",
        ];
        match flavor {
            "etherscan" => args.extend([
                "--etherscan",
                "--api-key-env",
                "MT_TEST_ES_KEY",
                "--etherscan-url",
                &server.url,
            ]),
            _ => args.extend(["--blockscout-url", &server.url]),
        }
        let o = moneytrail(&db, &args, &[("MT_TEST_ES_KEY", KEY)]);
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        assert!(o.status.success(), "{flavor}: {err}");
        assert!(
            !out.contains(KEY) && !err.contains(KEY),
            "{flavor}: the key was printed"
        );
        let store = Store::open(&db).unwrap();
        assert_same(&store.transfers(CHAIN).unwrap(), &sc.truth, flavor);
        // a re-run fetches nothing new
        let before = server.requests();
        let o = moneytrail(&db, &args, &[("MT_TEST_ES_KEY", KEY)]);
        assert!(o.status.success());
        assert_eq!(
            Store::open(&db).unwrap().count_transfers().unwrap(),
            sc.truth.len() as u64
        );
        assert!(
            server.requests() - before <= 2,
            "{flavor}: finished ranges were fetched again"
        );
    }
    // a missing key off mainnet is bad input, naming the variable
    let o = moneytrail(
        &dir.path().join("x.db"),
        &[
            "fetch",
            "--chain",
            "polygon",
            "--etherscan",
            "--seed",
            sc.addr("S"),
        ],
        &[],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("ETHERSCAN_API_KEY"));
}

/// A small chain: three payments from one account in one block, one more alone.
fn small_chain() -> (Anvil, ChainData, String) {
    let anvil = Anvil::start();
    let acc = anvil.accounts();
    anvil.rpc("evm_setAutomine", json!([false]));
    for to in [&acc[1], &acc[2], &acc[3]] {
        anvil.send(json!({"from": acc[0], "to": to, "value": "0x1000"}));
    }
    anvil.mine();
    anvil.rpc("evm_setAutomine", json!([true]));
    let h = anvil.send(json!({"from": acc[0], "to": acc[4], "value": "0x2000"}));
    // under load anvil answers the send before the block holding it is visible: reading the
    // chain then saw 3 of the 4 transactions (6 of the 8 transfers)
    assert!(
        !common::trace_chain::receipt(&anvil, &h).is_null(),
        "{h} not mined"
    );
    let data = ChainData::from_anvil(&anvil);
    let a = acc[0].clone();
    (anvil, data, a)
}

#[test]
fn faults_are_retried_within_bounds_then_fail_clearly() {
    let (anvil, data, a) = small_chain();
    let a = Address::parse(CHAIN, &a).unwrap();
    let server = Explorer::start(Config::etherscan(KEY), data.clone(), &anvil.url);
    let rt = rt();
    let head = data.head();
    let baseline = {
        let (src, _) = etherscan(&server, 1000.0, 100);
        rt.block_on(src.transfers_for_address(&a, 0, head)).unwrap()
    };
    assert_eq!(baseline.len(), 8, "4 fees and 4 values");
    let (src, http) = etherscan(&server, 1000.0, 100);
    let stats = http.stats();
    let get = |s: &std::sync::atomic::AtomicU64| s.load(std::sync::atomic::Ordering::Relaxed);

    // 429 with Retry-After: 1 s is honoured
    server.push_faults([Fault::Status(429, Some(1))]);
    let t0 = Instant::now();
    assert_eq!(rt.block_on(src.head()).unwrap(), head);
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(get(&stats.status_429), 1);

    // 500 twice, then success; truncated JSON; rate-limit bodies
    for faults in [
        vec![Fault::Status(500, None), Fault::Status(500, None)],
        vec![Fault::Truncated],
        vec![Fault::RateLimitBody, Fault::RateLimitBody],
    ] {
        let n = faults.len() as u64;
        let (r0, q0) = (get(&stats.retries), server.requests());
        server.push_faults(faults.clone());
        let got = rt.block_on(src.transfers_for_address(&a, 0, head)).unwrap();
        assert_same(&got, &baseline, &format!("after {faults:?}"));
        assert_eq!(
            get(&stats.retries) - r0,
            n,
            "{faults:?}: one retry per fault"
        );
        assert_eq!(
            server.requests() - q0,
            3 + n,
            "{faults:?}: 3 lists + the retried ones"
        );
    }

    // a stalled server: every attempt times out, then one clear error
    server.push_faults((0..4).map(|_| Fault::Stall(Duration::from_secs(5))));
    let (q0, t0) = (server.requests(), Instant::now());
    let e = rt.block_on(src.head()).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, FetchError::RetriesExhausted { attempts: 4, .. }),
        "{e:?}"
    );
    assert!(
        msg.contains("timed out") && msg.contains("module=proxy"),
        "{msg}"
    );
    assert!(!msg.contains(KEY), "the key leaked: {msg}");
    assert_eq!(server.requests() - q0, 4);
    assert!(
        t0.elapsed() < Duration::from_secs(6),
        "bounded: {:?}",
        t0.elapsed()
    );

    // a definite refusal is not retried, and names the problem without the key
    let bad_http = HttpClient::new(1000.0, fast_policy()).unwrap();
    let mut cfg = ExplorerConfig::etherscan(CHAIN, ApiKey::new("WRONGKEY0000000000000"));
    cfg.url = server.url.clone();
    let wrong = EtherscanSource::new(bad_http, cfg).unwrap();
    let q0 = server.requests();
    let e = rt
        .block_on(wrong.transfers_for_address(&a, 0, head))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Invalid API Key") && !e.contains("WRONGKEY"),
        "{e}"
    );
    assert!(server.requests() - q0 <= 3, "refusals are not retried");
}

#[test]
fn one_block_past_the_window_is_a_clear_error() {
    let (anvil, data, a) = small_chain();
    let a = Address::parse(CHAIN, &a).unwrap();
    let server = Explorer::start(
        Config {
            window: 2,
            ..Config::etherscan(KEY)
        },
        data.clone(),
        &anvil.url,
    );
    let (src, _) = etherscan(&server, 1000.0, 1);
    let e = rt()
        .block_on(src.transfers_for_address(&a, 0, data.head()))
        .unwrap_err();
    assert!(matches!(e, FetchError::Unsupported(_)), "{e:?}");
    let m = e.to_string();
    assert!(m.contains("more than 2 txlist records in block 1"), "{m}");
    assert!(!m.contains(KEY));
}

#[test]
fn the_client_stays_under_the_servers_rate_limit() {
    let (anvil, data, a) = small_chain();
    let a = Address::parse(CHAIN, &a).unwrap();
    let head = data.head();
    let rt = rt();
    // polite: 25/s against a server allowing 50/s, pages of one record (many requests)
    let server = Explorer::start(
        Config {
            rate: Some((50, Limit::Body)),
            ..Config::etherscan(KEY)
        },
        data.clone(),
        &anvil.url,
    );
    let (src, http) = etherscan(&server, 25.0, 1);
    for _ in 0..5 {
        rt.block_on(src.transfers_for_address(&a, 0, head)).unwrap();
    }
    assert!(server.requests() >= 30);
    assert_eq!(
        server.limited(),
        0,
        "no rate-limit answers at half the server's limit"
    );
    assert_eq!(
        http.stats()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // impolite: 400/s against 20/s gets "Max rate limit reached" bodies and HTTP 429s, and
    // recovers through the retries
    for limit in [Limit::Body, Limit::Http429] {
        let server = Explorer::start(
            Config {
                rate: Some((20, limit)),
                ..Config::etherscan(KEY)
            },
            data.clone(),
            &anvil.url,
        );
        let http = HttpClient::new(
            400.0,
            RetryPolicy {
                max_attempts: 8,
                base_delay: Duration::from_millis(100),
                ..fast_policy()
            },
        )
        .unwrap();
        let mut cfg = ExplorerConfig::etherscan(CHAIN, ApiKey::new(KEY));
        cfg.url = server.url.clone();
        cfg.page_size = 1;
        let src = EtherscanSource::new(http, cfg).unwrap();
        for round in 0..5 {
            let got = rt.block_on(src.transfers_for_address(&a, 0, head)).unwrap();
            let keys: Vec<String> = got
                .iter()
                .map(|t| format!("{}/{:?}", t.tx_hash.display(CHAIN), t.sub))
                .collect();
            assert_eq!(
                got.len(),
                8,
                "{limit:?} round {round}: {keys:?}; server limited {} requests",
                server.limited()
            );
        }
        assert!(
            server.limited() > 0,
            "{limit:?}: the server limited the burst"
        );
    }
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_api_key_is_never_logged() {
    let (anvil, data, a) = small_chain();
    let a = Address::parse(CHAIN, &a).unwrap();
    let server = Explorer::start(Config::etherscan(KEY), data.clone(), &anvil.url);
    let buf = Buf::default();
    let w = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || w.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (src, _) = etherscan(&server, 1000.0, 2);
    server.push_faults([
        Fault::Status(500, None),
        Fault::RateLimitBody,
        Fault::Truncated,
    ]);
    rt().block_on(src.transfers_for_address(&a, 0, data.head()))
        .unwrap();
    server.push_faults((0..4).map(|_| Fault::Status(503, None)));
    let e = rt().block_on(src.head()).unwrap_err();
    let logs = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    assert!(logs.contains("retrying"), "retries were logged: {logs}");
    assert!(!logs.contains(KEY), "the key is in the logs");
    assert!(!e.to_string().contains(KEY) && !format!("{e:?}").contains(KEY));
    assert!(!src.id().contains(KEY));
    assert_eq!(src.id(), format!("etherscan:{}:31337", server.url));
}
