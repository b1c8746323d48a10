//! The frontier's report ([`FrontierReport`]: `fetch --format json`, `fetch.json`) and its
//! terminal summary.

use super::Window;
use crate::fetch::events::pools::PoolReport;

/// Why the frontier did not expand (or stopped following) an address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// A terminal entity by its label.
    Terminal {
        /// Label category.
        category: String,
        /// Label text.
        label: String,
    },
    /// Beyond `--hops`.
    HopLimit {
        /// The limit.
        hops: u32,
    },
    /// Beyond `--max-addresses`.
    MaxAddresses {
        /// The limit.
        max: usize,
    },
    /// More transfers than the service threshold: fetched only up to there, not followed.
    Service {
        /// Transfers seen in the window.
        degree: u64,
        /// The threshold.
        threshold: u64,
    },
    /// Reached only by outflows below `--min-value`.
    Dust,
}

/// An address the frontier fetched.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Expanded {
    /// Address (EIP-55 / canonical text).
    pub address: String,
    /// Hops from the nearest seed.
    pub hop: u32,
    /// First block from which its outflows are followed.
    pub start_block: u64,
    /// Its transfers in the window.
    pub transfers: u64,
}

/// An address the frontier did not (fully) follow.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stopped {
    /// Address.
    pub address: String,
    /// Hop at which it was reached.
    pub hop: u32,
    /// Why.
    #[serde(flatten)]
    pub reason: StopReason,
}

/// What a frontier run did. Serialised as the JSON of `moneytrail fetch --format json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FrontierReport {
    /// Chain.
    pub chain: String,
    /// Source id (no credentials).
    pub source: String,
    /// The window.
    pub window: Window,
    /// Block whose end-of-block balances were recorded as opening balances.
    pub opening_block: u64,
    /// Seeds.
    pub seeds: Vec<String>,
    /// Addresses expanded per hop (index = hop).
    pub expanded_per_hop: Vec<u64>,
    /// Every expanded address.
    pub expanded: Vec<Expanded>,
    /// Every address reached but not (fully) followed, with the reason.
    pub stopped: Vec<Stopped>,
    /// Outflows not followed because they were below `min_value`.
    pub dust_transfers: u64,
    /// Transfers returned by the source in this run.
    pub transfers_seen: u64,
    /// Transfers newly stored in this run.
    pub transfers_stored: u64,
    /// Opening balances recorded in this run.
    pub balances_recorded: u64,
    /// Chunks fetched in this run.
    pub chunks_fetched: u64,
    /// Chunks found complete in the store (no request made for them).
    pub chunks_skipped: u64,
    /// HTTP requests sent during the run (attempts, retries included); 0 if no stats given.
    pub requests: u64,
    /// Wall time, seconds.
    pub elapsed_secs: f64,
    /// Pools read past with `--demix` (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pools: Option<Vec<PoolReport>>,
    /// Bridge contracts whose events were read with `--follow-bridges` (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridges: Option<Vec<BridgeRead>>,
}

/// One bridge contract's events read (`--follow-bridges`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BridgeRead {
    /// The contract.
    pub address: String,
    /// First block read.
    pub from_block: u64,
    /// Last block read.
    pub to_block: u64,
    /// Events newly stored.
    pub events_stored: u64,
    /// Chunks fetched by this run (finished chunks of earlier runs are skipped).
    pub chunks_fetched: u64,
}

impl FrontierReport {
    /// A few lines for the terminal: what was fetched, per hop, and every stop with its reason.
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "fetched {} addresses on {} from {}, blocks {}–{} (opening balances at the end of block {})",
            self.expanded.len(),
            self.chain,
            self.source,
            self.window.from_block,
            self.window.to_block,
            self.opening_block
        );
        let hops: Vec<String> = self
            .expanded_per_hop
            .iter()
            .enumerate()
            .map(|(h, n)| format!("hop {h}: {n}"))
            .collect();
        let _ = writeln!(s, "  {}", hops.join(" · "));
        let _ = writeln!(
            s,
            "  transfers: {} new, {} returned · chunks: {} fetched, {} already done · balances: {} · requests: {} in {:.1} s",
            self.transfers_stored,
            self.transfers_seen,
            self.chunks_fetched,
            self.chunks_skipped,
            self.balances_recorded,
            self.requests,
            self.elapsed_secs
        );
        if self.dust_transfers > 0 {
            let _ = writeln!(s, "  dust outflows not followed: {}", self.dust_transfers);
        }
        for p in self.pools.iter().flatten() {
            let _ = writeln!(
                s,
                "  demixed pool {} (hop {}), blocks {}–{}: {} deposits, {} withdrawals to {} recipients · {} events and {} withdrawal txs fetched",
                p.address,
                p.hop,
                p.from_block,
                p.to_block,
                p.deposits,
                p.withdrawals,
                p.recipients,
                p.events_stored,
                p.withdrawal_txs_fetched
            );
        }
        if !self.stopped.is_empty() {
            let _ = writeln!(s, "stopped:");
            for st in &self.stopped {
                let why = match &st.reason {
                    StopReason::Terminal { category, label } => {
                        format!("terminal {category} \"{label}\"")
                    }
                    StopReason::HopLimit { hops } => format!("beyond --hops {hops}"),
                    StopReason::MaxAddresses { max } => format!("beyond --max-addresses {max}"),
                    StopReason::Service { degree, threshold } => {
                        format!(
                            "service: {degree} transfers > --service-degree {threshold}, not followed"
                        )
                    }
                    StopReason::Dust => "reached only by dust".to_string(),
                };
                let _ = writeln!(s, "  {} (hop {}): {why}", st.address, st.hop);
            }
        }
        s
    }
}
