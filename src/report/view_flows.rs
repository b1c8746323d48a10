//! flows.csv into the [`TraceView`]'s flow graph, Sankey links and timeline, in one streaming
//! pass (a 1M-row file is never held as rows).

use std::collections::BTreeMap;
use std::path::Path;

use alloy_primitives::U256;
use rustc_hash::FxHashMap;

use crate::model::Amount;

use super::view::{
    EDGE_TXS, GraphEdge, GraphNode, NodeKind, SankeyLink, SankeyNode, TimelineDay, TraceView,
    ViewError,
};

/// EVM addresses compare case-insensitively; others (base58) exactly.
fn norm(a: &str) -> String {
    if a.starts_with("0x") || a.starts_with("0X") {
        a.to_ascii_lowercase()
    } else {
        a.to_string()
    }
}

struct Nodes {
    exact: FxHashMap<String, usize>,
    normed: FxHashMap<String, usize>,
    list: Vec<GraphNode>,
    seeds: FxHashMap<String, ()>,
    /// normalised address → (category, entity)
    endpoints: FxHashMap<String, (String, String)>,
}

impl Nodes {
    fn get(&mut self, id: &str, kind_hint: Option<NodeKind>) -> usize {
        if let Some(&i) = self.exact.get(id) {
            return i;
        }
        let n = norm(id);
        let i = match self.normed.get(&n) {
            Some(&i) => i,
            None => {
                let i = self.list.len();
                let (kind, category, entity, label) = match kind_hint {
                    Some(NodeKind::Fee) => {
                        (NodeKind::Fee, "fee", "fee sink".to_string(), "fee sink")
                    }
                    Some(k) => (k, k.as_str(), String::new(), id),
                    None if self.seeds.contains_key(&n) => {
                        (NodeKind::Seed, "seed", String::new(), id)
                    }
                    None => match self.endpoints.get(&n) {
                        Some((c, e)) => (NodeKind::Endpoint, c.as_str(), e.clone(), id),
                        None => (NodeKind::Intermediate, "intermediate", String::new(), id),
                    },
                };
                self.list.push(GraphNode {
                    id: id.to_string(),
                    label: label.to_string(),
                    kind,
                    category: category.to_string(),
                    entity,
                    hop: (kind == NodeKind::Seed).then_some(0),
                    members: 1,
                });
                self.normed.insert(n, i);
                i
            }
        };
        self.exact.insert(id.to_string(), i);
        i
    }
}

fn valid_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4]
            .iter()
            .chain(&b[5..7])
            .chain(&b[8..10])
            .all(u8::is_ascii_digit)
}

/// Read flows.csv into `v.graph`, `v.sankey`, `v.timeline`, `v.flow_rows`.
pub(crate) fn read_flows(v: &mut TraceView, path: &Path) -> Result<(), ViewError> {
    let shown = || path.display().to_string();
    let bad = |line: u64, detail: String| ViewError::Bad {
        path: shown(),
        line,
        detail,
    };
    if !path.is_file() {
        return Err(ViewError::Missing(shown()));
    }
    let file = std::fs::File::open(path).map_err(|e| ViewError::Io {
        path: shown(),
        source: e,
    })?;
    let mut r = csv::ReaderBuilder::new()
        .buffer_capacity(1 << 20)
        .from_reader(file);
    let headers = r.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| bad(1, format!("no column '{name}' in the header")))
    };
    let (c_tx, c_sub, c_time, c_from, c_to, c_asset, c_amount, c_tainted, c_hop) = (
        col("tx_hash")?,
        col("sub_index")?,
        col("time")?,
        col("from")?,
        col("to")?,
        col("asset")?,
        col("amount")?,
        col("tainted_amount")?,
        col("hop")?,
    );

    // endpoint categories per address: a terminal category wins over unspent
    let mut endpoints: FxHashMap<String, (String, String)> = FxHashMap::default();
    for e in v.endpoints.iter().filter(|e| !e.address.is_empty()) {
        let slot = endpoints
            .entry(norm(&e.address))
            .or_insert_with(|| (e.category.clone(), e.entity.clone()));
        if slot.0 == "unspent" && e.category != "unspent" {
            *slot = (e.category.clone(), e.entity.clone());
        }
    }
    let mut nodes = Nodes {
        exact: FxHashMap::default(),
        normed: FxHashMap::default(),
        list: Vec::new(),
        seeds: v.summary.seeds.iter().map(|s| (norm(s), ())).collect(),
        endpoints,
    };
    for s in &v.summary.seeds {
        nodes.get(s, None);
    }
    let asset_idx: FxHashMap<String, (usize, u8)> = v
        .summary
        .assets
        .iter()
        .enumerate()
        .map(|(i, a)| (a.key.clone(), (i, a.decimals)))
        .collect();

    let mut edge_at: FxHashMap<(usize, usize, usize), usize> = FxHashMap::default();
    let mut edges: Vec<GraphEdge> = Vec::new();
    let mut sankey: BTreeMap<(usize, SankeyNode, SankeyNode), U256> = BTreeMap::new();
    let mut days: BTreeMap<([u8; 10], usize), (U256, u64)> = BTreeMap::new();
    let mut rows = 0u64;
    let mut rec = csv::StringRecord::new();
    loop {
        match r.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err(bad(line, e.to_string()));
            }
        }
        rows += 1;
        let line = rec.position().map(|p| p.line()).unwrap_or(rows + 1);
        let f = |i: usize| rec.get(i).unwrap_or("");
        let asset_key = f(c_asset);
        let &(asset, decimals) = asset_idx
            .get(asset_key)
            .ok_or_else(|| bad(line, format!("asset '{asset_key}' is not in summary.json")))?;
        let amount = Amount::parse_decimal(f(c_amount), decimals)
            .map_err(|e| bad(line, format!("column amount: {e}")))?
            .0;
        let tainted = Amount::parse_decimal(f(c_tainted), decimals)
            .map_err(|e| bad(line, format!("column tainted_amount: {e}")))?
            .0;
        let hop: u32 = f(c_hop).parse().map_err(|_| {
            bad(
                line,
                format!("column hop: '{}' is not a hop count", f(c_hop)),
            )
        })?;
        let time = f(c_time);
        if !time.is_empty() && !valid_time(time) {
            return Err(bad(
                line,
                format!("column time: '{time}' is not an RFC 3339 time"),
            ));
        }
        let (sub, tx) = (f(c_sub), f(c_tx));
        let from = match f(c_from) {
            "" => nodes.get(&format!("tx:{tx}"), Some(NodeKind::Transaction)),
            a => nodes.get(a, None),
        };
        let to = match f(c_to) {
            "" if sub == "fee" => nodes.get("fee", Some(NodeKind::Fee)),
            "" => nodes.get(&format!("tx:{tx}"), Some(NodeKind::Transaction)),
            a => nodes.get(a, None),
        };
        {
            let n = &mut nodes.list[to];
            if !(hop == 0 && n.kind == NodeKind::Seed) {
                n.hop = Some(n.hop.map_or(hop, |h| h.min(hop)));
            }
        }
        // the edge
        let k = *edge_at.entry((from, to, asset)).or_insert_with(|| {
            edges.push(GraphEdge {
                from,
                to,
                asset,
                tainted: U256::ZERO,
                amount: U256::ZERO,
                count: 0,
                hop,
                first_time: time.to_string(),
                last_time: time.to_string(),
                txs: Vec::new(),
            });
            edges.len() - 1
        });
        let e = &mut edges[k];
        e.tainted += tainted;
        e.amount += amount;
        e.count += 1;
        e.hop = e.hop.min(hop);
        if !time.is_empty() {
            if e.first_time.is_empty() || time < e.first_time.as_str() {
                e.first_time = time.to_string();
            }
            if time > e.last_time.as_str() {
                e.last_time = time.to_string();
            }
        }
        if e.txs.len() < EDGE_TXS && e.txs.last().map(String::as_str) != Some(tx) {
            e.txs.push(tx.to_string());
        }
        // the Sankey: seeds → hops → categories (injection and seed-to-seed moves are not drawn)
        let (fk, tk) = (nodes.list[from].kind, nodes.list[to].kind);
        if tk != NodeKind::Seed && !tainted.is_zero() {
            let src = if fk == NodeKind::Seed || hop == 0 {
                SankeyNode::Seeds
            } else {
                SankeyNode::Hop(hop - 1)
            };
            let dst = match tk {
                NodeKind::Fee => SankeyNode::Category("fee".into()),
                NodeKind::Endpoint if nodes.list[to].category != "unspent" => {
                    SankeyNode::Category(nodes.list[to].category.clone())
                }
                _ => SankeyNode::Hop(hop.max(1)),
            };
            *sankey.entry((asset, src, dst)).or_default() += tainted;
        }
        if valid_time(time) {
            let mut day = [0u8; 10];
            day.copy_from_slice(&time.as_bytes()[..10]);
            let d = days.entry((day, asset)).or_default();
            d.0 += tainted;
            d.1 += 1;
        }
    }
    // what rests at unlabelled addresses (and seeds) ends the Sankey as "unspent"
    for e in v.endpoints.iter().filter(|e| e.category == "unspent") {
        let Some(&(asset, _)) = asset_idx.get(&e.asset) else {
            continue;
        };
        let src = if nodes.seeds.contains_key(&norm(&e.address)) {
            SankeyNode::Seeds
        } else {
            SankeyNode::Hop(e.min_hops.unwrap_or(1).max(1))
        };
        *sankey
            .entry((asset, src, SankeyNode::Category("unspent".into())))
            .or_default() += e.base;
    }
    // addresses that only sent into the seeds are the taint's sources
    for n in &mut nodes.list {
        if n.kind == NodeKind::Intermediate && n.hop.is_none() {
            n.kind = NodeKind::Source;
            n.category = "source".into();
        }
    }
    edges.sort_by_key(|e| (e.from, e.to, e.asset));
    v.graph.nodes = nodes.list;
    v.graph.edges = edges;
    v.sankey = sankey
        .into_iter()
        .filter(|(_, val)| !val.is_zero())
        .map(|((asset, from, to), value)| SankeyLink {
            asset,
            from,
            to,
            value,
        })
        .collect();
    v.timeline = days
        .into_iter()
        .map(|((day, asset), (tainted, count))| TimelineDay {
            day: String::from_utf8_lossy(&day).into_owned(),
            asset,
            tainted,
            count,
        })
        .collect();
    v.flow_rows = rows;
    Ok(())
}
