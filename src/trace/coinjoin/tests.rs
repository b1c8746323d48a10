//! The CoinJoin split on hand-built transactions: a JoinMarket round by hand, and conservation
//! (Σ output taint = Σ input taint, each output's taint ≤ its value) for every conserving model
//! over random equal-output rounds; poison taints whole outputs only.

use alloy_primitives::{B256, U256};

use super::*;
use crate::model::{BitcoinNetwork, OutPoint, TxHash, TxOutput};
use crate::store::StoredInput;
use crate::trace::Follow;
use crate::trace::models::{Fifo, Haircut, Lifo, Poison, Tiho};

fn script(n: u32) -> Vec<u8> {
    let mut s = vec![0x00, 0x14];
    s.extend(n.to_be_bytes());
    s.extend([0x77; 16]);
    s
}

fn address(n: u32) -> Address {
    Address::from_script(
        BitcoinNetwork::Mainnet,
        bitcoin::Script::from_bytes(&script(n)),
    )
    .unwrap()
}

/// A transaction with input values `ins` and output values `outs` (fresh addresses).
fn tx(ins: &[u64], outs: &[u64]) -> StoredUtxoTx {
    let txid = TxHash(B256::repeat_byte(7));
    let inputs = ins
        .iter()
        .enumerate()
        .map(|(i, v)| StoredInput {
            index: i as u32,
            prevout: Some(OutPoint {
                txid: TxHash(B256::repeat_byte(1)),
                vout: i as u32,
            }),
            address: Some(address(i as u32)),
            value: *v,
        })
        .collect();
    let outputs = outs
        .iter()
        .enumerate()
        .map(|(o, v)| TxOutput {
            outpoint: OutPoint {
                txid,
                vout: o as u32,
            },
            value: *v,
            script_pubkey: script(1000 + o as u32),
            address: Some(address(1000 + o as u32)),
            block: 1,
        })
        .collect();
    let fee = ins.iter().sum::<u64>() - outs.iter().sum::<u64>();
    StoredUtxoTx {
        txid,
        block: 1,
        tx_index: 1,
        time: 0,
        inputs,
        outputs,
        fee,
    }
}

fn demixer() -> Demixer {
    Demixer::new(Chain::BITCOIN, &Follow::default())
}

/// Split `t` (inputs with `taints`) under `M`: the output taints, fee last.
fn split<M: TaintModel>(d: &mut Demixer, t: &StoredUtxoTx, taints: &[u64]) -> Option<Vec<U256>> {
    let inputs: Vec<(U256, M::Parcel)> = t
        .inputs
        .iter()
        .zip(taints)
        .map(|(i, x)| {
            (
                U256::from(i.value),
                M::fresh(U256::from(i.value), U256::from(*x)),
            )
        })
        .collect();
    let mut values: Vec<U256> = t.outputs.iter().map(|o| U256::from(o.value)).collect();
    values.push(U256::from(t.fee));
    let got = d.split::<M>(t, &inputs, &values)?;
    assert_eq!(got.len(), values.len());
    Some(got.iter().map(M::parcel_taint).collect())
}

fn u(v: &[u64]) -> Vec<U256> {
    v.iter().map(|x| U256::from(*x)).collect()
}

// JoinMarket: the taker (input 0, tainted) buys 2,500,000 and pays the makers' fees (3 × 500)
// and the miner fee (1,500): change 3,000,000 − 2,500,000 − 3,000 = 497,000, the only output
// in its window [475,000, 500,000]. Makers' changes exceed their remainders by their fee, so
// the rule does not name them (they stay in the rest); maker 3 brought two inputs below d.
// haircut: mixed 2,500,000 → 625,000 × 4; change 497,000; rest 3,000 over 100,500, 300,500,
// 200,500, fee 1,500 (603,000): 500, 1,495, 997, 8.
const JM_IN: [u64; 5] = [3_000_000, 2_600_000, 2_800_000, 1_500_000, 1_200_000];
const JM_OUT: [u64; 8] = [
    2_500_000, 2_500_000, 2_500_000, 2_500_000, 497_000, 100_500, 300_500, 200_500,
];

#[test]
fn joinmarket_taker_by_hand() {
    let t = tx(&JM_IN, &JM_OUT);
    assert_eq!(t.fee, 1_500);
    let taints = [3_000_000, 0, 0, 0, 0];
    let mut d = demixer();
    let got = split::<Haircut>(&mut d, &t, &taints).unwrap();
    let want = [
        625_000, 625_000, 625_000, 625_000, 497_000, 500, 1_495, 997, 8,
    ];
    assert_eq!(got, u(&want));
    assert_eq!(d.evidence.len(), 2);
    assert_eq!(d.evidence[0].heuristic, CHANGE);
    assert_eq!(d.evidence[0].entity, "joinmarket");
    assert_eq!(d.evidence[0].linked_to, address(1004).to_string());
    assert_eq!(d.evidence[1].heuristic, EQUAL_OUTPUTS);
    assert_eq!(d.evidence[1].confidence, 0.25);
    // fifo / lifo / tiho: a wholly tainted input cuts the same way
    for got in [
        split::<Fifo>(&mut demixer(), &t, &taints),
        split::<Lifo>(&mut demixer(), &t, &taints),
        split::<Tiho>(&mut demixer(), &t, &taints),
    ] {
        assert_eq!(got.unwrap(), u(&want));
    }
    // poison: the equal outputs, the change, the rest and the fee
    let got = split::<Poison>(&mut demixer(), &t, &taints).unwrap();
    let mut all = JM_OUT.to_vec();
    all.push(1_500);
    assert_eq!(got, u(&all));
    // a maker tainted instead: its change is not identified, its remainder goes to the rest
    let mut d = demixer();
    let got = split::<Haircut>(&mut d, &t, &[0, 2_600_000, 0, 0, 0]).unwrap();
    assert_eq!(&got[..5], &u(&[625_000, 625_000, 625_000, 625_000, 0])[..]);
    assert_eq!(got[5..].iter().copied().sum::<U256>(), U256::from(100_000));
    assert_eq!(d.evidence.len(), 1);
}

// Wasabi 2: 22 inputs; outputs 4 × 1,000,000, 3 × 500,000, 2 × 200,000 (the repeated standard
// denominations), 100,000 (standard but alone: not mixed), the tainted input's change 230,000,
// two other changes 77,777 and 55,555; fee 5,000. The tainted input 1,234,567 mixes at
// 1,000,000 (the largest denomination it covers): remainder 234,567, window [224,567,
// 234,567] holds only 230,000 → change, fee share 4,567. haircut: 250,000 to each 1,000,000
// output, 230,000 to the change, 4,567 over 100,000, 77,777, 55,555, fee 5,000 (238,332):
// 1,916, 1,490, 1,065, 96.
#[test]
fn wasabi2_levels_by_hand() {
    let mut ins = vec![1_234_567];
    ins.extend([244_000; 20]);
    ins.push(253_765);
    let outs = [
        1_000_000, 500_000, 1_000_000, 200_000, 500_000, 1_000_000, 100_000, 230_000, 500_000,
        200_000, 77_777, 1_000_000, 55_555,
    ];
    let t = tx(&ins, &outs);
    assert_eq!(t.fee, 5_000);
    let mut taints = vec![0; 22];
    taints[0] = 1_234_567;
    let mut d = demixer();
    let got = split::<Haircut>(&mut d, &t, &taints).unwrap();
    let want = [
        250_000, 0, 250_000, 0, 0, 250_000, 1_916, 230_000, 0, 0, 1_490, 250_000, 1_065, 96,
    ];
    assert_eq!(got, u(&want));
    let e = serde_json::to_value(&d.evidence[1]).unwrap();
    assert_eq!(e["entity"], "wasabi2");
    assert_eq!(
        e["parameters"]["denominations"],
        serde_json::json!(["200000", "500000", "1000000"])
    );
    assert_eq!(e["measured"]["levels"][0]["participants"], 4);
    assert_eq!(e["confidence"], 0.25);
    assert_eq!(d.evidence[0].heuristic, CHANGE);
    assert_eq!(d.evidence[0].linked_to, address(1007).to_string());
}

#[test]
fn not_a_coinjoin_or_clean_or_switched_off_is_the_models_business() {
    let t = tx(&[1_000_000, 500_000], &[700_000, 790_000]);
    assert!(split::<Haircut>(&mut demixer(), &t, &[1_000_000, 0]).is_none());
    let jm = tx(&JM_IN, &JM_OUT);
    assert!(split::<Haircut>(&mut demixer(), &jm, &[0; 5]).is_none());
    let f = Follow {
        disabled: vec![EQUAL_OUTPUTS.into()],
        ..Follow::default()
    };
    let mut d = Demixer::new(Chain::BITCOIN, &f);
    assert!(split::<Haircut>(&mut d, &jm, &[3_000_000, 0, 0, 0, 0]).is_none());
    assert!(d.evidence.is_empty());
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A random equal-output round: n participants at denomination d, each paying a fee share and
/// taking a change or not; sometimes a participant's input split in two below d.
fn random_round(r: &mut Rng) -> (StoredUtxoTx, Vec<u64>) {
    let n = 3 + r.below(6) as usize;
    let d = [100_000, 1_000_000, 2_500_000, 5_000_000][r.below(4) as usize];
    let mut ins = Vec::new();
    let mut outs = vec![d; n];
    for _ in 0..n {
        let c = if r.below(3) == 0 {
            0
        } else {
            1_000 + r.below(d / 2)
        };
        let f = r.below(d / 200);
        let v = d + c + f;
        if r.below(5) == 0 {
            let h = v / 3;
            ins.extend([h, v - h]);
        } else {
            ins.push(v);
        }
        if c > 0 {
            outs.push(c);
        }
    }
    let taints = ins
        .iter()
        .map(|v| match r.below(3) {
            0 => 0,
            1 => *v,
            _ => r.below(*v + 1),
        })
        .collect();
    (tx(&ins, &outs), taints)
}

fn conserves<M: TaintModel>(t: &StoredUtxoTx, taints: &[u64]) -> bool {
    let Some(got) = split::<M>(&mut demixer(), t, taints) else {
        return false;
    };
    let mut values: Vec<u64> = t.outputs.iter().map(|o| o.value).collect();
    values.push(t.fee);
    for (g, v) in got.iter().zip(&values) {
        assert!(*g <= U256::from(*v), "{} taint {g} > value {v}", M::NAME);
        if !M::CONSERVING {
            assert!(g.is_zero() || *g == U256::from(*v), "poison: whole outputs");
        }
    }
    let sum: U256 = got.iter().copied().sum();
    let injected = U256::from(taints.iter().sum::<u64>());
    if M::CONSERVING {
        assert_eq!(sum, injected, "{}: {taints:?} {t:?}", M::NAME);
    } else {
        assert!(sum >= injected, "poison sweeps in, never loses");
    }
    true
}

#[test]
fn every_conserving_model_conserves_through_random_rounds() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut split_rounds = 0;
    for _ in 0..400 {
        let (t, taints) = random_round(&mut r);
        if taints.iter().all(|x| *x == 0) {
            continue;
        }
        let hits = [
            conserves::<Haircut>(&t, &taints),
            conserves::<Fifo>(&t, &taints),
            conserves::<Lifo>(&t, &taints),
            conserves::<Tiho>(&t, &taints),
            conserves::<Poison>(&t, &taints),
        ];
        assert!(
            hits.iter().all(|h| *h == hits[0]),
            "detection is model-free"
        );
        split_rounds += hits[0] as usize;
    }
    // the rounds are CoinJoins by construction (JoinMarket shape): nearly all split
    assert!(split_rounds > 300, "{split_rounds}");
}
