//! `moneytrail fetch`, and the source flags and fetch limits that `trace` shares with it.
//! Parsing and printing only; the work is in the library (`fetch::frontier`,
//! `fetch::utxo_frontier`).

use std::path::PathBuf;

use anyhow::{Context, Result};

use moneytrail::fetch::frontier::FrontierReport;
use moneytrail::fetch::utxo_frontier::UtxoFrontierReport;
use moneytrail::fetch::{FrontierConfig, HttpClient, Source, run_frontier};
use moneytrail::knowledge::{Catalog, labels};
use moneytrail::model::{Address, Chain};
use moneytrail::store::Store;

use crate::{Cli, Format, bad, catalog, emit, open_store, parse_chain, print_json};

/// Where transfers come from: at most one source (`fetch` needs one; `trace` needs one unless
/// `--offline`).
#[derive(clap::Args, Clone, Debug)]
#[group(
    id = "source",
    multiple = false,
    args = ["rpc_url", "etherscan", "blockscout_url", "esplora_url", "bitcoind_url"]
)]
pub(crate) struct SourceArgs {
    /// An EVM JSON-RPC node (http/https; an API key in the URL is never printed or stored).
    #[arg(long, value_name = "URL")]
    pub(crate) rpc_url: Option<String>,
    /// Etherscan API v2 (every EVM chain; key from $ETHERSCAN_API_KEY or --api-key-env; without
    /// a key, Ethereum mainnet falls back to Blockscout's public instance).
    #[arg(long)]
    pub(crate) etherscan: bool,
    /// A Blockscout instance's API, keyless (e.g. https://eth.blockscout.com/api).
    #[arg(long, value_name = "URL")]
    pub(crate) blockscout_url: Option<String>,
    /// Bitcoin: an Esplora REST API, keyless (without URL: https://mempool.space/api, or its
    /// /testnet/api, /signet/api). Seeds' histories, then outputs followed through their spends.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "default")]
    pub(crate) esplora_url: Option<String>,
    /// Bitcoin: a Bitcoin Core (or bcoin) JSON-RPC node with -txindex. Core has no address
    /// index, so there is no address discovery: it follows transactions — the blocks
    /// --from-block..--to-block are scanned for outputs paying the seeds and for the spends of
    /// followed outputs. Auth: --bitcoind-cookie, $BITCOIND_RPC_USER/$BITCOIND_RPC_PASSWORD, or
    /// credentials in the URL (never printed).
    #[arg(long, value_name = "URL")]
    pub(crate) bitcoind_url: Option<String>,
}

impl SourceArgs {
    /// Whether any source was named.
    pub(crate) fn given(&self) -> bool {
        self.rpc_url.is_some()
            || self.etherscan
            || self.blockscout_url.is_some()
            || self.esplora_url.is_some()
            || self.bitcoind_url.is_some()
    }

    fn is_bitcoin(&self) -> bool {
        self.esplora_url.is_some() || self.bitcoind_url.is_some()
    }
}

/// Options of the sources (rate, and how a JSON-RPC node is read).
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct SourceOptions {
    /// Requests per second to the source's host (default: 20 for a JSON-RPC node, 5 for
    /// Etherscan (its free tier), 2 for Blockscout, 5 for Esplora, 50 for bitcoind).
    #[arg(long, value_name = "R")]
    pub(crate) rate: Option<f64>,
    /// The environment variable holding the Etherscan API key (default ETHERSCAN_API_KEY). The
    /// key is never printed, logged or stored.
    #[arg(long, value_name = "NAME", requires = "etherscan")]
    pub(crate) api_key_env: Option<String>,
    /// Another Etherscan-compatible v2 endpoint (default https://api.etherscan.io/v2/api).
    #[arg(long, value_name = "URL", requires = "etherscan")]
    pub(crate) etherscan_url: Option<String>,
    /// JSON-RPC address discovery: trace_filter, ots or scan (default: detected in that order;
    /// scan needs --from-block).
    #[arg(long, value_name = "METHOD")]
    pub(crate) discovery: Option<String>,
    /// JSON-RPC internal transfers from `trace` (trace_transaction) or `debug`
    /// (debug_traceTransaction callTracer) (default: detected, trace first).
    #[arg(long, value_name = "API")]
    pub(crate) internal: Option<String>,
    /// Bitcoin Core's cookie file (<datadir>/.cookie) for --bitcoind-url.
    #[arg(long, value_name = "PATH", requires = "bitcoind_url")]
    pub(crate) bitcoind_cookie: Option<PathBuf>,
    /// Bitcoin (Esplora): confirmations a transaction needs to be stored.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) confirmations: u64,
    /// Bitcoin: most new transactions to fetch in one run (the rest is reported).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub(crate) max_txs: usize,
}

/// The message when neither a source nor `--offline` is given.
pub(crate) const NO_SOURCE: &str = "no source given: one of --rpc-url URL, --etherscan, \
     --blockscout-url URL, --esplora-url [URL], --bitcoind-url URL";

/// How wide a fetch goes, shared by `fetch` and `trace`.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct LimitArgs {
    /// Last block of the window (default: the head when the run starts).
    #[arg(long)]
    pub(crate) to_block: Option<u64>,
    /// Most addresses to expand (seeds included); the rest is reported.
    #[arg(long, default_value_t = 1000)]
    pub(crate) max_addresses: usize,
    /// A non-seed address with more transfers than this in the window is a service: not
    /// followed further (reported).
    #[arg(long, default_value_t = 10_000)]
    pub(crate) service_degree: u64,
    /// Blocks per checkpointed chunk.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) chunk_blocks: u64,
    /// Addresses fetched at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
}

/// `moneytrail fetch`.
#[derive(clap::Args)]
pub(crate) struct FetchArgs {
    /// Chain (ethereum, bsc, polygon, arbitrum, optimism, base, avalanche, evm:<id>; bitcoin,
    /// bitcoin-testnet, bitcoin-signet, bitcoin-regtest with --esplora-url / --bitcoind-url).
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
    /// Hops to follow from the seeds (0: the seeds only).
    #[arg(long, default_value_t = 2)]
    hops: u32,
    /// First block of the window (default: the incident's start block, else 0).
    #[arg(long)]
    from_block: Option<u64>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Dust: outflows below this amount (in each asset's units, e.g. 0.01) are not followed.
    #[arg(long)]
    min_value: Option<String>,
    /// Read past Tornado Cash pools (addresses labelled mixer with pool events): store their
    /// Deposit / Withdrawal events and withdrawal transactions, and follow the withdrawal
    /// recipients one hop further.
    #[arg(long)]
    demix: bool,
    /// Read the bridge events (THORChain router memos, Ren burns) of the bridge contracts
    /// reached, for `trace --follow-bridges`.
    #[arg(long)]
    follow_bridges: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// The seeds of `--incident ID` or `--seed ADDR...` on `chain`, and the incident's start block
/// on that chain when the catalog knows it.
pub(crate) fn resolve_seeds(
    cat: &Catalog,
    chain: Chain,
    incident: Option<&str>,
    seeds: &[String],
) -> Result<(Vec<Address>, Option<u64>)> {
    match incident {
        Some(id) => {
            let inc = cat.incident(id)?.ok_or_else(|| {
                bad(format!(
                    "unknown incident '{id}' (see `moneytrail incidents list`)"
                ))
            })?;
            let seeds = inc.seeds(chain);
            if seeds.is_empty() {
                return Err(bad(format!(
                    "incident '{id}' has no seed addresses on {chain}"
                )));
            }
            let start = inc.start_blocks.get(&chain.to_string()).copied();
            Ok((seeds, start))
        }
        None => Ok((
            seeds
                .iter()
                .map(|s| Address::parse(chain, s))
                .collect::<Result<_, _>>()?,
            None,
        )),
    }
}

/// One fetch: what it goes over.
pub(crate) struct Plan<'a> {
    pub(crate) chain: Chain,
    pub(crate) seeds: &'a [Address],
    pub(crate) hops: u32,
    /// `None`: from genesis (EVM), the whole history (Esplora).
    pub(crate) from_block: Option<u64>,
    pub(crate) min_value: Option<String>,
    pub(crate) limits: &'a LimitArgs,
    pub(crate) progress: bool,
    /// Read past Tornado-style pools to their withdrawal recipients (`--demix`).
    pub(crate) demix: bool,
    /// Read the bridge contracts' events (`--follow-bridges`).
    pub(crate) bridges: bool,
}

/// What a fetch did, on either kind of chain.
#[derive(serde::Serialize)]
#[serde(untagged)]
pub(crate) enum FetchReport {
    Evm(FrontierReport),
    Bitcoin(UtxoFrontierReport),
}

impl FetchReport {
    /// A few lines for the terminal.
    pub(crate) fn summary(&self) -> String {
        match self {
            FetchReport::Evm(r) => r.summary(),
            FetchReport::Bitcoin(r) => r.summary(),
        }
    }

    /// Addresses whose value was not followed to its end for a reason other than a terminal
    /// label (hop and address limits, services, dust, `--max-txs`): what the taint found
    /// resting there may have moved on.
    pub(crate) fn cut_short(&self) -> (usize, bool) {
        use moneytrail::fetch::frontier::StopReason;
        let stopped = match self {
            FetchReport::Evm(r) => &r.stopped,
            FetchReport::Bitcoin(r) => &r.stopped,
        };
        let n = stopped
            .iter()
            .filter(|s| !matches!(s.reason, StopReason::Terminal { .. }))
            .count();
        let truncated = matches!(self, FetchReport::Bitcoin(r) if r.truncated);
        (n, truncated)
    }
}

/// Fetch `plan` from `src` into `store` (the catalog's labels must be synced into it first, so
/// that the frontier stops at terminal entities).
pub(crate) fn fetch_into(
    store: &mut Store,
    src: &SourceArgs,
    opts: &SourceOptions,
    plan: &Plan,
) -> Result<FetchReport> {
    if !src.given() {
        return Err(bad(NO_SOURCE));
    }
    let chain = plan.chain;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if chain.is_bitcoin() || src.is_bitcoin() {
        let f = crate::cli::btc::bitcoin_fetch(chain, src, opts, plan)?;
        let r = rt.block_on(moneytrail::fetch::bitcoin_cmd::run(
            store, chain, plan.seeds, &f,
        ))?;
        return Ok(FetchReport::Bitcoin(r));
    }
    if let Some(m) = &plan.min_value {
        moneytrail::fetch::frontier::min_units(m, 18)?;
    }
    let cfg = FrontierConfig {
        from_block: plan.from_block.unwrap_or(0),
        to_block: plan.limits.to_block,
        hops: plan.hops,
        max_addresses: plan.limits.max_addresses,
        min_value: plan.min_value.clone(),
        service_degree: plan.limits.service_degree,
        chunk_blocks: plan.limits.chunk_blocks,
        concurrency: plan.limits.concurrency,
        progress: plan.progress,
        demix: plan.demix,
        bridges: plan.bridges,
    };
    let report = rt.block_on(async {
        let (source, http) = open_source(chain, src, opts, plan.from_block.is_some()).await?;
        let r = run_frontier(store, source.as_ref(), plan.seeds, &cfg, Some(http.stats())).await?;
        anyhow::Ok(r)
    })?;
    Ok(FetchReport::Evm(report))
}

/// Open the EVM source named by `src` on `chain`. `allow_scan`: a block range was given, so a
/// JSON-RPC node without address discovery may be scanned block by block.
async fn open_source(
    chain: Chain,
    src: &SourceArgs,
    opts: &SourceOptions,
    allow_scan: bool,
) -> Result<(Box<dyn Source>, HttpClient)> {
    use moneytrail::fetch::RetryPolicy;
    use moneytrail::fetch::evm_rpc::{RpcConfig, RpcSource};
    if let Some(url) = &src.rpc_url {
        let http = HttpClient::new(opts.rate.unwrap_or(20.0), RetryPolicy::default())?;
        let mut cfg = RpcConfig::new(url, chain);
        cfg.discovery = opts.discovery.as_deref().map(str::parse).transpose()?;
        cfg.internal = opts.internal.as_deref().map(str::parse).transpose()?;
        cfg.allow_scan = allow_scan || cfg.discovery.is_some();
        let source = RpcSource::connect(http.clone(), cfg).await?;
        return Ok((Box::new(source), http));
    }
    let explorer = moneytrail::fetch::etherscan::ExplorerOptions {
        etherscan: src.etherscan,
        etherscan_url: opts.etherscan_url.clone(),
        api_key_env: opts.api_key_env.clone(),
        blockscout_url: src.blockscout_url.clone(),
    };
    if explorer.requested() {
        let (source, http) = explorer.open(chain, opts.rate)?;
        return Ok((Box::new(source), http));
    }
    Err(bad(format!(
        "{chain} is an EVM chain: read it with --rpc-url, --etherscan or --blockscout-url"
    )))
}

/// `moneytrail fetch`.
pub(crate) fn fetch_cmd(cli: &Cli, a: &FetchArgs) -> Result<()> {
    let chain = parse_chain(&a.chain)?;
    let cat = catalog(cli)?;
    let (seeds, start) = resolve_seeds(&cat, chain, a.incident.as_deref(), &a.seeds)?;
    if !a.source.given() {
        return Err(bad(NO_SOURCE));
    }
    let mut store = open_store(&cli.db)?;
    labels::sync_catalog_labels(&mut store, &cat).context("loading the catalog's labels")?;
    let plan = Plan {
        chain,
        seeds: &seeds,
        hops: a.hops,
        from_block: a.from_block.or(start),
        min_value: a.min_value.clone(),
        limits: &a.limits,
        progress: !cli.quiet,
        demix: a.demix,
        bridges: a.follow_bridges,
    };
    let report = fetch_into(&mut store, &a.source, &a.options, &plan)?;
    match a.format {
        Format::Table if !cli.quiet => emit(&report.summary())?,
        Format::Table => {}
        Format::Json => print_json(&report)?,
    }
    Ok(())
}
