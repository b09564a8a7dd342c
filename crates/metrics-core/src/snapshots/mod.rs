//! Daily snapshots, the pure part: the kinds of metric (`kind`), what a definition is and the
//! rules it must satisfy (`definition`), which built-ins a filter may call (`filter_policy`),
//! the ready-made sets (`presets`), the set-based SQL that computes every day of a range
//! (`statements`), what a run did (`tally`), the roll-up of sealed days into weeks and months
//! (`rollup`), the argument checks of the read and correction functions (`checks`), and the
//! mergeable distinct-count sketch that weeks and months of distinct metrics are counted
//! with (`distinct_sketch`), and the day's sorted values that weeks and months of percentiles
//! are computed from exactly (`percentile`), and a series drawn as a line of text (`sparkline`).

pub mod checks;
pub mod definition;
pub mod distinct_sketch;
pub mod filter_policy;
pub mod kind;
pub mod percentile;
pub mod presets;
pub mod rollup;
pub mod sparkline;
pub mod statements;
pub mod tally;
