//! Days and periods: which days may be collected, how a date range is checked, and how days
//! group into weeks and months for the query API.
//!
//! A metric day is `[00:00, 24:00)` in the zone of `metrics.timezone`; the SQL that turns that
//! into instants lives in `snapshots::statements`. Here dates are plain calendar dates, so every rule is
//! testable without a server.

use chrono::{Datelike, Days, Duration, NaiveDate};

use crate::common::problem::{Outcome, Problem, SqlState};

/// PostgreSQL stores a `date` as days since 2000-01-01.
fn pg_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date")
}

/// Converts PostgreSQL's day number to a calendar date (`None` for +/-infinity and overflow).
pub fn from_pg_days(days: i32) -> Option<NaiveDate> {
    pg_epoch().checked_add_signed(Duration::days(days as i64))
}

/// PostgreSQL's day numbers of `-infinity` and `infinity` (DATEVAL_NOBEGIN, DATEVAL_NOEND).
pub const PG_DATE_NEG_INFINITY: i32 = i32::MIN;
pub const PG_DATE_INFINITY: i32 = i32::MAX;

/// A `date` argument given as PostgreSQL's day number, as a calendar date: refused when it
/// is infinite, or finite but beyond the calendar the extension computes with
/// (`NaiveDate::MIN` to `NaiveDate::MAX`, years -262143 to 262142; PostgreSQL's own dates
/// reach 5874897).
pub fn date_argument(name: &str, pg_days: i32) -> Outcome<NaiveDate> {
    if pg_days == PG_DATE_NEG_INFINITY || pg_days == PG_DATE_INFINITY {
        let which = if pg_days == PG_DATE_INFINITY {
            "infinity"
        } else {
            "-infinity"
        };
        return Err(Problem::new(
            SqlState::DatetimeFieldOverflow,
            format!("{name} must be a calendar date, not {which}"),
        )
        .hint("pass a calendar date such as '2025-01-31'"));
    }
    from_pg_days(pg_days).ok_or_else(|| {
        Problem::new(
            SqlState::DatetimeFieldOverflow,
            format!(
                "{name} is outside the supported range of dates, {} to {}",
                pg_style(NaiveDate::MIN),
                pg_style(NaiveDate::MAX)
            ),
        )
        .hint("pass a calendar date such as '2025-01-31'")
    })
}

/// A date the way PostgreSQL prints one (ISO, years before 1 as `BC`).
fn pg_style(date: NaiveDate) -> String {
    let (year, era) = if date.year() <= 0 {
        (1 - date.year(), " BC")
    } else {
        (date.year(), "")
    };
    format!("{year:04}-{:02}-{:02}{era}", date.month(), date.day())
}

pub fn to_pg_days(date: NaiveDate) -> i32 {
    (date - pg_epoch()).num_days() as i32
}

/// Number of days in the inclusive range `[start, end]`.
pub fn day_count(start: NaiveDate, end: NaiveDate) -> i64 {
    (end - start).num_days() + 1
}

/// Every day of the inclusive range `[start, end]`.
pub fn days(start: NaiveDate, end: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    start.iter_days().take_while(move |d| *d <= end)
}

/// The last day that has ended, given today's date in the metrics time zone.
pub fn last_closed_day(today: NaiveDate) -> NaiveDate {
    today - Days::new(1)
}

/// A day can be sealed only once it has ended in the metrics time zone.
pub fn check_closed(date: NaiveDate, last_closed: NaiveDate, timezone: &str) -> Outcome<()> {
    if date > last_closed {
        let what = if date == last_closed + Days::new(1) {
            "has not ended yet"
        } else {
            "is in the future"
        };
        return Err(Problem::new(
            SqlState::DatetimeFieldOverflow,
            format!("cannot collect metrics for {date}: the day {what} in time zone {timezone}"),
        )
        .detail(format!("The last day that has ended in {timezone} is {last_closed}."))
        .hint(format!(
            "Collect a day once it is over: pass a date on or before {last_closed}, or omit the date to collect {last_closed}."
        )));
    }
    Ok(())
}

/// `start` must not be after `end`.
pub fn check_order(
    start: NaiveDate,
    end: NaiveDate,
    start_name: &str,
    end_name: &str,
) -> Outcome<()> {
    if start > end {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("{start_name} ({start}) is after {end_name} ({end})"),
        )
        .hint(format!("pass a {start_name} on or before the {end_name}")));
    }
    Ok(())
}

/// A query may span at most `max_days` days (the setting `metrics.max_query_days`).
pub fn check_span(start: NaiveDate, end: NaiveDate, max_days: i64) -> Outcome<()> {
    let span = day_count(start, end);
    if span > max_days {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("date range {start} to {end} spans {span} days, more than the {max_days} allowed"),
        )
        .detail("The limit is the setting metrics.max_query_days.")
        .hint(format!("query at most {max_days} days at a time, or ask an administrator to raise metrics.max_query_days")));
    }
    Ok(())
}

/// How the query API groups days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Daily,
    Weekly,
    Monthly,
}

impl Grain {
    pub fn parse(text: &str) -> Outcome<Grain> {
        match text.trim().to_ascii_lowercase().as_str() {
            "daily" | "day" => Ok(Grain::Daily),
            "weekly" | "week" => Ok(Grain::Weekly),
            "monthly" | "month" => Ok(Grain::Monthly),
            _ => Err(Problem::new(
                SqlState::InvalidParameterValue,
                format!("unknown aggregation \"{text}\""),
            )
            .hint("use 'daily', 'weekly' or 'monthly'")),
        }
    }

    /// Last day of the period containing `date` (weeks run Monday to Sunday, as ISO 8601).
    fn period_end(self, date: NaiveDate) -> NaiveDate {
        match self {
            Grain::Daily => date,
            Grain::Weekly => date + Days::new(6 - date.weekday().num_days_from_monday() as u64),
            Grain::Monthly => {
                let first = date.with_day(1).expect("day 1 exists");
                let next = first
                    .checked_add_months(chrono::Months::new(1))
                    .expect("in range");
                next - Days::new(1)
            }
        }
    }
}

/// An inclusive run of days reported as one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }

    /// Its number of days (at least one).
    pub fn days(&self) -> i64 {
        day_count(self.start, self.end)
    }
}

/// The periods covering `[start, end]`, clipped to it: a weekly query starting on a Wednesday
/// gets a first period from that Wednesday to Sunday.
pub fn periods(start: NaiveDate, end: NaiveDate, grain: Grain) -> Vec<Period> {
    let mut out = Vec::new();
    let mut cursor = start;
    while cursor <= end {
        let natural_end = grain.period_end(cursor);
        let clipped_end = natural_end.min(end);
        out.push(Period {
            start: cursor,
            end: clipped_end,
        });
        cursor = clipped_end + Days::new(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn pg_day_numbers_round_trip() {
        assert_eq!(from_pg_days(0), Some(d("2000-01-01")));
        assert_eq!(to_pg_days(d("2025-03-09")), 9199);
        assert_eq!(
            from_pg_days(to_pg_days(d("1999-12-31"))),
            Some(d("1999-12-31"))
        );
        assert_eq!(from_pg_days(i32::MAX), None);
    }

    #[test]
    fn date_arguments_say_what_is_wrong() {
        assert_eq!(date_argument("target_date", 9199), Ok(d("2025-03-09")));
        assert_eq!(
            date_argument("d", to_pg_days(NaiveDate::MAX)),
            Ok(NaiveDate::MAX)
        );
        let p = date_argument("end_date", PG_DATE_INFINITY).unwrap_err();
        assert_eq!(p.state, SqlState::DatetimeFieldOverflow);
        assert_eq!(p.message, "end_date must be a calendar date, not infinity");
        let p = date_argument("start_date", PG_DATE_NEG_INFINITY).unwrap_err();
        assert_eq!(
            p.message,
            "start_date must be a calendar date, not -infinity"
        );
        // 294276-12-31 is a finite date to PostgreSQL, beyond chrono's calendar.
        let far = to_pg_days(NaiveDate::MAX) + 11_640_000;
        let p = date_argument("target_date", far).unwrap_err();
        assert_eq!(p.state, SqlState::DatetimeFieldOverflow);
        assert!(!p.message.contains("finite"), "{}", p.message);
        assert_eq!(
            p.message,
            "target_date is outside the supported range of dates, 262144-01-01 BC to 262142-12-31"
        );
        assert!(p.hint.is_some());
        assert_eq!(pg_style(d("2025-03-09")), "2025-03-09");
    }

    #[test]
    fn closed_days() {
        let today = d("2026-11-22");
        let last = last_closed_day(today);
        assert_eq!(last, d("2026-11-21"));
        assert!(check_closed(last, last, "UTC").is_ok());
        assert!(check_closed(d("2020-01-01"), last, "UTC").is_ok());
        let today_err = check_closed(today, last, "UTC").unwrap_err();
        assert_eq!(today_err.state, SqlState::DatetimeFieldOverflow);
        assert!(today_err.message.contains("has not ended"));
        assert!(today_err.hint.unwrap().contains("2026-11-21"));
        let future = check_closed(d("2027-01-01"), last, "Europe/Berlin").unwrap_err();
        assert!(future.message.contains("future") && future.message.contains("Europe/Berlin"));
    }

    #[test]
    fn order_and_span() {
        assert!(check_order(d("2025-01-01"), d("2025-01-01"), "start_date", "end_date").is_ok());
        let e =
            check_order(d("2025-01-02"), d("2025-01-01"), "start_date", "end_date").unwrap_err();
        assert_eq!(e.state, SqlState::InvalidParameterValue);
        assert!(check_span(d("2025-01-01"), d("2025-12-31"), 365).is_ok());
        let e = check_span(d("2024-01-01"), d("2024-12-31"), 365).unwrap_err(); // leap year: 366 days
        assert!(e.message.contains("366 days"));
    }

    #[test]
    fn grains_parse() {
        assert_eq!(Grain::parse("Weekly").unwrap(), Grain::Weekly);
        assert_eq!(Grain::parse(" month ").unwrap(), Grain::Monthly);
        assert_eq!(
            Grain::parse("hourly").unwrap_err().state,
            SqlState::InvalidParameterValue
        );
    }

    #[test]
    fn daily_periods_are_days() {
        let p = periods(d("2025-02-27"), d("2025-03-02"), Grain::Daily);
        assert_eq!(p.len(), 4);
        assert!(p.iter().all(|x| x.start == x.end));
    }

    #[test]
    fn weekly_periods_are_clipped_iso_weeks() {
        // 2025-01-01 is a Wednesday.
        let p = periods(d("2025-01-01"), d("2025-01-20"), Grain::Weekly);
        assert_eq!(
            p,
            vec![
                Period {
                    start: d("2025-01-01"),
                    end: d("2025-01-05")
                },
                Period {
                    start: d("2025-01-06"),
                    end: d("2025-01-12")
                },
                Period {
                    start: d("2025-01-13"),
                    end: d("2025-01-19")
                },
                Period {
                    start: d("2025-01-20"),
                    end: d("2025-01-20")
                },
            ]
        );
        assert_eq!(p[1].days(), 7);
    }

    #[test]
    fn monthly_periods_follow_the_calendar() {
        let p = periods(d("2024-01-15"), d("2024-03-31"), Grain::Monthly);
        assert_eq!(p.len(), 3);
        assert_eq!(
            p[0],
            Period {
                start: d("2024-01-15"),
                end: d("2024-01-31")
            }
        );
        assert_eq!(
            p[1],
            Period {
                start: d("2024-02-01"),
                end: d("2024-02-29")
            }
        );
        assert_eq!(p[2].days(), 31);
        let total: i64 = p.iter().map(Period::days).sum();
        assert_eq!(total, day_count(d("2024-01-15"), d("2024-03-31")));
    }

    #[test]
    fn periods_tile_the_range_without_gaps() {
        for grain in [Grain::Daily, Grain::Weekly, Grain::Monthly] {
            let (s, e) = (d("2023-12-28"), d("2025-02-03"));
            let p = periods(s, e, grain);
            assert_eq!(p.first().unwrap().start, s);
            assert_eq!(p.last().unwrap().end, e);
            for w in p.windows(2) {
                assert_eq!(w[0].end + Days::new(1), w[1].start);
            }
            assert_eq!(days(s, e).count() as i64, day_count(s, e));
        }
    }
}
