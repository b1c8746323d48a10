//! Unit tests on the real price files of `../shared/data/prices` (read, never copied).

use std::path::{Path, PathBuf};

use alloy_primitives::U256;

use super::import::{self, ImportOptions, asset_from_file_name, check_close, detect, parse_when};
use super::*;

fn data(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/prices")
        .join(rel);
    assert!(p.is_file(), "real price file {} not found", p.display());
    p
}

const ETH: &str = "prices-yfinance-budydeveloper/yfinance/cryptos/eth/ETH-USD_1d.csv";
const USDC: &str = "prices-yfinance-budydeveloper/cryptos/usdc/USDC-USD_1d.csv";
const BINANCE: &str = "prices-yfinance-budydeveloper/binance/btc/BTCUSDT_1d.csv";
const BTC: &str = "prices-btc-coinbase-mathaszip/data/btc/daily/BTCUSD_1d_candles_full.csv";

/// (date cell, close cell) of every data line of a file, by a plain split (independent of the
/// importer).
fn cells(rel: &str, date_col: usize, close_col: usize) -> Vec<(String, String)> {
    std::fs::read_to_string(data(rel))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[date_col][..10].to_string(), f[close_col].to_string())
        })
        .collect()
}

fn t(day: &str) -> i64 {
    day_start(parse_day(day).unwrap()) + 12 * 3600
}

#[test]
fn each_real_layout_is_detected_with_its_asset() {
    for (rel, layout, asset, date, close, date_col, close_col) in [
        (ETH, "yfinance", "ETH", "datetime", "close", 0, 4),
        (USDC, "yahoo", "USDC", "Date", "Close", 0, 1),
        (BINANCE, "binance-kline", "BTC", "open_time", "close", 0, 4),
        (BTC, "coinbase-bitstamp", "BTC", "timestamp", "close", 0, 2),
    ] {
        let (rep, rows) = import::read_file(&data(rel), &ImportOptions::default()).unwrap();
        assert_eq!(rep.layout, layout, "{rel}");
        assert_eq!(rep.asset, asset, "{rel}");
        assert_eq!(rep.columns, (date.to_string(), close.to_string()), "{rel}");
        // every close kept as the exact text of the file, on the file's day
        let want = cells(rel, date_col, close_col);
        assert_eq!(rows.len(), want.len(), "{rel}");
        for (r, (d, c)) in rows.iter().zip(&want) {
            assert_eq!((&r.day, &r.close_usd), (d, c), "{rel}");
        }
        assert_eq!(
            rep.source,
            format!(
                "file:{}",
                Path::new(rel).file_name().unwrap().to_str().unwrap()
            )
        );
    }
}

#[test]
fn coingecko_and_headerless_binance_layouts() {
    let h = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
    let l = detect(&h("snapped_at,price,market_cap,total_volume")).unwrap();
    assert_eq!((l.name, l.date, l.close), ("coingecko", 0, 1));
    let l = detect(&h("time,low,high,open,close,volume")).unwrap();
    assert_eq!((l.name, l.close), ("coinbase-candles", 4));
    let raw = "1502928000000,4261.48,4485.39,4200.74,4285.08,795.15,1503014399999,3454770.05,3427,616.24,2678216.40,0";
    let l = detect(&h(raw)).unwrap();
    assert_eq!(
        (l.name, l.date, l.close, l.header),
        ("binance-kline", 0, 4, false)
    );
    assert!(detect(&h("when,value")).is_none());
}

#[test]
fn dates_and_closes_are_checked() {
    let d = |s| parse_when(s).map(|d| d.to_string());
    assert_eq!(d("2022-03-23").as_deref(), Some("2022-03-23"));
    assert_eq!(d("2015-08-07 00:00:00 UTC").as_deref(), Some("2015-08-07"));
    assert_eq!(
        d("2022-03-23T23:30:00-02:00").as_deref(),
        Some("2022-03-24")
    );
    assert_eq!(
        d("2022-03-23 00:00:00+00:00").as_deref(),
        Some("2022-03-23")
    );
    assert_eq!(d("1648000000").as_deref(), Some("2022-03-23"));
    assert_eq!(d("1648000000000").as_deref(), Some("2022-03-23"));
    for bad in ["", "23/03/2022", "2022-13-01", "yesterday", "-5"] {
        assert_eq!(d(bad), None, "{bad}");
    }
    for ok in ["1", "0.5", "320.8840026855469", "1.2e-05", "3E2"] {
        assert!(check_close(ok).is_ok(), "{ok}");
    }
    for bad in [
        "", "NaN", "nan", "inf", "-5", "0", "0.000", "1,5", "1.2.3", "e5", "1e", "abc",
    ] {
        assert!(check_close(bad).is_err(), "{bad}");
    }
}

#[test]
fn asset_names_from_file_names() {
    let a = |s: &str| asset_from_file_name(Path::new(s));
    assert_eq!(a("ETH-USD_1d.csv").as_deref(), Some("ETH"));
    assert_eq!(a("/x/BTCUSDT_1d.csv").as_deref(), Some("BTC"));
    assert_eq!(a("BTCUSD_1d_candles_full.csv").as_deref(), Some("BTC"));
    assert_eq!(a("USDC-USD_1d.csv").as_deref(), Some("USDC"));
    assert_eq!(a("eth-usd-max.csv").as_deref(), Some("ETH"));
    assert_eq!(a("prices.csv"), None);
    assert_eq!(a("ETH-EUR_1d.csv"), None);
}

#[test]
fn embedded_monthly_table_parses_and_matches_the_shared_files() {
    let rows = embedded_monthly().unwrap();
    assert!(rows.len() > 150, "{} rows", rows.len());
    // recompute 2022-03 (and a partial month) from the daily files
    for (asset, rel, close_col, month) in [
        ("ETH", ETH, 4, "2022-03"),
        ("BTC", BTC, 2, "2022-03"),
        ("ETH", ETH, 4, "2017-11"),
        ("BTC", BTC, 2, "2019-07"),
    ] {
        let closes: Vec<f64> = cells(rel, 0, close_col)
            .into_iter()
            .filter(|(d, _)| d.starts_with(month))
            .map(|(_, c)| c.parse().unwrap())
            .collect();
        let mean = closes.iter().sum::<f64>() / closes.len() as f64;
        let row = rows
            .iter()
            .find(|r| r.asset == asset && r.month == month)
            .unwrap();
        assert_eq!(row.days as usize, closes.len(), "{asset} {month}");
        let avg: f64 = row.avg_close_usd.parse().unwrap();
        assert!(
            (avg - mean).abs() <= 0.005 + 1e-9,
            "{asset} {month}: {avg} vs {mean}"
        );
        let p = PriceBook::embedded()
            .price(asset, t(&format!("{month}-15")))
            .unwrap();
        assert_eq!(p.kind, PriceKind::Monthly);
        assert_eq!(p.usd, avg);
        assert_eq!(p.date, format!("{month}-01"));
    }
    // ETH's daily file starts 2017-11-09: no earlier month; BTC's covers 2017-01
    let book = PriceBook::embedded();
    assert_eq!(book.price("ETH", t("2017-10-15")), None);
    assert_eq!(
        book.price("BTC", t("2017-01-15")).unwrap().source,
        "embedded:coinbase-bitstamp"
    );
    assert_eq!(
        book.price("ETH", t("2022-03-15")).unwrap().source,
        "embedded:yfinance"
    );
    assert_eq!(book.price("BTC", t("2016-12-31")), None);
    assert_eq!(book.price("DOGE", t("2022-03-15")), None);
}

#[test]
fn stablecoins_aliases_and_case() {
    let mut book = PriceBook::embedded();
    let p = book.price("usdt", t("2022-03-23")).unwrap();
    assert_eq!(
        p,
        Price {
            usd: 1.0,
            kind: PriceKind::Stablecoin,
            source: "usd-peg".into(),
            date: "2022-03-23".into(),
            priced_as: "USDT".into()
        }
    );
    for s in STABLECOINS {
        assert_eq!(book.price(s, t("2020-01-01")).unwrap().usd, 1.0);
    }
    // a loaded daily close of a stablecoin wins on its day only
    book.add_daily(&DailyPrice {
        asset: "USDC".into(),
        day: "2023-03-11".into(),
        close_usd: "0.8774".into(),
        source: "file:depeg.csv".into(),
    })
    .unwrap();
    let p = book.price("USDC", t("2023-03-11")).unwrap();
    assert_eq!((p.usd, p.kind), (0.8774, PriceKind::Daily));
    assert_eq!(
        book.price("USDC", t("2023-03-12")).unwrap().kind,
        PriceKind::Stablecoin
    );
    // aliases are priced as their coin and say so
    let eth = book.price("ETH", t("2022-03-23")).unwrap();
    let weth = book.price("weth", t("2022-03-23")).unwrap();
    assert_eq!((weth.usd, weth.priced_as.as_str()), (eth.usd, "ETH"));
    for s in ["WBTC", "renBTC", "btcb", "HBTC"] {
        let p = book.price(s, t("2022-03-23")).unwrap();
        assert_eq!(p.priced_as, "BTC", "{s}");
    }
}

#[test]
fn a_day_missing_from_daily_falls_back_to_monthly_and_usd_is_exact() {
    let (_, rows) = import::read_file(&data(ETH), &ImportOptions::default()).unwrap();
    let mut book = PriceBook::embedded();
    for r in rows.iter().filter(|r| r.day != "2022-03-24") {
        book.add_daily(r).unwrap();
    }
    // the file's close of 2022-03-23, read independently
    let close: f64 = cells(ETH, 0, 4)
        .into_iter()
        .find(|(d, _)| d == "2022-03-23")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let amount = U256::from(173_600u64) * U256::from(10u64).pow(U256::from(18u64));
    let (usd, p) = book.usd("ETH", 18, amount, t("2022-03-23")).unwrap();
    assert_eq!(p.kind, PriceKind::Daily);
    assert_eq!(p.date, "2022-03-23");
    assert_eq!(usd, 173_600.0 * close);
    // 2022-03-24 is not loaded: no neighbour's close, the month's average
    let p = book.price("ETH", t("2022-03-24")).unwrap();
    assert_eq!(
        (p.kind, p.date.as_str()),
        (PriceKind::Monthly, "2022-03-01")
    );
    // the first and last second of a UTC day are that day
    let d = day_start(parse_day("2022-03-23").unwrap());
    assert_eq!(book.price("ETH", d).unwrap().date, "2022-03-23");
    assert_eq!(book.price("ETH", d + 86_399).unwrap().date, "2022-03-23");
}

#[test]
fn units_convert_with_one_rounding() {
    assert_eq!(units_f64(U256::from(1u64), 18), 1e-18);
    assert_eq!(units_f64(U256::from(1_500_000u64), 6), 1.5);
    assert_eq!(units_f64(U256::from(12345u64), 0), 12345.0);
    assert_eq!(units_f64(U256::ZERO, 8), 0.0);
    assert_eq!(
        units_f64(U256::from(10u64).pow(U256::from(30u64)), 18),
        1e12
    );
    assert!(units_f64(U256::MAX, 255) > 0.0);
}

#[test]
fn store_upserts_count_new_replaced_unchanged() {
    let mut store = crate::store::Store::open_in_memory().unwrap();
    let row = |day: &str, c: &str| DailyPrice {
        asset: "ETH".into(),
        day: day.into(),
        close_usd: c.into(),
        source: "test".into(),
    };
    let a = [row("2022-03-23", "3000.5"), row("2022-03-24", "3100")];
    let c = store.upsert_prices(&[&a]).unwrap();
    assert_eq!((c[0].new, c[0].replaced, c[0].unchanged), (2, 0, 0));
    let b = [row("2022-03-23", "3000.5"), row("2022-03-24", "3100.25")];
    let c = store.upsert_prices(&[&b]).unwrap();
    assert_eq!((c[0].new, c[0].replaced, c[0].unchanged), (0, 1, 1));
    assert_eq!(store.daily_prices().unwrap(), b.to_vec());
    let book = PriceBook::from_store(&store).unwrap();
    assert_eq!(book.price("ETH", t("2022-03-24")).unwrap().usd, 3100.25);
    assert_eq!(book.daily_len(), 2);
}
