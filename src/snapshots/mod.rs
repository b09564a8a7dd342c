//! Daily snapshots: sealed per-day values of metrics defined over any table.
//!
//! The pure model is `metrics_core::snapshots`, re-exported here: kinds, definitions,
//! presets, the statements that compute a day range, the tally of a run, the roll-up into
//! weeks and months, the argument checks and sparklines. Its PostgreSQL face: the definitions as rows
//! (`registry`), filters checked by PostgreSQL's parser (`filter`), the collection engine
//! (`collect`), corrections (`revise`), the seal on sealed rows (`seal`), the read side
//! (`read`), and the SQL functions (`api`).

pub use metrics_core::snapshots::{
    checks, definition, distinct_sketch, filter_policy, kind, presets, rollup, sparkline,
    statements, tally,
};

pub mod api;
pub mod collect;
pub mod distinct;
pub mod filter;
pub mod layout;
// The read model (`src/readmodel`) calls it for the open buckets.
#[allow(dead_code)]
pub mod live;
pub mod protect;
pub mod read;
pub mod registry;
pub mod revise;
pub mod seal;
