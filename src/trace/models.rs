//! The taint models: how the taint a node holds splits when value leaves it.
//! Semantics are those of DESIGN.md, written out in `docs/adr/0003-taint-semantics.md`.
//!
//! A model is a ledger type (one per (address, asset)) and a parcel type (what one transfer
//! carries). Everything is exact integer arithmetic in base units.

use std::collections::VecDeque;

use alloy_primitives::{U256, U512};

/// floor(a × b / c) exactly, for b ≤ c (so the result fits in 256 bits); 0 when c is 0.
pub fn mul_div_floor(a: U256, b: U256, c: U256) -> U256 {
    if c.is_zero() {
        return U256::ZERO;
    }
    // the common case: everything fits in 128 bits, and so does the product's quotient path
    if a.bit_len() + b.bit_len() <= 128 && c.bit_len() <= 128 {
        let (a, b, c) = (a.to::<u128>(), b.to::<u128>(), c.to::<u128>());
        return U256::from(a * b / c);
    }
    match a.checked_mul(b) {
        Some(p) => p / c,
        None => {
            let wide: U512 = a.widening_mul(b);
            let q = wide / U512::from(c);
            U256::from_limbs_slice(&q.as_limbs()[..4])
        }
    }
}

/// A taint model. `Ledger` is the state of one (address, asset); `Parcel` what a transfer
/// carries from one ledger to another.
pub trait TaintModel {
    /// Name as used on the command line and in summary.json.
    const NAME: &'static str;
    /// Whether taint is conserved (injected = endpoints + fees + unspent, exactly).
    const CONSERVING: bool;
    /// State of one ledger.
    type Ledger: Default + Clone;
    /// What one transfer carries.
    type Parcel: Clone;

    /// Balance of a ledger.
    fn balance(l: &Self::Ledger) -> U256;
    /// Taint held by a ledger.
    fn taint(l: &Self::Ledger) -> U256;
    /// Tainted amount of a parcel.
    fn parcel_taint(p: &Self::Parcel) -> U256;
    /// A parcel of `amount` of which `tainted` (≤ amount) is tainted, made outside any ledger
    /// (value entering a seed from outside, an opening balance, unexplained value).
    fn fresh(amount: U256, tainted: U256) -> Self::Parcel;
    /// Value arrives. Callers pass the transfer's amount (equal to the parcel's amount).
    fn deposit(l: &mut Self::Ledger, amount: U256, parcel: Self::Parcel);
    /// Value leaves; callers make sure `amount ≤ balance` first.
    fn withdraw(l: &mut Self::Ledger, amount: U256) -> Self::Parcel;
    /// Several outflows of one ledger inside one transaction, in order. By default they are
    /// taken one after the other; TIHO looks at them together.
    fn withdraw_group(l: &mut Self::Ledger, amounts: &[U256]) -> Vec<Self::Parcel> {
        amounts.iter().map(|a| Self::withdraw(l, *a)).collect()
    }
    /// A UTXO transaction as a transient node: `inputs` (value, parcel) in input order,
    /// `outputs` the output values in order with the fee last (Σ outputs = Σ inputs). Returns
    /// one parcel per output.
    fn utxo_split(inputs: &[(U256, Self::Parcel)], outputs: &[U256]) -> Vec<Self::Parcel>;
}

/// Split `taint` over `outputs` in proportion to value, exactly: output i gets
/// floor(taint·C_i/V) − floor(taint·C_(i−1)/V) with C the running sum and V the total, so the
/// parts add up to `taint` with no rounding loss.
pub fn proportional(taint: U256, outputs: &[U256]) -> Vec<U256> {
    let total: U256 = outputs.iter().copied().sum();
    let mut cum = U256::ZERO;
    let mut prev = U256::ZERO;
    outputs
        .iter()
        .map(|v| {
            cum += *v;
            let upto = if cum == total {
                taint
            } else {
                mul_div_floor(taint, cum, total)
            };
            let part = upto - prev;
            prev = upto;
            part
        })
        .collect()
}

/// Taint to the highest outputs first (ties: lower index first).
pub fn highest_first(taint: U256, outputs: &[U256]) -> Vec<U256> {
    let mut order: Vec<(U256, usize)> = outputs.iter().copied().zip(0..).collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = taint;
    let mut got = vec![U256::ZERO; outputs.len()];
    for (v, i) in order {
        let take = v.min(left);
        got[i] = take;
        left -= take;
    }
    got
}

/// Lay the inputs' lots end to end and cut them into the outputs, in order.
fn slice_lots(lots: Vec<Lot>, outputs: &[U256]) -> Vec<Pieces> {
    let mut it = lots.into_iter().filter(|l| !l.0.is_zero());
    let mut cur: Option<Lot> = None;
    outputs
        .iter()
        .map(|v| {
            let mut need = *v;
            let mut pieces: Vec<Lot> = Vec::new();
            while !need.is_zero() {
                let (amt, t) = match cur.take().or_else(|| it.next()) {
                    Some(l) => l,
                    None => break,
                };
                let take = amt.min(need);
                need -= take;
                if amt > take {
                    cur = Some((amt - take, t));
                }
                match pieces.last_mut() {
                    Some(last) if last.1 == t => last.0 += take,
                    _ => pieces.push((take, t)),
                }
            }
            Pieces(pieces)
        })
        .collect()
}

/// Tainted amount of a plain parcel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plain(pub U256);

/// Balance and taint of a ledger that tracks taint as one number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pool {
    /// Balance.
    pub b: U256,
    /// Tainted part of the balance.
    pub t: U256,
}

/// Poison: a node with any taint has its whole balance tainted; every outflow of such a node
/// is fully tainted; a node whose balance reaches exactly 0 is clean again. Not conserving:
/// it sweeps clean value into the taint by design.
#[derive(Debug, Default)]
pub struct Poison;

/// The poison ledger: balance and whether it is tainted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoisonLedger {
    /// Balance.
    pub b: U256,
    /// Whole balance tainted.
    pub tainted: bool,
}

impl TaintModel for Poison {
    const NAME: &'static str = "poison";
    const CONSERVING: bool = false;
    type Ledger = PoisonLedger;
    type Parcel = Plain;

    fn balance(l: &PoisonLedger) -> U256 {
        l.b
    }
    fn taint(l: &PoisonLedger) -> U256 {
        if l.tainted { l.b } else { U256::ZERO }
    }
    fn parcel_taint(p: &Plain) -> U256 {
        p.0
    }
    fn fresh(_amount: U256, tainted: U256) -> Plain {
        Plain(tainted)
    }
    fn deposit(l: &mut PoisonLedger, amount: U256, parcel: Plain) {
        l.b += amount;
        if !parcel.0.is_zero() {
            l.tainted = true;
        }
    }
    fn withdraw(l: &mut PoisonLedger, amount: U256) -> Plain {
        let out = if l.tainted { amount } else { U256::ZERO };
        l.b -= amount;
        if l.b.is_zero() {
            l.tainted = false;
        }
        Plain(out)
    }
    fn utxo_split(inputs: &[(U256, Plain)], outputs: &[U256]) -> Vec<Plain> {
        let tainted = inputs.iter().any(|(_, p)| !p.0.is_zero());
        outputs
            .iter()
            .map(|v| Plain(if tainted { *v } else { U256::ZERO }))
            .collect()
    }
}

/// Haircut: an outflow v carries floor(t × v / b) of the sender's taint t and balance b.
#[derive(Debug, Default)]
pub struct Haircut;

impl TaintModel for Haircut {
    const NAME: &'static str = "haircut";
    const CONSERVING: bool = true;
    type Ledger = Pool;
    type Parcel = Plain;

    fn balance(l: &Pool) -> U256 {
        l.b
    }
    fn taint(l: &Pool) -> U256 {
        l.t
    }
    fn parcel_taint(p: &Plain) -> U256 {
        p.0
    }
    fn fresh(_amount: U256, tainted: U256) -> Plain {
        Plain(tainted)
    }
    fn deposit(l: &mut Pool, amount: U256, parcel: Plain) {
        l.b += amount;
        l.t += parcel.0;
    }
    fn withdraw(l: &mut Pool, amount: U256) -> Plain {
        let moved = if l.t.is_zero() {
            U256::ZERO
        } else if amount == l.b || l.t == l.b {
            // all of it, or a fully tainted balance: no division needed
            if amount == l.b { l.t } else { amount }
        } else {
            mul_div_floor(l.t, amount, l.b)
        };
        l.t -= moved;
        l.b -= amount;
        Plain(moved)
    }
    fn utxo_split(inputs: &[(U256, Plain)], outputs: &[U256]) -> Vec<Plain> {
        let t: U256 = inputs.iter().map(|(_, p)| p.0).sum();
        proportional(t, outputs).into_iter().map(Plain).collect()
    }
}

/// TIHO, "taint in, highest out" (Tironsakkul et al.): the outputs of a transaction — here a
/// ledger's outflows in one transaction plus what stays in the ledger — receive the ledger's
/// taint in descending order of value, each as much as it can hold. Ties: outflows in replay
/// order before the remaining balance.
#[derive(Debug, Default)]
pub struct Tiho;

impl TaintModel for Tiho {
    const NAME: &'static str = "tiho";
    const CONSERVING: bool = true;
    type Ledger = Pool;
    type Parcel = Plain;

    fn balance(l: &Pool) -> U256 {
        l.b
    }
    fn taint(l: &Pool) -> U256 {
        l.t
    }
    fn parcel_taint(p: &Plain) -> U256 {
        p.0
    }
    fn fresh(_amount: U256, tainted: U256) -> Plain {
        Plain(tainted)
    }
    fn deposit(l: &mut Pool, amount: U256, parcel: Plain) {
        l.b += amount;
        l.t += parcel.0;
    }
    fn withdraw(l: &mut Pool, amount: U256) -> Plain {
        // outputs: this outflow and what stays; the larger takes the taint first (tie: outflow)
        let stay = l.b - amount;
        let out = if amount >= stay {
            amount.min(l.t)
        } else {
            l.t.saturating_sub(stay)
        };
        l.b = stay;
        l.t -= out;
        Plain(out)
    }
    fn withdraw_group(l: &mut Pool, amounts: &[U256]) -> Vec<Plain> {
        let total: U256 = amounts.iter().copied().sum();
        let stay = l.b - total;
        // (value, position); position amounts.len() is the remaining balance
        let mut order: Vec<(U256, usize)> = amounts.iter().copied().zip(0..).collect();
        order.push((stay, amounts.len()));
        order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut left = l.t;
        let mut got = vec![U256::ZERO; amounts.len() + 1];
        for (v, pos) in order {
            let take = v.min(left);
            got[pos] = take;
            left -= take;
        }
        l.b = stay;
        l.t = got[amounts.len()];
        got.truncate(amounts.len());
        got.into_iter().map(Plain).collect()
    }
    fn utxo_split(inputs: &[(U256, Plain)], outputs: &[U256]) -> Vec<Plain> {
        let t: U256 = inputs.iter().map(|(_, p)| p.0).sum();
        highest_first(t, outputs).into_iter().map(Plain).collect()
    }
}

/// A run of value that is wholly tainted or wholly clean.
pub type Lot = (U256, bool);

/// Lots of a FIFO/LIFO ledger; adjacent lots of the same kind are merged (indistinguishable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lots {
    lots: VecDeque<Lot>,
    b: U256,
    t: U256,
}

impl Lots {
    fn push_back(&mut self, (amount, tainted): Lot) {
        if amount.is_zero() {
            return;
        }
        self.b += amount;
        if tainted {
            self.t += amount;
        }
        match self.lots.back_mut() {
            Some(last) if last.1 == tainted => last.0 += amount,
            _ => self.lots.push_back((amount, tainted)),
        }
    }

    fn take(&mut self, mut amount: U256, from_front: bool) -> Vec<Lot> {
        let mut pieces: Vec<Lot> = Vec::new();
        while !amount.is_zero() {
            let lot = if from_front {
                self.lots.front_mut()
            } else {
                self.lots.back_mut()
            };
            let Some(lot) = lot else { break };
            let piece = lot.0.min(amount);
            lot.0 -= piece;
            let tainted = lot.1;
            if lot.0.is_zero() {
                if from_front {
                    self.lots.pop_front();
                } else {
                    self.lots.pop_back();
                }
            }
            amount -= piece;
            self.b -= piece;
            if tainted {
                self.t -= piece;
            }
            match pieces.last_mut() {
                Some(last) if last.1 == tainted => last.0 += piece,
                _ => pieces.push((piece, tainted)),
            }
        }
        pieces
    }

    /// The lots, oldest first.
    pub fn lots(&self) -> impl Iterator<Item = &Lot> {
        self.lots.iter()
    }
}

/// Pieces of lots carried by one FIFO/LIFO transfer, in the order taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pieces(pub Vec<Lot>);

fn pieces_taint(p: &Pieces) -> U256 {
    p.0.iter().filter(|l| l.1).map(|l| l.0).sum()
}

fn fresh_pieces(amount: U256, tainted: U256) -> Pieces {
    let mut v = Vec::new();
    if !tainted.is_zero() {
        v.push((tainted, true));
    }
    if amount > tainted {
        v.push((amount - tainted, false));
    }
    Pieces(v)
}

/// FIFO (Anderson et al.; Clayton's rule): a ledger is a queue of lots, the opening balance
/// first; an outflow takes the oldest lots; the pieces arrive at the receiver as separate lots
/// in the order taken.
#[derive(Debug, Default)]
pub struct Fifo;

/// LIFO: as FIFO, but an outflow takes the newest lots first.
#[derive(Debug, Default)]
pub struct Lifo;

macro_rules! lot_model {
    ($t:ty, $name:literal, $front:expr) => {
        impl $t {
            /// The inputs' lots in the order this model takes them: FIFO the input order,
            /// LIFO the reverse (the last input's newest lot first).
            fn utxo_lots(inputs: &[(U256, Pieces)]) -> Vec<Lot> {
                let mut lots: Vec<Lot> = inputs
                    .iter()
                    .flat_map(|(_, p)| p.0.iter().copied())
                    .collect();
                if !$front {
                    lots.reverse();
                }
                lots
            }
        }
        impl TaintModel for $t {
            const NAME: &'static str = $name;
            const CONSERVING: bool = true;
            type Ledger = Lots;
            type Parcel = Pieces;

            fn balance(l: &Lots) -> U256 {
                l.b
            }
            fn taint(l: &Lots) -> U256 {
                l.t
            }
            fn parcel_taint(p: &Pieces) -> U256 {
                pieces_taint(p)
            }
            fn fresh(amount: U256, tainted: U256) -> Pieces {
                fresh_pieces(amount, tainted)
            }
            fn deposit(l: &mut Lots, _amount: U256, parcel: Pieces) {
                for lot in parcel.0 {
                    l.push_back(lot);
                }
            }
            fn withdraw(l: &mut Lots, amount: U256) -> Pieces {
                Pieces(l.take(amount, $front))
            }
            fn utxo_split(inputs: &[(U256, Pieces)], outputs: &[U256]) -> Vec<Pieces> {
                slice_lots(Self::utxo_lots(inputs), outputs)
            }
        }
    };
}

lot_model!(Fifo, "fifo", true);
lot_model!(Lifo, "lifo", false);

#[cfg(test)]
mod tests {
    use super::*;

    fn u(v: u64) -> U256 {
        U256::from(v)
    }

    #[test]
    fn mul_div_exact_and_wide() {
        assert_eq!(mul_div_floor(u(30), u(10), u(100)), u(3));
        assert_eq!(mul_div_floor(u(1), u(1), u(3)), u(0));
        assert_eq!(mul_div_floor(U256::MAX, U256::MAX, U256::MAX), U256::MAX);
        let half = U256::MAX / u(2);
        assert_eq!(mul_div_floor(U256::MAX, half, U256::MAX), half);
        assert_eq!(mul_div_floor(u(5), u(5), U256::ZERO), U256::ZERO);
    }

    #[test]
    fn haircut_splits_in_proportion() {
        let mut l = Pool::default();
        Haircut::deposit(&mut l, u(100), Plain(u(30)));
        assert_eq!(Haircut::withdraw(&mut l, u(10)), Plain(u(3)));
        assert_eq!((l.b, l.t), (u(90), u(27)));
        // the last outflow takes what is left, so nothing is stranded by rounding
        assert_eq!(Haircut::withdraw(&mut l, u(90)), Plain(u(27)));
        assert_eq!(l, Pool::default());
        let mut l = Pool::default();
        Haircut::deposit(&mut l, u(3), Plain(u(1)));
        assert_eq!(Haircut::withdraw(&mut l, u(1)), Plain(u(0))); // floor(1/3)
        assert_eq!(Haircut::withdraw(&mut l, u(1)), Plain(u(0))); // floor(1*1/2)
        assert_eq!(Haircut::withdraw(&mut l, u(1)), Plain(u(1)));
    }

    #[test]
    fn poison_taints_everything_until_empty() {
        let mut l = PoisonLedger::default();
        Poison::deposit(&mut l, u(100), Plain(u(0)));
        Poison::deposit(&mut l, u(1), Plain(u(1)));
        assert_eq!(Poison::taint(&l), u(101));
        assert_eq!(Poison::withdraw(&mut l, u(50)), Plain(u(50)));
        assert_eq!(Poison::withdraw(&mut l, u(51)), Plain(u(51)));
        assert!(!l.tainted);
        Poison::deposit(&mut l, u(5), Plain(u(0)));
        assert_eq!(Poison::withdraw(&mut l, u(5)), Plain(u(0)));
    }

    #[test]
    fn fifo_and_lifo_take_lots_in_order() {
        let mut l = Lots::default();
        Fifo::deposit(&mut l, u(5), Pieces(vec![(u(5), false)]));
        Fifo::deposit(&mut l, u(3), Pieces(vec![(u(3), true)]));
        Fifo::deposit(&mut l, u(2), Pieces(vec![(u(2), false)]));
        let mut m = l.clone();
        assert_eq!(
            Fifo::withdraw(&mut l, u(6)),
            Pieces(vec![(u(5), false), (u(1), true)])
        );
        assert_eq!((Fifo::balance(&l), Fifo::taint(&l)), (u(4), u(2)));
        assert_eq!(
            Lifo::withdraw(&mut m, u(4)),
            Pieces(vec![(u(2), false), (u(2), true)])
        );
        assert_eq!((Lifo::balance(&m), Lifo::taint(&m)), (u(6), u(1)));
    }

    #[test]
    fn utxo_splits() {
        let ins = [(u(60), Plain(u(60))), (u(40), Plain(u(0)))];
        // haircut: 60% of every output (and the fee), exactly
        let got = Haircut::utxo_split(&ins, &[u(50), u(49), u(1)]);
        assert_eq!(got, vec![Plain(u(30)), Plain(u(29)), Plain(u(1))]);
        let sum: U256 = got.iter().map(|p| p.0).sum();
        assert_eq!(sum, u(60));
        // poison: everything
        assert_eq!(
            Poison::utxo_split(&ins, &[u(50), u(50)]),
            vec![Plain(u(50)), Plain(u(50))]
        );
        // tiho: highest first
        assert_eq!(
            Tiho::utxo_split(&ins, &[u(30), u(69), u(1)]),
            vec![Plain(u(0)), Plain(u(60)), Plain(u(0))]
        );
        // fifo: inputs in order onto outputs in order, fee last
        let lots = [
            (u(60), Pieces(vec![(u(60), true)])),
            (u(40), Pieces(vec![(u(40), false)])),
        ];
        assert_eq!(
            Fifo::utxo_split(&lots, &[u(50), u(49), u(1)]),
            vec![
                Pieces(vec![(u(50), true)]),
                Pieces(vec![(u(10), true), (u(39), false)]),
                Pieces(vec![(u(1), false)])
            ]
        );
        // lifo: the last input first
        assert_eq!(
            Lifo::utxo_split(&lots, &[u(50), u(49), u(1)]),
            vec![
                Pieces(vec![(u(40), false), (u(10), true)]),
                Pieces(vec![(u(49), true)]),
                Pieces(vec![(u(1), true)])
            ]
        );
    }

    #[test]
    fn tiho_gives_taint_to_the_highest_outputs() {
        let mut l = Pool {
            b: u(100),
            t: u(30),
        };
        // outputs: 60 out, 40 stay -> the 60 takes all 30
        assert_eq!(Tiho::withdraw(&mut l, u(60)), Plain(u(30)));
        assert_eq!(l, Pool { b: u(40), t: u(0) });
        let mut l = Pool {
            b: u(100),
            t: u(30),
        };
        // outputs: 10 out, 90 stay -> stay keeps the taint
        assert_eq!(Tiho::withdraw(&mut l, u(10)), Plain(u(0)));
        assert_eq!(l.t, u(30));
        let mut l = Pool {
            b: u(100),
            t: u(70),
        };
        // group: 50, 30 out, 20 stay -> 50, 20, stay 0
        let got = Tiho::withdraw_group(&mut l, &[u(50), u(30)]);
        assert_eq!(got, vec![Plain(u(50)), Plain(u(20))]);
        assert_eq!(l, Pool { b: u(20), t: u(0) });
    }
}
