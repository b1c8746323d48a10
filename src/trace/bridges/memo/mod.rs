//! THORChain memos (dev.thorchain.org, "Transaction Memos"): what an inbound transaction asks
//! THORChain to do, and what an outbound one answers. Pure parsing; the destination address is
//! validated for the chain the memo names ([`Swap::destination`]).
//!
//! Forms recognised:
//! - swap `SWAP:ASSET:DEST[:LIMIT[/INTERVAL/QUANTITY]][:AFFILIATE:FEE]`, short forms `s:` and
//!   `=:`; `DEST` may carry a refund address as `DEST/REFUND`;
//! - outbound `OUT:<inbound tx hash>` and refund `REFUND:<inbound tx hash>`;
//! - the other actions (add / withdraw liquidity `ADD`/`a`/`+`, `WITHDRAW`/`wd`/`-`, `BOND`,
//!   `UNBOND`, `LEAVE`, `DONATE`, `RESERVE`, `NOOP`, `MIGRATE`, `RAGNAROK`, `LOAN+`/`$+`,
//!   `LOAN-`/`$-`, `TRADE+`, `TRADE-`, `SECURE+`, `SECURE-`, `POOL+`, `POOL-`, `NAME`/`n`/`~`,
//!   `CONSOLIDATE`): recognised, never followed.
//!
//! Assets are `CHAIN.SYMBOL[-CONTRACT]` (synths `CHAIN/SYMBOL`, trade assets `CHAIN~SYMBOL`),
//! a gas asset by its chain alone (`BTC` = `BTC.BTC`), or a documented one-letter short code
//! (`b` = BTC.BTC, `e` = ETH.ETH …).

use std::fmt;

use crate::model::{Address, BitcoinNetwork, Chain, TxHash};

/// A THORChain asset as a memo names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThorAsset {
    /// THORChain chain code (`BTC`, `ETH`, `BSC`, `AVAX` …), upper case.
    pub chain: String,
    /// Symbol (`BTC`, `ETH`, `USDC` …), upper case.
    pub symbol: String,
    /// Contract (or its documented abbreviated suffix) of a token, as written.
    pub contract: Option<String>,
    /// `.` layer-1, `/` synthetic, `~` trade asset.
    pub kind: AssetKind,
}

/// How THORChain holds an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    /// A layer-1 asset, paid out on its chain (`CHAIN.SYMBOL`).
    Layer1,
    /// A synthetic held on THORChain (`CHAIN/SYMBOL`): the swap pays out on THORChain.
    Synth,
    /// A trade-account asset (`CHAIN~SYMBOL`): held on THORChain.
    Trade,
}

impl fmt::Display for ThorAsset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = match self.kind {
            AssetKind::Layer1 => '.',
            AssetKind::Synth => '/',
            AssetKind::Trade => '~',
        };
        write!(f, "{}{sep}{}", self.chain, self.symbol)?;
        if let Some(c) = &self.contract {
            write!(f, "-{c}")?;
        }
        Ok(())
    }
}

/// The documented one-letter asset short codes.
pub const SHORT_CODES: [(&str, &str); 11] = [
    ("a", "AVAX.AVAX"),
    ("b", "BTC.BTC"),
    ("c", "BCH.BCH"),
    ("d", "DOGE.DOGE"),
    ("e", "ETH.ETH"),
    ("f", "BASE.ETH"),
    ("g", "GAIA.ATOM"),
    ("l", "LTC.LTC"),
    ("n", "BNB.BNB"),
    ("r", "THOR.RUNE"),
    ("s", "BSC.BNB"),
];

/// The gas asset of each chain, which a memo may name by the chain alone.
const GAS_ASSETS: [(&str, &str); 12] = [
    ("AVAX", "AVAX"),
    ("BASE", "ETH"),
    ("BCH", "BCH"),
    ("BNB", "BNB"),
    ("BSC", "BNB"),
    ("BTC", "BTC"),
    ("DOGE", "DOGE"),
    ("ETH", "ETH"),
    ("GAIA", "ATOM"),
    ("LTC", "LTC"),
    ("THOR", "RUNE"),
    ("XRP", "XRP"),
];

/// A swap request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    /// The asset to buy.
    pub asset: ThorAsset,
    /// Destination as written (THORName or address); validated by [`Swap::destination`].
    pub dest: String,
    /// Refund address written after `/` in the destination field, if any.
    pub refund: Option<String>,
    /// Price limit (base units of the target asset, 1e8 scale), if given.
    pub limit: Option<String>,
    /// Streaming swap interval (blocks) and quantity (sub-swaps), if given.
    pub streaming: Option<(u64, u64)>,
    /// Affiliate (THORName or address) and fee in basis points, if given.
    pub affiliate: Option<(String, String)>,
}

/// A memo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Memo {
    /// `SWAP:` / `s:` / `=:`.
    Swap(Swap),
    /// `OUT:<hash>`: an outbound answering inbound `hash`.
    Out(TxHash),
    /// `REFUND:<hash>`: inbound `hash` paid back to its sender.
    Refund(TxHash),
    /// Any other documented action (liquidity, bonds, loans …): recognised, not followed.
    Other(&'static str),
}

/// A memo that does not parse. The message names the memo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoError {
    /// Empty memo.
    #[error("empty THORChain memo")]
    Empty,
    /// Unknown action.
    #[error("THORChain memo '{memo}': unknown action '{action}'")]
    UnknownAction {
        /// The memo.
        memo: String,
        /// Its first field.
        action: String,
    },
    /// A field is missing or malformed.
    #[error("THORChain memo '{memo}': {reason}")]
    Malformed {
        /// The memo.
        memo: String,
        /// What is wrong.
        reason: String,
    },
    /// The destination is not a valid address on the chain the memo names.
    #[error("THORChain memo '{memo}': destination '{dest}' is not valid on {chain}: {reason}")]
    BadDestination {
        /// The memo.
        memo: String,
        /// The destination as written.
        dest: String,
        /// The THORChain chain code.
        chain: String,
        /// Why.
        reason: String,
    },
    /// A destination on a chain moneytrail does not read (THOR, GAIA, LTC …), or a THORName.
    #[error("THORChain memo '{memo}': destination on {chain} cannot be followed ({reason})")]
    Unfollowable {
        /// The memo.
        memo: String,
        /// The THORChain chain code.
        chain: String,
        /// Why.
        reason: String,
    },
}

const OTHER_ACTIONS: [(&[&str], &str); 19] = [
    (&["ADD", "A", "+"], "add_liquidity"),
    (&["WITHDRAW", "WD", "-"], "withdraw_liquidity"),
    (&["BOND"], "bond"),
    (&["UNBOND"], "unbond"),
    (&["LEAVE"], "leave"),
    (&["DONATE"], "donate"),
    (&["RESERVE"], "reserve"),
    (&["NOOP"], "noop"),
    (&["MIGRATE"], "migrate"),
    (&["RAGNAROK"], "ragnarok"),
    (&["LOAN+", "$+"], "loan_open"),
    (&["LOAN-", "$-"], "loan_repay"),
    (&["TRADE+"], "trade_deposit"),
    (&["TRADE-"], "trade_withdraw"),
    (&["SECURE+"], "secure_deposit"),
    (&["SECURE-"], "secure_withdraw"),
    (&["POOL+"], "rune_pool_deposit"),
    (&["POOL-"], "rune_pool_withdraw"),
    (&["NAME", "N", "~"], "thorname"),
];

/// Parse a memo (surrounding white space ignored; actions are case-insensitive).
pub fn parse(memo: &str) -> Result<Memo, MemoError> {
    let m = memo.trim();
    if m.is_empty() {
        return Err(MemoError::Empty);
    }
    let fields: Vec<&str> = m.split(':').collect();
    let action = fields[0].trim().to_ascii_uppercase();
    let bad = |reason: String| MemoError::Malformed {
        memo: m.to_string(),
        reason,
    };
    match action.as_str() {
        "SWAP" | "S" | "=" => parse_swap(m, &fields[1..]).map(Memo::Swap),
        "OUT" | "REFUND" => {
            let h = fields.get(1).copied().unwrap_or("").trim();
            if fields.len() != 2 {
                return Err(bad(format!("{action} takes exactly one inbound tx hash")));
            }
            let h = TxHash::parse(h).map_err(|e| bad(e.to_string()))?;
            Ok(if action == "OUT" {
                Memo::Out(h)
            } else {
                Memo::Refund(h)
            })
        }
        "CONSOLIDATE" => Ok(Memo::Other("consolidate")),
        a => OTHER_ACTIONS
            .iter()
            .find(|(names, _)| names.contains(&a))
            .map(|(_, kind)| Memo::Other(kind))
            .ok_or_else(|| MemoError::UnknownAction {
                memo: m.to_string(),
                action: fields[0].to_string(),
            }),
    }
}

fn parse_swap(memo: &str, f: &[&str]) -> Result<Swap, MemoError> {
    let bad = |reason: String| MemoError::Malformed {
        memo: memo.to_string(),
        reason,
    };
    let asset = f
        .first()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad("swap without a target asset".into()))?;
    let asset = parse_asset(asset).map_err(bad)?;
    let dest_field = f.get(1).map(|s| s.trim()).unwrap_or("");
    if dest_field.is_empty() {
        return Err(bad("swap without a destination".into()));
    }
    let (dest, refund) = match dest_field.split_once('/') {
        Some((d, r)) => (d.to_string(), Some(r.to_string())),
        None => (dest_field.to_string(), None),
    };
    let mut limit = None;
    let mut streaming = None;
    if let Some(l) = f.get(2).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let parts: Vec<&str> = l.split('/').collect();
        let lim = parts[0];
        if !lim.is_empty() && !is_amount(lim) {
            return Err(bad(format!("limit '{lim}' is not an amount")));
        }
        if !lim.is_empty() {
            limit = Some(lim.to_string());
        }
        match parts.len() {
            1 => {}
            3 => {
                let n = |s: &str, what: &str| {
                    s.parse::<u64>()
                        .map_err(|_| bad(format!("streaming {what} '{s}' is not an integer")))
                };
                streaming = Some((n(parts[1], "interval")?, n(parts[2], "quantity")?));
            }
            _ => {
                return Err(bad(format!(
                    "limit '{l}': expected LIMIT or LIMIT/INTERVAL/QUANTITY"
                )));
            }
        }
    }
    let affiliate = match (f.get(3), f.get(4)) {
        (Some(a), Some(fee)) if !a.trim().is_empty() => Some((a.trim().into(), fee.trim().into())),
        (Some(a), None) if !a.trim().is_empty() => Some((a.trim().into(), String::new())),
        _ => None,
    };
    Ok(Swap {
        asset,
        dest,
        refund,
        limit,
        streaming,
        affiliate,
    })
}

/// A limit: digits, optionally in scientific notation (`1e6`, `15e7`).
fn is_amount(s: &str) -> bool {
    let (m, e) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    !m.is_empty()
        && m.bytes().all(|b| b.is_ascii_digit())
        && e.is_none_or(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
}

/// Parse an asset field: short code, bare gas-asset chain, or `CHAIN.SYMBOL[-CONTRACT]`.
pub fn parse_asset(s: &str) -> Result<ThorAsset, String> {
    let s = s.trim();
    let full = SHORT_CODES
        .iter()
        .find(|(c, _)| *c == s)
        .map(|(_, a)| a.to_string())
        .unwrap_or_else(|| s.to_string());
    let up = full.to_ascii_uppercase();
    let (chain, rest, kind) = match up.find(['.', '/', '~']) {
        Some(i) => {
            let kind = match up.as_bytes()[i] {
                b'.' => AssetKind::Layer1,
                b'/' => AssetKind::Synth,
                _ => AssetKind::Trade,
            };
            (&up[..i], &up[i + 1..], kind)
        }
        None => match GAS_ASSETS.iter().find(|(c, _)| *c == up) {
            Some((c, sym)) => (*c, *sym, AssetKind::Layer1),
            None => return Err(format!("unknown asset '{s}'")),
        },
    };
    let ok = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric());
    let (symbol, contract) = match rest.split_once('-') {
        Some((sym, c)) => (sym, Some(c.to_string())),
        None => (rest, None),
    };
    if !ok(chain) || !ok(symbol) || contract.as_deref().is_some_and(|c| !ok(c)) {
        return Err(format!("malformed asset '{s}'"));
    }
    Ok(ThorAsset {
        chain: chain.to_string(),
        symbol: symbol.to_string(),
        contract,
        kind,
    })
}

/// The moneytrail chain of a THORChain chain code, for a destination written `dest`
/// (Bitcoin: the network its address encodes). `None` for chains moneytrail does not read.
pub fn chain_of(code: &str, dest: &str) -> Option<Chain> {
    match code {
        "BTC" => {
            let d = dest.trim().to_ascii_lowercase();
            let net = if d.starts_with("bcrt1") {
                BitcoinNetwork::Regtest
            } else if d.starts_with("tb1") || d.starts_with('m') || d.starts_with('n') {
                BitcoinNetwork::Testnet
            } else if d.starts_with('2') {
                // P2SH on testnet / regtest share the prefix; Address::parse decides
                BitcoinNetwork::Testnet
            } else {
                BitcoinNetwork::Mainnet
            };
            Some(Chain::Bitcoin(net))
        }
        "ETH" => Some(Chain::Evm(1)),
        "BSC" => Some(Chain::Evm(56)),
        "AVAX" => Some(Chain::Evm(43114)),
        "BASE" => Some(Chain::Evm(8453)),
        _ => None,
    }
}

impl Swap {
    /// The chain and validated address the swap pays out to. A THORName, a synth / trade
    /// target (held on THORChain) or a chain moneytrail does not read cannot be followed; a
    /// destination that is not a valid address on the named chain is an error naming it.
    pub fn destination(&self, memo: &str) -> Result<(Chain, Address), MemoError> {
        let code = &self.asset.chain;
        let unfollowable = |reason: &str| MemoError::Unfollowable {
            memo: memo.trim().to_string(),
            chain: code.clone(),
            reason: reason.to_string(),
        };
        if self.asset.kind != AssetKind::Layer1 {
            return Err(unfollowable("synthetic / trade asset held on THORChain"));
        }
        let chain = chain_of(code, &self.dest).ok_or_else(|| unfollowable("chain not read"))?;
        match Address::parse(chain, &self.dest) {
            Ok(a) => Ok((chain, a)),
            Err(e) => {
                // a short name without address shape is a THORName (resolved on THORChain)
                let looks_like_name = self.dest.len() <= 30
                    && !self.dest.starts_with("0x")
                    && self
                        .dest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if looks_like_name && self.dest.len() < 14 {
                    return Err(unfollowable("destination is a THORName"));
                }
                Err(MemoError::BadDestination {
                    memo: memo.trim().to_string(),
                    dest: self.dest.clone(),
                    chain: code.clone(),
                    reason: e.to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
