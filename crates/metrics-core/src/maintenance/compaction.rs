//! Compaction as statements and arithmetic: which periods a family has to fold or drop,
//! which rows a unit of work takes, and the check that the rows it writes hold exactly what
//! the rows it replaces held.
//!
//! A unit is one period of one family: a day (`Day`: its hour rows become one row per key),
//! an ISO week (`Week`: its days and any hours left), or the rows of a day that are older
//! than the policy keeps (`Drop`). Periods are days and weeks in the zone of the run
//! (`metrics.timezone`), each row going by its start, as the reports group them, so a report
//! at day or week grain reads the same rows before and after. Every statement takes a
//! unit's `$1` start, `$2` end, and `$3` limit: a row is the unit's when it starts in
//! `[$1, $2)` and, unless it is an hour row, ends by `$3` (a fold's end: a row of another
//! zone's day that straddles it is left alone), or, for a drop, when it ends by `$3`, the
//! policy's cutoff.
//!
//! A key is a route and method (or an operation) and a project: the rows of different
//! projects (and those of no project) are folded apart, never into one another.

use crate::requests::event::Subject;
use crate::requests::statements::columns;

/// What a unit does to one period of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Deletes the rows of a period older than `drop_after`.
    Drop,
    /// Folds the rows of an ISO week older than `keep_daily` into one row per key.
    Week,
    /// Folds the hour rows of a day older than `keep_hourly` into one row per key.
    Day,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Week => "compact_week",
            Action::Day => "compact_day",
        }
    }

    /// The resolution of the rows the unit writes (none for a drop).
    pub fn resolution(self) -> Option<&'static str> {
        match self {
            Action::Drop => None,
            Action::Week => Some("week"),
            Action::Day => Some("day"),
        }
    }

    /// The grain of `date_trunc` that names the unit's periods.
    pub fn grain(self) -> &'static str {
        match self {
            Action::Drop | Action::Day => "day",
            Action::Week => "week",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        [Action::Drop, Action::Week, Action::Day]
            .into_iter()
            .find(|a| a.as_str() == text)
    }

    /// The resolutions a fold takes apart (a drop takes every row that is old enough).
    fn finer(self) -> &'static str {
        match self {
            Action::Drop => "",
            Action::Week => "'hour', 'day'",
            Action::Day => "'hour'",
        }
    }
}

/// The family of a subject's rows in the retention policies.
pub fn family(subject: Subject) -> &'static str {
    columns(subject).0
}

/// The first period of `action` a family has to work on that starts at or after `$3`:
/// `$1` zone, `$2` cutoff (now minus what the policy keeps). A fold's period qualifies when
/// it has ended by the cutoff and holds a row finer than what the fold makes (an hour row,
/// or a day row it holds whole); a drop's when a row of it has ended by the cutoff. Asked
/// again from the end of the period found, it walks the periods oldest first, each step an
/// index scan from where the last one ended.
pub fn next_period(subject: Subject, action: Action) -> String {
    let (table, ..) = columns(subject);
    let grain = action.grain();
    let wanted = match action {
        Action::Drop => "t.period_end <= $2".to_string(),
        _ => format!(
            "t.resolution IN ({finer})
             AND (t.resolution = 'hour'
                  OR pg_catalog.date_trunc('{grain}', t.period_start, $1)
                     = pg_catalog.date_trunc('{grain}', t.period_end - interval '1 microsecond', $1))",
            finer = action.finer()
        ),
    };
    let ended = match action {
        Action::Drop => "true",
        _ => "p.period_end <= $2",
    };
    format!(
        "SELECT p.period_start, p.period_end
         FROM (SELECT s.period_start,
                      ((s.period_start AT TIME ZONE $1) + interval '1 {grain}') AT TIME ZONE $1 AS period_end
               FROM (SELECT pg_catalog.date_trunc('{grain}', t.period_start, $1) AS period_start
                     FROM metrics.{table} AS t
                     WHERE t.period_start >= $3 AND t.period_start < $2 AND {wanted}
                     ORDER BY t.period_start
                     LIMIT 1) AS s) AS p
         WHERE {ended}"
    )
}

/// The advisory locks of compaction: `pg_advisory_xact_lock(lock_class(family), utc_day)`,
/// one per UTC day (days since the Unix epoch) a unit's period overlaps, taken by the unit in
/// ascending order; a late event's writer shares the lock of its hour's UTC day. So a late
/// event waits for a unit only when it falls into that unit's days, and for that unit at most
/// (for the transaction holding it, when several units commit together); recording into any
/// other day never waits.
pub const LOCK_CLASS: i32 = 0x6d74_7263;

pub fn lock_class(subject: Subject) -> i32 {
    LOCK_CLASS
        + match subject {
            Subject::Route => 1,
            Subject::Operation => 2,
        }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The UTC day (days since the Unix epoch) of a time in microseconds since the epoch.
pub fn utc_day(micros: i64) -> i32 {
    micros.div_euclid(MICROS_PER_DAY) as i32
}

/// The UTC days a period `[start, end)` overlaps, ascending.
pub fn utc_days(start: i64, end: i64) -> std::ops::RangeInclusive<i32> {
    utc_day(start)..=utc_day(end - 1)
}

/// The key columns of the table aliased `t`, as a list.
fn qualified(key: &[&str]) -> String {
    key.iter()
        .map(|k| format!("t.{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a row is the unit's (see the module's comment).
fn taken(action: Action) -> &'static str {
    match action {
        Action::Drop => "t.period_start >= $1 AND t.period_start < $2 AND t.period_end <= $3",
        _ => "t.period_start >= $1 AND t.period_start < $2 AND (t.resolution = 'hour' OR t.period_end <= $3)",
    }
}

/// What the unit's rows hold, per key (the name columns and the project, last), in key
/// order (no project first, as `Option` sorts): the number of rows, the counts, the sum and
/// extremes of the durations, and the project. Asked before a fold and after it, of the same
/// rows' period: the two answers must match (`Conserved::matches`).
pub fn conserved(subject: Subject, action: Action) -> String {
    let (table, key, total, _) = columns(subject);
    let key = qualified(key);
    format!(
        "SELECT {key}, count(*), sum(t.{total})::bigint, sum(t.successful)::bigint,
                sum(t.failed)::bigint, sum(t.total_duration_ms), min(t.min_duration_ms),
                max(t.max_duration_ms), t.project_id
         FROM metrics.{table} AS t
         WHERE {taken}
         GROUP BY {key}, t.project_id
         ORDER BY {key}, t.project_id NULLS FIRST",
        taken = taken(action)
    )
}

/// Deletes the unit's rows and returns them: the key, the counts, sum and extremes, the last
/// event's time, the sketch, the resolution, the period's start and the project. In no order: the caller
/// sorts them by key, then time (the order the reports merge them in), which costs less than
/// materializing and sorting the wide rows (sketches included) in the executor.
pub fn take(subject: Subject, action: Action) -> String {
    let (table, key, total, last) = columns(subject);
    let key = qualified(key);
    format!(
        "DELETE FROM metrics.{table} AS t WHERE {taken}
         RETURNING {key}, t.{total}, t.successful, t.failed, t.total_duration_ms,
                   t.min_duration_ms, t.max_duration_ms, t.{last}, t.latency_sketch,
                   t.resolution, t.period_start, t.project_id",
        taken = taken(action)
    )
}

/// What rows of one key hold together, the part of a bucket that is conserved by folding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conserved {
    pub total: i64,
    pub successful: i64,
    pub failed: i64,
    pub sum_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

/// How far two sums of the same durations may differ: floating-point addition is not
/// associative, so adding 24 hours in another grouping may change the last bits.
pub const SUM_TOLERANCE: f64 = 1e-9;

impl Conserved {
    /// Whether `folded` holds what `replaced` held: counts and extremes exactly, the sum
    /// of durations up to the order of addition.
    pub fn matches(&self, folded: &Conserved) -> bool {
        let scale = self.sum_ms.abs().max(folded.sum_ms.abs()).max(1.0);
        self.total == folded.total
            && self.successful == folded.successful
            && self.failed == folded.failed
            && self.min_ms == folded.min_ms
            && self.max_ms == folded.max_ms
            && (self.sum_ms - folded.sum_ms).abs() <= SUM_TOLERANCE * scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(total: i64, sum_ms: f64) -> Conserved {
        Conserved {
            total,
            successful: total - 1,
            failed: 1,
            sum_ms,
            min_ms: 0.5,
            max_ms: 99.0,
        }
    }

    #[test]
    fn counts_and_extremes_must_be_equal() {
        assert!(c(10, 123.25).matches(&c(10, 123.25)));
        assert!(!c(10, 123.25).matches(&c(11, 123.25)));
        let mut other = c(10, 123.25);
        other.max_ms = 98.0;
        assert!(!c(10, 123.25).matches(&other));
        other = c(10, 123.25);
        other.failed = 2;
        assert!(!c(10, 123.25).matches(&other));
    }

    #[test]
    fn sums_may_differ_by_the_order_of_addition_only() {
        let parts = [0.1, 0.2, 0.3, 1e6, 0.7, 3.3];
        let left: f64 = parts.iter().sum();
        let grouped: f64 = parts[..3].iter().sum::<f64>() + parts[3..].iter().sum::<f64>();
        assert!(c(6, left).matches(&c(6, grouped)));
        assert!(!c(6, left).matches(&c(6, left + 0.01)));
    }

    fn squeeze(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn a_day_takes_the_hours_that_start_in_it_and_the_rows_it_holds_whole() {
        let sql = squeeze(&take(Subject::Route, Action::Day));
        assert!(sql.starts_with("DELETE FROM metrics.route_metrics AS t WHERE t.period_start >= $1 AND t.period_start < $2 AND (t.resolution = 'hour' OR t.period_end <= $3) RETURNING t.route, t.method, t.total_requests,"));
        assert!(sql.ends_with("t.latency_sketch, t.resolution, t.period_start, t.project_id"));
        let drop = squeeze(&conserved(Subject::Operation, Action::Drop));
        assert!(drop.contains("FROM metrics.operation_metrics AS t WHERE t.period_start >= $1 AND t.period_start < $2 AND t.period_end <= $3 GROUP BY t.operation, t.project_id ORDER BY t.operation, t.project_id NULLS FIRST"));
        assert!(drop.contains("max(t.max_duration_ms), t.project_id FROM"));
    }

    #[test]
    fn plans_look_for_finer_rows_only() {
        let week = squeeze(&next_period(Subject::Route, Action::Week));
        assert!(week.contains("t.resolution IN ('hour', 'day')"));
        assert!(week.contains("interval '1 week'"));
        assert!(week.contains("WHERE p.period_end <= $2"));
        let day = squeeze(&next_period(Subject::Operation, Action::Day));
        assert!(day.contains("FROM metrics.operation_metrics AS t WHERE t.period_start >= $3 AND t.period_start < $2 AND t.resolution IN ('hour')"));
        assert!(day.contains("ORDER BY t.period_start LIMIT 1"));
        let drop = squeeze(&next_period(Subject::Route, Action::Drop));
        assert!(drop.contains("AND t.period_end <= $2 ORDER BY"));
        assert!(drop.contains("WHERE true"));
        assert_eq!(family(Subject::Operation), "operation_metrics");
        assert_eq!(Action::parse("compact_week"), Some(Action::Week));
        assert_eq!(Action::parse("week"), None);
    }

    #[test]
    fn units_lock_the_utc_days_they_overlap() {
        let day = MICROS_PER_DAY;
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(-1), -1);
        assert_eq!(utc_days(0, day).collect::<Vec<_>>(), vec![0]);
        // A Berlin day (22:00 to 22:00 UTC) overlaps two UTC days; an ISO week eight.
        let berlin = 20 * day - 2 * 3_600_000_000;
        assert_eq!(
            utc_days(berlin, berlin + day).collect::<Vec<_>>(),
            vec![19, 20]
        );
        assert_eq!(utc_days(berlin, berlin + 7 * day).count(), 8);
        assert_ne!(lock_class(Subject::Route), lock_class(Subject::Operation));
    }

    #[test]
    fn actions_name_their_rows() {
        assert_eq!(Action::Day.resolution(), Some("day"));
        assert_eq!(Action::Week.grain(), "week");
        assert_eq!(Action::Drop.resolution(), None);
        assert!(Action::Drop < Action::Week && Action::Week < Action::Day);
    }
}
