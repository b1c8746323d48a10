//! `trace --follow-bridges` end to end on real parts: a THORChain-style router and a Ren-style
//! gateway compiled from Solidity with the real event signatures, run on anvil; the Bitcoin legs
//! as signed regtest transactions (OP_RETURN memos `OUT:<inbound>` and `=:e:<address>`) stored
//! as the fetchers store them; the events fetched with `eth_getLogs` and decoded by
//! `decode_bridge_log` into `contract_events`.
//!
//! The story (haircut, gas price 0, amounts exact):
//! - V (a non-seed) pays the seed S 10 ETH; the token holder pays S 1.5 renBTC (8 decimals).
//! - S pays M 4 ETH; M held 4 clean ETH, so M holds 8 ETH of which 4 tainted.
//! - H1: M deposits 6 ETH into the router, memo `=:b:<D1>` (ETH → BTC): 3 ETH tainted.
//! - HB: M deposits 1 ETH, memo `=:b:<broken bech32>`: 0.5 ETH tainted, a bad destination
//!   reported, never followed.
//! - HU: a clean user deposits 2 ETH, memo `SWAP:BTC.BTC:<D3>`: untainted, no edge.
//! - HR: S burns 1.5 renBTC at the gateway to D2 (regtest bech32): the gateway burns it to the
//!   zero address (a `Transfer` to 0x0), as Ren's gateways do.
//! - Bitcoin: TX1 the vault VB pays D1 0.3 BTC with `OUT:<H1>`; TX3 Ren's wallet pays D2
//!   1.5 BTC − 0.1 % − 20,000 sats = 1.4983 BTC (and a decoy 0.001 BTC to D2 outside the fee
//!   band); TX2 D1 pays VB 0.29999 BTC (fee 1,000 sats) with memo `=:e:<E>` (BTC → ETH).
//! - HO: the vault V pays E 2 ETH through the router's `transferOut`, memo `OUT:<TX2>`.
//!
//! Expected: on ethereum the edges H1 → (bitcoin-regtest, D1, TX1) carrying 3 ETH, i.e.
//! floor(0.3 BTC × 3 / 6) = 0.15 BTC; HR → (D2, TX3) carrying 1.5 renBTC = 1.4983 BTC; HB
//! reported with its bad destination. The continuation on bitcoin-regtest injects exactly
//! 0.15 + 1.4983 = 1.6483 BTC; there TX2 carries floor(0.15 × 29,999,000 / 30,000,000) =
//! 0.149995 BTC into VB (the rest, 500 sats, is fee) and its edge to (ethereum, E, HO) carries
//! floor(2 ETH × 14,999,500 / 29,999,000) = 1 ETH, continued in a second hop back on ethereum.

mod common;

use alloy_primitives::{Address as EvmAddress, Bytes, U256};
use alloy_sol_types::SolCall;
use bitcoin::Network;
use serde_json::{Value, json};

use common::anvil::Anvil;
use common::bridges::{
    SOURCES, burnCall, depositCall, evidence, evm, hexs, op_return_text, read_json, store_btc,
    store_events, transferCall, transferOutCall,
};
use common::btc::{Coin, Key, Kind, spend};
use common::esplora::{EsploraServer, FixtureChain, ServerOptions};
use common::trace_chain::{ETH, fresh, receipt, send};
use moneytrail::fetch::utxo::{UtxoTx, txhash};
use moneytrail::model::{BitcoinNetwork, Chain};

#[test]
fn thorchain_and_ren_edges_and_the_continuations_carry_exact_taint() {
    let anvil = Anvil::start_with(&[
        "--base-fee",
        "0",
        "--gas-price",
        "0",
        "--no-priority-fee",
        "--timestamp",
        "1649990000",
    ]);
    let acc = anvil.accounts();
    let (s, m, v, user, e_dest) = (
        fresh(0x51),
        fresh(0x3d),
        fresh(0x7a),
        fresh(0x0c),
        fresh(0xe1),
    );
    for x in [&s, &m, &v, &user] {
        anvil.impersonate(x, "0x0");
    }
    let c = common::solc(&[("Bridges.sol", SOURCES)]);
    let deploy = |bin: &str, args: &str| {
        let h = anvil.send(json!({"from": acc[9], "data": format!("0x{bin}{args}"), "gas": "0x800000", "gasPrice": "0x0"}));
        receipt(&anvil, &h)["contractAddress"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let router = deploy(&c["Router"].1, "");
    let token = deploy(&c["RenBTC"].1, "");
    let gateway = deploy(
        &c["Gateway"].1,
        &format!("{:0>64}", token.trim_start_matches("0x")),
    );
    let set = format!(
        "0x{}{:0>64}",
        alloy_primitives::hex::encode(&alloy_primitives::keccak256("setGateway(address)")[..4]),
        gateway.trim_start_matches("0x")
    );
    send(&anvil, &acc[9], &token, 0, &set);

    // Bitcoin keys (regtest)
    let vb = Key::new(1, Kind::P2wpkh); // THORChain vault on Bitcoin
    let ren = Key::new(2, Kind::P2wpkh); // Ren's release wallet
    let d1 = Key::new(3, Kind::P2wpkh);
    let d2 = Key::new(4, Kind::P2wpkh);
    let d3 = Key::new(5, Kind::P2wpkh);
    let (d1a, d2a, d3a) = (
        d1.address(Network::Regtest),
        d2.address(Network::Regtest),
        d3.address(Network::Regtest),
    );

    // the Ethereum story
    send(&anvil, &acc[2], &m, 4 * ETH, "0x");
    send(&anvil, &acc[3], &user, 5 * ETH, "0x");
    send(&anvil, &acc[0], &s, 10 * ETH, "0x");
    let pay = transferCall {
        to: evm(&s),
        v: U256::from(150_000_000u64),
    };
    send(&anvil, &acc[9], &token, 0, &hexs(&pay.abi_encode()));
    send(&anvil, &s, &m, 4 * ETH, "0x");
    let dep = |from: &str, value: u128, memo: &str| {
        let call = depositCall {
            vault: evm(&v),
            asset: EvmAddress::ZERO,
            amount: U256::from(value),
            memo: memo.to_string(),
        };
        let h = send(&anvil, from, &router, value, &hexs(&call.abi_encode()));
        assert_eq!(receipt(&anvil, &h)["status"], "0x1", "deposit {memo}");
        h
    };
    let h1 = dep(&m, 6 * ETH, &format!("=:b:{d1a}"));
    let bad = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt08x";
    let hb = dep(&m, ETH, &format!("=:b:{bad}"));
    let _hu = dep(&user, 2 * ETH, &format!("SWAP:BTC.BTC:{d3a}"));
    let burn = burnCall {
        _to: Bytes::copy_from_slice(d2a.as_bytes()),
        _amount: U256::from(150_000_000u64),
    };
    let hr = send(&anvil, &s, &gateway, 0, &hexs(&burn.abi_encode()));
    assert_eq!(receipt(&anvil, &hr)["status"], "0x1", "burn");
    let t_burn = {
        let r = receipt(&anvil, &hr);
        let b = anvil.rpc("eth_getBlockByNumber", json!([r["blockNumber"], false]));
        i64::from_str_radix(
            b["timestamp"].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap()
    };

    // the Bitcoin legs, mined on a regtest fixture chain (blocks 10 minutes apart from
    // 1,650,000,000; the anvil chain starts before), served by a local Esplora server below
    let k9 = Key::new(9, Kind::P2wpkh);
    let mut fx = FixtureChain::new(Network::Regtest, k9.out(50_000));
    let cb = fx.push_block(vec![vb.out(100_000_000), ren.out(500_000_000)], vec![]);
    let h1_memo = format!("OUT:{}", h1.trim_start_matches("0x").to_ascii_uppercase());
    let tx1 = spend(
        &[Coin::of(&cb, 0, vb)],
        vec![
            d1.out(30_000_000),
            op_return_text(&h1_memo),
            vb.out(69_990_000),
        ],
    );
    let tx3 = spend(
        &[Coin::of(&cb, 1, ren)],
        vec![d2.out(149_830_000), ren.out(350_160_000)],
    );
    let decoy = spend(
        &[Coin::of(&tx3, 1, ren)],
        vec![d2.out(100_000), ren.out(350_050_000)],
    );
    let e_memo = format!("=:e:{e_dest}");
    let tx2 = spend(
        &[Coin::of(&tx1, 0, d1)],
        vec![vb.out(29_999_000), op_return_text(&e_memo)],
    );
    fx.push_block(vec![k9.out(1)], vec![tx1.clone(), tx3.clone()]);
    fx.push_block(vec![k9.out(1)], vec![decoy.clone(), tx2.clone()]);
    assert!(
        FixtureChain::time_of(1) as i64 > t_burn,
        "the releases come after the burn"
    );
    let btc_legs: Vec<UtxoTx> = fx
        .confirmed_txids()
        .iter()
        .map(|t| fx.truth(t).unwrap())
        .collect();
    let tx1_id = txhash(tx1.compute_txid()).display(Chain::Bitcoin(BitcoinNetwork::Regtest));
    let tx2_id = txhash(tx2.compute_txid()).display(Chain::Bitcoin(BitcoinNetwork::Regtest));
    let tx3_id = txhash(tx3.compute_txid()).display(Chain::Bitcoin(BitcoinNetwork::Regtest));

    // the outbound of the BTC → ETH swap on the EVM side
    let out = transferOutCall {
        to: evm(&e_dest),
        asset: EvmAddress::ZERO,
        amount: U256::from(2 * ETH),
        memo: format!("OUT:{}", tx2_id.to_ascii_uppercase()),
    };
    let ho = send(&anvil, &v, &router, 2 * ETH, &hexs(&out.abi_encode()));
    assert_eq!(receipt(&anvil, &ho)["status"], "0x1", "transferOut");

    // fetch the EVM side with the CLI, the events and the Bitcoin legs as the fetchers store them
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let labels = dir.path().join("labels.csv");
    let prepare = |db: &std::path::Path| {
        std::fs::write(
            &labels,
            format!(
                "address,label,category,actor,chain\n{router},THORChain Router,bridge,thorchain,ethereum\n\
                 {gateway},Ren: BTC Gateway,bridge,ren,ethereum\n{},THORChain vault,bridge,thorchain,bitcoin-regtest\n",
                vb.address(Network::Regtest)
            ),
        )
        .unwrap();
        common::ok(&common::moneytrail(
            db,
            None,
            &["labels", "import", labels.to_str().unwrap()],
        ));
        for seed in [&s, &v, &e_dest] {
            common::ok(&common::moneytrail(
                db,
                None,
                &[
                    "fetch",
                    "--chain",
                    "ethereum",
                    "--rpc-url",
                    &anvil.url,
                    "--seed",
                    seed,
                ],
            ));
        }
        assert_eq!(
            store_events(&anvil, db, &[&router, &gateway]),
            5,
            "3 deposits, 1 transferOut, 1 burn"
        );
    };
    prepare(&db);
    store_btc(&db, &btc_legs);

    // the production path: `fetch --follow-bridges` reads the router's events itself, from the
    // taint's first arrival there (the same events as read directly, for those blocks)
    let db_f = dir.path().join("f.db");
    common::ok(&common::moneytrail(
        &db_f,
        None,
        &["labels", "import", labels.to_str().unwrap()],
    ));
    let fetched = common::ok(&common::moneytrail(
        &db_f,
        None,
        &[
            "fetch",
            "--chain",
            "ethereum",
            "--rpc-url",
            &anvil.url,
            "--seed",
            &s,
            "--follow-bridges",
            "--format",
            "json",
        ],
    ));
    let rep: Value = serde_json::from_str(&fetched).unwrap();
    let reads = rep["bridges"].as_array().unwrap();
    assert!(
        reads
            .iter()
            .any(|r| r["address"].as_str().unwrap().eq_ignore_ascii_case(&router)),
        "{rep}"
    );
    {
        use moneytrail::model::{Address, Chain};
        let r = Address::parse(Chain::ETHEREUM, &router).unwrap();
        let got = moneytrail::store::Store::open(&db_f)
            .unwrap()
            .events(Chain::ETHEREUM, std::slice::from_ref(&r))
            .unwrap();
        let all = moneytrail::store::Store::open(&db)
            .unwrap()
            .events(Chain::ETHEREUM, std::slice::from_ref(&r))
            .unwrap();
        assert!(!got.is_empty());
        for e in &got {
            // the decoded event itself (the helper above stores no sender facts)
            assert!(
                all.iter().any(|x| (x.tx, x.log_index, x.block, &x.data)
                    == (e.tx, e.log_index, e.block, &e.data)),
                "{e:?}"
            );
        }
        for h in [&h1, &hb] {
            assert!(
                got.iter().any(|e| e.tx.display(Chain::ETHEREUM) == **h),
                "{h} not fetched"
            );
        }
    }

    let out_dir = dir.path().join("out");
    let run_on = |db: &std::path::Path, extra: &[&str], out: &std::path::Path| {
        let mut args = vec![
            "trace",
            "--chain",
            "ethereum",
            "--offline",
            "--seed",
            &s,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        if !extra.contains(&"--model") {
            args.extend(["--model", "haircut"]);
        }
        common::ok(&common::moneytrail(db, None, &args))
    };
    let run = |extra: &[&str], out: &std::path::Path| run_on(&db, extra, out);
    let printed = run(&["--follow-bridges"], &out_dir);
    assert!(
        printed.contains("cross-chain: 3 edge(s) carried taint out of bridges, 2 followed"),
        "{printed}"
    );
    assert!(
        printed.contains("continued on bitcoin-regtest: 1.6483 BTC injected"),
        "{printed}"
    );

    // the source trace: bridge totals as before, the edges exactly the planted ones
    let sum = read_json(&out_dir.join("summary.json"));
    assert_eq!(sum["assets"]["ETH"]["injected"], "10");
    assert_eq!(sum["assets"]["ETH"]["by_category"]["bridge"], "3.5");
    assert_eq!(sum["assets"]["renBTC"]["by_category"]["bridge"], "1.5");
    assert_eq!(sum["conservation_ok"], true);
    let cc = sum["cross_chain"].as_array().unwrap();
    assert_eq!(cc.len(), 3, "{cc:#?}");
    let by_in = |h: &str| {
        cc.iter()
            .find(|x| x["inbound_tx"] == h)
            .unwrap_or_else(|| panic!("{h}: {cc:#?}"))
    };
    let e1 = by_in(&h1);
    assert_eq!(e1["bridge"], "thorchain");
    assert_eq!(e1["heuristic"], "thorchain_memo");
    assert_eq!(e1["to_chain"], "bitcoin-regtest");
    assert_eq!(e1["destination"], d1a);
    assert_eq!(e1["outbound_tx"], tx1_id);
    assert_eq!(e1["asset"], "ETH");
    assert_eq!(e1["inbound_amount"], "6");
    assert_eq!(e1["tainted"], "3");
    assert_eq!(e1["outbound_amount"], "0.3");
    assert_eq!(e1["carried"], "0.15");
    assert_eq!(e1["confidence"], 1.0);
    assert_eq!(e1["followed"], true);
    assert_eq!(e1["continued_in"], "cross-chain/bitcoin-regtest");
    let eb = by_in(&hb);
    assert_eq!(eb["tainted"], "0.5");
    assert_eq!(eb["followed"], false);
    assert_eq!(eb["destination"], Value::Null);
    assert!(eb["problem"].as_str().unwrap().contains(bad), "{eb}");
    let er = by_in(&hr);
    assert_eq!(er["bridge"], "ren");
    assert_eq!(er["heuristic"], "ren_burn");
    assert_eq!(er["asset"], "renBTC");
    assert_eq!(er["tainted"], "1.5");
    assert_eq!(er["destination"], d2a);
    assert_eq!(er["outbound_tx"], tx3_id);
    assert_eq!(er["carried"], "1.4983");
    assert_eq!(er["confidence"], 0.95);
    assert_eq!(er["followed"], true);

    // one evidence line per edge, with its witnesses
    let ev: Vec<Value> = evidence(&out_dir)
        .into_iter()
        .filter(|e| {
            ["thorchain_memo", "ren_burn", "bridge_amount_time"]
                .contains(&e["heuristic"].as_str().unwrap())
        })
        .collect();
    assert_eq!(ev.len(), 3);
    let l1 = ev.iter().find(|e| e["witness_txs"][0] == h1).unwrap();
    assert_eq!(l1["witness_txs"], json!([h1, tx1_id]));
    assert_eq!(l1["linked_to"], format!("bitcoin-regtest:{d1a}"));
    assert_eq!(l1["measured"]["tainted"], "3");
    assert_eq!(l1["measured"]["carried"], "0.15");
    assert_eq!(l1["measured"]["outbound_memo"], h1_memo);
    assert_eq!(l1["followed"], true);
    let lr = ev.iter().find(|e| e["witness_txs"][0] == hr).unwrap();
    assert_eq!(lr["witness_txs"], json!([hr, tx3_id]));
    assert_eq!(
        lr["measured"]["candidates"], 1,
        "the decoy is outside the fee band"
    );
    assert_eq!(lr["parameters"]["fee_bps"], 10);

    // the continuation on Bitcoin: exactly the carried taint injected, conservation
    let btc_dir = out_dir.join("cross-chain/bitcoin-regtest");
    let bs = read_json(&btc_dir.join("summary.json"));
    assert_eq!(bs["chain"], "bitcoin-regtest");
    assert_eq!(bs["assets"]["BTC"]["injected"], "1.6483", "0.15 + 1.4983");
    assert_eq!(bs["assets"]["BTC"]["by_category"]["bridge"], "0.149995");
    assert_eq!(bs["assets"]["BTC"]["by_category"]["fee"], "0.000005");
    assert_eq!(bs["assets"]["BTC"]["by_category"]["unspent"], "1.4983");
    assert_eq!(bs["conservation_ok"], true);
    for f in [
        "endpoints.csv",
        "flows.csv",
        "evidence.jsonl",
        "paths.jsonl",
        "graph.graphml",
    ] {
        assert!(btc_dir.join(f).is_file(), "{f}");
    }
    let bcc = &bs["cross_chain"][0];
    assert_eq!(bcc["inbound_tx"], tx2_id);
    assert_eq!(bcc["to_chain"], "ethereum");
    assert_eq!(bcc["destination"].as_str().unwrap().to_lowercase(), e_dest);
    assert_eq!(bcc["outbound_tx"], ho);
    assert_eq!(bcc["tainted"], "0.149995");
    assert_eq!(bcc["carried"], "1");
    // summed into the parent
    let cont = &sum["cross_chain_continuations"][0];
    assert_eq!(cont["chain"], "bitcoin-regtest");
    assert_eq!(cont["assets"]["BTC"]["injected"], "1.6483");
    // and back on Ethereum
    let back = read_json(&btc_dir.join("cross-chain/ethereum/summary.json"));
    assert_eq!(back["assets"]["ETH"]["injected"], "1");
    assert_eq!(back["assets"]["ETH"]["by_category"]["unspent"], "1");

    // every value-conserving model: the same carried taint enters each continuation
    for model in ["fifo", "lifo", "tiho"] {
        let o = dir.path().join(model);
        run(&["--follow-bridges", "--model", model], &o);
        let s0 = read_json(&o.join("summary.json"));
        assert_eq!(s0["conservation_ok"], true, "{model}");
        // injected there = Σ carried of the followed edges (FIFO: M's 6 ETH deposit takes its
        // 4 clean ETH first, so 2 ETH tainted and 0.1 BTC carried; LIFO / TIHO: 4 and 0.2)
        let sats = |v: &Value| {
            moneytrail::model::Amount::parse_decimal(v.as_str().unwrap(), 8)
                .unwrap()
                .0
        };
        let carried: U256 = s0["cross_chain"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["followed"] == true)
            .map(|x| sats(&x["carried"]))
            .sum();
        let expected = match model {
            "fifo" => 159_830_000u64,
            _ => 169_830_000,
        };
        assert_eq!(carried, U256::from(expected), "{model}");
        let s1 = read_json(&o.join("cross-chain/bitcoin-regtest/summary.json"));
        assert_eq!(sats(&s1["assets"]["BTC"]["injected"]), carried, "{model}");
        assert_eq!(s1["conservation_ok"], true, "{model}");
        let carried = s1["cross_chain"][0]["carried"]
            .as_str()
            .unwrap()
            .to_string();
        let s2 =
            read_json(&o.join("cross-chain/bitcoin-regtest/cross-chain/ethereum/summary.json"));
        assert_eq!(s2["assets"]["ETH"]["injected"], carried, "{model}");
        assert_eq!(s2["conservation_ok"], true, "{model}");
    }

    // a threshold above the edges' confidence: reported, not followed, no continuation
    let strict = dir.path().join("strict");
    run(&["--follow-bridges", "--min-confidence", "0.99"], &strict);
    let ss = read_json(&strict.join("summary.json"));
    let sr = ss["cross_chain"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["inbound_tx"] == hr)
        .unwrap()
        .clone();
    assert_eq!(sr["followed"], false);
    assert_eq!(sr["continued_in"], Value::Null);
    let sbtc = read_json(&strict.join("cross-chain/bitcoin-regtest/summary.json"));
    assert_eq!(
        sbtc["assets"]["BTC"]["injected"], "0.15",
        "only the THORChain edge"
    );
    // a heuristic switched off; and without --follow-bridges nothing of this
    let off = dir.path().join("off");
    run(&["--follow-bridges", "--no-heuristic", "ren_burn"], &off);
    let so = read_json(&off.join("summary.json"));
    assert!(
        so["cross_chain"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["inbound_tx"] != hr)
    );
    let plain = dir.path().join("plain");
    run(&[], &plain);
    let sp = read_json(&plain.join("summary.json"));
    assert!(sp.get("cross_chain").is_none());
    // without it the burnt renBTC rests at the zero address; with it, the zero address is the
    // bridge endpoint of the burn
    assert_eq!(sp["assets"]["renBTC"]["by_category"]["unspent"], "1.5");
    assert_eq!(sp["assets"]["renBTC"]["by_category"]["bridge"], "0");
    let eps = std::fs::read_to_string(out_dir.join("endpoints.csv")).unwrap();
    let zero = format!(
        "ethereum,{},token burn (0x0),bridge,renBTC,",
        EvmAddress::ZERO
    );
    assert!(eps.lines().any(|l| l.starts_with(&zero)), "{eps}");
    assert!(!plain.join("cross-chain").exists());

    // the same Bitcoin legs fetched by the trace itself (`--bridge-source`) from a local
    // Esplora server into a database without them: same edges, same continuations
    let server = EsploraServer::start(fx, ServerOptions::default());
    let db2 = dir.path().join("fetched.db");
    prepare(&db2);
    let fetched = dir.path().join("fetched");
    let src = format!("bitcoin-regtest=esplora:{},rate=1000", server.url);
    run_on(
        &db2,
        &["--follow-bridges", "--bridge-source", &src],
        &fetched,
    );
    let sf = read_json(&fetched.join("summary.json"));
    assert_eq!(sf["cross_chain"], sum["cross_chain"]);
    assert_eq!(
        sf["cross_chain_continuations"],
        sum["cross_chain_continuations"]
    );
    let bf = read_json(&fetched.join("cross-chain/bitcoin-regtest/summary.json"));
    assert_eq!(bf["assets"]["BTC"], bs["assets"]["BTC"]);
    assert_eq!(bf["cross_chain"], bs["cross_chain"]);
    let back =
        read_json(&fetched.join("cross-chain/bitcoin-regtest/cross-chain/ethereum/summary.json"));
    assert_eq!(back["assets"]["ETH"]["injected"], "1");
    assert!(
        server.stats.kind("address") > 0,
        "the destinations' histories were fetched"
    );
    // a malformed source is exit 2 naming it
    let o = common::moneytrail(
        &db2,
        None,
        &[
            "trace",
            "--chain",
            "ethereum",
            "--offline",
            "--seed",
            &s,
            "--out",
            dir.path().join("x").to_str().unwrap(),
            "--follow-bridges",
            "--bridge-source",
            "bitcoin=ftp:x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bitcoin=ftp:x"));
}
