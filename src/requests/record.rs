//! Where recorded events go. Every event is checked first (a batch as a whole: one bad event
//! refuses all of them), then added up per hour, then either appended to the unfolded table in
//! the caller's transaction (`metrics.ingest_mode = direct`, `store::append`; folded into the
//! hour rows by `fold`) or added into the shared-memory
//! buffer (`buffered`, `buffer`), which a background worker writes every
//! `metrics.flush_interval`. Buffered mode needs the library in `shared_preload_libraries` and
//! works in `metrics.buffer_database`; elsewhere, and for buckets that do not fit into a full
//! buffer, events are written directly.
//!
//! An event may name its project: the projects of a batch are resolved first, each once
//! (`project`), and a batch naming one that does not exist is refused as a whole, before
//! anything is written. A batch may carry an id (`batches`): a second call with the id of a
//! batch already recorded records nothing.

use std::cell::Cell;
use std::collections::BTreeMap;

use pgrx::prelude::*;

use crate::common::problem::Problem;
use crate::pg::datum::now_micros;
use crate::pg::guc::{self, IngestMode};
use crate::pg::identity::as_owner;
use crate::pg::raise::{raise, OrRaise};
use crate::requests::batch::{digest, parse_batch, unknown_project, unknown_project_at};
use crate::requests::bucket::{aggregate, Bucket};
use crate::requests::buffer;
use crate::requests::event::{Event, Key, Subject, Window};
use crate::requests::{batches, fold, late, project, store};

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

/// Adds checked buckets where the ingest mode says.
pub fn record(subject: Subject, buckets: &BTreeMap<Key, Bucket>) {
    if guc::ingest_mode() == IngestMode::Buffered {
        match buffer::availability() {
            Ok(()) => {
                let left: Vec<_> = buckets
                    .iter()
                    .filter(|(key, bucket)| !buffer::add(subject, key, bucket))
                    .collect();
                // What did not fit into a full buffer is written now rather than lost.
                direct(subject, left);
                return;
            }
            Err(why) => {
                if !WARNED.replace(true) {
                    warning!("metrics: metrics.ingest_mode is buffered but {why}; recording directly in this session");
                }
            }
        }
    }
    direct(subject, buckets.iter().collect());
}

/// Direct mode, durable with the caller's commit: the buckets of recent hours appended to the
/// unfolded table (no row lock: concurrent callers of one route never wait for each other),
/// late ones added into their rows (`late`). Before `ALTER EXTENSION metrics UPDATE` to 0.7.0
/// there is no unfolded table, and every bucket is added into its row as before.
///
/// Runs with the owner's rights (`as_owner`): the single-event recorders are SECURITY INVOKER.
fn direct<'a>(subject: Subject, buckets: Vec<(&'a Key, &'a Bucket)>) {
    if buckets.is_empty() {
        return;
    }
    as_owner(|| {
        if !fold::installed() {
            return store::add(subject, buckets);
        }
        let now = now_micros();
        let (recent, late): (Vec<_>, Vec<_>) = buckets
            .into_iter()
            .partition(|(key, _)| late::is_recent(key, now));
        store::append(subject, &recent);
        store::add(subject, late);
    })
}

/// Records a JSON batch of events and summaries, checked as a whole, once per `batch_id`;
/// returns how many events were recorded (by the first call of a batch id).
pub fn record_batch(
    subject: Subject,
    events: Option<pgrx::JsonB>,
    batch_id: Option<pgrx::Uuid>,
) -> i64 {
    let Some(pgrx::JsonB(events)) = events else {
        raise(
            Problem::null_argument("events")
                .hint("pass a JSON array of events; [] records nothing"),
        );
    };
    let mut batch = parse_batch(subject, &events, window()).or_raise();
    let count = batch.count() as i64;
    if let Some(id) = batch_id {
        if let Some(first) = batches::claim(subject, id, count, &digest(&events)) {
            return first;
        }
    }
    if batch.is_empty() {
        return 0;
    }
    if !batch.projects.is_empty() {
        let names: Vec<&str> = batch.projects.iter().map(|(n, _)| n.as_str()).collect();
        let ids = as_owner(|| project::resolve(&names));
        let mut found = Vec::with_capacity(ids.len());
        for ((name, first), id) in batch.projects.iter().zip(ids) {
            match id {
                Some(id) => found.push(id),
                None => raise(unknown_project_at(*first, name)),
            }
        }
        batch.assign(&found);
    }
    let mut buckets = aggregate(&batch.events);
    for s in batch.summaries {
        match buckets.get_mut(&s.key) {
            Some(b) => b.merge(&s.bucket),
            None => {
                buckets.insert(s.key, s.bucket);
            }
        }
    }
    record(subject, &buckets);
    count
}

/// Records one checked event, of the named project (slug or id) if any.
pub fn record_one(subject: Subject, mut event: Event, project: Option<&str>) {
    if let Some(name) = project {
        let id = as_owner(|| project::resolve(&[name])).pop().flatten();
        event.project = Some(id.unwrap_or_else(|| raise(unknown_project(name))));
    }
    record(subject, &aggregate(&[event]));
}
