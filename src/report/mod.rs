//! Reports: human-readable tables and machine-readable renderings of what the library computed.
//! Nothing here does network I/O; the exporters write files, the binary prints the strings.

pub mod graphml;
pub mod table;
pub mod text;
pub mod totals;
pub mod totals_out;
pub mod trace_out;
pub mod trace_tables;
pub mod usd;
