//! [`TraceView`]: a trace output directory (`summary.json`, `endpoints.csv`, `flows.csv`,
//! `paths.jsonl`, `evidence.jsonl`, optional `fetch.json`) read back into memory, with the flow
//! graph, the Sankey links and the timeline derived from it. Everything the graph exports and
//! the report render comes from here: one reader, one set of figures.
//!
//! Amounts stay exact: summary figures keep their decimal strings, flows and endpoints are
//! parsed into base units (`U256`) with each asset's `decimals` from summary.json. Errors name
//! the file, the line and the bad value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy_primitives::U256;
use serde::Serialize;

use crate::model::Amount;

use super::budget::Aggregation;
use super::view_files as files;

/// Why a trace directory could not be read. Every message names the file (and line, value).
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The directory does not exist or is not a directory.
    #[error("trace directory {0} does not exist or is not a directory")]
    NoDir(String),
    /// A file of the contract is missing.
    #[error("{0} is missing (not the output directory of `moneytrail trace`?)")]
    Missing(String),
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A line of the file is malformed or holds a bad value.
    #[error("{path}: line {line}: {detail}")]
    Bad {
        /// The file.
        path: String,
        /// 1-based line number (1 for a whole-file JSON document).
        line: u64,
        /// What is wrong, naming the value.
        detail: String,
    },
}

/// Figures of one asset from summary.json (decimal strings exactly as written there).
#[derive(Debug, Clone, Serialize)]
pub struct AssetFigures {
    /// Asset key (`ETH`, `USDC`, `SYMBOL:0xContract`).
    pub key: String,
    /// Decimals of the asset's base unit.
    pub decimals: u8,
    /// Token contract, empty for the native asset.
    pub contract: String,
    /// Injected taint (DEC).
    pub injected: String,
    /// Tainted amount per category (DEC), in summary.json's order (sorted by name).
    pub by_category: BTreeMap<String, String>,
    /// Taint the books could not place (DEC), when given.
    pub unexplained: Option<String>,
    /// Clean value swept in by the poison model (DEC), when given.
    pub swept_in_clean: Option<String>,
}

/// summary.json, the parts a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryView {
    /// Taint model.
    pub model: String,
    /// Chain.
    pub chain: String,
    /// Seed addresses.
    pub seeds: Vec<String>,
    /// Incident id, when given.
    pub incident: Option<String>,
    /// A simulated (demo) trace: every title says so.
    pub simulated: bool,
    /// The conserving model's books balance (absent in old files).
    pub conservation_ok: Option<bool>,
    /// Assets, sorted by key.
    pub assets: Vec<AssetFigures>,
    /// `stats` as written (counts).
    pub stats: serde_json::Value,
    /// The prices behind the USD figures, from summary.json's `pricing` (one line of text).
    pub price_source: Option<String>,
}

/// One row of endpoints.csv.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// Address (empty for the fee sink).
    pub address: String,
    /// Entity (third-party text: escape when rendering).
    pub entity: String,
    /// Category.
    pub category: String,
    /// Asset key.
    pub asset: String,
    /// Amount (DEC, as written).
    pub amount: String,
    /// Amount in base units.
    #[serde(skip)]
    pub base: U256,
    /// USD value as written (empty until prices are loaded).
    pub usd: Option<String>,
    /// Fewest hops from a seed.
    pub min_hops: Option<u32>,
    /// First arrival (RFC 3339).
    pub first_time: String,
    /// Last arrival (RFC 3339).
    pub last_time: String,
}

/// One step of an evidence path.
#[derive(Debug, Clone, Serialize)]
pub struct PathStep {
    /// Transaction hash.
    pub tx_hash: String,
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// Time (RFC 3339).
    pub time: String,
    /// Tainted amount (DEC).
    pub tainted_amount: String,
}

/// One line of paths.jsonl.
#[derive(Debug, Clone, Serialize)]
pub struct PathRecord {
    /// Endpoint address (None for the fee sink).
    pub endpoint: Option<String>,
    /// Entity of the endpoint.
    pub entity: String,
    /// Category of the endpoint.
    pub category: String,
    /// Asset key.
    pub asset: String,
    /// `shortest` or `largest`.
    pub kind: String,
    /// Bottleneck (DEC).
    pub bottleneck: String,
    /// Steps from a seed.
    pub steps: Vec<PathStep>,
}

/// What a node of the flow graph is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A seed address.
    Seed,
    /// An address that sent the taint into a seed (the theft's source).
    Source,
    /// An endpoint of endpoints.csv (its category says which).
    Endpoint,
    /// An address the taint passed through.
    Intermediate,
    /// A Bitcoin transaction (UTXO flows go through it).
    Transaction,
    /// The fee sink.
    Fee,
    /// Addresses aggregated under the node budget.
    Aggregate,
}

impl NodeKind {
    /// Lower-case name (`seed`, `endpoint` …).
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Seed => "seed",
            NodeKind::Source => "source",
            NodeKind::Endpoint => "endpoint",
            NodeKind::Intermediate => "intermediate",
            NodeKind::Transaction => "transaction",
            NodeKind::Fee => "fee",
            NodeKind::Aggregate => "aggregate",
        }
    }
}

/// A node of the flow graph.
#[derive(Debug, Clone, Serialize)]
pub struct GraphNode {
    /// Stable id: the address, `fee`, `tx:<hash>` or `other:hop<N>`.
    pub id: String,
    /// Display label (address, entity or `other (k addresses)`).
    pub label: String,
    /// Role.
    pub kind: NodeKind,
    /// Category: `seed`, an endpoint category (exchange, mixer, unspent …), `source`,
    /// `intermediate`, `transaction`, `fee` or `other`.
    pub category: String,
    /// Entity of an endpoint (third-party text).
    pub entity: String,
    /// Fewest hops from a seed (seeds 0; None for sources).
    pub hop: Option<u32>,
    /// Addresses this node stands for (1, or k for an aggregate).
    pub members: u32,
}

/// Tainted transfers aggregated per (from, to, asset).
#[derive(Debug, Clone, Serialize)]
pub struct GraphEdge {
    /// Index of the sender in `nodes`.
    pub from: usize,
    /// Index of the receiver in `nodes`.
    pub to: usize,
    /// Index of the asset in `summary.assets`.
    pub asset: usize,
    /// Σ tainted amount, base units.
    #[serde(skip)]
    pub tainted: U256,
    /// Σ amount, base units.
    #[serde(skip)]
    pub amount: U256,
    /// Transfers aggregated.
    pub count: u64,
    /// Fewest hops of the transfers.
    pub hop: u32,
    /// First transfer time (RFC 3339).
    pub first_time: String,
    /// Last transfer time.
    pub last_time: String,
    /// Transaction hashes, the first [`EDGE_TXS`] in replay order.
    pub txs: Vec<String>,
}

/// Transaction hashes kept per edge.
pub const EDGE_TXS: usize = 5;

/// The flow graph of a trace: nodes in first-seen order, edges sorted by (from, to, asset).
#[derive(Debug, Clone, Default)]
pub struct FlowGraphView {
    /// Nodes.
    pub nodes: Vec<GraphNode>,
    /// Edges.
    pub edges: Vec<GraphEdge>,
    /// Set when nodes were aggregated under a node budget: what was aggregated.
    pub aggregation: Option<Aggregation>,
}

/// A column of the Sankey diagram.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum SankeyNode {
    /// The seeds.
    Seeds,
    /// Intermediaries at this many hops.
    Hop(u32),
    /// An endpoint category (exchange, mixer, unspent, fee …).
    Category(String),
}

/// Tainted value from one Sankey node to another, per asset.
#[derive(Debug, Clone, Serialize)]
pub struct SankeyLink {
    /// Asset index.
    pub asset: usize,
    /// From.
    pub from: SankeyNode,
    /// To.
    pub to: SankeyNode,
    /// Tainted amount, base units.
    #[serde(skip)]
    pub value: U256,
}

/// Tainted transfers of one day and asset.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Asset index.
    pub asset: usize,
    /// Σ tainted amount, base units.
    #[serde(skip)]
    pub tainted: U256,
    /// Transfers.
    pub count: u64,
}

/// A trace output directory in memory.
#[derive(Debug, Clone)]
pub struct TraceView {
    /// The directory read.
    pub dir: PathBuf,
    /// summary.json.
    pub summary: SummaryView,
    /// endpoints.csv, in file order.
    pub endpoints: Vec<EndpointRow>,
    /// paths.jsonl.
    pub paths: Vec<PathRecord>,
    /// evidence.jsonl, one JSON object a line (third-party text inside).
    pub evidence: Vec<serde_json::Value>,
    /// fetch.json, when present.
    pub fetch: Option<serde_json::Value>,
    /// The full flow graph (no budget applied).
    pub graph: FlowGraphView,
    /// Sankey links, sorted.
    pub sankey: Vec<SankeyLink>,
    /// Tainted transfers by day, sorted by (day, asset).
    pub timeline: Vec<TimelineDay>,
    /// Rows of flows.csv.
    pub flow_rows: u64,
}

pub(crate) fn shown(p: &Path) -> String {
    p.display().to_string()
}

pub(crate) fn bad(path: &Path, line: u64, detail: impl Into<String>) -> ViewError {
    ViewError::Bad {
        path: shown(path),
        line,
        detail: detail.into(),
    }
}

pub(crate) fn read_file(path: &Path) -> Result<String, ViewError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ViewError::Missing(shown(path))),
        Err(e) => Err(ViewError::Io {
            path: shown(path),
            source: e,
        }),
    }
}

pub(crate) fn opt_str(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One evidence.jsonl line as the reports' table cells (plain text, not escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceCells {
    /// Heuristic name.
    pub heuristic: String,
    /// The address the inference is about.
    pub address: String,
    /// What it was linked to.
    pub linked_to: String,
    /// Entity named.
    pub entity: String,
    /// Confidence as written.
    pub confidence: String,
    /// `yes` / `no` for links the trace can follow, empty for attributions.
    pub followed: String,
    /// The parameters' JSON.
    pub parameters: String,
    /// Witness transactions.
    pub witness_txs: Vec<String>,
}

/// A JSON value as cell text: strings bare, null empty, anything else as JSON.
pub fn cell_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl TraceView {
    /// The inferred links (evidence.jsonl) as table cells, in file order.
    pub fn evidence_cells(&self) -> Vec<EvidenceCells> {
        self.evidence
            .iter()
            .map(|e| EvidenceCells {
                heuristic: cell_text(&e["heuristic"]),
                address: cell_text(&e["address"]),
                linked_to: cell_text(&e["linked_to"]),
                entity: cell_text(&e["entity"]),
                confidence: cell_text(&e["confidence"]),
                followed: match e["followed"].as_bool() {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => String::new(),
                },
                parameters: cell_text(&e["parameters"]),
                witness_txs: e["witness_txs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(cell_text)
                    .collect(),
            })
            .collect()
    }

    /// Read a trace output directory.
    pub fn read(dir: &Path) -> Result<TraceView, ViewError> {
        if !dir.is_dir() {
            return Err(ViewError::NoDir(shown(dir)));
        }
        let summary = files::read_summary(&dir.join("summary.json"))?;
        let endpoints = files::read_endpoints(&dir.join("endpoints.csv"), &summary)?;
        let paths = files::read_paths(&dir.join("paths.jsonl"))?;
        let evidence = files::read_jsonl(&dir.join("evidence.jsonl"))?;
        let fetch_path = dir.join("fetch.json");
        let fetch = if fetch_path.is_file() {
            let text = read_file(&fetch_path)?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|e| bad(&fetch_path, e.line() as u64, e.to_string()))?,
            )
        } else {
            None
        };
        let mut view = TraceView {
            dir: dir.to_path_buf(),
            summary,
            endpoints,
            paths,
            evidence,
            fetch,
            graph: FlowGraphView::default(),
            sankey: Vec::new(),
            timeline: Vec::new(),
            flow_rows: 0,
        };
        super::view_flows::read_flows(&mut view, &dir.join("flows.csv"))?;
        Ok(view)
    }

    /// Index of an asset key in `summary.assets`.
    pub fn asset_index(&self, key: &str) -> Option<usize> {
        self.summary.assets.iter().position(|a| a.key == key)
    }

    /// Format base units of asset `asset` as a decimal string in its units.
    pub fn dec(&self, asset: usize, v: U256) -> String {
        let d = self
            .summary
            .assets
            .get(asset)
            .map(|a| a.decimals)
            .unwrap_or(0);
        Amount(v).to_decimal(d)
    }

    /// Asset key of an index (empty when out of range).
    pub fn asset_key(&self, asset: usize) -> &str {
        self.summary
            .assets
            .get(asset)
            .map(|a| a.key.as_str())
            .unwrap_or("")
    }

    /// The title of a report: `title` if given, else one built from the incident or the
    /// directory; always containing "simulated" when summary.json says `"simulated": true`.
    pub fn title(&self, title: Option<&str>) -> String {
        let base = match title {
            Some(t) if !t.trim().is_empty() => t.to_string(),
            _ => {
                let name = self.summary.incident.clone().unwrap_or_else(|| {
                    self.dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "trace".into())
                });
                format!(
                    "moneytrail report: {name} ({} on {})",
                    self.summary.model, self.summary.chain
                )
            }
        };
        if self.summary.simulated && !base.to_lowercase().contains("simulated") {
            format!("{base} [simulated data]")
        } else {
            base
        }
    }
}
