//! Sealed history: once a daily value is recorded it never changes, except through
//! `metrics.recollect`, which keeps the previous value in `metrics.metric_revisions`.
//!
//! A trigger on `daily_metrics` (and on the revisions, which are an audit trail) refuses every
//! UPDATE, DELETE and TRUNCATE, even the owner's. `recollect` holds a permit, a flag in this
//! backend's memory that no SQL can set, while it runs its own UPDATE. An INSERT is accepted
//! only for a day that has ended in `metrics.timezone`. The triggers are `ENABLE ALWAYS`, so
//! `session_replication_role = replica` does not turn them off; the one writer they let past
//! is logical replication's apply worker updating a row, which replays a revision the
//! publisher's seal allowed.

use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};

use pgrx::datum::Date;
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::common::problem::{Problem, SqlState};
use crate::pg::datum::stored_date;
use crate::pg::guc;
use crate::pg::raise::raise;
use crate::snapshots::read::last_closed_day_in_zone;

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
    if table == "daily_metrics" && event.fired_by_insert() {
        let new = trigger.new().expect("an INSERT row trigger has a new row");
        // A NULL date is left to the NOT NULL constraint, which is checked after this trigger.
        if let Some(date) = new.get_by_name::<Date>("metric_date").ok().flatten() {
            check_closed_day(date);
        }
        return Ok(Some(new));
    }
    if table == "daily_metrics"
        && event.fired_by_update()
        && (REVISION_PERMIT.load(Ordering::SeqCst) || is_replication_apply_worker())
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

/// Refuses a sealed row for a day that has not ended yet in `metrics.timezone`.
fn check_closed_day(date: Date) {
    let day = stored_date(date);
    let last_closed = last_closed_day_in_zone();
    if day <= last_closed {
        return;
    }
    raise(
        Problem::new(
            SqlState::CheckViolation,
            format!("cannot seal a value for {day}: that day has not ended in {}", guc::timezone()),
        )
        .detail(format!("Sealed values are written only for days that have ended; the last one is {last_closed}."))
        .hint("collect a day after it has ended: metrics.collect_daily_metrics() collects metrics.last_closed_day()"),
    )
}

/// Whether this process is a logical replication apply (or table sync) worker, which applies
/// what the publisher's own seal already checked. A background worker's entry point is named
/// by its library and function; only PostgreSQL's own workers have library "postgres".
fn is_replication_apply_worker() -> bool {
    // SAFETY: MyBgworkerEntry is null outside background workers, and points at this
    // worker's registration (with NUL-terminated names) inside one.
    unsafe {
        let entry = pg_sys::MyBgworkerEntry;
        // Apply workers run with session_replication_role = replica.
        let replica =
            pg_sys::SessionReplicationRole == pg_sys::SESSION_REPLICATION_ROLE_REPLICA as i32;
        if entry.is_null() || !replica {
            return false;
        }
        let library = CStr::from_ptr((*entry).bgw_library_name.as_ptr());
        let function = CStr::from_ptr((*entry).bgw_function_name.as_ptr());
        library == c"postgres"
            && matches!(
                function.to_bytes(),
                b"ApplyWorkerMain" | b"ParallelApplyWorkerMain" | b"TablesyncWorkerMain"
            )
    }
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
