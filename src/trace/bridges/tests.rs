//! The matchers on hand-made facts: THORChain memo-only and refund edges, other actions, Ren
//! uniqueness / fee band / window, the amount/time fallback's candidates and confidences.

use alloy_primitives::{Address as EvmAddress, B256, U256};

use super::edges::{self, BridgeInflow, canonical_symbol};
use super::facts::{BridgeOutflow, Facts};
use crate::model::{
    Address, Amount, Asset, AssetId, Chain, ContractEvent, EventData, OutPoint, SubIndex, Transfer,
    TxHash, TxOutput,
};
use crate::store::{StoredInput, StoredUtxoTx};

const BTC_MAIN: &str = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";
const T0: i64 = 1_650_000_000;

fn h(n: u8) -> TxHash {
    TxHash(B256::repeat_byte(n))
}

fn evm(n: u8) -> EvmAddress {
    EvmAddress::repeat_byte(n)
}

fn event(tx: u8, time: i64, data: EventData) -> ContractEvent {
    ContractEvent {
        chain: Chain::ETHEREUM,
        contract: Address::Evm(evm(0xcc)),
        tx: h(tx),
        log_index: 0,
        block: tx as u64,
        tx_index: 0,
        time,
        tx_from: Some(Address::Evm(evm(0x51))),
        gas_price: None,
        data,
    }
}

fn deposit(tx: u8, memo: &str) -> ContractEvent {
    event(
        tx,
        T0,
        EventData::ThorDeposit {
            vault: evm(0xaa),
            asset: EvmAddress::ZERO,
            amount: U256::from(10u64),
            memo: memo.into(),
        },
    )
}

fn btc_pay(tx: u8, time: i64, to: &str, sats: u64) -> (Chain, StoredUtxoTx) {
    let chain = Chain::BITCOIN;
    (
        chain,
        StoredUtxoTx {
            txid: h(tx),
            block: tx as u64,
            tx_index: 1,
            time,
            inputs: vec![StoredInput {
                index: 0,
                prevout: Some(OutPoint {
                    txid: h(0xee),
                    vout: tx as u32,
                }),
                address: None,
                value: sats + 1000,
            }],
            outputs: vec![TxOutput {
                outpoint: OutPoint {
                    txid: h(tx),
                    vout: 0,
                },
                value: sats,
                script_pubkey: Vec::new(),
                address: Some(Address::parse(chain, to).unwrap()),
                block: tx as u64,
            }],
            fee: 1000,
        },
    )
}

#[test]
fn thorchain_memo_only_refund_and_other_actions() {
    let mut f = Facts::default();
    f.events.push(deposit(1, &format!("=:b:{BTC_MAIN}")));
    f.events.push(deposit(2, &format!("=:b:{BTC_MAIN}")));
    f.events.push(deposit(3, "+:BTC.BTC"));
    f.events.push(deposit(4, "=:e:0x1234"));
    // inbound 2 was refunded on its own chain
    f.events.push(event(
        9,
        T0 + 60,
        EventData::ThorTransferOut {
            vault: evm(0xaa),
            to: evm(0x51),
            asset: EvmAddress::ZERO,
            amount: U256::from(9u64),
            memo: format!("REFUND:{:#x}", h(2).0),
        },
    ));
    let es = edges::thorchain_edges(&f);
    assert_eq!(es.len(), 4);
    let e = |n: u8| es.iter().find(|e| e.inbound_tx == h(n)).unwrap();
    assert_eq!(e(1).confidence, edges::THOR_MEMO_ONLY_CONFIDENCE);
    assert_eq!(e(1).to_chain, Some(Chain::BITCOIN));
    assert_eq!(e(1).to_address.as_ref().unwrap().to_string(), BTC_MAIN);
    assert_eq!(e(1).outbound_tx, None);
    assert_eq!(e(2).confidence, 1.0);
    assert_eq!(e(2).to_chain, Some(Chain::ETHEREUM));
    assert_eq!(e(2).to_address, Some(Address::Evm(evm(0x51))));
    assert_eq!(e(2).outbound_tx, Some(h(9)));
    assert_eq!(e(2).measured["refund"], true);
    assert!(e(3).problem.as_ref().unwrap().contains("add_liquidity"));
    assert_eq!(e(3).to_address, None);
    assert!(e(4).problem.as_ref().unwrap().contains("0x1234"));
    assert_eq!(e(4).to_address, None);
}

#[test]
fn ren_uniqueness_fee_band_window_and_bad_destinations() {
    let amount = 100_000_000u64; // 1 renBTC
    let burn = |tx: u8, to: &str| {
        event(
            tx,
            T0,
            EventData::RenBurn {
                to: to.into(),
                amount: U256::from(amount),
                n: U256::from(tx),
            },
        )
    };
    let min = amount - amount / 1000 - edges::REN_NETWORK_FEE_MAX_SATS;
    let mut f = Facts::default();
    f.events.push(burn(1, BTC_MAIN));
    f.events
        .push(burn(2, "0x5151515151515151515151515151515151515151"));
    f.events.push(burn(3, "bc1qnotvalid"));
    // two payments in the band after the burn: 2 candidates for burn 1
    f.btc.push(btc_pay(10, T0 + 600, BTC_MAIN, min));
    f.btc.push(btc_pay(11, T0 + 700, BTC_MAIN, amount));
    // outside: below the band, more than burnt, before the burn, after the window
    f.btc.push(btc_pay(12, T0 + 800, BTC_MAIN, min - 1));
    f.btc.push(btc_pay(13, T0 + 900, BTC_MAIN, amount + 1));
    f.btc.push(btc_pay(14, T0 - 1, BTC_MAIN, amount));
    f.btc.push(btc_pay(
        15,
        T0 + edges::REN_WINDOW_SECS + 1,
        BTC_MAIN,
        amount,
    ));
    let es = edges::ren_edges(&f);
    assert_eq!(es.len(), 3);
    assert_eq!(es[0].measured["candidates"], 2);
    assert_eq!(es[0].confidence, 0.475);
    assert_eq!(es[0].outbound_tx, Some(h(10)), "the earliest candidate");
    assert_eq!(es[0].outbound_amount, Some(U256::from(min)));
    assert!(es[1].problem.as_ref().unwrap().contains("not Bitcoin"));
    assert!(es[2].problem.as_ref().unwrap().contains("bc1qnotvalid"));
    // a second burn to the same address takes the other payment
    f.events.push(burn(4, BTC_MAIN));
    let es = edges::ren_edges(&f);
    let b4 = es.iter().find(|e| e.inbound_tx == h(4)).unwrap();
    assert_eq!(b4.outbound_tx, Some(h(11)));
    // no payment at all: the burn's destination, unmatched
    f.btc.clear();
    let es = edges::ren_edges(&f);
    assert_eq!(es[0].outbound_tx, None);
    assert_eq!(es[0].confidence, edges::REN_UNMATCHED_CONFIDENCE);
    assert_eq!(es[0].to_chain, Some(Chain::BITCOIN));
}

#[test]
fn amount_time_fallback_candidates_and_confidence() {
    const E18: u128 = 1_000_000_000_000_000_000;
    let avax = Chain::Evm(43114);
    let weth_e = AssetId::Token(evm(0x49));
    let usdc = AssetId::Token(evm(0x0a));
    let mut f = Facts::default();
    f.assets.insert(
        (avax, weth_e),
        Asset {
            chain: avax,
            id: weth_e,
            symbol: "WETH.e".into(),
            decimals: 18,
        },
    );
    f.assets.insert(
        (avax, usdc),
        Asset {
            chain: avax,
            id: usdc,
            symbol: "USDC".into(),
            decimals: 6,
        },
    );
    let out = |n: u8, to: u8, asset: AssetId, amount: u128, time: i64| BridgeOutflow {
        transfer: Transfer {
            chain: avax,
            tx_hash: h(n),
            sub: SubIndex::Log(0),
            block: n as u64,
            tx_index: 0,
            time,
            from: Some(Address::Evm(evm(0xbb))),
            to: Some(Address::Evm(evm(to))),
            asset,
            amount: Amount(U256::from(amount)),
        },
        entity: "avalanche-bridge".into(),
    };
    let inflow = BridgeInflow {
        chain: Chain::ETHEREUM,
        tx: h(1),
        sender: Some(Address::Evm(evm(0x51))),
        entity: "avalanche-bridge".into(),
        asset: AssetId::Native,
        symbol: "ETH".into(),
        decimals: 18,
        amount: U256::from(10 * E18),
        time: T0,
    };
    // 9.95 WETH.e to the sender's own address: shortfall half the 1 % tolerance
    f.outflows
        .push(out(20, 0x51, weth_e, 10 * E18 - E18 / 20, T0 + 300));
    // not candidates: other asset, too little, more than sent, too late, before
    f.outflows.push(out(21, 0x51, usdc, 10_000_000, T0 + 300));
    f.outflows
        .push(out(22, 0x51, weth_e, 10 * E18 - E18 / 10 - 1, T0 + 300));
    f.outflows
        .push(out(23, 0x51, weth_e, 10 * E18 + 1, T0 + 300));
    f.outflows.push(out(
        24,
        0x51,
        weth_e,
        10 * E18,
        T0 + edges::AMOUNT_TIME_WINDOW_SECS + 1,
    ));
    f.outflows.push(out(25, 0x51, weth_e, 10 * E18, T0 - 1));
    let es = edges::amount_time_edges(&inflow, &f);
    assert_eq!(es.len(), 1, "{es:#?}");
    assert_eq!(es[0].heuristic, "bridge_amount_time");
    assert_eq!(es[0].confidence, 0.6, "0.8 × (1 − 0.5 × 0.5)");
    assert_eq!(es[0].to_chain, Some(avax));
    assert_eq!(es[0].outbound_tx, Some(h(20)));
    assert_eq!(es[0].bridge, "avalanche-bridge");
    // a second candidate, exact amount, to another address: both lose confidence
    f.outflows.push(out(26, 0x77, weth_e, 10 * E18, T0 + 400));
    let es = edges::amount_time_edges(&inflow, &f);
    assert_eq!(es.len(), 2);
    assert_eq!(es[0].confidence, 0.3);
    assert_eq!(es[1].confidence, 0.3, "0.6 × 1 / 2");
    assert_eq!(es[0].measured["candidates"], 2);
    // equivalent symbols across chains
    for (a, b) in [
        ("WETH", "ETH"),
        ("WETH.e", "ETH"),
        ("renBTC", "BTC"),
        ("WBTC", "BTC"),
    ] {
        assert_eq!(canonical_symbol(a), b);
    }
    assert_ne!(canonical_symbol("USDC"), canonical_symbol("USDT"));
}
