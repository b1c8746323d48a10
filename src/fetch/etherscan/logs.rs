//! Contract events from an explorer: `module=logs&action=getLogs` with `address`,
//! `fromBlock`, `toBlock` and one `topic0` (the documented filter takes one topic 0 per query),
//! walked in pages like the account lists, then the sender and fee setting of each
//! transaction from the proxy `eth_getTransactionByHash`.
//!
//! The documented rows: `address`, `topics` (Blockscout pads the list with `null`s), `data`,
//! `blockNumber`, `timeStamp`, `gasPrice`, `gasUsed`, `logIndex`, `transactionHash`,
//! `transactionIndex` — numbers in hex, where Etherscan writes zero as a bare `0x`.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::{B256, Bytes};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::Value;

use super::api::Rpc;
use super::{EtherscanSource, evm_of, records};
use crate::fetch::FetchError;
use crate::fetch::events::{self, RawLog, TxFacts};
use crate::model::{Address, ContractEvent, TxHash};

/// One `getLogs` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogRecord {
    address: String,
    topics: Vec<Option<String>>,
    data: String,
    block_number: String,
    time_stamp: String,
    log_index: String,
    transaction_hash: String,
    transaction_index: String,
}

/// A hex (or decimal) quantity; Etherscan writes zero as `0x`.
fn quantity(field: &str, s: &str) -> Result<u64, String> {
    match s.trim() {
        "0x" | "0X" => Ok(0),
        t => records::num(field, t),
    }
}

fn raw_log(v: Value) -> Result<(RawLog, i64), String> {
    let r: LogRecord = serde_json::from_value(v).map_err(|e| format!("getLogs record: {e}"))?;
    let tx = records::tx_hash("transactionHash", &r.transaction_hash)?;
    let contract = r
        .address
        .parse()
        .map_err(|_| format!("getLogs: invalid address '{}'", r.address))?;
    let mut topics = Vec::new();
    for t in r.topics.iter().flatten() {
        topics.push(t.parse::<B256>().map_err(|_| {
            format!(
                "getLogs record of {}: invalid topic '{t}'",
                r.transaction_hash
            )
        })?);
    }
    let data: Bytes = r
        .data
        .parse()
        .map_err(|_| format!("getLogs record of {}: data is not hex", r.transaction_hash))?;
    let index = |field: &str, s: &str| {
        quantity(field, s).and_then(|n| u32::try_from(n).map_err(|_| format!("{field} {n}")))
    };
    let log = RawLog {
        contract,
        tx,
        log_index: index("logIndex", &r.log_index)?,
        block: quantity("blockNumber", &r.block_number)?,
        tx_index: index("transactionIndex", &r.transaction_index)?,
        topics,
        data: data.to_vec(),
    };
    let time = i64::try_from(quantity("timeStamp", &r.time_stamp)?)
        .map_err(|_| format!("timeStamp '{}'", r.time_stamp))?;
    Ok((log, time))
}

impl EtherscanSource {
    /// See [`crate::fetch::Source::contract_events`].
    pub(super) async fn events_in(
        &self,
        contract: &Address,
        topics: &[B256],
        from: u64,
        to: u64,
    ) -> Result<Vec<ContractEvent>, FetchError> {
        let c = evm_of(contract)?;
        if from > to {
            return Ok(Vec::new());
        }
        // (block, tx index, log index) → the log and its block time
        let mut logs: BTreeMap<(u64, u32, u32), (RawLog, i64)> = BTreeMap::new();
        for t in topics {
            for v in self
                .api
                .walk_logs(contract, &format!("{t:#x}"), from, to)
                .await?
            {
                let (log, time) = raw_log(v).map_err(|e| self.malformed(e))?;
                if log.contract != c {
                    return Err(self.malformed(format!(
                        "getLogs: asked for the logs of {c:#x}, got one of {:#x}",
                        log.contract
                    )));
                }
                if log.topics.first() != Some(t) {
                    return Err(self.malformed(format!(
                        "getLogs: asked for topic0 {t:#x}, got log {} of {} with another",
                        log.log_index,
                        log.tx.display(self.cfg.chain)
                    )));
                }
                logs.insert((log.block, log.tx_index, log.log_index), (log, time));
            }
        }
        let mut hashes: Vec<TxHash> = logs.values().map(|(l, _)| l.tx).collect();
        hashes.sort();
        hashes.dedup();
        let senders: HashMap<TxHash, records::ProxyTx> =
            stream::iter(hashes.into_iter().map(|h| async move {
                let shown = h.display(self.cfg.chain);
                let v = self.api.rpc(Rpc::Tx(shown.clone())).await?;
                if v.is_null() {
                    return Err(self.malformed(format!("transaction {shown} not found")));
                }
                let tx: records::ProxyTx = self.decode("eth_getTransactionByHash", v)?;
                if tx.hash != h.0 {
                    return Err(
                        self.malformed(format!("asked for transaction {shown}, got another"))
                    );
                }
                Ok((h, tx))
            }))
            .buffer_unordered(self.cfg.concurrency.max(1))
            .try_collect()
            .await?;
        let mut out = Vec::with_capacity(logs.len());
        for (log, time) in logs.values() {
            let tx = &senders[&log.tx];
            let facts = TxFacts {
                time: *time,
                from: Some(tx.from),
                gas_price: events::fee_setting(tx.gas_price, tx.max_fee_per_gas),
            };
            out.push(
                events::decode(self.cfg.chain, log, &facts)
                    .map_err(|e| self.malformed(e.to_string()))?,
            );
        }
        Ok(events::chain_order(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etherscan_rows_with_bare_0x_zeros_and_blockscout_null_topics() {
        let v = serde_json::json!({
            "address": "0x12d66f87a04a9e220743712ce6d9bb1b5616b8fc",
            "topics": ["0xa945e51eec50ab98c161376f0db4cf2aeba3ec92755fe2fcd388bdbbb80ff196",
                       "0x1111111111111111111111111111111111111111111111111111111111111111", null, null],
            "data": "0x",
            "blockNumber": "0xc48174", "timeStamp": "0x60f9ce56", "gasPrice": "0x2e90edd000",
            "gasUsed": "0x247205", "logIndex": "0x",
            "transactionHash": "0x4ffd22d986913d33927a392fe4319bcd2b62f3afe1c15a2c59f77fc2cc4c20a9",
            "transactionIndex": "0x"
        });
        let (l, time) = raw_log(v).unwrap();
        assert_eq!((l.block, l.log_index, l.tx_index), (0xc48174, 0, 0));
        assert_eq!(time, 0x60f9ce56);
        assert_eq!(l.topics.len(), 2);
        assert!(l.data.is_empty());
    }
}
