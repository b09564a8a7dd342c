//! Daily snapshots, the pure part: what a metric definition is and the rules it must satisfy
//! (`definition`), the ready-made sets (`presets`), the set-based SQL that computes every day
//! of a range (`statements`), and the roll-up of sealed days into weeks and months (`rollup`).

pub mod definition;
pub mod presets;
pub mod rollup;
pub mod statements;
