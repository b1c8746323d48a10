//! The trace: given seeds, how much of their value reached which exchange, mixer, bridge, or
//! is still resting, under a named taint model, with the paths that show it.
//!
//! [`load`] reads what a trace needs from the store; [`run`] is pure (no I/O): it builds the
//! flow graph of the seeds' neighbourhood, attributes deposit addresses, replays the transfers
//! under the model ([`engine`], [`models`]) and checks conservation. The semantics are written
//! out in `docs/adr/0003-taint-semantics.md`.

pub mod bridges;
pub mod coinjoin;
pub mod demix;
pub mod engine;
mod load;
pub mod models;
pub mod paths;
pub mod swaps;
pub mod utxo;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

use alloy_primitives::U256;

pub use engine::{CATEGORIES, FEE, Injection, Role, UNKNOWN, UNSPENT};
pub use load::{TraceInput, load};

use crate::graph::deposit::{self, DepositAddress, DepositParams};
use crate::graph::{FlowGraph, NONE};
use crate::model::{Address, Amount, Asset, Category, Chain, Label, TxHash};
use engine::{Replay, ReplayConfig};
use models::{Fifo, Haircut, Lifo, Poison, TaintModel, Tiho};
use paths::Path;

/// A taint model by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ModelKind {
    /// Poison.
    Poison,
    /// Haircut (the default).
    #[default]
    Haircut,
    /// First in, first out.
    Fifo,
    /// Last in, first out.
    Lifo,
    /// Taint in, highest out.
    Tiho,
}

impl ModelKind {
    /// Name.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Poison => Poison::NAME,
            ModelKind::Haircut => Haircut::NAME,
            ModelKind::Fifo => Fifo::NAME,
            ModelKind::Lifo => Lifo::NAME,
            ModelKind::Tiho => Tiho::NAME,
        }
    }

    /// Whether the model conserves taint.
    pub fn conserving(self) -> bool {
        self != ModelKind::Poison
    }

    /// All models.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Poison,
        ModelKind::Haircut,
        ModelKind::Fifo,
        ModelKind::Lifo,
        ModelKind::Tiho,
    ];
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown model name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown taint model '{0}' (expected poison, haircut, fifo, lifo or tiho)")]
pub struct ModelError(pub String);

impl FromStr for ModelKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelKind::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| ModelError(s.to_string()))
    }
}

/// What to trace and how.
#[derive(Debug, Clone)]
pub struct TraceConfig {
    /// Chain.
    pub chain: Chain,
    /// Seed addresses.
    pub seeds: Vec<Address>,
    /// Theft transactions: when given, only what seeds receive in them is tainted.
    pub theft_txs: Vec<TxHash>,
    /// Model.
    pub model: ModelKind,
    /// First block of the window (the seeds' balances at the end of the block before are the
    /// opening balances).
    pub from_block: u64,
    /// Last block of the window, inclusive.
    pub to_block: Option<u64>,
    /// Hop limit.
    pub max_hops: Option<u32>,
    /// Dust threshold, in each asset's own units ("0.01" = 0.01 ETH, 0.01 USDC …).
    pub min_value: Option<String>,
    /// Label categories that stop a trace.
    pub terminal: Vec<Category>,
    /// Deposit-address detection (None: off).
    pub deposit: Option<DepositParams>,
    /// The catalogued incident traced, if any (recorded in summary.json and the run registry
    /// that `totals` reads; the trace itself does not use it).
    pub incident: Option<String>,
    /// The data is a simulation (`moneytrail demo`): every output says so.
    pub simulated: bool,
    /// Following taint through mixers, swaps and bridges (all off by default).
    pub follow: Follow,
    /// A cross-chain continuation (`--follow-bridges`): taint enters only as these amounts
    /// carried into the seeds in these transactions (empty: the seeds' value or theft txs).
    pub carried: Vec<bridges::Carried>,
}

/// Following taint past the default terminals (issue "through the mixers and across the
/// bridges"); every link made carries its heuristic, parameters, confidence and witness
/// transactions in evidence.jsonl.
#[derive(Debug, Clone, PartialEq)]
pub struct Follow {
    /// Demix Tornado-style pools (EVM) and trace through CoinJoins (Bitcoin).
    pub demix: bool,
    /// Links below this confidence (0–1) are written to evidence.jsonl but not followed.
    pub min_confidence: f64,
    /// Heuristics switched off, by name (e.g. `tornado_temporal_fifo`).
    pub disabled: Vec<String>,
    /// Taint crosses assets inside DEX swaps (`--follow-swaps`).
    pub swaps: bool,
    /// Cross-chain edges of bridges are decoded and followed (`--follow-bridges`).
    pub bridges: bool,
}

impl Default for Follow {
    fn default() -> Follow {
        Follow {
            demix: false,
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            disabled: Vec::new(),
            swaps: false,
            bridges: false,
        }
    }
}

impl Follow {
    /// Whether heuristic `name` is switched on.
    pub fn enabled(&self, name: &str) -> bool {
        !self.disabled.iter().any(|d| d == name)
    }
}

/// The heuristics that can be switched off by name (`--no-heuristic`), as they appear in the
/// `heuristic` field of evidence.jsonl.
pub const HEURISTICS: [&str; 10] = [
    "tornado_address_match",
    "tornado_unique_gas_price",
    "tornado_linked_addresses",
    "tornado_multi_denomination",
    "tornado_temporal_fifo",
    "coinjoin_equal_outputs",
    "coinjoin_change",
    "thorchain_memo",
    "ren_burn",
    "bridge_amount_time",
];

/// The default confidence threshold for following an inferred link: more likely than not by
/// a margin (a coin flip between two deposits, 0.5, is not followed).
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.6;

impl TraceConfig {
    /// Defaults for `chain` and `seeds`: haircut, the whole history, no limits, terminal
    /// categories exchange, mixer, bridge, defi, sanctioned.
    pub fn new(chain: Chain, seeds: Vec<Address>) -> TraceConfig {
        TraceConfig {
            chain,
            seeds,
            theft_txs: Vec::new(),
            model: ModelKind::Haircut,
            from_block: 0,
            to_block: None,
            max_hops: None,
            min_value: None,
            terminal: vec![
                Category::Exchange,
                Category::Mixer,
                Category::Bridge,
                Category::Defi,
                Category::Sanctioned,
            ],
            deposit: Some(DepositParams::default()),
            incident: None,
            simulated: false,
            follow: Follow::default(),
            carried: Vec::new(),
        }
    }

    /// The block whose end-of-block balances open the ledgers.
    pub fn opening_block(&self) -> u64 {
        self.from_block.saturating_sub(1)
    }
}

/// A bad trace input.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// Nothing to trace from.
    #[error("no seed addresses given")]
    NoSeeds,
    /// A seed with no transfers and no balance in the store.
    #[error(
        "seed {0} has no transfers and no recorded balance in the store for {1} (fetch it first, or check the address)"
    )]
    SeedWithoutHistory(String, Chain),
    /// The dust threshold does not parse.
    #[error(transparent)]
    MinValue(#[from] crate::model::AmountError),
    /// The conserving model's books do not balance (a bug; the outputs are still written).
    #[error(
        "conservation violated for {asset}: injected {injected} ≠ accounted {accounted} (base units)"
    )]
    Conservation {
        /// Asset symbol.
        asset: String,
        /// Injected.
        injected: U256,
        /// Σ endpoints.
        accounted: U256,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Totals for one asset.
#[derive(Debug, Clone)]
pub struct AssetTotals {
    /// The asset.
    pub asset: Asset,
    /// Key in summary.json (the symbol, made unique with the contract if two assets share it).
    pub key: String,
    /// Injected taint.
    pub injected: U256,
    /// Taint per endpoint category (all of [`CATEGORIES`]).
    pub by_category: BTreeMap<&'static str, U256>,
    /// Value spent beyond what the data showed (counted clean, or tainted at seeds).
    pub unexplained: U256,
    /// The dated part of `injected` by day of arrival (opening balances are undated).
    pub injected_by_day: engine::ByDay,
    /// Taint that entered this asset from another one in DEX swaps (`--follow-swaps`);
    /// conservation is injected + swapped_in = Σ endpoints.
    pub swapped_in: U256,
    /// Taint of this asset credited to a DEX and carried on as another asset in a swap (part
    /// of `by_category.defi`).
    pub swapped_out: U256,
}

/// One endpoint row.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The address (None for the fee sink).
    pub address: Option<Address>,
    /// Entity (exchange, mixer … name; the label of an unlabelled-terminal address).
    pub entity: String,
    /// Category.
    pub category: String,
    /// Asset index into [`TraceResult::assets`].
    pub asset: usize,
    /// Tainted amount.
    pub amount: U256,
    /// Fewest hops from a seed.
    pub min_hops: Option<u32>,
    /// First tainted arrival (Unix seconds).
    pub first_time: Option<i64>,
    /// Last tainted arrival.
    pub last_time: Option<i64>,
    /// Node id (NONE for the fee sink); paths come from [`TraceResult::paths`].
    pub node: u32,
    /// The dated part of `amount` by day of arrival (taint held at the end is undated).
    pub by_day: engine::ByDay,
}

/// An inferred link with its evidence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evidence {
    /// Heuristic name.
    pub heuristic: &'static str,
    /// Chain.
    pub chain: String,
    /// The address the inference is about.
    pub address: String,
    /// What it was linked to.
    pub linked_to: String,
    /// Entity named.
    pub entity: String,
    /// Parameters of the heuristic.
    pub parameters: serde_json::Value,
    /// Measured values behind the inference.
    pub measured: serde_json::Value,
    /// 0–1.
    pub confidence: f64,
    /// Transactions that show it.
    pub witness_txs: Vec<String>,
    /// For links the trace can follow (demixing, bridges): whether it did (confidence ≥
    /// `--min-confidence`). Absent for attributions that are not links to follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followed: Option<bool>,
}

/// Everything a trace found; the exporters write it.
#[derive(Debug, Clone)]
pub struct TraceResult {
    /// Configuration used.
    pub config: TraceConfig,
    /// The flow graph replayed.
    pub graph: FlowGraph,
    /// Node roles.
    pub roles: Vec<Role>,
    /// Per asset, by graph asset id.
    pub assets: Vec<AssetTotals>,
    /// Endpoints, sorted.
    pub endpoints: Vec<Endpoint>,
    /// Tainted flows: (flow index, tainted amount, hop), in replay order.
    pub tainted_flows: Vec<(usize, U256, u32)>,
    /// Inferred links.
    pub evidence: Vec<Evidence>,
    /// Injected = Σ endpoints exactly, per asset (conserving models); for poison, true when
    /// Σ endpoints ≥ injected.
    pub conservation_ok: bool,
    /// Poison only: clean value swept in, per asset id (Σ endpoints − injected).
    pub swept_in: Vec<U256>,
    /// Highest hop reached.
    pub hops_max: u32,
    /// Addresses with ledgers.
    pub addresses: usize,
    /// Labels of the nodes (for exports).
    pub node_labels: Vec<Option<Label>>,
    /// Evidence paths.
    pub path_index: paths::PathIndex,
    /// Extra top-level sections of summary.json (`demix`, `swaps`, …), by key.
    pub sections: BTreeMap<String, serde_json::Value>,
    /// Cross-chain edges that carried taint out of bridges (`--follow-bridges`).
    pub cross_chain: Vec<bridges::CrossChainFlow>,
    /// Continuation traces on destination chains, summed (`--follow-bridges`).
    pub continuations: Vec<bridges::Continuation>,
}

impl TraceResult {
    /// The shortest and largest-value paths from a seed to an endpoint, if transfers reach it.
    pub fn paths(&self, e: &Endpoint) -> Option<(Path, Path)> {
        if e.node == NONE {
            return None;
        }
        self.path_index
            .paths(e.node, e.asset as u16, &|i| self.taint_of(i))
    }

    /// Tainted amount of a flow (0 if it carried none).
    pub fn taint_of(&self, flow: usize) -> U256 {
        self.tainted_flows
            .binary_search_by_key(&flow, |x| x.0)
            .map(|k| self.tainted_flows[k].1)
            .unwrap_or_default()
    }
}

/// Run a trace on loaded input. Pure: no I/O.
pub fn run(input: TraceInput, cfg: &TraceConfig) -> Result<TraceResult, TraceError> {
    if cfg.seeds.is_empty() {
        return Err(TraceError::NoSeeds);
    }
    let clock = std::time::Instant::now();
    let TraceInput {
        graph: g,
        labels,
        opening,
        assets: asset_meta,
        utxo: utxo_txs,
        events,
    } = input;
    // roles: seeds, labelled terminals, then deposit addresses among the rest
    let seed_set: HashSet<&Address> = cfg.seeds.iter().collect();
    let mut roles = vec![Role::Plain; g.nodes.len()];
    let mut node_labels: Vec<Option<Label>> = vec![None; g.nodes.len()];
    for (n, addr) in g.nodes.iter().enumerate() {
        if seed_set.contains(addr) {
            roles[n] = Role::Seed;
        }
        let ls = &labels[n];
        node_labels[n] = ls.first().cloned();
        if roles[n] == Role::Seed {
            continue;
        }
        if let Some(t) = terminal_label(ls, &cfg.terminal) {
            roles[n] = Role::Terminal {
                category: t.category.as_str().to_string(),
                entity: entity_of(t),
            };
            node_labels[n] = Some(t.clone());
        } else if let Some(r) = bridges::burn_sink_role(cfg, addr) {
            roles[n] = r;
        }
    }
    let exchange_entity = |n: u32| -> Option<String> {
        match roles.get(n as usize) {
            Some(Role::Terminal { category, entity }) if category == "exchange" => {
                Some(entity.clone())
            }
            _ => None,
        }
    };
    let candidates: Vec<bool> = (0..g.nodes.len())
        .map(|n| roles[n] == Role::Plain && labels[n].is_empty())
        .collect();
    let deposits = match cfg.deposit {
        // UTXO deposit attribution (spent with exchange inputs) is not implemented yet
        Some(p) if cfg.terminal.contains(&Category::Exchange) && utxo_txs.is_none() => {
            deposit::detect(&g, &candidates, &exchange_entity, p)
        }
        _ => Vec::new(),
    };
    tracing::debug!(
        secs = clock.elapsed().as_secs_f64(),
        deposits = deposits.len(),
        "roles and deposit detection"
    );
    let named: Vec<String> = deposits
        .iter()
        .map(|d| exchange_entity(d.wallet).unwrap_or_default())
        .collect();
    let mut evidence = Vec::new();
    for (d, entity) in deposits.iter().zip(named) {
        let p = cfg.deposit.unwrap_or_default();
        evidence.push(deposit_evidence(&g, cfg, p, d, &entity));
        roles[d.node as usize] = Role::Terminal {
            category: "exchange".into(),
            entity,
        };
    }

    let theft: HashSet<u32> = cfg
        .theft_txs
        .iter()
        .filter_map(|h| g.txs.iter().position(|x| x == h).map(|i| i as u32))
        .collect();
    let injection = if !cfg.carried.is_empty() {
        let mut m = std::collections::HashMap::new();
        for c in &cfg.carried {
            let tx = g.txs.iter().position(|x| *x == c.tx);
            if let (Some(tx), Some(n)) = (tx, g.node(&c.to)) {
                *m.entry((tx as u32, n)).or_insert(U256::ZERO) += c.amount;
            }
        }
        Injection::Carried(m)
    } else if cfg.theft_txs.is_empty() {
        Injection::SeedValue
    } else {
        Injection::TheftTxs(theft)
    };
    let min_value = match &cfg.min_value {
        None => Vec::new(),
        Some(s) => {
            let x = Amount::parse_decimal(s, 36)?;
            asset_meta
                .iter()
                .map(|a| {
                    let scale = U256::from(10u8).pow(U256::from(36 - a.decimals.min(36) as u64));
                    // ceil(x / scale): a threshold never rounds down to let dust through
                    (x.0 + scale - U256::from(1u8)) / scale
                })
                .collect()
        }
    };
    let mut sections = BTreeMap::new();
    let mut pools = engine::FastMap::default();
    if cfg.follow.demix && utxo_txs.is_none() {
        let name = |n: u32| match &roles[n as usize] {
            Role::Terminal { entity, .. } => entity.clone(),
            _ => node_labels[n as usize]
                .as_ref()
                .map(entity_of)
                .unwrap_or_else(|| "unlabelled pool".into()),
        };
        let d = demix::plan::plan(&g, &events, &cfg.follow, &name);
        // a pool is a pass-through node now; an unlabelled one still ends as a mixer endpoint
        let unlabelled: Vec<(u32, String)> = d
            .plans
            .keys()
            .filter(|n| !matches!(roles[**n as usize], Role::Terminal { .. }))
            .map(|n| (*n, name(*n)))
            .collect();
        for (node, entity) in unlabelled {
            roles[node as usize] = Role::Terminal {
                category: "mixer".into(),
                entity,
            };
        }
        pools = d.plans;
        evidence.extend(d.evidence);
        sections.insert("demix".to_string(), d.summary);
    }
    let rcfg = ReplayConfig {
        injection,
        max_hops: cfg.max_hops,
        min_value,
        pools,
        swaps: cfg.follow.swaps && utxo_txs.is_none(),
    };
    let o = cfg.opening_block();
    let rep: Replay = match (&utxo_txs, cfg.model) {
        (None, ModelKind::Poison) => engine::replay::<Poison>(&g, &roles, &opening, &rcfg),
        (None, ModelKind::Haircut) => engine::replay::<Haircut>(&g, &roles, &opening, &rcfg),
        (None, ModelKind::Fifo) => engine::replay::<Fifo>(&g, &roles, &opening, &rcfg),
        (None, ModelKind::Lifo) => engine::replay::<Lifo>(&g, &roles, &opening, &rcfg),
        (None, ModelKind::Tiho) => engine::replay::<Tiho>(&g, &roles, &opening, &rcfg),
        (Some(t), m) => {
            // CoinJoins split by the demix rule with --demix (ADR 0003), else by the model
            let mut cj = cfg
                .follow
                .demix
                .then(|| coinjoin::Demixer::new(cfg.chain, &cfg.follow));
            let (d, to) = (cj.as_mut(), cfg.to_block);
            let rep = match m {
                ModelKind::Poison => utxo::replay_demix::<Poison>(&g, t, &roles, &rcfg, o, to, d),
                ModelKind::Haircut => utxo::replay_demix::<Haircut>(&g, t, &roles, &rcfg, o, to, d),
                ModelKind::Fifo => utxo::replay_demix::<Fifo>(&g, t, &roles, &rcfg, o, to, d),
                ModelKind::Lifo => utxo::replay_demix::<Lifo>(&g, t, &roles, &rcfg, o, to, d),
                ModelKind::Tiho => utxo::replay_demix::<Tiho>(&g, t, &roles, &rcfg, o, to, d),
            };
            evidence.extend(cj.map(|c| c.evidence).unwrap_or_default());
            rep
        }
    };
    let mut rep = rep;
    // replay order is flow order already; make the lookups by flow index safe regardless
    if !rep.tainted_flows.is_sorted_by_key(|x| x.0) {
        rep.tainted_flows.sort_by_key(|x| x.0);
    }
    tracing::debug!(secs = clock.elapsed().as_secs_f64(), "replay done");
    let r = assemble(g, roles, node_labels, asset_meta, rep, evidence, cfg);
    tracing::debug!(secs = clock.elapsed().as_secs_f64(), "assembled");
    r.map(|mut r| {
        r.sections = sections;
        r
    })
}

fn assemble(
    g: FlowGraph,
    roles: Vec<Role>,
    node_labels: Vec<Option<Label>>,
    asset_meta: Vec<Asset>,
    rep: Replay,
    evidence: Vec<Evidence>,
    cfg: &TraceConfig,
) -> Result<TraceResult, TraceError> {
    let n_assets = g.assets.len();
    let credited = rep.credited(n_assets);
    let mut assets = Vec::new();
    let mut conservation_ok = true;
    let mut swept_in = vec![U256::ZERO; n_assets];
    let mut violation = None;
    for (i, meta) in asset_meta.iter().enumerate() {
        let mut by_category: BTreeMap<&'static str, U256> =
            CATEGORIES.iter().map(|c| (*c, U256::ZERO)).collect();
        for ((_, cat, a), e) in &rep.endpoints {
            if *a as usize == i {
                *by_category.entry(CATEGORIES[*cat as usize]).or_default() += e.amount;
            }
        }
        let swapped_in = rep.swapped_in.get(i).copied().unwrap_or_default();
        let entered = rep.injected[i] + swapped_in;
        if cfg.model.conserving() {
            if credited[i] != entered {
                conservation_ok = false;
                violation.get_or_insert((meta.symbol.clone(), entered, credited[i]));
            }
        } else {
            swept_in[i] = credited[i].saturating_sub(entered);
            conservation_ok &= credited[i] >= entered;
        }
        assets.push(AssetTotals {
            asset: meta.clone(),
            key: meta.symbol.clone(),
            injected: rep.injected[i],
            by_category,
            unexplained: rep.unexplained[i],
            injected_by_day: rep.injected_by_day.get(i).cloned().unwrap_or_default(),
            swapped_in,
            swapped_out: rep.swapped_out.get(i).copied().unwrap_or_default(),
        });
    }
    // unique keys for assets sharing a symbol
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for a in &assets {
        *seen.entry(a.key.clone()).or_default() += 1;
    }
    for a in &mut assets {
        if seen[&a.key] > 1 {
            if let crate::model::AssetId::Token(c) = a.asset.id {
                a.key = format!("{}:{}", a.key, c.to_checksum(None));
            }
        }
    }
    let mut evidence = evidence;
    for sw in &rep.swaps {
        evidence.push(swap_evidence(&g, &roles, &assets, sw, cfg));
    }
    let seed_flags: Vec<bool> = roles.iter().map(|r| *r == Role::Seed).collect();
    let path_index = paths::PathIndex::build(&g, &rep.tainted_flows, &|n| {
        seed_flags.get(n as usize).copied().unwrap_or(false)
    });
    let mut endpoints: Vec<Endpoint> = rep
        .endpoints
        .iter()
        .map(|((node, cat, a), e)| {
            let (address, entity) = if *node == NONE {
                (None, "fee sink".to_string())
            } else {
                let entity = match &roles[*node as usize] {
                    Role::Terminal { entity, .. } => entity.clone(),
                    _ => node_labels[*node as usize]
                        .as_ref()
                        .map(entity_of)
                        .unwrap_or_default(),
                };
                (Some(g.nodes[*node as usize].clone()), entity)
            };
            Endpoint {
                address,
                entity,
                category: CATEGORIES[*cat as usize].to_string(),
                asset: *a as usize,
                amount: e.amount,
                min_hops: e.min_hops,
                first_time: e.first_time,
                last_time: e.last_time,
                node: *node,
                by_day: e.by_day.clone(),
            }
        })
        .collect();
    let cat_rank = |c: &str| CATEGORIES.iter().position(|x| *x == c).unwrap_or(99);
    // category, asset key, largest amount first, then address: keys computed once per endpoint
    endpoints.sort_by_cached_key(|e| {
        (
            cat_rank(&e.category),
            assets[e.asset].key.clone(),
            std::cmp::Reverse(e.amount),
            e.address.as_ref().map(|x| x.key()),
        )
    });
    let result = TraceResult {
        config: cfg.clone(),
        graph: g,
        roles,
        assets,
        endpoints,
        tainted_flows: rep.tainted_flows,
        evidence,
        conservation_ok,
        swept_in,
        hops_max: rep.hops_max,
        addresses: rep.addresses,
        node_labels,
        path_index,
        sections: BTreeMap::new(),
        cross_chain: Vec::new(),
        continuations: Vec::new(),
    };
    if let Some((asset, injected, accounted)) = violation {
        // outputs are still written by the caller from the error path? No: report it loudly.
        tracing::error!(%asset, %injected, %accounted, "conservation violated");
    }
    Ok(result)
}

/// The label that makes an address terminal: among labels in `terminal` categories, the most
/// confident; on a tie, the more specific entity type (mixer, bridge, exchange, defi, then
/// sanctioned, which is a status rather than an entity type).
pub fn terminal_label<'a>(labels: &'a [Label], terminal: &[Category]) -> Option<&'a Label> {
    let rank = |c: Category| match c {
        Category::Mixer => 0,
        Category::Bridge => 1,
        Category::Exchange => 2,
        Category::Defi => 3,
        Category::Gambling => 4,
        Category::Sanctioned => 5,
        _ => 6,
    };
    labels
        .iter()
        .filter(|l| terminal.contains(&l.category))
        .min_by_key(|l| (std::cmp::Reverse(l.confidence), rank(l.category)))
}

/// The entity a label names: its actor, else its label text.
pub fn entity_of(l: &Label) -> String {
    l.actor
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| l.label.clone())
}

fn deposit_evidence(
    g: &FlowGraph,
    cfg: &TraceConfig,
    p: DepositParams,
    d: &DepositAddress,
    entity: &str,
) -> Evidence {
    let share = if d.received.is_zero() {
        0.0
    } else {
        // ratio of two exact amounts, as a float for display only
        let s: f64 = d.swept.to_string().parse().unwrap_or(0.0);
        let r: f64 = d.received.to_string().parse().unwrap_or(1.0);
        s / r
    };
    Evidence {
        heuristic: "exchange_deposit_address",
        chain: cfg.chain.to_string(),
        address: g.nodes[d.node as usize].to_string(),
        linked_to: g.nodes[d.wallet as usize].to_string(),
        entity: entity.to_string(),
        parameters: serde_json::json!({
            "min_share_pct": p.min_share_pct,
            "window_secs": p.window_secs,
        }),
        measured: serde_json::json!({
            "asset": g.assets[d.asset as usize].to_string(),
            "received": d.received.to_string(),
            "swept_within_window": d.swept.to_string(),
            "share": (share * 10000.0).round() / 10000.0,
        }),
        confidence: (0.9 * share.min(1.0) * 1000.0).round() / 1000.0,
        witness_txs: d
            .sweep_txs
            .iter()
            .map(|t| g.txs[*t as usize].display(cfg.chain))
            .collect(),
        followed: None,
    }
}

/// The evidence line of a swap the taint crossed (or an ambiguous one it did not).
fn swap_evidence(
    g: &FlowGraph,
    roles: &[Role],
    assets: &[AssetTotals],
    sw: &engine::SwapRecord,
    cfg: &TraceConfig,
) -> Evidence {
    let f = &g.flows;
    let name = |n: u32| {
        if n == NONE {
            String::new()
        } else {
            g.nodes[n as usize].to_string()
        }
    };
    let dec = |a: u16, v: U256| {
        let m = &assets[a as usize].asset;
        crate::model::Amount(v).to_decimal(m.decimals)
    };
    let first = &f[sw.swap.inputs[0]];
    let dex = sw
        .swap
        .inputs
        .iter()
        .map(|&k| f[k].to)
        .next()
        .unwrap_or(NONE);
    let entity = match roles.get(dex as usize) {
        Some(Role::Terminal { entity, .. }) => entity.clone(),
        _ => String::new(),
    };
    let outputs: Vec<serde_json::Value> = sw
        .swap
        .outputs
        .iter()
        .zip(&sw.outputs)
        .map(|(&o, t)| {
            serde_json::json!({
                "to": name(f[o].to),
                "asset": assets[f[o].asset as usize].key,
                "amount": dec(f[o].asset, f[o].amount),
                "tainted": dec(f[o].asset, *t),
            })
        })
        .collect();
    let to = sw
        .swap
        .outputs
        .first()
        .map(|&o| name(f[o].to))
        .unwrap_or_default();
    Evidence {
        heuristic: "dex_swap",
        chain: cfg.chain.to_string(),
        address: name(first.from),
        linked_to: to,
        entity,
        parameters: serde_json::json!({
            "rule": "every output of the swap carries the inputs' tainted share: floor(output × tainted input / input)",
        }),
        measured: serde_json::json!({
            "input_asset": assets[first.asset as usize].key,
            "input_amount": dec(first.asset, sw.input.0),
            "input_tainted": dec(first.asset, sw.input.1),
            "outputs": outputs,
            "ambiguous": sw.swap.ambiguous.then_some("inputs of several assets: not followed"),
        }),
        confidence: if sw.swap.ambiguous { 0.0 } else { 1.0 },
        witness_txs: vec![g.txs[sw.swap.tx as usize].display(cfg.chain)],
        followed: Some(!sw.swap.ambiguous),
    }
}
