//! The read side for transfers, assets and checkpoints.

use rusqlite::{OptionalExtension, Row, params};

use super::writer::Checkpoint;
use super::{Result, Store, StoreError};
use crate::model::{Address, Amount, Asset, AssetId, Chain, SubIndex, Transfer, TxHash};

const SELECT_TRANSFER: &str = "SELECT t.chain, t.tx_hash, t.sub_class, t.sub_key, t.block,
        t.tx_index, t.time, fa.addr, ta.addr, t.asset, t.amount
   FROM transfers t
   LEFT JOIN addresses fa ON fa.id = t.from_id
   LEFT JOIN addresses ta ON ta.id = t.to_id";

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "transfers",
        detail,
    }
}

fn parse_addr(chain: Chain, key: Option<String>) -> Result<Option<Address>> {
    key.map(|k| Address::parse(chain, &k).map_err(|e| corrupt(e.to_string())))
        .transpose()
}

/// Raw columns of one transfer row, converted outside the rusqlite closure so that parse
/// errors become [`StoreError::Corrupt`] instead of being lost.
type RawRow = (
    String,
    Vec<u8>,
    u8,
    String,
    i64,
    u32,
    i64,
    Option<String>,
    Option<String>,
    String,
    Vec<u8>,
);

fn raw(r: &Row<'_>) -> rusqlite::Result<RawRow> {
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
        r.get(10)?,
    ))
}

fn convert(r: RawRow) -> Result<Transfer> {
    let (chain, hash, class, key, block, tx_index, time, from, to, asset, amount) = r;
    let chain: Chain = chain
        .parse()
        .map_err(|e: crate::model::ChainError| corrupt(e.to_string()))?;
    if hash.len() != 32 {
        return Err(corrupt(format!("tx hash of {} bytes", hash.len())));
    }
    Ok(Transfer {
        chain,
        tx_hash: TxHash(alloy_primitives::B256::from_slice(&hash)),
        sub: SubIndex::from_parts(class, &key).map_err(|e| corrupt(e.to_string()))?,
        block: block as u64,
        tx_index,
        time,
        from: parse_addr(chain, from)?,
        to: parse_addr(chain, to)?,
        asset: AssetId::from_key(&asset).map_err(|e| corrupt(e.to_string()))?,
        amount: Amount::from_be_slice(&amount)
            .ok_or_else(|| corrupt(format!("amount of {} bytes", amount.len())))?,
    })
}

impl Store {
    /// Number of stored transfers.
    pub fn count_transfers(&self) -> Result<u64> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM transfers", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Every transfer on `chain`, in replay order (block, tx index, sub-index).
    pub fn transfers(&self, chain: Chain) -> Result<Vec<Transfer>> {
        let mut stmt = self
            .conn()
            .prepare(&format!("{SELECT_TRANSFER} WHERE t.chain = ?1"))?;
        let rows = stmt
            .query_map([chain.to_string()], raw)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = rows.into_iter().map(convert).collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.time_order(b));
        Ok(out)
    }

    /// Transfers on `chain` from or to `address`, in replay order.
    pub fn transfers_of(&self, chain: Chain, address: &Address) -> Result<Vec<Transfer>> {
        let id: Option<i64> = self
            .conn()
            .query_row(
                "SELECT id FROM addresses WHERE chain = ?1 AND addr = ?2",
                params![chain.to_string(), address.key()],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else { return Ok(Vec::new()) };
        let mut stmt = self.conn().prepare(&format!(
            "{SELECT_TRANSFER} WHERE t.from_id = ?1 UNION ALL
             {SELECT_TRANSFER} WHERE t.to_id = ?1 AND (t.from_id IS NULL OR t.from_id <> ?1)"
        ))?;
        let rows = stmt
            .query_map([id], raw)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = rows.into_iter().map(convert).collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.time_order(b));
        Ok(out)
    }

    /// Where a stored transaction is: (block, index in the block, block time) of any of its
    /// transfers; `None` when no transfer of it is stored.
    pub fn tx_position(&self, chain: Chain, tx: &TxHash) -> Result<Option<(u64, u32, i64)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT block, tx_index, time FROM transfers WHERE chain = ?1 AND tx_hash = ?2
                 LIMIT 1",
                params![chain.to_string(), tx.0.as_slice()],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// Metadata of an asset, if recorded. Native assets fall back to the chain's defaults.
    pub fn asset(&self, chain: Chain, id: AssetId) -> Result<Option<Asset>> {
        let row: Option<(String, u8)> = self
            .conn()
            .query_row(
                "SELECT symbol, decimals FROM assets WHERE chain = ?1 AND asset = ?2",
                params![chain.to_string(), id.key()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((symbol, decimals)) => Some(Asset {
                chain,
                id,
                symbol,
                decimals,
            }),
            None if id == AssetId::Native => Some(Asset::native(chain)),
            None => None,
        })
    }

    /// The recorded balance of `address` in `asset` at the end of `block`, if any.
    pub fn balance_at(
        &self,
        chain: Chain,
        address: &Address,
        asset: AssetId,
        block: u64,
    ) -> Result<Option<Amount>> {
        let v: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT b.amount FROM balances b JOIN addresses a ON a.id = b.address_id
                 WHERE b.chain = ?1 AND a.addr = ?2 AND b.asset = ?3 AND b.block = ?4",
                params![chain.to_string(), address.key(), asset.key(), block as i64],
                |r| r.get(0),
            )
            .optional()?;
        v.map(|b| {
            Amount::from_be_slice(&b).ok_or_else(|| StoreError::Corrupt {
                table: "balances",
                detail: format!("amount of {} bytes", b.len()),
            })
        })
        .transpose()
    }

    /// Every balance recorded at the end of `block` on `chain`: (address, asset, amount).
    pub fn balances_at(&self, chain: Chain, block: u64) -> Result<Vec<(Address, AssetId, Amount)>> {
        let mut stmt = self.conn().prepare(
            "SELECT a.addr, b.asset, b.amount FROM balances b JOIN addresses a ON a.id = b.address_id
             WHERE b.chain = ?1 AND b.block = ?2 ORDER BY a.addr, b.asset",
        )?;
        let rows = stmt
            .query_map(params![chain.to_string(), block as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let corrupt = |detail: String| StoreError::Corrupt {
            table: "balances",
            detail,
        };
        rows.into_iter()
            .map(|(a, asset, amt)| {
                Ok((
                    Address::parse(chain, &a).map_err(|e| corrupt(e.to_string()))?,
                    AssetId::from_key(&asset).map_err(|e| corrupt(e.to_string()))?,
                    Amount::from_be_slice(&amt)
                        .ok_or_else(|| corrupt(format!("amount of {} bytes", amt.len())))?,
                ))
            })
            .collect()
    }

    /// Checkpoints recorded for (source, chain, address, kind), by range start.
    pub fn checkpoints(
        &self,
        source: &str,
        chain: Chain,
        address: &str,
        kind: &str,
    ) -> Result<Vec<Checkpoint>> {
        let mut stmt = self.conn().prepare(
            "SELECT from_block, to_block, cursor, complete FROM checkpoints
             WHERE source = ?1 AND chain = ?2 AND address = ?3 AND kind = ?4
             ORDER BY from_block",
        )?;
        let rows = stmt.query_map(params![source, chain.to_string(), address, kind], |r| {
            Ok(Checkpoint {
                source: source.to_string(),
                chain,
                address: address.to_string(),
                kind: kind.to_string(),
                from_block: r.get::<_, i64>(0)? as u64,
                to_block: r.get::<_, i64>(1)? as u64,
                cursor: r.get(2)?,
                complete: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
