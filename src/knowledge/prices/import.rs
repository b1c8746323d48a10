//! `prices import`: daily closes from CSV files. The date and close columns are told from the
//! header (the layouts in [`detect`]) or named with `--columns DATE,CLOSE`; the asset from
//! `--asset` or the file name (`ETH-USD_1d.csv`, `BTCUSDT_1d.csv`, `BTCUSD_…`). Every row is
//! checked; a bad one fails the whole import naming file, line and value (nothing is written).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use crate::store::{DailyPrice, Store, StoreError};

/// A price import failure. Everything but [`PriceError::Store`] is the user's input.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The columns could not be told, or a named column is missing.
    #[error("{file}: {message}")]
    Layout {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A bad row: names file, line and the bad value.
    #[error("{file}:{line}: {message}")]
    Row {
        /// The file.
        file: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong, with the value.
        message: String,
    },
    /// No `--asset` and none in the file name.
    #[error("{file}: cannot tell the asset from the file name; give --asset SYMBOL")]
    NoAsset {
        /// The file.
        file: String,
    },
    /// A bad option value (asset symbol, `--columns`).
    #[error("{0}")]
    BadOption(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PriceError {
    /// True for errors in the user's input (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, PriceError::Store(_))
    }
}

/// Options of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The asset of every file (default: from each file name).
    pub asset: Option<String>,
    /// (date column, close column) by header name, case-insensitive.
    pub columns: Option<(String, String)>,
    /// The source recorded (default `file:<file name>`).
    pub source: Option<String>,
}

/// What the import of one file did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The file.
    pub file: String,
    /// Upper-case symbol.
    pub asset: String,
    /// The layout recognised (`yfinance`, `yahoo`, `binance-kline`, `coinbase-bitstamp`,
    /// `coingecko`, `coinbase-candles`, `generic`, `columns`).
    pub layout: String,
    /// Date and close column names used.
    pub columns: (String, String),
    /// Daily closes read.
    pub rows: usize,
    /// First and last day.
    pub first: String,
    /// Last day.
    pub last: String,
    /// Source recorded.
    pub source: String,
    /// Days not stored before.
    pub new: usize,
    /// Days stored before with another close or source, replaced.
    pub replaced: usize,
    /// Days stored before with the same close and source.
    pub unchanged: usize,
}

/// The columns of a file: layout name, date column index, close column index, whether the
/// first line is a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Layout name.
    pub name: &'static str,
    /// Date column.
    pub date: usize,
    /// Close column.
    pub close: usize,
    /// The first record is a header.
    pub header: bool,
}

/// Tell the layout from the header (lower-cased, trimmed names) or, for a header-less Binance
/// kline file, from the first record.
///
/// | layout | header | date column | close column |
/// |---|---|---|---|
/// | `yfinance` | `datetime,open,high,low,close,volume` | `datetime` | `close` |
/// | `yahoo` | `Date,Open,High,Low,Close,Adj Close,Volume` or `Date,Close,High,Low,Open,Volume` | `Date` | `Close` |
/// | `binance-kline` | `open_time,…,close_time,…` (or no header, 12 columns, ms times) | `open_time` | `close` |
/// | `coinbase-bitstamp` | `timestamp,open,close,volume,unix_timestamp,high,low` | `timestamp` | `close` |
/// | `coingecko` | `snapped_at,price,market_cap,total_volume` | `snapped_at` | `price` |
/// | `coinbase-candles` | `time,low,high,open,close,volume` | `time` | `close` |
/// | `generic` | any with one of date/datetime/timestamp/time/day and close/price | first found | first found |
pub fn detect(header: &[String]) -> Option<Layout> {
    let h: Vec<String> = header
        .iter()
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let find = |n: &str| h.iter().position(|x| x == n);
    let has = |n: &str| find(n).is_some();
    let lay = |name, d: &str, c: &str| {
        Some(Layout {
            name,
            date: find(d)?,
            close: find(c)?,
            header: true,
        })
    };
    if has("open_time") && has("close_time") {
        return lay("binance-kline", "open_time", "close");
    }
    if has("snapped_at") && has("price") {
        return lay("coingecko", "snapped_at", "price");
    }
    if has("timestamp") && has("unix_timestamp") {
        return lay("coinbase-bitstamp", "timestamp", "close");
    }
    if h.first().is_some_and(|x| x == "datetime") && has("close") {
        return lay("yfinance", "datetime", "close");
    }
    if h.first().is_some_and(|x| x == "date") && has("close") {
        return lay("yahoo", "date", "close");
    }
    if h.first().is_some_and(|x| x == "time") && has("low") && has("close") {
        return lay("coinbase-candles", "time", "close");
    }
    let date = [
        "date",
        "datetime",
        "timestamp",
        "time",
        "day",
        "open_time",
        "snapped_at",
    ]
    .iter()
    .find_map(|n| find(n));
    let close = ["close", "price", "close_usd", "closing_price"]
        .iter()
        .find_map(|n| find(n));
    if let (Some(date), Some(close)) = (date, close) {
        return Some(Layout {
            name: "generic",
            date,
            close,
            header: true,
        });
    }
    // Binance's downloadable klines (data.binance.vision) have no header: 12 columns, the
    // open time in ms first, the close fifth.
    if h.len() == 12 && h[0].len() >= 12 && h[0].bytes().all(|b| b.is_ascii_digit()) {
        return Some(Layout {
            name: "binance-kline",
            date: 0,
            close: 4,
            header: false,
        });
    }
    None
}

/// Check a close: a plain positive decimal (`123.45`, `1.2e-05`), finite and > 0.
pub fn check_close(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty close".into());
    }
    let mant = s.split(['e', 'E']).next().unwrap_or("");
    let exp = s.get(mant.len() + 1..);
    let digits_ok = !mant.is_empty()
        && mant.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mant.bytes().filter(|b| *b == b'.').count() <= 1
        && mant.bytes().any(|b| b.is_ascii_digit());
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    if !(digits_ok && exp_ok) {
        return Err(format!(
            "bad close '{s}' (expected a positive decimal number)"
        ));
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(()),
        _ => Err(format!("bad close '{s}' (must be a finite price > 0)")),
    }
}

/// The UTC day of a date cell: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.f][ UTC]`, RFC 3339 /
/// ISO 8601 with an offset (converted to UTC), or unix seconds / milliseconds (≥ 10¹¹).
pub fn parse_when(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = s.parse().ok()?;
        let secs = if n >= 100_000_000_000 { n / 1000 } else { n };
        return super::day_of(secs);
    }
    if let Some(d) = super::parse_day(s) {
        return Some(d);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc().date());
    }
    if s.len() > 10 && s.as_bytes()[10] == b' ' {
        let t = format!("{}T{}", &s[..10], &s[11..]);
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&t) {
            return Some(t.naive_utc().date());
        }
    }
    let naive = s.strip_suffix(" UTC").unwrap_or(s);
    let naive = naive.strip_suffix('Z').unwrap_or(naive);
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(naive, f) {
            return Some(t.date());
        }
    }
    None
}

/// An asset symbol: 1–20 ASCII letters / digits, upper-cased.
pub fn check_symbol(s: &str) -> Result<String, PriceError> {
    let t = s.trim();
    if t.is_empty() || t.len() > 20 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(PriceError::BadOption(format!(
            "invalid asset symbol '{s}' (1–20 letters or digits, e.g. ETH)"
        )));
    }
    Ok(t.to_ascii_uppercase())
}

/// The asset a file name names: `ETH-USD_1d.csv` → ETH, `BTCUSDT_1d.csv` → BTC,
/// `BTCUSD_1d_candles_full.csv` → BTC, `eth-usd-max.csv` → ETH.
pub fn asset_from_file_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let first = stem.split(['_', ' ', '.']).next()?.to_ascii_uppercase();
    const QUOTES: [&str; 4] = ["USDT", "USDC", "BUSD", "USD"];
    let base = match first.split_once('-') {
        Some((base, rest)) => {
            let quote = rest.split('-').next().unwrap_or("");
            QUOTES.contains(&quote).then_some(base)?
        }
        None => QUOTES
            .iter()
            .find_map(|q| first.strip_suffix(q).filter(|b| !b.is_empty()))?,
    };
    check_symbol(base).ok()
}

/// Read and check one file: its report (counts still zero) and its closes, one per day.
pub fn read_file(
    path: &Path,
    opts: &ImportOptions,
) -> Result<(ImportReport, Vec<DailyPrice>), PriceError> {
    let file = path.display().to_string();
    let asset = match &opts.asset {
        Some(a) => check_symbol(a)?,
        None => asset_from_file_name(path).ok_or(PriceError::NoAsset { file: file.clone() })?,
    };
    let name = path
        .file_name()
        .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
    let source = opts
        .source
        .clone()
        .unwrap_or_else(|| format!("file:{name}"));
    let text = std::fs::read(path).map_err(|source| PriceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let row_err = |line: u64, message: String| PriceError::Row {
        file: file.clone(),
        line,
        message,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_slice());
    let mut records = rdr.records();
    let first = match records.next() {
        None => {
            return Err(PriceError::Layout {
                file,
                message: "empty file".into(),
            });
        }
        Some(r) => r.map_err(|e| row_err(e.position().map_or(1, |p| p.line()), e.to_string()))?,
    };
    let header: Vec<String> = first.iter().map(str::to_string).collect();
    let layout = match &opts.columns {
        Some((d, c)) => {
            let find = |n: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(n));
            let missing = |n: &str| PriceError::Layout {
                file: file.clone(),
                message: format!("no column '{n}' (columns: {})", header.join(",")),
            };
            Layout {
                name: "columns",
                date: find(d).ok_or_else(|| missing(d))?,
                close: find(c).ok_or_else(|| missing(c))?,
                header: true,
            }
        }
        None => detect(&header).ok_or_else(|| PriceError::Layout {
            file: file.clone(),
            message: format!(
                "cannot tell the date and close columns from the header '{}'; give --columns DATE,CLOSE",
                header.join(",")
            ),
        })?,
    };
    let columns = if layout.header {
        (
            header[layout.date].trim().to_string(),
            header[layout.close].trim().to_string(),
        )
    } else {
        ("open_time".to_string(), "close".to_string())
    };
    let mut days: BTreeMap<NaiveDate, (String, u64)> = BTreeMap::new();
    let body = (!layout.header)
        .then_some(Ok(first))
        .into_iter()
        .chain(records);
    for rec in body {
        let rec = rec.map_err(|e| row_err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let cell = |i: usize, what: &str| {
            rec.get(i).map(str::trim).ok_or_else(|| {
                row_err(
                    line,
                    format!("no {what} column (only {} fields)", rec.len()),
                )
            })
        };
        let when = cell(layout.date, "date")?;
        let day = parse_when(when).ok_or_else(|| {
            row_err(
                line,
                format!(
                    "bad date '{when}' in column {} (expected YYYY-MM-DD, an ISO date-time or unix seconds/milliseconds)",
                    columns.0
                ),
            )
        })?;
        let close = cell(layout.close, "close")?;
        check_close(close).map_err(|m| row_err(line, format!("{m} in column {}", columns.1)))?;
        if let Some((_, l)) = days.get(&day) {
            return Err(row_err(
                line,
                format!("second row for day {day} (first on line {l}): daily closes only"),
            ));
        }
        days.insert(day, (close.to_string(), line));
    }
    if days.is_empty() {
        return Err(PriceError::Layout {
            file,
            message: "no price rows".into(),
        });
    }
    let rows: Vec<DailyPrice> = days
        .iter()
        .map(|(d, (c, _))| DailyPrice {
            asset: asset.clone(),
            day: d.format("%Y-%m-%d").to_string(),
            close_usd: c.clone(),
            source: source.clone(),
        })
        .collect();
    let report = ImportReport {
        file,
        asset,
        layout: layout.name.to_string(),
        columns,
        rows: rows.len(),
        first: rows[0].day.clone(),
        last: rows[rows.len() - 1].day.clone(),
        source,
        new: 0,
        replaced: 0,
        unchanged: 0,
    };
    Ok((report, rows))
}

/// Read and check every file, then write them all in one transaction (nothing is written if
/// any file is bad). A later file's close for the same (asset, day) replaces an earlier one.
pub fn import_files(
    store: &mut Store,
    paths: &[PathBuf],
    opts: &ImportOptions,
) -> Result<Vec<ImportReport>, PriceError> {
    let mut read = Vec::with_capacity(paths.len());
    for p in paths {
        read.push(read_file(p, opts)?);
    }
    let batches: Vec<&[DailyPrice]> = read.iter().map(|(_, rows)| rows.as_slice()).collect();
    let counts = store.upsert_prices(&batches)?;
    Ok(read
        .into_iter()
        .zip(counts)
        .map(|((mut rep, _), c)| {
            rep.new = c.new;
            rep.replaced = c.replaced;
            rep.unchanged = c.unchanged;
            tracing::info!(file = %rep.file, asset = %rep.asset, rows = rep.rows, "prices imported");
            rep
        })
        .collect())
}
