//! The SQL functions of maintenance.

use pgrx::datum::Interval;
use pgrx::prelude::*;

use crate::maintenance::policy;
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
