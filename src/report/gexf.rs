//! GEXF 1.3 of a trace's flow graph (opens in Gephi): node attributes `category`, `role`,
//! `entity`, `hop`, `members`; edge `weight` = Σ tainted amount in whole units of the edge's
//! asset (the exact decimal, a valid xsd:double), exact attributes `tainted_amount`, `amount`
//! (decimal strings), `asset`, `transfers`, first/last time; `viz:color` per category.

use std::io::Write;

use super::graphml::xml_escape;
use super::palette::category_color;
use super::view::{FlowGraphView, TraceView};

/// Write `g` (the view's graph, or a budgeted one) as GEXF 1.3.
pub fn write_gexf(v: &TraceView, g: &FlowGraphView, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &v.summary;
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<gexf xmlns="http://gexf.net/1.3" xmlns:viz="http://gexf.net/1.3/viz" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" version="1.3">"#
    )?;
    writeln!(out, "  <meta>")?;
    writeln!(out, "    <creator>moneytrail</creator>")?;
    writeln!(
        out,
        "    <description>{}</description>",
        xml_escape(&format!(
            "taint flows of a {} trace on {} from {} seed(s){}",
            s.model,
            s.chain,
            s.seeds.len(),
            if s.simulated { " (simulated)" } else { "" }
        ))
    )?;
    writeln!(out, "  </meta>")?;
    writeln!(out, r#"  <graph defaultedgetype="directed" mode="static">"#)?;
    writeln!(out, r#"    <attributes class="node">"#)?;
    for (id, title, ty) in [
        ("category", "category", "string"),
        ("role", "role", "string"),
        ("entity", "entity", "string"),
        ("hop", "hop", "integer"),
        ("members", "members", "integer"),
    ] {
        writeln!(
            out,
            r#"      <attribute id="{id}" title="{title}" type="{ty}"/>"#
        )?;
    }
    writeln!(out, "    </attributes>")?;
    writeln!(out, r#"    <attributes class="edge">"#)?;
    for (id, title, ty) in [
        ("asset", "asset", "string"),
        ("tainted_amount", "tainted_amount", "string"),
        ("amount", "amount", "string"),
        ("transfers", "transfers", "long"),
        ("hop", "hop", "integer"),
        ("first_time", "first_time", "string"),
        ("last_time", "last_time", "string"),
    ] {
        writeln!(
            out,
            r#"      <attribute id="{id}" title="{title}" type="{ty}"/>"#
        )?;
    }
    writeln!(out, "    </attributes>")?;
    writeln!(out, "    <nodes>")?;
    for n in &g.nodes {
        writeln!(
            out,
            r#"      <node id="{}" label="{}">"#,
            xml_escape(&n.id),
            xml_escape(&node_label(n))
        )?;
        writeln!(out, "        <attvalues>")?;
        let hop = n.hop.map(|h| h.to_string()).unwrap_or_else(|| "-1".into());
        let members = n.members.to_string();
        for (k, val) in [
            ("category", n.category.as_str()),
            ("role", n.kind.as_str()),
            ("entity", n.entity.as_str()),
            ("hop", hop.as_str()),
            ("members", members.as_str()),
        ] {
            writeln!(
                out,
                r#"          <attvalue for="{k}" value="{}"/>"#,
                xml_escape(val)
            )?;
        }
        writeln!(out, "        </attvalues>")?;
        let (r, gr, b) = category_color(&n.category);
        writeln!(out, r#"        <viz:color r="{r}" g="{gr}" b="{b}"/>"#)?;
        writeln!(out, "      </node>")?;
    }
    writeln!(out, "    </nodes>")?;
    writeln!(out, "    <edges>")?;
    for (k, e) in g.edges.iter().enumerate() {
        let tainted = v.dec(e.asset, e.tainted);
        writeln!(
            out,
            r#"      <edge id="e{k}" source="{}" target="{}" weight="{tainted}">"#,
            xml_escape(&g.nodes[e.from].id),
            xml_escape(&g.nodes[e.to].id),
        )?;
        writeln!(out, "        <attvalues>")?;
        let (amount, count, hop) = (
            v.dec(e.asset, e.amount),
            e.count.to_string(),
            e.hop.to_string(),
        );
        for (key, val) in [
            ("asset", v.asset_key(e.asset)),
            ("tainted_amount", tainted.as_str()),
            ("amount", amount.as_str()),
            ("transfers", count.as_str()),
            ("hop", hop.as_str()),
            ("first_time", e.first_time.as_str()),
            ("last_time", e.last_time.as_str()),
        ] {
            writeln!(
                out,
                r#"          <attvalue for="{key}" value="{}"/>"#,
                xml_escape(val)
            )?;
        }
        writeln!(out, "        </attvalues>")?;
        writeln!(out, "      </edge>")?;
    }
    writeln!(out, "    </edges>")?;
    writeln!(out, "  </graph>")?;
    writeln!(out, "</gexf>")
}

/// A node's display label: the entity beside the address when there is one.
pub(crate) fn node_label(n: &super::view::GraphNode) -> String {
    if n.entity.is_empty() || n.entity == n.label {
        n.label.clone()
    } else {
        format!("{} ({})", n.entity, n.label)
    }
}
