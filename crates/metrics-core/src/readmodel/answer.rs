//! The answers of the read API (Metrics API contract v1.0, `docs/schema/metrics-api-1.0.json`)
//! assembled from the rows read: every answer says which project it is about and how fresh
//! it is (`as_of`: the end of the data included; `computed_at`: when the stored rows were
//! computed; `open`: whether its last bucket is still open; `resolution`: the grain actually
//! served, coarser than asked where retention compacted old points), and every point whether
//! it is `partial` (its bucket was not over when it was computed, or it is computed live).
//!
//! Answers are assembled as JSON text: the stored payloads (`value_json`, `payload`) go in as
//! the text PostgreSQL printed, never parsed and printed again, so a year of points costs one
//! `jsonb_in` of the answer rather than a parse and a print per point.

use chrono::{DateTime, SecondsFormat};
use serde_json::{json, Map, Value};

use crate::readmodel::query::{Range, TimeGrain};

/// The contract version in every answer and in the schema file.
pub const VERSION: &str = "1.0";

/// A time as RFC 3339 in UTC (`2025-06-01T00:00:00Z`, microseconds when there are some).
pub fn iso(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| panic!("metrics: {micros} µs is not a time"))
}

fn iso_or_null(micros: Option<i64>) -> Value {
    micros.map_or(Value::Null, |m| Value::String(iso(m)))
}

fn number(value: Option<f64>) -> Value {
    value.map_or(Value::Null, |v| json!(v))
}

/// The project an answer is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInfo {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// The effective zone (the project's, else `metrics.timezone`).
    pub time_zone: String,
}

impl ProjectInfo {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "slug": self.slug, "name": self.name, "time_zone": self.time_zone})
    }
}

/// One point of a series: a bucket `[start, end)`, its value and stored payload (JSON text);
/// stored points carry their `computed_at`, live points none.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub start: i64,
    pub end: i64,
    pub grain: TimeGrain,
    pub value: Option<f64>,
    /// The payload as JSON text (`value_json` as stored).
    pub data: String,
    /// Whether the payload says its bucket was over when it was computed (`complete`).
    pub complete: bool,
    pub computed_at: Option<i64>,
}

impl Point {
    pub fn is_live(&self) -> bool {
        self.computed_at.is_none()
    }

    /// Partial: live, or stored with `"complete": false` (its bucket ended after the cut).
    pub fn is_partial(&self) -> bool {
        self.is_live() || !self.complete
    }

    /// The end of the data this point holds: its bucket's end when complete, else when it
    /// was computed (live: now), never later than the bucket's end.
    fn data_end(&self, now: i64) -> i64 {
        match self.computed_at {
            None => now.min(self.end),
            Some(_) if !self.is_partial() => self.end,
            Some(at) => at.min(self.end),
        }
    }

    /// Appends the point's JSON object, without its closing brace (so callers may add fields).
    fn write_open(&self, out: &mut String) {
        out.push_str("{\"time_bucket\":\"");
        out.push_str(&iso(self.start));
        out.push_str("\",\"bucket_end\":\"");
        out.push_str(&iso(self.end));
        out.push_str("\",\"grain\":\"");
        out.push_str(self.grain.as_str());
        out.push_str("\",\"value\":");
        out.push_str(&number(self.value).to_string());
        out.push_str(",\"data\":");
        out.push_str(&self.data);
        out.push_str(",\"partial\":");
        out.push_str(if self.is_partial() { "true" } else { "false" });
        out.push_str(",\"live\":");
        out.push_str(if self.is_live() { "true" } else { "false" });
    }

    pub fn to_json_text(&self) -> String {
        let mut out = String::with_capacity(160 + self.data.len());
        self.write_open(&mut out);
        out.push('}');
        out
    }
}

/// An answer's fields as JSON text, then `extra` (name, JSON text) pairs appended verbatim.
fn object_text(fields: Map<String, Value>, extra: &[(&str, String)]) -> String {
    let mut out = Value::Object(fields).to_string();
    out.pop(); // the closing brace
    for (name, text) in extra {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&Value::String((*name).to_string()).to_string());
        out.push(':');
        out.push_str(text);
    }
    out.push('}');
    out
}

/// A JSON array of texts.
fn array_text<I: IntoIterator<Item = String>>(items: I) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&item);
    }
    out.push(']');
    out
}

/// How fresh an answer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freshness {
    pub as_of: Option<i64>,
    pub computed_at: Option<i64>,
    pub open: bool,
    pub resolution: TimeGrain,
}

impl Freshness {
    /// Of a series (points in time order): `as_of` the latest data end, `computed_at` the
    /// latest stored row's, `open` whether the last bucket ends after now, `resolution` the
    /// coarsest grain served (the requested one when there is no point).
    pub fn of(points: &[Point], requested: TimeGrain, now: i64) -> Freshness {
        Freshness {
            as_of: points.iter().map(|p| p.data_end(now)).max(),
            computed_at: points.iter().filter_map(|p| p.computed_at).max(),
            open: points.last().is_some_and(|p| p.end > now),
            resolution: points.iter().map(|p| p.grain).max().unwrap_or(requested),
        }
    }

    fn write(&self, out: &mut Map<String, Value>) {
        out.insert("as_of".into(), iso_or_null(self.as_of));
        out.insert("computed_at".into(), iso_or_null(self.computed_at));
        out.insert("open".into(), Value::Bool(self.open));
        out.insert("resolution".into(), json!(self.resolution.as_str()));
    }
}

/// The fields every answer starts with.
fn header(kind: &str, project: &ProjectInfo, fresh: &Freshness) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("version".into(), json!(VERSION));
    out.insert("kind".into(), json!(kind));
    out.insert("project".into(), project.to_json());
    fresh.write(&mut out);
    out
}

fn range_json(range: Range) -> Value {
    json!({"start": iso(range.start), "end": iso(range.end)})
}

/// What `get_trend` asked for.
pub struct TrendQuery<'a> {
    pub metric_key: &'a str,
    pub dimensions: &'a Map<String, Value>,
    pub grain: TimeGrain,
    pub range: Range,
}

/// The answer of `get_trend`, as JSON text.
pub fn trend(project: &ProjectInfo, q: &TrendQuery, points: &[Point], now: i64) -> String {
    let fresh = Freshness::of(points, q.grain, now);
    let mut out = header("trend", project, &fresh);
    out.insert("metric_key".into(), json!(q.metric_key));
    out.insert("dimensions".into(), Value::Object(q.dimensions.clone()));
    out.insert("grain".into(), json!(q.grain.as_str()));
    out.insert("range".into(), range_json(q.range));
    let shown = array_text(points.iter().map(Point::to_json_text));
    object_text(out, &[("points", shown)])
}

/// Puts a live point in its place: it replaces a stored point of the same bucket (a partial
/// one written before the bucket closed) and goes after every earlier one.
pub fn with_live(mut points: Vec<Point>, live: Point) -> Vec<Point> {
    points.retain(|p| p.start < live.start);
    points.push(live);
    points
}

/// Which coarser points fill a series where the requested grain no longer exists: the
/// weeks that end before the first point of the requested grain (or before the range's end
/// when there is none).
pub fn fallback_until(fine: &[Point], range: Range) -> i64 {
    fine.first().map_or(range.end, |p| p.start)
}

/// One breakdown point: a bucket, a dimension and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakdownPoint {
    pub point: Point,
    pub dimension_key: String,
    pub dimension_value: String,
}

/// The answer of `get_breakdown`, as JSON text: the points, and per dimension value the
/// total over the range and its share of its dimension's total.
pub fn breakdown(
    project: &ProjectInfo,
    metric_key: &str,
    dimension_key: Option<&str>,
    range: Range,
    points: &[BreakdownPoint],
    now: i64,
) -> String {
    let plain: Vec<Point> = points.iter().map(|b| b.point.clone()).collect();
    let fresh = Freshness::of(&plain, TimeGrain::Day, now);
    let mut out = header("breakdown", project, &fresh);
    out.insert("metric_key".into(), json!(metric_key));
    out.insert("dimension_key".into(), json!(dimension_key));
    out.insert("range".into(), range_json(range));
    out.insert("items".into(), Value::Array(breakdown_items(points)));
    let shown = array_text(points.iter().map(|b| {
        let mut p = String::new();
        b.point.write_open(&mut p);
        p.push_str(",\"dimension_key\":");
        p.push_str(&json!(b.dimension_key).to_string());
        p.push_str(",\"dimension_value\":");
        p.push_str(&json!(b.dimension_value).to_string());
        p.push('}');
        p
    }));
    object_text(out, &[("points", shown)])
}

/// Totals per (dimension key, value), largest first, with their share of the key's total.
fn breakdown_items(points: &[BreakdownPoint]) -> Vec<Value> {
    let mut totals: Vec<(String, String, f64, usize)> = Vec::new();
    for b in points {
        let v = b.point.value.unwrap_or(0.0);
        match totals
            .iter_mut()
            .find(|t| t.0 == b.dimension_key && t.1 == b.dimension_value)
        {
            Some(t) => (t.2, t.3) = (t.2 + v, t.3 + 1),
            None => totals.push((b.dimension_key.clone(), b.dimension_value.clone(), v, 1)),
        }
    }
    totals.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.total_cmp(&a.2)).then(a.1.cmp(&b.1)));
    let sum_of = |key: &str| -> f64 { totals.iter().filter(|t| t.0 == key).map(|t| t.2).sum() };
    totals
        .iter()
        .map(|(key, value, total, n)| {
            let sum = sum_of(key);
            json!({"dimension_key": key, "dimension_value": value, "total": total,
                   "share": if sum == 0.0 { Value::Null } else { json!(total / sum) }, "points": n})
        })
        .collect()
}

/// One drill-down row.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    pub reference_id: String,
    pub entity_id: Option<String>,
    pub time_bucket: Option<i64>,
    /// The payload as JSON text, as stored.
    pub payload: String,
    pub computed_at: i64,
}

/// A page of `get_drilldown`, as JSON text; `next` is the cursor of the following page,
/// NULL on the last.
pub fn drilldown(
    project: &ProjectInfo,
    metric_key: &str,
    entity_type: &str,
    page_size: i32,
    entities: &[Entity],
    next: Option<String>,
) -> String {
    let computed_at = entities.iter().map(|e| e.computed_at).max();
    let fresh = Freshness {
        as_of: computed_at,
        computed_at,
        open: false,
        resolution: TimeGrain::Day,
    };
    let mut out = header("drilldown", project, &fresh);
    out["resolution"] = json!("entity");
    out.insert("metric_key".into(), json!(metric_key));
    out.insert("entity_type".into(), json!(entity_type));
    out.insert("page_size".into(), json!(page_size));
    out.insert("next".into(), next.map_or(Value::Null, Value::String));
    let items = array_text(entities.iter().map(|e| {
        let fields = json!({"reference_id": e.reference_id, "entity_id": e.entity_id,
               "time_bucket": iso_or_null(e.time_bucket), "computed_at": iso(e.computed_at), "partial": false});
        let Value::Object(fields) = fields else { unreachable!("an object") };
        object_text(fields, &[("payload", e.payload.clone())])
    }));
    object_text(out, &[("items", items)])
}

/// The stored summary a `get_summary` answer shows: the payload and when it was captured.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSummary {
    /// The payload as JSON text, as stored.
    pub payload: String,
    pub captured_at: i64,
    pub computed_at: i64,
}

/// The answer of `get_summary`, as JSON text: the latest stored summary and today's live
/// values (the open day: `today`, always partial).
pub fn summary(
    project: &ProjectInfo,
    stored: Option<&StoredSummary>,
    today: Value,
    now: i64,
) -> String {
    let fresh = Freshness {
        as_of: Some(now),
        computed_at: stored.map(|s| s.computed_at),
        open: true,
        resolution: TimeGrain::Day,
    };
    let mut out = header("summary", project, &fresh);
    out.insert(
        "captured_at".into(),
        iso_or_null(stored.map(|s| s.captured_at)),
    );
    out.insert("today".into(), today);
    let payload = stored.map_or_else(|| "null".to_string(), |s| s.payload.clone());
    object_text(out, &[("summary", payload)])
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000_000;
    const DAY: i64 = 24 * H;
    const T0: i64 = 1_748_736_000_000_000; // 2025-06-01T00:00:00Z

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn project() -> ProjectInfo {
        ProjectInfo {
            id: "00000000-0000-0000-0000-000000000001".into(),
            slug: "acme".into(),
            name: "Acme".into(),
            time_zone: "UTC".into(),
        }
    }

    fn day(i: i64, complete: bool, computed: Option<i64>) -> Point {
        Point {
            start: T0 + i * DAY,
            end: T0 + (i + 1) * DAY,
            grain: TimeGrain::Day,
            value: Some(i as f64),
            data: format!("{{\"complete\": {complete}}}"),
            complete,
            computed_at: computed,
        }
    }

    #[test]
    fn times_are_rfc_3339_utc() {
        assert_eq!(iso(T0), "2025-06-01T00:00:00Z");
        assert_eq!(iso(T0 + 1_500_000), "2025-06-01T00:00:01.500Z");
        assert_eq!(iso(T0 + 7), "2025-06-01T00:00:00.000007Z");
    }

    #[test]
    fn freshness_of_closed_points() {
        let computed = T0 + 3 * DAY + H;
        let points = vec![
            day(0, true, Some(computed)),
            day(1, true, Some(computed - 5)),
        ];
        let f = Freshness::of(&points, TimeGrain::Day, T0 + 10 * DAY);
        assert_eq!(f.as_of, Some(T0 + 2 * DAY), "the end of the last bucket");
        assert_eq!(f.computed_at, Some(computed));
        assert!(!f.open);
        assert_eq!(f.resolution, TimeGrain::Day);
        let empty = Freshness::of(&[], TimeGrain::Hour, T0);
        assert_eq!(
            (empty.as_of, empty.computed_at, empty.open, empty.resolution),
            (None, None, false, TimeGrain::Hour)
        );
    }

    #[test]
    fn partial_and_live_points() {
        let now = T0 + 2 * DAY + 5 * H;
        let stored_partial = day(2, false, Some(T0 + 2 * DAY + 3 * H));
        assert!(stored_partial.is_partial() && !stored_partial.is_live());
        let f = Freshness::of(
            &[day(1, true, Some(T0)), stored_partial.clone()],
            TimeGrain::Day,
            now,
        );
        assert_eq!(
            f.as_of,
            Some(T0 + 2 * DAY + 3 * H),
            "as far as it was computed"
        );
        assert!(f.open);
        let live = Point {
            computed_at: None,
            ..day(2, false, None)
        };
        let points = with_live(vec![day(1, true, Some(T0)), stored_partial], live.clone());
        assert_eq!(
            points.len(),
            2,
            "the live point replaces the stored one of its bucket"
        );
        assert!(points[1].is_live() && points[1].is_partial());
        let f = Freshness::of(&points, TimeGrain::Day, now);
        assert_eq!(f.as_of, Some(now));
        assert_eq!(
            f.computed_at,
            Some(T0),
            "live points were not computed earlier"
        );
        let shown: Value = serde_json::from_str(&points[1].to_json_text()).unwrap();
        assert_eq!(shown["partial"], true);
        assert_eq!(shown["live"], true);
        assert_eq!(shown["time_bucket"], "2025-06-03T00:00:00Z");
    }

    #[test]
    fn resolution_is_the_coarsest_grain_served() {
        let week = Point {
            grain: TimeGrain::Week,
            end: T0 + 7 * DAY,
            ..day(0, true, Some(T0))
        };
        let points = vec![week, day(7, true, Some(T0))];
        let f = Freshness::of(&points, TimeGrain::Day, T0 + 30 * DAY);
        assert_eq!(f.resolution, TimeGrain::Week);
        let range = Range {
            start: T0,
            end: T0 + 10 * DAY,
        };
        assert_eq!(fallback_until(&points[1..], range), T0 + 7 * DAY);
        assert_eq!(fallback_until(&[], range), range.end);
    }

    #[test]
    fn trend_answers_carry_the_contract_fields() {
        let dims = Map::new();
        let q = TrendQuery {
            metric_key: "requests",
            dimensions: &dims,
            grain: TimeGrain::Day,
            range: Range {
                start: T0,
                end: T0 + 2 * DAY,
            },
        };
        let a = parse(&trend(
            &project(),
            &q,
            &[day(0, true, Some(T0 + DAY))],
            T0 + 3 * DAY,
        ));
        for field in [
            "version",
            "kind",
            "project",
            "as_of",
            "computed_at",
            "open",
            "resolution",
            "metric_key",
            "dimensions",
            "grain",
            "range",
            "points",
        ] {
            assert!(a.get(field).is_some(), "{field}");
        }
        assert_eq!(a["version"], VERSION);
        assert_eq!(a["project"]["slug"], "acme");
        assert_eq!(a["points"][0]["value"], json!(0.0));
        assert_eq!(a["points"][0]["partial"], false);
        assert_eq!(a["as_of"], "2025-06-02T00:00:00Z");
    }

    #[test]
    fn breakdown_items_total_and_share() {
        let bp = |i: i64, key: &str, value: &str, v: f64| BreakdownPoint {
            point: Point {
                value: Some(v),
                ..day(i, true, Some(T0))
            },
            dimension_key: key.into(),
            dimension_value: value.into(),
        };
        let points = vec![
            bp(0, "genre", "jazz", 1.0),
            bp(0, "genre", "rock", 3.0),
            bp(1, "genre", "jazz", 4.0),
        ];
        let range = Range {
            start: T0,
            end: T0 + 2 * DAY,
        };
        let a = parse(&breakdown(
            &project(),
            "top_genres",
            None,
            range,
            &points,
            T0 + 5 * DAY,
        ));
        assert_eq!(
            a["items"][0],
            json!({"dimension_key": "genre", "dimension_value": "jazz", "total": 5.0, "share": 0.625, "points": 2})
        );
        assert_eq!(a["items"][1]["dimension_value"], "rock");
        assert_eq!(a["points"].as_array().unwrap().len(), 3);
        assert_eq!(a["points"][2]["dimension_value"], "jazz");
        let zero = vec![bp(0, "genre", "jazz", 0.0)];
        assert_eq!(
            parse(&breakdown(&project(), "k", None, range, &zero, T0))["items"][0]["share"],
            Value::Null
        );
    }

    #[test]
    fn drilldown_and_summary_answers() {
        let e = Entity {
            reference_id: "GET /users".into(),
            entity_id: None,
            time_bucket: Some(T0),
            payload: r#"{"route": "/users"}"#.to_string(),
            computed_at: T0 + H,
        };
        let a = parse(&drilldown(
            &project(),
            "requests",
            "route",
            50,
            &[e],
            Some("abc".into()),
        ));
        assert_eq!(a["items"][0]["payload"]["route"], "/users");
        assert_eq!(a["next"], "abc");
        assert_eq!(a["computed_at"], "2025-06-01T01:00:00Z");
        assert_eq!(a["resolution"], "entity");
        assert_eq!(a["items"][0]["time_bucket"], "2025-06-01T00:00:00Z");
        let last = parse(&drilldown(&project(), "requests", "route", 50, &[], None));
        assert_eq!(last["next"], Value::Null);
        assert_eq!(last["computed_at"], Value::Null);
        let s = StoredSummary {
            payload: r#"{"version": "1.0"}"#.to_string(),
            captured_at: T0,
            computed_at: T0 + 1,
        };
        let a = parse(&summary(
            &project(),
            Some(&s),
            json!({"partial": true}),
            T0 + DAY,
        ));
        assert_eq!(a["summary"]["version"], "1.0");
        assert_eq!(a["as_of"], "2025-06-02T00:00:00Z");
        assert_eq!(a["open"], true);
        assert_eq!(
            parse(&summary(&project(), None, json!({}), T0))["summary"],
            Value::Null
        );
    }
}
