//! The Sankey-style flow diagram as inline SVG, laid out here: columns seeds → hop 1 … hop n →
//! endpoint categories; band widths ∝ tainted amount. One diagram per asset (the largest
//! injections first, at most [`MAX_ASSETS`]). Geometry uses floating point; every amount shown
//! is the exact decimal.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use alloy_primitives::U256;

use super::esc;
use crate::report::palette::category_hex;
use crate::report::view::{SankeyNode, TraceView};

/// Assets drawn.
pub(crate) const MAX_ASSETS: usize = 3;

const W: f64 = 900.0;
const H: f64 = 340.0;
const NODE_W: f64 = 14.0;
const GAP: f64 = 10.0;
const TOP: f64 = 24.0;

pub(crate) fn f64_of(v: U256) -> f64 {
    v.as_limbs()
        .iter()
        .rev()
        .fold(0.0f64, |acc, &l| acc * 18446744073709551616.0 + l as f64)
}

fn name(n: &SankeyNode) -> String {
    match n {
        SankeyNode::Seeds => "seeds".into(),
        SankeyNode::Hop(h) => format!("hop {h}"),
        SankeyNode::Category(c) => c.clone(),
    }
}

fn color(n: &SankeyNode) -> String {
    match n {
        SankeyNode::Seeds => category_hex("seed"),
        SankeyNode::Hop(_) => category_hex("intermediate"),
        SankeyNode::Category(c) => category_hex(c),
    }
}

/// Assets in drawing order: largest Σ link value first, then key.
pub(crate) fn asset_order(v: &TraceView) -> Vec<usize> {
    let mut tot: BTreeMap<usize, U256> = BTreeMap::new();
    for l in &v.sankey {
        *tot.entry(l.asset).or_default() += l.value;
    }
    let mut a: Vec<(usize, U256)> = tot.into_iter().collect();
    a.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    a.into_iter().map(|x| x.0).collect()
}

/// The diagrams (or a note when there is no flow).
pub(crate) fn render(v: &TraceView) -> String {
    let order = asset_order(v);
    if order.is_empty() {
        return "<p class=\"note\">No tainted flow to draw.</p>\n".into();
    }
    let mut h = String::new();
    for &asset in order.iter().take(MAX_ASSETS) {
        h.push_str(&one(v, asset));
    }
    if order.len() > MAX_ASSETS {
        let _ = writeln!(
            h,
            "<p class=\"note\">{} more asset(s) not drawn; their figures are in the tables.</p>",
            order.len() - MAX_ASSETS
        );
    }
    h
}

fn one(v: &TraceView, asset: usize) -> String {
    let key = v.asset_key(asset);
    let links: Vec<_> = v.sankey.iter().filter(|l| l.asset == asset).collect();
    let max_hop = links
        .iter()
        .flat_map(|l| [&l.from, &l.to])
        .filter_map(|n| match n {
            SankeyNode::Hop(h) => Some(*h),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let col = |n: &SankeyNode| -> usize {
        match n {
            SankeyNode::Seeds => 0,
            SankeyNode::Hop(h) => *h as usize,
            SankeyNode::Category(_) => max_hop as usize + 1,
        }
    };
    let ncols = max_hop as usize + 2;
    // node values: max(Σ in, Σ out)
    let mut inv: BTreeMap<&SankeyNode, U256> = BTreeMap::new();
    let mut outv: BTreeMap<&SankeyNode, U256> = BTreeMap::new();
    for l in &links {
        *outv.entry(&l.from).or_default() += l.value;
        *inv.entry(&l.to).or_default() += l.value;
    }
    let mut nodes: Vec<&SankeyNode> = inv.keys().chain(outv.keys()).copied().collect();
    nodes.sort();
    nodes.dedup();
    let value = |n: &SankeyNode| -> U256 {
        let a = inv.get(n).copied().unwrap_or_default();
        let b = outv.get(n).copied().unwrap_or_default();
        a.max(b)
    };
    let mut columns: Vec<Vec<&SankeyNode>> = vec![Vec::new(); ncols];
    for n in &nodes {
        columns[col(n)].push(n);
    }
    let col_total = |c: &Vec<&SankeyNode>| c.iter().map(|n| f64_of(value(n))).sum::<f64>();
    let max_total = columns.iter().map(col_total).fold(0.0f64, f64::max);
    let max_n = columns.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let avail = H - TOP - 10.0 - GAP * (max_n - 1.0).max(0.0);
    let k = if max_total > 0.0 {
        avail.max(40.0) / max_total
    } else {
        0.0
    };
    let dx = if ncols > 1 {
        (W - 160.0 - NODE_W) / (ncols - 1) as f64
    } else {
        0.0
    };
    // node boxes
    let mut pos: BTreeMap<&SankeyNode, (f64, f64, f64)> = BTreeMap::new();
    for (ci, c) in columns.iter().enumerate() {
        let mut y = TOP;
        for n in c {
            let hgt = (f64_of(value(n)) * k).max(2.0);
            pos.insert(n, (20.0 + ci as f64 * dx, y, hgt));
            y += hgt + GAP;
        }
    }
    let height = pos.values().map(|p| p.1 + p.2).fold(H, f64::max) + 10.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<figure class=\"sankey\"><figcaption>{}</figcaption>\n<svg viewBox=\"0 0 {W} {height:.0}\" role=\"img\" aria-label=\"{}\">",
        esc(key),
        esc(&format!("flow of tainted {key}"))
    );
    // bands: offsets inside each node, in link order
    let mut out_off: BTreeMap<&SankeyNode, f64> = BTreeMap::new();
    let mut in_off: BTreeMap<&SankeyNode, f64> = BTreeMap::new();
    for l in &links {
        let (Some(&(x0, y0, _)), Some(&(x1, y1, _))) = (pos.get(&l.from), pos.get(&l.to)) else {
            continue;
        };
        let w = (f64_of(l.value) * k).max(1.0);
        let o0 = out_off.entry(&l.from).or_default();
        let o1 = in_off.entry(&l.to).or_default();
        let (ya, yb) = (y0 + *o0 + w / 2.0, y1 + *o1 + w / 2.0);
        *o0 += w;
        *o1 += w;
        let (xa, xb) = (x0 + NODE_W, x1);
        let xm = (xa + xb) / 2.0;
        let _ = writeln!(
            s,
            "<path class=\"band\" d=\"M{xa:.1} {ya:.1}C{xm:.1} {ya:.1} {xm:.1} {yb:.1} {xb:.1} {yb:.1}\" stroke=\"{}\" stroke-width=\"{w:.1}\" fill=\"none\"><title>{}</title></path>",
            color(&l.to),
            esc(&format!(
                "{} → {}: {} {key}",
                name(&l.from),
                name(&l.to),
                v.dec(asset, l.value)
            ))
        );
    }
    for (n, (x, y, hgt)) in &pos {
        let label = format!("{} {}", name(n), v.dec(asset, value(n)));
        let _ = writeln!(
            s,
            "<g class=\"snode\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{NODE_W}\" height=\"{hgt:.1}\" fill=\"{}\"><title>{}</title></rect><text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            color(n),
            esc(&format!("{label} {key}")),
            x + NODE_W + 4.0,
            y + hgt / 2.0 + 4.0,
            esc(&label)
        );
    }
    s.push_str("</svg></figure>\n");
    s
}
