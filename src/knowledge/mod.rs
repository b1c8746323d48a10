//! The knowledge base: DPRK incidents, published estimates, attribution labels and USD prices.
//!
//! The curated part lives under `graphs/` and is embedded in the binary at build time
//! ([`catalog`]); a directory given with `--catalog` adds files or replaces embedded ones of
//! the same path. Labels from third-party files are imported into the store ([`labels`]).

pub mod catalog;
pub mod estimates;
pub mod incidents;
pub mod labels;
pub mod prices;

pub use catalog::{Catalog, CatalogError};
pub use estimates::Estimate;
pub use incidents::Incident;
pub use prices::{Price, PriceBook, PriceKind};
