//! Bridge events decoded from their real ABI (alloy-sol-types `sol!`): the THORChain router's
//! `Deposit` and `TransferOut` (THORChain `ethereum/contracts/THORChain_Router.sol`) and Ren's
//! gateway `LogBurn` (renproject `gateway-sol`, `MintGatewayV2`/`BaseGateway`). The event
//! fetcher plugs [`decode_bridge_log`] and [`TOPICS`] in; the store keeps the decoded
//! [`EventData`].

use alloy_primitives::{B256, Bytes};
use alloy_sol_types::{SolEvent, sol};

use crate::model::EventData;

sol! {
    /// THORChain router: an inbound deposit to vault `to`.
    event Deposit(address indexed to, address indexed asset, uint256 amount, string memo);
    /// THORChain router: an outbound payment from `vault` to `to`.
    event TransferOut(address indexed vault, address indexed to, address asset, uint256 amount, string memo);
    /// Ren gateway: renAsset burnt to release the underlying to `_to` on its home chain.
    event LogBurn(bytes _to, uint256 _amount, uint256 indexed _n, bytes indexed _indexedTo);
}

/// topic0 of the events [`decode_bridge_log`] decodes: THORChain `Deposit`, THORChain
/// `TransferOut`, Ren `LogBurn`.
pub const TOPICS: [B256; 3] = [
    Deposit::SIGNATURE_HASH,
    TransferOut::SIGNATURE_HASH,
    LogBurn::SIGNATURE_HASH,
];

/// A log whose topic0 names a bridge event but whose topics / data do not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {event} log: {reason}")]
pub struct DecodeError {
    /// The event's signature.
    pub event: &'static str,
    /// The ABI decoder's reason.
    pub reason: String,
}

/// Decode one log: `Ok(None)` when topic0 is not a bridge event, an error when it is but the
/// log does not decode (wrong topic count, truncated data, invalid UTF-8 memo).
pub fn decode_bridge_log(topics: &[B256], data: &[u8]) -> Result<Option<EventData>, DecodeError> {
    let Some(t0) = topics.first() else {
        return Ok(None);
    };
    let err = |event: &'static str| {
        move |e: alloy_sol_types::Error| DecodeError {
            event,
            reason: e.to_string(),
        }
    };
    let topics = topics.iter().copied();
    Ok(Some(if *t0 == Deposit::SIGNATURE_HASH {
        let e = Deposit::decode_raw_log_validate(topics, data).map_err(err(Deposit::SIGNATURE))?;
        EventData::ThorDeposit {
            vault: e.to,
            asset: e.asset,
            amount: e.amount,
            memo: e.memo,
        }
    } else if *t0 == TransferOut::SIGNATURE_HASH {
        let e = TransferOut::decode_raw_log_validate(topics, data)
            .map_err(err(TransferOut::SIGNATURE))?;
        EventData::ThorTransferOut {
            vault: e.vault,
            to: e.to,
            asset: e.asset,
            amount: e.amount,
            memo: e.memo,
        }
    } else if *t0 == LogBurn::SIGNATURE_HASH {
        let e = LogBurn::decode_raw_log_validate(topics, data).map_err(err(LogBurn::SIGNATURE))?;
        EventData::RenBurn {
            to: ren_destination(&e._to),
            amount: e._amount,
            n: e._n,
        }
    } else {
        return Ok(None);
    }))
}

/// The destination of a burn as text: RenJS writes the address string's bytes (`bc1q…`); raw
/// bytes that are not printable text are kept as `0x…` hex (and then fail address validation,
/// which reports them).
pub fn ren_destination(to: &Bytes) -> String {
    match std::str::from_utf8(to) {
        Ok(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()) => s.to_string(),
        _ => format!("{to:#x}"),
    }
}

/// Encode `e` as the (topics, data) a contract emitting it writes (tests, fixtures).
pub fn encode_bridge_log(e: &EventData) -> Option<(Vec<B256>, Vec<u8>)> {
    let log = match e {
        EventData::ThorDeposit {
            vault,
            asset,
            amount,
            memo,
        } => Deposit {
            to: *vault,
            asset: *asset,
            amount: *amount,
            memo: memo.clone(),
        }
        .encode_log_data(),
        EventData::ThorTransferOut {
            vault,
            to,
            asset,
            amount,
            memo,
        } => TransferOut {
            vault: *vault,
            to: *to,
            asset: *asset,
            amount: *amount,
            memo: memo.clone(),
        }
        .encode_log_data(),
        EventData::RenBurn { to, amount, n } => {
            let b = Bytes::copy_from_slice(to.as_bytes());
            LogBurn {
                _to: b.clone(),
                _amount: *amount,
                _n: *n,
                _indexedTo: alloy_primitives::keccak256(&b),
            }
            .encode_log_data()
        }
        _ => return None,
    };
    Some((log.topics().to_vec(), log.data.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{U256, address};

    #[test]
    fn topics_are_the_keccak_of_the_real_signatures() {
        let k = |s: &str| alloy_primitives::keccak256(s.as_bytes());
        assert_eq!(TOPICS[0], k("Deposit(address,address,uint256,string)"));
        assert_eq!(
            TOPICS[1],
            k("TransferOut(address,address,address,uint256,string)")
        );
        assert_eq!(TOPICS[2], k("LogBurn(bytes,uint256,uint256,bytes)"));
    }

    #[test]
    fn round_trip_and_errors() {
        let vault = address!("00000000000000000000000000000000000000aa");
        for e in [
            EventData::ThorDeposit {
                vault,
                asset: alloy_primitives::Address::ZERO,
                amount: U256::from(5u64),
                memo: "=:b:bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh".into(),
            },
            EventData::ThorTransferOut {
                vault,
                to: address!("00000000000000000000000000000000000000bb"),
                asset: alloy_primitives::Address::ZERO,
                amount: U256::from(7u64),
                memo: "OUT:0000000000000000000000000000000000000000000000000000000000000001".into(),
            },
            EventData::RenBurn {
                to: "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh".into(),
                amount: U256::from(100_000u64),
                n: U256::from(9u64),
            },
        ] {
            let (t, d) = encode_bridge_log(&e).unwrap();
            assert_eq!(decode_bridge_log(&t, &d).unwrap(), Some(e.clone()));
            // truncated data, missing indexed topic
            assert!(decode_bridge_log(&t, &d[..d.len() - 32]).is_err());
            assert!(decode_bridge_log(&t[..t.len() - 1], &d).is_err());
        }
        assert_eq!(decode_bridge_log(&[B256::ZERO], &[]).unwrap(), None);
        assert_eq!(decode_bridge_log(&[], &[]).unwrap(), None);
    }
}
