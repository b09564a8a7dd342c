//! The collection engine behind `collect_daily_metrics`, `backfill_daily_metrics` and
//! `recollect`.
//!
//! A run computes every active metric for every day of a range, set-based: the scalar metrics
//! over one source share a single scan, each breakdown has one statement, percentages are
//! computed last from the values just sealed. Each step runs in its own subtransaction with
//! the source owner's rights; a failing step is retried metric by metric, so one broken
//! definition is logged and the others are recorded. Rows are sealed with
//! `INSERT ... ON CONFLICT DO NOTHING`: whatever was recorded before, by an earlier run or a
//! concurrent one, is never changed.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::NaiveDate;
use pgrx::datum::{AnyNumeric, Date, DatumWithOid};
use pgrx::prelude::*;
use serde_json::{json, Value};

use crate::common::calendar::{check_closed, check_order, day_count, days};
use crate::pg::spi::{self, naive_date, pg_date};
use crate::snapshots::definition::Kind;
use crate::snapshots::registry::{self, Ratio, Resolved, Sourced};
use crate::pg::raise::{raise, OrRaise};
use crate::pg::identity;
use crate::snapshots::statements::{self, Measure, PERCENTAGE_SQL};
use crate::common::problem::{required, Outcome, Problem, SqlState};
use crate::snapshots::read::last_closed_day_in_zone;
use crate::jobs::run_log::{self, Status};
use crate::snapshots::seal::with_revision_permit;
use crate::pg::guc;
use crate::pg::subxact::{isolated, Failure};

/// Longest range one backfill call accepts (a century of days).
const MAX_BACKFILL_DAYS: i64 = 36_600;

/// Computed daily values, column by column, ready for `INSERT ... SELECT FROM unnest(...)`.
#[derive(Default)]
struct Rows {
    dates: Vec<Date>,
    types: Vec<String>,
    categories: Vec<String>,
    values: Vec<String>,
    metadata: Vec<String>,
}

impl Rows {
    fn len(&self) -> usize {
        self.dates.len()
    }
}

/// Runs a computing statement and collects its rows.
///
/// JIT is off for it: the planner has no statistics for "the day of a row", so it expects a
/// group per row (600,000 instead of 365) and JIT-compiles a statement that then runs in a
/// fraction of the compile time.
fn compute(sql: &str, args: &[DatumWithOid]) -> Rows {
    let mut rows = Rows::default();
    let computed = guc::with_local_settings(&[(c"jit", c"off")], || {
        spi::select(sql, args, |row| {
            Ok((
                row.get::<Date>(1)?.expect("metric_date"),
                row.get::<String>(2)?.unwrap_or_default(),
                row.get::<String>(3)?.unwrap_or_default(),
                row.get::<String>(4)?.unwrap_or_default(),
                row.get::<String>(5)?.unwrap_or_else(|| "{}".to_string()),
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

/// Seals computed rows; returns how many were new, per category.
fn seal(rows: Rows) -> HashMap<String, i64> {
    let mut inserted = HashMap::new();
    if rows.len() == 0 {
        return inserted;
    }
    for category in spi::update(
        statements::INSERT_SQL,
        &[
            rows.dates.into(),
            rows.types.into(),
            rows.categories.into(),
            rows.values.into(),
            rows.metadata.into(),
        ],
        |row| Ok(row.get::<String>(1)?.unwrap_or_default()),
    ) {
        *inserted.entry(category).or_insert(0) += 1;
    }
    inserted
}

/// Computes metrics that share one source (several scalar ones, or one breakdown) with the
/// source owner's rights.
fn compute_sourced(metrics: &[&Sourced], start: NaiveDate, end: NaiveDate) -> Rows {
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

fn compute_ratio(ratio: &Ratio, start: NaiveDate, end: NaiveDate) -> Rows {
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

/// What one run did, metric by metric.
struct Tally {
    days: i64,
    recorded: i64,
    already_sealed: i64,
    failed_values: i64,
    failed_metrics: BTreeMap<String, Failure>,
}

impl Tally {
    fn sealed(&mut self, computed: usize, inserted: &HashMap<String, i64>) {
        let new: i64 = inserted.values().sum();
        self.recorded += new;
        self.already_sealed += computed as i64 - new;
    }

    fn fail(&mut self, category: &str, values: i64, failure: Failure) {
        self.failed_values += values;
        self.failed_metrics.insert(category.to_string(), failure);
    }
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum RunKind {
    Collect,
    Backfill,
}

struct Summary {
    days: i64,
    recorded: i64,
    status: Status,
    elapsed_ms: i32,
}

/// Collects every active metric for every day of `[start, end]`.
fn run(kind: RunKind, start: NaiveDate, end: NaiveDate) -> Summary {
    let started = Instant::now();
    let timezone = guc::timezone();
    let label = if start == end {
        start.to_string()
    } else {
        format!("{start}..{end}")
    };
    let log_id = run_log::open(
        if kind == RunKind::Collect {
            "collect"
        } else {
            "backfill"
        },
        start,
        end,
        &timezone,
    );
    let definitions = registry::load(None);
    let n_days = day_count(start, end);
    let mut tally = Tally {
        days: n_days,
        recorded: 0,
        already_sealed: 0,
        failed_values: 0,
        failed_metrics: BTreeMap::new(),
    };
    let progress = Progress {
        label: format!("backfill {label}"),
        total: n_days * definitions.len() as i64,
        started,
        enabled: kind == RunKind::Backfill,
    };

    // Resolve each definition against the catalog; a broken one is logged, not fatal.
    let mut resolved = Vec::new();
    for def in &definitions {
        match isolated(|| registry::resolve(def).or_raise()) {
            Ok(r) => resolved.push(r),
            Err(failure) => tally.fail(&def.category, n_days, failure),
        }
    }

    // One step per source for the scalar kinds, one per breakdown, percentages last.
    let mut by_source: BTreeMap<(u32, String), Vec<&Sourced>> = BTreeMap::new();
    let mut breakdowns = Vec::new();
    let mut ratios = Vec::new();
    for r in &resolved {
        match r {
            Resolved::Sourced(m) if m.measure.kind == Kind::Breakdown => breakdowns.push(vec![m]),
            Resolved::Sourced(m) => by_source
                .entry((m.relation.oid.to_u32(), m.source.time_column.clone()))
                .or_default()
                .push(m),
            Resolved::Ratio(ratio) => ratios.push(ratio),
        }
    }

    let done = |t: &Tally| t.recorded + t.already_sealed + t.failed_values;
    for group in by_source.into_values().chain(breakdowns) {
        let attempt = |metrics: &[&Sourced]| {
            isolated(|| {
                let rows = compute_sourced(metrics, start, end);
                (rows.len(), seal(rows))
            })
        };
        match attempt(&group) {
            Ok((computed, inserted)) => tally.sealed(computed, &inserted),
            Err(failure) if group.len() == 1 => {
                tally.fail(&group[0].measure.category, n_days, failure)
            }
            Err(_) => {
                // Find the broken one: retry each metric on its own.
                for m in &group {
                    match attempt(std::slice::from_ref(m)) {
                        Ok((computed, inserted)) => tally.sealed(computed, &inserted),
                        Err(failure) => tally.fail(&m.measure.category, n_days, failure),
                    }
                }
            }
        }
        let categories: Vec<&str> = group.iter().map(|m| m.measure.category.as_str()).collect();
        progress.report(
            done(&tally),
            &format!(
                "{} ({})",
                group[0].relation.display(),
                categories.join(", ")
            ),
        );
    }

    for ratio in ratios {
        let Ratio {
            category,
            numerator,
            denominator,
        } = ratio;
        match isolated(|| {
            let rows = compute_ratio(ratio, start, end);
            let recorded_days: Vec<NaiveDate> =
                rows.dates.iter().filter_map(|d| naive_date(*d)).collect();
            (rows.len(), recorded_days, seal(rows))
        }) {
            Ok((computed, recorded_days, inserted)) => {
                tally.sealed(computed, &inserted);
                let missing: Vec<NaiveDate> = days(start, end)
                    .filter(|d| !recorded_days.contains(d))
                    .collect();
                if let Some(first) = missing.first() {
                    tally.fail(
                        category,
                        missing.len() as i64,
                        Failure {
                            sqlstate: SqlState::ForeignKeyViolation.code().to_string(),
                            message: format!(
                                "percentage \"{category}\" has no value for {} of {n_days} days: \"{numerator}\" or \"{denominator}\" is not recorded (first such day: {first})",
                                missing.len()
                            ),
                            detail: None,
                            hint: Some(format!(
                                "collect or backfill \"{numerator}\" and \"{denominator}\" for those days, then run again"
                            )),
                        },
                    );
                }
            }
            Err(failure) => tally.fail(category, n_days, failure),
        }
        progress.report(done(&tally), category);
    }

    let status = if tally.failed_metrics.is_empty() {
        if tally.recorded > 0 {
            Status::Completed
        } else {
            Status::Skipped
        }
    } else if tally.failed_metrics.len() == definitions.len() && tally.recorded == 0 {
        Status::Failed
    } else {
        Status::Partial
    };
    let message = if definitions.is_empty() {
        "no active metric definitions: nothing to collect".to_string()
    } else {
        format!(
            "{} days x {} metrics: {} values recorded, {} already sealed, {} failed",
            tally.days,
            definitions.len(),
            tally.recorded,
            tally.already_sealed,
            tally.failed_values
        )
    };
    let (error_message, error_details) = if tally.failed_metrics.is_empty() {
        (None, None)
    } else {
        let summary: Vec<String> = tally
            .failed_metrics
            .iter()
            .map(|(c, f)| format!("{c}: {}", f.message))
            .collect();
        let details: serde_json::Map<String, Value> = tally
            .failed_metrics
            .iter()
            .map(|(c, f)| (c.clone(), f.to_json()))
            .collect();
        (
            Some(format!(
                "{} of {} metrics failed: {}",
                tally.failed_metrics.len(),
                definitions.len(),
                summary.join("; ")
            )),
            Some(json!({ "failures": Value::Object(details) })),
        )
    };
    match status {
        Status::Skipped => notice!("metrics: {label}: nothing new recorded ({message})"),
        Status::Partial | Status::Failed => warning!(
            "metrics: {label}: {} (see metrics.metric_collection_log)",
            error_message.as_deref().unwrap_or_default()
        ),
        Status::Completed => {}
    }
    run_log::close(
        &log_id,
        &run_log::Outcome {
            status,
            recorded: tally.recorded,
            already_sealed: tally.already_sealed,
            failed: tally.failed_values,
            message,
            error_message,
            error_details,
        },
    );
    Summary {
        days: n_days,
        recorded: tally.recorded,
        status,
        elapsed_ms: started.elapsed().as_millis().min(i32::MAX as u128) as i32,
    }
}

/// Seals the values of every active metric for one day that has ended.
#[pg_extern(security_definer, volatile, requires = [read::last_closed_day])]
#[search_path(pg_catalog, pg_temp)]
fn collect_daily_metrics(
    target_date: default!(Option<Date>, "metrics.last_closed_day()"),
) -> TableIterator<
    'static,
    (
        name!(metrics_collected, i32),
        name!(execution_time_ms, i32),
        name!(status, String),
    ),
> {
    let target = spi::required_date(target_date, "target_date");
    check_closed(target, last_closed_day_in_zone(), &guc::timezone()).or_raise();
    let summary = run(RunKind::Collect, target, target);
    TableIterator::once((
        summary.recorded as i32,
        summary.elapsed_ms,
        summary.status.as_str().to_string(),
    ))
}

fn check_backfill_range(start: NaiveDate, end: NaiveDate) -> Outcome<()> {
    check_order(start, end, "start_date", "end_date")?;
    check_closed(end, last_closed_day_in_zone(), &guc::timezone())?;
    if day_count(start, end) > MAX_BACKFILL_DAYS {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!(
                "a backfill covers at most {MAX_BACKFILL_DAYS} days, not {}",
                day_count(start, end)
            ),
        )
        .hint(
            "backfill a shorter range, or use CALL metrics.backfill_daily_metrics_chunked(...)",
        ));
    }
    Ok(())
}

/// Seals every active metric for every day of a range, skipping what is already sealed.
#[pg_extern(security_definer, volatile, requires = [read::last_closed_day])]
#[search_path(pg_catalog, pg_temp)]
fn backfill_daily_metrics(
    start_date: Option<Date>,
    end_date: default!(Option<Date>, "metrics.last_closed_day()"),
) -> TableIterator<
    'static,
    (
        name!(dates_processed, i32),
        name!(total_metrics, i32),
        name!(execution_time_ms, i32),
    ),
> {
    let start = spi::required_date(start_date, "start_date");
    let end = spi::required_date(end_date, "end_date");
    check_backfill_range(start, end).or_raise();
    let summary = run(RunKind::Backfill, start, end);
    TableIterator::once((
        summary.days as i32,
        summary.recorded as i32,
        summary.elapsed_ms,
    ))
}

/// Writes `value`/`metadata` for one (date, type, category), keeping any previous value in
/// `metric_revisions`. Returns the previous value and whether anything changed.
fn revise(
    date: Date,
    metric_type: &str,
    category: &str,
    value: &str,
    metadata: &str,
    reason: &str,
    log_id: &str,
) -> (Option<String>, bool) {
    let with_key = |rest: Vec<DatumWithOid<'static>>| -> Vec<DatumWithOid<'static>> {
        let mut args: Vec<DatumWithOid<'static>> = vec![
            date.into(),
            metric_type.to_string().into(),
            category.to_string().into(),
        ];
        args.extend(rest);
        args
    };
    let previous = spi::select(
        "SELECT value::text, metadata::text, (value = $4::numeric AND metadata = $5::jsonb)
         FROM metrics.daily_metrics
         WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3
         FOR UPDATE",
        &with_key(vec![value.to_string().into(), metadata.to_string().into()]),
        |row| {
            Ok((
                row.get::<String>(1)?,
                row.get::<String>(2)?,
                row.get::<bool>(3)?.unwrap_or(false),
            ))
        },
    )
    .into_iter()
    .next();
    let (old_value, old_metadata) = match previous {
        Some((_, _, true)) => return (previous.and_then(|p| p.0), false),
        Some((v, m, false)) => {
            with_revision_permit(|| {
                spi::run(
                    "UPDATE metrics.daily_metrics
                     SET value = $4::numeric, metadata = $5::jsonb, collection_timestamp = pg_catalog.now()
                     WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3",
                    &with_key(vec![value.to_string().into(), metadata.to_string().into()]),
                )
            });
            (v, m)
        }
        None => {
            spi::run(
                "INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value, metadata)
                 VALUES ($1, $2, $3, $4::numeric, $5::jsonb)",
                &with_key(vec![value.to_string().into(), metadata.to_string().into()]),
            );
            (None, None)
        }
    };
    spi::run(
        "INSERT INTO metrics.metric_revisions
             (metric_date, metric_type, metric_category, old_value, old_metadata, new_value, new_metadata,
              reason, revised_by, collection_log_id)
         VALUES ($1, $2, $3, $4::numeric, $5::jsonb, $6::numeric, $7::jsonb, $8, $9, $10::uuid)",
        &with_key(vec![
            old_value.clone().into(),
            old_metadata.into(),
            value.to_string().into(),
            metadata.to_string().into(),
            reason.to_string().into(),
            identity::caller_name().into(),
            log_id.to_string().into(),
        ]),
    );
    (old_value, true)
}

/// Longest accepted reason for a correction.
const MAX_REASON_LEN: usize = 2000;

type RevisionRow = (String, Option<AnyNumeric>, AnyNumeric, bool);

/// Recomputes sealed values of one day from the current source data, keeping the previous
/// values, who changed them and why in `metrics.metric_revisions`.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn recollect(
    target_date: Option<Date>,
    categories: Option<Vec<Option<String>>>,
    reason: Option<String>,
) -> TableIterator<
    'static,
    (
        name!(metric_category, String),
        name!(old_value, Option<AnyNumeric>),
        name!(new_value, AnyNumeric),
        name!(changed, bool),
    ),
> {
    let target = spi::required_date(target_date, "target_date");
    let categories: Vec<String> = required(categories, "categories")
        .or_raise()
        .into_iter()
        .flatten()
        .collect();
    let reason = required(reason, "reason").or_raise().trim().to_string();
    if categories.is_empty() {
        raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                "categories must name at least one metric",
            )
            .hint("pass the categories to recompute, e.g. ARRAY['posts_created']"),
        );
    }
    if reason.is_empty() || reason.chars().count() > MAX_REASON_LEN {
        raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                format!("reason must be between 1 and {MAX_REASON_LEN} characters"),
            )
            .hint("say why the sealed values are being corrected; it is kept with the revision"),
        );
    }
    check_closed(target, last_closed_day_in_zone(), &guc::timezone()).or_raise();
    let defs = registry::load(Some(&categories));
    if let Some(unknown) = categories
        .iter()
        .find(|c| !defs.iter().any(|d| &d.category == *c))
    {
        raise(Problem::new(SqlState::UndefinedObject, format!("metric \"{unknown}\" does not exist"))
            .hint("list the defined metrics with: SELECT metric_category FROM metrics.metric_definitions"));
    }

    let log_id = run_log::open("recollect", target, target, &guc::timezone());
    let resolved: Vec<Resolved> = defs
        .iter()
        .map(|d| registry::resolve(d).or_raise())
        .collect();
    let mut out: Vec<RevisionRow> = Vec::new();
    let apply = |rows: Rows, out: &mut Vec<RevisionRow>| {
        for i in 0..rows.len() {
            let (old, changed) = revise(
                rows.dates[i],
                &rows.types[i],
                &rows.categories[i],
                &rows.values[i],
                &rows.metadata[i],
                &reason,
                &log_id,
            );
            let numeric = |s: &str| AnyNumeric::try_from(s).expect("numeric text from PostgreSQL");
            out.push((
                rows.categories[i].clone(),
                old.as_deref().map(numeric),
                numeric(&rows.values[i]),
                changed,
            ));
        }
    };
    // Sourced metrics first, so percentages see their corrected parts.
    for r in &resolved {
        if let Resolved::Sourced(metric) = r {
            apply(compute_sourced(&[metric], target, target), &mut out);
        }
    }
    for r in &resolved {
        if let Resolved::Ratio(ratio) = r {
            let rows = compute_ratio(ratio, target, target);
            if rows.len() == 0 {
                let Ratio {
                    category,
                    numerator,
                    denominator,
                } = ratio;
                raise(Problem::new(
                    SqlState::ForeignKeyViolation,
                    format!("cannot recompute \"{category}\" for {target}: \"{numerator}\" or \"{denominator}\" is not recorded that day"),
                )
                .hint("collect the day first with metrics.collect_daily_metrics"));
            }
            apply(rows, &mut out);
        }
    }
    // Percentages built on a corrected value are not recomputed behind the caller's back.
    let corrected: Vec<&str> = out.iter().filter(|r| r.3).map(|r| r.0.as_str()).collect();
    let stale: Vec<String> = spi::select(
        "SELECT metric_category FROM metrics.metric_definitions
         WHERE kind = 'percentage' AND (numerator = ANY($1) OR denominator = ANY($1)) AND NOT (metric_category = ANY($2))
         ORDER BY 1",
        &[corrected.iter().map(|s| s.to_string()).collect::<Vec<String>>().into(), categories.clone().into()],
        |row| Ok(row.get::<String>(1)?.unwrap_or_default()),
    );
    if !stale.is_empty() {
        notice!(
            "metrics: percentages {} use corrected values; include them in categories to recompute them too",
            stale.join(", ")
        );
    }
    let changed = out.iter().filter(|r| r.3).count() as i64;
    run_log::close(
        &log_id,
        &run_log::Outcome {
            status: Status::Completed,
            recorded: changed,
            already_sealed: out.len() as i64 - changed,
            failed: 0,
            message: format!(
                "{} values recomputed, {changed} changed; reason: {reason}",
                out.len()
            ),
            error_message: None,
            error_details: None,
        },
    );
    TableIterator::new(out)
}
