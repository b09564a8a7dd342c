//! Adding buckets into `metrics.route_metrics` and `metrics.operation_metrics`: one upsert
//! per bucket (into a compacted period's row for a late one: `late`) (`metrics_core::requests::statements`), whose counts, sums, extremes and sketch
//! merge with what the hour's row already holds. Used by direct mode (in the caller's
//! transaction) and by the buffer's background worker.
//!
//! The two statements are prepared once per backend and kept (SPI_keepplan), so a call that
//! records one event parses and plans nothing.

use std::cell::OnceCell;

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::OwnedPreparedStatement;

use crate::pg::datum::timestamptz;
use crate::pg::raise::OrRaise;
use crate::requests::bucket::Bucket;
use crate::requests::event::{Key, Subject};
use crate::requests::late;
use crate::requests::statements::{self, upsert_into, Target};

thread_local! {
    static ROUTE_PLAN: OnceCell<OwnedPreparedStatement> = const { OnceCell::new() };
    static OPERATION_PLAN: OnceCell<OwnedPreparedStatement> = const { OnceCell::new() };
}

/// The parameter types of `statements::upsert`: the key's text columns, then the hour, the
/// three counts, the sum, minimum and maximum duration, the last event's time, the sketch.
fn parameter_types(subject: Subject) -> Vec<PgOid> {
    let mut types = vec![PgBuiltInOids::TEXTOID.oid(); statements::key_len(subject)];
    types.extend([
        PgBuiltInOids::TIMESTAMPTZOID.oid(),
        PgBuiltInOids::INT8OID.oid(),
        PgBuiltInOids::INT8OID.oid(),
        PgBuiltInOids::INT8OID.oid(),
        PgBuiltInOids::FLOAT8OID.oid(),
        PgBuiltInOids::FLOAT8OID.oid(),
        PgBuiltInOids::FLOAT8OID.oid(),
        PgBuiltInOids::TIMESTAMPTZOID.oid(),
        PgBuiltInOids::BYTEAOID.oid(),
    ]);
    types
}

fn prepare(subject: Subject) -> OwnedPreparedStatement {
    let sql = statements::upsert(subject);
    let types = parameter_types(subject);
    Spi::connect(|client| client.prepare_mut(&sql, &types).map(|p| p.keep())).or_raise()
}

/// Adds each bucket into its hour's row.
pub fn add<'a>(subject: Subject, buckets: impl IntoIterator<Item = (&'a Key, &'a Bucket)>) {
    // Nothing to write (a buffered call whose buckets all fit, the writer with no operations):
    // no plan and no SPI connection.
    let mut buckets = buckets.into_iter().peekable();
    if buckets.peek().is_none() {
        return;
    }
    // A bucket of a period compaction has folded goes into that period's row (`late`).
    let buckets = late::separate(subject, buckets.collect());
    let cell = match subject {
        Subject::Route => &ROUTE_PLAN,
        Subject::Operation => &OPERATION_PLAN,
    };
    cell.with(|plan| {
        let plan = plan.get_or_init(|| prepare(subject));
        Spi::connect_mut(|client| {
            for (key, b) in buckets {
                let sketch = b.sketch.to_bytes();
                let args = arguments(&key_values(key), timestamptz(key.hour), b, &sketch);
                client.update(plan, None, &args)?;
            }
            Ok::<(), pgrx::spi::SpiError>(())
        })
        .or_raise();
    });
}

/// A key's text columns: the route and method, or the operation.
pub fn key_values(key: &Key) -> Vec<&str> {
    let mut values = vec![key.name.as_str()];
    if let Some(method) = &key.method {
        values.push(method.as_str());
    }
    values
}

/// The parameters of `statements::upsert_into` for a bucket: the key, the period's start,
/// the counts, sum and extremes, the last event's time, and the encoded sketch.
pub fn arguments<'a>(
    key: &[&'a str],
    start: TimestampWithTimeZone,
    b: &Bucket,
    sketch: &'a [u8],
) -> Vec<DatumWithOid<'a>> {
    let t = &b.totals;
    let mut args: Vec<DatumWithOid> = Vec::with_capacity(key.len() + 12);
    args.extend(key.iter().map(|k| DatumWithOid::from(*k)));
    args.extend([
        start.into(),
        (t.total as i64).into(),
        (t.successful as i64).into(),
        (t.failed as i64).into(),
        t.sum_ms.into(),
        t.min_ms.into(),
        t.max_ms.into(),
        timestamptz(t.last_at).into(),
        sketch.into(),
    ]);
    args
}

/// A folded period's row: its start, end, resolution and zone.
pub struct Period<'a> {
    pub start: TimestampWithTimeZone,
    pub end: TimestampWithTimeZone,
    pub resolution: &'a str,
    pub zone: &'a str,
}

/// Adds buckets (each with its key's text columns) into their rows of one folded period
/// (compaction's, or a late event's), through one statement prepared for the call.
pub fn add_into_period(subject: Subject, buckets: &[(Vec<&str>, &Bucket)], period: &Period) {
    if buckets.is_empty() {
        return;
    }
    let sql = upsert_into(subject, Target::Period);
    let mut types = parameter_types(subject);
    types.extend([
        PgBuiltInOids::TIMESTAMPTZOID.oid(),
        PgBuiltInOids::TEXTOID.oid(),
        PgBuiltInOids::TEXTOID.oid(),
    ]);
    Spi::connect_mut(|client| {
        let plan = client.prepare_mut(sql.as_str(), &types)?;
        for (key, b) in buckets {
            let sketch = b.sketch.to_bytes();
            let mut args = arguments(key, period.start, b, &sketch);
            args.extend([
                period.end.into(),
                period.resolution.into(),
                period.zone.into(),
            ]);
            client.update(&plan, None, &args)?;
        }
        Ok::<(), pgrx::spi::SpiError>(())
    })
    .or_raise();
}
