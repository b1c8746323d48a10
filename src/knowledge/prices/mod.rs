//! USD prices. PLACEHOLDER on the `totals` branch: the real module (daily store table, embedded
//! monthly table, import, fetch) comes from the `prices` branch; only the interface is here.

use alloy_primitives::U256;

/// How a USD figure was priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceKind {
    /// The daily close of that day.
    Daily,
    /// The monthly average of that month.
    Monthly,
    /// A stablecoin at 1.0.
    Stablecoin,
    /// A published figure.
    Published,
}

/// One price used for a USD figure.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Price {
    /// USD per whole unit.
    pub usd: f64,
    /// Kind.
    pub kind: PriceKind,
    /// Source.
    pub source: String,
    /// Day or month priced.
    pub date: String,
    /// Symbol whose price was used.
    pub priced_as: String,
}

/// Prices.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {}

impl PriceBook {
    /// Embedded only.
    pub fn embedded() -> PriceBook {
        PriceBook {}
    }
    /// From the store.
    pub fn from_store(_store: &crate::store::Store) -> Result<PriceBook, crate::store::StoreError> {
        Ok(PriceBook {})
    }
    /// Price of one unit.
    pub fn price(&self, symbol: &str, time: i64) -> Option<Price> {
        let s = symbol.to_ascii_uppercase();
        matches!(s.as_str(), "USDC" | "USDT" | "DAI").then(|| Price {
            usd: 1.0,
            kind: PriceKind::Stablecoin,
            source: "stablecoin".into(),
            date: chrono::DateTime::from_timestamp(time, 0)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            priced_as: s,
        })
    }
    /// USD value of an amount.
    pub fn usd(&self, symbol: &str, decimals: u8, amount: U256, time: i64) -> Option<(f64, Price)> {
        let p = self.price(symbol, time)?;
        let units: f64 = crate::model::Amount(amount)
            .to_decimal(decimals)
            .parse()
            .ok()?;
        Some((units * p.usd, p))
    }
}
