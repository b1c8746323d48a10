//! Label import: GraphSense TagPack YAML, OFAC sanctioned-address lists (0xB10C txt/json, the
//! SDN-entity JSON) and CSV `address,label,category[,chain,source,confidence]`.
//!
//! A file that cannot be read or parsed as a whole is an error naming it. Inside a file, an
//! entry that cannot be imported (invalid address, unsupported currency, missing label) is
//! skipped and reported with its location and reason — never silently.

mod ofac;
mod table;
mod tagpack;

use std::path::Path;

use serde::Serialize;

use crate::model::{Category, Chain, Label};
use crate::store::{Store, StoreError};

use super::catalog::Catalog;

/// Defaults for entries that do not say (and for formats that carry no such field).
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Chain for entries without one.
    pub chain: Option<Chain>,
    /// Category for entries without one.
    pub category: Option<Category>,
    /// Source for entries without one (default: the file path).
    pub source: Option<String>,
    /// Confidence (0–100) for entries without one.
    pub confidence: Option<u8>,
}

/// An entry that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Where in the file: "line 12", "tags[5]".
    pub location: String,
    /// The offending value (address or raw line).
    pub value: String,
    /// Why.
    pub reason: String,
}

/// The labels read from one file, and what was skipped.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Format detected ("tagpack", "ofac-txt", "ofac-json", "ofac-sdn-json", "csv").
    pub format: &'static str,
    /// Labels ready to store.
    pub labels: Vec<Label>,
    /// Entries not imported.
    pub skipped: Vec<Skipped>,
}

/// The outcome of importing one file.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The file.
    pub file: String,
    /// Format detected.
    pub format: &'static str,
    /// Labels newly stored.
    pub imported: usize,
    /// Labels already stored from the same file (re-import).
    pub unchanged: usize,
    /// Entries skipped, with reasons.
    pub skipped: Vec<Skipped>,
}

/// A file that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum LabelFileError {
    /// Unreadable.
    #[error("cannot read label file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not in any supported format, or malformed as a whole.
    #[error("label file {path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Parse label text; `name` (a file name) helps detect the format and the chain of OFAC lists.
pub fn parse(name: &str, text: &str, opts: &ImportOptions) -> Result<Parsed, LabelFileError> {
    let fmt_err = |message: String| LabelFileError::Format {
        path: name.to_string(),
        message,
    };
    let lower = name.to_ascii_lowercase();
    let trimmed = text.trim_start();
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        tagpack::parse(name, text, opts).map_err(fmt_err)
    } else if lower.ends_with(".json") || trimmed.starts_with('[') || trimmed.starts_with('{') {
        ofac::parse_json(name, text, opts).map_err(fmt_err)
    } else if lower.ends_with(".csv") {
        table::parse(name, text, opts).map_err(fmt_err)
    } else if lower.ends_with(".txt") {
        Ok(ofac::parse_txt(name, text, opts))
    } else {
        Err(fmt_err(
            "unknown label format (expected .yaml TagPack, OFAC .txt/.json list, or .csv)".into(),
        ))
    }
}

/// Import label files into the store. Each file is one transaction: re-importing a file
/// replaces what that file imported before.
pub fn import_files(
    store: &mut Store,
    paths: &[impl AsRef<Path>],
    opts: &ImportOptions,
) -> Result<Vec<ImportReport>, LabelFileError> {
    // read and parse every file first: a bad file fails the command before anything is written
    let mut parsed = Vec::new();
    for p in paths {
        let p = p.as_ref();
        let name = p.to_string_lossy().into_owned();
        let text = std::fs::read_to_string(p).map_err(|source| LabelFileError::Io {
            path: name.clone(),
            source,
        })?;
        let origin = std::fs::canonicalize(p)
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_else(|_| name.clone());
        parsed.push((name.clone(), origin, parse(&name, &text, opts)?));
    }
    let mut reports = Vec::new();
    for (name, origin, p) in parsed {
        reports.push(store_labels(store, &name, &origin, p)?);
    }
    Ok(reports)
}

fn store_labels(
    store: &mut Store,
    name: &str,
    origin: &str,
    p: Parsed,
) -> Result<ImportReport, LabelFileError> {
    let mut w = store.writer()?;
    let before = w.delete_labels_from(origin)?;
    let mut stored = 0;
    for l in &p.labels {
        if w.insert_label(l, origin)? {
            stored += 1;
        }
    }
    w.commit()?;
    let unchanged = stored.min(before);
    Ok(ImportReport {
        file: name.to_string(),
        format: p.format,
        imported: stored - unchanged,
        unchanged,
        skipped: p.skipped,
    })
}

/// Load the catalog's label files (`labels/*.yaml`) into the store, unless the store already
/// holds exactly this set (checked by a content hash kept in `meta`). Returns how many labels
/// were (re)loaded, 0 when nothing changed.
pub fn sync_catalog_labels(store: &mut Store, catalog: &Catalog) -> Result<usize, LabelFileError> {
    let files: Vec<(&str, &str, &str)> = catalog
        .files("labels/")
        .filter(|(p, _, _)| p.ends_with(".yaml") || p.ends_with(".yml"))
        .collect();
    let mut hasher = Fnv::default();
    for (p, text, origin) in &files {
        hasher.write(p.as_bytes());
        hasher.write(origin.as_bytes());
        hasher.write(text.as_bytes());
    }
    let digest = format!("{:016x}", hasher.0);
    if store.meta("catalog_labels")?.as_deref() == Some(digest.as_str()) {
        return Ok(0);
    }
    let mut parsed = Vec::new();
    for (p, text, origin) in &files {
        parsed.push((
            origin.to_string(),
            parse(p, text, &ImportOptions::default())?,
        ));
    }
    let mut w = store.writer()?;
    // drop what an earlier catalog loaded
    let old: Option<String> = w.meta("catalog_label_origins")?;
    for o in old.iter().flat_map(|s| s.lines()) {
        w.delete_labels_from(o)?;
    }
    let mut n = 0;
    for (origin, p) in &parsed {
        w.delete_labels_from(origin)?;
        for l in &p.labels {
            if w.insert_label(l, origin)? {
                n += 1;
            }
        }
    }
    let origins: Vec<&str> = parsed.iter().map(|(o, _)| o.as_str()).collect();
    w.set_meta("catalog_label_origins", &origins.join("\n"))?;
    w.set_meta("catalog_labels", &digest)?;
    w.commit()?;
    Ok(n)
}

/// FNV-1a, 64 bit: a stable content fingerprint (not for security).
#[derive(Debug)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // separator so that ("ab","c") and ("a","bc") differ
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

/// The chain of a currency / network code used in label files (TagPack `currency`/`network`,
/// OFAC list suffixes). `None` for chains moneytrail does not support.
pub(crate) fn chain_of_code(code: &str) -> Option<Chain> {
    let c = code.trim().to_ascii_uppercase();
    let id = match c.as_str() {
        "BTC" | "XBT" => return Some(Chain::BITCOIN),
        "ETH" => 1,
        "BSC" | "BNB" | "BEP20" => 56,
        "MATIC" | "POL" | "POLYGON" => 137,
        "AVAX" | "AVALANCHE" => 43114,
        "FTM" | "FANTOM" => 250,
        "ARB" | "ARBITRUM" => 42161,
        "OP" | "OPTIMISM" => 10,
        "BASE" => 8453,
        "ETC" => 61,
        "GNOSIS" | "XDAI" => 100,
        _ => return c.to_ascii_lowercase().parse().ok(),
    };
    Some(Chain::Evm(id))
}

/// Token currencies that live on EVM chains (their addresses are EVM addresses) or elsewhere.
pub(crate) fn is_multichain_token(code: &str) -> bool {
    matches!(
        code.trim().to_ascii_uppercase().as_str(),
        "USDT" | "USDC" | "DAI" | "WBTC" | "BUSD"
    )
}
