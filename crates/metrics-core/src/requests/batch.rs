//! Batches of events as JSON: `record_route_metrics` and `record_operation_metrics` take an
//! array of objects, checked as a whole: the first bad event refuses the batch, naming its
//! index and what is wrong. An event may name its project (`"project"`: a slug or an id);
//! the batch lists each project it names once, for one lookup each (`Batch`).

use serde_json::{Map, Value};

use crate::common::problem::{json_kind, Outcome, Problem, SqlState};
use std::collections::HashMap;

use crate::requests::event::{check_event, parse_at, Event, ProjectId, Subject, Window};
use crate::requests::summary::{is_summary, parse_summary, Summary};

/// The digest a batch id is remembered with: SHA-256 of the batch's JSON as PostgreSQL's
/// `jsonb` gives it (keys sorted, numbers as written), so the same batch sent again has the
/// same digest and any other batch, even of as many events, another.
pub fn digest(events: &Value) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(events.to_string().as_bytes()).into()
}

/// Most events in one batch call.
pub const MAX_BATCH_EVENTS: usize = 100_000;

fn event_problem(index: usize, problem: Problem) -> Problem {
    Problem {
        message: format!("events[{index}]: {}", problem.message),
        detail: Some(format!(
            "The batch was refused as a whole at the event with index {index} (counting from 0); nothing was recorded."
        )),
        ..problem
    }
}

/// The refusal of a project that does not exist (or that the caller may not read: the
/// same answer), as `metrics.project_id` words it.
pub fn unknown_project(name: &str) -> Problem {
    let shown: String = name.chars().take(100).collect();
    Problem::new(
        SqlState::UndefinedObject,
        format!("project \"{shown}\" does not exist"),
    )
    .hint("name a project by its slug or id; metrics.projects lists the projects (metrics.create_project makes one)")
}

/// The refusal of a batch whose event `index` names a project that does not exist.
pub fn unknown_project_at(index: usize, name: &str) -> Problem {
    event_problem(index, unknown_project(name))
}

/// A checked batch: its events, its summaries (events an app already added up per hour:
/// `summary`), and the projects they name, each once.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub events: Vec<Event>,
    pub summaries: Vec<Summary>,
    /// The distinct project names (slugs or ids, as given), in order of first mention, each
    /// with the index of the first element that names it.
    pub projects: Vec<(String, usize)>,
    /// `(element, project)`: the index of each element that names a project, and of its name
    /// in `projects`. Empty for a batch without projects.
    pub named: Vec<(usize, usize)>,
    /// Where each element went: `Ok(i)` is `events[i]`, `Err(i)` is `summaries[i]`.
    slots: Vec<Result<usize, usize>>,
}

impl Batch {
    /// Gives each element that named a project its id: `ids[i]` is the id of `projects[i]`.
    pub fn assign(&mut self, ids: &[ProjectId]) {
        for &(element, project) in &self.named {
            match self.slots[element] {
                Ok(i) => self.events[i].project = Some(ids[project]),
                Err(i) => self.summaries[i].key.project = Some(ids[project]),
            }
        }
    }

    /// How many events the batch records: its events and those its summaries add up.
    pub fn count(&self) -> u64 {
        let summed: u64 = self.summaries.iter().map(|s| s.bucket.totals.total).sum();
        self.events.len() as u64 + summed
    }

    /// Whether it records nothing.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.summaries.is_empty()
    }
}

/// Reads and checks a whole batch: a JSON array of objects with the subject's name key
/// (`route` or `operation`), `method` (routes), `success`, `duration_ms` and optionally
/// `at` and `project`, or summaries of several events (`summary`). The first bad element
/// refuses the batch, naming its index and what is wrong.
pub fn parse_batch(subject: Subject, events: &Value, window: Window) -> Outcome<Batch> {
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
        Subject::Route => &["route", "method", "success", "duration_ms", "at", "project"],
        Subject::Operation => &["operation", "success", "duration_ms", "at", "project"],
    };
    let mut batch = Batch {
        events: Vec::with_capacity(items.len()),
        summaries: Vec::new(),
        projects: Vec::new(),
        named: Vec::new(),
        slots: Vec::with_capacity(items.len()),
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let at_index = |p| event_problem(i, p);
        if is_summary(item) {
            let summary = parse_summary(subject, item, window).map_err(at_index)?;
            batch.slots.push(Err(batch.summaries.len()));
            batch.summaries.push(summary);
        } else {
            let event = parse_one(subject, item, allowed, window).map_err(at_index)?;
            batch.slots.push(Ok(batch.events.len()));
            batch.events.push(event);
        }
        if let Some(name) = project_of(item, subject).map_err(at_index)? {
            let next = seen.len();
            let at = *seen.entry(name).or_insert(next);
            if at == next {
                batch.projects.push((name.to_string(), i));
            }
            batch.named.push((i, at));
        }
    }
    Ok(batch)
}

/// The project an event names: a string, or none (the key left out, or null).
fn project_of(item: &Value, subject: Subject) -> Outcome<Option<&str>> {
    match item.get("project") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(wrong_type(
            "project",
            "a project's slug or id (a string)",
            other,
            subject,
        )),
    }
}

fn parse_one(subject: Subject, item: &Value, allowed: &[&str], window: Window) -> Outcome<Event> {
    let obj = object_of(item, subject)?;
    check_keys(obj, allowed, "an event")?;
    let (name, method) = name_and_method(obj, subject)?;
    let success = match obj.get("success") {
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(wrong_type("success", "true or false", other, subject)),
        None => return Err(missing("success", subject)),
    };
    let duration_ms = number(obj, "duration_ms", subject)?;
    let at = at_of(obj, subject)?.unwrap_or(window.now);
    check_event(subject, name, method, success, duration_ms, at, window)
}

/// An element of a batch as a JSON object.
pub(crate) fn object_of(item: &Value, subject: Subject) -> Outcome<&Map<String, Value>> {
    item.as_object().ok_or_else(|| {
        Problem::new(
            SqlState::InvalidParameterValue,
            format!("an event must be a JSON object, not {}", json_kind(item)),
        )
        .hint(batch_hint(subject))
    })
}

/// Refuses a key an element of this kind does not have.
pub(crate) fn check_keys(obj: &Map<String, Value>, allowed: &[&str], kind: &str) -> Outcome<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => {
            let shown: String = unknown.chars().take(40).collect();
            Err(Problem::new(
                SqlState::InvalidParameterValue,
                format!("unknown key \"{shown}\""),
            )
            .hint(format!("{kind} has the keys {}", allowed.join(", "))))
        }
        None => Ok(()),
    }
}

/// The element's route and method, or its operation (not yet checked).
pub(crate) fn name_and_method(
    obj: &Map<String, Value>,
    subject: Subject,
) -> Outcome<(&str, Option<&str>)> {
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
    Ok((name, method))
}

/// A number of milliseconds the element must have.
pub(crate) fn number(obj: &Map<String, Value>, key: &str, subject: Subject) -> Outcome<f64> {
    match obj.get(key) {
        Some(Value::Number(n)) => Ok(json_ms(n)),
        Some(other) => Err(wrong_type(key, "a number", other, subject)),
        None => Err(missing(key, subject)),
    }
}

/// The element's `"at"`, if it has one (not yet checked against the window).
pub(crate) fn at_of(obj: &Map<String, Value>, subject: Subject) -> Outcome<Option<i64>> {
    match obj.get("at") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_at(s).map(Some).ok_or_else(|| {
            let shown: String = s.chars().take(40).collect();
            Problem::new(
                SqlState::InvalidDatetimeFormat,
                format!("\"at\" is not a timestamp with a UTC offset: \"{shown}\""),
            )
            .hint("use ISO 8601 with an offset, e.g. 2025-06-01T12:00:00Z or 2025-06-01T14:00:00+02:00, or leave \"at\" out for now")
        }),
        Some(other) => Err(wrong_type("at", "a timestamp string", other, subject)),
    }
}

/// A JSON number as milliseconds. JSON has no infinity or NaN, but a number can be beyond
/// what an f64 holds (1e400): it is then too large in its direction, and `check_duration` says
/// so, instead of calling it NaN.
fn json_ms(n: &serde_json::Number) -> f64 {
    n.as_f64().unwrap_or_else(|| {
        if n.to_string().starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    })
}

pub(crate) fn batch_hint(subject: Subject) -> String {
    match subject {
        Subject::Route => "pass [{\"route\": \"/api/posts\", \"method\": \"GET\", \"success\": true, \"duration_ms\": 12.5, \"at\": \"2025-06-01T12:00:00Z\", \"project\": \"acme\"}, ...]; \"at\" and \"project\" are optional".to_string(),
        Subject::Operation => "pass [{\"operation\": \"send_email\", \"success\": true, \"duration_ms\": 80, \"at\": \"2025-06-01T12:00:00Z\", \"project\": \"acme\"}, ...]; \"at\" and \"project\" are optional".to_string(),
    }
}

pub(crate) fn wrong_type(key: &str, expected: &str, got: &Value, subject: Subject) -> Problem {
    Problem::new(
        SqlState::InvalidParameterValue,
        format!("\"{key}\" must be {expected}, not {}", json_kind(got)),
    )
    .hint(batch_hint(subject))
}

pub(crate) fn missing(key: &str, subject: Subject) -> Problem {
    Problem::new(
        SqlState::NullValueNotAllowed,
        format!("\"{key}\" is missing"),
    )
    .hint(batch_hint(subject))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::event::test_window;
    use serde_json::json;

    #[test]
    fn a_batch_is_checked_whole_and_names_the_first_bad_event() {
        let w = test_window();
        let ok = json!([
            {"route": "/a", "method": "get", "success": true, "duration_ms": 5},
            {"route": "/a", "method": "GET", "success": false, "duration_ms": 7.5, "at": "2025-06-01T11:10:00Z"},
        ]);
        let batch = parse_batch(Subject::Route, &ok, w).unwrap();
        assert!(batch.projects.is_empty() && batch.named.is_empty());
        let events = batch.events;
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
                "duration_ms is negative (-1 ms)",
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
    fn a_batch_digest_tells_batches_apart() {
        let a = json!([{"route": "/a", "method": "GET", "success": true, "duration_ms": 700}]);
        let b = json!([{"route": "/b", "method": "GET", "success": true, "duration_ms": 700}]);
        let a_again: Value = serde_json::from_str(&a.to_string()).unwrap();
        assert_eq!(digest(&a), digest(&a_again));
        assert_ne!(digest(&a), digest(&b));
    }

    #[test]
    fn each_project_of_a_batch_is_listed_once() {
        let w = test_window();
        let events = json!([
            {"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "project": "acme"},
            {"route": "/a", "method": "GET", "success": true, "duration_ms": 2},
            {"route": "/a", "method": "GET", "success": true, "duration_ms": 3, "project": "beta"},
            {"route": "/a", "method": "GET", "success": true, "duration_ms": 4, "project": "acme"},
            {"route": "/a", "method": "GET", "success": true, "duration_ms": 5, "project": null},
        ]);
        let mut batch = parse_batch(Subject::Route, &events, w).unwrap();
        assert_eq!(
            batch.projects,
            vec![("acme".to_string(), 0), ("beta".to_string(), 2)]
        );
        assert_eq!(batch.named, vec![(0, 0), (2, 1), (3, 0)]);
        let (acme, beta) = ([1u8; 16], [2u8; 16]);
        batch.assign(&[acme, beta]);
        let projects: Vec<_> = batch.events.iter().map(|e| e.project).collect();
        assert_eq!(
            projects,
            vec![Some(acme), None, Some(beta), Some(acme), None]
        );
        assert_ne!(batch.events[0].key(), batch.events[1].key());

        let bad = json!([{"operation": "o", "success": true, "duration_ms": 1, "project": 7}]);
        let p = parse_batch(Subject::Operation, &bad, w).unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert!(
            p.message.starts_with("events[0]: \"project\" must be"),
            "{}",
            p.message
        );
        let p = unknown_project_at(3, &"x".repeat(300));
        assert_eq!(p.state, SqlState::UndefinedObject);
        assert_eq!(
            p.message,
            format!("events[3]: project \"{}\" does not exist", "x".repeat(100))
        );
        assert!(p.detail.unwrap().contains("nothing was recorded"));
        assert!(p.hint.is_some());
    }

    #[test]
    fn a_duration_beyond_f64_is_more_than_a_day_not_nan() {
        for (text, expected) in [
            ("1e400", "events[0]: duration_ms is more than a day (infinite); at most 86400000 ms are accepted"),
            ("-1e400", "events[0]: duration_ms is negative (-infinity); a duration is 0 ms or more"),
        ] {
            let events: Value = serde_json::from_str(&format!(
                r#"[{{"route": "/a", "method": "GET", "success": true, "duration_ms": {text}}}]"#
            ))
            .unwrap();
            let p = parse_batch(Subject::Route, &events, test_window()).unwrap_err();
            assert_eq!(p.state, SqlState::InvalidParameterValue);
            assert_eq!(p.message, expected);
            assert!(!p.message.contains("NaN"));
        }
    }
}
