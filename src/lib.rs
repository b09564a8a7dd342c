//! `metrics`: sealed daily snapshots of any metric over any table, collected and queried
//! inside PostgreSQL.
//!
//! This file only wires the modules together and declares the order of the SQL files.
//! Pure logic (no pgrx types, tested with `cargo test`): `problem`, `calendar`, `definition`,
//! `planner`, `rollup`, `cron_expr`, `presets`. The PostgreSQL surface: `settings`,
//! `definitions`, `collector`, `query`, `schedule`, `sealing`, with `catalog`, `filter`,
//! `identity`, `subxact`, `run_log`, `db` and `errors` underneath.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

// Pure logic.
mod calendar;
mod cron_expr;
mod definition;
mod planner;
mod presets;
mod problem;
mod rollup;

// PostgreSQL surface.
mod catalog;
mod collector;
mod db;
mod definitions;
mod errors;
mod filter;
mod identity;
mod query;
mod run_log;
mod schedule;
mod sealing;
mod settings;
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
extension_sql_file!("../sql/access.sql", name = "access", requires = ["tables"]);
extension_sql_file!("../sql/security.sql", name = "security", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    errors::keep_backtraces_out_of_reports();
    settings::register();
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
