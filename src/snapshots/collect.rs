//! The collection engine behind `collect_daily_metrics` and `backfill_daily_metrics`.
//!
//! A run computes every active metric for every day of a range, set-based: the scalar metrics
//! over one source share a single scan, each breakdown has one statement, percentages are
//! computed last from the values just sealed. Each step runs in its own subtransaction with
//! the source owner's rights; a failing step is retried metric by metric, so one broken
//! definition is logged and the others are recorded. Rows are sealed with
//! `INSERT ... ON CONFLICT DO NOTHING`: whatever was recorded before, by an earlier run or a
//! concurrent one, is never changed.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use pgrx::datum::{Date, DatumWithOid};
use pgrx::prelude::*;

use crate::common::calendar::day_count;
use crate::jobs::run::{RunType, Status};
use crate::jobs::run_log;
use crate::pg::datum::{pg_date, stored_date};
use crate::pg::guc;
use crate::pg::identity;
use crate::pg::raise::OrRaise;
use crate::pg::spi::{not_null, volatile as spi};
use crate::pg::subxact::isolated;
use crate::snapshots::definition::{Definition, Ratio};
use crate::snapshots::kind::Kind;
use crate::snapshots::registry::{self, Resolved, Sourced};
use crate::snapshots::statements::{self, Measure, INSERT_SQL, PERCENTAGE_SQL};
use crate::snapshots::tally::{report, Report, Tally};

/// Computed daily values, column by column, ready for `INSERT ... SELECT FROM unnest(...)`.
#[derive(Default)]
pub struct Rows {
    pub dates: Vec<Date>,
    pub types: Vec<String>,
    pub categories: Vec<String>,
    pub values: Vec<String>,
    pub metadata: Vec<String>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.dates.len()
    }

    /// The days that have a row.
    pub fn days(&self) -> Vec<NaiveDate> {
        self.dates.iter().map(|d| stored_date(*d)).collect()
    }
}

/// Runs a computing statement and collects its rows (every column is set by the statement).
///
/// JIT is off for it: the planner has no statistics for "the day of a row", so it expects a
/// group per row (600,000 instead of 365) and JIT-compiles a statement that then runs in a
/// fraction of the compile time.
fn compute(sql: &str, args: &[DatumWithOid]) -> Rows {
    let mut rows = Rows::default();
    let computed = guc::with_local_settings(&[(c"jit", c"off")], || {
        spi::rows(sql, args, |row| {
            Ok((
                not_null::<Date>(row, 1)?,
                not_null::<String>(row, 2)?,
                not_null::<String>(row, 3)?,
                not_null::<String>(row, 4)?,
                not_null::<String>(row, 5)?,
            ))
        })
    });
    for (date, typ, category, value, metadata) in computed {
        rows.dates.push(date);
        rows.types.push(typ);
        rows.categories.push(category);
        rows.values.push(value);
        rows.metadata.push(metadata);
    }
    rows
}

/// Seals computed rows; returns how many were new.
fn seal(rows: Rows) -> i64 {
    if rows.len() == 0 {
        return 0;
    }
    spi::rows(
        INSERT_SQL,
        &[
            rows.dates.into(),
            rows.types.into(),
            rows.categories.into(),
            rows.values.into(),
            rows.metadata.into(),
        ],
        |_| Ok(()),
    )
    .len() as i64
}

/// Computes metrics that share one source (several scalar ones, or one breakdown) with the
/// source owner's rights.
pub fn compute_sourced(metrics: &[&Sourced], start: NaiveDate, end: NaiveDate) -> Rows {
    let Sourced {
        relation, source, ..
    } = metrics[0];
    let measures: Vec<Measure> = metrics.iter().map(|m| m.measure.clone()).collect();
    let sql = statements::source_sql(source, &measures);
    let categories: Vec<String> = measures.iter().map(|m| m.category.clone()).collect();
    let args: Vec<DatumWithOid<'static>> = vec![
        pg_date(start).into(),
        pg_date(end).into(),
        guc::timezone().into(),
        categories.into(),
        measures[0].top_n.into(),
    ];
    identity::as_role(relation.owner, || compute(&sql, &args))
}

/// Computes a percentage from the sealed values of its parts, on the days both are recorded.
pub fn compute_ratio(ratio: &Ratio, start: NaiveDate, end: NaiveDate) -> Rows {
    compute(
        PERCENTAGE_SQL,
        &[
            pg_date(start).into(),
            pg_date(end).into(),
            ratio.category.as_str().into(),
            ratio.numerator.as_str().into(),
            ratio.denominator.as_str().into(),
        ],
    )
}

/// Reports backfill progress as NOTICEs: values done out of values planned, and the rate.
struct Progress {
    label: String,
    total: i64,
    started: Instant,
    enabled: bool,
}

impl Progress {
    fn report(&self, done: i64, step: &str) {
        if !self.enabled {
            return;
        }
        let seconds = self.started.elapsed().as_secs_f64().max(1e-6);
        let percent = if self.total > 0 {
            done * 100 / self.total
        } else {
            100
        };
        notice!(
            "metrics: {}: {done}/{} values ({percent}%), {:.0} values/s, done: {step}",
            self.label,
            self.total,
            done as f64 / seconds
        );
    }
}

/// What a run returns to its caller.
pub struct Summary {
    pub days: i64,
    pub recorded: i64,
    pub status: Status,
    pub elapsed_ms: i32,
}

/// The steps of a run: one per source (and time column) for the scalar kinds, one per
/// breakdown, then the percentages.
struct Steps<'a> {
    sourced: Vec<Vec<&'a Sourced>>,
    ratios: Vec<&'a Ratio>,
}

fn steps(resolved: &[Resolved]) -> Steps<'_> {
    let mut by_source: BTreeMap<(u32, String), Vec<&Sourced>> = BTreeMap::new();
    let mut breakdowns = Vec::new();
    let mut ratios = Vec::new();
    for r in resolved {
        match r {
            Resolved::Sourced(m) if m.measure.kind == Kind::Breakdown => breakdowns.push(vec![m]),
            Resolved::Sourced(m) => by_source
                .entry((m.relation.oid.to_u32(), m.source.time_column.clone()))
                .or_default()
                .push(m),
            Resolved::Ratio(ratio) => ratios.push(ratio),
        }
    }
    Steps {
        sourced: by_source.into_values().chain(breakdowns).collect(),
        ratios,
    }
}

/// Resolves each definition against the catalog; a broken one fails all its days, and the
/// run goes on without it.
fn resolve_all(definitions: &[Definition], tally: &mut Tally) -> Vec<Resolved> {
    let mut resolved = Vec::new();
    for def in definitions {
        match isolated(|| registry::resolve(def).or_raise()) {
            Ok(r) => resolved.push(r),
            Err(failure) => tally.fail(def.category(), tally.days, failure),
        }
    }
    resolved
}

/// Computes and seals one step over a source; if it fails with several metrics, each is
/// retried on its own to find the broken one.
fn seal_sourced(group: &[&Sourced], start: NaiveDate, end: NaiveDate, tally: &mut Tally) {
    let attempt = |metrics: &[&Sourced]| {
        isolated(|| {
            let rows = compute_sourced(metrics, start, end);
            (rows.len(), seal(rows))
        })
    };
    match attempt(group) {
        Ok((computed, inserted)) => tally.sealed(computed, inserted),
        Err(failure) if group.len() == 1 => {
            tally.fail(&group[0].measure.category, tally.days, failure)
        }
        Err(_) => {
            for m in group {
                match attempt(std::slice::from_ref(m)) {
                    Ok((computed, inserted)) => tally.sealed(computed, inserted),
                    Err(failure) => tally.fail(&m.measure.category, tally.days, failure),
                }
            }
        }
    }
}

/// Computes and seals a percentage; the days without both parts are its failures.
fn seal_ratio(ratio: &Ratio, start: NaiveDate, end: NaiveDate, tally: &mut Tally) {
    match isolated(|| {
        let rows = compute_ratio(ratio, start, end);
        let recorded = rows.days();
        (rows.len(), recorded, seal(rows))
    }) {
        Ok((computed, recorded, inserted)) => {
            tally.sealed(computed, inserted);
            tally.ratio_gaps(ratio, start, end, &recorded);
        }
        Err(failure) => tally.fail(&ratio.category, tally.days, failure),
    }
}

/// Collects every active metric for every day of `[start, end]`, logs the run (a collection
/// of one day or a backfill of a range: the same engine, logged apart), and tells the caller
/// with a NOTICE when nothing was new and a WARNING when metrics failed.
pub fn run(kind: RunType, start: NaiveDate, end: NaiveDate) -> Summary {
    let started = Instant::now();
    let label = if start == end {
        start.to_string()
    } else {
        format!("{start}..{end}")
    };
    let log_id = run_log::open(kind, start, end, &guc::timezone());
    let definitions = registry::load(None);
    let mut tally = Tally::new(day_count(start, end), definitions.len());
    let progress = Progress {
        label: format!("backfill {label}"),
        total: tally.days * definitions.len() as i64,
        started,
        enabled: kind == RunType::Backfill,
    };
    let resolved = resolve_all(&definitions, &mut tally);
    let steps = steps(&resolved);
    for group in &steps.sourced {
        seal_sourced(group, start, end, &mut tally);
        let categories: Vec<&str> = group.iter().map(|m| m.measure.category.as_str()).collect();
        let step = format!(
            "{} ({})",
            group[0].relation.display(),
            categories.join(", ")
        );
        progress.report(tally.done(), &step);
    }
    for ratio in steps.ratios {
        seal_ratio(ratio, start, end, &mut tally);
        progress.report(tally.done(), &ratio.category);
    }
    let outcome = tally.outcome();
    match report(&label, &outcome) {
        Report::Nothing => {}
        Report::Notice(text) => notice!("{text}"),
        Report::Warning(text) => warning!("{text}"),
    }
    run_log::close(&log_id, &outcome);
    Summary {
        days: tally.days,
        recorded: tally.recorded,
        status: outcome.status,
        elapsed_ms: started.elapsed().as_millis().min(i32::MAX as u128) as i32,
    }
}
