//! A real anvil node (npm @foundry-rs/anvil) on a free loopback port, killed on drop, with a
//! minimal JSON-RPC client for building test scenarios.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A running anvil.
pub struct Anvil {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    client: reqwest::blocking::Client,
}

impl Anvil {
    /// Start anvil with `--steps-tracing` (needed for debug/trace APIs) and automine.
    pub fn start() -> Anvil {
        Self::start_with(&[])
    }

    /// Start with extra arguments (e.g. `["--chain-id", "1"]`, `["--no-mining"]`).
    pub fn start_with(extra: &[&str]) -> Anvil {
        let bin = std::env::var_os("MONEYTRAIL_ANVIL")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| super::npm_tool("@foundry-rs/anvil-linux-amd64/bin/anvil"));
        for _ in 0..5 {
            let port = super::free_port();
            let child = Command::new(&bin)
                .args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--steps-tracing",
                ])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start anvil");
            let mut anvil = Anvil {
                child,
                url: format!("http://127.0.0.1:{port}"),
                client: reqwest::blocking::Client::new(),
            };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if anvil.try_rpc("eth_blockNumber", json!([])).is_ok() {
                    return anvil;
                }
                if anvil.child.try_wait().unwrap().is_some() {
                    break; // port taken in between: try another
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = anvil.child.kill();
        }
        panic!("anvil did not start");
    }

    fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let v: Value = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .map_err(|e| e.to_string())?
            .json()
            .map_err(|e| e.to_string())?;
        match v.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(v["result"].clone()),
        }
    }

    /// Call a JSON-RPC method; panics on an error answer.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Call a JSON-RPC method that may fail.
    pub fn rpc_result(&self, method: &str, params: Value) -> Result<Value, String> {
        self.try_rpc(method, params)
    }

    /// The 10 prefunded dev accounts.
    pub fn accounts(&self) -> Vec<String> {
        self.rpc("eth_accounts", json!([]))
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    /// Send a transaction from an unlocked (or impersonated) account; returns its hash.
    /// Automine mines it at once. `tx` holds from/to/value/data/gas as hex strings.
    pub fn send(&self, tx: Value) -> String {
        self.rpc("eth_sendTransaction", json!([tx]))
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The receipt of a mined transaction.
    pub fn receipt(&self, hash: &str) -> Value {
        self.rpc("eth_getTransactionReceipt", json!([hash]))
    }

    /// Let any address send transactions (anvil_impersonateAccount) and give it ETH.
    pub fn impersonate(&self, addr: &str, balance_wei_hex: &str) {
        self.rpc("anvil_impersonateAccount", json!([addr]));
        self.rpc("anvil_setBalance", json!([addr, balance_wei_hex]));
    }

    /// Mine one empty block.
    pub fn mine(&self) {
        self.rpc("evm_mine", json!([]));
    }

    /// Current block number.
    pub fn block_number(&self) -> u64 {
        let h = self.rpc("eth_blockNumber", json!([]));
        u64::from_str_radix(h.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
