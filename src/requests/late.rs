//! Late events: a bucket for an hour whose day (or ISO week) compaction has already folded
//! is added into that period's row, not into a new hour row, so nothing is lost and nothing
//! is counted twice. Compaction never folds a day that ended less than `keep_hourly` (at
//! least a day) ago, so only buckets older than `LATE_AFTER` are looked up; the current
//! hour's recording does nothing more than compare two numbers.
//!
//! The lookup shares the advisory lock of its hour's UTC day with compaction, whose unit
//! holds those of its days (`compaction::lock_class`): a late event into the days of the unit
//! in progress waits for it and then sees what it folded; one into any other day does not wait. Should
//! one still reach an hour row of a folded period (a transaction that read the periods
//! before the unit committed), the next compaction folds that row into the period's.

use pgrx::prelude::*;

use crate::maintenance::compaction;
use crate::pg::datum::{now_micros, timestamptz};
use crate::pg::spi::{not_null, volatile as spi};
use crate::requests::bucket::Bucket;
use crate::requests::event::{Key, Subject, MICROS_PER_HOUR};
use crate::requests::store::{add_into_period, key_values, Period};

/// How old an hour must be before its period may have been folded (half the shortest
/// `keep_hourly`, for clocks and transactions that started a while ago).
const LATE_AFTER: i64 = 12 * MICROS_PER_HOUR;

/// A folded period: its start, end, resolution and zone.
type Folded = (TimestampWithTimeZone, TimestampWithTimeZone, String, String);

fn folded_period(subject: Subject, hour: i64) -> Option<Folded> {
    spi::rows(
        "SELECT period_start, period_end, resolution, timezone FROM metrics.compacted_periods
         WHERE family = $1 AND period_start <= $2 AND period_end > $2",
        &[compaction::family(subject).into(), timestamptz(hour).into()],
        |row| {
            Ok((
                not_null(row, 1)?,
                not_null(row, 2)?,
                not_null(row, 3)?,
                not_null(row, 4)?,
            ))
        },
    )
    .pop()
}

/// Whether a bucket's hour is recent enough that compaction cannot have folded its period:
/// direct recording appends such buckets (`store::append`) without looking anything up.
pub fn is_recent(key: &Key, now: i64) -> bool {
    key.hour >= now - LATE_AFTER
}

/// Adds the buckets of folded periods into their periods' rows; returns the others, for
/// their hour rows.
pub fn separate<'a>(
    subject: Subject,
    buckets: Vec<(&'a Key, &'a Bucket)>,
) -> Vec<(&'a Key, &'a Bucket)> {
    let oldest = now_micros() - LATE_AFTER;
    if buckets.iter().all(|(key, _)| key.hour >= oldest) || !compaction_installed() {
        return buckets;
    }
    let mut days: Vec<i32> = buckets
        .iter()
        .filter(|(key, _)| key.hour < oldest)
        .map(|(key, _)| compaction::utc_day(key.hour))
        .collect();
    days.sort_unstable();
    days.dedup();
    spi::run(
        "SELECT pg_catalog.pg_advisory_xact_lock_shared($1, d) FROM unnest($2::int[]) AS d ORDER BY d",
        &[compaction::lock_class(subject).into(), days.into()],
    );
    let mut hourly = Vec::with_capacity(buckets.len());
    for (key, bucket) in buckets {
        match (key.hour < oldest)
            .then(|| folded_period(subject, key.hour))
            .flatten()
        {
            Some((start, end, resolution, zone)) => {
                let period = Period {
                    start,
                    end,
                    resolution: &resolution,
                    zone: &zone,
                };
                add_into_period(subject, &[(key_values(key), key.project, bucket)], &period)
            }
            None => hourly.push((key, bucket)),
        }
    }
    hourly
}

/// Whether this database has 0.4.0's tables (before `ALTER EXTENSION metrics UPDATE`, the
/// new library records into the old ones, where nothing was ever folded).
fn compaction_installed() -> bool {
    spi::exists(
        "SELECT pg_catalog.to_regclass('metrics.compacted_periods') IS NOT NULL",
        &[],
    )
}
