//! The reports of route and operation metrics, the pure part: the grains they group hours by,
//! the range they accept, and the numbers of one report row, computed from the merged bucket
//! of its hours (percentiles from the merged sketch, never from averaged percentiles).

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::requests::bucket::Bucket;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// How a report groups the hour rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportGrain {
    Hour,
    Day,
    Week,
}

impl ReportGrain {
    /// One of `hour`, `day`, `week`, exactly.
    pub fn parse(text: &str) -> Outcome<ReportGrain> {
        match text {
            "hour" => Ok(ReportGrain::Hour),
            "day" => Ok(ReportGrain::Day),
            "week" => Ok(ReportGrain::Week),
            _ => Err(Problem::new(
                SqlState::InvalidParameterValue,
                format!(
                    "unknown grain \"{}\"",
                    text.chars().take(40).collect::<String>()
                ),
            )
            .hint("use hour, day or week")),
        }
    }

    /// The unit of `date_trunc` and of the `interval` one period spans.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportGrain::Hour => "hour",
            ReportGrain::Day => "day",
            ReportGrain::Week => "week",
        }
    }
}

/// The range `[start, end)` of a report, in microseconds; `None` is an infinite bound. Both
/// finite, start before end, at most `max_days` days (the setting `metrics.max_query_days`).
pub fn check_range(start: Option<i64>, end: Option<i64>, max_days: i64) -> Outcome<()> {
    let (Some(s), Some(e)) = (start, end) else {
        return Err(Problem::new(
            SqlState::DatetimeFieldOverflow,
            "start_at and end_at must be finite",
        )
        .hint("pass a range such as now() - interval '7 days' and now()"));
    };
    if s >= e {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            "start_at must be before end_at",
        )
        .hint("the range is [start_at, end_at)"));
    }
    if e - s > max_days * MICROS_PER_DAY {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("the range spans more than {max_days} days"),
        )
        .hint("query a shorter range, or ask an administrator to raise metrics.max_query_days"));
    }
    Ok(())
}

/// The `q` of a quantile: 0 to 1 (0.5 is the median).
pub fn check_quantile(q: f64) -> Outcome<()> {
    if (0.0..=1.0).contains(&q) {
        return Ok(());
    }
    Err(Problem::new(
        SqlState::InvalidParameterValue,
        format!("q must be between 0 and 1, not {q}"),
    )
    .hint("0.5 is the median, 0.99 the 99th percentile"))
}

/// The numbers of one report row.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub total: i64,
    pub successful: i64,
    pub failed: i64,
    /// Successful over total; 0 without requests.
    pub success_rate: f64,
    pub average_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// Percentiles of the merged sketch, kept inside `[min_ms, max_ms]` (the sketch's
    /// representative of the lowest or highest bucket may lie just outside).
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Stats {
    pub fn of(bucket: &Bucket) -> Stats {
        let t = &bucket.totals;
        let clamp = |v: Option<f64>| v.map(|x| x.clamp(t.min_ms, t.max_ms));
        let q = bucket.sketch.quantiles(&[0.5, 0.95, 0.99]);
        let per_request = |x: f64| {
            if t.total == 0 {
                0.0
            } else {
                x / t.total as f64
            }
        };
        Stats {
            total: t.total as i64,
            successful: t.successful as i64,
            failed: t.failed as i64,
            success_rate: per_request(t.successful as f64),
            average_ms: per_request(t.sum_ms),
            min_ms: t.min_ms,
            max_ms: t.max_ms,
            p50_ms: clamp(q[0]),
            p95_ms: clamp(q[1]),
            p99_ms: clamp(q[2]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::bucket::aggregate;
    use crate::requests::event::{utc, Event};

    #[test]
    fn grains_are_exact_words() {
        assert_eq!(ReportGrain::parse("week"), Ok(ReportGrain::Week));
        assert_eq!(ReportGrain::Day.as_str(), "day");
        for bad in ["Hour", "month", "", &"x".repeat(100)] {
            let p = ReportGrain::parse(bad).unwrap_err();
            assert_eq!(p.state, SqlState::InvalidParameterValue);
            assert!(
                p.message.chars().count() < 60,
                "the name is cut: {}",
                p.message
            );
        }
    }

    #[test]
    fn ranges_are_finite_ordered_and_bounded() {
        let day = MICROS_PER_DAY;
        assert!(check_range(Some(0), Some(day), 1).is_ok());
        assert_eq!(
            check_range(None, Some(0), 1).unwrap_err().state,
            SqlState::DatetimeFieldOverflow
        );
        assert_eq!(
            check_range(Some(0), None, 1).unwrap_err().state,
            SqlState::DatetimeFieldOverflow
        );
        assert!(check_range(Some(day), Some(day), 1)
            .unwrap_err()
            .message
            .contains("before"));
        assert!(check_range(Some(0), Some(day + 1), 1)
            .unwrap_err()
            .message
            .contains("more than 1 days"));
    }

    #[test]
    fn quantiles_are_between_0_and_1() {
        for ok in [0.0, 0.5, 1.0] {
            assert!(check_quantile(ok).is_ok());
        }
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let p = check_quantile(bad).unwrap_err();
            assert_eq!(p.state, SqlState::InvalidParameterValue);
            assert!(p.hint.unwrap().contains("median"));
        }
    }

    #[test]
    fn stats_of_a_merged_bucket() {
        let events: Vec<Event> = [(true, 10.0), (true, 20.0), (false, 30.0), (true, 40.0)]
            .into_iter()
            .map(|(success, duration_ms)| Event {
                name: "/a".into(),
                method: Some("GET".into()),
                success,
                duration_ms,
                at: utc("2025-06-01 12:00:00"),
                project: None,
            })
            .collect();
        let bucket = aggregate(&events).into_values().next().unwrap();
        let s = Stats::of(&bucket);
        assert_eq!((s.total, s.successful, s.failed), (4, 3, 1));
        assert_eq!((s.success_rate, s.average_ms), (0.75, 25.0));
        assert_eq!((s.min_ms, s.max_ms), (10.0, 40.0));
        let within = |got: Option<f64>, exact: f64| (got.unwrap() - exact).abs() <= exact * 0.01;
        assert!(within(s.p50_ms, 20.0) && within(s.p99_ms, 40.0), "{s:?}");
        assert!(s.p99_ms.unwrap() <= 40.0, "clamped to the maximum");
    }
}
