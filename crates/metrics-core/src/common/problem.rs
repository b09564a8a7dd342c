//! Errors a caller can cause, as plain data: a SQLSTATE, a message, a detail and a hint.
//!
//! Pure modules return `Result<T, Problem>`; the extension's `pg::raise` turns a `Problem`
//! into a PostgreSQL ERROR with exactly that SQLSTATE, so no user mistake ever surfaces as
//! XX000. A `Failure` is an error that was caught and rolled back, in the shape the
//! collection log keeps it.

use std::fmt;

use serde_json::{json, Value};

/// The SQLSTATEs this extension raises on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlState {
    /// 22004: a required argument was NULL.
    NullValueNotAllowed,
    /// 22023: an argument has a value we do not accept.
    InvalidParameterValue,
    /// 22008: a date outside what may be collected or queried.
    DatetimeFieldOverflow,
    /// 22001: a text argument is longer than we accept.
    StringDataRightTruncation,
    /// 22007: a timestamp that does not parse (an event's `at`).
    InvalidDatetimeFormat,
    /// 54000: a batch larger than we accept in one call (PostgREST: 413).
    ProgramLimitExceeded,
    /// 22P03: bytes that are not a latency sketch.
    InvalidBinaryRepresentation,
    /// 42601: a filter that is not a single boolean expression.
    SyntaxError,
    /// 42P01: a source table that does not exist.
    UndefinedTable,
    /// 42703: a column that does not exist.
    UndefinedColumn,
    /// 42704: a metric or other named object that does not exist.
    UndefinedObject,
    /// 42804: a column of the wrong type for the metric kind.
    DatatypeMismatch,
    /// 42809: a name that resolves to an object of the wrong kind (an index, a sequence).
    WrongObjectType,
    /// 42883: a type without the operator a kind needs (equality/ordering for distinct).
    UndefinedFunction,
    /// 3F000: a schema that does not exist.
    InvalidSchemaName,
    /// 42710: a metric that is already defined.
    DuplicateObject,
    /// 42501: the caller may not read the source relation, or a sealed row may not change.
    InsufficientPrivilege,
    /// 23503: a percentage needs a metric that is not active, or not recorded that day.
    /// (Not 55000: PostgREST answers class 55 with 500; 23503 is 409 Conflict.)
    ForeignKeyViolation,
    /// 2BP01: other metrics depend on the one being deactivated.
    DependentObjectsStillExist,
    /// 0A000: something a filter may not contain (subqueries, user functions, ...).
    FeatureNotSupported,
    /// 23514: a sealed row for a day that has not ended.
    CheckViolation,
    /// 22003: a computed value that is not a finite number (NaN, Infinity).
    NumericValueOutOfRange,
    /// 25001: a procedure that commits, called where it cannot (inside BEGIN ... COMMIT),
    /// like VACUUM. Only CALL raises it, which PostgREST cannot make: not a client error.
    ActiveSqlTransaction,
    /// 25006: a function that records (metrics.check_alerts), called in a read-only
    /// transaction; PostgREST answers a GET of it with 405: call it by POST.
    ReadOnlySqlTransaction,
    /// XX001: a stored row the extension cannot read (written around it). The one state
    /// that is not the caller's mistake, so PostgREST rightly answers it with 500.
    DataCorrupted,
}

impl SqlState {
    /// Every state a caller can cause, for tests that must hold for all of them.
    #[cfg(test)]
    pub const CLIENT_ERRORS: [SqlState; 23] = [
        SqlState::NullValueNotAllowed,
        SqlState::InvalidParameterValue,
        SqlState::DatetimeFieldOverflow,
        SqlState::StringDataRightTruncation,
        SqlState::InvalidDatetimeFormat,
        SqlState::ProgramLimitExceeded,
        SqlState::InvalidBinaryRepresentation,
        SqlState::SyntaxError,
        SqlState::UndefinedTable,
        SqlState::UndefinedColumn,
        SqlState::UndefinedObject,
        SqlState::DatatypeMismatch,
        SqlState::WrongObjectType,
        SqlState::UndefinedFunction,
        SqlState::InvalidSchemaName,
        SqlState::DuplicateObject,
        SqlState::InsufficientPrivilege,
        SqlState::ForeignKeyViolation,
        SqlState::DependentObjectsStillExist,
        SqlState::FeatureNotSupported,
        SqlState::CheckViolation,
        SqlState::NumericValueOutOfRange,
        SqlState::ReadOnlySqlTransaction,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SqlState::NullValueNotAllowed => "22004",
            SqlState::InvalidParameterValue => "22023",
            SqlState::DatetimeFieldOverflow => "22008",
            SqlState::StringDataRightTruncation => "22001",
            SqlState::InvalidDatetimeFormat => "22007",
            SqlState::ProgramLimitExceeded => "54000",
            SqlState::InvalidBinaryRepresentation => "22P03",
            SqlState::SyntaxError => "42601",
            SqlState::UndefinedTable => "42P01",
            SqlState::UndefinedColumn => "42703",
            SqlState::UndefinedObject => "42704",
            SqlState::DatatypeMismatch => "42804",
            SqlState::WrongObjectType => "42809",
            SqlState::UndefinedFunction => "42883",
            SqlState::InvalidSchemaName => "3F000",
            SqlState::DuplicateObject => "42710",
            SqlState::InsufficientPrivilege => "42501",
            SqlState::ForeignKeyViolation => "23503",
            SqlState::DependentObjectsStillExist => "2BP01",
            SqlState::FeatureNotSupported => "0A000",
            SqlState::CheckViolation => "23514",
            SqlState::NumericValueOutOfRange => "22003",
            SqlState::ActiveSqlTransaction => "25001",
            SqlState::ReadOnlySqlTransaction => "25006",
            SqlState::DataCorrupted => "XX001",
        }
    }
}

/// A user-facing error: what went wrong, optionally why, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub state: SqlState,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(state: SqlState, message: impl Into<String>) -> Self {
        Problem {
            state,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The error for a required argument that was NULL.
    pub fn null_argument(name: &str) -> Self {
        Problem::new(
            SqlState::NullValueNotAllowed,
            format!("{name} must not be NULL"),
        )
        .hint(format!(
            "pass a value for {name}, or omit it where it has a default"
        ))
    }

    /// The error for a stored row that cannot be read: `key` names the row, `what` says what
    /// is wrong with it, `hint` how to repair it.
    pub fn corrupt_row(table: &str, key: &str, what: impl fmt::Display, hint: &str) -> Self {
        Problem::new(
            SqlState::DataCorrupted,
            format!("row {key} of metrics.{table} cannot be read: {what}"),
        )
        .detail("The extension never writes such a row; it was written or changed around it.")
        .hint(hint.to_string())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.state.code())
    }
}

pub type Outcome<T> = Result<T, Problem>;

/// Unwraps a required argument, or explains that it was NULL.
pub fn required<T>(value: Option<T>, name: &str) -> Outcome<T> {
    value.ok_or_else(|| Problem::null_argument(name))
}

/// Refuses text longer than `max` characters (22001).
pub fn check_length(name: &str, value: &str, max: usize) -> Outcome<()> {
    if value.chars().count() > max {
        return Err(Problem::new(
            SqlState::StringDataRightTruncation,
            format!("{name} is longer than {max} characters"),
        )
        .hint(format!("shorten {name}")));
    }
    Ok(())
}

/// An error caught and rolled back, in the shape it is logged: the SQLSTATE as text (it may
/// be any of PostgreSQL's, not only ours), the message, detail and hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub sqlstate: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl Failure {
    pub fn to_json(&self) -> Value {
        json!({"sqlstate": self.sqlstate, "message": self.message, "detail": self.detail, "hint": self.hint})
    }
}

impl From<Problem> for Failure {
    fn from(p: Problem) -> Self {
        Failure {
            sqlstate: p.state.code().to_string(),
            message: p.message,
            detail: p.detail,
            hint: p.hint,
        }
    }
}

/// What a JSON value is, for messages ("must be a string, not a number").
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_five_characters() {
        for s in SqlState::CLIENT_ERRORS
            .into_iter()
            .chain([SqlState::DataCorrupted])
        {
            assert_eq!(s.code().len(), 5);
            assert_ne!(s.code(), "XX000");
        }
    }

    /// PostgREST's table (docs/errors.rst, "HTTP Status Codes"), as of 12.0.2: what a client
    /// receives for an error of each SQLSTATE.
    fn postgrest_status(code: &str, authenticated: bool) -> u16 {
        let class = &code[..2];
        match code {
            "23503" | "23505" => 409,
            "25006" => 405,
            "42883" | "42P01" => 404,
            "42501" => {
                if authenticated {
                    403
                } else {
                    401
                }
            }
            "P0001" => 400,
            _ => match class {
                "08" | "53" => 503,
                "0L" | "0P" | "28" => 403,
                "54" => 413,
                "09" | "25" | "2D" | "38" | "39" | "3B" | "40" | "55" | "57" | "58" | "F0"
                | "HV" | "P0" | "XX" => 500,
                _ => 400,
            },
        }
    }

    #[test]
    fn every_error_is_a_client_error_over_postgrest() {
        for s in SqlState::CLIENT_ERRORS {
            for authenticated in [false, true] {
                let status = postgrest_status(s.code(), authenticated);
                assert!(
                    (400..500).contains(&status),
                    "{s:?} ({}) reaches a PostgREST client as {status}",
                    s.code()
                );
            }
        }
        assert_eq!(
            postgrest_status("55000", true),
            500,
            "the mapping itself is checked"
        );
        assert_eq!(postgrest_status("42501", false), 401);
        assert_eq!(postgrest_status("42501", true), 403);
        // A corrupt stored row is the server's problem, not the caller's.
        assert_eq!(postgrest_status(SqlState::DataCorrupted.code(), true), 500);
    }

    #[test]
    fn corrupt_rows_name_their_key() {
        let p = Problem::corrupt_row(
            "daily_metrics",
            "(2025-06-01, avg_len)",
            "metadata has no sample_size",
            "recompute it with metrics.recollect",
        );
        assert_eq!(p.state, SqlState::DataCorrupted);
        assert_eq!(
            p.message,
            "row (2025-06-01, avg_len) of metrics.daily_metrics cannot be read: metadata has no sample_size"
        );
        assert!(p.hint.unwrap().contains("recollect"));
    }

    #[test]
    fn long_text_is_refused() {
        assert!(check_length("reason", "abc", 3).is_ok());
        assert!(
            check_length("reason", "ééé", 3).is_ok(),
            "characters, not bytes"
        );
        let p = check_length("reason", "abcd", 3).unwrap_err();
        assert_eq!(p.state, SqlState::StringDataRightTruncation);
        assert!(p.message.contains("reason") && p.hint.is_some());
    }

    #[test]
    fn problems_become_failures() {
        let f = Failure::from(Problem::new(SqlState::ForeignKeyViolation, "m").hint("h"));
        assert_eq!(f.sqlstate, "23503");
        assert_eq!(
            f.to_json(),
            json!({"sqlstate": "23503", "message": "m", "detail": null, "hint": "h"})
        );
    }

    #[test]
    fn required_reports_the_argument_name() {
        let p = required::<i32>(None, "start_date").unwrap_err();
        assert_eq!(p.state, SqlState::NullValueNotAllowed);
        assert!(p.message.contains("start_date"));
        assert!(p.hint.is_some());
        assert_eq!(required(Some(3), "x").unwrap(), 3);
    }
}
