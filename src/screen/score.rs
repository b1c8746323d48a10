//! The risk score: one integer 0–10 per screened address, from its labels and the taint the
//! indexed traces found there. The rule (also in docs/formats.md and ADR 0007):
//!
//! - **Direct**: a label of category sanctioned or theft, or being a seed of an indexed trace
//!   (the theft addresses themselves) → 10.
//! - **Label floors**: mixer or scam → 7, gambling → 3; exchange, bridge, defi, service and
//!   other labels alone → 0 (a known service is not a risk by itself).
//! - **Indirect** (taint that reached the address through `h ≥ 1` transfers):
//!   `hop_score = 10 − min(h, 9)` (hop 1 → 9 … hop 9 and beyond → 1), lowered by the tainted
//!   share `s` of the value the address received in that asset (1 when unknown):
//!   `max(1, round(hop_score × (0.5 + 0.5 × s)))`. Any address an indexed trace reached with
//!   a non-zero tainted amount scores at least 1.
//! - The risk is the largest of these; an address nothing is known about scores 0 with
//!   `known: false`.

use super::{Exposure, LabelBrief, Taint};
use crate::model::Category;

/// Risk of a direct hit: sanctioned, theft, or a seed.
pub const DIRECT: u8 = 10;

/// The lowest risk a label of this category gives by itself.
pub fn label_floor(c: Category) -> u8 {
    match c {
        Category::Sanctioned | Category::Theft => DIRECT,
        Category::Mixer | Category::Scam => 7,
        Category::Gambling => 3,
        Category::Exchange
        | Category::Bridge
        | Category::Defi
        | Category::Service
        | Category::Other => 0,
    }
}

/// The score of one exposure reached through `hops` transfers with tainted share `share`.
pub fn exposure_score(hops: u32, share: Option<f64>) -> u8 {
    if hops == 0 {
        return DIRECT;
    }
    let hop_score = 10 - hops.min(9) as u8;
    let s = share.unwrap_or(1.0);
    let s = if s.is_finite() {
        s.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let v = (f64::from(hop_score) * (0.5 + 0.5 * s)).round() as u8;
    v.clamp(1, DIRECT)
}

/// The risk of an address with these labels and taint records.
pub fn risk<'a>(labels: &[LabelBrief], taint: impl IntoIterator<Item = &'a Taint>) -> u8 {
    let mut r = labels
        .iter()
        .map(|l| label_floor(l.category))
        .max()
        .unwrap_or(0);
    for t in taint {
        if r == DIRECT {
            break;
        }
        if t.seed {
            r = DIRECT;
        }
        r = r.max(t.exposure.iter().map(one).max().unwrap_or(0));
    }
    r
}

fn one(e: &Exposure) -> u8 {
    exposure_score(e.hops, e.share)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_rule() {
        assert_eq!(exposure_score(0, None), 10);
        assert_eq!(exposure_score(1, None), 9);
        assert_eq!(exposure_score(1, Some(1.0)), 9);
        assert_eq!(exposure_score(4, Some(1.0)), 6);
        assert_eq!(exposure_score(4, Some(0.375)), 4);
        assert_eq!(exposure_score(4, Some(0.0)), 3);
        assert_eq!(exposure_score(9, Some(0.0)), 1);
        assert_eq!(exposure_score(40, Some(0.001)), 1);
        assert_eq!(exposure_score(2, Some(f64::NAN)), 8);
        assert_eq!(label_floor(Category::Sanctioned), 10);
        assert_eq!(label_floor(Category::Exchange), 0);
        assert_eq!(risk(&[], []), 0);
    }
}
