//! Decoded contract events (table `contract_events`, schema v6): written by the fetchers,
//! read by the trace (demixing, bridges).

use rusqlite::params;

use super::writer::Writer;
use super::{Result, Store, StoreError};
use crate::model::{Address, Chain, ContractEvent, EventData, TxHash};

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "contract_events",
        detail,
    }
}

impl Writer<'_> {
    /// Insert one event; `false` when (chain, tx, log index) was already stored.
    pub fn insert_event(&mut self, e: &ContractEvent) -> Result<bool> {
        let data = serde_json::to_string(&e.data).map_err(|x| corrupt(x.to_string()))?;
        let n = self.tx().execute(
            "INSERT INTO contract_events(chain, tx_hash, log_index, contract, block, tx_index,
                 time, tx_from, gas_price, kind, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT DO NOTHING",
            params![
                e.chain.to_string(),
                e.tx.0.as_slice(),
                e.log_index,
                e.contract.key(),
                e.block as i64,
                e.tx_index,
                e.time,
                e.tx_from.as_ref().map(|a| a.key()),
                e.gas_price.map(|g| g.to_string()),
                e.data.kind(),
                data,
            ],
        )?;
        Ok(n == 1)
    }
}

impl Store {
    /// The events emitted by `contracts` on `chain` (all contracts when empty), in chain order
    /// (block, tx index, log index).
    pub fn events(&self, chain: Chain, contracts: &[Address]) -> Result<Vec<ContractEvent>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT tx_hash, log_index, contract, block, tx_index, time, tx_from, gas_price, data
               FROM contract_events WHERE chain = ?1 ORDER BY block, tx_index, log_index",
        )?;
        let keys: std::collections::HashSet<String> = contracts.iter().map(|a| a.key()).collect();
        type Raw = (
            Vec<u8>,
            u32,
            String,
            i64,
            u32,
            i64,
            Option<String>,
            Option<String>,
            String,
        );
        let rows = stmt.query_map(params![chain.to_string()], |r| {
            Ok::<Raw, rusqlite::Error>((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (tx, log_index, contract, block, tx_index, time, from, gas, data) = row?;
            if !keys.is_empty() && !keys.contains(&contract) {
                continue;
            }
            let tx = <[u8; 32]>::try_from(tx.as_slice())
                .map(|b| TxHash(b.into()))
                .map_err(|_| corrupt(format!("tx hash of {} bytes", tx.len())))?;
            let addr = |k: &str| Address::parse(chain, k).map_err(|e| corrupt(e.to_string()));
            let data: EventData = serde_json::from_str(&data)
                .map_err(|e| corrupt(format!("event data '{data}': {e}")))?;
            out.push(ContractEvent {
                chain,
                contract: addr(&contract)?,
                tx,
                log_index,
                block: block as u64,
                tx_index,
                time,
                tx_from: from.as_deref().map(addr).transpose()?,
                gas_price: gas
                    .map(|g| {
                        g.parse()
                            .map_err(|_| corrupt(format!("gas price '{g}' is not an integer")))
                    })
                    .transpose()?,
                data,
            });
        }
        Ok(out)
    }
}
