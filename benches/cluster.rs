//! Clustering benchmark: prints figures, asserts nothing about time.
//!
//!     cargo bench --bench cluster -- [INPUTS] [--full N]
//!
//! Multi-input union-find with evidence ([`Merger`]) over INPUTS synthetic transaction inputs
//! (default 5,000,000): transactions of 1–10 inputs (half single-input), each input a new
//! address with probability 0.6, else a reused one (7 in 8 among the last 1,000 addresses, else
//! any earlier one). Reports
//! inputs/s and peak heap bytes per input of the clustering structures (a counting allocator,
//! input arrays excluded and also shown included). With `--full N`: [`Clustering::build`] on
//! N inputs of real `StoredUtxoTx`s (address interning, CoinJoin and change detection).

use std::time::Instant;

use moneytrail::graph::cluster::{ClusterConfig, Clustering, Merger};
use moneytrail::model::{Address, BitcoinNetwork, OutPoint, TxHash, TxOutput};
use moneytrail::store::{StoredInput, StoredUtxoTx};

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static A: counting::Counting = counting::Counting;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

/// (tx offsets into `ids`, input address ids, address count).
fn synthetic(inputs: usize) -> (Vec<u32>, Vec<u32>, u32) {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut offsets = vec![0u32];
    let mut ids = Vec::with_capacity(inputs);
    let mut next = 0u32;
    while ids.len() < inputs {
        let k = if r.below(2) == 0 {
            1
        } else {
            2 + r.below(9) as usize
        };
        for _ in 0..k.min(inputs - ids.len()) {
            let id = if next == 0 || r.below(10) < 6 {
                next += 1;
                next - 1
            } else if r.below(8) != 0 {
                // recent reuse (7 in 8 reuses)
                next - 1 - r.below(1000.min(next as u64)) as u32
            } else {
                r.below(next as u64) as u32
            };
            ids.push(id);
        }
        offsets.push(ids.len() as u32);
    }
    (offsets, ids, next)
}

fn full(n_inputs: usize) {
    use bitcoin::hashes::Hash;
    let (offsets, ids, n_addr) = synthetic(n_inputs);
    let addrs: Vec<Address> = (0..n_addr)
        .map(|i| {
            let mut p = [0u8; 20];
            p[..4].copy_from_slice(&i.to_be_bytes());
            let s = bitcoin::ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array(p));
            Address::from_script(BitcoinNetwork::Mainnet, &s).unwrap()
        })
        .collect();
    let txs: Vec<StoredUtxoTx> = offsets
        .windows(2)
        .enumerate()
        .map(|(k, w)| {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&(k as u64).to_be_bytes());
            let txid = TxHash(alloy_primitives::B256::from(h));
            let ins = &ids[w[0] as usize..w[1] as usize];
            StoredUtxoTx {
                txid,
                block: k as u64 / 2000,
                tx_index: (k % 2000) as u32,
                time: 0,
                inputs: ins
                    .iter()
                    .enumerate()
                    .map(|(i, a)| StoredInput {
                        index: i as u32,
                        prevout: Some(OutPoint {
                            txid,
                            vout: 1000 + i as u32,
                        }),
                        address: Some(addrs[*a as usize].clone()),
                        value: 100_000 + *a as u64,
                    })
                    .collect(),
                outputs: vec![TxOutput {
                    outpoint: OutPoint { txid, vout: 0 },
                    value: 50_000,
                    script_pubkey: vec![0x51],
                    address: None,
                    block: 0,
                }],
                fee: 1_000,
            }
        })
        .collect();
    let t = Instant::now();
    let c = Clustering::build(&txs, &ClusterConfig::default());
    let secs = t.elapsed().as_secs_f64();
    println!(
        "Clustering::build (interning, CoinJoin + change detection): {} inputs, {} txs, {} addresses in {:.2} s = {:.2} M inputs/s, {} merges",
        n_inputs,
        txs.len(),
        c.len(),
        secs,
        n_inputs as f64 / secs / 1e6,
        c.merges().len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    // `cargo test --all-targets` runs this binary without `--bench`: a small smoke run.
    let mut inputs = if std::env::args().any(|a| a == "--bench") {
        5_000_000usize
    } else {
        50_000
    };
    let mut full_n = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--full" => {
                full_n = args.get(i + 1).and_then(|v| v.parse().ok());
                i += 1;
            }
            a => inputs = a.parse().unwrap_or(inputs),
        }
        i += 1;
    }
    let (offsets, ids, n_addr) = synthetic(inputs);
    let input_bytes = (offsets.capacity() + ids.capacity()) * 4;
    println!(
        "synthetic: {} inputs in {} transactions over {} addresses",
        ids.len(),
        offsets.len() - 1,
        n_addr
    );
    for run in 0..3 {
        let base = counting::reset_peak();
        let t = Instant::now();
        let mut m = Merger::new(n_addr as usize);
        let mut merged = 0usize;
        for (k, w) in offsets.windows(2).enumerate() {
            merged += m.merge_inputs(&ids[w[0] as usize..w[1] as usize], k as u32);
        }
        let secs = t.elapsed().as_secs_f64();
        let peak = counting::peak() - base;
        let largest = (0..n_addr).map(|a| m.uf.size(a)).max().unwrap_or(0);
        println!(
            "run {run}: {:.3} s = {:.1} M inputs/s · merges {} · largest cluster {} · peak heap {:.1} B/input ({:.1} B/input with the input arrays) · {} B held",
            secs,
            ids.len() as f64 / secs / 1e6,
            merged,
            largest,
            peak as f64 / ids.len() as f64,
            (peak + input_bytes) as f64 / ids.len() as f64,
            m.heap_bytes()
        );
    }
    if let Some(n) = full_n {
        full(n);
    }
}
