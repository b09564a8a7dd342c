//! Daily collection through pg_cron, when it is installed. pg_cron is optional and never a
//! dependency of the extension: it is looked up at call time.
//!
//! The functions are SECURITY DEFINER, so the job belongs to (and runs as) the extension's
//! owner, who may collect; the caller only needs EXECUTE on these functions.

use pgrx::prelude::*;

use crate::jobs::cron_expr::check_schedule;
use crate::pg::spi;
use crate::pg::raise::{raise, OrRaise};
use crate::common::problem::{required, Problem, SqlState};

/// The pg_cron job name; one daily collection job per database.
const JOB_NAME: &str = "metrics-daily-collection";
const JOB_COMMAND: &str = "SELECT * FROM metrics.collect_daily_metrics()";

fn require_pg_cron() {
    let installed = spi::value::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron')",
        &[],
    )
    .unwrap_or(false);
    if !installed {
        raise(
            Problem::new(SqlState::UndefinedObject, "pg_cron is not installed in this database")
                .detail("Scheduling the daily collection needs the pg_cron extension.")
                .hint("add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, then CREATE EXTENSION pg_cron; or call metrics.collect_daily_metrics() from any scheduler"),
        );
    }
}

/// Schedules `metrics.collect_daily_metrics()` with pg_cron; returns the job id. Calling it
/// again changes the schedule of the same job.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn schedule_daily_collection(schedule: default!(Option<String>, "'5 0 * * *'")) -> i64 {
    let schedule = required(schedule, "schedule").or_raise();
    check_schedule(&schedule).or_raise();
    require_pg_cron();
    spi::update(
        "SELECT cron.schedule($1, $2, $3)",
        &[JOB_NAME.into(), schedule.trim().into(), JOB_COMMAND.into()],
        |row| row.get::<i64>(1),
    )
    .pop()
    .flatten()
    .expect("cron.schedule returns the job id")
}

/// Removes the daily collection job; returns false when there was none.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn unschedule_daily_collection() -> bool {
    require_pg_cron();
    spi::update(
        "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = $1 AND username = current_user",
        &[JOB_NAME.into()],
        |row| row.get::<bool>(1),
    )
    .into_iter()
    .flatten()
    .any(|removed| removed)
}
