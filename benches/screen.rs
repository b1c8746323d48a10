//! Screening figures (printed, no harness):
//! - in-process lookups/s against an index of N tainted addresses (hits and misses);
//! - persisting the index and loading it back from the store (`ScreenIndex::load`);
//! - HTTP: the service in-process on 127.0.0.1, driven by a small keep-alive HTTP/1.1 load
//!   generator (raw tokio sockets, C connections) for D seconds of single-address GETs:
//!   requests/s, p50, p99, p99.9.
//!
//! `cargo bench --bench screen`: N = 1,000,000, D = 10 s. Without `--bench` (as `cargo test
//! --all-targets` runs it): a smoke run (N = 10,000, 2,000 requests).

use std::time::{Duration, Instant};

use moneytrail::model::{Address, Chain};
use moneytrail::screen::index::{IndexData, save};
use moneytrail::screen::service::{AppState, ServiceConfig};
use moneytrail::screen::{Exposure, ScreenIndex, Taint};
use moneytrail::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn addr(i: u64) -> Address {
    let mut b = [0u8; 20];
    b[..8].copy_from_slice(&i.to_be_bytes());
    b[8..16].copy_from_slice(&(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_be_bytes());
    Address::Evm(alloy_primitives::Address::from(b))
}

fn taint(i: u64) -> Taint {
    let hops = 1 + (i % 8) as u32;
    Taint {
        chain: Chain::ETHEREUM,
        hops,
        seed: i % 1000 == 0,
        path: (0..hops.min(3))
            .map(|k| format!("0x{:064x}", i * 8 + u64::from(k)))
            .collect(),
        exposure: vec![Exposure {
            category: "theft".into(),
            incident: "synthetic".into(),
            model: "haircut".into(),
            asset: "ETH".into(),
            amount: format!("{}.5", i % 977),
            received: Some(format!("{}", i % 977 + 3)),
            share: Some(((i % 100) as f64) / 100.0),
            hops,
            endpoint: None,
            entity: None,
        }],
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n: u64 = if full { 1_000_000 } else { 10_000 };
    println!(
        "screen bench ({}): index of {n} tainted addresses",
        if full { "full" } else { "smoke" }
    );
    let data = IndexData {
        traces: Vec::new(),
        taint: (0..n).map(|i| (addr(i), taint(i))).collect(),
    };

    // in-process lookups
    let t = Instant::now();
    let idx = ScreenIndex::from_parts(Vec::new(), data.taint.clone(), Vec::new());
    println!("  build in memory: {:.2} s", t.elapsed().as_secs_f64());
    let probes: Vec<Address> = (0..200_000u64)
        .map(|k| {
            let i = k.wrapping_mul(2_654_435_761) % n;
            if k % 4 == 3 { addr(n + i) } else { addr(i) } // 1 in 4 misses
        })
        .collect();
    let rounds = if full { 20 } else { 1 };
    let t = Instant::now();
    let mut sum = 0u64;
    for _ in 0..rounds {
        for p in &probes {
            sum += u64::from(idx.risk_of(None, p).unwrap_or(0));
        }
    }
    let el = t.elapsed().as_secs_f64();
    let lookups = (rounds * probes.len()) as f64;
    println!(
        "  lookups (risk): {:.2} M/s ({} lookups, 25% misses, checksum {sum})",
        lookups / el / 1e6,
        lookups
    );
    let t = Instant::now();
    let mut hops = 0u64;
    for _ in 0..rounds {
        for p in &probes {
            let r = idx.screen("x", None, p);
            hops += u64::from(r.hops.unwrap_or(0)) + r.exposure.len() as u64;
        }
    }
    let el = t.elapsed().as_secs_f64();
    println!(
        "  lookups (full result, not serialised): {:.2} M/s (checksum {hops})",
        lookups / el / 1e6
    );

    // persist and load
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("screen.db");
    let store = Store::open(&db).unwrap();
    let t = Instant::now();
    save(&store, &data).unwrap();
    println!("  save to the store: {:.2} s", t.elapsed().as_secs_f64());
    drop(data);
    let t = Instant::now();
    let loaded = ScreenIndex::load(&store).unwrap();
    println!(
        "  load from the store: {:.3} s ({} records)",
        t.elapsed().as_secs_f64(),
        loaded.tainted_len()
    );
    drop(loaded);
    drop(idx);
    drop(store);

    // HTTP on loopback
    let conns = if full { 32 } else { 4 };
    let dur = Duration::from_secs(if full { 10 } else { 0 });
    let min_requests = if full { 0 } else { 2000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let state = AppState::open(ServiceConfig::new(db.clone())).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(moneytrail::screen::service::serve(
            listener,
            state,
            async move {
                let _ = rx.await;
            },
        ));
        let start = Instant::now();
        let deadline = start + dur;
        let per_conn = min_requests / conns;
        let mut tasks = Vec::new();
        for c in 0..conns {
            tasks.push(tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(at).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut lat = Vec::new();
                let mut buf = vec![0u8; 64 * 1024];
                let mut k = c as u64;
                while Instant::now() < deadline || lat.len() < per_conn {
                    let a = addr(k.wrapping_mul(2_654_435_761) % (n * 4 / 3));
                    k += conns as u64;
                    let req = format!(
                        "GET /v1/address/ethereum/{} HTTP/1.1\r\nHost: bench\r\n\r\n",
                        a.key()
                    );
                    let t = Instant::now();
                    s.write_all(req.as_bytes()).await.unwrap();
                    // read the head, then Content-Length bytes of body
                    let mut got = 0;
                    let (head_end, len) = loop {
                        let r = s.read(&mut buf[got..]).await.unwrap();
                        assert!(r > 0, "server closed the connection");
                        got += r;
                        if let Some(p) = buf[..got].windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = std::str::from_utf8(&buf[..p]).unwrap();
                            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                            let len: usize = head
                                .lines()
                                .find_map(|l| {
                                    let l = l.to_ascii_lowercase();
                                    l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())
                                })
                                .unwrap();
                            break (p + 4, len);
                        }
                    };
                    while got < head_end + len {
                        let r = s.read(&mut buf[got..]).await.unwrap();
                        assert!(r > 0);
                        got += r;
                    }
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let el = start.elapsed().as_secs_f64();
        all.sort();
        let q = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
        println!(
            "  HTTP GET /v1/address, {conns} keep-alive connections, load generator in the same process: {} requests in {el:.2} s = {:.0} req/s; p50 {:?}, p99 {:?}, p99.9 {:?}",
            all.len(),
            all.len() as f64 / el,
            q(0.50),
            q(0.99),
            q(0.999)
        );
        let _ = tx.send(());
        server.await.unwrap().unwrap();
    });
}
