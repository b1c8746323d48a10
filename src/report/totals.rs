//! Totals: what the recorded trace runs found per catalogued incident, and per year beside
//! every published estimate for that year (`moneytrail totals`). Amounts are summed exactly in
//! base units; USD figures come from the runs (each priced at its transfer days) and say so.
//! Incidents of the catalog without a run are listed as not traced, never left out.

use std::collections::BTreeMap;

use alloy_primitives::U256;
use serde::Serialize;

use crate::knowledge::prices::PriceBook;
use crate::knowledge::{Estimate, Incident};
use crate::model::Amount;
use crate::store::{RunRow, Store, StoreError, TraceRun};
use crate::trace::{CATEGORIES, TraceResult};

use super::trace_out::dec;
use super::usd::Valuation;

/// One row of the breakdown: an incident's amount of one kind (injected or an endpoint
/// category), entity and asset, on one chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownRow {
    /// Incident id.
    pub incident: String,
    /// Chain.
    pub chain: String,
    /// `injected` or an endpoint category.
    pub kind: String,
    /// Entity (exchange, mixer, bridge name), empty when none.
    pub entity: String,
    /// Asset symbol.
    pub asset: String,
    /// Token contract, empty for the native asset.
    pub contract: String,
    /// Exact amount in the asset's units.
    pub amount: String,
    /// USD at the transfer days (None when a price was missing).
    pub usd: Option<f64>,
}

/// One incident's totals (or its absence).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRow {
    /// Incident id.
    pub incident: String,
    /// Name.
    pub name: String,
    /// Year of the theft.
    pub year: i32,
    /// Date of the theft.
    pub date: String,
    /// `traced`, `partial` (some seed chains not traced) or `not traced`.
    pub status: String,
    /// Why not (or what is missing), empty when fully traced.
    pub reason: String,
    /// Chains traced.
    pub chains: Vec<String>,
    /// The run ids used.
    pub runs: Vec<i64>,
    /// Published value of the incident (USD, the catalog's `usd_estimate`).
    pub published_usd: u64,
    /// Who published it.
    pub published_source: String,
    /// The catalog's stolen amounts valued at the theft day (None if a price is missing).
    pub catalog_stolen_usd: Option<f64>,
    /// Injected taint (stolen on chain, as the trace saw it), USD.
    pub injected_usd: Option<f64>,
    /// USD per endpoint category (all of [`CATEGORIES`]).
    pub by_category_usd: BTreeMap<String, Option<f64>>,
    /// Every run's conservation check held.
    pub conservation_ok: bool,
    /// Simulated data.
    pub simulated: bool,
}

/// One published estimate of a year beside the traced sum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearRow {
    /// Year.
    pub year: i32,
    /// Σ injected USD of the traced incidents of that year.
    pub traced_usd: f64,
    /// Some traced incident had an unpriced part (then `traced_usd` leaves it out).
    pub traced_incomplete: bool,
    /// Incidents of that year traced.
    pub incidents_traced: usize,
    /// Incidents of that year in the catalog.
    pub incidents_catalogued: usize,
    /// Σ published per-incident values of the catalogued incidents of that year.
    pub catalogue_usd: u64,
    /// Estimate id.
    pub estimate_id: String,
    /// Publication.
    pub source: String,
    /// Publisher.
    pub publisher: String,
    /// Range as published ("$600M–$1B", ">$700M", "$1.29B").
    pub range: String,
    /// Low end.
    pub low_usd: Option<u64>,
    /// High end.
    pub high_usd: Option<u64>,
    /// Point figure.
    pub point_usd: Option<u64>,
    /// traced / (point, else the middle of low–high, else the one bound given).
    pub ratio: Option<f64>,
    /// Traced inside the published range (a point figure alone has no range: None).
    pub inside_range: Option<bool>,
    /// URL.
    pub url: String,
}

/// Everything `totals` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Model of the runs summed.
    pub model: String,
    /// Per incident (traced or not).
    pub incidents: Vec<IncidentRow>,
    /// Per incident, chain, kind, entity, asset.
    pub breakdown: Vec<BreakdownRow>,
    /// Per year and published estimate.
    pub years: Vec<YearRow>,
}

/// The rows a run records: injected per asset and the endpoints summed per (category,
/// entity, asset), exact, with their USD (None if any part is unpriced).
pub fn run_rows(r: &TraceResult, usd: Option<&Valuation>) -> Vec<RunRow> {
    let contract = |i: usize| match r.assets[i].asset.id {
        crate::model::AssetId::Native => String::new(),
        crate::model::AssetId::Token(c) => c.to_checksum(None),
    };
    let mut rows: BTreeMap<(String, String, usize), (U256, Option<f64>)> = BTreeMap::new();
    for (i, a) in r.assets.iter().enumerate() {
        let u = usd.and_then(|v| v.assets.get(i)).and_then(|v| v.injected);
        rows.insert(("injected".into(), String::new(), i), (a.injected, u));
    }
    for (k, e) in r.endpoints.iter().enumerate() {
        let u = usd.and_then(|v| v.endpoints.get(k).copied().flatten());
        let slot = rows
            .entry((e.category.clone(), e.entity.clone(), e.asset))
            .or_insert((U256::ZERO, Some(0.0)));
        slot.0 += e.amount;
        slot.1 = match (slot.1, u) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }
    rows.into_iter()
        .map(|((kind, entity, i), (amount, usd))| RunRow {
            kind,
            entity,
            asset: r.assets[i].key.clone(),
            contract: contract(i),
            decimals: r.assets[i].asset.decimals,
            amount: dec(r, i, amount),
            usd,
        })
        .collect()
}

/// (chain, kind, entity, asset, contract) of a breakdown row.
type BreakdownKey = (String, String, String, String, String);

/// The exact amount of a run row (the store checked it parses when it read the row).
fn base_units(x: &RunRow) -> U256 {
    Amount::parse_decimal(&x.amount, x.decimals)
        .map(|a| a.0)
        .unwrap_or_default()
}

fn add_usd(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

/// The catalog's stolen amounts of `inc` valued on the theft day.
fn catalog_usd(inc: &Incident, book: &PriceBook) -> Option<f64> {
    let t = chrono::NaiveDate::parse_from_str(&inc.date, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(12, 0, 0)?
        .and_utc()
        .timestamp();
    let mut sum = 0.0;
    for s in &inc.stolen {
        let p = book.price(&s.symbol, t)?;
        sum += s.amount.parse::<f64>().ok()? * p.usd;
    }
    (!inc.stolen.is_empty()).then_some(sum)
}

/// Which runs and incidents [`from_store`] sums.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The model whose runs are summed.
    pub model: &'a str,
    /// Only incidents of this year (and the estimates for it).
    pub year: Option<i32>,
    /// Only this incident.
    pub incident: Option<&'a str>,
}

/// The totals of the newest recorded runs of `scope.model` in `store`, priced with the
/// store's prices (see [`compute`]).
pub fn from_store(
    store: &Store,
    incidents: &[Incident],
    estimates: &[Estimate],
    scope: Scope<'_>,
) -> Result<Totals, StoreError> {
    let runs = store.latest_incident_runs(scope.model)?;
    let book = PriceBook::from_store(store)?;
    Ok(compute(
        incidents,
        estimates,
        &runs,
        &book,
        scope.model,
        scope.year,
        scope.incident,
    ))
}

/// Compute the totals of `runs` (the newest per incident and chain, one model) for the
/// incidents of the catalog, optionally only `year` / `incident`.
pub fn compute(
    incidents: &[Incident],
    estimates: &[Estimate],
    runs: &[TraceRun],
    book: &PriceBook,
    model: &str,
    year: Option<i32>,
    only: Option<&str>,
) -> Totals {
    let mut rows = Vec::new();
    let mut breakdown = Vec::new();
    let in_scope =
        |i: &Incident| year.is_none_or(|y| i.year() == y) && only.is_none_or(|o| i.id == o);
    for inc in incidents.iter().filter(|i| in_scope(i)) {
        let mine: Vec<&TraceRun> = runs
            .iter()
            .filter(|r| r.incident.as_deref() == Some(inc.id.as_str()))
            .collect();
        let seed_chains: std::collections::BTreeSet<String> = inc
            .addresses
            .iter()
            .filter(|a| a.seed)
            .map(|a| a.chain.to_string())
            .collect();
        let chains: Vec<String> = mine.iter().map(|r| r.chain.clone()).collect();
        let missing: Vec<&String> = seed_chains.iter().filter(|c| !chains.contains(c)).collect();
        let (status, reason) = if mine.is_empty() {
            (
                "not traced",
                format!(
                    "no {model} trace run recorded (moneytrail trace --incident {})",
                    inc.id
                ),
            )
        } else if !missing.is_empty() {
            (
                "partial",
                format!(
                    "seed chains not traced: {}",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        } else {
            ("traced", String::new())
        };
        let mut by_cat: BTreeMap<String, Option<f64>> = CATEGORIES
            .iter()
            .map(|c| (c.to_string(), Some(0.0)))
            .collect();
        let mut injected = (!mine.is_empty()).then_some(0.0);
        // per (chain, kind, entity, asset, contract)
        let mut agg: BTreeMap<BreakdownKey, (U256, Option<f64>, u8)> = BTreeMap::new();
        for r in &mine {
            for x in &r.rows {
                if x.kind == "injected" {
                    injected = add_usd(injected, x.usd);
                } else {
                    let slot = by_cat.entry(x.kind.clone()).or_insert(Some(0.0));
                    *slot = add_usd(*slot, x.usd);
                }
                let key = (
                    r.chain.clone(),
                    x.kind.clone(),
                    x.entity.clone(),
                    x.asset.clone(),
                    x.contract.clone(),
                );
                let e = agg
                    .entry(key)
                    .or_insert((U256::ZERO, Some(0.0), x.decimals));
                e.0 += base_units(x);
                e.1 = add_usd(e.1, x.usd);
            }
        }
        for ((chain, kind, entity, asset, contract), (amount, usd, decimals)) in agg {
            breakdown.push(BreakdownRow {
                incident: inc.id.clone(),
                chain,
                kind,
                entity,
                asset,
                contract,
                amount: Amount(amount).to_decimal(decimals),
                usd,
            });
        }
        rows.push(IncidentRow {
            incident: inc.id.clone(),
            name: inc.name.clone(),
            year: inc.year(),
            date: inc.date.clone(),
            status: status.into(),
            reason,
            chains,
            runs: mine.iter().map(|r| r.id).collect(),
            published_usd: inc.usd_estimate,
            published_source: inc.usd_estimate_source.clone(),
            catalog_stolen_usd: catalog_usd(inc, book),
            injected_usd: injected,
            by_category_usd: if mine.is_empty() {
                BTreeMap::new()
            } else {
                by_cat
            },
            conservation_ok: mine.iter().all(|r| r.conservation_ok),
            simulated: mine.iter().any(|r| r.simulated),
        });
    }
    let years = year_rows(incidents, estimates, &rows, year, only.is_some());
    Totals {
        model: model.into(),
        incidents: rows,
        breakdown,
        years,
    }
}

fn year_rows(
    incidents: &[Incident],
    estimates: &[Estimate],
    rows: &[IncidentRow],
    year: Option<i32>,
    single_incident: bool,
) -> Vec<YearRow> {
    let mut years: Vec<i32> = match year {
        Some(y) => vec![y],
        None => rows.iter().map(|r| r.year).collect(),
    };
    years.sort_unstable();
    years.dedup();
    let mut out = Vec::new();
    for y in years {
        let of_year: Vec<&IncidentRow> = rows.iter().filter(|r| r.year == y).collect();
        let traced: Vec<&&IncidentRow> = of_year
            .iter()
            .filter(|r| r.status != "not traced")
            .collect();
        let traced_usd: f64 = traced
            .iter()
            .filter_map(|r| r.injected_usd)
            .fold(0.0, |a, b| a + b);
        let traced_incomplete = traced.iter().any(|r| r.injected_usd.is_none());
        let catalogued: Vec<&Incident> = incidents.iter().filter(|i| i.year() == y).collect();
        let catalogue_usd = catalogued.iter().map(|i| i.usd_estimate).sum();
        for e in estimates
            .iter()
            .filter(|e| e.kind == "theft" && e.is_for_year(y))
        {
            let reference = e
                .point_usd
                .map(|p| p as f64)
                .or(match (e.low_usd, e.high_usd) {
                    (Some(l), Some(h)) => Some((l as f64 + h as f64) / 2.0),
                    (l, h) => l.or(h).map(|v| v as f64),
                });
            let inside_range = match (e.low_usd, e.high_usd) {
                (Some(l), Some(h)) => Some(traced_usd >= l as f64 && traced_usd <= h as f64),
                (Some(l), None) => Some(traced_usd >= l as f64),
                (None, Some(h)) => Some(traced_usd <= h as f64),
                (None, None) => None,
            };
            out.push(YearRow {
                year: y,
                traced_usd,
                traced_incomplete,
                incidents_traced: traced.len(),
                incidents_catalogued: if single_incident {
                    of_year.len()
                } else {
                    catalogued.len()
                },
                catalogue_usd,
                estimate_id: e.id.clone(),
                source: e.source.clone(),
                publisher: e.publisher.clone(),
                range: e.range_text(),
                low_usd: e.low_usd,
                high_usd: e.high_usd,
                point_usd: e.point_usd,
                ratio: reference.filter(|r| *r > 0.0).map(|r| traced_usd / r),
                inside_range,
                url: e.url.clone(),
            });
        }
    }
    out
}

/// The registry record of a finished trace written to `out_dir` (see [`crate::store::TraceRun`]).
pub fn run_record(r: &TraceResult, usd: Option<&Valuation>, out_dir: &str) -> TraceRun {
    TraceRun {
        id: 0,
        incident: r.config.incident.clone(),
        chain: r.config.chain.to_string(),
        model: r.config.model.as_str().to_string(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        out_dir: out_dir.to_string(),
        seeds: r.config.seeds.iter().map(|s| s.to_string()).collect(),
        conservation_ok: r.conservation_ok,
        simulated: r.config.simulated,
        first_time: r.graph.flows.iter().map(|f| f.time).min(),
        last_time: r.graph.flows.iter().map(|f| f.time).max(),
        prices: serde_json::to_string(&usd.map(|u| &u.prices)).unwrap_or_else(|_| "null".into()),
        rows: run_rows(r, usd),
    }
}

/// The totals' year rows as the report's totals-vs-estimates lines.
pub fn estimate_lines(t: &Totals) -> Vec<super::estimate_line::EstimateLine> {
    t.years
        .iter()
        .map(|y| super::estimate_line::EstimateLine {
            year: y.year,
            estimate_id: y.estimate_id.clone(),
            source: y.source.clone(),
            publisher: y.publisher.clone(),
            low_usd: y.low_usd.map(|v| v as f64),
            high_usd: y.high_usd.map(|v| v as f64),
            point_usd: y.point_usd.map(|v| v as f64),
            traced_usd: y.traced_usd,
            ratio: y.ratio,
            inside_range: y.inside_range,
            url: y.url.clone(),
        })
        .collect()
}
