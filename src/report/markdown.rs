//! The report as Markdown, for pasting into a case file: the same figures as the HTML report
//! (summary, amounts per category, USD when present), the endpoints table, evidence paths,
//! inferred links and the totals-vs-estimates table. Table text is escaped ([`md`]).

use std::fmt::Write as _;

use super::estimate_line::{EstimateLine, HEADERS};
use super::html::fmt_usd;
use super::html::tables_api::{
    categories, path_index, price_source, sorted_endpoints, usd_by_category,
};
use super::view::TraceView;

/// Escape text for a Markdown table cell or line: `\`, `|`, `` ` ``, `*`, `_`, `[`, `]` get a
/// backslash, `<` `>` `&` become entities (no HTML is rendered), line breaks become spaces.
pub fn md(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' => {
                o.push('\\');
                o.push(c);
            }
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\n' | '\r' | '\t' => o.push(' '),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// An identifier as a code span when it is plain (hex, base58, bech32), else escaped text.
fn code(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '.')
    {
        format!("`{s}`")
    } else {
        md(s)
    }
}

/// Render the Markdown report.
pub fn render_markdown(v: &TraceView, title: Option<&str>, estimates: &[EstimateLine]) -> String {
    let s = &v.summary;
    let mut m = String::new();
    let _ = writeln!(m, "# {}\n", md(&v.title(title)));
    if s.simulated {
        m.push_str("> **Simulated data**: these figures come from a simulated trace, not from a real chain.\n\n");
    }
    m.push_str("## Summary\n\n| | |\n|---|---|\n");
    let _ = writeln!(m, "| Model | {} |", md(&s.model));
    let _ = writeln!(m, "| Chain | {} |", md(&s.chain));
    let seeds: Vec<String> = s.seeds.iter().map(|x| code(x)).collect();
    let _ = writeln!(m, "| Seeds | {} |", seeds.join(", "));
    if let Some(i) = &s.incident {
        let _ = writeln!(m, "| Incident | {} |", md(i));
    }
    let _ = writeln!(
        m,
        "| Conservation | {} |",
        match s.conservation_ok {
            Some(true) => "ok (injected = Σ endpoints + fees + unspent)",
            Some(false) => "**FAILED** (or not a conserving model)",
            None => "not reported",
        }
    );
    for (k, label) in [
        ("transfers", "Transfers loaded"),
        ("tainted_transfers", "Tainted transfers"),
        ("addresses", "Addresses"),
        ("hops_max", "Most hops"),
        ("endpoints", "Endpoint rows"),
    ] {
        if let Some(n) = s.stats.get(k).filter(|n| !n.is_null()) {
            let _ = writeln!(m, "| {label} | {} |", md(&n.to_string()));
        }
    }
    m.push_str("\n## Tainted amounts per category\n\n| category |");
    for a in &s.assets {
        let _ = write!(m, " {} |", md(&a.key));
    }
    m.push_str("\n|---|");
    for _ in &s.assets {
        m.push_str("---:|");
    }
    m.push_str("\n| **injected** |");
    for a in &s.assets {
        let _ = write!(m, " {} |", md(&a.injected));
    }
    m.push('\n');
    for c in categories(v) {
        let _ = write!(m, "| {} |", md(&c));
        for a in &s.assets {
            let _ = write!(
                m,
                " {} |",
                md(a.by_category.get(&c).map(String::as_str).unwrap_or("—"))
            );
        }
        m.push('\n');
    }
    if let Some(usd) = usd_by_category(v) {
        m.push_str("\n| category | USD |\n|---|---:|\n");
        for (c, u) in &usd {
            let _ = writeln!(m, "| {} | {} |", md(c), fmt_usd(*u));
        }
        let _ = writeln!(m, "\nPrice source: {}.", md(&price_source(v)));
    }
    m.push_str("\n## Endpoints\n\n");
    let rows = sorted_endpoints(v);
    if rows.is_empty() {
        m.push_str("None.\n");
    } else {
        m.push_str("| address | entity | category | asset | amount | USD | hops | first | last |\n|---|---|---|---|---:|---:|---:|---|---|\n");
        for e in &rows {
            let addr = if e.address.is_empty() {
                "(fee sink)".to_string()
            } else {
                code(&e.address)
            };
            let usd = e
                .usd
                .as_deref()
                .and_then(|u| u.parse::<f64>().ok())
                .map(fmt_usd)
                .unwrap_or_default();
            let _ = writeln!(
                m,
                "| {addr} | {} | {} | {} | {} | {usd} | {} | {} | {} |",
                md(&e.entity),
                md(&e.category),
                md(&e.asset),
                md(&e.amount),
                e.min_hops.map(|h| h.to_string()).unwrap_or_default(),
                md(&e.first_time),
                md(&e.last_time)
            );
        }
    }
    m.push_str("\n## Evidence paths\n\n");
    let idx = path_index(v);
    let mut any = false;
    for ((endpoint, asset, category, kind), p) in &idx {
        any = true;
        let who = if endpoint.is_empty() {
            "(fee sink)".to_string()
        } else {
            code(endpoint)
        };
        let _ = writeln!(
            m,
            "- {who} ({}, {}, {}) — {} path, {} hop(s), bottleneck {} {}:",
            md(&p.entity),
            md(category),
            md(asset),
            md(kind),
            p.steps.len(),
            md(&p.bottleneck),
            md(asset)
        );
        for st in &p.steps {
            let _ = writeln!(
                m,
                "  1. {} {} → {}: {} {}",
                code(&st.tx_hash),
                code(&st.from),
                code(&st.to),
                md(&st.tainted_amount),
                md(asset)
            );
        }
    }
    if !any {
        m.push_str("None.\n");
    }
    m.push_str("\n## Inferred links\n\n");
    if v.evidence.is_empty() {
        m.push_str("None.\n");
    } else {
        m.push_str("| heuristic | address | linked to | entity | confidence | followed | witness txs |\n|---|---|---|---|---|---|---|\n");
        for e in v.evidence_cells() {
            let w: Vec<String> = e.witness_txs.iter().map(|x| code(x)).collect();
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} | {} |",
                md(&e.heuristic),
                code(&e.address),
                code(&e.linked_to),
                md(&e.entity),
                md(&e.confidence),
                e.followed,
                w.join(" ")
            );
        }
    }
    m.push_str("\n## Totals vs published estimates\n\n");
    if estimates.is_empty() {
        m.push_str("no totals: run `moneytrail totals`\n");
    } else {
        let _ = writeln!(m, "| {} |", HEADERS.join(" | "));
        m.push_str("|---:|---|---|---:|---:|---:|---:|---:|---|---|\n");
        for e in estimates {
            let cells: Vec<String> = e.cells().iter().map(|c| md(c)).collect();
            let _ = writeln!(m, "| {} |", cells.join(" | "));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::md;

    #[test]
    fn cells_are_escaped() {
        assert_eq!(md("a|b`c"), "a\\|b\\`c");
        assert_eq!(md("<script>x</script>"), "&lt;script&gt;x&lt;/script&gt;");
        assert_eq!(md("l1\nl2"), "l1 l2");
    }
}
