//! Assets: a chain's native coin or a token contract, with symbol and decimals.

use std::fmt;
use std::str::FromStr;

use super::address::{Address, AddressError};
use super::chain::Chain;

/// Which asset a transfer moves, without metadata: the chain's native coin or a token contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssetId {
    /// The chain's native coin (ETH, BNB, BTC …).
    Native,
    /// An ERC-20 token, by contract address.
    Token(alloy_primitives::Address),
}

impl AssetId {
    /// Storage key: "" for native, lower-case contract address for a token.
    pub fn key(&self) -> String {
        match self {
            AssetId::Native => String::new(),
            AssetId::Token(a) => format!("{a:#x}"),
        }
    }

    /// Inverse of [`AssetId::key`].
    pub fn from_key(key: &str) -> Result<AssetId, AddressError> {
        if key.is_empty() {
            return Ok(AssetId::Native);
        }
        match Address::parse(Chain::ETHEREUM, key)? {
            Address::Evm(a) => Ok(AssetId::Token(a)),
            Address::Bitcoin { .. } => unreachable!("parsed on an EVM chain"),
        }
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssetId::Native => f.write_str("native"),
            AssetId::Token(a) => f.write_str(&a.to_checksum(None)),
        }
    }
}

impl FromStr for AssetId {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("native") {
            Ok(AssetId::Native)
        } else {
            AssetId::from_key(s)
        }
    }
}

/// An asset with its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Asset {
    /// The chain the asset lives on.
    pub chain: Chain,
    /// Native or token contract.
    pub id: AssetId,
    /// Ticker symbol ("ETH", "USDC").
    pub symbol: String,
    /// Decimals of the base unit (18 for ETH, 6 for USDC, 8 for BTC).
    pub decimals: u8,
}

impl Asset {
    /// The native asset of `chain`.
    pub fn native(chain: Chain) -> Asset {
        Asset {
            chain,
            id: AssetId::Native,
            symbol: chain.native_symbol().to_string(),
            decimals: chain.native_decimals(),
        }
    }
}

impl serde::Serialize for AssetId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
