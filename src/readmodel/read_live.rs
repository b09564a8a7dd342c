//! The open bucket, computed live from the sources on request and never stored: the rows of
//! `metrics.route_metrics_live` (folded or not yet) recorded since the bucket began (the project's, or every
//! row for the project that covers the whole database), merged like `get_route_metrics`
//! merges them; and the open day's daily values.

use pgrx::datum::DatumWithOid;
use serde_json::{json, Map, Value};

use crate::pg::datum::{timestamptz, unix_micros};
use crate::pg::spi::{not_null, stable as spi};
use crate::readmodel::answer::Point;
use crate::readmodel::live::{request_data, request_value, stats_of, LiveMetric};
use crate::readmodel::query::{TimeGrain, MICROS_PER_HOUR};
use crate::readmodel::read::Project;
use crate::requests::bucket::Bucket;
use crate::requests::read::{decode, has_live, totals_at};
use crate::requests::report::Stats;
use crate::snapshots::live::open_day_values;

/// The open bucket of a grain: `[start, end)` containing now (hours in UTC, days in `zone`).
pub fn open_bucket(grain: TimeGrain, zone: &str, now: i64) -> (i64, i64) {
    if grain == TimeGrain::Hour {
        let start = now - now.rem_euclid(MICROS_PER_HOUR);
        return (start, start + MICROS_PER_HOUR);
    }
    let bounds = spi::rows_kept(
        "SELECT pg_catalog.date_trunc($1, $2, $3),
                (pg_catalog.date_trunc($1, $2, $3) AT TIME ZONE $3 + pg_catalog.concat('1 ', $1)::interval) AT TIME ZONE $3",
        &[grain.as_str().into(), timestamptz(now).into(), zone.into()],
        |row| {
            Ok((
                unix_micros(not_null(row, 1)?),
                unix_micros(not_null(row, 2)?),
            ))
        },
    );
    bounds[0]
}

/// The request numbers of `[start, end)` for the project, one route and method or all.
pub fn request_stats(
    project: &Project,
    dimensions: &Map<String, Value>,
    start: i64,
    end: i64,
) -> Stats {
    let dim = |k: &str| dimensions.get(k).and_then(Value::as_str);
    let scope = (!project.whole_database).then_some(project.info.id.as_str());
    let args: Vec<DatumWithOid> = vec![
        timestamptz(start).into(),
        timestamptz(end).into(),
        scope.into(),
        dim("route").into(),
        dim("method").into(),
    ];
    // Folded and unfolded rows together (0.7.0's view), or the table before the update.
    macro_rules! stats_from {
        ($source:literal) => {
            concat!(
                "SELECT t.total_requests, t.successful, t.failed, t.total_duration_ms, t.min_duration_ms,
                        t.max_duration_ms, t.last_request_at, t.latency_sketch
                 FROM metrics.", $source, " AS t
                 WHERE t.period_start >= $1 AND t.period_start < $2
                   AND ($3::text IS NULL OR t.project_id = $3::uuid)
                   AND ($4::text IS NULL OR t.route = $4) AND ($5::text IS NULL OR t.method = $5)"
            )
        };
    }
    let sql = if has_live() {
        stats_from!("route_metrics_live")
    } else {
        stats_from!("route_metrics")
    };
    let buckets = spi::rows_kept(sql, &args, |row| {
        Ok(Bucket {
            totals: totals_at(row, 1)?,
            sketch: decode(not_null::<&[u8]>(row, 8)?),
        })
    });
    stats_of(&buckets)
}

/// The live point of a request key for the open bucket `[start, end)`.
pub fn request_point(
    project: &Project,
    key: &str,
    dimensions: &Map<String, Value>,
    grain: TimeGrain,
    (start, end): (i64, i64),
) -> Point {
    let stats = request_stats(project, dimensions, start, end);
    let mut data = request_data(&stats);
    data["complete"] = Value::Bool(false);
    Point {
        start,
        end,
        grain,
        value: request_value(key, &stats),
        data: data.to_string(),
        complete: false,
        computed_at: None,
    }
}

/// The open day's values of the project's daily metrics (`categories` only, when given),
/// computed like collection computes them (`snapshots::live`), never sealed.
pub fn daily_values(project: &Project, categories: Option<&[String]>) -> Vec<LiveMetric> {
    open_day_values(
        Some(project.info.id.as_str()),
        project.whole_database,
        categories,
    )
    .into_iter()
    .map(|v| LiveMetric {
        category: v.category,
        metric_type: v.metric_type,
        value: v.value,
        metadata: v.metadata,
    })
    .collect()
}

/// The live point of a daily metric for the open day `[start, end)`; none when the project
/// has no value of it today (a metric of the whole database asked for another project, or
/// one that cannot be computed now).
pub fn daily_point(project: &Project, key: &str, (start, end): (i64, i64)) -> Option<Point> {
    let live = daily_values(project, Some(&[key.to_string()]))
        .into_iter()
        .find(|v| v.category == key)?;
    let value = live.value.as_deref().and_then(|v| v.parse::<f64>().ok());
    let data = json!({"value": value, "metadata": live.metadata, "metric_type": live.metric_type,
                      "complete": false});
    Some(Point {
        start,
        end,
        grain: TimeGrain::Day,
        value,
        data: data.to_string(),
        complete: false,
        computed_at: None,
    })
}
