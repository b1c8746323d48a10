//! `trace --follow-bridges`: the cross-chain edges of the taint credited to bridges, and the
//! continuation traces on destination chains whose data is in the same database, written as
//! `OUT/cross-chain/<chain>/` with the full output contract (ADR 0011).

use std::path::Path;

use anyhow::{Context, Result};
use clap::Parser;

use moneytrail::knowledge::prices::PriceBook;
use moneytrail::model::{Address, Chain};
use moneytrail::report;
use moneytrail::store::Store;
use moneytrail::trace::{self, TraceConfig, TraceResult, bridges};

use super::fetch::{LimitArgs, Plan, SourceArgs, SourceOptions, fetch_into};
use crate::bad;

/// Continuations continue at most this deep (Ethereum → Bitcoin → Ethereum …).
pub(crate) const MAX_DEPTH: u32 = 3;

/// Where to fetch a destination chain from (`--bridge-source CHAIN=KIND:URL[,rate=R]`).
pub(crate) struct BridgeSource {
    chain: Chain,
    source: SourceArgs,
    options: SourceOptions,
    limits: LimitArgs,
}

/// The source flags of `fetch`, parsed from a `--bridge-source` value (same checks, same
/// defaults).
#[derive(Parser)]
#[command(no_binary_name = true)]
struct SourceOnly {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    options: SourceOptions,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Parse `CHAIN=KIND:URL[,rate=R]` (KIND: rpc, esplora, blockscout, bitcoind, or `etherscan`
/// without URL); a bad value is exit 2 naming it.
pub(crate) fn parse_bridge_source(v: &str) -> Result<BridgeSource> {
    let what = || {
        bad(format!(
            "invalid --bridge-source '{v}': expected CHAIN=KIND:URL[,rate=R] with KIND rpc, \
             esplora, blockscout or bitcoind (or CHAIN=etherscan)"
        ))
    };
    let (chain, rest) = v.split_once('=').ok_or_else(what)?;
    let chain: Chain = chain
        .trim()
        .parse()
        .map_err(|e: moneytrail::model::ChainError| bad(format!("--bridge-source '{v}': {e}")))?;
    let (spec, rate) = match rest.rsplit_once(",rate=") {
        Some((s, r)) => (s, Some(r)),
        None => (rest, None),
    };
    let mut args: Vec<String> = match spec.split_once(':') {
        _ if spec.trim() == "etherscan" => vec!["--etherscan".into()],
        Some((kind, url)) if !url.is_empty() => {
            let flag = match kind {
                "rpc" => "--rpc-url",
                "esplora" => "--esplora-url",
                "blockscout" => "--blockscout-url",
                "bitcoind" => "--bitcoind-url",
                _ => return Err(what()),
            };
            vec![flag.into(), url.into()]
        }
        _ => return Err(what()),
    };
    if let Some(r) = rate {
        args.extend(["--rate".into(), r.into()]);
    }
    let p = SourceOnly::try_parse_from(&args).map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or_default().to_string();
        bad(format!("--bridge-source '{v}': {first}"))
    })?;
    Ok(BridgeSource {
        chain,
        source: p.source,
        options: p.options,
        limits: p.limits,
    })
}

/// How the destination chains are fetched before continuing there.
pub(crate) struct DestinationFetch<'a> {
    /// Sources per destination chain.
    pub(crate) sources: &'a [BridgeSource],
    /// Hops the fetch follows from the destination addresses.
    pub(crate) hops: u32,
    /// Show the fetch's progress line.
    pub(crate) progress: bool,
}

/// Link `result`'s bridge inflows to cross-chain edges and run the continuations into
/// `out/cross-chain/<chain>/`; `depth` is the parent's depth (0 for the trace asked for).
/// Destination chains with a source in `fetch` are fetched first from the followed edges'
/// destination addresses, then the edges are linked again with that data.
pub(crate) fn follow_bridges(
    store: &mut Store,
    result: &mut TraceResult,
    out: &Path,
    depth: u32,
    fetch: &DestinationFetch,
) -> Result<()> {
    let mut facts = bridges::load_facts(store).context("reading bridge events and chains")?;
    bridges::link(result, &facts);
    let mut fetched = false;
    for src in fetch.sources {
        let mut seeds: Vec<Address> = result
            .cross_chain
            .iter()
            .filter(|f| f.followed && f.edge.to_chain == Some(src.chain))
            .filter_map(|f| f.edge.to_address.clone())
            .collect();
        seeds.sort();
        seeds.dedup();
        if seeds.is_empty() {
            continue;
        }
        let plan = Plan {
            chain: src.chain,
            seeds: &seeds,
            hops: fetch.hops,
            from_block: None,
            min_value: result.config.min_value.clone(),
            limits: &src.limits,
            progress: fetch.progress,
            demix: result.config.follow.demix,
            bridges: true,
        };
        tracing::info!(chain = %src.chain, addresses = seeds.len(), "fetching bridge destinations");
        fetch_into(store, &src.source, &src.options, &plan)
            .with_context(|| format!("fetching the bridge destinations on {}", src.chain))?;
        fetched = true;
    }
    if fetched {
        facts = bridges::load_facts(store).context("reading bridge events and chains")?;
        bridges::link(result, &facts);
    }
    tracing::info!(
        edges = result.cross_chain.len(),
        followed = result.cross_chain.iter().filter(|f| f.followed).count(),
        "cross-chain edges"
    );
    if depth + 1 > MAX_DEPTH {
        return Ok(());
    }
    for (chain, carried) in bridges::continuations(result, &facts.chains) {
        let mut seeds: Vec<_> = carried.iter().map(|c| c.to.clone()).collect();
        seeds.sort();
        seeds.dedup();
        let p = &result.config;
        let mut cfg = TraceConfig::new(chain, seeds);
        cfg.model = p.model;
        cfg.max_hops = p.max_hops;
        cfg.min_value = p.min_value.clone();
        cfg.terminal = p.terminal.clone();
        cfg.deposit = p.deposit;
        cfg.incident = p.incident.clone();
        cfg.follow = p.follow.clone();
        cfg.carried = carried;
        let rel = format!("cross-chain/{chain}");
        let dir = out.join(&rel);
        let input = trace::load(store, &cfg)
            .with_context(|| format!("loading the continuation on {chain}"))?;
        let mut child = trace::run(input, &cfg)
            .with_context(|| format!("running the continuation on {chain}"))?;
        if cfg.follow.bridges {
            follow_bridges(store, &mut child, &dir, depth + 1, fetch)?;
        }
        let book = PriceBook::from_store(store).context("reading prices")?;
        let usd = report::usd::value(&child, &book);
        report::trace_out::write_all(&child, Some(&usd), &dir)
            .with_context(|| format!("writing {}", dir.display()))?;
        if !child.conservation_ok {
            tracing::error!(%chain, "conservation violated in the continuation");
        }
        bridges::record_continuation(result, &child, &rel);
    }
    Ok(())
}

/// The terminal lines of `--follow-bridges`: edges, followed, continuations.
pub(crate) fn summary_text(r: &TraceResult) -> String {
    let followed = r.cross_chain.iter().filter(|f| f.followed).count();
    let mut s = format!(
        "cross-chain: {} edge(s) carried taint out of bridges, {followed} followed (evidence.jsonl, summary.json cross_chain)\n",
        r.cross_chain.len()
    );
    for c in &r.continuations {
        let injected: Vec<String> = c
            .assets
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{} {k}", v["injected"].as_str().unwrap_or("?")))
                    .collect()
            })
            .unwrap_or_default();
        s += &format!(
            "  continued on {}: {} injected → {}/\n",
            c.chain,
            injected.join(", "),
            c.out
        );
    }
    s
}
