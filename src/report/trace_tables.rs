//! A trace's flows and endpoints as Parquet (`trace --parquet`): the columns of flows.csv and
//! endpoints.csv with types — block, time (Unix seconds), hop and min_hops as Int64, `usd` as
//! Float64, exact amounts as decimal text (docs/formats.md "Parquet exports").

use std::path::Path;

use super::table::{Col, Table, TableError, opt_strs};
use super::trace_out::{contract, dec, node_text};
use super::usd::Valuation;
use crate::trace::TraceResult;

/// The tainted flows, in replay order.
pub fn flows_table(r: &TraceResult) -> Table {
    let chain = r.config.chain;
    let n = r.tainted_flows.len();
    let mut tx = Vec::with_capacity(n);
    let mut sub = Vec::with_capacity(n);
    let mut block = Vec::with_capacity(n);
    let mut time = Vec::with_capacity(n);
    let mut from = Vec::with_capacity(n);
    let mut to = Vec::with_capacity(n);
    let mut asset = Vec::with_capacity(n);
    let mut con = Vec::with_capacity(n);
    let mut amount = Vec::with_capacity(n);
    let mut tainted = Vec::with_capacity(n);
    let mut hop = Vec::with_capacity(n);
    for &(i, t, h) in &r.tainted_flows {
        let f = r.graph.flows[i];
        let a = f.asset as usize;
        tx.push(Some(r.graph.txs[f.tx as usize].display(chain)));
        sub.push(Some(r.graph.subs[f.sub as usize].to_string()));
        block.push(Some(f.block as i64));
        time.push(Some(f.time));
        from.push(Some(node_text(r, f.from)).filter(|s| !s.is_empty()));
        to.push(Some(node_text(r, f.to)).filter(|s| !s.is_empty()));
        asset.push(Some(r.assets[a].key.clone()));
        con.push(Some(contract(r, a)).filter(|s| !s.is_empty()));
        amount.push(Some(dec(r, a, f.amount)));
        tainted.push(Some(dec(r, a, t)));
        hop.push(Some(h as i64));
    }
    let mut tb = Table::default();
    tb.col("chain", Col::Str(vec![Some(chain.to_string()); n]))
        .col("tx_hash", Col::Str(tx))
        .col("sub_index", Col::Str(sub))
        .col("block", Col::Int(block))
        .col("time", Col::Int(time))
        .col("from", Col::Str(from))
        .col("to", Col::Str(to))
        .col("asset", Col::Str(asset))
        .col("asset_contract", Col::Str(con))
        .col("amount", Col::Str(amount))
        .col("tainted_amount", Col::Str(tainted))
        .col("hop", Col::Int(hop));
    tb
}

/// The endpoints, in the order of endpoints.csv.
pub fn endpoints_table(r: &TraceResult, usd: Option<&Valuation>) -> Table {
    let e = &r.endpoints;
    let mut tb = Table::default();
    tb.col(
        "chain",
        Col::Str(vec![Some(r.config.chain.to_string()); e.len()]),
    )
    .col(
        "address",
        Col::Str(
            e.iter()
                .map(|x| x.address.as_ref().map(|a| a.to_string()))
                .collect(),
        ),
    )
    .col("entity", opt_strs(e.iter().map(|x| x.entity.clone())))
    .col("category", opt_strs(e.iter().map(|x| x.category.clone())))
    .col(
        "asset",
        opt_strs(e.iter().map(|x| r.assets[x.asset].key.clone())),
    )
    .col(
        "asset_contract",
        opt_strs(e.iter().map(|x| contract(r, x.asset))),
    )
    .col(
        "amount",
        opt_strs(e.iter().map(|x| dec(r, x.asset, x.amount))),
    )
    .col(
        "usd",
        Col::F64(
            (0..e.len())
                .map(|k| usd.and_then(|u| u.endpoints.get(k).copied().flatten()))
                .collect(),
        ),
    )
    .col(
        "min_hops",
        Col::Int(e.iter().map(|x| x.min_hops.map(i64::from)).collect()),
    )
    .col(
        "first_time",
        Col::Int(e.iter().map(|x| x.first_time).collect()),
    )
    .col(
        "last_time",
        Col::Int(e.iter().map(|x| x.last_time).collect()),
    );
    tb
}

/// Write `flows.parquet` and `endpoints.parquet` into `dir`.
pub fn write_parquet(
    r: &TraceResult,
    usd: Option<&Valuation>,
    dir: &Path,
) -> Result<Vec<String>, TableError> {
    let f = dir.join("flows.parquet");
    flows_table(r).write_parquet(&f)?;
    let e = dir.join("endpoints.parquet");
    endpoints_table(r, usd).write_parquet(&e)?;
    Ok(vec![f.display().to_string(), e.display().to_string()])
}
