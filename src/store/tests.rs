use super::*;
use crate::model::{
    Address, Amount, Asset, AssetId, Chain, OutPoint, Spend, SubIndex, Transfer, TxHash, TxOutput,
};

fn addr(s: &str) -> Address {
    Address::parse(Chain::ETHEREUM, s).unwrap()
}

fn hash(n: u8) -> TxHash {
    TxHash(alloy_primitives::B256::repeat_byte(n))
}

fn sample() -> Vec<Transfer> {
    let a = addr("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
    let b = addr("0xa0e1c89ef1a489c9c7de96311ed5ce5d32c20e4b");
    let usdc = AssetId::from_key("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48").unwrap();
    vec![
        Transfer {
            chain: Chain::ETHEREUM,
            tx_hash: hash(1),
            sub: SubIndex::Value,
            block: 10,
            tx_index: 3,
            time: 1_648_000_000,
            from: Some(a.clone()),
            to: Some(b.clone()),
            asset: AssetId::Native,
            amount: Amount::parse_decimal("173600", 18).unwrap(),
        },
        Transfer {
            chain: Chain::ETHEREUM,
            tx_hash: hash(1),
            sub: SubIndex::Fee,
            block: 10,
            tx_index: 3,
            time: 1_648_000_000,
            from: Some(a.clone()),
            to: None,
            asset: AssetId::Native,
            amount: Amount::from_base_units(21_000 * 30_000_000_000),
        },
        Transfer {
            chain: Chain::ETHEREUM,
            tx_hash: hash(2),
            sub: SubIndex::Internal(vec![0, 1]),
            block: 9,
            tx_index: 0,
            time: 1_647_999_988,
            from: Some(b.clone()),
            to: Some(a.clone()),
            asset: AssetId::Native,
            amount: Amount(alloy_primitives::U256::MAX),
        },
        Transfer {
            chain: Chain::ETHEREUM,
            tx_hash: hash(2),
            sub: SubIndex::Log(7),
            block: 9,
            tx_index: 0,
            time: 1_647_999_988,
            from: Some(b),
            to: Some(a),
            asset: usdc,
            amount: Amount::parse_decimal("25500000", 6).unwrap(),
        },
    ]
}

#[test]
fn transfers_round_trip_in_replay_order() {
    let mut s = Store::open_in_memory().unwrap();
    let mut w = s.writer().unwrap();
    for t in sample() {
        assert!(w.insert_transfer(&t).unwrap());
    }
    w.commit().unwrap();
    let got = s.transfers(Chain::ETHEREUM).unwrap();
    let mut want = sample();
    want.sort_by(|a, b| a.time_order(b));
    assert_eq!(got, want);
    assert_eq!(got[0].sub, SubIndex::Internal(vec![0, 1]));
    assert_eq!(got[2].sub, SubIndex::Fee);
    assert!(s.transfers(Chain::Evm(56)).unwrap().is_empty());
}

#[test]
fn inserting_twice_is_a_no_op() {
    let mut s = Store::open_in_memory().unwrap();
    for round in 0..3 {
        let mut w = s.writer().unwrap();
        let new = sample()
            .iter()
            .filter(|t| w.insert_transfer(t).unwrap())
            .count();
        w.commit().unwrap();
        assert_eq!(new, if round == 0 { 4 } else { 0 });
        assert_eq!(s.count_transfers().unwrap(), 4);
    }
    // same key, different amount: the first write wins (re-fetch must not duplicate)
    let mut t = sample().remove(0);
    t.amount = Amount::from_base_units(1);
    let mut w = s.writer().unwrap();
    assert!(!w.insert_transfer(&t).unwrap());
    w.commit().unwrap();
    assert_eq!(s.count_transfers().unwrap(), 4);
}

#[test]
fn transfers_of_an_address() {
    let mut s = Store::open_in_memory().unwrap();
    let mut w = s.writer().unwrap();
    for t in sample() {
        w.insert_transfer(&t).unwrap();
    }
    w.commit().unwrap();
    let a = addr("0x098b716b8aaf21512996dc57eb0615e2383e2f96");
    assert_eq!(s.transfers_of(Chain::ETHEREUM, &a).unwrap().len(), 4);
    let c = addr("0x0000000000000000000000000000000000000001");
    assert!(s.transfers_of(Chain::ETHEREUM, &c).unwrap().is_empty());
}

#[test]
fn rollback_without_commit() {
    let mut s = Store::open_in_memory().unwrap();
    {
        let mut w = s.writer().unwrap();
        for t in sample() {
            w.insert_transfer(&t).unwrap();
        }
        // dropped
    }
    assert_eq!(s.count_transfers().unwrap(), 0);
}

#[test]
fn checkpoints_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mt.db");
    let cp = Checkpoint {
        source: "rpc:http://127.0.0.1:8545".into(),
        chain: Chain::ETHEREUM,
        address: "0x098b716b8aaf21512996dc57eb0615e2383e2f96".into(),
        kind: "txs".into(),
        from_block: 100,
        to_block: 199,
        cursor: Some("page=3".into()),
        complete: false,
    };
    {
        let mut s = Store::open(&path).unwrap();
        let mut w = s.writer().unwrap();
        w.set_checkpoint(&cp).unwrap();
        w.insert_transfer(&sample()[0]).unwrap();
        w.commit().unwrap();
    }
    {
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), migrations::LATEST);
        let got = s
            .checkpoints(&cp.source, cp.chain, &cp.address, &cp.kind)
            .unwrap();
        assert_eq!(got, vec![cp.clone()]);
        let mut done = cp.clone();
        done.cursor = None;
        done.complete = true;
        let mut w = s.writer().unwrap();
        w.set_checkpoint(&done).unwrap();
        w.commit().unwrap();
    }
    let s = Store::open(&path).unwrap();
    let got = s
        .checkpoints(&cp.source, cp.chain, &cp.address, &cp.kind)
        .unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].complete && got[0].cursor.is_none());
    assert_eq!(s.count_transfers().unwrap(), 1);
    assert!(
        s.checkpoints("other", cp.chain, &cp.address, &cp.kind)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mt.db");
    drop(Store::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    match Store::open(&path) {
        Err(StoreError::TooNew { found: 99, .. }) => {}
        other => panic!("expected TooNew, got {:?}", other.err()),
    }
}

#[test]
fn assets_and_utxos() {
    let mut s = Store::open_in_memory().unwrap();
    let usdc = AssetId::from_key("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48").unwrap();
    let btc = Chain::BITCOIN;
    let out = TxOutput {
        outpoint: OutPoint {
            txid: hash(9),
            vout: 1,
        },
        value: 5_000_000_000,
        script_pubkey: vec![0x00, 0x14],
        address: Some(Address::parse(btc, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4").unwrap()),
        block: 700_000,
    };
    let spend = Spend {
        outpoint: out.outpoint,
        spending_txid: hash(10),
        input_index: 0,
    };
    let mut w = s.writer().unwrap();
    w.upsert_asset(&Asset {
        chain: Chain::ETHEREUM,
        id: usdc,
        symbol: "USDC".into(),
        decimals: 6,
    })
    .unwrap();
    assert!(w.insert_output(btc, &out).unwrap());
    assert!(!w.insert_output(btc, &out).unwrap());
    assert!(w.insert_spend(btc, &spend).unwrap());
    assert!(!w.insert_spend(btc, &spend).unwrap());
    w.commit().unwrap();
    let a = s.asset(Chain::ETHEREUM, usdc).unwrap().unwrap();
    assert_eq!((a.symbol.as_str(), a.decimals), ("USDC", 6));
    let eth = s.asset(Chain::ETHEREUM, AssetId::Native).unwrap().unwrap();
    assert_eq!((eth.symbol.as_str(), eth.decimals), ("ETH", 18));
    let unknown = AssetId::from_key("0x0000000000000000000000000000000000000001").unwrap();
    assert!(s.asset(Chain::ETHEREUM, unknown).unwrap().is_none());
}

#[test]
fn balances_by_block() {
    let mut s = Store::open_in_memory().unwrap();
    let a = addr("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
    let mut w = s.writer().unwrap();
    w.set_balance(
        Chain::ETHEREUM,
        &a,
        AssetId::Native,
        99,
        Amount::from_base_units(7),
    )
    .unwrap();
    w.set_balance(
        Chain::ETHEREUM,
        &a,
        AssetId::Native,
        99,
        Amount::from_base_units(8),
    )
    .unwrap();
    w.commit().unwrap();
    assert_eq!(
        s.balance_at(Chain::ETHEREUM, &a, AssetId::Native, 99)
            .unwrap(),
        Some(Amount::from_base_units(8))
    );
    assert_eq!(
        s.balance_at(Chain::ETHEREUM, &a, AssetId::Native, 98)
            .unwrap(),
        None
    );
    assert_eq!(s.balances_at(Chain::ETHEREUM, 99).unwrap().len(), 1);
}

#[test]
fn processes_opening_a_new_file_at_once_migrate_it_once() {
    // Several connections race to create the same new database (as `fetch` and a reader do);
    // without the write lock taken before the version is read, one fails with "table meta
    // already exists".
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("race{round}.db"));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Store::open(&path).map(|s| s.schema_version().unwrap())
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), migrations::LATEST);
        }
    }
}

#[test]
fn contract_events_round_trip_idempotent_in_chain_order() {
    use crate::model::{ContractEvent, EventData};
    let pool = addr("0x910Cbd523D972eb0a6f4cAe4618aD62622b39DbF");
    let other = addr("0xa0e1c89ef1a489c9c7de96311ed5ce5d32c20e4b");
    let ev =
        |n: u8, block: u64, log_index: u32, contract: &Address, data: EventData| ContractEvent {
            chain: Chain::ETHEREUM,
            contract: contract.clone(),
            tx: hash(n),
            log_index,
            block,
            tx_index: 0,
            time: 1_650_000_000 + block as i64,
            tx_from: Some(other.clone()),
            gas_price: Some(alloy_primitives::U256::from(2_718_281_828u64)),
            data,
        };
    let w = EventData::TornadoWithdrawal {
        to: *other.as_evm().unwrap(),
        nullifier_hash: alloy_primitives::B256::repeat_byte(7),
        relayer: alloy_primitives::Address::ZERO,
        fee: alloy_primitives::U256::from(5u8),
    };
    let d = EventData::TornadoDeposit {
        commitment: alloy_primitives::B256::repeat_byte(9),
        leaf_index: 3,
        timestamp: 1_650_000_000,
    };
    let burn = EventData::RenBurn {
        to: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".into(),
        amount: alloy_primitives::U256::from(1_000u32),
        n: alloy_primitives::U256::from(1u8),
    };
    let mut s = Store::open_in_memory().unwrap();
    let mut wr = s.writer().unwrap();
    assert!(wr.insert_event(&ev(2, 20, 1, &pool, w.clone())).unwrap());
    assert!(wr.insert_event(&ev(1, 10, 4, &pool, d.clone())).unwrap());
    assert!(
        wr.insert_event(&ev(3, 15, 0, &other, burn.clone()))
            .unwrap()
    );
    assert!(!wr.insert_event(&ev(1, 10, 4, &pool, d.clone())).unwrap());
    wr.commit().unwrap();
    let all = s.events(Chain::ETHEREUM, &[]).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].data, d);
    assert_eq!(all[1].data, burn);
    assert_eq!(all[2].data, w);
    assert_eq!(
        all[2].gas_price,
        Some(alloy_primitives::U256::from(2_718_281_828u64))
    );
    let pools = s
        .events(Chain::ETHEREUM, std::slice::from_ref(&pool))
        .unwrap();
    assert_eq!(pools.len(), 2);
    assert!(s.events(Chain::Evm(56), &[]).unwrap().is_empty());
}
