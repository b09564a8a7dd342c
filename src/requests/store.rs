//! Adding buckets into `metrics.route_metrics` and `metrics.operation_metrics`: one upsert
//! per bucket (into a compacted period's row for a late one: `late`) (`metrics_core::requests::statements`), whose counts, sums, extremes and sketch
//! merge with what the hour's row already holds. Used by the buffer's background worker, by
//! `fold`, and by direct mode for late buckets.
//!
//! Appending buckets as rows of the unfolded tables (`append`: an event's row when a bucket
//! holds one, else a bucket's): what direct mode does since 0.7.0
//! (sql/requests/unfolded.sql), folded into the hour rows later by `fold`.
//!
//! The statements are prepared once per backend and kept (SPI_keepplan), so a call that
//! records one event parses and plans nothing: per table and way of writing, one for buckets
//! of no project (the statement of every earlier version) and one for buckets of a project,
//! prepared the first time a project's event comes.

use std::cell::OnceCell;

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::OwnedPreparedStatement;

use crate::pg::datum::timestamptz;
use crate::pg::raise::OrRaise;
use crate::requests::bucket::Bucket;
use crate::requests::event::{Key, ProjectId, Subject};
use crate::requests::late;
use crate::requests::statements::{self, upsert_into, Target};

/// How a bucket is written: added into its hour's row (an upsert), or appended to the unfolded
/// table (direct recording): as an event when it holds one, else as a bucket
/// (`statements::append_event`, `append_bucket`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Upsert,
    Append,
}

/// The statement a bucket is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Statement {
    Upsert,
    AppendEvent,
    AppendBucket,
}

impl Statement {
    fn of(write: Write, bucket: &Bucket) -> Statement {
        match write {
            Write::Upsert => Statement::Upsert,
            Write::Append if bucket.totals.total == 1 => Statement::AppendEvent,
            Write::Append => Statement::AppendBucket,
        }
    }
}

thread_local! {
    /// The kept plans, by `plan_index`: per subject, scoped or not, and statement.
    static PLANS: [OnceCell<OwnedPreparedStatement>; 12] = const { [const { OnceCell::new() }; 12] };
}

fn plan_index(subject: Subject, scoped: bool, statement: Statement) -> usize {
    let subject = match subject {
        Subject::Route => 0,
        Subject::Operation => 6,
    };
    subject + 3 * scoped as usize + statement as usize
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

/// The types of `upsert_into(subject, target, scoped)`'s parameters.
fn types_of(subject: Subject, target: Target, scoped: bool) -> Vec<PgOid> {
    let mut types = parameter_types(subject);
    if target == Target::Period {
        types.extend([
            PgBuiltInOids::TIMESTAMPTZOID.oid(),
            PgBuiltInOids::TEXTOID.oid(),
            PgBuiltInOids::TEXTOID.oid(),
        ]);
    }
    if scoped {
        types.push(PgBuiltInOids::UUIDOID.oid());
    }
    types
}

/// The parameter types of an event's append: the key's text columns, its time, duration and
/// success, and its project when `scoped`.
fn event_types(subject: Subject, scoped: bool) -> Vec<PgOid> {
    let mut types = vec![PgBuiltInOids::TEXTOID.oid(); statements::key_len(subject)];
    types.extend([
        PgBuiltInOids::TIMESTAMPTZOID.oid(),
        PgBuiltInOids::FLOAT8OID.oid(),
        PgBuiltInOids::BOOLOID.oid(),
    ]);
    if scoped {
        types.push(PgBuiltInOids::UUIDOID.oid());
    }
    types
}

fn prepare(subject: Subject, scoped: bool, statement: Statement) -> OwnedPreparedStatement {
    let (sql, types) = match statement {
        Statement::Upsert => (
            upsert_into(subject, Target::Hour, scoped),
            types_of(subject, Target::Hour, scoped),
        ),
        Statement::AppendBucket => (
            statements::append_bucket(subject, scoped),
            types_of(subject, Target::Hour, scoped),
        ),
        Statement::AppendEvent => (
            statements::append_event(subject, scoped),
            event_types(subject, scoped),
        ),
    };
    Spi::connect(|client| client.prepare_mut(&sql, &types).map(|p| p.keep())).or_raise()
}

/// The kept plan of a statement of `subject`, for buckets of a project or of none.
fn with_plan<R>(
    subject: Subject,
    scoped: bool,
    statement: Statement,
    f: impl FnOnce(&OwnedPreparedStatement) -> R,
) -> R {
    PLANS.with(|plans| {
        let cell = &plans[plan_index(subject, scoped, statement)];
        f(cell.get_or_init(|| prepare(subject, scoped, statement)))
    })
}

/// Adds each bucket into its hour's row (a bucket of a folded period into that period's).
pub fn add<'a>(subject: Subject, buckets: impl IntoIterator<Item = (&'a Key, &'a Bucket)>) {
    // Nothing to write (a buffered call whose buckets all fit, the writer with no operations):
    // no plan and no SPI connection.
    let mut buckets = buckets.into_iter().peekable();
    if buckets.peek().is_none() {
        return;
    }
    // A bucket of a period compaction has folded goes into that period's row (`late`).
    let buckets = late::separate(subject, buckets.collect());
    write(subject, &buckets, Write::Upsert);
}

/// Appends each bucket as a row of the unfolded table, for `metrics.fold_metrics` to add
/// into its hour's row. Only for buckets of the recent hours, which compaction has not
/// folded (`late::is_recent`).
pub fn append<'a>(subject: Subject, buckets: &[(&'a Key, &'a Bucket)]) {
    write(subject, buckets, Write::Append);
}

fn write(subject: Subject, buckets: &[(&Key, &Bucket)], how: Write) {
    if buckets.is_empty() {
        return;
    }
    // Plans are prepared (a connection of their own) before this call's connection.
    for (key, b) in buckets {
        with_plan(
            subject,
            key.project.is_some(),
            Statement::of(how, b),
            |_| (),
        );
    }
    Spi::connect_mut(|client| {
        for (key, b) in buckets {
            let statement = Statement::of(how, b);
            let sketch = match statement {
                Statement::AppendEvent => Vec::new(),
                _ => b.sketch.to_bytes(),
            };
            let names = key_values(key);
            let mut args = match statement {
                Statement::AppendEvent => event_arguments(&names, b),
                _ => arguments(&names, timestamptz(key.hour), b, &sketch),
            };
            args.extend(key.project.map(project_argument));
            with_plan(subject, key.project.is_some(), statement, |plan| {
                client.update(plan, None, &args).map(|_| ())
            })?;
        }
        Ok::<(), pgrx::spi::SpiError>(())
    })
    .or_raise();
}

/// The parameters of an event's append: the key, its time, duration and success.
fn event_arguments<'a>(key: &[&'a str], b: &Bucket) -> Vec<DatumWithOid<'a>> {
    let t = &b.totals;
    let mut args: Vec<DatumWithOid> = key.iter().map(|k| DatumWithOid::from(*k)).collect();
    args.extend([
        timestamptz(t.last_at).into(),
        t.sum_ms.into(),
        (t.successful == 1).into(),
    ]);
    args
}

/// A project id as the `uuid` parameter of the scoped statements.
pub fn project_argument(id: ProjectId) -> DatumWithOid<'static> {
    pgrx::Uuid::from_bytes(id).into()
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

/// A bucket of a folded period: its key's text columns, its project, what it adds up.
pub type PeriodBucket<'a> = (Vec<&'a str>, Option<ProjectId>, &'a Bucket);

/// Adds buckets into their rows of one folded period (compaction's, or a late event's),
/// through the statements prepared for the call (one for buckets of no project, one for
/// those of a project, each when first needed).
pub fn add_into_period(subject: Subject, buckets: &[PeriodBucket], period: &Period) {
    if buckets.is_empty() {
        return;
    }
    Spi::connect_mut(|client| {
        let mut plans = [None, None];
        for (key, project, b) in buckets {
            let scoped = project.is_some();
            let plan = match &mut plans[scoped as usize] {
                Some(plan) => plan,
                slot => {
                    let sql = upsert_into(subject, Target::Period, scoped);
                    let types = types_of(subject, Target::Period, scoped);
                    slot.insert(client.prepare_mut(sql.as_str(), &types)?)
                }
            };
            let sketch = b.sketch.to_bytes();
            let mut args = arguments(key, period.start, b, &sketch);
            args.extend([
                period.end.into(),
                period.resolution.into(),
                period.zone.into(),
            ]);
            args.extend(project.map(project_argument));
            client.update(&*plan, None, &args)?;
        }
        Ok::<(), pgrx::spi::SpiError>(())
    })
    .or_raise();
}
