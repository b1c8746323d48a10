//! Graphviz DOT of a trace's flow graph: every identifier and label a double-quoted string
//! with `"` and `\` escaped and control characters dropped, hop levels as `rank=same`
//! subgraphs, fill colours per category. `dot -Tsvg graph.dot > graph.svg`.

use std::collections::BTreeMap;
use std::io::Write;

use super::gexf::node_label;
use super::palette::category_hex;
use super::view::{FlowGraphView, TraceView};

/// `s` as a DOT double-quoted string (quotes included). Backslashes are doubled so that no
/// escape sequence of the input (`\N`, `\l` …) is interpreted; line breaks become spaces.
pub fn dot_quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' | '\r' | '\t' => o.push(' '),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Write `g` as a DOT digraph.
pub fn write_dot(v: &TraceView, g: &FlowGraphView, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &v.summary;
    writeln!(out, "digraph moneytrail {{")?;
    writeln!(
        out,
        "  graph [rankdir=LR, labelloc=t, label={}];",
        dot_quote(&format!(
            "{} trace on {}{}",
            s.model,
            s.chain,
            if s.simulated { " (simulated)" } else { "" }
        ))
    )?;
    writeln!(
        out,
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];"
    )?;
    writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9];")?;
    let mut ranks: BTreeMap<Option<u32>, Vec<usize>> = BTreeMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        ranks.entry(n.hop).or_default().push(i);
        let hop = n.hop.map(|h| h.to_string()).unwrap_or_default();
        writeln!(
            out,
            "  {} [label={}, fillcolor={}, category={}, role={}, entity={}, hop={}];",
            dot_quote(&n.id),
            dot_quote(&format!("{}\n{}", node_label(n), n.category)),
            dot_quote(&category_hex(&n.category)),
            dot_quote(&n.category),
            dot_quote(n.kind.as_str()),
            dot_quote(&n.entity),
            dot_quote(&hop),
        )?;
    }
    for members in ranks.values().filter(|m| m.len() > 1) {
        let ids: Vec<String> = members.iter().map(|&i| dot_quote(&g.nodes[i].id)).collect();
        writeln!(out, "  {{ rank=same; {} }}", ids.join("; "))?;
    }
    for e in &g.edges {
        let tainted = v.dec(e.asset, e.tainted);
        let asset = v.asset_key(e.asset);
        writeln!(
            out,
            "  {} -> {} [label={}, tainted_amount={}, amount={}, asset={}, transfers={}];",
            dot_quote(&g.nodes[e.from].id),
            dot_quote(&g.nodes[e.to].id),
            dot_quote(&format!("{tainted} {asset}")),
            dot_quote(&tainted),
            dot_quote(&v.dec(e.asset, e.amount)),
            dot_quote(asset),
            e.count,
        )?;
    }
    writeln!(out, "}}")
}

#[cfg(test)]
mod tests {
    use super::dot_quote;

    #[test]
    fn quoting_escapes_quotes_backslashes_and_controls() {
        assert_eq!(dot_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(dot_quote("x\ny\u{7}"), "\"x y\"");
        assert_eq!(dot_quote("<script>"), "\"<script>\"");
        assert_eq!(dot_quote(r"\"), r#""\\""#);
    }
}
