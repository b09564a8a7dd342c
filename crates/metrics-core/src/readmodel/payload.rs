//! The JSON the read model stores: the `value_json` of daily-metric and request points, and
//! the parts of the summary payload (Metrics API contract v1.0), from numbers the refresh
//! computed with the same code as `fetch_metrics` and `get_route_metrics`.

use std::str::FromStr;

use serde_json::{json, Map, Number, Value};

use crate::requests::report::Stats;
use crate::snapshots::rollup::Row;

/// A numeric's text as an exact JSON number (the crate keeps arbitrary precision); text that
/// is no JSON number (NaN, sealed before 0.3.0) becomes null.
pub fn exact(text: &str) -> Value {
    Number::from_str(text).map_or(Value::Null, Value::Number)
}

/// The `value_json` of a daily-metric point: the rolled-up row as `fetch_metrics` returns it.
pub fn daily_point(row: &Row, complete: bool) -> Value {
    let missing: Vec<String> = row.missing.iter().map(|d| d.to_string()).collect();
    json!({
        "value": row.value.as_deref().map_or(Value::Null, exact),
        "metadata": row.metadata,
        "days_in_period": row.period.days(),
        "days_recorded": row.days_recorded,
        "missing_dates": missing,
        "complete": complete,
    })
}

/// The share of failed requests, none without requests.
pub fn error_rate(s: &Stats) -> Option<f64> {
    (s.total > 0).then(|| s.failed as f64 / s.total as f64)
}

/// The request statistics of a point, a breakdown or a summary.
pub fn request_stats(s: &Stats) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("total".into(), json!(s.total));
    m.insert("successful".into(), json!(s.successful));
    m.insert("failed".into(), json!(s.failed));
    m.insert("error_rate".into(), json!(error_rate(s)));
    m.insert("p50_ms".into(), json!(s.p50_ms));
    m.insert("p95_ms".into(), json!(s.p95_ms));
    m.insert("p99_ms".into(), json!(s.p99_ms));
    m.insert("average_ms".into(), json!(s.average_ms));
    m
}

/// The `value_json` of a request point.
pub fn request_point(s: &Stats, complete: bool) -> Value {
    let mut m = request_stats(s);
    m.insert("complete".into(), json!(complete));
    Value::Object(m)
}

/// The request metric keys, each with its number from a point's statistics.
pub fn request_keys(s: &Stats) -> [(&'static str, Option<f64>); 5] {
    [
        ("requests", Some(s.total as f64)),
        ("request_error_rate", error_rate(s)),
        ("request_p50_ms", s.p50_ms),
        ("request_p95_ms", s.p95_ms),
        ("request_p99_ms", s.p99_ms),
    ]
}

/// The change from the previous period and its ratio (none when either side is missing,
/// and no ratio from 0).
pub fn change(value: Option<f64>, previous: Option<f64>) -> (Option<f64>, Option<f64>) {
    match (value, previous) {
        (Some(v), Some(p)) => (Some(v - p), (p != 0.0).then(|| (v - p) / p)),
        _ => (None, None),
    }
}

/// One entry of the summary's `metrics`.
pub struct MetricEntry<'a> {
    pub metric_key: &'a str,
    pub display_name: &'a str,
    pub unit: Option<&'a str>,
    pub metric_type: &'a str,
    pub now: &'a Row,
    pub before: &'a Row,
}

pub fn metric_entry(e: &MetricEntry) -> Value {
    let number = |r: &Row| r.value.as_deref().and_then(|v| v.parse::<f64>().ok());
    let (delta, ratio) = change(number(e.now), number(e.before));
    json!({
        "metric_key": e.metric_key,
        "display_name": e.display_name,
        "unit": e.unit,
        "metric_type": e.metric_type,
        "value": e.now.value.as_deref().map_or(Value::Null, exact),
        "previous_value": e.before.value.as_deref().map_or(Value::Null, exact),
        "change": delta,
        "change_ratio": ratio,
        "days_recorded": e.now.days_recorded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::calendar::Period;
    use chrono::NaiveDate;

    fn row(value: Option<&str>) -> Row {
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        Row {
            period: Period {
                start: d,
                end: d + chrono::Days::new(6),
            },
            category: "posts".into(),
            metric_type: "count".into(),
            value: value.map(String::from),
            metadata: json!({}),
            days_recorded: 6,
            missing: vec![d + chrono::Days::new(3)],
        }
    }

    #[test]
    fn values_stay_exact() {
        assert_eq!(
            exact("12.3400000000000000001").to_string(),
            "12.3400000000000000001"
        );
        assert_eq!(exact("NaN"), Value::Null);
        let p = daily_point(&row(Some("7")), false);
        assert_eq!(p["value"], json!(7));
        assert_eq!(p["days_in_period"], json!(7));
        assert_eq!(p["missing_dates"], json!(["2026-03-05"]));
        assert_eq!(p["complete"], json!(false));
    }

    #[test]
    fn changes_need_both_sides() {
        assert_eq!(change(Some(15.0), Some(10.0)), (Some(5.0), Some(0.5)));
        assert_eq!(change(Some(15.0), Some(0.0)), (Some(15.0), None));
        assert_eq!(change(None, Some(1.0)), (None, None));
        let e = metric_entry(&MetricEntry {
            metric_key: "posts",
            display_name: "Posts",
            unit: None,
            metric_type: "count",
            now: &row(Some("12")),
            before: &row(None),
        });
        assert_eq!(e["previous_value"], Value::Null);
        assert_eq!(e["change"], Value::Null);
        assert_eq!(e["value"], json!(12));
    }

    #[test]
    fn error_rate_is_null_without_requests() {
        let mut s = Stats {
            total: 0,
            successful: 0,
            failed: 0,
            success_rate: 0.0,
            average_ms: 0.0,
            min_ms: 0.0,
            max_ms: 0.0,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
        };
        assert_eq!(error_rate(&s), None);
        s.total = 4;
        s.failed = 1;
        assert_eq!(error_rate(&s), Some(0.25));
        assert_eq!(request_keys(&s)[0], ("requests", Some(4.0)));
        assert_eq!(request_point(&s, true)["complete"], json!(true));
    }
}
