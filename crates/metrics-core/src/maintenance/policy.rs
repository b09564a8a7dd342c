//! Retention policies: per family, how long rows stay at each resolution. A rollup family
//! (hourly request or operation rows) keeps hours for `keep_hourly`, then days until
//! `keep_daily` (none: days are kept), then ISO weeks; a log family keeps rows until
//! `drop_after`. Either is deleted after `drop_after` when one is set.
//!
//! Intervals compare as PostgreSQL compares them: a month is 30 days, a day 24 hours.

use crate::common::problem::{Outcome, Problem, SqlState};

/// A PostgreSQL interval, as its three fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

const MICROS_PER_DAY: i128 = 86_400_000_000;

impl Span {
    pub const fn days(days: i32) -> Span {
        Span {
            months: 0,
            days,
            micros: 0,
        }
    }

    /// The length PostgreSQL orders intervals by (interval_cmp_value).
    pub fn length(self) -> i128 {
        (self.months as i128 * 30 + self.days as i128) * MICROS_PER_DAY + self.micros as i128
    }
}

/// What a family holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Hourly rows folded into days and weeks.
    Rollup,
    /// Rows that are only ever deleted when old.
    Log,
    /// Rows kept whole for `keep_daily`, then thinned out (the read model: one summary per
    /// project and day, trend points at week and month grain only), dropped after
    /// `drop_after` when one is set.
    Downsample,
}

/// The families, their kind and their default policy.
pub const FAMILIES: [(&str, Kind); 10] = [
    ("route_metrics", Kind::Rollup),
    ("operation_metrics", Kind::Rollup),
    ("collection_log", Kind::Log),
    ("maintenance_log", Kind::Log),
    ("cron_job_run_details", Kind::Log),
    ("github_events", Kind::Log),
    // The read model (metrics_summary, metrics_trend_point, metrics_breakdown_point,
    // metrics_drilldown), as seed 004 keeps it.
    ("read_model_summary", Kind::Downsample),
    ("read_model_trend", Kind::Downsample),
    ("read_model_breakdown", Kind::Log),
    ("read_model_drilldown", Kind::Log),
];

/// The shortest time hour rows are kept: compaction folds whole days, and an hour of the
/// last day is never folded, so recording the current hour never meets a compacted period.
pub const MIN_KEEP_HOURLY: Span = Span::days(1);

/// A policy as given: `None` is NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub keep_hourly: Option<Span>,
    pub keep_daily: Option<Span>,
    pub drop_after: Option<Span>,
}

/// The kind of a family, or the error that names the families there are.
pub fn family_kind(family: &str) -> Outcome<Kind> {
    FAMILIES
        .iter()
        .find(|(name, _)| *name == family)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            let names: Vec<&str> = FAMILIES.iter().map(|(n, _)| *n).collect();
            Problem::new(
                SqlState::UndefinedObject,
                format!("retention family \"{family}\" does not exist"),
            )
            .hint(format!("the families are {}", names.join(", ")))
        })
}

fn shown(span: Span) -> String {
    let mut parts = Vec::new();
    if span.months != 0 {
        parts.push(format!("{} mons", span.months));
    }
    if span.days != 0 {
        parts.push(format!("{} days", span.days));
    }
    if span.micros != 0 || parts.is_empty() {
        parts.push(format!("{} s", span.micros as f64 / 1e6));
    }
    parts.join(" ")
}

fn longer(name: &str, span: Span, than_name: &str, than: Span) -> Outcome<()> {
    if span.length() > than.length() {
        return Ok(());
    }
    Err(Problem::new(
        SqlState::InvalidParameterValue,
        format!(
            "{name} ({}) must be longer than {than_name} ({})",
            shown(span),
            shown(than)
        ),
    )
    .detail("rows move from hours to days to weeks as they age, and are dropped last")
    .hint(format!("pass a {name} longer than {than_name}, or NULL")))
}

fn at_least(name: &str, span: Span, min: Span, why: &str) -> Outcome<()> {
    if span.length() >= min.length() {
        return Ok(());
    }
    Err(Problem::new(
        SqlState::InvalidParameterValue,
        format!(
            "{name} must be at least {}, not {}",
            shown(min),
            shown(span)
        ),
    )
    .hint(why.to_string()))
}

/// Checks a policy for a family of the given kind.
pub fn check(family: &str, kind: Kind, p: Policy) -> Outcome<()> {
    match kind {
        Kind::Rollup => {
            let Some(hourly) = p.keep_hourly else {
                return Err(Problem::null_argument("keep_hourly").hint(format!(
                    "{family} keeps hour rows for keep_hourly before folding them into days; the default is 90 days"
                )));
            };
            at_least(
                "keep_hourly",
                hourly,
                MIN_KEEP_HOURLY,
                "compaction folds whole days that ended at least keep_hourly ago; pass '1 day' or more",
            )?;
            let mut last = ("keep_hourly", hourly);
            if let Some(daily) = p.keep_daily {
                longer("keep_daily", daily, last.0, last.1)?;
                last = ("keep_daily", daily);
            }
            if let Some(drop) = p.drop_after {
                longer("drop_after", drop, last.0, last.1)?;
            }
            Ok(())
        }
        Kind::Log => {
            for (name, given) in [("keep_hourly", p.keep_hourly), ("keep_daily", p.keep_daily)] {
                if given.is_some() {
                    return Err(Problem::new(
                        SqlState::InvalidParameterValue,
                        format!("{family} is a log: its rows are not compacted, so {name} does not apply"),
                    )
                    .hint(format!(
                        "pass NULL for keep_hourly and keep_daily, and the age after which rows are deleted as drop_after: metrics.set_retention_policy('{family}', NULL, NULL, '365 days')"
                    )));
                }
            }
            if let Some(drop) = p.drop_after {
                at_least(
                    "drop_after",
                    drop,
                    Span::days(1),
                    "pass an age of a day or more, or NULL to keep the rows",
                )?;
            }
            Ok(())
        }
        Kind::Downsample => check_downsample(family, p),
    }
}

/// A read-model family: no hours to fold (`keep_hourly` NULL); `keep_daily`, how long rows
/// are kept whole, at least a day; `drop_after` longer than it.
fn check_downsample(family: &str, p: Policy) -> Outcome<()> {
    if p.keep_hourly.is_some() {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("{family} has no hour rows to fold, so keep_hourly does not apply"),
        )
        .hint(format!(
            "pass NULL for keep_hourly, how long rows are kept whole as keep_daily and when they are deleted as drop_after: metrics.set_retention_policy('{family}', NULL, '30 days', '180 days')"
        )));
    }
    let why = "pass an age of a day or more, or NULL";
    if let Some(daily) = p.keep_daily {
        at_least("keep_daily", daily, Span::days(1), why)?;
    }
    match (p.keep_daily, p.drop_after) {
        (Some(daily), Some(drop)) => longer("drop_after", drop, "keep_daily", daily),
        (None, Some(drop)) => at_least("drop_after", drop, Span::days(1), why),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(h: Option<i32>, d: Option<i32>, x: Option<i32>) -> Policy {
        Policy {
            keep_hourly: h.map(Span::days),
            keep_daily: d.map(Span::days),
            drop_after: x.map(Span::days),
        }
    }

    fn state(r: Outcome<()>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.state.code())
    }

    #[test]
    fn families_are_known_by_name() {
        assert_eq!(family_kind("route_metrics").unwrap(), Kind::Rollup);
        assert_eq!(family_kind("collection_log").unwrap(), Kind::Log);
        let e = family_kind("Route_Metrics").unwrap_err();
        assert_eq!(e.state.code(), "42704");
        assert!(e.hint.unwrap().contains("operation_metrics"));
    }

    #[test]
    fn rollup_intervals_increase() {
        let r = Kind::Rollup;
        assert_eq!(state(check("f", r, p(Some(90), Some(365), None))), "ok");
        assert_eq!(state(check("f", r, p(Some(90), None, None))), "ok");
        assert_eq!(state(check("f", r, p(Some(90), None, Some(400)))), "ok");
        assert_eq!(state(check("f", r, p(Some(1), Some(2), Some(3)))), "ok");
        assert_eq!(state(check("f", r, p(None, Some(365), None))), "22004");
        assert_eq!(state(check("f", r, p(Some(0), None, None))), "22023");
        assert_eq!(state(check("f", r, p(Some(-5), None, None))), "22023");
        assert_eq!(state(check("f", r, p(Some(90), Some(90), None))), "22023");
        assert_eq!(state(check("f", r, p(Some(90), Some(30), None))), "22023");
        assert_eq!(
            state(check("f", r, p(Some(90), Some(365), Some(365)))),
            "22023"
        );
        assert_eq!(state(check("f", r, p(Some(90), None, Some(60)))), "22023");
        let e = check("f", r, p(Some(90), Some(30), None)).unwrap_err();
        assert_eq!(
            e.message,
            "keep_daily (30 days) must be longer than keep_hourly (90 days)"
        );
    }

    #[test]
    fn months_count_as_thirty_days() {
        let three_months = Span {
            months: 3,
            days: 0,
            micros: 0,
        };
        let hourly = Span::days(90);
        let policy = |daily| Policy {
            keep_hourly: Some(hourly),
            keep_daily: Some(daily),
            drop_after: None,
        };
        assert_eq!(
            state(check("f", Kind::Rollup, policy(three_months))),
            "22023"
        );
        let a_bit_more = Span {
            micros: 1,
            ..three_months
        };
        assert_eq!(state(check("f", Kind::Rollup, policy(a_bit_more))), "ok");
        let under_a_day = Span {
            months: 0,
            days: 0,
            micros: 86_399_999_999,
        };
        let e = check(
            "f",
            Kind::Rollup,
            Policy {
                keep_hourly: Some(under_a_day),
                keep_daily: None,
                drop_after: None,
            },
        );
        assert_eq!(state(e), "22023");
    }

    #[test]
    fn read_model_families_downsample_then_drop() {
        let k = Kind::Downsample;
        assert_eq!(family_kind("read_model_summary").unwrap(), k);
        assert_eq!(family_kind("read_model_drilldown").unwrap(), Kind::Log);
        assert_eq!(state(check("f", k, p(None, Some(30), Some(180)))), "ok");
        assert_eq!(state(check("f", k, p(None, Some(90), None))), "ok");
        assert_eq!(state(check("f", k, p(None, None, Some(2)))), "ok");
        assert_eq!(state(check("f", k, p(None, None, None))), "ok");
        assert_eq!(state(check("f", k, p(Some(1), Some(30), None))), "22023");
        assert_eq!(state(check("f", k, p(None, Some(0), None))), "22023");
        assert_eq!(state(check("f", k, p(None, Some(30), Some(30)))), "22023");
        assert_eq!(state(check("f", k, p(None, None, Some(0)))), "22023");
    }

    #[test]
    fn logs_only_drop() {
        let l = Kind::Log;
        assert_eq!(
            state(check("collection_log", l, p(None, None, Some(365)))),
            "ok"
        );
        assert_eq!(state(check("collection_log", l, p(None, None, None))), "ok");
        assert_eq!(
            state(check("collection_log", l, p(Some(1), None, Some(365)))),
            "22023"
        );
        assert_eq!(
            state(check("collection_log", l, p(None, Some(1), None))),
            "22023"
        );
        assert_eq!(
            state(check("collection_log", l, p(None, None, Some(0)))),
            "22023"
        );
        assert_eq!(
            state(check("collection_log", l, p(None, None, Some(-1)))),
            "22023"
        );
    }
}
