//! Reading one table of an ETL export (ethereum-etl / bitcoin-etl files, BigQuery exports) with
//! polars, CSV or Parquet, into columns the importers read row by row.
//!
//! - The format is told by the content: a file that starts with the Parquet magic `PAR1` is
//!   Parquet, anything else is CSV with a header line (comma-separated, `"` quotes).
//! - CSV columns are all read as text (no type inference: a 78-digit value never passes
//!   through a float); Parquet columns keep their types and are turned into text or seconds
//!   here: integers and `Decimal` exactly (a BigQuery `NUMERIC` reads as `123.000000000`),
//!   timestamps as Unix seconds. A floating-point column is refused: amounts must be exact.
//! - Only the columns an importer asks for are read (an `input` column of call data can be
//!   most of a transactions file).
//!
//! Rows are numbered from 1, the header not counted; errors name the file, the row and the
//! value ([`row_error`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::FetchError;

/// How a table file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Comma-separated text with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// A bad-input error for a whole file.
pub(crate) fn file_error(path: &Path, detail: impl std::fmt::Display) -> FetchError {
    FetchError::BadInput(format!("{}: {detail}", path.display()))
}

/// A bad-input error for one row of a file (rows counted from 1, header excluded).
pub(crate) fn row_error(path: &Path, row: usize, detail: impl std::fmt::Display) -> FetchError {
    FetchError::BadInput(format!("{}: row {row}: {detail}", path.display()))
}

/// The format of `path` (Parquet magic or CSV); a missing or unreadable file is bad input.
pub(crate) fn file_format(path: &Path) -> Result<FileFormat, FetchError> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| FetchError::BadInput(format!("cannot read {}: {e}", path.display())))?;
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match f.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => {
                return Err(FetchError::BadInput(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        }
    }
    if got == 0 {
        return Err(file_error(path, "the file is empty"));
    }
    Ok(if got == 4 && &magic == b"PAR1" {
        FileFormat::Parquet
    } else {
        FileFormat::Csv
    })
}

/// The column names of a table file, in file order.
pub(crate) fn column_names(path: &Path, format: FileFormat) -> Result<Vec<String>, FetchError> {
    match format {
        FileFormat::Csv => {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_path(path)
                .map_err(|e| {
                    FetchError::BadInput(format!("cannot read {}: {e}", path.display()))
                })?;
            let h = r
                .headers()
                .map_err(|e| file_error(path, format!("unreadable CSV header: {e}")))?;
            Ok(h.iter().map(|c| c.trim().to_string()).collect())
        }
        FileFormat::Parquet => {
            let f = std::fs::File::open(path).map_err(|e| {
                FetchError::BadInput(format!("cannot read {}: {e}", path.display()))
            })?;
            let schema = ParquetReader::new(f)
                .schema()
                .map_err(|e| file_error(path, format!("not a readable Parquet file: {e}")))?;
            Ok(schema.iter_names().map(|n| n.to_string()).collect())
        }
    }
}

/// One table read into memory: the columns asked for that the file has.
pub(crate) struct Table {
    /// The file.
    pub path: PathBuf,
    df: DataFrame,
}

impl Table {
    /// Read `columns` (those present; the others read as all-null) of `path`.
    pub(crate) fn read(
        path: &Path,
        format: FileFormat,
        present: &[String],
        columns: &[&str],
    ) -> Result<Table, FetchError> {
        let cols: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| present.iter().any(|p| p == c))
            .collect();
        let df = match format {
            FileFormat::Csv => {
                let names: Arc<[PlSmallStr]> = cols.iter().map(|c| PlSmallStr::from(*c)).collect();
                CsvReadOptions::default()
                    .with_has_header(true)
                    .with_infer_schema_length(Some(0))
                    .with_columns(Some(names))
                    .with_rechunk(true)
                    .try_into_reader_with_file_path(Some(path.to_path_buf()))
                    .and_then(|r| r.finish())
                    .map_err(|e| file_error(path, format!("unreadable CSV: {}", one_line(&e))))?
            }
            FileFormat::Parquet => {
                let f = std::fs::File::open(path).map_err(|e| {
                    FetchError::BadInput(format!("cannot read {}: {e}", path.display()))
                })?;
                let mut df = ParquetReader::new(f)
                    .with_columns(Some(cols.iter().map(|c| c.to_string()).collect()))
                    .finish()
                    .map_err(|e| {
                        file_error(path, format!("unreadable Parquet: {}", one_line(&e)))
                    })?;
                df.rechunk_mut();
                df
            }
        };
        Ok(Table {
            path: path.to_path_buf(),
            df,
        })
    }

    /// Number of rows.
    pub(crate) fn height(&self) -> usize {
        self.df.height()
    }

    /// The data frame (nested columns).
    pub(crate) fn frame(&self) -> &DataFrame {
        &self.df
    }

    /// Column `name` as text (absent: all null). Integers and decimals become their exact
    /// decimal text, booleans `true`/`false`, timestamps Unix seconds, lists of text their
    /// items joined by `,` (ethereum-etl's CSV form of `topics`).
    pub(crate) fn text(&self, name: &str) -> Result<TextCol, FetchError> {
        let Ok(c) = self.df.column(name) else {
            return Ok(TextCol(None));
        };
        let bad = |why: String| file_error(&self.path, format!("column {name}: {why}"));
        let s = c.as_materialized_series();
        let ca: StringChunked = match s.dtype() {
            DataType::String => s.str().map_err(|e| bad(one_line(&e)))?.clone(),
            DataType::Float32 | DataType::Float64 => {
                return Err(bad(format!(
                    "{} is floating point; amounts and numbers must be exact (export them as \
                     integers, NUMERIC or text)",
                    s.dtype()
                )));
            }
            DataType::Datetime(_, _) => {
                let secs = seconds(s).map_err(&bad)?;
                secs.cast(&DataType::String)
                    .map_err(|e| bad(one_line(&e)))?
                    .str()
                    .map_err(|e| bad(one_line(&e)))?
                    .clone()
            }
            DataType::List(inner) if matches!(**inner, DataType::String) => {
                let (items, offsets, valid) = list_parts(s).map_err(|e| bad(one_line(&e)))?;
                let items = items.str().map_err(|e| bad(one_line(&e)))?.clone();
                (0..offsets.len() - 1)
                    .map(|i| {
                        valid.get(i).copied().unwrap_or(true).then(|| {
                            (offsets[i]..offsets[i + 1])
                                .filter_map(|k| items.get(k))
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                    })
                    .collect()
            }
            DataType::List(_) | DataType::Struct(_) => {
                return Err(bad(format!("{} is not a plain value", s.dtype())));
            }
            _ => s
                .cast(&DataType::String)
                .map_err(|e| bad(one_line(&e)))?
                .str()
                .map_err(|e| bad(one_line(&e)))?
                .clone(),
        };
        Ok(TextCol(Some(ca.rechunk().into_owned())))
    }
}

/// A list column taken apart: the items of its rows (with their logical type), the offsets of
/// each row's items in them (rows + 1 offsets, from 0), and which rows are not null.
pub(crate) fn list_parts(s: &Series) -> PolarsResult<(Series, Vec<usize>, Vec<bool>)> {
    let l = s.list()?.rechunk().into_owned();
    if l.is_empty() {
        return Ok((l.get_inner().slice(0, 0), vec![0], Vec::new()));
    }
    let arr = l.downcast_as_array();
    let offs: &[i64] = arr.offsets().buffer();
    let (start, end) = (offs[0], offs[offs.len() - 1]);
    let items = l.get_inner().slice(start, (end - start) as usize);
    let offsets = offs.iter().map(|o| (o - start) as usize).collect();
    let valid = (0..l.len())
        .map(|i| arr.validity().is_none_or(|v| v.get_bit(i)))
        .collect();
    Ok((items, offsets, valid))
}

/// Unix seconds of a timestamp column (any unit; floor division).
fn seconds(s: &Series) -> Result<Series, String> {
    let dt = s.datetime().map_err(|e| one_line(&e))?;
    let per_sec: i64 = match dt.time_unit() {
        TimeUnit::Nanoseconds => 1_000_000_000,
        TimeUnit::Microseconds => 1_000_000,
        TimeUnit::Milliseconds => 1_000,
    };
    let ca: Int64Chunked = dt
        .physical()
        .iter()
        .map(|o| o.map(|v| v.div_euclid(per_sec)))
        .collect();
    Ok(ca.with_name(s.name().clone()).into_series())
}

/// A polars error on one line.
pub(crate) fn one_line(e: &PolarsError) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A text column (or an absent one).
pub(crate) struct TextCol(Option<StringChunked>);

impl TextCol {
    /// The value of row `i` (0-based); empty text, and ethereum-etl's `None`, are null.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        let t = self.0.as_ref()?.get(i)?.trim();
        (!t.is_empty() && t != "None").then_some(t)
    }

    /// True when the file has the column.
    pub(crate) fn is_present(&self) -> bool {
        self.0.is_some()
    }
}

/// Parse a count of base units written in decimal: digits, optionally followed by a fraction
/// of zeros only (`Decimal` / NUMERIC text). Negative, fractional, exponent or hex is an error.
pub(crate) fn parse_units(s: &str) -> Result<alloy_primitives::U256, String> {
    let bad = || format!("'{s}' is not a non-negative whole number of base units");
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b == b'0') {
        return Err(bad());
    }
    if int.len() <= 19 {
        // fits in u64 (at most 9,999,999,999,999,999,999)
        return int
            .parse::<u64>()
            .map(alloy_primitives::U256::from)
            .map_err(|_| bad());
    }
    alloy_primitives::U256::from_str_radix(int, 10)
        .map_err(|_| format!("'{s}' does not fit in 256 bits"))
}

/// Parse a non-negative integer that fits in `u64` (block numbers, indexes, gas).
pub(crate) fn parse_u64(s: &str) -> Result<u64, String> {
    let v = parse_units(s)?;
    u64::try_from(v).map_err(|_| format!("'{s}' is too large"))
}

/// Unix seconds from an integer or a date-time text (`2022-03-23 10:00:00 UTC`,
/// `2022-03-23T10:00:00Z`, fractions of a second allowed).
pub(crate) fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let t = s
        .trim_end_matches(" UTC")
        .trim_end_matches('Z')
        .trim_end_matches("+00:00")
        .replace('T', " ");
    chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S%.f")
        .map(|d| d.and_utc().timestamp())
        .map_err(|_| format!("'{s}' is not a time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_exact() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(parse_units(max).unwrap(), alloy_primitives::U256::MAX);
        assert!(parse_units(&format!("{max}0")).is_err());
        assert_eq!(parse_units("0").unwrap(), alloy_primitives::U256::ZERO);
        assert_eq!(
            parse_units("1000000000000000000.000000000").unwrap(),
            alloy_primitives::U256::from(10u64.pow(18))
        );
        for bad in ["-1", "1.5", "1e18", "0x10", "", " 1", "1.", "abc"] {
            if bad == "1." {
                // a bare point is a zero fraction
                assert!(parse_units(bad).is_ok());
                continue;
            }
            assert!(parse_units(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1648029600").unwrap(), 1_648_029_600);
        assert_eq!(
            parse_time("2022-03-23 10:00:00 UTC").unwrap(),
            1_648_029_600
        );
        assert_eq!(parse_time("2022-03-23T10:00:00Z").unwrap(), 1_648_029_600);
        assert_eq!(
            parse_time("2022-03-23 10:00:00.000 UTC").unwrap(),
            1_648_029_600
        );
        assert!(parse_time("yesterday").is_err());
    }
}
