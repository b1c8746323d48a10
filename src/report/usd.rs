//! USD figures of a trace. Every tainted amount is valued at the price of the UTC day it
//! arrived where it ended (an exchange deposit, a mixer pool, a fee); taint still resting at the
//! end has no arrival of its own and is valued on the day of its last tainted arrival; injected
//! taint on the day it entered a seed (opening balances: the first day of the trace's data).
//! Each figure says which prices it used ([`PriceUse`]); a figure with any unpriced part is
//! `None`, never a partial sum.

use std::collections::BTreeMap;

use alloy_primitives::U256;
use serde::Serialize;

use crate::knowledge::prices::{PriceBook, PriceKind};
use crate::trace::engine::ByDay;
use crate::trace::{CATEGORIES, TraceResult};

/// Which prices went into a trace's USD figures, per (asset, kind, source).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceUse {
    /// The asset key of summary.json.
    pub asset: String,
    /// The symbol whose price was used (ETH for WETH).
    pub priced_as: String,
    /// daily, monthly, stablecoin or published.
    pub kind: PriceKind,
    /// Where the prices came from.
    pub source: String,
    /// Amounts valued with it (one per endpoint and arrival day).
    pub days: usize,
    /// First and last day (YYYY-MM-DD) priced.
    pub first: String,
    /// Last day priced.
    pub last: String,
}

/// USD of one asset of a trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AssetUsd {
    /// Injected taint in USD (None: some day has no price).
    pub injected: Option<f64>,
    /// Per category (all of [`CATEGORIES`]); None where some part has no price.
    pub by_category: BTreeMap<&'static str, Option<f64>>,
    /// Days with an amount but no price.
    pub unpriced_days: usize,
}

/// The USD figures of a trace.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Valuation {
    /// Per endpoint, in the order of [`TraceResult::endpoints`].
    pub endpoints: Vec<Option<f64>>,
    /// Per asset, in the order of [`TraceResult::assets`].
    pub assets: Vec<AssetUsd>,
    /// The prices used.
    pub prices: Vec<PriceUse>,
}

/// (asset index, priced as, kind, source) → (amounts valued, first day, last day).
type Uses = BTreeMap<(usize, String, PriceKind, String), (usize, String, String)>;

#[derive(Default)]
struct Acc {
    uses: Uses,
    unpriced: Vec<usize>,
}

impl Acc {
    /// USD of `by_day` plus `total − Σ by_day` valued at `rest_time`.
    fn value(
        &mut self,
        r: &TraceResult,
        book: &PriceBook,
        asset: usize,
        total: U256,
        by_day: &ByDay,
        rest_time: Option<i64>,
    ) -> Option<f64> {
        let a = &r.assets[asset].asset;
        let dated: U256 = by_day.iter().map(|(_, v)| *v).sum();
        let rest = total.saturating_sub(dated);
        let mut parts: Vec<(i64, U256)> = by_day
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(d, v)| (*d as i64 * 86_400, *v))
            .collect();
        if !rest.is_zero() {
            parts.push((rest_time?, rest));
        }
        let mut sum = 0.0;
        let mut ok = true;
        for (t, v) in parts {
            match book.usd(&a.symbol, a.decimals, v, t) {
                Some((usd, p)) => {
                    sum += usd;
                    let e = self
                        .uses
                        .entry((asset, p.priced_as.clone(), p.kind, p.source.clone()))
                        .or_insert((0, p.date.clone(), p.date.clone()));
                    e.0 += 1;
                    if p.date < e.1 {
                        e.1 = p.date.clone();
                    }
                    if p.date > e.2 {
                        e.2 = p.date;
                    }
                }
                None => {
                    ok = false;
                    self.unpriced.push(asset);
                }
            }
        }
        ok.then_some(sum)
    }
}

/// Value a trace's endpoints and injected taint with `book`.
pub fn value(r: &TraceResult, book: &PriceBook) -> Valuation {
    let mut acc = Acc::default();
    let first_time = r.graph.flows.iter().map(|f| f.time).min();
    let last_time = r.graph.flows.iter().map(|f| f.time).max();
    let endpoints: Vec<Option<f64>> = r
        .endpoints
        .iter()
        .map(|e| {
            let rest_time = e.last_time.or(last_time);
            acc.value(r, book, e.asset, e.amount, &e.by_day, rest_time)
        })
        .collect();
    let mut assets: Vec<AssetUsd> = Vec::with_capacity(r.assets.len());
    for (i, a) in r.assets.iter().enumerate() {
        let injected = acc.value(r, book, i, a.injected, &a.injected_by_day, first_time);
        let mut by_category: BTreeMap<&'static str, Option<f64>> =
            CATEGORIES.iter().map(|c| (*c, Some(0.0))).collect();
        for (e, usd) in r.endpoints.iter().zip(&endpoints) {
            if e.asset != i {
                continue;
            }
            let cat = CATEGORIES
                .iter()
                .find(|c| **c == e.category)
                .copied()
                .unwrap_or("unknown");
            let slot = by_category.entry(cat).or_insert(Some(0.0));
            *slot = match (*slot, usd) {
                (Some(s), Some(u)) => Some(s + u),
                _ => None,
            };
        }
        assets.push(AssetUsd {
            injected,
            by_category,
            unpriced_days: acc.unpriced.iter().filter(|x| **x == i).count(),
        });
    }
    let prices = acc
        .uses
        .into_iter()
        .map(
            |((asset, priced_as, kind, source), (days, first, last))| PriceUse {
                asset: r.assets[asset].key.clone(),
                priced_as,
                kind,
                source,
                days,
                first,
                last,
            },
        )
        .collect();
    Valuation {
        endpoints,
        assets,
        prices,
    }
}

/// A USD figure as text with cents ("1234.50"), empty when unknown.
pub fn usd_text(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_default()
}
