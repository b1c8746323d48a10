//! Bridge events in the registry (THORChain router `Deposit` / `TransferOut`, Ren `LogBurn`;
//! their ABI decoding lives with the bridge logic in `trace::bridges::decode`), and the fetch
//! of a bridge contract's events that `--follow-bridges` needs: the inbound memos and burns
//! that name the destination on the other chain.

use alloy_primitives::B256;

use super::EventKind;
use crate::fetch::driver::{self, Window};
use crate::fetch::{FetchError, Source};
use crate::model::{Address, EventData};
use crate::store::{Checkpoint, Store};
use crate::trace::bridges::{TOPICS, decode_bridge_log};

/// Checkpoint kind of a bridge contract's events.
pub const KIND_BRIDGE_EVENTS: &str = "bridge-events";

fn decode(topics: &[B256], data: &[u8]) -> Result<EventData, String> {
    decode_bridge_log(topics, data)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "not a bridge event".to_string())
}

/// THORChain router `Deposit`.
pub const THOR_DEPOSIT: EventKind = EventKind {
    signature: "Deposit(address indexed to, address indexed asset, uint256 amount, string memo)",
    topic0: TOPICS[0],
    decode,
};
/// THORChain router `TransferOut`.
pub const THOR_TRANSFER_OUT: EventKind = EventKind {
    signature: "TransferOut(address indexed vault, address indexed to, address asset, uint256 amount, string memo)",
    topic0: TOPICS[1],
    decode,
};
/// Ren gateway `LogBurn`.
pub const REN_BURN: EventKind = EventKind {
    signature: "LogBurn(bytes _to, uint256 _amount, uint256 indexed _n, bytes indexed _indexedTo)",
    topic0: TOPICS[2],
    decode,
};

/// Fetch the bridge events `contract` emitted over `window` into `store`, in chunks committed
/// with a checkpoint (source, chain, contract, `bridge-events`); a re-run asks nothing for
/// finished chunks. Returns (events stored, chunks fetched), or `None` when the source cannot
/// read events.
pub async fn fetch_bridge_events(
    store: &mut Store,
    source: &dyn Source,
    contract: &Address,
    window: Window,
    chunk_blocks: u64,
) -> Result<Option<(u64, u64)>, FetchError> {
    let sid = source.id();
    let chain = source.chain();
    let key = contract.key();
    let done: Vec<(u64, u64)> = store
        .checkpoints(&sid, chain, &key, KIND_BRIDGE_EVENTS)?
        .iter()
        .filter(|c| c.complete)
        .map(|c| (c.from_block, c.to_block))
        .collect();
    let (chunks, _) = driver::plan(&done, window, chunk_blocks);
    let (mut stored, mut fetched) = (0u64, 0u64);
    for (a, b) in chunks {
        let events = match source.contract_events(contract, &TOPICS, a, b).await {
            Ok(v) => v,
            Err(FetchError::Unsupported(why)) => {
                tracing::warn!(%contract, "bridge events not read: {why}");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let mut w = store.writer()?;
        for e in &events {
            stored += w.insert_event(e)? as u64;
        }
        w.set_checkpoint(&Checkpoint {
            source: sid.clone(),
            chain,
            address: key.clone(),
            kind: KIND_BRIDGE_EVENTS.into(),
            from_block: a,
            to_block: b,
            cursor: None,
            complete: true,
        })?;
        w.commit()?;
        fetched += 1;
    }
    Ok(Some((stored, fetched)))
}
