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
    // bridge-labelled addresses: (label chain, address, entity)
    let mut bridges: Vec<(Chain, Address, String)> = Vec::new();
    for (l, _) in store.all_labels()? {
        if l.category == Category::Bridge {
            let entity = super::super::entity_of(&l);
            bridges.push((l.chain, l.address, entity));
        }
    }
    let mut want_assets: Vec<(Chain, AssetId)> = Vec::new();
    for &chain in &chains {
        if chain.is_bitcoin() {
            for tx in store.utxo_txs(chain)? {
                f.btc.push((chain, tx));
            }
        } else {
            for e in store.events(chain, &[])? {
                match &e.data {
                    EventData::ThorTransferOut { asset, .. } if !asset.is_zero() => {
                        want_assets.push((chain, AssetId::Token(*asset)));
                        f.events.push(e);
                    }
                    EventData::ThorDeposit { .. }
                    | EventData::ThorTransferOut { .. }
                    | EventData::RenBurn { .. } => f.events.push(e),
                    _ => {}
                }
            }
        }
        // the outflows of the bridge addresses that apply on this chain (a label of another
        // EVM chain applies to the same address when this chain has none for it)
        let mut seen = std::collections::HashSet::new();
        for (lc, addr, entity) in &bridges {
            let exact = *lc == chain;
            let evm_fallback = lc.is_evm()
                && chain.is_evm()
                && !bridges.iter().any(|(c, a, _)| *c == chain && a == addr);
            if !(exact || evm_fallback) || !seen.insert(addr.clone()) {
                continue;
            }
            if chain.is_bitcoin() != matches!(addr, Address::Bitcoin { .. }) {
                continue;
            }
            for t in store.transfers_of(chain, addr)? {
                if t.from.as_ref() == Some(addr) {
                    want_assets.push((chain, t.asset));
                    f.outflows.push(BridgeOutflow {
                        transfer: t,
                        entity: entity.clone(),
                    });
                }
            }
        }
    }
    for (chain, id) in want_assets {
        if let std::collections::hash_map::Entry::Vacant(v) = f.assets.entry((chain, id))
            && let Some(a) = store.asset(chain, id)?
        {
            v.insert(a);
        }
    }
    Ok(f)
}
