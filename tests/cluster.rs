//! Address clustering on real signed transactions (tests/common/btc.rs) stored and read back
//! through the store: CoinJoins of each kind are detected and never merge their inputs, an
//! ordinary payment merges its inputs and its change, each change heuristic picks the output
//! it documents, every merge is explained, and the detectors agree with the real Samourai and
//! Wasabi TagPacks of ../shared/data.

mod common;

use std::collections::HashMap;
use std::str::FromStr;

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, TxOut};
use common::btc::{self, Coin, Key, Kind, op_return, spend};
use moneytrail::fetch::utxo::{BlockPos, UtxoTx, txhash};
use moneytrail::graph::cluster::{
    ChangeHeuristic, ClusterConfig, Clustering, CoinJoinKind, Heuristic,
};
use moneytrail::knowledge::labels::{self, ImportOptions};
use moneytrail::model::{Address, BitcoinNetwork, Category, Chain};
use moneytrail::store::Store;

const NET: BitcoinNetwork = BitcoinNetwork::Mainnet;

/// A little chain: funding coinbases and confirmed spends, written to an in-memory store.
struct Lab {
    store: Store,
    height: u64,
    prevouts: HashMap<OutPoint, TxOut>,
    next_key: u32,
}

impl Lab {
    fn new() -> Lab {
        Lab {
            store: Store::open_in_memory().unwrap(),
            height: 0,
            prevouts: HashMap::new(),
            next_key: 1,
        }
    }

    fn key(&mut self, kind: Kind) -> Key {
        self.next_key += 1;
        Key::new(self.next_key, kind)
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
            time: 1_600_000_000 + self.height as i64 * 600,
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

    /// Confirm `txs` in one new block.
    fn confirm(&mut self, txs: &[&Transaction]) {
        self.height += 1;
        let cb = btc::coinbase(self.height, 0, vec![self.key(Kind::P2wpkh).out(1)]);
        self.write(&cb, 0);
        for (i, t) in txs.iter().enumerate() {
            self.write(t, i as u32 + 1);
        }
    }

    fn cluster(&self) -> Clustering {
        Clustering::build(
            &self.store.utxo_txs(Chain::BITCOIN).unwrap(),
            &ClusterConfig::default(),
        )
    }
}

fn a(k: &Key) -> Address {
    Address::from_script(NET, &k.script()).unwrap()
}

fn to(addr: &str, sats: u64) -> TxOut {
    let script: ScriptBuf = bitcoin::Address::from_str(addr)
        .unwrap()
        .assume_checked()
        .script_pubkey();
    TxOut {
        value: Amount::from_sat(sats),
        script_pubkey: script,
    }
}

fn id(t: &Transaction) -> moneytrail::model::TxHash {
    txhash(t.compute_txid())
}

#[test]
fn ordinary_payment_merges_inputs_and_change_and_explains_why() {
    let mut lab = Lab::new();
    let ins: Vec<Key> = (0..3).map(|_| lab.key(Kind::P2wpkh)).collect();
    let merchant = lab.key(Kind::P2pkh);
    lab.fund(merchant, 10_000); // the merchant's address was used before
    let coins: Vec<Coin> = ins.iter().map(|k| lab.fund(*k, 3_000_000)).collect();
    let change = lab.key(Kind::P2wpkh);
    let pay = spend(&coins, vec![merchant.out(5_000_000), change.out(3_987_654)]);
    lab.confirm(&[&pay]);
    // a later spend joins one more address to the cluster through A3
    let other = lab.key(Kind::P2wpkh);
    let c_other = lab.fund(other, 700_000);
    let c3 = Coin::of(&pay, 1, change);
    let next = spend(&[c3, c_other], vec![merchant.out(4_600_000)]);
    lab.confirm(&[&next]);

    let mut c = lab.cluster();
    assert!(c.coinjoin_of(id(&pay)).is_none());
    for k in &ins[1..] {
        assert!(c.same(&a(&ins[0]), &a(k)));
    }
    assert!(c.same(&a(&ins[0]), &a(&change)), "change merged");
    assert!(!c.same(&a(&ins[0]), &a(&merchant)), "payment not merged");
    let g = c.change_of(id(&pay)).unwrap();
    assert_eq!(g.vout, Some(1));
    for h in [
        ChangeHeuristic::FreshAddress,
        ChangeHeuristic::RoundPayment,
        ChangeHeuristic::SameScriptType,
    ] {
        assert!(g.heuristics.contains(&h), "{g:?}");
    }
    assert!(g.confidence > 0.9);

    let e = c.explain(&a(&ins[0])).unwrap();
    assert_eq!(e.cluster_size, 5);
    let path_to = |x: &Address| {
        e.members
            .iter()
            .find(|(m, _)| *m == x.to_string())
            .unwrap()
            .1
            .clone()
    };
    let p = path_to(&a(&ins[2]));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].heuristic, Heuristic::MultiInput);
    assert_eq!(p[0].tx, format!("{:x}", id(&pay).0));
    let p = path_to(&a(&change));
    assert_eq!((p.len(), p[0].heuristic), (1, Heuristic::Change));
    assert!(
        p[0].change
            .as_ref()
            .unwrap()
            .heuristics
            .contains(&ChangeHeuristic::RoundPayment)
    );
    let p = path_to(&a(&other));
    assert_eq!(
        p.len(),
        2,
        "via the change address, then the second spend: {p:?}"
    );
    assert_eq!(p[1].tx, format!("{:x}", id(&next).0));
    assert!(c.explain(&a(&lab.key(Kind::P2wpkh))).is_none());
}

#[test]
fn coinjoins_are_detected_and_never_merge_their_inputs() {
    let mut lab = Lab::new();
    let mk = |lab: &mut Lab, n: usize, sats: &dyn Fn(usize) -> u64| -> (Vec<Key>, Vec<Coin>) {
        let ks: Vec<Key> = (0..n).map(|_| lab.key(Kind::P2wpkh)).collect();
        let cs = ks
            .iter()
            .enumerate()
            .map(|(i, k)| lab.fund(*k, sats(i)))
            .collect();
        (ks, cs)
    };
    // Whirlpool 5 × 5 at the 0.01 BTC pool
    let (wk, wc) = mk(&mut lab, 5, &|_| 1_000_300);
    let outs: Vec<TxOut> = (0..5)
        .map(|_| lab.key(Kind::P2wpkh).out(1_000_000))
        .collect();
    let whirl = spend(&wc, outs);
    // Wasabi 1: 12 inputs, 12 equal outputs near 0.1 BTC, coordinator fee, change
    let (w1k, w1c) = mk(&mut lab, 12, &|i| 11_000_000 + i as u64 * 1_000);
    let mut outs: Vec<TxOut> = (0..12)
        .map(|_| lab.key(Kind::P2wpkh).out(9_980_000))
        .collect();
    outs.push(to("bc1qs604c7jv6amk4cxqlnvuxv26hv3e48cds4m0ew", 360_000));
    outs.extend((0..5).map(|i| lab.key(Kind::P2wpkh).out(900_000 + i * 7)));
    let wasabi1 = spend(&w1c, outs);
    // Wasabi 2: 22 inputs, outputs at standard denominations
    let (w2k, w2c) = mk(&mut lab, 22, &|i| 600_000 + i as u64 * 10_000);
    let denoms = [
        1_000_000, 1_000_000, 1_000_000, 2_000_000, 2_000_000, 500_000, 500_000, 1_048_576,
        1_048_576, 531_441, 531_441, 200_000, 200_000, 100_000, 50_000,
    ];
    let mut outs: Vec<TxOut> = denoms
        .iter()
        .map(|d| lab.key(Kind::P2wpkh).out(*d))
        .collect();
    outs.push(lab.key(Kind::P2wpkh).out(123_456));
    let wasabi2 = spend(&w2c, outs);
    // JoinMarket: 4 participants (one maker with two inputs), 4 × 0.025 BTC + 3 change outputs
    let (jk, jc) = mk(&mut lab, 5, &|i| 2_000_000 + i as u64 * 300_000);
    let mut outs: Vec<TxOut> = (0..4)
        .map(|_| lab.key(Kind::P2wpkh).out(2_500_000))
        .collect();
    outs.extend((0..3).map(|i| lab.key(Kind::P2wpkh).out(700_000 + i * 13)));
    let joinmarket = spend(&jc, outs);
    // Tx0 (premix): one owner: inputs merged, no change guess
    let (tk, tc) = mk(&mut lab, 2, &|_| 2_000_000);
    let mut outs: Vec<TxOut> = (0..3)
        .map(|_| lab.key(Kind::P2wpkh).out(1_000_170))
        .collect();
    outs.push(lab.key(Kind::P2wpkh).out(50_000));
    outs.push(op_return(b"samourai"));
    outs.push(lab.key(Kind::P2wpkh).out(949_000));
    let tx0 = spend(&tc, outs);
    lab.confirm(&[&whirl, &wasabi1, &wasabi2, &joinmarket, &tx0]);

    let mut c = lab.cluster();
    for (t, kind, keys) in [
        (&whirl, CoinJoinKind::Whirlpool, &wk),
        (&wasabi1, CoinJoinKind::Wasabi1, &w1k),
        (&wasabi2, CoinJoinKind::Wasabi2, &w2k),
        (&joinmarket, CoinJoinKind::JoinMarket, &jk),
    ] {
        let j = c
            .coinjoin_of(id(t))
            .unwrap_or_else(|| panic!("{kind:?} not detected"));
        assert_eq!(j.kind, kind);
        for k in &keys[1..] {
            assert!(!c.same(&a(&keys[0]), &a(k)), "{kind:?} merged its inputs");
        }
        assert!(c.change_of(id(t)).is_none());
        let e = c.explain(&a(&keys[0])).unwrap();
        assert_eq!(e.cluster_size, 1);
        assert_eq!(e.coinjoins.len(), 1);
    }
    assert_eq!(c.coinjoin_of(id(&whirl)).unwrap().denomination, 1_000_000);
    let j = c.coinjoin_of(id(&tx0)).unwrap();
    assert_eq!(
        (j.kind, j.denomination, j.equal_outputs),
        (CoinJoinKind::WhirlpoolTx0, 1_000_000, 3)
    );
    assert!(
        c.same(&a(&tk[0]), &a(&tk[1])),
        "Tx0 inputs are one wallet's"
    );
    assert!(c.change_of(id(&tx0)).is_none());
    assert!(
        c.merges()
            .iter()
            .all(|m| m.heuristic == Heuristic::MultiInput)
    );
}

#[test]
fn change_heuristics_pick_the_documented_output() {
    let mut lab = Lab::new();
    let seen = lab.key(Kind::P2wpkh);
    lab.fund(seen, 1_000);
    let seen2 = lab.key(Kind::P2wpkh);
    lab.fund(seen2, 1_000);
    let mut txs = Vec::new();
    // address reuse: pays back to the input address (vout 1)
    let k = lab.key(Kind::P2wpkh);
    let c = lab.fund(k, 5_000_000);
    txs.push((
        spend(&[c], vec![seen.out(1_234_567), k.out(3_700_000)]),
        Some(1),
        vec![ChangeHeuristic::AddressReuse],
    ));
    // fresh address alone (both non-round, same type): vout 0 is new, vout 1 was seen
    let kf = lab.key(Kind::P2wpkh);
    let c = lab.fund(kf, 5_000_000);
    let fresh = lab.key(Kind::P2wpkh);
    txs.push((
        spend(&[c], vec![fresh.out(2_345_678), seen.out(2_600_001)]),
        Some(0),
        vec![ChangeHeuristic::FreshAddress],
    ));
    // round payment alone: both seen, same type; vout 1 is not round
    let k = lab.key(Kind::P2wpkh);
    let c = lab.fund(k, 5_000_000);
    txs.push((
        spend(&[c], vec![seen.out(2_000_000), seen2.out(2_987_650)]),
        Some(1),
        vec![ChangeHeuristic::RoundPayment],
    ));
    // same script type alone: P2PKH input, outputs P2WPKH and P2PKH, both seen, both non-round
    let k = lab.key(Kind::P2pkh);
    let c = lab.fund(k, 5_000_000);
    let seen_pkh = lab.key(Kind::P2pkh);
    lab.fund(seen_pkh, 1_000);
    txs.push((
        spend(&[c], vec![seen.out(2_111_111), seen_pkh.out(2_877_777)]),
        Some(1),
        vec![ChangeHeuristic::SameScriptType],
    ));
    // optimal change alone: inputs 3M and 2M; only vout 0 is below both; both seen, non-round
    let (k1, k2) = (lab.key(Kind::P2wpkh), lab.key(Kind::P2wpkh));
    let c1 = lab.fund(k1, 3_000_000);
    let c2 = lab.fund(k2, 2_000_000);
    txs.push((
        spend(&[c1, c2], vec![seen.out(1_234_567), seen2.out(3_755_433)]),
        Some(0),
        vec![ChangeHeuristic::OptimalChange],
    ));
    // conflict: round payment says vout 1, same script type says vout 0 → no guess
    let k = lab.key(Kind::P2pkh);
    let c = lab.fund(k, 5_000_000);
    txs.push((
        spend(&[c], vec![seen_pkh.out(3_000_000), seen.out(1_987_654)]),
        None,
        vec![],
    ));
    let refs: Vec<&Transaction> = txs.iter().map(|t| &t.0).collect();
    lab.confirm(&refs);
    // a peel chain: big output continues as 1-in 2-out, the small one goes elsewhere
    let k = lab.key(Kind::P2wpkh);
    let c = lab.fund(k, 10_000_000);
    let (p1, p2) = (lab.key(Kind::P2wpkh), lab.key(Kind::P2wpkh));
    let hop1 = spend(&[c], vec![p1.out(8_765_432), seen.out(1_223_456)]);
    let hop2 = spend(
        &[Coin::of(&hop1, 0, p1)],
        vec![p2.out(7_654_321), seen2.out(1_100_011)],
    );
    lab.confirm(&[&hop1]);
    lab.confirm(&[&hop2]);

    let c = lab.cluster();
    for (t, vout, hs) in &txs {
        let g = c.change_of(id(t)).unwrap();
        assert_eq!(g.vout, *vout, "{g:?}");
        for h in hs {
            assert!(g.heuristics.contains(h), "{h:?} in {g:?}");
        }
        if vout.is_none() {
            assert!(g.conflicts.len() >= 2, "{g:?}");
        }
    }
    let g = c.change_of(id(&hop1)).unwrap();
    assert_eq!(g.vout, Some(0), "{g:?}");
    assert!(g.heuristics.contains(&ChangeHeuristic::PeelChain), "{g:?}");
    // single heuristics below 0.7 do not merge; the fresh-address case stays apart
    let mut c = c;
    let fresh_tx = &txs[1].0;
    let fresh_addr = Address::from_script(NET, &fresh_tx.output[0].script_pubkey).unwrap();
    let input_addr = a(&kf);
    assert!(!c.same(&fresh_addr, &input_addr));
    assert!(c.change_of(id(fresh_tx)).unwrap().confidence < 0.7);
}

/// The first `n` addresses of a TagPack file.
fn pack_addresses(file: &str, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(
        common::shared_data()
            .join("labels/graphsense-tagpacks/packs")
            .join(file),
    )
    .unwrap();
    text.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("- address:")
                .map(|a| a.trim().to_string())
        })
        .take(n)
        .collect()
}

#[test]
fn detections_agree_with_samourai_and_wasabi_tagpacks() {
    let mut lab = Lab::new();
    let packs = common::shared_data().join("labels/graphsense-tagpacks/packs");
    let files = [
        packs.join("samourai.yaml"),
        packs.join("wasabi_collector.yaml"),
    ];
    labels::import_files(&mut lab.store, &files, &ImportOptions::default()).unwrap();
    // a Whirlpool mix paying five addresses of the Samourai pack
    let sam = pack_addresses("samourai.yaml", 5);
    let coins: Vec<Coin> = (0..5)
        .map(|_| {
            let k = lab.key(Kind::P2wpkh);
            lab.fund(k, 5_000_400)
        })
        .collect();
    let mix = spend(&coins, sam.iter().map(|s| to(s, 5_000_000)).collect());
    // a Wasabi 1 round paying the pack's coordinator fee address
    let fee_addr = pack_addresses("wasabi_collector.yaml", 1).remove(0);
    let coins: Vec<Coin> = (0..10)
        .map(|_| {
            let k = lab.key(Kind::P2wpkh);
            lab.fund(k, 10_100_000)
        })
        .collect();
    let mut outs: Vec<TxOut> = (0..10)
        .map(|_| lab.key(Kind::P2wpkh).out(10_000_000))
        .collect();
    outs.push(to(&fee_addr, 300_000));
    let round = spend(&coins, outs);
    lab.confirm(&[&mix, &round]);
    let c = lab.cluster();
    assert_eq!(
        c.coinjoin_of(id(&mix)).unwrap().kind,
        CoinJoinKind::Whirlpool
    );
    assert_eq!(
        c.coinjoin_of(id(&round)).unwrap().kind,
        CoinJoinKind::Wasabi1
    );
    for s in sam.iter().chain([&fee_addr]) {
        let addr = Address::parse(Chain::BITCOIN, s).unwrap();
        let ls = lab.store.labels_of(&addr).unwrap();
        assert!(!ls.is_empty(), "{s} has no label");
        // GraphSense `coinjoin` is moneytrail's mixer: terminal in a trace, like the detection says
        assert!(
            ls.iter()
                .all(|(l, _)| l.category == Category::Mixer && l.category.is_terminal()),
            "{s}: {ls:?}"
        );
    }
}
