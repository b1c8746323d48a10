//! A Tornado-style anvil chain: two pools compiled from Solidity with Tornado Cash's event
//! signatures (1 ETH and 10 ETH), a clean crowd of depositors and relayed withdrawals, and
//! one planted laundering pattern per demixing heuristic, each funded from the seed S.
//!
//! The pool (`Pool.sol` below): `deposit(bytes32 commitment)` takes exactly the denomination
//! and emits `Deposit(commitment, leafIndex, block.timestamp)`; `withdraw(to, nullifierHash,
//! relayer, fee)` refuses a spent nullifier, pays denomination − fee to `to` and `fee` to the
//! relayer, and emits `Withdrawal(to, nullifierHash, relayer, fee)` — what tornado-core emits,
//! without the zk proof.
//!
//! The story, in time order (blocks are 10 minutes apart unless said otherwise):
//! 1. 8 crowd deposits into the 1 ETH pool and 4 into the 10 ETH pool;
//! 2. the theft: a dev account sends 100 ETH to S; S funds A, B, D, G;
//! 3. the planted deposits — A 1 ETH; B 1 ETH at the odd gas price 3.141592653 gwei; D 10 ETH;
//!    G 3 × 1 ETH and 2 × 10 ETH — between 8 more crowd deposits (1 ETH) and 3 (10 ETH);
//! 4. relayer R withdraws 6 crowd notes (1 ETH) and 3 (10 ETH) to fresh addresses;
//! 5. D sends 0.01 ETH straight to E;
//! 6. the planted withdrawals: A withdraws to A itself (no relayer); a clean dev account gives
//!    fresh C gas, and C withdraws 1 ETH to itself at B's odd gas price (no relayer); R
//!    withdraws 10 ETH to E; R withdraws 3 × 1 ETH and 2 × 10 ETH to H, one minute apart;
//! 7. 14 more crowd deposits (1 ETH) and 5 (10 ETH), and 14 + 3 more crowd withdrawals,
//!    interleaved.
//!
//! The crowd: every depositor and every recipient is a fresh address given its balance by
//! `anvil_setBalance` (no funding transaction links anyone), one deposit each, legacy gas
//! price 2 or 3 gwei; every crowd withdrawal is sent by R at 2 gwei with a 0.01 ETH fee. No
//! crowd address both deposits and receives, no odd gas price is shared, and no pool ever
//! holds fewer than two unwithdrawn deposits at a withdrawal (checked while building).

use alloy_primitives::{U256, keccak256};
use serde_json::json;

use super::anvil::Anvil;
use super::trace_chain::{ETH, hex, receipt};

/// One gwei.
pub const GWEI: u128 = 1_000_000_000;
/// The planted odd gas price (B's deposit and C's withdrawal), wei.
pub const ODD_GAS_PRICE: u128 = 3_141_592_653;
/// The relayer's fee on every relayed withdrawal.
pub const RELAYER_FEE: u128 = ETH / 100;

/// Pool.sol: Tornado Cash's events and denominations, no proof.
pub const POOL_SOL: &str = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n\
contract Pool {\n\
  uint256 public denomination;\n\
  uint32 public nextIndex;\n\
  mapping(bytes32 => bool) public commitments;\n\
  mapping(bytes32 => bool) public nullifierHashes;\n\
  event Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp);\n\
  event Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee);\n\
  constructor(uint256 d) { denomination = d; }\n\
  function deposit(bytes32 commitment) external payable {\n\
    require(msg.value == denomination, \"wrong amount\");\n\
    require(!commitments[commitment], \"known commitment\");\n\
    commitments[commitment] = true;\n\
    emit Deposit(commitment, nextIndex++, block.timestamp);\n\
  }\n\
  function withdraw(address payable to, bytes32 nullifierHash, address payable relayer, uint256 fee) external {\n\
    require(!nullifierHashes[nullifierHash], \"spent\");\n\
    require(fee <= denomination, \"fee\");\n\
    nullifierHashes[nullifierHash] = true;\n\
    (bool ok, ) = to.call{value: denomination - fee}(\"\");\n\
    require(ok, \"pay\");\n\
    if (fee > 0) { (ok, ) = relayer.call{value: fee}(\"\"); require(ok, \"fee\"); }\n\
    emit Withdrawal(to, nullifierHash, relayer, fee);\n\
  }\n\
}\n";

/// A deposit the scenario made.
#[derive(Debug, Clone)]
pub struct Deposit {
    /// Transaction hash (`0x…`, lower case).
    pub tx: String,
    /// Sender of the deposit transaction.
    pub depositor: String,
    /// Pool.
    pub pool: String,
    /// Funded from S.
    pub tainted: bool,
    /// Block.
    pub block: u64,
    /// Legacy gas price, wei.
    pub gas_price: u128,
    /// Leaf index the pool gave it.
    pub leaf_index: u32,
    /// The commitment (`0x…`).
    pub commitment: String,
}

/// A withdrawal the scenario made.
#[derive(Debug, Clone)]
pub struct Withdrawal {
    /// Transaction hash.
    pub tx: String,
    /// Sender of the withdrawal transaction (R, or the recipient itself).
    pub sender: String,
    /// Recipient.
    pub recipient: String,
    /// Relayer (the zero address when none).
    pub relayer: String,
    /// Fee paid to the relayer, wei.
    pub fee: u128,
    /// Pool.
    pub pool: String,
    /// Block.
    pub block: u64,
    /// Legacy gas price, wei.
    pub gas_price: u128,
    /// The nullifier hash (`0x…`).
    pub nullifier: String,
}

/// One planted link: what the demixer must find.
#[derive(Debug, Clone)]
pub struct Planted {
    /// The heuristic that should find it (`tornado_address_match` …).
    pub heuristic: &'static str,
    /// The deposit transactions (`0x…`).
    pub deposits: Vec<String>,
    /// The withdrawal transactions (`0x…`).
    pub withdrawals: Vec<String>,
    /// The depositor.
    pub depositor: String,
    /// The recipient.
    pub recipient: String,
    /// What S sent the depositor (wei): the tainted amount.
    pub tainted: u128,
    /// S's funding transaction.
    pub funding_tx: String,
}

/// The built chain.
pub struct Tornado {
    /// The node.
    pub anvil: Anvil,
    /// The 1 ETH pool.
    pub pool1: String,
    /// The 10 ETH pool.
    pub pool10: String,
    /// (pool, denomination in wei), both pools.
    pub pools: Vec<(String, u128)>,
    /// The seed.
    pub s: String,
    /// The relayer.
    pub r: String,
    /// The theft transaction (dev account → S, 100 ETH).
    pub theft_tx: String,
    /// Every deposit, in chain order.
    pub deposits: Vec<Deposit>,
    /// Every withdrawal, in chain order.
    pub withdrawals: Vec<Withdrawal>,
    /// The planted links, one per heuristic.
    pub planted: Vec<Planted>,
    /// First block after the pools' deployment.
    pub start_block: u64,
}

impl Tornado {
    /// The planted link of `heuristic`.
    pub fn planted(&self, heuristic: &str) -> &Planted {
        self.planted
            .iter()
            .find(|p| p.heuristic == heuristic)
            .unwrap_or_else(|| panic!("no planted {heuristic}"))
    }

    /// The planted recipients A, C, E, H.
    pub fn planted_recipients(&self) -> Vec<String> {
        self.planted.iter().map(|p| p.recipient.clone()).collect()
    }

    /// Recipients of the clean crowd's withdrawals.
    pub fn crowd_recipients(&self) -> Vec<String> {
        let planted: Vec<&String> = self.planted.iter().map(|p| &p.recipient).collect();
        self.withdrawals
            .iter()
            .map(|w| w.recipient.clone())
            .filter(|r| !planted.contains(&r))
            .collect()
    }
}

/// A deterministic fresh address for `name`.
pub fn named(name: &str) -> String {
    format!(
        "{:#x}",
        alloy_primitives::Address::from_slice(&keccak256(name)[12..])
    )
}

fn word_addr(a: &str) -> String {
    format!("{:0>64}", a.trim_start_matches("0x"))
}

fn selector(sig: &str) -> String {
    alloy_primitives::hex::encode(&keccak256(sig)[..4])
}

fn qty(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

struct Builder {
    anvil: Anvil,
    deposits: Vec<Deposit>,
    withdrawals: Vec<Withdrawal>,
    /// (pool, unwithdrawn deposits)
    open: Vec<(String, usize)>,
    pools: Vec<(String, u128)>,
    notes: u64,
}

impl Builder {
    fn tick(&self, secs: u64) {
        self.anvil.rpc("evm_increaseTime", json!([secs]));
    }

    /// Send a legacy transaction at `gas_price` and wait for its receipt (it must succeed).
    fn send(
        &self,
        from: &str,
        to: &str,
        value: u128,
        data: &str,
        gas_price: u128,
    ) -> (String, serde_json::Value) {
        let h = self.anvil.send(
            json!({"from": from, "to": to, "value": hex(value), "data": data,
            "gas": "0x100000", "gasPrice": hex(gas_price)}),
        );
        let r = receipt(&self.anvil, &h);
        assert!(!r.is_null(), "{h} was not mined within 30 s");
        assert_eq!(r["status"], "0x1", "{h} failed");
        (h, r)
    }

    /// A fresh address holding `balance` wei, able to send.
    fn fresh(&self, name: &str, balance: u128) -> String {
        let a = named(name);
        self.anvil.impersonate(&a, &hex(balance));
        a
    }

    fn denomination(&self, pool: &str) -> u128 {
        self.pools.iter().find(|(p, _)| p == pool).unwrap().1
    }

    fn deposit(&mut self, from: &str, pool: &str, gas_price: u128, tainted: bool) -> String {
        self.notes += 1;
        let commitment = format!("{:#x}", keccak256(format!("commitment {}", self.notes)));
        let data = format!("0x{}{}", selector("deposit(bytes32)"), &commitment[2..]);
        let d = self.denomination(pool);
        let (h, r) = self.send(from, pool, d, &data, gas_price);
        let log = &r["logs"][0];
        let leaf =
            u32::try_from(U256::from_str_radix(&log["data"].as_str().unwrap()[2..66], 16).unwrap())
                .unwrap();
        self.open.iter_mut().find(|(p, _)| p == pool).unwrap().1 += 1;
        self.deposits.push(Deposit {
            tx: h.clone(),
            depositor: from.to_string(),
            pool: pool.to_string(),
            tainted,
            block: qty(&r["blockNumber"]),
            gas_price,
            leaf_index: leaf,
            commitment,
        });
        h
    }

    #[allow(clippy::too_many_arguments)]
    fn withdraw(
        &mut self,
        sender: &str,
        pool: &str,
        to: &str,
        relayer: &str,
        fee: u128,
        gas_price: u128,
    ) -> String {
        let open = &mut self.open.iter_mut().find(|(p, _)| p == pool).unwrap().1;
        assert!(
            *open >= 2,
            "a withdrawal from {pool} with {open} unwithdrawn deposit(s) would be a 1-of-1 link"
        );
        *open -= 1;
        self.notes += 1;
        let nullifier = format!("{:#x}", keccak256(format!("nullifier {}", self.notes)));
        let data = format!(
            "0x{}{}{}{}{:064x}",
            selector("withdraw(address,bytes32,address,uint256)"),
            word_addr(to),
            &nullifier[2..],
            word_addr(relayer),
            fee
        );
        let (h, r) = self.send(sender, pool, 0, &data, gas_price);
        self.withdrawals.push(Withdrawal {
            tx: h.clone(),
            sender: sender.to_string(),
            recipient: to.to_string(),
            relayer: relayer.to_string(),
            fee,
            pool: pool.to_string(),
            block: qty(&r["blockNumber"]),
            gas_price,
            nullifier,
        });
        h
    }
}

const ZERO: &str = "0x0000000000000000000000000000000000000000";

/// Build the chain on a fresh anvil (chain id 1, so `--chain ethereum`; base fee 0, legacy gas
/// prices as chosen).
pub fn build() -> Tornado {
    let anvil = Anvil::start_with(&[
        "--chain-id",
        "1",
        "--base-fee",
        "0",
        "--gas-price",
        "0",
        "--no-priority-fee",
    ]);
    let acc = anvil.accounts();
    let c = super::solc(&[("Pool.sol", POOL_SOL)]);
    let bin = &c["Pool"].1;
    let mut pools = Vec::new();
    for d in [ETH, 10 * ETH] {
        let h = anvil.send(json!({"from": acc[9], "data": format!("0x{bin}{d:064x}"), "gas": "0x500000", "gasPrice": "0x0"}));
        let addr = receipt(&anvil, &h)["contractAddress"]
            .as_str()
            .unwrap()
            .to_string();
        pools.push((addr, d));
    }
    let (pool1, pool10) = (pools[0].0.clone(), pools[1].0.clone());
    let start_block = anvil.block_number() + 1;
    let mut b = Builder {
        anvil,
        deposits: Vec::new(),
        withdrawals: Vec::new(),
        open: pools.iter().map(|(p, _)| (p.clone(), 0)).collect(),
        pools: pools.clone(),
        notes: 0,
    };
    let gas = |i: usize| if i % 2 == 0 { 2 * GWEI } else { 3 * GWEI };
    let r = b.fresh("relayer R", 100 * ETH);
    // crowd depositors: (name, pool), one deposit each
    let mut crowd1 = (0..30).map(|i| format!("crowd depositor 1 ETH #{i}"));
    let mut crowd10 = (0..12).map(|i| format!("crowd depositor 10 ETH #{i}"));
    let mut recipient_no = 0;
    // the crowd's unwithdrawn notes, oldest first, per pool
    let mut crowd_open: Vec<(String, usize)> = vec![(pool1.clone(), 0), (pool10.clone(), 0)];
    let crowd_deposit =
        |b: &mut Builder, names: &mut dyn Iterator<Item = String>, pool: &str, i: usize| {
            let name = names.next().expect("crowd large enough");
            let d = b.denomination(pool);
            let who = b.fresh(&name, d + ETH / 10);
            b.tick(600);
            b.deposit(&who, pool, gas(i), false);
        };
    let crowd_withdraw = |b: &mut Builder, pool: &str, n: &mut usize| {
        *n += 1;
        let to = b.fresh(&format!("crowd recipient #{n}"), 0);
        b.tick(600);
        b.withdraw(&r, pool, &to, &r, RELAYER_FEE, 2 * GWEI);
    };

    // 1. the crowd's first deposits
    for i in 0..8 {
        crowd_deposit(&mut b, &mut crowd1, &pool1, i);
    }
    for i in 0..4 {
        crowd_deposit(&mut b, &mut crowd10, &pool10, i);
    }
    crowd_open[0].1 += 8;
    crowd_open[1].1 += 4;

    // 2. the theft and S's funding of A, B, D, G
    let s = named("seed S");
    b.anvil.impersonate(&s, "0x0");
    b.tick(600);
    let theft_tx = b.send(&acc[0], &s, 100 * ETH, "0x", 0).0;
    let (a, bb, d, g) = (
        b.fresh("planted A", 0),
        b.fresh("planted B", 0),
        b.fresh("planted D", 0),
        b.fresh("planted G", 0),
    );
    let fund = |b: &mut Builder, to: &str, v: u128| b.send(&s, to, v, "0x", 0).0;
    let (fa, fb, fd, fg) = (
        ETH + ETH / 50,
        ETH + ETH / 50,
        10 * ETH + ETH / 20,
        23 * ETH + ETH / 10,
    );
    b.tick(600);
    let fund_a = fund(&mut b, &a, fa);
    let fund_b = fund(&mut b, &bb, fb);
    let fund_d = fund(&mut b, &d, fd);
    let fund_g = fund(&mut b, &g, fg);

    // 3. planted deposits between crowd deposits
    b.tick(600);
    let dep_a = b.deposit(&a, &pool1, 2 * GWEI, true);
    crowd_deposit(&mut b, &mut crowd1, &pool1, 8);
    b.tick(600);
    let dep_b = b.deposit(&bb, &pool1, ODD_GAS_PRICE, true);
    crowd_deposit(&mut b, &mut crowd1, &pool1, 9);
    crowd_deposit(&mut b, &mut crowd10, &pool10, 4);
    b.tick(600);
    let dep_d = b.deposit(&d, &pool10, 3 * GWEI, true);
    crowd_deposit(&mut b, &mut crowd1, &pool1, 10);
    let mut dep_g = Vec::new();
    for (i, pool) in [&pool1, &pool10, &pool1, &pool10, &pool1]
        .into_iter()
        .enumerate()
    {
        b.tick(600);
        dep_g.push(b.deposit(&g, pool, gas(i), true));
        if i % 2 == 0 {
            crowd_deposit(&mut b, &mut crowd1, &pool1, 11 + i);
        }
    }
    for i in 14..16 {
        crowd_deposit(&mut b, &mut crowd1, &pool1, i);
    }
    for i in 5..7 {
        crowd_deposit(&mut b, &mut crowd10, &pool10, i);
    }
    crowd_open[0].1 += 8;
    crowd_open[1].1 += 3;

    // 4. relayed crowd withdrawals
    for i in 0..6 {
        crowd_withdraw(&mut b, &pool1, &mut recipient_no);
        if i < 3 {
            crowd_withdraw(&mut b, &pool10, &mut recipient_no);
        }
    }
    crowd_open[0].1 -= 6;
    crowd_open[1].1 -= 3;

    // 5. D pays E directly
    let e = b.fresh("planted E", 0);
    b.tick(600);
    b.send(&d, &e, ETH / 100, "0x", 2 * GWEI);

    // 6. planted withdrawals
    b.tick(600);
    let wd_a = b.withdraw(&a, &pool1, &a, ZERO, 0, 3 * GWEI);
    crowd_withdraw(&mut b, &pool1, &mut recipient_no);
    let c_addr = b.fresh("planted C", 0);
    b.tick(600);
    b.send(&acc[3], &c_addr, ETH / 100, "0x", 2 * GWEI);
    b.tick(600);
    let wd_c = b.withdraw(&c_addr, &pool1, &c_addr, ZERO, 0, ODD_GAS_PRICE);
    crowd_withdraw(&mut b, &pool10, &mut recipient_no);
    b.tick(600);
    let wd_e = b.withdraw(&r, &pool10, &e, &r, RELAYER_FEE, 2 * GWEI);
    let h = b.fresh("planted H", 0);
    b.tick(600);
    let mut wd_h = Vec::new();
    for pool in [&pool1, &pool10, &pool1, &pool10, &pool1] {
        b.tick(60);
        wd_h.push(b.withdraw(&r, pool, &h, &r, RELAYER_FEE, 2 * GWEI));
    }
    crowd_open[0].1 -= 1;
    crowd_open[1].1 -= 1;

    // 7. the crowd goes on
    for i in 0..14 {
        crowd_deposit(&mut b, &mut crowd1, &pool1, 16 + i);
        if i < 5 {
            crowd_deposit(&mut b, &mut crowd10, &pool10, 7 + i);
        }
        crowd_withdraw(&mut b, &pool1, &mut recipient_no);
        if i % 5 == 0 {
            crowd_withdraw(&mut b, &pool10, &mut recipient_no);
        }
    }
    assert!(crowd1.next().is_none() && crowd10.next().is_none());
    let _ = crowd_open;

    let planted = vec![
        Planted {
            heuristic: "tornado_address_match",
            deposits: vec![dep_a],
            withdrawals: vec![wd_a],
            depositor: a.clone(),
            recipient: a,
            tainted: fa,
            funding_tx: fund_a,
        },
        Planted {
            heuristic: "tornado_unique_gas_price",
            deposits: vec![dep_b],
            withdrawals: vec![wd_c],
            depositor: bb,
            recipient: c_addr,
            tainted: fb,
            funding_tx: fund_b,
        },
        Planted {
            heuristic: "tornado_linked_addresses",
            deposits: vec![dep_d],
            withdrawals: vec![wd_e],
            depositor: d,
            recipient: e,
            tainted: fd,
            funding_tx: fund_d,
        },
        Planted {
            heuristic: "tornado_multi_denomination",
            deposits: dep_g,
            withdrawals: wd_h,
            depositor: g,
            recipient: h,
            tainted: fg,
            funding_tx: fund_g,
        },
    ];
    Tornado {
        anvil: b.anvil,
        pool1,
        pool10,
        pools,
        s,
        r,
        theft_tx,
        deposits: b.deposits,
        withdrawals: b.withdrawals,
        planted,
        start_block,
    }
}

/// Write a labels CSV naming both pools `mixer` (actor `tornado-cash`) for `labels import`;
/// returns its path.
pub fn labels_csv(dir: &std::path::Path, t: &Tornado) -> std::path::PathBuf {
    let p = dir.join("tornado-labels.csv");
    let mut s = String::from("address,label,category,actor\n");
    for (pool, d) in &t.pools {
        s.push_str(&format!(
            "{pool},Tornado.Cash {} ETH,mixer,tornado-cash\n",
            d / ETH
        ));
    }
    std::fs::write(&p, s).unwrap();
    p
}
