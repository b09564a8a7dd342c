//! Rolls sealed daily values up into weeks and months, each metric by its own meaning:
//! created counts add up, totals take the period's last recorded value, percentages are
//! recomputed from summed numerators and denominators, averages are weighted by sample size
//! (with a pooled standard deviation; days whose value is not a finite number, which only
//! versions before 0.3.0 sealed, are left out and named), breakdowns merge their groups, and
//! distinct counts, which do not add up, are the distinct count of the whole period: the
//! merge of the days' distinct-count sketches (exact up to `distinct_sketch::EXACT_LIMIT`
//! values, within its stated error beyond). A breakdown's group count is the same merge over
//! its group keys. Percentiles are `percentile_cont` over the union of the days' values,
//! which each day keeps (`percentile`): exact, or no value at all when a day kept none. A
//! period value is never below any of its days' values; when it can only
//! be a bound (days sealed without a sketch) its metadata says so. Each row names the
//! definition versions that computed its days. Days without a snapshot are reported as
//! missing, never silently skipped.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use crate::common::calendar::{days, Period};
use crate::common::problem::{Outcome, Problem};
use crate::snapshots::distinct_sketch::{DistinctSketch, RELATIVE_STANDARD_ERROR};
use crate::snapshots::kind::Kind;
use crate::snapshots::percentile;

/// One sealed daily value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Day {
    pub date: NaiveDate,
    /// The numeric value as PostgreSQL printed it (kept verbatim for one-day periods).
    pub value: String,
    pub metadata: Value,
    /// Distinct counts and breakdowns: the day's distinct-count sketch (none before 0.3.0);
    /// percentiles: the day's sorted values (none when it had more than the limit).
    pub sketch: Option<Vec<u8>>,
    /// The definition version that computed it (none before 0.3.0).
    pub version: Option<i32>,
}

/// All sealed values of one metric inside the queried range, in date order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub category: String,
    pub metric_type: String,
    pub kind: Kind,
    /// How many groups a merged breakdown lists in `top_items`.
    pub top_n: usize,
    /// Percentiles: the fraction of the definition, which its periods are computed at.
    pub percentile: Option<f64>,
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

    fn sketch(&self) -> Option<Outcome<DistinctSketch>> {
        let bytes = self.day.sketch.as_deref()?;
        Some(DistinctSketch::decode_row(
            bytes,
            "daily_metrics",
            &format!("({}, {})", self.day.date, self.category),
            &format!(
                "recompute it with metrics.recollect('{}', ARRAY['{}'], 'repair')",
                self.day.date, self.category
            ),
        ))
    }

    /// Whether the day's value (or its standard deviation) is NaN or infinite: sealed by a
    /// version before 0.3.0, which did not refuse them.
    fn is_non_finite(&self) -> bool {
        let bad = |s: &str| matches!(s, "NaN" | "Infinity" | "-Infinity");
        bad(&self.day.value)
            || self
                .day
                .metadata
                .get("std_deviation")
                .and_then(Value::as_str)
                .is_some_and(bad)
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

    /// A percentile day's values, when it kept them; the error names the row.
    fn values(&self) -> Option<Outcome<Vec<f64>>> {
        let bytes = self.day.sketch.as_deref()?;
        Some(percentile::decode(bytes).map_err(|what| self.corrupt(what)))
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
            let (value, mut metadata) = match inside.as_slice() {
                [] => (None, json!({})),
                [only] if period.days() == 1 => (Some(only.value.clone()), only.metadata.clone()),
                several => combine(series, several)?,
            };
            note_versions(&mut metadata, &inside, period.days() == 1);
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

/// Names the definition versions that computed the days of a row: `definition_version` for
/// a day, `definition_versions` (in order) for a longer period; a day sealed before 0.3.0
/// has no recorded version and counts in `days_without_version`.
fn note_versions(metadata: &mut Value, days: &[&Day], one_day: bool) {
    let Some(object) = metadata.as_object_mut() else {
        return;
    };
    if days.is_empty() {
        return;
    }
    let mut versions: Vec<i32> = days.iter().filter_map(|d| d.version).collect();
    let unknown = days.len() - versions.len();
    versions.sort_unstable();
    versions.dedup();
    if one_day {
        if let Some(version) = versions.first() {
            object.insert("definition_version".into(), json!(version));
        }
    } else {
        object.insert("definition_versions".into(), json!(versions));
        if unknown > 0 {
            object.insert("days_without_version".into(), json!(unknown));
        }
    }
}

/// Combines the recorded days of one period (at least one) into a value (none when it
/// cannot be exact: a percentile day that kept no values) and its metadata.
fn combine(series: &Series, days: &[&Day]) -> Outcome<(Option<String>, Value)> {
    let sealed: Vec<Sealed> = days
        .iter()
        .map(|day| Sealed {
            category: &series.category,
            day,
        })
        .collect();
    if series.kind == Kind::Percentile {
        return merged_percentile(series, &sealed);
    }
    let (value, metadata) = combine_numbers(series, days, &sealed)?;
    Ok((Some(value), metadata))
}

/// The period value of the kinds that always have one.
fn combine_numbers(series: &Series, days: &[&Day], sealed: &[Sealed]) -> Outcome<(String, Value)> {
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
        Kind::Distinct => distinct_union(sealed, &values()?)?,
        Kind::Average => weighted_average(sealed)?,
        Kind::Percentage => {
            let (mut num, mut den) = (0.0, 0.0);
            for d in sealed {
                num += d.meta("numerator")?;
                den += d.meta("denominator")?;
            }
            let value = if den == 0.0 { 0.0 } else { num * 100.0 / den };
            (
                number_text(value, 4),
                json!({"aggregation": "ratio_of_sums", "numerator": json_number(num), "denominator": json_number(den)}),
            )
        }
        Kind::Breakdown => merge_breakdowns(sealed, series.top_n)?,
        Kind::Percentile => unreachable!("percentiles are merged by merged_percentile"),
    })
}

/// A percentile over a period: `percentile_cont(p)` of all its days' values together, as
/// PostgreSQL computes it over the source rows of the period (0 without values, like an
/// average). A day that kept no values (it had more than `percentile::VALUES_LIMIT`) leaves
/// the period without a value: `exact: false`, and the days are named.
fn merged_percentile(series: &Series, days: &[Sealed]) -> Outcome<(Option<String>, Value)> {
    let p = series.percentile.ok_or_else(|| {
        Problem::corrupt_row(
            "metric_definitions",
            &format!("\"{}\"", series.category),
            "a percentile metric without its percentile",
            "redefine the metric with metrics.define_metric(..., replace => true)",
        )
    })?;
    let (mut all, mut sample_size, mut without) = (Vec::new(), 0.0, Vec::new());
    for d in days {
        let n = d.meta("sample_size")?;
        sample_size += n;
        match d.values() {
            Some(values) => {
                let values = values?;
                if values.len() as f64 != n {
                    return Err(d.corrupt(format!(
                        "it keeps {} values for a sample size of {n}",
                        values.len()
                    )));
                }
                all.extend(values);
            }
            None if n == 0.0 => {}
            None => without.push(d.day.date.to_string()),
        }
    }
    let mut metadata = json!({
        "aggregation": "merged_values",
        "percentile": p,
        "sample_size": json_number(sample_size),
        "exact": without.is_empty(),
    });
    if !without.is_empty() {
        metadata["days_without_values"] = json!(without);
        return Ok((None, metadata));
    }
    let value = percentile::percentile_cont(&mut all, p).unwrap_or(0.0);
    Ok((Some(percentile::exact_text(value)), metadata))
}

/// The mean of all the days' samples, each day weighted by its sample size, with the pooled
/// (population) standard deviation.
fn weighted_average(days: &[Sealed]) -> Outcome<(String, Value)> {
    let (mut n, mut sum, mut sum_sq) = (0.0, 0.0, 0.0);
    let excluded: Vec<String> = days
        .iter()
        .filter(|d| d.is_non_finite())
        .map(|d| d.day.date.to_string())
        .collect();
    for d in days.iter().filter(|d| !d.is_non_finite()) {
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
    let mut metadata = json!({"aggregation": "weighted_mean", "sample_size": json_number(n), "std_deviation": json_number(round(sd, 6))});
    if !excluded.is_empty() {
        metadata["excluded_days"] = json!(excluded);
    }
    Ok((number_text(mean, 6), metadata))
}

/// The merge of the days' sketches, and how many days had none.
fn merged_sketch(days: &[Sealed]) -> Outcome<(DistinctSketch, usize)> {
    let mut merged = DistinctSketch::new();
    let mut without = 0;
    for d in days {
        match d.sketch() {
            Some(sketch) => merged.merge(&sketch?),
            None => without += 1,
        }
    }
    Ok((merged, without))
}

/// How a period's distinct count was obtained.
struct Union {
    value: f64,
    /// "exact", "estimate" or "lower_bound".
    quality: &'static str,
}

/// A period's distinct count from the merged sketch of its days, never below `at_least` (the
/// largest day, or the groups a breakdown lists) nor above `at_most` (the sum of the days).
/// Without a sketch for every day it is only a lower bound.
fn union_count(days: &[Sealed], at_least: f64, at_most: f64) -> Outcome<Union> {
    let (merged, without) = merged_sketch(days)?;
    let estimate = merged.estimate() as f64;
    let value = estimate.max(at_least).min(at_most.max(at_least));
    let quality = if without > 0 {
        "lower_bound"
    } else if merged.is_exact() {
        "exact"
    } else {
        "estimate"
    };
    Ok(Union { value, quality })
}

/// A distinct count over a period: the values seen on any of its days, each once.
fn distinct_union(days: &[Sealed], values: &[f64]) -> Outcome<(String, Value)> {
    let max = values.iter().cloned().fold(0.0, f64::max);
    let sum: f64 = values.iter().sum();
    let union = union_count(days, max, sum)?;
    let mut metadata = json!({
        "aggregation": "distinct_union",
        "count": union.quality,
        "daily_max": json_number(max),
        "daily_sum": json_number(sum),
    });
    if union.quality == "estimate" {
        metadata["relative_standard_error"] = json!(round(RELATIVE_STANDARD_ERROR, 6));
    }
    if union.quality == "lower_bound" {
        metadata["days_without_sketch"] =
            json!(days.iter().filter(|d| d.day.sketch.is_none()).count());
    }
    Ok((number_text(union.value.round(), 0), metadata))
}

fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// Merges breakdowns: the groups' counts add up, and the number of groups is the distinct
/// count of the keys over the period (`groups`: exact, estimate, or lower_bound). When a day
/// listed only its largest groups (`truncated`), the counts of the merged groups are lower
/// bounds (`counts`).
fn merge_breakdowns(days: &[Sealed], top_n: usize) -> Outcome<(String, Value)> {
    let mut merged: BTreeMap<String, f64> = BTreeMap::new();
    let mut rows = 0.0;
    let mut truncated = false;
    let (mut largest_day, mut sum_of_days) = (0.0, 0.0);
    for d in days {
        for (key, count) in d.groups()? {
            *merged.entry(key.to_string()).or_insert(0.0) += count;
        }
        rows += d.meta("rows")?;
        truncated |= d.truncated()?;
        let groups = d.value()?;
        largest_day = f64::max(largest_day, groups);
        sum_of_days += groups;
    }
    let listed = merged.len() as f64;
    let union = if truncated {
        union_count(days, largest_day.max(listed), sum_of_days)?
    } else {
        // Every group of every day is listed: their union is exact.
        Union {
            value: listed,
            quality: "exact",
        }
    };
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
        number_text(union.value.round(), 0),
        json!({
            "aggregation": "merged",
            "breakdown": breakdown,
            "top_items": top_items,
            "rows": json_number(rows),
            "truncated": truncated,
            "groups": union.quality,
            "counts": if truncated { "lower_bound" } else { "exact" },
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
            percentile: None,
            days: days
                .into_iter()
                .map(|(date, v, m)| Day {
                    date: d(date),
                    value: v.into(),
                    metadata: m,
                    ..Day::default()
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

    fn sketch_of(values: std::ops::Range<u64>) -> Vec<u8> {
        let mut sketch = DistinctSketch::new();
        for v in values {
            sketch.add_hash(v);
        }
        sketch.encode()
    }

    #[test]
    fn distinct_counts_of_a_period_count_each_value_once() {
        let mut s = series(
            Kind::Distinct,
            vec![
                ("2025-01-06", "10", json!({})),
                ("2025-01-07", "21", json!({})),
            ],
        );
        // The same 10 users on both days, and 11 more on the second.
        s.days[0].sketch = Some(sketch_of(0..10));
        s.days[1].sketch = Some(sketch_of(0..21));
        s.days[0].version = Some(1);
        s.days[1].version = Some(2);
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("21"));
        assert_eq!(rows[0].metadata["count"], "exact");
        assert_eq!(rows[0].metadata["daily_max"], 21);
        assert_eq!(rows[0].metadata["definition_versions"], json!([1, 2]));
        // Disjoint users add up.
        s.days[1].sketch = Some(sketch_of(100..121));
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("31"));
    }

    #[test]
    fn a_large_distinct_union_is_an_estimate_never_below_a_day() {
        let mut s = series(
            Kind::Distinct,
            vec![
                ("2025-01-06", "100000", json!({})),
                ("2025-01-07", "50000", json!({})),
            ],
        );
        s.days[0].sketch = Some(sketch_of(0..100_000));
        s.days[1].sketch = Some(sketch_of(80_000..130_000));
        let rows = roll_up(&s, &week()).unwrap();
        let value: f64 = rows[0].value.as_deref().unwrap().parse().unwrap();
        assert!(
            (value - 130_000.0).abs() <= 130_000.0 * 3.0 * RELATIVE_STANDARD_ERROR,
            "{value}"
        );
        assert!(value >= 100_000.0);
        assert_eq!(rows[0].metadata["count"], "estimate");
        assert!(
            rows[0].metadata["relative_standard_error"]
                .as_f64()
                .unwrap()
                > 0.0
        );
    }

    #[test]
    fn days_without_a_sketch_make_the_period_a_lower_bound() {
        let mut s = series(
            Kind::Distinct,
            vec![
                ("2025-01-06", "10", json!({})),
                ("2025-01-07", "21", json!({})),
            ],
        );
        s.days[1].sketch = Some(sketch_of(0..5));
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("21"));
        assert_eq!(rows[0].metadata["count"], "lower_bound");
        assert_eq!(rows[0].metadata["days_without_sketch"], 1);
        assert_eq!(rows[0].metadata["days_without_version"], 2);
    }

    #[test]
    fn a_truncated_breakdown_week_is_never_below_its_largest_day() {
        let day = |groups: &str, keys: &[&str]| {
            let breakdown: Map<String, Value> =
                keys.iter().map(|k| (k.to_string(), json!(1))).collect();
            json!({"breakdown": breakdown, "top_items": [], "rows": keys.len(), "truncated": groups.parse::<usize>().unwrap() > keys.len()})
        };
        let mut s = series(
            Kind::Breakdown,
            vec![
                ("2025-01-06", "100000", day("100000", &["a", "b"])),
                ("2025-01-07", "2000", day("2000", &["a", "c"])),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("100000"));
        assert_eq!(rows[0].metadata["groups"], "lower_bound");
        assert_eq!(rows[0].metadata["counts"], "lower_bound");
        s.days[0].sketch = Some(sketch_of(0..100_000));
        s.days[1].sketch = Some(sketch_of(99_000..101_000));
        let rows = roll_up(&s, &week()).unwrap();
        let value: f64 = rows[0].value.as_deref().unwrap().parse().unwrap();
        assert!(
            value >= 100_000.0 && (value - 101_000.0).abs() <= 101_000.0 * 0.03,
            "{value}"
        );
        assert_eq!(rows[0].metadata["groups"], "estimate");
    }

    #[test]
    fn non_finite_days_are_left_out_of_a_pooled_average_and_named() {
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
                    "NaN",
                    json!({"sample_size": 5, "std_deviation": "NaN"}),
                ),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("2"));
        assert_eq!(rows[0].metadata["sample_size"], 2);
        assert_eq!(rows[0].metadata["excluded_days"], json!(["2025-01-07"]));
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

    /// A percentile day as the computing statement seals it: its own `percentile_cont`, and
    /// its sorted values when it kept them.
    fn percentile_day(date: &str, values: &[f64], p: f64, kept: bool) -> Day {
        let mut sorted = values.to_vec();
        let value = percentile::percentile_cont(&mut sorted, p).unwrap_or(0.0);
        Day {
            date: d(date),
            value: percentile::exact_text(value),
            metadata: json!({"percentile": p, "sample_size": values.len(), "values_kept": kept}),
            sketch: kept.then(|| percentile::encode(values)),
            version: Some(1),
        }
    }

    fn percentile_series(p: f64, days: Vec<Day>) -> Series {
        Series {
            percentile: Some(p),
            days,
            ..series(Kind::Percentile, vec![])
        }
    }

    #[test]
    fn percentile_periods_rank_the_union_of_their_days_not_the_days_medians() {
        // Medians of the days: 2 and 100, a median of medians would be 51. The week's values
        // {1, 2, 3, 100}: percentile_cont(0.5) = 2.5.
        let s = percentile_series(
            0.5,
            vec![
                percentile_day("2025-01-06", &[3.0, 1.0, 2.0], 0.5, true),
                percentile_day("2025-01-08", &[100.0], 0.5, true),
                percentile_day("2025-01-09", &[], 0.5, true),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value.as_deref(), Some("2.5"));
        let m = &rows[0].metadata;
        assert_eq!(m["aggregation"], "merged_values");
        assert_eq!(m["sample_size"], 4);
        assert_eq!(m["exact"], true);
        assert_eq!(m["percentile"], 0.5);
        // A day passes through as sealed.
        let day = roll_up(&s, &periods(d("2025-01-06"), d("2025-01-06"), Grain::Daily)).unwrap();
        assert_eq!(day[0].value.as_deref(), Some("2"));
        // p90 of {1, 2, 3, 100}: rank 2.7, 3 + 0.7 * 97 in doubles.
        let s90 = Series {
            percentile: Some(0.9),
            ..s.clone()
        };
        let expected = percentile::exact_text(3.0 + 0.7000000000000002 * 97.0);
        assert_eq!(roll_up(&s90, &week()).unwrap()[0].value, Some(expected));
    }

    #[test]
    fn a_month_of_percentile_days_is_the_percentile_of_all_their_values() {
        let mut all = Vec::new();
        let mut days = Vec::new();
        for day in 1..=31u32 {
            let values: Vec<f64> = (0..day * 3)
                .map(|k| ((k * 37 + day * 11) % 97) as f64 / 4.0)
                .collect();
            all.extend(values.iter().copied());
            days.push(percentile_day(
                &format!("2025-01-{day:02}"),
                &values,
                0.9,
                true,
            ));
        }
        let s = percentile_series(0.9, days);
        let month = periods(d("2025-01-01"), d("2025-01-31"), Grain::Monthly);
        let rows = roll_up(&s, &month).unwrap();
        let expected = percentile::percentile_cont(&mut all, 0.9).unwrap();
        assert_eq!(rows[0].value, Some(percentile::exact_text(expected)));
        assert_eq!(rows[0].metadata["sample_size"], all.len());
    }

    #[test]
    fn a_percentile_period_with_a_day_without_values_has_no_value() {
        let s = percentile_series(
            0.5,
            vec![
                percentile_day("2025-01-06", &[1.0, 2.0], 0.5, true),
                percentile_day("2025-01-07", &[5.0, 6.0, 7.0], 0.5, false),
            ],
        );
        let rows = roll_up(&s, &week()).unwrap();
        assert_eq!(rows[0].value, None);
        assert_eq!(rows[0].days_recorded, 2);
        assert_eq!(rows[0].metadata["exact"], false);
        assert_eq!(
            rows[0].metadata["days_without_values"],
            json!(["2025-01-07"])
        );
        assert_eq!(rows[0].metadata["sample_size"], 5);
    }

    #[test]
    fn corrupt_percentile_days_are_errors_with_their_key() {
        let mut bad_count = percentile_day("2025-01-07", &[1.0, 2.0], 0.5, true);
        bad_count.metadata["sample_size"] = json!(3);
        let mut bad_bytes = percentile_day("2025-01-07", &[1.0], 0.5, true);
        bad_bytes.sketch = Some(vec![0x70, 1, 2]);
        let mut no_size = percentile_day("2025-01-07", &[1.0], 0.5, true);
        no_size.metadata = json!({});
        for (day, what) in [
            (bad_count, "keeps 2 values for a sample size of 3"),
            (bad_bytes, "not a multiple of 8"),
            (no_size, "no number \"sample_size\""),
        ] {
            let s = percentile_series(
                0.5,
                vec![percentile_day("2025-01-06", &[1.0], 0.5, true), day],
            );
            let p = roll_up(&s, &week()).unwrap_err();
            assert_eq!(p.state, crate::common::problem::SqlState::DataCorrupted);
            assert!(p.message.contains("row (2025-01-07, m)"), "{}", p.message);
            assert!(p.message.contains(what), "{}", p.message);
        }
        let s = Series {
            percentile: None,
            ..percentile_series(
                0.5,
                vec![
                    percentile_day("2025-01-06", &[1.0], 0.5, true),
                    percentile_day("2025-01-07", &[1.0], 0.5, true),
                ],
            )
        };
        assert!(roll_up(&s, &week())
            .unwrap_err()
            .message
            .contains("without its percentile"));
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
