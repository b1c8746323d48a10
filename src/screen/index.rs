//! The screening index: every address an indexed trace reached (tainted amount per asset, share
//! of what it received, hop distance, shortest evidence path, incident, model) plus every label
//! of the store, in one hash map keyed by address.
//!
//! Built by [`build`] from trace output directories (the contract of `trace --out`, see
//! docs/formats.md) and the store; persisted by [`save`] in the store's `screen_taint` table
//! (one row per (chain, address), the record as JSON) with the list of indexed traces in
//! `meta`; read back by [`ScreenIndex::load`], which joins the labels as they are at load time.
//! The [`ScreenIndex::version`] names both: the indexed trace summaries and the label snapshot.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use alloy_primitives::{U256, keccak256};
use rusqlite::params;
use rustc_hash::FxHashMap;

use super::{Exposure, LabelBrief, ScreenError, Taint};
use crate::model::{Address, Amount, Category, Chain};
use crate::store::Store;

/// `meta` key holding the JSON list of indexed traces.
pub const META_TRACES: &str = "screen.traces";

/// One indexed trace run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TraceRef {
    /// The trace output directory, as given.
    pub dir: String,
    /// Chain of the trace.
    pub chain: Chain,
    /// Taint model.
    pub model: String,
    /// Incident id (summary.json `incident`, else the directory's name).
    pub incident: String,
    /// keccak-256 of its summary.json, hex.
    pub summary_hash: String,
}

/// What [`build`] produces and [`save`] writes.
#[derive(Debug, Clone, Default)]
pub struct IndexData {
    /// The traces indexed.
    pub traces: Vec<TraceRef>,
    /// One record per (chain, address) a trace reached, seeds included.
    pub taint: Vec<(Address, Taint)>,
}

/// Addresses, labels and taint in memory, ready for lookups.
#[derive(Debug, Default)]
pub struct ScreenIndex {
    version: String,
    traces: Vec<TraceRef>,
    nodes: FxHashMap<Address, Node>,
    tainted: usize,
    labelled: usize,
}

/// Everything known about one address.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub(crate) taint: Vec<Taint>,
    pub(crate) labels: Vec<LabelBrief>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> ScreenError {
    ScreenError::Trace {
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

fn hex_hash(bytes: &[u8]) -> String {
    format!("{:x}", keccak256(bytes))
}

/// Read one trace output directory (summary.json, flows.csv, endpoints.csv, paths.jsonl).
/// `store`, when given, supplies what each reached address received in total (the share).
pub fn read_trace(
    dir: &Path,
    store: Option<&Store>,
) -> Result<(TraceRef, Vec<(Address, Taint)>), ScreenError> {
    let summary_path = dir.join("summary.json");
    let bytes = std::fs::read(&summary_path).map_err(|e| io_err(&summary_path, e))?;
    let summary: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| io_err(&summary_path, e))?;
    let chain: Chain = summary["chain"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| io_err(&summary_path, e))?;
    let model = summary["model"].as_str().unwrap_or("unknown").to_string();
    let incident = summary["incident"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            dir.canonicalize()
                .unwrap_or_else(|_| dir.to_path_buf())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "trace".into())
        });
    // asset key → (decimals, contract key)
    let mut assets: HashMap<String, (u8, String)> = HashMap::new();
    if let Some(map) = summary["assets"].as_object() {
        for (k, v) in map {
            let dec = v["decimals"].as_u64().unwrap_or(18) as u8;
            let contract = v["contract"].as_str().unwrap_or("").to_ascii_lowercase();
            assets.insert(k.clone(), (dec, contract));
        }
    }
    let decimals = |asset: &str| assets.get(asset).map(|a| a.0).unwrap_or(18);
    let parse_addr = |s: &str, p: &Path| Address::parse(chain, s).map_err(|e| io_err(p, e));
    let mut seeds = Vec::new();
    for s in summary["seeds"].as_array().into_iter().flatten() {
        seeds.push(parse_addr(s.as_str().unwrap_or_default(), &summary_path)?);
    }

    // flows.csv: per (to, asset) the tainted sum and the min hop; per address its best inflow
    #[derive(Default)]
    struct In {
        tainted: U256,
        hops: u32,
    }
    let mut inflow: BTreeMap<(Address, String), In> = BTreeMap::new();
    let mut best_pred: HashMap<Address, (u32, Option<Address>, String)> = HashMap::new();
    let flows_path = dir.join("flows.csv");
    let mut r = csv::Reader::from_path(&flows_path).map_err(|e| io_err(&flows_path, e))?;
    let h = r.headers().map_err(|e| io_err(&flows_path, e))?.clone();
    let col = |name: &str| {
        h.iter()
            .position(|c| c == name)
            .ok_or_else(|| io_err(&flows_path, format!("no column {name}")))
    };
    let (c_tx, c_from, c_to, c_asset, c_tainted, c_hop) = (
        col("tx_hash")?,
        col("from")?,
        col("to")?,
        col("asset")?,
        col("tainted_amount")?,
        col("hop")?,
    );
    for rec in r.records() {
        let rec = rec.map_err(|e| io_err(&flows_path, e))?;
        let to = &rec[c_to];
        if to.is_empty() {
            continue; // a fee
        }
        let to = parse_addr(to, &flows_path)?;
        let asset = rec[c_asset].to_string();
        let tainted = Amount::parse_decimal(&rec[c_tainted], decimals(&asset))
            .map_err(|e| io_err(&flows_path, e))?;
        if tainted.is_zero() {
            continue;
        }
        let hop: u32 = rec[c_hop].parse().map_err(|e| io_err(&flows_path, e))?;
        let from = match &rec[c_from] {
            "" => None,
            f => Some(parse_addr(f, &flows_path)?),
        };
        let e = inflow.entry((to.clone(), asset)).or_insert(In {
            tainted: U256::ZERO,
            hops: u32::MAX,
        });
        e.tainted += tainted.0;
        e.hops = e.hops.min(hop);
        let b = best_pred
            .entry(to)
            .or_insert((u32::MAX, None, String::new()));
        if hop < b.0 {
            *b = (hop, from, rec[c_tx].to_string());
        }
    }

    // endpoints.csv: category and entity per (address, asset)
    let ep_path = dir.join("endpoints.csv");
    let mut endpoint: HashMap<(Address, String), (String, String)> = HashMap::new();
    if ep_path.is_file() {
        let mut r = csv::Reader::from_path(&ep_path).map_err(|e| io_err(&ep_path, e))?;
        for rec in r.records() {
            let rec = rec.map_err(|e| io_err(&ep_path, e))?;
            if rec.len() < 5 || rec[1].is_empty() {
                continue;
            }
            let a = parse_addr(&rec[1], &ep_path)?;
            endpoint
                .entry((a, rec[4].to_string()))
                .or_insert_with(|| (rec[3].to_string(), rec[2].to_string()));
        }
    }

    // paths.jsonl: the shortest path of each endpoint
    let paths_path = dir.join("paths.jsonl");
    let mut shortest: HashMap<Address, Vec<String>> = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(&paths_path) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| io_err(&paths_path, e))?;
            if v["kind"] != "shortest" {
                continue;
            }
            let Some(ep) = v["endpoint"].as_str() else {
                continue;
            };
            let a = parse_addr(ep, &paths_path)?;
            let txs: Vec<String> = v["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["tx_hash"].as_str().map(str::to_string))
                .collect();
            let e = shortest.entry(a).or_insert_with(|| txs.clone());
            if txs.len() < e.len() {
                *e = txs;
            }
        }
    }

    // what each reached address received, per asset contract key
    let received = match store {
        Some(s) => received_totals(s, chain, inflow.keys().map(|(a, _)| a))?,
        None => HashMap::new(),
    };

    let source_category = "theft".to_string();
    let mut out: BTreeMap<Address, Taint> = BTreeMap::new();
    for s in &seeds {
        out.insert(
            s.clone(),
            Taint {
                chain,
                hops: 0,
                seed: true,
                path: Vec::new(),
                exposure: Vec::new(),
            },
        );
    }
    for ((a, asset), i) in &inflow {
        let (dec, contract) = assets.get(asset).cloned().unwrap_or((18, String::new()));
        let rec = received.get(&(a.clone(), contract));
        let share = rec.filter(|r| !r.is_zero()).map(|r| ratio(i.tainted, *r));
        let (ep_cat, entity) = endpoint
            .get(&(a.clone(), asset.clone()))
            .cloned()
            .map(|(c, e)| (Some(c), (!e.is_empty()).then_some(e)))
            .unwrap_or((None, None));
        let t = out.entry(a.clone()).or_insert_with(|| Taint {
            chain,
            hops: i.hops,
            seed: false,
            path: Vec::new(),
            exposure: Vec::new(),
        });
        if !t.seed {
            t.hops = t.hops.min(i.hops);
        }
        t.exposure.push(Exposure {
            category: source_category.clone(),
            incident: incident.clone(),
            model: model.clone(),
            asset: asset.clone(),
            amount: Amount(i.tainted).to_decimal(dec),
            received: rec.map(|r| Amount(*r).to_decimal(dec)),
            share,
            hops: i.hops,
            endpoint: ep_cat,
            entity,
        });
    }
    // evidence paths: the trace's own shortest path for endpoints, else follow best inflows
    let seed_set: std::collections::HashSet<&Address> = seeds.iter().collect();
    for (a, t) in out.iter_mut() {
        if t.seed {
            continue;
        }
        if let Some(p) = shortest.get(a) {
            t.path = p.clone();
            continue;
        }
        let mut path = Vec::new();
        let mut cur = a.clone();
        while let Some((_, from, tx)) = best_pred.get(&cur) {
            path.push(tx.clone());
            match from {
                Some(f) if !seed_set.contains(f) && path.len() <= 1024 => cur = f.clone(),
                _ => break,
            }
        }
        path.reverse();
        t.path = path;
    }
    Ok((
        TraceRef {
            dir: dir.display().to_string(),
            chain,
            model,
            incident,
            summary_hash: hex_hash(&bytes),
        },
        out.into_iter().collect(),
    ))
}

/// share = tainted / received as a float (a ratio, never an amount), clamped to [0, 1].
fn ratio(tainted: U256, received: U256) -> f64 {
    let f = |v: U256| v.to_string().parse::<f64>().unwrap_or(f64::MAX);
    let r = f(tainted) / f(received);
    // rounded to 6 places: the index's bytes do not depend on float printing noise
    ((r.clamp(0.0, 1.0)) * 1e6).round() / 1e6
}

/// Σ of what each address received on `chain`, per asset key ("" native, else the contract).
fn received_totals<'a>(
    store: &Store,
    chain: Chain,
    addrs: impl Iterator<Item = &'a Address>,
) -> Result<HashMap<(Address, String), U256>, ScreenError> {
    let mut out: HashMap<(Address, String), U256> = HashMap::new();
    let mut stmt = store.conn().prepare(
        "SELECT t.asset, t.amount FROM transfers t JOIN addresses a ON a.id = t.to_id
          WHERE a.chain = ?1 AND a.addr = ?2 AND t.sub_class <> 0
            AND (t.from_id IS NULL OR t.from_id <> t.to_id)",
    )?;
    let mut seen = std::collections::HashSet::new();
    for a in addrs {
        if !seen.insert(a.clone()) {
            continue;
        }
        let rows = stmt.query_map(params![chain.to_string(), a.key()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        for row in rows {
            let (asset, amount) = row?;
            let v = Amount::from_be_slice(&amount)
                .map(|a| a.0)
                .unwrap_or_default();
            let e = out.entry((a.clone(), asset)).or_default();
            *e = e.saturating_add(v);
        }
    }
    Ok(out)
}

/// Build the index data from trace output directories; `store` supplies the received totals
/// (the shares). Records of the same (chain, address) from several traces are merged: the
/// fewest hops with their path, every exposure.
pub fn build(dirs: &[&Path], store: Option<&Store>) -> Result<IndexData, ScreenError> {
    let mut traces = Vec::new();
    let mut merged: BTreeMap<(Chain, Address), Taint> = BTreeMap::new();
    for d in dirs {
        let (tr, taint) = read_trace(d, store)?;
        traces.push(tr);
        for (a, t) in taint {
            match merged.entry((t.chain, a)) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(t);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let m = o.get_mut();
                    m.seed |= t.seed;
                    if t.hops < m.hops || (m.path.is_empty() && !t.path.is_empty()) {
                        m.hops = m.hops.min(t.hops);
                        m.path = t.path;
                    }
                    m.exposure.extend(t.exposure);
                }
            }
        }
    }
    Ok(IndexData {
        traces,
        taint: merged.into_iter().map(|((_, a), t)| (a, t)).collect(),
    })
}

/// Replace the persisted index with `data` (one write transaction).
pub fn save(store: &Store, data: &IndexData) -> Result<(), ScreenError> {
    let tx = store.conn().unchecked_transaction()?;
    tx.execute("DELETE FROM screen_taint", [])?;
    {
        let mut ins = tx.prepare(
            "INSERT OR REPLACE INTO screen_taint (chain, address, hops, record) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (a, t) in &data.taint {
            let rec = serde_json::to_string(t).map_err(|e| ScreenError::Record(e.to_string()))?;
            ins.execute(params![t.chain.to_string(), a.key(), t.hops, rec])?;
        }
    }
    let traces =
        serde_json::to_string(&data.traces).map_err(|e| ScreenError::Record(e.to_string()))?;
    tx.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![META_TRACES, traces],
    )?;
    tx.commit()?;
    Ok(())
}

impl ScreenIndex {
    /// Load the persisted index and the store's labels (as they are now).
    pub fn load(store: &Store) -> Result<ScreenIndex, ScreenError> {
        let traces: Vec<TraceRef> = match store.meta(META_TRACES)? {
            Some(s) => serde_json::from_str(&s).map_err(|e| ScreenError::Record(e.to_string()))?,
            None => Vec::new(),
        };
        let mut taint = Vec::new();
        let mut stmt = store
            .conn()
            .prepare("SELECT chain, address, record FROM screen_taint")?;
        let mut rows = stmt.query([])?;
        let mut last_chain: Option<(String, Chain)> = None;
        while let Some(r) = rows.next()? {
            let chain_text = r.get_ref(0)?.as_str()?;
            let chain = match &last_chain {
                Some((t, c)) if t == chain_text => *c,
                _ => {
                    let c: Chain = chain_text.parse().map_err(|e: crate::model::ChainError| {
                        ScreenError::Record(e.to_string())
                    })?;
                    last_chain = Some((chain_text.to_string(), c));
                    c
                }
            };
            let addr = Address::parse(chain, r.get_ref(1)?.as_str()?)
                .map_err(|e| ScreenError::Record(e.to_string()))?;
            let mut t: Taint = serde_json::from_slice(r.get_ref(2)?.as_bytes()?)
                .map_err(|e| ScreenError::Record(e.to_string()))?;
            t.chain = chain;
            taint.push((addr, t));
        }
        let labels = store
            .all_labels()?
            .into_iter()
            .map(|(l, origin)| (l.address.clone(), LabelBrief::new(&l, origin)))
            .collect::<Vec<_>>();
        Ok(ScreenIndex::from_parts(traces, taint, labels))
    }

    /// An index from its parts (tests, benchmarks, [`ScreenIndex::load`]).
    pub fn from_parts(
        traces: Vec<TraceRef>,
        taint: Vec<(Address, Taint)>,
        labels: Vec<(Address, LabelBrief)>,
    ) -> ScreenIndex {
        let mut h = Vec::with_capacity(64 * (traces.len() + 1));
        for t in &traces {
            h.extend_from_slice(t.summary_hash.as_bytes());
            h.push(b'\n');
        }
        h.extend_from_slice(b"labels\n");
        let mut nodes: FxHashMap<Address, Node> = FxHashMap::default();
        nodes.reserve(taint.len() + labels.len());
        let tainted = taint.len();
        let labelled = labels.len();
        for (a, l) in labels {
            h.extend_from_slice(a.key().as_bytes());
            h.push(0);
            h.extend_from_slice(l.label.as_bytes());
            h.push(0);
            h.extend_from_slice(l.category.as_str().as_bytes());
            h.push(0);
            h.extend_from_slice(l.source.as_bytes());
            h.push(b'\n');
            let n = nodes.entry(a).or_default();
            if !n
                .labels
                .iter()
                .any(|x| x.label == l.label && x.category == l.category && x.source == l.source)
            {
                n.labels.push(l);
            }
        }
        for (a, t) in taint {
            nodes.entry(a).or_default().taint.push(t);
        }
        let version = hex_hash(&h)[..16].to_string();
        ScreenIndex {
            version,
            traces,
            nodes,
            tainted,
            labelled,
        }
    }

    /// The index version: a hash of the indexed trace summaries and the label snapshot.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The traces indexed.
    pub fn traces(&self) -> &[TraceRef] {
        &self.traces
    }

    /// Number of (chain, address) taint records.
    pub fn tainted_len(&self) -> usize {
        self.tainted
    }

    /// Number of labels.
    pub fn labels_len(&self) -> usize {
        self.labelled
    }

    pub(crate) fn node(&self, a: &Address) -> Option<&Node> {
        self.nodes.get(a)
    }
}

impl LabelBrief {
    /// The screening view of a stored label.
    pub fn new(l: &crate::model::Label, origin: String) -> LabelBrief {
        LabelBrief {
            chain: l.chain,
            label: l.label.clone(),
            category: l.category,
            actor: l.actor.clone(),
            source: l.source.clone(),
            confidence: l.confidence,
            origin,
        }
    }

    /// Whether this label marks a sanctioned address.
    pub fn is_sanctioned(&self) -> bool {
        self.category == Category::Sanctioned
    }
}

/// The receiving addresses of a stored transaction (every transfer's `to`), on `chain` or any.
pub fn tx_receivers(
    store: &Store,
    chain: Option<Chain>,
    tx: &crate::model::TxHash,
) -> Result<Vec<(Chain, Address)>, ScreenError> {
    let mut stmt = store.conn().prepare(
        "SELECT DISTINCT t.chain, a.addr FROM transfers t JOIN addresses a ON a.id = t.to_id
          WHERE t.tx_hash = ?1 ORDER BY t.chain, a.addr",
    )?;
    let rows = stmt
        .query_map(params![tx.0.as_slice()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for (c, a) in rows {
        let c: Chain = c
            .parse()
            .map_err(|e: crate::model::ChainError| ScreenError::Record(e.to_string()))?;
        if chain.is_some_and(|x| x != c) {
            continue;
        }
        out.push((
            c,
            Address::parse(c, &a).map_err(|e| ScreenError::Record(e.to_string()))?,
        ));
    }
    Ok(out)
}
