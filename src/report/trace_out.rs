//! The output contract of `trace --out DIR` (DESIGN.md, docs/formats.md): `summary.json`,
//! `endpoints.csv`, `flows.csv`, `evidence.jsonl`, `paths.jsonl`, `graph.graphml`.
//! Deterministic: the same store and options give the same bytes.

use std::io::Write;
use std::path::Path;

use alloy_primitives::U256;

use crate::model::{Amount, AssetId};
use crate::trace::{Role, TraceResult};

use super::graphml;
use super::usd::{Valuation, usd_text};

/// One way of writing a trace's results.
pub trait Exporter {
    /// File name written in the output directory.
    fn file_name(&self) -> &'static str;
    /// Write the result.
    fn write(&self, r: &TraceResult, out: &mut dyn Write) -> std::io::Result<()>;
}

/// Every exporter of the trace contract; `usd` fills the USD figures (summary.json, the `usd`
/// column of endpoints.csv), left empty without it.
pub fn exporters(usd: Option<&Valuation>) -> Vec<Box<dyn Exporter + '_>> {
    vec![
        Box::new(Summary { usd }),
        Box::new(Endpoints { usd }),
        Box::new(Flows),
        Box::new(EvidenceLines),
        Box::new(Paths),
        Box::new(graphml::GraphMl),
    ]
}

/// Write every file of the contract into `dir` (created if missing).
pub fn write_all(
    r: &TraceResult,
    usd: Option<&Valuation>,
    dir: &Path,
) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for e in exporters(usd) {
        let path = dir.join(e.file_name());
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        e.write(r, &mut f)?;
        f.flush()?;
        written.push(path.to_string_lossy().into_owned());
    }
    Ok(written)
}

pub(crate) fn dec(r: &TraceResult, asset: usize, v: U256) -> String {
    Amount(v).to_decimal(r.assets[asset].asset.decimals)
}

pub(crate) fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

pub(crate) fn contract(r: &TraceResult, asset: usize) -> String {
    match r.assets[asset].asset.id {
        AssetId::Native => String::new(),
        AssetId::Token(c) => c.to_checksum(None),
    }
}

pub(crate) fn node_text(r: &TraceResult, n: u32) -> String {
    if n == crate::graph::NONE {
        String::new()
    } else {
        r.graph.nodes[n as usize].to_string()
    }
}

/// `summary.json`.
pub struct Summary<'a> {
    /// USD figures, if priced.
    pub usd: Option<&'a Valuation>,
}

impl Exporter for Summary<'_> {
    fn file_name(&self) -> &'static str {
        "summary.json"
    }
    fn write(&self, r: &TraceResult, out: &mut dyn Write) -> std::io::Result<()> {
        let mut assets = serde_json::Map::new();
        for (i, a) in r.assets.iter().enumerate() {
            let by: serde_json::Map<String, serde_json::Value> = a
                .by_category
                .iter()
                .map(|(k, v)| (k.to_string(), dec(r, i, *v).into()))
                .collect();
            let mut o = serde_json::json!({
                "injected": dec(r, i, a.injected),
                "by_category": by,
                "decimals": a.asset.decimals,
                "contract": contract(r, i),
                "unexplained": dec(r, i, a.unexplained),
            });
            if !r.config.model.conserving() {
                o["swept_in_clean"] = dec(r, i, r.swept_in[i]).into();
            }
            if r.config.follow.swaps {
                o["swapped_in"] = dec(r, i, a.swapped_in).into();
                o["swapped_out"] = dec(r, i, a.swapped_out).into();
            }
            if let Some(v) = self.usd.and_then(|u| u.assets.get(i)) {
                let cents = |x: Option<f64>| x.map(|x| (x * 100.0).round() / 100.0);
                o["usd"] = serde_json::json!({
                    "injected": cents(v.injected),
                    "by_category": v.by_category.iter().map(|(k, x)| (k.to_string(), cents(*x).into())).collect::<serde_json::Map<String, serde_json::Value>>(),
                    "unpriced_days": v.unpriced_days,
                });
            }
            assets.insert(a.key.clone(), o);
        }
        let mut v = serde_json::json!({
            "model": r.config.model.as_str(),
            "chain": r.config.chain.to_string(),
            "seeds": r.config.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "assets": assets,
            "conservation_ok": r.conservation_ok,
            "stats": {
                "transfers": r.graph.flows.len(),
                "addresses": r.graph.nodes.len(),
                "hops_max": r.hops_max,
                "tainted_transfers": r.tainted_flows.len(),
                "endpoints": r.endpoints.len(),
                "inferred_links": r.evidence.len(),
            },
            "window": {
                "from_block": r.config.from_block,
                "to_block": r.config.to_block,
                "opening_balances_at_block": r.config.opening_block(),
            },
            "options": {
                "max_hops": r.config.max_hops,
                "min_value": r.config.min_value,
                "theft_txs": r.config.theft_txs.iter().map(|t| t.display(r.config.chain)).collect::<Vec<_>>(),
                "terminal_categories": r.config.terminal.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "deposit_detection": r.config.deposit.map(|d| serde_json::json!({
                    "min_share_pct": d.min_share_pct,
                    "window_secs": d.window_secs,
                })),
            },
        });
        for (k, x) in &r.sections {
            v[k.as_str()] = x.clone();
        }
        if r.config.follow.bridges {
            v["cross_chain"] = r.cross_chain.iter().map(|c| c.to_json()).collect();
            v["cross_chain_continuations"] = r
                .continuations
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "chain": c.chain.to_string(),
                        "out": c.out,
                        "assets": c.assets,
                        "conservation_ok": c.conservation_ok,
                    })
                })
                .collect();
        }
        if !r.config.carried.is_empty() {
            v["carried_in"] = r
                .config
                .carried
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "tx": c.tx.display(r.config.chain),
                        "to": c.to.to_string(),
                        "amount_base_units": c.amount.to_string(),
                    })
                })
                .collect();
        }
        v["incident"] = r.config.incident.clone().into();
        v["simulated"] = r.config.simulated.into();
        if let Some(u) = self.usd {
            v["pricing"] = serde_json::json!({
                "rule": "each tainted amount at the USD price of the UTC day it arrived at its endpoint; resting taint on the day of its last arrival; injected taint on the day it entered a seed (opening balances: the first day of the data)",
                "prices": u.prices,
            });
        }
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)
    }
}

/// `endpoints.csv`.
pub struct Endpoints<'a> {
    /// USD figures, if priced.
    pub usd: Option<&'a Valuation>,
}

impl Exporter for Endpoints<'_> {
    fn file_name(&self) -> &'static str {
        "endpoints.csv"
    }
    fn write(&self, r: &TraceResult, out: &mut dyn Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "chain",
            "address",
            "entity",
            "category",
            "asset",
            "asset_contract",
            "amount",
            "usd",
            "min_hops",
            "first_time",
            "last_time",
        ])?;
        for (k, e) in r.endpoints.iter().enumerate() {
            let usd = self.usd.and_then(|u| u.endpoints.get(k).copied().flatten());
            w.write_record([
                r.config.chain.to_string(),
                e.address
                    .as_ref()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                e.entity.clone(),
                e.category.clone(),
                r.assets[e.asset].key.clone(),
                contract(r, e.asset),
                dec(r, e.asset, e.amount),
                usd_text(usd),
                e.min_hops.map(|h| h.to_string()).unwrap_or_default(),
                e.first_time.map(iso).unwrap_or_default(),
                e.last_time.map(iso).unwrap_or_default(),
            ])?;
        }
        w.flush()
    }
}

/// `flows.csv`: every transfer that carried taint, in replay order.
pub struct Flows;

impl Exporter for Flows {
    fn file_name(&self) -> &'static str {
        "flows.csv"
    }
    fn write(&self, r: &TraceResult, out: &mut dyn Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "chain",
            "tx_hash",
            "sub_index",
            "block",
            "time",
            "from",
            "to",
            "asset",
            "asset_contract",
            "amount",
            "tainted_amount",
            "hop",
        ])?;
        let chain = r.config.chain;
        for &(i, tainted, hop) in &r.tainted_flows {
            let f = r.graph.flows[i];
            let a = f.asset as usize;
            w.write_record([
                chain.to_string(),
                r.graph.txs[f.tx as usize].display(chain),
                r.graph.subs[f.sub as usize].to_string(),
                f.block.to_string(),
                iso(f.time),
                node_text(r, f.from),
                node_text(r, f.to),
                r.assets[a].key.clone(),
                contract(r, a),
                dec(r, a, f.amount),
                dec(r, a, tainted),
                hop.to_string(),
            ])?;
        }
        w.flush()
    }
}

/// `evidence.jsonl`: one inferred link a line.
pub struct EvidenceLines;

impl Exporter for EvidenceLines {
    fn file_name(&self) -> &'static str {
        "evidence.jsonl"
    }
    fn write(&self, r: &TraceResult, out: &mut dyn Write) -> std::io::Result<()> {
        for e in &r.evidence {
            serde_json::to_writer(&mut *out, e)?;
            writeln!(out)?;
        }
        Ok(())
    }
}

/// `paths.jsonl`: for every endpoint reached by transfers, its shortest and largest-value path
/// from a seed, hop by hop.
pub struct Paths;

impl Exporter for Paths {
    fn file_name(&self) -> &'static str {
        "paths.jsonl"
    }
    fn write(&self, r: &TraceResult, out: &mut dyn Write) -> std::io::Result<()> {
        let chain = r.config.chain;
        for e in &r.endpoints {
            let Some((short, large)) = r.paths(e) else {
                continue;
            };
            for p in [&short, &large] {
                let steps: Vec<serde_json::Value> = p
                    .flows
                    .iter()
                    .map(|i| {
                        let f = r.graph.flows[*i];
                        let tainted = r.taint_of(*i);
                        serde_json::json!({
                            "tx_hash": r.graph.txs[f.tx as usize].display(chain),
                            "sub_index": r.graph.subs[f.sub as usize].to_string(),
                            "block": f.block,
                            "time": iso(f.time),
                            "from": node_text(r, f.from),
                            "to": node_text(r, f.to),
                            "amount": dec(r, e.asset, f.amount),
                            "tainted_amount": dec(r, e.asset, tainted),
                        })
                    })
                    .collect();
                let v = serde_json::json!({
                    "endpoint": e.address.as_ref().map(|a| a.to_string()),
                    "entity": e.entity,
                    "category": e.category,
                    "asset": r.assets[e.asset].key,
                    "kind": p.kind,
                    "hops": p.flows.len(),
                    "bottleneck": dec(r, e.asset, p.bottleneck),
                    "steps": steps,
                });
                serde_json::to_writer(&mut *out, &v)?;
                writeln!(out)?;
            }
        }
        Ok(())
    }
}

/// Role of a node as text: seed, a terminal category, or plain.
pub(crate) fn role_text(role: &Role) -> &str {
    match role {
        Role::Seed => "seed",
        Role::Terminal { category, .. } => category,
        Role::Plain => "address",
    }
}
