//! Request and operation events: what a valid event is, and which hourly bucket it belongs
//! to. Times are microseconds since the Unix epoch, UTC; hours are UTC hours.
//!
//! A bucket is one (route, method, hour) or (operation, hour); `bucket` adds events up into
//! them, `batch` reads a JSON array of events.

use chrono::DateTime;
#[cfg(test)]
use chrono::NaiveDateTime;

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::requests::sketch::MAX_TRACKED_MS;

/// The HTTP methods a route event may carry (RFC 9110 and PATCH), stored upper-case.
pub const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];
/// Longest route or operation name, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest duration accepted, in milliseconds (a day): the sketch's tracked range.
pub const MAX_DURATION_MS: f64 = MAX_TRACKED_MS;
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

/// A project's id (a uuid's 16 bytes, as PostgreSQL stores them).
pub type ProjectId = [u8; 16];

/// The bucket an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The route or the operation.
    pub name: String,
    /// The HTTP method (routes only).
    pub method: Option<String>,
    /// Start of the UTC hour, microseconds since the Unix epoch.
    pub hour: i64,
    /// The project the events belong to (`None`: no project).
    pub project: Option<ProjectId>,
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
    /// Its project, once the name the event gave is resolved (`None`: no project).
    pub project: Option<ProjectId>,
}

impl Event {
    pub fn key(&self) -> Key {
        Key {
            name: self.name.clone(),
            method: self.method.clone(),
            hour: hour_of(self.at),
            project: self.project,
        }
    }
}

/// A uuid in PostgreSQL's text form (`0e5c...-....-....-....-............`, either case), as
/// `metrics.project_id` compares a project's id with `lower(project)`; `None` for any other
/// text (a slug).
pub fn parse_uuid(text: &str) -> Option<ProjectId> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 || [8, 13, 18, 23].iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let mut digits = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| ![8, 13, 18, 23].contains(i))
        .map(|(_, b)| (*b as char).to_digit(16));
    let mut out = [0u8; 16];
    for byte in out.iter_mut() {
        let (hi, lo) = (digits.next()??, digits.next()??);
        *byte = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// A project id in PostgreSQL's text form, lower case.
pub fn uuid_text(id: &ProjectId) -> String {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
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
    if let Some(c) = name.chars().find(|&c| c.is_control() || is_invisible(c)) {
        let kind = if c.is_control() {
            "a control character"
        } else {
            "an invisible formatting character"
        };
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("{what} contains {kind}, U+{:04X}", c as u32),
        )
        .detail("Control and invisible formatting characters (zero-width spaces, direction overrides, line separators) would forge lines or make different names look alike on a dashboard.")
        .hint("names are printable text; strip line breaks, control characters and invisible formatting characters"));
    }
    Ok(())
}

/// The invisible formatting characters: Unicode's general category Cf (format, as of Unicode
/// 15.1: soft hyphen, zero-width spaces and joiners, direction marks, embeddings, overrides
/// and isolates, the byte order mark, interlinear annotation, tags, ...) and the line and
/// paragraph separators (Zl, Zp), sorted inclusive ranges.
const INVISIBLE: [(u32, u32); 21] = [
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `c` is an invisible formatting character (see [`INVISIBLE`]).
pub fn is_invisible(c: char) -> bool {
    let c = c as u32;
    let i = INVISIBLE.partition_point(|&(_, last)| last < c);
    INVISIBLE.get(i).is_some_and(|&(first, _)| first <= c)
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

/// Checks a duration in milliseconds: a number from 0 to a day ([`MAX_DURATION_MS`]), the
/// range the latency sketch tracks. Each refusal says which limit the value is beyond, and
/// never prints `inf` or `NaN` as if they were numbers.
pub fn check_duration(duration_ms: f64) -> Outcome<()> {
    let problem = |message: String| {
        Problem::new(SqlState::InvalidParameterValue, message).hint(
            "measure the duration with a monotonic clock and pass it in milliseconds, from 0 to 86400000 (a day)",
        )
    };
    if duration_ms.is_nan() {
        return Err(problem(
            "duration_ms is NaN, not a number of milliseconds".to_string(),
        ));
    }
    if duration_ms < 0.0 {
        let shown = if duration_ms.is_infinite() {
            "-infinity".to_string()
        } else {
            shown_ms(duration_ms)
        };
        return Err(problem(format!(
            "duration_ms is negative ({shown}); a duration is 0 ms or more"
        )));
    }
    if duration_ms > MAX_DURATION_MS {
        let shown = if duration_ms.is_infinite() {
            "infinite".to_string()
        } else {
            shown_ms(duration_ms)
        };
        return Err(problem(format!(
            "duration_ms is more than a day ({shown}); at most {MAX_DURATION_MS} ms are accepted"
        ))
        .hint("durations are milliseconds, at most 86400000 (a day); a value this large is usually seconds * 1000 twice, or microseconds"));
    }
    Ok(())
}

/// A finite number of milliseconds, in scientific notation when it is too long to read.
fn shown_ms(ms: f64) -> String {
    if ms.abs() >= 1e15 {
        format!("{ms:e} ms")
    } else {
        format!("{ms} ms")
    }
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
        duration_ms: crate::requests::bucket::whole_micros(duration_ms),
        at,
        project: None,
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

/// The window of the tests: now is 2025-06-01 12:30 UTC, a week back, five minutes ahead.
#[cfg(test)]
pub fn test_window() -> Window {
    Window {
        now: utc("2025-06-01 12:30:00"),
        max_age: 7 * 24 * MICROS_PER_HOUR,
        max_ahead: 5 * 60 * 1_000_000,
    }
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
    fn durations_say_which_limit_they_are_beyond() {
        let message = |d: f64| check_duration(d).unwrap_err().message;
        assert_eq!(
            message(f64::INFINITY),
            "duration_ms is more than a day (infinite); at most 86400000 ms are accepted"
        );
        assert_eq!(
            message(1e300),
            "duration_ms is more than a day (1e300 ms); at most 86400000 ms are accepted"
        );
        assert_eq!(
            message(86_400_000.5),
            "duration_ms is more than a day (86400000.5 ms); at most 86400000 ms are accepted"
        );
        assert_eq!(
            message(f64::NEG_INFINITY),
            "duration_ms is negative (-infinity); a duration is 0 ms or more"
        );
        assert_eq!(
            message(-2.5),
            "duration_ms is negative (-2.5 ms); a duration is 0 ms or more"
        );
        assert_eq!(
            message(f64::NAN),
            "duration_ms is NaN, not a number of milliseconds"
        );
        for d in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e300, -1.0] {
            let p = check_duration(d).unwrap_err();
            assert_eq!(p.state, SqlState::InvalidParameterValue);
            assert!(!p.message.contains("inf,") && !p.message.ends_with("inf"));
            assert!(p.hint.is_some());
        }
    }

    #[test]
    fn invisible_formatting_characters_are_refused_by_code_point() {
        for c in [
            '\u{00AD}',
            '\u{061C}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{2028}',
            '\u{2029}',
            '\u{202A}',
            '\u{202E}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{FFF9}',
            '\u{FFFB}',
            '\u{E0001}',
            '\u{E0020}',
            '\u{E007F}',
            '\u{0600}',
            '\u{110BD}',
            '\u{1343F}',
            '\u{1D173}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", c as u32);
            for subject in [Subject::Route, Subject::Operation] {
                let p = check_name(subject, &format!("/api/{c}admin")).unwrap_err();
                assert_eq!(p.state, SqlState::InvalidParameterValue);
                let code = format!("U+{:04X}", c as u32);
                assert!(p.message.contains(&code), "{}", p.message);
                assert!(p.hint.is_some());
            }
        }
        for c in [
            'a',
            ' ',
            '/',
            'é',
            '\u{00AC}',
            '\u{00AE}',
            '\u{200A}',
            '\u{2010}',
            '\u{2027}',
            '\u{202F}',
            '\u{2065}',
            '\u{2070}',
            '\u{FEFE}',
            '\u{FFFC}',
            '\u{E0000}',
            '\u{E0002}',
            '\u{E0080}',
            '🎉',
            '日',
        ] {
            assert!(!is_invisible(c), "U+{:04X}", c as u32);
        }
        assert!(check_name(Subject::Route, "/api/café/🎉").is_ok());
        assert_eq!(
            check_name(Subject::Route, "/a\u{202E}b")
                .unwrap_err()
                .message,
            "route contains an invisible formatting character, U+202E"
        );
        assert_eq!(
            check_name(Subject::Operation, "a\nb").unwrap_err().message,
            "operation contains a control character, U+000A"
        );
    }

    #[test]
    fn times_outside_the_window_are_refused() {
        let w = test_window();
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
    fn uuids_are_read_in_postgresqls_text_form() {
        let text = "0E5C2a4b-1f00-4c3d-8e9f-00112233aaff";
        let id = parse_uuid(text).unwrap();
        assert_eq!((id[0], id[1], id[15]), (0x0e, 0x5c, 0xff));
        assert_eq!(uuid_text(&id), text.to_lowercase());
        for bad in [
            "acme-corp",
            "",
            "0e5c2a4b1f004c3d8e9f00112233aaff",
            "{0e5c2a4b-1f00-4c3d-8e9f-00112233aaff}",
            "0e5c2a4b-1f00-4c3d-8e9f-00112233aafg",
            "0e5c2a4b-1f00-4c3d-8e9f_00112233aaff",
            "0e5c2a4b-1f00-4c3d-8e9f-00112233aa\u{e9}",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
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
}
