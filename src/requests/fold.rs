//! Folding: the rows direct recording appended to `metrics.route_metrics_unfolded` and
//! `metrics.operation_metrics_unfolded` (sql/requests/unfolded.sql) added into their hour
//! rows. One fold is one statement that deletes at most a chunk of unfolded rows and returns
//! them, merged per key in key order (`Bucket::merge`) and added into the hour rows
//! (`store::add`, late buckets into their compacted periods' rows), in the caller's
//! transaction: the rows it deleted are in the hour rows when it commits, and untouched when
//! it does not, so a cancel or a crash never loses or doubles a row. Folds of one family take
//! turns (an advisory lock); recording never waits for them, since appending locks no row.
//!
//! Called by the buffer's writer every `metrics.flush_interval` (each chunk committed on its
//! own), by compaction and the read model's refresh before they read, and by
//! `metrics.fold_metrics()` (pg_cron, or by hand).

use std::collections::BTreeMap;

use pgrx::spi::{SpiHeapTupleData, SpiResult};

use crate::maintenance::compaction;
use crate::pg::datum::unix_micros;
use crate::pg::guc;
use crate::pg::spi::{not_null, volatile as spi};
use crate::requests::batches;
use crate::requests::bucket::{Bucket, Totals};
use crate::requests::event::{hour_of, Event, Key, Subject};
use crate::requests::read::decode;
use crate::requests::statements::{columns, unfolded_table};
use crate::requests::store;

/// Most unfolded rows one fold deletes and adds in.
pub const CHUNK: i64 = 50_000;

/// The family a subject's rows belong to: `route_metrics` or `operation_metrics`.
pub fn family(subject: Subject) -> &'static str {
    compaction::family(subject)
}

/// The advisory lock folds of a family take turns on (next to compaction's classes).
fn lock_class(subject: Subject) -> i32 {
    compaction::LOCK_CLASS
        + match subject {
            Subject::Route => 4,
            Subject::Operation => 5,
        }
}

/// What one fold did: unfolded rows deleted, the events they held, hour rows written.
#[derive(Debug, Default, Clone, Copy)]
pub struct Folded {
    pub rows: i64,
    pub events: i64,
    pub buckets: i64,
}

/// The statement that deletes a chunk ($1 rows) of unfolded rows and returns them: the name,
/// the method (NULL for operations), the project, the last event's time, an event's duration
/// and success (NULL for a bucket), a bucket's counts, sum, extremes and sketch (NULL for an
/// event).
fn take_statement(subject: Subject) -> String {
    let (_, key, total, last) = columns(subject);
    let method = if key.len() == 2 {
        "method"
    } else {
        "NULL::text"
    };
    format!(
        "DELETE FROM metrics.{table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM metrics.{table} LIMIT $1))
         RETURNING {name}, {method}, project_id, {last}, duration_ms, success, {total}, successful, failed,
                   total_duration_ms, min_duration_ms, max_duration_ms, latency_sketch",
        table = unfolded_table(subject),
        name = key[0],
    )
}

/// An unfolded row as the bucket it adds: an event's, or a bucket's as stored.
fn row_bucket(row: &SpiHeapTupleData, last_at: i64) -> SpiResult<Bucket> {
    let total: Option<i64> = row.get(7)?;
    if total.is_none() {
        let duration: f64 = not_null(row, 5)?;
        let success: bool = not_null(row, 6)?;
        return Ok(Bucket::of(&Event {
            name: String::new(),
            method: None,
            success,
            duration_ms: duration,
            at: last_at,
            project: None,
        }));
    }
    let totals = Totals {
        total: not_null::<i64>(row, 7)? as u64,
        successful: not_null::<i64>(row, 8)? as u64,
        failed: not_null::<i64>(row, 9)? as u64,
        sum_ms: not_null(row, 10)?,
        min_ms: not_null(row, 11)?,
        max_ms: not_null(row, 12)?,
        last_at,
    };
    Ok(Bucket {
        totals,
        sketch: decode(not_null::<&[u8]>(row, 13)?),
    })
}

/// Deletes a chunk of unfolded rows and returns them merged per key.
fn take(subject: Subject, max_rows: i64) -> (i64, BTreeMap<Key, Bucket>) {
    let rows = spi::rows(&take_statement(subject), &[max_rows.into()], |row| {
        let project: Option<pgrx::Uuid> = row.get(3)?;
        let last_at = unix_micros(not_null(row, 4)?);
        let key = Key {
            name: not_null(row, 1)?,
            method: row.get(2)?,
            hour: hour_of(last_at),
            project: project.map(|p| *p.as_bytes()),
        };
        Ok((key, row_bucket(row, last_at)?))
    });
    let taken = rows.len() as i64;
    let mut merged: BTreeMap<Key, Bucket> = BTreeMap::new();
    for (key, bucket) in rows {
        match merged.get_mut(&key) {
            Some(b) => b.merge(&bucket),
            None => {
                merged.insert(key, bucket);
            }
        }
    }
    (taken, merged)
}

/// Folds at most `max_rows` unfolded rows of `subject` in the caller's transaction. Waits for
/// a fold of the family in another session, or with `wait` false returns `None` at once.
pub fn fold(subject: Subject, max_rows: i64, wait: bool) -> Option<Folded> {
    let lock = if wait {
        "SELECT pg_catalog.pg_advisory_xact_lock($1, 0) IS NOT NULL"
    } else {
        "SELECT pg_catalog.pg_try_advisory_xact_lock($1, 0)"
    };
    if !spi::exists(lock, &[lock_class(subject).into()]) {
        return None;
    }
    let (rows, buckets) = take(subject, max_rows);
    store::add(subject, &buckets);
    Some(Folded {
        rows,
        events: buckets.values().map(|b| b.totals.total as i64).sum(),
        buckets: buckets.len() as i64,
    })
}

/// Folds every unfolded row of both families in the caller's transaction (waiting for folds
/// in other sessions), and forgets batch ids past their retention; what was folded, per
/// family.
pub fn fold_all() -> [(Subject, Folded); 2] {
    let (max_age, max_lead) = guc::event_window_micros();
    batches::prune(max_age, max_lead);
    [Subject::Route, Subject::Operation].map(|subject| {
        let mut sum = Folded::default();
        loop {
            let f = fold(subject, CHUNK, true).unwrap_or_default();
            sum.rows += f.rows;
            sum.events += f.events;
            sum.buckets += f.buckets;
            if f.rows < CHUNK {
                break (subject, sum);
            }
        }
    })
}

/// Whether this database has 0.7.0's unfolded tables (before `ALTER EXTENSION metrics
/// UPDATE`, nothing to fold): they come with the `_live` views, which `read::has_live` asks
/// for once per backend.
pub fn installed() -> bool {
    crate::requests::read::has_live()
}
