//! The SQL functions of maintenance.

use pgrx::datum::{AnyNumeric, Interval};
use pgrx::prelude::*;

use crate::maintenance::compact::{self, Done};
use crate::maintenance::policy;
use crate::maintenance::{alerts, health};
use crate::pg::raise::OrRaise;

// --- retention and compaction ---------------------------------------------------------------

/// Sets a family's retention policy (checked first; nothing is written when it is refused);
/// returns the policy now in force.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn set_retention_policy(
    family: Option<&str>,
    keep_hourly: Option<Interval>,
    keep_daily: default!(Option<Interval>, "NULL"),
    drop_after: default!(Option<Interval>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(family, String),
        name!(kind, String),
        name!(keep_hourly, Option<Interval>),
        name!(keep_daily, Option<Interval>),
        name!(drop_after, Option<Interval>),
        name!(is_default, bool),
    ),
> {
    let set = policy::set(family, keep_hourly, keep_daily, drop_after).or_raise();
    TableIterator::once(set.row())
}

/// A row of `compact_metrics`.
type CompactionRow = (
    String,
    String,
    TimestampWithTimeZone,
    TimestampWithTimeZone,
    i64,
    i64,
    i64,
    Option<bool>,
    Option<String>,
);

fn compaction_row(d: Done) -> CompactionRow {
    let error = d.error_text();
    (
        crate::maintenance::compaction::family(d.unit.subject).to_string(),
        d.unit.action.as_str().to_string(),
        d.unit.start,
        d.unit.end,
        d.rows_before,
        d.rows_after,
        d.requests,
        d.verified,
        error,
    )
}

/// Compacts request and operation metrics as the retention policies say: each day older
/// than keep_hourly folded into one row per key, each ISO week older than keep_daily into
/// one, rows older than drop_after deleted; one row per unit of work (at most `max_units`),
/// each verified and in its own subtransaction. `dry_run` returns the plan and writes nothing.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn compact_metrics(
    dry_run: default!(Option<bool>, "false"),
    max_units: default!(Option<i32>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(family, String),
        name!(action, String),
        name!(period_start, TimestampWithTimeZone),
        name!(period_end, TimestampWithTimeZone),
        name!(rows_before, i64),
        name!(rows_after, i64),
        name!(requests_covered, i64),
        name!(verified, Option<bool>),
        name!(error, Option<String>),
    ),
> {
    let dry_run = crate::common::problem::required(dry_run, "dry_run").or_raise();
    let max = compact::check_max_units(max_units).or_raise();
    TableIterator::new(
        compact::compact(dry_run, max)
            .into_iter()
            .map(compaction_row),
    )
}

// --- health and alerts ----------------------------------------------------------------------

/// The health of the extension, one row per check (`metrics_core::maintenance::health::CHECKS`):
/// ok, warning or critical, the value measured against the threshold in force, what was
/// seen and what to do. For administrators; reads only (callable by GET through PostgREST).
#[pg_extern(security_definer, stable)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn health() -> TableIterator<
    'static,
    (
        name!(check_name, String),
        name!(severity, String),
        name!(value, Option<AnyNumeric>),
        name!(threshold, Option<AnyNumeric>),
        name!(detail, String),
        name!(hint, Option<String>),
    ),
> {
    health::require_admin("metrics.health()");
    TableIterator::new(health::evaluate().into_iter().map(|c| {
        (
            c.name.to_string(),
            c.severity.as_str().to_string(),
            alerts::number(c.value),
            alerts::number(c.threshold),
            c.detail,
            c.hint,
        )
    }))
}

/// Compares every check with its recorded severity; each transition into or out of critical
/// is recorded in `metrics.alert_log` and sent with `NOTIFY metrics_alerts` (JSON: check,
/// severity, previous_severity, detail, at), once. Returns the transitions it made. The
/// maintenance job calls it last; it may also be scheduled on its own, more often.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn check_alerts() -> TableIterator<
    'static,
    (
        name!(check_name, String),
        name!(previous_severity, String),
        name!(severity, String),
        name!(detail, String),
        name!(at, TimestampWithTimeZone),
    ),
> {
    health::require_admin("metrics.check_alerts()");
    TableIterator::new(alerts::check().into_iter().map(|t| {
        (
            t.check,
            t.previous.as_str().to_string(),
            t.severity.as_str().to_string(),
            t.detail,
            t.at,
        )
    }))
}
