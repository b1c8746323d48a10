//! `moneytrail import`: offline import of chain exports (ethereum-etl / BigQuery
//! `crypto_ethereum` tables, bitcoin-etl / BigQuery `crypto_bitcoin` transactions), CSV, JSON or
//! Parquet. Flags and printing only; the work is in `fetch::ethereum_etl` and
//! `fetch::bitcoin_etl`.

use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;

use moneytrail::fetch::ethereum_etl::{self, EthImportOptions, EthTable};
use moneytrail::model::Chain;

use crate::{Cli, Format, bad, emit, open_store, parse_chain, print_json};

/// `moneytrail import`.
#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// Export format.
    #[arg(long, value_enum)]
    format: ImportFormat,
    /// Chain of the export (default: ethereum for ethereum-etl, bitcoin for bitcoin-etl;
    /// bitcoin-testnet, evm:<chain id> …).
    #[arg(long)]
    chain: Option<String>,
    /// ethereum-etl: every PATH holds this table (blocks, transactions, receipts, traces, logs,
    /// token_transfers, tokens) instead of telling each file's table by its columns.
    #[arg(long)]
    table: Option<String>,
    /// Files: CSV or Parquet tables (ethereum-etl); JSON Lines, a JSON array or Parquet
    /// (bitcoin-etl).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportFormat {
    /// ethereum-etl / BigQuery `crypto_ethereum` tables (CSV or Parquet, one file per table).
    EthereumEtl,
    /// bitcoin-etl `transactions.json` / BigQuery `crypto_bitcoin.transactions` (JSON or
    /// Parquet).
    BitcoinEtl,
}

/// `moneytrail import`.
pub(crate) fn import(cli: &Cli, a: &ImportArgs) -> Result<()> {
    for p in &a.paths {
        if !p.is_file() {
            return Err(bad(format!("{} is not a readable file", p.display())));
        }
    }
    match a.format {
        ImportFormat::EthereumEtl => ethereum(cli, a),
        ImportFormat::BitcoinEtl => bitcoin(cli, a),
    }
}

fn ethereum(cli: &Cli, a: &ImportArgs) -> Result<()> {
    let chain = parse_chain(a.chain.as_deref().unwrap_or("ethereum"))?;
    if !chain.is_evm() {
        return Err(bad(format!(
            "--format ethereum-etl imports an EVM chain; {chain} is not one"
        )));
    }
    let table = a
        .table
        .as_deref()
        .map(|t| t.parse::<EthTable>().map_err(|e| bad(e.to_string())))
        .transpose()?;
    let mut store = open_store(&cli.db)?;
    let opts = EthImportOptions {
        table,
        ..Default::default()
    };
    let rep = ethereum_etl::import_files(&mut store, chain, &a.paths, &opts)?;
    match a.output {
        Format::Json => print_json(&rep)?,
        Format::Table if !cli.quiet => {
            use std::fmt::Write;
            let mut s = String::new();
            for f in &rep.files {
                let _ = writeln!(s, "{}: {} rows of {}", f.path, f.rows, f.table);
            }
            let kinds = rep
                .by_kind
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                s,
                "imported {} transactions: {} transfers ({}), {} new; {} reverted (fee only)",
                rep.transactions,
                rep.transfers_read,
                if kinds.is_empty() { "none" } else { &kinds },
                rep.transfers_new,
                rep.reverted
            );
            for n in &rep.notes {
                let _ = writeln!(s, "note: {n}");
            }
            emit(&s)?
        }
        Format::Table => {}
    }
    Ok(())
}

fn bitcoin(cli: &Cli, a: &ImportArgs) -> Result<()> {
    let chain = parse_chain(a.chain.as_deref().unwrap_or("bitcoin"))?;
    let Chain::Bitcoin(network) = chain else {
        return Err(bad(format!(
            "--format bitcoin-etl imports Bitcoin; {chain} is not a Bitcoin chain"
        )));
    };
    if a.table.is_some() {
        return Err(bad(
            "--table names an ethereum-etl table; bitcoin-etl has one table (transactions)",
        ));
    }
    let mut store = open_store(&cli.db)?;
    let rep = moneytrail::fetch::bitcoin_etl::import_files(&mut store, network, &a.paths)?;
    match a.output {
        Format::Json => print_json(&rep)?,
        Format::Table if !cli.quiet => emit(&format!(
            "imported {} transactions from {} file(s): {} new, {} unconfirmed skipped\n",
            rep.txs_read, rep.files, rep.txs_new, rep.txs_unconfirmed
        ))?,
        Format::Table => {}
    }
    Ok(())
}
