//! Where recorded events go. Every event is checked first (a batch as a whole: one bad event
//! refuses all of them), then added up per hour, then added either into the hour's row in the
//! caller's transaction (`metrics.ingest_mode = direct`, `store`) or into the shared-memory
//! buffer (`buffered`, `buffer`), which a background worker writes every
//! `metrics.flush_interval`. Buffered mode needs the library in `shared_preload_libraries` and
//! works in `metrics.buffer_database`; elsewhere, and for buckets that do not fit into a full
//! buffer, events are written directly.

use std::cell::Cell;

use pgrx::prelude::*;

use crate::common::problem::Problem;
use crate::pg::datum::now_micros;
use crate::pg::guc::{self, IngestMode};
use crate::pg::raise::{raise, OrRaise};
use crate::requests::batch::parse_batch;
use crate::requests::bucket::aggregate;
use crate::requests::buffer;
use crate::requests::event::{Event, Subject, Window};
use crate::requests::store;

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
    let events = parse_batch(subject, &events, window()).or_raise();
    if events.is_empty() {
        return 0;
    }
    record(subject, &events)
}
