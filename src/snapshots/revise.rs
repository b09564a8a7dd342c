//! Correcting sealed values: `recollect` recomputes metrics of one closed day from the
//! current source data and replaces the values that differ, keeping each previous value, who
//! changed it and why in `metrics.metric_revisions`. The one path past the seal.

use chrono::NaiveDate;
use pgrx::datum::{AnyNumeric, Date, DatumWithOid};
use pgrx::prelude::*;

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::jobs::run::{RunOutcome, RunType, Status};
use crate::jobs::run_log;
use crate::pg::datum::numeric;
use crate::pg::guc;
use crate::pg::identity;
use crate::pg::spi::{not_null, volatile as spi};
use crate::snapshots::checks::{check_known, Correction};
use crate::snapshots::collect::{compute_ratio, compute_sourced, Rows};
use crate::snapshots::definition::Ratio;
use crate::snapshots::registry::{self, Resolved};
use crate::snapshots::seal::with_revision_permit;

/// One recomputed value: its category, the value before (none if it was not sealed), the
/// value now, and whether it changed.
pub struct Revision {
    pub category: String,
    pub old_value: Option<AnyNumeric>,
    pub new_value: AnyNumeric,
    pub changed: bool,
}

/// One sealed row's key: (date, type, category).
struct Key<'a> {
    date: Date,
    metric_type: &'a str,
    category: &'a str,
}

impl Key<'_> {
    /// `$1..$3` are the key, then `rest`.
    fn args(&self, rest: Vec<DatumWithOid<'static>>) -> Vec<DatumWithOid<'static>> {
        let mut args: Vec<DatumWithOid<'static>> = vec![
            self.date.into(),
            self.metric_type.to_string().into(),
            self.category.to_string().into(),
        ];
        args.extend(rest);
        args
    }
}

/// A sealed value and its metadata before a revision, as PostgreSQL prints them.
struct Previous {
    value: String,
    metadata: String,
}

/// What writing one value did: the value before (none if it was not sealed), and whether
/// it changed (an unchanged value is not revised).
struct Written {
    previous: Option<String>,
    changed: bool,
}

/// Writes `value`/`metadata` for one key, keeping any previous value in `metric_revisions`.
fn revise(key: &Key, value: &str, metadata: &str, reason: &str, log_id: &str) -> Written {
    let new = || vec![value.to_string().into(), metadata.to_string().into()];
    let previous = spi::rows(
        "SELECT value::text, metadata::text, (value = $4::numeric AND metadata = $5::jsonb)
         FROM metrics.daily_metrics
         WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3
         FOR UPDATE",
        &key.args(new()),
        |row| {
            Ok((
                not_null::<String>(row, 1)?,
                not_null::<String>(row, 2)?,
                not_null::<bool>(row, 3)?,
            ))
        },
    )
    .pop();
    let old = match previous {
        Some((value, _, true)) => {
            return Written {
                previous: Some(value),
                changed: false,
            }
        }
        Some((old_value, old_metadata, false)) => {
            with_revision_permit(|| {
                spi::run(
                    "UPDATE metrics.daily_metrics
                     SET value = $4::numeric, metadata = $5::jsonb, collection_timestamp = pg_catalog.now()
                     WHERE metric_date = $1 AND metric_type = $2 AND metric_category = $3",
                    &key.args(new()),
                )
            });
            Some(Previous {
                value: old_value,
                metadata: old_metadata,
            })
        }
        None => {
            spi::run(
                "INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value, metadata)
                 VALUES ($1, $2, $3, $4::numeric, $5::jsonb)",
                &key.args(new()),
            );
            None
        }
    };
    let previous = old.as_ref().map(|p| p.value.clone());
    record_revision(key, old, (value, metadata), reason, log_id);
    Written {
        previous,
        changed: true,
    }
}

/// Keeps a change in `metric_revisions`: the old value and metadata (none for a value that
/// was not sealed), the new ones, the reason, the caller and the run.
fn record_revision(
    key: &Key,
    old: Option<Previous>,
    (value, metadata): (&str, &str),
    reason: &str,
    log_id: &str,
) {
    let (old_value, old_metadata) = old.map(|p| (p.value, p.metadata)).unzip();
    spi::run(
        "INSERT INTO metrics.metric_revisions
             (metric_date, metric_type, metric_category, old_value, old_metadata, new_value, new_metadata,
              reason, revised_by, collection_log_id)
         VALUES ($1, $2, $3, $4::numeric, $5::jsonb, $6::numeric, $7::jsonb, $8, $9, $10::uuid)",
        &key.args(vec![
            old_value.into(),
            old_metadata.into(),
            value.to_string().into(),
            metadata.to_string().into(),
            reason.to_string().into(),
            identity::caller_name().into(),
            log_id.to_string().into(),
        ]),
    );
}

/// Revises every computed row.
fn apply(rows: Rows, reason: &str, log_id: &str, out: &mut Vec<Revision>) {
    for i in 0..rows.len() {
        let key = Key {
            date: rows.dates[i],
            metric_type: &rows.types[i],
            category: &rows.categories[i],
        };
        let written = revise(&key, &rows.values[i], &rows.metadata[i], reason, log_id);
        out.push(Revision {
            category: rows.categories[i].clone(),
            old_value: written.previous.as_deref().map(numeric),
            new_value: numeric(&rows.values[i]),
            changed: written.changed,
        });
    }
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

/// Recomputes `correction.categories` for `day` (a closed day) and revises what changed, as
/// one logged run. Sourced metrics first, so percentages see their corrected parts.
pub fn recollect(day: NaiveDate, correction: &Correction) -> Outcome<Vec<Revision>> {
    let Correction { categories, reason } = correction;
    let defs = registry::load(Some(categories));
    let known: Vec<String> = defs.iter().map(|d| d.category().to_string()).collect();
    check_known(categories, &known)?;
    let log_id = run_log::open(RunType::Recollect, day, day, &guc::timezone());
    let resolved = defs
        .iter()
        .map(registry::resolve)
        .collect::<Outcome<Vec<Resolved>>>()?;
    let mut out = Vec::new();
    for r in &resolved {
        if let Resolved::Sourced(metric) = r {
            apply(
                compute_sourced(&[metric], day, day),
                reason,
                &log_id,
                &mut out,
            );
        }
    }
    for r in &resolved {
        if let Resolved::Ratio(ratio) = r {
            let rows = compute_ratio(ratio, day, day);
            if rows.len() == 0 {
                return Err(missing_parts(ratio, day));
            }
            apply(rows, reason, &log_id, &mut out);
        }
    }
    notice_stale_percentages(&out, categories);
    let changed = out.iter().filter(|r| r.changed).count() as i64;
    run_log::close(
        &log_id,
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
    Ok(out)
}
