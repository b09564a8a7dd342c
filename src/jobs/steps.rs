//! The work of the maintenance steps: the catch-up collection, compaction unit by unit, and
//! pruning batch by batch. Each call is one unit the procedure commits on its own; each
//! records what it did in its step's row (`jobs::maintenance`).

use pgrx::datum::datetime_support::ToIsoString;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::Uuid;
use serde_json::{json, Value};

use crate::jobs::ledger::{one_call_step, step_end, step_progress, step_row, StepEnd};
use crate::jobs::maintenance::{catch_up_status, DAILY_JOB, MAINTENANCE_JOB, PRUNED_FAMILIES};
use crate::jobs::schedule::pg_cron_installed;
use crate::maintenance::alerts;
use crate::maintenance::compact::{self, Done};
use crate::maintenance::compaction;
use crate::pg::spi::{not_null, volatile as spi};
use crate::pg::subxact::isolated;
use crate::readmodel::{self, refresh};
use crate::snapshots::collect;

/// The catch-up collection (`collect_daily_metrics()` without a date) as a step; returns its
/// status.
pub fn catch_up(run_id: Uuid) -> String {
    one_call_step(run_id, "catch_up", || {
        let summary = collect::catch_up();
        let logged = spi::rows(
            "SELECT pg_catalog.jsonb_build_object('collection_log_id', id, 'from', collection_date, 'to', range_end,
                        'status', status, 'recorded', metrics_collected, 'already_sealed', metrics_skipped,
                        'failed', metrics_failed)::text, error_message
             FROM metrics.metric_collection_log WHERE id = $1::uuid",
            &[summary.log_id.as_str().into()],
            |row| Ok((not_null::<String>(row, 1)?, row.get::<String>(2)?)),
        )
        .pop()
        .expect("the run's log row exists");
        let details: Value = serde_json::from_str(&logged.0).expect("jsonb text is JSON");
        StepEnd {
            status: catch_up_status(summary.status.as_str()),
            details,
            error_message: logged.1,
            error_sqlstate: None,
        }
    })
}

/// Adds a compacted unit to the totals of the step's details.
fn add_unit(details: &mut Value, d: &Done) {
    for (key, n) in [
        ("units", 1),
        ("rows_before", d.rows_before),
        ("rows_after", d.rows_after),
        ("requests_covered", d.requests),
    ] {
        details[key] = Value::from(details[key].as_i64().unwrap_or(0) + n);
    }
    let family = compaction::family(d.unit.subject);
    let actions = &mut details["actions"][format!("{family}:{}", d.unit.action.as_str())];
    *actions = Value::from(actions.as_i64().unwrap_or(0) + 1);
    if d.verified != Some(true) {
        details["unverified"] = json!({"family": family, "period_start": d.unit.start.to_iso_string(),
                                       "error": d.error_text()});
    }
}

/// Compacts one unit (the work of `metrics.compact_metrics(false, 1)`, recorded in this
/// step's row rather than in a row of its own); true when the procedure should call again.
/// The step ends when nothing is left, when a unit fails its verification (it would be tried
/// again and again), or on an error.
pub fn compact(run_id: Uuid) -> bool {
    let (step_id, running, mut details) = step_row(run_id, "compact");
    if !running {
        return false;
    }
    let units = isolated(|| compact::compact_units(1));
    let done_any = details["units"].as_i64().unwrap_or(0) > 0;
    let units: Vec<Done> = match units {
        Ok(units) => units,
        Err(f) => {
            let status = if done_any { "partial" } else { "failed" };
            step_end(step_id, &StepEnd::failed(status, details, f));
            return false;
        }
    };
    for unit in &units {
        add_unit(&mut details, unit);
    }
    if units.is_empty() {
        step_end(
            step_id,
            &StepEnd::done(if done_any { "completed" } else { "skipped" }, details),
        );
        return false;
    }
    if units.iter().any(|d| d.verified != Some(true)) {
        let end = StepEnd {
            error_message: Some(
                "a compacted unit failed its verification; compaction stops for this run".into(),
            ),
            ..StepEnd::done("partial", details)
        };
        step_end(step_id, &end);
        return false;
    }
    step_progress(step_id, &details);
    true
}

/// What one batch of pruning did.
enum Batch {
    Deleted(i64),
    /// Nothing to prune in this family, and why.
    Kept(&'static str),
}

/// The instant before which a log family's rows go, from its policy (None: kept forever).
fn cutoff(family: &str) -> Option<TimestampWithTimeZone> {
    spi::value::<TimestampWithTimeZone>(
        "SELECT pg_catalog.now() - drop_after FROM metrics.retention_policies WHERE family = $1",
        &[family.into()],
    )
}

const PRUNE_COLLECTION_LOG: &str = "
    WITH doomed AS (
        SELECT l.id FROM metrics.metric_collection_log AS l
        WHERE l.started_at < $1 AND l.status <> 'running'
          AND NOT EXISTS (SELECT FROM metrics.metric_revisions AS r WHERE r.collection_log_id = l.id)
        ORDER BY l.started_at LIMIT $2 FOR UPDATE OF l SKIP LOCKED),
    gone AS (DELETE FROM metrics.metric_collection_log AS l USING doomed AS d WHERE l.id = d.id RETURNING 1)
    SELECT count(*) FROM gone";

const PRUNE_MAINTENANCE_LOG: &str = "
    WITH doomed AS (
        SELECT l.id FROM metrics.maintenance_log AS l
        WHERE l.started_at < $1 AND l.status <> 'running' AND l.id <> $3
          AND (l.step = 'run' OR l.run_id IS NULL)
        ORDER BY l.started_at LIMIT $2 FOR UPDATE OF l SKIP LOCKED),
    gone AS (DELETE FROM metrics.maintenance_log AS l USING doomed AS d WHERE l.id = d.id RETURNING 1)
    SELECT count(*) FROM gone";

// The raw payloads only: the facts normalised from them are kept.
const PRUNE_GITHUB_EVENTS: &str = "
    WITH doomed AS (
        SELECT g.event_key FROM metrics.github_events AS g
        WHERE g.received_at < $1
        ORDER BY g.received_at LIMIT $2 FOR UPDATE OF g SKIP LOCKED),
    gone AS (DELETE FROM metrics.github_events AS g USING doomed AS d WHERE g.event_key = d.event_key RETURNING 1)
    SELECT count(*) FROM gone";

const PRUNE_CRON: &str = "
    WITH doomed AS (
        SELECT d.runid FROM cron.job_run_details AS d
        WHERE d.database = pg_catalog.current_database() AND d.username = current_user
          AND (d.jobid IN (SELECT j.jobid FROM cron.job AS j
                           WHERE j.jobname = ANY($3) AND j.database = pg_catalog.current_database())
               OR d.command = ANY($4))
          AND d.status IN ('succeeded', 'failed') AND coalesce(d.end_time, d.start_time) < $1
        ORDER BY d.runid LIMIT $2),
    gone AS (DELETE FROM cron.job_run_details AS d USING doomed AS x WHERE d.runid = x.runid RETURNING 1)
    SELECT count(*) FROM gone";

/// Deletes one batch of a family's old rows.
fn prune_batch(family: &str, batch: i32, run_id: Uuid) -> Batch {
    if family.starts_with("read_model_") {
        return readmodel::prune::batch(family, batch)
            .map_or(Batch::Kept("its policy keeps every row"), Batch::Deleted);
    }
    let Some(before) = cutoff(family) else {
        return Batch::Kept("its policy has no drop_after: kept");
    };
    let deleted = match family {
        "collection_log" => spi::value::<i64>(
            PRUNE_COLLECTION_LOG,
            &[before.into(), (batch as i64).into()],
        ),
        "maintenance_log" => spi::value::<i64>(
            PRUNE_MAINTENANCE_LOG,
            &[before.into(), (batch as i64).into(), run_id.into()],
        ),
        "github_events" => {
            spi::value::<i64>(PRUNE_GITHUB_EVENTS, &[before.into(), (batch as i64).into()])
        }
        _ if !pg_cron_installed() => return Batch::Kept("pg_cron is not installed"),
        _ => spi::value::<i64>(
            PRUNE_CRON,
            &[
                before.into(),
                (batch as i64).into(),
                vec![DAILY_JOB.0, MAINTENANCE_JOB.0].into(),
                vec![DAILY_JOB.1, MAINTENANCE_JOB.1].into(),
            ],
        ),
    };
    Batch::Deleted(deleted.unwrap_or(0))
}

/// The prune step's status once every family is done.
fn prune_status(details: &Value) -> &'static str {
    let families: Vec<&Value> = PRUNED_FAMILIES.iter().map(|f| &details[*f]).collect();
    let failed = families.iter().filter(|f| !f["error"].is_null()).count();
    let deleted: i64 = families
        .iter()
        .map(|f| f["deleted"].as_i64().unwrap_or(0))
        .sum();
    match failed {
        0 if deleted > 0 => "completed",
        0 => "skipped",
        n if n == families.len() => "failed",
        _ => "partial",
    }
}

/// Prunes one batch of the first family not done yet; true when the procedure should call
/// again. A family is done when a batch deletes fewer rows than `batch`, when its policy
/// keeps its rows, or on an error (recorded; the other families are still pruned).
pub fn prune(run_id: Uuid, batch: i32) -> bool {
    let (step_id, running, mut details) = step_row(run_id, "prune");
    if !running {
        return false;
    }
    if let Some(family) = PRUNED_FAMILIES
        .iter()
        .find(|f| details[**f]["done"] != true)
    {
        let entry = &mut details[*family];
        match isolated(|| prune_batch(family, batch, run_id)) {
            Ok(Batch::Deleted(n)) => {
                entry["deleted"] = Value::from(entry["deleted"].as_i64().unwrap_or(0) + n);
                entry["done"] = Value::from(n < batch as i64);
            }
            Ok(Batch::Kept(why)) => *entry = json!({"deleted": 0, "done": true, "kept": why}),
            Err(f) => {
                entry["error"] = f.to_json();
                entry["done"] = Value::from(true);
            }
        }
    }
    if PRUNED_FAMILIES.iter().any(|f| details[*f]["done"] != true) {
        step_progress(step_id, &details);
        return true;
    }
    let status = prune_status(&details);
    let end = StepEnd {
        error_message: (status == "failed" || status == "partial")
            .then(|| "a family could not be pruned (see details)".to_string()),
        ..StepEnd::done(status, details)
    };
    step_end(step_id, &end);
    false
}

/// The alerts of a run (`metrics.check_alerts()`): the transitions into and out of critical
/// it recorded and announced; returns the step's status.
pub fn alerts(run_id: Uuid) -> String {
    one_call_step(run_id, "alerts", || {
        let transitions: Vec<Value> = alerts::check()
            .into_iter()
            .map(|t| json!({"check": t.check, "from": t.previous.as_str(), "to": t.severity.as_str()}))
            .collect();
        StepEnd::done("completed", json!({"transitions": transitions}))
    })
}

/// Refreshes the read model of one project for a run (the next one, by slug, not done yet
/// in this run), in its own subtransaction; true when the procedure should call again. The
/// procedure commits after each project, so an interruption keeps every project done, and
/// a project is written whole (points, summary and state) or not at all.
pub fn read_model(run_id: Uuid) -> bool {
    let (step_id, running, mut details) = step_row(run_id, "read_model");
    if !running {
        return false;
    }
    let done: Vec<String> = details["projects"]
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|v| v["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let next = spi::value::<Uuid>(
        "SELECT id FROM metrics.projects WHERE id::text <> ALL ($1) ORDER BY slug LIMIT 1",
        &[done.into()],
    );
    let Some(id) = next else {
        let status = read_model_status(&details);
        step_end(step_id, &StepEnd::done(status, details));
        return false;
    };
    let outcome = isolated(|| {
        let p = readmodel::project::load(Some(id)).remove(0);
        (p.slug.clone(), refresh::project(&p, false))
    });
    let (slug, entry) = match outcome {
        Ok((slug, r)) => (
            slug,
            json!({"id": id.to_string(), "refreshed": r.to_json()}),
        ),
        Err(f) => (
            id.to_string(),
            json!({"id": id.to_string(), "error": f.to_json()}),
        ),
    };
    details["projects"][slug] = entry;
    step_progress(step_id, &details);
    true
}

/// The read-model step's status: skipped without projects, failed when every project
/// failed, partial when some did.
fn read_model_status(details: &Value) -> &'static str {
    let projects: Vec<&Value> = details["projects"]
        .as_object()
        .map(|m| m.values().collect())
        .unwrap_or_default();
    let failed = projects.iter().filter(|p| !p["error"].is_null()).count();
    match (projects.len(), failed) {
        (0, _) => "skipped",
        (_, 0) => "completed",
        (n, f) if n == f => "failed",
        _ => "partial",
    }
}
