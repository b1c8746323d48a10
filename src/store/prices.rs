//! Daily USD prices (table `prices`, schema v4): one close per (asset, UTC day), kept as the
//! exact decimal text it was imported as. Writes are upserts in one transaction.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, Store};

/// One daily close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyPrice {
    /// Upper-case symbol (`ETH`).
    pub asset: String,
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// USD per whole unit, decimal text exactly as imported (`"2719.09814453125"`).
    pub close_usd: String,
    /// Where it came from (`coinbase`, `yfinance`, `file:ETH-USD_1d.csv`).
    pub source: String,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PriceUpsert {
    /// (asset, day) pairs not stored before.
    pub new: usize,
    /// Pairs stored before with another close or source, now replaced.
    pub replaced: usize,
    /// Pairs stored before with the same close and source.
    pub unchanged: usize,
}

/// How many daily closes of one asset are stored, and over which days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceCoverage {
    /// Upper-case symbol.
    pub asset: String,
    /// Days stored.
    pub days: u64,
    /// First day stored.
    pub first: String,
    /// Last day stored.
    pub last: String,
    /// The distinct sources, comma-separated.
    pub sources: String,
}

impl Store {
    /// Insert or replace daily closes, all batches in one transaction: a re-import of the same
    /// rows changes nothing; a row for a stored (asset, day) replaces it. One count per batch.
    pub fn upsert_prices(&mut self, batches: &[&[DailyPrice]]) -> Result<Vec<PriceUpsert>> {
        let tx = self.conn.transaction()?;
        let mut all = Vec::with_capacity(batches.len());
        {
            let mut get = tx
                .prepare_cached("SELECT close_usd, source FROM prices WHERE asset=?1 AND day=?2")?;
            let mut put = tx.prepare_cached(
                "INSERT INTO prices (asset, day, close_usd, source) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (asset, day) DO UPDATE
                 SET close_usd = excluded.close_usd, source = excluded.source",
            )?;
            for rows in batches {
                let mut out = PriceUpsert::default();
                for r in *rows {
                    let old: Option<(String, String)> = get
                        .query_row(params![r.asset, r.day], |x| Ok((x.get(0)?, x.get(1)?)))
                        .optional()?;
                    match old {
                        None => out.new += 1,
                        Some((c, s)) if c == r.close_usd && s == r.source => {
                            out.unchanged += 1;
                            continue;
                        }
                        Some(_) => out.replaced += 1,
                    }
                    put.execute(params![r.asset, r.day, r.close_usd, r.source])?;
                }
                all.push(out);
            }
        }
        tx.commit()?;
        Ok(all)
    }

    /// Every stored daily close, by asset then day.
    pub fn daily_prices(&self) -> Result<Vec<DailyPrice>> {
        let mut st = self
            .conn
            .prepare("SELECT asset, day, close_usd, source FROM prices ORDER BY asset, day")?;
        let rows = st.query_map([], |r| {
            Ok(DailyPrice {
                asset: r.get(0)?,
                day: r.get(1)?,
                close_usd: r.get(2)?,
                source: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The stored close of `asset` (upper-case) on `day` (`YYYY-MM-DD`), if any.
    pub fn daily_price(&self, asset: &str, day: &str) -> Result<Option<DailyPrice>> {
        Ok(self
            .conn
            .query_row(
                "SELECT asset, day, close_usd, source FROM prices WHERE asset=?1 AND day=?2",
                params![asset, day],
                |r| {
                    Ok(DailyPrice {
                        asset: r.get(0)?,
                        day: r.get(1)?,
                        close_usd: r.get(2)?,
                        source: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Days stored for `asset` (upper-case), or `None` if it has none.
    pub fn price_coverage(&self, asset: &str) -> Result<Option<PriceCoverage>> {
        let (days, first, last, sources): (u64, Option<String>, Option<String>, Option<String>) =
            self.conn.query_row(
                "SELECT COUNT(*), MIN(day), MAX(day), GROUP_CONCAT(DISTINCT source)
                 FROM prices WHERE asset = ?1",
                [asset],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        Ok(match (first, last) {
            (Some(first), Some(last)) if days > 0 => Some(PriceCoverage {
                asset: asset.to_string(),
                days,
                first,
                last,
                sources: sources.unwrap_or_default(),
            }),
            _ => None,
        })
    }
}
