//! Plain tables for the terminal (and pasting into case files), and CSV renderings.

use comfy_table::{Table, presets};

use crate::knowledge::Incident;
use crate::knowledge::estimates::{Estimate, usd_short};
use crate::knowledge::labels::ImportReport;
use crate::model::{Address, Chain, Label};

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN);
    t.set_header(header.iter().copied());
    t
}

/// `incidents list`.
pub fn incidents_table(incidents: &[Incident]) -> String {
    let mut t = table(&[
        "id",
        "date",
        "name",
        "stolen",
        "usd (published)",
        "seeds",
        "chains",
    ]);
    for i in incidents {
        let seeds = i.addresses.iter().filter(|a| a.seed).count();
        t.add_row(vec![
            i.id.clone(),
            i.date.clone(),
            i.name.clone(),
            i.stolen_summary(),
            usd_short(i.usd_estimate),
            seeds.to_string(),
            i.chains.join(","),
        ]);
    }
    format!("{t}\n{} incidents\n", incidents.len())
}

/// `incidents show ID`.
pub fn incident_detail(i: &Incident) -> String {
    let mut s = String::new();
    let mut line = |k: &str, v: &str| s.push_str(&format!("{k:<14} {v}\n"));
    line("id", &i.id);
    line("name", &i.name);
    line("date", &i.date);
    line("chains", &i.chains.join(", "));
    line("stolen", &i.stolen_summary());
    line(
        "usd",
        &format!("{} ({})", usd_short(i.usd_estimate), i.usd_estimate_source),
    );
    if let Some(u) = &i.usd_at_time {
        line("usd at time", u);
    }
    if let Some(a) = &i.attribution {
        line("attribution", a);
    }
    if let Some(c) = &i.confidence {
        line("confidence", c);
    }
    let mut out = s;
    if !i.laundering_path.is_empty() {
        out.push_str("\nlaundering path (as published):\n");
        for (n, step) in i.laundering_path.iter().enumerate() {
            out.push_str(&format!("  {}. {step}\n", n + 1));
        }
    }
    if !i.theft_txs.is_empty() {
        out.push_str("\ntheft transactions:\n");
        for t in &i.theft_txs {
            out.push_str(&format!(
                "  {} {} {}\n",
                t.chain,
                t.hash,
                t.note.as_deref().unwrap_or("")
            ));
        }
    }
    let mut t = table(&["chain", "address", "seed", "role"]);
    for a in &i.addresses {
        t.add_row(vec![
            a.chain.to_string(),
            a.address.clone(),
            if a.seed { "yes" } else { "no" }.to_string(),
            a.role.clone(),
        ]);
    }
    out.push_str(&format!("\naddresses ({}):\n{t}\n", i.addresses.len()));
    if let Some(n) = &i.notes {
        out.push_str(&format!("\nnotes: {n}\n"));
    }
    out.push_str("\nsources:\n");
    for src in &i.sources {
        out.push_str(&format!("  - {src}\n"));
    }
    out
}

/// `estimates`.
pub fn estimates_table(estimates: &[Estimate]) -> String {
    let mut t = table(&[
        "id",
        "period",
        "publisher",
        "estimate",
        "kind",
        "scope",
        "source",
    ]);
    for e in estimates {
        let period = match e.years() {
            Some((a, b)) if a == b => a.to_string(),
            Some((a, b)) => format!("{a}–{b}"),
            None => "—".into(),
        };
        t.add_row(vec![
            e.id.clone(),
            period,
            e.publisher.clone(),
            e.range_text(),
            e.kind.clone(),
            e.scope.clone(),
            if e.url.is_empty() {
                e.source.clone()
            } else {
                format!("{} <{}>", e.source, e.url)
            },
        ]);
    }
    format!("{t}\n{} estimates\n", estimates.len())
}

/// `estimates --format csv`: the catalog's columns.
pub fn estimates_csv(estimates: &[Estimate]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for e in estimates {
        w.serialize(e)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `labels import` summary; every skipped entry is listed with its location and reason.
pub fn import_reports(reports: &[ImportReport]) -> String {
    let mut t = table(&["file", "format", "imported", "unchanged", "skipped"]);
    for r in reports {
        t.add_row(vec![
            r.file.clone(),
            r.format.to_string(),
            r.imported.to_string(),
            r.unchanged.to_string(),
            r.skipped.len().to_string(),
        ]);
    }
    let mut out = format!("{t}\n");
    for r in reports {
        for s in &r.skipped {
            out.push_str(&format!(
                "skipped {}:{} {}: {}\n",
                r.file, s.location, s.value, s.reason
            ));
        }
    }
    out
}

/// One looked-up address: its chain, the address, and its labels with their origins.
pub type LookupResult = (Chain, Address, Vec<(Label, String)>);

/// `labels lookup`: one block of rows per looked-up address.
pub fn lookup_table(results: &[LookupResult]) -> String {
    let mut t = table(&[
        "address",
        "chain",
        "category",
        "label",
        "actor",
        "confidence",
        "source",
    ]);
    for (chain, addr, labels) in results {
        if labels.is_empty() {
            t.add_row(vec![
                addr.to_string(),
                chain.to_string(),
                "—".into(),
                "(no label)".into(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        for (l, _) in labels {
            t.add_row(vec![
                l.address.to_string(),
                l.chain.to_string(),
                l.category.to_string(),
                l.label.clone(),
                l.actor.clone().unwrap_or_default(),
                l.confidence.to_string(),
                l.source.clone(),
            ]);
        }
    }
    format!("{t}\n")
}

/// Labels as CSV in the import layout, so that an export re-imports unchanged:
/// `address,label,category,chain,source,confidence,actor,abuse,context,origin`.
pub fn labels_csv(labels: &[(Label, String)]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "address",
        "label",
        "category",
        "chain",
        "source",
        "confidence",
        "actor",
        "abuse",
        "context",
        "origin",
    ])?;
    for (l, origin) in labels {
        w.write_record([
            l.address.to_string(),
            l.label.clone(),
            l.category.to_string(),
            l.chain.to_string(),
            l.source.clone(),
            l.confidence.to_string(),
            l.actor.clone().unwrap_or_default(),
            l.abuse.clone().unwrap_or_default(),
            l.context.clone().unwrap_or_default(),
            origin.clone(),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The headline of a trace: taint per category per asset, and where the files are.
pub fn trace_summary(r: &crate::trace::TraceResult, out: &std::path::Path) -> String {
    let mut header = vec!["asset", "injected"];
    header.extend(crate::trace::CATEGORIES);
    let mut t = table(&header);
    for (i, a) in r.assets.iter().enumerate() {
        if a.injected.is_zero() && a.by_category.values().all(|v| v.is_zero()) {
            continue;
        }
        let mut row = vec![
            a.key.clone(),
            crate::report::trace_out::dec(r, i, a.injected),
        ];
        for c in crate::trace::CATEGORIES {
            row.push(crate::report::trace_out::dec(r, i, a.by_category[c]));
        }
        t.add_row(row);
    }
    let conservation = if r.config.model.conserving() {
        if r.conservation_ok {
            "holds exactly"
        } else {
            "VIOLATED"
        }
    } else {
        "not applicable (poison sweeps in clean value: see swept_in_clean)"
    };
    format!(
        "model {} on {} from {} seed(s): {} transfers, {} addresses, {} endpoints, {} inferred links, max {} hops\n{t}\nconservation: {conservation}\noutputs in {}\n",
        r.config.model,
        r.config.chain,
        r.config.seeds.len(),
        r.graph.flows.len(),
        r.graph.nodes.len(),
        r.endpoints.len(),
        r.evidence.len(),
        r.hops_max,
        out.display()
    )
}
