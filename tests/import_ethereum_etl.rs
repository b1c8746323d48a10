//! `import --format ethereum-etl` against a real anvil chain: the test reads the chain off the
//! node, writes it as ethereum-etl / BigQuery `crypto_ethereum` tables with polars (CSV and
//! Parquet, the published column schemas), imports them, and the store must equal the
//! scenario's ground truth exactly and what `fetch --rpc-url` stores; re-importing, or
//! importing after a fetch, adds nothing. Partial exports (tables one at a time, no logs, no
//! receipts) do what the report says; bad input is one line naming file, row and value, exit 2,
//! and stores nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::eth_etl::{self, Export, Style, Tab};
use common::evm_scenario::{self, CHAIN, Scenario};
use moneytrail::fetch::FetchError;
use moneytrail::fetch::ethereum_etl::{EthImportOptions, EthImportReport, EthTable, import_files};
use moneytrail::model::{AssetId, SubIndex, Transfer};
use moneytrail::store::Store;
use serde_json::Value;

fn moneytrail(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("MONEYTRAIL_CATALOG")
        .env_remove("MONEYTRAIL_DB")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_same(got: &[Transfer], want: &[Transfer], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: transfer #{i} differs");
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} transfers, expected {}",
        got.len(),
        want.len()
    );
}

fn import(db: &Path, files: &[PathBuf], table: Option<EthTable>) -> EthImportReport {
    let mut store = Store::open(db).unwrap();
    let opts = EthImportOptions {
        table,
        // small batches: several commits even on this small chain
        batch: 16,
        ..Default::default()
    };
    import_files(&mut store, CHAIN, files, &opts).unwrap()
}

fn assets(db: &Path, sc: &Scenario) -> Vec<(String, u8)> {
    let store = Store::open(db).unwrap();
    ["TKN", "B32"]
        .iter()
        .map(|n| {
            let a = store
                .asset(CHAIN, AssetId::Token(evm_scenario::evm(sc.addr(n))))
                .unwrap()
                .unwrap_or_else(|| panic!("no asset {n}"));
            (a.symbol, a.decimals)
        })
        .collect()
}

/// Write the tables of `e` named in `which` into `dir` as CSV or Parquet.
fn write(e: &Export, style: Style, parquet: bool, dir: &Path, which: &[&str]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    which
        .iter()
        .map(|name| {
            let t: &Tab = match *name {
                "blocks" => &e.blocks,
                "transactions" => &e.transactions,
                "receipts" => &e.receipts,
                "traces" => &e.traces,
                "logs" => &e.logs,
                "token_transfers" => &e.token_transfers,
                "tokens" => &e.tokens,
                other => panic!("{other}"),
            };
            if parquet {
                eth_etl::write_parquet(t, style, &dir.join(format!("{name}.parquet")))
            } else {
                eth_etl::write_csv(t, style, &dir.join(format!("{name}.csv")))
            }
        })
        .collect()
}

const ALL: &[&str] = &[
    "transactions",
    "receipts",
    "traces",
    "logs",
    "token_transfers",
    "tokens",
];

fn fetch_all(sc: &Scenario, db: &Path) {
    let seeds = sc.all_addresses().join(",");
    let o = moneytrail(
        db,
        &[
            "fetch",
            "--chain",
            "evm:31337",
            "--rpc-url",
            &sc.anvil.url,
            "--seed",
            &seeds,
            "--hops",
            "0",
            "--rate",
            "2000",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "fetch failed: {}", stderr(&o));
}

#[test]
fn csv_and_parquet_exports_import_to_the_ground_truth_and_agree_with_the_fetch() {
    let sc = evm_scenario::build();
    let dir = tempfile::tempdir().unwrap();
    let etl = eth_etl::export(&sc.anvil, Style::Etl);
    let bq = eth_etl::export(&sc.anvil, Style::BigQuery);
    assert!(
        bq.transactions
            .cols
            .iter()
            .any(|(n, _)| n == "receipt_status")
    );
    let mut sets: Vec<(&str, Vec<PathBuf>)> = vec![
        (
            "ethereum-etl CSV",
            write(&etl, Style::Etl, false, &dir.path().join("etl-csv"), ALL),
        ),
        (
            "ethereum-etl Parquet",
            write(&etl, Style::Etl, true, &dir.path().join("etl-pq"), ALL),
        ),
    ];
    // BigQuery: transactions carry the receipt, no receipts table
    let bq_tables = [
        "transactions",
        "traces",
        "logs",
        "token_transfers",
        "tokens",
    ];
    sets.push((
        "BigQuery Parquet",
        write(
            &bq,
            Style::BigQuery,
            true,
            &dir.path().join("bq-pq"),
            &bq_tables,
        ),
    ));
    // BigQuery's CSV export cannot hold the logs' topics array: logs from ethereum-etl
    let mut bq_csv = write(
        &bq,
        Style::BigQuery,
        false,
        &dir.path().join("bq-csv"),
        &["transactions", "traces", "token_transfers", "tokens"],
    );
    bq_csv.extend(write(
        &etl,
        Style::Etl,
        false,
        &dir.path().join("bq-csv-logs"),
        &["logs"],
    ));
    sets.push(("BigQuery CSV", bq_csv));

    for (i, (what, files)) in sets.iter().enumerate() {
        let db = dir.path().join(format!("import{i}.db"));
        let rep = import(&db, files, None);
        let got = Store::open(&db).unwrap().transfers(CHAIN).unwrap();
        assert_same(&got, &sc.truth, what);
        assert_eq!(rep.transfers_new, sc.truth.len() as u64, "{what}");
        assert_eq!(rep.transactions, sc.txs.len() as u64, "{what}");
        assert_eq!(
            rep.reverted, 1,
            "{what}: the reverted transaction pays its fee only"
        );
        assert_eq!(
            (rep.fee_unknown, rep.status_unknown, rep.placed_from_store),
            (0, 0, 0),
            "{what}"
        );
        assert_eq!(rep.token_rows_not_erc20, 1, "{what}: the ERC-721 mint");
        assert_eq!(rep.token_rows_unchecked, 0, "{what}");
        assert!(rep.notes.is_empty(), "{what}: {:?}", rep.notes);
        assert_eq!(
            assets(&db, &sc),
            vec![("TKN".to_string(), 6), ("B32".to_string(), 18)],
            "{what}"
        );
        // every kind of transfer is there
        for k in ["fee", "native", "internal", "token"] {
            assert!(
                rep.by_kind.get(k).copied().unwrap_or(0) > 0,
                "{what}: no {k}"
            );
        }
        // idempotent
        let again = import(&db, files, None);
        assert_eq!(again.transfers_new, 0, "{what}: re-import");
        assert_eq!(again.transfers_read, rep.transfers_read, "{what}");
    }

    // the command line, and the JSON-RPC fetcher storing the very same rows
    let fetched = dir.path().join("fetched.db");
    fetch_all(&sc, &fetched);
    let f = Store::open(&fetched).unwrap().transfers(CHAIN).unwrap();
    assert_same(&f, &sc.truth, "fetch --rpc-url");
    let before_assets = assets(&fetched, &sc);
    for (what, files) in &sets {
        let mut args = vec![
            "import",
            "--format",
            "ethereum-etl",
            "--chain",
            "evm:31337",
            "--output",
            "json",
        ];
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        args.extend(paths.iter().map(String::as_str));
        let o = moneytrail(&fetched, &args);
        assert!(o.status.success(), "{what}: {}", stderr(&o));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            r["transfers_new"], 0,
            "{what}: import after fetch adds nothing"
        );
        assert_eq!(r["transfers_read"], sc.truth.len() as u64, "{what}");
    }
    let after = Store::open(&fetched).unwrap().transfers(CHAIN).unwrap();
    assert_same(&after, &sc.truth, "fetch, then import");
    assert_eq!(assets(&fetched, &sc), before_assets);

    // and a fetch after an import stores nothing new
    let imported = dir.path().join("import0.db");
    let o = moneytrail(
        &imported,
        &[
            "fetch",
            "--chain",
            "evm:31337",
            "--rpc-url",
            &sc.anvil.url,
            "--seed",
            &sc.all_addresses().join(","),
            "--hops",
            "0",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["transfers_stored"], 0, "fetch after import: {r}");
}

#[test]
fn partial_exports_do_what_the_report_says() {
    let sc = evm_scenario::build();
    let dir = tempfile::tempdir().unwrap();
    let etl = eth_etl::export(&sc.anvil, Style::Etl);
    let csv =
        |which: &[&str], sub: &str| write(&etl, Style::Etl, false, &dir.path().join(sub), which);

    // transactions alone: no fee (no receipt), no value (success unknown) — said, not guessed
    let db = dir.path().join("steps.db");
    let rep = import(&db, &csv(&["transactions"], "tx-only"), None);
    assert_eq!(rep.fee_unknown, sc.txs.len() as u64);
    assert_eq!(rep.status_unknown, sc.txs.len() as u64);
    assert_eq!(rep.transfers_new, 0);
    assert_eq!(rep.notes.len(), 2, "{:?}", rep.notes);
    // with the receipts: fees and values; then one table at a time, named with --table, each
    // placed by the transactions already stored
    let rep = import(&db, &csv(&["transactions", "receipts"], "both"), None);
    assert_eq!((rep.fee_unknown, rep.status_unknown), (0, 0));
    for (t, name) in [(EthTable::Traces, "traces"), (EthTable::Logs, "logs")] {
        let rep = import(&db, &csv(&[name], name), Some(t));
        assert!(rep.placed_from_store > 0, "{name}");
        assert_eq!(rep.transactions, 0, "{name}");
    }
    // token_transfers with the logs that check them: nothing new
    let rep = import(&db, &csv(&["logs", "token_transfers"], "tt"), None);
    assert_eq!(rep.transfers_new, 0);
    assert_eq!(rep.token_rows_not_erc20, 1);
    let got = Store::open(&db).unwrap().transfers(CHAIN).unwrap();
    assert_same(&got, &sc.truth, "tables one at a time");
    // without tokens the assets are recorded unknown, as a fetcher does without metadata
    let store = Store::open(&db).unwrap();
    let tkn = store
        .asset(CHAIN, AssetId::Token(evm_scenario::evm(sc.addr("TKN"))))
        .unwrap()
        .unwrap();
    assert_eq!((tkn.symbol.as_str(), tkn.decimals), ("UNKNOWN", 18));
    drop(store);
    // a later fetch replaces UNKNOWN with the token's own metadata
    fetch_all(&sc, &db);
    assert_eq!(
        assets(&db, &sc),
        vec![("TKN".to_string(), 6), ("B32".to_string(), 18)]
    );

    // token_transfers without logs: the ERC-721 mint is taken as a token transfer, and said
    let db = dir.path().join("nologs.db");
    let files = csv(
        &["transactions", "receipts", "traces", "token_transfers"],
        "nologs",
    );
    let rep = import(&db, &files, None);
    assert_eq!(rep.token_rows_unchecked, etl.token_transfers.len() as u64);
    assert!(
        rep.notes.iter().any(|n| n.contains("ERC-721")),
        "{:?}",
        rep.notes
    );
    let got = Store::open(&db).unwrap().transfers(CHAIN).unwrap();
    let nft = evm_scenario::evm(sc.addr("NFT"));
    let extra: Vec<&Transfer> = got.iter().filter(|t| !sc.truth.contains(t)).collect();
    assert_eq!(extra.len(), 1, "{extra:?}");
    assert_eq!(extra[0].asset, AssetId::Token(nft));
    assert!(matches!(extra[0].sub, SubIndex::Log(_)));
    assert_eq!(got.len(), sc.truth.len() + 1);

    // receipts missing: the CLI prints what was not imported
    let db = dir.path().join("noreceipts.db");
    let files = csv(&["transactions", "traces", "logs"], "noreceipts");
    let mut args = vec!["import", "--format", "ethereum-etl", "--chain", "evm:31337"];
    let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let o = moneytrail(&db, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("without receipt facts"), "{out}");
    // the traces' root frames tell success, so values and internal transfers are there
    let got = Store::open(&db).unwrap().transfers(CHAIN).unwrap();
    let want: Vec<Transfer> = sc
        .truth
        .iter()
        .filter(|t| t.sub != SubIndex::Fee)
        .cloned()
        .collect();
    assert_same(&got, &want, "no receipts: everything but the fees");
}

/// A small valid ethereum-etl transactions + receipts pair, written by hand.
const TX_HEADER: &str = "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp,max_fee_per_gas,max_priority_fee_per_gas,transaction_type";
const TX_ROW: &str = "0x1111111111111111111111111111111111111111111111111111111111111111,0,0x2222222222222222222222222222222222222222222222222222222222222222,5,0,0x70997970c51812dc3a010c7d01b50e0d17dc79c8,0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc,1000000000000000000,21000,1000000000,0x,1700000000,,,0";
const RC_HEADER: &str = "transaction_hash,transaction_index,block_hash,block_number,cumulative_gas_used,gas_used,contract_address,root,status,effective_gas_price";
const RC_ROW: &str = "0x1111111111111111111111111111111111111111111111111111111111111111,0,0x2222222222222222222222222222222222222222222222222222222222222222,5,21000,21000,,,1,1000000000";

#[test]
fn bad_input_is_one_line_naming_file_row_and_value_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let put = |name: &str, text: String| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let good_tx = put("tx.csv", format!("{TX_HEADER}\n{TX_ROW}\n"));
    let good_rc = put("rc.csv", format!("{RC_HEADER}\n{RC_ROW}\n"));
    // the good pair imports: fee and value
    let db = d.join("ok.db");
    let rep = import(&db, &[good_tx.clone(), good_rc.clone()], None);
    assert_eq!(rep.transfers_new, 2);

    let bad_row = |name: &str, from: &str, to: &str| {
        put(
            name,
            format!("{TX_HEADER}\n{}\n", TX_ROW.replacen(from, to, 1)),
        )
    };
    let cases: Vec<(PathBuf, Vec<&str>)> = vec![
        (d.join("missing.csv"), vec!["missing.csv"]),
        (
            put("layout.csv", "a,b\n1,2\n".into()),
            vec!["layout.csv", "unknown column layout"],
        ),
        (put("empty.csv", String::new()), vec!["empty.csv", "empty"]),
        (
            bad_row(
                "hash.csv",
                "0x1111111111111111111111111111111111111111111111111111111111111111",
                "0x11zz",
            ),
            vec!["hash.csv", "row 1", "0x11zz"],
        ),
        (
            bad_row(
                "addr.csv",
                "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                "0x70997970c51812dc3a010c7d01b50e0d17dc79",
            ),
            vec![
                "addr.csv",
                "row 1",
                "from_address",
                "0x70997970c51812dc3a010c7d01b50e0d17dc79",
            ],
        ),
        (
            bad_row(
                "checksum.csv",
                "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                "0x70997970C51812dc3A010C7d01b50e0d17dc79c8",
            ),
            vec!["checksum.csv", "row 1", "EIP-55"],
        ),
        (
            bad_row("neg.csv", "1000000000000000000", "-1000000000000000000"),
            vec!["neg.csv", "row 1", "value", "-1000000000000000000"],
        ),
        (
            bad_row("frac.csv", "1000000000000000000", "1.5"),
            vec!["frac.csv", "row 1", "'1.5'"],
        ),
        (
            bad_row("huge.csv", "1000000000000000000", &"9".repeat(79)),
            vec!["huge.csv", "row 1", "256 bits"],
        ),
    ];
    for (path, want) in &cases {
        let db = d.join("bad.db");
        let o = moneytrail(
            &db,
            &[
                "import",
                "--format",
                "ethereum-etl",
                &path.display().to_string(),
            ],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", path.display());
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        for w in want {
            assert!(err.contains(w), "{}: '{w}' not in {err}", path.display());
        }
        if db.exists() {
            assert_eq!(Store::open(&db).unwrap().count_transfers().unwrap(), 0);
        }
    }

    // rows are checked in parallel chunks: the first bad row is the one named
    let mut text = String::from(TX_HEADER);
    text.push('\n');
    for i in 0..70_000u32 {
        let row = TX_ROW.replacen(
            "0x1111111111111111111111111111111111111111111111111111111111111111",
            &format!("0x{i:064x}"),
            1,
        );
        let row = match i {
            39_999 => row.replacen("1000000000000000000", "-7", 1),
            68_999 => row.replacen("1000000000000000000", "-8", 1),
            _ => row,
        };
        text.push_str(&row);
        text.push('\n');
    }
    let many = put("many.csv", text);
    let mut store = Store::open_in_memory().unwrap();
    let e = import_files(&mut store, CHAIN, &[many], &EthImportOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("many.csv: row 40000: value '-7'"),
        "{e}"
    );

    // a bad row in the second file: nothing of the first is stored
    let bad_rc = put(
        "rc-bad.csv",
        format!(
            "{RC_HEADER}\n{}\n",
            RC_ROW.replace(",1,1000000000", ",yes,1000000000")
        ),
    );
    let mut store = Store::open_in_memory().unwrap();
    let e = import_files(
        &mut store,
        CHAIN,
        &[good_tx.clone(), bad_rc],
        &EthImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, FetchError::BadInput(_)), "{e}");
    assert!(
        e.to_string().contains("rc-bad.csv: row 1: status 'yes'"),
        "{e}"
    );
    assert_eq!(store.count_transfers().unwrap(), 0);

    // a token transfer of a transaction nobody gave
    let tt = put(
        "tt.csv",
        "token_address,from_address,to_address,value,transaction_hash,log_index,block_number\n0x5fbdb2315678afecb367f032d93f642f64180aa3,0x70997970c51812dc3a010c7d01b50e0d17dc79c8,0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc,5,0x9999999999999999999999999999999999999999999999999999999999999999,3,7\n".into(),
    );
    let e = import_files(&mut store, CHAIN, &[tt], &EthImportOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("tt.csv: row 1: transaction 0x9999"),
        "{e}"
    );

    // --table naming a table the columns do not fit; a Bitcoin chain; a floating-point value
    let o = moneytrail(
        &d.join("t.db"),
        &[
            "import",
            "--format",
            "ethereum-etl",
            "--table",
            "traces",
            &good_tx.display().to_string(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a traces table"), "{}", stderr(&o));
    let o = moneytrail(
        &d.join("t.db"),
        &[
            "import",
            "--format",
            "ethereum-etl",
            "--table",
            "nope",
            &good_tx.display().to_string(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown table 'nope'"),
        "{}",
        stderr(&o)
    );
    let o = moneytrail(
        &d.join("t.db"),
        &[
            "import",
            "--format",
            "ethereum-etl",
            "--chain",
            "bitcoin",
            &good_tx.display().to_string(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let mut df = polars::prelude::DataFrame::new(
        1,
        vec![
            polars::prelude::Column::new(
                "hash".into(),
                ["0x1111111111111111111111111111111111111111111111111111111111111111"],
            ),
            polars::prelude::Column::new("block_number".into(), [5i64]),
            polars::prelude::Column::new("transaction_index".into(), [0i64]),
            polars::prelude::Column::new(
                "from_address".into(),
                ["0x70997970c51812dc3a010c7d01b50e0d17dc79c8"],
            ),
            polars::prelude::Column::new(
                "to_address".into(),
                ["0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"],
            ),
            polars::prelude::Column::new("value".into(), [1.0e18f64]),
        ],
    )
    .unwrap();
    let pq = d.join("float.parquet");
    polars::prelude::ParquetWriter::new(std::fs::File::create(&pq).unwrap())
        .finish(&mut df)
        .unwrap();
    let e = import_files(&mut store, CHAIN, &[pq], &EthImportOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("float.parquet: column value: f64 is floating point"),
        "{e}"
    );
}
