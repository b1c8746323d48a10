//! What the cross-chain matching reads from the store (the one place it touches I/O): decoded
//! bridge events of every EVM chain, the Bitcoin transactions of every Bitcoin network (their
//! OP_RETURN memos and payments), the transfers out of bridge-labelled addresses, asset
//! metadata.

use std::collections::HashMap;

use crate::model::{Address, Asset, AssetId, Category, Chain, ContractEvent, EventData, Transfer};
use crate::store::{Store, StoreError, StoredUtxoTx};

/// A transfer out of a bridge-labelled address (the fallback's candidates).
#[derive(Debug, Clone)]
pub struct BridgeOutflow {
    /// The transfer.
    pub transfer: Transfer,
    /// The bridge entity of the sender's label.
    pub entity: String,
}

/// Everything the matching needs, for every chain in the store.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// THORChain router and Ren gateway events, every EVM chain, in chain order.
    pub events: Vec<ContractEvent>,
    /// Bitcoin transactions with their chain (network), in time order per chain.
    pub btc: Vec<(Chain, StoredUtxoTx)>,
    /// Transfers out of bridge-labelled addresses, every chain.
    pub outflows: Vec<BridgeOutflow>,
    /// Asset metadata (symbol, decimals) by (chain, asset).
    pub assets: HashMap<(Chain, AssetId), Asset>,
    /// Chains with transfers in the store.
    pub chains: Vec<Chain>,
}

impl Facts {
    /// Decimals of `asset` on `chain` (the chain's native decimals when unknown).
    pub fn decimals(&self, chain: Chain, asset: AssetId) -> u8 {
        self.assets.get(&(chain, asset)).map_or_else(
            || match asset {
                AssetId::Native => chain.native_decimals(),
                AssetId::Token(_) => 18,
            },
            |a| a.decimals,
        )
    }

    /// Symbol of `asset` on `chain`.
    pub fn symbol(&self, chain: Chain, asset: AssetId) -> String {
        self.assets.get(&(chain, asset)).map_or_else(
            || match asset {
                AssetId::Native => chain.native_symbol().to_string(),
                AssetId::Token(c) => c.to_checksum(None),
            },
            |a| a.symbol.clone(),
        )
    }
}

/// The text of a Bitcoin output script's OP_RETURN data (its pushes concatenated), if it is an
/// OP_RETURN output carrying UTF-8 text.
pub fn op_return_text(script: &[u8]) -> Option<String> {
    let s = bitcoin::Script::from_bytes(script);
    if !s.is_op_return() {
        return None;
    }
    let mut data = Vec::new();
    for i in s.instructions().skip(1) {
        match i.ok()? {
            bitcoin::script::Instruction::PushBytes(b) => data.extend_from_slice(b.as_bytes()),
            bitcoin::script::Instruction::Op(_) => return None,
        }
    }
    String::from_utf8(data).ok().filter(|t| !t.is_empty())
}

/// Read the facts of every chain in `store`.
pub fn load_facts(store: &Store) -> Result<Facts, StoreError> {
    let chains = store.chains()?;
    let mut f = Facts {
        chains: chains.clone(),
        ..Facts::default()
    };
    // bridge-labelled addresses: key → (label chain, entity)
    let mut bridges: HashMap<String, Vec<(Chain, String)>> = HashMap::new();
    for (l, _) in store.all_labels()? {
        if l.category == Category::Bridge {
            bridges
                .entry(l.address.key())
                .or_default()
                .push((l.chain, super::super::entity_of(&l)));
        }
    }
    let bridge_of = |chain: Chain, a: &Address| -> Option<String> {
        let ls = bridges.get(&a.key())?;
        ls.iter()
            .find(|(c, _)| *c == chain)
            .or_else(|| ls.iter().find(|(c, _)| c.is_evm() && chain.is_evm()))
            .map(|(_, e)| e.clone())
    };
    for &chain in &chains {
        if chain.is_bitcoin() {
            for tx in store.utxo_txs(chain)? {
                f.btc.push((chain, tx));
            }
        } else {
            f.events
                .extend(store.events(chain, &[])?.into_iter().filter(|e| {
                    matches!(
                        e.data,
                        EventData::ThorDeposit { .. }
                            | EventData::ThorTransferOut { .. }
                            | EventData::RenBurn { .. }
                    )
                }));
        }
        for t in store.transfers(chain)? {
            if let std::collections::hash_map::Entry::Vacant(v) = f.assets.entry((chain, t.asset))
                && let Some(a) = store.asset(chain, t.asset)?
            {
                v.insert(a);
            }
            let Some(from) = &t.from else { continue };
            if let Some(entity) = bridge_of(chain, from) {
                f.outflows.push(BridgeOutflow {
                    transfer: t,
                    entity,
                });
            }
        }
    }
    Ok(f)
}
