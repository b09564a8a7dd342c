//! The SQL functions of jobs: scheduling the daily collection with pg_cron.

use pgrx::prelude::*;

use crate::common::problem::required;
use crate::jobs::schedule::{schedule as schedule_job, unschedule};
use crate::pg::raise::OrRaise;

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
