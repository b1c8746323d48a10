//! Validated addresses. EVM: 20 bytes, EIP-55 checksum verified when mixed case. Bitcoin:
//! base58check (P2PKH/P2SH), bech32 (SegWit v0) and bech32m (Taproot), checked against the
//! network. Codecs come from alloy-primitives and the `bitcoin` crate, not from hand-written code.

use std::fmt;

use super::chain::{BitcoinNetwork, Chain};

/// A validated address on one chain family.
///
/// EVM addresses compare by their 20 bytes, so `0xabc…` and its checksummed form are equal.
/// Bitcoin addresses compare by their canonical text (bech32 lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Address {
    /// An EVM account (same bytes on every EVM chain).
    Evm(alloy_primitives::Address),
    /// A Bitcoin address in canonical text form, valid on `network`.
    Bitcoin {
        /// The network the address belongs to.
        network: BitcoinNetwork,
        /// Canonical text: base58 as given, bech32/bech32m lower-case.
        text: Box<str>,
    },
}

/// Why an address was rejected. The message names the bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not 0x followed by 40 hex digits.
    #[error("invalid EVM address '{0}': expected 0x followed by 40 hex digits")]
    EvmFormat(String),
    /// Mixed case but the EIP-55 checksum does not match.
    #[error("invalid EVM address '{0}': mixed-case address fails the EIP-55 checksum")]
    EvmChecksum(String),
    /// Not a valid Bitcoin address (bad characters, bad checksum, unknown version).
    #[error("invalid Bitcoin address '{input}': {reason}")]
    Bitcoin {
        /// The rejected input.
        input: String,
        /// The codec's reason.
        reason: String,
    },
    /// A valid Bitcoin address for another network.
    #[error("Bitcoin address '{input}' is not valid on {expected}")]
    WrongNetwork {
        /// The rejected input.
        input: String,
        /// The chain it was checked against.
        expected: Chain,
    },
    /// Empty input.
    #[error("empty address")]
    Empty,
}

impl Address {
    /// Parse and validate `input` as an address on `chain`. Surrounding white space is ignored;
    /// anything else that is not a valid address is an error naming the input.
    pub fn parse(chain: Chain, input: &str) -> Result<Address, AddressError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        match chain {
            Chain::Evm(_) => parse_evm(s),
            Chain::Bitcoin(net) => parse_bitcoin(net, s),
        }
    }

    /// Parse an address whose chain is not given: `0x…` is EVM, anything else is tried as a
    /// Bitcoin address on each network (mainnet first).
    pub fn parse_any(input: &str) -> Result<(Chain, Address), AddressError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        if s.starts_with("0x") || s.starts_with("0X") {
            return parse_evm(s).map(|a| (Chain::ETHEREUM, a));
        }
        let first = parse_bitcoin(BitcoinNetwork::Mainnet, s);
        if let Err(AddressError::WrongNetwork { .. }) = first {
            for net in [
                BitcoinNetwork::Testnet,
                BitcoinNetwork::Regtest,
                BitcoinNetwork::Signet,
            ] {
                if let Ok(a) = parse_bitcoin(net, s) {
                    return Ok((Chain::Bitcoin(net), a));
                }
            }
        }
        first.map(|a| (Chain::BITCOIN, a))
    }

    /// The address of a Bitcoin output script, if it has a standard address form.
    pub fn from_script(network: BitcoinNetwork, script: &bitcoin::Script) -> Option<Address> {
        let a = bitcoin::Address::from_script(script, network.to_bitcoin()).ok()?;
        Some(Address::Bitcoin {
            network,
            text: a.to_string().into_boxed_str(),
        })
    }

    /// Canonical storage key: lower-case hex for EVM, canonical text for Bitcoin.
    /// Two inputs denote the same address exactly when their keys are equal.
    pub fn key(&self) -> String {
        match self {
            Address::Evm(a) => format!("{a:#x}"),
            Address::Bitcoin { text, .. } => text.to_string(),
        }
    }

    /// The EVM bytes, if this is an EVM address.
    pub fn as_evm(&self) -> Option<&alloy_primitives::Address> {
        match self {
            Address::Evm(a) => Some(a),
            Address::Bitcoin { .. } => None,
        }
    }
}

/// Display: EIP-55 checksummed for EVM, canonical text for Bitcoin.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Evm(a) => f.write_str(&a.to_checksum(None)),
            Address::Bitcoin { text, .. } => f.write_str(text),
        }
    }
}

fn parse_evm(s: &str) -> Result<Address, AddressError> {
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| AddressError::EvmFormat(s.to_string()))?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AddressError::EvmFormat(s.to_string()));
    }
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper {
        let with_prefix = format!("0x{hex}");
        return alloy_primitives::Address::parse_checksummed(&with_prefix, None)
            .map(Address::Evm)
            .map_err(|_| AddressError::EvmChecksum(s.to_string()));
    }
    let mut bytes = [0u8; 20];
    for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
        let pair =
            std::str::from_utf8(chunk).map_err(|_| AddressError::EvmFormat(s.to_string()))?;
        bytes[i] =
            u8::from_str_radix(pair, 16).map_err(|_| AddressError::EvmFormat(s.to_string()))?;
    }
    Ok(Address::Evm(alloy_primitives::Address::from(bytes)))
}

fn parse_bitcoin(net: BitcoinNetwork, s: &str) -> Result<Address, AddressError> {
    let unchecked: bitcoin::Address<bitcoin::address::NetworkUnchecked> =
        s.parse()
            .map_err(|e: bitcoin::address::ParseError| AddressError::Bitcoin {
                input: s.to_string(),
                reason: e.to_string(),
            })?;
    let checked =
        unchecked
            .require_network(net.to_bitcoin())
            .map_err(|_| AddressError::WrongNetwork {
                input: s.to_string(),
                expected: Chain::Bitcoin(net),
            })?;
    Ok(Address::Bitcoin {
        network: net,
        text: checked.to_string().into_boxed_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RONIN: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";

    #[test]
    fn evm_checksum_and_case() {
        let a = Address::parse(Chain::ETHEREUM, RONIN).unwrap();
        assert_eq!(a.to_string(), RONIN);
        assert_eq!(a.key(), RONIN.to_lowercase());
        let lower = Address::parse(Chain::ETHEREUM, &RONIN.to_lowercase()).unwrap();
        assert_eq!(a, lower);
        let upper = format!("0x{}", RONIN[2..].to_uppercase());
        assert_eq!(Address::parse(Chain::ETHEREUM, &upper).unwrap(), a);
        // one flipped letter case breaks the checksum
        let bad = RONIN.replace("8Aaf", "8aaf");
        let e = Address::parse(Chain::ETHEREUM, &bad).unwrap_err();
        assert!(matches!(e, AddressError::EvmChecksum(_)));
        assert!(e.to_string().contains(&bad));
    }

    #[test]
    fn evm_format_errors() {
        for bad in [
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f9",
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f966",
            "098B716B8Aaf21512996dC57EB0615e2383E2f96",
            "0xg98b716b8aaf21512996dc57eb0615e2383e2f96",
            "0x",
        ] {
            let e = Address::parse(Chain::ETHEREUM, bad).unwrap_err();
            assert!(matches!(e, AddressError::EvmFormat(_)), "{bad}: {e}");
            assert!(e.to_string().contains(bad));
        }
        assert_eq!(
            Address::parse(Chain::ETHEREUM, "  ").unwrap_err(),
            AddressError::Empty
        );
    }

    #[test]
    fn bitcoin_kinds() {
        // P2PKH (genesis coinbase), P2SH, P2WPKH, P2WSH, P2TR — BIP 173 / 350 test vectors
        for ok in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ] {
            let a = Address::parse(Chain::BITCOIN, ok).unwrap();
            assert_eq!(a.to_string(), ok);
        }
        // upper-case bech32 is valid and normalised
        let up = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4";
        assert_eq!(
            Address::parse(Chain::BITCOIN, up).unwrap().to_string(),
            up.to_lowercase()
        );
    }

    #[test]
    fn bitcoin_rejects() {
        for bad in [
            // base58 checksum broken (last char)
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
            // bech32 checksum broken
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
            // taproot program encoded with bech32 instead of bech32m (BIP 350 invalid vector)
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
            // v0 program encoded with bech32m (BIP 350 invalid vector)
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
            "not-an-address",
        ] {
            let e = Address::parse(Chain::BITCOIN, bad).unwrap_err();
            assert!(matches!(e, AddressError::Bitcoin { .. }), "{bad}: {e}");
            assert!(e.to_string().contains(bad));
        }
    }

    #[test]
    fn bitcoin_wrong_network() {
        let testnet = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
        let e = Address::parse(Chain::BITCOIN, testnet).unwrap_err();
        assert!(matches!(e, AddressError::WrongNetwork { .. }), "{e}");
        let t = Chain::Bitcoin(BitcoinNetwork::Testnet);
        assert!(Address::parse(t, testnet).is_ok());
        let e = Address::parse(t, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").unwrap_err();
        assert!(matches!(e, AddressError::WrongNetwork { .. }));
        let (chain, _) = Address::parse_any(testnet).unwrap();
        assert_eq!(chain, t);
        let regtest = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
        let (chain, _) = Address::parse_any(regtest).unwrap();
        assert_eq!(chain, Chain::Bitcoin(BitcoinNetwork::Regtest));
    }

    #[test]
    fn evm_chain_does_not_take_bitcoin() {
        assert!(Address::parse(Chain::ETHEREUM, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa").is_err());
        assert!(Address::parse(Chain::BITCOIN, RONIN).is_err());
    }
}
