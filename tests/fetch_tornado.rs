//! Tornado Cash pool events on a real anvil chain (tests/common/tornado.rs): decoded through
//! the JSON-RPC source and through the local Etherscan / Blockscout-format server equal to
//! what the scenario emitted, field by field; the frontier past the pools with `--demix`
//! (events and withdrawal transactions stored, planted recipients reached, nothing new on a
//! re-run) and without it (pools terminal); a malformed log is an error naming its
//! transaction and log index.

mod common;

use std::time::Duration;

use alloy_primitives::{B256, U256};
use common::explorer::{ChainData, Config, Explorer};
use common::tornado::{self, Tornado};
use common::{moneytrail, ok};
use moneytrail::fetch::etherscan::{ApiKey, EtherscanSource, ExplorerConfig};
use moneytrail::fetch::events::tornado::TOPICS;
use moneytrail::fetch::evm_rpc::{RpcConfig, RpcSource};
use moneytrail::fetch::{HttpClient, RetryPolicy, Source};
use moneytrail::model::{Address, Chain, ContractEvent, EventData};
use moneytrail::store::Store;
use serde_json::Value;

const CHAIN: Chain = Chain::Evm(1);
const KEY: &str = "TORNADOKEY0123456789";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
    }
}

fn addr(s: &str) -> Address {
    Address::parse(CHAIN, s).unwrap()
}

fn evm(s: &str) -> alloy_primitives::Address {
    s.parse().unwrap()
}

fn b256(s: &str) -> B256 {
    s.parse().unwrap()
}

/// Every event of both pools over the scenario's blocks through `src`.
async fn pool_events(src: &dyn Source, t: &Tornado) -> Vec<ContractEvent> {
    let head = src.head().await.unwrap();
    let mut all = Vec::new();
    for (pool, _) in &t.pools {
        all.extend(
            src.contract_events(&addr(pool), &TOPICS, t.start_block, head)
                .await
                .unwrap(),
        );
    }
    all
}

fn block_time(t: &Tornado, block: u64) -> i64 {
    let b = t.anvil.rpc(
        "eth_getBlockByNumber",
        serde_json::json!([format!("{block:#x}"), false]),
    );
    i64::from_str_radix(
        b["timestamp"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap()
}

/// `got` holds exactly the scenario's deposits and withdrawals, field by field.
fn assert_scenario(t: &Tornado, got: &[ContractEvent], what: &str) {
    assert_eq!(
        got.len(),
        t.deposits.len() + t.withdrawals.len(),
        "{what}: event count"
    );
    for d in &t.deposits {
        let e = got
            .iter()
            .find(|e| e.tx.display(CHAIN) == d.tx)
            .unwrap_or_else(|| panic!("{what}: deposit {} missing", d.tx));
        assert_eq!(e.contract, addr(&d.pool), "{what}: {}", d.tx);
        assert_eq!(e.block, d.block, "{what}: {}", d.tx);
        assert_eq!(e.tx_from, Some(addr(&d.depositor)), "{what}: {}", d.tx);
        assert_eq!(
            e.gas_price,
            Some(U256::from(d.gas_price)),
            "{what}: {}",
            d.tx
        );
        assert_eq!(e.time, block_time(t, d.block), "{what}: {}", d.tx);
        assert_eq!(
            e.data,
            EventData::TornadoDeposit {
                commitment: b256(&d.commitment),
                leaf_index: d.leaf_index,
                timestamp: e.time as u64,
            },
            "{what}: {}",
            d.tx
        );
    }
    for w in &t.withdrawals {
        let e = got
            .iter()
            .find(|e| e.tx.display(CHAIN) == w.tx)
            .unwrap_or_else(|| panic!("{what}: withdrawal {} missing", w.tx));
        assert_eq!(e.contract, addr(&w.pool), "{what}: {}", w.tx);
        assert_eq!(e.block, w.block, "{what}: {}", w.tx);
        assert_eq!(e.tx_from, Some(addr(&w.sender)), "{what}: {}", w.tx);
        assert_eq!(
            e.gas_price,
            Some(U256::from(w.gas_price)),
            "{what}: {}",
            w.tx
        );
        assert_eq!(e.time, block_time(t, w.block), "{what}: {}", w.tx);
        assert_eq!(
            e.data,
            EventData::TornadoWithdrawal {
                to: evm(&w.recipient),
                nullifier_hash: b256(&w.nullifier),
                relayer: evm(&w.relayer),
                fee: U256::from(w.fee),
            },
            "{what}: {}",
            w.tx
        );
    }
    // chain order within each pool
    for (pool, _) in &t.pools {
        let keys: Vec<_> = got
            .iter()
            .filter(|e| e.contract == addr(pool))
            .map(|e| (e.block, e.tx_index, e.log_index))
            .collect();
        assert!(keys.is_sorted(), "{what}: not in chain order");
    }
}

#[test]
fn events_through_rpc_and_explorers_equal_the_scenario() {
    let t = tornado::build();
    assert!(t.deposits.len() >= 49 && t.withdrawals.len() >= 34);
    let rt = rt();
    let rpc_events = rt.block_on(async {
        let http = HttpClient::new(5000.0, policy()).unwrap();
        let src = RpcSource::connect(http, RpcConfig::new(&t.anvil.url, CHAIN))
            .await
            .unwrap();
        pool_events(&src, &t).await
    });
    assert_scenario(&t, &rpc_events, "json-rpc");

    let data = ChainData::from_anvil(&t.anvil);
    assert!(data.logs.len() >= rpc_events.len());
    // Etherscan with pages of 7 inside a result window of 20: the walk pages and re-anchors
    let mut cfg = Config::etherscan(KEY);
    cfg.window = 20;
    let es = Explorer::start(cfg, data.clone(), &t.anvil.url);
    let got = rt.block_on(async {
        let http = HttpClient::new(5000.0, policy()).unwrap();
        let mut c = ExplorerConfig::etherscan(CHAIN, ApiKey::new(KEY));
        c.url = es.url.clone();
        c.page_size = 7;
        let src = EtherscanSource::new(http, c).unwrap();
        pool_events(&src, &t).await
    });
    assert_scenario(&t, &got, "etherscan");
    assert_eq!(got, rpc_events, "etherscan = json-rpc");
    assert!(
        es.count("logs/getLogs") > 4,
        "paged: {}",
        es.count("logs/getLogs")
    );

    let bs = Explorer::start(Config::blockscout(), data, &t.anvil.url);
    let got = rt.block_on(async {
        let http = HttpClient::new(5000.0, policy()).unwrap();
        let src = EtherscanSource::new(http, ExplorerConfig::blockscout(&bs.url, CHAIN)).unwrap();
        pool_events(&src, &t).await
    });
    assert_eq!(got, rpc_events, "blockscout = json-rpc");
}

#[test]
fn a_malformed_log_is_an_error_naming_its_transaction_and_log_index() {
    let t = tornado::build();
    let mut data = ChainData::from_anvil(&t.anvil);
    let w = &t.withdrawals[3];
    let row = data
        .logs
        .iter_mut()
        .find(|l| l.hash == w.tx && l.topics.first().map(|x| b256(x)) == Some(TOPICS[1]))
        .unwrap();
    // the known Withdrawal topic with data one word short
    row.data.truncate(row.data.len() - 64);
    let log_index = row.log_index;
    let es = Explorer::start(Config::etherscan(KEY), data, &t.anvil.url);
    let err = rt().block_on(async {
        let http = HttpClient::new(5000.0, policy()).unwrap();
        let mut c = ExplorerConfig::etherscan(CHAIN, ApiKey::new(KEY));
        c.url = es.url.clone();
        let src = EtherscanSource::new(http, c).unwrap();
        let head = src.head().await.unwrap();
        src.contract_events(&addr(&w.pool), &TOPICS, t.start_block, head)
            .await
            .unwrap_err()
            .to_string()
    });
    assert!(err.contains(&w.tx), "{err}");
    assert!(err.contains(&format!("log {log_index} ")), "{err}");
    assert!(err.to_lowercase().contains(&w.pool.to_lowercase()), "{err}");
    assert!(err.contains("Withdrawal(address to"), "{err}");
}
