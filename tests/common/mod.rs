//! Shared test helpers: the real data under ../shared/data, and the real local nodes and
//! compilers installed from npm by scripts/test (anvil, solc, bcoin).
#![allow(dead_code)]

pub mod anvil;
pub mod bcoin;
pub mod bridges;
pub mod btc;
pub mod btc_chain;
pub mod coinbase;
pub mod coinjoin_chain;
pub mod esplora;
pub mod eth_etl;
pub mod evm_scenario;
pub mod explorer;
pub mod explorer_data;
pub mod rpc_proxy;
pub mod tornado;
pub mod trace_chain;

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/data`, or a clear failure: tests on real data must not pass silently without it.
pub fn shared_data() -> PathBuf {
    let p = repo().join("../shared/data");
    assert!(
        p.is_dir(),
        "real test data not found at {} (the repository expects ../shared beside it)",
        p.display()
    );
    p
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A tool installed by `npm install` in the repository (scripts/test does it), or a clear
/// failure saying how to install it.
pub fn npm_tool(rel: &str) -> PathBuf {
    let p = repo().join("node_modules").join(rel);
    assert!(
        p.exists(),
        "{} not found: run `npm install --ignore-scripts` in the repository (scripts/test does)",
        p.display()
    );
    p
}

/// Compile Solidity sources with solcjs (npm `solc`): returns (contract name → (abi JSON,
/// creation bytecode hex without 0x)).
pub fn solc(sources: &[(&str, &str)]) -> std::collections::BTreeMap<String, (String, String)> {
    let solcjs = npm_tool("solc/solc.js");
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, src) in sources {
        let p = dir.path().join(name);
        std::fs::write(&p, src).unwrap();
        files.push(name.to_string());
    }
    let out = dir.path().join("out");
    let status = std::process::Command::new("node")
        .arg(&solcjs)
        .args(["--bin", "--abi", "--optimize", "-o"])
        .arg(&out)
        .args(&files)
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "solcjs failed");
    let mut map = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".bin") {
            // solcjs names outputs <file>_<sol>_<Contract>.bin
            let contract = stem.rsplit('_').next().unwrap().to_string();
            let bin = std::fs::read_to_string(&p).unwrap();
            let abi = std::fs::read_to_string(p.with_extension("abi")).unwrap_or_default();
            map.insert(contract, (abi, bin.trim().to_string()));
        }
    }
    map
}

/// Run the `moneytrail` binary of this build on database `db` (and catalog overlay `catalog`),
/// with the environment's MONEYTRAIL_DB / MONEYTRAIL_CATALOG / ETHERSCAN_API_KEY removed so that
/// only the arguments count.
pub fn moneytrail(
    db: &std::path::Path,
    catalog: Option<&std::path::Path>,
    args: &[&str],
) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_moneytrail"));
    c.arg("--db").arg(db);
    if let Some(d) = catalog {
        c.arg("--catalog").arg(d);
    }
    c.args(args)
        .env_remove("MONEYTRAIL_DB")
        .env_remove("MONEYTRAIL_CATALOG")
        .env_remove("ETHERSCAN_API_KEY")
        .output()
        .unwrap()
}

/// Assert `o` succeeded (else show its exit code and stderr); its standard output.
pub fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A trace output directory read back: summary.json, evidence.jsonl lines, endpoints.csv rows
/// (without the header).
pub struct TraceDir {
    /// summary.json.
    pub summary: serde_json::Value,
    /// evidence.jsonl, one value a line.
    pub evidence: Vec<serde_json::Value>,
    /// endpoints.csv rows, fields as text.
    pub endpoints: Vec<Vec<String>>,
}

/// Read a trace output directory.
pub fn read_trace_dir(out: &std::path::Path) -> TraceDir {
    let summary =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let evidence = std::fs::read_to_string(out.join("evidence.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut rd = csv::Reader::from_path(out.join("endpoints.csv")).unwrap();
    let endpoints = rd
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    TraceDir {
        summary,
        evidence,
        endpoints,
    }
}
