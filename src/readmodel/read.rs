//! The stored rows of the read model, for one project. The API functions are SECURITY
//! DEFINER: they first resolve the project AS THE CALLER (`metrics.project_id`, with the
//! caller's row-level security: a project they may not read fails exactly like one that does
//! not exist), then read that project's rows with the owner's rights, always filtered by its
//! id. Nothing here decides visibility otherwise.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiHeapTupleData, SpiResult};
use serde_json::Value;

use crate::common::problem::Outcome;
use crate::pg::datum::unix_micros;
use crate::pg::guc;
use crate::pg::identity::{as_role, caller};
use crate::pg::spi::{not_null, stable as spi};
use crate::readmodel::answer::{BreakdownPoint, Entity, Point, ProjectInfo, StoredSummary};
use crate::readmodel::cursor::Cursor;
use crate::readmodel::query::{is_fixed_key, unknown_key, Range, TimeGrain};

/// A project the caller may read.
pub struct Project {
    pub info: ProjectInfo,
    pub whole_database: bool,
}

/// The project named by slug or id, resolved with the caller's rights (42704 when they may
/// not read it, as when it does not exist; 22004 for NULL, raised by `metrics.project_id`).
pub fn resolve(project: &str) -> Project {
    let id = as_role(caller(), || {
        spi::value_kept::<String>("SELECT metrics.project_id($1)::text", &[project.into()])
    })
    .expect("metrics.project_id returns an id or raises");
    let zone = guc::timezone();
    spi::rows_kept(
        "SELECT p.id::text, p.slug, p.name, coalesce(p.time_zone, $2), p.whole_database
         FROM metrics.projects AS p WHERE p.id = $1::uuid",
        &[id.as_str().into(), zone.as_str().into()],
        |row| {
            Ok(Project {
                info: ProjectInfo {
                    id: not_null(row, 1)?,
                    slug: not_null(row, 2)?,
                    name: not_null(row, 3)?,
                    time_zone: not_null(row, 4)?,
                },
                whole_database: not_null(row, 5)?,
            })
        },
    )
    .pop()
    .expect("a project the caller resolved exists in the same snapshot")
}

/// A key the project has: a request or DORA key, one of its active metrics (per-project
/// ones; the whole database's project: all), or one with stored rows.
pub fn check_key(project: &Project, key: &str) -> Outcome<()> {
    if is_fixed_key(key) {
        return Ok(());
    }
    let known = spi::value_kept::<bool>(
        "SELECT EXISTS (SELECT FROM metrics.metric_definitions AS d
                        WHERE d.metric_category = $2 AND d.is_active AND ($3 OR d.project_column IS NOT NULL))
             OR EXISTS (SELECT FROM metrics.metrics_trend_point AS t WHERE t.project_id = $1::uuid AND t.metric_key = $2)
             OR EXISTS (SELECT FROM metrics.metrics_breakdown_point AS b WHERE b.project_id = $1::uuid AND b.metric_key = $2)
             OR EXISTS (SELECT FROM metrics.metrics_drilldown AS d WHERE d.project_id = $1::uuid AND d.metric_key = $2)",
        &[
            project.info.id.as_str().into(),
            key.into(),
            project.whole_database.into(),
        ],
    );
    match known {
        Some(true) => Ok(()),
        _ => Err(unknown_key(key)),
    }
}

/// The end of a row's bucket `t.time_bucket` of grain `t.time_grain`, in zone `$z` (hours:
/// one hour later, whatever the zone).
fn bucket_end(zone_param: &str) -> String {
    format!(
        "CASE t.time_grain WHEN 'hour' THEN t.time_bucket + interval '1 hour'
              ELSE ((t.time_bucket AT TIME ZONE {zone_param})
                    + pg_catalog.concat('1 ', t.time_grain::text)::interval) AT TIME ZONE {zone_param} END"
    )
}

fn grain_of(text: &str) -> TimeGrain {
    TimeGrain::parse(text)
        .unwrap_or_else(|_| panic!("metrics: {text:?} is not a metrics_time_grain"))
}

/// The columns of a stored point after its bucket's start and end: grain, value, the
/// payload as text, whether it is complete, when it was computed.
const POINT_COLUMNS: &str = "t.time_grain::text, t.value_numeric, t.value_json::text,
    coalesce(t.value_json -> 'complete' <> 'false'::jsonb, true), t.computed_at";

/// A stored point of the columns (bucket, end, POINT_COLUMNS).
fn point(row: &SpiHeapTupleData) -> SpiResult<Point> {
    Ok(Point {
        start: unix_micros(not_null(row, 1)?),
        end: unix_micros(not_null(row, 2)?),
        grain: grain_of(&not_null::<String>(row, 3)?),
        value: row.get::<f64>(4)?,
        data: not_null(row, 5)?,
        complete: not_null(row, 6)?,
        computed_at: Some(unix_micros(not_null(row, 7)?)),
    })
}

/// What a series reads: a key, its dimensions, a grain, buckets from the one containing
/// `range.start` to before `range.end` (and, when `until` is set, ending by it), days,
/// weeks and months in `zone`.
pub struct Series<'a> {
    pub key: &'a str,
    pub dimensions: &'a Value,
    pub grain: TimeGrain,
    pub range: Range,
    pub zone: &'a str,
    pub until: Option<i64>,
}

/// The stored points of a series, in time order.
pub fn trend_points(project: &Project, s: &Series) -> Vec<Point> {
    let sql = format!(
        "SELECT t.time_bucket, {end}, {POINT_COLUMNS}
         FROM metrics.metrics_trend_point AS t
         WHERE t.project_id = $1::uuid AND t.metric_key = $2
           AND t.time_grain = $3::text::metrics.metrics_time_grain AND t.dimensions = $4::text::jsonb
           AND t.time_bucket >= pg_catalog.date_trunc($3, $5, $7) AND t.time_bucket < $6
           AND ($8::timestamptz IS NULL OR {end} <= $8)
         ORDER BY t.time_bucket",
        end = bucket_end("$7")
    );
    let args: Vec<DatumWithOid> = vec![
        project.info.id.as_str().into(),
        s.key.into(),
        s.grain.as_str().into(),
        s.dimensions.to_string().into(),
        crate::pg::datum::timestamptz(s.range.start).into(),
        crate::pg::datum::timestamptz(s.range.end).into(),
        s.zone.into(),
        s.until.map(crate::pg::datum::timestamptz).into(),
    ];
    spi::rows_kept(&sql, &args, point)
}

/// The stored breakdown points of a key (one dimension, or all) whose buckets overlap the
/// range, in time order, then by dimension.
pub fn breakdown_points(
    project: &Project,
    key: &str,
    dimension_key: Option<&str>,
    range: Range,
    zone: &str,
) -> Vec<BreakdownPoint> {
    let sql = format!(
        "SELECT t.time_bucket, e.bucket_end, {POINT_COLUMNS}, t.dimension_key, t.dimension_value
         FROM metrics.metrics_breakdown_point AS t, LATERAL (SELECT {end} AS bucket_end) AS e
         WHERE t.project_id = $1::uuid AND t.metric_key = $2 AND ($3::text IS NULL OR t.dimension_key = $3)
           AND t.time_bucket < $5 AND e.bucket_end > $4
         ORDER BY t.time_bucket, t.dimension_key, t.dimension_value",
        end = bucket_end("$6")
    );
    let args: Vec<DatumWithOid> = vec![
        project.info.id.as_str().into(),
        key.into(),
        dimension_key.into(),
        crate::pg::datum::timestamptz(range.start).into(),
        crate::pg::datum::timestamptz(range.end).into(),
        zone.into(),
    ];
    spi::rows_kept(&sql, &args, |row| {
        Ok(BreakdownPoint {
            point: point(row)?,
            dimension_key: not_null(row, 8)?,
            dimension_value: not_null(row, 9)?,
        })
    })
}

/// A page of drill-down rows after the cursor's position, in page order (newest first,
/// then by reference id); at most `limit` rows.
pub fn drilldown_rows(
    project: &Project,
    key: &str,
    entity_type: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> Vec<Entity> {
    let args: Vec<DatumWithOid> = vec![
        project.info.id.as_str().into(),
        key.into(),
        entity_type.into(),
        after.is_some().into(),
        after
            .and_then(|c| c.time_bucket)
            .map(crate::pg::datum::timestamptz)
            .into(),
        after.map(|c| c.reference_id.as_str()).into(),
        limit.into(),
    ];
    spi::rows_kept(
        "SELECT t.reference_id, t.entity_id::text, t.time_bucket, t.payload::text, t.computed_at
         FROM metrics.metrics_drilldown AS t
         WHERE t.project_id = $1::uuid AND t.metric_key = $2 AND t.entity_type = $3
           AND (NOT $4
                OR ($5::timestamptz IS NULL AND (t.time_bucket IS NOT NULL OR t.reference_id > $6))
                OR t.time_bucket < $5
                OR (t.time_bucket = $5 AND t.reference_id > $6))
         ORDER BY t.time_bucket DESC, t.reference_id
         LIMIT $7",
        &args,
        |row| {
            Ok(Entity {
                reference_id: not_null(row, 1)?,
                entity_id: row.get(2)?,
                time_bucket: row.get::<TimestampWithTimeZone>(3)?.map(unix_micros),
                payload: not_null(row, 4)?,
                computed_at: unix_micros(not_null(row, 5)?),
            })
        },
    )
}

/// The project's latest stored summary.
pub fn latest_summary(project: &Project) -> Option<StoredSummary> {
    spi::rows_kept(
        "SELECT s.payload::text, s.captured_at, s.created_at FROM metrics.metrics_summary AS s
         WHERE s.project_id = $1::uuid ORDER BY s.captured_at DESC LIMIT 1",
        &[project.info.id.as_str().into()],
        |row| {
            Ok(StoredSummary {
                payload: not_null(row, 1)?,
                captured_at: unix_micros(not_null(row, 2)?),
                computed_at: unix_micros(not_null(row, 3)?),
            })
        },
    )
    .pop()
}
