//! The node budget: above N nodes, the addresses with the smallest tainted throughput are
//! aggregated into one `other (k addresses)` node per hop level. Edges are re-aggregated per
//! (from, to, asset) with exact sums, so Σ tainted over the edges is unchanged; what was
//! aggregated is recorded in [`Aggregation`].

use std::collections::BTreeMap;

use alloy_primitives::U256;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::view::{EDGE_TXS, FlowGraphView, GraphEdge, GraphNode, NodeKind};

/// Default node budget of the HTML report.
pub const DEFAULT_HTML_NODES: usize = 300;

/// One aggregate node: the addresses of one hop level folded together.
#[derive(Debug, Clone, Serialize)]
pub struct AggregateGroup {
    /// Id of the aggregate node (`other:hop<N>`, `other:nohop`).
    pub id: String,
    /// Hop level.
    pub hop: Option<u32>,
    /// Addresses folded in.
    pub addresses: u32,
    /// How many of them per category (endpoint categories, `intermediate` …).
    pub categories: BTreeMap<String, u32>,
}

/// What a node budget aggregated.
#[derive(Debug, Clone, Serialize)]
pub struct Aggregation {
    /// The budget.
    pub budget: usize,
    /// Nodes before.
    pub nodes_before: usize,
    /// Edges before.
    pub edges_before: usize,
    /// The aggregate nodes.
    pub groups: Vec<AggregateGroup>,
}

fn u256_f64(v: U256) -> f64 {
    // ranking only, never shown: the leading limbs are enough
    let limbs = v.as_limbs();
    limbs
        .iter()
        .rev()
        .fold(0.0f64, |acc, &l| acc * 18446744073709551616.0 + l as f64)
}

impl FlowGraphView {
    /// The graph with at most `budget` nodes (itself, cloned, when already within it). Seeds
    /// and the fee sink are always kept; the rest are ranked by their share of each asset's
    /// tainted flow (in + out) and the smallest are folded into one node per hop level.
    pub fn with_node_budget(&self, budget: usize) -> FlowGraphView {
        if self.nodes.len() <= budget {
            return self.clone();
        }
        // share of every node in each asset's total tainted flow
        let mut asset_total: FxHashMap<usize, f64> = FxHashMap::default();
        for e in &self.edges {
            *asset_total.entry(e.asset).or_default() += u256_f64(e.tainted);
        }
        let mut score = vec![0.0f64; self.nodes.len()];
        for e in &self.edges {
            let t = asset_total.get(&e.asset).copied().unwrap_or(0.0);
            let s = if t > 0.0 {
                u256_f64(e.tainted) / t
            } else {
                0.0
            };
            score[e.from] += s;
            score[e.to] += s;
        }
        let fixed = |n: &GraphNode| matches!(n.kind, NodeKind::Seed | NodeKind::Fee);
        let mut candidates: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| !fixed(&self.nodes[i]))
            .collect();
        let levels: std::collections::BTreeSet<Option<u32>> =
            candidates.iter().map(|&i| self.nodes[i].hop).collect();
        let n_fixed = self.nodes.len() - candidates.len();
        let keep_n = budget.saturating_sub(n_fixed + levels.len());
        candidates.sort_by(|&a, &b| {
            score[b]
                .total_cmp(&score[a])
                .then_with(|| self.nodes[a].id.cmp(&self.nodes[b].id))
        });
        let mut keep = vec![false; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            keep[i] = fixed(n);
        }
        for &i in candidates.iter().take(keep_n) {
            keep[i] = true;
        }
        // the reserve assumed every level gets an aggregate; fill what it left over
        let mut dropped_per_level: BTreeMap<Option<u32>, usize> = BTreeMap::new();
        for &i in candidates.iter().skip(keep_n) {
            *dropped_per_level.entry(self.nodes[i].hop).or_default() += 1;
        }
        let first_kept = n_fixed + keep_n.min(candidates.len());
        for (kept, &i) in (first_kept..).zip(candidates.iter().skip(keep_n)) {
            if kept + dropped_per_level.len() >= budget {
                break;
            }
            keep[i] = true;
            let hop = self.nodes[i].hop;
            let left = dropped_per_level.get_mut(&hop).map(|c| {
                *c -= 1;
                *c
            });
            if left == Some(0) {
                dropped_per_level.remove(&hop);
            }
        }
        // new nodes: kept ones in their old order, then one aggregate per hop level
        let mut map = vec![0usize; self.nodes.len()];
        let mut nodes = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if keep[i] {
                map[i] = nodes.len();
                nodes.push(n.clone());
            }
        }
        let mut groups: BTreeMap<Option<u32>, AggregateGroup> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if keep[i] {
                continue;
            }
            let g = groups.entry(n.hop).or_insert_with(|| AggregateGroup {
                id: match n.hop {
                    Some(h) => format!("other:hop{h}"),
                    None => "other:nohop".into(),
                },
                hop: n.hop,
                addresses: 0,
                categories: BTreeMap::new(),
            });
            g.addresses += n.members;
            *g.categories.entry(n.category.clone()).or_default() += n.members;
        }
        let mut group_index: BTreeMap<Option<u32>, usize> = BTreeMap::new();
        for (hop, g) in &groups {
            group_index.insert(*hop, nodes.len());
            nodes.push(GraphNode {
                id: g.id.clone(),
                label: format!("other ({} addresses)", g.addresses),
                kind: NodeKind::Aggregate,
                category: "other".into(),
                entity: String::new(),
                hop: *hop,
                members: g.addresses,
            });
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if !keep[i] {
                map[i] = group_index[&n.hop];
            }
        }
        // edges re-aggregated with exact sums
        let mut merged: BTreeMap<(usize, usize, usize), GraphEdge> = BTreeMap::new();
        for e in &self.edges {
            let key = (map[e.from], map[e.to], e.asset);
            match merged.get_mut(&key) {
                None => {
                    let mut c = e.clone();
                    c.from = key.0;
                    c.to = key.1;
                    merged.insert(key, c);
                }
                Some(m) => {
                    m.tainted += e.tainted;
                    m.amount += e.amount;
                    m.count += e.count;
                    m.hop = m.hop.min(e.hop);
                    if !e.first_time.is_empty()
                        && (m.first_time.is_empty() || e.first_time < m.first_time)
                    {
                        m.first_time = e.first_time.clone();
                    }
                    if e.last_time > m.last_time {
                        m.last_time = e.last_time.clone();
                    }
                    for t in &e.txs {
                        if m.txs.len() >= EDGE_TXS {
                            break;
                        }
                        if !m.txs.contains(t) {
                            m.txs.push(t.clone());
                        }
                    }
                }
            }
        }
        FlowGraphView {
            nodes,
            edges: merged.into_values().collect(),
            aggregation: Some(Aggregation {
                budget,
                nodes_before: self.nodes.len(),
                edges_before: self.edges.len(),
                groups: groups.into_values().collect(),
            }),
        }
    }

    /// Σ tainted amount of the edges per asset index (exact).
    pub fn tainted_by_asset(&self) -> BTreeMap<usize, U256> {
        let mut m: BTreeMap<usize, U256> = BTreeMap::new();
        for e in &self.edges {
            *m.entry(e.asset).or_default() += e.tainted;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, kind: NodeKind, hop: u32) -> GraphNode {
        GraphNode {
            id: id.into(),
            label: id.into(),
            kind,
            category: kind.as_str().into(),
            entity: String::new(),
            hop: Some(hop),
            members: 1,
        }
    }

    fn edge(from: usize, to: usize, v: u64) -> GraphEdge {
        GraphEdge {
            from,
            to,
            asset: 0,
            tainted: U256::from(v),
            amount: U256::from(v * 2),
            count: 1,
            hop: 1,
            first_time: String::new(),
            last_time: String::new(),
            txs: vec![format!("0x{from}{to}")],
        }
    }

    #[test]
    fn budget_keeps_totals_and_the_largest_nodes() {
        let mut g = FlowGraphView::default();
        g.nodes.push(node("s", NodeKind::Seed, 0));
        for i in 1..=50u64 {
            g.nodes
                .push(node(&format!("a{i}"), NodeKind::Intermediate, 1));
            g.edges.push(edge(0, i as usize, i));
        }
        let before = g.tainted_by_asset();
        let b = g.with_node_budget(10);
        assert!(b.nodes.len() <= 10, "{}", b.nodes.len());
        assert_eq!(b.tainted_by_asset(), before);
        let agg = b.aggregation.as_ref().unwrap();
        assert_eq!(agg.nodes_before, 51);
        assert_eq!(agg.groups.len(), 1);
        assert_eq!(agg.groups[0].addresses as usize, 51 - (b.nodes.len() - 1));
        // the largest flows stay: a50 … kept, a1 folded
        assert!(b.nodes.iter().any(|n| n.id == "a50"));
        assert!(!b.nodes.iter().any(|n| n.id == "a1"));
        assert!(b.nodes.iter().any(|n| n.id == "s"));
        let other = b
            .nodes
            .iter()
            .position(|n| n.kind == NodeKind::Aggregate)
            .unwrap();
        let e = b.edges.iter().find(|e| e.to == other).unwrap();
        assert_eq!(e.count as u32, agg.groups[0].addresses);
        assert_eq!(
            b.nodes[other].label,
            format!("other ({} addresses)", e.count)
        );
        // within the budget: unchanged
        assert_eq!(g.with_node_budget(100).nodes.len(), 51);
        assert!(g.with_node_budget(100).aggregation.is_none());
    }
}
