//! Reading a trace's input from the store (the one place the trace touches I/O).

use std::collections::HashMap;

use alloy_primitives::U256;

use super::{TraceConfig, TraceError, terminal_label};
use crate::graph::{FlowGraph, flow::neighbourhood};
use crate::model::{Asset, AssetId, Label};
use crate::store::Store;

/// Everything [`super::run`] needs.
#[derive(Debug, Clone)]
pub struct TraceInput {
    /// The seeds' neighbourhood.
    pub graph: FlowGraph,
    /// Labels per node id.
    pub labels: Vec<Vec<Label>>,
    /// Opening balances (node, asset id, amount) at the end of the block before the window.
    pub opening: Vec<(u32, u16, U256)>,
    /// Asset metadata per asset id.
    pub assets: Vec<Asset>,
    /// UTXO chains: the stored transactions, in time order (the replay follows outpoints).
    pub utxo: Option<Vec<crate::store::StoredUtxoTx>>,
    /// Decoded contract events of the chain (loaded when mixers or bridges are followed).
    pub events: Vec<crate::model::ContractEvent>,
}

/// Read the transfers in the window, the labels, balances and asset metadata.
pub fn load(store: &Store, cfg: &TraceConfig) -> Result<TraceInput, TraceError> {
    let o = cfg.opening_block();
    let all = store.transfers(cfg.chain)?;
    let window: Vec<_> = all
        .into_iter()
        .filter(|t| t.block > o && cfg.to_block.is_none_or(|b| t.block <= b))
        .collect();
    let balances = store.balances_at(cfg.chain, o)?;
    for s in &cfg.seeds {
        let active = window
            .iter()
            .any(|t| t.from.as_ref() == Some(s) || t.to.as_ref() == Some(s));
        let held = balances.iter().any(|(a, _, v)| a == s && !v.is_zero());
        if !active && !held {
            return Err(TraceError::SeedWithoutHistory(s.to_string(), cfg.chain));
        }
    }
    // labels of every address value could reach, looked up once each
    let mut label_cache: HashMap<crate::model::Address, Vec<Label>> = HashMap::new();
    let mut labels_of = |a: &crate::model::Address| -> Vec<Label> {
        label_cache
            .entry(a.clone())
            .or_insert_with(|| chain_labels(store, cfg, a))
            .clone()
    };
    let mut terminal_cache: HashMap<crate::model::Address, bool> = HashMap::new();
    for t in &window {
        for a in [&t.from, &t.to].into_iter().flatten() {
            if !terminal_cache.contains_key(a) {
                let ls = labels_of(a);
                let t = terminal_label(&ls, &cfg.terminal);
                // with --follow-swaps, value goes on from DEX contracts (as swap outputs)
                let passable = cfg.follow.swaps
                    && t.is_some_and(|l| l.category == crate::model::Category::Defi);
                let term = !cfg.seeds.contains(a) && t.is_some() && !passable;
                terminal_cache.insert(a.clone(), term);
            }
        }
    }
    // account chains: the seeds' neighbourhood; UTXO chains: the window (the replay follows
    // outpoints, which the address-level reachability cannot see)
    let utxo = if cfg.chain.is_bitcoin() {
        Some(store.utxo_txs(cfg.chain)?)
    } else {
        None
    };
    let events = if cfg.follow.demix || cfg.follow.bridges {
        store
            .events(cfg.chain, &[])?
            .into_iter()
            .filter(|e| e.block > o && cfg.to_block.is_none_or(|b| e.block <= b))
            .collect()
    } else {
        Vec::new()
    };
    // demixed pools are not terminal for reachability: value goes on from their withdrawals
    let pools: std::collections::HashSet<&crate::model::Address> = if cfg.follow.demix {
        events
            .iter()
            .filter(|e| {
                matches!(
                    e.data,
                    crate::model::EventData::TornadoDeposit { .. }
                        | crate::model::EventData::TornadoWithdrawal { .. }
                )
            })
            .map(|e| &e.contract)
            .collect()
    } else {
        Default::default()
    };
    let hood = if utxo.is_some() {
        window
    } else {
        neighbourhood(&window, &cfg.seeds, |a| {
            terminal_cache.get(a).copied().unwrap_or(false) && !pools.contains(a)
        })
    };
    let mut graph = FlowGraph::build(cfg.chain, &hood);
    if graph.assets.is_empty() {
        graph.assets.push(AssetId::Native);
    }
    for s in &cfg.seeds {
        graph.intern(s);
    }
    let mut opening = Vec::new();
    for (addr, asset, amount) in balances {
        let Some(n) = graph.node(&addr) else { continue };
        let a = match graph.asset_id(asset) {
            Some(a) => a,
            None => {
                graph.assets.push(asset);
                (graph.assets.len() - 1) as u16
            }
        };
        opening.push((n, a, amount.0));
    }
    let labels = graph.nodes.iter().map(&mut labels_of).collect();
    let mut assets = Vec::new();
    for id in &graph.assets {
        let meta = store.asset(cfg.chain, *id)?.unwrap_or_else(|| Asset {
            chain: cfg.chain,
            id: *id,
            symbol: match id {
                AssetId::Native => cfg.chain.native_symbol().to_string(),
                AssetId::Token(c) => c.to_checksum(None),
            },
            decimals: 18,
        });
        assets.push(meta);
    }
    Ok(TraceInput {
        graph,
        labels,
        opening,
        assets,
        utxo,
        events,
    })
}

/// Labels of `a` for the trace's chain: those recorded for that chain; for an EVM chain with
/// none, those of the same address on another EVM chain (the same key).
fn chain_labels(store: &Store, cfg: &TraceConfig, a: &crate::model::Address) -> Vec<Label> {
    let all: Vec<Label> = store
        .labels_of(a)
        .map(|v| v.into_iter().map(|(l, _)| l).collect())
        .unwrap_or_default();
    let exact: Vec<Label> = all
        .iter()
        .filter(|l| l.chain == cfg.chain)
        .cloned()
        .collect();
    if !exact.is_empty() || !cfg.chain.is_evm() {
        return exact;
    }
    all.into_iter().filter(|l| l.chain.is_evm()).collect()
}
