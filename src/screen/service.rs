//! The screening HTTP service (`moneytrail serve`): axum on tokio, HTTP/1.1, JSON.
//!
//! Routes (docs/openapi.json, served at `/openapi.json`):
//! `POST /v1/screen`, `GET /v1/address/{chain}/{addr}`, `POST /v1/admin/reload`, `GET /health`,
//! `GET /metrics` (Prometheus text), `GET /openapi.json`.
//!
//! Every request passes one middleware ([`guard`]): bearer token (when configured; `/health` and
//! `/openapi.json` are open), a concurrency limit (a semaphore; waiting longer than the request
//! timeout answers 503 `overloaded`), the per-request timeout (504 `timeout`) and the metrics.
//! Errors are JSON `{"error":{"code","message"}}` with the codes of docs/openapi.json.
//!
//! The index lives behind an `RwLock<Arc<ScreenIndex>>`: a request clones the `Arc` once and
//! answers from that snapshot; a reload (`POST /v1/admin/reload` or SIGHUP) builds the new index
//! aside and swaps the `Arc`, so no request is dropped or sees a half-built index.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::input::{self, Item};
use super::{ScreenError, ScreenIndex};
use crate::model::Address;
use crate::store::Store;

/// The OpenAPI document (docs/openapi.json), embedded.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Service settings.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The database holding the index and labels (reloads read it again).
    pub db: PathBuf,
    /// Bearer token required on every route but `/health` and `/openapi.json`.
    pub token: Option<String>,
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// Per-request timeout (including the wait for a concurrency slot).
    pub timeout: Duration,
    /// Requests handled at once.
    pub concurrency: usize,
    /// Largest batch of `POST /v1/screen`.
    pub max_batch: usize,
}

impl ServiceConfig {
    /// Defaults: no token, 1 MiB bodies, 10 s timeout, 512 concurrent requests, batches of
    /// 1,000.
    pub fn new(db: PathBuf) -> ServiceConfig {
        ServiceConfig {
            db,
            token: None,
            body_limit: 1 << 20,
            timeout: Duration::from_secs(10),
            concurrency: 512,
            max_batch: 1000,
        }
    }
}

/// An error answer: status, code, one-line message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let mut r = (self.status, json_bytes(&body)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

impl From<ScreenError> for ApiError {
    fn from(e: ScreenError) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

fn json_bytes<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec())
}

fn json_response(body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
}

impl Metrics {
    fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        {
            let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            match m.get_mut(&(route.to_string(), status)) {
                Some(n) => *n += 1,
                None => {
                    m.insert((route.to_string(), status), 1);
                }
            }
        }
        let s = elapsed.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }
}

/// The shared state of the service.
pub struct AppState {
    cfg: ServiceConfig,
    index: RwLock<Arc<ScreenIndex>>,
    store: Mutex<Store>,
    limiter: Arc<tokio::sync::Semaphore>,
    reloading: tokio::sync::Mutex<()>,
    metrics: Metrics,
}

impl AppState {
    /// Open the database and load the index.
    pub fn open(cfg: ServiceConfig) -> Result<Arc<AppState>, ScreenError> {
        let store = Store::open(&cfg.db)?;
        let index = ScreenIndex::load(&store)?;
        Ok(Arc::new(AppState {
            limiter: Arc::new(tokio::sync::Semaphore::new(cfg.concurrency.max(1))),
            cfg,
            index: RwLock::new(Arc::new(index)),
            store: Mutex::new(store),
            reloading: tokio::sync::Mutex::new(()),
            metrics: Metrics::default(),
        }))
    }

    /// The index requests are answered from now.
    pub fn index(&self) -> Arc<ScreenIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Load the index again from the database and swap it in; requests in flight finish on the
    /// old one. Returns (previous version, new version).
    pub async fn reload(self: &Arc<Self>) -> Result<(String, String), ScreenError> {
        let _one_at_a_time = self.reloading.lock().await;
        let db = self.cfg.db.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let store = Store::open(&db)?;
            ScreenIndex::load(&store)
        })
        .await
        .map_err(|e| ScreenError::Record(format!("reload task failed: {e}")));
        let new = match loaded {
            Ok(Ok(i)) => Arc::new(i),
            Ok(Err(e)) | Err(e) => {
                self.metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        let version = new.version().to_string();
        let old = std::mem::replace(
            &mut *self.index.write().unwrap_or_else(|p| p.into_inner()),
            new,
        );
        self.metrics.reloads.fetch_add(1, Ordering::Relaxed);
        tracing::info!(from = old.version(), to = %version, "screening index reloaded");
        Ok((old.version().to_string(), version))
    }
}

/// The router with every route and the guard middleware.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/screen", post(screen))
        .route("/v1/address/{chain}/{addr}", get(address))
        .route("/v1/admin/reload", post(reload))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Serve on `listener` until `shutdown` resolves (then finish the requests in flight). SIGHUP
/// reloads the index.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let st = state.clone();
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                if let Err(e) = st.reload().await {
                    tracing::error!("reload on SIGHUP failed: {e}");
                }
            }
        });
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Token, concurrency limit, timeout and metrics around every request.
async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = guarded(&st, &route, req, next).await;
    st.metrics
        .observe(&route, resp.status().as_u16(), start.elapsed());
    resp
}

async fn guarded(st: &Arc<AppState>, route: &str, req: Request, next: Next) -> Response {
    if let Some(token) = &st.cfg.token {
        if route != "/health" && route != "/openapi.json" {
            let ok = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), token.as_bytes()));
            if !ok {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "missing or wrong bearer token",
                )
                .into_response();
            }
        }
    }
    let timeout = st.cfg.timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    let permit = match tokio::time::timeout_at(deadline, st.limiter.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        _ => {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "too many requests in flight; retry later",
            )
            .into_response();
        }
    };
    let resp = match tokio::time::timeout_at(deadline, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!("request took longer than {} ms", timeout.as_millis()),
        )
        .into_response(),
    };
    drop(permit);
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("method not allowed on {route}"),
        )
        .into_response();
    }
    resp
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn health(State(st): State<Arc<AppState>>) -> Response {
    let idx = st.index();
    json_response(json_bytes(&serde_json::json!({
        "status": "ok",
        "index_version": idx.version(),
        "tainted_addresses": idx.tainted_len(),
        "labels": idx.labels_len(),
    })))
}

async fn openapi() -> Response {
    json_response(OPENAPI.as_bytes().to_vec())
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route {} {}", req.method(), req.uri().path()),
    )
}

async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // http-body-util's LengthLimitError: "length limit exceeded"
        if e.to_string().contains("length limit") {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("request body larger than {limit} bytes"),
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("cannot read request body: {e}"),
            )
        }
    })
}

async fn screen(State(st): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let limit = st.cfg.body_limit;
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("request body of {len} bytes is larger than {limit} bytes"),
            ));
        }
    }
    let bytes = read_body(req.into_body(), limit).await?;
    let items = input::parse_request(&bytes, st.cfg.max_batch)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.code, e.message))?;
    let idx = st.index();
    if !items.iter().any(|(_, i)| matches!(i, Item::Tx { .. })) {
        return Ok(json_response(answer(&idx, &items, None)?));
    }
    // transactions: their receivers are read from the store, off the async workers
    let st2 = st.clone();
    let body = tokio::task::spawn_blocking(move || {
        let store = st2.store.lock().unwrap_or_else(|p| p.into_inner());
        answer(&idx, &items, Some(&store))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    Ok(json_response(body))
}

fn answer(
    idx: &ScreenIndex,
    items: &[(String, Item)],
    store: Option<&Store>,
) -> Result<Vec<u8>, ScreenError> {
    let results = super::screen_items(idx, items, store)?;
    Ok(json_bytes(&serde_json::json!({
        "index_version": idx.version(),
        "results": results,
    })))
}

async fn address(
    State(st): State<Arc<AppState>>,
    Path((chain, addr)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let chain = input::parse_chain(&chain)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    let a = Address::parse(chain, &addr)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_address", e.to_string()))?;
    let idx = st.index();
    let r = idx.screen(&addr, Some(chain), &a);
    Ok(json_response(json_bytes(&r)))
}

async fn reload(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let (previous, version) = st.reload().await?;
    let idx = st.index();
    Ok(json_response(json_bytes(&serde_json::json!({
        "previous_version": previous,
        "index_version": version,
        "tainted_addresses": idx.tainted_len(),
        "labels": idx.labels_len(),
    }))))
}

async fn metrics(State(st): State<Arc<AppState>>) -> Response {
    use std::fmt::Write;
    let m = &st.metrics;
    let idx = st.index();
    let mut s = String::new();
    s.push_str("# HELP moneytrail_requests_total HTTP requests by route and status.\n");
    s.push_str("# TYPE moneytrail_requests_total counter\n");
    for ((route, status), n) in m.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ = writeln!(
            s,
            "moneytrail_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
        );
    }
    s.push_str("# HELP moneytrail_request_duration_seconds Request latency.\n");
    s.push_str("# TYPE moneytrail_request_duration_seconds histogram\n");
    for (i, b) in BUCKETS.iter().enumerate() {
        let _ = writeln!(
            s,
            "moneytrail_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
            m.buckets[i].load(Ordering::Relaxed)
        );
    }
    let count = m.count.load(Ordering::Relaxed);
    let _ = writeln!(
        s,
        "moneytrail_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        s,
        "moneytrail_request_duration_seconds_sum {}",
        m.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(s, "moneytrail_request_duration_seconds_count {count}");
    s.push_str("# HELP moneytrail_index_info The screening index answering requests.\n");
    s.push_str("# TYPE moneytrail_index_info gauge\n");
    let _ = writeln!(
        s,
        "moneytrail_index_info{{version=\"{}\"}} 1",
        idx.version()
    );
    s.push_str("# TYPE moneytrail_index_tainted_addresses gauge\n");
    let _ = writeln!(
        s,
        "moneytrail_index_tainted_addresses {}",
        idx.tainted_len()
    );
    s.push_str("# TYPE moneytrail_index_labels gauge\n");
    let _ = writeln!(s, "moneytrail_index_labels {}", idx.labels_len());
    s.push_str("# TYPE moneytrail_index_reloads_total counter\n");
    let _ = writeln!(
        s,
        "moneytrail_index_reloads_total {}",
        m.reloads.load(Ordering::Relaxed)
    );
    s.push_str("# TYPE moneytrail_index_reload_failures_total counter\n");
    let _ = writeln!(
        s,
        "moneytrail_index_reload_failures_total {}",
        m.reload_failures.load(Ordering::Relaxed)
    );
    let mut r = Response::new(Body::from(s));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}
