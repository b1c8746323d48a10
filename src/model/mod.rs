//! The core model: chains, validated addresses, assets, exact amounts, transfers and UTXOs.
//!
//! Everything that crosses the edge of the program (command line, files, HTTP answers) is
//! parsed into these types first; the rest of the code never sees an unvalidated address or a
//! floating-point amount.

mod address;
mod amount;
mod asset;
mod chain;
mod event;
mod label;
mod transfer;
mod utxo;

pub use address::{Address, AddressError};
pub use amount::{Amount, AmountError};
pub use asset::{Asset, AssetId};
pub use chain::{BitcoinNetwork, Chain, ChainError};
pub use event::{ContractEvent, EventData};
pub use label::{CATEGORIES, Category, CategoryError, Label, confidence_from_id};
pub use transfer::{SubIndex, SubIndexError, Transfer, TransferKind, TxHash, TxHashError};
pub use utxo::{OutPoint, Spend, TxOutput};
