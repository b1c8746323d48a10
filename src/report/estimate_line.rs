//! [`EstimateLine`]: one published estimate beside what was traced, the input of the report's
//! totals-vs-estimates table (built by the totals code).

use serde::Serialize;

/// One published estimate set beside what was traced (built by the totals code).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EstimateLine {
    /// Year the estimate covers.
    pub year: i32,
    /// Estimate id (graphs/estimates.csv).
    pub estimate_id: String,
    /// Source (report, statement).
    pub source: String,
    /// Publisher.
    pub publisher: String,
    /// Low end of the range, USD.
    pub low_usd: Option<f64>,
    /// High end of the range, USD.
    pub high_usd: Option<f64>,
    /// Point estimate, USD.
    pub point_usd: Option<f64>,
    /// What the traces account for, USD.
    pub traced_usd: f64,
    /// traced / estimate (point, else the range's middle).
    pub ratio: Option<f64>,
    /// Traced inside [low, high].
    pub inside_range: Option<bool>,
    /// Where the estimate was published (shown as text, never fetched or linked).
    pub url: String,
}

/// The column headers of the totals-vs-estimates table, in the order of [`EstimateLine::cells`].
pub const HEADERS: [&str; 10] = [
    "year",
    "publisher",
    "source",
    "low",
    "high",
    "point",
    "traced",
    "ratio",
    "inside range",
    "where published",
];

impl EstimateLine {
    /// The row's cells as plain (unescaped) text, in the order of [`HEADERS`]; each renderer
    /// escapes them for its own format.
    pub fn cells(&self) -> [String; 10] {
        let usd = |v: Option<f64>| v.map(super::html::fmt_usd).unwrap_or_else(|| "—".into());
        [
            self.year.to_string(),
            self.publisher.clone(),
            self.source.clone(),
            usd(self.low_usd),
            usd(self.high_usd),
            usd(self.point_usd),
            super::html::fmt_usd(self.traced_usd),
            self.ratio
                .map(|r| format!("{r:.2}×"))
                .unwrap_or_else(|| "—".into()),
            match self.inside_range {
                Some(true) => "yes",
                Some(false) => "no",
                None => "—",
            }
            .to_string(),
            self.url.clone(),
        ]
    }
}
