//! The SQL functions of maintenance.

use pgrx::datum::{AnyNumeric, Interval};
use pgrx::prelude::*;

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
