//! The upserts every part of the refresh shares: deterministic rows keyed by the tables'
//! unique keys, written only when their value changed (a rerun with nothing new changes
//! nothing), in one statement per batch.

use chrono::NaiveDate;
use pgrx::datum::{Date, DatumWithOid, TimestampWithTimeZone};
use pgrx::Uuid;
use serde_json::Value;

use crate::pg::datum::pg_date;
use crate::pg::spi::volatile as spi;
use crate::readmodel::buckets::TimeGrain;

/// Where a point's bucket starts: a day (at its midnight in the zone) or an instant.
#[derive(Debug, Clone, Copy)]
pub enum At {
    Day(NaiveDate),
    Instant(TimestampWithTimeZone),
}

/// One trend or breakdown point.
#[derive(Debug, Clone)]
pub struct Point {
    pub metric_key: String,
    pub grain: TimeGrain,
    pub at: At,
    /// Trend points: the dimensions object; breakdown points: (dimension_key, value).
    pub dimensions: Dimensions,
    pub value: Option<f64>,
    pub json: Value,
}

#[derive(Debug, Clone)]
pub enum Dimensions {
    Trend(Value),
    Breakdown(String, String),
}

const TREND: &str = "
    INSERT INTO metrics.metrics_trend_point AS t
        (project_id, metric_key, time_grain, time_bucket, dimensions, value_numeric, value_json, computed_at)
    SELECT $1, u.k, u.g::metrics.metrics_time_grain, {bucket}, u.d::jsonb, u.v, u.j::jsonb, pg_catalog.now()
    FROM ROWS FROM (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::{ty}[]), pg_catalog.unnest($5::text[]), pg_catalog.unnest($6::float8[]), pg_catalog.unnest($7::text[]))
         AS u (k, g, b, d, v, j)
    ON CONFLICT ON CONSTRAINT metrics_trend_point_key DO UPDATE
    SET value_numeric = excluded.value_numeric, value_json = excluded.value_json, computed_at = excluded.computed_at
    WHERE (t.value_numeric, t.value_json) IS DISTINCT FROM (excluded.value_numeric, excluded.value_json)
    RETURNING 1";

const BREAKDOWN: &str = "
    INSERT INTO metrics.metrics_breakdown_point AS t
        (project_id, metric_key, time_grain, time_bucket, dimension_key, dimension_value, value_numeric,
         value_json, computed_at)
    SELECT $1, u.k, u.g::metrics.metrics_time_grain, {bucket}, u.dk, u.dv, u.v, u.j::jsonb, pg_catalog.now()
    FROM ROWS FROM (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::{ty}[]), pg_catalog.unnest($5::text[]), pg_catalog.unnest($6::float8[]), pg_catalog.unnest($7::text[]), pg_catalog.unnest($9::text[]))
         AS u (k, g, b, dk, v, j, dv)
    ON CONFLICT ON CONSTRAINT metrics_breakdown_point_key DO UPDATE
    SET value_numeric = excluded.value_numeric, value_json = excluded.value_json, computed_at = excluded.computed_at
    WHERE (t.value_numeric, t.value_json) IS DISTINCT FROM (excluded.value_numeric, excluded.value_json)
    RETURNING 1";

/// Writes points of one kind of bucket (all days or all instants); returns how many rows
/// were inserted or changed.
pub fn points(project: Uuid, zone: &str, points: &[Point]) -> i64 {
    let (days, instants): (Vec<&Point>, Vec<&Point>) =
        points.iter().partition(|p| matches!(p.at, At::Day(_)));
    let (trend_days, breakdown_days): (Vec<&Point>, Vec<&Point>) = days
        .into_iter()
        .partition(|p| matches!(p.dimensions, Dimensions::Trend(_)));
    let (trend_at, breakdown_at): (Vec<&Point>, Vec<&Point>) = instants
        .into_iter()
        .partition(|p| matches!(p.dimensions, Dimensions::Trend(_)));
    batch(project, zone, TREND, &trend_days)
        + batch(project, zone, TREND, &trend_at)
        + batch(project, zone, BREAKDOWN, &breakdown_days)
        + batch(project, zone, BREAKDOWN, &breakdown_at)
}

fn batch(project: Uuid, zone: &str, template: &str, points: &[&Point]) -> i64 {
    let Some(first) = points.first() else {
        return 0;
    };
    let (ty, bucket) = match first.at {
        At::Day(_) => ("date", "(u.b::timestamp AT TIME ZONE $8)"),
        At::Instant(_) => ("timestamptz", "u.b"),
    };
    let sql = template.replace("{ty}", ty).replace("{bucket}", bucket);
    let text = |f: &dyn Fn(&Point) -> String| points.iter().map(|p| f(p)).collect::<Vec<_>>();
    let (dims, values): (Vec<String>, Vec<String>) = points
        .iter()
        .map(|p| match &p.dimensions {
            Dimensions::Trend(d) => (d.to_string(), String::new()),
            Dimensions::Breakdown(k, v) => (k.clone(), v.clone()),
        })
        .unzip();
    let buckets: DatumWithOid = match first.at {
        At::Day(_) => points
            .iter()
            .map(|p| match p.at {
                At::Day(d) => pg_date(d),
                At::Instant(_) => unreachable!("one kind per batch"),
            })
            .collect::<Vec<Date>>()
            .into(),
        At::Instant(_) => points
            .iter()
            .map(|p| match p.at {
                At::Instant(t) => t,
                At::Day(_) => unreachable!("one kind per batch"),
            })
            .collect::<Vec<TimestampWithTimeZone>>()
            .into(),
    };
    let mut args = vec![
        DatumWithOid::from(project),
        text(&|p| p.metric_key.clone()).into(),
        text(&|p| p.grain.as_str().to_string()).into(),
        buckets,
        dims.into(),
        points
            .iter()
            .map(|p| p.value)
            .collect::<Vec<Option<f64>>>()
            .into(),
        text(&|p| p.json.to_string()).into(),
        zone.into(),
    ];
    if template == BREAKDOWN {
        args.push(values.into());
    }
    let sql = format!("WITH w AS ({sql}) SELECT count(*) FROM w");
    spi::value::<i64>(&sql, &args).unwrap_or(0)
}

/// One drill-down row; `at` is the entity's time (a day: its midnight in the zone).
#[derive(Debug, Clone)]
pub struct Drilldown {
    pub metric_key: String,
    pub entity_type: &'static str,
    pub reference_id: String,
    pub at: At,
    pub payload: Value,
}

/// Writes drill-downs (days at midnight in `zone`); returns how many rows were inserted or
/// changed.
pub fn drilldowns(project: Uuid, zone: &str, rows: &[Drilldown]) -> i64 {
    if rows.is_empty() {
        return 0;
    }
    let col = |f: &dyn Fn(&Drilldown) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let instants: Vec<Option<TimestampWithTimeZone>> = rows
        .iter()
        .map(|d| match d.at {
            At::Instant(t) => Some(t),
            At::Day(_) => None,
        })
        .collect();
    let days: Vec<Option<Date>> = rows
        .iter()
        .map(|d| match d.at {
            At::Day(day) => Some(pg_date(day)),
            At::Instant(_) => None,
        })
        .collect();
    spi::value::<i64>(
        "WITH w AS (
             INSERT INTO metrics.metrics_drilldown AS t
                 (project_id, metric_key, entity_type, reference_id, time_bucket, payload, computed_at)
             SELECT $1, u.k, u.e, u.r, coalesce(u.b, (u.d::timestamp AT TIME ZONE $8)), u.p::jsonb, pg_catalog.now()
             FROM ROWS FROM (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::timestamptz[]), pg_catalog.unnest($6::text[]), pg_catalog.unnest($7::date[]))
                  AS u (k, e, r, b, p, d)
             ON CONFLICT ON CONSTRAINT metrics_drilldown_key DO UPDATE
             SET time_bucket = excluded.time_bucket, payload = excluded.payload, computed_at = excluded.computed_at
             WHERE (t.time_bucket, t.payload) IS DISTINCT FROM (excluded.time_bucket, excluded.payload)
             RETURNING 1)
         SELECT count(*) FROM w",
        &[
            project.into(),
            col(&|d| d.metric_key.clone()).into(),
            col(&|d| d.entity_type.to_string()).into(),
            col(&|d| d.reference_id.clone()).into(),
            instants.into(),
            col(&|d| d.payload.to_string()).into(),
            days.into(),
            zone.into(),
        ],
    )
    .unwrap_or(0)
}

/// Deletes a project's drill-downs of one entity type that a recomputed set no longer has
/// (`keep`: the references of the set); returns how many.
pub fn drop_other_drilldowns(project: Uuid, entity_type: &str, keep: &[Drilldown]) -> i64 {
    let keys: Vec<String> = keep
        .iter()
        .map(|d| format!("{}\u{1}{}", d.metric_key, d.reference_id))
        .collect();
    spi::value::<i64>(
        "WITH w AS (DELETE FROM metrics.metrics_drilldown
                    WHERE project_id = $1 AND entity_type = $2
                      AND metric_key || E'\\x01' || reference_id <> ALL ($3) RETURNING 1)
         SELECT count(*) FROM w",
        &[project.into(), entity_type.into(), keys.into()],
    )
    .unwrap_or(0)
}
