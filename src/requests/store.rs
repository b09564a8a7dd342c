//! Adding buckets into `metrics.route_metrics` and `metrics.operation_metrics`: one
//! `INSERT ... ON CONFLICT DO UPDATE` per bucket, whose counts, sums, extremes and sketch
//! merge with what the hour's row already holds. Used by direct mode (in the caller's
//! transaction) and by the buffer's background worker.
//!
//! The two statements are prepared once per backend and kept (SPI_keepplan), so a call that
//! records one event parses and plans nothing.

use std::cell::OnceCell;

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::OwnedPreparedStatement;

use crate::pg::raise::OrRaise;
use crate::requests::event::{Bucket, Key, Subject};

const ROUTE_UPSERT: &str = "
INSERT INTO metrics.route_metrics AS t
    (route, method, period_start, period_end, total_requests, successful, failed,
     total_duration_ms, average_duration_ms, min_duration_ms, max_duration_ms, last_request_at, latency_sketch)
VALUES ($1, $2, $3, $3 + interval '1 hour', $4, $5, $6, $7, $7 / $4, $8, $9, $10, $11)
ON CONFLICT ON CONSTRAINT route_metrics_bucket DO UPDATE SET
    total_requests    = t.total_requests + excluded.total_requests,
    successful        = t.successful + excluded.successful,
    failed            = t.failed + excluded.failed,
    total_duration_ms = t.total_duration_ms + excluded.total_duration_ms,
    average_duration_ms = (t.total_duration_ms + excluded.total_duration_ms)
                          / (t.total_requests + excluded.total_requests),
    min_duration_ms   = least(t.min_duration_ms, excluded.min_duration_ms),
    max_duration_ms   = greatest(t.max_duration_ms, excluded.max_duration_ms),
    last_request_at   = greatest(t.last_request_at, excluded.last_request_at),
    latency_sketch    = metrics.merge_latency_sketch(t.latency_sketch, excluded.latency_sketch),
    updated_at        = now()";

const OPERATION_UPSERT: &str = "
INSERT INTO metrics.operation_metrics AS t
    (operation, period_start, period_end, total_executions, successful, failed,
     total_duration_ms, average_duration_ms, min_duration_ms, max_duration_ms, last_execution_at, latency_sketch)
VALUES ($1, $2, $2 + interval '1 hour', $3, $4, $5, $6, $6 / $3, $7, $8, $9, $10)
ON CONFLICT ON CONSTRAINT operation_metrics_bucket DO UPDATE SET
    total_executions  = t.total_executions + excluded.total_executions,
    successful        = t.successful + excluded.successful,
    failed            = t.failed + excluded.failed,
    total_duration_ms = t.total_duration_ms + excluded.total_duration_ms,
    average_duration_ms = (t.total_duration_ms + excluded.total_duration_ms)
                          / (t.total_executions + excluded.total_executions),
    min_duration_ms   = least(t.min_duration_ms, excluded.min_duration_ms),
    max_duration_ms   = greatest(t.max_duration_ms, excluded.max_duration_ms),
    last_execution_at = greatest(t.last_execution_at, excluded.last_execution_at),
    latency_sketch    = metrics.merge_latency_sketch(t.latency_sketch, excluded.latency_sketch),
    updated_at        = now()";

thread_local! {
    static ROUTE_PLAN: OnceCell<OwnedPreparedStatement> = const { OnceCell::new() };
    static OPERATION_PLAN: OnceCell<OwnedPreparedStatement> = const { OnceCell::new() };
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A Unix-epoch time in microseconds as a `timestamptz`.
pub fn timestamptz(unix_micros: i64) -> TimestampWithTimeZone {
    TimestampWithTimeZone::try_from(unix_micros - PG_EPOCH_OFFSET_MICROS)
        .unwrap_or_else(|_| TimestampWithTimeZone::try_from(0).expect("the PostgreSQL epoch"))
}

/// PostgreSQL's clock now, microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    unsafe { pg_sys::GetCurrentTimestamp() + PG_EPOCH_OFFSET_MICROS }
}

fn prepare(subject: Subject) -> OwnedPreparedStatement {
    let (sql, types): (&str, Vec<PgOid>) = match subject {
        Subject::Route => (
            ROUTE_UPSERT,
            vec![
                PgBuiltInOids::TEXTOID.oid(),
                PgBuiltInOids::TEXTOID.oid(),
                PgBuiltInOids::TIMESTAMPTZOID.oid(),
                PgBuiltInOids::INT8OID.oid(),
                PgBuiltInOids::INT8OID.oid(),
                PgBuiltInOids::INT8OID.oid(),
                PgBuiltInOids::FLOAT8OID.oid(),
                PgBuiltInOids::FLOAT8OID.oid(),
                PgBuiltInOids::FLOAT8OID.oid(),
                PgBuiltInOids::TIMESTAMPTZOID.oid(),
                PgBuiltInOids::BYTEAOID.oid(),
            ],
        ),
        Subject::Operation => (
            OPERATION_UPSERT,
            vec![
                PgBuiltInOids::TEXTOID.oid(),
                PgBuiltInOids::TIMESTAMPTZOID.oid(),
                PgBuiltInOids::INT8OID.oid(),
                PgBuiltInOids::INT8OID.oid(),
                PgBuiltInOids::INT8OID.oid(),
                PgBuiltInOids::FLOAT8OID.oid(),
                PgBuiltInOids::FLOAT8OID.oid(),
                PgBuiltInOids::FLOAT8OID.oid(),
                PgBuiltInOids::TIMESTAMPTZOID.oid(),
                PgBuiltInOids::BYTEAOID.oid(),
            ],
        ),
    };
    Spi::connect(|client| client.prepare_mut(sql, &types).map(|p| p.keep())).or_raise()
}

/// Adds each bucket into its hour's row.
pub fn add<'a>(subject: Subject, buckets: impl IntoIterator<Item = (&'a Key, &'a Bucket)>) {
    // Nothing to write (a buffered call whose buckets all fit, the writer with no operations):
    // no plan and no SPI connection.
    let mut buckets = buckets.into_iter().peekable();
    if buckets.peek().is_none() {
        return;
    }
    let cell = match subject {
        Subject::Route => &ROUTE_PLAN,
        Subject::Operation => &OPERATION_PLAN,
    };
    cell.with(|plan| {
        let plan = plan.get_or_init(|| prepare(subject));
        Spi::connect_mut(|client| {
            for (key, b) in buckets {
                let sketch = b.sketch.to_bytes();
                let hour = timestamptz(key.hour);
                let last = timestamptz(b.last_at);
                let mut args: Vec<DatumWithOid> = Vec::with_capacity(11);
                args.push(key.name.as_str().into());
                if let Some(method) = &key.method {
                    args.push(method.as_str().into());
                }
                args.push(hour.into());
                args.push((b.total as i64).into());
                args.push((b.successful as i64).into());
                args.push((b.failed as i64).into());
                args.push(b.sum_ms.into());
                args.push(b.min_ms.into());
                args.push(b.max_ms.into());
                args.push(last.into());
                args.push(sketch.as_slice().into());
                client.update(plan, None, &args)?;
            }
            Ok::<(), pgrx::spi::SpiError>(())
        })
        .or_raise();
    });
}
