//! Running a piece of work in its own subtransaction, as PL/pgSQL's `BEGIN ... EXCEPTION`
//! does, so one failing metric is rolled back and reported while the others are recorded.

use std::panic::UnwindSafe;

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;

use crate::common::problem::Failure;
use crate::pg::guc;
use crate::pg::raise::{report_of, sqlstate_text};
use crate::pg::timeout;

/// The failure of work stopped by `timeout::within` (not by a user's cancel).
fn timed_out() -> Failure {
    Failure {
        sqlstate: "57014".to_string(),
        message: format!(
            "the computation took longer than metrics.metric_timeout ({} ms) and was stopped",
            guc::metric_timeout_ms()
        ),
        detail: None,
        hint: Some("make the metric cheaper (an index on the source's time column, a simpler filter), or raise metrics.metric_timeout".to_string()),
    }
}

/// Runs `work` in a subtransaction. On success the subtransaction is committed into the
/// current transaction; on an error it is rolled back and the error returned. A cancel request
/// (or a statement timeout) is never swallowed: it rolls back and propagates, like PL/pgSQL's
/// `WHEN OTHERS`, which does not catch QUERY_CANCELED either. The one cancel it returns as a
/// failure is the one `timeout::within` asked for.
pub fn isolated<R, F>(work: F) -> Result<R, Failure>
where
    F: FnOnce() -> R + UnwindSafe,
{
    // SAFETY: the same sequence PL/Python and PL/pgSQL use: remember the memory context and
    // resource owner, start an internal subtransaction, and restore both on either exit path.
    let (memory_context, resource_owner) =
        unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    unsafe {
        pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pg_sys::MemoryContextSwitchTo(memory_context);
    }
    let restore = move || unsafe {
        pg_sys::MemoryContextSwitchTo(memory_context);
        pg_sys::CurrentResourceOwner = resource_owner;
    };
    PgTryBuilder::new(move || {
        let result = work();
        unsafe { pg_sys::ReleaseCurrentSubTransaction() };
        restore();
        Ok(result)
    })
    .catch_others(move |caught| {
        unsafe {
            pg_sys::MemoryContextSwitchTo(memory_context);
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        restore();
        let report = report_of(&caught);
        // Consumed whatever the error: a limit that passed while another error was on its
        // way must not make a later cancel look like ours.
        let fired = timeout::take_fired();
        if report.sql_error_code() == PgSqlErrorCode::ERRCODE_QUERY_CANCELED {
            // Ours says "user request" (PostgreSQL names only its own timeouts); a
            // statement_timeout that came at the same moment is the caller's, and wins.
            let ours = fired && !report.message().contains("statement timeout");
            if !ours {
                caught.rethrow();
            }
            return Err(timed_out());
        }
        Err(Failure {
            sqlstate: sqlstate_text(report.sql_error_code()),
            message: report.message().to_string(),
            detail: report.detail().map(str::to_string),
            hint: report.hint().map(str::to_string),
        })
    })
    .execute()
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use super::isolated;

    #[pg_test]
    fn a_failure_is_rolled_back_and_the_transaction_goes_on() {
        Spi::run("CREATE TEMP TABLE t (x int)").unwrap();
        let failed = isolated(|| {
            Spi::run("INSERT INTO t VALUES (1)").unwrap();
            Spi::run("SELECT 1 / 0").unwrap();
        })
        .unwrap_err();
        assert_eq!(failed.sqlstate, "22012");
        assert!(failed.message.contains("division by zero"));
        let kept = isolated(|| Spi::run("INSERT INTO t VALUES (2)").unwrap());
        assert!(kept.is_ok());
        assert_eq!(
            Spi::get_one::<i64>("SELECT sum(x) FROM t").unwrap(),
            Some(2)
        );
    }

    #[pg_test]
    fn nested_isolation_keeps_the_outer_work() {
        Spi::run("CREATE TEMP TABLE t (x int)").unwrap();
        let outer = isolated(|| {
            Spi::run("INSERT INTO t VALUES (1)").unwrap();
            isolated(|| Spi::run("INSERT INTO t VALUES ('x')").unwrap())
                .unwrap_err()
                .sqlstate
        });
        assert_eq!(outer.unwrap(), "22P02");
        assert_eq!(
            Spi::get_one::<i64>("SELECT count(*) FROM t").unwrap(),
            Some(1)
        );
    }
}
