//! The wire side of [`super::EtherscanSource`]: request URLs (the API key is added only to the
//! URL that is sent; every message uses the same URL without it), the documented
//! `status`/`message`/`result` envelope, the page walk past the result window, the proxy
//! (`module=proxy` on Etherscan, `POST /eth-rpc` on Blockscout) and Blockscout's REST
//! `raw-trace`. All requests go through the shared [`HttpClient`] (rate limit, retries).

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{Value, json};

use super::{ApiKey, Flavor};
use crate::fetch::http::BodyVerdict;
use crate::fetch::{FetchError, HttpClient};
use crate::model::Address;

/// Lower-cased texts that mean "slow down" (Etherscan: `Max rate limit reached`,
/// `Max calls per sec rate limit reached (5/sec)`; Blockscout: `Too Many Requests`).
fn is_rate_limited(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    (t.contains("rate limit") && !t.starts_with("ok")) || t.contains("too many requests")
}

fn is_window_error(text: &str) -> bool {
    text.to_ascii_lowercase()
        .contains("result window is too large")
}

fn is_no_records(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("no transactions found")
        || t.contains("no records found")
        || t.contains("no token transfers found")
        || t.contains("no internal transactions found")
}

/// `message` and `result` (when it is a string) of an envelope, for messages and matching.
fn envelope_text(v: &Value) -> String {
    let m = v.get("message").and_then(Value::as_str).unwrap_or("");
    match v.get("result").and_then(Value::as_str) {
        Some(r) if !r.is_empty() => format!("{m}: {r}"),
        _ => m.to_string(),
    }
}

/// The body check of the account lists: status 1 is data; status 0 is an empty list, the
/// result-window error (handled by the walk), a rate limit (retried) or a refusal.
fn check_list(v: &Value) -> BodyVerdict {
    let text = envelope_text(v);
    match v.get("status").and_then(Value::as_str) {
        Some("1") if v.get("result").is_some_and(Value::is_array) => BodyVerdict::Ok,
        Some("1") => BodyVerdict::Fail(format!(
            "malformed answer: status 1 without a list ({text})"
        )),
        Some("0") if is_rate_limited(&text) => BodyVerdict::Retry(text),
        Some("0") if is_window_error(&text) || is_no_records(&text) => BodyVerdict::Ok,
        Some("0")
            if v.get("result")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty) =>
        {
            BodyVerdict::Ok
        }
        Some("0") => BodyVerdict::Fail(format!("the explorer refused: {text}")),
        _ => BodyVerdict::Fail("malformed answer: no status/message/result envelope".to_string()),
    }
}

/// The body check of proxy (JSON-RPC) answers; Etherscan reports a rate limit on the proxy in
/// its own envelope.
fn check_rpc(v: &Value) -> BodyVerdict {
    if v.get("status").is_some() && v.get("jsonrpc").is_none() {
        let text = envelope_text(v);
        return if is_rate_limited(&text) {
            BodyVerdict::Retry(text)
        } else {
            BodyVerdict::Fail(format!("the explorer refused: {text}"))
        };
    }
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        let msg = e
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| e.to_string());
        return if is_rate_limited(&msg) {
            BodyVerdict::Retry(msg)
        } else {
            BodyVerdict::Fail(msg)
        };
    }
    if v.get("result").is_some() {
        BodyVerdict::Ok
    } else {
        BodyVerdict::Fail("malformed answer: neither result nor error".to_string())
    }
}

fn check_raw_trace(v: &Value) -> BodyVerdict {
    match v {
        Value::Array(_) => BodyVerdict::Ok,
        other => {
            let m = other
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("not a list of traces");
            if is_rate_limited(m) {
                BodyVerdict::Retry(m.to_string())
            } else {
                BodyVerdict::Fail(format!("raw-trace: {m}"))
            }
        }
    }
}

/// A proxy call.
#[derive(Debug, Clone)]
pub(super) enum Rpc {
    /// `eth_blockNumber`.
    BlockNumber,
    /// `eth_getTransactionByHash`.
    Tx(String),
    /// `eth_getTransactionReceipt`.
    Receipt(String),
    /// `eth_getBlockByNumber(n, false)`.
    Block(u64),
    /// `eth_call` at the latest block.
    Call {
        /// Contract.
        to: String,
        /// Calldata.
        data: &'static str,
    },
    /// `eth_getBalance` at a block (Blockscout only).
    Balance {
        /// Account.
        address: String,
        /// Block.
        block: u64,
    },
}

impl Rpc {
    fn method(&self) -> &'static str {
        match self {
            Rpc::BlockNumber => "eth_blockNumber",
            Rpc::Tx(_) => "eth_getTransactionByHash",
            Rpc::Receipt(_) => "eth_getTransactionReceipt",
            Rpc::Block(_) => "eth_getBlockByNumber",
            Rpc::Call { .. } => "eth_call",
            Rpc::Balance { .. } => "eth_getBalance",
        }
    }
}

/// An explorer endpoint.
pub(super) struct Api {
    http: HttpClient,
    base: url::Url,
    flavor: Flavor,
    chain_id: u64,
    key: Option<ApiKey>,
    page_size: AtomicU32,
    window: AtomicU32,
}

/// A paged list: `module`/`action` (+ `address`, + extra parameters).
struct List<'a> {
    module: &'static str,
    action: &'a str,
    address: Option<&'a Address>,
    extra: Vec<(&'static str, String)>,
}

/// One page of a list.
enum Page {
    Records(Vec<Value>),
    /// The result-window error, with the limit it states, if any.
    WindowTooLarge(Option<u32>),
}

/// The limit stated in a result-window error ("… less than or equal to 10000").
fn stated_window(text: &str) -> Option<u32> {
    text.split(|c: char| !c.is_ascii_digit())
        .rfind(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
        .filter(|n| *n > 0)
}

impl Api {
    /// An endpoint at `base` (already validated as http/https).
    pub(super) fn new(
        http: HttpClient,
        base: url::Url,
        flavor: Flavor,
        chain_id: u64,
        key: Option<ApiKey>,
        page_size: u32,
        window: u32,
    ) -> Api {
        Api {
            http,
            base,
            flavor,
            chain_id,
            key,
            page_size: AtomicU32::new(page_size.max(1)),
            window: AtomicU32::new(window.max(1)),
        }
    }

    /// The base URL as it may be shown (no key is ever part of it).
    pub(super) fn redacted_base(&self) -> String {
        let mut u = self.base.clone();
        u.set_query(None);
        u.to_string()
    }

    /// The result window now in use (it shrinks when the server's is smaller).
    pub(super) fn window(&self) -> u32 {
        self.window.load(Ordering::Relaxed)
    }

    /// The page size now in use (it shrinks when the server's window is smaller).
    pub(super) fn page_size(&self) -> u32 {
        self.page_size.load(Ordering::Relaxed)
    }

    /// (URL to send, URL to show) for `base` + `params` (+ `chainid` on Etherscan, + the key).
    fn urls(&self, mut u: url::Url, params: &[(&str, String)]) -> (String, String) {
        {
            let mut q = u.query_pairs_mut();
            if self.flavor == Flavor::Etherscan {
                q.append_pair("chainid", &self.chain_id.to_string());
            }
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        let shown = u.to_string();
        if let Some(k) = &self.key {
            u.query_pairs_mut().append_pair("apikey", k.expose());
        }
        (u.to_string(), shown)
    }

    fn malformed(&self, detail: String) -> FetchError {
        FetchError::Malformed {
            url: self.redacted_base(),
            detail,
        }
    }

    async fn page(
        &self,
        list: &List<'_>,
        from: u64,
        to: u64,
        page: u32,
        page_size: u32,
    ) -> Result<Page, FetchError> {
        let action = list.action;
        let mut params = vec![
            ("module", list.module.to_string()),
            ("action", action.to_string()),
        ];
        if let Some(a) = list.address {
            params.push(("address", a.key()));
        }
        let logs = list.module == "logs";
        let (from_key, to_key) = if logs {
            ("fromBlock", "toBlock")
        } else {
            ("startblock", "endblock")
        };
        params.extend([(from_key, from.to_string()), (to_key, to.to_string())]);
        params.extend(list.extra.iter().map(|(k, v)| (*k, v.clone())));
        params.extend([
            ("page", page.to_string()),
            ("offset", page_size.to_string()),
        ]);
        if !logs {
            params.push(("sort", "asc".to_string()));
        }
        let (url, shown) = self.urls(self.base.clone(), &params);
        let v = self.http.get_json(&url, &shown, &check_list).await?;
        if v.get("status").and_then(Value::as_str) == Some("0") {
            let text = envelope_text(&v);
            if is_window_error(&text) {
                return Ok(Page::WindowTooLarge(stated_window(&text)));
            }
            return Ok(Page::Records(Vec::new()));
        }
        match v.get("result") {
            Some(Value::Array(a)) => Ok(Page::Records(a.clone())),
            _ => Err(self.malformed(format!("{action}: result is not a list"))),
        }
    }

    fn block_of(&self, action: &str, v: &Value) -> Result<u64, FetchError> {
        let s = match v.get("blockNumber") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        super::records::num("blockNumber", &s)
            .map_err(|e| self.malformed(format!("{action} record: {e}")))
    }

    /// Every record of `action` (for `address`, or for every address when `None`) in blocks
    /// `from..=to`, ascending. Pages of `page_size` are read while page × page_size stays
    /// inside the result window; when the window is full, the walk starts again from the last
    /// block seen, dropping that block's records first (they come again, complete, in the next
    /// window). A server whose window is smaller than ours answers "Result window is too
    /// large": the window shrinks to the limit that error states (else to what was accepted),
    /// and the page size with it when a single page is already too large. One block with more
    /// records than the window is an error: no documented parameter pages inside a block.
    pub(super) async fn walk(
        &self,
        action: &str,
        address: Option<&Address>,
        from: u64,
        to: u64,
    ) -> Result<Vec<Value>, FetchError> {
        let list = List {
            module: "account",
            action,
            address,
            extra: Vec::new(),
        };
        self.walk_list(&list, from, to).await
    }

    /// `module=logs&action=getLogs` for `address` with `topic0` over blocks `from..=to`
    /// (`fromBlock` / `toBlock`), walked like the account lists.
    pub(super) async fn walk_logs(
        &self,
        address: &Address,
        topic0: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<Value>, FetchError> {
        let list = List {
            module: "logs",
            action: "getLogs",
            address: Some(address),
            extra: vec![("topic0", topic0.to_string())],
        };
        self.walk_list(&list, from, to).await
    }

    /// See [`Api::walk`].
    async fn walk_list(
        &self,
        list: &List<'_>,
        from: u64,
        to: u64,
    ) -> Result<Vec<Value>, FetchError> {
        let (action, address) = (list.action, list.address);
        let mut out: Vec<Value> = Vec::new();
        let mut cursor = from;
        loop {
            let page_size = self.page_size();
            let max_page = (self.window() / page_size).max(1);
            let mut got: Vec<(u64, Value)> = Vec::new();
            let mut done = false;
            let mut shrunk = false;
            let mut page = 1;
            while page <= max_page {
                match self.page(list, cursor, to, page, page_size).await? {
                    Page::Records(recs) => {
                        let n = recs.len();
                        for r in recs {
                            let b = self.block_of(action, &r)?;
                            if b < cursor || b > to {
                                return Err(self.malformed(format!(
                                    "{action}: record of block {b} outside the requested {cursor}..={to}"
                                )));
                            }
                            got.push((b, r));
                        }
                        if n < page_size as usize {
                            done = true;
                            break;
                        }
                        page += 1;
                    }
                    Page::WindowTooLarge(stated) => {
                        let accepted = (page - 1) * page_size;
                        let window = match stated {
                            Some(n) => n,
                            None if page > 1 => accepted,
                            None => self.window(),
                        }
                        .min(self.window());
                        tracing::info!(
                            url = %self.redacted_base(),
                            window,
                            "the explorer's result window is smaller than assumed"
                        );
                        if window == 0 || (page == 1 && page_size <= 1) {
                            return Err(FetchError::Refused {
                                url: self.redacted_base(),
                                detail: format!(
                                    "the explorer refuses even page 1 of {page_size} records (result window error)"
                                ),
                            });
                        }
                        self.window.fetch_min(window, Ordering::Relaxed);
                        if page == 1 {
                            let smaller = if page_size > window {
                                window
                            } else {
                                page_size / 2
                            };
                            self.page_size.fetch_min(smaller.max(1), Ordering::Relaxed);
                            shrunk = true;
                        }
                        break;
                    }
                }
            }
            if done {
                out.extend(got.into_iter().map(|(_, r)| r));
                return Ok(out);
            }
            if shrunk {
                continue;
            }
            let last = got.iter().map(|(b, _)| *b).max().unwrap_or(cursor);
            if last <= cursor {
                return Err(FetchError::Unsupported(format!(
                    "{}: more than {} {action} records in block {cursor}{}: the result window \
                     cannot be paged past inside one block",
                    self.redacted_base(),
                    got.len(),
                    address.map(|a| format!(" for {a}")).unwrap_or_default()
                )));
            }
            tracing::debug!(
                action,
                cursor,
                last,
                "result window full; continuing from block {last}"
            );
            out.extend(got.into_iter().filter(|(b, _)| *b < last).map(|(_, r)| r));
            cursor = last;
        }
    }

    /// A proxy call; the JSON-RPC `result` (may be `null`).
    pub(super) async fn rpc(&self, call: Rpc) -> Result<Value, FetchError> {
        let method = call.method();
        let v = match self.flavor {
            Flavor::Etherscan => {
                let mut params = vec![
                    ("module", "proxy".to_string()),
                    ("action", method.to_string()),
                ];
                match &call {
                    Rpc::BlockNumber => {}
                    Rpc::Tx(h) | Rpc::Receipt(h) => params.push(("txhash", h.clone())),
                    Rpc::Block(n) => params
                        .extend([("tag", format!("{n:#x}")), ("boolean", "false".to_string())]),
                    Rpc::Call { to, data } => params.extend([
                        ("to", to.clone()),
                        ("data", data.to_string()),
                        ("tag", "latest".to_string()),
                    ]),
                    Rpc::Balance { .. } => {
                        return Err(FetchError::Unsupported(
                            "Etherscan's free API has no historical balance".to_string(),
                        ));
                    }
                };
                let (url, shown) = self.urls(self.base.clone(), &params);
                self.http.get_json(&url, &shown, &check_rpc).await?
            }
            Flavor::Blockscout => {
                let params = match &call {
                    Rpc::BlockNumber => json!([]),
                    Rpc::Tx(h) | Rpc::Receipt(h) => json!([h]),
                    Rpc::Block(n) => json!([format!("{n:#x}"), false]),
                    Rpc::Call { to, data } => json!([{"to": to, "data": data}, "latest"]),
                    Rpc::Balance { address, block } => json!([address, format!("{block:#x}")]),
                };
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
                let mut u = self.base.clone();
                let path = format!("{}/eth-rpc", u.path().trim_end_matches('/'));
                u.set_path(&path);
                let (url, shown) = self.urls(u, &[]);
                self.http.post_json(&url, &shown, &body, &check_rpc).await?
            }
        };
        v.get("result")
            .cloned()
            .ok_or_else(|| self.malformed(format!("{method}: no result")))
    }

    /// Blockscout's `GET /api/v2/transactions/{hash}/raw-trace` (parity format).
    pub(super) async fn raw_trace(&self, hash: &str) -> Result<Value, FetchError> {
        let mut u = self.base.clone();
        let path = format!(
            "{}/v2/transactions/{hash}/raw-trace",
            u.path().trim_end_matches('/')
        );
        u.set_path(&path);
        let (url, shown) = self.urls(u, &[]);
        self.http.get_json(&url, &shown, &check_raw_trace).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_verdicts() {
        let ok = json!({"status": "1", "message": "OK", "result": []});
        assert_eq!(check_list(&ok), BodyVerdict::Ok);
        let empty = json!({"status": "0", "message": "No transactions found", "result": []});
        assert_eq!(check_list(&empty), BodyVerdict::Ok);
        let rl = json!({"status": "0", "message": "NOTOK", "result": "Max rate limit reached"});
        assert!(matches!(check_list(&rl), BodyVerdict::Retry(_)));
        let rl2 = json!({"status": "0", "message": "NOTOK",
                         "result": "Max calls per sec rate limit reached (5/sec)"});
        assert!(matches!(check_list(&rl2), BodyVerdict::Retry(_)));
        let window = json!({"status": "0", "message": "NOTOK",
            "result": "Result window is too large, PageNo x Offset size must be less than or equal to 10000"});
        assert_eq!(check_list(&window), BodyVerdict::Ok);
        let key = json!({"status": "0", "message": "NOTOK", "result": "Invalid API Key"});
        match check_list(&key) {
            BodyVerdict::Fail(m) => assert!(m.contains("Invalid API Key")),
            other => panic!("{other:?}"),
        }
        let keyless = json!({"status": "1",
            "message": "OK-Missing/Invalid API Key, rate limit of 1/5sec applied", "result": []});
        assert_eq!(check_list(&keyless), BodyVerdict::Ok);
        assert!(matches!(
            check_list(&json!({"foo": 1})),
            BodyVerdict::Fail(_)
        ));
        assert!(matches!(
            check_list(&json!({"status": "1", "message": "OK", "result": "x"})),
            BodyVerdict::Fail(_)
        ));
    }

    #[test]
    fn window_limit_from_the_message() {
        let t = "NOTOK: Result window is too large, PageNo x Offset size must be less than or equal to 10000";
        assert_eq!(stated_window(t), Some(10000));
        assert_eq!(stated_window("Result window is too large"), None);
    }

    #[test]
    fn rpc_verdicts() {
        assert_eq!(
            check_rpc(&json!({"jsonrpc": "2.0", "id": 1, "result": null})),
            BodyVerdict::Ok
        );
        assert!(matches!(
            check_rpc(
                &json!({"status": "0", "message": "NOTOK", "result": "Max rate limit reached"})
            ),
            BodyVerdict::Retry(_)
        ));
        assert!(matches!(
            check_rpc(
                &json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "bad"}})
            ),
            BodyVerdict::Fail(_)
        ));
        assert_eq!(check_raw_trace(&json!([])), BodyVerdict::Ok);
        assert!(matches!(
            check_raw_trace(&json!({"message": "Not found"})),
            BodyVerdict::Fail(_)
        ));
    }
}
