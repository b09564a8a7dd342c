//! The query API of route and operation metrics: `metrics.get_route_metrics` and
//! `metrics.get_operation_metrics`.
//!
//! The hour rows overlapping [start_at, end_at) are grouped per hour, day or week (days and
//! weeks in `metrics.timezone`), per route and method (or per operation), or all together
//! (`combined`). Counts and sums add up; the percentiles come from the merged latency
//! sketches, so they hold within the sketch's relative accuracy at any grain and across
//! routes. STABLE and SECURITY INVOKER: callers see what RLS lets them see (administrators).

use pgrx::prelude::*;

use crate::pg::spi;
use crate::pg::raise::{raise, OrRaise};
use crate::requests::event::{check_method, check_name, Bucket, Subject};
use crate::requests::sketch_functions::decode;
use crate::common::problem::{required, Problem, SqlState};
use crate::pg::guc;

/// One grouped row before the percentiles are read.
struct Group {
    start: TimestampWithTimeZone,
    end: TimestampWithTimeZone,
    name: Option<String>,
    method: Option<String>,
    bucket: Bucket,
}

type Out = (
    TimestampWithTimeZone,
    TimestampWithTimeZone,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    f64,
    f64,
    f64,
    f64,
    Option<f64>,
    Option<f64>,
    Option<f64>,
);

fn check_range(
    start_at: Option<TimestampWithTimeZone>,
    end_at: Option<TimestampWithTimeZone>,
    grain: Option<String>,
) -> (TimestampWithTimeZone, TimestampWithTimeZone, String) {
    let start = required(start_at, "start_at").or_raise();
    let end = required(end_at, "end_at").or_raise();
    let grain = required(grain, "grain").or_raise();
    if !["hour", "day", "week"].contains(&grain.as_str()) {
        raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                format!(
                    "unknown grain \"{}\"",
                    grain.chars().take(40).collect::<String>()
                ),
            )
            .hint("use hour, day or week"),
        );
    }
    if start.is_infinity() || start.is_neg_infinity() || end.is_infinity() || end.is_neg_infinity()
    {
        raise(
            Problem::new(
                SqlState::DatetimeFieldOverflow,
                "start_at and end_at must be finite",
            )
            .hint("pass a range such as now() - interval '7 days' and now()"),
        );
    }
    let (s, e): (i64, i64) = (start.into(), end.into());
    if s >= e {
        raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                "start_at must be before end_at",
            )
            .hint("the range is [start_at, end_at)"),
        );
    }
    let max_days = guc::max_query_days();
    if e - s > max_days * 86_400_000_000 {
        raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                format!("the range spans more than {max_days} days"),
            )
            .hint("query a shorter range, or ask an administrator to raise metrics.max_query_days"),
        );
    }
    (start, end, grain)
}

fn groups(sql: &str, args: Vec<pgrx::datum::DatumWithOid>, combined: bool) -> Vec<Group> {
    let rows = spi::read(sql, &args, |row| {
        Ok((
            row.get::<TimestampWithTimeZone>(1)?.expect("bucket start"),
            row.get::<TimestampWithTimeZone>(2)?.expect("bucket end"),
            row.get::<String>(3)?,
            row.get::<String>(4)?,
            Bucket {
                total: row.get::<i64>(5)?.unwrap_or(0) as u64,
                successful: row.get::<i64>(6)?.unwrap_or(0) as u64,
                failed: row.get::<i64>(7)?.unwrap_or(0) as u64,
                sum_ms: row.get::<f64>(8)?.unwrap_or(0.0),
                min_ms: row.get::<f64>(9)?.unwrap_or(f64::INFINITY),
                max_ms: row.get::<f64>(10)?.unwrap_or(f64::NEG_INFINITY),
                last_at: 0,
                sketch: row.get::<&[u8]>(11)?.map(decode).unwrap_or_default(),
            },
        ))
    });
    let mut out: Vec<Group> = Vec::new();
    for (start, end, name, method, bucket) in rows {
        let (name, method) = if combined {
            (None, None)
        } else {
            (name, method)
        };
        match out.last_mut() {
            Some(g)
                if i64::from(g.start) == i64::from(start)
                    && g.name == name
                    && g.method == method =>
            {
                g.bucket.merge(&bucket)
            }
            _ => out.push(Group {
                start,
                end,
                name,
                method,
                bucket,
            }),
        }
    }
    out
}

fn report(g: Group) -> Out {
    let b = &g.bucket;
    let clamp = |v: Option<f64>| v.map(|x| x.clamp(b.min_ms, b.max_ms));
    let q = b.sketch.quantiles(&[0.5, 0.95, 0.99]);
    (
        g.start,
        g.end,
        g.name,
        g.method,
        b.total as i64,
        b.successful as i64,
        b.failed as i64,
        if b.total == 0 {
            0.0
        } else {
            b.successful as f64 / b.total as f64
        },
        if b.total == 0 {
            0.0
        } else {
            b.sum_ms / b.total as f64
        },
        b.min_ms,
        b.max_ms,
        clamp(q[0]),
        clamp(q[1]),
        clamp(q[2]),
    )
}

/// The grouping part shared by both queries: $1 grain, $2 time zone, $3 start, $4 end.
const BUCKET_COLUMNS: &str = "
    pg_catalog.date_trunc($1, t.period_start, $2) AS bucket_start,
    ((pg_catalog.date_trunc($1, t.period_start, $2) AT TIME ZONE $2)
        + pg_catalog.concat('1 ', $1)::interval) AT TIME ZONE $2 AS bucket_end";

/// Requests per route and method, or all together, per hour, day or week.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn get_route_metrics(
    route: default!(Option<String>, "NULL"),
    method: default!(Option<String>, "NULL"),
    start_at: default!(Option<TimestampWithTimeZone>, "now() - interval '24 hours'"),
    end_at: default!(Option<TimestampWithTimeZone>, "now()"),
    grain: default!(Option<String>, "'hour'"),
    combined: default!(Option<bool>, "false"),
) -> TableIterator<
    'static,
    (
        name!(period_start, TimestampWithTimeZone),
        name!(period_end, TimestampWithTimeZone),
        name!(route, Option<String>),
        name!(method, Option<String>),
        name!(total_requests, i64),
        name!(successful, i64),
        name!(failed, i64),
        name!(success_rate, f64),
        name!(average_duration_ms, f64),
        name!(min_duration_ms, f64),
        name!(max_duration_ms, f64),
        name!(p50_ms, Option<f64>),
        name!(p95_ms, Option<f64>),
        name!(p99_ms, Option<f64>),
    ),
> {
    let (start, end, grain) = check_range(start_at, end_at, grain);
    if let Some(r) = &route {
        check_name(Subject::Route, r).or_raise();
    }
    let method = method.map(|m| check_method(&m).or_raise());
    let combined = combined.unwrap_or(false);
    let sql = format!(
        "SELECT {BUCKET_COLUMNS}, t.route, t.method, t.total_requests, t.successful, t.failed,
                t.total_duration_ms, t.min_duration_ms, t.max_duration_ms, t.latency_sketch
         FROM metrics.route_metrics AS t
         WHERE t.period_start < $4 AND t.period_end > $3
           AND ($5::text IS NULL OR t.route = $5) AND ($6::text IS NULL OR t.method = $6)
         ORDER BY 1{}",
        if combined { "" } else { ", t.route, t.method" }
    );
    let args = vec![
        grain.as_str().into(),
        guc::timezone().as_str().into(),
        start.into(),
        end.into(),
        route.as_deref().into(),
        method.as_deref().into(),
    ];
    TableIterator::new(groups(&sql, args, combined).into_iter().map(report))
}

/// Executions per operation, or all together, per hour, day or week.
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn get_operation_metrics(
    operation: default!(Option<String>, "NULL"),
    start_at: default!(Option<TimestampWithTimeZone>, "now() - interval '24 hours'"),
    end_at: default!(Option<TimestampWithTimeZone>, "now()"),
    grain: default!(Option<String>, "'hour'"),
    combined: default!(Option<bool>, "false"),
) -> TableIterator<
    'static,
    (
        name!(period_start, TimestampWithTimeZone),
        name!(period_end, TimestampWithTimeZone),
        name!(operation, Option<String>),
        name!(total_executions, i64),
        name!(successful, i64),
        name!(failed, i64),
        name!(success_rate, f64),
        name!(average_duration_ms, f64),
        name!(min_duration_ms, f64),
        name!(max_duration_ms, f64),
        name!(p50_ms, Option<f64>),
        name!(p95_ms, Option<f64>),
        name!(p99_ms, Option<f64>),
    ),
> {
    let (start, end, grain) = check_range(start_at, end_at, grain);
    if let Some(o) = &operation {
        check_name(Subject::Operation, o).or_raise();
    }
    let combined = combined.unwrap_or(false);
    let sql = format!(
        "SELECT {BUCKET_COLUMNS}, t.operation, NULL::text, t.total_executions, t.successful, t.failed,
                t.total_duration_ms, t.min_duration_ms, t.max_duration_ms, t.latency_sketch
         FROM metrics.operation_metrics AS t
         WHERE t.period_start < $4 AND t.period_end > $3
           AND ($5::text IS NULL OR t.operation = $5)
         ORDER BY 1{}",
        if combined { "" } else { ", t.operation" }
    );
    let args = vec![
        grain.as_str().into(),
        guc::timezone().as_str().into(),
        start.into(),
        end.into(),
        operation.as_deref().into(),
    ];
    TableIterator::new(
        groups(&sql, args, combined)
            .into_iter()
            .map(report)
            .map(|r| {
                (
                    r.0, r.1, r.2, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11, r.12, r.13,
                )
            }),
    )
}
