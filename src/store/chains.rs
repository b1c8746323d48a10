//! Which chains the store holds data of (one database holds many chains; the cross-chain
//! continuation of a trace asks whether the destination chain is there).

use std::str::FromStr;

use super::{Result, Store, StoreError};
use crate::model::Chain;

impl Store {
    /// The chains with transfers stored, in their canonical order.
    pub fn chains(&self) -> Result<Vec<Chain>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT DISTINCT chain FROM transfers")?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<std::result::Result<Vec<String>, _>>()?;
        let mut out = names
            .iter()
            .map(|n| {
                Chain::from_str(n).map_err(|e| StoreError::Corrupt {
                    table: "transfers",
                    detail: e.to_string(),
                })
            })
            .collect::<Result<Vec<Chain>>>()?;
        out.sort();
        Ok(out)
    }
}
