//! A local Esplora server: the documented paths and JSON of Blockstream's API.md, over a chain
//! of real transactions ([`super::btc`]) held in memory. One thread per connection, HTTP/1.1
//! keep-alive, an optional request-rate limit answered with 429 + `Retry-After` like the public
//! instances, and counters of every path served.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bitcoin::hashes::Hash;
use bitcoin::{Block, BlockHash, Network, OutPoint, Transaction, TxOut, Txid};
use serde_json::{Value, json};

use super::btc;

/// Where a transaction is: confirmed (height, position) or in the mempool.
type Place = Option<(u64, u32)>;

/// A chain of blocks plus a mempool, indexed like Esplora.
pub struct FixtureChain {
    /// Network (address encoding).
    pub network: Network,
    /// Blocks by height.
    pub blocks: Vec<Block>,
    /// Unconfirmed transactions.
    pub mempool: Vec<Transaction>,
    txs: HashMap<Txid, (Transaction, Place)>,
    spent_by: HashMap<OutPoint, (Txid, u32)>,
    by_script: HashMap<Vec<u8>, Vec<Txid>>,
    /// Make `/tx/:txid` lie about output 0's value of this transaction (malformed answers).
    pub tamper: Option<Txid>,
}

impl FixtureChain {
    /// A chain with a genesis block (height 0) paying `genesis_to`.
    pub fn new(network: Network, genesis_to: TxOut) -> FixtureChain {
        let mut c = FixtureChain {
            network,
            blocks: Vec::new(),
            mempool: Vec::new(),
            txs: HashMap::new(),
            spent_by: HashMap::new(),
            by_script: HashMap::new(),
            tamper: None,
        };
        c.push_block(vec![genesis_to], Vec::new());
        c
    }

    /// Height of the newest block.
    pub fn tip(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    /// Block time of `height` (10 minutes apart).
    pub fn time_of(height: u64) -> u32 {
        1_650_000_000 + 600 * height as u32
    }

    /// Mine a block: a coinbase paying `reward` then `txs` in order. Returns the coinbase.
    pub fn push_block(&mut self, reward: Vec<TxOut>, txs: Vec<Transaction>) -> Transaction {
        let height = self.blocks.len() as u64;
        let prev = self
            .blocks
            .last()
            .map(|b| b.block_hash())
            .unwrap_or_else(BlockHash::all_zeros);
        let cb = btc::coinbase(height, 7, reward);
        let mut all = vec![cb.clone()];
        all.extend(txs);
        let block = btc::mine(prev, Self::time_of(height), all);
        for (pos, tx) in block.txdata.iter().enumerate() {
            self.mempool
                .retain(|m| m.compute_txid() != tx.compute_txid());
            self.index(tx.clone(), Some((height, pos as u32)));
        }
        self.blocks.push(block);
        cb
    }

    /// Add an unconfirmed transaction.
    pub fn push_mempool(&mut self, tx: Transaction) {
        self.index(tx.clone(), None);
        self.mempool.push(tx);
    }

    fn index(&mut self, tx: Transaction, place: Place) {
        let id = tx.compute_txid();
        let mut scripts: Vec<Vec<u8>> = tx
            .output
            .iter()
            .map(|o| o.script_pubkey.to_bytes())
            .collect();
        if !tx.is_coinbase() {
            for (i, inp) in tx.input.iter().enumerate() {
                self.spent_by.insert(inp.previous_output, (id, i as u32));
                if let Some(p) = self.prevout(inp.previous_output) {
                    scripts.push(p.script_pubkey.to_bytes());
                }
            }
        }
        scripts.sort();
        scripts.dedup();
        for s in scripts {
            let list = self.by_script.entry(s).or_default();
            if !list.contains(&id) {
                list.push(id);
            }
        }
        self.txs.insert(id, (tx, place));
    }

    /// A transaction and where it is.
    pub fn tx(&self, id: &Txid) -> Option<&(Transaction, Place)> {
        self.txs.get(id)
    }

    /// The output an outpoint names.
    pub fn prevout(&self, o: OutPoint) -> Option<TxOut> {
        self.txs
            .get(&o.txid)
            .and_then(|(t, _)| t.output.get(o.vout as usize).cloned())
    }

    /// The ground truth of a confirmed transaction, as moneytrail's conversion builds it from
    /// the chain's own data (prevouts, height, position, block time).
    pub fn truth(&self, id: &Txid) -> Option<moneytrail::fetch::utxo::UtxoTx> {
        use moneytrail::fetch::utxo::{BlockPos, UtxoTx};
        use moneytrail::model::BitcoinNetwork as N;
        let (tx, place) = self.txs.get(id)?;
        let (height, tx_index) = (*place)?;
        let prev: Vec<TxOut> = if tx.is_coinbase() {
            Vec::new()
        } else {
            tx.input
                .iter()
                .map(|i| self.prevout(i.previous_output))
                .collect::<Option<_>>()?
        };
        let net = match self.network {
            Network::Bitcoin => N::Mainnet,
            Network::Regtest => N::Regtest,
            Network::Signet => N::Signet,
            _ => N::Testnet,
        };
        let pos = BlockPos {
            height,
            tx_index,
            time: Self::time_of(height) as i64,
        };
        UtxoTx::from_bitcoin(net, tx, &prev, pos).ok()
    }

    /// Every confirmed transaction id in chain order.
    pub fn confirmed_txids(&self) -> Vec<Txid> {
        self.blocks
            .iter()
            .flat_map(|b| b.txdata.iter().map(|t| t.compute_txid()))
            .collect()
    }

    /// An address's transactions, newest first (mempool first, then by height and position).
    pub fn history(&self, address: &str) -> Option<Vec<Txid>> {
        let a: bitcoin::Address<bitcoin::address::NetworkUnchecked> = address.parse().ok()?;
        let a = a.require_network(self.network).ok()?;
        let mut list: Vec<(Place, Txid)> = self
            .by_script
            .get(a.script_pubkey().as_bytes())
            .map(|l| l.iter().map(|t| (self.txs[t].1, *t)).collect())
            .unwrap_or_default();
        list.sort_by(|a, b| match (a.0, b.0) {
            (None, None) => a.1.cmp(&b.1),
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => y.cmp(&x),
        });
        Some(list.into_iter().map(|(_, t)| t).collect())
    }

    fn status(&self, place: Place) -> Value {
        match place {
            None => json!({"confirmed": false}),
            Some((h, _)) => json!({
                "confirmed": true,
                "block_height": h,
                "block_hash": self.blocks[h as usize].block_hash().to_string(),
                "block_time": Self::time_of(h),
            }),
        }
    }

    fn out_json(&self, o: &TxOut) -> Value {
        let s = &o.script_pubkey;
        let kind = if s.is_p2wpkh() {
            "v0_p2wpkh"
        } else if s.is_p2pkh() {
            "p2pkh"
        } else if s.is_op_return() {
            "op_return"
        } else if s.is_p2tr() {
            "v1_p2tr"
        } else {
            "unknown"
        };
        let mut v = json!({
            "scriptpubkey": btc::hex(s.as_bytes()),
            "scriptpubkey_asm": s.to_asm_string(),
            "scriptpubkey_type": kind,
            "value": o.value.to_sat(),
        });
        if let Ok(a) = bitcoin::Address::from_script(s, self.network) {
            v["scriptpubkey_address"] = json!(a.to_string());
        }
        v
    }

    /// The Esplora JSON of a transaction.
    pub fn tx_json(&self, id: &Txid) -> Option<Value> {
        let (tx, place) = self.txs.get(id)?;
        let mut in_sum = 0u64;
        let vin: Vec<Value> = tx
            .input
            .iter()
            .map(|i| {
                let cb = tx.is_coinbase();
                let prev = if cb {
                    None
                } else {
                    self.prevout(i.previous_output)
                };
                in_sum += prev.as_ref().map_or(0, |p| p.value.to_sat());
                json!({
                    "txid": i.previous_output.txid.to_string(),
                    "vout": i.previous_output.vout,
                    "prevout": prev.map(|p| self.out_json(&p)),
                    "scriptsig": btc::hex(i.script_sig.as_bytes()),
                    "scriptsig_asm": i.script_sig.to_asm_string(),
                    "witness": i.witness.iter().map(btc::hex).collect::<Vec<_>>(),
                    "is_coinbase": cb,
                    "sequence": i.sequence.0,
                })
            })
            .collect();
        let mut vout: Vec<Value> = tx.output.iter().map(|o| self.out_json(o)).collect();
        if self.tamper == Some(*id) {
            let v = vout[0]["value"].as_u64().unwrap_or(0);
            vout[0]["value"] = json!(v + 1);
        }
        let out_sum: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
        Some(json!({
            "txid": id.to_string(),
            "version": tx.version.0,
            "locktime": tx.lock_time.to_consensus_u32(),
            "vin": vin,
            "vout": vout,
            "size": tx.total_size(),
            "weight": tx.weight().to_wu(),
            "fee": if tx.is_coinbase() { 0 } else { in_sum - out_sum },
            "status": self.status(*place),
        }))
    }

    fn outspends(&self, id: &Txid) -> Option<Value> {
        let (tx, _) = self.txs.get(id)?;
        let list: Vec<Value> = (0..tx.output.len() as u32)
            .map(|n| match self.spent_by.get(&OutPoint::new(*id, n)) {
                None => json!({"spent": false}),
                Some((by, vin)) => json!({
                    "spent": true,
                    "txid": by.to_string(),
                    "vin": vin,
                    "status": self.status(self.txs[by].1),
                }),
            })
            .collect();
        Some(Value::Array(list))
    }

    fn merkle_proof(&self, id: &Txid) -> Option<Value> {
        let (_, place) = self.txs.get(id)?;
        let (h, pos) = (*place)?;
        let ids: Vec<Txid> = self.blocks[h as usize]
            .txdata
            .iter()
            .map(|t| t.compute_txid())
            .collect();
        Some(
            json!({"block_height": h, "merkle": btc::merkle_branch(&ids, pos as usize), "pos": pos}),
        )
    }

    /// Answer one GET path: (status, body).
    pub fn answer(&self, path: &str, page_size: usize) -> (u16, String) {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let txid = |s: &str| s.parse::<Txid>().ok();
        let found = |v: Option<Value>, what: &str| match v {
            Some(v) => (200, v.to_string()),
            None => (404, format!("{what} not found")),
        };
        match parts.as_slice() {
            ["blocks", "tip", "height"] => (200, self.tip().to_string()),
            ["blocks", "tip", "hash"] => (
                200,
                self.blocks[self.tip() as usize].block_hash().to_string(),
            ),
            ["tx", t] => found(txid(t).and_then(|t| self.tx_json(&t)), "Transaction"),
            ["tx", t, "outspends"] => {
                found(txid(t).and_then(|t| self.outspends(&t)), "Transaction")
            }
            ["tx", t, "merkle-proof"] => {
                found(txid(t).and_then(|t| self.merkle_proof(&t)), "Transaction")
            }
            ["address", a, "txs"] => match self.history(a) {
                None => (400, "Invalid Bitcoin address".into()),
                Some(list) => {
                    let mempool: Vec<&Txid> = list
                        .iter()
                        .filter(|t| self.txs[*t].1.is_none())
                        .take(50)
                        .collect();
                    let chain: Vec<&Txid> = list
                        .iter()
                        .filter(|t| self.txs[*t].1.is_some())
                        .take(page_size)
                        .collect();
                    let all: Vec<Value> = mempool
                        .into_iter()
                        .chain(chain)
                        .filter_map(|t| self.tx_json(t))
                        .collect();
                    (200, Value::Array(all).to_string())
                }
            },
            ["address", a, "txs", "chain", rest @ ..] => match self.history(a) {
                None => (400, "Invalid Bitcoin address".into()),
                Some(list) => {
                    let chain: Vec<&Txid> =
                        list.iter().filter(|t| self.txs[*t].1.is_some()).collect();
                    let start = match rest.first() {
                        None => 0,
                        Some(last) => {
                            match txid(last).and_then(|l| chain.iter().position(|t| **t == l)) {
                                Some(i) => i + 1,
                                None => return (400, "invalid last_seen_txid".into()),
                            }
                        }
                    };
                    let page: Vec<Value> = chain
                        .iter()
                        .skip(start)
                        .take(page_size)
                        .filter_map(|t| self.tx_json(t))
                        .collect();
                    (200, Value::Array(page).to_string())
                }
            },
            _ => (404, "not found".into()),
        }
    }
}

/// Server options.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// Requests per second above which the server answers 429 (like the public instances).
    pub rate_limit: Option<f64>,
    /// Confirmed transactions per history page.
    pub page_size: usize,
    /// Requests the limiter lets through at once (token bucket capacity, like nginx's burst).
    pub burst: f64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            rate_limit: None,
            page_size: 25,
            burst: 3.0,
        }
    }
}

/// Counters of what the server answered.
#[derive(Default)]
pub struct ServerStats {
    /// Requests answered (429s included).
    pub requests: AtomicU64,
    /// 429 answers.
    pub too_many: AtomicU64,
    /// Requests per path kind (`tx`, `outspends`, `merkle-proof`, `address`, `tip`).
    pub by_kind: Mutex<HashMap<String, u64>>,
}

impl ServerStats {
    /// Requests of one kind.
    pub fn kind(&self, k: &str) -> u64 {
        self.by_kind.lock().unwrap().get(k).copied().unwrap_or(0)
    }
}

/// A running server; stops when dropped.
pub struct EsploraServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The chain it serves (tests may add blocks while it runs).
    pub chain: Arc<RwLock<FixtureChain>>,
    /// Counters.
    pub stats: Arc<ServerStats>,
    /// Requests numbered from this one on (0-based) are answered 503 (an outage).
    pub fail_from: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl EsploraServer {
    /// Serve `chain` on a free loopback port.
    pub fn start(chain: FixtureChain, opts: ServerOptions) -> EsploraServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let chain = Arc::new(RwLock::new(chain));
        let stats = Arc::new(ServerStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let fail_from = Arc::new(AtomicU64::new(u64::MAX));
        let bucket = Arc::new(Mutex::new(Bucket {
            tokens: 1.0,
            last: Instant::now(),
        }));
        listener.set_nonblocking(true).unwrap();
        let (c, s, st, ff) = (
            chain.clone(),
            stats.clone(),
            stop.clone(),
            fail_from.clone(),
        );
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((sock, _)) => {
                        let (c, s, st, b) = (c.clone(), s.clone(), st.clone(), bucket.clone());
                        let ff = ff.clone();
                        std::thread::spawn(move || serve(sock, c, s, st, b, ff, opts));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        EsploraServer {
            url,
            chain,
            stats,
            fail_from,
            stop,
        }
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }
}

impl Drop for EsploraServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn kind_of(path: &str) -> &'static str {
    if path.starts_with("/blocks/tip") {
        "tip"
    } else if path.starts_with("/address/") {
        "address"
    } else if path.ends_with("/outspends") {
        "outspends"
    } else if path.ends_with("/merkle-proof") {
        "merkle-proof"
    } else if path.starts_with("/tx/") {
        "tx"
    } else {
        "other"
    }
}

fn serve(
    sock: TcpStream,
    chain: Arc<RwLock<FixtureChain>>,
    stats: Arc<ServerStats>,
    stop: Arc<AtomicBool>,
    bucket: Arc<Mutex<Bucket>>,
    fail_from: Arc<AtomicU64>,
    opts: ServerOptions,
) {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = sock.set_nodelay(true);
    let mut w = match sock.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut r = BufReader::new(sock);
    while !stop.load(Ordering::Relaxed) {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" || h == "\n" {
                break;
            }
        }
        let n = stats.requests.fetch_add(1, Ordering::Relaxed);
        let down = n >= fail_from.load(Ordering::Relaxed);
        let limited = opts.rate_limit.is_some_and(|rate| {
            let mut b = bucket.lock().unwrap();
            let now = Instant::now();
            b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(opts.burst);
            b.last = now;
            if b.tokens >= 1.0 - 1e-9 {
                b.tokens -= 1.0;
                false
            } else {
                true
            }
        });
        let (status, body, extra) = if down {
            (503, "Service Unavailable".to_string(), "")
        } else if limited {
            stats.too_many.fetch_add(1, Ordering::Relaxed);
            (429, "Too Many Requests".to_string(), "Retry-After: 1\r\n")
        } else {
            *stats
                .by_kind
                .lock()
                .unwrap()
                .entry(kind_of(&path).to_string())
                .or_insert(0) += 1;
            let (s, b) = chain.read().unwrap().answer(&path, opts.page_size);
            (s, b, "")
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            503 => "Service Unavailable",
            _ => "Too Many Requests",
        };
        let ctype = if body.starts_with('{') || body.starts_with('[') {
            "application/json"
        } else {
            "text/plain"
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}\r\n",
            body.len()
        );
        // one write: head and body in two segments would meet Nagle + delayed ACK
        let mut out = head.into_bytes();
        out.extend_from_slice(body.as_bytes());
        if w.write_all(&out).is_err() {
            return;
        }
    }
}
