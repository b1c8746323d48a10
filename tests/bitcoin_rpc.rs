//! The Bitcoin Core RPC source against a real bcoin regtest node: a multi-hop spend chain of
//! transactions signed here (P2WPKH and P2PKH, a 3-input transaction, change outputs, a spend
//! of an output confirmed in the same block, an OP_RETURN) is read back exactly, the block-scan
//! frontier stores exactly the transactions within its hops and stops at a terminal label, and
//! bad credentials are one clear error.

mod common;

use std::collections::{BTreeSet, HashMap};

use bitcoin::hashes::Hash;
use bitcoin::{Transaction, TxOut};
use common::bcoin::{API_KEY, Bcoin};
use common::btc::{Coin, Key, Kind, op_return, spend};
use moneytrail::fetch::bitcoind::{BitcoindAuth, BitcoindConfig, BitcoindSource};
use moneytrail::fetch::utxo::{BlockPos, UtxoTx, txhash};
use moneytrail::fetch::utxo_frontier::{UtxoFrontierConfig, follow_bitcoind};
use moneytrail::fetch::{FetchError, HttpClient, RetryPolicy};
use moneytrail::model::{Address, BitcoinNetwork, Category, Chain, Label};
use moneytrail::store::Store;

const NET: BitcoinNetwork = BitcoinNetwork::Regtest;
const BTC: u64 = 100_000_000;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn http() -> HttpClient {
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    HttpClient::new(200.0, policy).unwrap()
}

fn cfg(url: &str, password: &str) -> BitcoindConfig {
    let mut c = BitcoindConfig::new(url, NET);
    c.auth = BitcoindAuth::UserPass {
        user: "x".into(),
        password: password.into(),
    };
    c.batch_size = 3; // several batches per call
    c
}

fn addr(k: &Key) -> Address {
    Address::from_script(NET, &k.script()).unwrap()
}

struct Scenario {
    node: Bcoin,
    keys: HashMap<&'static str, Key>,
    /// Our transactions by name, with the height of the block that confirmed them.
    txs: Vec<(&'static str, Transaction, u64)>,
    /// Every output any of them spends.
    prevouts: HashMap<bitcoin::OutPoint, TxOut>,
}

fn build() -> Scenario {
    let node = Bcoin::start();
    let k = |i, kind| Key::new(i, kind);
    let keys: HashMap<&str, Key> = [
        ("miner", k(1, Kind::P2wpkh)),
        ("a", k(2, Kind::P2wpkh)),
        ("b", k(3, Kind::P2pkh)),
        ("m2", k(4, Kind::P2wpkh)),
        ("c", k(5, Kind::P2wpkh)),
        ("d", k(6, Kind::P2pkh)),
        ("e", k(7, Kind::P2wpkh)),
        ("f", k(8, Kind::P2wpkh)),
        ("g", k(9, Kind::P2wpkh)),
        ("h", k(10, Kind::P2wpkh)),
        ("i", k(11, Kind::P2wpkh)),
    ]
    .into_iter()
    .collect();
    let miner = keys["miner"];
    let program = miner.pk.wpubkey_hash().unwrap().to_byte_array();
    // 432 blocks activate segwit on bcoin's regtest (BIP 9, window 144); coinbases mature at 100
    node.mine_to(440, &program);
    let cb1 = node.block(1).txdata[0].clone();
    let cb2 = node.block(2).txdata[0].clone();
    let v1 = cb1.output[0].value.to_sat();
    let v2 = cb2.output[0].value.to_sat();
    let mut prevouts = HashMap::new();
    let mut note = |tx: &Transaction| {
        for (n, o) in tx.output.iter().enumerate() {
            prevouts.insert(
                bitcoin::OutPoint::new(tx.compute_txid(), n as u32),
                o.clone(),
            );
        }
    };
    note(&cb1);
    note(&cb2);
    let tx1 = spend(
        &[Coin::of(&cb1, 0, miner)],
        vec![
            keys["a"].out(10 * BTC),
            keys["b"].out(15 * BTC),
            keys["m2"].out(v1 - 25 * BTC - 10_000),
        ],
    );
    // three inputs, two owners' kinds (P2WPKH, P2PKH), a payment and a change output
    let tx2 = spend(
        &[
            Coin::of(&tx1, 0, keys["a"]),
            Coin::of(&tx1, 1, keys["b"]),
            Coin::of(&cb2, 0, miner),
        ],
        vec![
            keys["c"].out(60 * BTC),
            keys["d"].out(25 * BTC + v2 - 60 * BTC - 20_000),
        ],
    );
    node.send(&tx1);
    node.send(&tx2);
    let h1 = node.height() + 1;
    node.mine_to(1, &program);
    let tx3 = spend(
        &[Coin::of(&tx2, 0, keys["c"])],
        vec![keys["e"].out(20 * BTC), keys["f"].out(40 * BTC - 15_000)],
    );
    // spends an output of the same block
    let tx4 = spend(
        &[Coin::of(&tx3, 0, keys["e"])],
        vec![keys["g"].out(20 * BTC - 5_000), op_return(b"moneytrl")],
    );
    node.send(&tx3);
    node.send(&tx4);
    let h2 = node.height() + 1;
    node.mine_to(1, &program);
    let d_value = tx2.output[1].value.to_sat();
    let tx5 = spend(
        &[Coin::of(&tx3, 1, keys["f"]), Coin::of(&tx2, 1, keys["d"])],
        vec![
            keys["h"].out(30 * BTC),
            keys["i"].out(40 * BTC - 15_000 + d_value - 30 * BTC - 12_345),
        ],
    );
    node.send(&tx5);
    let h3 = node.height() + 1;
    node.mine_to(1, &program);
    for t in [&tx1, &tx2, &tx3, &tx4, &tx5] {
        note(t);
    }
    let txs = vec![
        ("tx1", tx1, h1),
        ("tx2", tx2, h1),
        ("tx3", tx3, h2),
        ("tx4", tx4, h2),
        ("tx5", tx5, h3),
    ];
    Scenario {
        node,
        keys,
        txs,
        prevouts,
    }
}

impl Scenario {
    fn tx(&self, name: &str) -> &Transaction {
        &self.txs.iter().find(|t| t.0 == name).unwrap().1
    }

    /// The ground truth: our transactions with the prevouts we built and the node's positions.
    fn expected(&self, name: &str) -> UtxoTx {
        let (_, tx, h) = self.txs.iter().find(|t| t.0 == name).unwrap();
        let order = self.node.block_txids(*h);
        let pos = order
            .iter()
            .position(|t| *t == tx.compute_txid().to_string())
            .unwrap();
        let block = BlockPos {
            height: *h,
            tx_index: pos as u32,
            time: self.node.block(*h).header.time as i64,
        };
        let prev: Vec<TxOut> = tx
            .input
            .iter()
            .map(|i| self.prevouts[&i.previous_output].clone())
            .collect();
        UtxoTx::from_bitcoin(NET, tx, &prev, block).unwrap()
    }
}

#[test]
fn bcoin_chain_read_back_exactly() {
    let s = build();
    let rt = rt();
    let src = rt
        .block_on(BitcoindSource::connect(http(), cfg(&s.node.url, API_KEY)))
        .unwrap();

    // getrawtransaction verbose + getblock 1 + previous transactions, in batches
    let ids: Vec<_> = s.txs.iter().map(|t| txhash(t.1.compute_txid())).collect();
    let got = rt.block_on(src.txs(&ids)).unwrap();
    for ((name, tx, _), g) in s.txs.iter().zip(&got) {
        let g = g.as_ref().unwrap_or_else(|| panic!("{name} unconfirmed"));
        assert_eq!(g, &s.expected(name), "{name}");
        assert_eq!(g.txid, txhash(tx.compute_txid()));
    }
    let tx2 = got[1].as_ref().unwrap();
    assert_eq!(tx2.inputs.len(), 3);
    assert_eq!(tx2.fee().unwrap(), 20_000);
    assert_eq!(
        tx2.inputs[1].address,
        Some(addr(&s.keys["b"])),
        "P2PKH input"
    );
    let tx4 = got[3].as_ref().unwrap();
    assert_eq!(tx4.block.height, got[2].as_ref().unwrap().block.height);
    assert!(tx4.block.tx_index > got[2].as_ref().unwrap().block.tx_index);

    // blocks: bcoin refuses verbosity 2, the raw block is read instead; same transactions
    let h1 = s.txs[0].2;
    let blocks = rt.block_on(src.blocks(&[h1, h1 + 1, h1 + 2])).unwrap();
    for b in &blocks {
        let ids: Vec<String> = b.txs.iter().map(|t| t.compute_txid().to_string()).collect();
        assert_eq!(ids, s.node.block_txids(b.height));
        assert_eq!(b.time, s.node.block(b.height).header.time as i64);
    }
    assert_eq!(rt.block_on(src.block_count()).unwrap(), h1 + 2);

    // the scan frontier from A's address, 1 hop: tx1 (pays A), tx2 (spends A; C, D hop 1),
    // tx3 (spends C), tx5 (spends D) — not tx4 (spends E, hop 2)
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let mut fc = UtxoFrontierConfig {
        hops: 1,
        from_block: Some(h1),
        progress: false,
        blocks_per_batch: 2,
        ..Default::default()
    };
    let seeds = [addr(&s.keys["a"])];
    let rep = rt
        .block_on(follow_bitcoind(&mut store, &src, &seeds, &fc, None))
        .unwrap();
    assert_eq!(rep.txs_per_hop, vec![1, 1, 2], "{rep:?}");
    assert_eq!(rep.txs_stored, 4);
    assert_eq!(rep.outputs_beyond_hops, 4, "E, F, H, I");
    let chain = Chain::Bitcoin(NET);
    let stored: BTreeSet<_> = store
        .utxo_txs(chain)
        .unwrap()
        .iter()
        .map(|t| t.txid)
        .collect();
    let want: BTreeSet<_> = ["tx1", "tx2", "tx3", "tx5"]
        .iter()
        .map(|n| txhash(s.tx(n).compute_txid()))
        .collect();
    assert_eq!(stored, want);
    // the store equals the ground truth, row for row
    let mut expected_transfers = Vec::new();
    for n in ["tx1", "tx2", "tx3", "tx5"] {
        expected_transfers.extend(s.expected(n).rows(NET).unwrap().transfers);
    }
    expected_transfers.sort_by(|a, b| a.time_order(b));
    assert_eq!(store.transfers(chain).unwrap(), expected_transfers);
    for t in store.utxo_txs(chain).unwrap() {
        let e = s.expected(
            s.txs
                .iter()
                .find(|x| txhash(x.1.compute_txid()) == t.txid)
                .unwrap()
                .0,
        );
        assert_eq!(t.fee, e.fee().unwrap());
        let rows = e.rows(NET).unwrap();
        assert_eq!(t.outputs, rows.outputs);
        let prev: Vec<_> = t.inputs.iter().map(|i| i.prevout).collect();
        assert_eq!(prev, e.inputs.iter().map(|i| i.prevout).collect::<Vec<_>>());
    }
    // a re-run of the finished scan reads no block
    let again = rt
        .block_on(follow_bitcoind(&mut store, &src, &seeds, &fc, None))
        .unwrap();
    assert_eq!((again.pages, again.txs_stored), (0, 0));

    // 2 hops adds tx4 (its OP_RETURN output has no address)
    fc.hops = 2;
    let rep2 = rt
        .block_on(follow_bitcoind(&mut store, &src, &seeds, &fc, None))
        .unwrap();
    assert_eq!(rep2.txs_stored, 1, "{rep2:?}");
    let t4 = txhash(s.tx("tx4").compute_txid());
    let outs = store.utxo_outputs_of(chain, t4).unwrap();
    assert_eq!(outs.len(), 2);
    assert!(outs[1].address.is_none() && outs[1].value == 0);

    // a terminal label on C stops the path through C; D's path goes on
    let dir2 = tempfile::tempdir().unwrap();
    let mut store2 = Store::open(&dir2.path().join("t.db")).unwrap();
    let c = addr(&s.keys["c"]);
    let mut w = store2.writer().unwrap();
    w.insert_label(
        &Label {
            chain,
            address: c.clone(),
            label: "Test Exchange".into(),
            category: Category::Exchange,
            actor: None,
            abuse: None,
            source: "test".into(),
            confidence: 90,
            context: None,
        },
        "test",
    )
    .unwrap();
    w.commit().unwrap();
    fc.hops = 3;
    let rep3 = rt
        .block_on(follow_bitcoind(&mut store2, &src, &seeds, &fc, None))
        .unwrap();
    let stored: BTreeSet<_> = store2
        .utxo_txs(chain)
        .unwrap()
        .iter()
        .map(|t| t.txid)
        .collect();
    assert!(!stored.contains(&txhash(s.tx("tx3").compute_txid())));
    assert!(stored.contains(&txhash(s.tx("tx5").compute_txid())));
    assert!(
        rep3.stopped.iter().any(|st| st.address == c.to_string()),
        "{rep3:?}"
    );

    // bad credentials, cookie auth, an unknown transaction
    let e = rt
        .block_on(BitcoindSource::connect(http(), cfg(&s.node.url, "wrong")))
        .err()
        .unwrap();
    assert!(matches!(e, FetchError::BadInput(_)), "{e}");
    assert!(e.to_string().contains("refused the credentials"), "{e}");
    assert!(!e.to_string().contains("wrong"));
    let cookie = dir.path().join(".cookie");
    std::fs::write(&cookie, format!("__cookie__:{API_KEY}")).unwrap();
    let mut cc = BitcoindConfig::new(&s.node.url, NET);
    cc.auth = BitcoindAuth::Cookie(cookie.clone());
    assert!(
        rt.block_on(BitcoindSource::connect(http(), cc.clone()))
            .is_ok()
    );
    cc.auth = BitcoindAuth::Cookie(dir.path().join("missing"));
    let e = rt
        .block_on(BitcoindSource::connect(http(), cc))
        .err()
        .unwrap();
    assert!(
        matches!(e, FetchError::BadInput(_)) && e.to_string().contains("cookie"),
        "{e}"
    );
    let unknown = txhash(bitcoin::Txid::from_byte_array([9; 32]));
    let e = rt.block_on(src.txs(&[unknown])).unwrap_err();
    assert!(e.to_string().contains("getrawtransaction"), "{e}");

    // the command line: credentials from the environment; a refusal is one line, exit 2
    let db = dir.path().join("cli.db");
    let from = h1.to_string();
    let seed = seeds[0].to_string();
    let cli = |password: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_moneytrail"))
            .args([
                "--db",
                db.to_str().unwrap(),
                "fetch",
                "--chain",
                "bitcoin-regtest",
            ])
            .args([
                "--bitcoind-url",
                &s.node.url,
                "--seed",
                &seed,
                "--from-block",
                &from,
            ])
            .args(["--hops", "1", "--format", "json"])
            .env("BITCOIND_RPC_USER", "x")
            .env("BITCOIND_RPC_PASSWORD", password)
            .env_remove("MONEYTRAIL_DB")
            .output()
            .unwrap()
    };
    let o = cli("wrong");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refused the credentials") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    let o = cli(API_KEY);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["txs_stored"], 4, "{r}");
}
