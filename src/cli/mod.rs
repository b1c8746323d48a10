//! The commands of the command line that need more than a few lines, one module each: flags
//! (clap), then a call into the library and the printing of its result.

pub(crate) mod bridges;
pub(crate) mod btc;
pub(crate) mod demo;
pub(crate) mod fetch;
pub(crate) mod import;
pub(crate) mod prices;
pub(crate) mod report;
pub(crate) mod reproduce;
pub(crate) mod screen;
pub(crate) mod totals;
pub(crate) mod trace;
