//! Published estimates of DPRK theft: `graphs/estimates.csv`.

use serde::{Deserialize, Serialize};

/// One published estimate. USD figures are whole dollars as published; `low`/`high`/`point`
/// are each optional (a source may give only "over $X" or "up to $Y").
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Estimate {
    /// Slug.
    pub id: String,
    /// The publication.
    pub source: String,
    /// Who published it.
    pub publisher: String,
    /// When (YYYY, YYYY-MM or YYYY-MM-DD).
    pub published_date: String,
    /// Start of the period covered (YYYY-MM-DD), empty when not a period figure.
    pub period_start: String,
    /// End of the period covered.
    pub period_end: String,
    /// What is counted.
    pub scope: String,
    /// `theft`, `laundering` or `other`.
    pub kind: String,
    /// Low end, USD.
    pub low_usd: Option<u64>,
    /// High end, USD.
    pub high_usd: Option<u64>,
    /// Point figure, USD.
    pub point_usd: Option<u64>,
    /// Note (quotes, caveats).
    pub note: String,
    /// URL.
    pub url: String,
}

impl Estimate {
    /// (first year, last year) of the period, if it has one.
    pub fn years(&self) -> Option<(i32, i32)> {
        let y = |s: &str| s.get(..4).and_then(|y| y.parse::<i32>().ok());
        Some((y(&self.period_start)?, y(&self.period_end)?))
    }

    /// The period is exactly one calendar year (or part of it) and that year is `year`.
    pub fn is_for_year(&self, year: i32) -> bool {
        self.years() == Some((year, year))
    }

    /// The period overlaps `year` (cumulative multi-year figures included).
    pub fn covers_year(&self, year: i32) -> bool {
        matches!(self.years(), Some((a, b)) if a <= year && year <= b)
    }

    /// "$600M–$1B", "$1.29B", ">$700M", "≤$1.7B".
    pub fn range_text(&self) -> String {
        match (self.low_usd, self.high_usd, self.point_usd) {
            (Some(l), Some(h), _) => format!("{}–{}", usd_short(l), usd_short(h)),
            (_, _, Some(p)) => usd_short(p),
            (Some(l), None, None) => format!(">{}", usd_short(l)),
            (None, Some(h), None) => format!("≤{}", usd_short(h)),
            (None, None, None) => "—".into(),
        }
    }
}

/// Compact USD: $1.29B, $630M, $5.3M, $850k.
pub fn usd_short(v: u64) -> String {
    let (div, unit) = if v >= 1_000_000_000 {
        (1e9, "B")
    } else if v >= 1_000_000 {
        (1e6, "M")
    } else if v >= 1_000 {
        (1e3, "k")
    } else {
        return format!("${v}");
    };
    let x = v as f64 / div;
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("${s}{unit}")
}

/// Parse the estimates CSV; the error names the line.
pub fn parse(text: &str) -> Result<Vec<Estimate>, String> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in r.deserialize::<Estimate>().enumerate() {
        let e = rec.map_err(|e| format!("line {}: {e}", i + 2))?;
        if !matches!(e.kind.as_str(), "theft" | "laundering" | "other") {
            return Err(format!("line {}: invalid kind '{}'", i + 2, e.kind));
        }
        out.push(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_usd() {
        assert_eq!(usd_short(1_290_000_000), "$1.29B");
        assert_eq!(usd_short(630_000_000), "$630M");
        assert_eq!(usd_short(1_000_000_000), "$1B");
        assert_eq!(usd_short(5_300_000), "$5.3M");
        assert_eq!(usd_short(999), "$999");
    }
}
