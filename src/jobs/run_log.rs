//! `metrics.metric_collection_log`: one row per collection, backfill or correction run,
//! written `running` at the start and closed with its outcome.

use chrono::NaiveDate;
use serde_json::Value;

use crate::pg::spi::{self, pg_date};
use crate::pg::identity;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every metric computed; something new was sealed.
    Completed,
    /// Some metrics failed, the others were recorded.
    Partial,
    /// Every metric failed.
    Failed,
    /// Nothing to do: everything was already sealed, or nothing is defined.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Partial => "partial",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// Opens a log row; returns its id.
pub fn open(run_type: &str, start: NaiveDate, end: NaiveDate, timezone: &str) -> String {
    spi::update(
        "INSERT INTO metrics.metric_collection_log
             (collection_date, range_end, run_type, started_at, status, timezone, executed_by)
         VALUES ($1, $2, $3, pg_catalog.clock_timestamp(), 'running', $4, $5)
         RETURNING id::text",
        &[
            pg_date(start).into(),
            pg_date(end).into(),
            run_type.into(),
            timezone.into(),
            identity::caller_name().into(),
        ],
        |row| Ok(row.get::<String>(1)?.unwrap_or_default()),
    )
    .pop()
    .expect("INSERT ... RETURNING returns the row")
}

/// The outcome of a run, as it is logged.
pub struct Outcome {
    pub status: Status,
    pub recorded: i64,
    pub already_sealed: i64,
    pub failed: i64,
    pub message: String,
    pub error_message: Option<String>,
    pub error_details: Option<Value>,
}

pub fn close(id: &str, outcome: &Outcome) {
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
