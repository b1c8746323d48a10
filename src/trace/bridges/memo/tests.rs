//! Every documented memo form, and bad memos.

use super::*;

const IN: &str = "0x8a7ce7bc2ec2ee5fb1b77eae2e0a3f4c6f2b2ef3f4ec1bd83cd1bfdad5bd3f4e";
const BTC_MAIN: &str = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh";
const ETH_DEST: &str = "0x52908400098527886E0F7030069857D2E4169EE7";

fn swap(m: &str) -> Swap {
    match parse(m).unwrap() {
        Memo::Swap(s) => s,
        other => panic!("{m}: {other:?}"),
    }
}

#[test]
fn swap_long_and_short_forms_are_the_same_request() {
    let long = swap(&format!("SWAP:BTC.BTC:{BTC_MAIN}"));
    assert_eq!(long.asset.to_string(), "BTC.BTC");
    assert_eq!(long.dest, BTC_MAIN);
    assert_eq!(long.limit, None);
    for m in [
        format!("s:BTC.BTC:{BTC_MAIN}"),
        format!("=:BTC.BTC:{BTC_MAIN}"),
        format!("=:b:{BTC_MAIN}"),
        format!("=:BTC:{BTC_MAIN}"),
        format!("swap:btc.btc:{BTC_MAIN}"),
        format!("  =:b:{BTC_MAIN}\n"),
    ] {
        assert_eq!(swap(&m), long, "{m}");
    }
    let (chain, addr) = long.destination("m").unwrap();
    assert_eq!(chain, Chain::BITCOIN);
    assert_eq!(addr.to_string(), BTC_MAIN);
}

#[test]
fn swap_with_limit_streaming_affiliate() {
    let s = swap(&format!("=:e:{ETH_DEST}:1e6/3/0:t:30"));
    assert_eq!(s.asset.to_string(), "ETH.ETH");
    assert_eq!(s.limit.as_deref(), Some("1e6"));
    assert_eq!(s.streaming, Some((3, 0)));
    assert_eq!(s.affiliate, Some(("t".into(), "30".into())));
    let (chain, a) = s.destination("m").unwrap();
    assert_eq!(chain, Chain::ETHEREUM);
    assert_eq!(a.to_string(), ETH_DEST);
    let s = swap(&format!("SWAP:ETH.ETH:{ETH_DEST}:123456789"));
    assert_eq!(s.limit.as_deref(), Some("123456789"));
    assert_eq!(s.streaming, None);
    // an empty limit with an affiliate
    let s = swap(&format!("=:ETH.ETH:{ETH_DEST}::thorname:15"));
    assert_eq!(s.limit, None);
    assert_eq!(s.affiliate, Some(("thorname".into(), "15".into())));
    // destination with a refund address
    let s = swap(&format!("=:b:{BTC_MAIN}/{BTC_MAIN}:0"));
    assert_eq!(s.dest, BTC_MAIN);
    assert_eq!(s.refund.as_deref(), Some(BTC_MAIN));
}

#[test]
fn token_assets_synths_trade_assets_short_codes() {
    let s = swap(&format!(
        "=:ETH.USDC-0XA0B86991C6218B36C1D19D4A2E9EB0CE3606EB48:{ETH_DEST}:0"
    ));
    assert_eq!(s.asset.chain, "ETH");
    assert_eq!(s.asset.symbol, "USDC");
    assert_eq!(
        s.asset.contract.as_deref(),
        Some("0XA0B86991C6218B36C1D19D4A2E9EB0CE3606EB48")
    );
    assert!(s.destination("m").is_ok());
    // the documented abbreviated contract suffix
    let s = swap(&format!("=:ETH.USDT-EC7:{ETH_DEST}"));
    assert_eq!(s.asset.contract.as_deref(), Some("EC7"));
    for (code, full) in SHORT_CODES {
        assert_eq!(parse_asset(code).unwrap().to_string(), full);
    }
    let synth = swap("=:BTC/BTC:thor1g98cy3n9mmjrpn0sxmn63lztelera37n8n67c0");
    assert_eq!(synth.asset.kind, AssetKind::Synth);
    assert!(matches!(
        synth.destination("m"),
        Err(MemoError::Unfollowable { .. })
    ));
    let trade = swap("=:BTC~BTC:thor1g98cy3n9mmjrpn0sxmn63lztelera37n8n67c0");
    assert_eq!(trade.asset.kind, AssetKind::Trade);
    // chains moneytrail does not read, and THORNames, are reported, not followed
    let ltc = swap("=:l:ltc1qsome");
    assert!(matches!(
        ltc.destination("m"),
        Err(MemoError::Unfollowable { .. })
    ));
    let name = swap("=:b:bob");
    assert!(matches!(
        name.destination("m"),
        Err(MemoError::Unfollowable { .. })
    ));
}

#[test]
fn regtest_destination_and_evm_chains() {
    let k = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
    let (chain, _) = swap(&format!("=:b:{k}")).destination("m").unwrap();
    assert_eq!(chain, Chain::Bitcoin(BitcoinNetwork::Regtest));
    for (code, id) in [("BSC.BNB", 56), ("AVAX.AVAX", 43114), ("BASE.ETH", 8453)] {
        let (c, _) = swap(&format!("=:{code}:{ETH_DEST}"))
            .destination("m")
            .unwrap();
        assert_eq!(c, Chain::Evm(id), "{code}");
    }
}

#[test]
fn outbound_and_refund() {
    let h = TxHash::parse(IN).unwrap();
    assert_eq!(parse(&format!("OUT:{IN}")).unwrap(), Memo::Out(h));
    assert_eq!(parse(&format!("out:{IN}")).unwrap(), Memo::Out(h));
    // Bitcoin txids and THORChain's upper-case hex without 0x
    let bare = IN.trim_start_matches("0x").to_ascii_uppercase();
    assert_eq!(parse(&format!("OUT:{bare}")).unwrap(), Memo::Out(h));
    assert_eq!(parse(&format!("REFUND:{IN}")).unwrap(), Memo::Refund(h));
}

#[test]
fn other_actions_are_recognised_not_followed() {
    for (m, kind) in [
        (
            "ADD:BTC.BTC:thor1g98cy3n9mmjrpn0sxmn63lztelera37n8n67c0",
            "add_liquidity",
        ),
        ("a:BTC.BTC", "add_liquidity"),
        ("+:BTC.BTC", "add_liquidity"),
        ("WITHDRAW:BTC.BTC:10000", "withdraw_liquidity"),
        ("wd:BTC.BTC:10000", "withdraw_liquidity"),
        ("-:BTC.BTC:10000", "withdraw_liquidity"),
        ("BOND:thor1g98cy3n9mmjrpn0sxmn63lztelera37n8n67c0", "bond"),
        ("UNBOND:thor1x:100", "unbond"),
        ("LEAVE:thor1x", "leave"),
        ("DONATE:BTC.BTC", "donate"),
        ("RESERVE", "reserve"),
        ("NOOP", "noop"),
        ("MIGRATE:1234", "migrate"),
        ("RAGNAROK:1234", "ragnarok"),
        ("LOAN+:BTC.BTC:bc1q", "loan_open"),
        ("$-:BTC.BTC:bc1q", "loan_repay"),
        ("TRADE+:thor1x", "trade_deposit"),
        ("TRADE-:bc1q", "trade_withdraw"),
        ("SECURE+:thor1x", "secure_deposit"),
        ("POOL+", "rune_pool_deposit"),
        ("~:name:THOR:thor1x", "thorname"),
        ("CONSOLIDATE", "consolidate"),
    ] {
        assert_eq!(parse(m).unwrap(), Memo::Other(kind), "{m}");
    }
}

#[test]
fn bad_memos_are_errors_naming_the_memo() {
    for m in [
        "",
        "   ",
        "HELLO:world",
        "SWAP",
        "=:",
        "=:b",
        "=:b:",
        "=:zz.:bc1q",
        "=:NOPE:bc1q",
        "=:b:bc1q:12x",
        "=:b:bc1q:1/2",
        "=:b:bc1q:1/x/3",
        "OUT:",
        "OUT:1234",
        "OUT:zz8a7ce7bc2ec2ee5fb1b77eae2e0a3f4c6f2b2ef3f4ec1bd83cd1bfdad5bd3f",
        "REFUND:a:b",
    ] {
        let e = parse(m).expect_err(m);
        if !m.trim().is_empty() {
            assert!(e.to_string().contains(m.trim()), "{m}: {e}");
        }
    }
}

#[test]
fn a_bad_destination_is_reported_never_followed() {
    // checksum broken, wrong network, garbage
    for (m, dest) in [
        (
            "=:e:0x52908400098527886E0F7030069857D2E4169Ee7".to_string(),
            "0x52908400098527886E0F7030069857D2E4169Ee7",
        ),
        (
            "=:b:bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlx".to_string(),
            "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlx",
        ),
        ("=:e:0x1234".to_string(), "0x1234"),
        (
            "=:b:notanaddressbutlongenoughtobeone".to_string(),
            "notanaddressbutlongenoughtobeone",
        ),
    ] {
        let s = swap(&m);
        match s.destination(&m) {
            Err(MemoError::BadDestination { dest: d, .. }) => assert_eq!(d, dest),
            other => panic!("{m}: {other:?}"),
        }
    }
}
