//! A real bcoin regtest node (npm `bcoin@1.0.2`) on a free loopback port, killed on drop, with
//! a minimal JSON-RPC client for building test chains. Recipe and quirks: DESIGN.md (regtest
//! address prefixes differ from Core's: bech32 `rb`, so mining addresses are encoded here).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The API key the node is started with (basic-auth password, any user name).
pub const API_KEY: &str = "test";

/// A running bcoin.
pub struct Bcoin {
    child: Child,
    /// `http://127.0.0.1:<port>` (the node's HTTP server, which also takes JSON-RPC).
    pub url: String,
    client: reqwest::blocking::Client,
}

impl Bcoin {
    /// Start a regtest node in memory with the transaction and address indexes.
    pub fn start() -> Bcoin {
        let bin = super::npm_tool("bcoin/bin/node");
        for _ in 0..5 {
            let port = super::free_port();
            let child = Command::new("node")
                .arg(&bin)
                .args([
                    "--network=regtest",
                    "--memory=true",
                    "--http-host=127.0.0.1",
                    &format!("--http-port={port}"),
                    &format!("--api-key={API_KEY}"),
                    "--listen=false",
                    "--max-outbound=1",
                    "--only=127.0.0.1:1",
                    "--workers=false",
                    "--index-tx=true",
                    "--index-address=true",
                    "--log-level=error",
                    "--log-file=false",
                    "--no-wallet=true",
                ])
                .env("NODE_BACKEND", "js")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start bcoin (node)");
            let mut node = Bcoin {
                child,
                url: format!("http://127.0.0.1:{port}"),
                client: reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .unwrap(),
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if node.try_rpc("getblockcount", json!([])).is_ok() {
                    return node;
                }
                if node.child.try_wait().unwrap().is_some() {
                    break; // port taken in between: try another
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        panic!("bcoin did not start");
    }

    fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"method": method, "params": params, "id": 1});
        let v: Value = self
            .client
            .post(&self.url)
            .basic_auth("x", Some(API_KEY))
            .json(&body)
            .send()
            .map_err(|e| e.to_string())?
            .json()
            .map_err(|e| e.to_string())?;
        match v.get("error").filter(|e| !e.is_null()) {
            Some(e) => Err(e.to_string()),
            None => Ok(v["result"].clone()),
        }
    }

    /// Call a method; panics on an error answer.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Mine `n` blocks paying a P2WPKH program (20 bytes); returns the block hashes.
    pub fn mine_to(&self, n: u32, program: &[u8; 20]) -> Vec<String> {
        let addr = regtest_p2wpkh(program);
        let v = self.rpc("generatetoaddress", json!([n, addr]));
        v.as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect()
    }

    /// Broadcast a transaction and check the mempool accepted it (bcoin's sendrawtransaction
    /// relays without reporting validation failures).
    pub fn send(&self, tx: &bitcoin::Transaction) -> String {
        let hex = super::btc::hex(&bitcoin::consensus::serialize(tx));
        let id = self.rpc("sendrawtransaction", json!([hex]));
        let id = id.as_str().unwrap().to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let pool = self.rpc("getrawmempool", json!([]));
            if pool
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t.as_str() == Some(&id))
            {
                return id;
            }
            assert!(Instant::now() < deadline, "bcoin rejected transaction {id}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Current height.
    pub fn height(&self) -> u64 {
        self.rpc("getblockcount", json!([])).as_u64().unwrap()
    }

    /// The txids of the block at `height`, in block order.
    pub fn block_txids(&self, height: u64) -> Vec<String> {
        let h = self.rpc("getblockhash", json!([height]));
        let b = self.rpc("getblock", json!([h, true, false]));
        b["tx"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    }

    /// The raw block at `height`.
    pub fn block(&self, height: u64) -> bitcoin::Block {
        let h = self.rpc("getblockhash", json!([height]));
        let hex = self.rpc("getblock", json!([h, false]));
        let bytes = moneytrail::fetch::utxo::decode_hex(hex.as_str().unwrap()).unwrap();
        bitcoin::consensus::deserialize(&bytes).unwrap()
    }
}

/// bcoin's regtest bech32 address of a P2WPKH program (human-readable part `rb`).
pub fn regtest_p2wpkh(program: &[u8; 20]) -> String {
    use bitcoin::bech32::{Hrp, segwit};
    segwit::encode(Hrp::parse("rb").unwrap(), segwit::VERSION_0, program).unwrap()
}

impl Drop for Bcoin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
