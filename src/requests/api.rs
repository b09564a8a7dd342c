//! Recording requests and operations: `metrics.record_route_metric(s)` and
//! `metrics.record_operation_metric(s)`.
//!
//! Every event is checked first (a batch as a whole: one bad event refuses all of them), then
//! added up per hour, then added either into the hour's row in the caller's transaction
//! (`metrics.ingest_mode = direct`) or into the shared-memory buffer (`buffered`), which a
//! background worker writes every `metrics.flush_interval`. Buffered mode needs the library in
//! `shared_preload_libraries` and works in `metrics.buffer_database`; elsewhere, and for
//! buckets that do not fit into a full buffer, events are written directly.

use std::cell::Cell;

use pgrx::prelude::*;

use crate::requests::buffer;
use crate::pg::raise::OrRaise;
use crate::requests::event::{aggregate, check_event, parse_batch, Event, Subject, Window};
use crate::common::problem::{required, Problem};
use crate::pg::guc::{self, IngestMode};
use crate::requests::store;

thread_local! {
    /// Whether this backend already warned that buffered mode is unavailable.
    static WARNED: Cell<bool> = const { Cell::new(false) };
}

fn window() -> Window {
    let (max_age, max_ahead) = guc::event_window_micros();
    Window {
        now: store::now_micros(),
        max_age,
        max_ahead,
    }
}

/// Adds checked events where the ingest mode says; returns how many were recorded.
fn record(subject: Subject, events: &[Event]) -> i64 {
    let buckets = aggregate(events);
    if guc::ingest_mode() == IngestMode::Buffered {
        match buffer::availability() {
            Ok(()) => {
                let left: Vec<_> = buckets
                    .iter()
                    .filter(|(key, bucket)| !buffer::add(subject, key, bucket))
                    .collect();
                // What did not fit into a full buffer is written now rather than lost.
                store::add(subject, left);
                return events.len() as i64;
            }
            Err(why) => {
                if !WARNED.replace(true) {
                    warning!("metrics: metrics.ingest_mode is buffered but {why}; recording directly in this session");
                }
            }
        }
    }
    store::add(subject, &buckets);
    events.len() as i64
}

fn duration(value: Option<f64>) -> f64 {
    required(value, "duration_ms").or_raise()
}

/// Records one request to a route. Durable with the caller's commit in direct mode.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn record_route_metric(
    route: Option<String>,
    method: Option<String>,
    success: Option<bool>,
    duration_ms: Option<f64>,
) {
    let route = required(route, "route").or_raise();
    let method = required(method, "method").or_raise();
    let success = required(success, "success").or_raise();
    let event = check_event(
        Subject::Route,
        &route,
        Some(&method),
        success,
        duration(duration_ms),
        store::now_micros(),
        window(),
    )
    .or_raise();
    record(Subject::Route, &[event]);
}

/// Records one execution of an operation.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn record_operation_metric(
    operation: Option<String>,
    success: Option<bool>,
    duration_ms: Option<f64>,
) {
    let operation = required(operation, "operation").or_raise();
    let success = required(success, "success").or_raise();
    let event = check_event(
        Subject::Operation,
        &operation,
        None,
        success,
        duration(duration_ms),
        store::now_micros(),
        window(),
    )
    .or_raise();
    record(Subject::Operation, &[event]);
}

fn record_batch(subject: Subject, events: Option<pgrx::JsonB>) -> i64 {
    let Some(pgrx::JsonB(events)) = events else {
        crate::pg::raise::raise(
            Problem::null_argument("events")
                .hint("pass a JSON array of events; [] records nothing"),
        );
    };
    let events = parse_batch(subject, &events, window()).or_raise();
    if events.is_empty() {
        return 0;
    }
    record(subject, &events)
}

/// Records a batch of requests: a JSON array of `{route, method, success, duration_ms, at}`
/// (`at` optional). All or nothing; returns the number of events recorded.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn record_route_metrics(events: Option<pgrx::JsonB>) -> i64 {
    record_batch(Subject::Route, events)
}

/// Records a batch of operation executions: `{operation, success, duration_ms, at}`.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn record_operation_metrics(events: Option<pgrx::JsonB>) -> i64 {
    record_batch(Subject::Operation, events)
}
