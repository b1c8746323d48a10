//! Bitcoin address clustering: the multi-input (common-input-ownership) heuristic over a
//! union-find, CoinJoins excluded ([`coinjoin`]), and change-address merging ([`change`]).
//! Every merge records its evidence — heuristic, transaction, the two addresses it linked — so
//! [`Clustering::explain`] can show why two addresses are in one cluster (`moneytrail cluster
//! explain ADDR`).
//!
//! Rules, per transaction in time order (coinbases skipped):
//! - A CoinJoin (Whirlpool, Wasabi 1/2, JoinMarket) merges nothing and has no change.
//! - Otherwise all input addresses are merged (`multi_input`, confidence 0.95 — the payer holds
//!   every input key; CoinJoins are the known exception, PayJoin an undetectable one).
//! - With change merging on (default), the guessed change address is merged into the inputs'
//!   cluster when the combined confidence is at least `min_change_confidence` (default 0.7:
//!   one heuristic alone rarely suffices, two agreeing do). Whirlpool Tx0s get no change guess.

pub mod change;
pub mod coinjoin;
pub mod unionfind;

use std::collections::{HashMap, VecDeque};

use crate::model::{Address, OutPoint, TxHash};
use crate::store::StoredUtxoTx;
pub use change::{ChangeContext, ChangeGuess, ChangeHeuristic};
pub use coinjoin::{CoinJoin, CoinJoinKind, CoinJoinParams};
pub use unionfind::UnionFind;

/// Script type of an output (or of the output an input spends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptKind {
    /// Pay to public key hash.
    P2pkh,
    /// Pay to script hash.
    P2sh,
    /// SegWit v0 key hash.
    P2wpkh,
    /// SegWit v0 script hash.
    P2wsh,
    /// Taproot.
    P2tr,
    /// OP_RETURN (unspendable).
    OpReturn,
    /// Anything else.
    Other,
}

impl ScriptKind {
    /// From script bytes.
    pub fn of_script(s: &[u8]) -> ScriptKind {
        let s = bitcoin::Script::from_bytes(s);
        if s.is_p2pkh() {
            ScriptKind::P2pkh
        } else if s.is_p2sh() {
            ScriptKind::P2sh
        } else if s.is_p2wpkh() {
            ScriptKind::P2wpkh
        } else if s.is_p2wsh() {
            ScriptKind::P2wsh
        } else if s.is_p2tr() {
            ScriptKind::P2tr
        } else if s.is_op_return() {
            ScriptKind::OpReturn
        } else {
            ScriptKind::Other
        }
    }

    /// From an address.
    pub fn of_address(a: &Address) -> ScriptKind {
        use bitcoin::AddressType as T;
        let Address::Bitcoin { text, .. } = a else {
            return ScriptKind::Other;
        };
        let parsed: Option<bitcoin::Address<bitcoin::address::NetworkUnchecked>> =
            text.parse().ok();
        match parsed.and_then(|p| p.assume_checked().address_type()) {
            Some(T::P2pkh) => ScriptKind::P2pkh,
            Some(T::P2sh) => ScriptKind::P2sh,
            Some(T::P2wpkh) => ScriptKind::P2wpkh,
            Some(T::P2wsh) => ScriptKind::P2wsh,
            Some(T::P2tr) => ScriptKind::P2tr,
            _ => ScriptKind::Other,
        }
    }
}

/// An input as the heuristics see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InView {
    /// Address id, if the spent output has an address.
    pub address: Option<u32>,
    /// Value spent, sats.
    pub value: u64,
    /// Script type of the spent output.
    pub kind: ScriptKind,
}

/// An output as the heuristics see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutView {
    /// Address id, if any.
    pub address: Option<u32>,
    /// Value, sats.
    pub value: u64,
    /// Script type.
    pub kind: ScriptKind,
}

impl OutView {
    /// Can be spent and carries value (not OP_RETURN, not zero).
    pub fn spendable(&self) -> bool {
        self.value > 0 && self.kind != ScriptKind::OpReturn
    }
}

/// A transaction as the heuristics see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxView {
    /// Inputs.
    pub inputs: Vec<InView>,
    /// Outputs.
    pub outputs: Vec<OutView>,
}

/// Why two addresses were merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Heuristic {
    /// Inputs of one (non-CoinJoin) transaction.
    MultiInput,
    /// A change output and the inputs of its transaction.
    Change,
}

/// One merge: `a` and `b` (address ids) linked by `heuristic` in transaction `tx` (ordinal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    /// An address.
    pub a: u32,
    /// The other.
    pub b: u32,
    /// Transaction ordinal (index into the clustering's transaction list).
    pub tx: u32,
    /// Why.
    pub heuristic: Heuristic,
}

/// The union-find with its evidence, over dense address ids: what [`Clustering`] builds on
/// (and what the benchmark measures). 4 bytes an address plus 16 bytes a successful merge.
#[derive(Debug, Clone, Default)]
pub struct Merger {
    /// The sets.
    pub uf: UnionFind,
    /// One record per union that joined two sets.
    pub merges: Vec<Merge>,
}

impl Merger {
    /// `n` addresses, each alone.
    pub fn new(n: usize) -> Merger {
        Merger {
            uf: UnionFind::new(n),
            merges: Vec::new(),
        }
    }

    /// Link `a` and `b`; records the evidence and returns `true` when they were apart.
    #[inline]
    pub fn link(&mut self, a: u32, b: u32, tx: u32, heuristic: Heuristic) -> bool {
        let joined = self.uf.union(a, b);
        if joined {
            self.merges.push(Merge {
                a,
                b,
                tx,
                heuristic,
            });
        }
        joined
    }

    /// The multi-input heuristic on one transaction's input address ids: each joined to the
    /// first. Returns the merges made.
    #[inline]
    pub fn merge_inputs(&mut self, ids: &[u32], tx: u32) -> usize {
        let Some((&first, rest)) = ids.split_first() else {
            return 0;
        };
        rest.iter()
            .filter(|&&b| self.link(first, b, tx, Heuristic::MultiInput))
            .count()
    }

    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.uf.heap_bytes() + self.merges.capacity() * std::mem::size_of::<Merge>()
    }
}

/// Options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterConfig {
    /// Merge guessed change addresses.
    pub change: bool,
    /// Least combined confidence for a change merge.
    pub min_change_confidence: f64,
    /// CoinJoin detector parameters.
    pub coinjoin: CoinJoinParams,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            change: true,
            min_change_confidence: 0.7,
            coinjoin: CoinJoinParams::default(),
        }
    }
}

/// One link of an explanation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    /// From this address…
    pub from: String,
    /// …to this one.
    pub to: String,
    /// By this heuristic.
    pub heuristic: Heuristic,
    /// In this transaction.
    pub tx: String,
    /// Change heuristics and confidence, for a change merge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeGuess>,
    /// Confidence of the link.
    pub confidence: f64,
}

/// Why an address is where it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// The address asked about.
    pub address: String,
    /// Its cluster's size.
    pub cluster_size: u32,
    /// Members of the cluster with the evidence path from the address to each (BFS order).
    pub members: Vec<(String, Vec<Step>)>,
    /// CoinJoins the address took part in as an input (not merged).
    pub coinjoins: Vec<(String, CoinJoin)>,
}

/// Clusters of the addresses of a set of transactions.
pub struct Clustering {
    addresses: Vec<Address>,
    index: HashMap<Address, u32>,
    first_seen: Vec<u32>,
    kinds: Vec<ScriptKind>,
    m: Merger,
    txids: Vec<TxHash>,
    changes: HashMap<u32, ChangeGuess>,
    /// CoinJoins (and Tx0s) found: transaction ordinal and shape.
    pub coinjoins: Vec<(u32, CoinJoin)>,
    cj_inputs: HashMap<u32, Vec<u32>>,
}

struct Ctx<'a> {
    tx: u32,
    first_seen: &'a [u32],
    shapes: Vec<Option<(usize, usize)>>,
}

impl ChangeContext for Ctx<'_> {
    fn is_fresh(&self, a: u32) -> bool {
        self.first_seen.get(a as usize) == Some(&self.tx)
    }
    fn spender_shape(&self, vout: u32) -> Option<(usize, usize)> {
        self.shapes.get(vout as usize).copied().flatten()
    }
}

impl Clustering {
    /// The id of `a` (new ids get `kind`, computed once per address).
    fn intern(&mut self, a: &Address, tx: u32, kind: impl FnOnce() -> ScriptKind) -> u32 {
        if let Some(i) = self.index.get(a) {
            return *i;
        }
        let id = self.m.uf.push();
        self.addresses.push(a.clone());
        self.index.insert(a.clone(), id);
        self.first_seen.push(tx);
        self.kinds.push(kind());
        id
    }

    /// Cluster `txs` (any order; they are taken in time order).
    pub fn build(txs: &[StoredUtxoTx], cfg: &ClusterConfig) -> Clustering {
        let mut order: Vec<&StoredUtxoTx> = txs.iter().collect();
        order.sort_by_key(|t| (t.block, t.tx_index, t.txid));
        let mut spender: HashMap<OutPoint, usize> = HashMap::new();
        for (i, t) in order.iter().enumerate() {
            for inp in &t.inputs {
                if let Some(p) = inp.prevout {
                    spender.insert(p, i);
                }
            }
        }
        let mut c = Clustering {
            addresses: Vec::new(),
            index: HashMap::new(),
            first_seen: Vec::new(),
            kinds: Vec::new(),
            m: Merger::default(),
            txids: order.iter().map(|t| t.txid).collect(),
            changes: HashMap::new(),
            coinjoins: Vec::new(),
            cj_inputs: HashMap::new(),
        };
        for (k, t) in order.iter().enumerate() {
            let k = k as u32;
            let inputs: Vec<InView> = t
                .inputs
                .iter()
                .map(|i| {
                    let address = i
                        .address
                        .as_ref()
                        .map(|a| c.intern(a, k, || ScriptKind::of_address(a)));
                    InView {
                        address,
                        value: i.value,
                        kind: address.map_or(ScriptKind::Other, |x| c.kinds[x as usize]),
                    }
                })
                .collect();
            let outputs: Vec<OutView> = t
                .outputs
                .iter()
                .map(|o| {
                    let kind = ScriptKind::of_script(&o.script_pubkey);
                    OutView {
                        address: o.address.as_ref().map(|a| c.intern(a, k, || kind)),
                        value: o.value,
                        kind,
                    }
                })
                .collect();
            if t.is_coinbase() {
                continue;
            }
            let view = TxView { inputs, outputs };
            let cj = coinjoin::detect(&view, &cfg.coinjoin);
            if let Some(j) = cj {
                c.coinjoins.push((k, j));
                if j.kind.is_coinjoin() {
                    for a in view.inputs.iter().filter_map(|i| i.address) {
                        c.cj_inputs.entry(a).or_default().push(k);
                    }
                    continue;
                }
            }
            let mut first: Option<u32> = None;
            for a in view.inputs.iter().filter_map(|i| i.address) {
                match first {
                    None => first = Some(a),
                    Some(f) => c.add(f, a, k, Heuristic::MultiInput),
                }
            }
            if !cfg.change || cj.is_some() {
                continue;
            }
            let shapes = t
                .outputs
                .iter()
                .map(|o| {
                    spender
                        .get(&o.outpoint)
                        .map(|s| (order[*s].inputs.len(), order[*s].outputs.len()))
                })
                .collect();
            let ctx = Ctx {
                tx: k,
                first_seen: &c.first_seen,
                shapes,
            };
            if let Some(g) = change::guess(&view, &ctx) {
                if let (Some(v), Some(f)) = (g.vout, first) {
                    if g.confidence >= cfg.min_change_confidence {
                        if let Some(a) = view.outputs[v as usize].address {
                            c.add(f, a, k, Heuristic::Change);
                        }
                    }
                }
                c.changes.insert(k, g);
            }
        }
        c
    }

    /// Merge `a` and `b`, recording the evidence when they were apart.
    pub fn add(&mut self, a: u32, b: u32, tx: u32, heuristic: Heuristic) {
        self.m.link(a, b, tx, heuristic);
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    /// True without addresses.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// The recorded merges (one per union that joined two clusters).
    pub fn merges(&self) -> &[Merge] {
        &self.m.merges
    }

    /// The change guess of a transaction, if one was made.
    pub fn change_of(&self, txid: TxHash) -> Option<&ChangeGuess> {
        let k = self.txids.iter().position(|t| *t == txid)? as u32;
        self.changes.get(&k)
    }

    /// The CoinJoin shape of a transaction, if any.
    pub fn coinjoin_of(&self, txid: TxHash) -> Option<CoinJoin> {
        let k = self.txids.iter().position(|t| *t == txid)? as u32;
        self.coinjoins
            .iter()
            .find(|(t, _)| *t == k)
            .map(|(_, j)| *j)
    }

    /// True when both addresses are known and in one cluster.
    pub fn same(&mut self, a: &Address, b: &Address) -> bool {
        match (self.index.get(a).copied(), self.index.get(b).copied()) {
            (Some(x), Some(y)) => self.m.uf.find(x) == self.m.uf.find(y),
            _ => false,
        }
    }

    /// The members of `a`'s cluster (just `a` if unknown).
    pub fn cluster_of(&mut self, a: &Address) -> Vec<Address> {
        let Some(x) = self.index.get(a).copied() else {
            return vec![a.clone()];
        };
        let r = self.m.uf.find(x);
        (0..self.addresses.len() as u32)
            .filter(|i| self.m.uf.find(*i) == r)
            .map(|i| self.addresses[i as usize].clone())
            .collect()
    }

    fn step(&self, from: u32, m: &Merge) -> Step {
        let to = if m.a == from { m.b } else { m.a };
        let change = (m.heuristic == Heuristic::Change)
            .then(|| self.changes.get(&m.tx).cloned())
            .flatten();
        Step {
            from: self.addresses[from as usize].to_string(),
            to: self.addresses[to as usize].to_string(),
            heuristic: m.heuristic,
            tx: format!("{:x}", self.txids[m.tx as usize].0),
            confidence: change.as_ref().map_or(0.95, |c| c.confidence),
            change,
        }
    }

    /// Why `a` is with each member of its cluster: the chain of merges from `a` to it.
    /// `None` when the address is not in any clustered transaction.
    pub fn explain(&self, a: &Address) -> Option<Explanation> {
        let start = *self.index.get(a)?;
        let mut adj: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, m) in self.m.merges.iter().enumerate() {
            adj.entry(m.a).or_default().push(i);
            adj.entry(m.b).or_default().push(i);
        }
        let mut path: HashMap<u32, Vec<Step>> = HashMap::from([(start, Vec::new())]);
        let mut order = vec![start];
        let mut queue = VecDeque::from([start]);
        while let Some(x) = queue.pop_front() {
            for &mi in adj.get(&x).into_iter().flatten() {
                let m = &self.m.merges[mi];
                let y = if m.a == x { m.b } else { m.a };
                if path.contains_key(&y) {
                    continue;
                }
                let mut p = path[&x].clone();
                p.push(self.step(x, m));
                path.insert(y, p);
                order.push(y);
                queue.push_back(y);
            }
        }
        let coinjoins = self
            .cj_inputs
            .get(&start)
            .into_iter()
            .flatten()
            .filter_map(|k| {
                let j = self.coinjoins.iter().find(|(t, _)| t == k)?.1;
                Some((format!("{:x}", self.txids[*k as usize].0), j))
            })
            .collect();
        Some(Explanation {
            address: a.to_string(),
            cluster_size: order.len() as u32,
            members: order
                .into_iter()
                .map(|i| {
                    (
                        self.addresses[i as usize].to_string(),
                        path.remove(&i).unwrap_or_default(),
                    )
                })
                .collect(),
            coinjoins,
        })
    }
}
