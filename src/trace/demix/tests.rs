use alloy_primitives::{B256, U256};

use super::*;
use crate::graph::FlowGraph;
use crate::model::{
    Address, Amount, Asset, AssetId, Category, Chain, ContractEvent, EventData, Label, SubIndex,
    Transfer, TxHash,
};
use crate::trace::{self, ModelKind, TraceConfig, TraceInput};

fn dep(pool: u32, t: u64, depositor: u32, gas: Option<u64>) -> Deposit {
    Deposit {
        pool,
        tx: t as u32,
        order: (t, 0, 0),
        time: t as i64 * 12,
        depositor,
        gas_price: gas.map(U256::from),
    }
}

fn wd(pool: u32, t: u64, recipient: u32, relayer: Option<u32>, gas: Option<u64>) -> Withdrawal {
    Withdrawal {
        pool,
        tx: t as u32,
        order: (t, 0, 0),
        time: t as i64 * 12,
        recipient,
        relayer,
        sender: Some(relayer.unwrap_or(recipient)),
        gas_price: gas.map(U256::from),
    }
}

const GWEI: u64 = 1_000_000_000;
const R: u32 = 999; // the relayer

/// A crowd: depositors 100.. each deposit once (gas 2 gwei), withdrawn by the relayer to
/// recipients 500.., so that pools never hold fewer than `base` deposits.
fn crowd(pools: u32, per_pool: u32, t0: u64) -> (Vec<Deposit>, Vec<Withdrawal>) {
    let mut d = Vec::new();
    let mut w = Vec::new();
    for p in 0..pools {
        for k in 0..per_pool {
            d.push(dep(p, t0 + k as u64, 100 + p * 50 + k, Some(2 * GWEI)));
        }
    }
    for p in 0..pools {
        for k in 0..per_pool {
            w.push(wd(
                p,
                t0 + 1000 + k as u64,
                500 + p * 50 + k,
                Some(R),
                Some(3 * GWEI),
            ));
        }
    }
    (d, w)
}

fn found(out: &DemixOutput, input: &DemixInput) -> Vec<(&'static str, u32, u32, bool)> {
    out.links
        .iter()
        .filter(|l| l.heuristic != TEMPORAL_FIFO)
        .map(|l| {
            (
                l.heuristic,
                input.deposits[l.deposit].tx,
                input.withdrawals[l.withdrawal].tx,
                l.followed,
            )
        })
        .collect()
}

#[test]
fn each_heuristic_finds_its_planted_link_and_nothing_in_the_crowd() {
    let (mut d, mut w) = crowd(2, 6, 100);
    // address match: 1 deposits (pool 0, t=10) and later withdraws to itself (t=1200)
    d.push(dep(0, 10, 1, Some(2 * GWEI)));
    w.push(wd(0, 1200, 1, Some(R), Some(3 * GWEI)));
    // unique gas price: 2 deposits with an odd price, 3 withdraws to itself with it
    d.push(dep(1, 11, 2, Some(3_141_592_653)));
    w.push(wd(1, 1201, 3, None, Some(3_141_592_653)));
    // linked addresses: 4 deposits, 5 receives; 4 and 5 transacted directly
    d.push(dep(1, 12, 4, Some(2 * GWEI)));
    w.push(wd(1, 1202, 5, Some(R), Some(3 * GWEI)));
    // multi-denomination: 6 deposits 3 × pool 0 and 2 × pool 1; 7 receives the same
    for k in 0..3 {
        d.push(dep(0, 20 + k, 6, Some(2 * GWEI)));
        w.push(wd(0, 1300 + k, 7, Some(R), Some(3 * GWEI)));
    }
    for k in 0..2 {
        d.push(dep(1, 30 + k, 6, Some(2 * GWEI)));
        w.push(wd(1, 1310 + k, 7, Some(R), Some(3 * GWEI)));
    }
    let mut input = DemixInput {
        pools: 2,
        deposits: d,
        withdrawals: w,
        ..Default::default()
    };
    input.direct.insert((4, 5));
    let out = demix(&input, &DemixParams::default());
    let mut got = found(&out, &input);
    got.sort();
    let mut want = vec![
        (ADDRESS_MATCH, 10, 1200, true),
        (UNIQUE_GAS_PRICE, 11, 1201, true),
        (LINKED_ADDRESSES, 12, 1202, true),
        (MULTI_DENOMINATION, 20, 1300, true),
        (MULTI_DENOMINATION, 21, 1301, true),
        (MULTI_DENOMINATION, 22, 1302, true),
        (MULTI_DENOMINATION, 30, 1310, true),
        (MULTI_DENOMINATION, 31, 1311, true),
    ];
    want.sort();
    assert_eq!(got, want);
    // FIFO links, if any, are below the threshold: the pools never ran low
    assert!(
        out.links
            .iter()
            .filter(|l| l.heuristic == TEMPORAL_FIFO)
            .all(|l| !l.followed)
    );
    // confidences as documented
    let conf = |h| {
        out.links
            .iter()
            .find(|l| l.heuristic == h)
            .unwrap()
            .confidence
    };
    assert_eq!(conf(ADDRESS_MATCH), 0.95);
    assert_eq!(conf(UNIQUE_GAS_PRICE), 0.9);
    assert_eq!(conf(LINKED_ADDRESSES), 0.8);
    assert!((conf(MULTI_DENOMINATION) - 0.8).abs() < 1e-9);
    // switched off: not found
    let off = DemixParams {
        disabled: vec![UNIQUE_GAS_PRICE.into(), MULTI_DENOMINATION.into()],
        ..DemixParams::default()
    };
    let out2 = demix(&input, &off);
    let got2 = found(&out2, &input);
    assert_eq!(got2.len(), 2, "{got2:?}");
    // a threshold above a link's confidence: reported, not followed
    let strict = DemixParams {
        min_confidence: 0.85,
        ..DemixParams::default()
    };
    let out3 = demix(&input, &strict);
    for (h, _, _, followed) in found(&out3, &input) {
        assert_eq!(followed, h == ADDRESS_MATCH || h == UNIQUE_GAS_PRICE, "{h}");
    }
}

#[test]
fn ambiguity_and_time_order_prevent_links() {
    let (mut d, mut w) = crowd(1, 5, 100);
    // a withdrawal to an address before that address deposited: no link
    w.push(wd(0, 50, 1, Some(R), None));
    d.push(dep(0, 60, 1, None));
    // a round gas price used by two withdrawals: not unique
    d.push(dep(0, 61, 2, Some(7 * GWEI)));
    w.push(wd(0, 1200, 3, None, Some(7 * GWEI)));
    w.push(wd(0, 1201, 4, None, Some(7 * GWEI)));
    // multi-denomination needs two pools; two depositor sessions with the same signature and
    // one recipient session: ambiguous
    let input = DemixInput {
        pools: 1,
        deposits: d,
        withdrawals: w,
        ..Default::default()
    };
    let out = demix(&input, &DemixParams::default());
    assert!(found(&out, &input).is_empty(), "{:?}", found(&out, &input));

    let mut d = Vec::new();
    let mut w = Vec::new();
    for who in [1u32, 2] {
        for (p, t) in [(0u32, 0u64), (1, 1)] {
            d.push(dep(p, 10 * who as u64 + t, who, None));
        }
    }
    for (p, t) in [(0u32, 100u64), (1, 101)] {
        w.push(wd(p, t, 9, Some(R), None));
    }
    let (cd, cw) = crowd(2, 4, 200);
    d.extend(cd);
    w.extend(cw);
    let input = DemixInput {
        pools: 2,
        deposits: d,
        withdrawals: w,
        ..Default::default()
    };
    let out = demix(&input, &DemixParams::default());
    assert!(found(&out, &input).is_empty(), "{:?}", found(&out, &input));
}

#[test]
fn fifo_confidence_is_one_over_the_candidates_and_sets_are_counted() {
    // pool: d1, w (1 candidate: certain, followed), d2, d3, w (2 candidates: d2, d3), w (the
    // one before took either of them: still 2 candidates)
    let d = vec![
        dep(0, 1, 11, None),
        dep(0, 3, 12, None),
        dep(0, 4, 13, None),
    ];
    let w = vec![
        wd(0, 2, 21, Some(R), None),
        wd(0, 5, 22, Some(R), None),
        wd(0, 6, 23, Some(R), None),
    ];
    let input = DemixInput {
        pools: 1,
        deposits: d,
        withdrawals: w,
        ..Default::default()
    };
    let out = demix(&input, &DemixParams::default());
    assert_eq!(out.set_size, vec![1, 2, 1]);
    let fifo: Vec<(u32, u32, f64, bool)> = out
        .links
        .iter()
        .map(|l| {
            assert_eq!(l.heuristic, TEMPORAL_FIFO);
            (
                input.deposits[l.deposit].tx,
                input.withdrawals[l.withdrawal].tx,
                l.confidence,
                l.followed,
            )
        })
        .collect();
    assert_eq!(
        fifo,
        vec![(1, 2, 1.0, true), (3, 5, 0.5, false), (4, 6, 0.5, false)]
    );
    assert_eq!(out.pools[0].min_set, 1);
    assert_eq!(out.pools[0].max_set, 2);
    assert_eq!(out.pools[0].followed, 1);
    assert_eq!(out.pools[0].linked, 3);
}

// ---- through the replay: pool haircut and followed links, exact -------------------------

fn a(n: u8) -> Address {
    Address::Evm(alloy_primitives::Address::repeat_byte(n))
}

fn h(n: u8) -> TxHash {
    TxHash(B256::repeat_byte(n))
}

fn tr(block: u8, sub: u32, from: u8, to: u8, v: u64) -> Transfer {
    Transfer {
        chain: Chain::ETHEREUM,
        tx_hash: h(block),
        sub: if sub == 0 {
            SubIndex::Value
        } else {
            SubIndex::Internal(vec![sub - 1])
        },
        block: block as u64,
        tx_index: 0,
        time: 1_650_000_000 + block as i64 * 12,
        from: Some(a(from)),
        to: Some(a(to)),
        asset: AssetId::Native,
        amount: Amount::from_base_units(v as u128),
    }
}

fn ev(block: u8, from: u8, data: EventData) -> ContractEvent {
    ContractEvent {
        chain: Chain::ETHEREUM,
        contract: a(POOL),
        tx: h(block),
        log_index: 0,
        block: block as u64,
        tx_index: 0,
        time: 1_650_000_000 + block as i64 * 12,
        tx_from: Some(a(from)),
        gas_price: Some(U256::from(2 * GWEI)),
        data,
    }
}

fn deposit_ev(block: u8, from: u8) -> ContractEvent {
    ev(
        block,
        from,
        EventData::TornadoDeposit {
            commitment: B256::repeat_byte(block),
            leaf_index: block as u32,
            timestamp: 0,
        },
    )
}

fn withdraw_ev(block: u8, sender: u8, to: u8, relayer: Option<u8>, fee: u64) -> ContractEvent {
    ev(
        block,
        sender,
        EventData::TornadoWithdrawal {
            to: *a(to).as_evm().unwrap(),
            nullifier_hash: B256::repeat_byte(block),
            relayer: relayer
                .map(|r| *a(r).as_evm().unwrap())
                .unwrap_or(alloy_primitives::Address::ZERO),
            fee: U256::from(fee),
        },
    )
}

const POOL: u8 = 0xee;
const SEED: u8 = 1;

fn pool_input() -> TraceInput {
    pool_input_without(&[])
}

/// The scenario with the transfers of the given blocks left out (their events stay).
fn pool_input_without(blocks: &[u8]) -> TraceInput {
    // S → A 10, S → B 10; A, U1, U2 deposit 10; A withdraws to itself (address match);
    // X gets 9 + relayer 1 (pool haircut over U1, U2: clean); B deposits; Y gets 9 + relayer 1
    // (haircut over U2's 10 and B's 10 tainted)
    let ts = vec![
        tr(1, 0, SEED, 2, 10),
        tr(2, 0, SEED, 3, 10),
        tr(3, 0, 2, POOL, 10),
        tr(4, 0, 20, POOL, 10),
        tr(5, 0, 21, POOL, 10),
        tr(6, 1, POOL, 2, 10),
        tr(7, 1, POOL, 30, 9),
        tr(7, 2, POOL, 99, 1),
        tr(8, 0, 3, POOL, 10),
        tr(9, 1, POOL, 31, 9),
        tr(9, 2, POOL, 99, 1),
    ];
    let ts: Vec<Transfer> = ts
        .into_iter()
        .filter(|t| !blocks.contains(&(t.block as u8)))
        .collect();
    let g = FlowGraph::build(Chain::ETHEREUM, &ts);
    let pool_label = Label {
        chain: Chain::ETHEREUM,
        address: a(POOL),
        label: "Pool 10".into(),
        category: Category::Mixer,
        actor: Some("tornado-cash".into()),
        abuse: None,
        source: "test".into(),
        confidence: 90,
        context: None,
    };
    let labels = g
        .nodes
        .iter()
        .map(|n| {
            if *n == a(POOL) {
                vec![pool_label.clone()]
            } else {
                vec![]
            }
        })
        .collect();
    let events = vec![
        deposit_ev(3, 2),
        deposit_ev(4, 20),
        deposit_ev(5, 21),
        withdraw_ev(6, 2, 2, None, 0),
        withdraw_ev(7, 99, 30, Some(99), 1),
        deposit_ev(8, 3),
        withdraw_ev(9, 99, 31, Some(99), 1),
    ];
    TraceInput {
        graph: g,
        labels,
        opening: Vec::new(),
        assets: vec![Asset::native(Chain::ETHEREUM)],
        utxo: None,
        events,
    }
}

fn amount_at(r: &trace::TraceResult, who: u8, cat: &str) -> U256 {
    r.endpoints
        .iter()
        .filter(|e| e.address.as_ref() == Some(&a(who)) && e.category == cat)
        .map(|e| e.amount)
        .sum()
}

#[test]
fn the_replay_moves_linked_taint_and_haircuts_the_rest_exactly() {
    for model in [
        ModelKind::Haircut,
        ModelKind::Fifo,
        ModelKind::Lifo,
        ModelKind::Tiho,
    ] {
        let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![a(SEED)]);
        cfg.model = model;
        cfg.deposit = None;
        cfg.follow.demix = true;
        let r = trace::run(pool_input(), &cfg).unwrap();
        assert!(r.conservation_ok, "{model}");
        assert_eq!(r.assets[0].injected, U256::from(20u8));
        // the address match carries A's whole deposit back to A
        assert_eq!(amount_at(&r, 2, "unspent"), U256::from(10u8), "{model}");
        // X: the pool held U1's and U2's clean deposits only
        assert_eq!(amount_at(&r, 30, "unspent"), U256::ZERO, "{model}");
        // Y: 9 of a pool of 20 with 10 tainted: floor(10 × 9 / 20) = 4; the relayer's 1 then
        // takes floor(6 × 1 / 11) = 0; 6 rest in the pool
        assert_eq!(amount_at(&r, 31, "unspent"), U256::from(4u8), "{model}");
        assert_eq!(amount_at(&r, 99, "unspent"), U256::ZERO, "{model}");
        assert_eq!(amount_at(&r, POOL, "mixer"), U256::from(6u8), "{model}");
        let links: Vec<_> = r
            .evidence
            .iter()
            .filter(|e| e.heuristic.starts_with("tornado_") && e.followed == Some(true))
            .collect();
        assert_eq!(links.len(), 1, "{links:?}");
        assert_eq!(links[0].heuristic, ADDRESS_MATCH);
        assert_eq!(links[0].followed, Some(true));
        assert_eq!(
            links[0].witness_txs,
            vec![h(3).display(Chain::ETHEREUM), h(6).display(Chain::ETHEREUM)]
        );
        assert_eq!(r.sections["demix"]["pools"][0]["deposits"], 4);
        assert_eq!(r.sections["demix"]["pools"][0]["withdrawals"], 3);
    }
    // without --demix the pool is terminal: all 20 stop there as mixer
    let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![a(SEED)]);
    cfg.deposit = None;
    let r = trace::run(pool_input(), &cfg).unwrap();
    assert_eq!(amount_at(&r, POOL, "mixer"), U256::from(20u8));
    assert!(r.sections.is_empty());
    // a link switched off: A's withdrawal is a plain pool haircut (pool of 30, 10 tainted)
    let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![a(SEED)]);
    cfg.deposit = None;
    cfg.follow.demix = true;
    cfg.follow.disabled = vec![ADDRESS_MATCH.into(), TEMPORAL_FIFO.into()];
    let r = trace::run(pool_input(), &cfg).unwrap();
    assert!(r.conservation_ok);
    // A: floor(10 × 10 / 30) = 3; X: floor(7 × 9 / 20) = 3, relayer floor(4 × 1 / 11) = 0;
    // Y: pool 10 clean + 4 tainted left + B's 10 → 20 with 14: floor(14 × 9 / 20) = 6,
    // relayer floor(8 × 1 / 11) = 0; 8 rest
    assert_eq!(amount_at(&r, 2, "unspent"), U256::from(3u8));
    assert_eq!(amount_at(&r, 30, "unspent"), U256::from(3u8));
    assert_eq!(amount_at(&r, 31, "unspent"), U256::from(6u8));
    assert_eq!(amount_at(&r, POOL, "mixer"), U256::from(8u8));
}

#[test]
fn deposits_known_only_from_events_count_as_clean_pool_value() {
    // U1's and U2's deposit transfers were not fetched (the fetch stores withdrawal txs, not
    // strangers' deposits): their events stand in, and the figures are those of the full data
    for model in [ModelKind::Haircut, ModelKind::Fifo] {
        let mut cfg = TraceConfig::new(Chain::ETHEREUM, vec![a(SEED)]);
        cfg.model = model;
        cfg.deposit = None;
        cfg.follow.demix = true;
        cfg.follow.disabled = vec![ADDRESS_MATCH.into(), TEMPORAL_FIFO.into()];
        let r = trace::run(pool_input_without(&[4, 5]), &cfg).unwrap();
        assert!(r.conservation_ok, "{model}");
        assert_eq!(amount_at(&r, 2, "unspent"), U256::from(3u8), "{model}");
        assert_eq!(amount_at(&r, 30, "unspent"), U256::from(3u8), "{model}");
        assert_eq!(amount_at(&r, 31, "unspent"), U256::from(6u8), "{model}");
        assert_eq!(amount_at(&r, POOL, "mixer"), U256::from(8u8), "{model}");
        // only the seed's own opening value is unexplained (it holds no recorded balance)
        assert_eq!(r.assets[0].unexplained, U256::from(20u8), "{model}");
    }
}
