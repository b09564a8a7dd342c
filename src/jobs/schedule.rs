//! Daily collection through pg_cron, when it is installed. pg_cron is optional and never a
//! dependency of the extension: it is looked up at call time.
//!
//! The functions (`jobs::api`) are SECURITY DEFINER, so the job belongs to (and runs as) the
//! extension's owner, who may collect; the caller only needs EXECUTE on these functions.

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::jobs::cron_expr::check_schedule;
use crate::pg::spi::volatile as spi;

/// The pg_cron job name; one daily collection job per database.
const JOB_NAME: &str = "metrics-daily-collection";
const JOB_COMMAND: &str = "SELECT * FROM metrics.collect_daily_metrics()";

fn pg_cron_installed() -> bool {
    spi::exists(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron')",
        &[],
    )
}

fn require_pg_cron() -> Outcome<()> {
    if pg_cron_installed() {
        return Ok(());
    }
    Err(Problem::new(SqlState::UndefinedObject, "pg_cron is not installed in this database")
        .detail("Scheduling the daily collection needs the pg_cron extension.")
        .hint("add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, then CREATE EXTENSION pg_cron; or call metrics.collect_daily_metrics() from any scheduler"))
}

/// Schedules the daily collection; returns the job id. Again, it changes the same job.
pub fn schedule(schedule: &str) -> Outcome<i64> {
    check_schedule(schedule)?;
    require_pg_cron()?;
    Ok(spi::value::<i64>(
        "SELECT cron.schedule($1, $2, $3)",
        &[JOB_NAME.into(), schedule.trim().into(), JOB_COMMAND.into()],
    )
    .expect("cron.schedule returns the job id"))
}

/// Removes the daily collection job; false when there was none.
pub fn unschedule() -> Outcome<bool> {
    require_pg_cron()?;
    Ok(spi::rows(
        "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = $1 AND username = current_user",
        &[JOB_NAME.into()],
        |row| row.get::<bool>(1),
    )
    .into_iter()
    .flatten()
    .any(|removed| removed))
}

/// Removes the extension's pg_cron jobs in this database, whoever scheduled them (the drop
/// of the extension, which only its owner or a superuser can do, calls it).
pub fn remove_jobs() {
    if !pg_cron_installed() {
        return;
    }
    spi::run(
        "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = $1 AND database = pg_catalog.current_database()",
        &[JOB_NAME.into()],
    );
}
