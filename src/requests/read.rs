//! The read side of route and operation metrics: the reports, one engine for both: the rows
//! (folded and unfolded alike, `metrics.route_metrics_live`) overlapping
//! `[start, end)` are grouped per hour, day or week (days and weeks in `metrics.timezone`),
//! per route and method (or per operation), or all together (`combined`). Counts and sums add
//! up; the percentiles come from the merged latency sketches (`metrics_core::requests::report`),
//! so they hold within the sketch's relative accuracy at any grain and across routes. The
//! callers are STABLE and SECURITY INVOKER: they see what RLS lets them see (administrators).
//!
//! Compacted rows (a day or an ISO week, `resolution`) go into the period of the grain that
//! holds them whole; a row coarser than the grain (a day asked per hour) or made in another
//! zone is returned as its own period, never split into invented hours. Each report row
//! names the coarsest resolution it was made of.
//!
//! A report of one project reads that project's rows; without one it reads every row, of
//! every project and of none, merged per (period, name, method) as one: the same answer as
//! before projects existed.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiHeapTupleData, SpiResult};

use crate::common::problem::{Problem, SqlState};
use crate::pg::datum::unix_micros;
use crate::pg::guc;
use crate::pg::raise::{raise, OrRaise};
use crate::pg::spi::{not_null, stable as spi};
use crate::requests::bucket::{Bucket, Totals};
use crate::requests::event::{ProjectId, Subject};
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

/// The sketch of a stored row: bytes the extension did not write are a corrupt row, named
/// by its key (route, method or operation, and the period's start), not the caller's error.
fn stored_sketch(subject: Subject, row: &SpiHeapTupleData) -> SpiResult<LatencySketch> {
    let bytes: &[u8] = not_null(row, 13)?;
    Ok(LatencySketch::from_bytes(bytes)
        .map_err(|e| {
            let (table, key) = match subject {
                Subject::Route => ("route_metrics", "(route, method, hour)"),
                Subject::Operation => ("operation_metrics", "(operation, hour)"),
            };
            let name: Option<String> = row.get(4).ok().flatten();
            let method: Option<String> = row.get(5).ok().flatten();
            let hour: Option<TimestampWithTimeZone> = row.get(14).ok().flatten();
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

/// The totals of a stored row whose columns from `first` (1-based) are the count, the
/// successful and failed counts, the sum, minimum and maximum duration and the last event's
/// time, as every statement over the hour rows selects them.
pub fn totals_at(row: &SpiHeapTupleData, first: usize) -> SpiResult<Totals> {
    Ok(Totals {
        total: not_null::<i64>(row, first)? as u64,
        successful: not_null::<i64>(row, first + 1)? as u64,
        failed: not_null::<i64>(row, first + 2)? as u64,
        sum_ms: not_null(row, first + 3)?,
        min_ms: not_null(row, first + 4)?,
        max_ms: not_null(row, first + 5)?,
        last_at: unix_micros(not_null(row, first + 6)?),
    })
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
    /// Only this project's rows (`None`: every row).
    pub project: Option<ProjectId>,
}

/// The id of a project named by slug or id, among those the caller reads
/// (`metrics.project_id`, as the caller: these reports are SECURITY INVOKER): 42704 for one
/// that does not exist or that the caller may not read.
pub fn project_of_caller(project: &str) -> ProjectId {
    let id = spi::value::<pgrx::Uuid>("SELECT metrics.project_id($1)", &[project.into()]);
    *id.expect("metrics.project_id returns an id or raises")
        .as_bytes()
}

/// One row of a report: a period, the route and method or the operation (NULL when
/// combined), its numbers, and the coarsest resolution of the rows it was made of.
pub struct ReportRow {
    pub start: TimestampWithTimeZone,
    pub end: TimestampWithTimeZone,
    pub name: Option<String>,
    pub method: Option<String>,
    pub stats: Stats,
    pub resolution: &'static str,
}

/// The resolutions of stored rows, finest first.
const RESOLUTIONS: [&str; 3] = ["hour", "day", "week"];

fn resolution_rank(text: &str) -> usize {
    RESOLUTIONS.iter().position(|r| *r == text).unwrap_or(0)
}

/// Whether `metrics.route_metrics` has a column (the operation table has the same ones).
fn has_column(column: &str) -> bool {
    spi::value::<bool>(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute
                        WHERE attrelid = 'metrics.route_metrics'::pg_catalog.regclass
                          AND attname = $1 AND NOT attisdropped)",
        &[column.into()],
    )
    .unwrap_or(false)
}

/// Whether the tables have 0.4.0's `resolution` column: before `ALTER EXTENSION metrics
/// UPDATE`, the new library reads the old tables, whose rows are all hours.
pub fn has_resolution() -> bool {
    has_column("resolution")
}

/// Whether the tables have 0.6.0's `project_id` column (see `has_resolution`).
pub fn has_projects() -> bool {
    has_column("project_id")
}

/// Whether this database has 0.7.0's views of the folded and unfolded rows together
/// (`metrics.route_metrics_live`, sql/requests/unfolded.sql), which reports read, and so its
/// unfolded tables, which direct recording appends to (`fold::installed`). Once found, not
/// asked again in this backend.
pub fn has_live() -> bool {
    thread_local! {
        static FOUND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if FOUND.get() {
        return true;
    }
    let found = spi::value::<bool>(
        "SELECT pg_catalog.to_regclass('metrics.route_metrics_live') IS NOT NULL",
        &[],
    )
    .unwrap_or(false);
    FOUND.set(found);
    found
}

/// The period a row goes into: the grain's that holds it whole (an hour row by its start,
/// as always), else the row's own. Before 0.4.0 every row is an hour.
fn bucket_columns(compacted: bool) -> &'static str {
    if !compacted {
        return "pg_catalog.date_trunc($1, t.period_start, $2) AS bucket_start,
                ((pg_catalog.date_trunc($1, t.period_start, $2) AT TIME ZONE $2)
                    + pg_catalog.concat('1 ', $1)::interval) AT TIME ZONE $2 AS bucket_end,
                'hour'::text AS resolution";
    }
    "CASE WHEN w.whole THEN pg_catalog.date_trunc($1, t.period_start, $2) ELSE t.period_start END AS bucket_start,
     CASE WHEN w.whole THEN ((pg_catalog.date_trunc($1, t.period_start, $2) AT TIME ZONE $2)
                              + pg_catalog.concat('1 ', $1)::interval) AT TIME ZONE $2
          ELSE t.period_end END AS bucket_end,
     t.resolution"
}

/// The statement of a report: `$1` grain, `$2` time zone, `$3` start, `$4` end, `$5` the name
/// and (routes) `$6` the method to keep, and when `scoped` the project after them, in period,
/// then name and method, then time order (the order compaction merges a key's rows in, so a
/// key's day reads the same after it).
fn statement(
    subject: Subject,
    combined: bool,
    compacted: bool,
    scoped: bool,
    live: bool,
) -> String {
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
    let project = match (scoped, subject) {
        (false, _) => "",
        (true, Subject::Route) => " AND t.project_id = $7",
        (true, Subject::Operation) => " AND t.project_id = $6",
    };
    let whole = if compacted {
        ", LATERAL (SELECT t.resolution = 'hour'
                      OR pg_catalog.date_trunc($1, t.period_start, $2)
                         = pg_catalog.date_trunc($1, t.period_end - interval '1 microsecond', $2) AS whole) AS w"
    } else {
        ""
    };
    format!(
        "SELECT {buckets},
                {name}, {method}, {total}, t.successful, t.failed,
                t.total_duration_ms, t.min_duration_ms, t.max_duration_ms, {last}, t.latency_sketch,
                t.period_start
         FROM metrics.{table}{source} AS t{whole}
         WHERE t.period_start < $4 AND t.period_end > $3 AND {filter}{project}
         ORDER BY 1{order}, t.period_start",
        buckets = bucket_columns(compacted),
        source = if live { "_live" } else { "" },
    )
}

/// Rows of one period (and name and method, unless combined), merged.
struct Group {
    start: TimestampWithTimeZone,
    end: TimestampWithTimeZone,
    name: Option<String>,
    method: Option<String>,
    bucket: Bucket,
    resolution: usize,
}

/// The rows, in period (then name and method, then time) order, each as a group of one.
fn stored_rows(q: &Query) -> Vec<Group> {
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
    args.extend(q.project.map(crate::requests::store::project_argument));
    let sql = statement(
        q.subject,
        q.combined,
        has_resolution(),
        q.project.is_some(),
        has_live(),
    );
    spi::rows(&sql, &args, |row| {
        let totals = totals_at(row, 6)?;
        let resolution: String = not_null(row, 3)?;
        Ok(Group {
            start: not_null(row, 1)?,
            end: not_null(row, 2)?,
            name: row.get(4)?,
            method: row.get(5)?,
            bucket: Bucket {
                totals,
                sketch: stored_sketch(q.subject, row)?,
            },
            resolution: resolution_rank(&resolution),
        })
    })
}

/// The report: rows merged per period (and per name and method unless combined).
pub fn report(q: &Query) -> Vec<ReportRow> {
    let mut groups: Vec<Group> = Vec::new();
    for mut row in stored_rows(q) {
        if q.combined {
            (row.name, row.method) = (None, None);
        }
        match groups.last_mut() {
            Some(g)
                if i64::from(g.start) == i64::from(row.start)
                    && g.name == row.name
                    && g.method == row.method =>
            {
                g.bucket.merge(&row.bucket);
                if i64::from(row.end) > i64::from(g.end) {
                    g.end = row.end;
                }
                g.resolution = g.resolution.max(row.resolution);
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
            resolution: RESOLUTIONS[g.resolution],
        })
        .collect()
}
