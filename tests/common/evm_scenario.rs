//! A laundering scenario on a real anvil chain, with its ground truth computed independently of
//! any fetcher: from the values the test sends, the contract semantics it wrote, and the
//! receipts (status, gas, block, index, log index). Used by the fetch tests and benchmarks.
//!
//! Actors: D deployer, S seed; A, B, C (a busy hub), D2, E, G, H, I dev accounts; X*, Y, Z*, W*
//! fresh addresses; EX a catalogued Binance wallet; contracts TKN (ERC-20, 6 decimals), B32
//! (bytes32 symbol, no decimals()), NFT (4-topic Transfer), F1/F2 forwarders, R reverter, L lib,
//! K1 (created with value by a tx), K2 (CREATE with value, later self-destructs), K3 (CREATE2).

use std::collections::BTreeMap;

use alloy_primitives::{Address as EvmAddress, B256, U256, keccak256};
use moneytrail::model::{Address, Amount, AssetId, Chain, SubIndex, Transfer, TxHash};
use serde_json::{Value, json};

use super::anvil::Anvil;

pub const SOURCE: &str = r#"// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;

contract Token {
    string public symbol;
    uint8 public decimals;
    mapping(address => uint256) public balanceOf;
    event Transfer(address indexed from, address indexed to, uint256 value);
    constructor(string memory s, uint8 d, uint256 supply) {
        symbol = s; decimals = d; balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }
    function transfer(address to, uint256 v) external returns (bool) {
        require(balanceOf[msg.sender] >= v, "balance");
        balanceOf[msg.sender] -= v; balanceOf[to] += v;
        emit Transfer(msg.sender, to, v);
        return true;
    }
}

contract Bytes32Token {
    bytes32 public symbol = "B32";
    mapping(address => uint256) public balanceOf;
    event Transfer(address indexed from, address indexed to, uint256 value);
    constructor(uint256 supply) { balanceOf[msg.sender] = supply; emit Transfer(address(0), msg.sender, supply); }
    function transfer(address to, uint256 v) external returns (bool) {
        balanceOf[msg.sender] -= v; balanceOf[to] += v; emit Transfer(msg.sender, to, v); return true;
    }
}

contract Nft {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    function mint(address to, uint256 id) external { emit Transfer(address(0), to, id); }
}

contract Reverter {
    function fail() external payable { revert("no"); }
    receive() external payable { revert("no"); }
}

contract Lib {
    uint256 public x;
    function poke() external payable { x = msg.value; }
}

contract Child {
    constructor() payable {}
    receive() external payable {}
    function kill(address payable to) external { selfdestruct(to); }
}

contract Forwarder {
    function split(address payable a, address payable b) public payable {
        uint256 h = msg.value / 2;
        (bool ok1, ) = a.call{value: h}("");
        require(ok1, "a");
        (bool ok2, ) = b.call{value: msg.value - h}("");
        require(ok2, "b");
    }
    function nested(address payable fwd2, address payable a, address payable b) external payable {
        Forwarder(fwd2).split{value: msg.value}(a, b);
    }
    function tricky(address reverter, address payable to, address lib) external payable {
        (bool ok, ) = reverter.call{value: 1}("");
        require(!ok, "reverter");
        bytes32 h = sha256(abi.encode(msg.value));
        require(h != bytes32(0), "h");
        (bool ok2, ) = lib.delegatecall(abi.encodeWithSignature("poke()"));
        require(ok2, "lib");
        (bool ok3, ) = to.call{value: msg.value}("");
        require(ok3, "to");
    }
    function inner(address payable e) external payable {
        (bool ok, ) = e.call{value: msg.value}("");
        require(ok, "e");
        revert("inner");
    }
    function deepFail(address payable e, address payable f) external payable {
        try this.inner{value: msg.value / 2}(e) {} catch {}
        (bool ok, ) = f.call{value: msg.value / 2}("");
        require(ok, "f");
    }
    function make() external payable returns (address) {
        return address(new Child{value: msg.value}());
    }
    function make2(bytes32 salt) external payable returns (address) {
        return address(new Child{value: msg.value, salt: salt}());
    }
    function payToken(address token, address to, uint256 v) external {
        Token(token).transfer(to, v);
    }
    function spray(address token, address[] calldata to, uint256 v, uint256 t) external payable {
        for (uint256 i = 0; i < to.length; i++) {
            (bool ok, ) = payable(to[i]).call{value: v}("");
            require(ok, "spray");
            if (t > 0) { Token(token).transfer(to[i], t); }
        }
    }
    receive() external payable {}
}
"#;

/// Compiled contracts (name → (abi, creation code hex)), compiled once per test binary.
pub fn contracts() -> &'static BTreeMap<String, (String, String)> {
    static C: std::sync::OnceLock<BTreeMap<String, (String, String)>> = std::sync::OnceLock::new();
    C.get_or_init(|| super::solc(&[("Scenario.sol", SOURCE)]))
}

pub const ETH: u128 = 1_000_000_000_000_000_000;
pub const CHAIN: Chain = Chain::Evm(31337);

/// A catalogued exchange wallet (graphs/labels/exchanges.yaml: "Binance 7").
pub const EXCHANGE: &str = "0xbe0eb53f46cd790cd13851d5eff43d12404d33e8";

pub fn selector(sig: &str) -> String {
    hex(&keccak256(sig.as_bytes())[..4])
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn word_addr(a: &str) -> String {
    format!("{:0>64}", a.trim_start_matches("0x").to_lowercase())
}

pub fn word(v: u128) -> String {
    format!("{v:064x}")
}

pub fn evm(a: &str) -> EvmAddress {
    a.parse().unwrap()
}

pub fn fresh(n: u64) -> String {
    format!("0x{:040x}", 0xdead_0000_0000u64 + n)
}

fn qty(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// A value move the test expects a transaction to make, in sub-index order.
pub enum Move {
    /// An internal frame: trace address, from, to, wei.
    Internal(Vec<u32>, String, String, u128),
    /// An ERC-20 Transfer: token, from, to, amount (0: a log that is not a transfer).
    Token(String, String, String, u128),
}

/// A transaction to send: from, to, wei, calldata, the moves it makes.
pub type PlannedTx = (String, Option<String>, u128, String, Vec<Move>);

/// The chain and its ground truth.
pub struct Scenario {
    pub anvil: Anvil,
    /// Every transfer the chain holds, in replay order.
    pub truth: Vec<Transfer>,
    /// Every transaction sent.
    pub txs: Vec<String>,
    /// Actor name → lower-case address.
    pub names: BTreeMap<String, String>,
    /// First block of the theft (the scenario's window start).
    pub theft_start: u64,
}

impl Scenario {
    pub fn addr(&self, name: &str) -> &str {
        self.names
            .get(name)
            .unwrap_or_else(|| panic!("no actor {name}"))
    }

    /// Every address that sends or receives a transfer (the zero address excluded).
    pub fn all_addresses(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .truth
            .iter()
            .flat_map(|t| [t.from.clone(), t.to.clone()])
            .flatten()
            .map(|a| a.key())
            .filter(|k| k != "0x0000000000000000000000000000000000000000")
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Sends transactions and records what they move.
pub struct Builder {
    pub anvil: Anvil,
    pub truth: Vec<Transfer>,
    pub txs: Vec<String>,
    pub names: BTreeMap<String, String>,
    stamps: BTreeMap<u64, i64>,
}

impl Builder {
    pub fn new(anvil: Anvil) -> Builder {
        Builder {
            anvil,
            truth: Vec::new(),
            txs: Vec::new(),
            names: BTreeMap::new(),
            stamps: BTreeMap::new(),
        }
    }

    pub fn name(&mut self, n: &str, a: &str) {
        self.names.insert(n.to_string(), a.to_lowercase());
    }

    pub fn a(&self, n: &str) -> String {
        self.names[n].clone()
    }

    fn tx_json(from: &str, to: Option<&str>, value: u128, data: &str, gas: Option<u64>) -> Value {
        let mut tx = json!({"from": from, "value": format!("{value:#x}")});
        if let Some(t) = to {
            tx["to"] = json!(t);
        }
        if !data.is_empty() {
            tx["data"] = json!(format!("0x{}", data.trim_start_matches("0x")));
        }
        if let Some(g) = gas {
            tx["gas"] = json!(format!("{g:#x}"));
        }
        tx
    }

    fn wait_receipt(&self, h: &str) -> Value {
        for _ in 0..200 {
            let r = self.anvil.rpc("eth_getTransactionReceipt", json!([h]));
            if !r.is_null() {
                return r;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no receipt for {h}");
    }

    fn time_of(&mut self, block: u64) -> i64 {
        if let Some(t) = self.stamps.get(&block) {
            return *t;
        }
        let b = self.anvil.rpc(
            "eth_getBlockByNumber",
            json!([format!("{block:#x}"), false]),
        );
        let t = qty(&b["timestamp"]) as i64;
        self.stamps.insert(block, t);
        t
    }

    /// Send one transaction (mined at once) and record its transfers: the fee, and if
    /// `success` the value and `moves`. Returns the receipt.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        from: &str,
        to: Option<&str>,
        value: u128,
        data: &str,
        gas: Option<u64>,
        success: bool,
        moves: Vec<Move>,
    ) -> Value {
        let h = self.anvil.send(Self::tx_json(from, to, value, data, gas));
        self.record(&h, from, to, value, success, moves)
    }

    /// Send several transactions mined together in one block (automine off meanwhile).
    pub fn send_block(&mut self, txs: Vec<PlannedTx>) {
        self.anvil.rpc("evm_setAutomine", json!([false]));
        let mut hashes = Vec::new();
        for (from, to, value, data, _) in &txs {
            hashes.push(self.anvil.send(Self::tx_json(
                from,
                to.as_deref(),
                *value,
                data,
                Some(200_000),
            )));
        }
        self.anvil.mine();
        self.anvil.rpc("evm_setAutomine", json!([true]));
        for (h, (from, to, value, _, moves)) in hashes.iter().zip(txs) {
            self.record(h, &from, to.as_deref(), value, true, moves);
        }
    }

    fn record(
        &mut self,
        h: &str,
        from: &str,
        to: Option<&str>,
        value: u128,
        success: bool,
        moves: Vec<Move>,
    ) -> Value {
        let r = self.wait_receipt(h);
        assert_eq!(r["status"] == "0x1", success, "status of {h}: {r}");
        self.txs.push(h.to_string());
        let block = qty(&r["blockNumber"]) as u64;
        let tx_index = qty(&r["transactionIndex"]) as u32;
        let time = self.time_of(block);
        let hash = TxHash(h.parse::<B256>().unwrap());
        let mk = |sub: SubIndex, f: &str, t: Option<&str>, asset: AssetId, amount: U256| Transfer {
            chain: CHAIN,
            tx_hash: hash,
            sub,
            block,
            tx_index,
            time,
            from: Some(Address::parse(CHAIN, f).unwrap()),
            to: t.map(|t| Address::parse(CHAIN, t).unwrap()),
            asset,
            amount: Amount(amount),
        };
        let fee = U256::from(qty(&r["gasUsed"])) * U256::from(qty(&r["effectiveGasPrice"]));
        if !fee.is_zero() {
            self.truth
                .push(mk(SubIndex::Fee, from, None, AssetId::Native, fee));
        }
        if success {
            if value > 0 {
                let dest = match to {
                    Some(t) => t.to_string(),
                    None => r["contractAddress"].as_str().unwrap().to_string(),
                };
                self.truth.push(mk(
                    SubIndex::Value,
                    from,
                    Some(&dest),
                    AssetId::Native,
                    U256::from(value),
                ));
            }
            let logs: Vec<&Value> = r["logs"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|l| {
                    let t = l["topics"].as_array().unwrap();
                    t.len() == 3
                        && t[0].as_str().unwrap()
                            == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
                })
                .collect();
            let mut li = 0;
            for m in moves {
                match m {
                    Move::Internal(path, f, t, v) => self.truth.push(mk(
                        SubIndex::Internal(path),
                        &f,
                        Some(&t),
                        AssetId::Native,
                        U256::from(v),
                    )),
                    Move::Token(token, f, t, v) => {
                        // the receipt must hold this very Transfer: token, from, to, amount
                        let l = logs.get(li).unwrap_or_else(|| panic!("{h}: missing log"));
                        li += 1;
                        assert_eq!(l["address"].as_str().unwrap().to_lowercase(), token);
                        let topics = l["topics"].as_array().unwrap();
                        assert_eq!(topics[1].as_str().unwrap(), format!("0x{}", word_addr(&f)));
                        assert_eq!(topics[2].as_str().unwrap(), format!("0x{}", word_addr(&t)));
                        assert_eq!(qty(&l["data"]), v);
                        if v > 0 {
                            let idx = qty(&l["logIndex"]) as u32;
                            self.truth.push(mk(
                                SubIndex::Log(idx),
                                &f,
                                Some(&t),
                                AssetId::Token(evm(&token)),
                                U256::from(v),
                            ));
                        }
                    }
                }
            }
            assert_eq!(li, logs.len(), "{h}: unexpected Transfer logs");
        }
        r
    }

    pub fn deploy(&mut self, from: &str, contract: &str, args: &str, moves: Vec<Move>) -> String {
        let code = contracts()[contract].1.clone();
        let r = self.send(from, None, 0, &format!("{code}{args}"), None, true, moves);
        r["contractAddress"].as_str().unwrap().to_lowercase()
    }

    pub fn nonce(&self, a: &str) -> u64 {
        qty(&self
            .anvil
            .rpc("eth_getTransactionCount", json!([a, "latest"]))) as u64
    }

    pub fn finish(mut self, theft_start: u64) -> Scenario {
        self.truth.sort_by(|a, b| a.time_order(b));
        Scenario {
            anvil: self.anvil,
            truth: self.truth,
            txs: self.txs,
            names: self.names,
            theft_start,
        }
    }
}

/// ABI of `Token(string, uint8, uint256)`'s constructor arguments.
pub fn token_args(symbol: &str, decimals: u8, supply: u128) -> String {
    let mut s = word(0x60) + &word(decimals as u128) + &word(supply);
    s += &word(symbol.len() as u128);
    s += &format!("{:0<64}", hex(symbol.as_bytes()));
    s
}

/// Build the laundering scenario on a fresh anvil.
pub fn build() -> Scenario {
    let anvil = Anvil::start();
    let acc = anvil.accounts();
    let mut b = Builder::new(anvil);
    for (i, n) in ["D", "S", "A", "B", "C", "D2", "E", "G", "H", "I"]
        .iter()
        .enumerate()
    {
        b.name(n, &acc[i]);
    }
    for (i, n) in ["X1", "X2", "X3", "X4", "X5", "X6", "Y", "Z1", "Z2", "Z3"]
        .iter()
        .enumerate()
    {
        b.name(n, &fresh(i as u64 + 1));
    }
    b.name("EX", EXCHANGE);
    let a = |b: &Builder, n: &str| b.a(n);
    let (d, s) = (a(&b, "D"), a(&b, "S"));

    // setup: the tokens mint their supply to D in their constructors
    let zero = "0x0000000000000000000000000000000000000000".to_string();
    let tkn = format!("{:#x}", evm(&d).create(b.nonce(&d)));
    b.deploy(
        &d,
        "Token",
        &token_args("TKN", 6, 1_000_000_000_000),
        vec![Move::Token(
            tkn.clone(),
            zero.clone(),
            d.clone(),
            1_000_000_000_000,
        )],
    );
    b.name("TKN", &tkn);
    let b32 = format!("{:#x}", evm(&d).create(b.nonce(&d)));
    b.deploy(
        &d,
        "Bytes32Token",
        &word(1_000_000),
        vec![Move::Token(b32.clone(), zero.clone(), d.clone(), 1_000_000)],
    );
    b.name("B32", &b32);
    let f1 = b.deploy(&d, "Forwarder", "", vec![]);
    let f2 = b.deploy(&d, "Forwarder", "", vec![]);
    let rev = b.deploy(&d, "Reverter", "", vec![]);
    let lib = b.deploy(&d, "Lib", "", vec![]);
    let nft = b.deploy(&d, "Nft", "", vec![]);
    for (n, x) in [
        ("F1", &f1),
        ("F2", &f2),
        ("R", &rev),
        ("L", &lib),
        ("NFT", &nft),
    ] {
        b.name(n, x);
    }
    let transfer = selector("transfer(address,uint256)");
    let tok = |to: &str, v: u128| format!("{transfer}{}{}", word_addr(to), word(v));
    b.send(
        &d,
        Some(&tkn),
        0,
        &tok(&s, 500_000_000_000),
        None,
        true,
        vec![Move::Token(
            tkn.clone(),
            d.clone(),
            s.clone(),
            500_000_000_000,
        )],
    );
    b.send(
        &d,
        Some(&b32),
        0,
        &tok(&s, 1000),
        None,
        true,
        vec![Move::Token(b32.clone(), d.clone(), s.clone(), 1000)],
    );
    b.send(
        &d,
        Some(&tkn),
        0,
        &tok(&f1, 1_000_000_000),
        None,
        true,
        vec![Move::Token(
            tkn.clone(),
            d.clone(),
            f1.clone(),
            1_000_000_000,
        )],
    );

    // the theft and its laundering
    let theft_start = b.anvil.block_number() + 1;
    let (aa, bb, cc, d2, e, g, hh, ii) = (
        a(&b, "A"),
        a(&b, "B"),
        a(&b, "C"),
        a(&b, "D2"),
        a(&b, "E"),
        a(&b, "G"),
        a(&b, "H"),
        a(&b, "I"),
    );
    b.send(&s, Some(&aa), 5 * ETH, "", None, true, vec![]);
    // I pays out before the seeds' side funds it: not followed
    let z1 = a(&b, "Z1");
    b.send(&ii, Some(&z1), ETH, "", None, true, vec![]);
    let split = selector("split(address,address)");
    b.send(
        &s,
        Some(&f1),
        3 * ETH,
        &format!("{split}{}{}", word_addr(&bb), word_addr(&cc)),
        None,
        true,
        vec![
            Move::Internal(vec![0], f1.clone(), bb.clone(), 3 * ETH / 2),
            Move::Internal(vec![1], f1.clone(), cc.clone(), 3 * ETH / 2),
        ],
    );
    let nested = selector("nested(address,address,address)");
    b.send(
        &s,
        Some(&f1),
        2 * ETH,
        &format!(
            "{nested}{}{}{}",
            word_addr(&f2),
            word_addr(&d2),
            word_addr(&e)
        ),
        None,
        true,
        vec![
            Move::Internal(vec![0], f1.clone(), f2.clone(), 2 * ETH),
            Move::Internal(vec![0, 0], f2.clone(), d2.clone(), ETH),
            Move::Internal(vec![0, 1], f2.clone(), e.clone(), ETH),
        ],
    );
    b.send(
        &s,
        Some(&tkn),
        0,
        &tok(&aa, 100_000_000_000),
        None,
        true,
        vec![Move::Token(
            tkn.clone(),
            s.clone(),
            aa.clone(),
            100_000_000_000,
        )],
    );
    // a zero-amount token transfer: only the fee
    b.send(
        &s,
        Some(&tkn),
        0,
        &tok(&bb, 0),
        None,
        true,
        vec![Move::Token(tkn.clone(), s.clone(), bb.clone(), 0)],
    );
    // a reverted transaction carrying value: only the fee
    b.send(
        &s,
        Some(&rev),
        ETH,
        &selector("fail()"),
        Some(100_000),
        false,
        vec![],
    );
    // a failed inner call with value, a precompile staticcall, a delegatecall, then a payment
    let tricky = selector("tricky(address,address,address)");
    b.send(
        &s,
        Some(&f1),
        ETH,
        &format!(
            "{tricky}{}{}{}",
            word_addr(&rev),
            word_addr(&g),
            word_addr(&lib)
        ),
        None,
        true,
        vec![Move::Internal(vec![3], f1.clone(), g.clone(), ETH)],
    );
    // a reverted inner frame whose child paid H: nothing reaches H; I is paid
    let deep = selector("deepFail(address,address)");
    b.send(
        &s,
        Some(&f1),
        2 * ETH,
        &format!("{deep}{}{}", word_addr(&hh), word_addr(&ii)),
        None,
        true,
        vec![Move::Internal(vec![1], f1.clone(), ii.clone(), ETH)],
    );
    // a contract creation carrying value
    let child = contracts()["Child"].1.clone();
    let r = b.send(&s, None, ETH / 2, &child, None, true, vec![]);
    b.name("K1", r["contractAddress"].as_str().unwrap());
    // CREATE and CREATE2 with value
    let k2 = format!("{:#x}", evm(&f1).create(b.nonce(&f1)));
    b.name("K2", &k2);
    b.send(
        &s,
        Some(&f1),
        7 * ETH / 10,
        &selector("make()"),
        None,
        true,
        vec![Move::Internal(
            vec![0],
            f1.clone(),
            k2.clone(),
            7 * ETH / 10,
        )],
    );
    let salt = B256::repeat_byte(0x42);
    let init = alloy_primitives::hex::decode(&child).unwrap();
    let k3 = format!("{:#x}", evm(&f1).create2(salt, keccak256(&init)));
    b.name("K3", &k3);
    b.send(
        &s,
        Some(&f1),
        3 * ETH / 10,
        &format!("{}{}", selector("make2(bytes32)"), hex(salt.as_slice())),
        None,
        true,
        vec![Move::Internal(
            vec![0],
            f1.clone(),
            k3.clone(),
            3 * ETH / 10,
        )],
    );
    // K2 self-destructs to A (the caller)
    b.send(
        &aa,
        Some(&k2),
        0,
        &format!("{}{}", selector("kill(address)"), word_addr(&aa)),
        None,
        true,
        vec![Move::Internal(
            vec![0],
            k2.clone(),
            aa.clone(),
            7 * ETH / 10,
        )],
    );
    b.send(
        &s,
        Some(&b32),
        0,
        &tok(&cc, 10),
        None,
        true,
        vec![Move::Token(b32.clone(), s.clone(), cc.clone(), 10)],
    );
    // an ERC-721 Transfer (4 topics) is not a fungible transfer
    b.send(
        &d,
        Some(&nft),
        0,
        &format!(
            "{}{}{}",
            selector("mint(address,uint256)"),
            word_addr(&s),
            word(42)
        ),
        None,
        true,
        vec![],
    );
    // a token payment made by a contract
    let y = a(&b, "Y");
    b.send(
        &s,
        Some(&f1),
        0,
        &format!(
            "{}{}{}{}",
            selector("payToken(address,address,uint256)"),
            word_addr(&tkn),
            word_addr(&y),
            word(10_000_000)
        ),
        None,
        true,
        vec![Move::Token(tkn.clone(), f1.clone(), y.clone(), 10_000_000)],
    );
    // fan-out: three transactions in one block
    let (x1, x2, x3) = (a(&b, "X1"), a(&b, "X2"), a(&b, "X3"));
    b.send_block(vec![
        (aa.clone(), Some(x1.clone()), ETH, String::new(), vec![]),
        (aa.clone(), Some(x2.clone()), ETH, String::new(), vec![]),
        (bb.clone(), Some(x3.clone()), ETH / 2, String::new(), vec![]),
    ]);
    let x4 = a(&b, "X4");
    b.send(
        &aa,
        Some(&tkn),
        0,
        &tok(&x4, 50_000_000_000),
        None,
        true,
        vec![Move::Token(
            tkn.clone(),
            aa.clone(),
            x4.clone(),
            50_000_000_000,
        )],
    );
    b.send(&aa, Some(EXCHANGE), ETH, "", None, true, vec![]);
    // dust
    let x6 = a(&b, "X6");
    b.send(&bb, Some(&x6), 1, "", None, true, vec![]);
    // C is a busy hub: a service by degree
    for i in 0..10 {
        let w = fresh(100 + i);
        b.name(&format!("W{i}"), &w);
        b.send(&cc, Some(&w), ETH / 100, "", None, true, vec![]);
    }
    // deeper hops
    b.anvil.rpc("anvil_impersonateAccount", json!([x1]));
    let x5 = a(&b, "X5");
    b.send(&x1, Some(&x5), ETH / 5, "", None, true, vec![]);
    let z2 = a(&b, "Z2");
    b.send(&ii, Some(&z2), ETH, "", None, true, vec![]);
    let z3 = a(&b, "Z3");
    b.send(&d2, Some(&z3), ETH / 10, "", None, true, vec![]);
    b.finish(theft_start)
}
