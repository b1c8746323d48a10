//! JSON-RPC 2.0 over the shared [`HttpClient`]: single calls and batches, error
//! classification (rate limit → retried by the client; "range too large" → split by the caller;
//! "method not found" → feature detection), and URL redaction.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::fetch::http::BodyVerdict;
use crate::fetch::{FetchError, HttpClient};

/// A JSON-RPC error object, or a transport failure.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The node answered with a JSON-RPC error.
    Rpc {
        /// Error code.
        code: i64,
        /// Error message (with `data` appended when it is a string).
        message: String,
    },
    /// Transport, retry budget, or an answer of the wrong shape.
    Fetch(FetchError),
}

impl CallError {
    /// The node does not offer the method (feature detection).
    pub(crate) fn is_unsupported(&self) -> bool {
        match self {
            CallError::Rpc { code, message } => {
                let m = message.to_ascii_lowercase();
                *code == -32601
                    || m.contains("method not found")
                    || m.contains("not supported")
                    || m.contains("unsupported")
                    || m.contains("does not exist")
                    || m.contains("not available")
                    || m.contains("not enabled")
                    || m.contains("unknown method")
            }
            CallError::Fetch(FetchError::Refused { detail, .. }) => {
                let m = detail.to_ascii_lowercase();
                m.contains("method not found") || m.contains("-32601")
            }
            CallError::Fetch(_) => false,
        }
    }

    /// The node refuses a block range or result set as too large (the caller splits it).
    pub(crate) fn is_range_too_large(&self) -> bool {
        let m = match self {
            CallError::Rpc { message, .. } => message.to_ascii_lowercase(),
            CallError::Fetch(FetchError::Refused { detail, .. }) => detail.to_ascii_lowercase(),
            CallError::Fetch(_) => return false,
        };
        [
            "more than",
            "too many",
            "too large",
            "too big",
            "range",
            "exceed",
            "limit",
            "response size",
            "too wide",
            "query timeout",
        ]
        .iter()
        .any(|k| m.contains(k))
    }

    /// Into a [`FetchError`] naming the endpoint and method.
    pub(crate) fn into_fetch(self, url: &str, method: &str) -> FetchError {
        match self {
            CallError::Rpc { code, message } => FetchError::Refused {
                url: url.to_string(),
                detail: format!("{method}: JSON-RPC error {code}: {message}"),
            },
            CallError::Fetch(e) => e,
        }
    }
}

/// Rate-limit errors reported inside a 200 answer: worth retrying.
fn is_rate_limit(err: &Value) -> bool {
    let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
    let m = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    code == 429
        || m.contains("rate limit")
        || m.contains("too many requests")
        || m.contains("requests per second")
        || m.contains("capacity exceeded")
        || m.contains("compute units")
}

fn verdict(v: &Value) -> BodyVerdict {
    let errs: Vec<&Value> = match v {
        Value::Array(items) => items.iter().filter_map(|i| i.get("error")).collect(),
        Value::Object(_) => v.get("error").into_iter().collect(),
        _ => return BodyVerdict::Retry(format!("not a JSON-RPC answer: {v}")),
    };
    match errs.into_iter().find(|e| is_rate_limit(e)) {
        Some(e) => BodyVerdict::Retry(format!("rate limited: {e}")),
        None => BodyVerdict::Ok,
    }
}

fn parse_error(err: &Value) -> CallError {
    let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
    let mut message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("unknown error")
        .to_string();
    if let Some(d) = err.get("data").and_then(Value::as_str) {
        message = format!("{message} ({d})");
    }
    CallError::Rpc { code, message }
}

/// Remove credentials from an endpoint URL: user info and query string are dropped, path
/// segments that look like API keys (long alphanumeric tokens) become `***`.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return "<invalid url>".to_string();
    };
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    let path: Vec<String> = u
        .path_segments()
        .map(|segs| {
            segs.map(|s| {
                let keyish = s.len() >= 16
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if keyish {
                    "***".to_string()
                } else {
                    s.to_string()
                }
            })
            .collect()
        })
        .unwrap_or_default();
    u.set_path(&path.join("/"));
    u.to_string().trim_end_matches('/').to_string()
}

/// A JSON-RPC endpoint.
pub(crate) struct RpcClient {
    http: HttpClient,
    url: String,
    redacted: String,
    next_id: AtomicU64,
    batch_ok: AtomicBool,
    batch_size: usize,
    concurrency: usize,
}

impl RpcClient {
    pub(crate) fn new(
        http: HttpClient,
        url: &str,
        batch_size: usize,
        concurrency: usize,
    ) -> RpcClient {
        RpcClient {
            http,
            url: url.to_string(),
            redacted: redact_url(url),
            next_id: AtomicU64::new(1),
            batch_ok: AtomicBool::new(batch_size > 1),
            batch_size: batch_size.max(1),
            concurrency: concurrency.max(1),
        }
    }

    /// The URL as it may be shown (no credentials).
    pub(crate) fn redacted(&self) -> &str {
        &self.redacted
    }

    /// Whether batches are sent.
    pub(crate) fn batching(&self) -> bool {
        self.batch_ok.load(Ordering::Relaxed)
    }

    /// Stop sending batches (the node refused one).
    pub(crate) fn disable_batching(&self) {
        self.batch_ok.store(false, Ordering::Relaxed);
    }

    fn request(&self, method: &str, params: &Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    }

    /// One call returning the raw `result`.
    pub(crate) async fn call_value(&self, method: &str, params: Value) -> Result<Value, CallError> {
        let body = self.request(method, &params);
        let v = self
            .http
            .post_json(&self.url, &self.redacted, &body, &verdict)
            .await
            .map_err(CallError::Fetch)?;
        if let Some(e) = v.get("error") {
            return Err(parse_error(e));
        }
        match v.get("result") {
            Some(r) => Ok(r.clone()),
            None => Err(CallError::Fetch(FetchError::Malformed {
                url: self.redacted.clone(),
                detail: format!("{method}: answer without result or error"),
            })),
        }
    }

    /// One call, deserialised.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, CallError> {
        let v = self.call_value(method, params).await?;
        self.decode(method, v).map_err(CallError::Fetch)
    }

    /// Deserialise a `result`, naming the method when it does not fit.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        method: &str,
        v: Value,
    ) -> Result<T, FetchError> {
        serde_json::from_value(v).map_err(|e| FetchError::Malformed {
            url: self.redacted.clone(),
            detail: format!("{method}: {e}"),
        })
    }

    /// Send a probe batch; true when the node answers batches.
    pub(crate) async fn probe_batch(
        &self,
        calls: &[(&str, Value)],
    ) -> Result<Option<Vec<Value>>, FetchError> {
        let body = Value::Array(calls.iter().map(|(m, p)| self.request(m, p)).collect());
        let v = self
            .http
            .post_json(&self.url, &self.redacted, &body, &verdict)
            .await?;
        match v {
            Value::Array(items) if items.len() == calls.len() => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in sort_by_id(items).into_iter().enumerate() {
                    match item.get("result") {
                        Some(r) => out.push(r.clone()),
                        None => {
                            let e = item.get("error").map(parse_error);
                            return Err(FetchError::Refused {
                                url: self.redacted.clone(),
                                detail: format!("{}: {:?}", calls[i].0, e),
                            });
                        }
                    }
                }
                Ok(Some(out))
            }
            _ => Ok(None),
        }
    }

    /// Many calls: batches of at most `batch_size` (up to `concurrency` in flight) when the
    /// node takes batches, else one by one. Results come back in the order of `calls`, each
    /// `Ok(result)` or its own error; a transport failure fails the whole call.
    pub(crate) async fn batch(
        &self,
        calls: Vec<(&'static str, Value)>,
    ) -> Result<Vec<Result<Value, CallError>>, FetchError> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        let size = if self.batching() { self.batch_size } else { 1 };
        // futures built eagerly (they are lazy): a closure inside the stream type trips the
        // compiler's higher-ranked lifetime check on `Send`
        let futs: Vec<_> = calls
            .chunks(size)
            .map(|c| self.batch_once(c.to_vec()))
            .collect();
        let done: Vec<Vec<Result<Value, CallError>>> = stream::iter(futs)
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        Ok(done.into_iter().flatten().collect())
    }

    async fn singles(
        &self,
        chunk: Vec<(&'static str, Value)>,
    ) -> Result<Vec<Result<Value, CallError>>, FetchError> {
        let mut out = Vec::with_capacity(chunk.len());
        for (m, p) in chunk {
            match self.call_value(m, p).await {
                Err(CallError::Fetch(e)) => return Err(e),
                r => out.push(r),
            }
        }
        Ok(out)
    }

    async fn batch_once(
        &self,
        chunk: Vec<(&'static str, Value)>,
    ) -> Result<Vec<Result<Value, CallError>>, FetchError> {
        if chunk.len() == 1 || !self.batching() {
            return self.singles(chunk).await;
        }
        let reqs: Vec<Value> = chunk.iter().map(|(m, p)| self.request(m, p)).collect();
        let ids: Vec<u64> = reqs.iter().map(|r| r["id"].as_u64().unwrap_or(0)).collect();
        let v = self
            .http
            .post_json(&self.url, &self.redacted, &Value::Array(reqs), &verdict)
            .await?;
        let items = match v {
            Value::Array(items) if items.len() == chunk.len() => sort_by_id(items),
            other => {
                // a node that refuses batches (or batches this large): one by one from now on
                tracing::warn!(
                    url = %self.redacted,
                    answer = %truncate(&other.to_string()),
                    "batch request refused; sending calls one by one"
                );
                self.disable_batching();
                return self.singles(chunk).await;
            }
        };
        let mut out = Vec::with_capacity(chunk.len());
        for ((item, want), (method, _)) in items.into_iter().zip(ids).zip(&chunk) {
            if item.get("id").and_then(Value::as_u64) != Some(want) {
                return Err(FetchError::Malformed {
                    url: self.redacted.clone(),
                    detail: format!("batch answer ids do not match the requests (expected {want})"),
                });
            }
            out.push(match (item.get("result"), item.get("error")) {
                (_, Some(e)) => Err(parse_error(e)),
                (Some(r), None) => Ok(r.clone()),
                (None, None) => Err(CallError::Fetch(FetchError::Malformed {
                    url: self.redacted.clone(),
                    detail: format!("{method}: answer without result or error"),
                })),
            });
        }
        Ok(out)
    }
}

fn sort_by_id(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by_key(|i| i.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX));
    items
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_keys() {
        assert_eq!(
            redact_url("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef"),
            "https://mainnet.infura.io/v3/***"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(
            redact_url("https://user:pw@node.example/rpc?apikey=SECRET"),
            "https://node.example/rpc"
        );
    }

    #[test]
    fn error_classes() {
        let e = CallError::Rpc {
            code: -32005,
            message: "query returned more than 10000 results".into(),
        };
        assert!(e.is_range_too_large());
        assert!(!e.is_unsupported());
        let e = CallError::Rpc {
            code: -32601,
            message: "Method not found".into(),
        };
        assert!(e.is_unsupported());
        assert!(is_rate_limit(
            &json!({"code": -32005, "message": "Rate limit exceeded"})
        ));
        assert!(!is_rate_limit(
            &json!({"code": -32000, "message": "block range too large"})
        ));
    }
}
