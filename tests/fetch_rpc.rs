//! The EVM JSON-RPC source and the frontier against a real anvil chain and a real SQLite store:
//! the fetched transfers must equal the chain's ground truth exactly, for every discovery
//! method and both tracing APIs; the frontier follows value forward in time and stops where it
//! should; a SIGKILLed fetch resumes without duplicates, gaps or repeated requests; faults of
//! the HTTP layer are retried within bounds; bad input is one line and exit 2.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::evm_scenario::{self, CHAIN, ETH, Scenario};
use common::rpc_proxy::{self, Reply};
use moneytrail::fetch::evm_rpc::{Discovery, InternalMethod, RpcConfig, RpcSource};
use moneytrail::fetch::{
    FetchError, FrontierConfig, HttpClient, RetryPolicy, Source, StopReason, run_frontier,
};
use moneytrail::model::{Address, Amount, AssetId, Transfer, TxHash};
use moneytrail::store::Store;
use serde_json::{Value, json};

fn moneytrail(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("MONEYTRAIL_CATALOG")
        .env_remove("MONEYTRAIL_DB")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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

fn fetch_all(sc: &Scenario, db: &Path, url: &str, extra: &[&str]) -> Output {
    let seeds = sc.all_addresses().join(",");
    let mut args = vec![
        "fetch",
        "--chain",
        "evm:31337",
        "--rpc-url",
        url,
        "--seed",
        &seeds,
        "--hops",
        "0",
        "--rate",
        "2000",
        "--format",
        "json",
    ];
    if !extra.contains(&"--chunk-blocks") {
        args.extend(["--chunk-blocks", "7"]);
    }
    args.extend_from_slice(extra);
    moneytrail(db, &args)
}

fn report(o: &Output) -> Value {
    assert!(o.status.success(), "fetch failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn source(url: &str, f: impl FnOnce(&mut RpcConfig)) -> (RpcSource, HttpClient) {
    let http = HttpClient::new(2000.0, RetryPolicy::default()).unwrap();
    let mut cfg = RpcConfig::new(url, CHAIN);
    f(&mut cfg);
    (RpcSource::connect(http.clone(), cfg).await.unwrap(), http)
}

#[test]
fn store_equals_ground_truth_for_every_discovery_method() {
    let sc = evm_scenario::build();
    let dir = tempfile::tempdir().unwrap();
    for (disc, internal) in [
        ("trace_filter", "trace"),
        ("ots", "debug"),
        ("scan", "trace"),
        ("scan", "debug"),
    ] {
        let db = dir.path().join(format!("{disc}-{internal}.db"));
        let o = fetch_all(
            &sc,
            &db,
            &sc.anvil.url,
            &["--discovery", disc, "--internal", internal],
        );
        let r = report(&o);
        let store = Store::open(&db).unwrap();
        let got = store.transfers(CHAIN).unwrap();
        assert_same(&got, &sc.truth, &format!("{disc}/{internal}"));
        assert_eq!(r["transfers_stored"], got.len() as u64);
        // token metadata: a string symbol, and a bytes32 symbol without decimals()
        let tkn = store
            .asset(CHAIN, AssetId::Token(evm_scenario::evm(sc.addr("TKN"))))
            .unwrap()
            .unwrap();
        assert_eq!((tkn.symbol.as_str(), tkn.decimals), ("TKN", 6));
        let b32 = store
            .asset(CHAIN, AssetId::Token(evm_scenario::evm(sc.addr("B32"))))
            .unwrap()
            .unwrap();
        assert_eq!((b32.symbol.as_str(), b32.decimals), ("B32", 18));
    }
}

#[test]
fn parity_and_call_tracer_give_identical_transfers() {
    let sc = evm_scenario::build();
    rt().block_on(async {
        let (parity, _) = source(&sc.anvil.url, |c| c.internal = Some(InternalMethod::Trace)).await;
        let (geth, _) = source(&sc.anvil.url, |c| c.internal = Some(InternalMethod::Debug)).await;
        for h in &sc.txs {
            let hash = TxHash::parse(h).unwrap();
            let a = parity.transfers_of_tx(hash).await.unwrap();
            let b = geth.transfers_of_tx(hash).await.unwrap();
            let want: Vec<Transfer> = sc
                .truth
                .iter()
                .filter(|t| t.tx_hash == hash)
                .cloned()
                .collect();
            assert_same(&a, &want, &format!("trace_transaction {h}"));
            assert_same(&b, &want, &format!("debug_traceTransaction {h}"));
        }
    });
}

#[test]
fn frontier_follows_value_forward_in_time_and_reports_stops() {
    let sc = evm_scenario::build();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("f.db")).unwrap();
    moneytrail::knowledge::labels::sync_catalog_labels(
        &mut store,
        &moneytrail::knowledge::Catalog::embedded(),
    )
    .unwrap();
    let s = Address::parse(CHAIN, sc.addr("S")).unwrap();
    let cfg = FrontierConfig {
        from_block: sc.theft_start,
        to_block: None,
        hops: 3,
        max_addresses: 100,
        min_value: Some("0.001".into()),
        service_degree: 16,
        chunk_blocks: 10,
        concurrency: 3,
        progress: false,
        demix: false,
        bridges: false,
    };
    let r = rt().block_on(async {
        let (src, http) = source(&sc.anvil.url, |_| {}).await;
        assert_eq!(src.discovery().await.unwrap(), Discovery::TraceFilter);
        run_frontier(
            &mut store,
            &src,
            std::slice::from_ref(&s),
            &cfg,
            Some(http.stats()),
        )
        .await
        .unwrap()
    });
    eprintln!("{}", r.summary());
    let name_of = |a: &str| {
        sc.names
            .iter()
            .find(|(_, v)| v.eq_ignore_ascii_case(a))
            .map(|(k, _)| k.clone())
            .unwrap_or(a.to_string())
    };
    let mut by_hop: Vec<Vec<String>> = vec![Vec::new(); 4];
    for e in &r.expanded {
        by_hop[e.hop as usize].push(name_of(&e.address));
    }
    for v in &mut by_hop {
        v.sort();
    }
    let sorted = |v: &[&str]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(by_hop[0], sorted(&["S"]));
    assert_eq!(by_hop[1], sorted(&["A", "F1", "K1"]));
    assert_eq!(
        by_hop[2],
        sorted(&["X1", "X2", "X4", "B", "C", "F2", "G", "I", "K2", "K3", "Y"])
    );
    assert_eq!(by_hop[3], sorted(&["X3", "D2", "E", "Z2", "X5"]));
    assert_eq!(r.expanded_per_hop, vec![1, 3, 11, 5]);
    let mut stops: Vec<(String, u32, String)> = r
        .stopped
        .iter()
        .map(|s| {
            let why = match &s.reason {
                StopReason::Terminal { category, .. } => format!("terminal:{category}"),
                StopReason::HopLimit { .. } => "hops".into(),
                StopReason::MaxAddresses { .. } => "max".into(),
                StopReason::Service { degree, threshold } => {
                    assert!(degree > threshold, "{degree} > {threshold}");
                    "service".into()
                }
                StopReason::Dust => "dust".into(),
            };
            (name_of(&s.address), s.hop, why)
        })
        .collect();
    stops.sort();
    assert_eq!(
        stops,
        vec![
            ("C".to_string(), 2, "service".to_string()),
            ("EX".to_string(), 2, "terminal:exchange".to_string()),
            ("X6".to_string(), 3, "dust".to_string()),
            ("Z3".to_string(), 4, "hops".to_string()),
        ]
    );
    // I paid Z1 before the seeds' side funded it: not followed
    assert!(
        !r.expanded
            .iter()
            .chain(r.stopped.iter().map(|_| &r.expanded[0]))
            .any(|e| name_of(&e.address) == "Z1")
    );
    assert!(!r.stopped.iter().any(|s| name_of(&s.address) == "Z1"));
    let i = r
        .expanded
        .iter()
        .find(|e| name_of(&e.address) == "I")
        .unwrap();
    let funded = sc
        .truth
        .iter()
        .find(|t| t.to.as_ref().map(|a| a.key()) == Some(sc.addr("I").to_string()))
        .unwrap();
    assert_eq!(i.start_block, funded.block);
    assert!(
        r.dust_transfers >= 2,
        "the 1-wei payment and the 10-unit B32 payment are dust"
    );

    // every stored transfer touches an expanded address and is true
    let stored = store.transfers(CHAIN).unwrap();
    for t in &stored {
        assert!(sc.truth.contains(t), "not in the ground truth: {t:?}");
        assert!(t.block >= sc.theft_start);
    }
    // and every true transfer of a (fully) expanded address in the window is stored
    for e in r.expanded.iter().filter(|e| name_of(&e.address) != "C") {
        for t in sc.truth.iter().filter(|t| t.block >= sc.theft_start) {
            let touches = [&t.from, &t.to]
                .iter()
                .any(|a| a.as_ref().map(|a| a.to_string()) == Some(e.address.clone()));
            if touches {
                assert!(stored.contains(t), "missing for {}: {t:?}", e.address);
            }
        }
    }

    // opening balances at the end of the block before the window
    let o = sc.theft_start - 1;
    assert_eq!(r.opening_block, o);
    let bal = |n: &str, asset: AssetId| {
        store
            .balance_at(CHAIN, &Address::parse(CHAIN, sc.addr(n)).unwrap(), asset, o)
            .unwrap()
    };
    let tkn = AssetId::Token(evm_scenario::evm(sc.addr("TKN")));
    let b32 = AssetId::Token(evm_scenario::evm(sc.addr("B32")));
    assert_eq!(
        bal("S", AssetId::Native),
        Some(Amount::from_base_units(10_000 * ETH))
    );
    assert_eq!(
        bal("S", tkn),
        Some(Amount::from_base_units(500_000_000_000))
    );
    assert_eq!(bal("S", b32), Some(Amount::from_base_units(1000)));
    assert_eq!(bal("F1", AssetId::Native), Some(Amount::ZERO));
    assert_eq!(bal("F1", tkn), Some(Amount::from_base_units(1_000_000_000)));
    assert_eq!(bal("A", tkn), Some(Amount::ZERO));
    assert_eq!(bal("X1", AssetId::Native), Some(Amount::ZERO));
    assert_eq!(
        bal("EX", AssetId::Native),
        None,
        "terminal addresses are not expanded"
    );

    // max-addresses: the seed and the first two addresses of hop 1, the rest reported
    let mut store2 = Store::open(&dir.path().join("g.db")).unwrap();
    let cfg2 = FrontierConfig {
        max_addresses: 3,
        ..cfg
    };
    let r2 = rt().block_on(async {
        let (src, _) = source(&sc.anvil.url, |_| {}).await;
        run_frontier(&mut store2, &src, &[s], &cfg2, None)
            .await
            .unwrap()
    });
    assert_eq!(r2.expanded.len(), 3);
    assert!(
        r2.stopped.iter().any(|s| name_of(&s.address) == "K1"
            && matches!(s.reason, StopReason::MaxAddresses { max: 3 }))
    );
}

#[test]
fn sigkill_mid_fetch_then_resume_is_exact_and_skips_finished_chunks() {
    let sc = evm_scenario::build();
    let dir = tempfile::tempdir().unwrap();
    let head = sc.anvil.block_number().to_string();
    // the reference: one uninterrupted run
    let full = dir.path().join("full.db");
    report(&fetch_all(
        &sc,
        &full,
        &sc.anvil.url,
        &["--to-block", &head],
    ));
    let want = Store::open(&full).unwrap().transfers(CHAIN).unwrap();
    assert_same(&want, &sc.truth, "uninterrupted");

    // a slow run, killed after a few chunks are committed
    let db = dir.path().join("killed.db");
    let seeds = sc.all_addresses().join(",");
    let mut child = Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(&db)
        .args([
            "-q",
            "fetch",
            "--chain",
            "evm:31337",
            "--rpc-url",
            &sc.anvil.url,
            "--seed",
            &seeds,
            "--hops",
            "0",
            "--rate",
            "25",
            "--chunk-blocks",
            "3",
            "--to-block",
            &head,
        ])
        .env_remove("MONEYTRAIL_DB")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let store = Store::open(&db).unwrap();
    loop {
        let n = moneytrail::fetch::driver::KIND_TRANSFERS;
        let done: usize = sc
            .all_addresses()
            .iter()
            .map(|a| {
                store
                    .checkpoints(&format!("rpc:{}", sc.anvil.url), CHAIN, a, n)
                    .unwrap()
                    .len()
            })
            .sum();
        if done >= 5 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("finished ({status}) before it could be killed: {err}");
        }
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = store.transfers(CHAIN).unwrap();
    assert!(
        partial.len() < want.len(),
        "killed too late to test anything"
    );
    for t in &partial {
        assert!(want.contains(t));
    }

    // resume: identical to the uninterrupted run
    let r = report(&fetch_all(&sc, &db, &sc.anvil.url, &["--to-block", &head]));
    assert!(r["chunks_skipped"].as_u64().unwrap() >= 5);
    let got = store.transfers(CHAIN).unwrap();
    assert_same(&got, &want, "resumed");
    assert_eq!(
        store.count_transfers().unwrap(),
        want.len() as u64,
        "no duplicates"
    );

    // a third run: nothing left to fetch, not one request sent
    let r = report(&fetch_all(&sc, &db, &sc.anvil.url, &["--to-block", &head]));
    assert_eq!(r["chunks_fetched"], 0);
    assert_eq!(r["requests"], 0, "{r}");
    assert_eq!(r["transfers_stored"], 0);
}

#[test]
fn refused_ranges_and_batches_and_a_node_without_discovery() {
    let sc = evm_scenario::build();
    let dir = tempfile::tempdir().unwrap();
    let up = sc.anvil.url.clone();
    // a node that refuses ranges of more than 3 blocks for logs and traces, and batches
    let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let batches = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let r2 = refused.clone();
    let limit = rpc_proxy::per_call(up.clone(), move |req| {
        let m = req["method"].as_str().unwrap_or("");
        if matches!(m, "eth_getLogs" | "trace_filter") {
            let p = &req["params"][0];
            let n = |k: &str| {
                u64::from_str_radix(p[k].as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)
                    .unwrap_or(0)
            };
            if n("toBlock") - n("fromBlock") + 1 > 3 {
                r2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return Some(rpc_proxy::rpc_error(
                    req,
                    -32005,
                    "query returned more than 10000 results",
                ));
            }
        }
        None
    });
    let no_batch: rpc_proxy::Policy = {
        let inner = limit.clone();
        let b2 = batches.clone();
        Arc::new(move |n, body| {
            if body.is_array() {
                b2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return Reply::Http(
                    200,
                    vec![],
                    rpc_proxy::rpc_error(&json!({}), -32600, "batch requests are not supported")
                        .to_string(),
                );
            }
            inner(n, body)
        })
    };
    let server = rpc_proxy::start(Some(up.clone()), no_batch);
    let db = dir.path().join("limited.db");
    let o = fetch_all(
        &sc,
        &db,
        &server.url,
        &["--discovery", "trace_filter", "--chunk-blocks", "50"],
    );
    report(&o);
    assert_same(
        &Store::open(&db).unwrap().transfers(CHAIN).unwrap(),
        &sc.truth,
        "split ranges, no batches",
    );
    use std::sync::atomic::Ordering::SeqCst;
    assert!(refused.load(SeqCst) > 10, "ranges were refused and split");
    assert_eq!(
        batches.load(SeqCst),
        1,
        "one refused batch, then single calls"
    );

    // a node offering neither trace_filter nor ots: an error without a range, a scan with one
    let bare = rpc_proxy::start(
        Some(up.clone()),
        rpc_proxy::per_call(up.clone(), |req| {
            let m = req["method"].as_str().unwrap_or("");
            (m == "trace_filter" || m.starts_with("ots_"))
                .then(|| rpc_proxy::rpc_error(req, -32601, "Method not found"))
        }),
    );
    let s = sc.addr("S").to_string();
    let o = moneytrail(
        &dir.path().join("bare.db"),
        &[
            "fetch",
            "--chain",
            "evm:31337",
            "--rpc-url",
            &bare.url,
            "--seed",
            &s,
            "--hops",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("no address discovery") && e.contains("--from-block"),
        "{e}"
    );
    assert_eq!(
        e.trim_end().lines().filter(|l| l.contains("error")).count(),
        1,
        "{e}"
    );
    let db = dir.path().join("bare2.db");
    let o = moneytrail(
        &db,
        &[
            "fetch",
            "--chain",
            "evm:31337",
            "--rpc-url",
            &bare.url,
            "--seed",
            &s,
            "--hops",
            "0",
            "--from-block",
            "0",
            "--rate",
            "2000",
            "--format",
            "json",
        ],
    );
    report(&o);
    let want: Vec<Transfer> = sc
        .truth
        .iter()
        .filter(|t| {
            [&t.from, &t.to]
                .iter()
                .any(|a| a.as_ref().map(|a| a.key()) == Some(s.clone()))
        })
        .cloned()
        .collect();
    assert_same(
        &Store::open(&db).unwrap().transfers(CHAIN).unwrap(),
        &want,
        "scan fallback",
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let closed = format!("http://127.0.0.1:{}", common::free_port());
    let good = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--chain",
                "ethereum",
                "--rpc-url",
                &closed,
                "--seed",
                "0x1234",
            ],
            "0x1234",
        ),
        (
            vec![
                "--chain",
                "ethereum",
                "--rpc-url",
                &closed,
                "--seed",
                "0x70997970c51812dc3a010c7d01b50e0d17dc79C8",
            ],
            "0x70997970c51812dc3a010c7d01b50e0d17dc79C8",
        ),
        (
            vec!["--chain", "solana", "--rpc-url", &closed, "--seed", good],
            "solana",
        ),
        (
            vec!["--chain", "ethereum", "--rpc-url", &closed, "--seed", good],
            &closed,
        ),
        (
            vec![
                "--chain",
                "ethereum",
                "--rpc-url",
                "ftp://x",
                "--seed",
                good,
            ],
            "ftp://x",
        ),
        (
            vec![
                "--chain",
                "ethereum",
                "--rpc-url",
                &closed,
                "--incident",
                "no-such-heist",
            ],
            "no-such-heist",
        ),
        (
            vec![
                "--chain",
                "ethereum",
                "--rpc-url",
                &closed,
                "--seed",
                good,
                "--min-value",
                "1,5",
            ],
            "1,5",
        ),
        (
            vec![
                "--chain",
                "ethereum",
                "--rpc-url",
                &closed,
                "--seed",
                good,
                "--discovery",
                "magic",
            ],
            "magic",
        ),
        (
            vec![
                "--chain",
                "ethereum",
                "--rpc-url",
                &closed,
                "--seed",
                good,
                "--rate",
                "0",
            ],
            "rate",
        ),
    ];
    for (args, needle) in cases {
        let mut a = vec!["fetch"];
        a.extend(args.iter());
        let o = moneytrail(&db, &a);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{a:?}: {e}");
        assert!(e.contains(needle), "{a:?} should name '{needle}': {e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{a:?}: one line: {e}");
        assert!(!e.contains("panicked"));
    }
}

#[test]
fn another_chain_id_is_a_warning() {
    let anvil = common::anvil::Anvil::start();
    let acc = anvil.accounts();
    anvil.send(json!({"from": acc[0], "to": acc[1], "value": "0x1"}));
    let dir = tempfile::tempdir().unwrap();
    let o = moneytrail(
        &dir.path().join("w.db"),
        &[
            "fetch",
            "--chain",
            "ethereum",
            "--rpc-url",
            &anvil.url,
            "--seed",
            &acc[1],
            "--hops",
            "0",
            "--rate",
            "1000",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("31337") && e.contains("ethereum") && e.contains("chain id 1"),
        "{e}"
    );
}

/// The shared HTTP client under faults, through the JSON-RPC source.
#[test]
fn http_faults_are_retried_within_bounds_then_reported() {
    let policy = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
        timeout: Duration::from_millis(400),
    };
    let ok = |req: &Value| {
        let one = |r: &Value| json!({"jsonrpc": "2.0", "id": r["id"], "result": "0x7a69"});
        match req {
            Value::Array(items) => Value::Array(items.iter().map(one).collect()).to_string(),
            r => one(r).to_string(),
        }
    };
    let rt = rt();
    let connect = |url: String| {
        let http = HttpClient::new(1000.0, policy).unwrap();
        let h2 = http.clone();
        let r = rt.block_on(async move {
            RpcSource::connect(http, RpcConfig::new(&url, CHAIN))
                .await
                .map(|_| ())
        });
        (r, h2)
    };
    let stat = |h: &HttpClient| {
        use std::sync::atomic::Ordering::Relaxed;
        (
            h.stats().requests.load(Relaxed),
            h.stats().retries.load(Relaxed),
            h.stats().status_429.load(Relaxed),
        )
    };

    // 500 twice, then an answer
    let s = rpc_proxy::start(
        None,
        Arc::new(move |n, req| {
            if n < 2 {
                Reply::Http(500, vec![], "oops".into())
            } else {
                Reply::Http(200, vec![], ok(req))
            }
        }),
    );
    let (r, h) = connect(s.url.clone());
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(stat(&h), (3, 2, 0));

    // 429 with Retry-After: 1 → waits at least a second, then succeeds
    let s = rpc_proxy::start(
        None,
        Arc::new(move |n, req| {
            if n == 0 {
                Reply::Http(429, vec![("retry-after".into(), "1".into())], "{}".into())
            } else {
                Reply::Http(200, vec![], ok(req))
            }
        }),
    );
    let t = Instant::now();
    let (r, h) = connect(s.url.clone());
    assert!(r.is_ok(), "{r:?}");
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(stat(&h), (2, 1, 1));

    // truncated JSON once, then an answer
    let s = rpc_proxy::start(
        None,
        Arc::new(move |n, req| {
            if n == 0 {
                Reply::Http(200, vec![], "{\"jsonrpc\":\"2.0\",\"id\":1,\"res".into())
            } else {
                Reply::Http(200, vec![], ok(req))
            }
        }),
    );
    let (r, h) = connect(s.url.clone());
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(stat(&h).0, 2);

    // truncated JSON for ever: reported after the budget, naming the endpoint
    let s = rpc_proxy::start(
        None,
        Arc::new(|_, _| Reply::Http(200, vec![], "[{\"jsonrpc\":".into())),
    );
    let (r, h) = connect(s.url.clone());
    match r {
        Err(FetchError::RetriesExhausted {
            url,
            attempts,
            last,
        }) => {
            assert_eq!(url, s.url);
            assert_eq!(attempts, 4);
            assert!(last.contains("invalid JSON"), "{last}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(stat(&h).0, 4);

    // a stalled server: each attempt times out; bounded in time and attempts
    let s = rpc_proxy::start(None, Arc::new(|_, _| Reply::Stall(Duration::from_secs(30))));
    let t = Instant::now();
    let (r, h) = connect(s.url.clone());
    assert!(
        matches!(r, Err(FetchError::RetriesExhausted { .. })),
        "{r:?}"
    );
    assert_eq!(stat(&h).0, 4);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "bounded: {:?}",
        t.elapsed()
    );
    assert_eq!(s.hits.load(std::sync::atomic::Ordering::SeqCst), 4);
}
