//! Reports: human-readable tables and machine-readable renderings of what the library computed.
//! Nothing here does I/O beyond building strings; the binary prints them.

pub mod graphml;
pub mod text;
pub mod trace_out;
