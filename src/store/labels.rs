//! The read side for labels.

use rusqlite::{Row, params};

use super::{Result, Store, StoreError};
use crate::model::{Address, Category, Chain, Label};

const SELECT_LABEL: &str = "SELECT chain, address, label, category, actor, abuse, source,
        confidence, context, origin FROM labels";

type RawLabel = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    u8,
    Option<String>,
    String,
);

fn raw(r: &Row<'_>) -> rusqlite::Result<RawLabel> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn convert(r: RawLabel) -> Result<(Label, String)> {
    let corrupt = |detail: String| StoreError::Corrupt {
        table: "labels",
        detail,
    };
    let (chain, address, label, category, actor, abuse, source, confidence, context, origin) = r;
    let chain: Chain = chain
        .parse()
        .map_err(|e: crate::model::ChainError| corrupt(e.to_string()))?;
    let address = Address::parse(chain, &address).map_err(|e| corrupt(e.to_string()))?;
    let category: Category = category
        .parse()
        .map_err(|e: crate::model::CategoryError| corrupt(e.to_string()))?;
    Ok((
        Label {
            chain,
            address,
            label,
            category,
            actor,
            abuse,
            source,
            confidence,
            context,
        },
        origin,
    ))
}

impl Store {
    /// Every label of an address key (on any chain that shares the key: an EVM address has
    /// the same key on every EVM chain), with the origin it was imported from.
    pub fn labels_of(&self, address: &Address) -> Result<Vec<(Label, String)>> {
        let mut stmt = self.conn().prepare(&format!(
            "{SELECT_LABEL} WHERE address = ?1 ORDER BY confidence DESC, category, label, origin"
        ))?;
        let rows = stmt
            .query_map(params![address.key()], raw)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(convert).collect()
    }

    /// Every label, ordered by chain, address, category.
    pub fn all_labels(&self) -> Result<Vec<(Label, String)>> {
        let mut stmt = self.conn().prepare(&format!(
            "{SELECT_LABEL} ORDER BY chain, address, category, label, origin"
        ))?;
        let rows = stmt
            .query_map([], raw)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(convert).collect()
    }

    /// Number of labels, in total and per origin.
    pub fn label_counts(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT origin, COUNT(*) FROM labels GROUP BY origin ORDER BY origin")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
