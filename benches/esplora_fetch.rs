//! Esplora fetch benchmark against the local Esplora server (tests/common): prints figures,
//! asserts only correctness (0 transactions refetched on the re-run).
//!
//!     cargo bench --bench esplora_fetch -- [THEFTS] [--rate R] [--limit L]
//!
//! A laundering chain of THEFTS (default 1000) real signed transactions paying one seed, plus
//! the hops after it; the server answers 429 above L requests/s (default 1.25 × R), the client
//! sends at most R requests/s (default 200). One frontier run (2 hops) into a fresh store:
//! requests, transactions stored, txs/s and requests/s, 429s seen by the server; then a re-run:
//! requests and transactions stored (expected: 1 and 0).

#[allow(dead_code)]
#[path = "../tests/common/btc.rs"]
mod btc;
#[allow(dead_code)]
#[path = "../tests/common/btc_chain.rs"]
mod btc_chain;
#[allow(dead_code)]
#[path = "../tests/common/esplora.rs"]
mod esplora;

use std::sync::atomic::Ordering;
use std::time::Instant;

use esplora::{EsploraServer, ServerOptions};
use moneytrail::fetch::esplora::{EsploraConfig, EsploraSource};
use moneytrail::fetch::utxo_frontier::{UtxoFrontierConfig, follow_esplora};
use moneytrail::fetch::{HttpClient, RetryPolicy};
use moneytrail::model::{Address, BitcoinNetwork};
use moneytrail::store::Store;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    // `cargo test --all-targets` runs this binary without `--bench`: a small smoke run.
    let mut thefts = if std::env::args().any(|a| a == "--bench") {
        1000usize
    } else {
        24
    };
    let mut rate = 200.0f64;
    let mut limit = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--rate" => {
                rate = args[i + 1].parse().expect("--rate R");
                i += 1;
            }
            "--limit" => {
                limit = Some(args[i + 1].parse().expect("--limit L"));
                i += 1;
            }
            a => thefts = a.parse().expect("THEFTS"),
        }
        i += 1;
    }
    let limit = limit.unwrap_or(rate * 1.25);
    let t = Instant::now();
    let l = btc_chain::laundering(thefts.max(24), 25);
    let seed = Address::from_script(BitcoinNetwork::Mainnet, &l.keys["t"].script()).unwrap();
    println!(
        "chain: {} blocks, {} transactions, built in {:.1} s",
        l.chain.blocks.len(),
        l.chain.confirmed_txids().len(),
        t.elapsed().as_secs_f64()
    );
    let opts = ServerOptions {
        rate_limit: Some(limit),
        ..ServerOptions::default()
    };
    let server = EsploraServer::start(l.chain, opts);
    let http = HttpClient::new(rate, RetryPolicy::default()).unwrap();
    let src = EsploraSource::new(
        http.clone(),
        EsploraConfig::new(&server.url, BitcoinNetwork::Mainnet),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("bench.db")).unwrap();
    let cfg = UtxoFrontierConfig {
        hops: 2,
        progress: false,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = Instant::now();
    let rep = rt
        .block_on(follow_esplora(
            &mut store,
            &src,
            std::slice::from_ref(&seed),
            &cfg,
            Some(http.stats()),
        ))
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "first run at {rate} req/s (server limit {limit}/s): {} requests, {} txs stored in {:.1} s = {:.1} txs/s, {:.1} req/s; 429 from the server: {}; retries: {}",
        rep.requests,
        rep.txs_stored,
        secs,
        rep.txs_stored as f64 / secs,
        rep.requests as f64 / secs,
        server.stats.too_many.load(Ordering::Relaxed),
        http.stats().retries.load(Ordering::Relaxed)
    );
    let before = server.requests();
    let t = Instant::now();
    let again = rt
        .block_on(follow_esplora(
            &mut store,
            &src,
            &[seed],
            &cfg,
            Some(http.stats()),
        ))
        .unwrap();
    println!(
        "re-run: {} requests to the server, {} txs stored, {:.2} s",
        server.requests() - before,
        again.txs_stored,
        t.elapsed().as_secs_f64()
    );
    assert_eq!(again.txs_stored, 0, "nothing refetched");
}
