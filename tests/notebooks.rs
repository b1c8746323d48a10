//! The Jupyter notebooks of `notebooks/` run headless on the real outputs of a real trace: the
//! anvil chain of tests/trace_anvil.rs (dated 2022-03-23), traced as the catalog overlay
//! incident `anvil-2022` with `trace --parquet`, and `totals --format parquet` over every year.
//! Each notebook is executed by `notebooks/run.py` (nbclient) with the Python of
//! `$MONEYTRAIL_PYTHON` (scripts/test makes it: `.venv-notebooks`, from
//! notebooks/requirements.txt); it must finish without a cell error, save its PNG next to the
//! data, and print the incident's injected amount exactly as summary.json has it.
//!
//! No prices are imported here, so every USD figure is null: the notebooks must say so and
//! still draw the amounts.

mod common;

use common::ok;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use common::trace_chain::build_at;

/// 2022-03-23 10:00:00 UTC (the Ronin theft day; anvil's blocks follow within seconds).
const T0: u64 = 1_648_029_600;

/// The Python with the notebook requirements, or a failure saying how to get one: this test
/// never skips.
fn python() -> PathBuf {
    let hint = "run scripts/test (it installs notebooks/requirements.txt into .venv-notebooks \
                and exports MONEYTRAIL_PYTHON=$PWD/.venv-notebooks/bin/python)";
    let p = std::env::var_os("MONEYTRAIL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("MONEYTRAIL_PYTHON is not set: {hint}"));
    let o = Command::new(&p)
        .args([
            "-c",
            "import nbclient, nbformat, ipykernel, polars, matplotlib",
        ])
        .output()
        .unwrap_or_else(|e| panic!("MONEYTRAIL_PYTHON={} cannot run ({e}): {hint}", p.display()));
    assert!(
        o.status.success(),
        "MONEYTRAIL_PYTHON={} lacks the notebook requirements ({}): {hint}",
        p.display(),
        String::from_utf8_lossy(&o.stderr).trim()
    );
    p
}

/// `moneytrail -q …` (see [`common::moneytrail`]).
fn moneytrail(db: &Path, catalog: Option<&Path>, args: &[&str]) -> Output {
    common::moneytrail(db, catalog, &[&["-q"], args].concat())
}

/// Execute `notebook` with notebooks/run.py, `env` set; the executed copy goes to `out`.
/// Returns what the notebook printed.
fn run_notebook(py: &Path, notebook: &str, out: &Path, env: (&str, &Path)) -> String {
    let nb = common::repo().join("notebooks").join(notebook);
    let started = Instant::now();
    let o = Command::new(py)
        .arg(common::repo().join("notebooks/run.py"))
        .arg(&nb)
        .arg(out)
        .env(env.0, env.1)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{notebook} failed (exit {:?}); executed copy in {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        o.status.code(),
        out.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!(
        "{notebook}: executed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // the executed copy is there and holds no error output
    let executed = std::fs::read_to_string(out.join(notebook)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&executed).unwrap();
    for cell in v["cells"].as_array().unwrap() {
        for o in cell["outputs"].as_array().into_iter().flatten() {
            assert_ne!(o["output_type"], "error", "{notebook}: {o}");
        }
    }
    stdout
}

/// A temporary directory kept (and named on stderr) when the test fails, so that the inputs
/// and the executed notebooks can be looked at.
struct KeepOnFailure(Option<tempfile::TempDir>);

impl Drop for KeepOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(d) = self.0.take() {
                eprintln!(
                    "inputs and executed notebooks kept in {}",
                    d.keep().display()
                );
            }
        }
    }
}

/// The PNG at `p` exists, is a PNG and holds a real picture (not an empty canvas).
fn assert_png(p: &Path) {
    let b = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        p.display()
    );
    assert!(
        b.len() > 20_000,
        "{}: only {} bytes, the figure is nearly empty",
        p.display(),
        b.len()
    );
}

/// The value of the printed line `prefix VALUE` (exactly one such line).
fn printed<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    let hits: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .collect();
    assert_eq!(hits.len(), 1, "expected one line '{prefix}…' in:\n{stdout}");
    hits[0].trim()
}

#[test]
fn notebooks_run_headless_on_a_real_trace_and_print_its_exact_figures() {
    let py = python();
    let c = build_at(Some(T0));
    let keep = KeepOnFailure(Some(tempfile::tempdir().unwrap()));
    let dir = keep.0.as_ref().unwrap();
    let db = dir.path().join("m.db");
    let cat = common::trace_chain::incident_overlay(dir.path(), "anvil-2022", "2022-03-23", &c.s);
    let labels = common::trace_chain::labels_csv(dir.path(), &c);
    ok(&moneytrail(
        &db,
        None,
        &["labels", "import", labels.to_str().unwrap()],
    ));
    let trace = dir.path().join("trace");
    ok(&moneytrail(
        &db,
        Some(&cat),
        &[
            "trace",
            "--chain",
            "ethereum",
            "--rpc-url",
            &c.anvil.url,
            "--incident",
            "anvil-2022",
            "--model",
            "haircut",
            "--parquet",
            "--out",
            trace.to_str().unwrap(),
        ],
    ));
    let totals = dir.path().join("totals");
    ok(&moneytrail(
        &db,
        Some(&cat),
        &[
            "totals",
            "--model",
            "haircut",
            "--format",
            "parquet",
            "--out",
            totals.to_str().unwrap(),
        ],
    ));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(trace.join("summary.json")).unwrap()).unwrap();
    let eth = &summary["assets"]["ETH"];
    let injected = eth["injected"].as_str().unwrap();
    assert_eq!(injected, "100", "the chain's theft is 100 ETH");

    let executed = dir.path().join("executed");
    // reproduce_totals: traced totals per year beside the published estimates
    let out = run_notebook(
        &py,
        "reproduce_totals.ipynb",
        &executed,
        ("MONEYTRAIL_TOTALS_DIR", &totals),
    );
    assert_png(&totals.join("reproduce_totals.png"));
    assert_eq!(
        printed(&out, "injected anvil-2022 ethereum ETH ="),
        injected
    );
    assert_eq!(printed(&out, "status anvil-2022 ="), "traced");
    let ronin = printed(&out, "status ronin-2022 =");
    assert!(
        ronin.starts_with("not traced: ") && ronin.contains("trace --incident ronin-2022"),
        "{ronin}"
    );
    // March 2022 is priced by the embedded monthly ETH table: the USD path runs
    assert!(!out.contains("no USD prices loaded"), "{out}");

    // incident_flow: the incident's flows over time and its endpoints
    let out = run_notebook(
        &py,
        "incident_flow.ipynb",
        &executed,
        ("MONEYTRAIL_TRACE_DIR", &trace),
    );
    assert_png(&trace.join("incident_flow.png"));
    assert_eq!(printed(&out, "incident ="), "anvil-2022");
    assert_eq!(printed(&out, "injected ETH ="), injected);
    // computed from flows.parquet: what entered the seed (no opening balance on this chain)
    assert_eq!(printed(&out, "seed inflows ETH ="), injected);
    // value-conserving model: the endpoints, summed exactly, hold all that was injected
    assert_eq!(printed(&out, "endpoints ETH ="), injected);
    for (cat, amount) in eth["by_category"].as_object().unwrap() {
        assert_eq!(
            printed(&out, &format!("endpoints ETH {cat} =")),
            amount.as_str().unwrap(),
            "{cat}"
        );
    }
    // March 2022 is priced by the embedded monthly ETH table: the USD path runs
    assert!(!out.contains("no USD prices loaded"), "{out}");
}
