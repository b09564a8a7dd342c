//! Retention policies as rows: the owner's choices in `metrics.retention_settings`, shown
//! with the defaults by the view `metrics.retention_policies`, checked by
//! `metrics_core::maintenance::policy` before anything is written.

use pgrx::datum::Interval;

use crate::common::problem::{Outcome, Problem};
use crate::maintenance::rules::{self, Kind, Policy, Span};
use crate::pg::identity;
use crate::pg::spi::{not_null, volatile as spi};

fn span(i: Interval) -> Span {
    Span {
        months: i.months(),
        days: i.days(),
        micros: i.micros(),
    }
}

fn interval(s: Span) -> Interval {
    Interval::new(s.months, s.days, s.micros).expect("a span read from an interval")
}

/// The policy in force for a family (rows of `metrics.retention_policies`).
#[derive(Debug, Clone)]
pub struct InForce {
    pub family: String,
    pub kind: Kind,
    pub policy: Policy,
    pub is_default: bool,
}

impl InForce {
    pub fn row(
        &self,
    ) -> (
        String,
        String,
        Option<Interval>,
        Option<Interval>,
        Option<Interval>,
        bool,
    ) {
        let kind = match self.kind {
            Kind::Rollup => "rollup",
            Kind::Log => "log",
            Kind::Downsample => "downsample",
        };
        (
            self.family.clone(),
            kind.to_string(),
            self.policy.keep_hourly.map(interval),
            self.policy.keep_daily.map(interval),
            self.policy.drop_after.map(interval),
            self.is_default,
        )
    }
}

/// Every family's policy in force, in the order of the families.
pub fn in_force() -> Vec<InForce> {
    spi::rows(
        "SELECT family, keep_hourly, keep_daily, drop_after, is_default
         FROM metrics.retention_policies",
        &[],
        |row| {
            let family: String = not_null(row, 1)?;
            let get = |i| row.get::<Interval>(i).map(|v| v.map(span));
            Ok(InForce {
                kind: rules::family_kind(&family).unwrap_or(Kind::Log),
                policy: Policy {
                    keep_hourly: get(2)?,
                    keep_daily: get(3)?,
                    drop_after: get(4)?,
                },
                is_default: not_null(row, 5)?,
                family,
            })
        },
    )
    .into_iter()
    .filter(|p| rules::family_kind(&p.family).is_ok())
    .collect()
}

/// The policy in force for one family.
pub fn of(family: &str) -> Option<InForce> {
    in_force().into_iter().find(|p| p.family == family)
}

/// Checks and stores a family's policy; returns it as now in force.
pub fn set(
    family: Option<&str>,
    keep_hourly: Option<Interval>,
    keep_daily: Option<Interval>,
    drop_after: Option<Interval>,
) -> Outcome<InForce> {
    let Some(family) = family else {
        return Err(Problem::null_argument("family")
            .hint("name a family of metrics.retention_policies, e.g. 'route_metrics'"));
    };
    let kind = rules::family_kind(family)?;
    let policy = Policy {
        keep_hourly: keep_hourly.map(span),
        keep_daily: keep_daily.map(span),
        drop_after: drop_after.map(span),
    };
    rules::check(family, kind, policy)?;
    spi::run(
        "INSERT INTO metrics.retention_settings AS s (family, keep_hourly, keep_daily, drop_after, set_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (family) DO UPDATE SET keep_hourly = excluded.keep_hourly,
             keep_daily = excluded.keep_daily, drop_after = excluded.drop_after,
             set_by = excluded.set_by, set_at = now()",
        &[
            family.into(),
            keep_hourly.into(),
            keep_daily.into(),
            drop_after.into(),
            identity::caller_name().into(),
        ],
    );
    Ok(of(family).expect("the family's policy was just written"))
}
