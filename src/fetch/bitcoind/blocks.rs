//! Blocks as the node returns them: `getblock` verbosity 2 (transactions with their hex) or
//! verbosity 0 (the raw block, whose header must hash to the block hash asked for).

use serde_json::Value;

use crate::fetch::utxo::{decode_hex, decode_tx_hex};

/// A block as read from the node: height, time and its transactions in order.
#[derive(Debug, Clone)]
pub struct RawBlock {
    /// Height.
    pub height: u64,
    /// Header time.
    pub time: i64,
    /// Transactions in block order.
    pub txs: Vec<bitcoin::Transaction>,
}

/// A verbosity-2 block.
pub(super) fn parse_verbose(v: &Value, height: u64) -> Result<RawBlock, String> {
    let time = v
        .get("time")
        .and_then(Value::as_i64)
        .ok_or("getblock: no time")?;
    let txs = v
        .get("tx")
        .and_then(Value::as_array)
        .ok_or("getblock: no tx list")?
        .iter()
        .map(|t| {
            let hex = t
                .get("hex")
                .and_then(Value::as_str)
                .ok_or("getblock verbosity 2: transaction without hex")?;
            decode_tx_hex(hex).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RawBlock { height, time, txs })
}

/// A raw (verbosity-0) block.
pub(super) fn parse_raw(v: &Value, hash: &str, height: u64) -> Result<RawBlock, String> {
    let hex = v.as_str().ok_or("getblock verbosity 0: not a string")?;
    let bytes = decode_hex(hex).ok_or("block is not hex")?;
    let block: bitcoin::Block =
        bitcoin::consensus::deserialize(&bytes).map_err(|e| format!("block {hash}: {e}"))?;
    if block.block_hash().to_string() != hash {
        return Err(format!(
            "block {hash}: header hashes to {}",
            block.block_hash()
        ));
    }
    Ok(RawBlock {
        height,
        time: block.header.time as i64,
        txs: block.txdata,
    })
}
