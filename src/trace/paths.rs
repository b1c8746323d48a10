//! Evidence paths: for every endpoint, the shortest (fewest hops) and the largest-value (widest
//! bottleneck) time-respecting path of tainted transfers from a seed.

use std::collections::HashMap;

use alloy_primitives::U256;

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

#[derive(Clone, Copy)]
struct Best {
    len: u32,
    width: U256,
    last: usize,
}

/// Best paths to every (node, asset) that tainted flows reach. `tainted_flows` is the
/// replay's list (flow index, tainted amount, hop) in replay order; `is_seed(node)`.
pub fn best_paths(
    g: &FlowGraph,
    tainted_flows: &[(usize, U256, u32)],
    is_seed: &dyn Fn(u32) -> bool,
) -> HashMap<(u32, u16), (Path, Path)> {
    let mut short: HashMap<(u32, u16), Best> = HashMap::new();
    let mut wide: HashMap<(u32, u16), Best> = HashMap::new();
    let mut pred_short: HashMap<usize, usize> = HashMap::new();
    let mut pred_wide: HashMap<usize, usize> = HashMap::new();
    let mut taint_of: HashMap<usize, U256> = HashMap::new();
    for &(i, t, _) in tainted_flows {
        let f = g.flows[i];
        taint_of.insert(i, t);
        if f.from == NONE {
            continue;
        }
        let key_from = (f.from, f.asset);
        let (s_len, w_width) = if is_seed(f.from) {
            (Some(0), Some(t))
        } else {
            let s = short.get(&key_from).map(|b| {
                pred_short.insert(i, b.last);
                b.len
            });
            let w = wide.get(&key_from).map(|b| {
                pred_wide.insert(i, b.last);
                b.width.min(t)
            });
            (s, w)
        };
        if is_seed(f.from) {
            pred_short.remove(&i);
            pred_wide.remove(&i);
        }
        if f.to == NONE {
            continue;
        }
        let key_to = (f.to, f.asset);
        if let Some(l) = s_len {
            let cand = Best {
                len: l + 1,
                width: t,
                last: i,
            };
            match short.get(&key_to) {
                Some(b) if b.len <= cand.len => {}
                _ => {
                    short.insert(key_to, cand);
                }
            }
        }
        if let Some(w) = w_width {
            let cand = Best {
                len: 0,
                width: w,
                last: i,
            };
            match wide.get(&key_to) {
                Some(b) if b.width >= cand.width => {}
                _ => {
                    wide.insert(key_to, cand);
                }
            }
        }
    }
    let walk = |last: usize, preds: &HashMap<usize, usize>| {
        let mut v = vec![last];
        let mut cur = last;
        while let Some(p) = preds.get(&cur) {
            v.push(*p);
            cur = *p;
            if v.len() > 100_000 {
                break;
            }
        }
        v.reverse();
        v
    };
    let mut out = HashMap::new();
    for (key, s) in &short {
        let Some(w) = wide.get(key) else { continue };
        let sp = walk(s.last, &pred_short);
        let wp = walk(w.last, &pred_wide);
        let bottleneck = |p: &[usize]| {
            p.iter()
                .map(|i| taint_of.get(i).copied().unwrap_or_default())
                .min()
                .unwrap_or_default()
        };
        out.insert(
            *key,
            (
                Path {
                    kind: PathKind::Shortest,
                    bottleneck: bottleneck(&sp),
                    flows: sp,
                },
                Path {
                    kind: PathKind::Largest,
                    bottleneck: bottleneck(&wp),
                    flows: wp,
                },
            ),
        );
    }
    out
}
