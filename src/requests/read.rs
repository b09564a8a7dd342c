//! The read side of route and operation metrics: the reports, one engine for both: the hour rows overlapping
//! `[start, end)` are grouped per hour, day or week (days and weeks in `metrics.timezone`),
//! per route and method (or per operation), or all together (`combined`). Counts and sums add
//! up; the percentiles come from the merged latency sketches (`metrics_core::requests::report`),
//! so they hold within the sketch's relative accuracy at any grain and across routes. The
//! callers are STABLE and SECURITY INVOKER: they see what RLS lets them see (administrators).

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiHeapTupleData, SpiResult};

use crate::common::problem::{Problem, SqlState};
use crate::pg::datum::unix_micros;
use crate::pg::guc;
use crate::pg::raise::{raise, OrRaise};
use crate::pg::spi::{not_null, stable as spi};
use crate::requests::bucket::{Bucket, Totals};
use crate::requests::event::Subject;
use crate::requests::report::{ReportGrain, Stats};
use crate::requests::sketch::LatencySketch;
use crate::requests::sketch_encoding::SketchError;

/// Decodes a stored sketch, or explains that the bytes are not one (22P03).
pub fn decode(bytes: &[u8]) -> LatencySketch {
    LatencySketch::from_bytes(bytes).unwrap_or_else(|e| refuse(e))
}

/// Raises the error for bytes that are not a latency sketch.
pub fn refuse(e: SketchError) -> ! {
    raise(
        Problem::new(
            SqlState::InvalidBinaryRepresentation,
            format!("not a latency sketch: {}", e.message()),
        )
        .hint(
            "pass the latency_sketch column of metrics.route_metrics or metrics.operation_metrics",
        ),
    )
}

/// The sketch of a stored hour row: bytes the extension did not write are a corrupt row,
/// named by its key (`$3` route, method or operation, and the hour), not the caller's error.
fn stored_sketch(subject: Subject, row: &SpiHeapTupleData) -> SpiResult<LatencySketch> {
    let bytes: &[u8] = not_null(row, 12)?;
    Ok(LatencySketch::from_bytes(bytes)
        .map_err(|e| {
            let (table, key) = match subject {
                Subject::Route => ("route_metrics", "(route, method, hour)"),
                Subject::Operation => ("operation_metrics", "(operation, hour)"),
            };
            let name: Option<String> = row.get(3).ok().flatten();
            let method: Option<String> = row.get(4).ok().flatten();
            let hour: Option<TimestampWithTimeZone> = row.get(13).ok().flatten();
            let shown = [name, method, hour.map(|h| h.to_iso_string())]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            Problem::corrupt_row(
                table,
                &format!("{key} = ({shown})"),
                format!("latency_sketch is not a sketch: {}", e.message()),
                "the hour's row was written around the extension; its owner can delete it",
            )
        })
        .or_raise())
}

/// What a report reads: which rows (a route or operation, a method) and how to group them.
pub struct Query {
    pub subject: Subject,
    pub name: Option<String>,
    pub method: Option<String>,
    pub start: TimestampWithTimeZone,
    pub end: TimestampWithTimeZone,
    pub grain: ReportGrain,
    pub combined: bool,
}

/// One row of a report: a period, the route and method or the operation (NULL when
/// combined), and its numbers.
pub struct ReportRow {
    pub start: TimestampWithTimeZone,
    pub end: TimestampWithTimeZone,
    pub name: Option<String>,
    pub method: Option<String>,
    pub stats: Stats,
}

/// The statement of a report: `$1` grain, `$2` time zone, `$3` start, `$4` end, `$5` the name
/// and (routes) `$6` the method to keep, in period (then name and method) order.
fn statement(subject: Subject, combined: bool) -> String {
    let (table, name, method, total, last, filter) = match subject {
        Subject::Route => (
            "route_metrics",
            "t.route",
            "t.method",
            "t.total_requests",
            "t.last_request_at",
            "($5::text IS NULL OR t.route = $5) AND ($6::text IS NULL OR t.method = $6)",
        ),
        Subject::Operation => (
            "operation_metrics",
            "t.operation",
            "NULL::text",
            "t.total_executions",
            "t.last_execution_at",
            "($5::text IS NULL OR t.operation = $5)",
        ),
    };
    let order = match (combined, subject) {
        (true, _) => String::new(),
        (false, Subject::Route) => format!(", {name}, {method}"),
        (false, Subject::Operation) => format!(", {name}"),
    };
    format!(
        "SELECT pg_catalog.date_trunc($1, t.period_start, $2) AS bucket_start,
                ((pg_catalog.date_trunc($1, t.period_start, $2) AT TIME ZONE $2)
                    + pg_catalog.concat('1 ', $1)::interval) AT TIME ZONE $2 AS bucket_end,
                {name}, {method}, {total}, t.successful, t.failed,
                t.total_duration_ms, t.min_duration_ms, t.max_duration_ms, {last}, t.latency_sketch,
                t.period_start
         FROM metrics.{table} AS t
         WHERE t.period_start < $4 AND t.period_end > $3 AND {filter}
         ORDER BY 1{order}"
    )
}

/// Hour rows of one period (and name and method, unless combined), merged.
struct Group {
    start: TimestampWithTimeZone,
    end: TimestampWithTimeZone,
    name: Option<String>,
    method: Option<String>,
    bucket: Bucket,
}

/// The hour rows, in period (then name and method) order, each as a group of one.
fn hour_rows(q: &Query) -> Vec<Group> {
    let mut args: Vec<DatumWithOid> = vec![
        q.grain.as_str().into(),
        guc::timezone().into(),
        q.start.into(),
        q.end.into(),
        q.name.as_deref().into(),
    ];
    if q.subject == Subject::Route {
        args.push(q.method.as_deref().into());
    }
    spi::rows(&statement(q.subject, q.combined), &args, |row| {
        let totals = Totals {
            total: not_null::<i64>(row, 5)? as u64,
            successful: not_null::<i64>(row, 6)? as u64,
            failed: not_null::<i64>(row, 7)? as u64,
            sum_ms: not_null(row, 8)?,
            min_ms: not_null(row, 9)?,
            max_ms: not_null(row, 10)?,
            last_at: unix_micros(not_null(row, 11)?),
        };
        Ok(Group {
            start: not_null(row, 1)?,
            end: not_null(row, 2)?,
            name: row.get(3)?,
            method: row.get(4)?,
            bucket: Bucket {
                totals,
                sketch: stored_sketch(q.subject, row)?,
            },
        })
    })
}

/// The report: hour rows merged per period (and per name and method unless combined).
pub fn report(q: &Query) -> Vec<ReportRow> {
    let mut groups: Vec<Group> = Vec::new();
    for mut row in hour_rows(q) {
        if q.combined {
            (row.name, row.method) = (None, None);
        }
        match groups.last_mut() {
            Some(g)
                if i64::from(g.start) == i64::from(row.start)
                    && g.name == row.name
                    && g.method == row.method =>
            {
                g.bucket.merge(&row.bucket)
            }
            _ => groups.push(row),
        }
    }
    groups
        .into_iter()
        .map(|g| ReportRow {
            stats: Stats::of(&g.bucket),
            start: g.start,
            end: g.end,
            name: g.name,
            method: g.method,
        })
        .collect()
}
