//! CoinJoins with `--demix` (ADR 0003 "CoinJoins with --demix"): for a detected Whirlpool,
//! Wasabi 1/2 or JoinMarket transaction ([`crate::graph::cluster::coinjoin`]) the taint of the
//! tainted inputs no longer spreads over every output by the model. Each input is cut into its
//! **mixed part** (the denomination it bought), its **change** (when identifiable) and its
//! **rest** (fee share, or the whole unmixed remainder when the change is not identified):
//!
//! - the taint of the parts mixed at a denomination is shared equally by that denomination's
//!   outputs (cumulative floors, so the parts add up exactly): a haircut over the
//!   participants, whatever the model ([`denominations`] says which values are mixed);
//! - an identified change receives the change part of its input as the model splits it
//!   (`coinjoin_change`, rule in [`CHANGE_RULE`]);
//! - the rest parts' taint is shared by the other outputs (non-denomination outputs that are not
//!   an identified change: coordinator fee, unidentified changes) and the miner fee, in
//!   proportion to value.
//!
//! Outputs identified as another (clean) input's change receive nothing. Poison: every equal
//! output is fully tainted when a tainted mixed part entered, the identified change of a
//! tainted input is fully tainted, and the rest outputs and the fee are fully tainted when a
//! tainted rest part entered. Whirlpool Tx0s are not CoinJoins (one owner): the model applies.
//! A change the rule names below `--min-confidence` is written to the evidence, not applied.
//! Taint beyond a part's value (more tainted inputs than a level's outputs) moves to the other
//! parts, so haircut, FIFO, LIFO and TIHO conserve taint exactly through every CoinJoin.

use alloy_primitives::U256;

use super::Evidence;
use super::models::{TaintModel, proportional};
use crate::graph::cluster::coinjoin::{self, CoinJoin, CoinJoinKind, CoinJoinParams};
use crate::graph::cluster::{InView, OutView, ScriptKind, TxView};
use crate::model::{Address, Chain};
use crate::store::StoredUtxoTx;

/// Heuristic name of the equal-output split (evidence.jsonl, `--no-heuristic`).
pub const EQUAL_OUTPUTS: &str = "coinjoin_equal_outputs";
/// Heuristic name of the change identification (evidence.jsonl, `--no-heuristic`).
pub const CHANGE: &str = "coinjoin_change";
/// The change rule, as written in evidence.
pub const CHANGE_RULE: &str = "the only non-denomination output o with 0 <= v - D - o <= D/100 \
     for input value v and a denomination D <= v, matching no other input";
/// Confidence of an identified change: Wasabi's and JoinMarket's coordinators return each
/// participant's unmixed remainder, less its fee share, as one output; a value match within
/// 1% of the denomination that no other input shares is almost surely it. The 0.1 left allows
/// for participants who registered several inputs (their change matches no single input, or
/// matches one by coincidence).
pub const CHANGE_CONFIDENCE: f64 = 0.9;
/// Largest fee share an identified change may leave, as a divisor of the denomination (1%).
pub const FEE_SHARE_DIVISOR: u64 = 100;

/// The CoinJoin rule of one trace: settings in, evidence out.
#[derive(Debug, Clone)]
pub struct Demixer {
    chain: Chain,
    equal_outputs: bool,
    change: bool,
    change_followed: bool,
    min_confidence: f64,
    params: CoinJoinParams,
    /// One line per CoinJoin the taint passed through and one per change of a tainted input
    /// the rule names (applied when its confidence reaches `--min-confidence`), in replay
    /// order.
    pub evidence: Vec<Evidence>,
}

/// How one input is cut: `mixed` sats into the equal outputs of denomination `level` (index
/// into the denominations), its identified change (output index, value), and `rest` (its fee
/// share, or its whole unmixed remainder when the change is not identified).
#[derive(Debug, Clone, Copy)]
struct Cut {
    level: usize,
    mixed: u64,
    change: Option<(usize, u64)>,
    rest: u64,
}

impl Demixer {
    /// The rule for a trace on `chain` with `follow` settings (`coinjoin_equal_outputs` or
    /// `coinjoin_change` switched off by `--no-heuristic`; a change whose confidence is below
    /// `--min-confidence` is not identified).
    pub fn new(chain: Chain, follow: &super::Follow) -> Demixer {
        Demixer {
            chain,
            equal_outputs: follow.enabled(EQUAL_OUTPUTS),
            change: follow.enabled(CHANGE),
            change_followed: CHANGE_CONFIDENCE >= follow.min_confidence,
            min_confidence: follow.min_confidence,
            params: CoinJoinParams::default(),
            evidence: Vec::new(),
        }
    }

    /// The parcels of `tx`'s outputs (fee last, as [`TaintModel::utxo_split`]) when `tx` is a
    /// CoinJoin with a tainted input; `None` otherwise (the model's split applies).
    pub fn split<M: TaintModel>(
        &mut self,
        tx: &StoredUtxoTx,
        inputs: &[(U256, M::Parcel)],
        values: &[U256],
    ) -> Option<Vec<M::Parcel>> {
        if !self.equal_outputs
            || tx.is_coinbase()
            || inputs.iter().all(|(_, p)| M::parcel_taint(p).is_zero())
            || values.len() != tx.outputs.len() + 1
            || inputs.len() != tx.inputs.len()
        {
            return None;
        }
        let cj = coinjoin::detect(&view(tx), &self.params)?;
        if !cj.kind.is_coinjoin() {
            return None;
        }
        let denoms = denominations(tx, &cj);
        if denoms.is_empty() {
            return None;
        }
        // changes named by the rule; applied only at or above the confidence threshold
        let named = self.cuts(tx, &cj, &denoms, self.change);
        let cuts = if self.change_followed {
            named.clone()
        } else {
            self.cuts(tx, &cj, &denoms, false)
        };
        let n_out = tx.outputs.len();

        // each tainted input cut by the model into mixed / change / rest
        let mut out: Vec<Option<M::Parcel>> = vec![None; n_out + 1];
        let mut t_mix = vec![U256::ZERO; denoms.len()];
        let mut t_rest = U256::ZERO;
        let mut tainted_inputs = Vec::new();
        let mut change_lines = Vec::new();
        for (i, ((v, p), cut)) in inputs.iter().zip(&cuts).enumerate() {
            let t = M::parcel_taint(p);
            if t.is_zero() {
                continue;
            }
            if let (None, Some((o, _))) = (cut.change, named[i].change) {
                change_lines.push((i, named[i], o, U256::ZERO, false));
            }
            let c = cut.change.map_or(0, |(_, c)| c);
            let parts = [U256::from(cut.mixed), U256::from(c), U256::from(cut.rest)];
            let mut got = M::utxo_split(&[(*v, p.clone())], &parts).into_iter();
            let (pm, pc, pr) = (got.next()?, got.next()?, got.next()?);
            let (tm, tc, tr) = (
                M::parcel_taint(&pm),
                M::parcel_taint(&pc),
                M::parcel_taint(&pr),
            );
            t_mix[cut.level] += tm;
            t_rest += tr;
            if let Some((o, _)) = cut.change {
                out[o] = Some(pc);
                change_lines.push((i, *cut, o, tc, true));
            }
            tainted_inputs.push(serde_json::json!({
                "input": i,
                "address": tx.inputs[i].address.as_ref().map(Address::to_string),
                "value": v.to_string(),
                "taint": t.to_string(),
                "denomination": denoms[cut.level].to_string(),
                "mixed": cut.mixed.to_string(),
                "mixed_taint": tm.to_string(),
                "change_vout": cut.change.map(|(o, _)| o),
                "change_taint": tc.to_string(),
                "rest": cut.rest.to_string(),
                "rest_taint": tr.to_string(),
            }));
        }

        // which output is what: equal (per level), identified change, rest (the fee is rest)
        let identified: Vec<bool> = (0..n_out)
            .map(|o| cuts.iter().any(|c| c.change.is_some_and(|(x, _)| x == o)))
            .collect();
        let level_of = |o: usize| -> Option<usize> {
            spendable(tx, o)
                .then(|| denoms.iter().position(|d| *d == tx.outputs[o].value))
                .flatten()
        };
        let equal: Vec<Vec<usize>> = (0..denoms.len())
            .map(|l| (0..n_out).filter(|o| level_of(*o) == Some(l)).collect())
            .collect();
        let rest: Vec<usize> = (0..=n_out)
            .filter(|o| *o == n_out || (!identified[*o] && level_of(*o).is_none()))
            .collect();
        let rest_values: Vec<U256> = rest.iter().map(|o| values[*o]).collect();
        let rest_cap: U256 = rest_values.iter().copied().sum();
        // taint beyond a level's capacity (more tainted inputs than its outputs, inputs below
        // the smallest denomination) goes to the rest; beyond the rest's capacity, back to the
        // levels with room. The total fits: taint ≤ value.
        for (l, t) in t_mix.iter_mut().enumerate() {
            let cap = U256::from(denoms[l]) * U256::from(equal[l].len());
            if *t > cap {
                t_rest += *t - cap;
                *t = cap;
            }
        }
        if t_rest > rest_cap {
            let mut over = t_rest - rest_cap;
            t_rest = rest_cap;
            for (l, t) in t_mix.iter_mut().enumerate() {
                let room = U256::from(denoms[l]) * U256::from(equal[l].len()) - *t;
                let add = room.min(over);
                *t += add;
                over -= add;
            }
        }

        let share = |t: U256, vals: &[U256]| -> Vec<U256> {
            if M::CONSERVING {
                proportional(t, vals)
            } else if t.is_zero() {
                vec![U256::ZERO; vals.len()]
            } else {
                vals.to_vec()
            }
        };
        let mut levels = Vec::new();
        for (l, outs) in equal.iter().enumerate() {
            let vals: Vec<U256> = outs.iter().map(|o| values[*o]).collect();
            let shares = share(t_mix[l], &vals);
            for ((o, v), s) in outs.iter().zip(&vals).zip(&shares) {
                out[*o] = Some(M::fresh(*v, *s));
            }
            if !t_mix[l].is_zero() {
                levels.push((l, outs.clone(), shares));
            }
        }
        for ((o, v), s) in rest
            .iter()
            .zip(&rest_values)
            .zip(share(t_rest, &rest_values))
        {
            out[*o] = Some(M::fresh(*v, s));
        }
        let parcels: Vec<M::Parcel> = out
            .into_iter()
            .zip(values)
            .map(|(p, v)| p.unwrap_or_else(|| M::fresh(*v, U256::ZERO)))
            .collect();

        // evidence: the changes, then the CoinJoin
        for (i, cut, o, tc, applied) in change_lines {
            self.change_evidence(tx, &cj, i, &cut, denoms[cut.level], (o, tc, applied));
        }
        let k_min = levels
            .iter()
            .map(|(_, o, _)| o.len())
            .min()
            .unwrap_or(1)
            .max(1);
        let unidentified = cuts
            .iter()
            .zip(inputs)
            .filter(|(c, (_, p))| !M::parcel_taint(p).is_zero() && c.change.is_none() && c.rest > 0)
            .count();
        let levels_json: Vec<serde_json::Value> = levels
            .iter()
            .map(|(l, outs, shares)| {
                serde_json::json!({
                    "denomination": denoms[*l].to_string(),
                    "participants": outs.len(),
                    "taint": t_mix[*l].to_string(),
                    "per_output_share": outs.iter().zip(shares).map(|(o, s)| {
                        serde_json::json!({"vout": o, "taint": s.to_string()})
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        let participants: usize = levels.iter().map(|(_, o, _)| o.len()).sum();
        self.evidence.push(Evidence {
            heuristic: EQUAL_OUTPUTS,
            chain: self.chain.to_string(),
            address: first_tainted_address::<M>(tx, inputs),
            linked_to: tx.txid.display(self.chain),
            entity: cj.kind.as_str().to_string(),
            parameters: serde_json::json!({
                "kind": cj.kind.as_str(),
                "denominations": denoms.iter().map(u64::to_string).collect::<Vec<_>>(),
                "split": "each denomination's equal outputs share the taint of the parts mixed \
                          at it equally (haircut over the participants)",
                "rest_split": "rest outputs and the fee in proportion to value",
                "model": M::NAME,
                "min_confidence": self.min_confidence,
                "change_identification": self.change && self.change_followed,
            }),
            measured: serde_json::json!({
                "denomination": cj.denomination.to_string(),
                "participants": participants,
                "inputs": tx.inputs.len(),
                "outputs": n_out,
                "tainted_inputs": tainted_inputs,
                "levels": levels_json,
                "taint_to_rest": t_rest.to_string(),
                "rest_vouts": rest.iter().filter(|o| **o < n_out).collect::<Vec<_>>(),
                "identified_change_vouts": (0..n_out).filter(|o| identified[*o]).collect::<Vec<_>>(),
                "unidentified_change": unidentified,
            }),
            confidence: round3(1.0 / k_min as f64),
            witness_txs: vec![tx.txid.display(self.chain)],
            // the split claims no link to any one output (its confidence is that of picking
            // one): it is applied whatever the threshold
            followed: Some(true),
        });
        Some(parcels)
    }

    /// Cut every input: mixed part, change (when `identify` and the rule names one), rest.
    fn cuts(&self, tx: &StoredUtxoTx, cj: &CoinJoin, denoms: &[u64], identify: bool) -> Vec<Cut> {
        // (input, denomination, output) candidates of the change rule
        let mut cand: Vec<Vec<(u64, usize)>> = vec![Vec::new(); tx.inputs.len()];
        if identify && cj.kind != CoinJoinKind::Whirlpool {
            for (i, inp) in tx.inputs.iter().enumerate() {
                for d in denoms.iter().filter(|d| **d <= inp.value) {
                    let r = inp.value - d;
                    for (o, out) in tx.outputs.iter().enumerate() {
                        let ok = spendable(tx, o)
                            && !denoms.contains(&out.value)
                            && out.value <= r
                            && r - out.value <= d / FEE_SHARE_DIVISOR;
                        if ok {
                            cand[i].push((*d, o));
                        }
                    }
                }
            }
        }
        let claimed = |o: usize, by: usize| {
            cand.iter()
                .enumerate()
                .any(|(j, c)| j != by && c.iter().any(|(_, x)| *x == o))
        };
        tx.inputs
            .iter()
            .enumerate()
            .map(|(i, inp)| {
                let v = inp.value;
                match cand[i].as_slice() {
                    [(d, o)] if !claimed(*o, i) => {
                        let c = tx.outputs[*o].value;
                        Cut {
                            level: denoms.iter().position(|x| x == d).unwrap_or(0),
                            mixed: *d,
                            change: Some((*o, c)),
                            rest: v - d - c,
                        }
                    }
                    _ => {
                        // the largest denomination the input covers, else all of it into the
                        // smallest
                        let level = denoms.iter().rposition(|d| *d <= v);
                        let mixed = level.map_or(v, |l| denoms[l]);
                        Cut {
                            level: level.unwrap_or(0),
                            mixed,
                            change: None,
                            rest: v - mixed,
                        }
                    }
                }
            })
            .collect()
    }

    /// The `coinjoin_change` line of input `i`: change output `o`, the taint it received,
    /// whether the change was applied (confidence ≥ `--min-confidence`).
    fn change_evidence(
        &mut self,
        tx: &StoredUtxoTx,
        cj: &CoinJoin,
        i: usize,
        cut: &Cut,
        denomination: u64,
        (o, taint, applied): (usize, U256, bool),
    ) {
        let inp = &tx.inputs[i];
        let out = &tx.outputs[o];
        self.evidence.push(Evidence {
            heuristic: CHANGE,
            chain: self.chain.to_string(),
            address: inp
                .address
                .as_ref()
                .map(Address::to_string)
                .unwrap_or_default(),
            linked_to: out
                .address
                .as_ref()
                .map(Address::to_string)
                .unwrap_or_default(),
            entity: cj.kind.as_str().to_string(),
            parameters: serde_json::json!({
                "rule": CHANGE_RULE,
                "max_fee_share": format!("denomination/{FEE_SHARE_DIVISOR}"),
                "min_confidence": self.min_confidence,
            }),
            measured: serde_json::json!({
                "input": i,
                "input_value": inp.value.to_string(),
                "denomination": denomination.to_string(),
                "mixed": cut.mixed.to_string(),
                "change_vout": o,
                "change_value": out.value.to_string(),
                "fee_share": cut.rest.to_string(),
                "change_taint": taint.to_string(),
                "applied": applied,
            }),
            confidence: CHANGE_CONFIDENCE,
            witness_txs: vec![tx.txid.display(self.chain)],
            followed: Some(applied),
        });
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn spendable(tx: &StoredUtxoTx, o: usize) -> bool {
    let out = &tx.outputs[o];
    out.value > 0 && ScriptKind::of_script(&out.script_pubkey) != ScriptKind::OpReturn
}

fn first_tainted_address<M: TaintModel>(tx: &StoredUtxoTx, inputs: &[(U256, M::Parcel)]) -> String {
    tx.inputs
        .iter()
        .zip(inputs)
        .find(|(_, (_, p))| !M::parcel_taint(p).is_zero())
        .and_then(|(i, _)| i.address.as_ref().map(Address::to_string))
        .unwrap_or_default()
}

/// The denominations of a CoinJoin, ascending: Whirlpool and JoinMarket the detected one;
/// Wasabi 1 every output value ≥ it that appears at least twice (the base and its mixing
/// levels); Wasabi 2 every standard denomination that appears at least twice. An output value
/// that appears once has an anonymity set of one: it is not mixed.
pub fn denominations(tx: &StoredUtxoTx, cj: &CoinJoin) -> Vec<u64> {
    let mut vals: Vec<u64> = (0..tx.outputs.len())
        .filter(|o| spendable(tx, *o))
        .map(|o| tx.outputs[o].value)
        .collect();
    vals.sort_unstable();
    let mut out: Vec<u64> = Vec::new();
    for (i, v) in vals.iter().enumerate() {
        let repeated = vals.get(i + 1) == Some(v) && out.last() != Some(v);
        let keep = match cj.kind {
            CoinJoinKind::Whirlpool | CoinJoinKind::JoinMarket | CoinJoinKind::WhirlpoolTx0 => {
                *v == cj.denomination
            }
            CoinJoinKind::Wasabi1 => *v >= cj.denomination,
            CoinJoinKind::Wasabi2 => coinjoin::is_wasabi2_denomination(*v),
        };
        if repeated && keep {
            out.push(*v);
        }
    }
    out
}

/// Number `a` within a transaction (the detectors only compare addresses for equality).
fn intern<'a>(seen: &mut Vec<&'a Address>, a: &'a Option<Address>) -> Option<u32> {
    let a = a.as_ref()?;
    Some(match seen.iter().position(|x| *x == a) {
        Some(p) => p as u32,
        None => {
            seen.push(a);
            seen.len() as u32 - 1
        }
    })
}

/// The transaction as the detectors see it (addresses numbered within the transaction).
fn view(tx: &StoredUtxoTx) -> TxView {
    let mut seen: Vec<&Address> = Vec::new();
    let inputs = tx
        .inputs
        .iter()
        .map(|i| InView {
            address: intern(&mut seen, &i.address),
            value: i.value,
            kind: i
                .address
                .as_ref()
                .map_or(ScriptKind::Other, ScriptKind::of_address),
        })
        .collect();
    let outputs = tx
        .outputs
        .iter()
        .map(|o| OutView {
            address: intern(&mut seen, &o.address),
            value: o.value,
            kind: ScriptKind::of_script(&o.script_pubkey),
        })
        .collect();
    TxView { inputs, outputs }
}

#[cfg(test)]
mod tests;
