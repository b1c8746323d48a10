//! JSON node-link of a trace's flow graph, the layout of networkx's `node_link_data`
//! (`nx.node_link_graph(json.load(f), edges="links")` reads it back):
//! `{"directed":true,"multigraph":M,"graph":{…},"nodes":[{"id",…}],"links":[{"source","target",…}]}`.
//! `multigraph` is true only when two assets share a (from, to) pair; links then carry `key`
//! (the asset). Amounts are exact decimal strings; `weight` is the tainted amount as a JSON
//! number (for layout tools, not for sums).

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::json;

use super::view::{FlowGraphView, TraceView};

/// Write `g` as node-link JSON (one document, a trailing newline).
pub fn write_nodelink(
    v: &TraceView,
    g: &FlowGraphView,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let s = &v.summary;
    let mut pairs = BTreeSet::new();
    let multigraph = !g.edges.iter().all(|e| pairs.insert((e.from, e.to)));
    let graph = json!({
        "name": "moneytrail trace",
        "model": s.model,
        "chain": s.chain,
        "seeds": s.seeds,
        "simulated": s.simulated,
        "assets": s.assets.iter().map(|a| json!({"key": a.key, "decimals": a.decimals, "injected": a.injected})).collect::<Vec<_>>(),
        "aggregation": g.aggregation,
    });
    write!(
        out,
        "{{\"directed\":true,\"multigraph\":{multigraph},\"graph\":{},\"nodes\":[",
        graph
    )?;
    for (i, n) in g.nodes.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        let o = json!({
            "id": n.id,
            "label": n.label,
            "role": n.kind.as_str(),
            "category": n.category,
            "entity": n.entity,
            "hop": n.hop,
            "members": n.members,
        });
        serde_json::to_writer(&mut *out, &o)?;
    }
    out.write_all(b"],\"links\":[")?;
    for (i, e) in g.edges.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        let tainted = v.dec(e.asset, e.tainted);
        let mut o = json!({
            "source": g.nodes[e.from].id,
            "target": g.nodes[e.to].id,
            "asset": v.asset_key(e.asset),
            "tainted_amount": tainted,
            "amount": v.dec(e.asset, e.amount),
            "weight": tainted.parse::<f64>().unwrap_or(0.0),
            "transfers": e.count,
            "hop": e.hop,
            "first_time": e.first_time,
            "last_time": e.last_time,
            "txs": e.txs,
        });
        if multigraph {
            o["key"] = v.asset_key(e.asset).into();
        }
        serde_json::to_writer(&mut *out, &o)?;
    }
    out.write_all(b"]}\n")
}
