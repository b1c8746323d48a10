//! Renderings of [`Totals`]: the terminal table, the three column tables (incidents, breakdown,
//! years) for CSV and Parquet (docs/formats.md "Totals"), and JSON.

use comfy_table::presets;

use super::table::{Col, Table, opt_strs, strs};
use super::totals::Totals;
use crate::knowledge::estimates::usd_short;

/// Compact USD of an f64 figure ("$620M"), "—" when unknown.
pub fn usd_f(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 0.0 => usd_short(x.round() as u64),
        Some(x) => format!("-{}", usd_short((-x).round() as u64)),
        None => "—".into(),
    }
}

fn grid(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(presets::ASCII_MARKDOWN);
    t.set_header(header.iter().copied());
    t
}

/// The terminal rendering: incidents, years against the published estimates, what is missing.
pub fn totals_text(t: &Totals) -> String {
    let mut out = String::new();
    let simulated = t.incidents.iter().any(|i| i.simulated);
    out.push_str(&format!(
        "Totals of the recorded {} trace runs{} (USD at the price of each transfer day)\n\n",
        t.model,
        if simulated {
            " — SIMULATED data included"
        } else {
            ""
        }
    ));
    let mut g = grid(&[
        "incident",
        "year",
        "published",
        "stolen on chain (traced)",
        "exchanges",
        "mixers",
        "bridges",
        "defi",
        "resting",
        "unresolved",
        "status",
    ]);
    for i in &t.incidents {
        let c = |k: &str| usd_f(i.by_category_usd.get(k).copied().flatten());
        if i.status == "not traced" {
            g.add_row(vec![
                i.incident.clone(),
                i.year.to_string(),
                usd_short(i.published_usd),
                "—".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "not traced".into(),
            ]);
            continue;
        }
        g.add_row(vec![
            i.incident.clone(),
            i.year.to_string(),
            usd_short(i.published_usd),
            usd_f(i.injected_usd),
            c("exchange"),
            c("mixer"),
            c("bridge"),
            c("defi"),
            c("unspent"),
            c("unknown"),
            if i.reason.is_empty() {
                i.status.clone()
            } else {
                format!("{} ({})", i.status, i.reason)
            },
        ]);
    }
    out.push_str(&format!("{g}\n"));
    if !t.years.is_empty() {
        out.push_str("\nPer year, beside every published estimate for that year:\n\n");
        let mut g = grid(&[
            "year",
            "traced",
            "incidents traced",
            "estimate",
            "publisher",
            "published",
            "ratio",
            "inside range",
        ]);
        for y in &t.years {
            g.add_row(vec![
                y.year.to_string(),
                format!(
                    "{}{}",
                    usd_f(Some(y.traced_usd)),
                    if y.traced_incomplete {
                        " (+unpriced)"
                    } else {
                        ""
                    }
                ),
                format!("{}/{}", y.incidents_traced, y.incidents_catalogued),
                y.estimate_id.clone(),
                y.publisher.clone(),
                y.range.clone(),
                y.ratio.map(|r| format!("{r:.2}")).unwrap_or("—".into()),
                match y.inside_range {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "n/a (point figure)".into(),
                },
            ]);
        }
        out.push_str(&format!("{g}\n"));
    }
    let missing: Vec<_> = t
        .incidents
        .iter()
        .filter(|i| i.status != "traced")
        .collect();
    if !missing.is_empty() {
        out.push_str("\nNot (fully) traced:\n");
        for i in missing {
            out.push_str(&format!("  {} — {}: {}\n", i.incident, i.status, i.reason));
        }
    }
    out
}

/// The per-incident table.
pub fn incidents_table(t: &Totals) -> Table {
    let r = &t.incidents;
    let cat = |k: &'static str| {
        Col::F64(
            r.iter()
                .map(|i| i.by_category_usd.get(k).copied().flatten())
                .collect(),
        )
    };
    let mut tb = Table::default();
    tb.col("incident", strs(r.iter().map(|i| i.incident.clone())))
        .col("name", strs(r.iter().map(|i| i.name.clone())))
        .col(
            "year",
            Col::Int(r.iter().map(|i| Some(i.year as i64)).collect()),
        )
        .col("date", strs(r.iter().map(|i| i.date.clone())))
        .col("model", strs(r.iter().map(|_| t.model.clone())))
        .col("status", strs(r.iter().map(|i| i.status.clone())))
        .col("reason", opt_strs(r.iter().map(|i| i.reason.clone())))
        .col("chains", opt_strs(r.iter().map(|i| i.chains.join(","))))
        .col(
            "runs",
            opt_strs(r.iter().map(|i| {
                i.runs
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })),
        )
        .col(
            "published_usd",
            Col::Int(r.iter().map(|i| Some(i.published_usd as i64)).collect()),
        )
        .col(
            "published_source",
            strs(r.iter().map(|i| i.published_source.clone())),
        )
        .col(
            "catalog_stolen_usd",
            Col::F64(r.iter().map(|i| i.catalog_stolen_usd).collect()),
        )
        .col(
            "injected_usd",
            Col::F64(r.iter().map(|i| i.injected_usd).collect()),
        )
        .col("exchange_usd", cat("exchange"))
        .col("mixer_usd", cat("mixer"))
        .col("bridge_usd", cat("bridge"))
        .col("sanctioned_usd", cat("sanctioned"))
        .col("defi_usd", cat("defi"))
        .col("gambling_usd", cat("gambling"))
        .col("unspent_usd", cat("unspent"))
        .col("fee_usd", cat("fee"))
        .col("unknown_usd", cat("unknown"))
        .col(
            "conservation_ok",
            Col::Bool(
                r.iter()
                    .map(|i| (!i.runs.is_empty()).then_some(i.conservation_ok))
                    .collect(),
            ),
        )
        .col(
            "simulated",
            Col::Bool(r.iter().map(|i| Some(i.simulated)).collect()),
        );
    tb
}

/// The breakdown table (exact amounts per incident, chain, kind, entity, asset).
pub fn breakdown_table(t: &Totals) -> Table {
    let r = &t.breakdown;
    let mut tb = Table::default();
    tb.col("incident", strs(r.iter().map(|x| x.incident.clone())))
        .col("chain", strs(r.iter().map(|x| x.chain.clone())))
        .col("kind", strs(r.iter().map(|x| x.kind.clone())))
        .col("entity", opt_strs(r.iter().map(|x| x.entity.clone())))
        .col("asset", strs(r.iter().map(|x| x.asset.clone())))
        .col(
            "asset_contract",
            opt_strs(r.iter().map(|x| x.contract.clone())),
        )
        .col("amount", strs(r.iter().map(|x| x.amount.clone())))
        .col("usd", Col::F64(r.iter().map(|x| x.usd).collect()));
    tb
}

/// The per-year table against the published estimates.
pub fn years_table(t: &Totals) -> Table {
    let r = &t.years;
    let u = |f: fn(&super::totals::YearRow) -> Option<u64>| {
        Col::Int(r.iter().map(|y| f(y).map(|v| v as i64)).collect())
    };
    let mut tb = Table::default();
    tb.col(
        "year",
        Col::Int(r.iter().map(|y| Some(y.year as i64)).collect()),
    )
    .col("model", strs(r.iter().map(|_| t.model.clone())))
    .col(
        "traced_usd",
        Col::F64(r.iter().map(|y| Some(y.traced_usd)).collect()),
    )
    .col(
        "traced_incomplete",
        Col::Bool(r.iter().map(|y| Some(y.traced_incomplete)).collect()),
    )
    .col(
        "incidents_traced",
        Col::Int(r.iter().map(|y| Some(y.incidents_traced as i64)).collect()),
    )
    .col(
        "incidents_catalogued",
        Col::Int(
            r.iter()
                .map(|y| Some(y.incidents_catalogued as i64))
                .collect(),
        ),
    )
    .col(
        "catalogue_usd",
        Col::Int(r.iter().map(|y| Some(y.catalogue_usd as i64)).collect()),
    )
    .col("estimate_id", strs(r.iter().map(|y| y.estimate_id.clone())))
    .col("source", strs(r.iter().map(|y| y.source.clone())))
    .col("publisher", strs(r.iter().map(|y| y.publisher.clone())))
    .col("range", strs(r.iter().map(|y| y.range.clone())))
    .col("low_usd", u(|y| y.low_usd))
    .col("high_usd", u(|y| y.high_usd))
    .col("point_usd", u(|y| y.point_usd))
    .col("ratio", Col::F64(r.iter().map(|y| y.ratio).collect()))
    .col(
        "inside_range",
        Col::Bool(r.iter().map(|y| y.inside_range).collect()),
    )
    .col("url", strs(r.iter().map(|y| y.url.clone())));
    tb
}

/// The three tables with their file stems: `totals_incidents`, `totals_breakdown`,
/// `totals_years`.
pub fn tables(t: &Totals) -> Vec<(&'static str, Table)> {
    vec![
        ("totals_incidents", incidents_table(t)),
        ("totals_breakdown", breakdown_table(t)),
        ("totals_years", years_table(t)),
    ]
}

/// Which files [`write_files`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotalsFiles {
    /// `totals.json`.
    pub json: bool,
    /// The three tables as `.csv`.
    pub csv: bool,
    /// The three tables as `.parquet`.
    pub parquet: bool,
}

/// Write the totals into `dir` (created if missing): `totals.json` and / or the three tables as
/// CSV and / or Parquet. Returns the files written.
pub fn write_files(
    t: &Totals,
    dir: &std::path::Path,
    what: TotalsFiles,
) -> Result<Vec<std::path::PathBuf>, super::table::TableError> {
    use super::table::TableError;
    let io = |p: &std::path::Path| {
        let path = p.display().to_string();
        move |source| TableError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    if what.json {
        let p = dir.join("totals.json");
        let text =
            serde_json::to_string_pretty(t).map_err(|e| std::io::Error::other(e.to_string()));
        std::fs::write(&p, text.map_err(io(&p))? + "\n").map_err(io(&p))?;
        written.push(p);
    }
    for (stem, tb) in tables(t) {
        if what.csv {
            let p = dir.join(format!("{stem}.csv"));
            let f = std::fs::File::create(&p).map_err(io(&p))?;
            tb.write_csv(&mut std::io::BufWriter::new(f), &p.display().to_string())?;
            written.push(p);
        }
        if what.parquet {
            let p = dir.join(format!("{stem}.parquet"));
            tb.write_parquet(&p)?;
            written.push(p);
        }
    }
    Ok(written)
}
