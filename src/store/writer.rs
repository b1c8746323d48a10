//! The write side: one [`Writer`] is one SQLite transaction.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};
use rustc_hash::FxHashMap;

use super::Result;
use crate::model::{Address, Amount, Asset, AssetId, Chain, Label, Spend, Transfer, TxOutput};

/// What has been fetched for one (source, chain, address, kind) from `from_block`.
/// Stored in the same transaction as the data it describes, so the two never disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The source ("rpc:http://…", "etherscan:1", "esplora:…").
    pub source: String,
    /// Chain.
    pub chain: Chain,
    /// Address key (see [`crate::model::Address::key`]).
    pub address: String,
    /// What is fetched ("txs", "internal", "tokens", "utxo" …).
    pub kind: String,
    /// First block of the range.
    pub from_block: u64,
    /// Last block of the range, inclusive.
    pub to_block: u64,
    /// Resume cursor inside the range (a page token, the last block done), if unfinished.
    pub cursor: Option<String>,
    /// The whole range is stored.
    pub complete: bool,
}

/// Interned address ids kept across the writers of a bulk import (see
/// [`Writer::insert_transfers_bulk`]). An id is valid once the writer that created it has
/// committed; a bulk import that fails stops, and drops this cache with it.
#[derive(Debug, Default)]
pub struct BulkIds {
    ids: FxHashMap<(Chain, Address), i64>,
    chains: FxHashMap<Chain, String>,
    assets: FxHashMap<AssetId, String>,
}

const INSERT_TRANSFER: &str = "INSERT INTO transfers(chain, tx_hash, sub_class, sub_key, block,
                                   tx_index, time, from_id, to_id, asset, amount)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT DO NOTHING";

const INTERN_ADDRESS: &str = "INSERT INTO addresses(chain, addr) VALUES (?1, ?2)
             ON CONFLICT(chain, addr) DO UPDATE SET addr = excluded.addr RETURNING id";

/// A write transaction. Dropping it without [`Writer::commit`] rolls everything back.
pub struct Writer<'a> {
    tx: Transaction<'a>,
    ids: HashMap<(Chain, String), i64>,
}

impl<'a> Writer<'a> {
    pub(super) fn new(tx: Transaction<'a>) -> Result<Writer<'a>> {
        Ok(Writer {
            tx,
            ids: HashMap::new(),
        })
    }

    /// The interned id of an address key on a chain, created on first use.
    pub fn address_id(&mut self, chain: Chain, key: &str) -> Result<i64> {
        if let Some(id) = self.ids.get(&(chain, key.to_string())) {
            return Ok(*id);
        }
        let chain_name = chain.to_string();
        let mut stmt = self.tx.prepare_cached(INTERN_ADDRESS)?;
        let id: i64 = stmt.query_row(params![chain_name, key], |r| r.get(0))?;
        self.ids.insert((chain, key.to_string()), id);
        Ok(id)
    }

    /// Insert a transfer; returns `false` (and changes nothing) when it is already stored.
    pub fn insert_transfer(&mut self, t: &Transfer) -> Result<bool> {
        let from = match &t.from {
            Some(a) => Some(self.address_id(t.chain, &a.key())?),
            None => None,
        };
        let to = match &t.to {
            Some(a) => Some(self.address_id(t.chain, &a.key())?),
            None => None,
        };
        let (class, key) = t.sub.to_parts();
        let mut stmt = self.tx.prepare_cached(INSERT_TRANSFER)?;
        let n = stmt.execute(params![
            t.chain.to_string(),
            t.tx_hash.0.as_slice(),
            class,
            key,
            t.block as i64,
            t.tx_index,
            t.time,
            from,
            to,
            t.asset.key(),
            t.amount.to_be_trimmed(),
        ])?;
        Ok(n == 1)
    }

    /// Insert many transfers with one prepared statement, interning addresses through `ids`
    /// (kept by the caller across the writers of a bulk import). Returns how many were not
    /// stored before. Same rows as [`Writer::insert_transfer`] one by one.
    pub fn insert_transfers_bulk(&mut self, ts: &[Transfer], ids: &mut BulkIds) -> Result<u64> {
        let mut ins = self.tx.prepare_cached(INSERT_TRANSFER)?;
        let mut intern = self.tx.prepare_cached(INTERN_ADDRESS)?;
        let mut id_of =
            |chain: Chain, a: &Option<Address>, ids: &mut BulkIds| -> Result<Option<i64>> {
                let Some(a) = a else { return Ok(None) };
                if let Some(id) = ids.ids.get(&(chain, a.clone())) {
                    return Ok(Some(*id));
                }
                let name = ids.chains.entry(chain).or_insert_with(|| chain.to_string());
                let id: i64 = intern.query_row(params![name.as_str(), a.key()], |r| r.get(0))?;
                ids.ids.insert((chain, a.clone()), id);
                Ok(Some(id))
            };
        let mut new = 0;
        for t in ts {
            let from = id_of(t.chain, &t.from, ids)?;
            let to = id_of(t.chain, &t.to, ids)?;
            let (class, key) = t.sub.to_parts();
            let chain = ids
                .chains
                .entry(t.chain)
                .or_insert_with(|| t.chain.to_string());
            let asset = ids.assets.entry(t.asset).or_insert_with(|| t.asset.key());
            new += ins.execute(params![
                chain.as_str(),
                t.tx_hash.0.as_slice(),
                class,
                key,
                t.block as i64,
                t.tx_index,
                t.time,
                from,
                to,
                asset.as_str(),
                t.amount.to_be_trimmed(),
            ])? as u64;
        }
        Ok(new)
    }

    /// Record an asset unless one is recorded already; returns `false` when it was there.
    pub fn insert_asset(&mut self, a: &Asset) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO assets(chain, asset, symbol, decimals) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(chain, asset) DO NOTHING",
            )?
            .execute(params![
                a.chain.to_string(),
                a.id.key(),
                a.symbol,
                a.decimals
            ])?;
        Ok(n == 1)
    }

    /// Record an asset's symbol and decimals (replacing what was there).
    pub fn upsert_asset(&mut self, a: &Asset) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO assets(chain, asset, symbol, decimals) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(chain, asset) DO UPDATE SET symbol = excluded.symbol,
                                                         decimals = excluded.decimals",
            )?
            .execute(params![
                a.chain.to_string(),
                a.id.key(),
                a.symbol,
                a.decimals
            ])?;
        Ok(())
    }

    /// Insert a UTXO output (no-op when present).
    pub fn insert_output(&mut self, chain: Chain, o: &TxOutput) -> Result<bool> {
        let addr = match &o.address {
            Some(a) => Some(self.address_id(chain, &a.key())?),
            None => None,
        };
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO utxo_outputs(chain, txid, vout, value, script, address_id, block)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                chain.to_string(),
                o.outpoint.txid.0.as_slice(),
                o.outpoint.vout,
                o.value as i64,
                o.script_pubkey,
                addr,
                o.block as i64
            ])?;
        Ok(n == 1)
    }

    /// Record the spend of an output (no-op when present).
    pub fn insert_spend(&mut self, chain: Chain, s: &Spend) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO utxo_spends(chain, txid, vout, spending_txid, input_index)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                chain.to_string(),
                s.outpoint.txid.0.as_slice(),
                s.outpoint.vout,
                s.spending_txid.0.as_slice(),
                s.input_index
            ])?;
        Ok(n == 1)
    }

    /// Record the balance of `address` in `asset` at the end of `block` (replacing a value
    /// recorded before for the same block).
    pub fn set_balance(
        &mut self,
        chain: Chain,
        address: &Address,
        asset: AssetId,
        block: u64,
        amount: Amount,
    ) -> Result<()> {
        let id = self.address_id(chain, &address.key())?;
        self.tx
            .prepare_cached(
                "INSERT INTO balances(chain, address_id, asset, block, amount)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(chain, address_id, asset, block) DO UPDATE SET amount = excluded.amount",
            )?
            .execute(params![
                chain.to_string(),
                id,
                asset.key(),
                block as i64,
                amount.to_be_trimmed()
            ])?;
        Ok(())
    }

    /// Insert or replace the checkpoint for its (source, chain, address, kind, from_block).
    pub fn set_checkpoint(&mut self, c: &Checkpoint) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO checkpoints(source, chain, address, kind, from_block, to_block,
                                         cursor, complete)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(source, chain, address, kind, from_block) DO UPDATE SET
                    to_block = excluded.to_block, cursor = excluded.cursor,
                    complete = excluded.complete",
            )?
            .execute(params![
                c.source,
                c.chain.to_string(),
                c.address,
                c.kind,
                c.from_block as i64,
                c.to_block as i64,
                c.cursor,
                c.complete
            ])?;
        Ok(())
    }

    /// Insert a label from `origin`; returns `false` when the same label is already there.
    pub fn insert_label(&mut self, l: &Label, origin: &str) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO labels(chain, address, label, category, actor, abuse, source,
                                    confidence, context, origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
            )?
            .execute(params![
                l.chain.to_string(),
                l.address.key(),
                l.label,
                l.category.as_str(),
                l.actor,
                l.abuse,
                l.source,
                l.confidence,
                l.context,
                origin
            ])?;
        Ok(n == 1)
    }

    /// Remove every label that came from `origin` (before re-importing a changed file).
    pub fn delete_labels_from(&mut self, origin: &str) -> Result<usize> {
        Ok(self
            .tx
            .execute("DELETE FROM labels WHERE origin = ?1", [origin])?)
    }

    /// Set a `meta` value inside this transaction.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.tx.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// A `meta` value as seen inside this transaction.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// The open SQLite transaction (for the other write modules of the store).
    pub(super) fn tx(&self) -> &Transaction<'a> {
        &self.tx
    }

    /// Make everything written durable and visible.
    pub fn commit(self) -> Result<()> {
        self.tx.commit()?;
        Ok(())
    }
}
