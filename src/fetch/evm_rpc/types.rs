//! The JSON-RPC answers the EVM source reads. Receipts, logs, blocks and traces are alloy's
//! types; a transaction is read into [`RpcTx`], a small struct of the fields transfers need,
//! because alloy's `Transaction<TxEnvelope>` rejects the transaction types of L2 chains
//! (OP-stack deposits 0x7e, Arbitrum's 0x64–0x6a) that a tracer must still read.

use alloy_primitives::{Address, B256, U64, U128, U256};
use alloy_rpc_types_eth::{AnyReceiptEnvelope, Log, TransactionReceipt};
use serde::Deserialize;

/// A receipt of any transaction type.
pub(crate) type Receipt = TransactionReceipt<AnyReceiptEnvelope<Log>>;

/// A block with full transactions (only the fields transfers need; any header flavour).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ScanBlock {
    /// Block number.
    pub number: U64,
    /// Seconds since the epoch.
    pub timestamp: U64,
    /// The transactions, in block order.
    #[serde(default)]
    pub transactions: Vec<RpcTx>,
}

/// The fields of a transaction that transfers need.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RpcTx {
    /// Transaction hash.
    pub hash: B256,
    /// Sender.
    pub from: Address,
    /// Receiver; `None` for a contract creation.
    #[serde(default)]
    pub to: Option<Address>,
    /// Value of the top-level call (absent on some system transactions: zero).
    #[serde(default)]
    pub value: U256,
    /// Block number (absent while pending).
    #[serde(default)]
    pub block_number: Option<U64>,
    /// Index in the block.
    #[serde(default)]
    pub transaction_index: Option<U64>,
    /// Gas price (legacy) or effective gas price (as most nodes report it for mined 1559
    /// transactions); the fallback when a receipt lacks `effectiveGasPrice`.
    #[serde(default)]
    pub gas_price: Option<U128>,
    /// The sender's fee cap of an EIP-1559 transaction (absent on legacy ones).
    #[serde(default)]
    pub max_fee_per_gas: Option<U128>,
}

/// Block number and time, from `eth_getBlockByNumber(n, false)`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct BlockStamp {
    /// Block number.
    pub number: U64,
    /// Seconds since the epoch.
    pub timestamp: U64,
}

/// One entry of `debug_traceBlockByNumber` with the call tracer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockCallTrace {
    /// Transaction hash (geth ≥ 1.13, anvil, reth).
    #[serde(default)]
    pub tx_hash: Option<B256>,
    /// The call tree.
    pub result: alloy_rpc_types_trace::geth::CallFrame,
}
