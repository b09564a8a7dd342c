//! Sealed history: once a daily value is recorded it never changes, except through
//! `metrics.recollect`, which keeps the previous value in `metrics.metric_revisions`.
//!
//! A trigger on `daily_metrics` (and on the revisions, which are an audit trail) refuses every
//! UPDATE, DELETE and TRUNCATE, even the owner's. `recollect` holds a permit, a flag in this
//! backend's memory that no SQL can set, while it runs its own UPDATE.

use std::sync::atomic::{AtomicBool, Ordering};

use pgrx::prelude::*;

use crate::common::problem::{Problem, SqlState};
use crate::pg::raise::raise;

static REVISION_PERMIT: AtomicBool = AtomicBool::new(false);

/// Clears the permit when the revision ends, also when it ends with an error.
struct Permit;

impl Drop for Permit {
    fn drop(&mut self) {
        REVISION_PERMIT.store(false, Ordering::SeqCst);
    }
}

/// Runs `work` with permission to update sealed rows.
pub fn with_revision_permit<R>(work: impl FnOnce() -> R) -> R {
    REVISION_PERMIT.store(true, Ordering::SeqCst);
    let _permit = Permit;
    work()
}

#[pg_trigger]
fn sealed_rows_guard<'a>(
    trigger: &'a PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, PgHeapTupleError> {
    let table = trigger
        .table_name()
        .unwrap_or_else(|_| "this table".to_string());
    let event = trigger.event();
    if table == "daily_metrics" && event.fired_by_update() && REVISION_PERMIT.load(Ordering::SeqCst)
    {
        return Ok(trigger.new());
    }
    let action = if event.fired_by_update() {
        "updated"
    } else if event.fired_by_delete() {
        "deleted"
    } else {
        "truncated"
    };
    let hint = if table == "daily_metrics" {
        "to correct a value, call metrics.recollect(target_date, categories, reason); it keeps the previous value in metrics.metric_revisions"
    } else {
        "revisions are an audit trail and are kept forever"
    };
    raise(
        Problem::new(
            SqlState::InsufficientPrivilege,
            format!("rows of metrics.{table} are sealed and cannot be {action}"),
        )
        .hint(hint),
    )
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use std::sync::atomic::Ordering;

    use pgrx::prelude::*;

    use super::{with_revision_permit, REVISION_PERMIT};

    #[pg_test]
    fn the_permit_ends_with_the_revision_even_on_error() {
        let outcome = crate::pg::subxact::isolated(|| {
            with_revision_permit(|| Spi::run("SELECT 1 / 0").unwrap())
        });
        assert!(outcome.is_err());
        assert!(!REVISION_PERMIT.load(Ordering::SeqCst));
    }
}
