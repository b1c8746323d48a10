//! How a [`super::BitcoindSource`] is reached: URL, network, credentials, batching.

use std::path::PathBuf;

use crate::model::BitcoinNetwork;

/// How to authenticate to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BitcoindAuth {
    /// None beyond what the URL holds.
    None,
    /// Basic auth with `rpcuser` / `rpcpassword`.
    UserPass {
        /// User.
        user: String,
        /// Password (never printed).
        password: String,
    },
    /// Bitcoin Core's cookie file, read when the source connects.
    Cookie(PathBuf),
}

/// Configuration of a [`BitcoindSource`](super::BitcoindSource).
#[derive(Debug, Clone)]
pub struct BitcoindConfig {
    /// `http://host:port` (credentials in the URL are accepted and never printed).
    pub url: String,
    /// The node's network.
    pub network: BitcoinNetwork,
    /// Authentication.
    pub auth: BitcoindAuth,
    /// Calls per JSON-RPC batch.
    pub batch_size: usize,
    /// Batches in flight at once.
    pub concurrency: usize,
    /// Previous transactions kept in memory.
    pub cache_txs: usize,
}

impl BitcoindConfig {
    /// Defaults for `url` on `network`, no auth.
    pub fn new(url: &str, network: BitcoinNetwork) -> BitcoindConfig {
        BitcoindConfig {
            url: url.to_string(),
            network,
            auth: BitcoindAuth::None,
            batch_size: 50,
            concurrency: 2,
            cache_txs: 50_000,
        }
    }
}
