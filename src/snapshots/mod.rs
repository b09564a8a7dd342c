//! Daily snapshots: sealed per-day values of metrics defined over any table.
//!
//! The pure model comes from `metrics_core::snapshots` (definitions, presets, the statements
//! that compute a day range, the roll-up into weeks and months). Here is its PostgreSQL face:
//! the definitions as rows (`registry`), filters checked by PostgreSQL's parser (`filter`),
//! the collection engine (`collect`), the seal on sealed rows (`seal`) and the read side
//! (`read`).

pub use metrics_core::snapshots::{definition, presets, rollup, statements};

pub mod collect;
pub mod filter;
pub mod read;
pub mod registry;
pub mod seal;
