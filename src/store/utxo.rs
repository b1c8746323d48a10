//! The read side for UTXO chains: outputs, spends, and whole transactions reassembled from
//! `utxo_outputs`, `utxo_spends` and the `vin:` / `vout:` / `fee` transfers (the convention of
//! `docs/formats.md`, "UTXO transactions").

use std::collections::HashMap;

use alloy_primitives::B256;
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError};
use crate::model::{Address, Amount, Chain, OutPoint, Spend, TxHash, TxOutput};

/// One input of a stored transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInput {
    /// Input index.
    pub index: u32,
    /// The outpoint spent; `None` for a coinbase input.
    pub prevout: Option<OutPoint>,
    /// Address of the spent output, if it has one.
    pub address: Option<Address>,
    /// Value of the spent output in sats (a coinbase input: the value it mints).
    pub value: u64,
}

/// A stored UTXO transaction, as the trace engine and the clustering read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUtxoTx {
    /// Transaction id.
    pub txid: TxHash,
    /// Block height.
    pub block: u64,
    /// Position in the block.
    pub tx_index: u32,
    /// Block time.
    pub time: i64,
    /// Inputs by index.
    pub inputs: Vec<StoredInput>,
    /// Outputs by index.
    pub outputs: Vec<TxOutput>,
    /// Inputs − outputs in sats (0 for a coinbase).
    pub fee: u64,
}

impl StoredUtxoTx {
    /// True for a coinbase transaction.
    pub fn is_coinbase(&self) -> bool {
        self.inputs.len() == 1 && self.inputs[0].prevout.is_none()
    }
}

fn corrupt(table: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.into(),
    }
}

fn hash(table: &'static str, b: &[u8]) -> Result<TxHash> {
    if b.len() != 32 {
        return Err(corrupt(table, format!("txid of {} bytes", b.len())));
    }
    Ok(TxHash(B256::from_slice(b)))
}

fn addr(chain: Chain, table: &'static str, key: Option<String>) -> Result<Option<Address>> {
    key.map(|k| Address::parse(chain, &k).map_err(|e| corrupt(table, e.to_string())))
        .transpose()
}

fn sats(a: &[u8]) -> Result<u64> {
    let amt = Amount::from_be_slice(a)
        .ok_or_else(|| corrupt("transfers", format!("amount of {} bytes", a.len())))?;
    u64::try_from(amt.0).map_err(|_| corrupt("transfers", "UTXO amount above 2^64 sats"))
}

type OutputRow = (Vec<u8>, u32, i64, Vec<u8>, Option<String>, i64);

const SELECT_OUTPUT: &str = "SELECT o.txid, o.vout, o.value, o.script, a.addr, o.block
    FROM utxo_outputs o LEFT JOIN addresses a ON a.id = o.address_id";

fn output(chain: Chain, r: OutputRow) -> Result<TxOutput> {
    let (txid, vout, value, script, address, block) = r;
    Ok(TxOutput {
        outpoint: OutPoint {
            txid: hash("utxo_outputs", &txid)?,
            vout,
        },
        value: u64::try_from(value).map_err(|_| corrupt("utxo_outputs", "negative value"))?,
        script_pubkey: script,
        address: addr(chain, "utxo_outputs", address)?,
        block: block as u64,
    })
}

fn output_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutputRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

impl Store {
    /// True when the outputs of `txid` are stored (every stored transaction has some).
    pub fn has_utxo_tx(&self, chain: Chain, txid: TxHash) -> Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM utxo_outputs WHERE chain = ?1 AND txid = ?2 LIMIT 1",
                params![chain.to_string(), txid.0.as_slice()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// One stored output.
    pub fn utxo_output(&self, chain: Chain, o: OutPoint) -> Result<Option<TxOutput>> {
        let row = self
            .conn()
            .query_row(
                &format!("{SELECT_OUTPUT} WHERE o.chain = ?1 AND o.txid = ?2 AND o.vout = ?3"),
                params![chain.to_string(), o.txid.0.as_slice(), o.vout],
                output_row,
            )
            .optional()?;
        row.map(|r| output(chain, r)).transpose()
    }

    /// The stored outputs of one transaction, by index.
    pub fn utxo_outputs_of(&self, chain: Chain, txid: TxHash) -> Result<Vec<TxOutput>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "{SELECT_OUTPUT} WHERE o.chain = ?1 AND o.txid = ?2 ORDER BY o.vout"
        ))?;
        let rows = stmt
            .query_map(params![chain.to_string(), txid.0.as_slice()], output_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| output(chain, r)).collect()
    }

    /// Stored outputs paying `address`.
    pub fn utxo_outputs_to(&self, chain: Chain, address: &Address) -> Result<Vec<TxOutput>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "{SELECT_OUTPUT} WHERE o.chain = ?1 AND a.chain = ?1 AND a.addr = ?2
             ORDER BY o.block, o.txid, o.vout"
        ))?;
        let rows = stmt
            .query_map(params![chain.to_string(), address.key()], output_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|r| output(chain, r)).collect()
    }

    /// The recorded spend of an outpoint, if any.
    pub fn utxo_spend(&self, chain: Chain, o: OutPoint) -> Result<Option<Spend>> {
        let row: Option<(Vec<u8>, u32)> = self
            .conn()
            .query_row(
                "SELECT spending_txid, input_index FROM utxo_spends
                 WHERE chain = ?1 AND txid = ?2 AND vout = ?3",
                params![chain.to_string(), o.txid.0.as_slice(), o.vout],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(t, i)| {
            Ok(Spend {
                outpoint: o,
                spending_txid: hash("utxo_spends", &t)?,
                input_index: i,
            })
        })
        .transpose()
    }

    /// Every stored UTXO transaction on `chain`, in time order (block, position in block).
    /// Inputs come from `utxo_spends` (outpoints) and the `vin:` transfers (address, value);
    /// a zero-value input has no transfer and is read with value 0 and the address of the
    /// spent output when that output is stored.
    pub fn utxo_txs(&self, chain: Chain) -> Result<Vec<StoredUtxoTx>> {
        let c = chain.to_string();
        let mut txs: HashMap<TxHash, StoredUtxoTx> = HashMap::new();
        {
            let mut stmt = self.conn().prepare(&format!(
                "{SELECT_OUTPUT} WHERE o.chain = ?1 ORDER BY o.txid, o.vout"
            ))?;
            let rows = stmt.query_map([&c], output_row)?;
            for r in rows {
                let o = output(chain, r?)?;
                let e = txs.entry(o.outpoint.txid).or_insert_with(|| StoredUtxoTx {
                    txid: o.outpoint.txid,
                    block: o.block,
                    tx_index: 0,
                    time: 0,
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                    fee: 0,
                });
                e.outputs.push(o);
            }
        }
        // vin and fee transfers: value, address, position and time
        let mut vins: HashMap<(TxHash, u32), (Option<Address>, u64)> = HashMap::new();
        {
            let mut stmt = self.conn().prepare(
                "SELECT t.tx_hash, t.sub_class, t.sub_key, t.tx_index, t.time, fa.addr, t.amount
                 FROM transfers t LEFT JOIN addresses fa ON fa.id = t.from_id
                 WHERE t.chain = ?1 AND t.sub_class IN (0, 4, 5)",
            )?;
            let mut rows = stmt.query([&c])?;
            while let Some(r) = rows.next()? {
                let h = hash("transfers", &r.get::<_, Vec<u8>>(0)?)?;
                let class: u8 = r.get(1)?;
                let key: String = r.get(2)?;
                let Some(tx) = txs.get_mut(&h) else { continue };
                tx.tx_index = r.get(3)?;
                tx.time = r.get(4)?;
                let amount = sats(&r.get::<_, Vec<u8>>(6)?)?;
                match class {
                    0 => tx.fee = amount,
                    4 => {
                        let n: u32 = key
                            .parse()
                            .map_err(|_| corrupt("transfers", format!("vin:{key}")))?;
                        let a = addr(chain, "transfers", r.get(5)?)?;
                        vins.insert((h, n), (a, amount));
                    }
                    _ => {}
                }
            }
        }
        let mut spends: HashMap<(TxHash, u32), OutPoint> = HashMap::new();
        {
            let mut stmt = self.conn().prepare(
                "SELECT txid, vout, spending_txid, input_index FROM utxo_spends WHERE chain = ?1",
            )?;
            let mut rows = stmt.query([&c])?;
            while let Some(r) = rows.next()? {
                let prev = OutPoint {
                    txid: hash("utxo_spends", &r.get::<_, Vec<u8>>(0)?)?,
                    vout: r.get(1)?,
                };
                let by = hash("utxo_spends", &r.get::<_, Vec<u8>>(2)?)?;
                spends.insert((by, r.get(3)?), prev);
            }
        }
        let mut n_inputs: HashMap<TxHash, u32> = HashMap::new();
        for (h, n) in vins.keys().chain(spends.keys()) {
            let e = n_inputs.entry(*h).or_insert(0);
            *e = (*e).max(n + 1);
        }
        let out_addr: HashMap<OutPoint, Option<Address>> = txs
            .values()
            .flat_map(|t| t.outputs.iter().map(|o| (o.outpoint, o.address.clone())))
            .collect();
        for (h, n) in n_inputs {
            let Some(tx) = txs.get_mut(&h) else { continue };
            for i in 0..n {
                let prevout = spends.get(&(h, i)).copied();
                let (address, value) = match vins.remove(&(h, i)) {
                    Some(v) => v,
                    None => (prevout.and_then(|p| out_addr.get(&p).cloned().flatten()), 0),
                };
                tx.inputs.push(StoredInput {
                    index: i,
                    prevout,
                    address,
                    value,
                });
            }
        }
        let mut out: Vec<StoredUtxoTx> = txs.into_values().collect();
        out.sort_by_key(|t| (t.block, t.tx_index, t.txid));
        Ok(out)
    }
}
