//! The parsers of screening input never panic, whatever they are given: arbitrary text and
//! bytes into the item parser (with and without a chain), the address parsers and the
//! `POST /v1/screen` body parser; and valid items always parse.

use moneytrail::model::{Address, Chain};
use moneytrail::screen::input::{parse_chain, parse_item, parse_request};
use proptest::prelude::*;

const CHAINS: [Option<Chain>; 4] = [
    None,
    Some(Chain::ETHEREUM),
    Some(Chain::BITCOIN),
    Some(Chain::Bitcoin(moneytrail::model::BitcoinNetwork::Regtest)),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn item_and_address_parsers_never_panic(s in "\\PC{0,80}", c in 0usize..4) {
        let _ = parse_item(&s, CHAINS[c]);
        let _ = Address::parse_any(&s);
        let _ = parse_chain(&s);
        if let Some(ch) = CHAINS[c] {
            let _ = Address::parse(ch, &s);
        }
    }

    #[test]
    fn address_like_text_never_panics(s in "(0x|0X|bc1|tb1|bcrt1|1|3)?[0-9a-zA-Z]{0,70}") {
        let _ = parse_item(&s, None);
        let _ = parse_item(&s, Some(Chain::ETHEREUM));
        let _ = parse_item(&s, Some(Chain::BITCOIN));
    }

    #[test]
    fn request_parser_never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_request(&b, 1000);
    }

    #[test]
    fn request_parser_never_panics_on_json_shapes(
        items in proptest::collection::vec(
            prop_oneof![
                "\\PC{0,50}".prop_map(serde_json::Value::String),
                any::<i64>().prop_map(serde_json::Value::from),
                ("\\PC{0,50}", "\\PC{0,12}").prop_map(|(a, c)| serde_json::json!({"address": a, "chain": c})),
                "\\PC{0,70}".prop_map(|t| serde_json::json!({"tx": t})),
                Just(serde_json::json!({"chain": 5})),
                Just(serde_json::Value::Null),
            ],
            0..20,
        ),
        batch in any::<bool>(),
        chain in proptest::option::of("\\PC{0,12}"),
    ) {
        let mut v = if batch {
            serde_json::json!({"items": items})
        } else {
            items.first().cloned().unwrap_or(serde_json::Value::Null)
        };
        if let (Some(c), Some(o)) = (chain, v.as_object_mut()) {
            o.insert("chain".into(), c.into());
        }
        let body = serde_json::to_vec(&v).unwrap();
        let _ = parse_request(&body, 10);
    }

    #[test]
    fn valid_evm_addresses_and_hashes_parse(bytes in proptest::array::uniform20(any::<u8>()), h in proptest::array::uniform32(any::<u8>())) {
        let a = alloy_primitives::Address::from(bytes);
        for text in [a.to_checksum(None), format!("{a:#x}")] {
            let body = serde_json::json!({"items": [text.clone()]}).to_string();
            prop_assert_eq!(parse_request(body.as_bytes(), 10).unwrap().len(), 1);
            prop_assert!(parse_item(&text, None).is_ok());
        }
        let tx = format!("0x{}", alloy_primitives::hex::encode(h));
        let is_tx = matches!(parse_item(&tx, None), Ok(moneytrail::screen::Item::Tx { .. }));
        prop_assert!(is_tx);
    }
}
