//! `moneytrail demo` end to end through the binary: every model's amounts per category in
//! each trace's summary.json equal the simulation's ground truth (built by the library's
//! scenario, independently of the engine) to the base unit, conservation holds, the totals
//! record the simulated incident, and a second run writes the same bytes.

use std::path::Path;
use std::process::Command;

use moneytrail::demo::{MODELS, scenario};
use moneytrail::model::Amount;

fn demo(out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .args(["demo", "--out"])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn demo_traces_equal_the_simulations_ground_truth_and_are_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let o = demo(&out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.starts_with("SIMULATED"), "{stdout}");
    assert!(!stdout.contains('✗'), "{stdout}");

    let s = scenario::build();
    for m in MODELS {
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(
                out.join(format!("trace-{}", m.as_str()))
                    .join("summary.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(summary["simulated"], true);
        assert_eq!(summary["model"], m.as_str());
        assert_eq!(summary["conservation_ok"], true, "{m}");
        for ((asset, cat), v) in &s.truth[&m] {
            let d = if asset == "USDC" { 6 } else { 18 };
            assert_eq!(
                summary["assets"][asset]["by_category"][cat],
                Amount(*v).to_decimal(d),
                "{m} {asset} {cat}"
            );
        }
        for (asset, v) in &s.injected {
            let d = if asset == "USDC" { 6 } else { 18 };
            assert_eq!(
                summary["assets"][asset]["injected"],
                Amount(*v).to_decimal(d)
            );
        }
        // value-conserving models: Σ categories = injected, exactly
        if m != moneytrail::trace::ModelKind::Poison {
            let sum: alloy_primitives::U256 = s.truth[&m]
                .iter()
                .filter(|((a, _), _)| a == "ETH")
                .map(|(_, v)| *v)
                .sum();
            assert_eq!(sum, s.injected["ETH"], "{m}");
        }
    }
    // the models disagree where the story mixes clean and stolen value
    let ex = |m| s.truth[&m][&("ETH".to_string(), "exchange".to_string())];
    assert_ne!(
        ex(moneytrail::trace::ModelKind::Haircut),
        ex(moneytrail::trace::ModelKind::Fifo)
    );
    assert_ne!(
        ex(moneytrail::trace::ModelKind::Poison),
        ex(moneytrail::trace::ModelKind::Fifo)
    );

    // totals: the simulated incident, traced
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("totals/totals.json")).unwrap()).unwrap();
    assert_eq!(t["incidents"][0]["incident"], moneytrail::demo::INCIDENT);
    assert_eq!(t["incidents"][0]["status"], "traced");
    assert_eq!(t["incidents"][0]["simulated"], true);
    assert!(out.join("totals/totals_years.parquet").is_file());

    // the report: written, simulated in its title, self-contained (no URL fetched by the page)
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<title>SIMULATED"),
        "{}",
        &html[..html.len().min(400)]
    );
    assert!(
        html.contains("default-src 'none'"),
        "the CSP forbids every request"
    );
    for bad in [
        "<link",
        "@import",
        "url(",
        " src=\"http",
        " href=\"http",
        "<iframe",
        "<img src=\"http",
    ] {
        assert!(
            !html.contains(bad),
            "report.html refers outside itself: {bad}"
        );
    }
    assert!(
        html.contains("US State Department"),
        "the 2022 estimates are in the report"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("SIMULATED"));
    assert!(stdout.contains("report.html"), "{stdout}");

    // reproducible: a second run into another directory writes the same contract files
    let out2 = dir.path().join("demo2");
    assert!(demo(&out2).status.success());
    for m in MODELS {
        for f in [
            "summary.json",
            "endpoints.csv",
            "flows.csv",
            "paths.jsonl",
            "evidence.jsonl",
        ] {
            let a = std::fs::read(out.join(format!("trace-{}", m.as_str())).join(f)).unwrap();
            let b = std::fs::read(out2.join(format!("trace-{}", m.as_str())).join(f)).unwrap();
            assert!(a == b, "{m} {f} differs between runs");
        }
    }
}

#[test]
fn demo_refuses_an_out_path_that_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("file");
    std::fs::write(&f, "x").unwrap();
    let o = demo(&f);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains(f.to_str().unwrap()));
}
