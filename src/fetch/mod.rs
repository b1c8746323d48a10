//! Fetching: sources of transfers (EVM JSON-RPC nodes, Etherscan v2 / Blockscout, Esplora,
//! bitcoind, ETL exports) behind one [`Source`] trait, one HTTP client with rate limiting and
//! retries for all of them ([`http`]), and the driver that writes what they yield into the store
//! with checkpoints. Fetchers only write to the store; they know nothing of tracing.

pub mod bitcoin_cmd;
pub mod bitcoin_etl;
pub mod bitcoind;
pub mod driver;
pub mod esplora;
pub mod ethereum_etl;
pub mod etherscan;
pub mod etl_table;
pub mod events;
pub mod evm_rpc;
pub mod frontier;
pub mod http;
mod progress;
mod source;
pub mod utxo;
pub mod utxo_frontier;

pub use frontier::{FrontierConfig, FrontierReport, StopReason, run_frontier};
pub use http::{HttpClient, HttpStats, RetryPolicy};
pub use source::{FetchError, Source};
