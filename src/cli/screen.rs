//! `moneytrail screen` (screen addresses / transactions against the index), `moneytrail screen
//! index` (rebuild the index from trace outputs) and `moneytrail serve` (the HTTP service).
//! Parsing and printing only; the work is in `moneytrail::screen`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use moneytrail::knowledge::labels;
use moneytrail::screen::service::{self, AppState, ServiceConfig};
use moneytrail::screen::{self, Item, ScreenIndex, ScreenResult, parse_item};
use moneytrail::store::Store;

use crate::{Cli, bad, catalog, emit, open_store, parse_chain, print_json};

/// `moneytrail screen`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ScreenArgs {
    #[command(subcommand)]
    action: Option<ScreenCmd>,
    /// Addresses or transaction hashes (a transaction screens its receiving addresses).
    items: Vec<String>,
    /// A file of items: one a line, or a CSV whose header names an `address`, `tx`, `input`,
    /// `hash` or `deposit` column (else the first column is read). `#` starts a comment line.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Skip invalid items (reported on stderr with their line numbers) instead of failing.
    #[arg(long)]
    skip_invalid: bool,
    /// Chain of the items (default: told from the form; EVM taint on any EVM chain counts).
    #[arg(long)]
    chain: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Subcommand)]
enum ScreenCmd {
    /// Rebuild the screening index from trace output directories and the stored labels.
    Index {
        /// A `trace --out` directory (repeat for several traces).
        #[arg(long = "trace")]
        traces: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

/// `moneytrail serve`.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Largest request body, bytes.
    #[arg(long, default_value_t = 1 << 20)]
    body_limit: usize,
    /// Per-request timeout, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Requests handled at once.
    #[arg(long, default_value_t = 512)]
    concurrency: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
}

fn store_with_labels(cli: &Cli) -> Result<Store> {
    let cat = catalog(cli)?;
    let mut store = open_store(&cli.db)?;
    labels::sync_catalog_labels(&mut store, &cat).context("loading the catalog's labels")?;
    Ok(store)
}

/// `moneytrail screen …`.
pub(crate) fn screen_cmd(cli: &Cli, a: &ScreenArgs) -> Result<()> {
    if let Some(ScreenCmd::Index { traces }) = &a.action {
        return index_cmd(cli, traces);
    }
    let chain = a.chain.as_deref().map(parse_chain).transpose()?;
    let mut items: Vec<(String, Item)> = Vec::new();
    let mut invalid: Vec<String> = Vec::new();
    for s in &a.items {
        match parse_item(s, chain) {
            Ok(i) => items.push((s.trim().to_string(), i)),
            Err(e) if a.skip_invalid => invalid.push(e.to_string()),
            Err(e) => return Err(bad(e.to_string())),
        }
    }
    if let Some(f) = &a.file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| bad(format!("cannot read --file {}: {e}", f.display())))?;
        for (line, value) in file_items(&text) {
            match parse_item(&value, chain) {
                Ok(i) => items.push((value, i)),
                Err(e) => invalid.push(format!("{}:{line}: {e}", f.display())),
            }
        }
    }
    if !invalid.is_empty() {
        for m in &invalid {
            eprintln!("invalid: {m}");
        }
        if !a.skip_invalid {
            return Err(bad(format!(
                "{} invalid item(s), first: {} (use --skip-invalid to screen the rest)",
                invalid.len(),
                invalid[0]
            )));
        }
    }
    if items.is_empty() && invalid.is_empty() {
        return Err(bad(
            "nothing to screen: give addresses, tx hashes or --file",
        ));
    }
    let store = store_with_labels(cli)?;
    let index = ScreenIndex::load(&store).context("loading the screening index")?;
    let results = screen::screen_items(&index, &items, Some(&store))?;
    match a.format {
        Format::Json => print_json(&serde_json::json!({
            "index_version": index.version(),
            "results": results,
        })),
        Format::Table => emit(&table(&results, index.version())),
    }
}

/// (line number, value) of every item of a `--file`.
fn file_items(text: &str) -> Vec<(usize, String)> {
    const NAMES: [&str; 5] = ["address", "tx", "input", "hash", "deposit"];
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    let split = |l: &str| -> Vec<String> {
        l.split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .collect()
    };
    let mut column = 0;
    if let Some((_, first)) = lines.peek() {
        let header = split(first);
        if let Some(i) = header
            .iter()
            .position(|h| NAMES.contains(&h.to_ascii_lowercase().as_str()))
        {
            column = i;
            lines.next();
        }
    }
    lines
        .map(|(n, l)| (n, split(l).into_iter().nth(column).unwrap_or_default()))
        .collect()
}

fn index_cmd(cli: &Cli, traces: &[PathBuf]) -> Result<()> {
    for t in traces {
        if !t.join("summary.json").is_file() {
            return Err(bad(format!(
                "--trace {}: not a trace output directory (no summary.json)",
                t.display()
            )));
        }
    }
    let store = store_with_labels(cli)?;
    let dirs: Vec<&Path> = traces.iter().map(PathBuf::as_path).collect();
    let data = screen::index::build(&dirs, Some(&store))?;
    screen::index::save(&store, &data)?;
    let index = ScreenIndex::load(&store)?;
    let mut out = String::new();
    for t in index.traces() {
        out.push_str(&format!(
            "trace {} (chain {}, model {}, incident {})\n",
            t.dir, t.chain, t.model, t.incident
        ));
    }
    out.push_str(&format!(
        "screening index {}: {} tainted addresses, {} labels\n",
        index.version(),
        index.tainted_len(),
        index.labels_len()
    ));
    emit(&out)
}

fn table(results: &[ScreenResult<'_>], version: &str) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header([
        "input",
        "chain",
        "address",
        "risk",
        "known",
        "sanctioned",
        "hops",
        "exposure",
        "labels",
        "path",
    ]);
    for r in results {
        let exposure = r
            .exposure
            .iter()
            .map(|e| {
                let share = e
                    .share
                    .map(|s| format!(" ({:.1}%)", s * 100.0))
                    .unwrap_or_default();
                format!(
                    "{} {}: {} {}{share}",
                    e.category, e.incident, e.amount, e.asset
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let labels = r
            .labels
            .iter()
            .map(|l| format!("{} ({})", l.label, l.category))
            .collect::<Vec<_>>()
            .join("\n");
        let path = match r.path.len() {
            0 => String::new(),
            n => format!("{n} tx, last {}", r.path[n - 1]),
        };
        t.add_row([
            r.input.to_string(),
            r.chain.to_string(),
            r.address
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            r.risk.to_string(),
            r.known.to_string(),
            r.sanctioned.to_string(),
            r.hops.map(|h| h.to_string()).unwrap_or_default(),
            exposure,
            labels,
            path,
        ]);
    }
    format!("{t}\nindex {version}\n")
}

/// `moneytrail serve`.
pub(crate) fn serve_cmd(cli: &Cli, a: &ServeArgs) -> Result<()> {
    let listen: std::net::SocketAddr = a.listen.parse().map_err(|_| {
        bad(format!(
            "invalid --listen '{}' (expected IP:PORT, e.g. 127.0.0.1:8080)",
            a.listen
        ))
    })?;
    drop(store_with_labels(cli)?);
    let mut cfg = ServiceConfig::new(cli.db.clone());
    cfg.token = std::env::var("MONEYTRAIL_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    cfg.body_limit = a.body_limit;
    cfg.timeout = std::time::Duration::from_millis(a.timeout_ms.max(1));
    cfg.concurrency = a.concurrency.max(1);
    let state = AppState::open(cfg).context("loading the screening index")?;
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(w) = a.workers {
        rt.worker_threads(w.max(1));
    }
    let rt = rt.enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| bad(format!("cannot listen on {listen}: {e}")))?;
        let idx = state.index();
        eprintln!(
            "moneytrail serve: listening on http://{} (index {}, {} tainted addresses, {} labels)",
            listener.local_addr()?,
            idx.version(),
            idx.tainted_len(),
            idx.labels_len()
        );
        drop(idx);
        service::serve(listener, state, shutdown_signal()).await?;
        Ok::<_, anyhow::Error>(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
