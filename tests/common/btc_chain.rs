//! A laundering-shaped Bitcoin chain of real signed transactions for the Esplora tests and the
//! fetch benchmark: many thefts paying one address T (pages of history), a 3-input spend with
//! a round payment and change, a peel, a payment to an exchange that then sweeps, an OP_RETURN,
//! a 20-input consolidation, and an unconfirmed spend.

use std::collections::HashMap;

use bitcoin::{Network, Transaction, Txid};

use super::btc::{Coin, Key, Kind, op_return, spend};
use super::esplora::FixtureChain;

/// The chain and the names of its parts.
pub struct Laundering {
    /// The chain (mainnet addresses).
    pub chain: FixtureChain,
    /// Keys by role: m (miner), v (victim), t (thief, the seed), b, c, d, e, f, g, x (exchange
    /// deposit), y (exchange hot wallet), z, t2 (consolidation).
    pub keys: HashMap<&'static str, Key>,
    /// Transactions by name: split, theft0…, l1 (3 inputs → b + change c), l2 (b → d + e, same
    /// block), l3 (d → x), l4 (e → OP_RETURN + f), l5 (c → g), cons (20 T outputs → t2),
    /// l6 (x → y), mempool (T → z, unconfirmed).
    pub txs: HashMap<String, Txid>,
}

const BTC: u64 = 100_000_000;

/// Build it with `thefts` theft transactions (at least 24), `per_block` transactions a block.
pub fn laundering(thefts: usize, per_block: usize) -> Laundering {
    assert!(thefts >= 24);
    let names = [
        "m", "v", "t", "b", "c", "d", "e", "f", "g", "x", "y", "z", "t2",
    ];
    let keys: HashMap<&'static str, Key> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let kind = if *n == "v" { Kind::P2pkh } else { Kind::P2wpkh };
            (*n, Key::new(100 + i as u32, kind))
        })
        .collect();
    let k = |n: &str| keys[n];
    let mut chain = FixtureChain::new(Network::Bitcoin, k("m").out(50 * BTC));
    let mut txs: HashMap<String, Txid> = HashMap::new();
    let cb1 = chain.push_block(vec![k("m").out(50 * BTC)], vec![]);
    let per = 40 * BTC / thefts as u64;
    let mut outs: Vec<_> = (0..thefts).map(|_| k("v").out(per)).collect();
    outs.push(k("m").out(50 * BTC - per * thefts as u64 - 10_000));
    let split = spend(&[Coin::of(&cb1, 0, k("m"))], outs);
    txs.insert("split".into(), split.compute_txid());
    chain.push_block(vec![k("m").out(50 * BTC)], vec![split.clone()]);
    let mut theft: Vec<Transaction> = Vec::new();
    for i in 0..thefts {
        let t = spend(
            &[Coin::of(&split, i as u32, k("v"))],
            vec![k("t").out(per - 1_000)],
        );
        txs.insert(format!("theft{i}"), t.compute_txid());
        theft.push(t);
    }
    for chunk in theft.chunks(per_block.max(1)) {
        chain.push_block(vec![k("m").out(50 * BTC)], chunk.to_vec());
    }
    let coin = |i: usize| Coin::of(&theft[i], 0, k("t"));
    let s3 = 3 * (per - 1_000);
    let pay = s3 / 2 / 100_000 * 100_000; // a round amount (0.001 BTC steps)
    let l1 = spend(
        &[coin(0), coin(1), coin(2)],
        vec![k("b").out(pay), k("c").out(s3 - pay - 2_000)],
    );
    let d_value = pay * 2 / 3 / 100_000 * 100_000;
    let l2 = spend(
        &[Coin::of(&l1, 0, k("b"))],
        vec![k("d").out(d_value), k("e").out(pay - d_value - 1_500)],
    );
    chain.push_block(vec![k("m").out(50 * BTC)], vec![l1.clone(), l2.clone()]);
    let l3 = spend(
        &[Coin::of(&l2, 0, k("d"))],
        vec![k("x").out(d_value - 1_000)],
    );
    let e_value = l2.output[1].value.to_sat();
    let l4 = spend(
        &[Coin::of(&l2, 1, k("e"))],
        vec![op_return(b"peel-off"), k("f").out(e_value - 1_000)],
    );
    let c_value = l1.output[1].value.to_sat();
    let l5 = spend(
        &[Coin::of(&l1, 1, k("c"))],
        vec![k("g").out(c_value - 1_000)],
    );
    let cons_in: Vec<Coin> = (3..23).map(coin).collect();
    let cons = spend(&cons_in, vec![k("t2").out(20 * (per - 1_000) - 5_000)]);
    chain.push_block(
        vec![k("m").out(50 * BTC)],
        vec![l3.clone(), l4.clone(), l5.clone(), cons.clone()],
    );
    let l6 = spend(
        &[Coin::of(&l3, 0, k("x"))],
        vec![k("y").out(d_value - 2_000)],
    );
    chain.push_block(vec![k("m").out(50 * BTC)], vec![l6.clone()]);
    let mem = spend(&[coin(23)], vec![k("z").out(per - 2_000)]);
    chain.push_mempool(mem.clone());
    for (n, t) in [
        ("l1", &l1),
        ("l2", &l2),
        ("l3", &l3),
        ("l4", &l4),
        ("l5", &l5),
        ("cons", &cons),
        ("l6", &l6),
        ("mempool", &mem),
    ] {
        txs.insert(n.into(), t.compute_txid());
    }
    Laundering { chain, keys, txs }
}

/// bitcoin-etl's name of a script type.
fn etl_type(s: &bitcoin::Script) -> &'static str {
    if s.is_p2wpkh() {
        "witness_v0_keyhash"
    } else if s.is_p2pkh() {
        "pubkeyhash"
    } else if s.is_p2sh() {
        "scripthash"
    } else if s.is_op_return() {
        "nulldata"
    } else {
        "nonstandard"
    }
}

/// The chain's confirmed transactions as bitcoin-etl exports them (`transactions.json`, one
/// JSON object a line) or, with `bigquery`, as a BigQuery `crypto_bitcoin.transactions` JSON
/// array export (timestamps as `YYYY-MM-DD HH:MM:SS UTC`, values as strings, no `index`).
pub fn etl_export(chain: &FixtureChain, bigquery: bool) -> String {
    use serde_json::{Value, json};
    let net = chain.network;
    let mut rows: Vec<Value> = Vec::new();
    for (h, block) in chain.blocks.iter().enumerate() {
        for (pos, tx) in block.txdata.iter().enumerate() {
            let cb = tx.is_coinbase();
            let num = |v: u64| {
                if bigquery {
                    json!(v.to_string())
                } else {
                    json!(v)
                }
            };
            let addr = |s: &bitcoin::Script| {
                bitcoin::Address::from_script(s, net)
                    .map(|a| vec![a.to_string()])
                    .unwrap_or_default()
            };
            let inputs: Vec<Value> = if cb {
                Vec::new()
            } else {
                tx.input
                    .iter()
                    .enumerate()
                    .map(|(i, inp)| {
                        let p = chain.prevout(inp.previous_output).expect("prevout");
                        json!({
                            "index": i,
                            "spent_transaction_hash": inp.previous_output.txid.to_string(),
                            "spent_output_index": inp.previous_output.vout,
                            "script_asm": inp.script_sig.to_asm_string(),
                            "script_hex": super::btc::hex(inp.script_sig.as_bytes()),
                            "sequence": inp.sequence.0,
                            "required_signatures": null,
                            "type": etl_type(&p.script_pubkey),
                            "addresses": addr(&p.script_pubkey),
                            "value": num(p.value.to_sat()),
                        })
                    })
                    .collect()
            };
            let in_sum: u64 = if cb {
                0
            } else {
                tx.input
                    .iter()
                    .map(|i| chain.prevout(i.previous_output).unwrap().value.to_sat())
                    .sum()
            };
            let out_sum: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
            let outputs: Vec<Value> = tx
                .output
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    json!({
                        "index": i,
                        "script_asm": o.script_pubkey.to_asm_string(),
                        "script_hex": super::btc::hex(o.script_pubkey.as_bytes()),
                        "required_signatures": null,
                        "type": etl_type(&o.script_pubkey),
                        "addresses": addr(&o.script_pubkey),
                        "value": num(o.value.to_sat()),
                    })
                })
                .collect();
            let time = FixtureChain::time_of(h as u64) as i64;
            let ts = if bigquery {
                let d = chrono::DateTime::from_timestamp(time, 0).unwrap();
                json!(d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            } else {
                json!(time)
            };
            let mut row = json!({
                "hash": tx.compute_txid().to_string(),
                "size": tx.total_size(),
                "virtual_size": tx.vsize(),
                "version": tx.version.0,
                "lock_time": tx.lock_time.to_consensus_u32(),
                "block_number": h,
                "block_hash": block.block_hash().to_string(),
                "block_timestamp": ts,
                "is_coinbase": cb,
                "input_count": inputs.len(),
                "output_count": outputs.len(),
                "input_value": num(in_sum),
                "output_value": num(out_sum),
                "fee": num(if cb { 0 } else { in_sum - out_sum }),
                "inputs": inputs,
                "outputs": outputs,
            });
            if !bigquery {
                row["index"] = json!(pos);
                row["type"] = json!("transaction");
            }
            rows.push(row);
        }
    }
    if bigquery {
        serde_json::to_string_pretty(&rows).unwrap()
    } else {
        rows.iter().map(|r| r.to_string() + "\n").collect()
    }
}
