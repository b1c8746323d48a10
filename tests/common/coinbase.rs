//! A local Coinbase Exchange market-data API on 127.0.0.1 that follows the documented
//! `GET /products/{PRODUCT}/candles?granularity=86400&start=ISO&end=ISO`: a JSON array of
//! `[time, low, high, open, close, volume]` daily candles, newest first; a range of more than
//! 300 candles is rejected (HTTP 400 `{"message":…}`), an unknown product is HTTP 404
//! `{"message":"NotFound"}`; one candle before `start` is included, as the API may. Candles come
//! from real daily OHLCV rows given by the test. Faults on demand, served instead of the next
//! answers: an HTTP status (with Retry-After), an unparsable body, a body of another shape.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One daily row: (open, high, low, close, volume) as in the source file.
pub type Ohlcv = [f64; 5];

/// A fault served instead of the next answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This HTTP status and Retry-After seconds, with a `{"message":…}` body.
    Status(u16, Option<u64>),
    /// A cut JSON body (not parsable).
    Truncated,
    /// A JSON object instead of the array.
    WrongShape,
}

/// A running server; lives until the test process ends.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Faults to serve, in order, before real answers.
    pub faults: Arc<Mutex<VecDeque<Fault>>>,
    /// Every request target (path and query) received, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    /// Faults that stay: served for every request (after the queue is empty).
    pub always: Arc<Mutex<Option<Fault>>>,
}

/// Serve `product` (e.g. `ETH-USD`) with `days` (unix day start → row).
pub fn start(product: &str, days: BTreeMap<i64, Ohlcv>) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = Server {
        url,
        faults: Arc::default(),
        requests: Arc::default(),
        always: Arc::default(),
    };
    let (faults, requests, always) = (
        server.faults.clone(),
        server.requests.clone(),
        server.always.clone(),
    );
    let days = Arc::new(days);
    let product = product.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    continue;
                };
                let Some(target) = read_target(&mut sock).await else {
                    continue;
                };
                requests.lock().unwrap().push(target.clone());
                let fault = faults
                    .lock()
                    .unwrap()
                    .pop_front()
                    .or_else(|| always.lock().unwrap().clone());
                let (status, headers, body) = match fault {
                    Some(Fault::Status(s, ra)) => (
                        s,
                        ra.map(|r| format!("retry-after: {r}\r\n")).unwrap_or_default(),
                        json!({"message": format!("fault {s}")}).to_string(),
                    ),
                    Some(Fault::Truncated) => (200, String::new(), "[[1648000000,2900.1,3".into()),
                    Some(Fault::WrongShape) => {
                        (200, String::new(), json!({"candles": []}).to_string())
                    }
                    None => answer(&product, &days, &target),
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            }
        });
    });
    server
}

fn answer(product: &str, days: &BTreeMap<i64, Ohlcv>, target: &str) -> (u16, String, String) {
    let msg = |s: u16, m: &str| (s, String::new(), json!({ "message": m }).to_string());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != format!("/products/{product}/candles") {
        return msg(404, "NotFound");
    }
    let q: BTreeMap<&str, &str> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    if q.get("granularity") != Some(&"86400") {
        return msg(400, "Unsupported granularity");
    }
    let time = |k: &str| {
        q.get(k)
            .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.timestamp())
    };
    let (Some(start), Some(end)) = (time("start"), time("end")) else {
        return msg(400, "Invalid start or end");
    };
    if end < start || (end - start) / 86_400 + 1 > 300 {
        return msg(400, "granularity too small for the requested time range");
    }
    // newest first; one candle before start, as the API may send
    let candles: Vec<Value> = days
        .range(start - 86_400..=end)
        .rev()
        .map(|(t, [o, h, l, c, v])| json!([t, l, h, o, c, v]))
        .collect();
    (200, String::new(), Value::Array(candles).to_string())
}

async fn read_target(sock: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    (parts.next()? == "GET").then_some(())?;
    Some(parts.next()?.to_string())
}
