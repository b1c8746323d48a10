//! Trace benchmark: prints figures, asserts nothing about time.
//!
//!     cargo bench --bench trace -- [TRANSFERS ...] [--sqlite N] [--export N]
//!
//! For each size: a synthetic graph with power-law degrees (a few hubs, a long tail), realistic
//! time order, 1% labelled terminals and 3 seeds; haircut and FIFO replay time, transfers/s and
//! peak memory of the replay (VmHWM after resetting it, minus the resident input). With
//! `--sqlite N`: N transfers written to a temporary store and read back (rows/s). With
//! `--export N`: an N-transfer haircut trace valued and written as CSV and Parquet (rows/s).

use std::time::Instant;

use alloy_primitives::U256;

use moneytrail::graph::{Flow, FlowGraph};
use moneytrail::model::{
    Address, Amount, Asset, AssetId, Category, Chain, Label, SubIndex, Transfer, TxHash,
};
use moneytrail::trace::{self, ModelKind, TraceConfig, TraceInput};

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn addr(i: u32) -> Address {
    let mut b = [0u8; 20];
    b[16..].copy_from_slice(&i.to_be_bytes());
    b[0] = 0x42;
    Address::Evm(alloy_primitives::Address::from(b))
}

fn proc_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn synthetic(n: usize, rng: &mut Rng) -> TraceInput {
    let nodes = (n / 10).max(100) as u32;
    let mut g = FlowGraph::default();
    for i in 0..nodes {
        g.intern(&addr(i));
    }
    g.assets.push(AssetId::Native);
    g.subs.push(SubIndex::Value);
    g.subs.push(SubIndex::Fee);
    // power law: node = nodes * u^3 (hubs at low ids)
    let pick = |rng: &mut Rng| ((nodes as f64) * rng.unit().powi(3)) as u32;
    g.flows.reserve(n);
    for i in 0..n {
        let from = pick(rng);
        let mut to = pick(rng);
        if to == from {
            to = (to + 1) % nodes;
        }
        let fee = i % 4 == 0;
        g.flows.push(Flow {
            amount: U256::from(1 + rng.next() % 1_000_000_000_000_000_000),
            block: 1 + (i / 200) as u64,
            time: 1_600_000_000 + (i / 200) as i64 * 12,
            tx: i as u32,
            sub: u32::from(fee),
            tx_index: (i % 200) as u32,
            from,
            to: if fee { moneytrail::graph::NONE } else { to },
            asset: 0,
        });
    }
    g.txs = (0..n as u64)
        .map(|i| {
            let mut h = [0u8; 32];
            h[..8].copy_from_slice(&i.to_be_bytes());
            TxHash(alloy_primitives::B256::from(h))
        })
        .collect();
    let labels = (0..nodes)
        .map(|i| {
            if i % 100 == 7 {
                vec![Label {
                    chain: Chain::ETHEREUM,
                    address: addr(i),
                    label: format!("exchange {i}"),
                    category: Category::Exchange,
                    actor: Some(format!("ex{i}")),
                    abuse: None,
                    source: "bench".into(),
                    confidence: 90,
                    context: None,
                }]
            } else {
                Vec::new()
            }
        })
        .collect();
    let opening = (0..nodes)
        .map(|i| {
            (
                i,
                0u16,
                U256::from(rng.next() % 5_000_000_000_000_000_000) * U256::from(10u8),
            )
        })
        .collect();
    TraceInput {
        graph: g,
        labels,
        opening,
        assets: vec![Asset::native(Chain::ETHEREUM)],
        utxo: None,
        events: Vec::new(),
    }
}

fn bench_size(n: usize) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
    let t0 = Instant::now();
    let input = synthetic(n, &mut rng);
    println!(
        "\n{n} transfers, {} addresses (generated in {:.2}s)",
        input.graph.nodes.len(),
        t0.elapsed().as_secs_f64()
    );
    for model in [ModelKind::Haircut, ModelKind::Fifo] {
        let seeds = vec![addr(1), addr(2), addr(3)];
        let mut cfg = TraceConfig::new(Chain::ETHEREUM, seeds);
        cfg.model = model;
        let inp = input.clone();
        let resident = proc_kb("VmRSS:");
        let _ = std::fs::write("/proc/self/clear_refs", "5"); // reset VmHWM
        let t = Instant::now();
        let r = trace::run(inp, &cfg).expect("trace");
        let secs = t.elapsed().as_secs_f64();
        let peak = proc_kb("VmHWM:");
        let extra = peak.saturating_sub(resident) * 1024;
        let input_bytes = n * std::mem::size_of::<Flow>();
        println!(
            "  {model:<7} {secs:>7.3} s  {:>6.1} M transfers/s  tainted flows {:>9}  endpoints {:>7}  conservation {}  \
             memory: input {:.0} B/transfer + replay peak {:.0} B/transfer = {:.0} B/transfer",
            n as f64 / secs / 1e6,
            r.tainted_flows.len(),
            r.endpoints.len(),
            r.conservation_ok,
            input_bytes as f64 / n as f64,
            extra as f64 / n as f64,
            (input_bytes + extra as usize) as f64 / n as f64,
        );
        drop(r);
    }
}

/// `--export N`: a haircut trace of N transfers written as the CSV contract and as Parquet
/// (`trace --parquet`), with the valuation; rows/s of the tainted flows written.
fn bench_export(n: usize) {
    use moneytrail::knowledge::prices::PriceBook;
    use moneytrail::report::{trace_out, trace_tables, usd};
    let mut rng = Rng(0x51ED_2701 ^ n as u64);
    let input = synthetic(n, &mut rng);
    let cfg = TraceConfig::new(Chain::ETHEREUM, vec![addr(1), addr(2), addr(3)]);
    let r = trace::run(input, &cfg).expect("trace");
    let dir = std::env::temp_dir().join(format!("moneytrail-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let t = Instant::now();
    let v = usd::value(&r, &PriceBook::embedded());
    let value_s = t.elapsed().as_secs_f64();
    let rows = r.tainted_flows.len();
    let t = Instant::now();
    trace_out::write_all(&r, Some(&v), &dir).unwrap();
    let csv_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    trace_tables::write_parquet(&r, Some(&v), &dir).unwrap();
    let pq_s = t.elapsed().as_secs_f64();
    let size = |f: &str| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
    println!(
        "\nexport of a {n}-transfer haircut trace: {rows} tainted flows, {} endpoints\n  \
         USD valuation {value_s:.3} s\n  \
         CSV contract (summary, endpoints, flows, paths, evidence, graphml) {csv_s:.2} s = {:.0}k flow rows/s, flows.csv {:.1} MB\n  \
         Parquet (flows, endpoints; polars, zstd) {pq_s:.2} s = {:.0}k flow rows/s, flows.parquet {:.1} MB",
        r.endpoints.len(),
        rows as f64 / csv_s / 1e3,
        size("flows.csv") as f64 / 1e6,
        rows as f64 / pq_s / 1e3,
        size("flows.parquet") as f64 / 1e6,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn bench_sqlite(n: usize) {
    let dir = std::env::temp_dir().join(format!("moneytrail-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.db");
    let mut store = moneytrail::store::Store::open(&path).unwrap();
    let mut rng = Rng(7);
    let nodes = (n / 10).max(100) as u32;
    let t = Instant::now();
    let mut w = store.writer().unwrap();
    for i in 0..n {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let tr = Transfer {
            chain: Chain::ETHEREUM,
            tx_hash: TxHash(alloy_primitives::B256::from(h)),
            sub: SubIndex::Value,
            block: 1 + i as u64 / 200,
            tx_index: (i % 200) as u32,
            time: 1_600_000_000 + i as i64 / 200 * 12,
            from: Some(addr((rng.next() % nodes as u64) as u32)),
            to: Some(addr((rng.next() % nodes as u64) as u32)),
            asset: AssetId::Native,
            amount: Amount::from_base_units((rng.next() % 1_000_000_000_000_000_000) as u128 + 1),
        };
        w.insert_transfer(&tr).unwrap();
        if i % 100_000 == 99_999 {
            w.commit().unwrap();
            w = store.writer().unwrap();
        }
    }
    w.commit().unwrap();
    let insert = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let all = store.transfers(Chain::ETHEREUM).unwrap();
    let load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let g = FlowGraph::build(Chain::ETHEREUM, &all);
    let build = t.elapsed().as_secs_f64();
    println!(
        "\nSQLite, {n} transfers: insert {:.0} rows/s; load {:.0} rows/s; flow graph build {:.0} rows/s ({} flows)",
        n as f64 / insert,
        n as f64 / load,
        n as f64 / build,
        g.flows.len()
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Write a synthetic graph as plain files, run benches/python/haircut.py on them and our
/// haircut on the same files; check both give the same totals and print the ratio.
fn bench_python(n: usize) {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("moneytrail-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(99);
    let input = synthetic(n, &mut rng);
    let g = &input.graph;
    let key = |i: u32| {
        if i == moneytrail::graph::NONE {
            String::new()
        } else {
            g.nodes[i as usize].key()
        }
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("transfers.csv")).unwrap());
    writeln!(f, "block,tx_index,sub,from,to,amount").unwrap();
    for fl in &g.flows {
        // fee sub 0 sorts before value 1 in the same tx, as in the engine
        let sub = if fl.to == moneytrail::graph::NONE {
            0
        } else {
            1
        };
        writeln!(
            f,
            "{},{},{},{},{},{}",
            fl.block,
            fl.tx_index,
            sub,
            key(fl.from),
            key(fl.to),
            fl.amount
        )
        .unwrap();
    }
    drop(f);
    let seeds = [addr(1), addr(2), addr(3)];
    std::fs::write(
        dir.join("seeds.txt"),
        seeds.iter().map(|s| s.key() + "\n").collect::<String>(),
    )
    .unwrap();
    let terminals: String = input
        .labels
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, _)| g.nodes[i].key() + "\n")
        .collect();
    std::fs::write(dir.join("terminals.txt"), terminals).unwrap();

    // ours: read the same CSV, build, replay
    let t = Instant::now();
    let mut rdr = csv::Reader::from_path(dir.join("transfers.csv")).unwrap();
    let mut transfers = Vec::with_capacity(n);
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        let parse = |s: &str| Address::parse(Chain::ETHEREUM, s).ok();
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&(i as u64).to_be_bytes());
        transfers.push(Transfer {
            chain: Chain::ETHEREUM,
            tx_hash: TxHash(alloy_primitives::B256::from(h)),
            sub: if &rec[2] == "0" {
                SubIndex::Fee
            } else {
                SubIndex::Value
            },
            block: rec[0].parse().unwrap(),
            tx_index: rec[1].parse().unwrap(),
            time: 0,
            from: parse(&rec[3]),
            to: if rec[4].is_empty() {
                None
            } else {
                parse(&rec[4])
            },
            asset: AssetId::Native,
            amount: Amount::parse_base_units(&rec[5]).unwrap(),
        });
    }
    let graph = FlowGraph::build(Chain::ETHEREUM, &transfers);
    let labels = graph
        .nodes
        .iter()
        .map(|a| {
            input
                .labels
                .get(g.node(a).unwrap() as usize)
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let inp = TraceInput {
        graph,
        labels,
        opening: Vec::new(),
        assets: vec![Asset::native(Chain::ETHEREUM)],
        utxo: None,
        events: Vec::new(),
    };
    let mut cfg = TraceConfig::new(Chain::ETHEREUM, seeds.to_vec());
    cfg.deposit = None;
    let r = trace::run(inp, &cfg).unwrap();
    let ours = t.elapsed().as_secs_f64();
    let cat = |c: &str| r.assets[0].by_category[c];
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/python/haircut.py"
        ))
        .arg(&dir)
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    let val = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .unwrap_or_else(|| {
                panic!(
                    "python printed no {k}: {text} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .trim()
            .to_string()
    };
    let py: f64 = val("python_seconds").parse().unwrap();
    let same = val("injected") == r.assets[0].injected.to_string()
        && val("exchange") == cat("exchange").to_string()
        && val("fee") == cat("fee").to_string()
        && val("unspent") == cat("unspent").to_string();
    println!(
        "\nhaircut on the same {n}-transfer CSV: moneytrail {ours:.3} s (parse + build + replay), \
         Python/pandas {py:.3} s: {:.0}x faster; totals identical to the base unit: {same}",
        py / ours
    );
    assert!(
        same,
        "Python and moneytrail disagree: {text} vs {:?}",
        r.assets[0].by_category
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    if let Ok(filter) = std::env::var("MONEYTRAIL_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut sizes = Vec::new();
    let mut sqlite = None;
    let mut python = None;
    let mut export = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--sqlite" {
            sqlite = it.next().and_then(|v| v.parse().ok());
        } else if a == "--export" {
            export = it.next().and_then(|v| v.parse().ok());
        } else if a == "--python" {
            python = it.next().and_then(|v| v.parse().ok());
        } else if let Ok(n) = a.parse::<usize>() {
            sizes.push(n);
        }
    }
    if sizes.is_empty() && sqlite.is_none() && python.is_none() && export.is_none() {
        // `cargo test --all-targets` runs this binary without `--bench`: a small smoke run.
        sizes = if std::env::args().any(|a| a == "--bench") {
            vec![1_000_000, 10_000_000]
        } else {
            vec![20_000]
        };
        if !std::env::args().any(|a| a == "--bench") {
            export = Some(20_000);
        }
    }
    for n in sizes {
        bench_size(n);
    }
    if let Some(n) = sqlite {
        bench_sqlite(n);
    }
    if let Some(n) = python {
        bench_python(n);
    }
    if let Some(n) = export {
        bench_export(n);
    }
}
