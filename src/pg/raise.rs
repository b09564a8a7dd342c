//! Raising `Problem`s as PostgreSQL errors with their SQLSTATE, message, detail and hint;
//! catching PostgreSQL errors as `Problem`s; and reading the SQLSTATE of errors we catch.

use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::pg_sys::panic::{CaughtError, ErrorReport, ErrorReportWithLevel};
use pgrx::prelude::*;

use crate::common::problem::{Outcome, Problem};

/// Packs a five-character SQLSTATE the way PostgreSQL's MAKE_SQLSTATE does.
fn pack_sqlstate(code: &str) -> i32 {
    code.bytes()
        .enumerate()
        .map(|(i, b)| (((b - b'0') & 0x3F) as i32) << (6 * i))
        .sum()
}

/// The five-character SQLSTATE of an error code (PostgreSQL's unpack_sql_state).
pub fn sqlstate_text(code: PgSqlErrorCode) -> String {
    let mut packed = code as isize as i32;
    let mut out = String::with_capacity(5);
    for _ in 0..5 {
        out.push(((packed & 0x3F) as u8 + b'0') as char);
        packed >>= 6;
    }
    out
}

pub fn error_code(sqlstate: &str) -> PgSqlErrorCode {
    PgSqlErrorCode::from(pack_sqlstate(sqlstate))
}

/// Raises `problem` as an ERROR with its SQLSTATE, message, detail and hint.
pub fn raise(problem: Problem) -> ! {
    let mut report = ErrorReport::new(error_code(problem.state.code()), problem.message, "metrics");
    if let Some(detail) = problem.detail {
        report = report.set_detail(detail);
    }
    if let Some(hint) = problem.hint {
        report = report.set_hint(hint);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// `result.or_raise()`: the value, or the problem raised as an ERROR.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, Problem> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|p| raise(p))
    }
}

/// For SPI results: an SPI-level error here is a bug in our SQL, not bad input.
impl<T> OrRaise<T> for Result<T, pgrx::spi::Error> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| panic!("metrics: internal SPI error: {e}"))
    }
}

/// The report inside any caught error.
pub fn report_of(caught: &CaughtError) -> &ErrorReportWithLevel {
    match caught {
        CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => r,
        CaughtError::RustPanic { ereport, .. } => ereport,
    }
}

/// Runs `work`; a PostgreSQL error it raises comes back as the `Problem` that `explain` makes
/// of it. A Rust panic is re-thrown: it is a bug, not bad input. The error state is flushed
/// but nothing is rolled back, so the caller must raise the problem (or be inside
/// `subxact::isolated`), never carry on as if nothing happened.
pub fn catching<R>(
    work: impl FnOnce() -> Outcome<R> + std::panic::UnwindSafe,
    explain: impl Fn(&ErrorReportWithLevel) -> Problem + std::panic::RefUnwindSafe,
) -> Outcome<R> {
    PgTryBuilder::new(work)
        .catch_others(|caught| match caught {
            CaughtError::RustPanic { .. } => caught.rethrow(),
            _ => Err(explain(report_of(&caught))),
        })
        .execute()
}

/// Keeps Rust backtraces out of error reports. pgrx captures one whenever a PostgreSQL error
/// passes through Rust code (an SPI call that fails, a read-only transaction refusing a
/// write) and, if RUST_BACKTRACE is set in the server's environment, appends it to the
/// error's DETAIL, which PostgREST sends to the client as `details`. Internals are not for
/// clients: `RUST_LIB_BACKTRACE=0` turns capture off for library code in this backend,
/// whatever RUST_BACKTRACE says. Called from `_PG_init`, before any capture (std caches the
/// setting at the first one).
pub fn keep_backtraces_out_of_reports() {
    std::env::set_var("RUST_LIB_BACKTRACE", "0");
}
