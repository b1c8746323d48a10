use alloy_primitives::{B256, U256};

use crate::graph::FlowGraph;
use crate::model::{
    Address, Amount, Asset, AssetId, Category, Chain, Label, SubIndex, Transfer, TxHash,
};
use crate::trace::{self, ModelKind, TraceConfig, TraceInput};

fn a(n: u8) -> Address {
    Address::Evm(alloy_primitives::Address::repeat_byte(n))
}

const SEED: u8 = 1;
const T: u8 = 2;
const DEX: u8 = 0xd0;
const X: u8 = 3;
const U: u8 = 4;

fn usdc() -> AssetId {
    AssetId::Token(alloy_primitives::Address::repeat_byte(0x55))
}

fn tr(block: u8, sub: SubIndex, from: u8, to: u8, asset: AssetId, v: u64) -> Transfer {
    Transfer {
        chain: Chain::ETHEREUM,
        tx_hash: TxHash(B256::repeat_byte(block)),
        sub,
        block: block as u64,
        tx_index: 0,
        time: 1_650_000_000 + block as i64 * 12,
        from: Some(a(from)),
        to: Some(a(to)),
        asset,
        amount: Amount::from_base_units(v as u128),
    }
}

/// S sends T 100 USDC; T already had 50 clean; T swaps 90 USDC for 30 wei of ETH at the DEX
/// (the ETH comes back in an internal call, before the token log in replay order); T sends X
/// 15 ETH.
fn input() -> TraceInput {
    let ts = vec![
        tr(1, SubIndex::Log(0), U, T, usdc(), 50),
        tr(2, SubIndex::Log(0), SEED, T, usdc(), 100),
        tr(3, SubIndex::Internal(vec![0]), DEX, T, AssetId::Native, 30),
        tr(3, SubIndex::Log(5), T, DEX, usdc(), 90),
        tr(4, SubIndex::Value, T, X, AssetId::Native, 15),
    ];
    let g = FlowGraph::build(Chain::ETHEREUM, &ts);
    let labels = g
        .nodes
        .iter()
        .map(|n| {
            if *n == a(DEX) {
                vec![Label {
                    chain: Chain::ETHEREUM,
                    address: a(DEX),
                    label: "Uniswap V2: USDC-ETH".into(),
                    category: Category::Defi,
                    actor: Some("uniswap".into()),
                    abuse: None,
                    source: "test".into(),
                    confidence: 90,
                    context: None,
                }]
            } else {
                vec![]
            }
        })
        .collect();
    let assets = g
        .assets
        .iter()
        .map(|id| Asset {
            chain: Chain::ETHEREUM,
            id: *id,
            symbol: if *id == AssetId::Native {
                "ETH"
            } else {
                "USDC"
            }
            .into(),
            decimals: 0,
        })
        .collect();
    TraceInput {
        graph: g,
        labels,
        opening: Vec::new(),
        assets,
        utxo: None,
        events: Vec::new(),
    }
}

fn at(r: &trace::TraceResult, who: u8, cat: &str, sym: &str) -> U256 {
    r.endpoints
        .iter()
        .filter(|e| {
            e.address.as_ref() == Some(&a(who)) && e.category == cat && r.assets[e.asset].key == sym
        })
        .map(|e| e.amount)
        .sum()
}

fn totals<'a>(r: &'a trace::TraceResult, sym: &str) -> &'a trace::AssetTotals {
    r.assets.iter().find(|x| x.key == sym).unwrap()
}

#[test]
fn taint_crosses_the_swap_in_the_inputs_share_exactly() {
    let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![a(SEED)]);
    cfg.deposit = None;
    cfg.follow.swaps = true;
    let r = trace::run(input(), &cfg).unwrap();
    assert!(r.conservation_ok);
    // USDC: T held 150 with 100 tainted; the 90 swapped carry floor(100 × 90 / 150) = 60
    assert_eq!(at(&r, DEX, "defi", "USDC"), U256::from(60u8));
    assert_eq!(at(&r, T, "unspent", "USDC"), U256::from(40u8));
    assert_eq!(totals(&r, "USDC").swapped_out, U256::from(60u8));
    // ETH: the 30 out carry floor(30 × 60 / 90) = 20; X gets floor(20 × 15 / 30) = 10
    let eth = totals(&r, "ETH");
    assert_eq!(eth.injected, U256::ZERO);
    assert_eq!(eth.swapped_in, U256::from(20u8));
    assert_eq!(at(&r, X, "unspent", "ETH"), U256::from(10u8));
    assert_eq!(at(&r, T, "unspent", "ETH"), U256::from(10u8));
    let ev: Vec<_> = r
        .evidence
        .iter()
        .filter(|e| e.heuristic == "dex_swap")
        .collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].measured["input_tainted"], "60");
    assert_eq!(ev[0].measured["outputs"][0]["tainted"], "20");
    assert_eq!(ev[0].entity, "uniswap");
    assert_eq!(ev[0].followed, Some(true));
    // hops are per address (the fewest): seed 0 → T 1 (→ DEX 2 → T again) → X 2
    let x = r
        .endpoints
        .iter()
        .find(|e| e.address.as_ref() == Some(&a(X)))
        .unwrap();
    assert_eq!(x.min_hops, Some(2));
}

#[test]
fn without_the_flag_the_dex_is_terminal_and_every_model_conserves_with_it() {
    let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![a(SEED)]);
    cfg.deposit = None;
    let r = trace::run(input(), &cfg).unwrap();
    assert_eq!(at(&r, DEX, "defi", "USDC"), U256::from(60u8));
    assert_eq!(totals(&r, "ETH").swapped_in, U256::ZERO);
    assert!(r.endpoints.iter().all(|e| r.assets[e.asset].key != "ETH"));
    assert!(r.evidence.is_empty());
    for model in ModelKind::ALL {
        let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![a(SEED)]);
        cfg.deposit = None;
        cfg.model = model;
        cfg.follow.swaps = true;
        let r = trace::run(input(), &cfg).unwrap();
        assert!(r.conservation_ok, "{model}");
        let eth = totals(&r, "ETH");
        let credited: U256 = r
            .endpoints
            .iter()
            .filter(|e| r.assets[e.asset].key == "ETH")
            .map(|e| e.amount)
            .sum();
        if model.conserving() {
            assert_eq!(credited, eth.swapped_in, "{model}");
        }
        // FIFO: T's USDC queue is 50 clean then 100 tainted: the 90 take 50 clean + 40
        // tainted, so 30 × 40 / 90 = 13 ETH of taint
        if model == ModelKind::Fifo {
            assert_eq!(eth.swapped_in, U256::from(13u8));
        }
    }
}
