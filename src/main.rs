//! The `moneytrail` command line. Only argument parsing and wiring live here; the work is done
//! by the library. Exit codes: 0 success, 2 bad input (one line naming the bad value), 1 other.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};

use moneytrail::fetch::FetchError;
use moneytrail::knowledge::labels::{self, ImportOptions, LabelFileError};
use moneytrail::knowledge::{Catalog, CatalogError};
use moneytrail::model::{
    Address, AddressError, AmountError, Category, CategoryError, Chain, ChainError,
};
use moneytrail::report::text;
use moneytrail::store::Store;

mod cli;

#[derive(Parser)]
#[command(
    name = "moneytrail",
    version,
    about = "Follow stolen crypto through the blockchain"
)]
struct Cli {
    /// SQLite database.
    #[arg(
        long,
        global = true,
        env = "MONEYTRAIL_DB",
        default_value = "moneytrail.db"
    )]
    db: PathBuf,
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "MONEYTRAIL_CONFIG")]
    config: Option<PathBuf>,
    /// Directory laid out like graphs/ (incidents/*.toml, estimates.csv, labels/*.yaml) whose
    /// files add to or replace the embedded catalog.
    #[arg(long, global = true, env = "MONEYTRAIL_CATALOG")]
    catalog: Option<PathBuf>,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// More logging (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The catalog of DPRK theft incidents.
    Incidents {
        #[command(subcommand)]
        action: IncidentsCmd,
    },
    /// Published estimates of DPRK theft, with sources.
    Estimates {
        /// Only estimates whose period covers this year.
        #[arg(long)]
        year: Option<i32>,
        /// Only estimates for exactly this one year (no multi-year cumulative figures).
        #[arg(long, requires = "year")]
        exact: bool,
        /// theft, laundering, other or all.
        #[arg(long, default_value = "all")]
        kind: String,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// Attribution labels: import, look up, export.
    Labels {
        #[command(subcommand)]
        action: LabelsCmd,
    },
    /// Follow the seeds' value under a taint model and write the output contract to --out.
    Trace(Box<cli::trace::TraceArgs>),
    /// Report of a trace directory: self-contained HTML (default), Markdown, JSON figures, or
    /// its graph as GEXF / DOT / node-link JSON.
    Report(cli::report::ReportArgs),
    /// Fetch the transfers of the seeds and of the addresses their value reaches, hop by hop,
    /// into the database (resumable: a re-run continues where the last one stopped).
    Fetch(Box<cli::fetch::FetchArgs>),
    /// Import chain exports offline: ethereum-etl / BigQuery crypto_ethereum tables (CSV or
    /// Parquet, one file per table) or bitcoin-etl / BigQuery crypto_bitcoin transactions
    /// (JSON Lines, a JSON array or Parquet).
    Import(cli::import::ImportArgs),
    /// Bitcoin address clusters: multi-input heuristic without CoinJoins, change addresses.
    Cluster {
        #[command(subcommand)]
        action: cli::btc::ClusterCmd,
    },
    /// Screen deposits (addresses or tx hashes) against the screening index: risk 0–10,
    /// exposure, hops, evidence path; `screen index --trace DIR…` rebuilds the index.
    Screen(Box<cli::screen::ScreenArgs>),
    /// The screening HTTP service (POST /v1/screen, GET /v1/address/{chain}/{addr}, /health,
    /// /metrics, /openapi.json); bearer token from MONEYTRAIL_TOKEN; SIGHUP reloads the index.
    Serve(cli::screen::ServeArgs),
    /// Totals of the recorded trace runs per catalogued incident (stolen, to exchanges, mixers,
    /// bridges, resting, unresolved, in USD at the transfer days) and per year beside every
    /// published estimate; incidents not traced are listed.
    Totals(cli::totals::TotalsArgs),
    /// The whole product offline on a SIMULATED Ronin-like chain: store, every model, USD,
    /// totals, report; each model's amounts checked against the simulation's ground truth.
    Demo(cli::demo::DemoArgs),
    /// Daily USD prices: import CSV files, fetch from Coinbase Exchange, show which price a
    /// USD figure of a day uses (daily close, embedded monthly average, stablecoin).
    Prices {
        #[command(subcommand)]
        action: cli::prices::PricesCmd,
    },
    /// The real job, with network: every catalogued incident in scope fetched from the public
    /// keyless explorers (Blockscout, Esplora at mempool.space; Etherscan when
    /// $ETHERSCAN_API_KEY is set), traced, and set beside the published estimates. Resumable;
    /// incidents it could not trace are listed with the reason.
    Reproduce(Box<cli::reproduce::ReproduceArgs>),
}

#[derive(Subcommand)]
enum IncidentsCmd {
    /// All incidents.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One incident with its addresses and sources.
    Show {
        /// Incident id (see `incidents list`).
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum LabelsCmd {
    /// Import GraphSense TagPacks (.yaml), OFAC lists (.txt/.json) or CSV
    /// (address,label,category[,chain,source,confidence]).
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Chain for entries that do not name one.
        #[arg(long)]
        chain: Option<String>,
        /// Category for entries that do not name one.
        #[arg(long)]
        category: Option<String>,
        /// Source for entries that do not name one.
        #[arg(long)]
        source: Option<String>,
        /// Confidence 0–100 (or a GraphSense confidence id) for entries without one.
        #[arg(long)]
        confidence: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Labels of addresses (the embedded catalog and everything imported).
    Lookup {
        /// Addresses (EVM 0x…, Bitcoin base58/bech32).
        #[arg(required = true)]
        addresses: Vec<String>,
        /// Chain of the addresses (default: told from the address form).
        #[arg(long)]
        chain: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Every stored label.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum TableFormat {
    Table,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
    Json,
}

/// Input the user can fix: reported on one line with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadInput(String);

fn bad(msg: impl Into<String>) -> anyhow::Error {
    BadInput(msg.into()).into()
}

fn is_bad_input(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<BadInput>()
            || c.is::<AddressError>()
            || c.is::<ChainError>()
            || c.is::<AmountError>()
            || c.is::<CategoryError>()
            || c.is::<CatalogError>()
            || matches!(
                c.downcast_ref::<FetchError>(),
                Some(FetchError::BadInput(_) | FetchError::Unsupported(_))
            )
            || matches!(
                c.downcast_ref::<LabelFileError>(),
                Some(LabelFileError::Io { .. } | LabelFileError::Format { .. })
            )
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // one line: the outermost message and its causes
            let msg = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("error: {msg}");
            if is_bad_input(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MONEYTRAIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn catalog(cli: &Cli) -> Result<Catalog> {
    match &cli.catalog {
        Some(dir) => Ok(Catalog::with_overlay(dir)?),
        None => Ok(Catalog::embedded()),
    }
}

fn open_store(path: &Path) -> Result<Store> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(bad(format!(
                "cannot open database {}: directory {} does not exist",
                path.display(),
                parent.display()
            )));
        }
    }
    Store::open(path).with_context(|| format!("cannot open database {}", path.display()))
}

fn parse_chain(s: &str) -> Result<Chain> {
    Ok(s.parse::<Chain>()?)
}

/// Write to standard output. A closed pipe (`moneytrail … | head`) ends the output quietly.
fn emit(s: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => Ok(r?),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    emit(&(serde_json::to_string_pretty(v)? + "\n"))
}

fn run(cli: Cli) -> Result<()> {
    if let Some(cfg) = &cli.config {
        if !cfg.is_file() {
            return Err(bad(format!("config file {} does not exist", cfg.display())));
        }
    }
    match &cli.command {
        Command::Incidents { action } => {
            let cat = catalog(&cli)?;
            match action {
                IncidentsCmd::List { format } => {
                    let all = cat.incidents()?;
                    match format {
                        Format::Table => emit(&text::incidents_table(&all))?,
                        Format::Json => print_json(&all)?,
                    }
                }
                IncidentsCmd::Show { id, format } => {
                    let inc = cat.incident(id)?.ok_or_else(|| {
                        bad(format!(
                            "unknown incident '{id}' (see `moneytrail incidents list`)"
                        ))
                    })?;
                    match format {
                        Format::Table => emit(&text::incident_detail(&inc))?,
                        Format::Json => print_json(&inc)?,
                    }
                }
            }
        }
        Command::Estimates {
            year,
            exact,
            kind,
            format,
        } => {
            if !matches!(kind.as_str(), "theft" | "laundering" | "other" | "all") {
                bail!(BadInput(format!(
                    "invalid --kind '{kind}' (expected theft, laundering, other or all)"
                )));
            }
            let mut list = catalog(&cli)?.estimates()?;
            list.retain(|e| kind == "all" || &e.kind == kind);
            if let Some(y) = year {
                list.retain(|e| {
                    if *exact {
                        e.is_for_year(*y)
                    } else {
                        e.covers_year(*y)
                    }
                });
                // the year's own figures first, then multi-year ones
                list.sort_by_key(|e| !e.is_for_year(*y));
            }
            match format {
                TableFormat::Table => emit(&text::estimates_table(&list))?,
                TableFormat::Csv => emit(&text::estimates_csv(&list)?)?,
                TableFormat::Json => print_json(&list)?,
            }
        }
        Command::Labels { action } => labels_cmd(&cli, action)?,
        Command::Trace(args) => cli::trace::trace_cmd(&cli, args)?,
        Command::Report(args) => cli::report::report_cmd(&cli, args)?,
        Command::Fetch(args) => cli::fetch::fetch_cmd(&cli, args)?,
        Command::Import(args) => cli::import::import(&cli, args)?,
        Command::Cluster { action } => cli::btc::cluster(&cli, action)?,
        Command::Screen(args) => cli::screen::screen_cmd(&cli, args)?,
        Command::Serve(args) => cli::screen::serve_cmd(&cli, args)?,
        Command::Totals(args) => cli::totals::totals_cmd(&cli, args)?,
        Command::Demo(args) => cli::demo::demo_cmd(&cli, args)?,
        Command::Prices { action } => cli::prices::prices_cmd(&cli, action)?,
        Command::Reproduce(args) => cli::reproduce::reproduce_cmd(&cli, args)?,
    }
    Ok(())
}

fn labels_cmd(cli: &Cli, action: &LabelsCmd) -> Result<()> {
    let cat = catalog(cli)?;
    let mut store = open_store(&cli.db)?;
    labels::sync_catalog_labels(&mut store, &cat).context("loading the catalog's labels")?;
    match action {
        LabelsCmd::Import {
            files,
            chain,
            category,
            source,
            confidence,
            format,
        } => {
            let opts = ImportOptions {
                chain: chain.as_deref().map(parse_chain).transpose()?,
                category: category
                    .as_deref()
                    .map(|c| c.parse::<Category>())
                    .transpose()?,
                source: source.clone(),
                confidence: confidence
                    .as_deref()
                    .map(|c| {
                        moneytrail::model::confidence_from_id(c).ok_or_else(|| {
                            bad(format!(
                                "invalid --confidence '{c}' (0–100 or a GraphSense confidence id)"
                            ))
                        })
                    })
                    .transpose()?,
            };
            let reports = labels::import_files(&mut store, files, &opts)?;
            match format {
                Format::Table => emit(&text::import_reports(&reports))?,
                Format::Json => print_json(&reports)?,
            }
        }
        LabelsCmd::Lookup {
            addresses,
            chain,
            format,
        } => {
            let chain = chain.as_deref().map(parse_chain).transpose()?;
            let mut results = Vec::new();
            for a in addresses {
                let (c, addr) = match chain {
                    Some(c) => (c, Address::parse(c, a)?),
                    None => Address::parse_any(a)?,
                };
                let labels = store.labels_of(&addr)?;
                results.push((c, addr, labels));
            }
            match format {
                Format::Table => emit(&text::lookup_table(&results))?,
                Format::Json => {
                    let v: Vec<_> = results
                        .iter()
                        .map(|(c, a, ls)| {
                            serde_json::json!({
                                "address": a.to_string(),
                                "chain": c.to_string(),
                                "known": !ls.is_empty(),
                                "labels": ls.iter().map(|(l, o)| {
                                    let mut v = serde_json::to_value(l).unwrap_or_default();
                                    v["origin"] = serde_json::Value::String(o.clone());
                                    v
                                }).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    print_json(&v)?
                }
            }
        }
        LabelsCmd::Export { format, out } => {
            let all = store.all_labels()?;
            let body = match format {
                ExportFormat::Csv => text::labels_csv(&all)?,
                ExportFormat::Json => {
                    let v: Vec<_> = all
                        .iter()
                        .map(|(l, o)| {
                            let mut v = serde_json::to_value(l).unwrap_or_default();
                            v["origin"] = serde_json::Value::String(o.clone());
                            v
                        })
                        .collect();
                    serde_json::to_string_pretty(&v)? + "\n"
                }
            };
            match out {
                Some(p) => std::fs::write(p, body)
                    .map_err(|e| anyhow!("cannot write {}: {e}", p.display()))?,
                None => emit(&body)?,
            }
        }
    }
    Ok(())
}
