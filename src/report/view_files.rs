//! The small files of a trace directory read for [`TraceView`](super::view::TraceView):
//! summary.json, endpoints.csv, paths.jsonl, evidence.jsonl. Errors name file, line and value.

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::Amount;

use super::view::{
    AssetFigures, EndpointRow, PathRecord, PathStep, SummaryView, ViewError, bad, opt_str,
    read_file, shown,
};

pub(crate) fn read_summary(path: &Path) -> Result<SummaryView, ViewError> {
    let text = read_file(path)?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(path, e.line() as u64, e.to_string()))?;
    let field = |k: &str| -> Result<String, ViewError> {
        v[k].as_str()
            .map(str::to_string)
            .ok_or_else(|| bad(path, 1, format!("no string field \"{k}\"")))
    };
    let model = field("model")?;
    let chain = field("chain")?;
    let mut seeds = Vec::new();
    for s in v["seeds"].as_array().into_iter().flatten() {
        seeds.push(
            s.as_str()
                .ok_or_else(|| bad(path, 1, format!("seed {s} is not a string")))?
                .to_string(),
        );
    }
    let mut assets = Vec::new();
    let empty = serde_json::Map::new();
    let map = v["assets"]
        .as_object()
        .ok_or_else(|| bad(path, 1, "no object field \"assets\""))?;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        let a = &map[key];
        let decimals = a["decimals"].as_u64().filter(|d| *d <= 77).ok_or_else(|| {
            bad(
                path,
                1,
                format!("assets.{key}.decimals missing or not 0–77"),
            )
        })? as u8;
        let check = |what: &str, s: &serde_json::Value| -> Result<Option<String>, ViewError> {
            match s {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::String(t) => {
                    Amount::parse_decimal(t, decimals)
                        .map_err(|e| bad(path, 1, format!("assets.{key}.{what}: {e}")))?;
                    Ok(Some(t.clone()))
                }
                other => Err(bad(
                    path,
                    1,
                    format!("assets.{key}.{what}: '{other}' is not a decimal string"),
                )),
            }
        };
        let injected = check("injected", &a["injected"])?
            .ok_or_else(|| bad(path, 1, format!("assets.{key}.injected missing")))?;
        let mut by_category = BTreeMap::new();
        for (c, val) in a["by_category"].as_object().unwrap_or(&empty) {
            if let Some(s) = check(&format!("by_category.{c}"), val)? {
                by_category.insert(c.clone(), s);
            }
        }
        assets.push(AssetFigures {
            key: key.clone(),
            decimals,
            contract: a["contract"].as_str().unwrap_or("").to_string(),
            injected,
            by_category,
            unexplained: check("unexplained", &a["unexplained"])?,
            swept_in_clean: check("swept_in_clean", &a["swept_in_clean"])?,
        });
    }
    Ok(SummaryView {
        model,
        chain,
        seeds,
        incident: opt_str(&v["incident"]),
        simulated: v["simulated"].as_bool().unwrap_or(false),
        conservation_ok: v["conservation_ok"].as_bool(),
        assets,
        stats: v["stats"].clone(),
        price_source: pricing_text(&v["pricing"]),
    })
}

/// The prices a trace used (summary.json `pricing.prices`), as one line: "ETH at monthly
/// averages (embedded:yfinance, 2022-03-01 … 2022-05-01); USDC at 1.0 (usd-peg) — each amount at
/// the price of the day it arrived".
fn pricing_text(p: &serde_json::Value) -> Option<String> {
    let prices = p["prices"].as_array()?;
    if prices.is_empty() {
        return None;
    }
    let parts: Vec<String> = prices
        .iter()
        .map(|x| {
            let s = |k: &str| x[k].as_str().unwrap_or("").to_string();
            let asset = s("asset");
            let priced_as = s("priced_as");
            let as_ = if priced_as.is_empty() || priced_as == asset {
                String::new()
            } else {
                format!(" as {priced_as}")
            };
            let kind = match s("kind").as_str() {
                "daily" => "daily closes".to_string(),
                "monthly" => "monthly averages".to_string(),
                "stablecoin" => "1.0 (stablecoin)".to_string(),
                k => k.to_string(),
            };
            let (first, last) = (s("first"), s("last"));
            let span = if first == last {
                first
            } else {
                format!("{first} … {last}")
            };
            format!("{asset}{as_} at {kind} ({}, {span})", s("source"))
        })
        .collect();
    Some(format!(
        "{} — each amount at the price of the UTC day it arrived",
        parts.join("; ")
    ))
}

pub(crate) fn read_endpoints(path: &Path, s: &SummaryView) -> Result<Vec<EndpointRow>, ViewError> {
    if !path.is_file() {
        return Err(ViewError::Missing(shown(path)));
    }
    let mut r = csv::Reader::from_path(path).map_err(|e| ViewError::Io {
        path: shown(path),
        source: std::io::Error::other(e.to_string()),
    })?;
    let headers = r
        .headers()
        .map_err(|e| bad(path, 1, e.to_string()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| bad(path, 1, format!("no column '{name}' in the header")))
    };
    let c = [
        col("address")?,
        col("entity")?,
        col("category")?,
        col("asset")?,
        col("amount")?,
        col("usd")?,
        col("min_hops")?,
        col("first_time")?,
        col("last_time")?,
    ];
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            bad(path, line, e.to_string())
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| rec.get(c[i]).unwrap_or("").to_string();
        let asset = get(3);
        let decimals = s
            .assets
            .iter()
            .find(|a| a.key == asset)
            .map(|a| a.decimals)
            .ok_or_else(|| {
                bad(
                    path,
                    line,
                    format!("asset '{asset}' is not in summary.json"),
                )
            })?;
        let amount = get(4);
        let base = Amount::parse_decimal(&amount, decimals)
            .map_err(|e| bad(path, line, format!("column amount: {e}")))?
            .0;
        let usd = get(5);
        if !usd.is_empty() && usd.parse::<f64>().map(|f| !f.is_finite()).unwrap_or(true) {
            return Err(bad(
                path,
                line,
                format!("column usd: '{usd}' is not a number"),
            ));
        }
        let hops = get(6);
        let min_hops = if hops.is_empty() {
            None
        } else {
            Some(hops.parse::<u32>().map_err(|_| {
                bad(
                    path,
                    line,
                    format!("column min_hops: '{hops}' is not a hop count"),
                )
            })?)
        };
        out.push(EndpointRow {
            address: get(0),
            entity: get(1),
            category: get(2),
            asset,
            amount,
            base,
            usd: (!usd.is_empty()).then_some(usd),
            min_hops,
            first_time: get(7),
            last_time: get(8),
        });
    }
    Ok(out)
}

pub(crate) fn read_jsonl(path: &Path) -> Result<Vec<serde_json::Value>, ViewError> {
    let text = read_file(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(path, i as u64 + 1, e.to_string()))?;
        if !v.is_object() {
            return Err(bad(path, i as u64 + 1, "not a JSON object"));
        }
        out.push(v);
    }
    Ok(out)
}

pub(crate) fn read_paths(path: &Path) -> Result<Vec<PathRecord>, ViewError> {
    let text = read_file(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(path, i as u64 + 1, e.to_string()))?;
        let s = |x: &serde_json::Value| opt_str(x).unwrap_or_default();
        let steps = v["steps"]
            .as_array()
            .ok_or_else(|| bad(path, i as u64 + 1, "no array field \"steps\""))?
            .iter()
            .map(|st| PathStep {
                tx_hash: s(&st["tx_hash"]),
                from: s(&st["from"]),
                to: s(&st["to"]),
                time: s(&st["time"]),
                tainted_amount: s(&st["tainted_amount"]),
            })
            .collect();
        out.push(PathRecord {
            endpoint: opt_str(&v["endpoint"]),
            entity: s(&v["entity"]),
            category: s(&v["category"]),
            asset: s(&v["asset"]),
            kind: s(&v["kind"]),
            bottleneck: s(&v["bottleneck"]),
            steps,
        });
    }
    Ok(out)
}
