//! Tornado Cash pool events, from the pools' real ABI (`Tornado.sol` of tornado-core):
//!
//! - `Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp)`
//! - `Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee)`
//!
//! Decoded with alloy's `sol!` (strict: wrong topic count, short data or dirty padding of the
//! `uint32` / `address` words are errors).

use alloy_primitives::B256;
use alloy_sol_types::SolEvent;

use super::EventKind;
use crate::model::EventData;

mod abi {
    alloy_sol_types::sol! {
        /// A note deposited into the pool.
        event Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp);
        /// A note withdrawn from the pool.
        event Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee);
    }
}

/// topic 0 of `Deposit(bytes32,uint32,uint256)`.
pub const DEPOSIT_TOPIC: B256 = abi::Deposit::SIGNATURE_HASH;
/// topic 0 of `Withdrawal(address,bytes32,address,uint256)`.
pub const WITHDRAWAL_TOPIC: B256 = abi::Withdrawal::SIGNATURE_HASH;
/// Both pool events' topics: what the frontier asks a pool for.
pub const TOPICS: [B256; 2] = [DEPOSIT_TOPIC, WITHDRAWAL_TOPIC];

/// The registry entry of `Deposit`.
pub const DEPOSIT: EventKind = EventKind {
    signature: "Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp)",
    topic0: DEPOSIT_TOPIC,
    decode: decode_deposit,
};

/// The registry entry of `Withdrawal`.
pub const WITHDRAWAL: EventKind = EventKind {
    signature: "Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee)",
    topic0: WITHDRAWAL_TOPIC,
    decode: decode_withdrawal,
};

fn decode_deposit(topics: &[B256], data: &[u8]) -> Result<EventData, String> {
    let e = abi::Deposit::decode_raw_log_validate(topics.iter().copied(), data)
        .map_err(|e| e.to_string())?;
    let timestamp = u64::try_from(e.timestamp)
        .map_err(|_| format!("timestamp {} does not fit 64 bits", e.timestamp))?;
    Ok(EventData::TornadoDeposit {
        commitment: e.commitment,
        leaf_index: e.leafIndex,
        timestamp,
    })
}

fn decode_withdrawal(topics: &[B256], data: &[u8]) -> Result<EventData, String> {
    let e = abi::Withdrawal::decode_raw_log_validate(topics.iter().copied(), data)
        .map_err(|e| e.to_string())?;
    Ok(EventData::TornadoWithdrawal {
        to: e.to,
        nullifier_hash: e.nullifierHash,
        relayer: e.relayer,
        fee: e.fee,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::events::{RawLog, TxFacts, decode};
    use crate::model::{Chain, TxHash};
    use alloy_primitives::{U256, address, b256, keccak256};

    fn word(v: u64) -> [u8; 32] {
        U256::from(v).to_be_bytes()
    }

    #[test]
    fn topics_are_the_keccak_of_the_signatures() {
        assert_eq!(DEPOSIT_TOPIC, keccak256("Deposit(bytes32,uint32,uint256)"));
        assert_eq!(
            WITHDRAWAL_TOPIC,
            keccak256("Withdrawal(address,bytes32,address,uint256)")
        );
        // the values on etherscan for the 0.1 ETH pool 0x12D66f87A04A9E220743712cE6d9bB1B5616B8Fc
        assert_eq!(
            DEPOSIT_TOPIC,
            b256!("a945e51eec50ab98c161376f0db4cf2aeba3ec92755fe2fcd388bdbbb80ff196")
        );
        assert_eq!(
            WITHDRAWAL_TOPIC,
            b256!("e9e508bad6d4c3227e881ca19068f099da81b5164dd6d62b2eaf1e8bc6c34931")
        );
    }

    fn log(topics: Vec<B256>, data: Vec<u8>) -> RawLog {
        RawLog {
            contract: address!("12D66f87A04A9E220743712cE6d9bB1B5616B8Fc"),
            tx: TxHash(B256::repeat_byte(0xab)),
            log_index: 7,
            block: 100,
            tx_index: 3,
            topics,
            data,
        }
    }

    #[test]
    fn decodes_deposit_and_withdrawal() {
        let commitment = B256::repeat_byte(0x11);
        let mut data = word(42).to_vec();
        data.extend(word(1_700_000_000));
        let e = decode(
            Chain::Evm(1),
            &log(vec![DEPOSIT_TOPIC, commitment], data),
            &TxFacts::default(),
        )
        .unwrap();
        assert_eq!(
            e.data,
            EventData::TornadoDeposit {
                commitment,
                leaf_index: 42,
                timestamp: 1_700_000_000
            }
        );
        let to = address!("00000000000000000000000000000000000000aa");
        let relayer = address!("00000000000000000000000000000000000000bb");
        let mut data = B256::left_padding_from(to.as_slice()).to_vec();
        data.extend(B256::repeat_byte(0x22));
        data.extend(word(10_000_000_000_000_000));
        let e = decode(
            Chain::Evm(1),
            &log(
                vec![
                    WITHDRAWAL_TOPIC,
                    B256::left_padding_from(relayer.as_slice()),
                ],
                data,
            ),
            &TxFacts::default(),
        )
        .unwrap();
        assert_eq!(
            e.data,
            EventData::TornadoWithdrawal {
                to,
                nullifier_hash: B256::repeat_byte(0x22),
                relayer,
                fee: U256::from(10_000_000_000_000_000u64)
            }
        );
        assert_eq!((e.log_index, e.block, e.tx_index), (7, 100, 3));
    }

    #[test]
    fn a_known_topic_with_bad_data_names_contract_tx_and_log_index() {
        for (topics, data) in [
            // short data
            (vec![DEPOSIT_TOPIC, B256::ZERO], word(1).to_vec()),
            // leafIndex beyond uint32 (dirty padding)
            (vec![DEPOSIT_TOPIC, B256::ZERO], {
                let mut d = word(u64::MAX).to_vec();
                d.extend(word(1));
                d
            }),
            // the indexed commitment missing
            (vec![DEPOSIT_TOPIC], vec![0; 64]),
        ] {
            let err = decode(Chain::Evm(1), &log(topics, data), &TxFacts::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("0x12D66f87A04A9E220743712cE6d9bB1B5616B8Fc"),
                "{err}"
            );
            assert!(
                err.contains(&format!("{:#x}", B256::repeat_byte(0xab))),
                "{err}"
            );
            assert!(err.contains("log 7"), "{err}");
            assert!(err.contains("Deposit(bytes32 indexed commitment"), "{err}");
        }
        let err = decode(
            Chain::Evm(1),
            &log(vec![B256::repeat_byte(9)], vec![]),
            &TxFacts::default(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            crate::fetch::events::DecodeError::Unknown { .. }
        ));
    }
}
