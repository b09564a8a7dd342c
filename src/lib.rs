//! `metrics`: sealed daily snapshots of any metric over any table, collected and queried
//! inside PostgreSQL.
//!
//! This file only wires the modules together and declares the order of the SQL files.
//! Pure logic (no pgrx types, tested with `cargo test`): `problem`, `calendar`, `definition`,
//! `planner`, `rollup`, `cron_expr`, `presets`, and for request metrics `ingest` and `sketch`.
//! The PostgreSQL surface: `settings`, `definitions`, `collector`, `query`, `schedule`,
//! `sealing`; for request metrics `recorder`, `reports`, `latency`, with `store` and `buffer`
//! (shared memory and its background worker); and `catalog`, `filter`, `identity`,
//! `subxact`, `run_log`, `db` and `errors` underneath.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

// Pure logic.
mod calendar;
mod cron_expr;
mod definition;
mod ingest;
mod planner;
mod presets;
mod problem;
mod rollup;
mod sketch;

// PostgreSQL surface.
mod buffer;
mod catalog;
mod collector;
mod db;
mod definitions;
mod errors;
mod filter;
mod identity;
mod latency;
mod query;
mod recorder;
mod reports;
mod run_log;
mod schedule;
mod sealing;
mod settings;
mod store;
mod subxact;

// Tables first, then the functions pgrx generates, then what needs both.
extension_sql_file!("../sql/tables.sql", name = "tables", bootstrap);
extension_sql_file!(
    "../sql/sealing.sql",
    name = "sealing",
    requires = [sealing::sealed_rows_guard]
);
extension_sql_file!("../sql/read_api.sql", name = "read_api");
extension_sql_file!(
    "../sql/procedures.sql",
    name = "procedures",
    requires = [collector::backfill_daily_metrics, query::last_closed_day]
);
extension_sql_file!(
    "../sql/observability.sql",
    name = "observability",
    requires = [latency::merge_latency_sketch]
);
extension_sql_file!("../sql/access.sql", name = "access", requires = ["tables"]);
extension_sql_file!("../sql/security.sql", name = "security", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    errors::keep_backtraces_out_of_reports();
    settings::register();
    buffer::init();
}

/// Required by `cargo pgrx test` for the `#[pg_test]` functions of the modules.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
