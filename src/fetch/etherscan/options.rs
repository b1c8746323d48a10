//! From the command line's source options to an [`EtherscanSource`]: which flavour, which
//! URL, which key (read from the environment, never from the command line), which rate.

use super::{
    ApiKey, BLOCKSCOUT_ETHEREUM_URL, DEFAULT_API_KEY_ENV, EtherscanSource, ExplorerConfig,
};
use crate::fetch::{FetchError, HttpClient, RetryPolicy};
use crate::model::Chain;

/// The explorer options of `fetch` / `trace` (`--etherscan [--api-key-env NAME]
/// [--etherscan-url URL]`, `--blockscout-url URL`).
#[derive(Debug, Clone, Default)]
pub struct ExplorerOptions {
    /// `--etherscan`: use Etherscan API v2.
    pub etherscan: bool,
    /// `--etherscan-url`: another Etherscan-compatible v2 base (default [`super::ETHERSCAN_URL`]).
    pub etherscan_url: Option<String>,
    /// `--api-key-env`: the environment variable holding the key (default
    /// [`DEFAULT_API_KEY_ENV`]).
    pub api_key_env: Option<String>,
    /// `--blockscout-url`: a Blockscout instance's `/api` base.
    pub blockscout_url: Option<String>,
}

impl ExplorerOptions {
    /// True when an explorer was asked for.
    pub fn requested(&self) -> bool {
        self.etherscan || self.blockscout_url.is_some()
    }

    /// The configuration these options mean on `chain`, with `env` looking up environment
    /// variables. `--etherscan` without a key falls back to Blockscout's public instance on
    /// Ethereum mainnet (with a warning) and is an error on other chains.
    pub fn config(
        &self,
        chain: Chain,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ExplorerConfig, FetchError> {
        if !chain.is_evm() {
            return Err(FetchError::BadInput(format!(
                "--etherscan and --blockscout-url read EVM chains; {chain} is not one"
            )));
        }
        if let Some(url) = &self.blockscout_url {
            return Ok(ExplorerConfig::blockscout(url, chain));
        }
        let var = self.api_key_env.as_deref().unwrap_or(DEFAULT_API_KEY_ENV);
        match env(var).and_then(|k| ApiKey::new(&k)) {
            Some(key) => {
                let mut cfg = ExplorerConfig::etherscan(chain, Some(key));
                if let Some(u) = &self.etherscan_url {
                    cfg.url = u.clone();
                }
                Ok(cfg)
            }
            None if chain == Chain::ETHEREUM && self.etherscan_url.is_none() => {
                tracing::warn!(
                    "no Etherscan API key in ${var}: using Blockscout's public instance {BLOCKSCOUT_ETHEREUM_URL} instead"
                );
                Ok(ExplorerConfig::blockscout(BLOCKSCOUT_ETHEREUM_URL, chain))
            }
            None => Err(FetchError::BadInput(format!(
                "no Etherscan API key: set the environment variable {var} (or name another with \
                 --api-key-env), or use --blockscout-url"
            ))),
        }
    }

    /// Open the source with the process environment; `rate` overrides the flavour's default
    /// requests per second (sent at [`super::RATE_MARGIN`] of it). Returns the source and its
    /// HTTP client (for request counters).
    pub fn open(
        &self,
        chain: Chain,
        rate: Option<f64>,
    ) -> Result<(EtherscanSource, HttpClient), FetchError> {
        let cfg = self.config(chain, |v| std::env::var(v).ok())?;
        let http =
            super::explorer_http(rate.unwrap_or(cfg.default_rate()), RetryPolicy::default())?;
        let source = EtherscanSource::new(http.clone(), cfg)?;
        Ok((source, http))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::etherscan::{BLOCKSCOUT_RATE, ETHERSCAN_RATE, ETHERSCAN_URL, Flavor};

    fn env_with(name: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |v| (v == name).then(|| value.to_string())
    }

    #[test]
    fn key_from_the_named_variable() {
        let o = ExplorerOptions {
            etherscan: true,
            api_key_env: Some("MY_KEY".into()),
            ..Default::default()
        };
        let cfg = o
            .config(Chain::Evm(137), env_with("MY_KEY", "K123"))
            .unwrap();
        assert_eq!(cfg.flavor, Flavor::Etherscan);
        assert_eq!(cfg.url, ETHERSCAN_URL);
        assert_eq!(cfg.default_rate(), ETHERSCAN_RATE);
        assert_eq!(cfg.api_key.as_ref().map(|k| k.expose()), Some("K123"));
        assert!(!format!("{cfg:?}").contains("K123"));
    }

    #[test]
    fn no_key_falls_back_on_mainnet_only() {
        let o = ExplorerOptions {
            etherscan: true,
            ..Default::default()
        };
        let cfg = o.config(Chain::ETHEREUM, |_| None).unwrap();
        assert_eq!(cfg.flavor, Flavor::Blockscout);
        assert_eq!(cfg.url, BLOCKSCOUT_ETHEREUM_URL);
        assert_eq!(cfg.default_rate(), BLOCKSCOUT_RATE);
        let blank = o.config(Chain::ETHEREUM, env_with(DEFAULT_API_KEY_ENV, "  "));
        assert_eq!(blank.unwrap().flavor, Flavor::Blockscout);
        let e = o.config(Chain::Evm(56), |_| None).unwrap_err();
        assert!(matches!(e, FetchError::BadInput(_)));
        assert!(e.to_string().contains(DEFAULT_API_KEY_ENV));
        assert!(o.config(Chain::BITCOIN, |_| None).is_err());
    }

    #[test]
    fn blockscout_url_wins() {
        let o = ExplorerOptions {
            blockscout_url: Some("https://base.blockscout.com/api".into()),
            ..Default::default()
        };
        let cfg = o.config(Chain::Evm(8453), |_| None).unwrap();
        assert_eq!(cfg.flavor, Flavor::Blockscout);
        assert!(o.requested());
        assert!(!ExplorerOptions::default().requested());
    }
}
