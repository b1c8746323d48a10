//! A bitcoin-etl / BigQuery `crypto_bitcoin.transactions` Parquet file, read with polars into
//! the same JSON record a line of `transactions.json` is, so that one parser builds the
//! [`super::UtxoTx`] of both. Rows are converted 10,000 at a time.

use std::path::Path;

use polars::prelude::*;
use serde_json::{Map, Number, Value};

use crate::fetch::FetchError;
use crate::fetch::etl_table::{FileFormat, Table, column_names, file_error, list_parts, one_line};

/// The columns the parser reads.
const COLUMNS: &[&str] = &[
    "hash",
    "block_number",
    "block_timestamp",
    "index",
    "is_coinbase",
    "inputs",
    "outputs",
    "fee",
    "input_value",
    "output_value",
    "input_count",
    "output_count",
];

const SLICE: usize = 10_000;

/// Call `each(row, record)` for every row of `path` (rows from 1).
pub(super) fn read(
    path: &Path,
    mut each: impl FnMut(usize, Value) -> Result<(), FetchError>,
) -> Result<(), FetchError> {
    let present = column_names(path, FileFormat::Parquet)?;
    for need in ["hash", "outputs"] {
        if !present.iter().any(|c| c == need) {
            return Err(file_error(
                path,
                format!(
                    "not a bitcoin-etl / BigQuery crypto_bitcoin transactions table: no column \
                     {need} (columns: {})",
                    present.join(",")
                ),
            ));
        }
    }
    let table = Table::read(path, FileFormat::Parquet, &present, COLUMNS)?;
    let df = table.frame();
    let mut offset = 0;
    while offset < df.height() {
        let part = df.slice(offset as i64, SLICE);
        let mut cols: Vec<(String, Vec<Value>)> = Vec::new();
        for c in part.columns() {
            let name = c.name().to_string();
            let vals = values(c.as_materialized_series(), &name)
                .map_err(|e| file_error(path, format!("column {name}: {e}")))?;
            cols.push((name, vals));
        }
        for i in 0..part.height() {
            let mut m = Map::new();
            for (name, vals) in &mut cols {
                m.insert(name.clone(), std::mem::take(&mut vals[i]));
            }
            each(offset + i + 1, Value::Object(m))?;
        }
        offset += SLICE;
    }
    Ok(())
}

/// The values of a column as JSON: text, booleans, exact integers (numbers), decimals (text),
/// timestamps (Unix seconds), lists and structs (arrays and objects).
fn values(s: &Series, name: &str) -> Result<Vec<Value>, String> {
    let e = |e: PolarsError| one_line(&e);
    let dt = s.dtype().clone();
    Ok(match &dt {
        DataType::Null => vec![Value::Null; s.len()],
        DataType::String => s
            .str()
            .map_err(e)?
            .iter()
            .map(|o| o.map_or(Value::Null, |v| Value::String(v.to_string())))
            .collect(),
        DataType::Boolean => s
            .bool()
            .map_err(e)?
            .iter()
            .map(|o| o.map_or(Value::Null, Value::Bool))
            .collect(),
        DataType::Float32 | DataType::Float64 => {
            return Err(format!(
                "{dt} is floating point; values must be exact satoshis (export NUMERIC or \
                 integers)"
            ));
        }
        DataType::Decimal(_, _) => s
            .cast(&DataType::String)
            .map_err(e)?
            .str()
            .map_err(e)?
            .iter()
            .map(|o| o.map_or(Value::Null, |v| Value::String(v.to_string())))
            .collect(),
        DataType::Datetime(_, _) => {
            let dt = s.datetime().map_err(e)?;
            let per_sec: i64 = match dt.time_unit() {
                TimeUnit::Nanoseconds => 1_000_000_000,
                TimeUnit::Microseconds => 1_000_000,
                TimeUnit::Milliseconds => 1_000,
            };
            dt.physical()
                .iter()
                .map(|o| o.map_or(Value::Null, |v| Value::from(v.div_euclid(per_sec))))
                .collect()
        }
        d if d.is_unsigned_integer() => s
            .cast(&DataType::UInt64)
            .map_err(e)?
            .u64()
            .map_err(e)?
            .iter()
            .map(|o| o.map_or(Value::Null, |v| Value::Number(Number::from(v))))
            .collect(),
        d if d.is_integer() => s
            .cast(&DataType::Int64)
            .map_err(e)?
            .i64()
            .map_err(e)?
            .iter()
            .map(|o| o.map_or(Value::Null, |v| Value::Number(Number::from(v))))
            .collect(),
        DataType::List(_) => {
            // the items of all rows at once: their logical type (a NUMERIC inside a struct)
            // is kept, where a row taken out alone would give its physical one
            let (items, offsets, valid) = list_parts(s).map_err(e)?;
            let mut flat = values(&items, name)?.into_iter();
            let mut out = Vec::with_capacity(valid.len());
            for (i, ok) in valid.iter().enumerate() {
                let row: Vec<Value> = flat.by_ref().take(offsets[i + 1] - offsets[i]).collect();
                out.push(if *ok { Value::Array(row) } else { Value::Null });
            }
            out
        }
        DataType::Struct(_) => {
            let st = s.struct_().map_err(e)?;
            let fields: Vec<(String, Vec<Value>)> = st
                .fields_as_series()
                .iter()
                .map(|f| {
                    let n = f.name().to_string();
                    values(f, &format!("{name}.{n}")).map(|v| (n, v))
                })
                .collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(st.len());
            let nulls = s.is_null();
            for i in 0..st.len() {
                if nulls.get(i) == Some(true) {
                    out.push(Value::Null);
                    continue;
                }
                let mut m = Map::new();
                for (n, v) in &fields {
                    m.insert(n.clone(), v[i].clone());
                }
                out.push(Value::Object(m));
            }
            out
        }
        other => return Err(format!("{other} cannot be read")),
    })
}
