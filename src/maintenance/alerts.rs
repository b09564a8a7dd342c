//! `metrics.check_alerts()`: the checks of `metrics.health()` against the severities
//! recorded in `metrics.alert_state`. A check that turns critical, or stops being critical,
//! is a transition: recorded in `metrics.alert_log` and sent with `NOTIFY metrics_alerts`
//! (delivered when the transaction commits). Concurrent calls are serialized by a lock on
//! `metrics.alert_state` (SHARE ROW EXCLUSIVE: readers are not blocked, a second caller
//! waits and then reads what the first recorded), so each transition is sent once.

use pgrx::datum::TimestampWithTimeZone;

use crate::common::problem::{Problem, SqlState};
use crate::maintenance::health;
use crate::maintenance::health_rules::{self as rules, Check, Severity};
use crate::pg::datum::numeric;
use crate::pg::raise::raise;
use crate::pg::spi::{not_null, volatile as spi};

/// A transition as `check_alerts()` returns it.
pub struct Transition {
    pub check: String,
    pub previous: Severity,
    pub severity: Severity,
    pub detail: String,
    pub at: TimestampWithTimeZone,
}

pub fn number(v: Option<f64>) -> Option<pgrx::AnyNumeric> {
    v.map(|v| {
        if v.is_finite() {
            numeric(&v.to_string())
        } else if v > 0.0 {
            numeric("Infinity")
        } else {
            numeric("-Infinity")
        }
    })
}

/// The recorded severity of every check (a check never recorded is ok).
fn recorded() -> Vec<(String, Severity)> {
    spi::rows(
        "SELECT check_name, severity FROM metrics.alert_state",
        &[],
        |row| {
            let name: String = not_null(row, 1)?;
            let text: String = not_null(row, 2)?;
            let severity = Severity::parse(&text).unwrap_or_else(|| {
                panic!(
                    "metrics: alert_state.severity of {name} is {text:?}, which its CHECK refuses"
                )
            });
            Ok((name, severity))
        },
    )
}

fn record_state(c: &Check) {
    spi::run(
        "INSERT INTO metrics.alert_state AS s (check_name, severity, value, threshold, detail, changed_at)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (check_name) DO UPDATE SET severity = excluded.severity, value = excluded.value,
             threshold = excluded.threshold, detail = excluded.detail, changed_at = excluded.changed_at",
        &[
            c.name.into(),
            c.severity.as_str().into(),
            number(c.value).into(),
            number(c.threshold).into(),
            c.detail.as_str().into(),
        ],
    );
}

/// Records an alert and sends its NOTIFY; returns when it happened.
fn alert(c: &Check, previous: Severity) -> TimestampWithTimeZone {
    let (at, at_text) = spi::rows(
        "INSERT INTO metrics.alert_log (check_name, previous_severity, severity, value, threshold, detail, hint, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, pg_catalog.clock_timestamp())
         RETURNING at, pg_catalog.to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        &[
            c.name.into(),
            previous.as_str().into(),
            c.severity.as_str().into(),
            number(c.value).into(),
            number(c.threshold).into(),
            c.detail.as_str().into(),
            c.hint.clone().into(),
        ],
        |row| Ok((not_null::<TimestampWithTimeZone>(row, 1)?, not_null::<String>(row, 2)?)),
    )
    .pop()
    .expect("INSERT ... RETURNING returns the row");
    let payload = rules::alert_payload(c.name, previous, c.severity, &c.detail, &at_text);
    spi::run(
        "SELECT pg_catalog.pg_notify('metrics_alerts', $1)",
        &[payload.to_string().into()],
    );
    at
}

/// Evaluates the checks, records every change of severity and alerts on the transitions.
pub fn check() -> Vec<Transition> {
    if unsafe { pgrx::pg_sys::XactReadOnly } {
        raise(
            Problem::new(SqlState::ReadOnlySqlTransaction, "metrics.check_alerts() cannot run in a read-only transaction")
                .detail("It records the transitions it finds in metrics.alert_state and metrics.alert_log.")
                .hint("call it in a read-write transaction (PostgREST: POST /rpc/check_alerts); metrics.health() only reads"),
        )
    }
    spi::run(
        "LOCK TABLE metrics.alert_state IN SHARE ROW EXCLUSIVE MODE",
        &[],
    );
    let states = recorded();
    let mut out = Vec::new();
    for c in health::evaluate() {
        let previous = states
            .iter()
            .find(|(name, _)| name == c.name)
            .map_or(Severity::Ok, |(_, s)| *s);
        if previous == c.severity {
            continue;
        }
        record_state(&c);
        if rules::is_alert(previous, c.severity) {
            let at = alert(&c, previous);
            out.push(Transition {
                check: c.name.to_string(),
                previous,
                severity: c.severity,
                detail: c.detail.clone(),
                at,
            });
        }
    }
    out
}
