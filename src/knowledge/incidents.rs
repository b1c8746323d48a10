//! DPRK theft incidents: `graphs/incidents/<id>.toml` (schema in `graphs/README.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Address, Amount, Chain, TxHash};

/// One theft incident, as published.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// Slug, e.g. `ronin-2022`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Day of the theft, YYYY-MM-DD.
    pub date: String,
    /// Chains involved, as published (free names; not all are supported chains).
    pub chains: Vec<String>,
    /// USD value at the time, as published (text).
    #[serde(default)]
    pub usd_at_time: Option<String>,
    /// The one USD figure used for totals.
    pub usd_estimate: u64,
    /// Who published `usd_estimate`.
    pub usd_estimate_source: String,
    /// Who attributed the incident to the DPRK.
    #[serde(default)]
    pub attribution: Option<String>,
    /// How sure the sources are.
    #[serde(default)]
    pub confidence: Option<String>,
    /// Known laundering path, step by step, as published.
    #[serde(default)]
    pub laundering_path: Vec<String>,
    /// Sources.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Notes (e.g. addresses left out and why).
    #[serde(default)]
    pub notes: Option<String>,
    /// Assets stolen.
    #[serde(default)]
    pub stolen: Vec<StolenAsset>,
    /// Addresses: attacker (seed) and context (victims, deposits).
    #[serde(default)]
    pub addresses: Vec<IncidentAddress>,
    /// Theft transactions, where published.
    #[serde(default)]
    pub theft_txs: Vec<TheftTx>,
    /// Block to start tracing from, per chain name.
    #[serde(default)]
    pub start_blocks: BTreeMap<String, u64>,
}

/// An asset and amount stolen.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StolenAsset {
    /// Chain name as published.
    pub chain: String,
    /// Symbol.
    pub symbol: String,
    /// Amount in whole units, exact decimal text.
    pub amount: String,
    /// Token contract, if known.
    #[serde(default)]
    pub contract: Option<String>,
    /// Token decimals, with `contract`.
    #[serde(default)]
    pub decimals: Option<u8>,
}

/// An address of an incident.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentAddress {
    /// Chain.
    pub chain: Chain,
    /// The address as published (validated on load).
    pub address: String,
    /// Role (exploiter, intermediary, victim: …).
    pub role: String,
    /// Attacker-controlled: tracing starts here.
    pub seed: bool,
    /// Source.
    pub source: String,
}

/// A published theft transaction.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TheftTx {
    /// Chain.
    pub chain: Chain,
    /// Hash (validated on load).
    pub hash: String,
    /// Note.
    #[serde(default)]
    pub note: Option<String>,
}

impl Incident {
    /// Year of the theft.
    pub fn year(&self) -> i32 {
        self.date[..4].parse().unwrap_or(0)
    }

    /// Seed addresses on `chain`, parsed.
    pub fn seeds(&self, chain: Chain) -> Vec<Address> {
        self.addresses
            .iter()
            .filter(|a| a.seed && a.chain == chain)
            .filter_map(|a| Address::parse(chain, &a.address).ok())
            .collect()
    }

    /// Chains (supported ones) that have seed addresses.
    pub fn seed_chains(&self) -> Vec<Chain> {
        let mut v: Vec<Chain> = self
            .addresses
            .iter()
            .filter(|a| a.seed)
            .map(|a| a.chain)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// "173600 ETH + 25500000 USDC".
    pub fn stolen_summary(&self) -> String {
        self.stolen
            .iter()
            .map(|s| format!("{} {}", s.amount, s.symbol))
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// Check YYYY-MM-DD.
pub(crate) fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |s: &str| s.parse::<u32>().ok();
    match (num(&d[..4]), num(&d[5..7]), num(&d[8..])) {
        (Some(y), Some(m), Some(day)) => {
            y >= 2009 && (1..=12).contains(&m) && (1..=31).contains(&day)
        }
        _ => false,
    }
}

/// Parse and validate one incident file. The error names the bad value.
pub fn parse(text: &str) -> Result<Incident, String> {
    let inc: Incident = toml::from_str(text).map_err(|e| e.to_string())?;
    let ctx = |what: String| format!("incident '{}': {what}", inc.id);
    if inc.id.is_empty()
        || !inc
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!("invalid incident id '{}'", inc.id));
    }
    if !valid_date(&inc.date) {
        return Err(ctx(format!(
            "invalid date '{}' (expected YYYY-MM-DD)",
            inc.date
        )));
    }
    for s in &inc.stolen {
        let decimals = s.decimals.unwrap_or(18);
        Amount::parse_decimal(&s.amount, decimals).map_err(|e| ctx(e.to_string()))?;
        if let Some(c) = &s.contract {
            Address::parse(Chain::ETHEREUM, c)
                .map_err(|e| ctx(format!("contract of {}: {e}", s.symbol)))?;
        }
    }
    for a in &inc.addresses {
        Address::parse(a.chain, &a.address)
            .map_err(|e| ctx(format!("{} address: {e}", a.chain)))?;
    }
    for t in &inc.theft_txs {
        TxHash::parse(&t.hash).map_err(|e| ctx(e.to_string()))?;
    }
    for chain in inc.start_blocks.keys() {
        chain
            .parse::<Chain>()
            .map_err(|e| ctx(format!("start_blocks: {e}")))?;
    }
    Ok(inc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
id = "test-2022"
name = "Test"
date = "2022-03-23"
chains = ["ethereum"]
usd_estimate = 1
usd_estimate_source = "test"
[[addresses]]
chain = "ethereum"
address = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
role = "exploiter"
seed = true
source = "test"
"#;

    #[test]
    fn parses_and_validates() {
        let i = parse(MINIMAL).unwrap();
        assert_eq!(i.year(), 2022);
        assert_eq!(i.seeds(Chain::ETHEREUM).len(), 1);
        assert!(i.seeds(Chain::BITCOIN).is_empty());
    }

    #[test]
    fn bad_values_are_named() {
        let bad = MINIMAL.replace("8Aaf", "8aaf");
        let e = parse(&bad).unwrap_err();
        assert!(
            e.contains("0x098B716B8aaf21512996dC57EB0615e2383E2f96"),
            "{e}"
        );
        let e = parse(&MINIMAL.replace("2022-03-23", "2022-13-01")).unwrap_err();
        assert!(e.contains("2022-13-01"), "{e}");
        let e = parse(&MINIMAL.replace("chain = \"ethereum\"", "chain = \"tron\"")).unwrap_err();
        assert!(e.contains("tron"), "{e}");
        let e = parse(&format!("{MINIMAL}\nbogus = 1\n")).unwrap_err();
        assert!(e.contains("bogus"), "{e}");
    }
}
