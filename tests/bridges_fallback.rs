//! The amount/time fallback for bridges without memo or event (`bridge_amount_time`), end to
//! end through `trace --follow-bridges` on a real SQLite store holding two chains.

mod common;

use alloy_primitives::{Address as EvmAddress, B256, U256};
use serde_json::json;

use common::bridges::{evidence, read_json};
use moneytrail::model::{Address, Chain, TxHash};
use moneytrail::store::Store;

/// The amount/time fallback for a bridge without memo or event (an Avalanche-style bridge),
/// on transfers stored by hand in a real SQLite store (ethereum and avalanche in one database):
/// S (seed, 10 ETH from V) sends 4 ETH to the bridge BR on ethereum; 600 s later the bridge's
/// avalanche address BRA pays S 3.98 WETH.e (18 decimals; 0.5 % short, within the 1 %
/// tolerance, half of it: confidence 0.8 × (1 − 0.5 × 0.5) = 0.6); decoys: BRA pays 3.98
/// USDC (another asset) and 4 WETH.e two days later (outside the window). On avalanche S pays
/// X 1 WETH.e before that. The continuation injects floor(3.98 × 4 / 4) = 3.98 WETH.e at S in the
/// bridge's payment: 1 unspent at X, 2.98 at S.
#[test]
fn amount_time_fallback_continues_on_another_evm_chain() {
    use moneytrail::model::{Amount, Asset, AssetId, SubIndex, Transfer};
    const E18: u128 = 1_000_000_000_000_000_000;
    let a = |n: u8| Address::Evm(EvmAddress::repeat_byte(n));
    let (s, v, br, bra, x) = (a(0x51), a(0x56), a(0xb7), a(0xb8), a(0x58));
    let avax = Chain::Evm(43114);
    let weth_e = AssetId::Token(EvmAddress::repeat_byte(0x49));
    let usdc_e = AssetId::Token(EvmAddress::repeat_byte(0x0a));
    let t0 = 1_650_000_000i64;
    let tr = |chain: Chain,
              n: u8,
              time: i64,
              from: &Address,
              to: &Address,
              asset: AssetId,
              amount: u128| Transfer {
        chain,
        tx_hash: TxHash(B256::repeat_byte(n)),
        sub: if asset == AssetId::Native {
            SubIndex::Value
        } else {
            SubIndex::Log(0)
        },
        block: n as u64,
        tx_index: 0,
        time,
        from: Some(from.clone()),
        to: Some(to.clone()),
        asset,
        amount: Amount(U256::from(amount)),
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    {
        let mut store = Store::open(&db).unwrap();
        let mut w = store.writer().unwrap();
        for (id, sym, d) in [(weth_e, "WETH.e", 18u8), (usdc_e, "USDC.e", 6)] {
            w.upsert_asset(&Asset {
                chain: avax,
                id,
                symbol: sym.into(),
                decimals: d,
            })
            .unwrap();
        }
        for t in [
            tr(Chain::ETHEREUM, 1, t0, &v, &s, AssetId::Native, 10 * E18),
            tr(
                Chain::ETHEREUM,
                2,
                t0 + 12,
                &s,
                &br,
                AssetId::Native,
                4 * E18,
            ),
            tr(avax, 3, t0 + 612, &bra, &s, weth_e, 398 * E18 / 100),
            tr(avax, 4, t0 + 620, &bra, &s, usdc_e, 3_980_000),
            tr(avax, 5, t0 + 700, &s, &x, weth_e, E18),
            tr(avax, 6, t0 + 2 * 86_400, &bra, &s, weth_e, 4 * E18),
        ] {
            w.insert_transfer(&t).unwrap();
        }
        w.commit().unwrap();
    }
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        format!(
            "address,label,category,actor,chain\n{br},Avalanche: Bridge,bridge,avalanche-bridge,ethereum\n\
             {bra},Avalanche: Bridge,bridge,avalanche-bridge,avalanche\n"
        ),
    )
    .unwrap();
    common::ok(&common::moneytrail(
        &db,
        None,
        &["labels", "import", labels.to_str().unwrap()],
    ));
    let run = |extra: &[&str], out: &std::path::Path| {
        let s = s.to_string();
        let mut args = vec![
            "trace",
            "--chain",
            "ethereum",
            "--offline",
            "--seed",
            &s,
            "--out",
            out.to_str().unwrap(),
            "--follow-bridges",
        ];
        args.extend_from_slice(extra);
        common::ok(&common::moneytrail(&db, None, &args));
    };
    let out = dir.path().join("out");
    run(&[], &out);
    let sum = read_json(&out.join("summary.json"));
    assert_eq!(sum["assets"]["ETH"]["by_category"]["bridge"], "4");
    let cc = sum["cross_chain"].as_array().unwrap();
    assert_eq!(cc.len(), 1, "{cc:#?}");
    let e = &cc[0];
    assert_eq!(e["heuristic"], "bridge_amount_time");
    assert_eq!(e["bridge"], "avalanche-bridge");
    assert_eq!(e["to_chain"], "avalanche");
    assert_eq!(e["outbound_tx"], format!("{:#x}", B256::repeat_byte(3)));
    assert_eq!(e["tainted"], "4");
    assert_eq!(e["destination_asset"], "WETH.e");
    assert_eq!(e["carried"], "3.98");
    assert_eq!(e["confidence"], 0.6);
    assert_eq!(e["followed"], true);
    let ev = evidence(&out);
    let l = ev
        .iter()
        .find(|l| l["heuristic"] == "bridge_amount_time")
        .unwrap();
    assert_eq!(l["measured"]["candidates"], 1);
    assert_eq!(l["measured"]["recipient_is_sender"], true);
    assert_eq!(l["parameters"]["tolerance_bps"], 100);
    let cs = read_json(&out.join("cross-chain/avalanche/summary.json"));
    let w = &cs["assets"]["WETH.e"];
    assert_eq!(w["injected"], "3.98");
    assert_eq!(w["by_category"]["unspent"], "3.98");
    assert_eq!(cs["conservation_ok"], true);
    let rows = std::fs::read_to_string(out.join("cross-chain/avalanche/endpoints.csv")).unwrap();
    let amount_at = |who: &Address| -> Vec<String> {
        rows.lines()
            .filter(|r| r.starts_with(&format!("avalanche,{who},")))
            .map(|r| r.split(',').nth(6).unwrap().to_string())
            .collect()
    };
    assert_eq!(amount_at(&x), ["1"], "{rows}");
    assert_eq!(amount_at(&s), ["2.98"], "{rows}");
    // below the threshold: reported, not followed, nothing continued
    let strict = dir.path().join("strict");
    run(&["--min-confidence", "0.7"], &strict);
    let ss = read_json(&strict.join("summary.json"));
    assert_eq!(ss["cross_chain"][0]["followed"], false);
    assert!(!strict.join("cross-chain").exists());
    let l = evidence(&strict)
        .into_iter()
        .find(|l| l["heuristic"] == "bridge_amount_time")
        .unwrap();
    assert_eq!(l["followed"], false);
    // switched off: no edge
    let off = dir.path().join("off");
    run(&["--no-heuristic", "bridge_amount_time"], &off);
    assert_eq!(
        read_json(&off.join("summary.json"))["cross_chain"],
        json!([])
    );
}
