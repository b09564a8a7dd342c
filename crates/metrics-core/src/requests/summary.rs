//! Summaries: the events of one (route, method, UTC hour, project) or (operation, hour,
//! project) that an app already added up, sent as one element of a batch instead of one
//! element per event (the TypeScript client does, `clients/typescript`). A summary carries
//! what a bucket holds: the counts, the sum, minimum and maximum of the durations, the time
//! of the last event (whose hour is the summary's), and the latency sketch's buckets, so the
//! server adds it into the hour exactly as it would add the events one by one, provided the
//! app computed the buckets as `sketch::bucket_of` does.
//!
//! ```json
//! {"route": "/api/posts", "method": "GET", "project": "acme", "at": "2026-12-02T10:41:12.345Z",
//!  "successful": 10, "failed": 2, "total_duration_ms": 1234.567,
//!  "min_duration_ms": 0.5, "max_duration_ms": 300.25, "sketch": [[1, 1], [462, 11]]}
//! ```
//!
//! A summary is checked as a whole: names as an event's, the time in the window, counts that
//! agree with the sketch, durations in range, a sum that `n` durations between the minimum
//! and the maximum can have, and sketch buckets between those of the minimum and maximum.

use serde_json::{Map, Value};

use crate::common::problem::{json_kind, Outcome, Problem, SqlState};
use crate::requests::batch::{at_of, check_keys, missing, name_and_method, number, object_of};
use crate::requests::bucket::{whole_micros, Bucket, Totals};
use crate::requests::event::{check_duration, check_event, hour_of, Key, Subject, Window};
use crate::requests::sketch::{bucket_of, LatencySketch, BUCKETS};

/// The keys only a summary has: an element with any of them is read as one.
const SUMMARY_KEYS: [&str; 6] = [
    "successful",
    "failed",
    "total_duration_ms",
    "min_duration_ms",
    "max_duration_ms",
    "sketch",
];

/// One checked summary: the bucket it adds into and what it adds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub key: Key,
    pub bucket: Bucket,
}

/// Whether a batch element is a summary rather than an event.
pub fn is_summary(item: &Value) -> bool {
    item.as_object()
        .is_some_and(|o| SUMMARY_KEYS.iter().any(|k| o.contains_key(*k)))
}

fn problem(message: String) -> Problem {
    Problem::new(SqlState::InvalidParameterValue, message).hint(
        "a summary adds up events of one hour: successful + failed events, their total, minimum and maximum duration_ms, and \"sketch\": [[bucket, count], ...] with the counts adding up to successful + failed",
    )
}

/// Reads and checks one summary.
pub fn parse_summary(subject: Subject, item: &Value, window: Window) -> Outcome<Summary> {
    let obj = object_of(item, subject)?;
    let allowed: &[&str] = match subject {
        Subject::Route => &[
            "route",
            "method",
            "at",
            "project",
            "successful",
            "failed",
            "total_duration_ms",
            "min_duration_ms",
            "max_duration_ms",
            "sketch",
        ],
        Subject::Operation => &[
            "operation",
            "at",
            "project",
            "successful",
            "failed",
            "total_duration_ms",
            "min_duration_ms",
            "max_duration_ms",
            "sketch",
        ],
    };
    check_keys(obj, allowed, "a summary")?;
    let (name, method) = name_and_method(obj, subject)?;
    let at = at_of(obj, subject)?.ok_or_else(|| missing("at", subject))?;
    // The names and the time as an event's (a duration of 0 stands in; the summary's are
    // checked below).
    let named = check_event(subject, name, method, true, 0.0, at, window)?;
    let successful = count(obj, "successful", subject)?;
    let failed = count(obj, "failed", subject)?;
    let total = successful
        .checked_add(failed)
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            problem("a summary adds up at least one event and fewer than 2^64".into())
        })?;
    let [sum, min, max] = ["total_duration_ms", "min_duration_ms", "max_duration_ms"]
        .map(|k| number(obj, k, subject).map(whole_micros));
    let (sum, min, max) = (sum?, min?, max?);
    check_durations(total, sum, min, max)?;
    let sketch = sketch_of(obj.get("sketch"), total, min, max, subject)?;
    Ok(Summary {
        key: Key {
            name: named.name,
            method: named.method,
            hour: hour_of(at),
            project: None,
        },
        bucket: Bucket {
            totals: Totals {
                total,
                successful,
                failed,
                sum_ms: sum,
                min_ms: min,
                max_ms: max,
                last_at: at,
            },
            sketch,
        },
    })
}

/// A count: a whole number from 0.
fn count(obj: &Map<String, Value>, key: &str, subject: Subject) -> Outcome<u64> {
    match obj.get(key) {
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| problem(format!("\"{key}\" must be a whole number from 0, not {n}"))),
        Some(other) => Err(problem(format!(
            "\"{key}\" must be a whole number from 0, not {}",
            json_kind(other)
        ))),
        None => Err(missing(key, subject)),
    }
}

/// The minimum and maximum are durations (0 to a day), in order, and `n` durations between
/// them can add up to the sum (each sum rounded to the microsecond: `n` half microseconds of
/// slack, and a relative 1e-12 for the float products).
fn check_durations(n: u64, sum: f64, min: f64, max: f64) -> Outcome<()> {
    check_duration(min).map_err(|p| named("min_duration_ms", p))?;
    check_duration(max).map_err(|p| named("max_duration_ms", p))?;
    if min > max {
        return Err(problem(format!(
            "min_duration_ms ({min}) is more than max_duration_ms ({max})"
        )));
    }
    let n = n as f64;
    let slack = n * 0.0005 + (max * n) * 1e-12;
    if !(sum >= min * n - slack && sum <= max * n + slack) {
        return Err(problem(format!(
            "total_duration_ms ({sum}) cannot be the sum of {n} durations from {min} to {max} ms"
        )));
    }
    Ok(())
}

fn named(key: &str, p: Problem) -> Problem {
    Problem {
        message: p.message.replacen("duration_ms", key, 1),
        ..p
    }
}

/// The sketch: `[[bucket, count], ...]` in increasing bucket order, counts from 1 adding up
/// to the summary's events, buckets between the minimum's and the maximum's (one bucket of
/// slack either way, for a client whose logarithm rounds the other way at a boundary).
fn sketch_of(
    v: Option<&Value>,
    total: u64,
    min: f64,
    max: f64,
    subject: Subject,
) -> Outcome<LatencySketch> {
    let Some(v) = v else {
        return Err(missing("sketch", subject));
    };
    let pairs = v.as_array().ok_or_else(|| {
        problem(format!(
            "\"sketch\" must be an array of [bucket, count] pairs, not {}",
            json_kind(v)
        ))
    })?;
    let (low, high) = (
        bucket_of(min).saturating_sub(1),
        (bucket_of(max) + 1).min(BUCKETS - 1),
    );
    let mut sketch = LatencySketch::new();
    let mut previous: Option<u64> = None;
    let mut sum: u64 = 0;
    for pair in pairs {
        let (bucket, n) = match pair.as_array().map(|p| p.as_slice()) {
            Some([Value::Number(b), Value::Number(n)]) => (b.as_u64(), n.as_u64()),
            _ => (None, None),
        };
        let (Some(bucket), Some(n)) = (bucket, n) else {
            return Err(problem(format!(
                "a \"sketch\" entry must be [bucket, count] (two whole numbers), not {pair}"
            )));
        };
        if n == 0
            || previous.is_some_and(|p| bucket <= p)
            || bucket < low as u64
            || bucket > high as u64
        {
            return Err(problem(format!(
                "the sketch entry [{bucket}, {n}] is not a bucket from {low} to {high} (those of min_duration_ms and max_duration_ms) in increasing order with a count from 1"
            )));
        }
        previous = Some(bucket);
        sum = sum.saturating_add(n);
        sketch.add_bucket(bucket as usize, n);
    }
    if sum != total {
        return Err(problem(format!(
            "the sketch counts {sum} events, but successful + failed is {total}"
        )));
    }
    Ok(sketch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::bucket::aggregate;
    use crate::requests::event::{test_window, utc, Event};
    use serde_json::json;

    fn at() -> &'static str {
        "2025-06-01T11:30:00Z"
    }

    fn events() -> Vec<Event> {
        [(true, 0.5), (true, 12.25), (false, 300.125), (true, 12.3)]
            .iter()
            .map(|&(success, d)| Event {
                name: "/api/posts".into(),
                method: Some("GET".into()),
                success,
                duration_ms: d,
                at: utc("2025-06-01 11:30:00"),
                project: None,
            })
            .collect()
    }

    /// The summary an app would send for `events()`.
    fn summary_json() -> Value {
        let (_, bucket) = aggregate(&events()).into_iter().next().unwrap();
        let pairs: Vec<Value> = bucket
            .sketch
            .buckets()
            .map(|(b, n)| json!([b, n]))
            .collect();
        json!({"route": "/api/posts", "method": "GET", "at": at(), "successful": 3, "failed": 1,
               "total_duration_ms": 325.175, "min_duration_ms": 0.5, "max_duration_ms": 300.125,
               "sketch": pairs})
    }

    #[test]
    fn a_summary_adds_what_its_events_add() {
        let item = summary_json();
        assert!(is_summary(&item));
        let s = parse_summary(Subject::Route, &item, test_window()).unwrap();
        let (key, bucket) = aggregate(&events()).into_iter().next().unwrap();
        assert_eq!(s.key, key);
        assert_eq!(s.bucket.sketch, bucket.sketch);
        assert_eq!(s.bucket.totals.total, 4);
        assert_eq!(s.bucket.totals.sum_ms, bucket.totals.sum_ms);
        assert_eq!(s.bucket.totals.min_ms, 0.5);
        assert_eq!(s.bucket.totals.max_ms, 300.125);
        assert!(!is_summary(
            &json!({"route": "/x", "method": "GET", "success": true, "duration_ms": 1})
        ));
    }

    fn refused(change: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut item = summary_json();
        change(item.as_object_mut().unwrap());
        parse_summary(Subject::Route, &item, test_window())
            .expect_err("refused")
            .message
    }

    #[test]
    fn a_summary_that_cannot_be_is_refused() {
        assert!(refused(|o| {
            o.insert("failed".into(), json!(2));
        })
        .contains("the sketch counts 4 events, but successful + failed is 5"));
        assert!(refused(|o| {
            o.insert("failed".into(), json!(-1));
        })
        .contains("whole number from 0"));
        assert!(refused(|o| {
            o.insert("successful".into(), json!(0));
            o.insert("failed".into(), json!(0));
            o.insert("sketch".into(), json!([]));
        })
        .contains("at least one event"));
        assert!(refused(|o| {
            o.insert("min_duration_ms".into(), json!(400));
        })
        .contains("more than max_duration_ms"));
        assert!(refused(|o| {
            o.insert("total_duration_ms".into(), json!(5000));
        })
        .contains("cannot be the sum of 4 durations"));
        assert!(refused(|o| {
            o.insert("total_duration_ms".into(), json!(1.0));
        })
        .contains("cannot be the sum"));
        assert!(refused(|o| {
            o.insert("max_duration_ms".into(), json!(1e9));
        })
        .contains("max_duration_ms is more than a day"));
        assert!(refused(|o| {
            o.insert("sketch".into(), json!([[1, 4]]));
        })
        .contains("not a bucket from"));
        assert!(refused(|o| {
            o.insert("sketch".into(), json!([[700, 2], [699, 2]]));
        })
        .contains("increasing order"));
        assert!(refused(|o| {
            o.insert("sketch".into(), json!([[700, 0]]));
        })
        .contains("count from 1"));
        assert!(refused(|o| {
            o.insert("sketch".into(), json!([[700]]));
        })
        .contains("[bucket, count]"));
        assert!(refused(|o| {
            o.insert("sketch".into(), json!("x"));
        })
        .contains("array of [bucket, count]"));
        assert!(refused(|o| {
            o.remove("at");
        })
        .contains("\"at\" is missing"));
        assert!(refused(|o| {
            o.insert("success".into(), json!(true));
        })
        .contains("unknown key \"success\""));
        assert!(refused(|o| {
            o.insert("method".into(), json!("FETCH"));
        })
        .contains("method"));
        assert!(refused(|o| {
            o.insert("at".into(), json!("2020-01-01T00:00:00Z"));
        })
        .contains("older than metrics.max_event_age"));
    }

    #[test]
    fn an_operation_summary_has_no_method() {
        let mut item = summary_json();
        let o = item.as_object_mut().unwrap();
        o.remove("route");
        o.remove("method");
        o.insert("operation".into(), json!("send_email"));
        let s = parse_summary(Subject::Operation, &item, test_window()).unwrap();
        assert_eq!(
            (s.key.name.as_str(), s.key.method.as_deref()),
            ("send_email", None)
        );
        item.as_object_mut()
            .unwrap()
            .insert("method".into(), json!("GET"));
        assert!(parse_summary(Subject::Operation, &item, test_window()).is_err());
    }
}
