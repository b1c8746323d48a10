//! The frontier's configuration, its report, and the rules deciding which outputs are followed.

use std::collections::{HashMap, HashSet};

use crate::fetch::FetchError;
use crate::fetch::frontier::{StopReason, Stopped};
use crate::model::{Address, Chain, TxOutput};
use crate::store::Store;

/// How far the Bitcoin frontier goes.
#[derive(Debug, Clone)]
pub struct UtxoFrontierConfig {
    /// Hops to follow (0: the seeds' own transactions only).
    pub hops: u32,
    /// bitcoind scan: first block (required there); Esplora: ignored (histories are whole).
    pub from_block: Option<u64>,
    /// bitcoind scan: last block (default: the node's tip).
    pub to_block: Option<u64>,
    /// Most new transactions to fetch in one run (followed spends beyond are reported).
    pub max_txs: usize,
    /// bitcoind scan: blocks read per batch (and per checkpoint).
    pub blocks_per_batch: u64,
    /// Show the progress line on stderr.
    pub progress: bool,
}

impl Default for UtxoFrontierConfig {
    fn default() -> Self {
        UtxoFrontierConfig {
            hops: 2,
            from_block: None,
            to_block: None,
            max_txs: 10_000,
            blocks_per_batch: 10,
            progress: true,
        }
    }
}

/// What a Bitcoin frontier run did (`moneytrail fetch --chain bitcoin --format json`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct UtxoFrontierReport {
    /// Chain.
    pub chain: String,
    /// Source id (no credentials).
    pub source: String,
    /// Seeds.
    pub seeds: Vec<String>,
    /// Hops followed.
    pub hops: u32,
    /// Newest block considered (the safe tip, or the scan's last block).
    pub to_block: u64,
    /// bitcoind scan: first block.
    pub from_block: Option<u64>,
    /// Transactions reached per hop (index = hop; 0: transactions that only pay seeds).
    pub txs_per_hop: Vec<u64>,
    /// Transactions newly stored in this run.
    pub txs_stored: u64,
    /// Transactions needed that were already in the store.
    pub txs_known: u64,
    /// Outputs followed to their spend.
    pub outputs_followed: u64,
    /// Followed outputs still unspent (as of `to_block`).
    pub outputs_unspent: u64,
    /// Outputs of hop N + 1, stored but not followed.
    pub outputs_beyond_hops: u64,
    /// Addresses not followed, with the reason (terminal labels; beyond --hops).
    pub stopped: Vec<Stopped>,
    /// `max_txs` was reached: some spends were not fetched.
    pub truncated: bool,
    /// History pages (Esplora) or blocks (bitcoind) read.
    pub pages: u64,
    /// HTTP requests sent during the run (0 if no stats given).
    pub requests: u64,
    /// Wall time, seconds.
    pub elapsed_secs: f64,
}

impl UtxoFrontierReport {
    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let scan = self
            .from_block
            .map(|f| format!(" (blocks scanned from {f})"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "followed {} seed(s) on {} from {} for {} hop(s), up to block {}{scan}",
            self.seeds.len(),
            self.chain,
            self.source,
            self.hops,
            self.to_block,
        );
        let per: Vec<String> = self
            .txs_per_hop
            .iter()
            .enumerate()
            .map(|(h, n)| format!("hop {h}: {n}"))
            .collect();
        let _ = writeln!(s, "  transactions {}", per.join(" · "));
        let _ = writeln!(
            s,
            "  transactions: {} new, {} already stored · outputs followed {} ({} unspent, {} beyond --hops) · {} pages/blocks · {} requests in {:.1} s",
            self.txs_stored,
            self.txs_known,
            self.outputs_followed,
            self.outputs_unspent,
            self.outputs_beyond_hops,
            self.pages,
            self.requests,
            self.elapsed_secs
        );
        if self.truncated {
            let _ = writeln!(s, "  stopped early: --max-txs reached");
        }
        for st in &self.stopped {
            let why = match &st.reason {
                StopReason::Terminal { category, label } => {
                    format!("terminal {category} \"{label}\"")
                }
                StopReason::HopLimit { hops } => format!("beyond --hops {hops}"),
                other => format!("{other:?}"),
            };
            let _ = writeln!(s, "  {} (hop {}): {why}", st.address, st.hop);
        }
        s
    }

    pub(super) fn count_tx(&mut self, hop: u32) {
        let h = hop as usize;
        if self.txs_per_hop.len() <= h {
            self.txs_per_hop.resize(h + 1, 0);
        }
        self.txs_per_hop[h] += 1;
    }
}

/// Decides which outputs are followed, and records why others are not.
pub(super) struct Rules {
    pub(super) hops: u32,
    pub(super) seeds: HashSet<String>,
    pub(super) terminal: HashMap<String, Option<StopReason>>,
    pub(super) seen: HashSet<(String, bool)>,
    pub(super) stopped: Vec<Stopped>,
    pub(super) beyond: u64,
}

impl Rules {
    pub(super) fn new(seeds: &[Address], hops: u32) -> Rules {
        Rules {
            hops,
            seeds: seeds.iter().map(Address::key).collect(),
            terminal: HashMap::new(),
            seen: HashSet::new(),
            stopped: Vec::new(),
            beyond: 0,
        }
    }

    pub(super) fn is_seed(&self, o: &TxOutput) -> bool {
        o.address
            .as_ref()
            .is_some_and(|a| self.seeds.contains(&a.key()))
    }

    /// The hop of an output of a transaction whose inputs' smallest followed hop is `in_hop`
    /// (`None`: no followed input); `None` when the output is not on a followed path.
    pub(super) fn hop_of(&self, o: &TxOutput, in_hop: Option<u32>) -> Option<u32> {
        if self.is_seed(o) {
            Some(0)
        } else {
            in_hop.map(|h| h + 1)
        }
    }

    fn stop(&mut self, a: &Address, hop: u32, reason: StopReason) {
        let terminal = matches!(reason, StopReason::Terminal { .. });
        if self.seen.insert((a.key(), terminal)) {
            self.stopped.push(Stopped {
                address: a.to_string(),
                hop,
                reason,
            });
        }
    }

    /// Whether an output of hop `hop` is followed to its spend.
    pub(super) fn follow(
        &mut self,
        store: &Store,
        o: &TxOutput,
        hop: u32,
    ) -> Result<bool, FetchError> {
        if o.value == 0 || bitcoin::Script::from_bytes(&o.script_pubkey).is_op_return() {
            return Ok(false);
        }
        if hop > self.hops {
            self.beyond += 1;
            if let Some(a) = &o.address {
                self.stop(a, hop, StopReason::HopLimit { hops: self.hops });
            }
            return Ok(false);
        }
        let Some(a) = o.address.as_ref().filter(|_| !self.is_seed(o)) else {
            return Ok(true);
        };
        let key = a.key();
        let t = match self.terminal.get(&key) {
            Some(t) => t.clone(),
            None => {
                let t = store
                    .labels_of(a)?
                    .into_iter()
                    .find(|(l, _)| l.category.is_terminal())
                    .map(|(l, _)| StopReason::Terminal {
                        category: l.category.as_str().to_string(),
                        label: l.label,
                    });
                self.terminal.insert(key, t.clone());
                t
            }
        };
        match t {
            Some(stop) => {
                self.stop(a, hop, stop);
                Ok(false)
            }
            None => Ok(true),
        }
    }
}

pub(super) fn check_seeds(chain: Chain, seeds: &[Address]) -> Result<(), FetchError> {
    if seeds.is_empty() {
        return Err(FetchError::BadInput("no seed addresses given".into()));
    }
    for s in seeds {
        let ok = matches!((s, chain), (Address::Bitcoin { network, .. }, Chain::Bitcoin(n)) if *network == n);
        if !ok {
            return Err(FetchError::BadInput(format!(
                "seed {s} is not an address on {chain}"
            )));
        }
    }
    Ok(())
}
