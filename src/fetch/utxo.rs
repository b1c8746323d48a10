//! One Bitcoin transaction as every UTXO source yields it (Esplora, bitcoind, bitcoin-etl), and
//! the one conversion of it into store rows. The convention is `docs/formats.md`
//! ("UTXO transactions"):
//!
//! - `utxo_outputs`: every output (OP_RETURN and zero-value ones included): value in sats, the
//!   script, the address of [`Address::from_script`] (none for OP_RETURN, P2PK, bare multisig,
//!   non-standard scripts), the block height.
//! - `utxo_spends`: every non-coinbase input: spent outpoint → (txid, input index).
//! - `transfers` (asset BTC, the tx's block, position in block and block time):
//!   `vin:<n>` from the spent output's address (none for coinbase or an address-less script)
//!   to nobody, amount = the spent output's value (coinbase: Σ outputs);
//!   `vout:<n>` from nobody to the output's address, amount = its value;
//!   `fee` from nobody to nobody, amount = Σ inputs − Σ outputs (never for coinbase).
//!   Zero amounts are not transfers (no row); the UTXO tables still hold them.
//!
//! The trace engine replays a transaction as a transient node: its `vin` rows flow in, its
//! `vout` rows and its `fee` flow out; the spent outpoint of `vin:<n>` is in `utxo_spends`.

use alloy_primitives::B256;
use bitcoin::hashes::Hash;

use crate::fetch::FetchError;
use crate::model::{
    Address, Amount, AssetId, BitcoinNetwork, Chain, OutPoint, Spend, SubIndex, Transfer, TxHash,
    TxOutput,
};
use crate::store::Writer;

/// Where a confirmed transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockPos {
    /// Block height.
    pub height: u64,
    /// Position of the transaction in its block (0 = coinbase).
    pub tx_index: u32,
    /// Block time (header timestamp), seconds since the Unix epoch.
    pub time: i64,
}

/// One input with what it spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtxoInput {
    /// The spent output; `None` for a coinbase input.
    pub prevout: Option<OutPoint>,
    /// Value of the spent output in sats (0 for a coinbase input).
    pub value: u64,
    /// Address of the spent output, if its script has one.
    pub address: Option<Address>,
}

/// One output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtxoOutput {
    /// Value in sats.
    pub value: u64,
    /// The locking script.
    pub script_pubkey: Vec<u8>,
}

/// A confirmed transaction with the values and addresses of what its inputs spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtxoTx {
    /// Transaction id (display byte order).
    pub txid: TxHash,
    /// Where it was confirmed.
    pub block: BlockPos,
    /// Inputs in order.
    pub inputs: Vec<UtxoInput>,
    /// Outputs in order.
    pub outputs: Vec<UtxoOutput>,
}

/// A transaction whose parts do not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UtxoError {
    /// Outputs are worth more than inputs (outside a coinbase).
    #[error("transaction {txid}: outputs ({outputs} sats) exceed inputs ({inputs} sats)")]
    Overspend {
        /// The transaction.
        txid: String,
        /// Σ inputs.
        inputs: u64,
        /// Σ outputs.
        outputs: u64,
    },
    /// A value sum overflows (more than 2^64 sats).
    #[error("transaction {0}: value sum overflows")]
    Overflow(String),
    /// A transaction with no inputs or no outputs.
    #[error("transaction {0}: has no inputs or no outputs")]
    Empty(String),
    /// The previous outputs given do not match the inputs.
    #[error("transaction {txid}: {detail}")]
    Prevouts {
        /// The transaction.
        txid: String,
        /// What is wrong.
        detail: String,
    },
    /// Raw transaction bytes that do not decode.
    #[error("malformed transaction hex: {0}")]
    Decode(String),
}

/// The rows a transaction becomes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UtxoRows {
    /// For `utxo_outputs`.
    pub outputs: Vec<TxOutput>,
    /// For `utxo_spends`.
    pub spends: Vec<Spend>,
    /// For `transfers`.
    pub transfers: Vec<Transfer>,
}

/// A `bitcoin` txid as a [`TxHash`] (display byte order).
pub fn txhash(txid: bitcoin::Txid) -> TxHash {
    let mut b = txid.to_byte_array();
    b.reverse();
    TxHash(B256::from(b))
}

/// A [`TxHash`] as a `bitcoin` txid.
pub fn txid(h: TxHash) -> bitcoin::Txid {
    let mut b = h.0.0;
    b.reverse();
    bitcoin::Txid::from_byte_array(b)
}

/// Decode a raw transaction from hex (consensus encoding, with or without witness).
pub fn decode_tx_hex(hex: &str) -> Result<bitcoin::Transaction, UtxoError> {
    let bytes = decode_hex(hex.trim()).ok_or_else(|| {
        UtxoError::Decode(format!(
            "'{}' is not hex",
            hex.chars().take(40).collect::<String>()
        ))
    })?;
    bitcoin::consensus::deserialize(&bytes).map_err(|e| UtxoError::Decode(e.to_string()))
}

/// Decode lower- or upper-case hex; `None` for anything else.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|c| {
            let h = (c[0] as char).to_digit(16)?;
            let l = (c[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

impl UtxoTx {
    /// Build from a decoded transaction and the outputs its inputs spend (in input order;
    /// empty for a coinbase). Addresses come from the scripts via [`Address::from_script`].
    pub fn from_bitcoin(
        network: BitcoinNetwork,
        tx: &bitcoin::Transaction,
        prevouts: &[bitcoin::TxOut],
        block: BlockPos,
    ) -> Result<UtxoTx, UtxoError> {
        let id = txhash(tx.compute_txid());
        let coinbase = tx.is_coinbase();
        if !coinbase && prevouts.len() != tx.input.len() {
            return Err(UtxoError::Prevouts {
                txid: id.display(Chain::Bitcoin(network)),
                detail: format!(
                    "{} previous outputs for {} inputs",
                    prevouts.len(),
                    tx.input.len()
                ),
            });
        }
        let inputs = tx
            .input
            .iter()
            .enumerate()
            .map(|(i, txin)| {
                if coinbase {
                    return UtxoInput {
                        prevout: None,
                        value: 0,
                        address: None,
                    };
                }
                let prev = &prevouts[i];
                UtxoInput {
                    prevout: Some(OutPoint {
                        txid: txhash(txin.previous_output.txid),
                        vout: txin.previous_output.vout,
                    }),
                    value: prev.value.to_sat(),
                    address: Address::from_script(network, &prev.script_pubkey),
                }
            })
            .collect();
        let outputs = tx
            .output
            .iter()
            .map(|o| UtxoOutput {
                value: o.value.to_sat(),
                script_pubkey: o.script_pubkey.to_bytes(),
            })
            .collect();
        let utx = UtxoTx {
            txid: id,
            block,
            inputs,
            outputs,
        };
        utx.check()?;
        Ok(utx)
    }

    /// A coinbase transaction (its only input spends nothing).
    pub fn is_coinbase(&self) -> bool {
        self.inputs.len() == 1 && self.inputs[0].prevout.is_none()
    }

    /// Σ output values.
    pub fn output_value(&self) -> Result<u64, UtxoError> {
        self.outputs
            .iter()
            .try_fold(0u64, |s, o| s.checked_add(o.value))
            .ok_or_else(|| UtxoError::Overflow(self.txid_text()))
    }

    /// Σ input values (a coinbase's newly minted value is Σ outputs).
    pub fn input_value(&self) -> Result<u64, UtxoError> {
        if self.is_coinbase() {
            return self.output_value();
        }
        self.inputs
            .iter()
            .try_fold(0u64, |s, i| s.checked_add(i.value))
            .ok_or_else(|| UtxoError::Overflow(self.txid_text()))
    }

    /// Inputs − outputs (0 for a coinbase).
    pub fn fee(&self) -> Result<u64, UtxoError> {
        let (i, o) = (self.input_value()?, self.output_value()?);
        i.checked_sub(o).ok_or_else(|| UtxoError::Overspend {
            txid: self.txid_text(),
            inputs: i,
            outputs: o,
        })
    }

    fn txid_text(&self) -> String {
        format!("{:x}", self.txid.0)
    }

    /// Check the parts: inputs and outputs present, sums fit, no overspend, a coinbase input
    /// only alone.
    pub fn check(&self) -> Result<(), UtxoError> {
        if self.inputs.is_empty() || self.outputs.is_empty() {
            return Err(UtxoError::Empty(self.txid_text()));
        }
        if self.inputs.iter().any(|i| i.prevout.is_none()) && !self.is_coinbase() {
            return Err(UtxoError::Prevouts {
                txid: self.txid_text(),
                detail: "a coinbase input beside other inputs".into(),
            });
        }
        self.fee().map(|_| ())
    }

    /// The rows of the convention in the module docs.
    pub fn rows(&self, network: BitcoinNetwork) -> Result<UtxoRows, UtxoError> {
        let chain = Chain::Bitcoin(network);
        let fee = self.fee()?;
        let coinbase = self.is_coinbase();
        let mut rows = UtxoRows::default();
        let transfer = |sub: SubIndex, from, to, amount: u64| Transfer {
            chain,
            tx_hash: self.txid,
            sub,
            block: self.block.height,
            tx_index: self.block.tx_index,
            time: self.block.time,
            from,
            to,
            asset: AssetId::Native,
            amount: Amount::from_base_units(amount as u128),
        };
        for (n, input) in self.inputs.iter().enumerate() {
            let n = n as u32;
            let value = if coinbase {
                self.output_value()?
            } else {
                input.value
            };
            if let Some(p) = input.prevout {
                rows.spends.push(Spend {
                    outpoint: p,
                    spending_txid: self.txid,
                    input_index: n,
                });
            }
            if value > 0 {
                rows.transfers.push(transfer(
                    SubIndex::Input(n),
                    input.address.clone(),
                    None,
                    value,
                ));
            }
        }
        for (n, o) in self.outputs.iter().enumerate() {
            let n = n as u32;
            let script = bitcoin::Script::from_bytes(&o.script_pubkey);
            let address = Address::from_script(network, script);
            if o.value > 0 {
                rows.transfers.push(transfer(
                    SubIndex::Output(n),
                    None,
                    address.clone(),
                    o.value,
                ));
            }
            rows.outputs.push(TxOutput {
                outpoint: OutPoint {
                    txid: self.txid,
                    vout: n,
                },
                value: o.value,
                script_pubkey: o.script_pubkey.clone(),
                address,
                block: self.block.height,
            });
        }
        if fee > 0 && !coinbase {
            rows.transfers
                .push(transfer(SubIndex::Fee, None, None, fee));
        }
        Ok(rows)
    }

    /// Write the rows inside `w`'s transaction. Returns `true` when the transaction was not
    /// stored before (idempotent: a second write inserts nothing).
    pub fn write(&self, w: &mut Writer<'_>, network: BitcoinNetwork) -> Result<bool, FetchError> {
        let chain = Chain::Bitcoin(network);
        let rows = self.rows(network).map_err(|e| FetchError::Malformed {
            url: String::new(),
            detail: e.to_string(),
        })?;
        let mut new = false;
        for o in &rows.outputs {
            new |= w.insert_output(chain, o)?;
        }
        for s in &rows.spends {
            w.insert_spend(chain, s)?;
        }
        for t in &rows.transfers {
            w.insert_transfer(t)?;
        }
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::{Amount as BtcAmount, ScriptBuf, TxIn, TxOut, absolute, transaction};

    fn p2wpkh(b: u8) -> ScriptBuf {
        ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([b; 20]))
    }

    #[test]
    fn rows_follow_the_convention() {
        let prev = bitcoin::Txid::from_byte_array([7; 32]);
        let tx = bitcoin::Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![
                TxIn {
                    previous_output: bitcoin::OutPoint::new(prev, 1),
                    ..Default::default()
                },
                TxIn {
                    previous_output: bitcoin::OutPoint::new(prev, 0),
                    ..Default::default()
                },
            ],
            output: vec![
                TxOut {
                    value: BtcAmount::from_sat(70_000),
                    script_pubkey: p2wpkh(3),
                },
                TxOut {
                    value: BtcAmount::ZERO,
                    script_pubkey: ScriptBuf::new_op_return([1u8, 2, 3]),
                },
                TxOut {
                    value: BtcAmount::from_sat(29_000),
                    script_pubkey: p2wpkh(4),
                },
            ],
        };
        let prevouts = [
            TxOut {
                value: BtcAmount::from_sat(60_000),
                script_pubkey: p2wpkh(1),
            },
            TxOut {
                value: BtcAmount::from_sat(40_000),
                script_pubkey: p2wpkh(2),
            },
        ];
        let pos = BlockPos {
            height: 5,
            tx_index: 2,
            time: 1_700_000_000,
        };
        let u = UtxoTx::from_bitcoin(BitcoinNetwork::Mainnet, &tx, &prevouts, pos).unwrap();
        assert_eq!(u.fee().unwrap(), 1_000);
        let rows = u.rows(BitcoinNetwork::Mainnet).unwrap();
        assert_eq!(rows.outputs.len(), 3);
        assert!(rows.outputs[1].address.is_none());
        assert_eq!(rows.spends.len(), 2);
        assert_eq!(rows.spends[0].outpoint.vout, 1);
        let subs: Vec<String> = rows.transfers.iter().map(|t| t.sub.to_string()).collect();
        assert_eq!(subs, ["vin:0", "vin:1", "vout:0", "vout:2", "fee"]);
        assert_eq!(rows.transfers[0].amount, Amount::from_base_units(60_000));
        assert!(rows.transfers[0].from.is_some() && rows.transfers[0].to.is_none());
        assert!(rows.transfers[2].from.is_none() && rows.transfers[2].to.is_some());
        assert_eq!(u.txid, txhash(tx.compute_txid()));
        assert_eq!(txid(u.txid), tx.compute_txid());
    }

    #[test]
    fn coinbase_and_overspend() {
        let tx = bitcoin::Transaction {
            version: transaction::Version::ONE,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn::default()],
            output: vec![TxOut {
                value: BtcAmount::from_sat(5_000_000_000),
                script_pubkey: p2wpkh(9),
            }],
        };
        let pos = BlockPos {
            height: 1,
            tx_index: 0,
            time: 0,
        };
        let u = UtxoTx::from_bitcoin(BitcoinNetwork::Regtest, &tx, &[], pos).unwrap();
        assert!(u.is_coinbase());
        let rows = u.rows(BitcoinNetwork::Regtest).unwrap();
        assert!(rows.spends.is_empty());
        assert_eq!(rows.transfers[0].sub, SubIndex::Input(0));
        assert_eq!(rows.transfers[0].from, None);
        assert_eq!(
            rows.transfers[0].amount,
            Amount::from_base_units(5_000_000_000)
        );
        assert!(rows.transfers.iter().all(|t| t.sub != SubIndex::Fee));
        let mut bad = u.clone();
        bad.inputs[0].prevout = Some(OutPoint {
            txid: u.txid,
            vout: 0,
        });
        bad.inputs[0].value = 1;
        assert!(matches!(bad.fee(), Err(UtxoError::Overspend { .. })));
        assert!(decode_tx_hex("zz").is_err());
        assert!(decode_tx_hex("0100").is_err());
    }
}
