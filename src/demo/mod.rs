//! `moneytrail demo`: the whole product on a **simulated** chain, offline. The chain of
//! [`scenario`] (a Ronin-like laundering among clean background activity) is written into a
//! fresh store as the fetchers would write it, traced under every model, valued in USD with
//! the embedded monthly prices, summed by `totals` beside the published 2022 estimates, and
//! reported; each model's amounts per category are compared with the story's ground truth.
//! Everything written says "simulated".

pub mod scenario;
mod sim;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy_primitives::U256;

use crate::knowledge::incidents::{Incident, IncidentAddress, StolenAsset};
use crate::knowledge::prices::PriceBook;
use crate::knowledge::{Catalog, CatalogError};
use crate::model::Amount;
use crate::report::totals::{self, Totals};
use crate::report::{totals_out, trace_out, trace_tables, usd};
use crate::store::{BulkIds, Store, StoreError};
use crate::trace::{self, ModelKind, TraceConfig, TraceError};

/// The incident id the demo's runs are recorded under.
pub const INCIDENT: &str = "demo-ronin-2022-simulated";

/// The models the demo runs, in display order.
pub const MODELS: [ModelKind; 5] = [
    ModelKind::Poison,
    ModelKind::Haircut,
    ModelKind::Fifo,
    ModelKind::Lifo,
    ModelKind::Tiho,
];

/// A demo failure.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The trace.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The embedded catalog.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Writing an output.
    #[error("writing {path}: {source}")]
    Io {
        /// File or directory.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Writing a table.
    #[error(transparent)]
    Table(#[from] crate::report::table::TableError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One line of the headline: an (asset, category) under every model beside the ground truth.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HeadlineRow {
    /// Asset symbol.
    pub asset: String,
    /// Category.
    pub category: String,
    /// Per model (in [`MODELS`] order): (ground truth, traced), decimal text.
    pub by_model: Vec<(String, String)>,
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    /// The output directory.
    pub out: PathBuf,
    /// The store it wrote.
    pub db: PathBuf,
    /// Transfers of the simulated chain.
    pub transfers: usize,
    /// One trace directory per model.
    pub traces: Vec<(ModelKind, PathBuf)>,
    /// Per (asset, category): truth and traced per model.
    pub headline: Vec<HeadlineRow>,
    /// Every model found exactly the ground truth, and every conserving model conserved.
    pub all_match: bool,
    /// The totals of the haircut runs.
    pub totals: Totals,
    /// The HTML report of the haircut trace (report.md beside it).
    pub report: PathBuf,
}

/// The simulated incident (not in the catalog: it exists only in the demo's store).
pub fn incident(s: &scenario::Scenario) -> Incident {
    Incident {
        id: INCIDENT.into(),
        name: "Ronin-like bridge theft (SIMULATED)".into(),
        date: "2022-03-23".into(),
        chains: vec!["ethereum".into()],
        usd_at_time: None,
        usd_estimate: 620_000_000,
        usd_estimate_source: "FBI figure of the real Ronin theft the simulation is modelled on"
            .into(),
        attribution: None,
        confidence: None,
        laundering_path: Vec::new(),
        sources: vec!["simulated by moneytrail demo (src/demo/scenario.rs)".into()],
        notes: Some("simulated data".into()),
        stolen: vec![
            StolenAsset {
                chain: "ethereum".into(),
                symbol: "ETH".into(),
                amount: "173600".into(),
                contract: None,
                decimals: None,
            },
            StolenAsset {
                chain: "ethereum".into(),
                symbol: "USDC".into(),
                amount: "25500000".into(),
                contract: None,
                decimals: Some(6),
            },
        ],
        addresses: s
            .seeds
            .iter()
            .map(|a| IncidentAddress {
                chain: s.chain,
                address: a.to_string(),
                role: "exploiter (simulated)".into(),
                seed: true,
                source: "simulated".into(),
            })
            .collect(),
        theft_txs: Vec::new(),
        start_blocks: BTreeMap::new(),
    }
}

/// Write the scenario into a fresh store at `db` (an existing file is replaced).
pub fn write_store(s: &scenario::Scenario, db: &Path) -> Result<Store, DemoError> {
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    let mut store = Store::open(db)?;
    store.set_meta("simulated", "moneytrail demo")?;
    let mut w = store.writer()?;
    for a in &s.assets {
        w.insert_asset(a)?;
    }
    for l in &s.labels {
        w.insert_label(l, "demo")?;
    }
    let mut ids = BulkIds::default();
    w.insert_transfers_bulk(&s.transfers, &mut ids)?;
    w.commit()?;
    Ok(store)
}

/// Run the demo into `out`.
pub fn run(out: &Path) -> Result<DemoOutcome, DemoError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let s = scenario::build();
    let db = out.join("demo.db");
    let mut store = write_store(&s, &db)?;
    let book = PriceBook::embedded();
    let mut traces = Vec::new();
    let mut found: BTreeMap<ModelKind, BTreeMap<(String, String), U256>> = BTreeMap::new();
    let mut all_match = true;
    for m in MODELS {
        let mut cfg = TraceConfig::new(s.chain, s.seeds.clone());
        cfg.model = m;
        cfg.incident = Some(INCIDENT.into());
        cfg.simulated = true;
        let input = trace::load(&store, &cfg)?;
        let r = trace::run(input, &cfg)?;
        let v = usd::value(&r, &book);
        let dir = out.join(format!("trace-{}", m.as_str()));
        trace_out::write_all(&r, Some(&v), &dir).map_err(io(&dir))?;
        trace_tables::write_parquet(&r, Some(&v), &dir)?;
        let abs = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        store.record_trace_run(&totals::run_record(
            &r,
            Some(&v),
            &abs.display().to_string(),
        ))?;
        all_match &= r.conservation_ok;
        let mut got = BTreeMap::new();
        for a in &r.assets {
            for (c, v) in &a.by_category {
                got.insert((a.key.clone(), c.to_string()), *v);
            }
            all_match &= s.injected.get(&a.key) == Some(&a.injected);
        }
        found.insert(m, got);
        traces.push((m, dir));
    }
    let mut headline = Vec::new();
    let keys: Vec<(String, String)> = s.truth[&ModelKind::Haircut].keys().cloned().collect();
    for k in keys {
        let dec = |v: U256| Amount(v).to_decimal(if k.0 == "USDC" { 6 } else { 18 });
        let by_model: Vec<(String, String)> = MODELS
            .iter()
            .map(|m| {
                let t = s.truth[m].get(&k).copied().unwrap_or_default();
                let f = found[m].get(&k).copied().unwrap_or_default();
                (dec(t), dec(f))
            })
            .collect();
        all_match &= by_model.iter().all(|(t, f)| t == f);
        if by_model.iter().all(|(t, f)| t == "0" && f == "0") {
            continue;
        }
        headline.push(HeadlineRow {
            asset: k.0.clone(),
            category: k.1.clone(),
            by_model,
        });
    }
    let estimates = Catalog::embedded().estimates()?;
    let inc = incident(&s);
    let scope = totals::Scope {
        model: "haircut",
        year: Some(2022),
        incident: None,
    };
    let t = totals::from_store(&store, std::slice::from_ref(&inc), &estimates, scope)?;
    let tdir = out.join("totals");
    let all = totals_out::TotalsFiles {
        json: true,
        csv: true,
        parquet: true,
    };
    totals_out::write_files(&t, &tdir, all)?;
    // the report of the haircut trace, with the year's estimates
    let lines = totals::estimate_lines(&t);
    let hdir = out.join("trace-haircut");
    let view = crate::report::view::TraceView::read(&hdir).map_err(|e| DemoError::Io {
        path: hdir.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let title = "SIMULATED Ronin-like theft — moneytrail demo (haircut)";
    let html = crate::report::html::render_html(
        &view,
        &crate::report::html::HtmlOptions {
            title: Some(title),
            node_budget: crate::report::budget::DEFAULT_HTML_NODES,
            estimates: &lines,
        },
    );
    let report = out.join("report.html");
    std::fs::write(&report, html).map_err(io(&report))?;
    let md = crate::report::markdown::render_markdown(&view, Some(title), &lines);
    let report_md = out.join("report.md");
    std::fs::write(&report_md, md).map_err(io(&report_md))?;
    Ok(DemoOutcome {
        report,
        out: out.to_path_buf(),
        db,
        transfers: s.transfers.len(),
        traces,
        headline,
        all_match,
        totals: t,
    })
}

/// The headline table: per asset and category, the ground truth and what each model traced.
pub fn headline_text(o: &DemoOutcome) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    let mut head = vec!["asset".to_string(), "category".to_string()];
    head.extend(MODELS.iter().map(|m| m.as_str().to_string()));
    t.set_header(head);
    for r in &o.headline {
        let mut row = vec![r.asset.clone(), r.category.clone()];
        for (truth, traced) in &r.by_model {
            row.push(if truth == traced {
                format!("{traced} ✓")
            } else {
                format!("{traced} ✗ (truth {truth})")
            });
        }
        t.add_row(row);
    }
    format!(
        "SIMULATED — moneytrail demo: a Ronin-like laundering on a simulated chain ({} transfers).\n\
         Traced amount per category under each model; ✓ = equal to the simulation's ground truth \
         to the base unit.\n\n{t}\n",
        o.transfers
    )
}
