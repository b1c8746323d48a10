//! `moneytrail prices import|fetch|show`: daily USD closes into the store, and which price a
//! USD figure of a given day uses. Flags and printing only; the work is in
//! `knowledge::prices`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;

use moneytrail::knowledge::prices::{
    self, ImportOptions, PriceBook, PriceError, PriceKind, coinbase, import,
};

use crate::{Cli, Format, bad, emit, open_store, print_json};

/// `moneytrail prices`.
#[derive(Subcommand)]
pub(crate) enum PricesCmd {
    /// Import daily closes from CSV files (yfinance, Yahoo, Binance klines, Coinbase/Bitstamp,
    /// CoinGecko exports; or any CSV with --columns). Re-importing replaces the same days.
    Import {
        /// CSV files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Asset of every file (default: from the file name, e.g. ETH-USD_1d.csv → ETH).
        #[arg(long)]
        asset: Option<String>,
        /// The date and close columns by header name: DATE,CLOSE.
        #[arg(long)]
        columns: Option<String>,
        /// Source recorded with each close (default file:<file name>).
        #[arg(long)]
        source: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Fetch daily closes from the Coinbase Exchange public API (no key) into the store.
    Fetch {
        /// Asset (the product ASSET-USD).
        #[arg(long)]
        asset: String,
        /// First day, YYYY-MM-DD.
        #[arg(long, default_value = "2017-01-01")]
        from: String,
        /// Last day, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        to: Option<String>,
        /// Base URL of the API.
        #[arg(long, default_value = coinbase::COINBASE_URL)]
        url: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Which price a USD figure of that day would use, and why; without --date, what is known.
    Show {
        /// Asset symbol (WETH, WBTC … are priced as ETH, BTC).
        #[arg(long)]
        asset: String,
        /// The day, YYYY-MM-DD (UTC).
        #[arg(long)]
        date: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// A plain Markdown-style table, as the other commands print.
fn simple_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    t.set_header(header.iter().copied());
    for r in rows {
        t.add_row(r.clone());
    }
    format!("{t}\n")
}

fn price_err(e: PriceError) -> anyhow::Error {
    if e.is_bad_input() {
        bad(e.to_string())
    } else {
        anyhow::Error::from(e)
    }
}

fn day_arg(flag: &str, s: &str) -> Result<NaiveDate> {
    prices::parse_day(s).ok_or_else(|| bad(format!("invalid {flag} '{s}' (expected YYYY-MM-DD)")))
}

fn today() -> NaiveDate {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    prices::day_of(now).unwrap_or_default()
}

/// `moneytrail prices …`.
pub(crate) fn prices_cmd(cli: &Cli, cmd: &PricesCmd) -> Result<()> {
    match cmd {
        PricesCmd::Import {
            files,
            asset,
            columns,
            source,
            format,
        } => {
            for p in files {
                if !p.is_file() {
                    return Err(bad(format!("{} is not a readable file", p.display())));
                }
            }
            let columns = columns
                .as_deref()
                .map(
                    |c| match c.split(',').map(str::trim).collect::<Vec<_>>()[..] {
                        [d, c] if !d.is_empty() && !c.is_empty() => {
                            Ok((d.to_string(), c.to_string()))
                        }
                        _ => Err(bad(format!(
                            "invalid --columns '{c}' (expected DATE_COLUMN,CLOSE_COLUMN)"
                        ))),
                    },
                )
                .transpose()?;
            let opts = ImportOptions {
                asset: asset.clone(),
                columns,
                source: source.clone(),
            };
            if let Some(a) = asset {
                import::check_symbol(a).map_err(price_err)?;
            }
            let mut store = open_store(&cli.db)?;
            let reps = import::import_files(&mut store, files, &opts).map_err(price_err)?;
            match format {
                Format::Json => print_json(&reps)?,
                Format::Table => {
                    let rows: Vec<Vec<String>> = reps
                        .iter()
                        .map(|r| {
                            vec![
                                r.file.clone(),
                                r.asset.clone(),
                                r.layout.clone(),
                                format!("{}..{}", r.first, r.last),
                                r.rows.to_string(),
                                r.new.to_string(),
                                r.replaced.to_string(),
                                r.unchanged.to_string(),
                                r.source.clone(),
                            ]
                        })
                        .collect();
                    emit(&simple_table(
                        &[
                            "file",
                            "asset",
                            "layout",
                            "days",
                            "rows",
                            "new",
                            "replaced",
                            "unchanged",
                            "source",
                        ],
                        &rows,
                    ))?
                }
            }
        }
        PricesCmd::Fetch {
            asset,
            from,
            to,
            url,
            format,
        } => {
            let asset = import::check_symbol(asset).map_err(price_err)?;
            let from = day_arg("--from", from)?;
            let to = match to {
                Some(t) => day_arg("--to", t)?,
                None => today(),
            };
            if from > to {
                return Err(bad(format!("--from {from} is after --to {to}")));
            }
            coinbase::check_base(url)?;
            let mut store = open_store(&cli.db)?;
            let http = coinbase::client()?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let rows = rt
                .block_on(coinbase::fetch_daily(&http, url, &asset, from, to))
                .with_context(|| format!("fetching {asset}-USD daily candles"))?;
            let c = store.upsert_prices(&[&rows])?[0];
            let stats = http.stats();
            let rep = serde_json::json!({
                "asset": asset,
                "from": from.to_string(),
                "to": to.to_string(),
                "source": coinbase::SOURCE,
                "days": rows.len(),
                "first": rows.first().map(|r| r.day.clone()),
                "last": rows.last().map(|r| r.day.clone()),
                "new": c.new,
                "replaced": c.replaced,
                "unchanged": c.unchanged,
                "requests": stats.requests.load(std::sync::atomic::Ordering::Relaxed),
                "retries": stats.retries.load(std::sync::atomic::Ordering::Relaxed),
            });
            match format {
                Format::Json => print_json(&rep)?,
                Format::Table => emit(&format!(
                    "{asset}: {} daily closes from {} ({}..{}): {} new, {} replaced, {} unchanged\n",
                    rows.len(),
                    coinbase::SOURCE,
                    rep["first"].as_str().unwrap_or("-"),
                    rep["last"].as_str().unwrap_or("-"),
                    c.new,
                    c.replaced,
                    c.unchanged
                ))?,
            }
        }
        PricesCmd::Show {
            asset,
            date,
            format,
        } => {
            let asset = import::check_symbol(asset).map_err(price_err)?;
            let day = date.as_deref().map(|d| day_arg("--date", d)).transpose()?;
            let store = open_store(&cli.db)?;
            let book = PriceBook::from_store(&store)?;
            match day {
                Some(day) => show_day(&book, &asset, day, *format)?,
                None => show_coverage(&store, &asset, *format)?,
            }
        }
    }
    Ok(())
}

fn show_day(book: &PriceBook, asset: &str, day: NaiveDate, format: Format) -> Result<()> {
    let p = book.price(asset, prices::day_start(day));
    let why = match &p {
        None => format!(
            "no daily close of {asset} on {day} loaded, no monthly average, not a stablecoin: no USD value"
        ),
        Some(p) => {
            let as_ = if p.priced_as != asset {
                format!(" ({asset} is priced as {})", p.priced_as)
            } else {
                String::new()
            };
            match p.kind {
                PriceKind::Daily => format!("daily close of {} on {}{as_}", p.priced_as, p.date),
                PriceKind::Monthly => format!(
                    "no daily close on {day} loaded: average close of {} in {}{as_}",
                    p.priced_as,
                    &p.date[..7]
                ),
                PriceKind::Stablecoin => {
                    format!("stablecoin without a daily close on {day}: 1 USD")
                }
                PriceKind::Published => "published figure".into(),
            }
        }
    };
    match format {
        Format::Json => print_json(&serde_json::json!({
            "asset": asset, "date": day.to_string(), "price": p, "why": why,
        })),
        Format::Table => {
            let (usd, kind, source, date, priced_as) = match &p {
                Some(p) => (
                    p.usd.to_string(),
                    serde_json::to_value(p.kind)?
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    p.source.clone(),
                    p.date.clone(),
                    p.priced_as.clone(),
                ),
                None => (
                    "-".into(),
                    "none".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ),
            };
            emit(&simple_table(
                &[
                    "asset",
                    "day",
                    "usd",
                    "kind",
                    "source",
                    "price date",
                    "priced as",
                ],
                &[vec![
                    asset.to_string(),
                    day.to_string(),
                    usd,
                    kind,
                    source,
                    date,
                    priced_as,
                ]],
            ))?;
            emit(&format!("{why}\n"))
        }
    }
}

fn show_coverage(store: &moneytrail::store::Store, asset: &str, format: Format) -> Result<()> {
    let target = prices::alias_of(asset);
    let daily = store.price_coverage(asset)?;
    let monthly: Vec<_> = prices::embedded_monthly()
        .map_err(|e| anyhow::anyhow!("embedded {}: {e}", prices::MONTHLY_FILE))?
        .into_iter()
        .filter(|m| m.asset == asset || Some(m.asset.as_str()) == target)
        .collect();
    let stable = prices::STABLECOINS.contains(&asset);
    match format {
        Format::Json => print_json(&serde_json::json!({
            "asset": asset,
            "priced_as": target,
            "daily": daily,
            "monthly": monthly.first().map(|f| serde_json::json!({
                "first": f.month, "last": monthly.last().map(|l| l.month.clone()),
                "months": monthly.len(), "source": format!("embedded:{}", f.source),
            })),
            "stablecoin": stable,
        })),
        Format::Table => {
            let mut out = String::new();
            if let Some(t) = target {
                out.push_str(&format!(
                    "{asset} is priced as {t} when it has no price of its own\n"
                ));
            }
            match &daily {
                Some(d) => out.push_str(&format!(
                    "daily closes: {} days, {}..{} ({})\n",
                    d.days, d.first, d.last, d.sources
                )),
                None => out.push_str(&format!("daily closes: none of {asset} loaded\n")),
            }
            match (monthly.first(), monthly.last()) {
                (Some(f), Some(l)) => out.push_str(&format!(
                    "monthly averages: {} months, {}..{} (embedded:{})\n",
                    monthly.len(),
                    f.month,
                    l.month,
                    f.source
                )),
                _ => out.push_str("monthly averages: none embedded\n"),
            }
            if stable {
                out.push_str("stablecoin: 1 USD on days without a daily close\n");
            }
            emit(&out)
        }
    }
}
