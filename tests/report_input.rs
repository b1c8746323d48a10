//! `moneytrail report` on trace directories written by hand: bad input exits 2 with one line
//! naming the file, line and value; the node budget folds the smallest flows into one
//! `other (k addresses)` node per hop level with exact sums; USD and "simulated" in the HTML.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::ok;

use alloy_primitives::U256;
use moneytrail::model::Amount;

fn moneytrail(db: &Path, args: &[&str]) -> Output {
    common::moneytrail(db, None, args)
}

/// A trace directory written by hand: one seed fanning out to `n` addresses that each pay an
/// exchange endpoint; the last address also holds an unspent rest.
fn synthetic_dir(dir: &Path, n: usize) -> PathBuf {
    let seed = "0x5151515151515151515151515151515151515151";
    let hot = "0xb0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
    let addr = |i: usize| format!("0x{:040x}", i + 1000);
    let mut flows = String::from(
        "chain,tx_hash,sub_index,block,time,from,to,asset,asset_contract,amount,tainted_amount,hop\n",
    );
    let mut total = 0u64;
    for i in 0..n {
        let v = (i as u64 % 97) + 1;
        total += 2 * v;
        flows += &format!(
            "ethereum,0x{:064x},value,{},2022-03-{:02}T10:00:00Z,{seed},{},ETH,,{}.5,{}.5,1\n",
            i,
            100 + i,
            1 + i % 28,
            addr(i),
            2 * v,
            2 * v - 1
        );
        flows += &format!(
            "ethereum,0x{:064x},value,{},2022-04-01T10:00:00Z,{},{hot},ETH,,{v},{v},2\n",
            i + n,
            200 + i,
            addr(i)
        );
    }
    let _ = total;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("flows.csv"), flows).unwrap();
    std::fs::write(
        dir.join("summary.json"),
        format!(
            r#"{{"model":"haircut","chain":"ethereum","seeds":["{seed}"],"simulated":true,
            "assets":{{"ETH":{{"injected":"5","decimals":18,"contract":"","unexplained":"0",
            "by_category":{{"exchange":"4","unspent":"1"}}}}}},"conservation_ok":true,
            "stats":{{"transfers":10,"endpoints":2}}}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("endpoints.csv"),
        format!(
            "chain,address,entity,category,asset,asset_contract,amount,usd,min_hops,first_time,last_time\n\
             ethereum,{hot},binance,exchange,ETH,,4,8000.25,2,2022-04-01T10:00:00Z,2022-04-01T10:00:00Z\n\
             ethereum,{},,unspent,ETH,,1,,1,2022-03-01T10:00:00Z,2022-03-01T10:00:00Z\n",
            addr(0)
        ),
    )
    .unwrap();
    std::fs::write(dir.join("paths.jsonl"), "").unwrap();
    std::fs::write(dir.join("evidence.jsonl"), "").unwrap();
    dir.to_path_buf()
}

fn assert_bad_input(o: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "message should name '{n}': {err}");
    }
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_trace_directories_exit_2_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let o = moneytrail(&db, &["report", "--trace", "/nonexistent/trace-dir"]);
    assert_bad_input(&o, &["/nonexistent/trace-dir"]);

    let t = synthetic_dir(&dir.path().join("t"), 3);
    let ep = t.join("endpoints.csv");
    let text = std::fs::read_to_string(&ep).unwrap();
    std::fs::write(&ep, text.replace(",4,8000.25,", ",4x2,8000.25,")).unwrap();
    let o = moneytrail(&db, &["report", "--trace", t.to_str().unwrap()]);
    assert_bad_input(&o, &["endpoints.csv", "line 2", "4x2"]);
    std::fs::write(&ep, text.replace(",4,8000.25,", ",4,8000.25,,,")).unwrap();
    let o = moneytrail(
        &db,
        &["report", "--trace", t.to_str().unwrap(), "--format", "md"],
    );
    assert_bad_input(&o, &["endpoints.csv", "line 2"]);
    std::fs::write(&ep, &text).unwrap();

    let fl = t.join("flows.csv");
    let flows = std::fs::read_to_string(&fl).unwrap();
    let lines: Vec<&str> = flows.lines().collect();
    let broken = format!(
        "{}\n{}\n{}\n",
        lines[0],
        lines[1],
        lines[2].replace(",ETH,", ",DOGE,")
    );
    std::fs::write(&fl, broken).unwrap();
    let o = moneytrail(
        &db,
        &["report", "--trace", t.to_str().unwrap(), "--format", "gexf"],
    );
    assert_bad_input(&o, &["flows.csv", "line 3", "DOGE"]);
    std::fs::remove_file(&fl).unwrap();
    let o = moneytrail(&db, &["report", "--trace", t.to_str().unwrap()]);
    assert_bad_input(&o, &["flows.csv", "missing"]);

    // a bad graph format for trace is named before anything runs
    let o = moneytrail(
        &db,
        &[
            "trace",
            "--chain",
            "ethereum",
            "--seed",
            "0x5151515151515151515151515151515151515151",
            "--offline",
            "--graph-formats",
            "gexf,svg",
            "--out",
            dir.path().join("x").to_str().unwrap(),
        ],
    );
    assert_bad_input(&o, &["svg"]);
}

#[test]
fn node_budget_aggregates_small_flows_and_keeps_totals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let t = synthetic_dir(&dir.path().join("t"), 400);
    let full = {
        let o = moneytrail(
            &db,
            &[
                "report",
                "--trace",
                t.to_str().unwrap(),
                "--format",
                "graph-json",
                "--out",
                "-",
            ],
        );
        ok(&o);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    assert_eq!(full["nodes"].as_array().unwrap().len(), 402);
    let budgeted = {
        let o = moneytrail(
            &db,
            &[
                "report",
                "--trace",
                t.to_str().unwrap(),
                "--format",
                "graph-json",
                "--node-budget",
                "50",
                "--out",
                "-",
            ],
        );
        ok(&o);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let nodes = budgeted["nodes"].as_array().unwrap();
    assert!(nodes.len() <= 50, "{}", nodes.len());
    let other: Vec<_> = nodes.iter().filter(|n| n["role"] == "aggregate").collect();
    assert_eq!(other.len(), 1, "one aggregate for hop 1");
    let k = other[0]["members"].as_u64().unwrap();
    assert_eq!(other[0]["label"], format!("other ({k} addresses)"));
    assert_eq!(k as usize + nodes.len() - 1, 402);
    let sum = |g: &serde_json::Value| -> U256 {
        g["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                Amount::parse_decimal(l["tainted_amount"].as_str().unwrap(), 18)
                    .unwrap()
                    .0
            })
            .fold(U256::ZERO, |a, b| a + b)
    };
    assert_eq!(sum(&budgeted), sum(&full), "aggregation keeps Σ exact");
    assert_eq!(budgeted["graph"]["aggregation"]["nodes_before"], 402);

    // the HTML at the default budget of 300: says what it aggregated; USD shown with its source;
    // simulated in the title
    let o = moneytrail(&db, &["report", "--trace", t.to_str().unwrap()]);
    ok(&o);
    let html = std::fs::read_to_string(t.join("report.html")).unwrap();
    assert!(html.contains("id=\"aggregation\"") && html.contains("exceed the node budget of 300"));
    assert!(html.contains("other ("));
    assert!(html.contains("$8,000") && html.contains("price source not named"));
    let title = html
        .split("<title>")
        .nth(1)
        .unwrap()
        .split("</title>")
        .next()
        .unwrap();
    assert!(title.contains("simulated"), "{title}");
    assert_eq!(html.matches("class=\"n\"").count(), 300);
}
