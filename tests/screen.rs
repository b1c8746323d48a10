//! Screening end to end: the anvil chain of tests/trace_anvil.rs is traced (haircut) through
//! the CLI, indexed with `screen index --trace`, and screened with `screen`:
//! - DEP (unlabelled deposit address of exchange "binance", 4 hops from the seed) received
//!   25 ETH of which 9.375 tainted (haircut, see trace_anvil.rs): share 0.375, risk
//!   round(6 × (0.5 + 0.5 × 0.375)) = 4, path = the 4 txs S→A1→M→P1→DEP;
//! - the seed S scores 10 with hops 0; Q (paid by M before any taint) scores 0, known: false;
//! - an OFAC SDN address of ../shared/data/labels (imported with `labels import`) scores 10,
//!   sanctioned: true;
//! - a tx hash screens its receivers; a bad line of --file is reported with its line number
//!   (exit 2, or skipped with --skip-invalid).

mod common;

use std::process::Command;

use common::trace_chain::{build, fresh};
use serde_json::Value;

fn moneytrail(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(db)
        .arg("-q")
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn screen_json(db: &std::path::Path, args: &[&str]) -> Value {
    let mut a = vec!["screen", "--format", "json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(&moneytrail(db, &a))).unwrap()
}

#[test]
fn screening_a_traced_anvil_chain() {
    let c = build();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        format!(
            "address,label,category,actor\n{},Hot wallet 1,exchange,binance\n{},Pool 100 ETH,mixer,tornado-cash\n",
            c.hot, c.pool
        ),
    )
    .unwrap();
    ok(&moneytrail(
        &db,
        &["labels", "import", labels.to_str().unwrap()],
    ));
    let ofac = common::shared_data().join("labels/ofac-sdn-0xb10c/sanctioned_addresses_ETH.txt");
    ok(&moneytrail(
        &db,
        &["labels", "import", ofac.to_str().unwrap()],
    ));
    let sanctioned = std::fs::read_to_string(&ofac)
        .unwrap()
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("0x"))
        .unwrap()
        .to_string();

    // before any index: labels alone already answer
    let v = screen_json(&db, &[&sanctioned]);
    assert_eq!(v["results"][0]["risk"], 10);

    let out = dir.path().join("haircut");
    ok(&moneytrail(
        &db,
        &[
            "trace",
            "--chain",
            "ethereum",
            "--rpc-url",
            &c.anvil.url,
            "--seed",
            &c.s,
            "--model",
            "haircut",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let printed = ok(&moneytrail(
        &db,
        &["screen", "index", "--trace", out.to_str().unwrap()],
    ));
    assert!(printed.contains("screening index"), "{printed}");

    let q = fresh(0x0f);
    let unrelated = "0x00000000000000000000000000000000deadbeef";
    let v = screen_json(&db, &[&c.dep, &c.s, &q, unrelated, &sanctioned]);
    let version = v["index_version"].as_str().unwrap().to_string();
    assert_eq!(version.len(), 16);
    let r = &v["results"];
    // the deposit address
    let dep = &r[0];
    assert_eq!(dep["known"], true, "{dep}");
    assert_eq!(dep["hops"], 4, "{dep}");
    assert_eq!(dep["risk"], 4, "{dep}");
    assert_eq!(dep["sanctioned"], false);
    assert_eq!(dep["index_version"], version.as_str());
    let e = &dep["exposure"][0];
    assert_eq!(dep["exposure"].as_array().unwrap().len(), 1, "{dep}");
    assert_eq!(e["category"], "theft");
    assert_eq!(e["incident"], "haircut"); // no incident id: the trace directory's name
    assert_eq!(e["model"], "haircut");
    assert_eq!(e["asset"], "ETH");
    assert_eq!(e["amount"], "9.375");
    assert_eq!(e["received"], "25");
    assert_eq!(e["share"], 0.375);
    assert_eq!(e["hops"], 4);
    assert_eq!(e["endpoint"], "exchange");
    assert_eq!(e["entity"], "binance");
    let path: Vec<&str> = dep["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(path.len(), 4, "{dep}");
    // the path's transactions are the trace's flows S→A1, A1→M, M→P1, P1→DEP
    let flows = std::fs::read_to_string(out.join("flows.csv")).unwrap();
    for (tx, (from, to)) in path.iter().zip([
        (&c.s, &fresh(0xa1)),
        (&fresh(0xa1), &c.m),
        (&c.m, &c.p1),
        (&c.p1, &c.dep),
    ]) {
        let line = flows.lines().find(|l| l.contains(tx)).unwrap();
        let lower = line.to_ascii_lowercase();
        assert!(lower.contains(&format!("{},{}", from, to)), "{tx}: {line}");
    }
    // the seed
    assert_eq!(r[1]["risk"], 10);
    assert_eq!(r[1]["hops"], 0);
    // clean addresses
    for x in [&r[2], &r[3]] {
        assert_eq!(x["risk"], 0, "{x}");
        assert_eq!(x["known"], false, "{x}");
        assert_eq!(x["sanctioned"], false, "{x}");
        assert!(x["hops"].is_null());
    }
    // the OFAC address
    assert_eq!(r[4]["risk"], 10);
    assert_eq!(r[4]["sanctioned"], true);
    assert_eq!(r[4]["known"], true);
    assert_eq!(r[4]["labels"][0]["category"], "sanctioned");

    // a transaction: its receiver DEP
    let v = screen_json(&db, &[path[3]]);
    let t = &v["results"][0];
    assert_eq!(t["tx"], path[3]);
    assert!(t["address"].as_str().unwrap().eq_ignore_ascii_case(&c.dep));
    assert_eq!(t["risk"], 4);
    // an unknown transaction: known false, no error
    let unknown_tx = format!("0x{}", "ee".repeat(32));
    let v = screen_json(&db, &[&unknown_tx]);
    assert_eq!(v["results"][0]["known"], false);
    assert_eq!(v["results"][0]["risk"], 0);

    // --file: a CSV column, a bad line reported with its number
    let f = dir.path().join("deposits.csv");
    std::fs::write(
        &f,
        format!("id,address\n1,{}\n2,not-an-address\n\n3,{q}\n", c.dep),
    )
    .unwrap();
    let o = moneytrail(&db, &["screen", "--file", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("deposits.csv:3") && err.contains("not-an-address"),
        "{err}"
    );
    let v = screen_json(&db, &["--file", f.to_str().unwrap(), "--skip-invalid"]);
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    assert_eq!(v["results"][0]["risk"], 4);
    // a bad argument: exit 2 naming it; a bad chain too
    let o = moneytrail(&db, &["screen", "0x1234"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("0x1234"));
    let o = moneytrail(&db, &["screen", "--chain", "mars", &c.dep]);
    assert_eq!(o.status.code(), Some(2));
    // the table form
    let table = ok(&moneytrail(&db, &["screen", &c.dep]));
    assert!(
        table.contains("binance") || table.contains("theft"),
        "{table}"
    );
    // a missing trace directory is bad input
    let o = moneytrail(&db, &["screen", "index", "--trace", "/nonexistent/trace"]);
    assert_eq!(o.status.code(), Some(2));
}
