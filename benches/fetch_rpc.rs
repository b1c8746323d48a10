//! Fetch benchmark (prints figures; not a timed test): a real anvil chain with more than 20,000
//! transfers touching the seeds — plain payments from 8 hubs and contract "sprays" with 50
//! internal payments and 50 token transfers each — fetched with each discovery method.
//! Reports transfers/s and requests/s, a re-run's requests (0 for finished ranges), and how
//! closely the rate limiter holds a configured rate.
//!
//!     cargo bench --bench fetch_rpc            # MONEYTRAIL_BENCH_TXS=<per hub> to resize

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::evm_scenario::{self, selector, word, word_addr};
use moneytrail::fetch::evm_rpc::{Discovery, InternalMethod, RpcConfig, RpcSource};
use moneytrail::fetch::{FrontierConfig, HttpClient, RetryPolicy, run_frontier};
use moneytrail::model::{Address, Chain};
use moneytrail::store::Store;
use serde_json::{Value, json};

const CHAIN: Chain = Chain::Evm(31337);

fn send_batch(anvil: &common::anvil::Anvil, txs: &[Value]) {
    let body: Vec<Value> = txs
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction", "params": [t]}))
        .collect();
    let r: Value = reqwest::blocking::Client::new()
        .post(&anvil.url)
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap();
    for a in r.as_array().unwrap() {
        assert!(a.get("error").is_none(), "{a}");
    }
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: a small smoke run then
    let full = std::env::args().any(|a| a == "--bench");
    let per_hub: usize = std::env::var("MONEYTRAIL_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 1000 } else { 10 });
    let sprays: u64 = if full { 40 } else { 2 };
    let t0 = Instant::now();
    let anvil = common::anvil::Anvil::start_with(&["--block-gas-limit", "1000000000"]);
    let acc = anvil.accounts();
    let code = |n: &str| evm_scenario::contracts()[n].1.clone();
    let d = acc[0].clone();
    // token and spray contract
    let tkn = format!("{:#x}", evm_scenario::evm(&d).create(0));
    anvil.send(json!({"from": d, "data": format!("0x{}{}", code("Token"), evm_scenario::token_args("TKN", 6, u64::MAX as u128))}));
    let fwd = format!("{:#x}", evm_scenario::evm(&d).create(1));
    anvil.send(json!({"from": d, "data": format!("0x{}", code("Forwarder"))}));
    anvil.send(json!({"from": d, "to": tkn, "data": format!("0x{}{}{}", selector("transfer(address,uint256)"), word_addr(&fwd), word(u64::MAX as u128 / 2))}));
    let hubs: Vec<String> = acc[1..9].to_vec();
    anvil.rpc("evm_setAutomine", json!([false]));
    let mut n = 0u64;
    // plain payments: 200 transactions a block
    let mut pending = Vec::new();
    for i in 0..per_hub {
        for h in &hubs {
            n += 1;
            // explicit nonces: anvil assigns them concurrently inside a batch
            pending.push(json!({"from": h, "to": evm_scenario::fresh(10_000 + n),
                "value": format!("{:#x}", 1_000_000_000u64 + i as u64), "gas": "0x5208",
                "nonce": format!("{:#x}", i)}));
            if pending.len() == 200 {
                send_batch(&anvil, &pending);
                pending.clear();
                anvil.mine();
            }
        }
    }
    if !pending.is_empty() {
        send_batch(&anvil, &pending);
        anvil.mine();
    }
    // sprays: 50 internal payments and 50 token transfers each
    for s in 0..sprays {
        let mut data = format!(
            "{}{}{}{}{}",
            selector("spray(address,address[],uint256,uint256)"),
            word_addr(&tkn),
            word(0x80),
            word(1_000),
            word(7)
        );
        data += &word(50);
        for k in 0..50 {
            data += &word_addr(&evm_scenario::fresh(1_000_000 + s * 50 + k));
        }
        send_batch(
            &anvil,
            &[
                json!({"from": acc[9], "to": fwd, "value": format!("{:#x}", 50_000u64), "data": format!("0x{data}"), "gas": "0x2000000"}),
            ],
        );
        anvil.mine();
    }
    anvil.rpc("evm_setAutomine", json!([true]));
    let head = anvil.block_number();
    println!(
        "chain: {} blocks, {} plain transactions + {sprays} sprays, built in {:.1} s",
        head,
        n,
        t0.elapsed().as_secs_f64()
    );
    let mut seeds: Vec<Address> = hubs
        .iter()
        .map(|h| Address::parse(CHAIN, h).unwrap())
        .collect();
    seeds.push(Address::parse(CHAIN, &fwd).unwrap());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "\n| discovery | internal | transfers | seconds | transfers/s | requests | requests/s | re-run requests | re-run chunks fetched |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (disc, internal) in [
        (Discovery::TraceFilter, InternalMethod::Trace),
        (Discovery::TraceFilter, InternalMethod::Debug),
        (Discovery::Ots, InternalMethod::Trace),
        (Discovery::Scan, InternalMethod::Trace),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let mut store = Store::open(&db).unwrap();
        let cfg = FrontierConfig {
            from_block: 0,
            to_block: Some(head),
            hops: 0,
            chunk_blocks: 10_000,
            concurrency: 4,
            progress: false,
            ..FrontierConfig::default()
        };
        let (r1, r2) = rt.block_on(async {
            let http = HttpClient::new(1_000_000.0, RetryPolicy::default()).unwrap();
            let mut c = RpcConfig::new(&anvil.url, CHAIN);
            c.discovery = Some(disc);
            c.internal = Some(internal);
            let src = RpcSource::connect(http.clone(), c).await.unwrap();
            let r1 = run_frontier(&mut store, &src, &seeds, &cfg, Some(http.stats()))
                .await
                .unwrap();
            let r2 = run_frontier(&mut store, &src, &seeds, &cfg, Some(http.stats()))
                .await
                .unwrap();
            (r1, r2)
        });
        println!(
            "| {disc} | {internal} | {} | {:.2} | {:.0} | {} | {:.0} | {} | {} |",
            r1.transfers_stored,
            r1.elapsed_secs,
            r1.transfers_stored as f64 / r1.elapsed_secs,
            r1.requests,
            r1.requests as f64 / r1.elapsed_secs,
            r2.requests,
            r2.chunks_fetched
        );
        if full && per_hub >= 1000 {
            assert!(
                r1.transfers_stored >= 20_000,
                "{} transfers",
                r1.transfers_stored
            );
        }
        assert_eq!(r2.requests, 0);
    }

    // the rate limiter: the 8 hubs over the first block of payments (≈ 200 transactions, one
    // trace call each), no batches, 4 calls in flight: the limiter is the bound
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("r.db")).unwrap();
        let rate = 40.0;
        let http = HttpClient::new(rate, RetryPolicy::default()).unwrap();
        let mut c = RpcConfig::new(&anvil.url, CHAIN);
        c.discovery = Some(Discovery::Ots);
        c.internal = Some(InternalMethod::Trace);
        c.batch_size = 1;
        let src = RpcSource::connect(http.clone(), c).await.unwrap();
        let first = 4; // blocks 1-3 deploy and fund the contracts
        let cfg = FrontierConfig {
            from_block: first,
            to_block: Some(first),
            hops: 0,
            progress: false,
            ..FrontierConfig::default()
        };
        let r = run_frontier(&mut store, &src, &seeds[..8], &cfg, Some(http.stats()))
            .await
            .unwrap();
        let achieved = r.requests as f64 / r.elapsed_secs;
        println!(
            "\nrate limiter at {rate} requests/s, no batches: {} requests in {:.2} s = {achieved:.1} requests/s ({:+.1}%), HTTP 429: {}",
            r.requests,
            r.elapsed_secs,
            (achieved / rate - 1.0) * 100.0,
            http.stats().status_429.load(std::sync::atomic::Ordering::Relaxed)
        );
    });
}
