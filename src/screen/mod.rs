//! Deposit screening: is an address (or the receivers of a transaction) connected to a theft or
//! a sanctioned entity, how much, how many hops away, and by which path?
//!
//! - [`index`]: the screening index built from trace outputs and the store's labels, persisted
//!   in the store, loaded into one hash map.
//! - [`score`]: the risk rule (0–10).
//! - [`input`]: parsing of what users send (addresses, tx hashes, request bodies); never panics.
//! - [`service`]: the HTTP service (`moneytrail serve`).
//!
//! An address nothing is known about is not an error: it screens as risk 0, `known: false`.

pub mod index;
pub mod input;
pub mod score;
pub mod service;

use std::fmt;

pub use index::{IndexData, ScreenIndex, TraceRef};
pub use input::{InputError, Item, parse_item};

use crate::model::{Address, Category, Chain};

/// A screening failure that is not the user's input.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    /// A trace output directory is missing a file or holds a malformed one.
    #[error("trace output {path}: {detail}")]
    Trace {
        /// The file.
        path: String,
        /// What was wrong.
        detail: String,
    },
    /// A persisted index record does not parse (the table was edited or is corrupt).
    #[error("corrupt screening index record: {0}")]
    Record(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<rusqlite::Error> for ScreenError {
    fn from(e: rusqlite::Error) -> Self {
        ScreenError::Store(e.into())
    }
}

/// Taint one indexed trace found at an address, in one asset.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Exposure {
    /// Category of the source: `theft` (the trace's seeds).
    pub category: String,
    /// Incident id of the trace.
    pub incident: String,
    /// Taint model of the trace.
    pub model: String,
    /// Asset key as in summary.json (`ETH`, `USDC` …).
    pub asset: String,
    /// Tainted amount received, decimal in the asset's units.
    pub amount: String,
    /// Everything the address received in that asset in the store's data, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<String>,
    /// amount / received (0–1, rounded to 6 places), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// Fewest transfers from a seed.
    pub hops: u32,
    /// The endpoint category the trace credited here (exchange, mixer, unspent …), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The entity the trace named (e.g. the exchange of a deposit address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
}

/// Everything the indexed traces found at one (chain, address).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Taint {
    /// Chain (not in the persisted record: a column of its own).
    #[serde(skip, default = "default_chain")]
    pub chain: Chain,
    /// Fewest transfers from a seed over all traces (0 for a seed).
    pub hops: u32,
    /// A seed (theft address) of an indexed trace.
    #[serde(default)]
    pub seed: bool,
    /// The shortest evidence path from a seed: tx hashes in order.
    #[serde(default)]
    pub path: Vec<String>,
    /// Per trace and asset.
    #[serde(default)]
    pub exposure: Vec<Exposure>,
}

fn default_chain() -> Chain {
    Chain::ETHEREUM
}

/// A label as screening reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LabelBrief {
    /// Chain the label was given for.
    pub chain: Chain,
    /// Label text.
    pub label: String,
    /// Category.
    pub category: Category,
    /// Entity / actor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Source of the attribution.
    pub source: String,
    /// 0–100.
    pub confidence: u8,
    /// File it was imported from (`builtin:…` for the embedded catalog).
    pub origin: String,
}

/// The answer for one screened address.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScreenResult<'a> {
    /// The input as given.
    pub input: &'a str,
    /// For a transaction input: its hash (the address is one of its receivers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
    /// Chain screened.
    pub chain: Chain,
    /// The address (EIP-55 for EVM); null for a transaction with no stored receivers.
    #[serde(serialize_with = "ser_opt_display")]
    pub address: Option<Address>,
    /// Whether the index knows anything about the address (labels or taint).
    pub known: bool,
    /// 0–10 ([`score`]).
    pub risk: u8,
    /// A sanctioned label.
    pub sanctioned: bool,
    /// Fewest transfers from a theft seed (0 = a seed), null when no trace reached it.
    pub hops: Option<u32>,
    /// Shortest evidence path from a seed (tx hashes).
    pub path: &'a [String],
    /// Taint per source category, incident and asset.
    pub exposure: Vec<&'a Exposure>,
    /// Labels.
    pub labels: &'a [LabelBrief],
    /// The index version the answer came from.
    pub index_version: &'a str,
}

fn ser_opt_display<S: serde::Serializer, T: fmt::Display>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

impl ScreenIndex {
    /// Screen one address. `chain`: only taint found on that chain counts (labels of an EVM
    /// address count on every EVM chain); `None`: any chain of the address's family.
    pub fn screen<'a>(
        &'a self,
        input: &'a str,
        chain: Option<Chain>,
        address: &Address,
    ) -> ScreenResult<'a> {
        let default_chain = match address {
            Address::Evm(_) => Chain::ETHEREUM,
            Address::Bitcoin { network, .. } => Chain::Bitcoin(*network),
        };
        let Some(node) = self.node(address) else {
            return ScreenResult {
                input,
                tx: None,
                chain: chain.unwrap_or(default_chain),
                address: Some(address.clone()),
                known: false,
                risk: 0,
                sanctioned: false,
                hops: None,
                path: &[],
                exposure: Vec::new(),
                labels: &[],
                index_version: self.version(),
            };
        };
        let matches = |t: &&Taint| chain.is_none_or(|c| c == t.chain);
        let best = node.taint.iter().filter(matches).min_by_key(|t| t.hops);
        let exposure: Vec<&Exposure> = node
            .taint
            .iter()
            .filter(matches)
            .flat_map(|t| t.exposure.iter())
            .collect();
        let risk = score::risk(&node.labels, node.taint.iter().filter(matches));
        let known = !node.labels.is_empty() || best.is_some();
        ScreenResult {
            input,
            tx: None,
            chain: chain.or(best.map(|t| t.chain)).unwrap_or(default_chain),
            address: Some(address.clone()),
            known,
            risk,
            sanctioned: node.labels.iter().any(LabelBrief::is_sanctioned),
            hops: best.map(|t| t.hops),
            path: best.map(|t| t.path.as_slice()).unwrap_or(&[]),
            exposure,
            labels: &node.labels,
            index_version: self.version(),
        }
    }

    /// The risk of an address alone (the hot path of the lookup benchmark): `None` when
    /// unknown.
    pub fn risk_of(&self, chain: Option<Chain>, address: &Address) -> Option<u8> {
        let node = self.node(address)?;
        Some(score::risk(
            &node.labels,
            node.taint
                .iter()
                .filter(|t| chain.is_none_or(|c| c == t.chain)),
        ))
    }

    /// The answer for a transaction none of whose receivers is stored.
    pub fn unknown_tx<'a>(
        &'a self,
        input: &'a str,
        chain: Option<Chain>,
        tx: String,
    ) -> ScreenResult<'a> {
        ScreenResult {
            input,
            tx: Some(tx),
            chain: chain.unwrap_or(Chain::ETHEREUM),
            address: None,
            known: false,
            risk: 0,
            sanctioned: false,
            hops: None,
            path: &[],
            exposure: Vec::new(),
            labels: &[],
            index_version: self.version(),
        }
    }
}

/// Screen parsed items (input text, item): an address gives one result; a transaction gives one
/// result per receiving address of its stored transfers (read from `store`), or one unknown
/// result when none is stored (or no store is given).
pub fn screen_items<'a>(
    index: &'a ScreenIndex,
    items: &'a [(String, Item)],
    store: Option<&crate::store::Store>,
) -> Result<Vec<ScreenResult<'a>>, ScreenError> {
    let mut out = Vec::with_capacity(items.len());
    for (text, item) in items {
        match item {
            Item::Address { chain, address } => out.push(index.screen(text, *chain, address)),
            Item::Tx { chain, hash } => {
                let receivers = match store {
                    Some(s) => index::tx_receivers(s, *chain, hash)?,
                    None => Vec::new(),
                };
                let shown = hash.display(chain.unwrap_or(Chain::ETHEREUM));
                if receivers.is_empty() {
                    out.push(index.unknown_tx(text, *chain, shown));
                    continue;
                }
                for (c, a) in receivers {
                    let mut r = index.screen(text, Some(c), &a);
                    r.tx = Some(hash.display(c));
                    out.push(r);
                }
            }
        }
    }
    Ok(out)
}

impl From<rusqlite::types::FromSqlError> for ScreenError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        ScreenError::Record(e.to_string())
    }
}
