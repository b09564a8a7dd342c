//! Compaction: the hour rows of request and operation metrics folded into one row per key
//! and day, days into ISO weeks, and rows older than the policy keeps dropped, one unit of
//! work (one period of one family) at a time, each in its own subtransaction.
//!
//! A fold deletes the unit's rows, merges them per key in the order the reports merge them
//! (`Bucket::merge`, so a key's day reads exactly as its hours did), writes one row per key,
//! and then asks what the period's rows hold per key, before and after: counts and extremes
//! must be equal, sums equal up to the order of addition, and each folded sketch must count
//! the key's requests. Otherwise the unit is rolled back, nothing is deleted, and its error is
//! reported. A unit holds the advisory locks of the family's UTC days it overlaps, which a
//! late event's writer shares for its hour's day (`requests::late`, `compaction::lock_class`):
//! recording waits only for an event into the days of the unit in progress, and at most one
//! unit when each unit commits on its own (one unit per call, committed each, as
//! `run_maintenance` does). A unit's locks (the advisory lock, its deleted rows) are taken in
//! its subtransaction but held until the transaction ends, so in one call of
//! `compact_metrics()` a late event waits for the whole call (bench/maintenance/run measures
//! both). The periods folded are recorded in `metrics.compacted_periods`.
//!
//! A key is the route and method (or the operation) and the project: each project's rows
//! (and those of no project) fold into rows of their own, never into another's.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::SpiHeapTupleData;

use crate::common::problem::{Failure, Problem};
use crate::maintenance::compaction::{self, Action, Conserved};
use crate::maintenance::policy;
use crate::maintenance::rules::Policy;
use crate::pg::datum::unix_micros;
use crate::pg::guc;
use crate::pg::raise::{raise, OrRaise};
use crate::pg::spi::{not_null, volatile as spi};
use crate::pg::subxact::isolated;
use crate::requests::bucket::{Bucket, Totals};
use crate::requests::event::{uuid_text, ProjectId, Subject};
use crate::requests::sketch::LatencySketch;
use crate::requests::statements::{columns, key_len};
use crate::requests::store::{add_into_period, Period, PeriodBucket};

/// One period of one family to fold or drop.
#[derive(Debug, Clone)]
pub struct Unit {
    pub subject: Subject,
    pub action: Action,
    pub start: TimestampWithTimeZone,
    pub end: TimestampWithTimeZone,
    /// A fold's end, or a drop's cutoff: the unit's rows end by it.
    pub limit: TimestampWithTimeZone,
    pub zone: String,
}

/// What a unit did (or, in a dry run, would do).
pub struct Done {
    pub unit: Unit,
    pub rows_before: i64,
    pub rows_after: i64,
    pub requests: i64,
    /// NULL in a dry run: nothing was done to verify.
    pub verified: Option<bool>,
    pub error: Option<Failure>,
}

impl Done {
    /// The unit's error as a report shows it: the message and its SQLSTATE.
    pub fn error_text(&self) -> Option<String> {
        self.error
            .as_ref()
            .map(|f| format!("{} ({})", f.message, f.sqlstate))
    }
}

impl Unit {
    fn args(&self) -> Vec<DatumWithOid<'static>> {
        vec![self.start.into(), self.end.into(), self.limit.into()]
    }

    /// The unit as the log names it: family, action and period.
    pub fn name(&self) -> String {
        format!(
            "{} {} {}",
            compaction::family(self.subject),
            self.action.as_str(),
            self.start.to_iso_string()
        )
    }
}

/// The cutoffs of a rollup policy at the transaction's time, per action, drops first.
fn cutoffs(p: &Policy) -> Vec<(Action, TimestampWithTimeZone)> {
    let spans = [
        (Action::Drop, p.drop_after),
        (Action::Week, p.keep_daily),
        (Action::Day, p.keep_hourly),
    ];
    spans
        .into_iter()
        .filter_map(|(action, span)| {
            let span = span?;
            let at = spi::value::<TimestampWithTimeZone>(
                "SELECT pg_catalog.now() - pg_catalog.make_interval(months => $1, days => $2)
                        - $3 * interval '1 microsecond'",
                &[span.months.into(), span.days.into(), span.micros.into()],
            )?;
            Some((action, at))
        })
        .collect()
}

/// The units of one action of one family from `from` on, oldest first, at most `max`.
fn units_of(
    subject: Subject,
    (action, cutoff): (Action, TimestampWithTimeZone),
    zone: &str,
    mut from: TimestampWithTimeZone,
    max: usize,
) -> Vec<Unit> {
    let sql = compaction::next_period(subject, action);
    let mut out = Vec::new();
    while out.len() < max {
        let next = spi::rows(&sql, &[zone.into(), cutoff.into(), from.into()], |row| {
            Ok((not_null(row, 1)?, not_null(row, 2)?))
        });
        let Some((start, end)) = next.into_iter().next() else {
            break;
        };
        let limit = if action == Action::Drop { cutoff } else { end };
        out.push(Unit {
            subject,
            action,
            start,
            end,
            limit,
            zone: zone.to_string(),
        });
        from = end;
    }
    out
}

/// The start of the `grain` (day or week) that holds `at`, in `zone`.
fn start_of(grain: &str, at: TimestampWithTimeZone, zone: &str) -> TimestampWithTimeZone {
    spi::value::<TimestampWithTimeZone>(
        "SELECT pg_catalog.date_trunc($1, $2, $3)",
        &[grain.into(), at.into(), zone.into()],
    )
    .expect("date_trunc of a finite time")
}

/// The units the policies call for now, per family drops, then weeks, then days, each
/// oldest first; at most `max` of them (none before the tables have projects). Each action starts where the older ones leave off:
/// a fold does not plan the periods a drop empties, nor days a week folds.
pub fn plan(max: usize) -> Vec<Unit> {
    // Tables before 0.6.0 (the new library, before ALTER EXTENSION metrics UPDATE) have no
    // project column to fold by: compaction waits for the update.
    if !crate::requests::read::has_projects() {
        return Vec::new();
    }
    let zone = guc::timezone();
    let mut out = Vec::new();
    for subject in [Subject::Route, Subject::Operation] {
        let Some(p) = policy::of(compaction::family(subject)) else {
            continue;
        };
        let mut from = TimestampWithTimeZone::negative_infinity();
        let mut dropped_before = None;
        for (action, cutoff) in cutoffs(&p.policy) {
            if let Some(at) = dropped_before {
                let start = start_of(action.grain(), at, &zone);
                if i64::from(start) > i64::from(from) {
                    from = start;
                }
            }
            let units = units_of(subject, (action, cutoff), &zone, from, max - out.len());
            match action {
                Action::Drop => dropped_before = Some(cutoff),
                _ => {
                    if let Some(last) = units.last() {
                        from = last.end;
                    }
                }
            }
            out.extend(units);
        }
    }
    out
}

/// A key of a unit's rows: the name columns (route and method, or operation) and the
/// project, in the order of `compaction::conserved` (no project first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FoldKey {
    names: Vec<String>,
    project: Option<ProjectId>,
}

impl FoldKey {
    /// The key as errors name it: `(route, method)` or `(route, method, project <id>)`.
    fn shown(&self) -> String {
        let mut parts = self.names.clone();
        parts.extend(self.project.map(|p| format!("project {}", uuid_text(&p))));
        format!("({})", parts.join(", "))
    }
}

/// One key's conserved numbers, as `compaction::conserved` returns them.
#[derive(Debug, Clone, PartialEq)]
struct KeyTotals {
    key: FoldKey,
    rows: i64,
    numbers: Conserved,
}

/// The key of a row: its name columns first, its project in column `project`.
fn key_of(
    subject: Subject,
    row: &SpiHeapTupleData,
    project: usize,
) -> pgrx::spi::SpiResult<FoldKey> {
    Ok(FoldKey {
        names: (1..=key_len(subject))
            .map(|i| not_null(row, i))
            .collect::<Result<_, _>>()?,
        project: row.get::<pgrx::Uuid>(project)?.map(|id| *id.as_bytes()),
    })
}

fn conserved(unit: &Unit) -> Vec<KeyTotals> {
    let k = key_len(unit.subject);
    spi::rows(
        &compaction::conserved(unit.subject, unit.action),
        &unit.args(),
        |row| {
            Ok(KeyTotals {
                key: key_of(unit.subject, row, k + 8)?,
                rows: not_null(row, k + 1)?,
                numbers: Conserved {
                    total: not_null(row, k + 2)?,
                    successful: not_null(row, k + 3)?,
                    failed: not_null(row, k + 4)?,
                    sum_ms: not_null(row, k + 5)?,
                    min_ms: not_null(row, k + 6)?,
                    max_ms: not_null(row, k + 7)?,
                },
            })
        },
    )
}

/// A dry run's answer: what the unit's rows hold now.
pub fn estimate(unit: Unit) -> Done {
    let before = conserved(&unit);
    let keys = before.len() as i64;
    Done {
        rows_before: before.iter().map(|k| k.rows).sum(),
        rows_after: if unit.action == Action::Drop { 0 } else { keys },
        requests: before.iter().map(|k| k.numbers.total).sum(),
        verified: None,
        error: None,
        unit,
    }
}

/// A taken row's bucket; a stored sketch the extension did not write fails the unit.
fn taken_bucket(
    unit: &Unit,
    key: &FoldKey,
    row: &SpiHeapTupleData,
) -> pgrx::spi::SpiResult<Bucket> {
    let k = key_len(unit.subject);
    let bytes: &[u8] = not_null(row, k + 8)?;
    let sketch = LatencySketch::from_bytes(bytes)
        .map_err(|e| {
            Problem::corrupt_row(
                compaction::family(unit.subject),
                &format!("{} of {}", key.shown(), unit.start.to_iso_string()),
                format!("latency_sketch is not a sketch: {}", e.message()),
                "the row was written around the extension; its owner can delete it",
            )
        })
        .or_raise();
    Ok(Bucket {
        totals: Totals {
            total: not_null::<i64>(row, k + 1)? as u64,
            successful: not_null::<i64>(row, k + 2)? as u64,
            failed: not_null::<i64>(row, k + 3)? as u64,
            sum_ms: not_null(row, k + 4)?,
            min_ms: not_null(row, k + 5)?,
            max_ms: not_null(row, k + 6)?,
            last_at: unix_micros(not_null(row, k + 7)?),
        },
        sketch,
    })
}

/// Deletes the unit's rows and merges them per key, in the reports' order (key, then time).
fn take(unit: &Unit) -> Vec<(FoldKey, Bucket)> {
    let k = key_len(unit.subject);
    let mut rows = spi::rows(
        &compaction::take(unit.subject, unit.action),
        &unit.args(),
        |row| {
            let key = key_of(unit.subject, row, k + 11)?;
            let bucket = taken_bucket(unit, &key, row)?;
            let start: TimestampWithTimeZone = not_null(row, k + 10)?;
            Ok((key, i64::from(start), bucket))
        },
    );
    // Keys and starts are unique together (the bucket constraint): the order is total.
    rows.sort_unstable_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut merged: Vec<(FoldKey, Bucket)> = Vec::new();
    for (key, _, bucket) in rows {
        match merged.last_mut() {
            Some((k, b)) if *k == key => b.merge(&bucket),
            _ => merged.push((key, bucket)),
        }
    }
    merged
}

/// Writes each key's folded row (added into a row a concurrent late event may have made),
/// through one statement prepared for the unit: a day of 200 routes is 200 executions,
/// parsed and planned once (each on its own took about 8% of a loop over 90 such days).
fn write(unit: &Unit, folded: &[(FoldKey, Bucket)]) {
    let rows: Vec<PeriodBucket> = folded
        .iter()
        .map(|(key, b)| {
            let names = key.names.iter().map(String::as_str).collect();
            (names, key.project, b)
        })
        .collect();
    let period = Period {
        start: unit.start,
        end: unit.end,
        resolution: unit.action.resolution().expect("a fold has a resolution"),
        zone: &unit.zone,
    };
    add_into_period(unit.subject, &rows, &period);
}

/// Why a fold's rows do not hold what the rows they replace held, if they do not.
fn mismatch(
    before: &[KeyTotals],
    after: &[KeyTotals],
    folded: &[(FoldKey, Bucket)],
) -> Option<String> {
    if before.len() != after.len() {
        return Some(format!(
            "{} keys before, {} after",
            before.len(),
            after.len()
        ));
    }
    for ((b, a), (_, f)) in before.iter().zip(after).zip(folded) {
        if b.key != a.key || a.rows != 1 || !b.numbers.matches(&a.numbers) {
            return Some(format!(
                "key {}: {:?} in {} rows before, {:?} in {} rows after",
                b.key.shown(),
                b.numbers,
                b.rows,
                a.numbers,
                a.rows
            ));
        }
        if f.sketch.count() != a.numbers.total as u64 {
            return Some(format!(
                "key {}: the folded sketch counts {} requests, the row {}",
                b.key.shown(),
                f.sketch.count(),
                a.numbers.total
            ));
        }
    }
    None
}

/// Records the folded period, replacing the periods it covers (a week's days).
fn record_period(unit: &Unit, rows_before: i64, rows_after: i64, requests: i64) {
    let family = compaction::family(unit.subject);
    spi::run(
        "DELETE FROM metrics.compacted_periods
         WHERE family = $1 AND period_start >= $2 AND period_start < $3 AND period_end <= $4",
        &[
            family.into(),
            unit.start.into(),
            unit.end.into(),
            unit.limit.into(),
        ],
    );
    let Some(resolution) = unit.action.resolution() else {
        return;
    };
    spi::run(
        "INSERT INTO metrics.compacted_periods
             (family, period_start, period_end, resolution, timezone, rows_before, rows_after, requests_covered)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            family.into(),
            unit.start.into(),
            unit.end.into(),
            resolution.into(),
            unit.zone.as_str().into(),
            (rows_before as i32).into(),
            (rows_after as i32).into(),
            requests.into(),
        ],
    );
}

/// The work of a unit, in the caller's subtransaction: (rows before, rows after, requests).
fn work(unit: &Unit) -> (i64, i64, i64) {
    let days = compaction::utc_days(unix_micros(unit.start), unix_micros(unit.end));
    spi::run(
        "SELECT pg_catalog.pg_advisory_xact_lock($1, d) FROM generate_series($2, $3) AS d ORDER BY d",
        &[
            compaction::lock_class(unit.subject).into(),
            (*days.start()).into(),
            (*days.end()).into(),
        ],
    );
    let before = conserved(unit);
    let rows_before: i64 = before.iter().map(|k| k.rows).sum();
    let requests: i64 = before.iter().map(|k| k.numbers.total).sum();
    if rows_before == 0 {
        // Planned, then emptied by another session's unit: nothing is left to do.
        return (0, 0, 0);
    }
    if unit.action == Action::Drop {
        let (table, ..) = columns(unit.subject);
        let deleted = spi::value::<i64>(
            &format!(
                "WITH gone AS (DELETE FROM metrics.{table} AS t
                               WHERE t.period_start >= $1 AND t.period_start < $2 AND t.period_end <= $3
                               RETURNING 1)
                 SELECT count(*) FROM gone"
            ),
            &unit.args(),
        )
        .unwrap_or(0);
        if deleted != rows_before {
            refuse(
                unit,
                format!("{rows_before} rows counted, {deleted} deleted"),
            );
        }
        record_period(unit, rows_before, 0, requests);
        return (rows_before, 0, requests);
    }
    let folded = take(unit);
    write(unit, &folded);
    let after = conserved(unit);
    if let Some(why) = mismatch(&before, &after, &folded) {
        refuse(unit, why);
    }
    let rows_after = after.len() as i64;
    record_period(unit, rows_before, rows_after, requests);
    (rows_before, rows_after, requests)
}

fn refuse(unit: &Unit, why: String) -> ! {
    raise(
        Problem::new(
            crate::common::problem::SqlState::DataCorrupted,
            format!("compaction of {} does not verify: {why}", unit.name()),
        )
        .detail("The unit was rolled back: no row was deleted or written.")
        .hint("rows of the period changed during the unit, or were written around the extension; the next run tries again"),
    )
}

/// Runs one unit in its own subtransaction: done and verified, or rolled back and reported.
pub fn run(unit: Unit) -> Done {
    let outcome = isolated(|| work(&unit));
    match outcome {
        Ok((rows_before, rows_after, requests)) => Done {
            unit,
            rows_before,
            rows_after,
            requests,
            verified: Some(true),
            error: None,
        },
        Err(failure) => {
            warning!("metrics: {}: {}", unit.name(), failure.message);
            Done {
                unit,
                rows_before: 0,
                rows_after: 0,
                requests: 0,
                verified: Some(false),
                error: Some(failure),
            }
        }
    }
}

/// The largest number of units a call may do (NULL: all).
pub fn check_max_units(max_units: Option<i32>) -> crate::common::problem::Outcome<usize> {
    match max_units {
        None => Ok(usize::MAX),
        Some(n) if n >= 1 => Ok(n as usize),
        Some(n) => Err(Problem::new(
            crate::common::problem::SqlState::InvalidParameterValue,
            format!("max_units must be at least 1, not {n}"),
        )
        .hint("pass NULL to do every unit the policies call for, or a positive number")),
    }
}

/// The plan, done (each unit verified in its own subtransaction) unless `dry_run`; a
/// compaction that did something is recorded in the maintenance log.
pub fn compact(dry_run: bool, max: usize) -> Vec<Done> {
    if dry_run {
        return plan(max).into_iter().map(estimate).collect();
    }
    let done = compact_units(max);
    if !done.is_empty() {
        log(&done);
    }
    done
}

/// At most `max` units of the plan, done; the caller records them (the maintenance job in
/// its compact step).
pub fn compact_units(max: usize) -> Vec<Done> {
    // Unfolded rows are recent (direct recording appends only the last hours' buckets), but
    // a database nobody folded for days has them in the periods to fold: into their hours
    // first, so that the plan sees them and the verification counts them.
    if crate::requests::fold::installed() {
        crate::requests::fold::fold_all();
    }
    plan(max).into_iter().map(run).collect()
}

/// One row of the maintenance log for a compaction: the units' totals and their failures.
fn log(done: &[Done]) {
    let failed: Vec<serde_json::Value> = done
        .iter()
        .filter_map(|d| {
            d.error
                .as_ref()
                .map(|f| serde_json::json!({"unit": d.unit.name(), "error": f.to_json()}))
        })
        .collect();
    let sum = |f: fn(&Done) -> i64| done.iter().map(f).sum::<i64>();
    let details = serde_json::json!({
        "units": done.len(),
        "rows_before": sum(|d| d.rows_before),
        "rows_after": sum(|d| d.rows_after),
        "requests_covered": sum(|d| d.requests),
        "failed": failed,
    });
    let status = match failed.len() {
        0 => "completed",
        n if n == done.len() => "failed",
        _ => "partial",
    };
    spi::run(
        "INSERT INTO metrics.maintenance_log (step, status, completed_at, executed_by, details)
         VALUES ('compact', $1, pg_catalog.clock_timestamp(), $2, $3::jsonb)",
        &[
            status.into(),
            crate::pg::identity::caller_name().into(),
            details.to_string().into(),
        ],
    );
}
