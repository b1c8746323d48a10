//! The report's tables: summary figures, endpoints with evidence paths, inferred links,
//! totals against published estimates. All text through [`esc`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{esc, fmt_usd};
use crate::report::estimate_line::{EstimateLine, HEADERS};
use crate::report::view::{EndpointRow, PathRecord, TraceView};

/// Endpoint rows shown in the HTML table (the rest are counted, and are in endpoints.csv).
pub(crate) const MAX_ENDPOINT_ROWS: usize = 1000;

/// Categories in the order the tables list them.
pub(crate) const CATEGORY_ORDER: [&str; 9] = [
    "exchange",
    "mixer",
    "bridge",
    "sanctioned",
    "defi",
    "gambling",
    "unspent",
    "fee",
    "unknown",
];

/// Every category of the summary, known ones first in [`CATEGORY_ORDER`].
pub(crate) fn categories(v: &TraceView) -> Vec<String> {
    let mut out: Vec<String> = CATEGORY_ORDER.iter().map(|s| s.to_string()).collect();
    for a in &v.summary.assets {
        for c in a.by_category.keys() {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    out
}

/// Σ usd per category from endpoints.csv, when any row has a USD value.
pub(crate) fn usd_by_category(v: &TraceView) -> Option<BTreeMap<String, f64>> {
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    let mut any = false;
    for e in &v.endpoints {
        if let Some(u) = e.usd.as_deref().and_then(|u| u.parse::<f64>().ok()) {
            any = true;
            *m.entry(e.category.clone()).or_default() += u;
        }
    }
    any.then_some(m)
}

/// The price source line of USD figures.
pub(crate) fn price_source(v: &TraceView) -> String {
    v.summary
        .price_source
        .clone()
        .unwrap_or_else(|| "the usd column of endpoints.csv (price source not named)".into())
}

pub(crate) fn summary(h: &mut String, v: &TraceView) {
    let s = &v.summary;
    h.push_str("<section id=\"summary\"><h2>Summary</h2>\n<table class=\"kv\">\n");
    let mut row = |k: &str, val: String| {
        let _ = writeln!(h, "<tr><th>{}</th><td>{val}</td></tr>", esc(k));
    };
    row("Model", esc(&s.model));
    row("Chain", esc(&s.chain));
    row(
        "Seeds",
        s.seeds
            .iter()
            .map(|x| format!("<code>{}</code>", esc(x)))
            .collect::<Vec<_>>()
            .join("<br>"),
    );
    if let Some(i) = &s.incident {
        row("Incident", esc(i));
    }
    row(
        "Conservation",
        match s.conservation_ok {
            Some(true) => "ok: injected = Σ endpoints + fees + unspent, to the base unit".into(),
            Some(false) => {
                "<strong class=\"bad\">FAILED</strong> (or not a conserving model)".into()
            }
            None => "not reported".into(),
        },
    );
    for (k, label) in [
        ("transfers", "Transfers loaded"),
        ("tainted_transfers", "Tainted transfers"),
        ("addresses", "Addresses"),
        ("hops_max", "Most hops"),
        ("endpoints", "Endpoint rows"),
        ("inferred_links", "Inferred links"),
    ] {
        if let Some(n) = s.stats.get(k).filter(|n| !n.is_null()) {
            row(label, esc(&n.to_string()));
        }
    }
    h.push_str("</table>\n<h3>Tainted amounts per category</h3>\n<table class=\"num\" id=\"figures\"><thead><tr><th>category</th>");
    for a in &s.assets {
        let _ = write!(h, "<th>{}</th>", esc(&a.key));
    }
    h.push_str("</tr></thead><tbody>\n<tr class=\"total\"><th>injected</th>");
    for a in &s.assets {
        let _ = write!(h, "<td>{}</td>", esc(&a.injected));
    }
    h.push_str("</tr>\n");
    for c in categories(v) {
        let _ = write!(h, "<tr><th>{}</th>", esc(&c));
        for a in &s.assets {
            let val = a.by_category.get(&c).map(String::as_str).unwrap_or("—");
            let _ = write!(h, "<td>{}</td>", esc(val));
        }
        h.push_str("</tr>\n");
    }
    for (name, pick) in [
        (
            "unexplained: value spent beyond the data (not taint)",
            0usize,
        ),
        ("swept in clean (poison)", 1usize),
    ] {
        let vals: Vec<Option<&String>> = s
            .assets
            .iter()
            .map(|a| {
                if pick == 0 {
                    a.unexplained.as_ref()
                } else {
                    a.swept_in_clean.as_ref()
                }
            })
            .collect();
        if vals.iter().any(Option::is_some) {
            let _ = write!(h, "<tr><th>{}</th>", esc(name));
            for x in vals {
                let _ = write!(h, "<td>{}</td>", esc(x.map(String::as_str).unwrap_or("—")));
            }
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</tbody></table>\n");
    match usd_by_category(v) {
        Some(m) => {
            h.push_str("<h3>USD</h3>\n<table class=\"num\" id=\"usd\"><thead><tr><th>category</th><th>USD</th></tr></thead><tbody>\n");
            for (c, u) in &m {
                let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(c), fmt_usd(*u));
            }
            let _ = writeln!(
                h,
                "</tbody></table>\n<p class=\"note\">Price source: {}.</p>",
                esc(&price_source(v))
            );
        }
        None => h.push_str(
            "<p class=\"note\">No USD figures: endpoints.csv has no <code>usd</code> values \
             (load prices and trace again).</p>\n",
        ),
    }
    h.push_str("</section>\n");
}

fn norm(a: &str) -> String {
    if a.starts_with("0x") {
        a.to_ascii_lowercase()
    } else {
        a.to_string()
    }
}

/// paths.jsonl indexed by (endpoint, asset, category, kind).
pub(crate) fn path_index(v: &TraceView) -> BTreeMap<(String, String, String, String), &PathRecord> {
    let mut m = BTreeMap::new();
    for p in &v.paths {
        m.entry((
            norm(p.endpoint.as_deref().unwrap_or("")),
            p.asset.clone(),
            p.category.clone(),
            p.kind.clone(),
        ))
        .or_insert(p);
    }
    m
}

/// Endpoint rows in display order: per asset, largest first.
pub(crate) fn sorted_endpoints(v: &TraceView) -> Vec<&EndpointRow> {
    let mut rows: Vec<&EndpointRow> = v.endpoints.iter().collect();
    rows.sort_by(|a, b| {
        a.asset
            .cmp(&b.asset)
            .then(b.base.cmp(&a.base))
            .then(a.address.cmp(&b.address))
            .then(a.category.cmp(&b.category))
    });
    rows
}

fn path_cell(h: &mut String, p: Option<&&PathRecord>, asset: &str) {
    let Some(p) = p else {
        h.push_str("<td>—</td>");
        return;
    };
    let _ = write!(
        h,
        "<td><details><summary>{} hop(s), bottleneck {} {}</summary><ol class=\"path\">",
        p.steps.len(),
        esc(&p.bottleneck),
        esc(asset)
    );
    for s in &p.steps {
        let _ = write!(
            h,
            "<li><code>{}</code><br>{} → {}: {} {}</li>",
            esc(&s.tx_hash),
            esc(&short(&s.from)),
            esc(&short(&s.to)),
            esc(&s.tainted_amount),
            esc(asset)
        );
    }
    h.push_str("</ol></details></td>");
}

/// `0x1234…abcd` for long identifiers.
pub(crate) fn short(a: &str) -> String {
    let n = a.chars().count();
    if n <= 16 {
        a.to_string()
    } else {
        let head: String = a.chars().take(8).collect();
        let tail: String = a.chars().skip(n - 6).collect();
        format!("{head}…{tail}")
    }
}

pub(crate) fn endpoints(h: &mut String, v: &TraceView) {
    let rows = sorted_endpoints(v);
    let idx = path_index(v);
    let any_usd = v.endpoints.iter().any(|e| e.usd.is_some());
    let _ = writeln!(
        h,
        "<section id=\"endpoints\"><h2>Endpoints</h2>\n<p class=\"note\">{} row(s) of \
         endpoints.csv; evidence paths from paths.jsonl (shortest: fewest hops; largest: widest \
         bottleneck).</p>",
        rows.len()
    );
    h.push_str("<div class=\"scroll\"><table id=\"endpoints-table\"><thead><tr><th>address</th><th>entity</th><th>category</th><th>asset</th><th class=\"r\">amount</th>");
    if any_usd {
        h.push_str("<th class=\"r\">USD</th>");
    }
    h.push_str("<th>hops</th><th>first</th><th>last</th><th>shortest path</th><th>largest path</th></tr></thead><tbody>\n");
    for e in rows.iter().take(MAX_ENDPOINT_ROWS) {
        let addr = if e.address.is_empty() {
            "(fee sink)"
        } else {
            &e.address
        };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td><span class=\"cat\" data-cat=\"{}\">{}</span></td><td>{}</td><td class=\"r\">{}</td>",
            esc(addr),
            esc(&e.entity),
            esc(&e.category),
            esc(&e.category),
            esc(&e.asset),
            esc(&e.amount)
        );
        if any_usd {
            let u = e
                .usd
                .as_deref()
                .and_then(|u| u.parse::<f64>().ok())
                .map(fmt_usd);
            let _ = write!(
                h,
                "<td class=\"r\">{}</td>",
                u.unwrap_or_else(|| "—".into())
            );
        }
        let _ = write!(
            h,
            "<td>{}</td><td>{}</td><td>{}</td>",
            e.min_hops.map(|x| x.to_string()).unwrap_or_default(),
            esc(&e.first_time),
            esc(&e.last_time)
        );
        for kind in ["shortest", "largest"] {
            let key = (
                norm(&e.address),
                e.asset.clone(),
                e.category.clone(),
                kind.to_string(),
            );
            path_cell(h, idx.get(&key), &e.asset);
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
    if rows.len() > MAX_ENDPOINT_ROWS {
        let _ = writeln!(
            h,
            "<p class=\"note\">{} more row(s), the smallest, are in endpoints.csv.</p>",
            rows.len() - MAX_ENDPOINT_ROWS
        );
    }
    h.push_str("</section>\n");
}

pub(crate) fn inferred_links(h: &mut String, v: &TraceView) {
    h.push_str("<section id=\"links\"><h2>Inferred links</h2>\n");
    if v.evidence.is_empty() {
        h.push_str("<p class=\"note\">None (evidence.jsonl is empty).</p></section>\n");
        return;
    }
    h.push_str("<div class=\"scroll\"><table><thead><tr><th>heuristic</th><th>address</th><th>linked to</th><th>entity</th><th>confidence</th><th>followed</th><th>parameters</th><th>witness txs</th></tr></thead><tbody>\n");
    for e in v.evidence_cells() {
        let witnesses: Vec<String> = e
            .witness_txs
            .iter()
            .map(|t| format!("<code>{}</code>", esc(t)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.heuristic),
            esc(&e.address),
            esc(&e.linked_to),
            esc(&e.entity),
            esc(&e.confidence),
            esc(&e.followed),
            esc(&e.parameters),
            witnesses.join("<br>")
        );
    }
    h.push_str("</tbody></table></div></section>\n");
}

pub(crate) fn estimates(h: &mut String, lines: &[EstimateLine]) {
    h.push_str("<section id=\"estimates\"><h2>Totals vs published estimates</h2>\n");
    if lines.is_empty() {
        h.push_str(
            "<p class=\"note\">no totals: run <code>moneytrail totals</code></p></section>\n",
        );
        return;
    }
    h.push_str("<div class=\"scroll\"><table class=\"num\" id=\"estimates-table\"><thead><tr>");
    for head in HEADERS {
        let _ = write!(h, "<th>{head}</th>");
    }
    h.push_str("</tr></thead><tbody>\n");
    for e in lines {
        let cells = e.cells();
        h.push_str("<tr>");
        for (i, c) in cells.iter().enumerate() {
            let class = if i == cells.len() - 1 {
                " class=\"url\""
            } else {
                ""
            };
            let _ = write!(h, "<td{class}>{}</td>", esc(c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n<p class=\"note\">Sources are shown as text; this file links to nothing.</p></section>\n");
}
