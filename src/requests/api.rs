//! The SQL functions of request and operation metrics: recording (`record`), the reports
//! (`read`), and the functions over latency sketches, which run no SQL and so need no
//! pinned `search_path` (a `SET` clause would cost a settings save and restore on every call
//! of the upsert's merge).

use pgrx::prelude::*;

use crate::common::problem::{required, Problem, SqlState};
use crate::pg::datum::{finite_micros, now_micros};
use crate::pg::guc;
use crate::pg::raise::{raise, OrRaise};
use crate::requests::bucket::whole_micros;
use crate::requests::event::{
    check_duration, check_event, check_method, check_name, Event, Subject,
};
use crate::requests::fold;
use crate::requests::read::{self, Query};
use crate::requests::record::{record_batch, record_one, window};
use crate::requests::report::{check_quantile, check_range, ReportGrain};
use crate::requests::sketch::LatencySketch;
use crate::requests::sketch_encoding::merge_encoded;

/// One event given as arguments, checked, at now: a route's (with its method) or an
/// operation's (no method).
fn event_now(
    subject: Subject,
    name: Option<String>,
    method: Option<Option<String>>,
    success: Option<bool>,
    duration_ms: Option<f64>,
) -> Event {
    let name = required(name, subject.name_key()).or_raise();
    let method = method.map(|m| required(m, "method").or_raise());
    let success = required(success, "success").or_raise();
    let duration_ms = required(duration_ms, "duration_ms").or_raise();
    check_event(
        subject,
        &name,
        method.as_deref(),
        success,
        duration_ms,
        now_micros(),
        window(),
    )
    .or_raise()
}

/// Records one request to a route, of a project (slug or id) or of none. Durable with the
/// caller's commit in direct mode.
///
/// SECURITY INVOKER, and no SET clause: the SQL it runs (a direct write, a project lookup)
/// runs with the owner's rights and a pinned search_path (`identity::as_owner`), and a
/// buffered call, which runs none, does not pay for a settings save and restore on every
/// request. EXECUTE is the gate, as for the SECURITY DEFINER functions.
#[pg_extern(volatile, parallel_unsafe, name = "record_route_metric")]
fn record_route_event(
    route: Option<String>,
    method: Option<String>,
    success: Option<bool>,
    duration_ms: Option<f64>,
    project: default!(Option<String>, "NULL"),
) {
    let event = event_now(Subject::Route, route, Some(method), success, duration_ms);
    record_one(Subject::Route, event, project.as_deref());
}

/// Records one execution of an operation, of a project or of none (as `record_route_metric`:
/// SECURITY INVOKER, the owner's rights only around its SQL).
#[pg_extern(volatile, parallel_unsafe, name = "record_operation_metric")]
fn record_operation_event(
    operation: Option<String>,
    success: Option<bool>,
    duration_ms: Option<f64>,
    project: default!(Option<String>, "NULL"),
) {
    let event = event_now(Subject::Operation, operation, None, success, duration_ms);
    record_one(Subject::Operation, event, project.as_deref());
}

/// Records a batch of requests: a JSON array of `{route, method, success, duration_ms, at,
/// project}` (`at` and `project` optional) or of summaries (`metrics_core::requests::summary`).
/// All or nothing; returns the number of events recorded. With a `batch_id`, a batch already
/// recorded with that id records nothing and returns the first call's count.
#[pg_extern(
    security_definer,
    volatile,
    parallel_unsafe,
    name = "record_route_metrics"
)]
#[search_path(pg_catalog, pg_temp)]
fn record_route_batch(
    events: Option<pgrx::JsonB>,
    batch_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> i64 {
    record_batch(Subject::Route, events, batch_id)
}

/// Records a batch of operation executions: `{operation, success, duration_ms, at, project}`
/// or summaries, once per `batch_id`.
#[pg_extern(
    security_definer,
    volatile,
    parallel_unsafe,
    name = "record_operation_metrics"
)]
#[search_path(pg_catalog, pg_temp)]
fn record_operation_batch(
    events: Option<pgrx::JsonB>,
    batch_id: default!(Option<pgrx::Uuid>, "NULL"),
) -> i64 {
    record_batch(Subject::Operation, events, batch_id)
}

/// Folds what direct recording appended into the hour rows (`fold`), at most `max_rows` rows
/// per family (NULL: every row), in the caller's transaction; forgets batch ids past their
/// retention. One row per family: unfolded rows folded, the events they held, hour rows
/// written.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn fold_metrics(
    max_rows: default!(Option<i32>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(family, String),
        name!(rows_folded, i64),
        name!(events, i64),
        name!(hour_rows, i64),
    ),
> {
    let done = match max_rows {
        None => fold::fold_all().to_vec(),
        Some(n) if n >= 1 => [Subject::Route, Subject::Operation]
            .map(|s| (s, fold::fold(s, n.into(), true).unwrap_or_default()))
            .to_vec(),
        Some(n) => raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                format!("max_rows must be a positive number, not {n}"),
            )
            .hint("pass NULL to fold every unfolded row"),
        ),
    };
    TableIterator::new(
        done.into_iter()
            .map(|(s, f)| (fold::family(s).to_string(), f.rows, f.events, f.buckets)),
    )
}

/// The checked query of a report: a grain, a finite range of at most
/// `metrics.max_query_days` days, names that could have been recorded, and the project
/// (resolved as the caller: `metrics.project_id`), if one is named.
#[allow(clippy::too_many_arguments)]
fn query(
    subject: Subject,
    name: Option<String>,
    method: Option<String>,
    start_at: Option<TimestampWithTimeZone>,
    end_at: Option<TimestampWithTimeZone>,
    grain: Option<String>,
    combined: Option<bool>,
    project: Option<String>,
) -> Query {
    let start = required(start_at, "start_at").or_raise();
    let end = required(end_at, "end_at").or_raise();
    let grain = ReportGrain::parse(&required(grain, "grain").or_raise()).or_raise();
    check_range(
        finite_micros(start),
        finite_micros(end),
        guc::max_query_days(),
    )
    .or_raise();
    if let Some(n) = &name {
        check_name(subject, n).or_raise();
    }
    Query {
        subject,
        name,
        method: method.map(|m| check_method(&m).or_raise()),
        start,
        end,
        grain,
        combined: combined.unwrap_or(false),
        project: project.map(|p| read::project_of_caller(&p)),
    }
}

/// A row of `get_route_metrics`: the period, route and method, counts, durations, the
/// percentiles, and the resolution of the rows it was made of.
type RouteRow = (
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
    String,
);

fn route_row(r: read::ReportRow) -> RouteRow {
    let s = r.stats;
    (
        r.start,
        r.end,
        r.name,
        r.method,
        s.total,
        s.successful,
        s.failed,
        s.success_rate,
        s.average_ms,
        s.min_ms,
        s.max_ms,
        s.p50_ms,
        s.p95_ms,
        s.p99_ms,
        r.resolution.to_string(),
    )
}

/// A row of `get_operation_metrics` (as a route's, without the method).
type OperationRow = (
    TimestampWithTimeZone,
    TimestampWithTimeZone,
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
    String,
);

fn operation_row(r: read::ReportRow) -> OperationRow {
    let (a, b, name, _, n, ok, failed, rate, avg, min, max, p50, p95, p99, res) = route_row(r);
    (
        a, b, name, n, ok, failed, rate, avg, min, max, p50, p95, p99, res,
    )
}

/// Requests per route and method, or all together, per hour, day or week, of one project
/// (slug or id) or of every project and none together (NULL); `resolution` says whether a
/// row was made of hours or of compacted days or weeks.
#[pg_extern(stable, parallel_safe, name = "get_route_metrics")]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn route_metrics_report(
    route: default!(Option<String>, "NULL"),
    method: default!(Option<String>, "NULL"),
    start_at: default!(Option<TimestampWithTimeZone>, "now() - interval '24 hours'"),
    end_at: default!(Option<TimestampWithTimeZone>, "now()"),
    grain: default!(Option<String>, "'hour'"),
    combined: default!(Option<bool>, "false"),
    project: default!(Option<String>, "NULL"),
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
        name!(resolution, String),
    ),
> {
    let q = query(
        Subject::Route,
        route,
        method,
        start_at,
        end_at,
        grain,
        combined,
        project,
    );
    TableIterator::new(read::report(&q).into_iter().map(route_row))
}

/// Executions per operation, or all together, per hour, day or week, of one project or of
/// all together (NULL), with the resolution of the rows each was made of.
#[pg_extern(stable, parallel_safe, name = "get_operation_metrics")]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn operation_metrics_report(
    operation: default!(Option<String>, "NULL"),
    start_at: default!(Option<TimestampWithTimeZone>, "now() - interval '24 hours'"),
    end_at: default!(Option<TimestampWithTimeZone>, "now()"),
    grain: default!(Option<String>, "'hour'"),
    combined: default!(Option<bool>, "false"),
    project: default!(Option<String>, "NULL"),
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
        name!(resolution, String),
    ),
> {
    let q = query(
        Subject::Operation,
        operation,
        None,
        start_at,
        end_at,
        grain,
        combined,
        project,
    );
    TableIterator::new(read::report(&q).into_iter().map(operation_row))
}

/// The batch functions as 0.6.0 and earlier declared them (without `batch_id`), bound to
/// these symbols by their install scripts, for a database that has the new library but has
/// not run `ALTER EXTENSION metrics UPDATE` yet. No SQL of this version.
mod before_070 {
    use super::*;

    #[pg_extern(volatile, parallel_unsafe, sql = false)]
    fn record_route_metrics(events: Option<pgrx::JsonB>) -> i64 {
        record_batch(Subject::Route, events, None)
    }

    #[pg_extern(volatile, parallel_unsafe, sql = false)]
    fn record_operation_metrics(events: Option<pgrx::JsonB>) -> i64 {
        record_batch(Subject::Operation, events, None)
    }
}

/// The report functions as 0.3.0 and earlier declared them (without `resolution`), which
/// their install scripts bind to these symbols: a database that has the new library but has
/// not run `ALTER EXTENSION metrics UPDATE` yet keeps calling them. No SQL of this version.
mod before_040 {
    use super::*;

    #[pg_extern(stable, parallel_safe, sql = false)]
    #[allow(clippy::type_complexity)]
    fn get_route_metrics(
        route: Option<String>,
        method: Option<String>,
        start_at: Option<TimestampWithTimeZone>,
        end_at: Option<TimestampWithTimeZone>,
        grain: Option<String>,
        combined: Option<bool>,
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
        let q = query(
            Subject::Route,
            route,
            method,
            start_at,
            end_at,
            grain,
            combined,
            None,
        );
        TableIterator::new(read::report(&q).into_iter().map(|r| {
            let (a, b, c, d, e, f, g, h, i, j, k, l, m, n, _) = route_row(r);
            (a, b, c, d, e, f, g, h, i, j, k, l, m, n)
        }))
    }

    #[pg_extern(stable, parallel_safe, sql = false)]
    #[allow(clippy::type_complexity)]
    fn get_operation_metrics(
        operation: Option<String>,
        start_at: Option<TimestampWithTimeZone>,
        end_at: Option<TimestampWithTimeZone>,
        grain: Option<String>,
        combined: Option<bool>,
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
        let q = query(
            Subject::Operation,
            operation,
            None,
            start_at,
            end_at,
            grain,
            combined,
            None,
        );
        TableIterator::new(read::report(&q).into_iter().map(|r| {
            let (a, b, c, d, e, f, g, h, i, j, k, l, m, _) = operation_row(r);
            (a, b, c, d, e, f, g, h, i, j, k, l, m)
        }))
    }
}

/// The functions as 0.4.0 and 0.5.0 declared them (without a project), which their install
/// scripts bind to these symbols: a database that has the new library but has not run
/// `ALTER EXTENSION metrics UPDATE` yet keeps calling them. No SQL of this version.
mod before_060 {
    use super::*;

    #[pg_extern(volatile, parallel_unsafe, sql = false)]
    fn record_route_metric(
        route: Option<String>,
        method: Option<String>,
        success: Option<bool>,
        duration_ms: Option<f64>,
    ) {
        let event = event_now(Subject::Route, route, Some(method), success, duration_ms);
        record_one(Subject::Route, event, None);
    }

    #[pg_extern(volatile, parallel_unsafe, sql = false)]
    fn record_operation_metric(
        operation: Option<String>,
        success: Option<bool>,
        duration_ms: Option<f64>,
    ) {
        let event = event_now(Subject::Operation, operation, None, success, duration_ms);
        record_one(Subject::Operation, event, None);
    }

    #[pg_extern(stable, parallel_safe, sql = false)]
    #[allow(clippy::type_complexity)]
    fn route_report(
        route: Option<String>,
        method: Option<String>,
        start_at: Option<TimestampWithTimeZone>,
        end_at: Option<TimestampWithTimeZone>,
        grain: Option<String>,
        combined: Option<bool>,
    ) -> TableIterator<
        'static,
        (
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
            String,
        ),
    > {
        route_metrics_report(route, method, start_at, end_at, grain, combined, None)
    }

    #[pg_extern(stable, parallel_safe, sql = false)]
    #[allow(clippy::type_complexity)]
    fn operation_report(
        operation: Option<String>,
        start_at: Option<TimestampWithTimeZone>,
        end_at: Option<TimestampWithTimeZone>,
        grain: Option<String>,
        combined: Option<bool>,
    ) -> TableIterator<
        'static,
        (
            TimestampWithTimeZone,
            TimestampWithTimeZone,
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
            String,
        ),
    > {
        operation_metrics_report(operation, start_at, end_at, grain, combined, None)
    }
}

/// The sketch of one duration in milliseconds (0 to a day): what an event's row of the
/// unfolded tables stands for in the `_live` views, and a start for your own sketches.
#[pg_extern(immutable, parallel_safe, strict)]
fn latency_sketch_of(duration_ms: f64) -> Vec<u8> {
    check_duration(duration_ms).or_raise();
    let mut sketch = LatencySketch::new();
    sketch.add(whole_micros(duration_ms));
    sketch.to_bytes()
}

/// Merges two sketches; NULL stands for an empty one (so the aggregate skips NULL rows).
#[pg_extern(immutable, parallel_safe)]
fn merge_latency_sketch(a: Option<&[u8]>, b: Option<&[u8]>) -> Option<Vec<u8>> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(read::decode(x).to_bytes()),
        (Some(x), Some(y)) => Some(merge_encoded(x, y).unwrap_or_else(|e| read::refuse(e))),
    }
}

/// The q-quantile (0 <= q <= 1) of the durations a sketch holds, in milliseconds, within
/// the sketch's relative accuracy; NULL for an empty sketch.
#[pg_extern(immutable, parallel_safe)]
fn latency_quantile(sketch: Option<&[u8]>, q: Option<f64>) -> Option<f64> {
    let q = q?;
    check_quantile(q).or_raise();
    read::decode(sketch?).quantile(q)
}
