//! `moneytrail report --format json`: the view's figures as one JSON document — the summary,
//! the endpoints, the (budgeted) graph's size and exact Σ tainted per asset, what the budget
//! aggregated, the Sankey links and the timeline. Amounts are exact decimal strings.

use serde_json::{Value, json};

use super::view::{SankeyNode, TraceView};

fn node(n: &SankeyNode) -> Value {
    match n {
        SankeyNode::Seeds => json!("seeds"),
        SankeyNode::Hop(h) => json!(format!("hop {h}")),
        SankeyNode::Category(c) => json!(c),
    }
}

/// The JSON report; the graph with at most `node_budget` nodes.
pub fn report_json(v: &TraceView, node_budget: usize) -> Value {
    let g = v.graph.with_node_budget(node_budget);
    let tainted: serde_json::Map<String, Value> = g
        .tainted_by_asset()
        .into_iter()
        .map(|(a, t)| (v.asset_key(a).to_string(), v.dec(a, t).into()))
        .collect();
    json!({
        "title": v.title(None),
        "summary": v.summary,
        "endpoints": v.endpoints,
        "flows": v.flow_rows,
        "graph": {
            "nodes": g.nodes.len(),
            "edges": g.edges.len(),
            "nodes_before_budget": v.graph.nodes.len(),
            "edges_before_budget": v.graph.edges.len(),
            "tainted_by_asset": tainted,
            "aggregation": g.aggregation,
        },
        "sankey": v.sankey.iter().map(|l| json!({
            "asset": v.asset_key(l.asset),
            "from": node(&l.from),
            "to": node(&l.to),
            "tainted_amount": v.dec(l.asset, l.value),
        })).collect::<Vec<_>>(),
        "timeline": v.timeline.iter().map(|d| json!({
            "day": d.day,
            "asset": v.asset_key(d.asset),
            "tainted_amount": v.dec(d.asset, d.tainted),
            "transfers": d.count,
        })).collect::<Vec<_>>(),
        "inferred_links": v.evidence.len(),
        "paths": v.paths.len(),
    })
}
