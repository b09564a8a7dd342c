//! The buffer writer: a background worker that writes what the shared-memory buffer holds
//! into the tables every `metrics.flush_interval`, and once more when asked to stop (a clean
//! shutdown). After each write it folds what direct recording appended in its database
//! (`fold`), so the unfolded tables hold about one interval of events.
//!
//! A write that fails (a deadlock with a client holding the same hour's row, a lock timeout)
//! is rolled back and retried a second later with everything added since: the worker keeps
//! what it took out of shared memory until a write commits. It writes in key order, the order
//! in which clients' batches take the same rows, so the two wait for each other rather than
//! deadlock.

use std::collections::BTreeMap;
use std::time::Duration;

use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::pg::guc;
use crate::pg::raise::report_of;
use crate::requests::bucket::Bucket;
use crate::requests::buffer::{self, drain};
use crate::requests::event::{Key, Subject};
use crate::requests::{batches, fold, store};

/// What the worker took out of shared memory and has not written yet, in key order.
type Pending = BTreeMap<(Subject, Key), Bucket>;

/// Most buckets kept for a retry; beyond that a persistently failing write starts dropping
/// (and says so), rather than growing without bound.
const MAX_PENDING: usize = 200_000;

/// Moves what the buffer holds into `pending` and writes it all in one transaction. On
/// failure the transaction is rolled back and `pending` keeps everything for the next try.
fn flush(pending: &mut Pending) -> bool {
    let through = buffer::added_so_far();
    for (subject, key, bucket) in drain() {
        match pending.get_mut(&(subject, key.clone())) {
            Some(b) => b.merge(&bucket),
            None => {
                pending.insert((subject, key), bucket);
            }
        }
    }
    if pending.is_empty() {
        buffer::mark_written(through, now());
        return true;
    }
    match write(pending) {
        Ok(()) => {
            buffer::mark_written(through, now());
            let events: u64 = pending.values().map(|b| b.totals.total).sum();
            debug1!(
                "metrics: wrote {events} buffered events in {} rows",
                pending.len()
            );
            pending.clear();
            true
        }
        Err(why) => {
            warning!(
                "metrics buffer writer: writing {} buffered rows failed, retrying in a second: {why}",
                pending.len()
            );
            if pending.len() > MAX_PENDING {
                let dropped = pending.len() - MAX_PENDING;
                while pending.len() > MAX_PENDING {
                    pending.pop_last();
                }
                warning!("metrics buffer writer: dropped {dropped} buffered rows that could not be written");
            }
            false
        }
    }
}

fn now() -> i64 {
    unsafe { pg_sys::GetCurrentTimestamp() }
}

/// One transaction that adds every pending bucket, or an error after rolling it back.
fn write(pending: &Pending) -> Result<(), String> {
    in_transaction(|| {
        for subject in [Subject::Route, Subject::Operation] {
            store::add(
                subject,
                pending
                    .iter()
                    .filter(|((s, _), _)| *s == subject)
                    .map(|((_, k), b)| (k, b)),
            );
        }
    })
}

/// Runs `f` in a transaction of its own and commits it; an error rolls it back.
fn in_transaction(f: impl FnOnce()) -> Result<(), String> {
    // What `f` changed before an error is dropped or retried by the callers, never reused.
    let f = std::panic::AssertUnwindSafe(f);
    PgTryBuilder::new(move || {
        unsafe {
            pg_sys::SetCurrentStatementStartTimestamp();
            pg_sys::StartTransactionCommand();
            pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
        }
        f();
        unsafe {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommitTransactionCommand();
        }
        Ok(())
    })
    .catch_others(|e| {
        let why = report_of(&e).message().to_string();
        unsafe {
            pg_sys::AbortCurrentTransaction();
            pg_sys::MemoryContextSwitchTo(pg_sys::TopMemoryContext);
        }
        Err(why)
    })
    .execute()
}

/// Folds what direct recording appended in this database into the hour rows (`fold`), a
/// chunk per transaction, skipping a family whose fold another session is doing; then forgets
/// batch ids past their retention. A failure is said and left for the next interval.
fn fold_unfolded() {
    let mut installed = false;
    let _ = in_transaction(|| installed = fold::installed());
    if !installed {
        return;
    }
    for subject in [Subject::Route, Subject::Operation] {
        loop {
            let mut folded = None;
            if let Err(why) = in_transaction(|| folded = fold::fold(subject, fold::CHUNK, false)) {
                warning!("metrics buffer writer: folding unfolded {} failed, trying again in the next interval: {why}", fold::family(subject));
                return;
            }
            match folded {
                Some(f) if f.rows == fold::CHUNK => continue,
                _ => break,
            }
        }
    }
    let (max_age, max_lead) = guc::event_window_micros();
    if let Err(why) = in_transaction(|| {
        batches::prune(max_age, max_lead);
    }) {
        warning!("metrics buffer writer: forgetting old batch ids failed: {why}");
    }
}

/// The background worker: writes the buffer every `metrics.flush_interval`, and once more
/// when asked to stop (a clean shutdown).
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn metrics_buffer_writer_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = guc::buffer_database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    log!(
        "metrics buffer writer started for database \"{database}\", every {} s",
        guc::flush_interval_secs()
    );
    buffer::mark_started(now());
    let mut pending = Pending::new();
    let mut wait = Duration::from_secs(guc::flush_interval_secs());
    loop {
        let running = BackgroundWorker::wait_latch(Some(wait));
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        let written = flush(&mut pending);
        fold_unfolded();
        if !running {
            break;
        }
        wait = if written {
            Duration::from_secs(guc::flush_interval_secs())
        } else {
            Duration::from_secs(1)
        };
    }
    // Asked to stop: a few more tries if the last write failed, then say what is lost.
    for _ in 0..3 {
        if flush(&mut pending) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if pending.is_empty() {
        log!("metrics buffer writer: buffered events written, stopping");
    } else {
        let events: u64 = pending.values().map(|b| b.totals.total).sum();
        warning!("metrics buffer writer: stopping with {events} buffered events that could not be written");
    }
}
