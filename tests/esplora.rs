//! The Esplora source and the Bitcoin frontier against a local server that follows Esplora's
//! documented paths and JSON, serving real signed transactions (tests/common/btc_chain.rs):
//! the fetched store equals the ground truth row for row, history pages (25) and outspends are
//! followed, a re-run sends only the tip request, an interrupted fetch resumes at its page,
//! the rate limit is respected, and an answer that does not hash to its txid is refused.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use bitcoin::Txid;
use common::btc_chain::{Laundering, laundering};
use common::esplora::{EsploraServer, ServerOptions};
use moneytrail::fetch::esplora::{EsploraConfig, EsploraSource};
use moneytrail::fetch::frontier::StopReason;
use moneytrail::fetch::utxo::txhash;
use moneytrail::fetch::utxo_frontier::{UtxoFrontierConfig, follow_esplora};
use moneytrail::fetch::{FetchError, HttpClient, RetryPolicy};
use moneytrail::model::{Address, BitcoinNetwork, Category, Chain, Label};
use moneytrail::store::Store;

const NET: BitcoinNetwork = BitcoinNetwork::Mainnet;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn source(url: &str, rate: f64, attempts: u32) -> (EsploraSource, HttpClient) {
    let policy = RetryPolicy {
        max_attempts: attempts,
        base_delay: std::time::Duration::from_millis(100),
        ..RetryPolicy::default()
    };
    let http = HttpClient::new(rate, policy).unwrap();
    let src = EsploraSource::new(http.clone(), EsploraConfig::new(url, NET)).unwrap();
    (src, http)
}

fn addr(l: &Laundering, k: &str) -> Address {
    Address::from_script(NET, &l.keys[k].script()).unwrap()
}

fn label(store: &mut Store, a: &Address, category: Category) {
    let mut w = store.writer().unwrap();
    w.insert_label(
        &Label {
            chain: Chain::BITCOIN,
            address: a.clone(),
            label: "Test Exchange deposit".into(),
            category,
            actor: Some("testex".into()),
            abuse: None,
            source: "test".into(),
            confidence: 90,
            context: None,
        },
        "test",
    )
    .unwrap();
    w.commit().unwrap();
}

fn cfg(hops: u32) -> UtxoFrontierConfig {
    UtxoFrontierConfig {
        hops,
        progress: false,
        ..Default::default()
    }
}

/// The store holds exactly `want`, each equal to the server chain's ground truth.
fn assert_store_is_truth(store: &Store, server: &EsploraServer, want: &[Txid]) {
    let chain = server.chain.read().unwrap();
    let got: BTreeSet<_> = store
        .utxo_txs(Chain::BITCOIN)
        .unwrap()
        .iter()
        .map(|t| t.txid)
        .collect();
    let expect: BTreeSet<_> = want.iter().map(|t| txhash(*t)).collect();
    assert_eq!(got, expect);
    let mut transfers = Vec::new();
    for t in want {
        let truth = chain.truth(t).unwrap();
        let rows = truth.rows(NET).unwrap();
        let stored = store
            .utxo_txs(Chain::BITCOIN)
            .unwrap()
            .into_iter()
            .find(|s| s.txid == truth.txid)
            .unwrap();
        assert_eq!(stored.outputs, rows.outputs, "{t}");
        assert_eq!(stored.fee, truth.fee().unwrap());
        assert_eq!(
            (stored.block, stored.tx_index),
            (truth.block.height, truth.block.tx_index)
        );
        for (i, s) in stored.inputs.iter().zip(&truth.inputs) {
            assert_eq!(
                (i.prevout, i.value, &i.address),
                (s.prevout, s.value, &s.address)
            );
        }
        transfers.extend(rows.transfers);
    }
    transfers.sort_by(|a, b| a.time_order(b));
    assert_eq!(store.transfers(Chain::BITCOIN).unwrap(), transfers);
}

#[test]
fn history_and_frontier_equal_the_ground_truth() {
    let l = laundering(60, 7);
    let names = l.txs.clone();
    let t = addr(&l, "t");
    let x = addr(&l, "x");
    let server = EsploraServer::start(l.chain, ServerOptions::default());
    let (src, _) = source(&server.url, 1000.0, 3);
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    label(&mut store, &x, Category::Exchange);

    let rep = rt
        .block_on(follow_esplora(
            &mut store,
            &src,
            std::slice::from_ref(&t),
            &cfg(2),
            None,
        ))
        .unwrap();
    let n = |k: &str| names[k];
    let mut want: Vec<Txid> = (0..60).map(|i| names[&format!("theft{i}")]).collect();
    want.extend(["l1", "cons", "l2", "l5", "l3", "l4"].map(n));
    assert_store_is_truth(&store, &server, &want);
    assert_eq!(rep.txs_per_hop, vec![60, 2, 2, 2], "{rep:?}");
    assert_eq!(rep.pages, 3, "60 + 2 confirmed transactions in pages of 25");
    assert_eq!(server.stats.kind("address"), 3);
    // x and f are hop 3: stored with l3 / l4, not followed
    assert_eq!(rep.outputs_beyond_hops, 2);
    assert!(rep.stopped.iter().any(
        |s| s.address == x.to_string() && matches!(s.reason, StopReason::HopLimit { hops: 2 })
    ));
    // the unconfirmed spend of theft23 and the unspent outputs are reported, not stored
    assert!(rep.outputs_unspent >= 37, "{rep:?}");

    // a re-run at the same tip sends one request (the tip) and changes nothing
    let before = server.requests();
    let again = rt
        .block_on(follow_esplora(
            &mut store,
            &src,
            std::slice::from_ref(&t),
            &cfg(2),
            None,
        ))
        .unwrap();
    assert_eq!(server.requests() - before, 1, "{again:?}");
    assert_eq!(again.txs_stored, 0);
    assert_store_is_truth(&store, &server, &want);

    // 3 hops: x is terminal (exchange label), so its sweep l6 is not fetched
    let rep3 = rt
        .block_on(follow_esplora(
            &mut store,
            &src,
            std::slice::from_ref(&t),
            &cfg(3),
            None,
        ))
        .unwrap();
    assert!(
        rep3.stopped
            .iter()
            .any(|s| s.address == x.to_string() && matches!(s.reason, StopReason::Terminal { .. })),
        "{rep3:?}"
    );
    assert!(!store.has_utxo_tx(Chain::BITCOIN, txhash(n("l6"))).unwrap());
    assert!(
        !store
            .has_utxo_tx(Chain::BITCOIN, txhash(n("mempool")))
            .unwrap()
    );

    // new blocks: a new theft to T and the spend of the consolidation output; only those are
    // fetched (no transaction already stored is asked for again)
    let (new_theft, sweep) = {
        let mut c = server.chain.write().unwrap();
        let m = l.keys["m"];
        let cb = c.blocks[1].txdata[0].clone();
        let cons = c.tx(&n("cons")).unwrap().0.clone();
        let nt = common::btc::spend(
            &[common::btc::Coin::of(&cb, 0, m)],
            vec![l.keys["t"].out(100_000_000), m.out(4_899_990_000)],
        );
        let sw = common::btc::spend(
            &[common::btc::Coin::of(&cons, 0, l.keys["t2"])],
            vec![l.keys["y"].out(cons.output[0].value.to_sat() - 3_000)],
        );
        c.push_block(vec![m.out(5_000_000_000)], vec![nt.clone(), sw.clone()]);
        (nt.compute_txid(), sw.compute_txid())
    };
    let tx_before = server.stats.kind("tx");
    let mp_before = server.stats.kind("merkle-proof");
    let pages_before = server.stats.kind("address");
    let rep4 = rt
        .block_on(follow_esplora(
            &mut store,
            &src,
            std::slice::from_ref(&t),
            &cfg(3),
            None,
        ))
        .unwrap();
    assert_eq!(
        server.stats.kind("address") - pages_before,
        1,
        "only the newest page"
    );
    assert_eq!(
        server.stats.kind("tx") - tx_before,
        1,
        "only the sweep: {rep4:?}"
    );
    assert_eq!(server.stats.kind("merkle-proof") - mp_before, 2);
    want.extend([new_theft, sweep]);
    assert_store_is_truth(&store, &server, &want);
}

#[test]
fn interrupted_history_resumes_at_its_page() {
    let l = laundering(60, 10);
    let t = addr(&l, "t");
    let server = EsploraServer::start(l.chain, ServerOptions::default());
    let (src, _) = source(&server.url, 1000.0, 1);
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    // the tip, page 1 and its 25 positions succeed; the server goes down at page 2
    server.fail_from.store(1 + 1 + 25 + 1, Ordering::Relaxed);
    let tip = rt.block_on(src.safe_tip()).unwrap();
    let e = rt
        .block_on(src.sync_address(&mut store, &t, tip))
        .unwrap_err();
    assert!(matches!(e, FetchError::RetriesExhausted { .. }), "{e}");
    assert_eq!(store.utxo_txs(Chain::BITCOIN).unwrap().len(), 25);
    server.fail_from.store(u64::MAX, Ordering::Relaxed);
    let pages = server.stats.kind("address");
    let mp = server.stats.kind("merkle-proof");
    let r = rt.block_on(src.sync_address(&mut store, &t, tip)).unwrap();
    assert_eq!(r.pages, 2);
    assert_eq!(server.stats.kind("address") - pages, 2);
    assert_eq!(r.txs_stored, 62 - 25);
    assert!(server.stats.kind("merkle-proof") - mp <= 62 - 25);
    assert_eq!(store.utxo_txs(Chain::BITCOIN).unwrap().len(), 62);
    let r = rt.block_on(src.sync_address(&mut store, &t, tip)).unwrap();
    assert!(r.up_to_date && r.pages == 0);
}

#[test]
fn rate_limit_is_respected_and_429_is_retried() {
    let opts = ServerOptions {
        rate_limit: Some(60.0),
        ..ServerOptions::default()
    };
    let l = laundering(30, 10);
    let t = addr(&l, "t");
    let server = EsploraServer::start(l.chain, opts);
    let rt = rt();
    // 48 requests/s against a 60/s limit: no 429
    let (src, http) = source(&server.url, 48.0, 3);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    rt.block_on(follow_esplora(
        &mut store,
        &src,
        std::slice::from_ref(&t),
        &cfg(2),
        Some(http.stats()),
    ))
    .unwrap();
    assert_eq!(server.stats.too_many.load(Ordering::Relaxed), 0);
    assert_eq!(http.stats().status_429.load(Ordering::Relaxed), 0);
    let first = store.transfers(Chain::BITCOIN).unwrap();
    // far above the limit: 429s, retried (Retry-After), same result
    let (fast, fast_http) = source(&server.url, 1000.0, 8);
    let mut store2 = Store::open(&dir.path().join("b.db")).unwrap();
    rt.block_on(follow_esplora(
        &mut store2,
        &fast,
        &[t],
        &cfg(2),
        Some(fast_http.stats()),
    ))
    .unwrap();
    assert!(fast_http.stats().status_429.load(Ordering::Relaxed) > 0);
    assert_eq!(store2.transfers(Chain::BITCOIN).unwrap(), first);
}

#[test]
fn malformed_answers_and_bad_input_are_refused() {
    let mut l = laundering(30, 10);
    let t = addr(&l, "t");
    // the server lies about an output value of l1 (newest page): it no longer hashes to l1
    l.chain.tamper = Some(l.txs["l1"]);
    let server = EsploraServer::start(l.chain, ServerOptions::default());
    let (src, _) = source(&server.url, 1000.0, 2);
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let e = rt
        .block_on(follow_esplora(&mut store, &src, &[t], &cfg(1), None))
        .unwrap_err();
    assert!(matches!(e, FetchError::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("hashes to"), "{e}");
    assert!(
        store.utxo_txs(Chain::BITCOIN).unwrap().is_empty(),
        "the page was not stored"
    );

    let http = HttpClient::new(10.0, RetryPolicy::default()).unwrap();
    for bad in ["not a url", "ftp://example.com/api", "http://"] {
        let e = EsploraSource::new(http.clone(), EsploraConfig::new(bad, NET))
            .err()
            .unwrap();
        assert!(matches!(e, FetchError::BadInput(_)), "{bad}: {e}");
    }
    // a testnet seed on a mainnet source
    let (src, _) = source(&server.url, 1000.0, 1);
    let tb = Address::parse(
        Chain::Bitcoin(BitcoinNetwork::Testnet),
        "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
    )
    .unwrap();
    let e = rt
        .block_on(follow_esplora(&mut store, &src, &[tb], &cfg(1), None))
        .unwrap_err();
    assert!(matches!(e, FetchError::BadInput(_)), "{e}");
}
