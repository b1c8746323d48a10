//! Esplora's transaction JSON (API.md, "Transaction format") and the rebuilding of a
//! `bitcoin::Transaction` from it, so that its txid can be recomputed and checked.

use serde::Deserialize;

use crate::fetch::utxo::{decode_hex, txid};
use crate::model::TxHash;

#[derive(Deserialize)]
pub(super) struct JStatus {
    pub(super) confirmed: bool,
    pub(super) block_height: Option<u64>,
    pub(super) block_time: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct JPrevout {
    pub(super) scriptpubkey: String,
    pub(super) value: u64,
}

#[derive(Deserialize)]
pub(super) struct JVin {
    pub(super) txid: String,
    pub(super) vout: u32,
    #[serde(default)]
    pub(super) is_coinbase: bool,
    #[serde(default)]
    pub(super) scriptsig: String,
    #[serde(default)]
    pub(super) witness: Option<Vec<String>>,
    pub(super) sequence: u32,
    pub(super) prevout: Option<JPrevout>,
}

#[derive(Deserialize)]
pub(super) struct JVout {
    pub(super) scriptpubkey: String,
    pub(super) value: u64,
}

#[derive(Deserialize)]
pub(super) struct JTx {
    pub(super) txid: String,
    pub(super) version: i32,
    pub(super) locktime: u32,
    pub(super) vin: Vec<JVin>,
    pub(super) vout: Vec<JVout>,
    pub(super) status: JStatus,
}

#[derive(Deserialize)]
pub(super) struct JOutspend {
    pub(super) spent: bool,
    pub(super) txid: Option<String>,
    pub(super) vin: Option<u32>,
    pub(super) status: Option<JStatus>,
}

/// The transaction and the outputs its inputs spend, rebuilt from the JSON.
pub(super) fn rebuild(j: &JTx) -> Result<(bitcoin::Transaction, Vec<bitcoin::TxOut>), String> {
    let hex = |s: &str, what: &str| decode_hex(s).ok_or_else(|| format!("{what} is not hex"));
    let mut input = Vec::with_capacity(j.vin.len());
    let mut prevouts = Vec::with_capacity(j.vin.len());
    for v in &j.vin {
        let previous_output = if v.is_coinbase {
            bitcoin::OutPoint::null()
        } else {
            let t = TxHash::parse(&v.txid).map_err(|e| e.to_string())?;
            bitcoin::OutPoint::new(txid(t), v.vout)
        };
        let witness: Vec<Vec<u8>> = v
            .witness
            .iter()
            .flatten()
            .map(|w| hex(w, "witness"))
            .collect::<Result<_, _>>()?;
        input.push(bitcoin::TxIn {
            previous_output,
            script_sig: bitcoin::ScriptBuf::from_bytes(hex(&v.scriptsig, "scriptsig")?),
            sequence: bitcoin::Sequence(v.sequence),
            witness: bitcoin::Witness::from_slice(&witness),
        });
        if !v.is_coinbase {
            let p = v.prevout.as_ref().ok_or("input without prevout")?;
            prevouts.push(bitcoin::TxOut {
                value: bitcoin::Amount::from_sat(p.value),
                script_pubkey: bitcoin::ScriptBuf::from_bytes(hex(&p.scriptpubkey, "prevout")?),
            });
        }
    }
    let output = j
        .vout
        .iter()
        .map(|o| {
            Ok(bitcoin::TxOut {
                value: bitcoin::Amount::from_sat(o.value),
                script_pubkey: bitcoin::ScriptBuf::from_bytes(hex(
                    &o.scriptpubkey,
                    "scriptpubkey",
                )?),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let tx = bitcoin::Transaction {
        version: bitcoin::transaction::Version(j.version),
        lock_time: bitcoin::absolute::LockTime::from_consensus(j.locktime),
        input,
        output,
    };
    Ok((tx, prevouts))
}
