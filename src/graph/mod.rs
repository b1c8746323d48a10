//! Graphs over the stored transfers: the flow graph the trace replays, exchange deposit-address
//! detection, and (Bitcoin) address clustering.

pub mod cluster;
pub mod deposit;
pub mod flow;

pub use flow::{Flow, FlowGraph, NONE};
