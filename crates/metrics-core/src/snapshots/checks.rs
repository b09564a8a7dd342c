//! The argument checks of the functions that read, backfill and correct sealed values, before
//! they touch a table: lists of names, date ranges, the number of days of a series, and the
//! categories and reason of a correction.

use chrono::NaiveDate;

use crate::common::calendar::{check_closed, check_order, check_span, day_count, Grain};
use crate::common::problem::{Outcome, Problem, SqlState};
use crate::snapshots::definition::unknown_metric;

/// Longest range one backfill call accepts (a century of days).
pub const MAX_BACKFILL_DAYS: i64 = 36_600;
/// The default of `metrics.max_query_days`: a whole calendar year, leap years included
/// (2024-01-01 to 2024-12-31 is 366 days).
pub const DEFAULT_MAX_QUERY_DAYS: i32 = 366;
/// Longest accepted reason for a correction.
pub const MAX_REASON_LEN: usize = 2000;

/// A `text[]` argument of names: NULL for all, otherwise no NULL inside; sorted and
/// de-duplicated; an empty array also means all (`None`).
pub fn text_list(values: Option<Vec<Option<String>>>, name: &str) -> Outcome<Option<Vec<String>>> {
    let Some(values) = values else {
        return Ok(None);
    };
    if values.iter().any(Option::is_none) {
        return Err(Problem::new(
            SqlState::NullValueNotAllowed,
            format!("{name} must not contain NULL"),
        )
        .hint(format!("pass {name} as an array of names, or NULL for all")));
    }
    let mut list: Vec<String> = values.into_iter().flatten().collect();
    list.sort();
    list.dedup();
    Ok((!list.is_empty()).then_some(list))
}

/// Every named category must be defined: a typo must not read as "no data".
pub fn check_known(categories: &[String], known: &[String]) -> Outcome<()> {
    match categories.iter().find(|c| !known.contains(c)) {
        Some(unknown) => Err(unknown_metric(unknown)),
        None => Ok(()),
    }
}

/// The grain and range of `fetch_metrics`: a known aggregation, start on or before end, at
/// most `max_days` days.
pub fn check_fetch(
    start: NaiveDate,
    end: NaiveDate,
    aggregation: &str,
    max_days: i64,
) -> Outcome<Grain> {
    let grain = Grain::parse(aggregation)?;
    check_order(start, end, "start_date", "end_date")?;
    check_span(start, end, max_days)?;
    Ok(grain)
}

/// The `days` of `activity_series`: 1 to `max_days` (the setting `metrics.max_query_days`).
pub fn check_series_days(days: i64, max_days: i64) -> Outcome<i64> {
    if !(1..=max_days).contains(&days) {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("days must be between 1 and {max_days}, not {days}"),
        )
        .hint("the upper limit is the setting metrics.max_query_days"));
    }
    Ok(days)
}

/// A backfill range: in order, ended by `last_closed`, at most `MAX_BACKFILL_DAYS` days.
pub fn check_backfill(
    start: NaiveDate,
    end: NaiveDate,
    last_closed: NaiveDate,
    timezone: &str,
) -> Outcome<()> {
    check_order(start, end, "start_date", "end_date")?;
    check_closed(end, last_closed, timezone)?;
    let span = day_count(start, end);
    if span > MAX_BACKFILL_DAYS {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("a backfill covers at most {MAX_BACKFILL_DAYS} days, not {span}"),
        )
        .hint(
            "backfill a shorter range, or use CALL metrics.backfill_daily_metrics_chunked(...)",
        ));
    }
    Ok(())
}

/// What `recollect` corrects and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub categories: Vec<String>,
    pub reason: String,
}

/// At least one category, and a reason of 1 to `MAX_REASON_LEN` characters (trimmed).
pub fn check_correction(categories: Vec<String>, reason: &str) -> Outcome<Correction> {
    if categories.is_empty() {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            "categories must name at least one metric",
        )
        .hint("pass the categories to recompute, e.g. ARRAY['posts_created']"));
    }
    Ok(Correction {
        categories,
        reason: check_reason(reason)?,
    })
}

/// The reason of a correction, trimmed: 1 to `MAX_REASON_LEN` characters.
pub fn check_reason(reason: &str) -> Outcome<String> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_LEN {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("reason must be between 1 and {MAX_REASON_LEN} characters"),
        )
        .hint("say why the sealed values are being corrected; it is kept with the revision"));
    }
    Ok(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn some(names: &[&str]) -> Option<Vec<Option<String>>> {
        Some(names.iter().map(|n| Some(n.to_string())).collect())
    }

    #[test]
    fn the_default_range_limit_holds_a_leap_year() {
        let max = i64::from(DEFAULT_MAX_QUERY_DAYS);
        for (start, end) in [("2024-01-01", "2024-12-31"), ("2025-01-01", "2025-12-31")] {
            assert!(
                check_fetch(d(start), d(end), "Daily", max).is_ok(),
                "{start}..{end}"
            );
        }
        let p = check_fetch(d("2024-01-01"), d("2025-01-01"), "Daily", max).unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
    }

    #[test]
    fn name_lists_are_sorted_sets_and_refuse_null() {
        assert_eq!(text_list(None, "categories"), Ok(None));
        assert_eq!(text_list(Some(vec![]), "categories"), Ok(None));
        assert_eq!(
            text_list(some(&["b", "a", "b"]), "categories"),
            Ok(Some(vec!["a".to_string(), "b".to_string()]))
        );
        let p = text_list(Some(vec![Some("a".into()), None]), "types").unwrap_err();
        assert_eq!(p.state, SqlState::NullValueNotAllowed);
        assert_eq!(p.message, "types must not contain NULL");
    }

    #[test]
    fn unknown_categories_are_the_unknown_metric_error() {
        let known = vec!["a".to_string(), "b".to_string()];
        assert!(check_known(&["b".to_string()], &known).is_ok());
        let p = check_known(&["a".to_string(), "c".to_string()], &known).unwrap_err();
        assert_eq!(p, unknown_metric("c"));
        assert_eq!(p.state, SqlState::UndefinedObject);
    }

    #[test]
    fn fetch_ranges() {
        assert_eq!(
            check_fetch(d("2025-01-01"), d("2025-01-31"), "Weekly", 365),
            Ok(Grain::Weekly)
        );
        for (start, end, aggregation, state) in [
            (
                "2025-01-01",
                "2025-01-31",
                "hourly",
                SqlState::InvalidParameterValue,
            ),
            (
                "2025-02-01",
                "2025-01-31",
                "daily",
                SqlState::InvalidParameterValue,
            ),
            (
                "2024-01-01",
                "2025-01-31",
                "daily",
                SqlState::InvalidParameterValue,
            ),
        ] {
            assert_eq!(
                check_fetch(d(start), d(end), aggregation, 365)
                    .unwrap_err()
                    .state,
                state
            );
        }
    }

    #[test]
    fn series_days_are_bounded() {
        assert_eq!(check_series_days(1, 365), Ok(1));
        assert_eq!(check_series_days(365, 365), Ok(365));
        for bad in [0, -1, 366] {
            let p = check_series_days(bad, 365).unwrap_err();
            assert_eq!(p.state, SqlState::InvalidParameterValue);
            assert!(p.hint.unwrap().contains("max_query_days"));
        }
    }

    #[test]
    fn backfill_ranges() {
        let last = d("2025-06-30");
        assert!(check_backfill(d("2025-01-01"), last, last, "UTC").is_ok());
        let p = check_backfill(d("2025-07-01"), d("2025-06-30"), last, "UTC").unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        let p = check_backfill(d("2025-06-01"), d("2025-07-01"), last, "UTC").unwrap_err();
        assert_eq!(p.state, SqlState::DatetimeFieldOverflow);
        let p = check_backfill(d("1900-01-01"), last, last, "UTC").unwrap_err();
        assert!(p.message.contains("at most 36600 days"), "{}", p.message);
        assert!(p.hint.unwrap().contains("chunked"));
    }

    #[test]
    fn corrections_need_categories_and_a_reason() {
        let c = check_correction(vec!["a".into()], "  spam removed ").unwrap();
        assert_eq!(c.reason, "spam removed");
        assert_eq!(
            check_correction(vec![], "why").unwrap_err().state,
            SqlState::InvalidParameterValue
        );
        for bad in ["", "   ", &"r".repeat(MAX_REASON_LEN + 1)] {
            let p = check_correction(vec!["a".into()], bad).unwrap_err();
            assert_eq!(p.state, SqlState::InvalidParameterValue);
            assert!(p.message.contains("reason"));
        }
        assert!(check_correction(vec!["a".into()], &"r".repeat(MAX_REASON_LEN)).is_ok());
    }
}
