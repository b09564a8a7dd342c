//! The steps of `metrics.run_maintenance()` (the procedure is `sql/maintenance/run.sql`) and
//! the job ledger they write, `metrics.maintenance_log`: a 'run' row per run, and a row per
//! step of it, each closed with its outcome.
//!
//! The procedure commits after every call here (when it may), so each call is one unit of
//! work: done and recorded, or rolled back whole. A step's error is caught in a
//! subtransaction and recorded in its row; a cancel (or `statement_timeout`) is not caught
//! and stops the run, whose row then stays 'running' with its backend: the next run sees
//! that the backend is gone or no longer running it, marks the run failed (interrupted) and
//! does its work.

use pgrx::Uuid;
use serde_json::{json, Value};

use crate::common::problem::{Failure, Outcome, Problem, SqlState};
use crate::jobs::maintenance::run_status;
use crate::pg::identity;
use crate::pg::spi::{not_null, volatile as spi};
use crate::pg::subxact::isolated;

/// The advisory lock a run takes (for its first transaction only) while it checks for
/// another run and records its own: "metr" "main".
const START_LOCK: i64 = 0x6d65_7472_6d61_696e;

/// What a step did: its status, details, and the error that stopped it (or the summary of
/// its failures), if any.
pub struct StepEnd {
    pub status: &'static str,
    pub details: Value,
    pub error_message: Option<String>,
    pub error_sqlstate: Option<String>,
}

impl StepEnd {
    pub fn done(status: &'static str, details: Value) -> StepEnd {
        StepEnd {
            status,
            details,
            error_message: None,
            error_sqlstate: None,
        }
    }

    /// A step stopped by an error (`partial` when it had done some of its work).
    pub fn failed(status: &'static str, details: Value, failure: Failure) -> StepEnd {
        StepEnd {
            status,
            details,
            error_message: Some(failure.message),
            error_sqlstate: Some(failure.sqlstate),
        }
    }
}

/// Records a run that did not work, and why (another run is working).
fn record_skipped(details: Value) {
    spi::run(
        "INSERT INTO metrics.maintenance_log (step, status, completed_at, pid, backend_start, executed_by, details)
         SELECT 'run', 'skipped', pg_catalog.clock_timestamp(), a.pid, a.backend_start, $1, $2::jsonb
         FROM pg_catalog.pg_stat_activity AS a WHERE a.pid = pg_catalog.pg_backend_pid()",
        &[identity::caller_name().into(), details.to_string().into()],
    );
}

/// The run recorded as running whose backend is still running it, if any: same pid and
/// start, busy with a statement that began before the run (a backend whose state this role
/// cannot see counts as running it).
fn working_run() -> Option<Value> {
    spi::run("SELECT pg_catalog.pg_stat_clear_snapshot()", &[]);
    spi::rows(
        "SELECT pg_catalog.jsonb_build_object('working_run', l.id, 'pid', l.pid, 'started_at', l.started_at)::text
         FROM metrics.maintenance_log AS l
         JOIN pg_catalog.pg_stat_activity AS a ON a.pid = l.pid AND a.backend_start = l.backend_start
         WHERE l.step = 'run' AND l.status = 'running' AND a.pid <> pg_catalog.pg_backend_pid()
           AND (a.state IS NULL OR (a.state = 'active' AND (a.query_start IS NULL OR a.query_start <= l.started_at)))
         ORDER BY l.started_at LIMIT 1",
        &[],
        |row| not_null::<String>(row, 1),
    )
    .pop()
    .map(|text| serde_json::from_str(&text).expect("jsonb text is JSON"))
}

/// Starts a run: `None` when another run is working (recorded as skipped). Runs left
/// 'running' by a backend that is gone (a crash, kill -9) or has moved on (a cancel) are
/// marked failed, with their steps, and this run takes over.
pub fn begin() -> Option<Uuid> {
    if !spi::exists(
        "SELECT pg_catalog.pg_try_advisory_xact_lock($1)",
        &[START_LOCK.into()],
    ) {
        record_skipped(
            json!({"reason": "another run of metrics.run_maintenance() is starting or works in an open transaction"}),
        );
        return None;
    }
    if let Some(working) = working_run() {
        record_skipped(working);
        return None;
    }
    let id = spi::value::<Uuid>(
        "INSERT INTO metrics.maintenance_log (step, status, pid, backend_start, executed_by)
         SELECT 'run', 'running', a.pid, a.backend_start, $1
         FROM pg_catalog.pg_stat_activity AS a WHERE a.pid = pg_catalog.pg_backend_pid()
         RETURNING id",
        &[identity::caller_name().into()],
    )
    .expect("the backend sees itself in pg_stat_activity");
    spi::run(
        "UPDATE metrics.maintenance_log AS l
         SET status = 'failed', completed_at = pg_catalog.clock_timestamp(),
             error_message = CASE WHEN l.step = 'run'
                 THEN pg_catalog.format('interrupted: the backend that ran it (pid %s) ended or stopped before the run finished; run %s took over', l.pid, $1)
                 ELSE 'interrupted with its run' END,
             details = coalesce(l.details, '{}') || pg_catalog.jsonb_build_object('taken_over_by', $1)
         WHERE l.status = 'running' AND l.id <> $1
           AND (l.step = 'run' OR l.run_id IN (SELECT r.id FROM metrics.maintenance_log AS r
                                               WHERE r.step = 'run' AND r.status = 'running' AND r.id <> $1))",
        &[id.into()],
    );
    Some(id)
}

/// Checks that `run_id` names a run that is running.
pub fn check_run(run_id: Option<Uuid>) -> Outcome<Uuid> {
    let Some(id) = run_id else {
        return Err(Problem::null_argument("run_id").hint(
            "CALL metrics.run_maintenance(): it starts a run and passes its id to each step",
        ));
    };
    if spi::exists(
        "SELECT EXISTS (SELECT FROM metrics.maintenance_log WHERE id = $1 AND step = 'run' AND status = 'running')",
        &[id.into()],
    ) {
        return Ok(id);
    }
    Err(Problem::new(
        SqlState::InvalidParameterValue,
        format!("{id} is not a running maintenance run"),
    )
    .hint("CALL metrics.run_maintenance(): it starts a run and passes its id to each step"))
}

/// The row of `step` in `run_id`, opened when there is none: its id, whether it is still
/// running, and its details so far.
pub fn step_row(run_id: Uuid, step: &str) -> (Uuid, bool, Value) {
    let found = spi::rows(
        "SELECT id, status = 'running', coalesce(details, '{}')::text FROM metrics.maintenance_log
         WHERE run_id = $1 AND step = $2 ORDER BY started_at LIMIT 1",
        &[run_id.into(), step.into()],
        |row| {
            Ok((
                not_null::<Uuid>(row, 1)?,
                not_null::<bool>(row, 2)?,
                not_null::<String>(row, 3)?,
            ))
        },
    )
    .pop();
    if let Some((id, running, details)) = found {
        return (
            id,
            running,
            serde_json::from_str(&details).unwrap_or(json!({})),
        );
    }
    let id = spi::value::<Uuid>(
        "INSERT INTO metrics.maintenance_log (run_id, step, status, executed_by, details)
         VALUES ($1, $2, 'running', $3, '{}') RETURNING id",
        &[run_id.into(), step.into(), identity::caller_name().into()],
    )
    .expect("INSERT ... RETURNING returns the row");
    (id, true, json!({}))
}

/// Keeps a running step's details (what it did so far).
pub fn step_progress(step_id: Uuid, details: &Value) {
    spi::run(
        "UPDATE metrics.maintenance_log SET details = $2::jsonb WHERE id = $1",
        &[step_id.into(), details.to_string().into()],
    );
}

/// Closes a step's row with its outcome.
pub fn step_end(step_id: Uuid, end: &StepEnd) {
    spi::run(
        "UPDATE metrics.maintenance_log
         SET status = $2, completed_at = pg_catalog.clock_timestamp(), details = $3::jsonb,
             error_message = $4, error_sqlstate = $5
         WHERE id = $1",
        &[
            step_id.into(),
            end.status.into(),
            end.details.to_string().into(),
            end.error_message.clone().into(),
            end.error_sqlstate.clone().into(),
        ],
    );
}

/// Runs a one-call step in a subtransaction and records it; returns its status.
pub fn one_call_step(
    run_id: Uuid,
    step: &str,
    work: impl FnOnce() -> StepEnd + std::panic::UnwindSafe,
) -> String {
    let (step_id, running, _) = step_row(run_id, step);
    if !running {
        return spi::value::<String>(
            "SELECT status FROM metrics.maintenance_log WHERE id = $1",
            &[step_id.into()],
        )
        .expect("the step's row exists");
    }
    let end = isolated(work).unwrap_or_else(|f| StepEnd::failed("failed", json!({}), f));
    step_end(step_id, &end);
    end.status.to_string()
}

/// Ends a run: a step still running is failed, and the run's status follows its steps'.
pub fn end(run_id: Uuid) -> String {
    spi::run(
        "UPDATE metrics.maintenance_log SET status = 'failed', completed_at = pg_catalog.clock_timestamp(),
             error_message = 'the run ended before this step did'
         WHERE run_id = $1 AND status = 'running'",
        &[run_id.into()],
    );
    let steps: Vec<(String, String)> = spi::rows(
        "SELECT step, status FROM metrics.maintenance_log WHERE run_id = $1 ORDER BY started_at",
        &[run_id.into()],
        |row| Ok((not_null::<String>(row, 1)?, not_null::<String>(row, 2)?)),
    );
    let status = run_status(steps.iter().map(|(_, s)| s.as_str()));
    let details: serde_json::Map<String, Value> = steps
        .into_iter()
        .map(|(step, s)| (step, Value::from(s)))
        .collect();
    spi::run(
        "UPDATE metrics.maintenance_log
         SET status = $2, completed_at = pg_catalog.clock_timestamp(), details = $3::jsonb
         WHERE id = $1",
        &[
            run_id.into(),
            status.into(),
            json!({ "steps": details }).to_string().into(),
        ],
    );
    status.to_string()
}
