//! Turning explorer rows into transfers, exactly as DESIGN.md orders a transaction's parts:
//! `txlist` rows give the fee and the value, `txlistinternal` rows the internal moves of
//! successful transactions whose frame and ancestors succeeded, `tokentx` rows (or the
//! receipt's logs they point at) the ERC-20 transfers.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy_primitives::{Address as EvmAddress, U256};
use serde_json::Value;

use super::records::{self, Frame, InternalRecord, Receipt, TokenRecord, TxRecord};
use super::{EtherscanSource, Flavor, TxInfo, evm_of, is};
use crate::fetch::FetchError;
use crate::model::{Address, Amount, AssetId, SubIndex, Transfer, TxHash};

impl EtherscanSource {
    /// Frames of an Etherscan internal row (the root is not listed: it is the transaction).
    pub(super) fn row_frame(
        &self,
        path: Vec<u32>,
        r: &InternalRecord,
    ) -> Result<Frame, FetchError> {
        let c = self.cfg.chain;
        let m = |e: String| self.malformed(format!("internal transaction of {}: {e}", r.hash));
        let to = match records::opt_addr(c, "to", &r.to).map_err(m)? {
            Some(a) => Some(a),
            None => records::opt_addr(c, "contractAddress", &r.contract_address).map_err(m)?,
        };
        Ok(Frame {
            path,
            moves_value: records::moves_value(&r.kind, &r.call_type),
            from: evm_of(&records::addr(c, "from", &r.from).map_err(m)?)?,
            to: to.as_ref().map(evm_of).transpose()?,
            value: records::amount("value", &r.value).map_err(m)?.0,
            failed: r.is_error.trim() == "1",
        })
    }

    pub(super) fn transfer(
        &self,
        hash: TxHash,
        sub: SubIndex,
        block: u64,
        info: TxInfo,
        time: i64,
    ) -> Transfer {
        Transfer {
            chain: self.cfg.chain,
            tx_hash: hash,
            sub,
            block,
            tx_index: info.tx_index,
            time,
            from: None,
            to: None,
            asset: AssetId::Native,
            amount: Amount::ZERO,
        }
    }

    pub(super) fn native(
        &self,
        base: Transfer,
        from: EvmAddress,
        to: Option<EvmAddress>,
        value: U256,
    ) -> Transfer {
        Transfer {
            from: Some(Address::Evm(from)),
            to: to.map(Address::Evm),
            amount: Amount(value),
            ..base
        }
    }

    /// Fee and value transfers of the `txlist` rows; records what they say of each tx.
    pub(super) fn add_txlist(
        &self,
        rows: Vec<Value>,
        infos: &mut HashMap<TxHash, TxInfo>,
        out: &mut Vec<Transfer>,
    ) -> Result<(), FetchError> {
        let c = self.cfg.chain;
        for v in rows {
            let r: TxRecord = self.decode("txlist", v)?;
            let m = |e: String| self.malformed(format!("txlist record {}: {e}", r.hash));
            let hash = records::tx_hash("hash", &r.hash).map_err(m)?;
            let block = records::num("blockNumber", &r.block_number).map_err(m)?;
            let time = records::time("timeStamp", &r.time_stamp).map_err(m)?;
            let info = TxInfo {
                tx_index: records::index("transactionIndex", &r.transaction_index).map_err(m)?,
                success: !records::failed(&r.is_error, &r.receipt_status),
            };
            infos.insert(hash, info);
            let from = evm_of(&records::addr(c, "from", &r.from).map_err(m)?)?;
            let base = self.transfer(hash, SubIndex::Fee, block, info, time);
            let price = records::amount("gasPrice", &r.gas_price).map_err(m)?.0;
            let used = records::amount("gasUsed", &r.gas_used).map_err(m)?.0;
            let fee = used.saturating_mul(price);
            if !fee.is_zero() {
                out.push(self.native(base.clone(), from, None, fee));
            }
            let value = records::amount("value", &r.value).map_err(m)?.0;
            if info.success && !value.is_zero() {
                let to = match records::opt_addr(c, "to", &r.to).map_err(m)? {
                    Some(a) => a,
                    None => records::addr(c, "contractAddress", &r.contract_address).map_err(m)?,
                };
                let value_t = Transfer {
                    sub: SubIndex::Value,
                    ..self.native(base, from, Some(evm_of(&to)?), value)
                };
                out.push(value_t);
            }
        }
        Ok(())
    }

    /// Internal transfers of the `txlistinternal` rows that involve `a`.
    pub(super) async fn add_internal(
        &self,
        a: &EvmAddress,
        rows: Vec<Value>,
        infos: &mut HashMap<TxHash, TxInfo>,
        receipts: &mut HashMap<TxHash, Receipt>,
        out: &mut Vec<Transfer>,
    ) -> Result<(), FetchError> {
        // (block, time, rows) by transaction
        let mut by_tx: BTreeMap<TxHash, (u64, i64, Vec<InternalRecord>)> = BTreeMap::new();
        for v in rows {
            let r: InternalRecord = self.decode("txlistinternal", v)?;
            let h = if r.hash.is_empty() {
                &r.transaction_hash
            } else {
                &r.hash
            };
            let m = |e: String| self.malformed(format!("txlistinternal record {h}: {e}"));
            let hash = records::tx_hash("hash", h).map_err(m)?;
            let block = records::num("blockNumber", &r.block_number).map_err(m)?;
            let time = records::time("timeStamp", &r.time_stamp).map_err(m)?;
            by_tx
                .entry(hash)
                .or_insert((block, time, Vec::new()))
                .2
                .push(r);
        }
        let missing: Vec<TxHash> = by_tx
            .keys()
            .filter(|h| !infos.contains_key(*h))
            .copied()
            .collect();
        for (h, r) in self.receipts(missing).await? {
            infos.insert(h, self.info_of(&r));
            receipts.insert(h, r);
        }
        for (hash, (block, time, rows)) in by_tx {
            let info = infos[&hash];
            if !info.success {
                continue;
            }
            let base = self.transfer(hash, SubIndex::Fee, block, info, time);
            let frames: Vec<Frame> = match self.cfg.flavor {
                Flavor::Blockscout => self.raw_frames(hash).await?,
                Flavor::Etherscan => {
                    let mut frames = Vec::with_capacity(rows.len());
                    for r in &rows {
                        let path = records::trace_path(&r.trace_id).map_err(|e| {
                            self.malformed(format!("internal transaction of {}: {e}", r.hash))
                        })?;
                        frames.push(self.row_frame(path, r)?);
                    }
                    let mut failed: HashSet<Vec<u32>> = frames
                        .iter()
                        .filter(|f| f.failed)
                        .map(|f| f.path.clone())
                        .collect();
                    if frames.iter().any(|f| f.path.len() >= 2) {
                        // ancestors that are not the address's own rows
                        let all = self.block_rows(block).await?;
                        for (path, r) in all.get(&hash).map(Vec::as_slice).unwrap_or_default() {
                            if r.is_error.trim() == "1" {
                                failed.insert(path.clone());
                            }
                        }
                    }
                    frames
                        .into_iter()
                        .filter(|f| records::alive(&f.path, &failed))
                        .collect()
                }
            };
            let mut seen = HashSet::new();
            for f in records::surviving(&frames) {
                if (f.from == *a || f.to == Some(*a)) && seen.insert(f.path.clone()) {
                    let t = Transfer {
                        sub: SubIndex::Internal(f.path.clone()),
                        ..self.native(base.clone(), f.from, f.to, f.value)
                    };
                    out.push(t);
                }
            }
        }
        Ok(())
    }

    pub(super) fn info_of(&self, r: &Receipt) -> TxInfo {
        TxInfo {
            tx_index: u32::try_from(r.transaction_index.to::<u64>()).unwrap_or(u32::MAX),
            success: r.success().unwrap_or(true),
        }
    }

    /// Token transfers of the `tokentx` rows that involve `a`.
    pub(super) async fn add_tokens(
        &self,
        a: &EvmAddress,
        rows: Vec<Value>,
        receipts: &mut HashMap<TxHash, Receipt>,
        out: &mut Vec<Transfer>,
    ) -> Result<(), FetchError> {
        let c = self.cfg.chain;
        let mut need: BTreeMap<TxHash, i64> = BTreeMap::new();
        for v in rows {
            let r: TokenRecord = self.decode("tokentx", v)?;
            let m = |e: String| self.malformed(format!("tokentx record {}: {e}", r.hash));
            let hash = records::tx_hash("hash", &r.hash).map_err(m)?;
            let time = records::time("timeStamp", &r.time_stamp).map_err(m)?;
            let token =
                evm_of(&records::addr(c, "contractAddress", &r.contract_address).map_err(m)?)?;
            if let Ok(d) = r.token_decimal.trim().parse::<u8>() {
                if !r.token_symbol.trim().is_empty() {
                    let mut t = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
                    t.entry(token)
                        .or_insert((r.token_symbol.trim().to_string(), d));
                }
            }
            if r.log_index.trim().is_empty() {
                need.insert(hash, time);
                continue;
            }
            let value = records::amount("value", &r.value).map_err(m)?;
            if value.is_zero() {
                continue;
            }
            let info = TxInfo {
                tx_index: records::index("transactionIndex", &r.transaction_index).map_err(m)?,
                success: true,
            };
            let block = records::num("blockNumber", &r.block_number).map_err(m)?;
            let log = records::index("logIndex", &r.log_index).map_err(m)?;
            let from = records::addr(c, "from", &r.from).map_err(m)?;
            let to = records::addr(c, "to", &r.to).map_err(m)?;
            out.push(Transfer {
                from: Some(from),
                to: Some(to),
                asset: AssetId::Token(token),
                amount: value,
                ..self.transfer(hash, SubIndex::Log(log), block, info, time)
            });
        }
        let missing: Vec<TxHash> = need
            .keys()
            .filter(|h| !receipts.contains_key(*h))
            .copied()
            .collect();
        receipts.extend(self.receipts(missing).await?);
        for (hash, time) in need {
            let r = &receipts[&hash];
            out.extend(
                self.log_transfers(hash, r, time)
                    .filter(|t| is(&t.from, a) || is(&t.to, a)),
            );
        }
        Ok(())
    }

    pub(super) fn log_transfers<'r>(
        &'r self,
        hash: TxHash,
        r: &'r Receipt,
        time: i64,
    ) -> impl Iterator<Item = Transfer> + 'r {
        let info = self.info_of(r);
        let block = r.block_number.to::<u64>();
        r.logs
            .iter()
            .filter_map(records::log_transfer)
            .map(move |(i, token, from, to, v)| Transfer {
                from: Some(Address::Evm(from)),
                to: Some(Address::Evm(to)),
                asset: AssetId::Token(token),
                amount: Amount(v),
                ..self.transfer(hash, SubIndex::Log(i), block, info, time)
            })
    }
}
