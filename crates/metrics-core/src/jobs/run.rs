//! What a run did, as `metrics.metric_collection_log` records it: how it ended and its
//! counts, message and per-metric failures.

use serde_json::Value;

/// What kind of run a log row is about (`run_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunType {
    /// One day, collected once it has ended.
    Collect,
    /// A range of days.
    Backfill,
    /// A correction of sealed values.
    Recollect,
}

impl RunType {
    pub fn as_str(self) -> &'static str {
        match self {
            RunType::Collect => "collect",
            RunType::Backfill => "backfill",
            RunType::Recollect => "recollect",
        }
    }
}

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

/// The outcome of a run, as it is logged.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub status: Status,
    /// Values written by this run.
    pub recorded: i64,
    /// Values it found already sealed (or, for a correction, unchanged).
    pub already_sealed: i64,
    /// Values it could not compute.
    pub failed: i64,
    pub message: String,
    pub error_message: Option<String>,
    /// `{"failures": {category: {sqlstate, message, detail, hint}}}`.
    pub error_details: Option<Value>,
}
