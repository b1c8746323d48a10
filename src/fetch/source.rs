//! The `Source` seam: anything that yields transfers for an address and block range, the
//! transfers of one transaction, token metadata, balances and the chain head.

use async_trait::async_trait;

use alloy_primitives::B256;

use crate::model::{Address, Amount, Asset, AssetId, Chain, ContractEvent, Transfer, TxHash};
use crate::store::StoreError;

/// A fetch failure. Network faults are retried inside [`super::HttpClient`] before they
/// become one of these; the message names the endpoint (never an API key).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The endpoint could not be reached at all (connection refused, DNS, TLS).
    #[error("cannot reach {url}: {detail}")]
    Unreachable {
        /// Endpoint (API keys removed).
        url: String,
        /// What failed.
        detail: String,
    },
    /// The retry budget ran out on timeouts, 429s, 5xx or malformed answers.
    #[error("{url}: giving up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// Endpoint (API keys removed).
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// A definite refusal (4xx other than 429, an API error status, a JSON-RPC error).
    #[error("{url}: {detail}")]
    Refused {
        /// Endpoint (API keys removed).
        url: String,
        /// What the server said.
        detail: String,
    },
    /// The answer does not have the documented shape.
    #[error("{url}: malformed answer: {detail}")]
    Malformed {
        /// Endpoint (API keys removed).
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The source cannot do this (e.g. no address discovery method on a node).
    #[error("{0}")]
    Unsupported(String),
    /// Bad input given by the user (seed, chain, block range).
    #[error("{0}")]
    BadInput(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A source of transfers on one chain.
///
/// Transfers follow the model's rules (DESIGN.md): keyed by (chain, tx hash, sub-index); every
/// transaction's gas fee is a `fee` transfer from the sender (also for reverted ones); a
/// reverted transaction or call frame moves no value; zero amounts are not transfers.
#[async_trait]
pub trait Source: Send + Sync {
    /// Stable identity for checkpoints, e.g. `rpc:http://127.0.0.1:8545`, `etherscan:1`.
    /// Never contains an API key.
    fn id(&self) -> String;

    /// The chain this source serves.
    fn chain(&self) -> Chain;

    /// The newest block number.
    async fn head(&self) -> Result<u64, FetchError>;

    /// Every transfer in blocks `from..=to` in which `address` is the sender or the receiver
    /// (native value, internal calls, token transfers, and fees it paid).
    async fn transfers_for_address(
        &self,
        address: &Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<Transfer>, FetchError>;

    /// Every transfer of one transaction.
    async fn transfers_of_tx(&self, tx: TxHash) -> Result<Vec<Transfer>, FetchError>;

    /// Symbol and decimals of a token (the native asset needs no call).
    async fn asset(&self, id: AssetId) -> Result<Asset, FetchError>;

    /// The balance of `address` in `asset` at the end of `block`, where the source can tell
    /// (archive node state); `None` when it cannot.
    async fn balance_at(
        &self,
        address: &Address,
        asset: AssetId,
        block: u64,
    ) -> Result<Option<Amount>, FetchError>;

    /// The decoded events emitted by `contract` in blocks `from..=to` whose topic 0 is one of
    /// `topics` (see [`super::events::REGISTRY`]), in chain order, each with its transaction's
    /// sender, fee setting and block time. A log with a known topic 0 that does not decode is
    /// an error naming the contract, transaction and log index. Sources that cannot read logs
    /// answer [`FetchError::Unsupported`] (the default).
    async fn contract_events(
        &self,
        contract: &Address,
        topics: &[B256],
        from: u64,
        to: u64,
    ) -> Result<Vec<ContractEvent>, FetchError> {
        let _ = (contract, topics, from, to);
        Err(FetchError::Unsupported(format!(
            "{} cannot read contract events",
            self.id()
        )))
    }
}
