//! The simulated laundering of `moneytrail demo`, modelled on the published path of the Ronin
//! Bridge theft of 2022-03-23 (graphs/incidents/ronin-2022.toml): 173,600 ETH and 25.5M USDC
//! taken from the bridge; the USDC swapped for 8,562.86 ETH on a DEX; the ETH split across ten
//! wallets; 108,000 ETH into a Tornado-style pool in 100 ETH notes; deposits at exchange deposit
//! addresses that sweep to the hot wallets (Huobi-like) and straight into a hot wallet
//! (FTX-like); 5,000 ETH into a Ren-style bridge; the rest resting. Around it, clean users
//! trade, deposit, withdraw and mix, and one smart-contract wallet X mixes 1,000 clean ETH with
//! 3,000 stolen ETH before paying an exchange and a merchant Y, so that the taint models
//! disagree there — and only there, by amounts the story fixes:
//!
//! | X pays      | poison | haircut (3/4) | FIFO ([1000 C, 3000 T]) | LIFO | TIHO |
//! |-------------|--------|---------------|--------------------------|------|------|
//! | exchange 2000 | 2000 | 1500          | 1000                     | 2000 | 2000 |
//! | Y 1000      | 1000   | 750           | 1000                     | 1000 | 1000 |
//! | X keeps 1000| 1000   | 750           | 1000                     | 0    | 0    |
//!
//! Every other address the stolen value reaches holds nothing else, so every model agrees
//! there: the ground truth is the story's own bookkeeping, not a second taint engine.

use std::collections::BTreeMap;

use alloy_primitives::U256;

use super::sim::{Move, Sim, addr};
use crate::model::{Address, Amount, Asset, AssetId, Category, Chain, Label, Transfer};
use crate::trace::ModelKind;

/// 2022-03-23 07:24:00 UTC, the hour of the Ronin withdrawals.
pub const THEFT_TIME: i64 = 1_648_020_240;
const DAY: i64 = 86_400;

/// Whole units → base units (`x` a decimal such as "8562.86").
fn units(x: &str, decimals: u8) -> U256 {
    Amount::parse_decimal(x, decimals)
        .expect("demo amounts are valid decimals")
        .0
}

fn eth(x: &str) -> U256 {
    units(x, 18)
}

/// What the story says each model must find, per (asset symbol, category), exact.
pub type Truth = BTreeMap<(String, String), U256>;

/// The simulated chain and everything known about it.
pub struct Scenario {
    /// Chain (ethereum: the demo's value is priced like ETH).
    pub chain: Chain,
    /// Every transfer, in replay order.
    pub transfers: Vec<Transfer>,
    /// Assets (ETH and the simulated USDC).
    pub assets: Vec<Asset>,
    /// Labels of the simulated services.
    pub labels: Vec<Label>,
    /// The exploiter address (the seed).
    pub seeds: Vec<Address>,
    /// Injected per asset symbol (every unit the seed received).
    pub injected: BTreeMap<String, U256>,
    /// Per model: (asset, category) → amount.
    pub truth: BTreeMap<ModelKind, Truth>,
    /// Named addresses of the story (for the report and the tests).
    pub named: BTreeMap<&'static str, Address>,
}

fn label(chain: Chain, a: &Address, name: &str, cat: Category, actor: &str) -> Label {
    Label {
        chain,
        address: a.clone(),
        label: format!("{name} (simulated)"),
        category: cat,
        actor: Some(format!("{actor} (simulated)")),
        abuse: None,
        source: "moneytrail demo: simulated".into(),
        confidence: 100,
        context: None,
    }
}

/// Build the scenario. Deterministic: the same bytes every run.
pub fn build() -> Scenario {
    let chain = Chain::Evm(1);
    let mut sim = Sim::new(
        chain,
        THEFT_TIME - 30 * DAY,
        14_230_000,
        U256::from(30_000_000_000u64),
    );
    let usdc = addr("usdc");
    let Address::Evm(usdc_c) = usdc else {
        unreachable!()
    };
    let usdc_id = AssetId::Token(usdc_c);
    let n = |s: &str| addr(s);
    let (bridge_v, e, dex, pool, ren) = (
        n("ronin-bridge"),
        n("exploiter"),
        n("dex-router"),
        n("tornado-100"),
        n("renbridge"),
    );
    let (hot_a, hot_b) = (n("exchange-a-hot"), n("exchange-b-hot"));
    let (x, o, y, u) = (
        n("contract-wallet-x"),
        n("owner-of-x"),
        n("merchant-y"),
        n("user-funding-x"),
    );
    let pool1 = n("tornado-1");
    let w: Vec<Address> = (1..=10).map(|i| n(&format!("split-{i}"))).collect();
    let dep_a: Vec<Address> = (1..=3).map(|i| n(&format!("deposit-a-{i}"))).collect();
    let dep_x = n("deposit-a-x");
    let labels = vec![
        label(
            chain,
            &bridge_v,
            "Ronin Bridge",
            Category::Bridge,
            "ronin-bridge",
        ),
        label(chain, &dex, "DEX router", Category::Defi, "dex"),
        label(
            chain,
            &pool,
            "Tornado Cash 100 ETH pool",
            Category::Mixer,
            "tornado-cash",
        ),
        label(
            chain,
            &pool1,
            "Tornado Cash 1 ETH pool",
            Category::Mixer,
            "tornado-cash",
        ),
        label(
            chain,
            &ren,
            "RenBridge gateway (ETH to BTC)",
            Category::Bridge,
            "renbridge",
        ),
        label(
            chain,
            &hot_a,
            "Exchange A hot wallet",
            Category::Exchange,
            "exchange-a",
        ),
        label(
            chain,
            &hot_b,
            "Exchange B hot wallet",
            Category::Exchange,
            "exchange-b",
        ),
    ];

    // clean history before the theft: users, the victim's reserves, X's owner and X
    let mut rng = fastrand::Rng::with_seed(20220323);
    let users: Vec<Address> = (0..300).map(|i| n(&format!("user-{i}"))).collect();
    let clean_deps: Vec<Address> = (0..40).map(|i| n(&format!("clean-deposit-{i}"))).collect();
    sim.mint(&bridge_v, AssetId::Native, eth("200000"));
    sim.mint(&bridge_v, usdc_id, units("40000000", 6));
    sim.mint(&dex, AssetId::Native, eth("50000"));
    sim.mint(&dex, usdc_id, units("100000000", 6));
    sim.mint(&pool1, AssetId::Native, eth("500"));
    for (i, us) in users.iter().enumerate() {
        sim.mint(us, AssetId::Native, eth(&format!("{}", 5 + (i % 50) * 3)));
        sim.mint(us, usdc_id, units(&format!("{}", 1000 * (1 + i % 20)), 6));
    }
    sim.mint(&o, AssetId::Native, eth("2"));
    sim.mint(&u, AssetId::Native, eth("1001"));
    sim.at(THEFT_TIME - 8 * DAY);
    sim.tx(&u, 21_000, &[Move::Value(x.clone(), eth("1000"))]);

    let background = |sim: &mut Sim, rng: &mut fastrand::Rng, k: usize| {
        for _ in 0..k {
            let t = sim.now() + rng.i64(60..1800);
            sim.at(t);
            let a = &users[rng.usize(0..users.len())];
            let fee = sim.fee(120_000);
            let have = sim.balance(a, AssetId::Native);
            if have <= fee + eth("0.2") {
                continue;
            }
            let spend = (have - fee) / U256::from(rng.u64(3..12));
            match rng.u8(0..6) {
                0 | 1 => {
                    let b = users[rng.usize(0..users.len())].clone();
                    if &b != a {
                        sim.tx(a, 21_000, &[Move::Value(b, spend)]);
                    }
                }
                2 => {
                    // a clean exchange deposit, swept to the hot wallet
                    let d = clean_deps[rng.usize(0..clean_deps.len())].clone();
                    let hot = if rng.bool() { &hot_a } else { &hot_b };
                    sim.tx(a, 21_000, &[Move::Value(d.clone(), spend)]);
                    let sweep = sim.fee(21_000);
                    let held = sim.balance(&d, AssetId::Native);
                    if held > sweep {
                        sim.tx(&d, 21_000, &[Move::Value(hot.clone(), held - sweep)]);
                    }
                }
                3 => {
                    // swap ETH for USDC at the DEX
                    let usd = spend * U256::from(2900u64) / U256::from(1_000_000_000_000u64);
                    sim.tx(
                        a,
                        120_000,
                        &[
                            Move::Value(dex.clone(), spend),
                            Move::Token(usdc.clone(), dex.clone(), a.clone(), usd),
                        ],
                    );
                }
                4 => {
                    // a clean Tornado deposit of 1 ETH and a withdrawal to another user
                    if have > eth("1") + fee {
                        sim.tx(a, 900_000, &[Move::Value(pool1.clone(), eth("1"))]);
                        let b = users[rng.usize(0..users.len())].clone();
                        sim.tx(&o, 0, &[Move::Internal(pool1.clone(), b, eth("1"))]);
                    }
                }
                _ => {
                    // an exchange withdrawal
                    let v = eth(&format!("{}", rng.u32(1..20)));
                    sim.tx(&o, 0, &[Move::Internal(hot_a.clone(), a.clone(), v)]);
                }
            }
        }
    };
    // the hot wallets' reserves, before anything is withdrawn from them
    sim.mint(&hot_a, AssetId::Native, eth("100000"));
    sim.mint(&hot_b, AssetId::Native, eth("100000"));
    background(&mut sim, &mut rng, 300);

    // --- the theft and its laundering; every fee the stolen value pays is tainted ---------
    let mut fees = U256::ZERO;
    let mut exchange = U256::ZERO;
    // gas money for the exploiter from the 1 ETH pool (a seed's inflow: tainted too)
    sim.at(THEFT_TIME - DAY);
    sim.tx(&o, 0, &[Move::Internal(pool1.clone(), e.clone(), eth("1"))]);
    sim.at(THEFT_TIME);
    fees += sim.tx(
        &e,
        200_000,
        &[Move::Internal(bridge_v.clone(), e.clone(), eth("173600"))],
    );
    sim.at(THEFT_TIME + 300);
    fees += sim.tx(
        &e,
        200_000,
        &[Move::Token(
            usdc.clone(),
            bridge_v.clone(),
            e.clone(),
            units("25500000", 6),
        )],
    );
    // the USDC swapped for ETH (the DEX is terminal: the USDC is credited to defi there)
    sim.at(THEFT_TIME + DAY);
    fees += sim.tx(
        &e,
        180_000,
        &[
            Move::Token(usdc.clone(), e.clone(), dex.clone(), units("25500000", 6)),
            Move::Internal(dex.clone(), e.clone(), eth("8562.86")),
        ],
    );
    background(&mut sim, &mut rng, 100);
    // split
    sim.at(THEFT_TIME + 2 * DAY);
    for wi in &w {
        fees += sim.tx(&e, 21_000, &[Move::Value(wi.clone(), eth("18010"))]);
    }
    background(&mut sim, &mut rng, 200);
    // W7: three deposit addresses of exchange A, swept to its hot wallet
    sim.at(THEFT_TIME + 5 * DAY);
    for d in &dep_a {
        fees += sim.tx(&w[6], 21_000, &[Move::Value(d.clone(), eth("6000"))]);
        exchange += eth("6000");
    }
    sim.at(sim.now() + 3600);
    for d in &dep_a {
        let v = eth("6000") - sim.fee(21_000);
        sim.tx(d, 21_000, &[Move::Value(hot_a.clone(), v)]);
    }
    // W8: straight into exchange B's hot wallet, keeping a third
    sim.at(THEFT_TIME + 6 * DAY);
    fees += sim.tx(&w[7], 21_000, &[Move::Value(hot_b.clone(), eth("12000"))]);
    exchange += eth("12000");
    // W10 → X, where 1000 clean ETH wait; X pays exchange A (via its deposit address) and Y
    sim.at(THEFT_TIME + 8 * DAY);
    fees += sim.tx(&w[9], 21_000, &[Move::Value(x.clone(), eth("3000"))]);
    sim.at(THEFT_TIME + 9 * DAY);
    sim.tx(
        &o,
        90_000,
        &[Move::Internal(x.clone(), dep_x.clone(), eth("2000"))],
    );
    sim.tx(
        &o,
        90_000,
        &[Move::Internal(x.clone(), y.clone(), eth("1000"))],
    );
    sim.at(sim.now() + 1800);
    let v = eth("2000") - sim.fee(21_000);
    sim.tx(&dep_x, 21_000, &[Move::Value(hot_a.clone(), v)]);
    background(&mut sim, &mut rng, 200);
    // W1–W6: Tornado deposits in 100 ETH notes, 2022-04-04 .. 2022-05-19
    let mut mixer = U256::ZERO;
    let mut t = THEFT_TIME + 12 * DAY;
    for k in 0..180 {
        for wi in &w[..6] {
            sim.at(t);
            fees += sim.tx(wi, 1_000_000, &[Move::Value(pool.clone(), eth("100"))]);
            mixer += eth("100");
            t += 3600;
        }
        if k % 30 == 29 {
            background(&mut sim, &mut rng, 40);
            t = t.max(sim.now());
        }
    }
    // W9: the bridge to Bitcoin
    sim.at(t + DAY);
    fees += sim.tx(&w[8], 150_000, &[Move::Value(ren.clone(), eth("5000"))]);
    background(&mut sim, &mut rng, 150);

    // --- the bookkeeping -------------------------------------------------------------------
    let mut rest = U256::ZERO;
    for a in w.iter().chain([&e]) {
        rest += sim.balance(a, AssetId::Native);
    }
    let injected_eth = eth("1") + eth("173600") + eth("8562.86");
    let usdc_amt = units("25500000", 6);
    let mut truth = BTreeMap::new();
    // (to exchange via X, Y, X keeps) per model
    let x_split = [
        (ModelKind::Poison, ("2000", "1000", "1000")),
        (ModelKind::Haircut, ("1500", "750", "750")),
        (ModelKind::Fifo, ("1000", "1000", "1000")),
        (ModelKind::Lifo, ("2000", "1000", "0")),
        (ModelKind::Tiho, ("2000", "1000", "0")),
    ];
    for (m, (ex, yy, xx)) in x_split {
        let mut t = Truth::new();
        let mut put = |a: &str, c: &str, v: U256| {
            t.insert((a.to_string(), c.to_string()), v);
        };
        for c in crate::trace::CATEGORIES {
            put("ETH", c, U256::ZERO);
            put("USDC", c, U256::ZERO);
        }
        put("ETH", "exchange", exchange + eth(ex));
        put("ETH", "mixer", mixer);
        put("ETH", "bridge", eth("5000"));
        put("ETH", "fee", fees);
        put("ETH", "unspent", rest + eth(yy) + eth(xx));
        put("USDC", "defi", usdc_amt);
        truth.insert(m, t);
    }
    let named = BTreeMap::from([
        ("exploiter", e.clone()),
        ("victim", bridge_v),
        ("dex", dex),
        ("tornado_100", pool),
        ("renbridge", ren),
        ("exchange_a_hot", hot_a),
        ("exchange_b_hot", hot_b),
        ("contract_wallet_x", x),
        ("merchant_y", y),
        ("deposit_a_x", dep_x),
    ]);
    Scenario {
        chain,
        transfers: sim.transfers,
        assets: vec![
            Asset::native(chain),
            Asset {
                chain,
                id: usdc_id,
                symbol: "USDC".into(),
                decimals: 6,
            },
        ],
        labels,
        seeds: vec![e],
        injected: BTreeMap::from([
            ("ETH".to_string(), injected_eth),
            ("USDC".to_string(), usdc_amt),
        ]),
        truth,
        named,
    }
}
