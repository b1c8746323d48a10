//! Label import on the real public files in ../shared/data/labels.

mod common;

use moneytrail::knowledge::labels::{self, ImportOptions};
use moneytrail::model::{Address, Category, Chain};
use moneytrail::store::Store;

#[test]
fn all_graphsense_tagpacks_import() {
    let root = common::shared_data().join("labels/graphsense-tagpacks/packs");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("defi_updated")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 44, "expected the 44 TagPacks of SOURCES.md");
    let mut store = Store::open_in_memory().unwrap();
    let reports = labels::import_files(&mut store, &files, &ImportOptions::default())
        .expect("every pack imports");
    assert_eq!(reports.len(), 44);
    let imported: usize = reports.iter().map(|r| r.imported).sum();
    let skipped: usize = reports.iter().map(|r| r.skipped.len()).sum();
    assert!(imported > 50_000, "imported only {imported}");
    for r in &reports {
        assert!(r.imported > 0, "{} imported nothing", r.file);
        for s in &r.skipped {
            assert!(!s.reason.is_empty() && !s.location.is_empty());
        }
    }
    // skips are the exception, and each has a reason we can name
    assert!(skipped < 500, "skipped {skipped}");
    let bad_checksum = reports
        .iter()
        .flat_map(|r| &r.skipped)
        .filter(|s| s.reason.contains("EIP-55"))
        .count();
    assert!(
        bad_checksum >= 1,
        "the word-cloud pack has known bad checksums"
    );

    // Samourai's CoinJoin addresses are mixers; Lazarus (category user, abuse sanction) is sanctioned
    let ronin = Address::parse(
        Chain::ETHEREUM,
        "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
    )
    .unwrap();
    let labels = store.labels_of(&ronin).unwrap();
    assert!(
        labels
            .iter()
            .any(|(l, _)| l.category == Category::Theft && l.label.contains("Ronin"))
    );
    assert!(
        labels
            .iter()
            .any(|(l, _)| l.category == Category::Sanctioned
                && l.actor.as_deref() == Some("lazarusgroup"))
    );

    // re-import: nothing new, nothing lost
    let before = store.all_labels().unwrap().len();
    let again = labels::import_files(&mut store, &files[..3], &ImportOptions::default()).unwrap();
    assert!(again.iter().all(|r| r.imported == 0 && r.unchanged > 0));
    assert_eq!(store.all_labels().unwrap().len(), before);
}

#[test]
fn ofac_lists_import() {
    let dir = common::shared_data().join("labels");
    let mut store = Store::open_in_memory().unwrap();
    let files = [
        dir.join("ofac-sdn-0xb10c/sanctioned_addresses_ETH.txt"),
        dir.join("ofac-sdn-0xb10c/sanctioned_addresses_XBT.json"),
        dir.join("ofac-sdn-0xb10c/sanctioned_addresses_LTC.txt"),
        dir.join("ofac-sdn-entities-thomasgregg/data/sanctioned-addresses.json"),
    ];
    let r = labels::import_files(&mut store, &files, &ImportOptions::default()).unwrap();
    assert_eq!(
        (r[0].format, r[0].imported, r[0].skipped.len()),
        ("ofac-txt", 152, 0)
    );
    assert_eq!(r[1].format, "ofac-json");
    assert_eq!(r[1].imported + r[1].skipped.len(), 435);
    assert!(r[1].imported >= 430);
    // litecoin is not a supported chain: every line reported, none lost silently
    assert_eq!((r[2].imported, r[2].skipped.len()), (0, 10));
    assert!(r[2].skipped.iter().all(|s| s.reason.contains("LTC")));
    // the SDN-entity list lower-cases base58: reported as such
    assert_eq!(r[3].format, "ofac-sdn-json");
    assert!(
        r[3].skipped
            .iter()
            .any(|s| s.reason.contains("lower-cased"))
    );
    let lazarus = store
        .all_labels()
        .unwrap()
        .into_iter()
        .filter(|(l, _)| l.label.contains("LAZARUS GROUP"))
        .count();
    assert!(lazarus >= 8, "LAZARUS GROUP entries: {lazarus}");
    let ronin = Address::parse(
        Chain::ETHEREUM,
        "0x098b716b8aaf21512996dc57eb0615e2383e2f96",
    )
    .unwrap();
    let got = store.labels_of(&ronin).unwrap();
    assert!(
        got.iter()
            .any(|(l, _)| l.category == Category::Sanctioned && l.confidence == 90)
    );
}

#[test]
fn csv_with_header_and_defaults() {
    let file = common::shared_data().join("labels/ofac-eth-ultrasound/data.csv");
    let mut store = Store::open_in_memory().unwrap();
    let err = labels::import_files(&mut store, &[&file], &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("--category"), "{err}");
    let opts = ImportOptions {
        category: Some(Category::Sanctioned),
        ..Default::default()
    };
    let r = labels::import_files(&mut store, &[&file], &opts).unwrap();
    assert_eq!((r[0].imported, r[0].skipped.len()), (97, 0));
}
