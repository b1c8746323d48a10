//! Evidence paths: for every endpoint, the shortest (fewest hops) and the largest-value (widest
//! bottleneck) time-respecting path of tainted transfers from a seed.
//!
//! One pass over the tainted flows in replay order keeps, per (node, asset), the best arrival
//! so far of each kind, and per flow its predecessor on each kind of path (two `u32` per
//! flow). Paths are walked only when they are written.

use alloy_primitives::U256;

use super::engine::FastMap;

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

#[derive(Clone, Copy)]
struct Best {
    len: u32,
    width: U256,
    last: u32,
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
        let mut short: FastMap<(u32, u16), Best> = FastMap::default();
        let mut wide: FastMap<(u32, u16), Best> = FastMap::default();
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
                let key = (f.from, f.asset);
                let s = short.get(&key).map(|b| {
                    pred_short[i] = b.last;
                    b.len
                });
                let w = wide.get(&key).map(|b| {
                    pred_wide[i] = b.last;
                    b.width.min(t)
                });
                (s, w)
            };
            let key_to = (f.to, f.asset);
            if let Some(l) = len {
                if short.get(&key_to).is_none_or(|b| b.len > l + 1) {
                    short.insert(
                        key_to,
                        Best {
                            len: l + 1,
                            width: t,
                            last: i as u32,
                        },
                    );
                }
            }
            if let Some(w) = width {
                if wide.get(&key_to).is_none_or(|b| b.width < w) {
                    wide.insert(
                        key_to,
                        Best {
                            len: 0,
                            width: w,
                            last: i as u32,
                        },
                    );
                }
            }
        }
        let best = short
            .iter()
            .filter_map(|(k, s)| wide.get(k).map(|w| (*k, (s.last, w.last))))
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
