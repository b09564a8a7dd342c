//! `metrics`: sealed daily snapshots of any metric over any table, and hourly request and
//! operation metrics, collected and queried inside PostgreSQL.
//!
//! This file only wires. One folder per subsystem: `snapshots`, `requests`, `jobs`, `maintenance`, `github`
//! (development metrics: GitHub events and the DORA keys), and `pg`,
//! the PostgreSQL glue they all stand on. The pure logic of every subsystem lives in the
//! `metrics-core` crate (`crates/metrics-core`), which has no pgrx dependency; each folder
//! here re-exports its part of it, so `crate::snapshots::definition` is the pure model and
//! `crate::snapshots::registry` its PostgreSQL face. The access levels, policies and
//! `verify_security` are SQL (`sql/access/`).

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

pub use metrics_core::common;

mod github;
mod jobs;
mod maintenance;
mod pg;
mod readmodel;
mod requests;
mod snapshots;

// The order of the SQL files: tables first, then the functions pgrx generates, then what
// needs both; the policies and grants last, when every object exists.
extension_sql_file!(
    "../sql/snapshots/tables.sql",
    name = "snapshot_tables",
    bootstrap
);
extension_sql_file!(
    "../sql/projects/tables.sql",
    name = "project_tables",
    requires = ["snapshot_tables", "request_tables"]
);
extension_sql_file!(
    "../sql/projects/membership.sql",
    name = "project_membership",
    requires = ["project_tables"]
);
extension_sql_file!(
    "../sql/snapshots/sealing.sql",
    name = "sealing",
    requires = [snapshots::seal::sealed_rows_guard]
);
extension_sql_file!(
    "../sql/snapshots/current.sql",
    name = "current_metrics",
    requires = ["snapshot_tables"]
);
extension_sql_file!(
    "../sql/snapshots/backfill_chunked.sql",
    name = "backfill_chunked",
    requires = [
        snapshots::api::backfill_daily_metrics,
        snapshots::api::last_closed_day,
        snapshots::api::_can_commit
    ]
);
extension_sql_file!(
    "../sql/snapshots/protect.sql",
    name = "protect_history",
    requires = ["sealing"]
);
extension_sql_file!(
    "../sql/requests/tables.sql",
    name = "request_tables",
    requires = ["snapshot_tables"]
);
extension_sql_file!(
    "../sql/requests/unfolded.sql",
    name = "request_unfolded",
    requires = [
        "request_tables",
        "project_tables",
        requests::api::latency_sketch_of
    ]
);
extension_sql_file!(
    "../sql/requests/batches.sql",
    name = "request_batches",
    requires = ["request_tables"]
);
extension_sql_file!(
    "../sql/requests/aggregates.sql",
    name = "request_aggregates",
    requires = [requests::api::merge_latency_sketch]
);
extension_sql_file!(
    "../sql/maintenance/tables.sql",
    name = "maintenance_tables",
    requires = ["request_tables"]
);
extension_sql_file!(
    "../sql/maintenance/alerts.sql",
    name = "alert_tables",
    requires = ["maintenance_tables"]
);
extension_sql_file!(
    "../sql/maintenance/run.sql",
    name = "maintenance_run",
    requires = [
        "maintenance_tables",
        snapshots::api::_can_commit,
        jobs::api::_maintenance_begin,
        jobs::api::_maintenance_catch_up,
        jobs::api::_maintenance_compact,
        jobs::api::_maintenance_prune,
        jobs::api::_maintenance_alerts,
        jobs::api::_maintenance_read_model,
        jobs::api::_maintenance_end
    ]
);
extension_sql_file!(
    "../sql/github/tables.sql",
    name = "github_tables",
    requires = ["maintenance_tables"]
);
extension_sql_file!(
    "../sql/github/read.sql",
    name = "github_read",
    requires = ["github_tables", github::api::_default_environment_tier]
);
extension_sql_file!(
    "../sql/readmodel/tables.sql",
    name = "readmodel_tables",
    requires = ["project_tables"]
);
extension_sql_file!(
    "../sql/readmodel/api.sql",
    name = "readmodel_api",
    requires = ["request_tables", "project_tables"]
);
extension_sql_file!(
    "../sql/readmodel/state.sql",
    name = "readmodel_state",
    requires = ["readmodel_tables"]
);
extension_sql_file!(
    "../sql/access/levels.sql",
    name = "access_levels",
    requires = [
        "snapshot_tables",
        "request_tables",
        "request_unfolded",
        "request_batches",
        "maintenance_tables",
        "alert_tables",
        "maintenance_run",
        "github_tables",
        "github_read",
        "project_membership",
        "readmodel_tables",
        "readmodel_state"
    ]
);
extension_sql_file!(
    "../sql/access/admin.sql",
    name = "access_admin",
    requires = ["access_levels"]
);
extension_sql_file!(
    "../sql/access/verify.sql",
    name = "access_verify",
    requires = ["access_admin", "protect_history"]
);
extension_sql_file!(
    "../sql/access/policies.sql",
    name = "access_policies",
    finalize
);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    pg::raise::keep_backtraces_out_of_reports();
    pg::guc::register();
    maintenance::settings::register();
    github::settings::register();
    requests::buffer::init();
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
