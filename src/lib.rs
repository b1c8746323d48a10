//! moneytrail follows stolen crypto through the blockchain.
//!
//! Data flows one way (see `docs/layout.md`):
//! fetch (chains, APIs, files) → [`store`] (SQLite) → graph → trace (taint models) → report.
//! This crate holds the library; `src/main.rs` is only the command line.
#![warn(missing_docs)]

pub mod demo;
pub mod fetch;
pub mod graph;
pub mod knowledge;
pub mod model;
pub mod report;
pub mod screen;
pub mod store;
pub mod trace;
