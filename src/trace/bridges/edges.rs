//! Cross-chain edges from decoded facts (pure): THORChain by memo, Ren by burn destination and
//! amount, and the amount/time fallback for bridges without either. Confidences and parameters
//! are those of docs/adr/0011-bridges.md.

use std::collections::{HashMap, HashSet};

use alloy_primitives::U256;
use serde_json::json;

use super::facts::{Facts, op_return_text};
use super::memo::{self, Memo};
use crate::model::{Address, AssetId, Chain, EventData, TxHash};

/// Confidence of a THORChain edge whose outbound (`OUT:<inbound>` / `REFUND:<inbound>`) is in
/// the data: the protocol names the inbound in the outbound, nothing is inferred.
pub const THOR_OUTBOUND_CONFIDENCE: f64 = 1.0;
/// Confidence of a THORChain edge known from the inbound memo only: the destination is stated,
/// but the swap may have been refunded (its outbound is not in the data).
pub const THOR_MEMO_ONLY_CONFIDENCE: f64 = 0.9;
/// Confidence of a Ren burn matched to exactly one Bitcoin payment (divided by the number of
/// candidate payments when several fit).
pub const REN_MATCH_CONFIDENCE: f64 = 0.95;
/// Confidence of a Ren burn whose release is not in the data: the burn names the destination.
pub const REN_UNMATCHED_CONFIDENCE: f64 = 0.9;
/// RenVM's documented burn fee (0.1 %), in basis points.
pub const REN_FEE_BPS: u64 = 10;
/// Allowance for the Bitcoin network fee RenVM deducts from a release, in sats.
pub const REN_NETWORK_FEE_MAX_SATS: u64 = 100_000;
/// How long after a burn its release may come.
pub const REN_WINDOW_SECS: i64 = 3 * 86_400;
/// Fallback: the largest relative shortfall of the outflow (bridge fees), in basis points.
pub const AMOUNT_TIME_TOLERANCE_BPS: u64 = 100;
/// Fallback: how long after the inbound the outflow may come.
pub const AMOUNT_TIME_WINDOW_SECS: i64 = 86_400;

/// One cross-chain edge: value that entered a bridge on one chain and where it left.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossChainEdge {
    /// Bridge (`thorchain`, `ren`, or the bridge label's entity).
    pub bridge: String,
    /// Chain of the inbound transaction.
    pub from_chain: Chain,
    /// The inbound transaction (deposit, burn).
    pub inbound_tx: TxHash,
    /// Who sent it, when known.
    pub sender: Option<Address>,
    /// Asset that entered the bridge; `None`: whatever the inbound tx paid the bridge (Ren).
    pub asset: Option<AssetId>,
    /// Amount that entered (base units of the source asset).
    pub amount: U256,
    /// Destination chain (None when it cannot be told).
    pub to_chain: Option<Chain>,
    /// Destination address (None when invalid or not followable).
    pub to_address: Option<Address>,
    /// The outbound transaction on `to_chain`, when it is in the data.
    pub outbound_tx: Option<TxHash>,
    /// Asset paid out on `to_chain`.
    pub outbound_asset: Option<AssetId>,
    /// Amount paid out (base units of the destination asset).
    pub outbound_amount: Option<U256>,
    /// Time of the outbound.
    pub outbound_time: Option<i64>,
    /// `thorchain_memo`, `ren_burn` or `bridge_amount_time`.
    pub heuristic: &'static str,
    /// 0–1.
    pub confidence: f64,
    /// The heuristic's parameters.
    pub parameters: serde_json::Value,
    /// What was measured.
    pub measured: serde_json::Value,
    /// Why the edge cannot be followed (bad destination, unfollowable chain, other action).
    pub problem: Option<String>,
}

struct Outbound {
    chain: Chain,
    tx: TxHash,
    to: Option<Address>,
    asset: AssetId,
    amount: U256,
    time: i64,
    refund: bool,
    memo: String,
}

struct Inbound {
    chain: Chain,
    tx: TxHash,
    sender: Option<Address>,
    asset: AssetId,
    amount: U256,
    memo: String,
}

fn evm_asset(a: alloy_primitives::Address) -> AssetId {
    if a.is_zero() {
        AssetId::Native
    } else {
        AssetId::Token(a)
    }
}

/// The THORChain edges of every inbound deposit in `facts` (router `Deposit` events, Bitcoin
/// transactions with a memo in an OP_RETURN output).
pub fn thorchain_edges(facts: &Facts) -> Vec<CrossChainEdge> {
    let mut inbound = Vec::new();
    let mut outbound: HashMap<TxHash, Vec<Outbound>> = HashMap::new();
    for e in &facts.events {
        match &e.data {
            EventData::ThorDeposit {
                asset,
                amount,
                memo,
                ..
            } => inbound.push(Inbound {
                chain: e.chain,
                tx: e.tx,
                sender: e.tx_from.clone(),
                asset: evm_asset(*asset),
                amount: *amount,
                memo: memo.clone(),
            }),
            EventData::ThorTransferOut {
                to,
                asset,
                amount,
                memo: m,
                ..
            } => {
                let (h, refund) = match memo::parse(m) {
                    Ok(Memo::Out(h)) => (h, false),
                    Ok(Memo::Refund(h)) => (h, true),
                    _ => continue,
                };
                outbound.entry(h).or_default().push(Outbound {
                    chain: e.chain,
                    tx: e.tx,
                    to: Some(Address::Evm(*to)),
                    asset: evm_asset(*asset),
                    amount: *amount,
                    time: e.time,
                    refund,
                    memo: m.clone(),
                });
            }
            _ => {}
        }
    }
    for (chain, tx) in &facts.btc {
        let Some(text) = tx
            .outputs
            .iter()
            .find_map(|o| op_return_text(&o.script_pubkey))
        else {
            continue;
        };
        // the first output with an address: the vault (inbound) or the recipient (outbound)
        let Some(paid) = tx.outputs.iter().find(|o| o.address.is_some()) else {
            continue;
        };
        match memo::parse(&text) {
            Ok(Memo::Out(h)) | Ok(Memo::Refund(h)) => {
                let refund = text.trim().to_ascii_uppercase().starts_with("REFUND");
                outbound.entry(h).or_default().push(Outbound {
                    chain: *chain,
                    tx: tx.txid,
                    to: paid.address.clone(),
                    asset: AssetId::Native,
                    amount: U256::from(paid.value),
                    time: tx.time,
                    refund,
                    memo: text.clone(),
                });
            }
            // swaps, other actions and text that does not parse: judged when taint entered
            // the bridge in this transaction
            _ => inbound.push(Inbound {
                chain: *chain,
                tx: tx.txid,
                sender: tx.inputs.first().and_then(|i| i.address.clone()),
                asset: AssetId::Native,
                amount: U256::from(paid.value),
                memo: text,
            }),
        }
    }
    let mut edges = Vec::new();
    for i in inbound {
        let base = CrossChainEdge {
            bridge: "thorchain".into(),
            from_chain: i.chain,
            inbound_tx: i.tx,
            sender: i.sender.clone(),
            asset: Some(i.asset),
            amount: i.amount,
            to_chain: None,
            to_address: None,
            outbound_tx: None,
            outbound_asset: None,
            outbound_amount: None,
            outbound_time: None,
            heuristic: "thorchain_memo",
            confidence: 0.0,
            parameters: json!({
                "outbound_memo_confidence": THOR_OUTBOUND_CONFIDENCE,
                "memo_only_confidence": THOR_MEMO_ONLY_CONFIDENCE,
            }),
            measured: json!({ "inbound_memo": i.memo }),
            problem: None,
        };
        let swap = match memo::parse(&i.memo) {
            Ok(Memo::Swap(s)) => s,
            Ok(Memo::Other(kind)) => {
                edges.push(CrossChainEdge {
                    problem: Some(format!("THORChain action '{kind}' is not followed")),
                    ..base
                });
                continue;
            }
            Ok(Memo::Out(_)) | Ok(Memo::Refund(_)) => continue,
            Err(e) => {
                edges.push(CrossChainEdge {
                    problem: Some(e.to_string()),
                    ..base
                });
                continue;
            }
        };
        let mut base = base;
        base.measured["target_asset"] = swap.asset.to_string().into();
        base.measured["memo_destination"] = swap.dest.clone().into();
        let dest = swap.destination(&i.memo);
        let outs = outbound.get(&i.tx).map(Vec::as_slice).unwrap_or_default();
        // outbound payments first; a refund only when nothing was paid out
        let paid: Vec<&Outbound> = outs.iter().filter(|o| !o.refund).collect();
        let chosen: Vec<&Outbound> = if paid.is_empty() {
            outs.iter().filter(|o| o.refund).collect()
        } else {
            paid
        };
        if chosen.is_empty() {
            match dest {
                Ok((chain, addr)) => edges.push(CrossChainEdge {
                    to_chain: Some(chain),
                    to_address: Some(addr),
                    confidence: THOR_MEMO_ONLY_CONFIDENCE,
                    ..base
                }),
                Err(e) => edges.push(CrossChainEdge {
                    to_chain: memo::chain_of(&swap.asset.chain, &swap.dest),
                    problem: Some(e.to_string()),
                    ..base
                }),
            }
            continue;
        }
        for o in chosen {
            let mut m = base.measured.clone();
            m["outbound_memo"] = o.memo.clone().into();
            m["refund"] = o.refund.into();
            if let Ok((_, a)) = &dest {
                m["destination_matches_memo"] = (o.to.as_ref() == Some(a) || o.refund).into();
            }
            edges.push(CrossChainEdge {
                to_chain: Some(o.chain),
                to_address: o.to.clone(),
                outbound_tx: Some(o.tx),
                outbound_asset: Some(o.asset),
                outbound_amount: Some(o.amount),
                outbound_time: Some(o.time),
                confidence: THOR_OUTBOUND_CONFIDENCE,
                measured: m,
                ..base.clone()
            });
        }
    }
    edges
}

/// The Ren edges of every `LogBurn` in `facts`: the Bitcoin payment to the burn's destination
/// of the burnt amount less at most the documented fee, within the window after the burn.
pub fn ren_edges(facts: &Facts) -> Vec<CrossChainEdge> {
    let mut used: HashSet<(TxHash, u32)> = HashSet::new();
    let mut edges = Vec::new();
    for e in &facts.events {
        let EventData::RenBurn { to, amount, n } = &e.data else {
            continue;
        };
        let fee = *amount * U256::from(REN_FEE_BPS) / U256::from(10_000u64);
        let min = amount.saturating_sub(fee + U256::from(REN_NETWORK_FEE_MAX_SATS));
        let mut edge = CrossChainEdge {
            bridge: "ren".into(),
            from_chain: e.chain,
            inbound_tx: e.tx,
            sender: e.tx_from.clone(),
            asset: None,
            amount: *amount,
            to_chain: None,
            to_address: None,
            outbound_tx: None,
            outbound_asset: None,
            outbound_amount: None,
            outbound_time: None,
            heuristic: "ren_burn",
            confidence: 0.0,
            parameters: json!({
                "fee_bps": REN_FEE_BPS,
                "network_fee_max_sats": REN_NETWORK_FEE_MAX_SATS,
                "window_secs": REN_WINDOW_SECS,
                "match_confidence": REN_MATCH_CONFIDENCE,
                "unmatched_confidence": REN_UNMATCHED_CONFIDENCE,
            }),
            measured: json!({
                "burn_destination": to,
                "burn_amount": amount.to_string(),
                "burn_n": n.to_string(),
                "min_release": min.to_string(),
            }),
            problem: None,
        };
        let dest = match Address::parse_any(to) {
            Ok((c, a)) if c.is_bitcoin() => (c, a),
            Ok((c, _)) => {
                edge.problem = Some(format!(
                    "Ren burn destination '{to}' is on {c}, not Bitcoin"
                ));
                edges.push(edge);
                continue;
            }
            Err(err) => {
                edge.problem = Some(format!("Ren burn destination: {err}"));
                edges.push(edge);
                continue;
            }
        };
        let mut candidates = Vec::new();
        for (chain, tx) in &facts.btc {
            if *chain != dest.0 || tx.time < e.time || tx.time > e.time + REN_WINDOW_SECS {
                continue;
            }
            for o in &tx.outputs {
                let v = U256::from(o.value);
                if o.address.as_ref() == Some(&dest.1) && v <= *amount && v >= min {
                    candidates.push((tx, o));
                }
            }
        }
        edge.to_chain = Some(dest.0);
        edge.to_address = Some(dest.1.clone());
        edge.measured["candidates"] = candidates.len().into();
        let pick = candidates
            .iter()
            .find(|(tx, o)| !used.contains(&(tx.txid, o.outpoint.vout)));
        match pick {
            Some((tx, o)) => {
                used.insert((tx.txid, o.outpoint.vout));
                edge.outbound_tx = Some(tx.txid);
                edge.outbound_asset = Some(AssetId::Native);
                edge.outbound_amount = Some(U256::from(o.value));
                edge.outbound_time = Some(tx.time);
                edge.measured["release_vout"] = o.outpoint.vout.into();
                edge.measured["fee_taken_sats"] =
                    (*amount - U256::from(o.value)).to_string().into();
                edge.measured["delay_secs"] = (tx.time - e.time).into();
                edge.confidence = round3(REN_MATCH_CONFIDENCE / candidates.len() as f64);
            }
            None => edge.confidence = REN_UNMATCHED_CONFIDENCE,
        }
        edges.push(edge);
    }
    edges
}

/// A tainted inflow into a bridge that no decoder explains, as the fallback matches it.
#[derive(Debug, Clone)]
pub struct BridgeInflow {
    /// Chain.
    pub chain: Chain,
    /// The inbound transaction.
    pub tx: TxHash,
    /// Sender.
    pub sender: Option<Address>,
    /// The bridge entity.
    pub entity: String,
    /// Asset.
    pub asset: AssetId,
    /// Its symbol and decimals.
    pub symbol: String,
    /// Decimals of the asset.
    pub decimals: u8,
    /// Amount that entered the bridge in the tx.
    pub amount: U256,
    /// Time.
    pub time: i64,
}

/// Symbols that name the same value on different chains (wrapped and bridged forms).
pub fn canonical_symbol(s: &str) -> String {
    let u = s.trim().to_ascii_uppercase();
    let u = u
        .trim_end_matches(".E")
        .trim_end_matches(".B")
        .trim_end_matches("-E")
        .to_string();
    match u.as_str() {
        "WETH" => "ETH".into(),
        "WBTC" | "RENBTC" | "BTCB" => "BTC".into(),
        "WBNB" => "BNB".into(),
        "WAVAX" => "AVAX".into(),
        "USDC.E" | "USDBC" => "USDC".into(),
        _ => u,
    }
}

/// Scale `v` of `decimals` to 18 decimals (exact for decimals ≤ 18).
fn to18(v: U256, decimals: u8) -> U256 {
    if decimals <= 18 {
        v * U256::from(10u8).pow(U256::from(18 - decimals))
    } else {
        v / U256::from(10u8).pow(U256::from(decimals - 18))
    }
}

/// The fallback for a bridge inflow without memo or event: outflows of an equivalent asset from
/// a bridge-labelled address on another chain, of the inflow's amount less at most
/// [`AMOUNT_TIME_TOLERANCE_BPS`], within [`AMOUNT_TIME_WINDOW_SECS`] after it. Confidence: 0.8
/// when the recipient is the sender's own address (the usual self-bridge), else 0.6, lowered
/// by up to half as the shortfall approaches the tolerance, divided by the number of candidates.
pub fn amount_time_edges(inflow: &BridgeInflow, facts: &Facts) -> Vec<CrossChainEdge> {
    let sym = canonical_symbol(&inflow.symbol);
    let a18 = to18(inflow.amount, inflow.decimals);
    let tol = a18 * U256::from(AMOUNT_TIME_TOLERANCE_BPS) / U256::from(10_000u64);
    let mut cands = Vec::new();
    for o in &facts.outflows {
        let t = &o.transfer;
        if t.chain == inflow.chain
            || t.time < inflow.time
            || t.time > inflow.time + AMOUNT_TIME_WINDOW_SECS
            || t.to.is_none()
            || canonical_symbol(&facts.symbol(t.chain, t.asset)) != sym
        {
            continue;
        }
        let o18 = to18(t.amount.0, facts.decimals(t.chain, t.asset));
        if o18 > a18 || a18 - o18 > tol {
            continue;
        }
        cands.push((o, a18 - o18));
    }
    let k = cands.len();
    cands
        .into_iter()
        .map(|(o, short)| {
            let t = &o.transfer;
            let same = match (&inflow.sender, &t.to) {
                (Some(s), Some(r)) => s.key() == r.key(),
                _ => false,
            };
            let base = if same { 0.8 } else { 0.6 };
            let frac = if tol.is_zero() {
                0.0
            } else {
                // shortfall / tolerance, a ratio of exact amounts shown as a float
                short.to_string().parse::<f64>().unwrap_or(0.0)
                    / tol.to_string().parse::<f64>().unwrap_or(1.0)
            };
            let conf = base * (1.0 - 0.5 * frac.min(1.0)) / k as f64;
            CrossChainEdge {
                bridge: o.entity.clone(),
                from_chain: inflow.chain,
                inbound_tx: inflow.tx,
                sender: inflow.sender.clone(),
                asset: Some(inflow.asset),
                amount: inflow.amount,
                to_chain: Some(t.chain),
                to_address: t.to.clone(),
                outbound_tx: Some(t.tx_hash),
                outbound_asset: Some(t.asset),
                outbound_amount: Some(t.amount.0),
                outbound_time: Some(t.time),
                heuristic: "bridge_amount_time",
                confidence: round3(conf),
                parameters: json!({
                    "tolerance_bps": AMOUNT_TIME_TOLERANCE_BPS,
                    "window_secs": AMOUNT_TIME_WINDOW_SECS,
                    "base_confidence_same_address": 0.8,
                    "base_confidence_other_address": 0.6,
                }),
                measured: json!({
                    "asset": sym,
                    "inbound_entity": inflow.entity,
                    "candidates": k,
                    "recipient_is_sender": same,
                    "shortfall_18_decimals": short.to_string(),
                    "delay_secs": t.time - inflow.time,
                }),
                problem: None,
            }
        })
        .collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
