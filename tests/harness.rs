//! The test harness itself works: anvil starts and mines, solcjs compiles.

mod common;

use serde_json::json;

#[test]
fn anvil_mines_a_transfer() {
    let anvil = common::anvil::Anvil::start();
    let acc = anvil.accounts();
    let h = anvil.send(json!({"from": acc[0], "to": acc[1], "value": "0xde0b6b3a7640000"}));
    let r = anvil.receipt(&h);
    assert_eq!(r["status"], "0x1");
    assert_eq!(anvil.block_number(), 1);
}

#[test]
fn solc_compiles() {
    let out = common::solc(&[(
        "T.sol",
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\ncontract T { function f() external pure returns (uint) { return 1; } }\n",
    )]);
    let (abi, bin) = &out["T"];
    assert!(abi.contains("\"f\""));
    assert!(bin.len() > 20);
}
