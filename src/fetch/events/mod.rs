//! Contract events: a registry of decoders keyed by topic 0 (the keccak-256 of the event's
//! signature), and the one function that turns a raw log plus the facts of its transaction
//! into a [`ContractEvent`]. Sources ([`super::Source::contract_events`]) read raw logs and
//! call [`decode`]; the frontier past mixer pools ([`pools`]) stores what they return.
//!
//! Adding an event (a bridge's, a router's) is one [`EventKind`] in [`REGISTRY`]: its
//! signature, its topic 0 and a decoder from (topics, data) to [`EventData`]. A log whose
//! topic 0 is known but whose topics or data do not decode is an error naming the contract,
//! the transaction and the log index — never a silent skip.

pub mod bridges;
pub mod pools;
pub mod tornado;

use alloy_primitives::{Address as EvmAddress, B256, U256};

use crate::model::{Address, Chain, ContractEvent, EventData, TxHash};

/// A decoder: the log's topics (topic 0 first) and data → the decoded event, or why not.
pub type Decoder = fn(&[B256], &[u8]) -> Result<EventData, String>;

/// One decodable event.
#[derive(Debug, Clone, Copy)]
pub struct EventKind {
    /// The Solidity signature with parameter names (for messages).
    pub signature: &'static str,
    /// keccak-256 of the canonical signature.
    pub topic0: B256,
    /// The decoder.
    pub decode: Decoder,
}

/// Every event moneytrail decodes, by topic 0. Bridge and router events are added here.
pub static REGISTRY: &[EventKind] = &[
    tornado::DEPOSIT,
    tornado::WITHDRAWAL,
    bridges::THOR_DEPOSIT,
    bridges::THOR_TRANSFER_OUT,
    bridges::REN_BURN,
];

/// The registry entry of `topic0`, if the event is known.
pub fn kind_of(topic0: &B256) -> Option<&'static EventKind> {
    REGISTRY.iter().find(|k| &k.topic0 == topic0)
}

/// A log as a source read it, before decoding.
#[derive(Debug, Clone)]
pub struct RawLog {
    /// The emitting contract.
    pub contract: EvmAddress,
    /// Transaction.
    pub tx: TxHash,
    /// Log index in the block.
    pub log_index: u32,
    /// Block number.
    pub block: u64,
    /// Transaction index in the block.
    pub tx_index: u32,
    /// Topics, topic 0 first.
    pub topics: Vec<B256>,
    /// Data.
    pub data: Vec<u8>,
}

/// The facts of a log's transaction that the heuristics use.
#[derive(Debug, Clone, Default)]
pub struct TxFacts {
    /// Block time (Unix seconds).
    pub time: i64,
    /// The transaction's sender.
    pub from: Option<EvmAddress>,
    /// `gasPrice` (legacy, EIP-2930) or `maxFeePerGas` (EIP-1559), wei.
    pub gas_price: Option<U256>,
}

/// The fee setting of a transaction as the unique-gas-price heuristic compares it: the
/// `maxFeePerGas` of an EIP-1559 transaction, else its `gasPrice`.
pub fn fee_setting(gas_price: Option<U256>, max_fee_per_gas: Option<U256>) -> Option<U256> {
    max_fee_per_gas.or(gas_price)
}

/// A log that cannot become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No topic at all (an anonymous event): nothing to dispatch on.
    #[error("log {log_index} of transaction {tx} from contract {contract} has no topic")]
    NoTopic {
        /// Contract.
        contract: String,
        /// Transaction.
        tx: String,
        /// Log index.
        log_index: u32,
    },
    /// A topic 0 that no registry entry decodes.
    #[error(
        "log {log_index} of transaction {tx} from contract {contract}: unknown event topic {topic0}"
    )]
    Unknown {
        /// Contract.
        contract: String,
        /// Transaction.
        tx: String,
        /// Log index.
        log_index: u32,
        /// The topic.
        topic0: String,
    },
    /// A known event whose topics or data do not decode.
    #[error(
        "log {log_index} of transaction {tx} from contract {contract} is not a valid {event}: {detail}"
    )]
    Invalid {
        /// Contract.
        contract: String,
        /// Transaction.
        tx: String,
        /// Log index.
        log_index: u32,
        /// The event's signature.
        event: &'static str,
        /// What is wrong.
        detail: String,
    },
}

/// Decode `log` on `chain` with the facts of its transaction.
pub fn decode(chain: Chain, log: &RawLog, facts: &TxFacts) -> Result<ContractEvent, DecodeError> {
    let contract = Address::Evm(log.contract);
    let tx = log.tx.display(chain);
    let Some(topic0) = log.topics.first() else {
        return Err(DecodeError::NoTopic {
            contract: contract.to_string(),
            tx,
            log_index: log.log_index,
        });
    };
    let Some(kind) = kind_of(topic0) else {
        return Err(DecodeError::Unknown {
            contract: contract.to_string(),
            tx,
            log_index: log.log_index,
            topic0: format!("{topic0:#x}"),
        });
    };
    let data = (kind.decode)(&log.topics, &log.data).map_err(|detail| DecodeError::Invalid {
        contract: contract.to_string(),
        tx: tx.clone(),
        log_index: log.log_index,
        event: kind.signature,
        detail,
    })?;
    Ok(ContractEvent {
        chain,
        contract,
        tx: log.tx,
        log_index: log.log_index,
        block: log.block,
        tx_index: log.tx_index,
        time: facts.time,
        tx_from: facts.from.map(Address::Evm),
        gas_price: facts.gas_price,
        data,
    })
}

/// Sort events in chain order (block, tx index, log index) and drop repeats of one log.
pub fn chain_order(mut v: Vec<ContractEvent>) -> Vec<ContractEvent> {
    v.sort_by_key(|e| (e.block, e.tx_index, e.log_index));
    v.dedup_by_key(|e| (e.block, e.tx_index, e.log_index));
    v
}
