//! Health checks and alerts: the pure rules. Which severity a measured value has against its
//! threshold, how many collection runs failed in a row, the z-score of a day's value against
//! the trailing days, the missing days as compact ranges with the backfill calls that fill
//! them, and the NOTIFY payload of an alert. The extension measures (`src/maintenance/health.rs`)
//! and these functions judge.

use chrono::NaiveDate;
use serde_json::{json, Value};

/// How a check stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Ok,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// A severity as stored (`metrics.alert_state.severity`, which a CHECK constrains).
    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "ok" => Some(Severity::Ok),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// The names of the checks, in the order `metrics.health()` returns them.
pub const CHECKS: [&str; 10] = [
    "collection_success_rate",
    "failed_runs_in_a_row",
    "sealed_recently",
    "last_run_duration",
    "missing_dates",
    "anomalous_values",
    "buffer_writer_lag",
    "cron_job_failures",
    "retention_backlog",
    "unfolded_backlog",
];

/// One row of `metrics.health()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub severity: Severity,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    pub detail: String,
    /// What to do; only for a check that is not ok.
    pub hint: Option<String>,
}

impl Check {
    /// A check that is ok, with what was measured.
    pub fn ok(
        name: &'static str,
        value: Option<f64>,
        threshold: Option<f64>,
        detail: impl Into<String>,
    ) -> Check {
        Check {
            name,
            severity: Severity::Ok,
            value,
            threshold,
            detail: detail.into(),
            hint: None,
        }
    }

    /// The check with `severity`; the hint is kept only when it is not ok.
    pub fn graded(mut self, severity: Severity, hint: impl Into<String>) -> Check {
        self.severity = severity;
        self.hint = (severity != Severity::Ok).then(|| hint.into());
        self
    }
}

/// The success rate (percent of values computed without error) against its target: below
/// the target a warning; critical when more than ten times the error budget failed
/// (target 99.9 %: below 99 %).
pub fn success_rate_severity(rate: f64, target: f64) -> Severity {
    // Rounded, so 99.9 gives 99 and not 99.0000000001.
    let critical_below = rounded(100.0 - 10.0 * (100.0 - target), 9);
    if rate >= target {
        Severity::Ok
    } else if rate >= critical_below {
        Severity::Warning
    } else {
        Severity::Critical
    }
}

/// Failures in a row: one is a warning, `threshold` or more critical.
pub fn in_a_row_severity(failures: u64, threshold: u64) -> Severity {
    if failures >= threshold.max(1) {
        Severity::Critical
    } else if failures > 0 {
        Severity::Warning
    } else {
        Severity::Ok
    }
}

/// Hours since the last sealed value: critical beyond the threshold, a warning beyond three
/// quarters of it (36 of 48 hours: a daily collection missed).
pub fn stale_severity(hours: f64, threshold: f64) -> Severity {
    if hours > threshold {
        Severity::Critical
    } else if hours > 0.75 * threshold {
        Severity::Warning
    } else {
        Severity::Ok
    }
}

/// Seconds the last run took: a warning beyond the threshold, critical beyond ten times it.
pub fn slow_run_severity(seconds: f64, threshold: f64) -> Severity {
    if seconds > 10.0 * threshold {
        Severity::Critical
    } else if seconds > threshold {
        Severity::Warning
    } else {
        Severity::Ok
    }
}

/// A z-score against `sigma`: a warning beyond it, critical beyond twice it.
pub fn anomaly_severity(z: f64, sigma: f64) -> Severity {
    let z = z.abs();
    if z > 2.0 * sigma {
        Severity::Critical
    } else if z > sigma {
        Severity::Warning
    } else {
        Severity::Ok
    }
}

/// The buffer writer: critical when events wait and the last write is older than the limit.
pub fn writer_lag_severity(lag_seconds: f64, waiting: u64, limit_seconds: f64) -> Severity {
    if waiting > 0 && lag_seconds > limit_seconds {
        Severity::Critical
    } else {
        Severity::Ok
    }
}

/// Retention behind its policy: a warning as soon as rows are past their limit (which
/// already allows for the daily job), critical `critical_days` behind.
pub fn retention_severity(days_behind: f64, critical_days: f64) -> Severity {
    if days_behind >= critical_days {
        Severity::Critical
    } else if days_behind > 0.0 {
        Severity::Warning
    } else {
        Severity::Ok
    }
}

/// The oldest unfolded row (minutes since its last event) against the limit: a warning beyond
/// it, critical beyond twelve times it (nothing folds: the reports read ever more rows).
pub fn unfolded_severity(minutes: f64, limit: f64) -> Severity {
    if minutes > 12.0 * limit {
        Severity::Critical
    } else if minutes > limit {
        Severity::Warning
    } else {
        Severity::Ok
    }
}

/// How many of the latest runs (newest first, by status) failed in a row: `failed` and
/// `partial` count, `completed` and `skipped` (nothing left to do) end the streak.
pub fn failed_in_a_row<'a>(statuses: impl IntoIterator<Item = &'a str>) -> u64 {
    statuses
        .into_iter()
        .take_while(|s| matches!(*s, "failed" | "partial"))
        .count() as u64
}

/// Fewest trailing values a z-score is computed from.
pub const MIN_HISTORY: usize = 7;

/// A value against the trailing days: their mean, population standard deviation and the
/// value's z-score (infinite when the history is constant and the value differs from it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deviation {
    pub mean: f64,
    pub sd: f64,
    pub z: f64,
}

/// The deviation of `value` from `history`, or `None` with fewer than `MIN_HISTORY` values.
pub fn deviation(value: f64, history: &[f64]) -> Option<Deviation> {
    if history.len() < MIN_HISTORY {
        return None;
    }
    let n = history.len() as f64;
    let mean = history.iter().sum::<f64>() / n;
    let sd = (history.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let diff = value - mean;
    let z = if sd > 1e-12 * mean.abs().max(1.0) {
        diff / sd
    } else if diff.abs() <= 1e-12 * mean.abs().max(1.0) {
        0.0
    } else {
        f64::INFINITY.copysign(diff)
    };
    Some(Deviation { mean, sd, z })
}

/// A cumulative series (a `total` metric) as the change from each day to the next, for the
/// days whose previous day is there: `(day, value)` sorted by day in, `(day, change)` out.
pub fn daily_changes(series: &[(NaiveDate, f64)]) -> Vec<(NaiveDate, f64)> {
    series
        .windows(2)
        .filter(|w| w[0].0.succ_opt() == Some(w[1].0))
        .map(|w| (w[1].0, w[1].1 - w[0].1))
        .collect()
}

/// The latest day of a series against the `days` days before it: `None` when there is too
/// little history. The series is `(day, value)` sorted by day.
pub fn latest_deviation(
    series: &[(NaiveDate, f64)],
    days: i64,
) -> Option<(NaiveDate, f64, Deviation)> {
    let (last_day, last) = *series.last()?;
    let from = last_day - chrono::Duration::days(days);
    let history: Vec<f64> = series
        .iter()
        .filter(|(d, _)| *d >= from && *d < last_day)
        .map(|(_, v)| *v)
        .collect();
    deviation(last, &history).map(|dev| (last_day, last, dev))
}

/// Sorted days as ranges of consecutive days (duplicates are one day).
pub fn day_ranges(days: &[NaiveDate]) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &day in days {
        match out.last_mut() {
            Some((_, end)) if *end == day => {}
            Some((_, end)) if end.succ_opt() == Some(day) => *end = day,
            _ => out.push((day, day)),
        }
    }
    out
}

/// Ranges shown at most in a detail; the rest are counted.
pub const MAX_RANGES_SHOWN: usize = 10;

/// Ranges as `2026-01-03..2026-01-05, 2026-02-01`, the first `MAX_RANGES_SHOWN` of them.
pub fn format_ranges(ranges: &[(NaiveDate, NaiveDate)]) -> String {
    let mut parts: Vec<String> = ranges
        .iter()
        .take(MAX_RANGES_SHOWN)
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..{b}")
            }
        })
        .collect();
    if ranges.len() > MAX_RANGES_SHOWN {
        parts.push(format!(
            "and {} more ranges",
            ranges.len() - MAX_RANGES_SHOWN
        ));
    }
    parts.join(", ")
}

/// Most backfill calls a hint spells out; with more ranges, one call covers them all (a
/// backfill records only what is missing, so the days between are left as they are).
pub const MAX_BACKFILL_CALLS: usize = 3;

/// The exact calls that fill the ranges, separated by `; `.
pub fn backfill_calls(ranges: &[(NaiveDate, NaiveDate)]) -> String {
    let call = |a: NaiveDate, b: NaiveDate| {
        format!("SELECT * FROM metrics.backfill_daily_metrics('{a}', '{b}')")
    };
    match (ranges.first(), ranges.last()) {
        (Some(first), Some(last)) if ranges.len() > MAX_BACKFILL_CALLS => call(first.0, last.1),
        _ => ranges
            .iter()
            .map(|(a, b)| call(*a, *b))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Whether a change of severity is an alert: into critical, or out of it (a recovery).
pub fn is_alert(previous: Severity, current: Severity) -> bool {
    previous != current && (previous == Severity::Critical || current == Severity::Critical)
}

/// Longest detail in a NOTIFY payload, in characters (a payload must stay under 8,000 bytes).
pub const MAX_PAYLOAD_DETAIL: usize = 1000;

/// The JSON sent with `NOTIFY metrics_alerts`.
pub fn alert_payload(
    check: &str,
    previous: Severity,
    current: Severity,
    detail: &str,
    at: &str,
) -> Value {
    let detail: String = if detail.chars().count() > MAX_PAYLOAD_DETAIL {
        let mut cut: String = detail.chars().take(MAX_PAYLOAD_DETAIL - 1).collect();
        cut.push('…');
        cut
    } else {
        detail.to_string()
    };
    json!({
        "check": check,
        "severity": current.as_str(),
        "previous_severity": previous.as_str(),
        "detail": detail,
        "at": at,
    })
}

/// A number rounded to `places` decimals (for the value column).
pub fn rounded(value: f64, places: i32) -> f64 {
    if !value.is_finite() {
        return value;
    }
    let f = 10f64.powi(places);
    (value * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn severities_round_trip() {
        for s in [Severity::Ok, Severity::Warning, Severity::Critical] {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("fine"), None);
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Ok);
    }

    #[test]
    fn success_rate_against_its_budget() {
        assert_eq!(success_rate_severity(100.0, 99.9), Severity::Ok);
        assert_eq!(success_rate_severity(99.9, 99.9), Severity::Ok);
        assert_eq!(success_rate_severity(99.5, 99.9), Severity::Warning);
        assert_eq!(success_rate_severity(99.0, 99.9), Severity::Warning);
        assert_eq!(success_rate_severity(98.9, 99.9), Severity::Critical);
        // A target of 90 % leaves a budget of 10 points: never critical above 0 %.
        assert_eq!(success_rate_severity(1.0, 90.0), Severity::Warning);
    }

    #[test]
    fn thresholds_grade_values() {
        assert_eq!(in_a_row_severity(0, 3), Severity::Ok);
        assert_eq!(in_a_row_severity(2, 3), Severity::Warning);
        assert_eq!(in_a_row_severity(3, 3), Severity::Critical);
        assert_eq!(
            in_a_row_severity(1, 0),
            Severity::Critical,
            "a threshold of 0 is 1"
        );
        assert_eq!(stale_severity(30.0, 48.0), Severity::Ok);
        assert_eq!(stale_severity(40.0, 48.0), Severity::Warning);
        assert_eq!(stale_severity(48.5, 48.0), Severity::Critical);
        assert_eq!(slow_run_severity(60.0, 60.0), Severity::Ok);
        assert_eq!(slow_run_severity(61.0, 60.0), Severity::Warning);
        assert_eq!(slow_run_severity(601.0, 60.0), Severity::Critical);
        assert_eq!(anomaly_severity(-3.5, 3.0), Severity::Warning);
        assert_eq!(anomaly_severity(f64::INFINITY, 3.0), Severity::Critical);
        assert_eq!(anomaly_severity(2.9, 3.0), Severity::Ok);
        assert_eq!(
            writer_lag_severity(100.0, 0, 15.0),
            Severity::Ok,
            "nothing waits"
        );
        assert_eq!(writer_lag_severity(16.0, 1, 15.0), Severity::Critical);
        assert_eq!(writer_lag_severity(14.0, 1, 15.0), Severity::Ok);
        assert_eq!(retention_severity(0.0, 7.0), Severity::Ok);
        assert_eq!(retention_severity(0.5, 7.0), Severity::Warning);
        assert_eq!(retention_severity(7.0, 7.0), Severity::Critical);
    }

    #[test]
    fn unfolded_rows_are_judged_by_their_age() {
        assert_eq!(unfolded_severity(0.0, 15.0), Severity::Ok);
        assert_eq!(unfolded_severity(15.0, 15.0), Severity::Ok);
        assert_eq!(unfolded_severity(15.5, 15.0), Severity::Warning);
        assert_eq!(unfolded_severity(180.0, 15.0), Severity::Warning);
        assert_eq!(unfolded_severity(181.0, 15.0), Severity::Critical);
        assert_eq!(CHECKS.last(), Some(&"unfolded_backlog"));
    }

    #[test]
    fn failures_in_a_row_count_partial_runs() {
        assert_eq!(
            failed_in_a_row(["failed", "partial", "failed", "completed", "failed"]),
            3
        );
        assert_eq!(failed_in_a_row(["completed", "failed"]), 0);
        assert_eq!(failed_in_a_row(["partial", "skipped", "failed"]), 1);
        assert_eq!(failed_in_a_row([]), 0);
    }

    #[test]
    fn deviations_need_history() {
        assert_eq!(deviation(5.0, &[1.0; 6]), None);
        let dev = deviation(12.0, &[10.0, 12.0, 10.0, 12.0, 10.0, 12.0, 10.0, 12.0]).unwrap();
        assert_eq!(dev.mean, 11.0);
        assert_eq!(dev.sd, 1.0);
        assert_eq!(dev.z, 1.0);
        assert_eq!(deviation(10.0, &[10.0; 7]).unwrap().z, 0.0);
        assert_eq!(deviation(11.0, &[10.0; 7]).unwrap().z, f64::INFINITY);
        assert_eq!(deviation(9.0, &[10.0; 7]).unwrap().z, f64::NEG_INFINITY);
    }

    #[test]
    fn the_latest_day_against_the_days_before() {
        let series: Vec<(NaiveDate, f64)> = (1..=30)
            .map(|i| {
                (
                    d("2026-01-01") + chrono::Duration::days(i),
                    if i == 30 { 50.0 } else { 10.0 + (i % 2) as f64 },
                )
            })
            .collect();
        let (day, value, dev) = latest_deviation(&series, 28).unwrap();
        assert_eq!(day, d("2026-01-31"));
        assert_eq!(value, 50.0);
        assert!((dev.mean - 10.5).abs() < 1e-9 && (dev.sd - 0.5).abs() < 1e-9);
        assert!((dev.z - 79.0).abs() < 1e-9);
        // Only the 28 days before count: a day 29 days back does not.
        let mut with_old = vec![(d("2025-12-01"), 1000.0)];
        with_old.extend(series.iter().copied());
        assert_eq!(latest_deviation(&with_old, 28).unwrap().2, dev);
        assert_eq!(
            latest_deviation(&series[25..], 28),
            None,
            "four days of history are too few"
        );
        assert_eq!(latest_deviation(&[], 28), None);
    }

    #[test]
    fn totals_are_judged_by_their_daily_changes() {
        let series = [
            (d("2026-01-01"), 10.0),
            (d("2026-01-02"), 13.0),
            (d("2026-01-04"), 20.0),
            (d("2026-01-05"), 26.0),
        ];
        assert_eq!(
            daily_changes(&series),
            vec![(d("2026-01-02"), 3.0), (d("2026-01-05"), 6.0)]
        );
    }

    #[test]
    fn missing_days_become_ranges_and_calls() {
        let days = [
            d("2026-01-03"),
            d("2026-01-04"),
            d("2026-01-04"),
            d("2026-01-05"),
            d("2026-02-01"),
        ];
        let ranges = day_ranges(&days);
        assert_eq!(
            ranges,
            vec![
                (d("2026-01-03"), d("2026-01-05")),
                (d("2026-02-01"), d("2026-02-01"))
            ]
        );
        assert_eq!(format_ranges(&ranges), "2026-01-03..2026-01-05, 2026-02-01");
        assert_eq!(
            backfill_calls(&ranges),
            "SELECT * FROM metrics.backfill_daily_metrics('2026-01-03', '2026-01-05'); \
             SELECT * FROM metrics.backfill_daily_metrics('2026-02-01', '2026-02-01')"
        );
        let many: Vec<NaiveDate> = (0..12)
            .map(|i| d("2026-01-01") + chrono::Duration::days(2 * i))
            .collect();
        let ranges = day_ranges(&many);
        assert_eq!(ranges.len(), 12);
        assert!(format_ranges(&ranges).ends_with("2026-01-19, and 2 more ranges"));
        assert_eq!(
            backfill_calls(&ranges),
            "SELECT * FROM metrics.backfill_daily_metrics('2026-01-01', '2026-01-23')"
        );
        assert_eq!(day_ranges(&[]), vec![]);
        assert_eq!(backfill_calls(&[]), "");
    }

    #[test]
    fn alerts_are_transitions_into_or_out_of_critical() {
        use Severity::*;
        assert!(is_alert(Ok, Critical) && is_alert(Warning, Critical));
        assert!(is_alert(Critical, Ok) && is_alert(Critical, Warning));
        assert!(!is_alert(Ok, Warning) && !is_alert(Warning, Ok) && !is_alert(Critical, Critical));
    }

    #[test]
    fn payloads_are_small_json() {
        let p = alert_payload(
            "failed_runs_in_a_row",
            Severity::Ok,
            Severity::Critical,
            "3 runs",
            "2026-01-01T00:05:00.000000Z",
        );
        assert_eq!(
            p,
            json!({"check": "failed_runs_in_a_row", "severity": "critical", "previous_severity": "ok",
                   "detail": "3 runs", "at": "2026-01-01T00:05:00.000000Z"})
        );
        let long = "é\"".repeat(5000);
        let p = alert_payload("x", Severity::Critical, Severity::Ok, &long, "t");
        let detail = p["detail"].as_str().unwrap();
        assert_eq!(detail.chars().count(), MAX_PAYLOAD_DETAIL);
        assert!(p.to_string().len() < 8000);
    }

    #[test]
    fn values_are_rounded() {
        assert_eq!(rounded(99.812345, 4), 99.8123);
        assert!(rounded(f64::INFINITY, 2).is_infinite());
    }
}
