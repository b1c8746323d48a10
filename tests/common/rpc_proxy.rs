//! A small local HTTP server (tokio `TcpListener` on 127.0.0.1) for fault and capability tests:
//! it answers each POST with what a policy says — forward to a real node (anvil), a JSON-RPC
//! error, an HTTP status with headers, a truncated body, or a stall. It does not imitate a node:
//! whatever it forwards, the real node answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What to answer to one request body.
pub enum Reply {
    /// Send the body to the upstream node and return its answer.
    Forward,
    /// This HTTP status, extra headers and body.
    Http(u16, Vec<(String, String)>, String),
    /// Wait this long, then close without answering.
    Stall(Duration),
}

/// A policy: the n-th request (from 0) and its parsed JSON body → reply.
pub type Policy = Arc<dyn Fn(u64, &Value) -> Reply + Send + Sync>;

/// A running server; lives until the test process ends.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Requests received.
    pub hits: Arc<AtomicU64>,
}

/// A JSON-RPC error answer for request `req` (an object).
pub fn rpc_error(req: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": req.get("id").cloned().unwrap_or(Value::Null),
           "error": {"code": code, "message": message}})
}

/// Start a server forwarding to `upstream` (if any) under `policy`.
pub fn start(upstream: Option<String>, policy: Policy) -> Server {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", std_listener.local_addr().unwrap());
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let client = reqwest::Client::new();
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { continue };
                let (policy, upstream, client, hits) =
                    (policy.clone(), upstream.clone(), client.clone(), h.clone());
                tokio::spawn(async move {
                    let Some(body) = read_request(&mut sock).await else { return };
                    let n = hits.fetch_add(1, Ordering::SeqCst);
                    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let (status, headers, out) = match policy(n, &parsed) {
                        Reply::Stall(d) => {
                            tokio::time::sleep(d).await;
                            return;
                        }
                        Reply::Http(s, hs, b) => (s, hs, b),
                        Reply::Forward => {
                            let up = upstream.as_deref().expect("no upstream");
                            let r = client
                                .post(up)
                                .header("content-type", "application/json")
                                .body(body)
                                .send()
                                .await;
                            match r {
                                Ok(r) => (r.status().as_u16(), vec![], r.text().await.unwrap_or_default()),
                                Err(e) => (502, vec![], e.to_string()),
                            }
                        }
                    };
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                        out.len()
                    );
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(out.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
    });
    Server { url, hits }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    Some(buf[head_end..].to_vec())
}

/// Apply `f` to each call of a (possibly batched) JSON-RPC body: `Some(answer)` replaces the
/// call, `None` forwards it. Batches are answered element by element (forwarded ones one by
/// one, blocking), so a policy can refuse single methods inside a batch.
pub fn per_call(
    upstream: String,
    f: impl Fn(&Value) -> Option<Value> + Send + Sync + 'static,
) -> Policy {
    let client = reqwest::blocking::Client::new();
    let client = Arc::new(client);
    Arc::new(move |_, body| {
        let one = |req: &Value| -> Value {
            match f(req) {
                Some(v) => v,
                None => {
                    let up = upstream.clone();
                    let c = client.clone();
                    let req = req.clone();
                    // blocking client off the async thread
                    std::thread::spawn(move || {
                        c.post(&up)
                            .json(&req)
                            .send()
                            .unwrap()
                            .json::<Value>()
                            .unwrap()
                    })
                    .join()
                    .unwrap()
                }
            }
        };
        let out = match body {
            Value::Array(items) => Value::Array(items.iter().map(one).collect()),
            other => one(other),
        };
        Reply::Http(200, vec![], out.to_string())
    })
}
