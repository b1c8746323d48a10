//! The embedded knowledge base: every incident, address, hash and label parses.

use moneytrail::knowledge::Catalog;
use moneytrail::knowledge::labels::{self, ImportOptions};
use moneytrail::model::{Address, Category, Chain, TxHash};

#[test]
fn every_catalogued_address_is_valid() {
    let cat = Catalog::embedded();
    let incidents = cat.incidents().expect("catalog loads");
    assert!(incidents.len() >= 12, "only {} incidents", incidents.len());
    let mut n = 0;
    for inc in &incidents {
        for a in &inc.addresses {
            Address::parse(a.chain, &a.address).unwrap_or_else(|e| panic!("{}: {e}", inc.id));
            n += 1;
        }
        for t in &inc.theft_txs {
            TxHash::parse(&t.hash).unwrap_or_else(|e| panic!("{}: {e}", inc.id));
        }
        assert!(!inc.sources.is_empty(), "{} has no sources", inc.id);
    }
    assert!(n >= 300, "only {n} catalogued addresses");
    let ronin = cat.incident("ronin-2022").unwrap().expect("ronin-2022");
    let exploiter = Address::parse(
        Chain::ETHEREUM,
        "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
    )
    .unwrap();
    assert!(ronin.seeds(Chain::ETHEREUM).contains(&exploiter));
    assert_eq!(ronin.stolen_summary(), "173600 ETH + 25500000 USDC");
}

#[test]
fn every_catalogued_label_is_valid() {
    let cat = Catalog::embedded();
    let mut total = 0;
    for (path, text, _) in cat.files("labels/") {
        if !path.ends_with(".yaml") {
            continue;
        }
        let p =
            labels::parse(path, text, &ImportOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            p.skipped.is_empty(),
            "{path}: skipped {:?}",
            p.skipped.iter().take(5).collect::<Vec<_>>()
        );
        total += p.labels.len();
    }
    assert!(total > 0, "no curated labels embedded");
}

#[test]
fn curated_core_covers_the_essentials() {
    let cat = Catalog::embedded();
    let mut all = Vec::new();
    for (path, text, _) in cat.files("labels/") {
        if path.ends_with(".yaml") {
            all.extend(
                labels::parse(path, text, &ImportOptions::default())
                    .unwrap()
                    .labels,
            );
        }
    }
    let has = |cat: Category, needle: &str| {
        all.iter().any(|l| {
            l.category == cat
                && (l.label.to_lowercase().contains(needle)
                    || l.actor.as_deref().unwrap_or("").contains(needle))
        })
    };
    // Tornado Cash 100 ETH pool, by address
    let pool = Address::parse(
        Chain::ETHEREUM,
        "0xA160cdAB225685dA1d56aa342Ad8841c3b53f291",
    )
    .unwrap();
    assert!(
        all.iter()
            .any(|l| l.address == pool && l.category == Category::Mixer),
        "Tornado Cash 100 ETH pool missing"
    );
    for ex in [
        "binance", "coinbase", "kraken", "okx", "huobi", "kucoin", "bybit",
    ] {
        assert!(has(Category::Exchange, ex), "no exchange wallet for {ex}");
    }
    for b in [
        "ronin",
        "harmony",
        "ren",
        "avalanche",
        "wormhole",
        "thorchain",
    ] {
        assert!(has(Category::Bridge, b), "no bridge for {b}");
    }
    assert!(has(Category::Sanctioned, "lazarus"));
}

#[test]
fn published_estimates_for_2022() {
    let est = Catalog::embedded().estimates().unwrap();
    let y2022: Vec<_> = est.iter().filter(|e| e.is_for_year(2022)).collect();
    let find = |publisher: &str, text: &str| {
        y2022
            .iter()
            .any(|e| e.publisher.contains(publisher) && e.range_text() == text)
    };
    assert!(find("State", "$600M–$1B"));
    assert!(find("Panel of Experts", "$630M–$1B"));
    assert!(find("NIS", "$1.29B"));
    assert!(find("South Korean government", ">$700M"));
    assert!(find("Chainalysis", "$1.7B") || find("private sector", "≤$1.7B"));
    let cumulative = est
        .iter()
        .find(|e| e.publisher.contains("State") && e.years() == Some((2017, 2022)))
        .expect("State Dept 2017-2022");
    assert_eq!(cumulative.range_text(), "$1B–$2.3B");
    for e in &est {
        assert!(!e.source.is_empty(), "{} has no source", e.id);
    }
}
