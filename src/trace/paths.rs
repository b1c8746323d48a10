//! Evidence paths: for every endpoint, the shortest (fewest hops) and the largest-value (widest
//! bottleneck) time-respecting path of tainted transfers from a seed.
//!
//! One pass over the tainted flows in replay order keeps, per (node, asset), the best arrival
//! so far of each kind, and per flow its predecessor on each kind of path (two `u32` per
//! flow). Paths are walked only when they are written.

use alloy_primitives::U256;

use super::engine::{FastMap, Ledgers};

use crate::graph::{FlowGraph, NONE};

/// Which path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// Fewest hops.
    Shortest,
    /// Largest bottleneck (the smallest tainted amount along the path is as large as possible).
    Largest,
}

/// A path: flow indices from the seed's outflow to the arrival at the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Kind.
    pub kind: PathKind,
    /// Flow indices in order.
    pub flows: Vec<usize>,
    /// Smallest tainted amount along the path.
    pub bottleneck: U256,
}

const NO: u32 = u32::MAX;

/// The best arrivals at one (node, asset) so far: the shortest (`s_len` hops, last flow
/// `s_last`) and the widest (bottleneck `w_width`, last flow `w_last`); `NO` when none.
#[derive(Clone)]
struct Slot {
    s_len: u32,
    s_last: u32,
    w_last: u32,
    w_width: U256,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            s_len: NO,
            s_last: NO,
            w_last: NO,
            w_width: U256::ZERO,
        }
    }
}

/// Predecessor links of the best paths to every (node, asset) tainted flows reach.
#[derive(Debug, Clone, Default)]
pub struct PathIndex {
    pred_short: Vec<u32>,
    pred_wide: Vec<u32>,
    best: FastMap<(u32, u16), (u32, u32)>,
}

impl PathIndex {
    /// Build from the replay's tainted flows (flow index, tainted amount, hop) in replay order.
    pub fn build(
        g: &FlowGraph,
        tainted_flows: &[(usize, U256, u32)],
        is_seed: &dyn Fn(u32) -> bool,
    ) -> PathIndex {
        // one dense table per (node, asset), as the replay's ledgers: no hashing per flow
        let n_assets = g.assets.len().max(1);
        let mut slots: Ledgers<Slot> = Ledgers::new(g.nodes.len(), n_assets);
        let mut pred_short = vec![NO; g.flows.len()];
        let mut pred_wide = vec![NO; g.flows.len()];
        for &(i, t, _) in tainted_flows {
            let f = g.flows[i];
            if f.from == NONE || f.to == NONE {
                continue;
            }
            let (len, width) = if is_seed(f.from) {
                (Some(0), Some(t))
            } else {
                let from = slots.get(f.from, f.asset);
                let s = (from.s_len != NO).then(|| {
                    pred_short[i] = from.s_last;
                    from.s_len
                });
                let w = (from.w_last != NO).then(|| {
                    pred_wide[i] = from.w_last;
                    from.w_width.min(t)
                });
                (s, w)
            };
            let to = slots.get(f.to, f.asset);
            if let Some(l) = len {
                if to.s_len == NO || to.s_len > l + 1 {
                    to.s_len = l + 1;
                    to.s_last = i as u32;
                }
            }
            if let Some(w) = width {
                if to.w_last == NO || to.w_width < w {
                    to.w_width = w;
                    to.w_last = i as u32;
                }
            }
        }
        let best = slots
            .iter()
            .into_iter()
            .filter(|(_, s)| s.s_last != NO && s.w_last != NO)
            .map(|(k, s)| (k, (s.s_last, s.w_last)))
            .collect();
        PathIndex {
            pred_short,
            pred_wide,
            best,
        }
    }

    /// Whether paths reach (node, asset).
    pub fn reaches(&self, node: u32, asset: u16) -> bool {
        self.best.contains_key(&(node, asset))
    }

    /// The shortest and the largest-value path to (node, asset); `taint_of(flow)` gives the
    /// tainted amount of a flow.
    pub fn paths(
        &self,
        node: u32,
        asset: u16,
        taint_of: &dyn Fn(usize) -> U256,
    ) -> Option<(Path, Path)> {
        let (s, w) = *self.best.get(&(node, asset))?;
        Some((
            self.walk(s, PathKind::Shortest, taint_of),
            self.walk(w, PathKind::Largest, taint_of),
        ))
    }

    fn walk(&self, last: u32, kind: PathKind, taint_of: &dyn Fn(usize) -> U256) -> Path {
        let preds = match kind {
            PathKind::Shortest => &self.pred_short,
            PathKind::Largest => &self.pred_wide,
        };
        let mut v = vec![last as usize];
        let mut cur = last;
        while preds[cur as usize] != NO && v.len() <= preds.len() {
            cur = preds[cur as usize];
            v.push(cur as usize);
        }
        v.reverse();
        let bottleneck = v.iter().map(|i| taint_of(*i)).min().unwrap_or_default();
        Path {
            kind,
            flows: v,
            bottleneck,
        }
    }
}
