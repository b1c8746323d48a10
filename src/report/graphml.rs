//! GraphML of a trace's taint flows: nodes are addresses (and the fee sink), edges the tainted
//! transfers aggregated per (from, to, asset). Opens in Gephi, yEd, networkx, igraph.

use std::collections::BTreeMap;
use std::io::Write;

use alloy_primitives::U256;
use petgraph::graph::{DiGraph, NodeIndex};

use super::trace_out::{Exporter, dec, role_text};
use crate::graph::NONE;
use crate::trace::{Role, TraceResult};

/// `graph.graphml`.
pub struct GraphMl;

/// XML-escape text for attributes and element content.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => {}
            c => o.push(c),
        }
    }
    o
}

struct EdgeAcc {
    asset: usize,
    amount: U256,
    tainted: U256,
    count: u64,
}

impl Exporter for GraphMl {
    fn file_name(&self) -> &'static str {
        "graph.graphml"
    }
    fn write(&self, r: &TraceResult, out: &mut dyn Write) -> std::io::Result<()> {
        let mut g: DiGraph<u32, EdgeAcc> = DiGraph::new();
        let mut idx: BTreeMap<u32, NodeIndex> = BTreeMap::new();
        let mut node =
            |g: &mut DiGraph<u32, EdgeAcc>, n: u32| *idx.entry(n).or_insert_with(|| g.add_node(n));
        let mut edges: BTreeMap<(u32, u32, u16), EdgeAcc> = BTreeMap::new();
        for &(i, t, _) in &r.tainted_flows {
            let f = r.graph.flows[i];
            let e = edges.entry((f.from, f.to, f.asset)).or_insert(EdgeAcc {
                asset: f.asset as usize,
                amount: U256::ZERO,
                tainted: U256::ZERO,
                count: 0,
            });
            e.amount += f.amount;
            e.tainted += t;
            e.count += 1;
        }
        for ((from, to, _), e) in edges {
            let a = node(&mut g, from);
            let b = node(&mut g, to);
            g.add_edge(a, b, e);
        }
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">"#
        )?;
        for (id, for_, name, ty) in [
            ("n_address", "node", "address", "string"),
            ("n_role", "node", "role", "string"),
            ("n_entity", "node", "entity", "string"),
            ("n_label", "node", "label", "string"),
            ("e_asset", "edge", "asset", "string"),
            ("e_amount", "edge", "amount", "string"),
            ("e_tainted", "edge", "tainted_amount", "string"),
            ("e_transfers", "edge", "transfers", "long"),
            ("e_weight", "edge", "weight", "double"),
        ] {
            writeln!(
                out,
                r#"  <key id="{id}" for="{for_}" attr.name="{name}" attr.type="{ty}"/>"#
            )?;
        }
        writeln!(out, r#"  <graph id="trace" edgedefault="directed">"#)?;
        for ni in g.node_indices() {
            let n = g[ni];
            let (address, role, entity, label) = if n == NONE {
                (
                    String::new(),
                    "fee".to_string(),
                    "fee sink".to_string(),
                    String::new(),
                )
            } else {
                let role = &r.roles[n as usize];
                let entity = match role {
                    Role::Terminal { entity, .. } => entity.clone(),
                    _ => String::new(),
                };
                let label = r.node_labels[n as usize]
                    .as_ref()
                    .map(|l| l.label.clone())
                    .unwrap_or_default();
                (
                    r.graph.nodes[n as usize].to_string(),
                    role_text(role).to_string(),
                    entity,
                    label,
                )
            };
            writeln!(out, r#"    <node id="n{}">"#, ni.index())?;
            for (k, v) in [
                ("n_address", &address),
                ("n_role", &role),
                ("n_entity", &entity),
                ("n_label", &label),
            ] {
                writeln!(out, r#"      <data key="{k}">{}</data>"#, xml_escape(v))?;
            }
            writeln!(out, "    </node>")?;
        }
        for (k, ei) in g.edge_indices().enumerate() {
            let (a, b) = g.edge_endpoints(ei).expect("edge exists");
            let e = &g[ei];
            let tainted = dec(r, e.asset, e.tainted);
            let weight: f64 = tainted.parse().unwrap_or(0.0);
            writeln!(
                out,
                r#"    <edge id="e{k}" source="n{}" target="n{}">"#,
                a.index(),
                b.index()
            )?;
            writeln!(
                out,
                r#"      <data key="e_asset">{}</data>"#,
                xml_escape(&r.assets[e.asset].key)
            )?;
            writeln!(
                out,
                r#"      <data key="e_amount">{}</data>"#,
                dec(r, e.asset, e.amount)
            )?;
            writeln!(out, r#"      <data key="e_tainted">{tainted}</data>"#)?;
            writeln!(out, r#"      <data key="e_transfers">{}</data>"#, e.count)?;
            writeln!(out, r#"      <data key="e_weight">{weight}</data>"#)?;
            writeln!(out, "    </edge>")?;
        }
        writeln!(out, "  </graph>")?;
        writeln!(out, "</graphml>")
    }
}
