//! Change detection: which output of a payment returns to the payer. Each heuristic names at
//! most one output and has a fixed confidence (moneytrail's own calibration, 0–1):
//!
//! | heuristic | rule | confidence |
//! |---|---|---|
//! | `address_reuse` | exactly one output pays an input address (self-change) | 0.95 |
//! | `peel_chain` | 2 outputs (≤ 2 inputs); the larger is spent by a 1-input 2-output transaction, the smaller is not | 0.7 |
//! | `fresh_address` | exactly one output address appears for the first time, the others were seen before (one-time change) | 0.6 |
//! | `round_payment` | all outputs but one are round (multiples of 100,000 sats = 0.001 BTC): that one is change | 0.6 |
//! | `same_script_type` | all inputs share one script type and exactly one output has it | 0.55 |
//! | `optimal_change` | ≥ 2 inputs and exactly one output smaller than every input (else an input was unneeded) | 0.5 |
//!
//! Only transactions with at least two spendable outputs with addresses are considered.
//! `address_reuse` decides alone. Otherwise the heuristics that name an output vote; if they
//! all name the same output its confidence is 1 − Π(1 − cᵢ); if they disagree there is no
//! guess (the conflict is reported).

use super::{ScriptKind, TxView};

/// A change heuristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeHeuristic {
    /// An output pays an input address.
    AddressReuse,
    /// The output continuing a peel chain.
    PeelChain,
    /// The only output to a never-seen address.
    FreshAddress,
    /// The only non-round output.
    RoundPayment,
    /// The only output of the inputs' script type.
    SameScriptType,
    /// The only output smaller than every input.
    OptimalChange,
}

impl ChangeHeuristic {
    /// Name as written in evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeHeuristic::AddressReuse => "address_reuse",
            ChangeHeuristic::PeelChain => "peel_chain",
            ChangeHeuristic::FreshAddress => "fresh_address",
            ChangeHeuristic::RoundPayment => "round_payment",
            ChangeHeuristic::SameScriptType => "same_script_type",
            ChangeHeuristic::OptimalChange => "optimal_change",
        }
    }

    /// Confidence of the heuristic alone (see the module table).
    pub fn confidence(self) -> f64 {
        match self {
            ChangeHeuristic::AddressReuse => 0.95,
            ChangeHeuristic::PeelChain => 0.7,
            ChangeHeuristic::FreshAddress => 0.6,
            ChangeHeuristic::RoundPayment => 0.6,
            ChangeHeuristic::SameScriptType => 0.55,
            ChangeHeuristic::OptimalChange => 0.5,
        }
    }
}

/// The change output of a transaction, as guessed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChangeGuess {
    /// Output index of the change, if the heuristics agree on one.
    pub vout: Option<u32>,
    /// Combined confidence (0 without a guess).
    pub confidence: f64,
    /// Heuristics naming the guessed output.
    pub heuristics: Vec<ChangeHeuristic>,
    /// Heuristics that named another output (a conflict: no guess).
    pub conflicts: Vec<(ChangeHeuristic, u32)>,
}

/// What the heuristics need beyond the transaction itself.
pub trait ChangeContext {
    /// The address appears for the first time in this transaction.
    fn is_fresh(&self, address: u32) -> bool;
    /// (inputs, outputs) of the transaction that spends output `vout`, if known.
    fn spender_shape(&self, vout: u32) -> Option<(usize, usize)>;
}

/// A candidate change output: (vout, value, address id, script type).
type Cand = (u32, u64, u32, ScriptKind);

/// Round: a multiple of 100,000 sats (0.001 BTC).
pub fn is_round(v: u64) -> bool {
    v > 0 && v % 100_000 == 0
}

/// Guess the change of `v`; `None` when the transaction has no payment/change structure.
pub fn guess(v: &TxView, ctx: &dyn ChangeContext) -> Option<ChangeGuess> {
    let cands: Vec<Cand> = v
        .outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.spendable())
        .filter_map(|(i, o)| o.address.map(|a| (i as u32, o.value, a, o.kind)))
        .collect();
    if cands.len() < 2 || v.inputs.is_empty() {
        return None;
    }
    let only = |pred: &dyn Fn(&Cand) -> bool| -> Option<u32> {
        let hits: Vec<u32> = cands.iter().filter(|c| pred(c)).map(|c| c.0).collect();
        (hits.len() == 1).then(|| hits[0])
    };
    let inputs: Vec<u32> = v.inputs.iter().filter_map(|i| i.address).collect();
    if let Some(o) = only(&|c| inputs.contains(&c.2)) {
        return Some(ChangeGuess {
            vout: Some(o),
            confidence: ChangeHeuristic::AddressReuse.confidence(),
            heuristics: vec![ChangeHeuristic::AddressReuse],
            conflicts: Vec::new(),
        });
    }
    let mut votes: Vec<(ChangeHeuristic, u32)> = Vec::new();
    // peel chain
    if cands.len() == 2
        && v.outputs.iter().filter(|o| o.spendable()).count() == 2
        && v.inputs.len() <= 2
    {
        let peel = |c: &Cand| ctx.spender_shape(c.0) == Some((1, 2));
        let (a, b) = (cands[0], cands[1]);
        let (big, small) = if a.1 >= b.1 { (a, b) } else { (b, a) };
        if big.1 > small.1 && peel(&big) && !peel(&small) {
            votes.push((ChangeHeuristic::PeelChain, big.0));
        }
    }
    // one-time change
    let fresh = cands.iter().filter(|c| ctx.is_fresh(c.2)).count();
    if fresh == 1 {
        if let Some(o) = only(&|c| ctx.is_fresh(c.2)) {
            votes.push((ChangeHeuristic::FreshAddress, o));
        }
    }
    // round payment
    if let Some(o) = only(&|c| !is_round(c.1)) {
        votes.push((ChangeHeuristic::RoundPayment, o));
    }
    // same script type
    let kinds: Vec<ScriptKind> = v
        .inputs
        .iter()
        .map(|i| i.kind)
        .filter(|k| *k != ScriptKind::Other)
        .collect();
    if !kinds.is_empty() && kinds.iter().all(|k| *k == kinds[0]) {
        if let Some(o) = only(&|c| c.3 == kinds[0]) {
            votes.push((ChangeHeuristic::SameScriptType, o));
        }
    }
    // optimal change
    if v.inputs.len() >= 2 {
        let min_in = v.inputs.iter().map(|i| i.value).min().unwrap_or(0);
        if let Some(o) = only(&|c| c.1 < min_in) {
            votes.push((ChangeHeuristic::OptimalChange, o));
        }
    }
    let first = votes.first()?.1;
    if votes.iter().any(|(_, o)| *o != first) {
        return Some(ChangeGuess {
            vout: None,
            confidence: 0.0,
            heuristics: Vec::new(),
            conflicts: votes,
        });
    }
    let miss: f64 = votes.iter().map(|(h, _)| 1.0 - h.confidence()).product();
    Some(ChangeGuess {
        vout: Some(first),
        confidence: 1.0 - miss,
        heuristics: votes.into_iter().map(|(h, _)| h).collect(),
        conflicts: Vec::new(),
    })
}
