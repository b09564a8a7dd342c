//! Which days a scheduled collection catches up on (`collect_daily_metrics()` without a
//! date): for each active metric, every closed day after its last sealed day, oldest first,
//! at most `metrics.catch_up_days` of them per run; the next run continues where it stopped.
//!
//! Each metric has a window of its own, so a metric that cannot be computed (its source is
//! gone, its day fails every time) holds back only itself: the others go on to the last
//! closed day. A metric with nothing sealed yet only gets the last closed day (history is
//! backfill's job), and a metric sealed through the last closed day gets that day again
//! (found sealed: a run that records nothing, as a collection of one day always was).

use chrono::{Days, NaiveDate};

use crate::common::calendar::day_count;

/// The default of `metrics.catch_up_days`: a month of missed days per run.
pub const DEFAULT_CATCH_UP_DAYS: i32 = 31;
/// The largest `metrics.catch_up_days`: ten years.
pub const MAX_CATCH_UP_DAYS: i32 = 3660;

/// An inclusive range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Window {
    pub fn days(&self) -> i64 {
        day_count(self.start, self.end)
    }
}

/// The window of one metric, given the last day it has sealed (`None`: nothing sealed), the
/// last closed day and the most days one run may cover (at least 1).
pub fn window(last_sealed: Option<NaiveDate>, last_closed: NaiveDate, cap: i32) -> Window {
    let just_the_last = Window {
        start: last_closed,
        end: last_closed,
    };
    let Some(next) = last_sealed.and_then(|d| d.checked_add_days(Days::new(1))) else {
        return just_the_last;
    };
    if next >= last_closed {
        return just_the_last;
    }
    let cap = cap.max(1) as u64;
    let end = next
        .checked_add_days(Days::new(cap - 1))
        .map_or(last_closed, |e| e.min(last_closed));
    Window { start: next, end }
}

/// Every metric's window, and the span of days the run covers (the log's range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub windows: Vec<(String, Window)>,
    pub span: Window,
}

/// The plan of a catch-up over `metrics` (category, last sealed day).
pub fn plan(metrics: &[(String, Option<NaiveDate>)], last_closed: NaiveDate, cap: i32) -> Plan {
    let windows: Vec<(String, Window)> = metrics
        .iter()
        .map(|(category, sealed)| (category.clone(), window(*sealed, last_closed, cap)))
        .collect();
    let start = windows
        .iter()
        .map(|(_, w)| w.start)
        .min()
        .unwrap_or(last_closed);
    let end = windows
        .iter()
        .map(|(_, w)| w.end)
        .max()
        .unwrap_or(last_closed);
    Plan {
        windows,
        span: Window { start, end },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn w(a: &str, b: &str) -> Window {
        Window {
            start: d(a),
            end: d(b),
        }
    }

    #[test]
    fn a_metric_up_to_date_or_new_gets_the_last_closed_day() {
        let last = d("2025-06-10");
        assert_eq!(window(None, last, 31), w("2025-06-10", "2025-06-10"));
        assert_eq!(
            window(Some(d("2025-06-10")), last, 31),
            w("2025-06-10", "2025-06-10")
        );
        assert_eq!(
            window(Some(d("2025-06-09")), last, 31),
            w("2025-06-10", "2025-06-10")
        );
        // Sealed after the last closed day (metrics.timezone moved west): nothing behind.
        assert_eq!(
            window(Some(d("2025-06-11")), last, 31),
            w("2025-06-10", "2025-06-10")
        );
    }

    #[test]
    fn missed_days_are_caught_up_oldest_first_within_the_cap() {
        let last = d("2025-06-10");
        assert_eq!(
            window(Some(d("2025-06-05")), last, 31),
            w("2025-06-06", "2025-06-10")
        );
        assert_eq!(
            window(Some(d("2025-06-05")), last, 5),
            w("2025-06-06", "2025-06-10")
        );
        assert_eq!(
            window(Some(d("2025-06-05")), last, 4),
            w("2025-06-06", "2025-06-09")
        );
        assert_eq!(
            window(Some(d("2025-06-05")), last, 1),
            w("2025-06-06", "2025-06-06")
        );
        // A cap below 1 is taken as 1.
        assert_eq!(
            window(Some(d("2025-06-05")), last, 0),
            w("2025-06-06", "2025-06-06")
        );
        // Forty days behind, 31 per run: the next run continues after the 31st.
        let first = window(Some(d("2025-05-01")), last, 31);
        assert_eq!(first, w("2025-05-02", "2025-06-01"));
        assert_eq!(first.days(), 31);
        assert_eq!(
            window(Some(first.end), last, 31),
            w("2025-06-02", "2025-06-10")
        );
    }

    #[test]
    fn windows_near_the_end_of_the_calendar_do_not_overflow() {
        let last = NaiveDate::MAX;
        assert_eq!(window(Some(NaiveDate::MAX), last, 31).start, NaiveDate::MAX);
        let near = NaiveDate::MAX.checked_sub_days(Days::new(3)).unwrap();
        assert_eq!(window(Some(near), last, i32::MAX).end, NaiveDate::MAX);
    }

    #[test]
    fn each_metric_has_its_own_window_and_the_span_covers_them() {
        let last = d("2025-06-10");
        let p = plan(
            &[
                ("a".into(), Some(d("2025-06-09"))),
                ("b".into(), Some(d("2025-06-01"))),
                ("c".into(), None),
                // Stuck for months (its source is gone): it does not hold the others back.
                ("d".into(), Some(d("2025-01-01"))),
            ],
            last,
            31,
        );
        assert_eq!(
            p.windows,
            vec![
                ("a".into(), w("2025-06-10", "2025-06-10")),
                ("b".into(), w("2025-06-02", "2025-06-10")),
                ("c".into(), w("2025-06-10", "2025-06-10")),
                ("d".into(), w("2025-01-02", "2025-02-01")),
            ]
        );
        assert_eq!(p.span, w("2025-01-02", "2025-06-10"));
        let none = plan(&[], last, 31);
        assert_eq!(none.span, w("2025-06-10", "2025-06-10"));
    }
}
