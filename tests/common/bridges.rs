//! The bridge fixtures of tests/bridges.rs and tests/bridges_fallback.rs: a THORChain-style
//! router and a Ren-style gateway in Solidity emitting the real event signatures, their calls
//! (alloy `sol!`), the router / gateway logs stored as the event fetcher stores them
//! (`eth_getLogs` → `decode_bridge_log` → `contract_events`), Bitcoin transactions stored through
//! the fetchers' conversion, and readers of a trace directory.

use alloy_primitives::{Address as EvmAddress, B256};
use bitcoin::script::PushBytesBuf;
use bitcoin::{ScriptBuf, TxOut};
use serde_json::{Value, json};

use super::anvil::Anvil;
use moneytrail::fetch::utxo::UtxoTx;
use moneytrail::model::{Address, BitcoinNetwork, Chain, ContractEvent, TxHash};
use moneytrail::store::Store;
use moneytrail::trace::bridges::{TOPICS, decode_bridge_log};

// the calls the test sends
alloy_sol_types::sol! {
    function deposit(address vault, address asset, uint256 amount, string memo) external payable;
    function transferOut(address to, address asset, uint256 amount, string memo) external payable;
    function burn(bytes _to, uint256 _amount) external;
    function transfer(address to, uint256 v) external returns (bool);
}

/// The router, the renBTC token and the gateway (which burns renBTC to the zero address, as
/// Ren's `MintGatewayV2` does).
pub const SOURCES: &str = "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\n\
contract Router {\n\
  event Deposit(address indexed to, address indexed asset, uint256 amount, string memo);\n\
  event TransferOut(address indexed vault, address indexed to, address asset, uint256 amount, string memo);\n\
  function deposit(address payable vault, address asset, uint256 amount, string memory memo) external payable {\n\
    require(asset == address(0) && msg.value == amount, \"native only\");\n\
    vault.transfer(msg.value);\n\
    emit Deposit(vault, asset, msg.value, memo);\n\
  }\n\
  function transferOut(address payable to, address asset, uint256 amount, string memory memo) external payable {\n\
    require(asset == address(0) && msg.value == amount, \"native only\");\n\
    to.transfer(msg.value);\n\
    emit TransferOut(msg.sender, to, asset, msg.value, memo);\n\
  }\n\
}\n\
contract RenBTC {\n\
  string public symbol = \"renBTC\"; string public name = \"renBTC\"; uint8 public decimals = 8;\n\
  mapping(address => uint256) public balanceOf; address public gateway;\n\
  event Transfer(address indexed from, address indexed to, uint256 value);\n\
  constructor() { balanceOf[msg.sender] = 1e12; emit Transfer(address(0), msg.sender, 1e12); }\n\
  function setGateway(address g) external { gateway = g; }\n\
  function transfer(address to, uint256 v) external returns (bool) { balanceOf[msg.sender] -= v; balanceOf[to] += v; emit Transfer(msg.sender, to, v); return true; }\n\
  function burn(address from, uint256 v) external { require(msg.sender == gateway); balanceOf[from] -= v; emit Transfer(from, address(0), v); }\n\
}\n\
contract Gateway {\n\
  event LogBurn(bytes _to, uint256 _amount, uint256 indexed _n, bytes indexed _indexedTo);\n\
  RenBTC public token; uint256 public n;\n\
  constructor(RenBTC t) { token = t; }\n\
  function burn(bytes memory _to, uint256 _amount) external returns (uint256) {\n\
    token.burn(msg.sender, _amount); n += 1; emit LogBurn(_to, _amount, n, _to); return _amount;\n\
  }\n\
}\n";

/// `0x`-prefixed hex of `b`.
pub fn hexs(b: &[u8]) -> String {
    format!("0x{}", alloy_primitives::hex::encode(b))
}

/// An EVM address from text.
pub fn evm(a: &str) -> EvmAddress {
    a.parse().unwrap()
}

/// An OP_RETURN output carrying `text` (a THORChain memo).
pub fn op_return_text(text: &str) -> TxOut {
    TxOut {
        value: bitcoin::Amount::ZERO,
        script_pubkey: ScriptBuf::new_op_return(
            PushBytesBuf::try_from(text.as_bytes().to_vec()).unwrap(),
        ),
    }
}

/// Store the router / gateway logs of the anvil chain as the event fetcher would.
pub fn store_events(anvil: &Anvil, db: &std::path::Path, contracts: &[&str]) -> usize {
    let topics: Vec<String> = TOPICS.iter().map(|t| format!("{t:#x}")).collect();
    let logs = anvil.rpc(
        "eth_getLogs",
        json!([{"fromBlock": "0x0", "toBlock": "latest", "address": contracts, "topics": [topics]}]),
    );
    let logs = logs.as_array().unwrap().clone();
    let mut store = Store::open(db).unwrap();
    let mut w = store.writer().unwrap();
    let mut n = 0;
    for l in &logs {
        let topics: Vec<B256> = l["topics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().parse().unwrap())
            .collect();
        let data = alloy_primitives::hex::decode(l["data"].as_str().unwrap()).unwrap();
        let ev = decode_bridge_log(&topics, &data)
            .unwrap()
            .expect("a bridge event");
        let num = |v: &Value| {
            u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        };
        let block = anvil.rpc("eth_getBlockByNumber", json!([l["blockNumber"], false]));
        let tx = anvil.rpc("eth_getTransactionByHash", json!([l["transactionHash"]]));
        let e = ContractEvent {
            chain: Chain::ETHEREUM,
            contract: Address::parse(Chain::ETHEREUM, l["address"].as_str().unwrap()).unwrap(),
            tx: TxHash::parse(l["transactionHash"].as_str().unwrap()).unwrap(),
            log_index: num(&l["logIndex"]) as u32,
            block: num(&l["blockNumber"]),
            tx_index: num(&l["transactionIndex"]) as u32,
            time: num(&block["timestamp"]) as i64,
            tx_from: Some(Address::parse(Chain::ETHEREUM, tx["from"].as_str().unwrap()).unwrap()),
            gas_price: None,
            data: ev,
        };
        n += w.insert_event(&e).unwrap() as usize;
    }
    w.commit().unwrap();
    n
}

/// Store Bitcoin transactions as the fetchers do (the conversion of `fetch::utxo`).
pub fn store_btc(db: &std::path::Path, txs: &[UtxoTx]) {
    let mut store = Store::open(db).unwrap();
    let mut w = store.writer().unwrap();
    for u in txs {
        u.write(&mut w, BitcoinNetwork::Regtest).unwrap();
    }
    w.commit().unwrap();
}

/// A JSON file of a trace directory.
pub fn read_json(p: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// The lines of `evidence.jsonl` in `p`.
pub fn evidence(p: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(p.join("evidence.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
