//! Rolls sealed daily values up into weeks and months, each metric by its own meaning:
//! created counts add up, totals take the period's last recorded value, percentages are
//! recomputed from summed numerators and denominators, averages are weighted by sample size
//! (with a pooled standard deviation), breakdowns merge their groups, and distinct counts,
//! which do not add up, report the mean daily value. Days without a snapshot are reported as
//! missing, never silently skipped.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use crate::common::calendar::{days, Period};
use crate::common::problem::{Outcome, Problem};
use crate::snapshots::kind::Kind;

/// One sealed daily value.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    /// The numeric value as PostgreSQL printed it (kept verbatim for one-day periods).
    pub value: String,
    pub metadata: Value,
}

/// All sealed values of one metric inside the queried range, in date order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub category: String,
    pub metric_type: String,
    pub kind: Kind,
    /// How many groups a merged breakdown lists in `top_items`.
    pub top_n: usize,
    pub days: Vec<Day>,
}

/// One row of `metrics.fetch_metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub period: Period,
    pub category: String,
    pub metric_type: String,
    /// `None` when no day of the period has a snapshot.
    pub value: Option<String>,
    pub metadata: Value,
    pub days_recorded: i64,
    pub missing: Vec<NaiveDate>,
}

/// Formats a number for a `numeric` column: at most `decimals` decimals, no trailing zeros.
pub fn number_text(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s
    }
}

/// A JSON number that stays an integer when it is one.
fn json_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// Reads the numbers of one sealed day. A value that is not a number, or a metadata key the
/// collection always writes and this row lacks, is a corrupt row, named by its key: never a 0.
struct Sealed<'a> {
    category: &'a str,
    day: &'a Day,
}

impl Sealed<'_> {
    fn corrupt(&self, what: String) -> Problem {
        Problem::corrupt_row(
            "daily_metrics",
            &format!("({}, {})", self.day.date, self.category),
            what,
            &format!(
                "recompute it with metrics.recollect('{}', ARRAY['{}'], 'repair')",
                self.day.date, self.category
            ),
        )
    }

    fn value(&self) -> Outcome<f64> {
        self.day
            .value
            .parse::<f64>()
            .map_err(|_| self.corrupt(format!("value \"{}\" is not a number", self.day.value)))
    }

    fn meta(&self, key: &str) -> Outcome<f64> {
        self.day
            .metadata
            .get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| self.corrupt(format!("metadata has no number \"{key}\"")))
    }

    fn groups(&self) -> Outcome<Vec<(&str, f64)>> {
        let groups = self
            .day
            .metadata
            .get("breakdown")
            .and_then(Value::as_object)
            .ok_or_else(|| self.corrupt("metadata has no object \"breakdown\"".into()))?;
        groups
            .iter()
            .map(|(key, count)| {
                count.as_f64().map(|n| (key.as_str(), n)).ok_or_else(|| {
                    self.corrupt(format!("breakdown group \"{key}\" is not a number"))
                })
            })
            .collect()
    }

    fn truncated(&self) -> Outcome<bool> {
        self.day
            .metadata
            .get("truncated")
            .and_then(Value::as_bool)
            .ok_or_else(|| self.corrupt("metadata has no boolean \"truncated\"".into()))
    }
}

/// Rolls `series` up into `periods`, one row per period.
pub fn roll_up(series: &Series, periods: &[Period]) -> Outcome<Vec<Row>> {
    let mut remaining = series.days.as_slice();
    periods
        .iter()
        .map(|period| {
            let split = remaining
                .iter()
                .position(|d| d.date > period.end)
                .unwrap_or(remaining.len());
            let (inside, rest) = remaining.split_at(split);
            remaining = rest;
            let inside: Vec<&Day> = inside.iter().filter(|d| period.contains(d.date)).collect();
            let recorded: Vec<NaiveDate> = inside.iter().map(|d| d.date).collect();
            let missing = days(period.start, period.end)
                .filter(|d| !recorded.contains(d))
                .collect();
            let (value, metadata) = match inside.as_slice() {
                [] => (None, json!({})),
                [only] if period.days() == 1 => (Some(only.value.clone()), only.metadata.clone()),
                several => {
                    let (v, m) = combine(series, several)?;
                    (Some(v), m)
                }
            };
            Ok(Row {
                period: *period,
                category: series.category.clone(),
                metric_type: series.metric_type.clone(),
                value,
                metadata,
                days_recorded: recorded.len() as i64,
                missing,
            })
        })
        .collect()
}

/// Combines the recorded days of one period (at least one) into a value and its metadata.
fn combine(series: &Series, days: &[&Day]) -> Outcome<(String, Value)> {
    let sealed: Vec<Sealed> = days
        .iter()
        .map(|day| Sealed {
            category: &series.category,
            day,
        })
        .collect();
    let values = || {
        sealed
            .iter()
            .map(Sealed::value)
            .collect::<Outcome<Vec<f64>>>()
    };
    Ok(match series.kind {
        Kind::Created => {
            let sum: f64 = values()?.iter().sum();
            (number_text(sum, 6), json!({"aggregation": "sum"}))
        }
        Kind::Total => {
            let last = days.last().expect("at least one day");
            (
                last.value.clone(),
                json!({"aggregation": "last", "as_of": last.date.to_string()}),
            )
        }
        Kind::Distinct => {
            let values = values()?;
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let max = values.iter().cloned().fold(f64::MIN, f64::max);
            (
                number_text(mean, 2),
                json!({"aggregation": "daily_mean", "daily_max": json_number(max)}),
            )
        }
        Kind::Average => weighted_average(&sealed)?,
        Kind::Percentage => {
            let (mut num, mut den) = (0.0, 0.0);
            for d in &sealed {
                num += d.meta("numerator")?;
                den += d.meta("denominator")?;
            }
            let value = if den == 0.0 { 0.0 } else { num * 100.0 / den };
            (
                number_text(value, 4),
                json!({"aggregation": "ratio_of_sums", "numerator": json_number(num), "denominator": json_number(den)}),
            )
        }
        Kind::Breakdown => merge_breakdowns(&sealed, series.top_n)?,
    })
}

/// The mean of all the days' samples, each day weighted by its sample size, with the pooled
/// (population) standard deviation.
fn weighted_average(days: &[Sealed]) -> Outcome<(String, Value)> {
    let (mut n, mut sum, mut sum_sq) = (0.0, 0.0, 0.0);
    for d in days {
        let (ni, mean, sd) = (d.meta("sample_size")?, d.value()?, d.meta("std_deviation")?);
        n += ni;
        sum += ni * mean;
        sum_sq += ni * (sd * sd + mean * mean);
    }
    let (mean, sd) = if n > 0.0 {
        let mean = sum / n;
        (mean, (sum_sq / n - mean * mean).max(0.0).sqrt())
    } else {
        (0.0, 0.0)
    };
    Ok((
        number_text(mean, 6),
        json!({"aggregation": "weighted_mean", "sample_size": json_number(n), "std_deviation": json_number(round(sd, 6))}),
    ))
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

fn merge_breakdowns(days: &[Sealed], top_n: usize) -> Outcome<(String, Value)> {
    let mut merged: BTreeMap<String, f64> = BTreeMap::new();
    let mut rows = 0.0;
    let mut truncated = false;
    for d in days {
        for (key, count) in d.groups()? {
            *merged.entry(key.to_string()).or_insert(0.0) += count;
        }
        rows += d.meta("rows")?;
        truncated |= d.truncated()?;
    }
    let mut ranked: Vec<(&String, &f64)> = merged.iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let top_items: Vec<Value> = ranked
        .iter()
        .take(top_n)
        .map(|(k, v)| json!({"key": k, "value": json_number(**v)}))
        .collect();
    let breakdown: Map<String, Value> = merged
        .iter()
        .map(|(k, v)| (k.clone(), json_number(*v)))
        .collect();
    Ok((
        merged.len().to_string(),
        json!({
            "aggregation": "merged",
            "breakdown": breakdown,
            "top_items": top_items,
            "rows": json_number(rows),
            "truncated": truncated,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::calendar::{periods, Grain};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn series(kind: Kind, days: Vec<(&str, &str, Value)>) -> Series {
        Series {
            category: "m".into(),
            metric_type: kind.metric_type().into(),
            kind,
            top_n: 2,
            days: days
                .into_iter()
                .map(|(date, v, m)| Day {
                    date: d(date),
                    value: v.into(),
                    metadata: m,
                })
                .collect(),
        }
    }

    fn week() -> Vec<Period> {
        periods(d("2025-01-06"), d("2025-01-12"), Grain::Weekly)
    }

    #[test]
    fn number_text_trims() {
        assert_eq!(number_text(12.0, 6), "12");
        assert_eq!(number_text(12.5, 6), "12.5");
        assert_eq!(number_text(1.0 / 3.0, 4), "0.3333");
        assert_eq!(number_text(-0.00001, 2), "0");
    }

    #[test]
    fn daily_rows_pass_values_through_and_report_gaps() {
        let s = series(
            Kind::Average,
            vec![(
                "2025-01-06",
                "1.123456789012345678",
                json!({"sample_size": 3}),
            )],
        );
        let rows = roll_up(&s, &periods(d("2025-01-06"), d("2025-01-07"), Grain::Daily)).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("1.123456789012345678"));
        assert_eq!(rows[0].metadata, json!({"sample_size": 3}));
        assert_eq!(rows[1].value, None);
        assert_eq!(rows[1].days_recorded, 0);
        assert_eq!(rows[1].missing, vec![d("2025-01-07")]);
    }

    #[test]
    fn created_counts_sum_and_missing_days_are_listed() {
        let s = series(
            Kind::Created,
            vec![
                ("2025-01-06", "3", json!({})),
                ("2025-01-08", "4", json!({})),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("7"));
        assert_eq!(rows[0].days_recorded, 2);
        assert_eq!(rows[0].missing.len(), 5);
        assert!(!rows[0].missing.contains(&d("2025-01-08")));
    }

    #[test]
    fn totals_take_the_last_recorded_value() {
        let s = series(
            Kind::Total,
            vec![
                ("2025-01-06", "100", json!({})),
                ("2025-01-10", "130", json!({})),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("130"));
        assert_eq!(rows[0].metadata["as_of"], "2025-01-10");
    }

    #[test]
    fn percentages_are_recomputed_from_sums() {
        // 1/10 and 9/10: the mean of the percentages would be 50, the true rate is 50 too;
        // 1/10 and 9/90 shows the difference: mean of percentages 10, ratio of sums 10.
        // 1/2 and 1/98: mean of percentages 25.51, ratio of sums 2.
        let s = series(
            Kind::Percentage,
            vec![
                (
                    "2025-01-06",
                    "50",
                    json!({"numerator": 1, "denominator": 2}),
                ),
                (
                    "2025-01-07",
                    "1.0204",
                    json!({"numerator": 1, "denominator": 98}),
                ),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("2"));
        assert_eq!(rows[0].metadata["numerator"], 2);
        assert_eq!(rows[0].metadata["denominator"], 100);
        let zero = series(
            Kind::Percentage,
            vec![
                ("2025-01-06", "0", json!({"numerator": 0, "denominator": 0})),
                ("2025-01-07", "0", json!({"numerator": 0, "denominator": 0})),
            ],
        );
        assert_eq!(
            roll_up(&zero, &week()).unwrap()[0].value.as_deref(),
            Some("0")
        );
    }

    #[test]
    fn averages_are_weighted_with_a_pooled_deviation() {
        // Day 1: values {1, 3} -> mean 2, sd 1. Day 2: values {10} -> mean 10, sd 0.
        // All three: mean 14/3, population sd sqrt(((1-4.667)^2 + (3-4.667)^2 + (10-4.667)^2) / 3).
        let s = series(
            Kind::Average,
            vec![
                (
                    "2025-01-06",
                    "2",
                    json!({"sample_size": 2, "std_deviation": 1}),
                ),
                (
                    "2025-01-07",
                    "10",
                    json!({"sample_size": 1, "std_deviation": 0}),
                ),
                (
                    "2025-01-08",
                    "0",
                    json!({"sample_size": 0, "std_deviation": 0}),
                ),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("4.666667"));
        let all = [1.0f64, 3.0, 10.0];
        let mean = all.iter().sum::<f64>() / 3.0;
        let sd = (all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        let got = rows[0].metadata["std_deviation"].as_f64().unwrap();
        assert!((got - sd).abs() < 1e-6, "{got} vs {sd}");
        assert_eq!(rows[0].metadata["sample_size"], 3);
    }

    #[test]
    fn distinct_counts_report_the_daily_mean() {
        let s = series(
            Kind::Distinct,
            vec![
                ("2025-01-06", "10", json!({})),
                ("2025-01-07", "21", json!({})),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("15.5"));
        assert_eq!(rows[0].metadata["daily_max"], 21);
    }

    #[test]
    fn breakdowns_merge_groups() {
        let s = series(
            Kind::Breakdown,
            vec![
                (
                    "2025-01-06",
                    "2",
                    json!({"breakdown": {"rock": 3, "jazz": 1}, "rows": 4, "truncated": false}),
                ),
                (
                    "2025-01-07",
                    "2",
                    json!({"breakdown": {"jazz": 5, "ambient": 2}, "rows": 7, "truncated": false}),
                ),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("3"));
        let m = &rows[0].metadata;
        assert_eq!(m["breakdown"], json!({"ambient": 2, "jazz": 6, "rock": 3}));
        assert_eq!(
            m["top_items"],
            json!([{"key": "jazz", "value": 6}, {"key": "rock", "value": 3}])
        );
        assert_eq!(m["rows"], 11);
    }

    #[test]
    fn empty_periods_are_gaps() {
        let s = series(Kind::Created, vec![]);
        let rows = roll_up(
            &s,
            &periods(d("2025-01-01"), d("2025-02-28"), Grain::Monthly),
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.value.is_none()));
        assert_eq!(rows[1].missing.len(), 28);
    }

    #[test]
    fn corrupt_days_are_errors_with_their_key_not_zeros() {
        let cases = [
            (Kind::Created, "x", json!({}), "value \"x\" is not a number"),
            (
                Kind::Average,
                "2",
                json!({"std_deviation": 1}),
                "no number \"sample_size\"",
            ),
            (
                Kind::Percentage,
                "50",
                json!({"numerator": 1}),
                "no number \"denominator\"",
            ),
            (
                Kind::Breakdown,
                "1",
                json!({"rows": 1, "truncated": false}),
                "no object \"breakdown\"",
            ),
            (
                Kind::Breakdown,
                "1",
                json!({"breakdown": {"rock": "many"}, "rows": 1, "truncated": false}),
                "group \"rock\" is not a number",
            ),
            (
                Kind::Breakdown,
                "1",
                json!({"breakdown": {}, "rows": 0}),
                "no boolean \"truncated\"",
            ),
        ];
        for (kind, value, metadata, what) in cases {
            let good = match kind {
                Kind::Average => json!({"sample_size": 1, "std_deviation": 0}),
                Kind::Percentage => json!({"numerator": 1, "denominator": 2}),
                Kind::Breakdown => json!({"breakdown": {"a": 1}, "rows": 1, "truncated": false}),
                _ => json!({}),
            };
            let s = series(
                kind,
                vec![("2025-01-06", "1", good), ("2025-01-07", value, metadata)],
            );
            let p = roll_up(&s, &week()).unwrap_err();
            assert_eq!(p.state, crate::common::problem::SqlState::DataCorrupted);
            assert!(
                p.message
                    .starts_with("row (2025-01-07, m) of metrics.daily_metrics"),
                "{}",
                p.message
            );
            assert!(p.message.contains(what), "{kind:?}: {}", p.message);
            assert!(p
                .hint
                .unwrap()
                .contains("recollect('2025-01-07', ARRAY['m']"));
        }
        // A one-day period passes the sealed row through unread.
        let s = series(Kind::Average, vec![("2025-01-06", "2", json!({}))]);
        let day = periods(d("2025-01-06"), d("2025-01-06"), Grain::Daily);
        assert_eq!(roll_up(&s, &day).unwrap()[0].value.as_deref(), Some("2"));
    }
}
