//! Report benchmark: prints figures, asserts nothing about time.
//!
//!     cargo bench --bench report -- [--edges N] [--flows N]
//!
//! 1. HTML report of a synthetic trace directory with N distinct edges (default 5,000): size in
//!    bytes and render time (read the directory, render), at the default node budget.
//! 2. Graph exports of a synthetic trace directory with N flows (default 1,000,000): the read
//!    of flows.csv into the view (rows/s), then GEXF, DOT and node-link JSON written to a file
//!    (flow rows/s end to end = read + write, edges written, bytes).
//!
//! Without `--bench` (as under `cargo test --all-targets`) a small smoke run.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use moneytrail::report::exports::GraphFormat;
use moneytrail::report::html::{HtmlOptions, render_html};
use moneytrail::report::view::TraceView;

#[path = "support/args.rs"]
mod args;
#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn addr(i: u64) -> String {
    format!("0x42{:038x}", i)
}

/// Write a synthetic trace directory: 1 seed, `nodes` addresses on hops 1–6, 2% of them
/// exchange / mixer endpoints, `flows` tainted transfers (distinct (from, to) pairs when
/// `distinct`), times over 90 days, with summary.json, endpoints.csv, flows.csv, paths.jsonl
/// and evidence.jsonl consistent in form (not in taint arithmetic).
fn write_trace_dir(dir: &Path, nodes: u64, flows: u64, distinct: bool, rng: &mut Rng) {
    std::fs::create_dir_all(dir).unwrap();
    let seed = addr(0);
    let hop_of = |i: u64| 1 + (i * 6 / nodes.max(1)).min(5);
    let is_endpoint = |i: u64| i % 50 == 49;
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("flows.csv")).unwrap());
    writeln!(
        f,
        "chain,tx_hash,sub_index,block,time,from,to,asset,asset_contract,amount,tainted_amount,hop"
    )
    .unwrap();
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let mut written = 0u64;
    let mut total: u128 = 0;
    while written < flows {
        let to = 1 + rng.below(nodes);
        let h = hop_of(to - 1);
        // a sender one hop earlier (the seed for hop 1)
        let from = if h == 1 {
            0
        } else {
            let lo = (h - 2) * nodes / 6;
            let hi = ((h - 1) * nodes / 6).max(lo + 1);
            let mut c = 1 + lo + rng.below(hi - lo);
            while is_endpoint(c - 1) {
                c = 1 + lo + rng.below(hi - lo);
            }
            c
        };
        if distinct && !seen.insert((from, to)) {
            continue;
        }
        let v = 1 + rng.below(1_000_000_000) as u128 * 1_000_000_000;
        total += v;
        let time = 1_640_995_200 + (written * 90 * 86_400 / flows.max(1)) as i64;
        let t = chrono::DateTime::from_timestamp(time, 0).unwrap();
        writeln!(
            f,
            "ethereum,0x{:064x},value,{},{},{},{},ETH,,{},{},{}",
            written,
            14_000_000 + written,
            t.format("%Y-%m-%dT%H:%M:%SZ"),
            if from == 0 { seed.clone() } else { addr(from) },
            addr(to),
            moneytrail::model::Amount::from_base_units(v * 2).to_decimal(18),
            moneytrail::model::Amount::from_base_units(v).to_decimal(18),
            h
        )
        .unwrap();
        written += 1;
    }
    f.flush().unwrap();
    let mut e = std::io::BufWriter::new(std::fs::File::create(dir.join("endpoints.csv")).unwrap());
    writeln!(
        e,
        "chain,address,entity,category,asset,asset_contract,amount,usd,min_hops,first_time,last_time"
    )
    .unwrap();
    for i in (0..nodes).filter(|i| is_endpoint(*i)) {
        let cat = if i % 100 == 49 { "exchange" } else { "mixer" };
        writeln!(
            e,
            "ethereum,{},entity {i},{cat},ETH,,1,,{},2022-01-01T00:00:00Z,2022-03-01T00:00:00Z",
            addr(i + 1),
            hop_of(i)
        )
        .unwrap();
    }
    e.flush().unwrap();
    let tot = moneytrail::model::Amount::from_base_units(total).to_decimal(18);
    std::fs::write(
        dir.join("summary.json"),
        format!(
            r#"{{"model":"haircut","chain":"ethereum","seeds":["{seed}"],"simulated":true,"assets":{{"ETH":{{"injected":"{tot}","decimals":18,"contract":"","unexplained":"0","by_category":{{"exchange":"0","mixer":"0","unspent":"{tot}"}}}}}},"conservation_ok":true,"stats":{{"transfers":{flows},"endpoints":{}}}}}"#,
            nodes / 50
        ),
    )
    .unwrap();
    std::fs::write(dir.join("paths.jsonl"), "").unwrap();
    std::fs::write(dir.join("evidence.jsonl"), "").unwrap();
}

fn html_bench(edges: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_1234);
    write_trace_dir(dir.path(), (edges / 2).max(50), edges, true, &mut rng);
    let t0 = Instant::now();
    let v = TraceView::read(dir.path()).unwrap();
    let read = t0.elapsed();
    let t1 = Instant::now();
    let html = render_html(&v, &HtmlOptions::default());
    let render = t1.elapsed();
    let g = v.graph.with_node_budget(300);
    println!(
        "html: {} edges / {} nodes in the trace → {} nodes / {} edges drawn (budget 300); \
         {} bytes ({:.2} MB); read {:.1} ms, render {:.1} ms, total {:.1} ms",
        v.graph.edges.len(),
        v.graph.nodes.len(),
        g.nodes.len(),
        g.edges.len(),
        html.len(),
        html.len() as f64 / 1e6,
        read.as_secs_f64() * 1e3,
        render.as_secs_f64() * 1e3,
        (read + render).as_secs_f64() * 1e3
    );
}

fn export_bench(flows: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0xfeed_4321);
    let t = Instant::now();
    write_trace_dir(dir.path(), (flows / 5).max(100), flows, false, &mut rng);
    let size = std::fs::metadata(dir.path().join("flows.csv"))
        .unwrap()
        .len();
    println!(
        "exports: synthetic flows.csv {flows} rows, {:.1} MB, written in {:.1} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    let v = TraceView::read(dir.path()).unwrap();
    let read = t0.elapsed().as_secs_f64();
    println!(
        "exports: read into the view: {:.2} s, {:.0} rows/s ({} nodes, {} edges)",
        read,
        flows as f64 / read,
        v.graph.nodes.len(),
        v.graph.edges.len()
    );
    for f in [GraphFormat::Gexf, GraphFormat::Dot, GraphFormat::NodeLink] {
        let path = dir.path().join(f.file_name());
        let t1 = Instant::now();
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        f.write(&v, &v.graph, &mut w).unwrap();
        w.flush().unwrap();
        let write = t1.elapsed().as_secs_f64();
        let bytes = std::fs::metadata(&path).unwrap().len();
        println!(
            "exports: {:<10} write {:.2} s ({:.0} edges/s), {:.1} MB; read + write {:.0} flow rows/s",
            f.file_name(),
            write,
            v.graph.edges.len() as f64 / write,
            bytes as f64 / 1e6,
            flows as f64 / (read + write)
        );
    }
}

fn main() {
    let bench = args::full_run();
    let arg = |name: &str| args::value::<u64>(name);
    let (edges, flows) = if bench {
        (
            arg("--edges").unwrap_or(5_000),
            arg("--flows").unwrap_or(1_000_000),
        )
    } else {
        (
            arg("--edges").unwrap_or(500),
            arg("--flows").unwrap_or(5_000),
        )
    };
    html_bench(edges);
    export_bench(flows);
}
