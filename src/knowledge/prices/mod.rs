//! USD prices: daily closes imported from CSV files ([`import`]) or fetched from Coinbase
//! Exchange ([`coinbase`]) into the store, an embedded table of monthly averages for BTC and
//! ETH (`graphs/prices-monthly.csv`) and the stablecoin rule, behind one lookup: [`PriceBook`].
//!
//! Every USD figure carries the [`Price`] it was computed with (kind, source, date, the symbol
//! priced), so a report can say which price it used. Amounts stay exact (U256 base units) until
//! [`PriceBook::usd`], the one place where an amount becomes an `f64`.
//!
//! Lookup order for `symbol` at `time` (the UTC day of a unix time):
//! 1. the daily close of exactly that day — of the symbol itself, then of what it is priced as
//!    (WETH → ETH; WBTC, renBTC, BTCB, HBTC → BTC). A close of another day is never used: a
//!    day without a close is not guessed from its neighbours.
//! 2. the embedded monthly average of that month (BTC 2017-01.., ETH 2017-11..; the symbol,
//!    then its alias target);
//! 3. stablecoins (USDC, USDT, DAI, BUSD, TUSD, USDP, USDD, GUSD, PYUSD, FDUSD): 1.0 USD, on
//!    every day for which no daily close of that stablecoin was loaded;
//! 4. otherwise nothing: the figure has no USD value (never a zero).
//!
//! Symbols are compared case-insensitively (stored upper-case).

pub mod coinbase;
pub mod import;

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::U256;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::store::{DailyPrice, Store, StoreError};

pub use import::{ImportOptions, ImportReport, PriceError};

/// The catalog path of the embedded monthly table.
pub const MONTHLY_FILE: &str = "prices-monthly.csv";

/// Stablecoins priced at 1.0 USD when no daily close of them is loaded for the day.
pub const STABLECOINS: &[&str] = &[
    "USDC", "USDT", "DAI", "BUSD", "TUSD", "USDP", "USDD", "GUSD", "PYUSD", "FDUSD",
];

/// Wrapped or bridged coins priced as the coin they track: (symbol, priced as).
pub const ALIASES: &[(&str, &str)] = &[
    ("WETH", "ETH"),
    ("WBTC", "BTC"),
    ("RENBTC", "BTC"),
    ("BTCB", "BTC"),
    ("HBTC", "BTC"),
];

/// How a USD figure was priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceKind {
    /// The daily close of that UTC day (imported or fetched into the store).
    Daily,
    /// The embedded monthly average close of that month (no daily close was loaded).
    Monthly,
    /// A stablecoin at 1.0 USD (no daily close of it was loaded for that day).
    Stablecoin,
    /// A USD figure taken as published (an incident's catalogued USD estimate), not computed
    /// from a price. [`PriceBook`] never returns it; reports use it for catalogue figures.
    Published,
}

/// One price used for a USD figure.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Price {
    /// USD per whole unit.
    pub usd: f64,
    /// Which rule gave it.
    pub kind: PriceKind,
    /// Where it came from: the stored source of a daily close (`coinbase`, `file:…`),
    /// `embedded:<source>` for the monthly table, `usd-peg` for the stablecoin rule.
    pub source: String,
    /// the day (daily) or first day of the month (monthly) priced, YYYY-MM-DD
    pub date: String,
    /// the symbol whose price was used (e.g. ETH for WETH)
    pub priced_as: String,
}

/// One row of the embedded monthly table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyPrice {
    /// Upper-case symbol.
    pub asset: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Mean of the month's daily closes, decimal text as embedded.
    pub avg_close_usd: String,
    /// How many daily closes were averaged.
    pub days: u32,
    /// Where the daily closes came from (`coinbase-bitstamp`, `yfinance`).
    pub source: String,
}

/// The embedded monthly table, parsed. An error names the line; the embedded file is checked
/// by the tests, so the book built from it never misses a row silently.
pub fn embedded_monthly() -> Result<Vec<MonthlyPrice>, String> {
    let text = crate::knowledge::catalog::EMBEDDED
        .iter()
        .find(|(p, _)| *p == MONTHLY_FILE)
        .map(|(_, t)| *t)
        .ok_or_else(|| format!("{MONTHLY_FILE} is not embedded"))?;
    parse_monthly(text)
}

/// Parse a monthly table (`asset,month,avg_close_usd,days,source`, `#` comments).
pub fn parse_monthly(text: &str) -> Result<Vec<MonthlyPrice>, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        let line = rec.position().map_or(0, |p| p.line());
        let f = |i: usize| rec.get(i).unwrap_or("").trim().to_string();
        let (asset, month, avg, days, source) = (f(0), f(1), f(2), f(3), f(4));
        if parse_day(&format!("{month}-01")).is_none() {
            return Err(format!("line {line}: bad month '{month}'"));
        }
        import::check_close(&avg).map_err(|e| format!("line {line}: {e}"))?;
        let days = days
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=31).contains(d))
            .ok_or_else(|| format!("line {line}: bad days '{days}'"))?;
        out.push(MonthlyPrice {
            asset: asset.to_ascii_uppercase(),
            month,
            avg_close_usd: avg,
            days,
            source,
        });
    }
    Ok(out)
}

struct Entry {
    usd: f64,
    source: String,
}

/// Prices for USD figures: daily closes from the store, the embedded monthly table and the
/// stablecoin rule (lookup order in the [module docs](self)).
pub struct PriceBook {
    daily: HashMap<String, BTreeMap<NaiveDate, Entry>>,
    monthly: HashMap<String, BTreeMap<(i32, u32), Entry>>,
}

impl PriceBook {
    /// Only the embedded monthly table and the stablecoin rule.
    pub fn embedded() -> PriceBook {
        let mut book = PriceBook {
            daily: HashMap::new(),
            monthly: HashMap::new(),
        };
        let rows = embedded_monthly().unwrap_or_else(|e| {
            tracing::error!("embedded {MONTHLY_FILE}: {e}; no monthly prices");
            Vec::new()
        });
        for m in rows {
            let (Some(d), Ok(usd)) = (
                parse_day(&format!("{}-01", m.month)),
                m.avg_close_usd.parse(),
            ) else {
                continue;
            };
            book.monthly.entry(m.asset).or_default().insert(
                (d.year(), d.month()),
                Entry {
                    usd,
                    source: format!("embedded:{}", m.source),
                },
            );
        }
        book
    }

    /// Daily prices from the store, with the embedded table as fallback.
    pub fn from_store(store: &Store) -> Result<PriceBook, StoreError> {
        let mut book = PriceBook::embedded();
        for p in store.daily_prices()? {
            book.add_daily(&p).map_err(|detail| StoreError::Corrupt {
                table: "prices",
                detail,
            })?;
        }
        Ok(book)
    }

    /// Add (or replace) one daily close, e.g. for a book not read from a store.
    pub fn add_daily(&mut self, p: &DailyPrice) -> Result<(), String> {
        let day = parse_day(&p.day).ok_or_else(|| format!("bad day '{}'", p.day))?;
        import::check_close(&p.close_usd).map_err(|e| format!("{} {}: {e}", p.asset, p.day))?;
        let usd = p.close_usd.parse::<f64>().map_err(|e| e.to_string())?;
        self.daily
            .entry(p.asset.to_ascii_uppercase())
            .or_default()
            .insert(
                day,
                Entry {
                    usd,
                    source: p.source.clone(),
                },
            );
        Ok(())
    }

    /// Daily closes held, all assets.
    pub fn daily_len(&self) -> usize {
        self.daily.values().map(BTreeMap::len).sum()
    }

    /// The price of one whole unit of `symbol` on the UTC day of `time` (unix seconds):
    /// daily close of that day if loaded; else the monthly average of that month; stablecoins
    /// (USDC, USDT, DAI, BUSD, TUSD, USDP, USDD, GUSD, PYUSD, FDUSD) 1.0 unless a daily price
    /// was loaded for them; None if nothing is known.
    ///
    /// A daily close of another day is never used (no nearest-day guessing). Aliases (WETH →
    /// ETH, WBTC/renBTC/BTCB/HBTC → BTC) are priced as their target after the symbol's own
    /// prices; `priced_as` says which symbol's price was used.
    pub fn price(&self, symbol: &str, time: i64) -> Option<Price> {
        let day = day_of(time)?;
        let sym = symbol.trim().to_ascii_uppercase();
        let target = alias_of(&sym);
        let candidates = std::iter::once(sym.as_str()).chain(target);
        for c in candidates.clone() {
            if let Some(e) = self.daily.get(c).and_then(|m| m.get(&day)) {
                return Some(Price {
                    usd: e.usd,
                    kind: PriceKind::Daily,
                    source: e.source.clone(),
                    date: day.format("%Y-%m-%d").to_string(),
                    priced_as: c.to_string(),
                });
            }
        }
        for c in candidates {
            if let Some(e) = self
                .monthly
                .get(c)
                .and_then(|m| m.get(&(day.year(), day.month())))
            {
                return Some(Price {
                    usd: e.usd,
                    kind: PriceKind::Monthly,
                    source: e.source.clone(),
                    date: format!("{:04}-{:02}-01", day.year(), day.month()),
                    priced_as: c.to_string(),
                });
            }
        }
        if STABLECOINS.contains(&sym.as_str()) {
            return Some(Price {
                usd: 1.0,
                kind: PriceKind::Stablecoin,
                source: "usd-peg".into(),
                date: day.format("%Y-%m-%d").to_string(),
                priced_as: sym,
            });
        }
        None
    }

    /// USD value of `amount` base units with `decimals` decimals at `time` (exact integer → f64 only here).
    ///
    /// The amount becomes whole units by one correctly rounded decimal → `f64` conversion,
    /// then is multiplied by [`Price::usd`].
    pub fn usd(&self, symbol: &str, decimals: u8, amount: U256, time: i64) -> Option<(f64, Price)> {
        let p = self.price(symbol, time)?;
        Some((units_f64(amount, decimals) * p.usd, p))
    }
}

/// `amount` base units as whole units in `f64`, correctly rounded (one decimal-text parse).
pub fn units_f64(amount: U256, decimals: u8) -> f64 {
    let digits = amount.to_string();
    let d = usize::from(decimals);
    let text = if d == 0 {
        digits
    } else {
        let padded = format!("{digits:0>width$}", width = d + 1);
        let (int, frac) = padded.split_at(padded.len() - d);
        format!("{int}.{frac}")
    };
    text.parse().unwrap_or(f64::NAN)
}

/// What `symbol` (upper-case) is priced as, if it is a wrapped or bridged coin.
pub fn alias_of(symbol: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(symbol))
        .map(|(_, t)| *t)
}

/// The UTC day of a unix time.
pub fn day_of(time: i64) -> Option<NaiveDate> {
    chrono::DateTime::from_timestamp(time, 0).map(|t| t.date_naive())
}

/// A strict `YYYY-MM-DD` day.
pub fn parse_day(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Unix time of 00:00 UTC of `day`.
pub fn day_start(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests;
