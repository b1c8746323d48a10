//! `trace --follow-bridges`: the cross-chain edges of the taint credited to bridges, and the
//! continuation traces on destination chains whose data is in the same database, written as
//! `OUT/cross-chain/<chain>/` with the full output contract (ADR 0010).

use std::path::Path;

use anyhow::{Context, Result};

use moneytrail::knowledge::prices::PriceBook;
use moneytrail::report;
use moneytrail::store::Store;
use moneytrail::trace::{self, TraceConfig, TraceResult, bridges};

/// Continuations continue at most this deep (Ethereum → Bitcoin → Ethereum …).
pub(crate) const MAX_DEPTH: u32 = 3;

/// Link `result`'s bridge inflows to cross-chain edges and run the continuations into
/// `out/cross-chain/<chain>/`; `depth` is the parent's depth (0 for the trace asked for).
pub(crate) fn follow_bridges(
    store: &Store,
    result: &mut TraceResult,
    out: &Path,
    depth: u32,
) -> Result<()> {
    let facts = bridges::load_facts(store).context("reading bridge events and chains")?;
    bridges::link(result, &facts);
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
            follow_bridges(store, &mut child, &dir, depth + 1)?;
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
