//! UTXO types for Bitcoin: outpoints, outputs and their spends.

use super::address::Address;
use super::transfer::TxHash;

/// A reference to one output of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutPoint {
    /// The transaction that created the output.
    pub txid: TxHash,
    /// Output index.
    pub vout: u32,
}

/// A transaction output.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxOutput {
    /// Where it is.
    pub outpoint: OutPoint,
    /// Value in satoshi.
    pub value: u64,
    /// The locking script.
    pub script_pubkey: Vec<u8>,
    /// The script's address, if it has a standard form (OP_RETURN and bare scripts have none).
    pub address: Option<Address>,
    /// Height of the block that confirmed the transaction.
    pub block: u64,
}

/// The spending of an output by a later transaction input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spend {
    /// The output spent.
    pub outpoint: OutPoint,
    /// The spending transaction.
    pub spending_txid: TxHash,
    /// Input index in the spending transaction.
    pub input_index: u32,
}
