//! The command line as a user runs it: outputs, and exit code 2 with a one-line message naming
//! the bad value.

use std::process::{Command, Output};

fn run(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("MONEYTRAIL_CATALOG")
        .env_remove("MONEYTRAIL_DB")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_bad_input(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert!(
        err.contains(needle),
        "message should name '{needle}': {err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn incidents_and_estimates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let o = run(&db, &["incidents", "list"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for id in ["upbit-2019", "ronin-2022", "harmony-2022", "bybit-2025"] {
        assert!(out.contains(id), "{id} missing");
    }
    let o = run(&db, &["incidents", "list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 12);

    let o = run(&db, &["incidents", "show", "ronin-2022"]);
    assert!(stdout(&o).contains("0x098B716B8Aaf21512996dC57EB0615e2383E2f96"));

    let o = run(&db, &["estimates", "--year", "2022"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for s in [
        "US State Department",
        "$600M–$1B",
        "$630M–$1B",
        "$1.29B",
        ">$700M",
        "$1.7B",
        "$1B–$2.3B",
    ] {
        assert!(out.contains(s), "estimates --year 2022 lacks {s}");
    }
    let o = run(
        &db,
        &["estimates", "--year", "2022", "--exact", "--format", "csv"],
    );
    let csv = stdout(&o);
    assert!(csv.starts_with("id,source,publisher"));
    assert!(!csv.contains("2.3B") && !csv.contains(",2300000000,"));
    let o = run(&db, &["estimates", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 50);
}

#[test]
fn lookup_names_the_ronin_exploiter() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let o = run(
        &db,
        &[
            "labels",
            "lookup",
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o).to_lowercase();
    assert!(out.contains("ronin") && out.contains("exploiter"), "{out}");
    assert!(out.contains("sanctioned"), "{out}");
    assert!(out.contains("lazarus"), "{out}");
    let o = run(
        &db,
        &[
            "labels",
            "lookup",
            "--format",
            "json",
            "0x0000000000000000000000000000000000000001",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["known"], false);
}

#[test]
fn import_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let file = dir.path().join("mine.csv");
    std::fs::write(
        &file,
        "0x1111111111111111111111111111111111111111,My deposit,exchange,ethereum,case 17,80\n\
         0x22,bad,exchange\n",
    )
    .unwrap();
    let o = run(&db, &["labels", "import", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("line 2") && out.contains("0x22"), "{out}");
    let export = dir.path().join("all.csv");
    let o = run(
        &db,
        &["labels", "export", "--out", export.to_str().unwrap()],
    );
    assert!(o.status.success());
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(text.contains(
        "0x1111111111111111111111111111111111111111,My deposit,exchange,ethereum,case 17,80"
    ));
    // the export re-imports into a fresh database
    let db2 = dir.path().join("m2.db");
    let o = run(
        &db2,
        &[
            "labels",
            "import",
            export.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["skipped"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_input_exits_2_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let bad_sum = "0x098B716B8aaf21512996dC57EB0615e2383E2f96";
    assert_bad_input(&run(&db, &["labels", "lookup", bad_sum]), bad_sum);
    assert_bad_input(
        &run(&db, &["labels", "lookup", "bc1qnotanaddress"]),
        "bc1qnotanaddress",
    );
    assert_bad_input(
        &run(
            &db,
            &[
                "labels",
                "lookup",
                "--chain",
                "solana",
                "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
            ],
        ),
        "solana",
    );
    assert_bad_input(
        &run(
            &db,
            &[
                "labels",
                "lookup",
                "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
                "--chain",
                "bitcoin",
            ],
        ),
        "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
    );
    assert_bad_input(&run(&db, &["incidents", "show", "nope-2030"]), "nope-2030");
    assert_bad_input(
        &run(&db, &["labels", "import", "/nonexistent/x.yaml"]),
        "/nonexistent/x.yaml",
    );
    let garbage = dir.path().join("g.yaml");
    std::fs::write(&garbage, "tags: [").unwrap();
    assert_bad_input(
        &run(&db, &["labels", "import", garbage.to_str().unwrap()]),
        "g.yaml",
    );
    assert_bad_input(
        &run(
            &db,
            &[
                "labels",
                "import",
                "--category",
                "weird",
                garbage.to_str().unwrap(),
            ],
        ),
        "weird",
    );
    assert_bad_input(&run(&db, &["estimates", "--kind", "foo"]), "foo");
    let nodir = dir.path().join("no/such/dir/m.db");
    assert_bad_input(&run(&nodir, &["labels", "lookup", bad_sum]), "no/such/dir");
    // clap's own usage errors are exit 2 too
    let o = run(&db, &["incidents", "list", "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn trace_and_fetch_need_a_source_and_offline_contacts_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let seed = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
    let base = [
        "trace", "--chain", "ethereum", "--seed", seed, "--out", out_s,
    ];
    // neither a source nor --offline
    assert_bad_input(&run(&db, &base), "--offline");
    let o = run(&db, &["fetch", "--chain", "ethereum", "--seed", seed]);
    assert_bad_input(&o, "--rpc-url");
    // two sources at once: clap's usage error, exit 2
    let two = [
        "fetch",
        "--chain",
        "ethereum",
        "--seed",
        seed,
        "--rpc-url",
        "http://127.0.0.1:9",
        "--blockscout-url",
        "http://127.0.0.1:9/api",
    ];
    assert_eq!(run(&db, &two).status.code(), Some(2));
    // a Bitcoin source for an EVM chain
    let o = run(
        &db,
        &[
            "fetch",
            "--chain",
            "ethereum",
            "--seed",
            seed,
            "--esplora-url",
            "http://127.0.0.1:9",
        ],
    );
    assert_bad_input(&o, "ethereum");
    // --offline with a source: the source (a closed port) is never contacted; the empty
    // database has no history for the seed, which is the error reported
    let mut offline = base.to_vec();
    offline.extend(["--rpc-url", "http://127.0.0.1:9", "--offline"]);
    let o = run(&db, &offline);
    assert_bad_input(&o, seed);
    assert!(!stderr(&o).contains("127.0.0.1:9"), "{}", stderr(&o));
}
