//! The interactive graph view: a layered layout by hop computed here (sources, seeds, hop 1 …),
//! drawn as inline SVG; report.js adds pan (drag), zoom (wheel, buttons) and hover tooltips
//! from the node data embedded as escaped JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use alloy_primitives::U256;
use serde_json::json;

use super::sankey::f64_of;
use super::tables::short;
use super::{esc, script_json};
use crate::report::palette::category_hex;
use crate::report::view::{FlowGraphView, NodeKind, TraceView};

const DX: f64 = 230.0;
const DY: f64 = 26.0;
const PAD: f64 = 40.0;

fn layer(kind: NodeKind, hop: Option<u32>) -> usize {
    match (kind, hop) {
        (NodeKind::Source, _) | (_, None) => 0,
        (_, Some(h)) => h as usize + 1,
    }
}

/// The section.
pub(crate) fn render(v: &TraceView, g: &FlowGraphView) -> String {
    let mut h = String::new();
    h.push_str("<section id=\"graph\"><h2>Graph</h2>\n");
    if let Some(a) = &g.aggregation {
        let _ = writeln!(
            h,
            "<p class=\"note\" id=\"aggregation\">{} nodes and {} edges exceed the node budget of {}: \
             the addresses with the smallest tainted flows are shown as one “other” node per hop \
             level (sums unchanged):</p><ul class=\"note\">",
            a.nodes_before, a.edges_before, a.budget
        );
        for gr in &a.groups {
            let cats: Vec<String> = gr
                .categories
                .iter()
                .map(|(c, n)| format!("{n} {c}"))
                .collect();
            let _ = writeln!(
                h,
                "<li>{}: {} addresses ({})</li>",
                esc(&gr
                    .hop
                    .map(|x| format!("hop {x}"))
                    .unwrap_or_else(|| "no hop".into())),
                gr.addresses,
                esc(&cats.join(", "))
            );
        }
        h.push_str("</ul>\n");
    }
    if g.nodes.is_empty() {
        h.push_str("<p class=\"note\">No tainted flow.</p></section>\n");
        return h;
    }
    // per node: Σ tainted in / out per asset, for ranking and the tooltip
    let mut through = vec![0.0f64; g.nodes.len()];
    let mut ins: Vec<BTreeMap<usize, U256>> = vec![BTreeMap::new(); g.nodes.len()];
    let mut outs: Vec<BTreeMap<usize, U256>> = vec![BTreeMap::new(); g.nodes.len()];
    let mut asset_max: BTreeMap<usize, f64> = BTreeMap::new();
    for e in &g.edges {
        let t = f64_of(e.tainted);
        through[e.from] += t;
        through[e.to] += t;
        *ins[e.to].entry(e.asset).or_default() += e.tainted;
        *outs[e.from].entry(e.asset).or_default() += e.tainted;
        let m = asset_max.entry(e.asset).or_default();
        *m = m.max(t);
    }
    // layers, each sorted by kind, throughput (largest first), id
    let mut layers: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        layers.entry(layer(n.kind, n.hop)).or_default().push(i);
    }
    let mut xy = vec![(0.0f64, 0.0f64); g.nodes.len()];
    let tallest = layers.values().map(Vec::len).max().unwrap_or(1) as f64;
    for (li, members) in layers.iter_mut() {
        members.sort_by(|&a, &b| {
            let (na, nb) = (&g.nodes[a], &g.nodes[b]);
            na.kind
                .cmp(&nb.kind)
                .then(through[b].total_cmp(&through[a]))
                .then(na.id.cmp(&nb.id))
        });
        let offset = (tallest - members.len() as f64) * DY / 2.0;
        for (k, &i) in members.iter().enumerate() {
            xy[i] = (PAD + *li as f64 * DX, PAD + offset + k as f64 * DY);
        }
    }
    let width = PAD * 2.0 + layers.keys().max().copied().unwrap_or(0) as f64 * DX + 180.0;
    let height = PAD * 2.0 + tallest * DY;
    h.push_str(
        "<div class=\"controls\"><button type=\"button\" id=\"mt-zoom-in\">+</button>\
         <button type=\"button\" id=\"mt-zoom-out\">−</button>\
         <button type=\"button\" id=\"mt-zoom-reset\">reset</button>\
         <span class=\"note\">drag to pan, wheel to zoom, hover for details</span></div>\n",
    );
    let _ = writeln!(
        h,
        "<div class=\"graph-wrap\" style=\"height:{:.0}px\"><svg id=\"mt-graph\" viewBox=\"0 0 {width:.0} {height:.0}\" data-initial=\"0 0 {width:.0} {height:.0}\">",
        (height / width * 1200.0).clamp(260.0, 640.0)
    );
    h.push_str("<g class=\"edges\">\n");
    for e in &g.edges {
        let (x0, y0) = xy[e.from];
        let (x1, y1) = xy[e.to];
        let m = asset_max
            .get(&e.asset)
            .copied()
            .unwrap_or(1.0)
            .max(f64::MIN_POSITIVE);
        let w = 0.6 + 5.0 * (f64_of(e.tainted) / m).sqrt();
        let key = v.asset_key(e.asset);
        let title = format!(
            "{} → {}: {} {key} tainted in {} transfer(s){}",
            g.nodes[e.from].label,
            g.nodes[e.to].label,
            v.dec(e.asset, e.tainted),
            e.count,
            if e.txs.is_empty() {
                String::new()
            } else {
                format!("; tx {}", e.txs.join(", "))
            }
        );
        let d = if (x0 - x1).abs() < 1.0 {
            // same layer: an arc to the side
            format!(
                "M{x0:.1} {y0:.1}C{:.1} {y0:.1} {:.1} {y1:.1} {x1:.1} {y1:.1}",
                x0 + 60.0,
                x1 + 60.0
            )
        } else {
            let xm = (x0 + x1) / 2.0;
            format!("M{x0:.1} {y0:.1}C{xm:.1} {y0:.1} {xm:.1} {y1:.1} {x1:.1} {y1:.1}")
        };
        let _ = writeln!(
            h,
            "<path class=\"e\" d=\"{d}\" stroke-width=\"{w:.2}\"><title>{}</title></path>",
            esc(&title)
        );
    }
    h.push_str("</g>\n<g class=\"nodes\">\n");
    let mut data = Vec::with_capacity(g.nodes.len());
    for (i, n) in g.nodes.iter().enumerate() {
        let (x, y) = xy[i];
        let text = if n.kind == NodeKind::Aggregate || n.kind == NodeKind::Fee {
            n.label.clone()
        } else if !n.entity.is_empty() {
            format!("{} {}", n.entity, short(&n.label))
        } else {
            short(&n.label)
        };
        let text: String = if text.chars().count() > 40 {
            text.chars().take(39).chain(['…']).collect()
        } else {
            text
        };
        let r = if n.kind == NodeKind::Aggregate { 8 } else { 6 };
        let _ = writeln!(
            h,
            "<g class=\"n\" data-i=\"{i}\" transform=\"translate({x:.1},{y:.1})\"><circle r=\"{r}\" fill=\"{}\"/><text x=\"10\" y=\"4\">{}</text><title>{}</title></g>",
            category_hex(&n.category),
            esc(&text),
            esc(&format!("{} [{}]", n.label, n.category))
        );
        let amounts = |m: &BTreeMap<usize, U256>| -> Vec<String> {
            m.iter()
                .map(|(a, val)| format!("{} {}", v.dec(*a, *val), v.asset_key(*a)))
                .collect()
        };
        data.push(json!({
            "id": n.id,
            "label": n.label,
            "category": n.category,
            "role": n.kind.as_str(),
            "entity": n.entity,
            "hop": n.hop,
            "members": n.members,
            "in": amounts(&ins[i]),
            "out": amounts(&outs[i]),
        }));
    }
    h.push_str("</g></svg><div id=\"mt-tip\" class=\"tip\" role=\"tooltip\"></div></div>\n");
    let _ = writeln!(
        h,
        "<script type=\"application/json\" id=\"mt-graph-data\">{}</script>",
        script_json(&json!({ "nodes": data }))
    );
    let mut legend: Vec<&str> = g.nodes.iter().map(|n| n.category.as_str()).collect();
    legend.sort();
    legend.dedup();
    h.push_str("<p class=\"legend\">");
    for c in legend {
        let _ = write!(
            h,
            "<span><i style=\"background:{}\"></i>{}</span> ",
            category_hex(c),
            esc(c)
        );
    }
    h.push_str("</p></section>\n");
    h
}
