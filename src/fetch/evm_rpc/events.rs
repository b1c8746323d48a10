//! Contract events from a node: `eth_getLogs` on the contract and topic-0 set (a range the
//! node refuses as too large is split in halves), then the senders and fee settings of their
//! transactions (`eth_getTransactionByHash`, batched) and the block times.

use std::collections::{BTreeSet, HashMap};

use alloy_primitives::{B256, U256};
use alloy_rpc_types_eth::Log;
use serde_json::json;

use super::client::CallError;
use super::{RpcSource, hex, types};
use crate::fetch::FetchError;
use crate::fetch::events::{self, RawLog, TxFacts};
use crate::model::{Address, ContractEvent, TxHash};

impl RpcSource {
    fn malformed(&self, detail: String) -> FetchError {
        FetchError::Malformed {
            url: self.rpc.redacted().to_string(),
            detail,
        }
    }

    /// See [`crate::fetch::Source::contract_events`].
    pub(super) async fn events_in(
        &self,
        contract: &Address,
        topics: &[B256],
        from: u64,
        to: u64,
    ) -> Result<Vec<ContractEvent>, FetchError> {
        let Some(c) = contract.as_evm().copied() else {
            return Err(FetchError::BadInput(format!(
                "{contract} is not an EVM contract address"
            )));
        };
        if from > to || topics.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<String> = topics.iter().map(|t| format!("{t:#x}")).collect();
        let filter_topics = json!([wanted]);
        let logs = self
            .split_ranges("eth_getLogs", from, to, |x, y| {
                let filter_topics = filter_topics.clone();
                async move {
                    let v = self
                        .rpc
                        .call_value(
                            "eth_getLogs",
                            json!([{ "address": format!("{c:#x}"), "fromBlock": hex(x),
                                     "toBlock": hex(y), "topics": filter_topics }]),
                        )
                        .await?;
                    self.rpc
                        .decode::<Vec<Log>>("eth_getLogs", v)
                        .map_err(CallError::Fetch)
                }
            })
            .await?;
        let mut raw = Vec::with_capacity(logs.len());
        for l in logs {
            if l.removed {
                continue;
            }
            let (Some(block), Some(tx), Some(tx_index), Some(log_index)) = (
                l.block_number,
                l.transaction_hash,
                l.transaction_index,
                l.log_index,
            ) else {
                return Err(self.malformed(format!(
                    "eth_getLogs: a log of {c:#x} without block, transaction or log index"
                )));
            };
            if l.inner.address != c {
                return Err(self.malformed(format!(
                    "eth_getLogs: asked for the logs of {c:#x}, got one of {:#x}",
                    l.inner.address
                )));
            }
            if block < from || block > to {
                return Err(self.malformed(format!(
                    "eth_getLogs: a log of block {block} outside the requested {from}..={to}"
                )));
            }
            raw.push(RawLog {
                contract: c,
                tx: TxHash(tx),
                log_index: u32::try_from(log_index)
                    .map_err(|_| self.malformed(format!("log index {log_index}")))?,
                block,
                tx_index: u32::try_from(tx_index)
                    .map_err(|_| self.malformed(format!("transaction index {tx_index}")))?,
                topics: l.inner.data.topics().to_vec(),
                data: l.inner.data.data.to_vec(),
            });
        }
        let facts = self.tx_facts(&raw).await?;
        let mut out = Vec::with_capacity(raw.len());
        for r in &raw {
            let f = facts.get(&r.tx.0).cloned().unwrap_or_default();
            out.push(
                events::decode(self.cfg.chain, r, &f).map_err(|e| self.malformed(e.to_string()))?,
            );
        }
        Ok(events::chain_order(out))
    }

    /// Sender, fee setting and block time of the transactions of `logs`.
    async fn tx_facts(&self, logs: &[RawLog]) -> Result<HashMap<B256, TxFacts>, FetchError> {
        let hashes: Vec<B256> = logs
            .iter()
            .map(|l| l.tx.0)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if hashes.is_empty() {
            return Ok(HashMap::new());
        }
        let calls = hashes
            .iter()
            .map(|h| ("eth_getTransactionByHash", json!([format!("{h:#x}")])))
            .collect();
        let answers = self.rpc.batch(calls).await?;
        let stamps = self.stamps(logs.iter().map(|l| l.block)).await?;
        let block_of: HashMap<B256, u64> = logs.iter().map(|l| (l.tx.0, l.block)).collect();
        let mut out = HashMap::new();
        for (h, a) in hashes.iter().zip(answers) {
            let v = a.map_err(|e| e.into_fetch(self.rpc.redacted(), "eth_getTransactionByHash"))?;
            if v.is_null() {
                return Err(self.malformed(format!("transaction {h:#x} not found")));
            }
            let tx: types::RpcTx = self.rpc.decode("eth_getTransactionByHash", v)?;
            if tx.hash != *h {
                return Err(
                    self.malformed(format!("asked for transaction {h:#x}, got {:#x}", tx.hash))
                );
            }
            let time = block_of
                .get(h)
                .and_then(|b| stamps.get(b).copied())
                .unwrap_or_default();
            out.insert(
                *h,
                TxFacts {
                    time,
                    from: Some(tx.from),
                    gas_price: events::fee_setting(
                        tx.gas_price.map(U256::from),
                        tx.max_fee_per_gas.map(U256::from),
                    ),
                },
            );
        }
        Ok(out)
    }
}
