//! Reports: human-readable tables and machine-readable renderings of what the library computed.
//! Nothing here does I/O beyond building strings, except reading a trace directory back
//! ([`view::TraceView`]) and writing its graph exports ([`exports`]).

pub mod budget;
pub mod dot;
pub mod estimate_line;
pub mod exports;
pub mod gexf;
pub mod graphml;
pub mod html;
pub mod markdown;
pub mod nodelink;
pub mod palette;
pub mod report_json;
pub mod table;
pub mod text;
pub mod totals;
pub mod totals_out;
pub mod trace_out;
pub mod trace_tables;
pub mod usd;
pub mod view;
mod view_files;
mod view_flows;
