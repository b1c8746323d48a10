//! Decoded contract events that the trace needs beyond value transfers: Tornado-style pool
//! deposits and withdrawals (demixing), THORChain router deposits and outbound transfers, Ren
//! burns (cross-chain edges). Keyed like transfers by (chain, tx hash, log index), so that
//! fetching them twice is idempotent. The decoded events are EVM events; their addresses are
//! the 20-byte EVM addresses.

use alloy_primitives::{Address as EvmAddress, B256, U256};
use serde::{Deserialize, Serialize};

use super::address::Address;
use super::chain::Chain;
use super::transfer::TxHash;

/// One decoded event with the facts of its transaction that the heuristics use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractEvent {
    /// Chain.
    pub chain: Chain,
    /// The emitting contract (pool, router, gateway).
    pub contract: Address,
    /// Transaction.
    pub tx: TxHash,
    /// Log index in the block.
    pub log_index: u32,
    /// Block number.
    pub block: u64,
    /// Transaction index in the block.
    pub tx_index: u32,
    /// Block time (Unix seconds).
    pub time: i64,
    /// The transaction's sender, when the source tells.
    pub tx_from: Option<Address>,
    /// The fee setting the sender chose: `gasPrice` of a legacy / EIP-2930 transaction, or
    /// `maxFeePerGas` of an EIP-1559 one (wei). What the unique-gas-price heuristic compares.
    pub gas_price: Option<U256>,
    /// The decoded event.
    pub data: EventData,
}

/// The events moneytrail decodes (their Solidity signatures in the variant docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventData {
    /// `Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp)` of a
    /// Tornado Cash pool.
    TornadoDeposit {
        /// The note commitment.
        commitment: B256,
        /// Leaf index in the pool's Merkle tree.
        leaf_index: u32,
        /// The timestamp the contract recorded.
        timestamp: u64,
    },
    /// `Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee)`
    /// of a Tornado Cash pool.
    TornadoWithdrawal {
        /// Recipient.
        to: EvmAddress,
        /// The spent note's nullifier hash.
        nullifier_hash: B256,
        /// Relayer (the zero address when the recipient withdrew itself).
        relayer: EvmAddress,
        /// The relayer's fee, in the pool's asset (base units).
        fee: U256,
    },
    /// `Deposit(address indexed to, address indexed asset, uint256 amount, string memo)` of a
    /// THORChain router (the inbound leg; `to` is the vault).
    ThorDeposit {
        /// The vault.
        vault: EvmAddress,
        /// The asset (the zero address for the native coin).
        asset: EvmAddress,
        /// Amount in base units.
        amount: U256,
        /// The memo (`SWAP:CHAIN.ASSET:DEST…`, `=:…`).
        memo: String,
    },
    /// `TransferOut(address indexed vault, address indexed to, address asset, uint256 amount,
    /// string memo)` of a THORChain router (the outbound leg, memo `OUT:<inbound tx hash>`).
    ThorTransferOut {
        /// The vault paying out.
        vault: EvmAddress,
        /// Recipient.
        to: EvmAddress,
        /// The asset (the zero address for the native coin).
        asset: EvmAddress,
        /// Amount in base units.
        amount: U256,
        /// The memo.
        memo: String,
    },
    /// `LogBurn(bytes _to, uint256 _amount, uint256 indexed _n, bytes indexed _indexedTo)` of a
    /// Ren gateway: renBTC burnt to release BTC to `to` on the Bitcoin chain.
    RenBurn {
        /// The destination as the burner wrote it (a Bitcoin address in text, normally).
        to: String,
        /// Amount burnt (renBTC base units = satoshis).
        amount: U256,
        /// The burn's sequence number.
        n: U256,
    },
}

impl EventData {
    /// The `kind` stored beside the JSON (`tornado_deposit` …).
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::TornadoDeposit { .. } => "tornado_deposit",
            EventData::TornadoWithdrawal { .. } => "tornado_withdrawal",
            EventData::ThorDeposit { .. } => "thor_deposit",
            EventData::ThorTransferOut { .. } => "thor_transfer_out",
            EventData::RenBurn { .. } => "ren_burn",
        }
    }
}
