//! `moneytrail totals`: the recorded trace runs per catalogued incident and per year beside
//! every published estimate (docs/formats.md "Totals").

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;

use moneytrail::report::totals::{self, Totals};
use moneytrail::report::totals_out;
use moneytrail::trace::ModelKind;

use crate::{Cli, bad, catalog, emit, open_store, print_json};

/// Output formats of `totals`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TotalsFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

/// Which table `--format csv` prints to standard output.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TotalsTable {
    Incidents,
    Breakdown,
    Years,
}

/// `moneytrail totals`.
#[derive(clap::Args)]
pub(crate) struct TotalsArgs {
    /// Only incidents of this year (and the estimates for it).
    #[arg(long)]
    year: Option<i32>,
    /// Only this incident.
    #[arg(long)]
    incident: Option<String>,
    /// The model whose runs are summed.
    #[arg(long, default_value = "haircut")]
    model: String,
    #[arg(long, value_enum, default_value_t = TotalsFormat::Table)]
    format: TotalsFormat,
    /// Directory for the files (csv, json, parquet: totals_incidents, totals_breakdown,
    /// totals_years); required for parquet.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The table `--format csv` prints when there is no --out.
    #[arg(long, value_enum, default_value_t = TotalsTable::Years)]
    table: TotalsTable,
}

/// `moneytrail totals`.
pub(crate) fn totals_cmd(cli: &Cli, a: &TotalsArgs) -> Result<()> {
    let model: ModelKind = a
        .model
        .parse()
        .map_err(|e: moneytrail::trace::ModelError| bad(e.to_string()))?;
    let cat = catalog(cli)?;
    let incidents = cat.incidents()?;
    if let Some(id) = &a.incident {
        if !incidents.iter().any(|i| &i.id == id) {
            return Err(bad(format!(
                "unknown incident '{id}' (see `moneytrail incidents list`)"
            )));
        }
    }
    if let Some(y) = a.year {
        if !(2009..=2100).contains(&y) {
            return Err(bad(format!("invalid --year {y}")));
        }
    }
    if a.format == TotalsFormat::Parquet && a.out.is_none() {
        return Err(bad("--format parquet writes files: give --out DIR"));
    }
    let store = open_store(&cli.db)?;
    let scope = totals::Scope {
        model: model.as_str(),
        year: a.year,
        incident: a.incident.as_deref(),
    };
    let t = totals::from_store(&store, &incidents, &cat.estimates()?, scope)
        .context("reading the recorded trace runs and prices")?;
    match (&a.out, a.format) {
        (None, TotalsFormat::Table) => emit(&totals_out::totals_text(&t)),
        (None, TotalsFormat::Json) => print_json(&t),
        (None, TotalsFormat::Csv) => {
            let tb = match a.table {
                TotalsTable::Incidents => totals_out::incidents_table(&t),
                TotalsTable::Breakdown => totals_out::breakdown_table(&t),
                TotalsTable::Years => totals_out::years_table(&t),
            };
            let mut buf = Vec::new();
            tb.write_csv(&mut buf, "standard output")?;
            emit(&String::from_utf8_lossy(&buf))
        }
        (None, TotalsFormat::Parquet) => unreachable!("checked above"),
        (Some(dir), f) => write_files(&t, dir, f, cli.quiet),
    }
}

fn write_files(t: &Totals, dir: &std::path::Path, f: TotalsFormat, quiet: bool) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(bad(format!(
            "--out {} exists and is not a directory",
            dir.display()
        )));
    }
    let what = totals_out::TotalsFiles {
        json: matches!(f, TotalsFormat::Json | TotalsFormat::Table),
        csv: f == TotalsFormat::Csv,
        parquet: f == TotalsFormat::Parquet,
    };
    let written = totals_out::write_files(t, dir, what)?;
    if !quiet {
        for p in written {
            emit(&format!("wrote {}\n", p.display()))?;
        }
    }
    Ok(())
}
