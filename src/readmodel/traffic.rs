//! Request points: the project's rows of `metrics.route_metrics` (the whole-database project:
//! every row) per UTC hour and per day, ISO week and month of the project's zone, for all
//! routes combined and per route and method, merged as `get_route_metrics` merges them
//! (`requests::bucket` counts and sketches, `requests::report::Stats` for the numbers and
//! the percentiles of the merged sketch); the routes of the last 30 days as drill-downs.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::spi::{SpiHeapTupleData, SpiResult};
use serde_json::{json, Value};

use crate::pg::spi::{not_null, volatile as spi};
use crate::readmodel::buckets::TimeGrain;
use crate::readmodel::payload;
use crate::readmodel::project::Project;
use crate::readmodel::state::Mark;
use crate::readmodel::write::{self, At, Dimensions, Drilldown, Point};
use crate::requests::bucket::{Bucket, Totals};
use crate::requests::read::{decode, totals_at as totals};
use crate::requests::report::Stats;

/// The rows changed since the last run ($3 watermark, $4 its cut; both NULL: every row),
/// before this run's cut ($2). $1 the project (NULL: the whole database, every row).
const CHANGED: &str = "
    changed AS (
        SELECT DISTINCT t.period_start, t.resolution FROM metrics.route_metrics AS t
        WHERE ($1::uuid IS NULL OR t.project_id = $1) AND t.period_start < $2
          AND ($3::timestamptz IS NULL OR t.updated_at >= $3 OR t.period_start >= $4))";

/// The buckets holding the changed rows, and every row of them ($5 the zone), grain by
/// grain: an hour holds hour rows, a day hour and day rows, weeks and months every row (by
/// its start).
const REFRESH: &str = "
    grains (g) AS (VALUES ('hour'), ('day'), ('week'), ('month')),
    want AS (
        SELECT DISTINCT g.g, w.b,
               CASE WHEN g.g = 'hour' THEN w.b + interval '1 hour'
                    ELSE ((w.b AT TIME ZONE $5) + pg_catalog.concat('1 ', g.g)::interval) AT TIME ZONE $5 END AS e
        FROM changed AS c CROSS JOIN grains AS g,
             LATERAL (SELECT CASE WHEN g.g = 'hour' THEN pg_catalog.date_trunc('hour', c.period_start, 'UTC')
                                  ELSE pg_catalog.date_trunc(g.g, c.period_start, $5) END AS b) AS w
        WHERE (g.g <> 'hour' OR c.resolution = 'hour') AND (g.g <> 'day' OR c.resolution IN ('hour', 'day')))
    SELECT w.g, w.b, w.e <= $2, t.route, t.method, t.total_requests, t.successful, t.failed,
           t.total_duration_ms, t.min_duration_ms, t.max_duration_ms, t.last_request_at, t.latency_sketch
    FROM want AS w
    JOIN metrics.route_metrics AS t
      ON ($1::uuid IS NULL OR t.project_id = $1) AND t.period_start >= w.b AND t.period_start < w.e
     AND t.period_start < $2
     AND (w.g <> 'hour' OR t.resolution = 'hour') AND (w.g <> 'day' OR t.resolution IN ('hour', 'day'))
    ORDER BY w.g, w.b, t.route, t.method, t.period_start";

/// One stored row, as a group of one.
struct Row {
    grain: String,
    at: TimestampWithTimeZone,
    complete: bool,
    route: String,
    method: String,
    bucket: Bucket,
}

fn row(r: &SpiHeapTupleData) -> SpiResult<Row> {
    Ok(Row {
        grain: not_null(r, 1)?,
        at: not_null(r, 2)?,
        complete: not_null(r, 3)?,
        route: not_null(r, 4)?,
        method: not_null(r, 5)?,
        bucket: Bucket {
            totals: totals(r, 6)?,
            sketch: decode(not_null::<&[u8]>(r, 13)?),
        },
    })
}

/// What the request part of a run did.
#[derive(Debug, Default)]
pub struct Done {
    pub hours: i64,
    pub trend: i64,
    pub breakdown: i64,
}

/// Recomputes the buckets holding rows changed since `mark` (every row when `None`), up to
/// `cut` (the end of the last closed hour).
pub fn refresh(p: &Project, mark: Option<Mark>, cut: TimestampWithTimeZone) -> Done {
    let args = [
        p.request_scope(),
        cut.into(),
        mark.map(|m| m.watermark).into(),
        mark.and_then(|m| m.cut_hour).into(),
        p.zone.as_str().into(),
    ];
    let hours = spi::value::<i64>(
        &format!("WITH {CHANGED} SELECT count(*) FROM changed WHERE resolution = 'hour'"),
        &args,
    )
    .unwrap_or(0);
    let rows = spi::rows(&format!("WITH {CHANGED}, {REFRESH}"), &args, row);
    let points = merged_points(rows);
    let (breakdown, trend): (Vec<Point>, Vec<Point>) = points
        .into_iter()
        .partition(|p| matches!(p.dimensions, Dimensions::Breakdown(..)));
    Done {
        hours,
        trend: write::points(p.id, &p.zone, &trend),
        breakdown: write::points(p.id, &p.zone, &breakdown),
    }
}

/// Merges rows per bucket (combined) and per bucket, route and method, into points.
fn merged_points(rows: Vec<Row>) -> Vec<Point> {
    let mut combined: Vec<Row> = Vec::new();
    let mut routes: Vec<Row> = Vec::new();
    for r in rows {
        let same_bucket = |g: &Row| g.grain == r.grain && g.at == r.at;
        match combined.last_mut() {
            Some(g) if same_bucket(g) => g.bucket.merge(&r.bucket),
            _ => combined.push(Row {
                route: String::new(),
                method: String::new(),
                ..r.clone_shallow()
            }),
        }
        match routes.last_mut() {
            Some(g) if same_bucket(g) && g.route == r.route && g.method == r.method => {
                g.bucket.merge(&r.bucket)
            }
            _ => routes.push(r),
        }
    }
    let mut out = Vec::new();
    for g in combined {
        out.extend(points_of(&g, json!({})));
    }
    for g in routes {
        let dims = json!({"route": g.route, "method": g.method});
        out.extend(points_of(&g, dims));
    }
    out
}

impl Row {
    fn clone_shallow(&self) -> Row {
        Row {
            grain: self.grain.clone(),
            at: self.at,
            complete: self.complete,
            route: self.route.clone(),
            method: self.method.clone(),
            bucket: self.bucket.clone(),
        }
    }
}

fn grain_of(text: &str) -> TimeGrain {
    match text {
        "hour" => TimeGrain::Hour,
        "day" => TimeGrain::Day,
        "week" => TimeGrain::Week,
        _ => TimeGrain::Month,
    }
}

/// The five request keys of a merged group, and (per route, per day) its breakdown point.
fn points_of(g: &Row, dims: Value) -> Vec<Point> {
    let stats = Stats::of(&g.bucket);
    let json = payload::request_point(&stats, g.complete);
    let grain = grain_of(&g.grain);
    let mut out: Vec<Point> = payload::request_keys(&stats)
        .into_iter()
        .map(|(key, value)| Point {
            metric_key: key.to_string(),
            grain,
            at: At::Instant(g.at),
            dimensions: Dimensions::Trend(dims.clone()),
            value,
            json: json.clone(),
        })
        .collect();
    if grain == TimeGrain::Day && !g.route.is_empty() {
        out.push(Point {
            metric_key: "requests".into(),
            grain,
            at: At::Instant(g.at),
            dimensions: Dimensions::Breakdown("route".into(), format!("{} {}", g.method, g.route)),
            value: Some(stats.total as f64),
            json,
        });
    }
    out
}

/// The routes of the 30 days before `cut`, each with its numbers over them.
pub fn route_drilldowns(p: &Project, cut: TimestampWithTimeZone) -> Vec<Drilldown> {
    let rows = spi::rows(
        "SELECT t.route, t.method, t.total_requests, t.successful, t.failed, t.total_duration_ms,
                t.min_duration_ms, t.max_duration_ms, t.last_request_at, t.latency_sketch
         FROM metrics.route_metrics AS t
         WHERE ($1::uuid IS NULL OR t.project_id = $1) AND t.period_start < $2
           AND t.period_start >= $2 - interval '30 days'
         ORDER BY t.route, t.method, t.period_start",
        &[p.request_scope(), cut.into()],
        |r| {
            let bucket = Bucket {
                totals: totals(r, 3)?,
                sketch: decode(not_null::<&[u8]>(r, 10)?),
            };
            Ok((not_null::<String>(r, 1)?, not_null::<String>(r, 2)?, bucket))
        },
    );
    let mut groups: Vec<(String, String, Bucket)> = Vec::new();
    for (route, method, bucket) in rows {
        match groups.last_mut() {
            Some(g) if g.0 == route && g.1 == method => g.2.merge(&bucket),
            _ => groups.push((route, method, bucket)),
        }
    }
    groups
        .into_iter()
        .map(|(route, method, b)| route_drilldown(route, method, &b))
        .collect()
}

fn route_drilldown(route: String, method: String, b: &Bucket) -> Drilldown {
    let stats = Stats::of(b);
    let mut payload = payload::request_stats(&stats);
    payload.remove("total");
    payload.insert("requests".into(), json!(stats.total));
    payload.insert("route".into(), json!(route));
    payload.insert("method".into(), json!(method));
    let last = crate::pg::datum::timestamptz(b.totals.last_at);
    payload.insert(
        "last_request_at".into(),
        json!(pgrx::datum::datetime_support::ToIsoString::to_iso_string(
            last
        )),
    );
    Drilldown {
        metric_key: "requests".into(),
        entity_type: "route",
        reference_id: format!("{method} {route}"),
        at: At::Instant(last),
        payload: Value::Object(payload),
    }
}

/// The numbers of the project's requests on the days `[first, last]` of its zone.
pub fn stats_between(p: &Project, first: chrono::NaiveDate, last: chrono::NaiveDate) -> Stats {
    let rows = spi::rows(
        "SELECT t.total_requests, t.successful, t.failed, t.total_duration_ms, t.min_duration_ms,
                t.max_duration_ms, t.last_request_at, t.latency_sketch
         FROM metrics.route_metrics AS t
         WHERE ($1::uuid IS NULL OR t.project_id = $1)
           AND t.period_start >= ($2::timestamp AT TIME ZONE $4)
           AND t.period_start < (($3 + 1)::timestamp AT TIME ZONE $4)
         ORDER BY t.period_start, t.route, t.method",
        &[
            p.request_scope(),
            crate::pg::datum::pg_date(first).into(),
            crate::pg::datum::pg_date(last).into(),
            p.zone.as_str().into(),
        ],
        |r| {
            Ok(Bucket {
                totals: totals(r, 1)?,
                sketch: decode(not_null::<&[u8]>(r, 8)?),
            })
        },
    );
    let mut rows = rows.into_iter();
    let Some(mut all) = rows.next() else {
        return Stats::of(&Bucket {
            totals: Totals::EMPTY,
            sketch: crate::requests::sketch::LatencySketch::new(),
        });
    };
    for b in rows {
        all.merge(&b);
    }
    Stats::of(&all)
}
