//! Where recorded events go. Every event is checked first (a batch as a whole: one bad event
//! refuses all of them), then added up per hour, then added either into the hour's row in the
//! caller's transaction (`metrics.ingest_mode = direct`, `store`) or into the shared-memory
//! buffer (`buffered`, `buffer`), which a background worker writes every
//! `metrics.flush_interval`. Buffered mode needs the library in `shared_preload_libraries` and
//! works in `metrics.buffer_database`; elsewhere, and for buckets that do not fit into a full
//! buffer, events are written directly.
//!
//! An event may name its project: the projects of a batch are resolved first, each once
//! (`project`), and a batch naming one that does not exist is refused as a whole, before
//! anything is written.

use std::cell::Cell;

use pgrx::prelude::*;

use crate::common::problem::Problem;
use crate::pg::datum::now_micros;
use crate::pg::guc::{self, IngestMode};
use crate::pg::raise::{raise, OrRaise};
use crate::requests::batch::{parse_batch, unknown_project, unknown_project_at};
use crate::requests::bucket::aggregate;
use crate::requests::buffer;
use crate::requests::event::{Event, Subject, Window};
use crate::requests::{project, store};

thread_local! {
    /// Whether this backend already warned that buffered mode is unavailable.
    static WARNED: Cell<bool> = const { Cell::new(false) };
}

/// The window an event's time must lie in, around now (the settings `metrics.max_event_age`
/// and `metrics.max_event_lead`).
pub fn window() -> Window {
    let (max_age, max_ahead) = guc::event_window_micros();
    Window {
        now: now_micros(),
        max_age,
        max_ahead,
    }
}

/// Adds checked events where the ingest mode says; returns how many were recorded.
pub fn record(subject: Subject, events: &[Event]) -> i64 {
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

/// Records a JSON batch of events, checked as a whole; returns how many were recorded.
pub fn record_batch(subject: Subject, events: Option<pgrx::JsonB>) -> i64 {
    let Some(pgrx::JsonB(events)) = events else {
        raise(
            Problem::null_argument("events")
                .hint("pass a JSON array of events; [] records nothing"),
        );
    };
    let mut batch = parse_batch(subject, &events, window()).or_raise();
    if batch.events.is_empty() {
        return 0;
    }
    if !batch.projects.is_empty() {
        let names: Vec<&str> = batch.projects.iter().map(|(n, _)| n.as_str()).collect();
        let ids = project::resolve(&names);
        let mut found = Vec::with_capacity(ids.len());
        for ((name, first), id) in batch.projects.iter().zip(ids) {
            match id {
                Some(id) => found.push(id),
                None => raise(unknown_project_at(*first, name)),
            }
        }
        batch.assign(&found);
    }
    record(subject, &batch.events)
}

/// Records one checked event, of the named project (slug or id) if any.
pub fn record_one(subject: Subject, mut event: Event, project: Option<&str>) {
    if let Some(name) = project {
        let id = project::resolve(&[name]).pop().flatten();
        event.project = Some(id.unwrap_or_else(|| raise(unknown_project(name))));
    }
    record(subject, &[event]);
}
