//! `metrics.metric_collection_log`: one row per collection, backfill or correction run,
//! written `running` at the start and closed with its outcome.

use chrono::NaiveDate;

use crate::jobs::run::{RunOutcome, RunType};
use crate::pg::datum::pg_date;
use crate::pg::identity;
use crate::pg::spi::{not_null, volatile as spi};

/// Opens a log row; returns its id.
pub fn open(run_type: RunType, start: NaiveDate, end: NaiveDate, timezone: &str) -> String {
    spi::rows(
        "INSERT INTO metrics.metric_collection_log
             (collection_date, range_end, run_type, started_at, status, timezone, executed_by)
         VALUES ($1, $2, $3, pg_catalog.clock_timestamp(), 'running', $4, $5)
         RETURNING id::text",
        &[
            pg_date(start).into(),
            pg_date(end).into(),
            run_type.as_str().into(),
            timezone.into(),
            identity::caller_name().into(),
        ],
        |row| not_null(row, 1),
    )
    .pop()
    .expect("INSERT ... RETURNING returns the row")
}

/// Closes a log row with what the run did.
pub fn close(id: &str, outcome: &RunOutcome) {
    spi::run(
        "UPDATE metrics.metric_collection_log
         SET completed_at = pg_catalog.clock_timestamp(), status = $2, metrics_collected = $3,
             metrics_skipped = $4, metrics_failed = $5, message = $6, error_message = $7, error_details = $8::jsonb
         WHERE id = $1::uuid",
        &[
            id.into(),
            outcome.status.as_str().into(),
            (outcome.recorded as i32).into(),
            (outcome.already_sealed as i32).into(),
            (outcome.failed as i32).into(),
            outcome.message.as_str().into(),
            outcome.error_message.clone().into(),
            outcome.error_details.as_ref().map(|v| v.to_string()).into(),
        ],
    );
}
