//! `moneytrail report --trace DIR`: the HTML (default), Markdown or JSON report of a trace
//! output directory, or its graph as GEXF / DOT / node-link JSON. Reads the directory only;
//! never the network or the database.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;

use moneytrail::report::budget::DEFAULT_HTML_NODES;
use moneytrail::report::estimate_line::EstimateLine;
use moneytrail::report::exports::GraphFormat;
use moneytrail::report::html::{HtmlOptions, render_html};
use moneytrail::report::markdown::render_markdown;
use moneytrail::report::report_json::report_json;
use moneytrail::report::totals;
use moneytrail::report::view::TraceView;

use crate::{Cli, bad, catalog, emit, open_store};

/// Output formats of `report`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ReportFormat {
    /// One self-contained HTML file (default: DIR/report.html).
    Html,
    /// Markdown for a case file (default: DIR/report.md).
    Md,
    /// The figures as JSON (default: standard output).
    Json,
    /// GEXF 1.3 graph (default: DIR/graph.gexf).
    Gexf,
    /// Graphviz DOT (default: DIR/graph.dot).
    Dot,
    /// networkx node-link JSON (default: DIR/graph.json).
    GraphJson,
}

/// `moneytrail report`.
#[derive(clap::Args)]
pub(crate) struct ReportArgs {
    /// A trace output directory (`moneytrail trace --out DIR`).
    #[arg(long)]
    trace: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    format: ReportFormat,
    /// Output file ("-" for standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Report title (HTML / Markdown).
    #[arg(long)]
    title: Option<String>,
    /// Most nodes the HTML graph view (and the JSON figures) show; smaller flows are
    /// aggregated per hop level. Graph exports are never aggregated unless this is given.
    #[arg(long, value_name = "N")]
    node_budget: Option<usize>,
}

/// The totals-vs-estimates lines of the traced incident's year: the newest runs of the trace's
/// model in the database, summed over that year's catalogued incidents (none without an
/// incident or when the incident is not in the catalog).
fn totals_for(cli: &Cli, view: &TraceView) -> Result<Vec<EstimateLine>> {
    let Some(id) = &view.summary.incident else {
        return Ok(Vec::new());
    };
    let cat = catalog(cli)?;
    let incidents = cat.incidents()?;
    let Some(inc) = incidents.iter().find(|i| &i.id == id) else {
        return Ok(Vec::new());
    };
    if !cli.db.exists() {
        return Ok(Vec::new());
    }
    let store = open_store(&cli.db)?;
    let scope = totals::Scope {
        model: &view.summary.model,
        year: Some(inc.year()),
        incident: None,
    };
    let t = totals::from_store(&store, &incidents, &cat.estimates()?, scope)?;
    Ok(totals::estimate_lines(&t))
}

/// `moneytrail report`.
pub(crate) fn report_cmd(cli: &Cli, a: &ReportArgs) -> Result<()> {
    if a.node_budget == Some(0) {
        return Err(bad("invalid --node-budget 0 (at least 1)"));
    }
    let view = TraceView::read(&a.trace).map_err(|e| bad(e.to_string()))?;
    let budget = a.node_budget.unwrap_or(DEFAULT_HTML_NODES);
    let lines = totals_for(cli, &view)?;
    let estimates: &[EstimateLine] = &lines;
    let (body, default_name): (Vec<u8>, Option<&str>) = match a.format {
        ReportFormat::Html => {
            let opts = HtmlOptions {
                title: a.title.as_deref(),
                node_budget: budget,
                estimates,
            };
            (render_html(&view, &opts).into_bytes(), Some("report.html"))
        }
        ReportFormat::Md => (
            render_markdown(&view, a.title.as_deref(), estimates).into_bytes(),
            Some("report.md"),
        ),
        ReportFormat::Json => (
            (serde_json::to_string_pretty(&report_json(&view, budget))? + "\n").into_bytes(),
            None,
        ),
        ReportFormat::Gexf | ReportFormat::Dot | ReportFormat::GraphJson => {
            let f = match a.format {
                ReportFormat::Gexf => GraphFormat::Gexf,
                ReportFormat::Dot => GraphFormat::Dot,
                _ => GraphFormat::NodeLink,
            };
            let g = match a.node_budget {
                Some(n) => view.graph.with_node_budget(n),
                None => view.graph.clone(),
            };
            let mut buf = Vec::new();
            f.write(&view, &g, &mut buf)?;
            (buf, Some(f.file_name()))
        }
    };
    let target = match (&a.out, default_name) {
        (Some(p), _) if p.as_os_str() == "-" => None,
        (Some(p), _) => Some(p.clone()),
        (None, Some(name)) => Some(a.trace.join(name)),
        (None, None) => None,
    };
    match target {
        None => emit(&String::from_utf8_lossy(&body)),
        Some(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !parent.is_dir() {
                    return Err(bad(format!(
                        "--out {}: directory {} does not exist",
                        path.display(),
                        parent.display()
                    )));
                }
            }
            let mut f = std::fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            f.write_all(&body)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if !cli.quiet {
                eprintln!("wrote {} ({} bytes)", path.display(), body.len());
            }
            Ok(())
        }
    }
}
