//! The trace on a UTXO chain: taint on outpoints, transactions as transient nodes. Rows are
//! written through the same conversion the Bitcoin fetchers use (`UtxoTx::write`), amounts in
//! sats computed by hand.
//!
//!   tx1 (b1): V's 1000 (clean, created before the data) → S 600, V 390, fee 10   injected 600
//!   tx2 (b2): S's 600 (tainted) + A's 400 (clean) → B 500, A 450, fee 50
//!   tx3 (b3): B's 500 → E 480 (exchange), fee 20
//!   tx4 (b4): A spends only its other, clean output (70) → B2 70: no taint moves, even though
//!             A still holds the tainted 450 from tx2
//!
//! tx2 per model (taint 600 over outputs 500, 450, fee 50):
//!   haircut cumulative floor: B 300, A 270, fee 30 | fifo [600 T, 400 C] in order: B 500,
//!   A 100, fee 0 | lifo reversed [400 C, 600 T]: B 100, A 450, fee 50 | tiho highest first:
//!   B 500, A 100, fee 0 | poison: 500, 450, 50.
//! tx3 (B's parcel over 480, 20): haircut 288 / 12 | fifo 480 / 20 | lifo B's pieces [400 C,
//!   100 T] reversed → 100 / 0 | tiho 480 / 20 | poison 480 / 20.

use alloy_primitives::B256;

use moneytrail::fetch::utxo::{BlockPos, UtxoInput, UtxoOutput, UtxoTx};
use moneytrail::model::{Address, BitcoinNetwork, Category, Chain, Label, OutPoint, TxHash};
use moneytrail::store::Store;
use moneytrail::trace::{self, ModelKind, TraceConfig};

fn script(n: u8) -> Vec<u8> {
    let mut s = vec![0x00, 0x14];
    s.extend([n; 20]);
    s
}

fn addr(n: u8) -> Address {
    Address::from_script(
        BitcoinNetwork::Mainnet,
        bitcoin::Script::from_bytes(&script(n)),
    )
    .unwrap()
}

fn h(n: u8) -> TxHash {
    TxHash(B256::repeat_byte(n))
}

fn input(tx: u8, vout: u32, value: u64, who: u8) -> UtxoInput {
    UtxoInput {
        prevout: Some(OutPoint { txid: h(tx), vout }),
        value,
        address: Some(addr(who)),
    }
}

fn output(value: u64, who: u8) -> UtxoOutput {
    UtxoOutput {
        value,
        script_pubkey: script(who),
    }
}

const S: u8 = 0x51;
const V: u8 = 0x56;
const A: u8 = 0x0a;
const B: u8 = 0x0b;
const B2: u8 = 0x0c;
const E: u8 = 0xee;

fn txs() -> Vec<UtxoTx> {
    let tx = |id: u8, height: u64, inputs, outputs| UtxoTx {
        txid: h(id),
        block: BlockPos {
            height,
            tx_index: 1,
            time: 1_700_000_000 + 600 * height as i64,
        },
        inputs,
        outputs,
    };
    vec![
        tx(
            1,
            1,
            vec![input(0x90, 0, 1000, V)],
            vec![output(600, S), output(390, V)],
        ),
        tx(
            2,
            2,
            vec![input(1, 0, 600, S), input(0x91, 0, 400, A)],
            vec![output(500, B), output(450, A)],
        ),
        tx(3, 3, vec![input(2, 0, 500, B)], vec![output(480, E)]),
        tx(4, 4, vec![input(0x92, 0, 70, A)], vec![output(70, B2)]),
    ]
}

fn store() -> Store {
    let mut s = Store::open_in_memory().unwrap();
    let mut w = s.writer().unwrap();
    for t in txs() {
        t.write(&mut w, BitcoinNetwork::Mainnet).unwrap();
    }
    w.insert_label(
        &Label {
            chain: Chain::BITCOIN,
            address: addr(E),
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
    s
}

fn amount(r: &trace::TraceResult, cat: &str, who: Option<u8>) -> u64 {
    r.endpoints
        .iter()
        .filter(|e| e.category == cat && who.is_none_or(|w| e.address == Some(addr(w))))
        .map(|e| e.amount.to::<u64>())
        .sum()
}

#[test]
fn utxo_models_match_the_hand_computation() {
    let store = store();
    // (model, fee, exchange, unspent at A, injected+swept)
    for (model, fee, exchange, at_a, total) in [
        (ModelKind::Haircut, 42, 288, 270, 600),
        (ModelKind::Fifo, 20, 480, 100, 600),
        (ModelKind::Lifo, 50, 100, 450, 600),
        (ModelKind::Tiho, 20, 480, 100, 600),
        (ModelKind::Poison, 70, 480, 450, 1000),
    ] {
        let mut cfg = TraceConfig::new(Chain::BITCOIN, vec![addr(S)]);
        cfg.model = model;
        cfg.from_block = 1;
        let r = trace::run(trace::load(&store, &cfg).unwrap(), &cfg).unwrap();
        assert_eq!(r.assets[0].key, "BTC");
        assert_eq!(r.assets[0].injected.to::<u64>(), 600, "{model}");
        assert_eq!(amount(&r, "fee", None), fee, "{model} fee");
        assert_eq!(
            amount(&r, "exchange", Some(E)),
            exchange,
            "{model} exchange"
        );
        assert_eq!(amount(&r, "unspent", Some(A)), at_a, "{model} A");
        assert_eq!(
            amount(&r, "unspent", Some(B2)),
            0,
            "{model}: B2 got A's clean output"
        );
        assert_eq!(
            amount(&r, "unspent", Some(S)),
            0,
            "{model}: S spent everything"
        );
        assert_eq!(fee + exchange + at_a, total, "{model}");
        assert!(r.conservation_ok, "{model}");
        if model == ModelKind::Poison {
            assert_eq!(r.swept_in[0].to::<u64>(), 400);
        }
        let ex = r
            .endpoints
            .iter()
            .find(|e| e.category == "exchange")
            .unwrap();
        assert_eq!(
            (ex.entity.as_str(), ex.min_hops),
            ("binance", Some(2)),
            "{model}"
        );
    }
}

#[test]
fn seed_outputs_held_at_the_opening_block_are_tainted() {
    let store = store();
    // window from block 2: S's 600 output (created in block 1) is an opening holding
    let mut cfg = TraceConfig::new(Chain::BITCOIN, vec![addr(S)]);
    cfg.from_block = 2;
    let r = trace::run(trace::load(&store, &cfg).unwrap(), &cfg).unwrap();
    assert_eq!(r.assets[0].injected.to::<u64>(), 600);
    assert_eq!(amount(&r, "exchange", Some(E)), 288);
    assert!(r.conservation_ok);
}
