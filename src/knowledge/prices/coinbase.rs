//! `prices fetch`: daily closes from the Coinbase Exchange public market-data API (no key).
//!
//! `GET {base}/products/{ASSET}-USD/candles?granularity=86400&start=ISO&end=ISO` answers a JSON
//! array of `[time, low, high, open, close, volume]` candles (time = unix seconds of the
//! bucket's start, 00:00 UTC for daily candles), newest first, at most 300 per request (a
//! longer range is rejected), and may include candles before `start`. Days without trades have
//! no candle. The range is walked in windows of 300 days through the shared [`HttpClient`]
//! (rate limit per host, retries on 429 / 5xx / unparsable bodies, `Retry-After`); candles
//! outside the window asked for are ignored. A body of another shape fails at once, naming
//! the request (its URL without credentials). See ADR 0008 for why Coinbase.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use serde_json::Value;

use super::import::check_close;
use crate::fetch::http::BodyVerdict;
use crate::fetch::{FetchError, HttpClient, RetryPolicy};
use crate::store::DailyPrice;

/// The public base URL.
pub const COINBASE_URL: &str = "https://api.exchange.coinbase.com";
/// Candles per request (the API's maximum).
pub const MAX_CANDLES: i64 = 300;
/// Requests per second sent (the public limit is higher; history is not to be polled hard).
pub const RATE: f64 = 3.0;
/// The source recorded for fetched closes.
pub const SOURCE: &str = "coinbase";

/// The retry policy of `prices fetch`: 5 attempts, backoff from 0.4 s.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(400),
        max_delay: Duration::from_secs(30),
        timeout: Duration::from_secs(30),
    }
}

/// A client for `prices fetch` at [`RATE`] with [`retry_policy`].
pub fn client() -> Result<HttpClient, FetchError> {
    HttpClient::new(RATE, retry_policy())
}

/// `base` checked (http/https), without a trailing slash, and its form for messages (user
/// name and password removed).
pub fn check_base(base: &str) -> Result<(String, String), FetchError> {
    let mut u = url::Url::parse(base.trim())
        .map_err(|e| FetchError::BadInput(format!("invalid --url '{base}': {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(FetchError::BadInput(format!(
            "invalid --url '{base}' (expected http(s)://host[/path])"
        )));
    }
    let full = base.trim().trim_end_matches('/').to_string();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    Ok((full, u.as_str().trim_end_matches('/').to_string()))
}

/// Daily closes of `asset` (upper-case) against USD for every day in `from..=to` that has a
/// candle, oldest first, source [`SOURCE`].
pub async fn fetch_daily(
    http: &HttpClient,
    base: &str,
    asset: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DailyPrice>, FetchError> {
    if from > to {
        return Err(FetchError::BadInput(format!(
            "--from {from} is after --to {to}"
        )));
    }
    let (base, shown) = check_base(base)?;
    let product = format!("{asset}-USD");
    let mut days: BTreeMap<NaiveDate, String> = BTreeMap::new();
    let mut start = from;
    let check = |v: &Value| {
        if v.is_array() {
            BodyVerdict::Ok
        } else {
            BodyVerdict::Fail(format!(
                "malformed answer: expected a JSON array of candles, got {}",
                snippet(v)
            ))
        }
    };
    while start <= to {
        let end = (start + chrono::Days::new(MAX_CANDLES as u64 - 1)).min(to);
        let query = format!(
            "/products/{product}/candles?granularity=86400&start={start}T00:00:00Z&end={end}T00:00:00Z"
        );
        let (url, redacted) = (format!("{base}{query}"), format!("{shown}{query}"));
        let body = http.get_json(&url, &redacted, &check).await?;
        let malformed = |detail: String| FetchError::Malformed {
            url: redacted.clone(),
            detail,
        };
        let mut got = 0;
        for c in body.as_array().into_iter().flatten() {
            let (time, close) = candle(c).map_err(malformed)?;
            let day = super::day_of(time)
                .ok_or_else(|| malformed(format!("candle time {time} out of range")))?;
            if day < start || day > end {
                continue;
            }
            got += 1;
            days.insert(day, close);
        }
        tracing::info!(%product, %start, %end, candles = got, "coinbase candles");
        start = end + chrono::Days::new(1);
    }
    Ok(days
        .into_iter()
        .map(|(d, close_usd)| DailyPrice {
            asset: asset.to_string(),
            day: d.format("%Y-%m-%d").to_string(),
            close_usd,
            source: SOURCE.to_string(),
        })
        .collect())
}

/// (time, close text) of one `[time, low, high, open, close, volume]` candle.
fn candle(c: &Value) -> Result<(i64, String), String> {
    let a = c.as_array().filter(|a| a.len() >= 5).ok_or_else(|| {
        format!(
            "expected a [time, low, high, open, close, volume] candle, got {}",
            snippet(c)
        )
    })?;
    let time = a[0]
        .as_i64()
        .ok_or_else(|| format!("candle time is not an integer: {}", snippet(c)))?;
    let close = match &a[4] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(format!("candle close is not a number: {}", snippet(c))),
    };
    check_close(&close).map_err(|e| format!("{e} in candle {}", snippet(c)))?;
    Ok((time, close))
}

fn snippet(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}
