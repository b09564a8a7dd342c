//! The extension's pg_cron jobs, when pg_cron is installed: the daily collection
//! (`metrics-daily-collection`) and the maintenance job (`metrics-maintenance`, which
//! includes the catch-up collection). pg_cron is optional and never a dependency of the
//! extension: it is looked up at call time.
//!
//! The functions (`jobs::api`) are SECURITY DEFINER, so the jobs belong to (and run as) the
//! extension's owner, who may collect; the caller only needs EXECUTE on these functions.

use pgrx::prelude::*;

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::jobs::cron_expr::check_schedule;
use crate::jobs::maintenance::{DAILY_JOB, MAINTENANCE_JOB};
use crate::pg::spi::volatile as spi;

pub fn pg_cron_installed() -> bool {
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
        .detail("Scheduling the extension's jobs needs the pg_cron extension.")
        .hint("add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, then CREATE EXTENSION pg_cron; or call metrics.collect_daily_metrics() (or CALL metrics.run_maintenance()) from any scheduler"))
}

/// Schedules a job of the extension; returns its id. Again, it changes the same job.
fn schedule_job((name, command): (&str, &str), schedule: &str) -> Outcome<i64> {
    check_schedule(schedule)?;
    require_pg_cron()?;
    Ok(spi::value::<i64>(
        "SELECT cron.schedule($1, $2, $3)",
        &[name.into(), schedule.trim().into(), command.into()],
    )
    .expect("cron.schedule returns the job id"))
}

/// Removes a job of the extension that the current user scheduled; false when there was none.
fn unschedule_job(name: &str) -> bool {
    spi::rows(
        "SELECT cron.unschedule(jobid) FROM cron.job
         WHERE jobname = $1 AND username = current_user AND database = pg_catalog.current_database()",
        &[name.into()],
        |row| row.get::<bool>(1),
    )
    .into_iter()
    .flatten()
    .any(|removed| removed)
}

fn job_exists(name: &str) -> bool {
    spi::exists(
        "SELECT EXISTS (SELECT FROM cron.job WHERE jobname = $1 AND username = current_user
                        AND database = pg_catalog.current_database())",
        &[name.into()],
    )
}

/// Schedules the daily collection; returns the job id. Again, it changes the same job.
pub fn schedule(schedule: &str) -> Outcome<i64> {
    let id = schedule_job(DAILY_JOB, schedule)?;
    if job_exists(MAINTENANCE_JOB.0) {
        notice!("metrics: the maintenance job ({}) is scheduled too and already catches up the collection; metrics.unschedule_maintenance() removes it", MAINTENANCE_JOB.0);
    }
    Ok(id)
}

/// Removes the daily collection job; false when there was none.
pub fn unschedule() -> Outcome<bool> {
    require_pg_cron()?;
    Ok(unschedule_job(DAILY_JOB.0))
}

/// Schedules the maintenance job; returns its id. It includes the catch-up collection, so
/// the daily collection job of this database is removed (with a NOTICE saying so).
pub fn schedule_maintenance(schedule: &str) -> Outcome<i64> {
    let id = schedule_job(MAINTENANCE_JOB, schedule)?;
    if unschedule_job(DAILY_JOB.0) {
        notice!("metrics: the daily collection job ({}) was removed: the maintenance job collects every day it would have, and catches up missed ones", DAILY_JOB.0);
    }
    Ok(id)
}

/// Removes the maintenance job; false when there was none.
pub fn unschedule_maintenance() -> Outcome<bool> {
    require_pg_cron()?;
    Ok(unschedule_job(MAINTENANCE_JOB.0))
}

/// Removes the extension's pg_cron jobs in this database, whoever scheduled them (the drop
/// of the extension, which only its owner or a superuser can do, calls it).
pub fn remove_jobs() {
    if !pg_cron_installed() {
        return;
    }
    spi::run(
        "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = ANY($1) AND database = pg_catalog.current_database()",
        &[vec![DAILY_JOB.0, MAINTENANCE_JOB.0].into()],
    );
}
