//! `moneytrail reproduce`: the catalogued incidents of a year (or one), fetched from the public
//! keyless explorers, traced with the default model, and set beside the published estimates.
//! Parsing, planning and printing only: each trace is [`run_trace`], the table is
//! `report::totals`. Every endpoint is probed first so that a machine without network fails
//! within seconds (docs/formats.md "Reproduce").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use moneytrail::fetch::bitcoin_cmd;
use moneytrail::fetch::etherscan::{DEFAULT_API_KEY_ENV, ETHERSCAN_URL};
use moneytrail::knowledge::{Incident, labels};
use moneytrail::model::Chain;
use moneytrail::report::budget::DEFAULT_HTML_NODES;
use moneytrail::report::estimate_line::EstimateLine;
use moneytrail::report::html::{HtmlOptions, render_html};
use moneytrail::report::totals::{self, Totals};
use moneytrail::report::totals_out;
use moneytrail::report::view::TraceView;
use moneytrail::trace::{self, ModelKind};

use super::fetch::{LimitArgs, SourceArgs, SourceOptions};
use super::trace::{TraceJob, run_trace};
use crate::{Cli, bad, catalog, emit, open_store};

/// The public Blockscout instances (keyless) of the EVM chains that have one: chain → `/api`.
pub(crate) const BLOCKSCOUT_INSTANCES: &[(Chain, &str)] = &[
    (Chain::Evm(1), "https://eth.blockscout.com/api"),
    (Chain::Evm(10), "https://optimism.blockscout.com/api"),
    (Chain::Evm(100), "https://gnosis.blockscout.com/api"),
    (Chain::Evm(137), "https://polygon.blockscout.com/api"),
    (Chain::Evm(8453), "https://base.blockscout.com/api"),
    (Chain::Evm(42161), "https://arbitrum.blockscout.com/api"),
];

/// How long the reachability probe of one endpoint may take (connect and answer).
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// `moneytrail reproduce`.
#[derive(clap::Args)]
pub(crate) struct ReproduceArgs {
    /// Only the incidents of this year (and the estimates for it).
    #[arg(long)]
    year: Option<i32>,
    /// Only this incident (see `moneytrail incidents list`).
    #[arg(long)]
    incident: Option<String>,
    /// Output directory: OUT/<incident>/<chain>/ per trace, OUT/totals/ for the tables.
    #[arg(long, default_value = "moneytrail-reproduce")]
    out: PathBuf,
    /// poison, haircut, fifo, lifo or tiho.
    #[arg(long, default_value = "haircut")]
    model: String,
    /// Read every EVM chain from this Blockscout API instead of the public instances (and
    /// instead of Etherscan when $ETHERSCAN_API_KEY is set).
    #[arg(long, value_name = "URL")]
    blockscout_url: Option<String>,
    /// Read Bitcoin from this Esplora API instead of https://mempool.space/api.
    #[arg(long, value_name = "URL")]
    esplora_url: Option<String>,
    /// Requests per second to each source (default: 2 for Blockscout, 5 for Etherscan and
    /// Esplora).
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// Hops the fetch follows from the seeds (default: --max-hops, else 32).
    #[arg(long, value_name = "N")]
    fetch_hops: Option<u32>,
    /// Do not follow taint further than this many hops from a seed.
    #[arg(long)]
    max_hops: Option<u32>,
    /// Bitcoin: most new transactions to fetch per incident (the rest is reported).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_txs: usize,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Where one chain of an incident is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Endpoint {
    Blockscout(String),
    /// Etherscan API v2 (key from $ETHERSCAN_API_KEY).
    Etherscan,
    Esplora(String),
}

impl Endpoint {
    /// The base URL (as the user would recognise it).
    fn url(&self) -> &str {
        match self {
            Endpoint::Blockscout(u) | Endpoint::Esplora(u) => u,
            Endpoint::Etherscan => ETHERSCAN_URL,
        }
    }

    /// One cheap request that any live instance answers.
    fn probe_url(&self) -> String {
        match self {
            Endpoint::Blockscout(u) => format!("{u}?module=block&action=eth_block_number"),
            Endpoint::Etherscan => {
                format!("{ETHERSCAN_URL}?chainid=1&module=proxy&action=eth_blockNumber")
            }
            Endpoint::Esplora(u) => format!("{}/blocks/tip/height", u.trim_end_matches('/')),
        }
    }

    /// The source flags a `trace` with this endpoint would be given.
    fn source_args(&self) -> SourceArgs {
        let mut s = SourceArgs {
            rpc_url: None,
            etherscan: false,
            blockscout_url: None,
            esplora_url: None,
            bitcoind_url: None,
        };
        match self {
            Endpoint::Blockscout(u) => s.blockscout_url = Some(u.clone()),
            Endpoint::Etherscan => s.etherscan = true,
            Endpoint::Esplora(u) => s.esplora_url = Some(u.clone()),
        }
        s
    }
}

/// One (incident, chain) to trace, or why not.
struct Job {
    incident: String,
    /// `None`: the incident as a whole (it has no seeds).
    chain: Option<String>,
    what: Result<(Chain, Endpoint), String>,
}

/// The default source of `chain`, given the overrides (`--blockscout-url`, `--esplora-url`)
/// and whether an Etherscan key is set.
fn endpoint_for(
    chain: Chain,
    blockscout_url: Option<&str>,
    esplora_url: Option<&str>,
    etherscan_key: bool,
) -> std::result::Result<Endpoint, String> {
    match chain {
        Chain::Bitcoin(network) => Ok(Endpoint::Esplora(
            esplora_url
                .unwrap_or(bitcoin_cmd::default_esplora_url(network))
                .to_string(),
        )),
        Chain::Evm(_) => {
            if let Some(u) = blockscout_url {
                return Ok(Endpoint::Blockscout(u.to_string()));
            }
            if etherscan_key {
                return Ok(Endpoint::Etherscan);
            }
            BLOCKSCOUT_INSTANCES
                .iter()
                .find(|(c, _)| *c == chain)
                .map(|(_, u)| Endpoint::Blockscout(u.to_string()))
                .ok_or_else(|| format!("no keyless source for {chain}, set {DEFAULT_API_KEY_ENV}"))
        }
    }
}

/// The jobs of `incidents`: one per chain holding seeds; incidents without seeds, and chains
/// of an incident moneytrail cannot read, as jobs that say why.
fn plan(incidents: &[Incident], a: &ReproduceArgs, etherscan_key: bool) -> Vec<Job> {
    let mut jobs = Vec::new();
    for inc in incidents {
        let seed_chains = inc.seed_chains();
        if seed_chains.is_empty() {
            jobs.push(Job {
                incident: inc.id.clone(),
                chain: None,
                what: Err("no seed addresses in the catalog".into()),
            });
        }
        for chain in &seed_chains {
            jobs.push(Job {
                incident: inc.id.clone(),
                chain: Some(chain.to_string()),
                what: endpoint_for(
                    *chain,
                    a.blockscout_url.as_deref(),
                    a.esplora_url.as_deref(),
                    etherscan_key,
                )
                .map(|e| (*chain, e)),
            });
        }
        // chains the incident moved funds on that moneytrail cannot read (tron, solana, …)
        for name in &inc.chains {
            if name.starts_with('+') {
                continue;
            }
            if name.parse::<Chain>().is_err() {
                jobs.push(Job {
                    incident: inc.id.clone(),
                    chain: Some(name.clone()),
                    what: Err(format!("unsupported chain {name}")),
                });
            }
        }
    }
    jobs
}

/// Why `url` could not be reached, in a few words.
fn probe_cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", PROBE_TIMEOUT.as_secs());
    }
    // the innermost cause says it best ("Connection refused (os error 111)", a DNS failure)
    let mut inner: &dyn std::error::Error = e;
    while let Some(s) = inner.source() {
        inner = s;
    }
    inner.to_string()
}

/// The documented message of an unreachable endpoint (docs/formats.md "Reproduce").
pub(crate) fn unreachable_message(url: &str, cause: &str) -> String {
    format!(
        "cannot reach {url} ({cause}); reproduce needs network access to the public explorers \
         — run `moneytrail demo` to see moneytrail work offline"
    )
}

/// Probe every endpoint at once, each with one request bounded by [`PROBE_TIMEOUT`]; any HTTP
/// answer counts as reached. The first unreachable one (in `endpoints` order) is the error.
fn probe_all(endpoints: &[Endpoint]) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .connect_timeout(PROBE_TIMEOUT)
        .timeout(PROBE_TIMEOUT)
        .user_agent(concat!("moneytrail/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let results = rt.block_on(async {
        let probes = endpoints.iter().map(|e| {
            let client = client.clone();
            let url = e.probe_url();
            async move {
                let r = client.get(&url).send().await;
                // the answer is not read: reaching the server is all the probe asks
                r.map(|_| ())
            }
        });
        futures_util::future::join_all(probes).await
    });
    for (e, r) in endpoints.iter().zip(results) {
        if let Err(err) = r {
            anyhow::bail!(unreachable_message(e.url(), &probe_cause(&err)));
        }
    }
    Ok(())
}

/// The HTML report of one trace directory.
fn write_report(trace_dir: &Path, lines: &[EstimateLine]) -> Result<PathBuf> {
    let view = TraceView::read(trace_dir)
        .with_context(|| format!("reading {} back for its report", trace_dir.display()))?;
    let html = render_html(
        &view,
        &HtmlOptions {
            title: None,
            node_budget: DEFAULT_HTML_NODES,
            estimates: lines,
        },
    );
    let p = trace_dir.join("report.html");
    std::fs::write(&p, html).with_context(|| format!("writing {}", p.display()))?;
    Ok(p)
}

/// `moneytrail reproduce`.
pub(crate) fn reproduce_cmd(cli: &Cli, a: &ReproduceArgs) -> Result<()> {
    let model: ModelKind = a
        .model
        .parse()
        .map_err(|e: trace::ModelError| bad(e.to_string()))?;
    if let Some(y) = a.year {
        if !(2009..=2100).contains(&y) {
            return Err(bad(format!("invalid --year {y}")));
        }
    }
    if a.out.exists() && !a.out.is_dir() {
        return Err(bad(format!(
            "--out {} exists and is not a directory",
            a.out.display()
        )));
    }
    let cat = catalog(cli)?;
    let all = cat.incidents()?;
    if let Some(id) = &a.incident {
        let inc = all.iter().find(|i| &i.id == id).ok_or_else(|| {
            bad(format!(
                "unknown incident '{id}' (see `moneytrail incidents list`)"
            ))
        })?;
        if let Some(y) = a.year.filter(|y| *y != inc.year()) {
            return Err(bad(format!(
                "incident '{id}' is of {}, not of --year {y}",
                inc.year()
            )));
        }
    }
    let scope: Vec<Incident> = all
        .iter()
        .filter(|i| a.year.is_none_or(|y| i.year() == y))
        .filter(|i| a.incident.as_ref().is_none_or(|o| &i.id == o))
        .cloned()
        .collect();
    if scope.is_empty() {
        let mut years: Vec<i32> = all.iter().map(Incident::year).collect();
        years.sort_unstable();
        years.dedup();
        return Err(bad(format!(
            "no catalogued incident in {} (the catalog has incidents of {}; see `moneytrail \
             incidents list`)",
            a.year.map(|y| y.to_string()).unwrap_or_default(),
            years
                .iter()
                .map(|y| y.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }

    let etherscan_key = std::env::var(DEFAULT_API_KEY_ENV).is_ok_and(|k| !k.trim().is_empty());
    let jobs = plan(&scope, a, etherscan_key);
    let mut endpoints: Vec<Endpoint> = Vec::new();
    for j in &jobs {
        if let Ok((_, e)) = &j.what {
            if !endpoints.contains(e) {
                endpoints.push(e.clone());
            }
        }
    }
    // reachability first: no network, no fetch (and an answer within seconds)
    probe_all(&endpoints)?;

    let mut store = open_store(&cli.db)?;
    labels::sync_catalog_labels(&mut store, &cat).context("loading the catalog's labels")?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let opts = SourceOptions {
        rate: a.rate,
        api_key_env: None,
        etherscan_url: None,
        discovery: None,
        internal: None,
        bitcoind_cookie: None,
        confirmations: 1,
        max_txs: a.max_txs,
    };
    let say = |s: String| -> Result<()> {
        if !cli.quiet {
            eprintln!("{s}");
        }
        Ok(())
    };
    // per incident: chains traced in this run, and (chain, reason) of those not
    let mut traced: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failed: BTreeMap<String, Vec<(Option<String>, String)>> = BTreeMap::new();
    let mut lines = Vec::new();
    let mut reports: Vec<(i32, PathBuf)> = Vec::new();
    for j in &jobs {
        let (chain, endpoint) = match &j.what {
            Ok(x) => x.clone(),
            Err(why) => {
                failed
                    .entry(j.incident.clone())
                    .or_default()
                    .push((j.chain.clone(), why.clone()));
                let on = j
                    .chain
                    .as_ref()
                    .map(|c| format!(" on {c}"))
                    .unwrap_or_default();
                lines.push(format!("  {}{on}: not traced: {why}", j.incident));
                continue;
            }
        };
        let inc = scope
            .iter()
            .find(|i| i.id == j.incident)
            .expect("planned from the scope");
        let dir = a.out.join(&j.incident).join(chain.to_string());
        say(format!(
            "{} on {chain}: fetching from {} …",
            j.incident,
            endpoint.url()
        ))?;
        let source = endpoint.source_args();
        let job = TraceJob {
            follow: moneytrail::trace::Follow::default(),
            bridge_sources: Vec::new(),
            chain,
            seeds: inc.seeds(chain),
            model,
            incident: Some(inc.id.clone()),
            theft_txs: Vec::new(),
            from_block: inc.start_blocks.get(&chain.to_string()).copied(),
            max_hops: a.max_hops,
            fetch_hops: a.fetch_hops,
            min_value: None,
            limits: &a.limits,
            source: Some((&source, &opts)),
            out: &dir,
            parquet: true,
            progress: !cli.quiet,
        };
        match run_trace(&mut store, &job) {
            Ok(done) => {
                let mut line = format!(
                    "  {} on {chain}: traced ({} transfers, run {}) → {}",
                    j.incident,
                    done.result.graph.flows.len(),
                    done.run_id,
                    dir.display()
                );
                if !done.result.conservation_ok {
                    line.push_str(" — conservation check FAILED");
                }
                lines.push(line);
                let year = all.iter().find(|i| i.id == j.incident).map(|i| i.year());
                reports.push((year.unwrap_or(0), dir.clone()));
                traced
                    .entry(j.incident.clone())
                    .or_default()
                    .push(chain.to_string());
            }
            Err(e) => {
                let why = format!(
                    "failed: {}",
                    e.chain()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(": ")
                );
                say(format!("{} on {chain}: {why}", j.incident))?;
                lines.push(format!("  {} on {chain}: not traced: {why}", j.incident));
                failed
                    .entry(j.incident.clone())
                    .or_default()
                    .push((Some(chain.to_string()), why));
            }
        }
    }

    let sums = totals::Scope {
        model: model.as_str(),
        year: a.year,
        incident: a.incident.as_deref(),
    };
    let mut t = totals::from_store(&store, &all, &cat.estimates()?, sums)
        .context("reading the recorded trace runs and prices")?;
    note_failures(&mut t, &failed);
    let est = totals::estimate_lines(&t);
    for (year, dir) in &reports {
        let mine: Vec<EstimateLine> = est.iter().filter(|l| l.year == *year).cloned().collect();
        match write_report(dir, &mine) {
            Ok(p) => lines.push(format!("  report {}", p.display())),
            Err(e) => lines.push(format!("  report of {} not written: {e:#}", dir.display())),
        }
    }
    let tot_dir = a.out.join("totals");
    write_totals(&t, &tot_dir)?;
    if !cli.quiet {
        let mut s = format!(
            "moneytrail reproduce: {} incident(s) in scope, {} traced in this run\n{}\n\n",
            scope.len(),
            traced.len(),
            lines.join("\n")
        );
        s.push_str(&totals_out::totals_text(&t));
        s.push_str(&format!(
            "\nwritten to {}: one directory per incident and chain, totals/ (CSV, Parquet, \
             totals.json)\n",
            a.out.display()
        ));
        emit(&s)?;
    }
    if traced.is_empty() {
        anyhow::bail!(
            "no incident could be traced ({} in scope; the reasons are listed above)",
            scope.len()
        );
    }
    Ok(())
}

/// Add this run's reasons to the rows of the incidents it could not (fully) trace.
fn note_failures(t: &mut Totals, failed: &BTreeMap<String, Vec<(Option<String>, String)>>) {
    for row in &mut t.incidents {
        let Some(f) = failed.get(&row.incident) else {
            continue;
        };
        let ours = f
            .iter()
            .map(|(c, why)| match c {
                Some(c) => format!("{c}: {why}"),
                None => why.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        row.reason = if row.status == "not traced" || row.reason.is_empty() {
            ours
        } else {
            format!("{}; {ours}", row.reason)
        };
    }
}

/// OUT/totals/: the three tables as CSV and Parquet, and totals.json.
fn write_totals(t: &Totals, dir: &Path) -> Result<()> {
    let all = totals_out::TotalsFiles {
        json: true,
        csv: true,
        parquet: true,
    };
    totals_out::write_files(t, dir, all)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_sources_per_chain() {
        let ep = |c: &str, key| endpoint_for(c.parse().unwrap(), None, None, key);
        assert_eq!(
            ep("ethereum", false),
            Ok(Endpoint::Blockscout(
                "https://eth.blockscout.com/api".into()
            ))
        );
        assert_eq!(
            ep("arbitrum", false),
            Ok(Endpoint::Blockscout(
                "https://arbitrum.blockscout.com/api".into()
            ))
        );
        assert_eq!(
            ep("bitcoin", false),
            Ok(Endpoint::Esplora("https://mempool.space/api".into()))
        );
        assert_eq!(
            ep("bsc", false),
            Err("no keyless source for bsc, set ETHERSCAN_API_KEY".into())
        );
        // a key: Etherscan for every EVM chain; Bitcoin unchanged
        assert_eq!(ep("ethereum", true), Ok(Endpoint::Etherscan));
        assert_eq!(ep("bsc", true), Ok(Endpoint::Etherscan));
        assert_eq!(
            ep("bitcoin", true),
            Ok(Endpoint::Esplora("https://mempool.space/api".into()))
        );
        // overrides win, also over a key
        let local = "http://127.0.0.1:1/api";
        for c in ["ethereum", "bsc", "harmony"] {
            assert_eq!(
                endpoint_for(c.parse().unwrap(), Some(local), None, true),
                Ok(Endpoint::Blockscout(local.into()))
            );
        }
        assert_eq!(
            endpoint_for(Chain::BITCOIN, Some(local), Some("http://e/api"), true),
            Ok(Endpoint::Esplora("http://e/api".into()))
        );
    }

    #[test]
    fn probe_urls() {
        assert_eq!(
            Endpoint::Blockscout("https://eth.blockscout.com/api".into()).probe_url(),
            "https://eth.blockscout.com/api?module=block&action=eth_block_number"
        );
        assert_eq!(
            Endpoint::Esplora("https://mempool.space/api/".into()).probe_url(),
            "https://mempool.space/api/blocks/tip/height"
        );
        assert!(
            Endpoint::Etherscan
                .probe_url()
                .contains("action=eth_blockNumber")
        );
        assert!(!Endpoint::Etherscan.probe_url().contains("apikey"));
    }
}
