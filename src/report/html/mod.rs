//! The self-contained HTML report of a trace directory: one file, no external requests (inline
//! CSS, JS and SVG only, a Content-Security-Policy that forbids anything else), deterministic
//! (the same directory gives the same bytes).
//!
//! Sections: summary figures, a Sankey diagram (seeds → hops → endpoint categories), an
//! interactive graph view (layered by hop; pan, zoom, hover), a timeline of tainted transfers
//! by day, the endpoints with their evidence paths, inferred links, and the totals-vs-estimates
//! table. Every piece of text is escaped ([`esc`]); JSON embedded for the script is escaped
//! for a `<script>` element ([`script_json`]).

mod graph_svg;
mod sankey;
mod tables;

/// Table helpers shared with the Markdown report.
pub(crate) mod tables_api {
    pub(crate) use super::tables::{
        categories, path_index, price_source, sorted_endpoints, usd_by_category,
    };
}
mod timeline;

use std::fmt::Write as _;

use super::budget::DEFAULT_HTML_NODES;
use super::estimate_line::EstimateLine;
use super::view::TraceView;

/// Options of [`render_html`].
#[derive(Debug, Clone, Copy)]
pub struct HtmlOptions<'a> {
    /// Title (a default is built from the trace when None); "simulated" is added for a
    /// simulated trace.
    pub title: Option<&'a str>,
    /// Node budget of the graph view (default [`DEFAULT_HTML_NODES`]).
    pub node_budget: usize,
    /// Published estimates beside the traced totals (empty: the section says to run
    /// `moneytrail totals`).
    pub estimates: &'a [EstimateLine],
}

impl Default for HtmlOptions<'_> {
    fn default() -> Self {
        HtmlOptions {
            title: None,
            node_budget: DEFAULT_HTML_NODES,
            estimates: &[],
        }
    }
}

/// The Content-Security-Policy of the report: nothing may be loaded from anywhere.
pub const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// Escape text for HTML (element content and quoted attributes, also inside SVG): `& < > " '`
/// become entities; control characters other than tab and newline are dropped.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            '\t' | '\n' => o.push(c),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// JSON for a `<script type="application/json">` element: `<`, `>`, `&` and the line
/// separators are written as `\uXXXX` escapes, so no `</script>` or `<!--` can appear.
pub fn script_json(v: &serde_json::Value) -> String {
    let s = v.to_string();
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("\\u003c"),
            '>' => o.push_str("\\u003e"),
            '&' => o.push_str("\\u0026"),
            '\u{2028}' => o.push_str("\\u2028"),
            '\u{2029}' => o.push_str("\\u2029"),
            c => o.push(c),
        }
    }
    o
}

/// A USD figure for people: `$1,234,567` (cents below $1,000).
pub fn fmt_usd(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let neg = v < 0.0;
    let a = v.abs();
    let body = if a < 1000.0 {
        format!("{a:.2}")
    } else {
        let whole = format!("{:.0}", a);
        let mut out = String::new();
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        out
    };
    format!("{}${body}", if neg { "-" } else { "" })
}

/// Render the report.
pub fn render_html(v: &TraceView, opts: &HtmlOptions) -> String {
    let title = v.title(opts.title);
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n",
        CSP, // a constant without `"` or `<`
        esc(&title)
    );
    let _ = writeln!(h, "<header><h1 id=\"title\">{}</h1>", esc(&title));
    if v.summary.simulated {
        h.push_str(
            "<p class=\"banner\">Simulated data: these figures come from a simulated trace, \
             not from a real chain.</p>\n",
        );
    }
    h.push_str(
        "<nav><a href=\"#summary\">Summary</a> <a href=\"#flow\">Flow</a> \
         <a href=\"#graph\">Graph</a> <a href=\"#timeline\">Timeline</a> \
         <a href=\"#endpoints\">Endpoints</a> <a href=\"#links\">Inferred links</a> \
         <a href=\"#estimates\">Totals vs estimates</a></nav></header>\n<main>\n",
    );
    tables::summary(&mut h, v);
    let _ = writeln!(
        h,
        "<section id=\"flow\"><h2>Flow of the taint</h2>\n<p class=\"note\">Seeds → \
         intermediaries by hop → endpoint categories; band width ∝ tainted amount (per asset). \
         What still rests at unlabelled addresses ends in <em>unspent</em>.</p>"
    );
    h.push_str(&sankey::render(v));
    h.push_str("</section>\n");
    let g = v.graph.with_node_budget(opts.node_budget);
    h.push_str(&graph_svg::render(v, &g));
    h.push_str(&timeline::render(v));
    tables::endpoints(&mut h, v);
    tables::inferred_links(&mut h, v);
    tables::estimates(&mut h, opts.estimates);
    h.push_str(
        "</main>\n<footer><p>Written by moneytrail from the trace output directory alone: \
         this file is self-contained and makes no network request. Amounts are exact decimals \
         in each asset's units.</p></footer>\n",
    );
    let _ = write!(h, "<script>\n{JS}</script>\n</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<script>alert(1)</script>&\"'"),
            "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"
        );
        let j = script_json(&serde_json::json!({"a": "</script><!-- &"}));
        assert!(
            !j.contains('<') && !j.contains('>') && !j.contains('&'),
            "{j}"
        );
        let back: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(back["a"], "</script><!-- &");
        assert_eq!(fmt_usd(1234567.4), "$1,234,567");
        assert_eq!(fmt_usd(12.5), "$12.50");
        assert_eq!(fmt_usd(999999.6), "$1,000,000");
    }
}
