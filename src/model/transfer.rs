//! Transfers: one movement of value, keyed by (chain, tx hash, sub-index) so that fetching the
//! same data twice is idempotent.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use alloy_primitives::B256;

use super::address::Address;
use super::amount::Amount;
use super::asset::AssetId;
use super::chain::Chain;

/// A 32-byte transaction hash. EVM hashes display with `0x`, Bitcoin txids without (in the
/// usual reversed display order, which is also the order stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxHash(pub B256);

/// A malformed transaction hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid transaction hash '{0}': expected 64 hex digits (0x-prefixed on EVM chains)")]
pub struct TxHashError(pub String);

impl TxHash {
    /// Parse 64 hex digits, with or without `0x`.
    pub fn parse(input: &str) -> Result<TxHash, TxHashError> {
        let s = input.trim();
        let hex = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TxHashError(input.to_string()));
        }
        hex.parse::<B256>()
            .map(TxHash)
            .map_err(|_| TxHashError(input.to_string()))
    }

    /// Text form for `chain`: `0x…` on EVM chains, bare hex on Bitcoin.
    pub fn display(&self, chain: Chain) -> String {
        match chain {
            Chain::Evm(_) => format!("{:#x}", self.0),
            Chain::Bitcoin(_) => format!("{:x}", self.0),
        }
    }
}

/// Position of a transfer inside its transaction. The derived order is the replay order inside
/// an EVM transaction (DESIGN.md): the gas fee first, then the tx value, then internal transfers
/// in call-tree pre-order (the lexicographic order of trace addresses), then token Transfer logs
/// by log index. UTXO inputs and outputs come after, by index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubIndex {
    /// The transaction fee (gas × price, or inputs − outputs).
    Fee,
    /// The value of the transaction's top-level call.
    Value,
    /// A value-carrying internal call, by trace address (path in the call tree, non-empty).
    Internal(Vec<u32>),
    /// An ERC-20 Transfer event, by log index in the block.
    Log(u32),
    /// A UTXO input, by input index.
    Input(u32),
    /// A UTXO output, by output index (vout).
    Output(u32),
}

/// A sub-index that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid sub-index '{0}': expected fee, value, call:<trace address like 0_1>, log:<n>, vin:<n> or vout:<n>"
)]
pub struct SubIndexError(pub String);

impl SubIndex {
    /// Storage form: (class, key).
    pub fn to_parts(&self) -> (u8, String) {
        match self {
            SubIndex::Fee => (0, String::new()),
            SubIndex::Value => (1, String::new()),
            SubIndex::Internal(path) => (2, join_path(path)),
            SubIndex::Log(i) => (3, i.to_string()),
            SubIndex::Input(i) => (4, i.to_string()),
            SubIndex::Output(i) => (5, i.to_string()),
        }
    }

    /// Inverse of [`SubIndex::to_parts`].
    pub fn from_parts(class: u8, key: &str) -> Result<SubIndex, SubIndexError> {
        let err = || SubIndexError(format!("{class}:{key}"));
        let num = || key.parse::<u32>().map_err(|_| err());
        Ok(match class {
            0 => SubIndex::Fee,
            1 => SubIndex::Value,
            2 => {
                let path = key
                    .split('_')
                    .map(|p| p.parse::<u32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| err())?;
                if path.is_empty() {
                    return Err(err());
                }
                SubIndex::Internal(path)
            }
            3 => SubIndex::Log(num()?),
            4 => SubIndex::Input(num()?),
            5 => SubIndex::Output(num()?),
            _ => return Err(err()),
        })
    }
}

fn join_path(path: &[u32]) -> String {
    path.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("_")
}

/// `fee`, `value`, `call:0_1`, `log:17`, `vin:0`, `vout:2`.
impl fmt::Display for SubIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubIndex::Fee => f.write_str("fee"),
            SubIndex::Value => f.write_str("value"),
            SubIndex::Internal(p) => write!(f, "call:{}", join_path(p)),
            SubIndex::Log(i) => write!(f, "log:{i}"),
            SubIndex::Input(i) => write!(f, "vin:{i}"),
            SubIndex::Output(i) => write!(f, "vout:{i}"),
        }
    }
}

impl FromStr for SubIndex {
    type Err = SubIndexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || SubIndexError(s.to_string());
        let (class, key) = match s.split_once(':') {
            None if s == "fee" => return Ok(SubIndex::Fee),
            None if s == "value" => return Ok(SubIndex::Value),
            None => return Err(err()),
            Some(("call", k)) => (2, k),
            Some(("log", k)) => (3, k),
            Some(("vin", k)) => (4, k),
            Some(("vout", k)) => (5, k),
            Some(_) => return Err(err()),
        };
        SubIndex::from_parts(class, key).map_err(|_| err())
    }
}

/// What kind of movement a transfer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferKind {
    /// The value of an EVM transaction.
    Native,
    /// Value moved by an internal call.
    Internal,
    /// An ERC-20 transfer.
    Token,
    /// A UTXO input or output.
    Utxo,
    /// A fee paid to the fee sink.
    Fee,
}

impl TransferKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Native => "native",
            TransferKind::Internal => "internal",
            TransferKind::Token => "token",
            TransferKind::Utxo => "utxo",
            TransferKind::Fee => "fee",
        }
    }
}

/// One movement of value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Transfer {
    /// Chain.
    pub chain: Chain,
    /// Transaction hash.
    pub tx_hash: TxHash,
    /// Position inside the transaction.
    pub sub: SubIndex,
    /// Block number.
    pub block: u64,
    /// Index of the transaction in its block.
    pub tx_index: u32,
    /// Block time, seconds since the Unix epoch.
    pub time: i64,
    /// Sender; `None` for newly minted value (coinbase).
    pub from: Option<Address>,
    /// Receiver; `None` for the fee sink (fee transfers).
    pub to: Option<Address>,
    /// Asset moved.
    pub asset: AssetId,
    /// Amount in base units.
    pub amount: Amount,
}

impl Transfer {
    /// The kind, which follows from the sub-index.
    pub fn kind(&self) -> TransferKind {
        match self.sub {
            SubIndex::Fee => TransferKind::Fee,
            SubIndex::Value => TransferKind::Native,
            SubIndex::Internal(_) => TransferKind::Internal,
            SubIndex::Log(_) => TransferKind::Token,
            SubIndex::Input(_) | SubIndex::Output(_) => TransferKind::Utxo,
        }
    }

    /// The replay order: (block, tx index, sub-index), then the hash to make it total.
    pub fn time_order(&self, other: &Transfer) -> Ordering {
        (self.block, self.tx_index, &self.sub, self.tx_hash).cmp(&(
            other.block,
            other.tx_index,
            &other.sub,
            other.tx_hash,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_index_order_matches_design() {
        let mut v = vec![
            SubIndex::Log(0),
            SubIndex::Internal(vec![1]),
            SubIndex::Internal(vec![0, 2]),
            SubIndex::Value,
            SubIndex::Internal(vec![0]),
            SubIndex::Fee,
            SubIndex::Log(5),
        ];
        v.sort();
        assert_eq!(
            v,
            vec![
                SubIndex::Fee,
                SubIndex::Value,
                SubIndex::Internal(vec![0]),
                SubIndex::Internal(vec![0, 2]),
                SubIndex::Internal(vec![1]),
                SubIndex::Log(0),
                SubIndex::Log(5),
            ]
        );
    }

    #[test]
    fn sub_index_text_round_trip() {
        for s in [
            SubIndex::Fee,
            SubIndex::Value,
            SubIndex::Internal(vec![0, 1, 12]),
            SubIndex::Log(17),
            SubIndex::Input(3),
            SubIndex::Output(2),
        ] {
            assert_eq!(s.to_string().parse::<SubIndex>().unwrap(), s);
            let (c, k) = s.to_parts();
            assert_eq!(SubIndex::from_parts(c, &k).unwrap(), s);
        }
        for bad in ["", "call:", "log:x", "call:0__1", "foo:1", "vout:-1"] {
            assert!(bad.parse::<SubIndex>().is_err(), "{bad}");
        }
    }

    #[test]
    fn tx_hash_forms() {
        let h = "0x5f2f8a3dbd2ec05c4b2d3eb0e08e2e44da2c2ae9dcfe9bcd1a1c6e2b2a1d3e4f";
        let t = TxHash::parse(h).unwrap();
        assert_eq!(t.display(Chain::ETHEREUM), h);
        assert_eq!(t.display(Chain::BITCOIN), &h[2..]);
        assert_eq!(TxHash::parse(&h[2..]).unwrap(), t);
        assert!(TxHash::parse("0x1234").is_err());
        assert!(TxHash::parse(&h.replace('f', "g")).is_err());
    }
}
