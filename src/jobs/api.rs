//! The SQL functions of jobs: the pg_cron jobs (the daily collection, the maintenance job)
//! and the steps of `metrics.run_maintenance()` (a procedure in `sql/maintenance/run.sql`).

use pgrx::prelude::*;
use pgrx::Uuid;

use crate::common::problem::{required, Problem, SqlState};
use crate::jobs::ledger;
use crate::jobs::schedule::{self, schedule as schedule_job, unschedule};
use crate::jobs::steps;
use crate::pg::raise::{raise, OrRaise};

/// Schedules `metrics.collect_daily_metrics()` with pg_cron; returns the job id. Calling it
/// again changes the schedule of the same job.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_daily_collection(schedule: default!(Option<String>, "'5 0 * * *'")) -> i64 {
    let text = required(schedule, "schedule").or_raise();
    schedule_job(&text).or_raise()
}

/// Removes the daily collection job; returns false when there was none.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn unschedule_daily_collection() -> bool {
    unschedule().or_raise()
}

/// Schedules `CALL metrics.run_maintenance()` with pg_cron (job `metrics-maintenance`);
/// returns the job id. It replaces the daily collection job, whose work it includes.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_maintenance(schedule: default!(Option<String>, "'5 0 * * *'")) -> i64 {
    let text = required(schedule, "schedule").or_raise();
    schedule::schedule_maintenance(&text).or_raise()
}

/// Removes the maintenance job; returns false when there was none.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn unschedule_maintenance() -> bool {
    schedule::unschedule_maintenance().or_raise()
}

/// Starts a maintenance run: its id, or NULL when another run is working (recorded as
/// skipped). Called by `metrics.run_maintenance()`.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn _maintenance_begin() -> Option<Uuid> {
    ledger::begin()
}

/// The catch-up collection of a run; returns the step's status.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn _maintenance_catch_up(run_id: Option<Uuid>) -> String {
    let run_id = ledger::check_run(run_id).or_raise();
    steps::catch_up(run_id)
}

/// The alerts of a run (`metrics.check_alerts()`, as the owner); returns the step's status.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn _maintenance_alerts(run_id: Option<Uuid>) -> String {
    let run_id = ledger::check_run(run_id).or_raise();
    steps::alerts(run_id)
}

/// Compacts one unit for a run; true when there may be more.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn _maintenance_compact(run_id: Option<Uuid>) -> bool {
    let run_id = ledger::check_run(run_id).or_raise();
    steps::compact(run_id)
}

/// Prunes one batch of old log rows for a run; true when there may be more.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn _maintenance_prune(run_id: Option<Uuid>, batch_size: default!(Option<i32>, "10000")) -> bool {
    let run_id = ledger::check_run(run_id).or_raise();
    let batch = required(batch_size, "batch_size").or_raise();
    if !(1..=1_000_000).contains(&batch) {
        raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                format!("batch_size must be between 1 and 1000000, not {batch}"),
            )
            .hint("each batch is committed on its own; the default is 10000 rows"),
        );
    }
    steps::prune(run_id, batch)
}

/// Refreshes the read model of one project for a run; true when there may be more.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn _maintenance_read_model(run_id: Option<Uuid>) -> bool {
    let run_id = ledger::check_run(run_id).or_raise();
    steps::read_model(run_id)
}

/// Ends a run: its status follows its steps'.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn _maintenance_end(run_id: Option<Uuid>) -> String {
    let run_id = ledger::check_run(run_id).or_raise();
    ledger::end(run_id)
}
