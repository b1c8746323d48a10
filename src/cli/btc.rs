//! The Bitcoin commands of the command line: `fetch --chain bitcoin` (Esplora / bitcoind),
//! `cluster explain` (`import` is in `cli::import`). Parsing and printing only; the work is in
//! the library (`fetch::bitcoin_cmd`, `graph::cluster`).

use anyhow::Result;
use clap::Subcommand;

use moneytrail::fetch::bitcoin_cmd::{self, BitcoinFetch, BitcoinSourceSpec};
use moneytrail::fetch::utxo_frontier::UtxoFrontierConfig;
use moneytrail::graph::cluster::{ClusterConfig, Clustering};
use moneytrail::model::{Address, Chain};

use super::fetch::{Plan, SourceArgs, SourceOptions};
use crate::{Cli, Format, bad, emit, open_store, parse_chain, print_json};

/// `moneytrail cluster …`.
#[derive(Subcommand)]
pub(crate) enum ClusterCmd {
    /// Why addresses are in ADDR's cluster: every member with the chain of merges (heuristic,
    /// transaction) linking it to ADDR, and the CoinJoins ADDR took part in (never merged).
    /// Clusters are computed from the Bitcoin transactions in the database.
    Explain {
        /// A Bitcoin address.
        address: String,
        /// Only the path to this member.
        #[arg(long)]
        with: Option<String>,
        /// Chain (bitcoin, bitcoin-testnet, …).
        #[arg(long, default_value = "bitcoin")]
        chain: String,
        /// Do not merge change addresses (multi-input only).
        #[arg(long)]
        no_change: bool,
        /// Least combined confidence of a change merge (0–1).
        #[arg(long, default_value_t = 0.7)]
        min_change_confidence: f64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// The Bitcoin fetch of `plan` with `--esplora-url` or `--bitcoind-url`.
pub(crate) fn bitcoin_fetch(
    chain: Chain,
    src: &SourceArgs,
    opts: &SourceOptions,
    plan: &Plan,
) -> Result<BitcoinFetch> {
    let Chain::Bitcoin(network) = chain else {
        return Err(bad(format!(
            "--esplora-url and --bitcoind-url read Bitcoin; {chain} is not a Bitcoin chain"
        )));
    };
    let source = match (&src.esplora_url, &src.bitcoind_url) {
        (Some(u), _) => BitcoinSourceSpec::Esplora {
            url: if u == "default" {
                bitcoin_cmd::default_esplora_url(network).to_string()
            } else {
                u.clone()
            },
        },
        (None, Some(u)) => BitcoinSourceSpec::Bitcoind {
            url: u.clone(),
            auth: bitcoin_cmd::bitcoind_auth(opts.bitcoind_cookie.clone()),
        },
        _ => {
            return Err(bad(format!(
                "{chain} is read with --esplora-url [URL] or --bitcoind-url URL"
            )));
        }
    };
    Ok(BitcoinFetch {
        source,
        rate: opts.rate,
        confirmations: opts.confirmations,
        frontier: UtxoFrontierConfig {
            hops: plan.hops,
            from_block: plan.from_block,
            to_block: plan.limits.to_block,
            max_txs: opts.max_txs,
            progress: plan.progress,
            ..Default::default()
        },
    })
}

/// `moneytrail cluster …`.
pub(crate) fn cluster(cli: &Cli, action: &ClusterCmd) -> Result<()> {
    let ClusterCmd::Explain {
        address,
        with,
        chain,
        no_change,
        min_change_confidence,
        format,
    } = action;
    let chain = parse_chain(chain)?;
    if !chain.is_bitcoin() {
        return Err(bad(format!(
            "clusters are for Bitcoin chains; {chain} is not one"
        )));
    }
    if !(0.0..=1.0).contains(min_change_confidence) {
        return Err(bad(format!(
            "invalid --min-change-confidence {min_change_confidence} (0 to 1)"
        )));
    }
    let addr = Address::parse(chain, address)?;
    let with = with
        .as_deref()
        .map(|w| Address::parse(chain, w))
        .transpose()?;
    let store = open_store(&cli.db)?;
    let cfg = ClusterConfig {
        change: !no_change,
        min_change_confidence: *min_change_confidence,
        ..Default::default()
    };
    let txs = store.utxo_txs(chain)?;
    let c = Clustering::build(&txs, &cfg);
    let mut e = c.explain(&addr).ok_or_else(|| {
        bad(format!(
            "address {addr} is in no stored {chain} transaction (fetch or import it first)"
        ))
    })?;
    if let Some(w) = &with {
        e.members.retain(|(m, _)| *m == w.to_string());
        if e.members.is_empty() {
            return Err(bad(format!("{w} is not in the cluster of {addr}")));
        }
    }
    match format {
        Format::Json => print_json(&e)?,
        Format::Table => {
            use std::fmt::Write;
            let mut s = String::new();
            let _ = writeln!(
                s,
                "{} — cluster of {} address(es)",
                e.address, e.cluster_size
            );
            for (m, path) in &e.members {
                if path.is_empty() {
                    continue;
                }
                let _ = writeln!(s, "  {m}");
                for st in path {
                    let why = match &st.change {
                        Some(g) => format!(
                            "change ({}; confidence {:.2})",
                            g.heuristics
                                .iter()
                                .map(|h| h.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            g.confidence
                        ),
                        None => "multi_input (confidence 0.95)".to_string(),
                    };
                    let _ = writeln!(s, "    {} → {}  {why}  tx {}", st.from, st.to, st.tx);
                }
            }
            for (tx, j) in &e.coinjoins {
                let _ = writeln!(
                    s,
                    "  input of {} CoinJoin {tx} ({} inputs, {} × {} sats): not merged",
                    j.kind.as_str(),
                    j.inputs,
                    j.equal_outputs,
                    j.denomination
                );
            }
            emit(&s)?;
        }
    }
    Ok(())
}
