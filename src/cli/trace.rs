//! `moneytrail trace`: fetch what the seeds' value reaches (unless `--offline`), then replay it
//! under a taint model and write the output contract. Parsing and printing only; the work is in
//! the library (`fetch`, `trace`, `report::trace_out`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use moneytrail::knowledge::labels;
use moneytrail::knowledge::prices::PriceBook;
use moneytrail::model::{Address, Amount, Chain, TxHash};
use moneytrail::report::exports::GraphFormat;
use moneytrail::report::{self, text};
use moneytrail::store::Store;
use moneytrail::trace::{self, Follow, ModelKind, TraceConfig, TraceError, TraceResult};

use super::fetch::{
    LimitArgs, NO_SOURCE, Plan, SourceArgs, SourceOptions, fetch_into, resolve_seeds,
};
use crate::{Cli, bad, catalog, emit, open_store, parse_chain};

/// Hops the fetch of a trace follows when `--max-hops` does not bound it. Terminal labels,
/// services and `--max-addresses` stop it well before on real chains; what they cut short is
/// reported.
const DEFAULT_FETCH_HOPS: u32 = 32;

/// The file of the trace's output directory that records what the fetch did.
const FETCH_REPORT: &str = "fetch.json";

/// `moneytrail trace`.
#[derive(clap::Args)]
pub(crate) struct TraceArgs {
    /// Chain (ethereum, bsc, polygon, arbitrum, optimism, base, avalanche, bitcoin, evm:<id>).
    #[arg(long)]
    chain: String,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    options: SourceOptions,
    /// Seed addresses (repeat or comma-separate).
    #[arg(
        long = "seed",
        value_delimiter = ',',
        required_unless_present = "incident",
        conflicts_with = "incident"
    )]
    seeds: Vec<String>,
    /// An incident of the catalog: its seed addresses on --chain (and start block, if known).
    #[arg(long)]
    incident: Option<String>,
    /// Theft transactions: only what the seeds receive in them is tainted.
    #[arg(long = "theft-tx", value_delimiter = ',')]
    theft_txs: Vec<String>,
    /// poison, haircut, fifo, lifo or tiho.
    #[arg(long, default_value = "haircut")]
    model: String,
    /// Do not follow taint further than this many hops from a seed (the fetch stops there too).
    #[arg(long)]
    max_hops: Option<u32>,
    /// Hops the fetch follows from the seeds (default: --max-hops, else 32).
    #[arg(long, value_name = "N")]
    fetch_hops: Option<u32>,
    /// Dust: transfers below this amount (in each asset's units, e.g. 0.01) are not followed.
    #[arg(long)]
    min_value: Option<String>,
    /// First block of the window (seeds' balances at the end of the block before are tainted;
    /// default: the incident's start block, else 0).
    #[arg(long)]
    from_block: Option<u64>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Trace only what is in the store; fetch nothing (a source, if given, is not contacted).
    #[arg(long)]
    offline: bool,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Also write flows.parquet and endpoints.parquet (the CSV columns, typed; docs/formats.md).
    #[arg(long)]
    parquet: bool,
    /// Graph files to write beside graph.graphml: gexf, dot, json (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "FORMATS")]
    graph_formats: Vec<String>,
    #[command(flatten)]
    follow: FollowArgs,
}

/// Following taint through mixers, swaps and bridges (off by default: they are terminal).
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct FollowArgs {
    /// Demix Tornado-style pools (EVM: linked withdrawals by heuristic, the rest by pool
    /// haircut) and trace through CoinJoins (Bitcoin); the fetch then goes past the pools.
    #[arg(long)]
    demix: bool,
    /// Inferred links below this confidence (0–1) are reported in evidence.jsonl but not
    /// followed.
    #[arg(long, value_name = "X", default_value_t = trace::DEFAULT_MIN_CONFIDENCE)]
    min_confidence: f64,
    /// Switch a heuristic off by name (repeat or comma-separate), e.g. tornado_temporal_fifo.
    #[arg(long = "no-heuristic", value_delimiter = ',', value_name = "NAME")]
    no_heuristic: Vec<String>,
    /// Taint crosses assets inside DEX swaps (a labelled DEX / DeFi contract is otherwise
    /// terminal).
    #[arg(long)]
    follow_swaps: bool,
    /// Decode bridge deposits (THORChain memos, Ren burns …) and follow their cross-chain edges.
    #[arg(long)]
    follow_bridges: bool,
    /// Where to fetch a bridge's destination chain from before continuing there:
    /// CHAIN=KIND:URL[,rate=R], KIND rpc, esplora, blockscout or bitcoind (repeatable), e.g.
    /// bitcoin=esplora:https://blockstream.info/api. Without it a destination chain is
    /// continued only if its data is already in the database.
    #[arg(
        long = "bridge-source",
        value_name = "CHAIN=KIND:URL",
        requires = "follow_bridges"
    )]
    bridge_source: Vec<String>,
}

impl FollowArgs {
    /// The checked settings; a bad threshold or an unknown heuristic is exit 2.
    pub(crate) fn to_follow(&self) -> Result<Follow> {
        let x = self.min_confidence;
        if !(0.0..=1.0).contains(&x) {
            return Err(bad(format!(
                "invalid --min-confidence '{x}': expected a number from 0 to 1"
            )));
        }
        for h in &self.no_heuristic {
            if !trace::HEURISTICS.contains(&h.as_str()) {
                return Err(bad(format!(
                    "unknown heuristic '{h}' in --no-heuristic (expected one of {})",
                    trace::HEURISTICS.join(", ")
                )));
            }
        }
        Ok(Follow {
            demix: self.demix,
            min_confidence: x,
            disabled: self.no_heuristic.clone(),
            swaps: self.follow_swaps,
            bridges: self.follow_bridges,
        })
    }
}

/// `moneytrail trace`.
pub(crate) fn trace_cmd(cli: &Cli, a: &TraceArgs) -> Result<()> {
    let chain = parse_chain(&a.chain)?;
    let model: ModelKind = a
        .model
        .parse()
        .map_err(|e: trace::ModelError| bad(e.to_string()))?;
    let cat = catalog(cli)?;
    let (seeds, start) = resolve_seeds(&cat, chain, a.incident.as_deref(), &a.seeds)?;
    let from_block = a.from_block.or(start);
    let theft_txs = a
        .theft_txs
        .iter()
        .map(|h| TxHash::parse(h).map_err(|e| bad(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    if let Some(m) = &a.min_value {
        Amount::parse_decimal(m, 36).map_err(|_| {
            bad(format!(
                "invalid --min-value '{m}' (a decimal amount such as 0.01)"
            ))
        })?;
    }
    if a.out.exists() && !a.out.is_dir() {
        return Err(bad(format!(
            "--out {} exists and is not a directory",
            a.out.display()
        )));
    }
    let graph_formats = a
        .graph_formats
        .iter()
        .map(|f| GraphFormat::parse(f).map_err(|e| bad(format!("--graph-formats: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    if !a.offline && !a.source.given() {
        return Err(bad(format!(
            "{NO_SOURCE}; or --offline to trace what is in the database"
        )));
    }
    let follow = a.follow.to_follow()?;
    let bridge_sources = a
        .follow
        .bridge_source
        .iter()
        .map(|v| super::bridges::parse_bridge_source(v))
        .collect::<Result<Vec<_>>>()?;
    let mut store = open_store(&cli.db)?;
    labels::sync_catalog_labels(&mut store, &cat).context("loading the catalog's labels")?;
    let job = TraceJob {
        follow,
        bridge_sources,
        chain,
        seeds,
        model,
        incident: a.incident.clone(),
        theft_txs,
        from_block,
        max_hops: a.max_hops,
        fetch_hops: a.fetch_hops,
        min_value: a.min_value.clone(),
        limits: &a.limits,
        source: (!a.offline).then_some((&a.source, &a.options)),
        out: &a.out,
        parquet: a.parquet,
        progress: !cli.quiet,
    };
    let done = run_trace(&mut store, &job)?;
    // the graph exports: the directory just written, read back (one code path with `report`)
    moneytrail::report::exports::write_graph_files(&a.out, &graph_formats)
        .with_context(|| format!("writing the graph files into {}", a.out.display()))?;
    if !cli.quiet {
        emit(&text::trace_summary(&done.result, &a.out))?;
        if job.follow.bridges {
            emit(&super::bridges::summary_text(&done.result))?;
        }
    }
    if !done.result.conservation_ok {
        anyhow::bail!(
            "conservation check failed for the {} model (outputs written to {} for inspection)",
            model,
            a.out.display()
        );
    }
    Ok(())
}

/// One trace as `trace` and `reproduce` run it: what to follow, where from, where to write.
pub(crate) struct TraceJob<'a> {
    pub(crate) chain: Chain,
    pub(crate) seeds: Vec<Address>,
    pub(crate) model: ModelKind,
    /// The catalogued incident traced (recorded with the run, for `totals`).
    pub(crate) incident: Option<String>,
    pub(crate) theft_txs: Vec<TxHash>,
    pub(crate) from_block: Option<u64>,
    pub(crate) max_hops: Option<u32>,
    pub(crate) fetch_hops: Option<u32>,
    pub(crate) min_value: Option<String>,
    pub(crate) limits: &'a LimitArgs,
    /// Where to fetch from first; `None`: trace what is in the store (`--offline`).
    pub(crate) source: Option<(&'a SourceArgs, &'a SourceOptions)>,
    pub(crate) out: &'a Path,
    /// Also write flows.parquet and endpoints.parquet.
    pub(crate) parquet: bool,
    /// Show the fetch's progress line.
    pub(crate) progress: bool,
    /// Mixers, swaps and bridges followed.
    pub(crate) follow: Follow,
    /// Sources of bridge destination chains (`--bridge-source`).
    pub(crate) bridge_sources: Vec<super::bridges::BridgeSource>,
}

/// What [`run_trace`] did.
pub(crate) struct TraceDone {
    pub(crate) result: TraceResult,
    /// The run's id in the registry of `moneytrail totals`.
    pub(crate) run_id: i64,
}

/// Run one trace into `store` (whose catalog labels are synced): fetch (unless offline), load,
/// replay under the model, value in USD, write the output contract (and `fetch.json`) to
/// `job.out`, record the run for `totals`. A failed conservation check is returned in the
/// result, not as an error (the outputs are written for inspection).
pub(crate) fn run_trace(store: &mut Store, job: &TraceJob) -> Result<TraceDone> {
    let fetched = match job.source {
        None => None,
        Some((source, options)) => {
            let plan = Plan {
                chain: job.chain,
                seeds: &job.seeds,
                hops: job
                    .fetch_hops
                    .or(job.max_hops)
                    .unwrap_or(DEFAULT_FETCH_HOPS),
                from_block: job.from_block,
                min_value: job.min_value.clone(),
                limits: job.limits,
                progress: job.progress,
                demix: job.follow.demix,
                bridges: job.follow.bridges,
            };
            Some(fetch_into(store, source, options, &plan)?)
        }
    };

    let mut cfg = TraceConfig::new(job.chain, job.seeds.clone());
    cfg.model = job.model;
    cfg.theft_txs = job.theft_txs.clone();
    cfg.from_block = job.from_block.unwrap_or(0);
    cfg.to_block = job.limits.to_block;
    cfg.max_hops = job.max_hops;
    cfg.min_value = job.min_value.clone();
    cfg.incident = job.incident.clone();
    cfg.follow = job.follow.clone();
    let input = trace::load(store, &cfg).map_err(trace_error)?;
    let mut result = trace::run(input, &cfg).map_err(trace_error)?;
    if cfg.follow.bridges {
        let fetch = super::bridges::DestinationFetch {
            sources: &job.bridge_sources,
            hops: job
                .fetch_hops
                .or(job.max_hops)
                .unwrap_or(DEFAULT_FETCH_HOPS),
            progress: job.progress,
        };
        super::bridges::follow_bridges(store, &mut result, job.out, 0, &fetch)?;
    }
    let book = PriceBook::from_store(store).context("reading prices")?;
    let usd = report::usd::value(&result, &book);
    let out = job.out;
    report::trace_out::write_all(&result, Some(&usd), out)
        .with_context(|| format!("writing {}", out.display()))?;
    if job.parquet {
        report::trace_tables::write_parquet(&result, Some(&usd), out)
            .with_context(|| format!("writing Parquet into {}", out.display()))?;
    }
    let out_dir = std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf());
    let run = report::totals::run_record(&result, Some(&usd), &out_dir.display().to_string());
    let run_id = store
        .record_trace_run(&run)
        .context("recording the run for `moneytrail totals`")?;
    tracing::info!(run_id, "run recorded");
    if let Some(f) = &fetched {
        let path = out.join(FETCH_REPORT);
        std::fs::write(&path, serde_json::to_string_pretty(f)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        let (cut, truncated) = f.cut_short();
        if cut > 0 || truncated {
            tracing::warn!(
                "the fetch did not follow {cut} address(es) to the end (hop or address limits, \
                 services, dust{}); taint resting there may have moved on — see {}",
                if truncated { ", --max-txs" } else { "" },
                path.display()
            );
        }
    }
    Ok(TraceDone { result, run_id })
}

/// Bad trace input (no seeds, a seed without history, a bad threshold) is exit 2.
fn trace_error(e: TraceError) -> anyhow::Error {
    match e {
        TraceError::NoSeeds | TraceError::SeedWithoutHistory(..) | TraceError::MinValue(_) => {
            bad(e.to_string())
        }
        other => other.into(),
    }
}
