//! Chains: Bitcoin (per network) and EVM chains identified by chain id.

use std::fmt;
use std::str::FromStr;

/// A Bitcoin network. Addresses are checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BitcoinNetwork {
    /// Bitcoin mainnet.
    Mainnet,
    /// testnet3 / testnet4.
    Testnet,
    /// signet.
    Signet,
    /// regtest (local test chains).
    Regtest,
}

impl BitcoinNetwork {
    /// The `bitcoin` crate's network value.
    pub fn to_bitcoin(self) -> bitcoin::Network {
        match self {
            BitcoinNetwork::Mainnet => bitcoin::Network::Bitcoin,
            BitcoinNetwork::Testnet => bitcoin::Network::Testnet,
            BitcoinNetwork::Signet => bitcoin::Network::Signet,
            BitcoinNetwork::Regtest => bitcoin::Network::Regtest,
        }
    }
}

/// A blockchain moneytrail can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chain {
    /// Bitcoin on the given network.
    Bitcoin(BitcoinNetwork),
    /// An EVM chain, identified by its EIP-155 chain id.
    Evm(u64),
}

/// Names of the EVM chains known by name: (name, chain id, native symbol).
const EVM_CHAINS: &[(&str, u64, &str)] = &[
    ("ethereum", 1, "ETH"),
    ("optimism", 10, "ETH"),
    ("bsc", 56, "BNB"),
    ("gnosis", 100, "XDAI"),
    ("heco", 128, "HT"),
    ("polygon", 137, "POL"),
    ("fantom", 250, "FTM"),
    ("ronin", 2020, "RON"),
    ("base", 8453, "ETH"),
    ("arbitrum", 42161, "ETH"),
    ("avalanche", 43114, "AVAX"),
    ("sepolia", 11155111, "ETH"),
    ("harmony", 1666600000, "ONE"),
];

/// Aliases accepted on input for EVM chains.
const EVM_ALIASES: &[(&str, u64)] = &[
    ("eth", 1),
    ("mainnet", 1),
    ("bnb", 56),
    ("binance-smart-chain", 56),
    ("matic", 137),
    ("arbitrum-one", 42161),
    ("avax", 43114),
    ("avalanche-c", 43114),
    ("op", 10),
    ("ftm", 250),
];

/// A chain name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown chain '{0}' (expected one of: bitcoin, bitcoin-testnet, bitcoin-signet, bitcoin-regtest, {names}, or an EVM chain id such as 'evm:1')",
    names = EVM_CHAINS.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
)]
pub struct ChainError(pub String);

impl Chain {
    /// Ethereum mainnet.
    pub const ETHEREUM: Chain = Chain::Evm(1);
    /// Bitcoin mainnet.
    pub const BITCOIN: Chain = Chain::Bitcoin(BitcoinNetwork::Mainnet);

    /// True for EVM (account-model) chains.
    pub fn is_evm(self) -> bool {
        matches!(self, Chain::Evm(_))
    }

    /// True for Bitcoin (UTXO) chains.
    pub fn is_bitcoin(self) -> bool {
        matches!(self, Chain::Bitcoin(_))
    }

    /// The EIP-155 chain id of an EVM chain.
    pub fn chain_id(self) -> Option<u64> {
        match self {
            Chain::Evm(id) => Some(id),
            Chain::Bitcoin(_) => None,
        }
    }

    /// Symbol of the chain's native asset (ETH, BNB, BTC …).
    pub fn native_symbol(self) -> &'static str {
        match self {
            Chain::Bitcoin(_) => "BTC",
            Chain::Evm(id) => EVM_CHAINS
                .iter()
                .find(|c| c.1 == id)
                .map(|c| c.2)
                .unwrap_or("NATIVE"),
        }
    }

    /// Decimals of the chain's native asset (8 for BTC, 18 for EVM chains).
    pub fn native_decimals(self) -> u8 {
        match self {
            Chain::Bitcoin(_) => 8,
            Chain::Evm(_) => 18,
        }
    }

    /// The canonical name, as accepted by [`FromStr`] and written in outputs.
    pub fn name(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chain::Bitcoin(BitcoinNetwork::Mainnet) => f.write_str("bitcoin"),
            Chain::Bitcoin(BitcoinNetwork::Testnet) => f.write_str("bitcoin-testnet"),
            Chain::Bitcoin(BitcoinNetwork::Signet) => f.write_str("bitcoin-signet"),
            Chain::Bitcoin(BitcoinNetwork::Regtest) => f.write_str("bitcoin-regtest"),
            Chain::Evm(id) => match EVM_CHAINS.iter().find(|c| c.1 == *id) {
                Some(c) => f.write_str(c.0),
                None => write!(f, "evm:{id}"),
            },
        }
    }
}

impl FromStr for Chain {
    type Err = ChainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let net = match lower.as_str() {
            "bitcoin" | "btc" | "bitcoin-mainnet" => Some(BitcoinNetwork::Mainnet),
            "bitcoin-testnet" | "testnet" => Some(BitcoinNetwork::Testnet),
            "bitcoin-signet" | "signet" => Some(BitcoinNetwork::Signet),
            "bitcoin-regtest" | "regtest" => Some(BitcoinNetwork::Regtest),
            _ => None,
        };
        if let Some(net) = net {
            return Ok(Chain::Bitcoin(net));
        }
        if let Some(c) = EVM_CHAINS.iter().find(|c| c.0 == lower) {
            return Ok(Chain::Evm(c.1));
        }
        if let Some(c) = EVM_ALIASES.iter().find(|c| c.0 == lower) {
            return Ok(Chain::Evm(c.1));
        }
        let digits = lower
            .strip_prefix("evm:")
            .or_else(|| lower.strip_prefix("eip155:"))
            .unwrap_or(&lower);
        match digits.parse::<u64>() {
            Ok(id) if id > 0 => Ok(Chain::Evm(id)),
            _ => Err(ChainError(s.to_string())),
        }
    }
}

impl serde::Serialize for Chain {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Chain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (name, id, _) in EVM_CHAINS {
            let c: Chain = name.parse().unwrap();
            assert_eq!(c, Chain::Evm(*id));
            assert_eq!(c.to_string(), *name);
        }
        for name in [
            "bitcoin",
            "bitcoin-testnet",
            "bitcoin-signet",
            "bitcoin-regtest",
        ] {
            assert_eq!(name.parse::<Chain>().unwrap().to_string(), name);
        }
        assert_eq!("evm:31337".parse::<Chain>().unwrap(), Chain::Evm(31337));
        assert_eq!(
            "evm:31337".parse::<Chain>().unwrap().to_string(),
            "evm:31337"
        );
        assert_eq!("ETH".parse::<Chain>().unwrap(), Chain::ETHEREUM);
        assert_eq!("137".parse::<Chain>().unwrap(), Chain::Evm(137));
    }

    #[test]
    fn unknown_chain_is_named() {
        let e = "solana".parse::<Chain>().unwrap_err();
        assert!(e.to_string().contains("'solana'"));
        assert!("evm:0".parse::<Chain>().is_err());
        assert!("".parse::<Chain>().is_err());
    }
}
