//! `moneytrail serve` over real HTTP on loopback: a batch, the documented error codes (bad
//! JSON, oversized body, batch too large, wrong or missing token, unknown chain, invalid
//! address, unknown route), /health, /metrics, /openapi.json, and a hot reload (admin route
//! and SIGHUP) in the middle of a stream of requests that drops none.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moneytrail::model::{Address, Chain};
use moneytrail::screen::index::{IndexData, save};
use moneytrail::screen::{Exposure, Taint};
use moneytrail::store::Store;
use serde_json::{Value, json};

const TOKEN: &str = "s3cret-token";
const TAINTED: &str = "0x1111111111111111111111111111111111111111";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moneytrail(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moneytrail"))
        .arg("--db")
        .arg(db)
        .arg("-q")
        .args(args)
        .output()
        .unwrap()
}

fn start(db: &std::path::Path) -> Server {
    for _ in 0..5 {
        let port = common::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_moneytrail"))
            .arg("--db")
            .arg(db)
            .args([
                "-q",
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--body-limit",
                "200000",
            ])
            .env("MONEYTRAIL_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut s = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if reqwest::blocking::get(format!("{}/health", s.base))
                .is_ok_and(|r| r.status().is_success())
            {
                return s;
            }
            if s.child.try_wait().unwrap().is_some() {
                break; // port taken in between
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = s.child.kill();
    }
    panic!("moneytrail serve did not start");
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let ofac = common::shared_data().join("labels/ofac-sdn-0xb10c/sanctioned_addresses_ETH.txt");
    let o = moneytrail(&db, &["labels", "import", ofac.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sanctioned = std::fs::read_to_string(&ofac)
        .unwrap()
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("0x"))
        .unwrap()
        .to_string();
    let store = Store::open(&db).unwrap();
    let taint = Taint {
        chain: Chain::ETHEREUM,
        hops: 2,
        seed: false,
        path: vec![
            format!("0x{}", "ab".repeat(32)),
            format!("0x{}", "cd".repeat(32)),
        ],
        exposure: vec![Exposure {
            category: "theft".into(),
            incident: "test-heist".into(),
            model: "haircut".into(),
            asset: "ETH".into(),
            amount: "5".into(),
            received: Some("10".into()),
            share: Some(0.5),
            hops: 2,
            endpoint: Some("unspent".into()),
            entity: None,
        }],
    };
    save(
        &store,
        &IndexData {
            traces: Vec::new(),
            taint: vec![(Address::parse(Chain::ETHEREUM, TAINTED).unwrap(), taint)],
        },
    )
    .unwrap();
    (dir, db, sanctioned)
}

fn client() -> reqwest::blocking::Client {
    // a connection per request: after refusing an oversized body the server closes the
    // connection without reading the rest (as HTTP allows), and a pooled client could send the
    // next request on it (seen once as hyper's IncompleteMessage)
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

fn post(
    c: &reqwest::blocking::Client,
    url: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut rq = c
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        rq = rq.bearer_auth(t);
    }
    let r = rq.send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn get(c: &reqwest::blocking::Client, url: &str) -> (u16, Value) {
    let r = c.get(url).bearer_auth(TOKEN).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<none>")
}

#[test]
fn service_answers_and_errors_with_documented_codes() {
    let (_dir, db, sanctioned) = setup();
    let s = start(&db);
    let c = client();
    let screen = format!("{}/v1/screen", s.base);

    // a batch: tainted, sanctioned, clean; one with its own chain
    let body = json!({"items": [TAINTED, {"address": sanctioned, "chain": "ethereum"},
        "0x2222222222222222222222222222222222222222"]});
    let (st, v) = post(&c, &screen, Some(TOKEN), body.to_string().into_bytes());
    assert_eq!(st, 200, "{v}");
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["risk"], 6); // hop 2: 8 × (0.5 + 0.5 × 0.5)
    assert_eq!(r[0]["hops"], 2);
    assert_eq!(r[0]["path"].as_array().unwrap().len(), 2);
    assert_eq!(r[0]["exposure"][0]["incident"], "test-heist");
    assert_eq!(r[1]["risk"], 10);
    assert_eq!(r[1]["sanctioned"], true);
    assert_eq!(r[2]["risk"], 0);
    assert_eq!(r[2]["known"], false);
    assert_eq!(r[0]["index_version"], v["index_version"]);
    // a single item
    let (st, v) = post(
        &c,
        &screen,
        Some(TOKEN),
        json!({"address": TAINTED}).to_string().into_bytes(),
    );
    assert_eq!((st, v["results"][0]["risk"].clone()), (200, json!(6)));
    // GET one address
    let (st, v) = get(&c, &format!("{}/v1/address/ethereum/{TAINTED}", s.base));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["risk"], 6);

    // errors
    let (st, v) = post(&c, &screen, Some(TOKEN), b"{\"items\": [".to_vec());
    assert_eq!((st, code(&v)), (400, "bad_json"), "{v}");
    let (st, v) = post(&c, &screen, Some(TOKEN), vec![b' '; 300_000]);
    assert_eq!((st, code(&v)), (413, "body_too_large"), "{v}");
    let many: Vec<String> = (0..1001).map(|_| TAINTED.to_string()).collect();
    let (st, v) = post(
        &c,
        &screen,
        Some(TOKEN),
        json!({ "items": many }).to_string().into_bytes(),
    );
    assert_eq!((st, code(&v)), (400, "batch_too_large"), "{v}");
    let ok_body = json!({"address": TAINTED}).to_string().into_bytes();
    let (st, v) = post(&c, &screen, None, ok_body.clone());
    assert_eq!((st, code(&v)), (401, "unauthorized"), "{v}");
    let (st, v) = post(&c, &screen, Some("wrong"), ok_body);
    assert_eq!((st, code(&v)), (401, "unauthorized"), "{v}");
    let (st, v) = post(
        &c,
        &screen,
        Some(TOKEN),
        json!({"address": TAINTED, "chain": "mars"})
            .to_string()
            .into_bytes(),
    );
    assert_eq!((st, code(&v)), (400, "unknown_chain"), "{v}");
    let (st, v) = get(&c, &format!("{}/v1/address/mars/{TAINTED}", s.base));
    assert_eq!((st, code(&v)), (400, "unknown_chain"), "{v}");
    let (st, v) = post(
        &c,
        &screen,
        Some(TOKEN),
        json!({"items": [TAINTED, "0xnothex"]})
            .to_string()
            .into_bytes(),
    );
    assert_eq!((st, code(&v)), (400, "invalid_address"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("item 1"));
    let (st, v) = get(&c, &format!("{}/v1/address/ethereum/0x1234", s.base));
    assert_eq!((st, code(&v)), (400, "invalid_address"), "{v}");
    let (st, v) = get(&c, &format!("{}/v2/nothing", s.base));
    assert_eq!((st, code(&v)), (404, "not_found"), "{v}");

    // health and openapi are open; metrics needs the token
    let h: Value = c
        .get(format!("{}/health", s.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(h["status"], "ok");
    let api: Value = c
        .get(format!("{}/openapi.json", s.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(api["paths"]["/v1/screen"].is_object());
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("docs/openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(api, on_disk);
    let r = c.get(format!("{}/metrics", s.base)).send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let m = c
        .get(format!("{}/metrics", s.base))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        m.contains("moneytrail_requests_total{route=\"/v1/screen\",status=\"200\"} 2"),
        "{m}"
    );
    assert!(m.contains("moneytrail_request_duration_seconds_bucket{le=\"+Inf\"}"));
    assert!(m.contains(&format!(
        "moneytrail_index_info{{version=\"{}\"}} 1",
        h["index_version"].as_str().unwrap()
    )));
}

#[test]
fn reload_during_a_stream_of_requests_drops_none() {
    let (dir, db, _) = setup();
    let s = start(&db);
    let base = s.base.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let versions = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, done, versions, base) =
                (stop.clone(), done.clone(), versions.clone(), base.clone());
            std::thread::spawn(move || {
                let c = client();
                let body =
                    json!({"items": [TAINTED, "0x2222222222222222222222222222222222222222"]})
                        .to_string();
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match c
                        .post(format!("{base}/v1/screen"))
                        .bearer_auth(TOKEN)
                        .body(body.clone())
                        .send()
                    {
                        Ok(r) if r.status().is_success() => {
                            let v: Value = r.json().unwrap();
                            assert_eq!(v["results"][0]["risk"], 6);
                            versions
                                .lock()
                                .unwrap()
                                .insert(v["index_version"].as_str().unwrap().to_string());
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => failures.push(format!("status {}", r.status())),
                        Err(e) => failures.push(e.to_string()),
                    }
                }
                failures
            })
        })
        .collect();
    let c = client();
    std::thread::sleep(Duration::from_millis(300));
    let before: Value = c
        .get(format!("{base}/health"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    // new labels change the label snapshot, hence the version
    let csv = dir.path().join("more.csv");
    std::fs::write(
        &csv,
        "address,label,category\n0x2222222222222222222222222222222222222222,Some exchange,exchange\n",
    )
    .unwrap();
    assert!(
        moneytrail(&db, &["labels", "import", csv.to_str().unwrap()])
            .status
            .success()
    );
    for i in 0..6 {
        if i % 2 == 0 {
            let (st, v) = post(
                &c,
                &format!("{base}/v1/admin/reload"),
                Some(TOKEN),
                Vec::new(),
            );
            assert_eq!(st, 200, "{v}");
        } else {
            let ok = Command::new("kill")
                .args(["-HUP", &s.child.id().to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(failures.is_empty(), "dropped requests: {failures:?}");
    assert!(done.load(Ordering::Relaxed) > 50, "too few requests ran");
    let after: Value = c
        .get(format!("{base}/health"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_ne!(before["index_version"], after["index_version"]);
    let seen = versions.lock().unwrap();
    assert!(seen.contains(after["index_version"].as_str().unwrap()));
    // three admin reloads and three SIGHUPs (a signal's reload may still be running)
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = c
            .get(format!("{base}/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .text()
            .unwrap();
        let reloads: u64 = m
            .lines()
            .find_map(|l| l.strip_prefix("moneytrail_index_reloads_total "))
            .unwrap()
            .parse()
            .unwrap();
        if reloads == 6 {
            break;
        }
        assert!(Instant::now() < deadline, "{m}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
