//! The registry of trace runs (schema v5): what each `trace` found, per incident, for `totals`.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError};

/// One row of a run: injected taint or an endpoint category, per entity and asset.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// `injected`, or an endpoint category (exchange, mixer, bridge, …, unspent, fee, unknown).
    pub kind: String,
    /// Entity (exchange / mixer / bridge name; empty when none).
    pub entity: String,
    /// Asset symbol (the key of summary.json).
    pub asset: String,
    /// Token contract (empty for the native asset).
    pub contract: String,
    /// Decimals of the asset.
    pub decimals: u8,
    /// Exact amount, decimal text in the asset's units.
    pub amount: String,
    /// USD as priced by the run; None when some part had no price.
    pub usd: Option<f64>,
}

/// A recorded trace run.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRun {
    /// Row id (0 before it is recorded).
    pub id: i64,
    /// Catalogued incident, if the run traced one.
    pub incident: Option<String>,
    /// Chain name.
    pub chain: String,
    /// Model name.
    pub model: String,
    /// When it ran (RFC 3339, UTC).
    pub created_at: String,
    /// Its output directory.
    pub out_dir: String,
    /// Seed addresses.
    pub seeds: Vec<String>,
    /// Conservation held.
    pub conservation_ok: bool,
    /// Simulated data (`demo`).
    pub simulated: bool,
    /// First and last transfer time of the data (Unix seconds).
    pub first_time: Option<i64>,
    /// Last transfer time.
    pub last_time: Option<i64>,
    /// JSON array of the prices used.
    pub prices: String,
    /// Its rows.
    pub rows: Vec<RunRow>,
}

impl Store {
    /// Record a run and its rows in one transaction; returns its id.
    pub fn record_trace_run(&mut self, run: &TraceRun) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO trace_runs (incident, chain, model, created_at, out_dir, seeds,
                conservation_ok, simulated, first_time, last_time, prices)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                run.incident,
                run.chain,
                run.model,
                run.created_at,
                run.out_dir,
                serde_json::to_string(&run.seeds).unwrap_or_else(|_| "[]".into()),
                run.conservation_ok,
                run.simulated,
                run.first_time,
                run.last_time,
                run.prices,
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut st = tx.prepare(
                "INSERT INTO trace_run_rows (run, kind, entity, asset, contract, decimals, amount, usd)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in &run.rows {
                st.execute(params![
                    id, r.kind, r.entity, r.asset, r.contract, r.decimals, r.amount, r.usd
                ])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// The newest run of every (incident, chain) traced with `model`, incidents only, with rows;
    /// ordered by incident and chain.
    pub fn latest_incident_runs(&self, model: &str) -> Result<Vec<TraceRun>> {
        let mut st = self.conn.prepare(
            "SELECT id FROM trace_runs t WHERE incident IS NOT NULL AND model = ?1
               AND id = (SELECT max(id) FROM trace_runs u
                         WHERE u.incident = t.incident AND u.chain = t.chain AND u.model = t.model)
             ORDER BY incident, chain",
        )?;
        let ids: Vec<i64> = st
            .query_map([model], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter()
            .map(|id| {
                self.trace_run(id)?.ok_or(StoreError::Corrupt {
                    table: "trace_runs",
                    detail: format!("run {id} vanished"),
                })
            })
            .collect()
    }

    /// One run with its rows.
    pub fn trace_run(&self, id: i64) -> Result<Option<TraceRun>> {
        let head = self
            .conn
            .query_row(
                "SELECT id, incident, chain, model, created_at, out_dir, seeds, conservation_ok,
                        simulated, first_time, last_time, prices
                 FROM trace_runs WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, bool>(7)?,
                        r.get::<_, bool>(8)?,
                        r.get::<_, Option<i64>>(9)?,
                        r.get::<_, Option<i64>>(10)?,
                        r.get::<_, String>(11)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, incident, chain, model, created_at, out_dir, seeds, ok, sim, ft, lt, prices)) =
            head
        else {
            return Ok(None);
        };
        let seeds: Vec<String> = serde_json::from_str(&seeds).map_err(|e| StoreError::Corrupt {
            table: "trace_runs",
            detail: format!("run {id}: seeds: {e}"),
        })?;
        let mut st = self.conn.prepare(
            "SELECT kind, entity, asset, contract, decimals, amount, usd FROM trace_run_rows
             WHERE run = ?1 ORDER BY kind, entity, asset, contract",
        )?;
        let rows = st
            .query_map([id], |r| {
                Ok(RunRow {
                    kind: r.get(0)?,
                    entity: r.get(1)?,
                    asset: r.get(2)?,
                    contract: r.get(3)?,
                    decimals: r.get(4)?,
                    amount: r.get(5)?,
                    usd: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if let Some(bad) = rows
            .iter()
            .find(|r| crate::model::Amount::parse_decimal(&r.amount, r.decimals).is_err())
        {
            return Err(StoreError::Corrupt {
                table: "trace_run_rows",
                detail: format!(
                    "run {id}: amount '{}' of {} {}",
                    bad.amount, bad.kind, bad.asset
                ),
            });
        }
        Ok(Some(TraceRun {
            id,
            incident,
            chain,
            model,
            created_at,
            out_dir,
            seeds,
            conservation_ok: ok,
            simulated: sim,
            first_time: ft,
            last_time: lt,
            prices,
            rows,
        }))
    }
}
