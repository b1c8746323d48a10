//! The Bitcoin side of `moneytrail fetch`: open the Esplora or bitcoind source the user named,
//! run the UTXO frontier ([`super::utxo_frontier`]) and return its report. The command line
//! only parses flags into [`BitcoinFetch`].

use std::path::PathBuf;

use super::bitcoind::{BitcoindAuth, BitcoindConfig, BitcoindSource};
use super::esplora::{DEFAULT_ESPLORA_URL, EsploraConfig, EsploraSource};
use super::utxo_frontier::{
    UtxoFrontierConfig, UtxoFrontierReport, follow_bitcoind, follow_esplora,
};
use super::{FetchError, HttpClient, RetryPolicy};
use crate::model::{Address, BitcoinNetwork, Chain};
use crate::store::Store;

/// Which Bitcoin source, with its settings.
#[derive(Debug, Clone)]
pub enum BitcoinSourceSpec {
    /// An Esplora REST API (default [`DEFAULT_ESPLORA_URL`]).
    Esplora {
        /// Base URL.
        url: String,
    },
    /// A Bitcoin Core (or bcoin) JSON-RPC node.
    Bitcoind {
        /// URL.
        url: String,
        /// Credentials.
        auth: BitcoindAuth,
    },
}

/// Everything one Bitcoin fetch needs.
#[derive(Debug, Clone)]
pub struct BitcoinFetch {
    /// The source.
    pub source: BitcoinSourceSpec,
    /// Requests per second to the source's host (default 5 for Esplora — the public instances
    /// throttle — and 50 for a node).
    pub rate: Option<f64>,
    /// Esplora: confirmations a transaction needs to be stored.
    pub confirmations: u64,
    /// The frontier's limits.
    pub frontier: UtxoFrontierConfig,
}

/// The credentials of a bitcoind from a cookie file or the environment
/// (`BITCOIND_RPC_USER` / `BITCOIND_RPC_PASSWORD`); none when neither is given.
pub fn bitcoind_auth(cookie: Option<PathBuf>) -> BitcoindAuth {
    if let Some(p) = cookie {
        return BitcoindAuth::Cookie(p);
    }
    match (
        std::env::var("BITCOIND_RPC_USER"),
        std::env::var("BITCOIND_RPC_PASSWORD"),
    ) {
        (Ok(user), Ok(password)) => BitcoindAuth::UserPass { user, password },
        (Err(_), Ok(password)) => BitcoindAuth::UserPass {
            user: String::new(),
            password,
        },
        _ => BitcoindAuth::None,
    }
}

/// Follow `seeds` on `chain` with the source of `f` into `store`.
pub async fn run(
    store: &mut Store,
    chain: Chain,
    seeds: &[Address],
    f: &BitcoinFetch,
) -> Result<UtxoFrontierReport, FetchError> {
    let Chain::Bitcoin(network) = chain else {
        return Err(FetchError::BadInput(format!(
            "--esplora-url and --bitcoind-url read Bitcoin; {chain} is not a Bitcoin chain"
        )));
    };
    match &f.source {
        BitcoinSourceSpec::Esplora { url } => {
            let http = HttpClient::new(f.rate.unwrap_or(5.0), RetryPolicy::default())?;
            let mut cfg = EsploraConfig::new(url, network);
            cfg.min_confirmations = f.confirmations.max(1);
            let src = EsploraSource::new(http.clone(), cfg)?;
            follow_esplora(store, &src, seeds, &f.frontier, Some(http.stats())).await
        }
        BitcoinSourceSpec::Bitcoind { url, auth } => {
            let http = HttpClient::new(f.rate.unwrap_or(50.0), RetryPolicy::default())?;
            let mut cfg = BitcoindConfig::new(url, network);
            cfg.auth = auth.clone();
            let src = BitcoindSource::connect(http.clone(), cfg).await?;
            follow_bitcoind(store, &src, seeds, &f.frontier, Some(http.stats())).await
        }
    }
}

/// The default Esplora URL for a network (mempool.space serves mainnet, testnet and signet).
pub fn default_esplora_url(network: BitcoinNetwork) -> &'static str {
    match network {
        BitcoinNetwork::Mainnet | BitcoinNetwork::Regtest => DEFAULT_ESPLORA_URL,
        BitcoinNetwork::Testnet => "https://mempool.space/testnet/api",
        BitcoinNetwork::Signet => "https://mempool.space/signet/api",
    }
}
