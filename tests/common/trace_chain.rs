//! The anvil chain of tests/trace_anvil.rs (see its header for the story and the hand
//! computation): a theft into seed S, a fan-out, a mixing contract, a peel chain into the
//! unlabelled deposit address DEP of exchange hot wallet HOT, a reverted call and a zero-value
//! poisoning transfer. Shared with tests/screen.rs, which screens the trace of it.

use serde_json::json;

use super::anvil::Anvil;

/// One ether in wei.
pub const ETH: u128 = 1_000_000_000_000_000_000;

/// Hex quantity.
pub fn hex(v: u128) -> String {
    format!("{v:#x}")
}

/// An address made of one repeated byte.
pub fn fresh(n: u8) -> String {
    format!("0x{}", format!("{n:02x}").repeat(20))
}

/// The running chain and its named addresses.
pub struct Chain {
    /// The node.
    pub anvil: Anvil,
    /// S.
    pub s: String,
    /// M.
    pub m: String,
    /// P1.
    pub p1: String,
    /// DEP.
    pub dep: String,
    /// HOT.
    pub hot: String,
    /// POOL.
    pub pool: String,
}

/// Send a zero-gas-price transaction and wait until it is mined: the next transaction of the
/// scenario may spend what this one paid (under load anvil can answer `eth_sendTransaction`
/// before the block holding the transaction is visible).
pub fn send(a: &Anvil, from: &str, to: &str, value: u128, data: &str) -> String {
    let h = a.send(json!({"from": from, "to": to, "value": hex(value), "data": data, "gas": "0x200000", "gasPrice": "0x0"}));
    assert!(!receipt(a, &h).is_null(), "{h} was not mined within 30 s");
    h
}

/// The receipt of `h`, waiting for it (under load anvil may answer the send before the block
/// holding the transaction is visible).
pub fn receipt(anvil: &Anvil, h: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = anvil.receipt(h);
        if !r.is_null() || std::time::Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Build the scenario on a fresh anvil.
pub fn build() -> Chain {
    build_at(None)
}

/// Build the scenario on a fresh anvil whose genesis is at `timestamp` (Unix seconds; the
/// blocks follow within seconds), so that USD prices of a known day apply.
pub fn build_at(timestamp: Option<u64>) -> Chain {
    let ts = timestamp.map(|t| t.to_string());
    let mut args = vec!["--base-fee", "0", "--gas-price", "0", "--no-priority-fee"];
    if let Some(t) = &ts {
        args.extend(["--timestamp", t.as_str()]);
    }
    let anvil = Anvil::start_with(&args);
    let acc = anvil.accounts();
    let v = acc[0].clone();
    let (s, a1, a2, m, q, p1, dep, hot, pool) = (
        fresh(0x51),
        fresh(0xa1),
        fresh(0xa2),
        fresh(0x3d),
        fresh(0x0f),
        fresh(0x01),
        fresh(0xde),
        fresh(0xb0),
        fresh(0x70),
    );
    for x in [&s, &a1, &a2, &m, &p1, &dep] {
        anvil.impersonate(x, "0x0");
    }
    let src = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n\
        contract K { function fwd(address payable to) external payable { to.transfer(msg.value); }\n\
                     function boom() external payable { revert(\"no\"); } }\n\
        contract Tok { mapping(address => uint256) public balanceOf; event Transfer(address indexed from, address indexed to, uint256 value);\n\
          constructor() { balanceOf[msg.sender] = 1000; emit Transfer(address(0), msg.sender, 1000); }\n\
          function transfer(address to, uint256 v) external returns (bool) { balanceOf[msg.sender] -= v; balanceOf[to] += v; emit Transfer(msg.sender, to, v); return true; } }\n";
    let c = super::solc(&[("K.sol", src)]);
    let deploy = |bin: &str| {
        let h = anvil.send(json!({"from": acc[9], "data": format!("0x{bin}"), "gas": "0x500000", "gasPrice": "0x0"}));
        receipt(&anvil, &h)["contractAddress"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let k = deploy(&c["K"].1);
    let tok = deploy(&c["Tok"].1);
    // M's own clean funds, and its payment before the taint
    send(&anvil, &acc[2], &m, 60 * ETH, "0x");
    send(&anvil, &m, &q, 10 * ETH, "0x");
    // the theft
    send(&anvil, &v, &s, 100 * ETH, "0x");
    send(&anvil, &s, &s, ETH, "0x");
    send(&anvil, &s, &a1, 30 * ETH, "0x");
    send(&anvil, &s, &a2, 70 * ETH, "0x");
    send(&anvil, &a1, &m, 30 * ETH, "0x");
    send(&anvil, &m, &p1, 40 * ETH, "0x");
    send(&anvil, &p1, &dep, 25 * ETH, "0x");
    send(&anvil, &dep, &hot, 25 * ETH, "0x");
    // A2 → K → POOL (internal transfer)
    let fwd = format!("0x8a0cc58d{:0>64}", pool.trim_start_matches("0x"));
    let h = send(&anvil, &a2, &k, 70 * ETH, &fwd);
    assert_eq!(receipt(&anvil, &h)["status"], "0x1", "fwd must succeed");
    // a reverted call carrying value
    let h = anvil.send(json!({"from": p1, "to": k, "value": hex(3 * ETH), "data": "0xa169ce09", "gas": "0x100000", "gasPrice": "0x0"}));
    assert_eq!(receipt(&anvil, &h)["status"], "0x0", "boom must revert");
    // address poisoning: a zero-value token transfer to the seed
    let zero = format!("0xa9059cbb{:0>64}{:0>64}", s.trim_start_matches("0x"), "0");
    send(&anvil, &acc[9], &tok, 0, &zero);
    Chain {
        anvil,
        s,
        m,
        p1,
        dep,
        hot,
        pool,
    }
}

/// Write a `--catalog` overlay holding one incident `id` of `date` (YYYY-MM-DD) whose seed is
/// `seed` on ethereum, 100 ETH stolen; returns the overlay directory.
pub fn incident_overlay(
    dir: &std::path::Path,
    id: &str,
    date: &str,
    seed: &str,
) -> std::path::PathBuf {
    let cat = dir.join("catalog");
    std::fs::create_dir_all(cat.join("incidents")).unwrap();
    std::fs::write(
        cat.join(format!("incidents/{id}.toml")),
        format!(
            "id = \"{id}\"\nname = \"Anvil test theft\"\ndate = \"{date}\"\nchains = [\"ethereum\"]\n\
             usd_estimate = 300000\nusd_estimate_source = \"this test\"\n\n\
             [[stolen]]\nchain = \"ethereum\"\nsymbol = \"ETH\"\namount = \"100\"\n\n\
             [[addresses]]\nchain = \"ethereum\"\naddress = \"{seed}\"\nrole = \"thief\"\nseed = true\nsource = \"this test\"\n"
        ),
    )
    .unwrap();
    cat
}

/// Write the labels of the chain's exchange hot wallet and mixer pool as a CSV for
/// `labels import`; returns its path.
pub fn labels_csv(dir: &std::path::Path, c: &Chain) -> std::path::PathBuf {
    let labels = dir.join("labels.csv");
    std::fs::write(
        &labels,
        format!(
            "address,label,category,actor\n{},Hot wallet 1,exchange,binance\n{},Pool 100 ETH,mixer,tornado-cash\n",
            c.hot, c.pool
        ),
    )
    .unwrap();
    labels
}
