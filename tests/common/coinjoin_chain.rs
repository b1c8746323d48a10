//! The signed CoinJoin chains of tests/trace_coinjoin.rs (hand computations there): a Whirlpool
//! story (Tx0, mix, remix, a payment to a labelled exchange) and a Wasabi 1 round (two levels,
//! changes, coordinator fee), written block by block through the fetchers' conversion into a
//! SQLite store on disk.

use std::collections::HashMap;
use std::path::Path;

use bitcoin::{OutPoint, Transaction, TxOut};
use moneytrail::fetch::utxo::{BlockPos, UtxoTx};
use moneytrail::model::{Address, BitcoinNetwork, Category, Chain, Label};
use moneytrail::store::Store;

use super::btc::{self, Coin, Key, Kind, op_return, spend};

/// The network of the addresses.
pub const NET: BitcoinNetwork = BitcoinNetwork::Mainnet;

/// A little chain written block by block into a store on disk.
struct Lab {
    store: Store,
    height: u64,
    prevouts: HashMap<OutPoint, TxOut>,
    next_key: u32,
}

impl Lab {
    fn new(db: &Path) -> Lab {
        Lab {
            store: Store::open(db).unwrap(),
            height: 0,
            prevouts: HashMap::new(),
            next_key: 1,
        }
    }

    fn key(&mut self) -> Key {
        self.next_key += 1;
        Key::new(self.next_key, Kind::P2wpkh)
    }

    fn write(&mut self, tx: &Transaction, pos: u32) {
        let prev: Vec<TxOut> = if tx.is_coinbase() {
            Vec::new()
        } else {
            tx.input
                .iter()
                .map(|i| self.prevouts[&i.previous_output].clone())
                .collect()
        };
        let block = BlockPos {
            height: self.height,
            tx_index: pos,
            time: 1_650_000_000 + self.height as i64 * 600,
        };
        let u = UtxoTx::from_bitcoin(NET, tx, &prev, block).unwrap();
        let mut w = self.store.writer().unwrap();
        u.write(&mut w, NET).unwrap();
        w.commit().unwrap();
        for (n, o) in tx.output.iter().enumerate() {
            self.prevouts
                .insert(OutPoint::new(tx.compute_txid(), n as u32), o.clone());
        }
    }

    /// A coin of `sats` for `key`, from its own coinbase.
    fn fund(&mut self, key: Key, sats: u64) -> Coin {
        self.height += 1;
        let cb = btc::coinbase(self.height, self.next_key, vec![key.out(sats)]);
        self.write(&cb, 0);
        Coin::of(&cb, 0, key)
    }

    /// Confirm `tx` in a new block.
    fn confirm(&mut self, tx: &Transaction) {
        self.height += 1;
        let miner = self.key();
        let cb = btc::coinbase(self.height, 0, vec![miner.out(1)]);
        self.write(&cb, 0);
        self.write(tx, 1);
    }

    fn label_exchange(&mut self, k: &Key) {
        let mut w = self.store.writer().unwrap();
        w.insert_label(
            &Label {
                chain: Chain::BITCOIN,
                address: a(k),
                label: "Exchange hot wallet".into(),
                category: Category::Exchange,
                actor: Some("binance".into()),
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
}

/// The address of `k`.
pub fn a(k: &Key) -> Address {
    Address::from_script(NET, &k.script()).unwrap()
}

/// The Whirlpool story's keys by name and transactions.
pub struct Whirlpool {
    /// Keys by name.
    pub keys: HashMap<&'static str, Key>,
    /// Transactions: tx0, mix1, mix2, pay.
    pub txs: HashMap<&'static str, Transaction>,
}

/// The Whirlpool story in the store at `db`.
pub fn whirlpool(db: &Path) -> Whirlpool {
    let mut lab = Lab::new(db);
    let names = [
        "S", "U", "P1", "P2", "P3", "W", "S2", "R1", "R2", "N1", "N2", "N3", "N4", "M1", "M2",
        "M3", "M4", "M5", "Q1", "Q2", "Q3", "Q4", "Q5", "E",
    ];
    let keys: HashMap<&'static str, Key> = names.iter().map(|n| (*n, lab.key())).collect();
    let k = |n: &str| keys[n];
    let s = lab.fund(k("S"), 1_550_255);
    let u = lab.fund(k("U"), 1_550_255);
    let r1 = lab.fund(k("R1"), 1_000_000);
    let r2 = lab.fund(k("R2"), 1_000_000);
    let n1 = lab.fund(k("N1"), 1_000_170);
    let n2 = lab.fund(k("N2"), 1_000_200);
    let n3 = lab.fund(k("N3"), 1_000_200);
    let n4 = lab.fund(k("N4"), 1_000_200);
    let tx0 = spend(
        &[u, s],
        vec![
            k("P1").out(1_000_170),
            k("P2").out(1_000_170),
            k("P3").out(1_000_170),
            k("W").out(50_000),
            op_return(b"whirlpl0"),
            k("S2").out(49_000),
        ],
    );
    lab.confirm(&tx0);
    let mix1 = spend(
        &[
            r1,
            Coin::of(&tx0, 0, k("P1")),
            n1,
            Coin::of(&tx0, 1, k("P2")),
            r2,
        ],
        ["M1", "M2", "M3", "M4", "M5"]
            .iter()
            .map(|m| k(m).out(1_000_000))
            .collect(),
    );
    lab.confirm(&mix1);
    let mix2 = spend(
        &[
            Coin::of(&mix1, 0, k("M1")),
            n2,
            Coin::of(&mix1, 1, k("M2")),
            n3,
            n4,
        ],
        ["Q1", "Q2", "Q3", "Q4", "Q5"]
            .iter()
            .map(|m| k(m).out(1_000_000))
            .collect(),
    );
    lab.confirm(&mix2);
    let pay = spend(&[Coin::of(&mix2, 0, k("Q1"))], vec![k("E").out(999_000)]);
    lab.confirm(&pay);
    lab.label_exchange(&k("E"));
    let txs = HashMap::from([("tx0", tx0), ("mix1", mix1), ("mix2", mix2), ("pay", pay)]);
    Whirlpool { keys, txs }
}

/// The Wasabi round's keys: "S" (seed), "i2"… (clean inputs), "v0"… (outputs).
pub fn wasabi(db: &Path) -> (HashMap<String, Key>, Transaction) {
    let mut lab = Lab::new(db);
    let mut keys: HashMap<String, Key> = HashMap::new();
    let s = lab.key();
    keys.insert("S".into(), s);
    let mut coins = vec![lab.fund(s, 13_000_000), lab.fund(s, 11_000_000)];
    let clean = [10_967_000, 24_000_000, 20_500_000]
        .into_iter()
        .chain([10_004_000; 7]);
    for (i, v) in clean.enumerate() {
        let key = lab.key();
        keys.insert(format!("i{}", i + 2), key);
        coins.push(lab.fund(key, v));
    }
    let values: Vec<u64> = [10_000_000; 10]
        .into_iter()
        .chain([20_000_000; 2])
        .chain([2_996_000, 996_000, 962_000, 3_995_000, 496_000, 30_000])
        .collect();
    let outs: Vec<TxOut> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let key = lab.key();
            keys.insert(format!("v{i}"), key);
            key.out(*v)
        })
        .collect();
    let round = spend(&coins, outs);
    let fee: u64 = 149_495_000 - values.iter().sum::<u64>();
    assert_eq!(fee, 20_000);
    lab.confirm(&round);
    (keys, round)
}
