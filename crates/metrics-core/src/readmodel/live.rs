//! The open bucket, computed live on request and never stored: the numbers of a request
//! key from the merged hour rows of the bucket so far (the same merge as
//! `get_route_metrics`), and the `today` part of a summary.

use serde_json::{json, Value};

use crate::readmodel::answer::iso;
use crate::requests::bucket::Bucket;
use crate::requests::report::Stats;

/// `value_json` of a request point: the contract's fields.
pub fn request_data(stats: &Stats) -> Value {
    json!({
        "total": stats.total,
        "successful": stats.successful,
        "failed": stats.failed,
        "error_rate": error_rate(stats),
        "p50_ms": stats.p50_ms,
        "p95_ms": stats.p95_ms,
        "p99_ms": stats.p99_ms,
        "average_ms": if stats.total == 0 { None } else { Some(stats.average_ms) },
    })
}

/// failed / total, NULL when there was no request.
fn error_rate(stats: &Stats) -> Option<f64> {
    (stats.total > 0).then(|| stats.failed as f64 / stats.total as f64)
}

/// The value of a request key (`requests`, `request_error_rate`, `request_p50_ms`, ...).
pub fn request_value(key: &str, stats: &Stats) -> Option<f64> {
    match key {
        "requests" => Some(stats.total as f64),
        "request_error_rate" => error_rate(stats),
        "request_p50_ms" => stats.p50_ms,
        "request_p95_ms" => stats.p95_ms,
        "request_p99_ms" => stats.p99_ms,
        _ => None,
    }
}

/// The numbers of the merged rows of a bucket (no row: zero requests).
pub fn stats_of(buckets: &[Bucket]) -> Stats {
    let mut merged = Bucket {
        totals: crate::requests::bucket::Totals::EMPTY,
        sketch: crate::requests::sketch::LatencySketch::new(),
    };
    for b in buckets {
        merged.merge(b);
    }
    Stats::of(&merged)
}

/// A daily metric's value of the open day, as the live collection computed it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveMetric {
    pub category: String,
    pub metric_type: String,
    /// Numeric text as PostgreSQL printed it.
    pub value: Option<String>,
    pub metadata: Value,
}

/// The `today` part of a summary: the open day so far, always partial.
pub fn today(day_start: i64, now: i64, metrics: &[LiveMetric], requests: &Stats) -> Value {
    let metrics: Vec<Value> = metrics
        .iter()
        .map(|m| {
            let value = m.value.as_deref().and_then(|v| v.parse::<f64>().ok());
            json!({"metric_key": m.category, "metric_type": m.metric_type,
                   "value": value, "metadata": m.metadata})
        })
        .collect();
    json!({
        "start": iso(day_start),
        "as_of": iso(now),
        "partial": true,
        "metrics": metrics,
        "requests": request_data(requests),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::bucket::Totals;
    use crate::requests::sketch::LatencySketch;

    fn bucket(durations: &[f64], failed: u64) -> Bucket {
        let mut sketch = LatencySketch::new();
        for d in durations {
            sketch.add(*d);
        }
        let n = durations.len() as u64;
        Bucket {
            totals: Totals {
                total: n,
                successful: n - failed,
                failed,
                sum_ms: durations.iter().sum(),
                min_ms: durations.iter().cloned().fold(f64::INFINITY, f64::min),
                max_ms: durations.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                last_at: 0,
            },
            sketch,
        }
    }

    #[test]
    fn no_request_is_zero_requests_and_no_rate() {
        let s = stats_of(&[]);
        assert_eq!(request_value("requests", &s), Some(0.0));
        assert_eq!(request_value("request_error_rate", &s), None);
        assert_eq!(request_value("request_p95_ms", &s), None);
        let d = request_data(&s);
        assert_eq!(d["total"], 0);
        assert_eq!(d["error_rate"], Value::Null);
        assert_eq!(d["average_ms"], Value::Null);
    }

    #[test]
    fn buckets_merge_before_the_percentiles() {
        let s = stats_of(&[bucket(&[10.0, 10.0, 10.0], 1), bucket(&[100.0], 0)]);
        assert_eq!(request_value("requests", &s), Some(4.0));
        assert_eq!(request_value("request_error_rate", &s), Some(0.25));
        let p50 = request_value("request_p50_ms", &s).unwrap();
        assert!((p50 - 10.0).abs() <= 0.1, "{p50}");
        let p99 = request_value("request_p99_ms", &s).unwrap();
        assert!((p99 - 100.0).abs() <= 1.0, "{p99}");
        assert_eq!(request_value("dora_rework_rate", &s), None);
        assert_eq!(request_data(&s)["average_ms"], json!(32.5));
    }

    #[test]
    fn today_is_partial() {
        let m = LiveMetric {
            category: "posts_created".into(),
            metric_type: "count".into(),
            value: Some("7".into()),
            metadata: json!({}),
        };
        let t = today(0, 3_600_000_000, &[m], &stats_of(&[]));
        assert_eq!(t["partial"], true);
        assert_eq!(t["metrics"][0]["value"], json!(7.0));
        assert_eq!(t["as_of"], "1970-01-01T01:00:00Z");
        assert_eq!(t["requests"]["total"], 0);
    }
}
