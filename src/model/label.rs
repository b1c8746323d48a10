//! Attribution labels: who an address belongs to, in which category, from which source.

use std::fmt;
use std::str::FromStr;

use super::address::Address;
use super::chain::Chain;

/// What kind of entity a label says an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// A centralised exchange (hot/cold wallet, deposit address).
    Exchange,
    /// A mixer: Tornado Cash pools, custodial mixers, CoinJoin coordinators.
    Mixer,
    /// A cross-chain bridge.
    Bridge,
    /// A DeFi protocol: DEX, router, lending pool, wrapped-asset contract.
    Defi,
    /// On a sanctions list (OFAC SDN).
    Sanctioned,
    /// An address of a thief (exploiter, attacker, laundering wallet).
    Theft,
    /// Gambling service.
    Gambling,
    /// Scam, phishing, fraud.
    Scam,
    /// Another service: wallet provider, payment processor, miner, market.
    Service,
    /// Anything else.
    Other,
}

/// Every category, in display order.
pub const CATEGORIES: [Category; 10] = [
    Category::Exchange,
    Category::Mixer,
    Category::Bridge,
    Category::Defi,
    Category::Sanctioned,
    Category::Theft,
    Category::Gambling,
    Category::Scam,
    Category::Service,
    Category::Other,
];

impl Category {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Exchange => "exchange",
            Category::Mixer => "mixer",
            Category::Bridge => "bridge",
            Category::Defi => "defi",
            Category::Sanctioned => "sanctioned",
            Category::Theft => "theft",
            Category::Gambling => "gambling",
            Category::Scam => "scam",
            Category::Service => "service",
            Category::Other => "other",
        }
    }

    /// Terminal by default in a trace (DESIGN.md): exchange, mixer, bridge, defi, sanctioned.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Category::Exchange
                | Category::Mixer
                | Category::Bridge
                | Category::Defi
                | Category::Sanctioned
        )
    }

    /// Map a GraphSense taxonomy concept (category or abuse) to a category, or `None` when the
    /// concept is unknown. moneytrail's own names map to themselves.
    pub fn from_concept(concept: &str) -> Option<Category> {
        let c = concept.trim().to_ascii_lowercase();
        Some(match c.as_str() {
            "exchange" | "market" | "otc" => Category::Exchange,
            "mixer" | "mixing_service" | "coinjoin" => Category::Mixer,
            "bridge" | "defi_bridge" => Category::Bridge,
            "defi" | "defi_dex" | "defi_lending" | "defi_derivative" | "defi_yield"
            | "defi_stablecoin" | "dex" | "token" => Category::Defi,
            "sanctioned" | "sanction" | "sanctions" => Category::Sanctioned,
            "theft" | "service_hack" | "hacker" | "hack" | "exploit" | "heist" => Category::Theft,
            "gambling" => Category::Gambling,
            "scam" | "phishing" | "ponzi_scheme" | "ransomware" | "sextortion" | "fraud"
            | "scam_fraud" | "malware" => Category::Scam,
            "service" | "wallet_service" | "payment_processor" | "miner" | "mining_service"
            | "atm" | "hosted_wallet" | "faucet" | "donation" | "shop" | "user" | "entity"
            | "organization" => Category::Service,
            // a token issuer's freeze list (USDT blacklist) is not a sanctions list
            "other" | "unknown" | "black_list" | "blacklist" => Category::Other,
            _ => return None,
        })
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown category '{0}' (expected exchange, mixer, bridge, defi, sanctioned, theft, gambling, scam, service, other, or a GraphSense concept)"
)]
pub struct CategoryError(pub String);

impl FromStr for Category {
    type Err = CategoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::from_concept(s).ok_or_else(|| CategoryError(s.to_string()))
    }
}

/// Map a GraphSense confidence id (or a number 0–100) to moneytrail's 0–100 scale.
/// The scale is moneytrail's own; `docs/formats.md` lists it.
pub fn confidence_from_id(id: &str) -> Option<u8> {
    if let Ok(n) = id.trim().parse::<u16>() {
        return (n <= 100).then_some(n as u8);
    }
    Some(match id.trim().to_ascii_lowercase().as_str() {
        "ownership" | "ledger_immanent" | "override" => 100,
        "authority_data" | "forensic_investigation" => 90,
        "service_api" | "service_data" => 80,
        "forensic" | "trusted_provider" => 70,
        "manual_transaction" => 60,
        "heuristic" => 40,
        "web_crawl" => 30,
        "untrusted_transaction" => 20,
        "unknown" => 10,
        _ => return None,
    })
}

/// One attribution of an address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    /// Chain the attribution is for.
    pub chain: Chain,
    /// The address.
    #[serde(serialize_with = "ser_display")]
    pub address: Address,
    /// Human-readable label ("Binance 14", "Tornado Cash: 100 ETH").
    pub label: String,
    /// Category.
    pub category: Category,
    /// The entity / actor ("binance", "lazarus-group").
    pub actor: Option<String>,
    /// GraphSense abuse concept, if any.
    pub abuse: Option<String>,
    /// Where the attribution comes from (URL, dataset and file).
    pub source: String,
    /// 0–100.
    pub confidence: u8,
    /// Free-form context (TagPack `context`, e.g. a Tornado pool's denomination as JSON).
    pub context: Option<String>,
}

fn ser_display<S: serde::Serializer, T: fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}
