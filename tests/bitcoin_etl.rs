//! Offline import of bitcoin-etl (JSON Lines) and BigQuery crypto_bitcoin (JSON array) exports
//! of a chain of real signed transactions: the store equals the ground truth and what the
//! Esplora fetcher stores for the same transactions; re-importing inserts nothing; malformed
//! records are errors naming file and line.

mod common;

use std::collections::BTreeSet;

use common::btc_chain::{etl_export, laundering};
use common::esplora::{EsploraServer, ServerOptions};
use moneytrail::fetch::FetchError;
use moneytrail::fetch::bitcoin_etl::import_files;
use moneytrail::fetch::esplora::{EsploraConfig, EsploraSource};
use moneytrail::fetch::utxo::txhash;
use moneytrail::fetch::{HttpClient, RetryPolicy};
use moneytrail::model::{Address, BitcoinNetwork, Chain};
use moneytrail::store::Store;

const NET: BitcoinNetwork = BitcoinNetwork::Mainnet;

#[test]
fn etl_and_bigquery_exports_import_to_the_ground_truth() {
    let l = laundering(30, 8);
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("transactions.json");
    std::fs::write(&jsonl, etl_export(&l.chain, false)).unwrap();
    let bq = dir.path().join("bigquery.json");
    std::fs::write(&bq, etl_export(&l.chain, true)).unwrap();
    let all = l.chain.confirmed_txids();

    for file in [&jsonl, &bq] {
        let mut store = Store::open(
            &dir.path()
                .join(format!("{}.db", file.display().to_string().len())),
        )
        .unwrap();
        let rep = import_files(&mut store, NET, &[file]).unwrap();
        assert_eq!(
            (rep.txs_read, rep.txs_new),
            (all.len() as u64, all.len() as u64)
        );
        let stored = store.utxo_txs(Chain::BITCOIN).unwrap();
        assert_eq!(stored.len(), all.len());
        let mut want = Vec::new();
        for t in &all {
            let truth = l.chain.truth(t).unwrap();
            let rows = truth.rows(NET).unwrap();
            let s = stored.iter().find(|s| s.txid == truth.txid).unwrap();
            assert_eq!(s.outputs, rows.outputs, "{t}");
            assert_eq!(
                (s.block, s.tx_index, s.time),
                (truth.block.height, truth.block.tx_index, truth.block.time)
            );
            assert_eq!(s.fee, truth.fee().unwrap());
            want.extend(rows.transfers);
        }
        want.sort_by(|a, b| a.time_order(b));
        assert_eq!(
            store.transfers(Chain::BITCOIN).unwrap(),
            want,
            "{}",
            file.display()
        );
        // idempotent
        let again = import_files(&mut store, NET, &[file]).unwrap();
        assert_eq!(again.txs_new, 0);
    }

    // the Esplora fetcher stores the same rows for the same transactions
    let mut imported = Store::open(&dir.path().join("imported.db")).unwrap();
    import_files(&mut imported, NET, &[&jsonl]).unwrap();
    let t = Address::from_script(NET, &l.keys["t"].script()).unwrap();
    let server = EsploraServer::start(l.chain, ServerOptions::default());
    let http = HttpClient::new(1000.0, RetryPolicy::default()).unwrap();
    let src = EsploraSource::new(http, EsploraConfig::new(&server.url, NET)).unwrap();
    let mut fetched = Store::open(&dir.path().join("fetched.db")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tip = rt.block_on(src.safe_tip()).unwrap();
    rt.block_on(src.sync_address(&mut fetched, &t, tip))
        .unwrap();
    let f = fetched.utxo_txs(Chain::BITCOIN).unwrap();
    assert_eq!(f.len(), 32);
    let i = imported.utxo_txs(Chain::BITCOIN).unwrap();
    for tx in &f {
        assert_eq!(Some(tx), i.iter().find(|x| x.txid == tx.txid));
    }
    let ids: BTreeSet<_> = f.iter().map(|t| t.txid).collect();
    let from_import: Vec<_> = imported
        .transfers(Chain::BITCOIN)
        .unwrap()
        .into_iter()
        .filter(|x| ids.contains(&x.tx_hash))
        .collect();
    assert_eq!(fetched.transfers(Chain::BITCOIN).unwrap(), from_import);
    // the import of everything adds nothing to what was fetched
    let rep = import_files(&mut fetched, NET, &[&jsonl]).unwrap();
    assert_eq!(rep.txs_new as usize, all.len() - 32);
    assert!(ids.contains(&txhash(l.txs["l1"])));
}

#[test]
fn malformed_records_name_file_and_line() {
    let l = laundering(24, 8);
    let dir = tempfile::tempdir().unwrap();
    let good = etl_export(&l.chain, false);
    let lines: Vec<&str> = good.lines().collect();
    let cases: Vec<(String, &str)> = vec![
        (format!("{}\n{{not json\n", lines[0]), ":2:"),
        (
            lines[3].replace("\"script_hex\":\"", "\"script_hex\":\"zz"),
            ":1:",
        ),
        (lines[3].replace("\"fee\":", "\"fee\":1"), "fee"),
        (
            lines[3].replacen("\"hash\":\"", "\"hash\":\"x", 1),
            "invalid transaction hash",
        ),
        (lines[3].replace("\"value\":", "\"value\":-"), "value"),
    ];
    let mut store = Store::open_in_memory().unwrap();
    for (i, (text, want)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&p, text).unwrap();
        let e = import_files(&mut store, NET, &[&p]).unwrap_err();
        assert!(matches!(e, FetchError::BadInput(_)), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("bad{i}.json")) && msg.contains(want),
            "case {i}: {msg}"
        );
        assert!(!msg.contains('\n'));
    }
    assert!(
        store.utxo_txs(Chain::BITCOIN).unwrap().is_empty(),
        "nothing of a bad file is stored"
    );
}
