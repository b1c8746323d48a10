//! Explorer-source benchmark (prints figures; not a timed test).
//!
//! 1. Politeness: against the local Etherscan-format server enforcing R requests/s (`Max rate
//!    limit reached` bodies past it), the client configured at R pages through an address's
//!    history one record per request; reported: requests, the rate measured at the server
//!    (arrivals − 1 over the first-to-last span), rate-limit answers, HTTP 429s and retries.
//! 2. Throughput: the shared anvil scenario fetched for every address at an unlimited rate,
//!    Etherscan and Blockscout flavours: transfers/s and requests/s.
//!
//!     cargo bench --bench fetch_etherscan            # MONEYTRAIL_BENCH_SECS=<s per rate>

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::anvil::Anvil;
use common::evm_scenario;
use common::explorer::{ChainData, Config, Explorer, Limit};
use moneytrail::fetch::etherscan::{ApiKey, EtherscanSource, ExplorerConfig, explorer_http};
use moneytrail::fetch::{HttpClient, RetryPolicy, Source};
use moneytrail::model::{Address, Chain};
use serde_json::json;

const CHAIN: Chain = Chain::Evm(31337);
const KEY: &str = "BENCHKEY000000000000";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn source(url: &str, rate: f64, page: u32, blockscout: bool) -> (EtherscanSource, HttpClient) {
    let http = explorer_http(rate, RetryPolicy::default()).unwrap();
    let mut cfg = if blockscout {
        ExplorerConfig::blockscout(url, CHAIN)
    } else {
        ExplorerConfig::etherscan(CHAIN, ApiKey::new(KEY))
    };
    cfg.url = url.to_string();
    cfg.page_size = page;
    (EtherscanSource::new(http.clone(), cfg).unwrap(), http)
}

fn politeness(secs: u64) {
    let anvil = Anvil::start();
    let acc = anvil.accounts();
    let n = 20 * secs + 10;
    for i in 0..n {
        let to = &acc[1 + (i as usize % 9)];
        anvil.send(json!({"from": acc[0], "to": to, "value": "0x1"}));
    }
    let data = ChainData::from_anvil(&anvil);
    let a = Address::parse(CHAIN, &acc[0]).unwrap();
    let rt = rt();
    println!("politeness: client at R req/s against a server enforcing R req/s (Body mode)");
    println!(
        "{:>5} {:>9} {:>10} {:>12} {:>7} {:>9} {:>6} {:>8} {:>12}",
        "R",
        "requests",
        "elapsed_s",
        "measured/s",
        "% of R",
        "limited",
        "429s",
        "retries",
        "min_span_ms"
    );
    for r in [5u32, 10, 20] {
        let server = Explorer::start(
            Config {
                rate: Some((r, Limit::Body)),
                ..Config::etherscan(KEY)
            },
            data.clone(),
            &anvil.url,
        );
        let (src, http) = source(&server.url, r as f64, 1, false);
        let blocks = r as u64 * secs;
        let t0 = Instant::now();
        let got = rt
            .block_on(src.transfers_for_address(&a, 1, blocks))
            .unwrap();
        let elapsed = t0.elapsed();
        assert_eq!(got.len() as u64, 2 * blocks, "fee and value per payment");
        let arr = server.arrivals();
        let span = arr.last().unwrap().0 - arr.first().unwrap().0;
        let measured = (arr.len() - 1) as f64 / span.as_secs_f64();
        // a strict server limits when R+1 arrivals fall within one second
        let min_span = arr
            .windows(r as usize + 1)
            .map(|w| (w[r as usize].0 - w[0].0).as_secs_f64() * 1000.0)
            .fold(f64::INFINITY, f64::min);
        println!(
            "{r:>5} {:>9} {:>10.2} {:>12.3} {:>7.1} {:>9} {:>6} {:>8} {min_span:>12.1}",
            arr.len(),
            elapsed.as_secs_f64(),
            measured,
            100.0 * measured / r as f64,
            server.limited(),
            http.stats().status_429.load(Ordering::Relaxed),
            http.stats().retries.load(Ordering::Relaxed)
        );
    }
}

fn throughput() {
    let sc = evm_scenario::build();
    let data = ChainData::from_anvil(&sc.anvil);
    let head = data.head();
    let addrs: Vec<Address> = sc
        .all_addresses()
        .iter()
        .map(|a| Address::parse(CHAIN, a).unwrap())
        .collect();
    let rt = rt();
    println!(
        "throughput: {} addresses, {} transactions, unlimited rate, page 1000",
        addrs.len(),
        sc.txs.len()
    );
    for blockscout in [false, true] {
        let cfg = if blockscout {
            Config::blockscout()
        } else {
            Config::etherscan(KEY)
        };
        let server = Explorer::start(cfg, data.clone(), &sc.anvil.url);
        let (src, _) = source(&server.url, 100_000.0, 1000, blockscout);
        let t0 = Instant::now();
        let mut transfers = 0usize;
        for a in &addrs {
            transfers += rt
                .block_on(src.transfers_for_address(a, 0, head))
                .unwrap()
                .len();
        }
        let s = t0
            .elapsed()
            .as_secs_f64()
            .max(Duration::from_micros(1).as_secs_f64());
        println!(
            "{:>11}: {transfers} transfers in {s:.2} s = {:.0} transfers/s, {} requests = {:.0} requests/s",
            if blockscout {
                "blockscout"
            } else {
                "etherscan"
            },
            transfers as f64 / s,
            server.requests(),
            server.requests() as f64 / s
        );
    }
}

fn main() {
    let secs: u64 = std::env::var("MONEYTRAIL_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        // `cargo test --all-targets` runs this binary without `--bench`: a short smoke run.
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            8
        } else {
            1
        });
    politeness(secs);
    throughput();
}
