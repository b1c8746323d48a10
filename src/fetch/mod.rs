//! Fetching: sources of transfers (EVM JSON-RPC nodes, Etherscan v2 / Blockscout, Esplora,
//! bitcoind, ETL exports) behind one [`Source`] trait, one HTTP client with rate limiting and
//! retries for all of them ([`http`]), and the driver that writes what they yield into the store
//! with checkpoints. Fetchers only write to the store; they know nothing of tracing.

pub mod http;
mod source;

pub use http::{HttpClient, HttpStats, RetryPolicy};
pub use source::{FetchError, Source};
