//! The arguments of the read API (`get_trend`, `get_breakdown`, `get_drilldown`), checked
//! before any table is read: grains, ranges and their defaults, page sizes, entity types,
//! which family a metric key belongs to, and the dimensions of a series.

use chrono::{DateTime, Months};
use serde_json::{Map, Value};

use crate::common::problem::{Outcome, Problem, SqlState};

pub const MICROS_PER_HOUR: i64 = 3_600_000_000;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
/// The page sizes `get_drilldown` accepts.
pub const MAX_PAGE_SIZE: i32 = 500;

/// The grains of the read model (the SQL type `metrics.metrics_time_grain`), finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimeGrain {
    Hour,
    Day,
    Week,
    Month,
}

impl TimeGrain {
    pub const ALL: [TimeGrain; 4] = [
        TimeGrain::Hour,
        TimeGrain::Day,
        TimeGrain::Week,
        TimeGrain::Month,
    ];

    /// One of `hour`, `day`, `week`, `month`, exactly.
    pub fn parse(text: &str) -> Outcome<TimeGrain> {
        TimeGrain::ALL
            .into_iter()
            .find(|g| g.as_str() == text)
            .ok_or_else(|| {
                Problem::new(
                    SqlState::InvalidParameterValue,
                    format!("unknown grain \"{}\"", shorten(text)),
                )
                .hint("use hour, day, week or month")
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TimeGrain::Hour => "hour",
            TimeGrain::Day => "day",
            TimeGrain::Week => "week",
            TimeGrain::Month => "month",
        }
    }

    /// Whether the bucket containing now is computed live (hours and days), rather than the
    /// last stored bucket being marked open (weeks and months).
    pub fn is_live(self) -> bool {
        matches!(self, TimeGrain::Hour | TimeGrain::Day)
    }

    /// The start of the default range that ends at `end`: 48 hours, 30 days, 26 weeks or
    /// 12 months back.
    fn default_start(self, end: i64) -> i64 {
        match self {
            TimeGrain::Hour => end - 48 * MICROS_PER_HOUR,
            TimeGrain::Day => end - 30 * MICROS_PER_DAY,
            TimeGrain::Week => end - 26 * 7 * MICROS_PER_DAY,
            TimeGrain::Month => DateTime::from_timestamp_micros(end)
                .and_then(|t| t.checked_sub_months(Months::new(12)))
                .map_or(end - 365 * MICROS_PER_DAY, |t| t.timestamp_micros()),
        }
    }
}

/// Text of a caller's argument shown in a message: at most 40 characters.
pub fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A range `[start, end)` in microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: i64,
    pub end: i64,
}

/// The error for an infinite `start_at` or `end_at`.
pub fn infinite_bound(name: &str) -> Problem {
    Problem::new(
        SqlState::DatetimeFieldOverflow,
        format!("{name} must be a finite time"),
    )
    .hint("pass a time such as now() - interval '7 days', or NULL for the default range")
}

/// The range of a query: the given bounds, or the grain's default range ending at the given
/// end (else now), clipped to `max_days`; then start before end, at most `max_days` days
/// (the setting `metrics.max_query_days`).
pub fn resolve_range(
    grain: TimeGrain,
    start: Option<i64>,
    end: Option<i64>,
    now: i64,
    max_days: i64,
) -> Outcome<Range> {
    let end = end.unwrap_or(now);
    let start = start.unwrap_or_else(|| {
        grain
            .default_start(end)
            .max(end - max_days * MICROS_PER_DAY)
    });
    if start >= end {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            "start_at must be before end_at",
        )
        .hint("the range is [start_at, end_at); omit both for the grain's default range"));
    }
    if end - start > max_days * MICROS_PER_DAY {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("the range spans more than {max_days} days"),
        )
        .detail("The limit is the setting metrics.max_query_days.")
        .hint("query a shorter range, or ask an administrator to raise metrics.max_query_days"));
    }
    Ok(Range { start, end })
}

/// A page size of `get_drilldown`: 1 to `MAX_PAGE_SIZE`.
pub fn check_page_size(size: i32) -> Outcome<i32> {
    if (1..=MAX_PAGE_SIZE).contains(&size) {
        return Ok(size);
    }
    Err(Problem::new(
        SqlState::InvalidParameterValue,
        format!("page_size must be between 1 and {MAX_PAGE_SIZE}, not {size}"),
    )
    .hint("ask for at most 500 rows a page and follow \"next\" for more"))
}

/// The entities a drill-down lists.
pub const ENTITY_TYPES: [&str; 4] = ["pull_request", "deployment", "route", "breakdown_key"];

pub fn check_entity_type(text: &str) -> Outcome<&'static str> {
    ENTITY_TYPES
        .into_iter()
        .find(|e| *e == text)
        .ok_or_else(|| {
            Problem::new(
                SqlState::InvalidParameterValue,
                format!("unknown entity type \"{}\"", shorten(text)),
            )
            .hint("use pull_request, deployment, route or breakdown_key")
        })
}

/// Where a metric key's values come from, which decides its live source and its day zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// `requests`, `request_*`: route_metrics, hours in UTC, days in the project's zone.
    Requests,
    /// `dora_*`: the DORA keys, days in the project's zone; no live source.
    Dora,
    /// A daily metric's category: days of `metrics.timezone`.
    Daily,
}

/// The keys every project has, whatever is stored or defined.
pub const REQUEST_KEYS: [&str; 5] = [
    "requests",
    "request_error_rate",
    "request_p50_ms",
    "request_p95_ms",
    "request_p99_ms",
];
pub const DORA_KEYS: [&str; 5] = [
    "dora_deployment_frequency",
    "dora_lead_time_p50_hours",
    "dora_change_failure_rate",
    "dora_recovery_p50_hours",
    "dora_rework_rate",
];

pub fn key_family(key: &str) -> KeyFamily {
    if REQUEST_KEYS.contains(&key) {
        KeyFamily::Requests
    } else if DORA_KEYS.contains(&key) {
        KeyFamily::Dora
    } else {
        KeyFamily::Daily
    }
}

pub fn is_fixed_key(key: &str) -> bool {
    key_family(key) != KeyFamily::Daily
}

/// The error for a metric key the project does not have.
pub fn unknown_key(key: &str) -> Problem {
    Problem::new(
        SqlState::UndefinedObject,
        format!("metric key \"{}\" does not exist", shorten(key)),
    )
    .hint("use requests, request_error_rate, request_p50_ms, request_p95_ms, request_p99_ms, a dora_* key, or a metric category of the project (SELECT metric_category FROM metrics.metric_definitions)")
}

/// The dimensions of a series: a JSON object of at most 8 string values.
pub fn check_dimensions(value: &Value) -> Outcome<Map<String, Value>> {
    let bad = |why: &str| {
        Problem::new(
            SqlState::InvalidParameterValue,
            format!("dimensions must be {why}"),
        )
        .hint("pass {} for all routes together, or {\"route\": \"/users\", \"method\": \"GET\"} for one")
    };
    let Value::Object(map) = value else {
        return Err(bad("a JSON object"));
    };
    if map.len() > 8 {
        return Err(bad("at most 8 keys"));
    }
    if map
        .iter()
        .any(|(k, v)| !v.is_string() || k.len() > 100 || v.as_str().is_some_and(|s| s.len() > 500))
    {
        return Err(bad("an object of short strings"));
    }
    Ok(map.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_764_590_400_000_000; // 2025-12-01T12:00:00Z

    #[test]
    fn grains_are_exact() {
        for g in TimeGrain::ALL {
            assert_eq!(TimeGrain::parse(g.as_str()), Ok(g));
        }
        for bad in ["Day", "daily", "", "minute", " day"] {
            let p = TimeGrain::parse(bad).unwrap_err();
            assert_eq!(p.state, SqlState::InvalidParameterValue);
            assert!(p.hint.unwrap().contains("month"));
        }
        assert!(TimeGrain::Hour.is_live() && TimeGrain::Day.is_live());
        assert!(!TimeGrain::Week.is_live() && !TimeGrain::Month.is_live());
        assert!(TimeGrain::Hour < TimeGrain::Week);
    }

    #[test]
    fn default_ranges_per_grain() {
        let r = |g| resolve_range(g, None, None, NOW, 366).unwrap();
        assert_eq!(
            r(TimeGrain::Hour),
            Range {
                start: NOW - 48 * MICROS_PER_HOUR,
                end: NOW
            }
        );
        assert_eq!(r(TimeGrain::Day).start, NOW - 30 * MICROS_PER_DAY);
        assert_eq!(r(TimeGrain::Week).start, NOW - 182 * MICROS_PER_DAY);
        // 2024-12-01T12:00:00Z: twelve calendar months, not 365 days.
        assert_eq!(r(TimeGrain::Month).start, 1_733_054_400_000_000);
        // A default is clipped to the limit; an end without a start gets the default before it.
        assert_eq!(
            resolve_range(TimeGrain::Month, None, None, NOW, 30)
                .unwrap()
                .start,
            NOW - 30 * MICROS_PER_DAY
        );
        let end = NOW - 5 * MICROS_PER_DAY;
        assert_eq!(
            resolve_range(TimeGrain::Day, None, Some(end), NOW, 366)
                .unwrap()
                .start,
            end - 30 * MICROS_PER_DAY
        );
        assert_eq!(
            resolve_range(TimeGrain::Day, Some(end), None, NOW, 366).unwrap(),
            Range {
                start: end,
                end: NOW
            }
        );
    }

    #[test]
    fn ranges_are_checked() {
        let p = resolve_range(TimeGrain::Day, Some(NOW), Some(NOW - 1), NOW, 366).unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert!(resolve_range(TimeGrain::Day, Some(NOW), Some(NOW), NOW, 366).is_err());
        let year = NOW - 366 * MICROS_PER_DAY;
        assert!(resolve_range(TimeGrain::Day, Some(year), Some(NOW), NOW, 366).is_ok());
        let p = resolve_range(TimeGrain::Day, Some(year - 1), Some(NOW), NOW, 366).unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert!(p.message.contains("366 days") && p.hint.is_some());
        assert_eq!(
            infinite_bound("end_at").state,
            SqlState::DatetimeFieldOverflow
        );
    }

    #[test]
    fn page_sizes_and_entity_types() {
        assert_eq!(check_page_size(1), Ok(1));
        assert_eq!(check_page_size(500), Ok(500));
        for bad in [0, -1, 501, i32::MAX] {
            assert_eq!(
                check_page_size(bad).unwrap_err().state,
                SqlState::InvalidParameterValue
            );
        }
        for e in ENTITY_TYPES {
            assert_eq!(check_entity_type(e), Ok(e));
        }
        let p = check_entity_type("task").unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert!(p.message.contains("\"task\""));
    }

    #[test]
    fn keys_have_families() {
        assert_eq!(key_family("requests"), KeyFamily::Requests);
        assert_eq!(key_family("request_p95_ms"), KeyFamily::Requests);
        assert_eq!(key_family("dora_rework_rate"), KeyFamily::Dora);
        assert_eq!(key_family("posts_created"), KeyFamily::Daily);
        assert_eq!(
            key_family("request_p90_ms"),
            KeyFamily::Daily,
            "not a request key"
        );
        assert!(is_fixed_key("dora_deployment_frequency") && !is_fixed_key("users_total"));
        let p = unknown_key(&"x".repeat(100));
        assert_eq!(p.state, SqlState::UndefinedObject);
        assert!(p.message.len() < 80);
    }

    #[test]
    fn dimensions_are_objects_of_strings() {
        assert!(check_dimensions(&json!({})).unwrap().is_empty());
        let d = check_dimensions(&json!({"route": "/users", "method": "GET"})).unwrap();
        assert_eq!(d["route"], "/users");
        for bad in [
            json!([]),
            json!("x"),
            json!({"route": 1}),
            json!({"a": {"b": "c"}}),
            json!(null),
        ] {
            assert_eq!(
                check_dimensions(&bad).unwrap_err().state,
                SqlState::InvalidParameterValue
            );
        }
        let many: Map<String, Value> = (0..9).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(check_dimensions(&Value::Object(many)).is_err());
    }
}
