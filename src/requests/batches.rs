//! Batch ids: a batch recorded with an id is remembered in `metrics.recorded_batches`
//! (sql/requests/batches.sql), so a client that does not know whether a call committed (a
//! timeout, a lost response) can send the same batch again and have it counted once.

use crate::common::problem::{Problem, SqlState};
use crate::pg::raise::raise;
use crate::pg::spi::{not_null, volatile as spi};
use crate::requests::event::Subject;
use crate::requests::fold::family;

/// Claims `id` for this batch of `count` events, in the caller's transaction: `None` when the
/// batch is the first with this id (record it), or the count of the batch recorded with it
/// before (record nothing). A concurrent call with the same id waits on the primary key until
/// the first commits (then it finds it) or rolls back (then it claims the id itself).
pub fn claim(subject: Subject, id: pgrx::Uuid, count: i64, digest: &[u8]) -> Option<i64> {
    let claimed = spi::exists(
        "WITH claimed AS (
             INSERT INTO metrics.recorded_batches (batch_id, family, events, digest) VALUES ($1, $2, $3, $4)
             ON CONFLICT (batch_id) DO NOTHING RETURNING true)
         SELECT EXISTS (SELECT FROM claimed)",
        &[id.into(), family(subject).into(), count.into(), digest.into()],
    );
    if claimed {
        return None;
    }
    let first = spi::rows(
        "SELECT family, events, digest FROM metrics.recorded_batches WHERE batch_id = $1",
        &[id.into()],
        |row| {
            Ok((
                not_null::<String>(row, 1)?,
                not_null::<i64>(row, 2)?,
                not_null::<Vec<u8>>(row, 3)?,
            ))
        },
    );
    let Some((first_family, first_count, first_digest)) = first.into_iter().next() else {
        // Deleted since (older than the retention): this call is the batch's only record.
        return claim(subject, id, count, digest);
    };
    if first_family != family(subject) || first_count != count || first_digest != digest {
        raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                format!(
                    "batch id {id} was already recorded for another batch ({first_count} events of {first_family}), not this one ({count} events of {})",
                    family(subject)
                ),
            )
            .hint("give every batch an id of its own (a random uuid), and reuse it only to send the same batch again"),
        );
    }
    Some(first_count)
}

/// Forgets the ids of batches recorded longer ago than a retry of them could be accepted
/// (`metrics.max_event_age` plus `metrics.max_event_lead`); returns how many.
pub fn prune(max_age_micros: i64, max_lead_micros: i64) -> i64 {
    let keep = max_age_micros.saturating_add(max_lead_micros);
    spi::value::<i64>(
        "WITH gone AS (
             DELETE FROM metrics.recorded_batches
             WHERE recorded_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1::float8 / 1e6)
             RETURNING 1)
         SELECT count(*) FROM gone",
        &[keep.into()],
    )
    .unwrap_or(0)
}
