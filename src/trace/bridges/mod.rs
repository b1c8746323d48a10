//! Bridges with deterministic cross-chain edges (`trace --follow-bridges`, ADR 0011).
//!
//! A bridge-labelled address is terminal: taint arriving there is credited to category
//! `bridge`. With `--follow-bridges` the trace also says where each tainted bridge inflow went
//! on the other chain — a [`CrossChainEdge`] per inbound transaction:
//! - THORChain ([`edges::thorchain_edges`]): the inbound memo (`SWAP:…`, `=:…`; [`memo`])
//!   names the destination; the outbound carries `OUT:<inbound hash>` (confidence 1.0), or
//!   the edge stands on the memo alone when the outbound is not in the data (0.9);
//! - Ren ([`edges::ren_edges`]): `LogBurn` names the Bitcoin destination; the release is the
//!   payment to it of the burnt amount less at most the documented fee, within a window
//!   (0.95 / number of candidates);
//! - the fallback ([`edges::amount_time_edges`]): an outflow of an equivalent asset from a
//!   bridge on another chain, within tolerance and window.
//!
//! Each edge is one line of evidence.jsonl and one entry of summary.json's `cross_chain`,
//! with the tainted amount it carried. [`link`] is pure (facts in, result amended);
//! [`facts::load_facts`] reads the store. Edges at or above `--min-confidence` whose
//! destination chain is in the store are continued ([`continuations`]): a trace on that chain
//! seeded at the destination addresses, injecting exactly the carried taint in the outbound
//! transactions.

pub mod decode;
pub mod edges;
pub mod facts;
pub mod memo;

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::U256;
use serde_json::json;

pub use decode::{TOPICS, decode_bridge_log};
pub use edges::CrossChainEdge;
pub use facts::{Facts, load_facts};

use super::{Evidence, Role, TraceResult};
use crate::model::{Address, Amount, Chain, TxHash};

/// Taint carried into a destination chain: what a continuation injects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// The outbound transaction on the destination chain.
    pub tx: TxHash,
    /// The destination address (a seed of the continuation).
    pub to: Address,
    /// Tainted amount, in base units of the destination asset.
    pub amount: U256,
}

/// A continuation trace on a destination chain, as summed into the parent's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Continuation {
    /// The destination chain.
    pub chain: Chain,
    /// Its output directory, relative to the parent's (`cross-chain/<chain>`).
    pub out: String,
    /// Per asset symbol: injected and by category (decimal strings), from its summary.
    pub assets: serde_json::Value,
    /// The continuation's conservation check.
    pub conservation_ok: bool,
}

/// One cross-chain edge that carried taint, as the trace reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossChainFlow {
    /// The edge.
    pub edge: CrossChainEdge,
    /// Source asset symbol.
    pub asset: String,
    /// Source asset decimals.
    pub decimals: u8,
    /// Tainted amount the inbound carried into the bridge (source asset base units).
    pub tainted: U256,
    /// Value that entered the bridge in the inbound tx (source asset base units).
    pub inbound_value: U256,
    /// The tainted part of the outbound, in destination base units:
    /// floor(outbound × tainted / inbound value). None without outbound.
    pub carried: Option<U256>,
    /// Destination asset symbol and decimals, when the outbound is known.
    pub destination_asset: Option<(String, u8)>,
    /// Confidence ≥ `--min-confidence`, a valid destination: the trace follows it.
    pub followed: bool,
    /// Continued in this output directory (relative), with the taint injected there.
    pub continued: Option<String>,
}

impl CrossChainFlow {
    /// The summary.json entry (docs/formats.md, `cross_chain`).
    pub fn to_json(&self) -> serde_json::Value {
        let e = &self.edge;
        let dec = |v: U256, d: u8| Amount(v).to_decimal(d);
        let dest_dec = |v: Option<U256>| match (&self.destination_asset, v) {
            (Some((_, d)), Some(v)) => Some(dec(v, *d)),
            _ => None,
        };
        json!({
            "bridge": e.bridge,
            "from_chain": e.from_chain.to_string(),
            "to_chain": e.to_chain.map(|c| c.to_string()),
            "inbound_tx": e.inbound_tx.display(e.from_chain),
            "outbound_tx": e.outbound_tx.map(|t| t.display(e.to_chain.unwrap_or(e.from_chain))),
            "sender": e.sender.as_ref().map(|a| a.to_string()),
            "destination": e.to_address.as_ref().map(|a| a.to_string()),
            "asset": self.asset,
            "inbound_amount": dec(self.inbound_value, self.decimals),
            "tainted": dec(self.tainted, self.decimals),
            "destination_asset": self.destination_asset.as_ref().map(|a| a.0.clone()),
            "outbound_amount": dest_dec(e.outbound_amount),
            "carried": dest_dec(self.carried),
            "heuristic": e.heuristic,
            "confidence": e.confidence,
            "followed": self.followed,
            "problem": e.problem,
            "continued_in": self.continued,
        })
    }
}

/// Entity of the EVM zero address as a bridge endpoint (`--follow-bridges`).
pub const BURN_SINK: &str = "token burn (0x0)";

/// With `--follow-bridges` on an EVM chain, the zero address — where bridged tokens are burnt
/// to be released on their home chain (renBTC burns, wrapped-asset redemptions) — is a bridge
/// endpoint: taint burnt there is credited to `bridge` (not left `unspent` at 0x0, and not
/// passed on by mints from it), and the burn's cross-chain edge carries it.
pub fn burn_sink_role(cfg: &super::TraceConfig, a: &Address) -> Option<Role> {
    let zero = matches!(a, Address::Evm(x) if x.is_zero());
    (cfg.follow.bridges && zero && cfg.terminal.contains(&crate::model::Category::Bridge)).then(
        || Role::Terminal {
            category: "bridge".into(),
            entity: BURN_SINK.into(),
        },
    )
}

/// A tainted inflow into bridge-labelled addresses: (tx, asset) of the trace's graph.
struct Inflow {
    tx: u32,
    asset: u16,
    tainted: U256,
    value: U256,
    time: i64,
    sender: Option<Address>,
    entity: String,
}

fn bridge_inflows(r: &TraceResult) -> Vec<Inflow> {
    let g = &r.graph;
    let is_bridge = |n: u32| -> Option<&str> {
        match r.roles.get(n as usize) {
            Some(Role::Terminal { category, entity }) if category == "bridge" => {
                Some(entity.as_str())
            }
            _ => None,
        }
    };
    let mut by: BTreeMap<(u32, u16), Inflow> = BTreeMap::new();
    for &(i, t, _) in &r.tainted_flows {
        let f = g.flows[i];
        if f.to == crate::graph::NONE || t.is_zero() {
            continue;
        }
        let Some(entity) = is_bridge(f.to) else {
            continue;
        };
        let e = by.entry((f.tx, f.asset)).or_insert_with(|| Inflow {
            tx: f.tx,
            asset: f.asset,
            tainted: U256::ZERO,
            value: U256::ZERO,
            time: f.time,
            sender: (f.from != crate::graph::NONE).then(|| g.nodes[f.from as usize].clone()),
            entity: entity.to_string(),
        });
        e.tainted += t;
    }
    // the whole value each inbound tx paid into bridges (tainted or not)
    for f in &g.flows {
        if let Some(e) = by.get_mut(&(f.tx, f.asset)) {
            if f.to != crate::graph::NONE && is_bridge(f.to).is_some() {
                e.value += f.amount;
            }
        }
    }
    by.into_values().collect()
}

/// Link the taint `r` credited to bridges to cross-chain edges: one [`CrossChainFlow`] and one
/// evidence line per edge that carried taint (switched-off heuristics are skipped). Pure;
/// linking again replaces the earlier edges and their evidence.
pub fn link(r: &mut TraceResult, facts: &Facts) {
    // linking again (with more data) replaces what an earlier link wrote
    r.evidence
        .retain(|e| !["thorchain_memo", "ren_burn", "bridge_amount_time"].contains(&e.heuristic));
    let chain = r.config.chain;
    let follow = r.config.follow.clone();
    let mut decoded: HashMap<TxHash, Vec<CrossChainEdge>> = HashMap::new();
    let mut all = Vec::new();
    if follow.enabled("thorchain_memo") {
        all.extend(edges::thorchain_edges(facts));
    }
    if follow.enabled("ren_burn") {
        all.extend(edges::ren_edges(facts));
    }
    for e in all.into_iter().filter(|e| e.from_chain == chain) {
        decoded.entry(e.inbound_tx).or_default().push(e);
    }
    let mut flows = Vec::new();
    for inf in bridge_inflows(r) {
        let hash = r.graph.txs[inf.tx as usize];
        let asset_id = r.graph.assets[inf.asset as usize];
        let mut es: Vec<CrossChainEdge> = decoded
            .get(&hash)
            .map(|v| {
                v.iter()
                    .filter(|e| e.asset.is_none_or(|a| a == asset_id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if es.is_empty() && follow.enabled("bridge_amount_time") {
            es = edges::amount_time_edges(
                &edges::BridgeInflow {
                    chain,
                    tx: hash,
                    sender: inf.sender.clone(),
                    entity: inf.entity.clone(),
                    asset: asset_id,
                    symbol: r.assets[inf.asset as usize].asset.symbol.clone(),
                    decimals: r.assets[inf.asset as usize].asset.decimals,
                    amount: inf.value,
                    time: inf.time,
                },
                facts,
            );
        }
        // the inflow's taint split over its edges in proportion to what each paid out
        // (one edge: all of it); the last edge takes the rounding remainder
        let total_out: U256 = es
            .iter()
            .map(|e| e.outbound_amount.unwrap_or_default())
            .sum();
        let n = es.len();
        let mut left = inf.tainted;
        for (k, mut e) in es.into_iter().enumerate() {
            let tainted = if n == 1 || total_out.is_zero() {
                if k + 1 == n { left } else { U256::ZERO }
            } else if k + 1 == n {
                left
            } else {
                inf.tainted * e.outbound_amount.unwrap_or_default() / total_out
            };
            left -= tainted.min(left);
            if e.sender.is_none() {
                e.sender = inf.sender.clone();
            }
            let denom = inf.value.max(e.amount);
            let carried = e
                .outbound_amount
                .filter(|_| !denom.is_zero())
                .map(|o| o * tainted / denom);
            let destination_asset = match (e.to_chain, e.outbound_asset) {
                (Some(c), Some(a)) => Some((facts.symbol(c, a), facts.decimals(c, a))),
                _ => None,
            };
            let followed = e.problem.is_none()
                && e.to_address.is_some()
                && e.confidence >= follow.min_confidence;
            let meta = &r.assets[inf.asset as usize].asset;
            flows.push(CrossChainFlow {
                asset: r.assets[inf.asset as usize].key.clone(),
                decimals: meta.decimals,
                tainted,
                inbound_value: inf.value,
                carried,
                destination_asset,
                followed,
                continued: None,
                edge: e,
            });
        }
    }
    for f in &flows {
        r.evidence.push(evidence(f));
    }
    r.cross_chain = flows;
}

fn evidence(f: &CrossChainFlow) -> Evidence {
    let e = &f.edge;
    let mut measured = e.measured.clone();
    measured["tainted"] = Amount(f.tainted).to_decimal(f.decimals).into();
    measured["asset"] = f.asset.clone().into();
    measured["inbound_amount"] = Amount(f.inbound_value).to_decimal(f.decimals).into();
    if let (Some((sym, d)), Some(o)) = (&f.destination_asset, e.outbound_amount) {
        measured["outbound_amount"] = Amount(o).to_decimal(*d).into();
        measured["destination_asset"] = sym.clone().into();
        if let Some(c) = f.carried {
            measured["carried"] = Amount(c).to_decimal(*d).into();
        }
    }
    if let Some(p) = &e.problem {
        measured["problem"] = p.clone().into();
    }
    let mut witness = vec![e.inbound_tx.display(e.from_chain)];
    if let (Some(t), Some(c)) = (e.outbound_tx, e.to_chain) {
        witness.push(t.display(c));
    }
    Evidence {
        heuristic: e.heuristic,
        chain: e.from_chain.to_string(),
        address: e.sender.as_ref().map(|a| a.to_string()).unwrap_or_default(),
        linked_to: match (e.to_chain, &e.to_address) {
            (Some(c), Some(a)) => format!("{c}:{a}"),
            (Some(c), None) => format!("{c}:"),
            _ => String::new(),
        },
        entity: e.bridge.clone(),
        parameters: e.parameters.clone(),
        measured,
        confidence: e.confidence,
        witness_txs: witness,
        followed: Some(f.followed),
    }
}

/// The continuations `r` asks for, given the chains whose data is in the store: per
/// destination chain, the taint carried in each followed edge's outbound transaction.
pub fn continuations(r: &TraceResult, available: &[Chain]) -> Vec<(Chain, Vec<Carried>)> {
    let mut by: BTreeMap<Chain, Vec<Carried>> = BTreeMap::new();
    for f in &r.cross_chain {
        let e = &f.edge;
        let (Some(chain), Some(to), Some(tx), Some(c)) =
            (e.to_chain, &e.to_address, e.outbound_tx, f.carried)
        else {
            continue;
        };
        if !f.followed || c.is_zero() || !available.contains(&chain) {
            continue;
        }
        by.entry(chain).or_default().push(Carried {
            tx,
            to: to.clone(),
            amount: c,
        });
    }
    by.into_iter().collect()
}

/// Record a continuation run on `chain` (written to `out`, relative) in the parent: the edges
/// it continued and the destination trace's totals.
pub fn record_continuation(parent: &mut TraceResult, child: &TraceResult, out: &str) {
    let chain = child.config.chain;
    for f in &mut parent.cross_chain {
        let continued = f.edge.to_chain == Some(chain)
            && child.config.carried.iter().any(|c| {
                Some(c.tx) == f.edge.outbound_tx && Some(&c.to) == f.edge.to_address.as_ref()
            });
        if continued {
            f.continued = Some(out.to_string());
        }
    }
    let mut assets = serde_json::Map::new();
    for a in &child.assets {
        if a.injected.is_zero() {
            continue;
        }
        let d = a.asset.decimals;
        let by: serde_json::Map<String, serde_json::Value> = a
            .by_category
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (k.to_string(), Amount(*v).to_decimal(d).into()))
            .collect();
        assets.insert(
            a.key.clone(),
            json!({"injected": Amount(a.injected).to_decimal(d), "by_category": by}),
        );
    }
    parent.continuations.push(Continuation {
        chain,
        out: out.to_string(),
        assets: assets.into(),
        conservation_ok: child.conservation_ok,
    });
}

#[cfg(test)]
mod tests;
