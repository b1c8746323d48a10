//! CoinJoin detection. A CoinJoin's inputs belong to many owners, so the multi-input heuristic
//! must not merge them, and its outputs have no change to guess. Each detector is a shape test
//! on values and counts; parameters are in [`CoinJoinParams`] with their defaults documented.
//!
//! - **Whirlpool** (Samourai): exactly 5 inputs and 5 outputs, every output exactly one pool
//!   denomination (100,000 / 1,000,000 / 5,000,000 / 50,000,000 sats), every input at least it.
//! - **Whirlpool Tx0** (the premix transaction): an OP_RETURN output and 1+ equal outputs a
//!   little above a pool denomination (d < v ≤ d + d/10, the premix outputs carrying the
//!   mixing fee). Not a CoinJoin — one wallet made it — so its inputs are merged; reported so
//!   that its change is not guessed.
//! - **Wasabi 2** (WabiSabi): ≥ 20 inputs, at least half of the outputs at Wasabi's standard
//!   denominations (2^n, 3^n, 2·3^n, 10^n, 2·10^n, 5·10^n sats, ≥ 5,000 sats), at least 3
//!   distinct such values and one of them repeated.
//! - **Wasabi 1.x** (ZeroLink): ≥ 10 inputs and ≥ 10 equal outputs within ±0.01 BTC of 0.1 BTC.
//! - **JoinMarket**: n ≥ 3 equal outputs (≥ 10,000 sats, distinct addresses), at least n
//!   inputs and at most 2n outputs (the equal ones plus at most one change per participant).

use super::{OutView, ScriptKind, TxView};

/// Whirlpool pool denominations, sats.
pub const WHIRLPOOL_POOLS: [u64; 4] = [100_000, 1_000_000, 5_000_000, 50_000_000];

/// Which CoinJoin (or CoinJoin-related) shape a transaction has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoinJoinKind {
    /// Samourai Whirlpool mix (5 × 5).
    Whirlpool,
    /// Samourai Whirlpool premix (Tx0): one owner, not a CoinJoin.
    WhirlpoolTx0,
    /// Wasabi 2.x (WabiSabi).
    Wasabi2,
    /// Wasabi 1.x (ZeroLink).
    Wasabi1,
    /// JoinMarket (or another equal-output CoinJoin).
    JoinMarket,
}

impl CoinJoinKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CoinJoinKind::Whirlpool => "whirlpool",
            CoinJoinKind::WhirlpoolTx0 => "whirlpool_tx0",
            CoinJoinKind::Wasabi2 => "wasabi2",
            CoinJoinKind::Wasabi1 => "wasabi1",
            CoinJoinKind::JoinMarket => "joinmarket",
        }
    }

    /// True when the inputs have several owners (everything but Tx0).
    pub fn is_coinjoin(self) -> bool {
        !matches!(self, CoinJoinKind::WhirlpoolTx0)
    }
}

/// A detected shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CoinJoin {
    /// Which.
    pub kind: CoinJoinKind,
    /// The equal output value (pool denomination for Whirlpool and Tx0), sats.
    pub denomination: u64,
    /// Outputs at that value.
    pub equal_outputs: u32,
    /// Inputs.
    pub inputs: u32,
    /// Outputs.
    pub outputs: u32,
}

/// Detector parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoinJoinParams {
    /// Wasabi 1: least inputs (10).
    pub wasabi1_min_inputs: usize,
    /// Wasabi 1: least equal outputs (10).
    pub wasabi1_min_equal: usize,
    /// Wasabi 1: base denomination, sats (10,000,000 = 0.1 BTC).
    pub wasabi1_base: u64,
    /// Wasabi 1: tolerance around the base, sats (1,000,000).
    pub wasabi1_tolerance: u64,
    /// Wasabi 2: least inputs (20).
    pub wasabi2_min_inputs: usize,
    /// Wasabi 2: least share of outputs at standard denominations (0.5).
    pub wasabi2_min_share: f64,
    /// JoinMarket: least equal outputs (3).
    pub joinmarket_min_equal: usize,
    /// JoinMarket: least value of the equal outputs, sats (10,000).
    pub joinmarket_min_value: u64,
}

impl Default for CoinJoinParams {
    fn default() -> Self {
        CoinJoinParams {
            wasabi1_min_inputs: 10,
            wasabi1_min_equal: 10,
            wasabi1_base: 10_000_000,
            wasabi1_tolerance: 1_000_000,
            wasabi2_min_inputs: 20,
            wasabi2_min_share: 0.5,
            joinmarket_min_equal: 3,
            joinmarket_min_value: 10_000,
        }
    }
}

fn is_power(mut v: u64, b: u64) -> bool {
    if v == 0 {
        return false;
    }
    while v % b == 0 {
        v /= b;
    }
    v == 1
}

/// A Wasabi 2 standard denomination (≥ 5,000 sats).
pub fn is_wasabi2_denomination(v: u64) -> bool {
    if v < 5_000 {
        return false;
    }
    let tens = |c: u64| v % c == 0 && is_power(v / c, 10);
    is_power(v, 2)
        || is_power(v, 3)
        || (v % 2 == 0 && is_power(v / 2, 3))
        || tens(1)
        || tens(2)
        || tens(5)
}

/// The most common spendable output value and its count (ties: the larger value).
fn most_common(outs: &[OutView]) -> Option<(u64, usize)> {
    let mut vals: Vec<u64> = outs
        .iter()
        .filter(|o| o.spendable())
        .map(|o| o.value)
        .collect();
    vals.sort_unstable();
    let mut best: Option<(u64, usize)> = None;
    let mut i = 0;
    while i < vals.len() {
        let j = vals[i..].iter().take_while(|v| **v == vals[i]).count();
        if best.is_none_or(|(_, n)| j >= n) {
            best = Some((vals[i], j));
        }
        i += j;
    }
    best
}

/// Detect the shape of `v`, if any (in the order of the module docs).
pub fn detect(v: &TxView, p: &CoinJoinParams) -> Option<CoinJoin> {
    let (n_in, n_out) = (v.inputs.len(), v.outputs.len());
    let mk = |kind, denomination, equal: usize| CoinJoin {
        kind,
        denomination,
        equal_outputs: equal as u32,
        inputs: n_in as u32,
        outputs: n_out as u32,
    };
    // Whirlpool mix
    if n_in == 5 && n_out == 5 {
        let d = v.outputs[0].value;
        if WHIRLPOOL_POOLS.contains(&d)
            && v.outputs.iter().all(|o| o.value == d)
            && v.inputs.iter().all(|i| i.value >= d)
        {
            return Some(mk(CoinJoinKind::Whirlpool, d, 5));
        }
    }
    // Tx0
    if n_out >= 3 && v.outputs.iter().any(|o| o.kind == ScriptKind::OpReturn) {
        if let Some((val, n)) = most_common(&v.outputs) {
            if let Some(d) = WHIRLPOOL_POOLS
                .iter()
                .find(|d| val > **d && val <= **d + **d / 10)
            {
                return Some(mk(CoinJoinKind::WhirlpoolTx0, *d, n));
            }
        }
    }
    let spendable: Vec<&OutView> = v.outputs.iter().filter(|o| o.spendable()).collect();
    let common = most_common(&v.outputs);
    // Wasabi 2
    if n_in >= p.wasabi2_min_inputs && !spendable.is_empty() {
        let std: Vec<u64> = spendable
            .iter()
            .map(|o| o.value)
            .filter(|v| is_wasabi2_denomination(*v))
            .collect();
        let mut distinct = std.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let share = std.len() as f64 / spendable.len() as f64;
        if share >= p.wasabi2_min_share && distinct.len() >= 3 && distinct.len() < std.len() {
            let (d, n) = common.unwrap_or((0, 0));
            return Some(mk(CoinJoinKind::Wasabi2, d, n));
        }
    }
    let (val, n) = common?;
    // Wasabi 1
    if n_in >= p.wasabi1_min_inputs
        && n >= p.wasabi1_min_equal
        && val.abs_diff(p.wasabi1_base) <= p.wasabi1_tolerance
    {
        return Some(mk(CoinJoinKind::Wasabi1, val, n));
    }
    // JoinMarket
    if n >= p.joinmarket_min_equal && val >= p.joinmarket_min_value && n_in >= n && n_out <= 2 * n {
        let mut addrs: Vec<u32> = spendable
            .iter()
            .filter(|o| o.value == val)
            .filter_map(|o| o.address)
            .collect();
        let with = addrs.len();
        addrs.sort_unstable();
        addrs.dedup();
        if addrs.len() == with {
            return Some(mk(CoinJoinKind::JoinMarket, val, n));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasabi2_denominations() {
        for v in [
            5_000, 6_561, 8_192, 10_000, 13_122, 20_000, 50_000, 100_000, 1_000_000, 2_000_000,
            5_000_000, 4_782_969,
        ] {
            assert!(is_wasabi2_denomination(v), "{v}");
        }
        for v in [4_096, 7_000, 12_345, 30_000, 99_999, 110_000] {
            assert!(!is_wasabi2_denomination(v), "{v}");
        }
    }
}
