//! Request and operation events: what a valid event is, how a batch of them is read from
//! JSON, and how events add up into hourly buckets.
//!
//! A bucket is one (route, method, hour) or (operation, hour): counts of requests, successes
//! and failures, the sum, minimum and maximum of the durations, the time of the last event,
//! and a latency sketch. Buckets merge by adding (the sketch merges exactly), which is what
//! direct mode does in the table, buffered mode in shared memory, and the query API across
//! hours and routes. Times are microseconds since the Unix epoch, UTC; hours are UTC hours.

use std::collections::BTreeMap;

use chrono::DateTime;
#[cfg(test)]
use chrono::NaiveDateTime;
use serde_json::Value;

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::requests::sketch::{LatencySketch, MAX_TRACKED_MS};

/// The HTTP methods a route event may carry (RFC 9110 and PATCH), stored upper-case.
pub const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];
/// Longest route or operation name, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest duration accepted, in milliseconds (a day): the sketch's tracked range.
pub const MAX_DURATION_MS: f64 = MAX_TRACKED_MS;
/// Most events in one batch call.
pub const MAX_BATCH_EVENTS: usize = 100_000;

pub const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// What is measured: requests to routes, or executions of named operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Route,
    Operation,
}

impl Subject {
    /// The JSON key and argument name of the measured thing.
    pub fn name_key(self) -> &'static str {
        match self {
            Subject::Route => "route",
            Subject::Operation => "operation",
        }
    }
}

/// The bucket an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The route or the operation.
    pub name: String,
    /// The HTTP method (routes only).
    pub method: Option<String>,
    /// Start of the UTC hour, microseconds since the Unix epoch.
    pub hour: i64,
}

/// One checked event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub method: Option<String>,
    pub success: bool,
    pub duration_ms: f64,
    /// When it happened, microseconds since the Unix epoch.
    pub at: i64,
}

impl Event {
    pub fn key(&self) -> Key {
        Key {
            name: self.name.clone(),
            method: self.method.clone(),
            hour: hour_of(self.at),
        }
    }
}

/// How far from now an event's time may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub now: i64,
    /// Largest age, in microseconds.
    pub max_age: i64,
    /// Largest lead into the future (clock skew), in microseconds.
    pub max_ahead: i64,
}

/// Start of the UTC hour of a time.
pub fn hour_of(at: i64) -> i64 {
    at.div_euclid(MICROS_PER_HOUR) * MICROS_PER_HOUR
}

/// Checks a route or operation name.
pub fn check_name(subject: Subject, name: &str) -> Outcome<()> {
    let what = subject.name_key();
    if name.trim().is_empty() {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("{what} must not be empty"),
        )
        .hint(match subject {
            Subject::Route => "pass the route pattern, e.g. /api/posts/:id",
            Subject::Operation => "pass the operation's name, e.g. send_welcome_email",
        }));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Problem::new(
            SqlState::StringDataRightTruncation,
            format!(
                "{what} is {} bytes long; at most {MAX_NAME_BYTES} are accepted",
                name.len()
            ),
        )
        .hint(match subject {
            Subject::Route => {
                "record the route pattern (/api/posts/:id), not the full URL with its query string"
            }
            Subject::Operation => "use a short, stable name for the operation",
        }));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("{what} contains a control character"),
        )
        .hint("names are printable text; strip line breaks and other control characters"));
    }
    Ok(())
}

/// Checks an HTTP method and returns it upper-case.
pub fn check_method(method: &str) -> Outcome<String> {
    let upper = method.trim().to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        return Ok(upper);
    }
    let shown: String = method.chars().take(40).collect();
    Err(Problem::new(
        SqlState::InvalidParameterValue,
        format!("unknown HTTP method \"{shown}\""),
    )
    .hint(format!("use one of {}", METHODS.join(", "))))
}

/// Checks a duration in milliseconds.
pub fn check_duration(duration_ms: f64) -> Outcome<()> {
    if duration_ms.is_nan() || duration_ms < 0.0 || duration_ms.is_infinite() {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("duration_ms must be a number of milliseconds >= 0, not {duration_ms}"),
        )
        .hint("measure the duration with a monotonic clock and pass it in milliseconds"));
    }
    if duration_ms > MAX_DURATION_MS {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!(
                "duration_ms {duration_ms} is more than a day ({MAX_DURATION_MS} ms)"
            ),
        )
        .hint("durations are milliseconds; a value this large is usually seconds * 1000 twice, or microseconds"));
    }
    Ok(())
}

/// Checks that an event's time lies in the window.
pub fn check_at(at: i64, window: Window) -> Outcome<()> {
    if at < window.now.saturating_sub(window.max_age) {
        return Err(Problem::new(
            SqlState::DatetimeFieldOverflow,
            format!(
                "the event is {} older than metrics.max_event_age allows",
                describe_micros(window.now.saturating_sub(at))
            ),
        )
        .hint("record events as they happen or flush buffered events sooner; to import older history, raise metrics.max_event_age for that session"));
    }
    if at > window.now.saturating_add(window.max_ahead) {
        return Err(Problem::new(
            SqlState::DatetimeFieldOverflow,
            format!(
                "the event is {} in the future",
                describe_micros(at.saturating_sub(window.now))
            ),
        )
        .hint(
            "check the client's clock; metrics.max_event_lead sets how far ahead an event may be",
        ));
    }
    Ok(())
}

fn describe_micros(us: i64) -> String {
    let s = us / 1_000_000;
    if s >= 86_400 {
        format!("{:.1} days", s as f64 / 86_400.0)
    } else if s >= 3_600 {
        format!("{:.1} hours", s as f64 / 3_600.0)
    } else if s >= 60 {
        format!("{:.1} minutes", s as f64 / 60.0)
    } else {
        format!("{s} seconds")
    }
}

/// Checks one event given as arguments.
pub fn check_event(
    subject: Subject,
    name: &str,
    method: Option<&str>,
    success: bool,
    duration_ms: f64,
    at: i64,
    window: Window,
) -> Outcome<Event> {
    check_name(subject, name)?;
    let method = match (subject, method) {
        (Subject::Route, Some(m)) => Some(check_method(m)?),
        (Subject::Route, None) => {
            return Err(Problem::null_argument("method"));
        }
        (Subject::Operation, _) => None,
    };
    check_duration(duration_ms)?;
    check_at(at, window)?;
    Ok(Event {
        name: name.to_string(),
        method,
        success,
        duration_ms,
        at,
    })
}

/// Parses a timestamp with a UTC offset: RFC 3339 (`2025-06-01T12:00:00Z`,
/// `...+02:00`, fractions allowed) or PostgreSQL's output (`2025-06-01 12:00:00+00`).
pub fn parse_at(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_micros());
    }
    let t = t.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&t) {
        return Some(dt.timestamp_micros());
    }
    // PostgreSQL prints offsets as +HH or +HH:MM.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(&t, fmt) {
            return Some(dt.timestamp_micros());
        }
    }
    None
}

fn event_problem(index: usize, problem: Problem) -> Problem {
    Problem {
        message: format!("events[{index}]: {}", problem.message),
        detail: Some(format!(
            "The batch was refused as a whole at the event with index {index} (counting from 0); nothing was recorded."
        )),
        ..problem
    }
}

/// Reads and checks a whole batch: a JSON array of objects with the subject's name key
/// (`route` or `operation`), `method` (routes), `success`, `duration_ms` and optionally
/// `at`. The first bad event refuses the batch, naming its index and what is wrong.
pub fn parse_batch(subject: Subject, events: &Value, window: Window) -> Outcome<Vec<Event>> {
    let Some(items) = events.as_array() else {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("events must be a JSON array, not {}", json_kind(events)),
        )
        .hint(batch_hint(subject)));
    };
    if items.len() > MAX_BATCH_EVENTS {
        return Err(Problem::new(
            SqlState::ProgramLimitExceeded,
            format!(
                "a batch holds at most {MAX_BATCH_EVENTS} events, not {}",
                items.len()
            ),
        )
        .hint("split the batch into smaller calls"));
    }
    let allowed: &[&str] = match subject {
        Subject::Route => &["route", "method", "success", "duration_ms", "at"],
        Subject::Operation => &["operation", "success", "duration_ms", "at"],
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let event = parse_one(subject, item, allowed, window).map_err(|p| event_problem(i, p))?;
        out.push(event);
    }
    Ok(out)
}

fn parse_one(subject: Subject, item: &Value, allowed: &[&str], window: Window) -> Outcome<Event> {
    let Some(obj) = item.as_object() else {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("an event must be a JSON object, not {}", json_kind(item)),
        )
        .hint(batch_hint(subject)));
    };
    if let Some(unknown) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        let shown: String = unknown.chars().take(40).collect();
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("unknown key \"{shown}\""),
        )
        .hint(format!("an event has the keys {}", allowed.join(", "))));
    }
    let key = subject.name_key();
    let name = match obj.get(key) {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(wrong_type(key, "a string", other, subject)),
        None => return Err(missing(key, subject)),
    };
    let method = match subject {
        Subject::Route => match obj.get("method") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => return Err(wrong_type("method", "a string", other, subject)),
            None => return Err(missing("method", subject)),
        },
        Subject::Operation => None,
    };
    let success = match obj.get("success") {
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(wrong_type("success", "true or false", other, subject)),
        None => return Err(missing("success", subject)),
    };
    let duration_ms = match obj.get("duration_ms") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(other) => return Err(wrong_type("duration_ms", "a number", other, subject)),
        None => return Err(missing("duration_ms", subject)),
    };
    let at = match obj.get("at") {
        None | Some(Value::Null) => window.now,
        Some(Value::String(s)) => parse_at(s).ok_or_else(|| {
            let shown: String = s.chars().take(40).collect();
            Problem::new(
                SqlState::InvalidDatetimeFormat,
                format!("\"at\" is not a timestamp with a UTC offset: \"{shown}\""),
            )
            .hint("use ISO 8601 with an offset, e.g. 2025-06-01T12:00:00Z or 2025-06-01T14:00:00+02:00, or leave \"at\" out for now")
        })?,
        Some(other) => return Err(wrong_type("at", "a timestamp string", other, subject)),
    };
    check_event(subject, name, method, success, duration_ms, at, window)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn batch_hint(subject: Subject) -> String {
    match subject {
        Subject::Route => "pass [{\"route\": \"/api/posts\", \"method\": \"GET\", \"success\": true, \"duration_ms\": 12.5, \"at\": \"2025-06-01T12:00:00Z\"}, ...]; \"at\" is optional".to_string(),
        Subject::Operation => "pass [{\"operation\": \"send_email\", \"success\": true, \"duration_ms\": 80, \"at\": \"2025-06-01T12:00:00Z\"}, ...]; \"at\" is optional".to_string(),
    }
}

fn wrong_type(key: &str, expected: &str, got: &Value, subject: Subject) -> Problem {
    Problem::new(
        SqlState::InvalidParameterValue,
        format!("\"{key}\" must be {expected}, not {}", json_kind(got)),
    )
    .hint(batch_hint(subject))
}

fn missing(key: &str, subject: Subject) -> Problem {
    Problem::new(
        SqlState::NullValueNotAllowed,
        format!("\"{key}\" is missing"),
    )
    .hint(batch_hint(subject))
}

/// What one bucket adds up.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub total: u64,
    pub successful: u64,
    pub failed: u64,
    pub sum_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    /// Time of the latest event, microseconds since the Unix epoch.
    pub last_at: i64,
    pub sketch: LatencySketch,
}

impl Bucket {
    pub fn of(event: &Event) -> Bucket {
        let mut b = Bucket {
            total: 0,
            successful: 0,
            failed: 0,
            sum_ms: 0.0,
            min_ms: f64::INFINITY,
            max_ms: f64::NEG_INFINITY,
            last_at: i64::MIN,
            sketch: LatencySketch::new(),
        };
        b.add(event);
        b
    }

    /// Adds one event.
    pub fn add(&mut self, e: &Event) {
        self.total += 1;
        if e.success {
            self.successful += 1;
        } else {
            self.failed += 1;
        }
        self.sum_ms += e.duration_ms;
        self.min_ms = self.min_ms.min(e.duration_ms);
        self.max_ms = self.max_ms.max(e.duration_ms);
        self.last_at = self.last_at.max(e.at);
        self.sketch.add(e.duration_ms);
    }

    /// Adds another bucket of the same key (or of keys being rolled up).
    pub fn merge(&mut self, other: &Bucket) {
        self.total += other.total;
        self.successful += other.successful;
        self.failed += other.failed;
        self.sum_ms += other.sum_ms;
        self.min_ms = self.min_ms.min(other.min_ms);
        self.max_ms = self.max_ms.max(other.max_ms);
        self.last_at = self.last_at.max(other.last_at);
        self.sketch.merge(&other.sketch);
    }
}

/// Adds events up per bucket (one upsert per bucket instead of one per event).
pub fn aggregate(events: &[Event]) -> BTreeMap<Key, Bucket> {
    let mut out: BTreeMap<Key, Bucket> = BTreeMap::new();
    for e in events {
        let key = e.key();
        match out.get_mut(&key) {
            Some(b) => b.add(e),
            None => {
                out.insert(key, Bucket::of(e));
            }
        }
    }
    out
}

/// Parses a naive `YYYY-MM-DD HH:MM:SS` as UTC (for tests).
#[cfg(test)]
pub fn utc(text: &str) -> i64 {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .expect("a valid timestamp")
        .and_utc()
        .timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn window() -> Window {
        Window {
            now: utc("2025-06-01 12:30:00"),
            max_age: 7 * 24 * MICROS_PER_HOUR,
            max_ahead: 5 * 60 * 1_000_000,
        }
    }

    #[test]
    fn hours_are_utc_hours() {
        assert_eq!(
            hour_of(utc("2025-06-01 12:59:59")),
            utc("2025-06-01 12:00:00")
        );
        assert_eq!(
            hour_of(utc("2025-06-01 13:00:00")),
            utc("2025-06-01 13:00:00")
        );
        assert_eq!(
            hour_of(utc("1969-12-31 23:30:00")),
            utc("1969-12-31 23:00:00")
        );
    }

    #[test]
    fn names_methods_and_durations_are_checked() {
        assert_eq!(
            check_name(Subject::Route, " ").unwrap_err().state,
            SqlState::InvalidParameterValue
        );
        assert_eq!(
            check_name(Subject::Route, &"x".repeat(MAX_NAME_BYTES + 1))
                .unwrap_err()
                .state,
            SqlState::StringDataRightTruncation
        );
        assert!(check_name(Subject::Route, "/api/posts/:id").is_ok());
        assert!(check_name(Subject::Operation, "a\nb").is_err());
        assert_eq!(check_method("get").unwrap(), "GET");
        assert_eq!(check_method(" Patch ").unwrap(), "PATCH");
        let p = check_method("BREW").unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert!(p.hint.unwrap().contains("GET"));
        for bad in [f64::NAN, -1.0, f64::INFINITY, MAX_DURATION_MS * 2.0] {
            assert!(check_duration(bad).is_err(), "{bad}");
        }
        assert!(check_duration(0.0).is_ok());
        assert!(check_duration(MAX_DURATION_MS).is_ok());
    }

    #[test]
    fn times_outside_the_window_are_refused() {
        let w = window();
        assert!(check_at(w.now, w).is_ok());
        assert!(check_at(w.now - w.max_age, w).is_ok());
        assert_eq!(
            check_at(w.now - w.max_age - 1, w).unwrap_err().state,
            SqlState::DatetimeFieldOverflow
        );
        assert!(check_at(w.now + w.max_ahead, w).is_ok());
        assert_eq!(
            check_at(w.now + w.max_ahead + 1, w).unwrap_err().state,
            SqlState::DatetimeFieldOverflow
        );
    }

    #[test]
    fn timestamps_need_an_offset() {
        let expected = utc("2025-06-01 12:00:00");
        assert_eq!(parse_at("2025-06-01T12:00:00Z"), Some(expected));
        assert_eq!(parse_at("2025-06-01T14:00:00+02:00"), Some(expected));
        assert_eq!(parse_at("2025-06-01 12:00:00+00"), Some(expected));
        assert_eq!(
            parse_at("2025-06-01 12:00:00.250+00:00"),
            Some(expected + 250_000)
        );
        assert_eq!(parse_at("2025-06-01 12:00:00"), None);
        assert_eq!(parse_at("yesterday"), None);
    }

    #[test]
    fn a_batch_is_checked_whole_and_names_the_first_bad_event() {
        let w = window();
        let ok = json!([
            {"route": "/a", "method": "get", "success": true, "duration_ms": 5},
            {"route": "/a", "method": "GET", "success": false, "duration_ms": 7.5, "at": "2025-06-01T11:10:00Z"},
        ]);
        let events = parse_batch(Subject::Route, &ok, w).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].at, w.now);
        assert_eq!(events[1].method.as_deref(), Some("GET"));

        let cases = [
            (
                json!({"route": "/a"}),
                SqlState::InvalidParameterValue,
                "must be a JSON array",
            ),
            (
                json!([{"route": "/a", "method": "GET", "success": true, "duration_ms": 1}, 3]),
                SqlState::InvalidParameterValue,
                "events[1]: an event must be a JSON object",
            ),
            (
                json!([{"route": "/a", "method": "GET", "success": true}]),
                SqlState::NullValueNotAllowed,
                "events[0]: \"duration_ms\" is missing",
            ),
            (
                json!([{"route": "/a", "method": "GET", "success": "yes", "duration_ms": 1}]),
                SqlState::InvalidParameterValue,
                "\"success\" must be true or false",
            ),
            (
                json!([{"route": "/a", "method": "GET", "success": true, "duration_ms": -1}]),
                SqlState::InvalidParameterValue,
                "duration_ms must be",
            ),
            (
                json!([{"route": "/a", "method": "BREW", "success": true, "duration_ms": 1}]),
                SqlState::InvalidParameterValue,
                "unknown HTTP method",
            ),
            (
                json!([{"route": "", "method": "GET", "success": true, "duration_ms": 1}]),
                SqlState::InvalidParameterValue,
                "route must not be empty",
            ),
            (
                json!([{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "durationMs": 1}]),
                SqlState::InvalidParameterValue,
                "unknown key \"durationMs\"",
            ),
            (
                json!([{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "at": "2025-06-01"}]),
                SqlState::InvalidDatetimeFormat,
                "not a timestamp",
            ),
            (
                json!([{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "at": "2025-05-01T00:00:00Z"}]),
                SqlState::DatetimeFieldOverflow,
                "older than",
            ),
            (
                json!([{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "at": "2025-06-02T00:00:00Z"}]),
                SqlState::DatetimeFieldOverflow,
                "in the future",
            ),
        ];
        for (input, state, text) in cases {
            let p = parse_batch(Subject::Route, &input, w).unwrap_err();
            assert_eq!(p.state, state, "{input}");
            assert!(
                p.message.contains(text),
                "{} does not contain {text}",
                p.message
            );
            assert!(p.hint.is_some(), "{input}");
        }
        let op =
            json!([{"operation": "email", "success": true, "duration_ms": 3, "method": "GET"}]);
        assert!(parse_batch(Subject::Operation, &op, w)
            .unwrap_err()
            .message
            .contains("unknown key \"method\""));
        let too_many = Value::Array(vec![json!({}); MAX_BATCH_EVENTS + 1]);
        assert_eq!(
            parse_batch(Subject::Route, &too_many, w).unwrap_err().state,
            SqlState::ProgramLimitExceeded
        );
    }

    #[test]
    fn events_add_up_per_bucket() {
        let w = window();
        let batch = json!([
            {"route": "/a", "method": "GET", "success": true, "duration_ms": 10, "at": "2025-06-01T11:00:00Z"},
            {"route": "/a", "method": "GET", "success": false, "duration_ms": 30, "at": "2025-06-01T11:59:59Z"},
            {"route": "/a", "method": "POST", "success": true, "duration_ms": 5, "at": "2025-06-01T11:30:00Z"},
            {"route": "/a", "method": "GET", "success": true, "duration_ms": 20, "at": "2025-06-01T12:00:00Z"},
        ]);
        let buckets = aggregate(&parse_batch(Subject::Route, &batch, w).unwrap());
        assert_eq!(buckets.len(), 3);
        let get11 = &buckets[&Key {
            name: "/a".into(),
            method: Some("GET".into()),
            hour: utc("2025-06-01 11:00:00"),
        }];
        assert_eq!((get11.total, get11.successful, get11.failed), (2, 1, 1));
        assert_eq!(
            (get11.sum_ms, get11.min_ms, get11.max_ms),
            (40.0, 10.0, 30.0)
        );
        assert_eq!(get11.last_at, utc("2025-06-01 11:59:59"));
        assert_eq!(get11.sketch.count(), 2);
        let mut all = buckets.values().next().unwrap().clone();
        for b in buckets.values().skip(1) {
            all.merge(b);
        }
        assert_eq!((all.total, all.successful, all.failed), (4, 3, 1));
        assert_eq!(all.sketch.count(), 4);
        assert_eq!((all.min_ms, all.max_ms), (5.0, 30.0));
    }
}
