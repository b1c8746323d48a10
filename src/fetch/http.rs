//! One HTTP client for every source: a rate limiter per host, bounded retries with
//! exponential backoff and jitter on timeouts, 429, 5xx, rate-limit bodies and malformed JSON
//! (honouring `Retry-After`), and counters for benchmarks and tests.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;

use super::FetchError;

/// How often to retry, and how long to wait.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Upper bound of one backoff (and of an honoured Retry-After).
    pub max_delay: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What a caller's body check says about a 200 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyVerdict {
    /// Use it.
    Ok,
    /// A rate-limit or transient error reported in the body: retry.
    Retry(String),
    /// A definite error reported in the body: fail without retrying.
    Fail(String),
}

/// Counters of one client (shared by its clones).
#[derive(Debug, Default)]
pub struct HttpStats {
    /// Requests sent (each attempt counts).
    pub requests: AtomicU64,
    /// Attempts that were retried.
    pub retries: AtomicU64,
    /// HTTP 429 answers received.
    pub status_429: AtomicU64,
}

/// The shared client. Cheap to clone; clones share limiters and counters.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    rate_per_sec: f64,
    limiters: Arc<Mutex<HashMap<String, Arc<DefaultDirectRateLimiter>>>>,
    policy: RetryPolicy,
    stats: Arc<HttpStats>,
    user_agent: String,
}

impl HttpClient {
    /// A client that sends at most `rate_per_sec` requests per second to each host.
    pub fn new(rate_per_sec: f64, policy: RetryPolicy) -> Result<HttpClient, FetchError> {
        if !(rate_per_sec > 0.0 && rate_per_sec.is_finite()) {
            return Err(FetchError::BadInput(format!(
                "invalid request rate {rate_per_sec} (must be > 0 requests/s)"
            )));
        }
        let user_agent = format!("moneytrail/{}", env!("CARGO_PKG_VERSION"));
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .user_agent(user_agent.clone())
            .build()
            .map_err(|e| FetchError::BadInput(format!("cannot build HTTP client: {e}")))?;
        Ok(HttpClient {
            client,
            rate_per_sec,
            limiters: Arc::default(),
            policy,
            stats: Arc::default(),
            user_agent,
        })
    }

    /// The counters.
    pub fn stats(&self) -> &HttpStats {
        &self.stats
    }

    /// The retry policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The User-Agent sent.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    fn limiter(&self, host: &str) -> Arc<DefaultDirectRateLimiter> {
        let mut map = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(host.to_string())
            .or_insert_with(|| {
                let period = Duration::from_secs_f64(1.0 / self.rate_per_sec);
                let quota = Quota::with_period(period)
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(NonZeroU32::MIN);
                Arc::new(RateLimiter::direct(quota))
            })
            .clone()
    }

    /// GET `url` and parse JSON. `redacted` is the URL as it may appear in messages (no keys).
    pub async fn get_json(
        &self,
        url: &str,
        redacted: &str,
        check: &(dyn Fn(&Value) -> BodyVerdict + Sync),
    ) -> Result<Value, FetchError> {
        self.send(|c| c.get(url), url, redacted, check).await
    }

    /// POST a JSON body to `url` and parse the JSON answer.
    pub async fn post_json(
        &self,
        url: &str,
        redacted: &str,
        body: &Value,
        check: &(dyn Fn(&Value) -> BodyVerdict + Sync),
    ) -> Result<Value, FetchError> {
        self.send(|c| c.post(url).json(body), url, redacted, check)
            .await
    }

    async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        url: &str,
        redacted: &str,
        check: &(dyn Fn(&Value) -> BodyVerdict + Sync),
    ) -> Result<Value, FetchError> {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
            })
            .unwrap_or_default();
        let limiter = self.limiter(&host);
        let mut last = String::new();
        let mut connect_failures = 0;
        for attempt in 1..=self.policy.max_attempts {
            limiter.until_ready().await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let mut retry_after = None;
            // without_url: reqwest puts the request URL (API key included) in its messages
            match build(&self.client)
                .send()
                .await
                .map_err(reqwest::Error::without_url)
            {
                Err(e) if e.is_connect() => {
                    connect_failures += 1;
                    last = format!("connection failed: {}", root_cause(&e));
                }
                Err(e) if e.is_timeout() => last = "timed out".into(),
                Err(e) => last = root_cause(&e),
                Ok(resp) => {
                    let status = resp.status();
                    retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let body = match resp.bytes().await.map_err(reqwest::Error::without_url) {
                        Ok(b) => b,
                        Err(e) if e.is_timeout() => {
                            last = "timed out reading the body".into();
                            self.backoff(attempt, retry_after).await;
                            continue;
                        }
                        Err(e) => {
                            last = format!("body read failed: {}", root_cause(&e));
                            self.backoff(attempt, retry_after).await;
                            continue;
                        }
                    };
                    if status.as_u16() == 429 {
                        self.stats.status_429.fetch_add(1, Ordering::Relaxed);
                        last = "HTTP 429 Too Many Requests".into();
                    } else if status.is_server_error() {
                        last = format!("HTTP {status}");
                    } else if !status.is_success() {
                        return Err(FetchError::Refused {
                            url: redacted.to_string(),
                            detail: format!("HTTP {status}: {}", snippet(&body)),
                        });
                    } else {
                        match serde_json::from_slice::<Value>(&body) {
                            Err(e) => last = format!("invalid JSON ({e}): {}", snippet(&body)),
                            Ok(v) => match check(&v) {
                                BodyVerdict::Ok => return Ok(v),
                                BodyVerdict::Retry(why) => last = why,
                                BodyVerdict::Fail(why) => {
                                    return Err(FetchError::Refused {
                                        url: redacted.to_string(),
                                        detail: why,
                                    });
                                }
                            },
                        }
                    }
                }
            }
            // a server that refuses every connection is not coming back within our budget
            if connect_failures >= 2 && connect_failures == attempt {
                return Err(FetchError::Unreachable {
                    url: redacted.to_string(),
                    detail: last,
                });
            }
            if attempt < self.policy.max_attempts {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(url = redacted, attempt, %last, "retrying");
                self.backoff(attempt, retry_after).await;
            }
        }
        Err(FetchError::RetriesExhausted {
            url: redacted.to_string(),
            attempts: self.policy.max_attempts,
            last,
        })
    }

    async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) {
        let exp = self
            .policy
            .base_delay
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(self.policy.max_delay);
        // full jitter in [exp/2, exp]
        let jittered = exp / 2 + exp.mul_f64(fastrand::f64() / 2.0);
        let wait = match retry_after {
            Some(r) => r.min(self.policy.max_delay).max(jittered),
            None => jittered,
        };
        tokio::time::sleep(wait).await;
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    s.replace('\n', " ")
}
