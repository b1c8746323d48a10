//! Column tables written with polars: the one way moneytrail writes Parquet (and the CSV of its
//! tables), so that polars, pandas, DuckDB and Spark read them with the types documented in
//! docs/formats.md. Exact amounts are decimal text columns (a U256 fits no Parquet integer);
//! USD figures are Float64; times are Int64 Unix seconds plus ISO text where useful.

use std::path::Path;

use polars::prelude::*;

/// One column's values (None = null).
#[derive(Debug, Clone)]
pub enum Col {
    /// Text (also exact decimal amounts).
    Str(Vec<Option<String>>),
    /// 64-bit integers.
    Int(Vec<Option<i64>>),
    /// Floats (USD figures, ratios).
    F64(Vec<Option<f64>>),
    /// Booleans.
    Bool(Vec<Option<bool>>),
}

impl Col {
    fn len(&self) -> usize {
        match self {
            Col::Str(v) => v.len(),
            Col::Int(v) => v.len(),
            Col::F64(v) => v.len(),
            Col::Bool(v) => v.len(),
        }
    }
}

/// A table: named columns of equal length.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The columns in order.
    pub cols: Vec<(&'static str, Col)>,
}

/// A table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Polars refused the frame or the write.
    #[error("writing {path}: {source}")]
    Polars {
        /// The file.
        path: String,
        /// The cause.
        source: PolarsError,
    },
    /// The file could not be created.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl Table {
    /// Add a column.
    pub fn col(&mut self, name: &'static str, c: Col) -> &mut Self {
        self.cols.push((name, c));
        self
    }

    /// Rows (the length of the first column).
    pub fn rows(&self) -> usize {
        self.cols.first().map_or(0, |(_, c)| c.len())
    }

    /// The polars frame.
    pub fn frame(&self) -> PolarsResult<DataFrame> {
        let cols: Vec<Column> = self
            .cols
            .iter()
            .map(|(n, c)| {
                let n: PlSmallStr = (*n).into();
                match c {
                    Col::Str(v) => Column::new(n, v),
                    Col::Int(v) => Column::new(n, v),
                    Col::F64(v) => Column::new(n, v),
                    Col::Bool(v) => Column::new(n, v),
                }
            })
            .collect();
        DataFrame::new(self.rows(), cols)
    }

    /// Write as Parquet (zstd) to `path`.
    pub fn write_parquet(&self, path: &Path) -> Result<(), TableError> {
        let p = || path.display().to_string();
        let mut df = self
            .frame()
            .map_err(|source| TableError::Polars { path: p(), source })?;
        let f =
            std::fs::File::create(path).map_err(|source| TableError::Io { path: p(), source })?;
        ParquetWriter::new(f)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)
            .map(|_| ())
            .map_err(|source| TableError::Polars { path: p(), source })
    }

    /// Write as CSV with a header line to `out`.
    pub fn write_csv(&self, out: &mut dyn std::io::Write, path: &str) -> Result<(), TableError> {
        let mut df = self.frame().map_err(|source| TableError::Polars {
            path: path.into(),
            source,
        })?;
        CsvWriter::new(out)
            .include_header(true)
            .finish(&mut df)
            .map_err(|source| TableError::Polars {
                path: path.into(),
                source,
            })
    }
}

/// Text column from an iterator of strings.
pub fn strs<I: IntoIterator<Item = S>, S: Into<String>>(it: I) -> Col {
    Col::Str(it.into_iter().map(|s| Some(s.into())).collect())
}

/// Text column where empty strings are null.
pub fn opt_strs<I: IntoIterator<Item = S>, S: Into<String>>(it: I) -> Col {
    Col::Str(
        it.into_iter()
            .map(|s| Some(s.into()).filter(|s: &String| !s.is_empty()))
            .collect(),
    )
}
