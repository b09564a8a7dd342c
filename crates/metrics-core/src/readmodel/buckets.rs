//! The buckets of the read model and which of them a refresh recomputes. A day bucket is a
//! sealed day (of `metrics.timezone`); weeks are ISO weeks (Monday to Sunday) and months
//! calendar months, each clipped at the refresh's cut (the last closed day): a bucket that
//! ends after the cut is stored as far as the cut, marked incomplete, and recomputed by the
//! next run whose cut moves into it.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::common::calendar::{self, Period};

/// The grains, one type for the refresh and the read API (`query`, which parses them).
pub use crate::readmodel::query::TimeGrain;

/// The calendar of a grain's buckets, in days (the refresh's side of `TimeGrain`).
impl TimeGrain {
    /// The first day of the bucket holding `date` (hours have no day bucket: the day).
    pub fn start(self, date: NaiveDate) -> NaiveDate {
        match self {
            TimeGrain::Hour | TimeGrain::Day => date,
            TimeGrain::Week => date - Days::new(date.weekday().num_days_from_monday() as u64),
            TimeGrain::Month => date.with_day(1).expect("day 1 exists"),
        }
    }

    /// The last day of the bucket holding `date`, unclipped.
    pub fn end(self, date: NaiveDate) -> NaiveDate {
        match self {
            TimeGrain::Hour | TimeGrain::Day => date,
            TimeGrain::Week => self.start(date) + Days::new(6),
            TimeGrain::Month => {
                self.start(date)
                    .checked_add_months(Months::new(1))
                    .expect("in range")
                    - Days::new(1)
            }
        }
    }
}

/// One bucket to recompute: its days up to the cut, and whether it ends by the cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub grain: TimeGrain,
    /// `[start, min(natural end, cut)]`.
    pub period: Period,
    pub complete: bool,
}

/// The days whose points a run recomputes: the days with new or revised values, and every
/// day the cut moved over since the last run (`(previous, cut]`), so that a bucket the cut
/// moved into is stored again even without new values. Nothing after the cut.
pub fn changed_days(
    new_values: impl IntoIterator<Item = NaiveDate>,
    previous_cut: Option<NaiveDate>,
    cut: NaiveDate,
) -> BTreeSet<NaiveDate> {
    let mut days: BTreeSet<NaiveDate> = new_values.into_iter().filter(|d| *d <= cut).collect();
    if let Some(previous) = previous_cut.filter(|p| *p < cut) {
        days.extend(calendar::days(previous + Days::new(1), cut));
    }
    days
}

/// The buckets of `grains` holding any of `days`, clipped at `cut`, in grain then time order.
pub fn affected(days: &BTreeSet<NaiveDate>, grains: &[TimeGrain], cut: NaiveDate) -> Vec<Bucket> {
    let mut out = Vec::new();
    for &grain in grains {
        let starts: BTreeSet<NaiveDate> = days
            .iter()
            .filter(|d| **d <= cut)
            .map(|d| grain.start(*d))
            .collect();
        out.extend(starts.into_iter().map(|start| {
            let end = grain.end(start);
            Bucket {
                grain,
                period: Period {
                    start,
                    end: end.min(cut),
                },
                complete: end <= cut,
            }
        }));
    }
    out
}

/// The days a set of buckets needs read: from the first bucket's start to the last's end.
pub fn span(buckets: &[Bucket]) -> Option<Period> {
    let start = buckets.iter().map(|b| b.period.start).min()?;
    let end = buckets.iter().map(|b| b.period.end).max()?;
    Some(Period { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weeks_are_iso_and_months_calendar() {
        // 2026-03-04 is a Wednesday.
        assert_eq!(TimeGrain::Week.start(d("2026-03-04")), d("2026-03-02"));
        assert_eq!(TimeGrain::Week.end(d("2026-03-04")), d("2026-03-08"));
        assert_eq!(TimeGrain::Month.start(d("2026-02-17")), d("2026-02-01"));
        assert_eq!(TimeGrain::Month.end(d("2026-02-17")), d("2026-02-28"));
        assert_eq!(TimeGrain::Month.end(d("2028-02-01")), d("2028-02-29"));
        assert_eq!(TimeGrain::Day.end(d("2026-02-17")), d("2026-02-17"));
    }

    #[test]
    fn the_cut_moving_makes_its_days_changed() {
        let got = changed_days(
            [d("2026-03-01"), d("2026-03-09")],
            Some(d("2026-03-05")),
            d("2026-03-07"),
        );
        let want: BTreeSet<_> = ["2026-03-01", "2026-03-06", "2026-03-07"].map(d).into();
        assert_eq!(got, want);
        assert!(changed_days([], Some(d("2026-03-07")), d("2026-03-07")).is_empty());
        assert_eq!(changed_days([], None, d("2026-03-07")).len(), 0);
    }

    #[test]
    fn one_new_day_touches_its_day_week_and_month() {
        let days: BTreeSet<_> = [d("2026-03-04")].into();
        let got = affected(
            &days,
            &[TimeGrain::Day, TimeGrain::Week, TimeGrain::Month],
            d("2026-03-04"),
        );
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0].period,
            Period {
                start: d("2026-03-04"),
                end: d("2026-03-04")
            }
        );
        assert!(got[0].complete);
        assert_eq!(
            got[1].period,
            Period {
                start: d("2026-03-02"),
                end: d("2026-03-04")
            }
        );
        assert!(!got[1].complete);
        assert_eq!(
            got[2].period,
            Period {
                start: d("2026-03-01"),
                end: d("2026-03-04")
            }
        );
        assert!(!got[2].complete);
        assert_eq!(
            span(&got),
            Some(Period {
                start: d("2026-03-01"),
                end: d("2026-03-04")
            })
        );
    }

    #[test]
    fn buckets_are_listed_once_and_end_by_the_cut_when_complete() {
        let days: BTreeSet<_> = ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-10"]
            .map(d)
            .into();
        let got = affected(&days, &[TimeGrain::Week, TimeGrain::Month], d("2026-03-08"));
        let weeks: Vec<_> = got.iter().filter(|b| b.grain == TimeGrain::Week).collect();
        assert_eq!(weeks.len(), 1, "{got:?}");
        assert!(weeks[0].complete);
        let months: Vec<_> = got.iter().filter(|b| b.grain == TimeGrain::Month).collect();
        assert_eq!(months.len(), 2);
        assert!(months[0].complete && !months[1].complete);
        assert_eq!(months[1].period.end, d("2026-03-08"));
    }
}
