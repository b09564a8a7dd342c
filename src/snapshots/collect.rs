//! The collection engine behind `collect_daily_metrics` and `backfill_daily_metrics`.
//!
//! A run computes every active metric for every day of a range, set-based: the scalar metrics
//! over one source share a single scan, each breakdown has one statement, percentages are
//! computed last from the values just sealed. Each step runs in its own subtransaction with
//! the source owner's rights and a time limit (`metrics.metric_timeout` per metric); a failing
//! step is retried metric by metric, so one broken definition is logged and the others are
//! recorded, and a metric that fails on its data is retried on halves of the range, so one
//! bad day is logged with its error and the other days are sealed. Rows are sealed with
//! `INSERT ... ON CONFLICT DO NOTHING`: whatever was recorded before, by an earlier run or a
//! concurrent one, is never changed. Each value records the version of the definition that
//! computed it; the definitions are read (and locked) when the run starts.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{Days, NaiveDate};
use pgrx::datum::{Date, DatumWithOid, Uuid};
use pgrx::prelude::*;

use crate::common::calendar::{day_count, days};
use crate::common::problem::{Failure, Problem, SqlState};
use crate::jobs::catch_up::{self, Window};
use crate::jobs::retry::{delay_ms, is_transient};
use crate::jobs::run::{RunType, Status};
use crate::jobs::run_log;
use crate::pg::datum::{pg_date, stored_date};
use crate::pg::guc;
use crate::pg::identity;
use crate::pg::raise::OrRaise;
use crate::pg::spi::{not_null, volatile as spi};
use crate::pg::subxact::isolated;
use crate::pg::timeout;
use crate::snapshots::definition::{Definition, Ratio};
use crate::snapshots::kind::Kind;
use crate::snapshots::layout::layout;
use crate::snapshots::read::last_closed_day_in_zone;
use crate::snapshots::registry::{self, Resolved, Sourced};
use crate::snapshots::statements::{
    self, Measure, INSERT_SQL, INSERT_SQL_BEFORE_030, INSERT_SQL_BEFORE_060, PERCENTAGE_SQL,
    PERCENTAGE_SQL_BEFORE_060,
};
use crate::snapshots::tally::{report, Report, Tally};

/// Computed daily values, column by column, ready for `INSERT ... SELECT FROM unnest(...)`.
#[derive(Default)]
pub struct Rows {
    pub dates: Vec<Date>,
    pub types: Vec<String>,
    pub categories: Vec<String>,
    pub values: Vec<String>,
    pub metadata: Vec<String>,
    pub sketches: Vec<Option<Vec<u8>>>,
    /// The project of each row (None: the whole database).
    pub projects: Vec<Option<Uuid>>,
    /// Per-project metrics: how many of each metric's rows belong to no known project.
    pub unassigned: Vec<(String, i64)>,
}

/// One computed row, as the statements return it.
pub type Computed = (
    Date,
    String,
    String,
    String,
    String,
    Option<Vec<u8>>,
    Option<Uuid>,
);

impl Rows {
    pub fn len(&self) -> usize {
        self.dates.len()
    }

    /// The days that have a row.
    pub fn days(&self) -> Vec<NaiveDate> {
        self.dates.iter().map(|d| stored_date(*d)).collect()
    }

    fn push(&mut self, (date, typ, category, value, metadata, sketch, project): Computed) {
        self.projects.push(project);
        self.dates.push(date);
        self.types.push(typ);
        self.categories.push(category);
        self.values.push(value);
        self.metadata.push(metadata);
        self.sketches.push(sketch);
    }

    pub fn into_rows(self) -> impl Iterator<Item = Computed> {
        self.dates
            .into_iter()
            .zip(self.types)
            .zip(self.categories)
            .zip(self.values)
            .zip(self.metadata)
            .zip(self.sketches)
            .zip(self.projects)
            .map(|((((((d, t), c), v), m), k), p)| (d, t, c, v, m, k, p))
    }

    /// Takes out the rows whose value is not a finite number (an average over values that
    /// include NaN or infinities): they are not sealed, each is its day's failure.
    pub fn take_non_finite(&mut self) -> Vec<NonFinite> {
        let mut kept = Rows::default();
        let mut refused = Vec::new();
        for row in std::mem::take(self).into_rows() {
            if is_finite_number(&row.3) && !metadata_has_non_finite(&row.1, &row.4) {
                kept.push(row);
            } else {
                refused.push(NonFinite {
                    date: stored_date(row.0),
                    category: row.2,
                    value: row.3,
                });
            }
        }
        *self = kept;
        refused
    }
}

/// A computed value that is not a finite number.
pub struct NonFinite {
    pub date: NaiveDate,
    pub category: String,
    pub value: String,
}

impl NonFinite {
    pub fn failure(&self) -> Failure {
        Problem::new(
            SqlState::NumericValueOutOfRange,
            format!(
                "the value of \"{}\" on {} is {}, not a finite number: its source values include NaN or infinite numbers",
                self.category, self.date, self.value
            ),
        )
        .detail("A sealed value is a finite number; the day is not sealed.")
        .hint("exclude them with a filter, e.g. filter => 'x <> ''NaN'' AND x > ''-Infinity'' AND x < ''Infinity''', then collect the day again")
        .into()
    }
}

/// Whether PostgreSQL's text of a numeric is a finite number.
fn is_finite_number(text: &str) -> bool {
    !matches!(text, "NaN" | "Infinity" | "-Infinity")
}

/// Whether an average's metadata holds a non-finite standard deviation (jsonb prints NaN and
/// the infinities of a numeric as strings). Only averages can: other kinds' metadata holds
/// counts, and a breakdown's keys are user text ("NaN" is a fine group name).
fn metadata_has_non_finite(metric_type: &str, metadata: &str) -> bool {
    metric_type == "average"
        && serde_json::from_str::<serde_json::Value>(metadata)
            .ok()
            .and_then(|m| {
                m.get("std_deviation")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            })
            .is_some_and(|s| !is_finite_number(&s))
}

/// Runs a computing statement and collects its rows (every column is set by the statement).
///
/// JIT is off for it: the planner has no statistics for "the day of a row", so it expects a
/// group per row (600,000 instead of 365) and JIT-compiles a statement that then runs in a
/// fraction of the compile time. `extra_float_digits` is PostgreSQL's default, 1, whatever
/// the session's: a double (a percentile's value) is printed as the shortest text that
/// reads back as the same double, so the sealed numeric is exact.
fn compute(sql: &str, args: &[DatumWithOid]) -> Rows {
    let mut rows = Rows::default();
    let settings = [(c"jit", c"off"), (c"extra_float_digits", c"1")];
    let computed = guc::with_local_settings(&settings, || {
        spi::rows(sql, args, |row| {
            Ok((
                not_null::<Date>(row, 1)?,
                not_null::<String>(row, 2)?,
                not_null::<String>(row, 3)?,
                not_null::<String>(row, 4)?,
                not_null::<String>(row, 5)?,
                row.get::<Vec<u8>>(6)?,
                row.get::<Uuid>(7)?,
            ))
        })
    });
    for row in computed {
        rows.push(row);
    }
    rows
}

/// The definition version of each metric of a run, recorded with each value it seals.
pub type Versions = HashMap<String, i32>;

/// Seals computed rows with their definitions' versions; returns how many were new.
pub fn seal(rows: Rows, versions: &Versions) -> i64 {
    if rows.len() == 0 {
        return 0;
    }
    let row_versions: Vec<Option<i32>> = rows
        .categories
        .iter()
        .map(|c| versions.get(c).copied())
        .collect();
    let mut args: Vec<DatumWithOid> = vec![
        rows.dates.into(),
        rows.types.into(),
        rows.categories.into(),
        rows.values.into(),
        rows.metadata.into(),
    ];
    // Tables before 0.3.0 have no column for the version nor the sketch, tables before
    // 0.6.0 none for the project.
    let layout = layout();
    if layout.has_provenance() {
        args.push(row_versions.into());
        args.push(rows.sketches.into());
    }
    let sql = if layout.has_projects() {
        args.push(rows.projects.into());
        INSERT_SQL
    } else if layout.has_provenance() {
        INSERT_SQL_BEFORE_060
    } else {
        INSERT_SQL_BEFORE_030
    };
    spi::rows(sql, &args, |_| Ok(())).len() as i64
}

/// Computes metrics that share one source (several scalar ones, or one breakdown) with the
/// source owner's rights; a per-project source for every project, its rows of no known
/// project reported (`report_unassigned`).
pub fn compute_sourced(metrics: &[&Sourced], start: NaiveDate, end: NaiveDate) -> Rows {
    let sketches = layout().has_provenance();
    if sketches && metrics.iter().any(|m| m.measure.kind.has_sketch()) {
        registry::allow_sketch(metrics[0].relation.owner);
    }
    let scoped = metrics[0].source.project_column.is_some();
    let keys = scoped.then(|| project_keys(metrics[0].project_is_uuid, None));
    let mut rows = compute_over(metrics, start, end, sketches, keys);
    if scoped {
        rows.unassigned = report_unassigned(&rows, metrics);
    }
    rows
}

/// The keys of `project_keys` and the project id of each.
pub type ProjectKeys = (Vec<String>, Vec<Uuid>);

/// Computes metrics that share one source over `[start, end]` with the source owner's
/// rights, with or without sketches, a per-project source over the projects of `keys`.
pub fn compute_over(
    metrics: &[&Sourced],
    start: NaiveDate,
    end: NaiveDate,
    sketches: bool,
    keys: Option<ProjectKeys>,
) -> Rows {
    let Sourced {
        relation, source, ..
    } = metrics[0];
    let measures: Vec<Measure> = metrics.iter().map(|m| m.measure.clone()).collect();
    let sql = statements::source_sql(source, &measures, sketches);
    let categories: Vec<String> = measures.iter().map(|m| m.category.clone()).collect();
    let mut args: Vec<DatumWithOid<'static>> = vec![
        pg_date(start).into(),
        pg_date(end).into(),
        guc::timezone().into(),
        categories.into(),
        measures[0].top_n.into(),
    ];
    if source.project_column.is_some() {
        let (keys, ids) = keys.unwrap_or_default();
        args.push(keys.into());
        args.push(ids.into());
    }
    identity::as_role(relation.owner, || compute(&sql, &args))
}

/// What a per-project statement matches a row's project column with (`statements::KEYS_CTE`):
/// every project's id (as text), and for a text column its slug too (a slug that reads as
/// another project's id names that project: ids come first), each with its project's id;
/// or only `only`'s. Read with the engine's rights: every project is one of the scopes.
pub fn project_keys(uuid_column: bool, only: Option<Uuid>) -> ProjectKeys {
    spi::rows(
        "SELECT DISTINCT ON (k.key) k.key, k.id
         FROM (SELECT p.id::text AS key, p.id, 0 AS rank FROM metrics.projects AS p WHERE NOT p.whole_database
               UNION ALL
               SELECT p.slug, p.id, 1 FROM metrics.projects AS p WHERE NOT $1 AND NOT p.whole_database) AS k
         WHERE $2::uuid IS NULL OR k.id = $2
         ORDER BY k.key, k.rank",
        &[uuid_column.into(), only.into()],
        |row| Ok((not_null::<String>(row, 1)?, not_null::<Uuid>(row, 2)?)),
    )
    .into_iter()
    .unzip()
}

/// Tells the caller, with a NOTICE per metric, how many of its rows belonged to no known
/// project (their project column NULL, or naming no project): they are counted in the
/// whole-database value only (its `metadata.unassigned_rows`, day by day; a total's is a
/// running count, so its last day's is reported).
fn report_unassigned(rows: &Rows, metrics: &[&Sourced]) -> Vec<(String, i64)> {
    let mut per_metric: BTreeMap<&str, (i64, usize)> = BTreeMap::new();
    let rows_of_whole = rows
        .categories
        .iter()
        .zip(&rows.metadata)
        .zip(&rows.projects)
        .filter(|(_, project)| project.is_none());
    for ((category, metadata), _) in rows_of_whole {
        let unassigned = serde_json::from_str::<serde_json::Value>(metadata)
            .ok()
            .and_then(|m| m.get("unassigned_rows").and_then(serde_json::Value::as_i64))
            .unwrap_or(0);
        if unassigned > 0 {
            let total = metrics
                .iter()
                .any(|m| m.measure.category == *category && m.measure.kind == Kind::Total);
            let entry = per_metric.entry(category).or_default();
            entry.0 = if total {
                entry.0.max(unassigned)
            } else {
                entry.0 + unassigned
            };
            entry.1 += 1;
        }
    }
    let mut counts = Vec::new();
    for (category, (count, days)) in per_metric {
        notice!(
            "metrics: metric \"{category}\": {count} rows (on {days} days) belong to no known project (their project column is NULL or names no project); they are counted in the whole-database value only (metadata.unassigned_rows)"
        );
        counts.push((category.to_string(), count));
    }
    counts
}

/// Computes a percentage from the sealed values of its parts, on the days both are recorded
/// (per project too when both parts are per-project metrics).
pub fn compute_ratio(ratio: &Ratio, start: NaiveDate, end: NaiveDate) -> Rows {
    let sql = if layout().has_projects() {
        PERCENTAGE_SQL
    } else {
        PERCENTAGE_SQL_BEFORE_060
    };
    compute(
        sql,
        &[
            pg_date(start).into(),
            pg_date(end).into(),
            ratio.category.as_str().into(),
            ratio.numerator.as_str().into(),
            ratio.denominator.as_str().into(),
            registry::ratio_is_scoped(ratio).into(),
        ],
    )
}

/// Reports backfill progress as NOTICEs: values dealt with out of values planned, how many
/// of them failed, the rate, and what the step just finished did.
struct Progress {
    label: String,
    total: i64,
    started: Instant,
    enabled: bool,
}

impl Progress {
    fn report(&self, tally: &Tally, step: &str, categories: &[&str]) {
        if !self.enabled {
            return;
        }
        let done = tally.done();
        let seconds = self.started.elapsed().as_secs_f64().max(1e-6);
        let percent = if self.total > 0 {
            done * 100 / self.total
        } else {
            100
        };
        let failed: Vec<&str> = categories
            .iter()
            .copied()
            .filter(|c| tally.failed(c))
            .collect();
        let outcome = if failed.is_empty() {
            format!("sealed: {step}")
        } else {
            format!(
                "FAILED: {} (in {step}; see metrics.metric_collection_log)",
                failed.join(", ")
            )
        };
        notice!(
            "metrics: {}: {done}/{} values processed ({percent}%), {} failed so far, {:.0} values/s; {outcome}",
            self.label,
            self.total,
            tally.failed_values,
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
    /// The run's row in `metrics.metric_collection_log`.
    pub log_id: String,
}

/// The days each metric of a run covers: the same range for all (a collection of a day, a
/// backfill), or a window per metric (a catch-up), the others getting `default`.
pub struct RunDays {
    pub span: Window,
    pub default: Window,
    pub windows: HashMap<String, Window>,
}

impl RunDays {
    /// Every metric over `[start, end]`.
    pub fn range(start: NaiveDate, end: NaiveDate) -> RunDays {
        let all = Window { start, end };
        RunDays {
            span: all,
            default: all,
            windows: HashMap::new(),
        }
    }

    fn of(&self, category: &str) -> Range {
        let w = self.windows.get(category).copied().unwrap_or(self.default);
        Range {
            start: w.start,
            end: w.end,
        }
    }
}

/// The steps of a run: one per source (and time column, project column and window of days) for the scalar
/// kinds, one per breakdown, then the percentages, each with its range.
struct Steps<'a> {
    sourced: Vec<(Vec<&'a Sourced>, Range)>,
    ratios: Vec<(&'a Ratio, Range)>,
}

fn steps<'a>(resolved: &'a [Resolved], days: &RunDays) -> Steps<'a> {
    // A source, its time column and its project column (per-project metrics are grouped
    // by project too, the others not), and a window of days.
    type Key = (u32, String, Option<String>, NaiveDate, NaiveDate);
    let mut by_source: BTreeMap<Key, (Vec<&Sourced>, Range)> = BTreeMap::new();
    let mut breakdowns = Vec::new();
    let mut ratios = Vec::new();
    for r in resolved {
        match r {
            Resolved::Sourced(m) if m.measure.kind == Kind::Breakdown => {
                breakdowns.push((vec![m], days.of(&m.measure.category)))
            }
            Resolved::Sourced(m) => {
                let range = days.of(&m.measure.category);
                let key = (
                    m.relation.oid.to_u32(),
                    m.source.time_column.clone(),
                    m.source.project_column.clone(),
                    range.start,
                    range.end,
                );
                by_source
                    .entry(key)
                    .or_insert_with(|| (Vec::new(), range))
                    .0
                    .push(m)
            }
            Resolved::Ratio(ratio) => ratios.push((ratio, days.of(&ratio.category))),
        }
    }
    Steps {
        sourced: by_source.into_values().chain(breakdowns).collect(),
        ratios,
    }
}

/// Runs `work` again after a transient failure (`jobs::retry`), waiting longer each time;
/// every retry is counted as `category`'s in the tally. Returns the last attempt's result.
fn retrying<R>(
    category: &str,
    tally: &mut Tally,
    mut work: impl FnMut() -> Result<R, Failure>,
) -> Result<R, Failure> {
    let mut retry = 0;
    loop {
        match work() {
            Err(failure) if is_transient(&failure.sqlstate) => {
                retry += 1;
                let Some(ms) = delay_ms(retry, guc::retry_delay_ms()) else {
                    return Err(failure);
                };
                tally.retried(category, &failure.sqlstate);
                pause(ms);
            }
            done => return done,
        }
    }
}

/// Waits `ms` milliseconds; a cancel while waiting stops the run (pg_sleep checks for it).
fn pause(ms: u64) {
    if ms > 0 {
        spi::run(
            "SELECT pg_catalog.pg_sleep($1)",
            &[(ms as f64 / 1000.0).into()],
        );
    }
}

/// Resolves each definition against the catalog; a broken one fails all its days, and the
/// run goes on without it.
fn resolve_all(definitions: &[Definition], days: &RunDays, tally: &mut Tally) -> Vec<Resolved> {
    let mut resolved = Vec::new();
    for def in definitions {
        let category = def.category();
        match retrying(category, tally, || {
            isolated(|| registry::resolve(def).or_raise())
        }) {
            Ok(r) => resolved.push(r),
            Err(failure) => tally.fail(category, days.of(category).count(), failure),
        }
    }
    resolved
}

/// One range of days of one step.
#[derive(Clone, Copy)]
struct Range {
    start: NaiveDate,
    end: NaiveDate,
}

impl Range {
    /// The two halves of a range of at least two days.
    fn halves(self) -> Option<(Range, Range)> {
        if self.start >= self.end {
            return None;
        }
        let middle = self.start + Days::new((day_count(self.start, self.end) as u64 - 1) / 2);
        Some((
            Range {
                start: self.start,
                end: middle,
            },
            Range {
                start: middle + Days::new(1),
                end: self.end,
            },
        ))
    }

    fn days(self) -> Vec<NaiveDate> {
        days(self.start, self.end).collect()
    }

    fn count(self) -> i64 {
        day_count(self.start, self.end)
    }
}

/// What sealing one step over one range did.
struct Sealed {
    computed: usize,
    inserted: i64,
    non_finite: Vec<NonFinite>,
    /// Per-project metrics: their rows of no known project (`report_unassigned`).
    unassigned: Vec<(String, i64)>,
}

/// The time limit of computing `metrics` over `range`: `metrics.metric_timeout` for each
/// metric and each started month of the range (the seed's limit is per day's query; a year
/// in one statement gets twelve of them, not 365), 0 for none.
fn time_limit(metrics: usize, range: Range) -> i32 {
    let months = (day_count(range.start, range.end) + 30) / 31;
    guc::metric_timeout_ms()
        .saturating_mul(metrics as i32)
        .saturating_mul(months.clamp(1, i32::MAX as i64) as i32)
}

/// Computes `metrics` over `range` within their time limit, then seals them (the sealing
/// INSERT may wait for a concurrent run's rows of the same days: that is not the metric's
/// cost), in a subtransaction.
fn attempt(metrics: &[&Sourced], range: Range, versions: &Versions) -> Result<Sealed, Failure> {
    let limit = time_limit(metrics.len(), range);
    isolated(|| {
        let mut rows = timeout::within(limit, || compute_sourced(metrics, range.start, range.end));
        let unassigned = std::mem::take(&mut rows.unassigned);
        let non_finite = rows.take_non_finite();
        let computed = rows.len();
        Sealed {
            computed,
            inserted: seal(rows, versions),
            non_finite,
            unassigned,
        }
    })
}

fn record(sealed: Sealed, tally: &mut Tally) {
    tally.sealed(sealed.computed, sealed.inserted);
    for (category, rows) in sealed.unassigned {
        tally.unassigned(&category, rows);
    }
    for bad in sealed.non_finite {
        tally.fail_days(&bad.category, &[bad.date], bad.failure());
    }
}

/// Whether a failure is about the data of some day (then the other days can be sealed), not
/// about the definition, the time limit or the server.
fn is_data_error(failure: &Failure) -> bool {
    failure.sqlstate.starts_with("22")
}

/// Seals one metric that failed over `range`: a failure in the data is narrowed down by
/// halving the range, so only the days that cannot be computed fail; any other failure
/// fails the whole range.
fn seal_alone(m: &Sourced, range: Range, failure: Failure, versions: &Versions, tally: &mut Tally) {
    let halves = if is_data_error(&failure) {
        range.halves()
    } else {
        None
    };
    let Some((first, second)) = halves else {
        tally.fail_days(&m.measure.category, &range.days(), failure);
        return;
    };
    for half in [first, second] {
        seal_one(m, half, versions, tally);
    }
}

/// Computes and seals one metric over `range`, trying again after transient failures; what
/// still fails is narrowed down by `seal_alone`.
fn seal_one(m: &Sourced, range: Range, versions: &Versions, tally: &mut Tally) {
    let category = m.measure.category.as_str();
    match retrying(category, tally, || attempt(&[m], range, versions)) {
        Ok(sealed) => record(sealed, tally),
        Err(failure) => seal_alone(m, range, failure, versions, tally),
    }
}

/// Computes and seals one step over a source; if it fails with several metrics, each is
/// computed on its own (transient failures retried per metric, so the attempts are each
/// metric's) to find the broken one, and a metric that fails on its data is narrowed down
/// to its bad days.
fn seal_sourced(group: &[&Sourced], range: Range, versions: &Versions, tally: &mut Tally) {
    if group.len() > 1 {
        if let Ok(sealed) = attempt(group, range, versions) {
            return record(sealed, tally);
        }
    }
    for m in group {
        seal_one(m, range, versions, tally);
    }
}

/// Computes and seals a percentage; the days without both parts are its failures.
fn seal_ratio(ratio: &Ratio, range: Range, versions: &Versions, tally: &mut Tally) {
    let sealed = retrying(&ratio.category, tally, || {
        isolated(|| {
            let rows = compute_ratio(ratio, range.start, range.end);
            let recorded = rows.days();
            (rows.len(), recorded, seal(rows, versions))
        })
    });
    match sealed {
        Ok((computed, recorded, inserted)) => {
            tally.sealed(computed, inserted);
            tally.ratio_gaps(ratio, range.start, range.end, &recorded);
        }
        Err(failure) => tally.fail(&ratio.category, range.count(), failure),
    }
}

/// Collects every active metric for every day of `[start, end]` (see `run_days`).
pub fn run(kind: RunType, start: NaiveDate, end: NaiveDate) -> Summary {
    run_days(kind, &RunDays::range(start, end))
}

/// Catches up (`collect_daily_metrics()` without a date): each active metric over the closed
/// days after its last sealed day, at most `metrics.catch_up_days` of them
/// (`jobs::catch_up`), in one run logged over the span of those days.
pub fn catch_up() -> Summary {
    // A day is sealed when its whole-database row is (a per-project metric seals its
    // projects' rows in the same statement); tables before 0.6.0 have only those.
    let whole = if layout().has_projects() {
        " AND m.project_id IS NULL"
    } else {
        ""
    };
    let last_sealed: Vec<(String, Option<NaiveDate>)> = spi::rows(
        &format!(
            "SELECT d.metric_category,
                (SELECT max(m.metric_date) FROM metrics.daily_metrics AS m
                 WHERE m.metric_category = d.metric_category{whole})
         FROM metrics.metric_definitions AS d WHERE d.is_active"
        ),
        &[],
        |row| {
            let sealed: Option<Date> = row.get(2)?;
            Ok((not_null::<String>(row, 1)?, sealed.map(stored_date)))
        },
    );
    let last_closed = last_closed_day_in_zone();
    let plan = catch_up::plan(&last_sealed, last_closed, guc::catch_up_days());
    let days = RunDays {
        span: plan.span,
        default: Window {
            start: last_closed,
            end: last_closed,
        },
        windows: plan.windows.into_iter().collect(),
    };
    run_days(RunType::Collect, &days)
}

/// The values a run plans: a value per day of each metric's window, and for a per-project
/// metric (a percentage: when both its parts are) one more per project and day.
fn planned_values(definitions: &[Definition], days: &RunDays) -> i64 {
    let projects = if layout().has_projects() {
        spi::value::<i64>("SELECT count(*) FROM metrics.projects", &[]).unwrap_or(0)
    } else {
        0
    };
    let scoped: Vec<&str> = definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Sourced(s) if s.project_column.is_some() => Some(s.category.as_str()),
            _ => None,
        })
        .collect();
    let is_scoped = |d: &Definition| match d {
        Definition::Sourced(s) => s.project_column.is_some(),
        Definition::Ratio(r) => {
            scoped.contains(&r.numerator.as_str()) && scoped.contains(&r.denominator.as_str())
        }
    };
    definitions
        .iter()
        .map(|d| days.of(d.category()).count() * if is_scoped(d) { 1 + projects } else { 1 })
        .sum()
}

/// Collects every active metric for every day of its range, logs the run (a collection, a
/// catch-up or a backfill: the same engine, logged apart), and tells the caller with a
/// NOTICE when nothing was new and a WARNING when metrics failed.
pub fn run_days(kind: RunType, days: &RunDays) -> Summary {
    let started = Instant::now();
    let Window { start, end } = days.span;
    let label = if start == end {
        start.to_string()
    } else {
        format!("{start}..{end}")
    };
    let log_id = run_log::open(kind, start, end, &guc::timezone());
    let (definitions, versions): (Vec<Definition>, Versions) = registry::load_versioned(None)
        .into_iter()
        .map(|(d, v)| {
            let category = d.category().to_string();
            (d, (category, v))
        })
        .unzip();
    let mut tally = Tally::new(day_count(start, end), definitions.len());
    let progress = Progress {
        label: format!("backfill {label}"),
        total: planned_values(&definitions, days),
        started,
        enabled: kind == RunType::Backfill,
    };
    let resolved = resolve_all(&definitions, days, &mut tally);
    let steps = steps(&resolved, days);
    for (group, range) in &steps.sourced {
        seal_sourced(group, *range, &versions, &mut tally);
        let categories: Vec<&str> = group.iter().map(|m| m.measure.category.as_str()).collect();
        let step = format!(
            "{} ({})",
            group[0].relation.display(),
            categories.join(", ")
        );
        progress.report(&tally, &step, &categories);
    }
    for (ratio, range) in steps.ratios {
        seal_ratio(ratio, range, &versions, &mut tally);
        progress.report(&tally, &ratio.category, &[ratio.category.as_str()]);
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
        log_id,
    }
}
