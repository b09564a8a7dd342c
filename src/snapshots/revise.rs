//! Correcting sealed values: `recollect` recomputes metrics of one closed day from the
//! current source data and replaces the values that differ, keeping each previous value, who
//! changed it and why in `metrics.metric_revisions`. The one path past the seal.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use pgrx::datum::{AnyNumeric, Date, DatumWithOid, Uuid};
use pgrx::prelude::*;

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::jobs::run::{RunOutcome, RunType, Status};
use crate::jobs::run_log;
use crate::pg::datum::{numeric, pg_date, stored_date};
use crate::pg::guc;
use crate::pg::identity;
use crate::pg::spi::{not_null, volatile as spi};
use crate::snapshots::checks::{check_known, Correction};
use crate::snapshots::collect::{compute_ratio, compute_sourced, Rows, Versions};
use crate::snapshots::definition::Ratio;
use crate::snapshots::layout::{layout, Layout};
use crate::snapshots::registry::{self, Resolved};
use crate::snapshots::seal::with_revision_permit;

/// One recomputed value: its category, the value before (none if it was not sealed), the
/// value now, and whether it changed.
pub struct Revision {
    pub date: NaiveDate,
    pub category: String,
    pub old_value: Option<AnyNumeric>,
    pub new_value: AnyNumeric,
    pub changed: bool,
}

/// One sealed row's key: (date, type, category, project).
struct Key<'a> {
    date: Date,
    metric_type: &'a str,
    category: &'a str,
    /// None: the whole database.
    project: Option<Uuid>,
}

impl Key<'_> {
    /// `$1..$3` are the key, then `rest`, then the project (last: `$8`, or `$13` in a
    /// revision; tables before 0.6.0 have none, and their statements do not read it).
    fn args(&self, rest: Vec<DatumWithOid<'static>>) -> Vec<DatumWithOid<'static>> {
        let mut args: Vec<DatumWithOid<'static>> = vec![
            self.date.into(),
            self.metric_type.to_string().into(),
            self.category.to_string().into(),
        ];
        args.extend(rest);
        args.push(self.project.into());
        args
    }
}

/// A sealed value and its metadata before a revision, as PostgreSQL prints them, and the
/// definition version that computed it.
struct Previous {
    value: String,
    metadata: String,
    version: Option<i32>,
}

/// What writing one value did: the value before (none if it was not sealed), and whether
/// it changed (an unchanged value is not revised).
struct Written {
    previous: Option<String>,
    changed: bool,
}

/// The statements of a revision: `$1..$3` the key, `$4..$7` the new value, metadata, sketch
/// and version (tables before 0.3.0 keep neither of the last two).
struct RevisionSql {
    previous: &'static str,
    update: &'static str,
    insert: &'static str,
    revision: &'static str,
}

impl RevisionSql {
    fn for_layout(layout: Layout) -> RevisionSql {
        if layout.has_projects() {
            return RevisionSql {
                previous: "SELECT value::text, metadata::text, definition_version,
                    (value = $4::numeric AND metadata = $5::jsonb AND distinct_sketch IS NOT DISTINCT FROM $6::bytea
                     AND definition_version IS NOT DISTINCT FROM $7::int4)
                    FROM metrics.daily_metrics WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3
                     AND project_id IS NOT DISTINCT FROM $8::uuid FOR UPDATE",
                update: "UPDATE metrics.daily_metrics
                    SET value = $4::numeric, metadata = $5::jsonb, distinct_sketch = $6::bytea,
                        definition_version = $7::int4, collection_timestamp = pg_catalog.now()
                    WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3
                      AND project_id IS NOT DISTINCT FROM $8::uuid",
                insert: "INSERT INTO metrics.daily_metrics
                    (metric_date, metric_type, metric_category, value, metadata, distinct_sketch, definition_version, project_id)
                    VALUES ($1, $2, $3, $4::numeric, $5::jsonb, $6::bytea, $7::int4, $8::uuid)",
                revision: "INSERT INTO metrics.metric_revisions
                    (metric_date, metric_type, metric_category, old_value, old_metadata, new_value, new_metadata,
                     reason, revised_by, collection_log_id, old_definition_version, new_definition_version, project_id)
                    VALUES ($1, $2, $3, $4::numeric, $5::jsonb, $6::numeric, $7::jsonb, $8, $9, $10::uuid, $11, $12, $13::uuid)",
            };
        }
        if layout.has_provenance() {
            return RevisionSql {
                previous: "SELECT value::text, metadata::text, definition_version,
                    (value = $4::numeric AND metadata = $5::jsonb AND distinct_sketch IS NOT DISTINCT FROM $6::bytea
                     AND definition_version IS NOT DISTINCT FROM $7::int4)
                    FROM metrics.daily_metrics WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3 FOR UPDATE",
                update: "UPDATE metrics.daily_metrics
                    SET value = $4::numeric, metadata = $5::jsonb, distinct_sketch = $6::bytea,
                        definition_version = $7::int4, collection_timestamp = pg_catalog.now()
                    WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3",
                insert: "INSERT INTO metrics.daily_metrics
                    (metric_date, metric_type, metric_category, value, metadata, distinct_sketch, definition_version)
                    VALUES ($1, $2, $3, $4::numeric, $5::jsonb, $6::bytea, $7::int4)",
                revision: "INSERT INTO metrics.metric_revisions
                    (metric_date, metric_type, metric_category, old_value, old_metadata, new_value, new_metadata,
                     reason, revised_by, collection_log_id, old_definition_version, new_definition_version)
                    VALUES ($1, $2, $3, $4::numeric, $5::jsonb, $6::numeric, $7::jsonb, $8, $9, $10::uuid, $11, $12)",
            };
        }
        // Parameters the old statements do not use are passed all the same (their types are
        // given), so both layouts take the same arguments.
        RevisionSql {
            previous: "SELECT value::text, metadata::text, NULL::int4, (value = $4::numeric AND metadata = $5::jsonb)
                FROM metrics.daily_metrics WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3 FOR UPDATE",
            update: "UPDATE metrics.daily_metrics
                SET value = $4::numeric, metadata = $5::jsonb, collection_timestamp = pg_catalog.now()
                WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3",
            insert: "INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value, metadata)
                VALUES ($1, $2, $3, $4::numeric, $5::jsonb)",
            revision: "INSERT INTO metrics.metric_revisions
                (metric_date, metric_type, metric_category, old_value, old_metadata, new_value, new_metadata,
                 reason, revised_by, collection_log_id)
                VALUES ($1, $2, $3, $4::numeric, $5::jsonb, $6::numeric, $7::jsonb, $8, $9, $10::uuid)",
        }
    }
}

/// A recomputed value: its value, metadata, distinct-count sketch and definition version.
struct New<'a> {
    value: &'a str,
    metadata: &'a str,
    sketch: Option<&'a [u8]>,
    version: Option<i32>,
}

impl New<'_> {
    /// `$4..$7`.
    fn args(&self) -> Vec<DatumWithOid<'static>> {
        vec![
            self.value.to_string().into(),
            self.metadata.to_string().into(),
            self.sketch.map(<[u8]>::to_vec).into(),
            self.version.into(),
        ]
    }
}

/// Writes a recomputed value for one key, keeping any previous value in `metric_revisions`.
/// A value sealed by an older definition version is rewritten even when the number is the
/// same, so that its provenance is the current definition's.
fn revise(key: &Key, new: &New, reason: &str, log_id: &str) -> Written {
    let sql = RevisionSql::for_layout(layout());
    let previous = spi::rows(sql.previous, &key.args(new.args()), |row| {
        Ok((
            Previous {
                value: not_null::<String>(row, 1)?,
                metadata: not_null::<String>(row, 2)?,
                version: row.get::<i32>(3)?,
            },
            not_null::<bool>(row, 4)?,
        ))
    })
    .pop();
    let old = match previous {
        Some((previous, true)) => {
            return Written {
                previous: Some(previous.value),
                changed: false,
            }
        }
        Some((previous, false)) => {
            with_revision_permit(|| spi::run(sql.update, &key.args(new.args())));
            Some(previous)
        }
        None => {
            spi::run(sql.insert, &key.args(new.args()));
            None
        }
    };
    let previous = old.as_ref().map(|p| p.value.clone());
    record_revision(sql.revision, key, old, new, reason, log_id);
    Written {
        previous,
        changed: true,
    }
}

/// Keeps a change in `metric_revisions`: the old value and metadata (none for a value that
/// was not sealed), the new ones, the reason, the caller and the run.
fn record_revision(
    sql: &str,
    key: &Key,
    old: Option<Previous>,
    new: &New,
    reason: &str,
    log_id: &str,
) {
    let (old_value, old_metadata, old_version) = match old {
        Some(p) => (Some(p.value), Some(p.metadata), p.version),
        None => (None, None, None),
    };
    spi::run(
        sql,
        &key.args(vec![
            old_value.into(),
            old_metadata.into(),
            new.value.to_string().into(),
            new.metadata.to_string().into(),
            reason.to_string().into(),
            identity::caller_name().into(),
            log_id.to_string().into(),
            old_version.into(),
            new.version.into(),
        ]),
    );
}

/// Revises every computed row; a value that is not a finite number is refused.
fn apply(
    mut rows: Rows,
    versions: &Versions,
    reason: &str,
    log_id: &str,
    out: &mut Vec<Revision>,
) -> Outcome<()> {
    if let Some(bad) = rows.take_non_finite().first() {
        let failure = bad.failure();
        let mut problem = Problem::new(SqlState::NumericValueOutOfRange, failure.message);
        if let Some(hint) = failure.hint {
            problem = problem.hint(hint);
        }
        return Err(problem);
    }
    for i in 0..rows.len() {
        let key = Key {
            date: rows.dates[i],
            metric_type: &rows.types[i],
            category: &rows.categories[i],
            project: rows.projects[i],
        };
        let new = New {
            value: &rows.values[i],
            metadata: &rows.metadata[i],
            sketch: rows.sketches[i].as_deref(),
            version: versions.get(&rows.categories[i]).copied(),
        };
        let written = revise(&key, &new, reason, log_id);
        out.push(Revision {
            date: stored_date(rows.dates[i]),
            category: rows.categories[i].clone(),
            old_value: written.previous.as_deref().map(numeric),
            new_value: numeric(&rows.values[i]),
            changed: written.changed,
        });
    }
    Ok(())
}

/// A percentage can be recomputed only when both its parts are recorded that day.
fn missing_parts(ratio: &Ratio, day: NaiveDate) -> Problem {
    let Ratio {
        category,
        numerator,
        denominator,
    } = ratio;
    Problem::new(
        SqlState::ForeignKeyViolation,
        format!("cannot recompute \"{category}\" for {day}: \"{numerator}\" or \"{denominator}\" is not recorded that day"),
    )
    .hint("collect the day first with metrics.collect_daily_metrics")
}

/// Percentages that read a corrected value but were not asked for: they are not recomputed
/// behind the caller's back, and a NOTICE names them.
fn notice_stale_percentages(revisions: &[Revision], asked: &[String]) {
    let corrected: Vec<String> = revisions
        .iter()
        .filter(|r| r.changed)
        .map(|r| r.category.clone())
        .collect();
    let stale: Vec<String> = spi::rows(
        "SELECT metric_category FROM metrics.metric_definitions
         WHERE kind = 'percentage' AND (numerator = ANY($1) OR denominator = ANY($1)) AND NOT (metric_category = ANY($2))
         ORDER BY 1",
        &[corrected.into(), asked.to_vec().into()],
        |row| not_null(row, 1),
    );
    if !stale.is_empty() {
        notice!(
            "metrics: percentages {} use corrected values; include them in categories to recompute them too",
            stale.join(", ")
        );
    }
}

/// Recomputes `categories` (resolved, sourced first) for `day` and revises what changed.
fn revise_day(
    day: NaiveDate,
    resolved: &[&Resolved],
    versions: &Versions,
    reason: &str,
    log_id: &str,
    out: &mut Vec<Revision>,
) -> Outcome<()> {
    for r in resolved {
        if let Resolved::Sourced(metric) = r {
            let rows = compute_sourced(&[metric], day, day);
            apply(rows, versions, reason, log_id, out)?;
        }
    }
    for r in resolved {
        if let Resolved::Ratio(ratio) = r {
            let rows = compute_ratio(ratio, day, day);
            if rows.len() == 0 {
                return Err(missing_parts(ratio, day));
            }
            apply(rows, versions, reason, log_id, out)?;
        }
    }
    Ok(())
}

/// The definitions of `categories`, locked and resolved, with their versions; an unknown
/// category is an error.
fn resolve_named(categories: &[String]) -> Outcome<(Vec<Resolved>, Versions)> {
    let loaded = registry::load_versioned(Some(categories));
    let known: Vec<String> = loaded
        .iter()
        .map(|(d, _)| d.category().to_string())
        .collect();
    check_known(categories, &known)?;
    let versions: Versions = loaded
        .iter()
        .map(|(d, v)| (d.category().to_string(), *v))
        .collect();
    let resolved = loaded
        .iter()
        .map(|(d, _)| registry::resolve(d))
        .collect::<Outcome<Vec<Resolved>>>()?;
    Ok((resolved, versions))
}

/// Closes the log of a correction run.
fn close_log(log_id: &str, out: &[Revision], reason: &str) {
    let changed = out.iter().filter(|r| r.changed).count() as i64;
    run_log::close(
        log_id,
        &RunOutcome {
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
}

/// Recomputes `correction.categories` for `day` (a closed day) and revises what changed, as
/// one logged run. Sourced metrics first, so percentages see their corrected parts.
pub fn recollect(day: NaiveDate, correction: &Correction) -> Outcome<Vec<Revision>> {
    let Correction { categories, reason } = correction;
    let (resolved, versions) = resolve_named(categories)?;
    let log_id = run_log::open(RunType::Recollect, day, day, &guc::timezone());
    let mut out = Vec::new();
    let all: Vec<&Resolved> = resolved.iter().collect();
    revise_day(day, &all, &versions, reason, &log_id, &mut out)?;
    notice_stale_percentages(&out, categories);
    close_log(&log_id, &out, reason);
    Ok(out)
}

/// The sealed values of `[start, end]` of `categories` (or of every metric) that an older
/// definition version computed (or one not recorded, sealed before 0.3.0): per day, the
/// categories to recompute.
fn outdated(
    start: NaiveDate,
    end: NaiveDate,
    categories: Option<&[String]>,
) -> Vec<(NaiveDate, Vec<String>)> {
    let mut by_day: BTreeMap<NaiveDate, Vec<String>> = BTreeMap::new();
    for (day, category) in spi::rows(
        "SELECT DISTINCT dm.metric_date, dm.metric_category
         FROM metrics.daily_metrics AS dm
         JOIN metrics.metric_definitions AS d ON d.metric_category = dm.metric_category
         WHERE dm.metric_date BETWEEN $1 AND $2
           AND ($3::text[] IS NULL OR dm.metric_category = ANY($3))
           AND dm.definition_version IS DISTINCT FROM d.definition_version
         ORDER BY 1, 2",
        &[
            pg_date(start).into(),
            pg_date(end).into(),
            categories.map(<[String]>::to_vec).into(),
        ],
        |row| Ok((stored_date(not_null(row, 1)?), not_null::<String>(row, 2)?)),
    ) {
        by_day.entry(day).or_default().push(category);
    }
    by_day.into_iter().collect()
}

/// Recomputes every value of `[start, end]` sealed by an older version of its definition,
/// as one logged run, day by day (sourced metrics first on each day).
pub fn recollect_outdated(
    start: NaiveDate,
    end: NaiveDate,
    categories: Option<&[String]>,
    reason: &str,
) -> Outcome<Vec<Revision>> {
    let wanted: Vec<String> = match categories {
        Some(c) => c.to_vec(),
        None => spi::rows(
            "SELECT metric_category FROM metrics.metric_definitions ORDER BY 1",
            &[],
            |row| not_null(row, 1),
        ),
    };
    let (resolved, versions) = resolve_named(&wanted)?;
    let log_id = run_log::open(RunType::Recollect, start, end, &guc::timezone());
    let mut out = Vec::new();
    for (day, stale) in outdated(start, end, categories) {
        let todo: Vec<&Resolved> = resolved
            .iter()
            .filter(|r| stale.iter().any(|c| c == r.category()))
            .collect();
        revise_day(day, &todo, &versions, reason, &log_id, &mut out)?;
    }
    close_log(&log_id, &out, reason);
    Ok(out)
}
