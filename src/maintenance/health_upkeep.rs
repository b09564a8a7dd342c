//! The health of what keeps the extension running: the buffer writer (shared memory, when
//! the library is preloaded), the extension's pg_cron jobs (when pg_cron is installed; it is
//! never a dependency, so its tables are looked up at call time) and retention.

use pgrx::pg_sys;

use crate::maintenance::health_rules::{self as rules, Check};
use crate::maintenance::settings::Thresholds;
use crate::pg::guc;
use crate::pg::spi::{not_null, stable as spi};
use crate::requests::buffer;

pub fn buffer_writer_lag(t: &Thresholds) -> Check {
    let name = "buffer_writer_lag";
    let limit = t.writer_lag_intervals * guc::flush_interval_secs() as f64;
    let Some(stats) = buffer::writer_stats() else {
        return Check::ok(
            name,
            None,
            Some(limit),
            "buffered mode is not in use: the metrics library is not in shared_preload_libraries",
        );
    };
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    let lag =
        (stats.last_write != 0).then(|| rules::rounded((now - stats.last_write) as f64 / 1e6, 3));
    let detail = match lag {
        Some(l) => format!(
            "{} buffered events wait; the writer last caught up {l} s ago (limit {limit} s: {} x metrics.flush_interval)",
            stats.waiting, t.writer_lag_intervals
        ),
        None => format!("{} buffered events wait; the writer has not started", stats.waiting),
    };
    let value = if stats.waiting > 0 {
        lag.or(Some(f64::INFINITY))
    } else {
        Some(0.0)
    };
    Check::ok(name, value, Some(limit), detail).graded(
        rules::writer_lag_severity(value.unwrap_or(0.0), stats.waiting, limit),
        "the server log has the writer's warnings; a transaction holding rows of metrics.route_metrics or operation_metrics blocks it (pg_stat_activity: backend_type 'metrics buffer writer')",
    )
}

/// Whether pg_cron's tables are there and readable by the extension's owner.
fn cron_readable() -> Result<(), &'static str> {
    let installed = spi::value::<bool>(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron')
                AND pg_catalog.to_regclass('cron.job_run_details') IS NOT NULL
                AND pg_catalog.to_regclass('cron.job') IS NOT NULL",
        &[],
    ) == Some(true);
    if !installed {
        return Err("pg_cron is not installed in this database");
    }
    let readable = spi::value::<bool>(
        "SELECT pg_catalog.has_table_privilege('cron.job_run_details', 'SELECT')
                AND pg_catalog.has_table_privilege('cron.job', 'SELECT')",
        &[],
    ) == Some(true);
    if !readable {
        return Err("the extension's owner cannot read cron.job and cron.job_run_details");
    }
    Ok(())
}

pub fn cron_job_failures(t: &Thresholds) -> Check {
    let name = "cron_job_failures";
    let threshold = Some(t.failed_runs as f64);
    match cron_readable() {
        Err(why @ "pg_cron is not installed in this database") => {
            return Check::ok(name, None, threshold, why)
        }
        Err(why) => {
            return Check::ok(name, None, threshold, why).graded(
                rules::Severity::Warning,
                "GRANT SELECT ON cron.job, cron.job_run_details TO the extension's owner",
            )
        }
        Ok(()) => {}
    }
    // Failed runs of the extension's jobs in this database in the last 24 hours, after the
    // job's last run that succeeded.
    let jobs = spi::rows(
        "SELECT j.jobname::text, count(*)::bigint,
                (pg_catalog.array_agg(coalesce(d.return_message, '') ORDER BY d.start_time DESC))[1]
         FROM cron.job AS j JOIN cron.job_run_details AS d ON d.jobid = j.jobid
         WHERE j.jobname LIKE 'metrics-%' AND j.database = pg_catalog.current_database()
           AND d.status = 'failed' AND d.start_time > now() - interval '24 hours'
           AND d.start_time > coalesce((SELECT max(s.start_time) FROM cron.job_run_details AS s
                                        WHERE s.jobid = j.jobid AND s.status = 'succeeded'), '-infinity')
         GROUP BY 1 ORDER BY 2 DESC, 1",
        &[],
        |row| Ok((not_null::<String>(row, 1)?, not_null::<i64>(row, 2)?, not_null::<String>(row, 3)?)),
    );
    let worst = jobs.iter().map(|(_, n, _)| *n).max().unwrap_or(0);
    if jobs.is_empty() {
        return Check::ok(name, Some(0.0), threshold, "no run of the extension's pg_cron jobs failed in the last 24 hours since its last success");
    }
    let list: Vec<String> = jobs
        .iter()
        .map(|(job, n, message)| {
            format!(
                "{job}: {n} failed runs since its last success, the latest: {}",
                message.trim()
            )
        })
        .collect();
    Check::ok(name, Some(worst as f64), threshold, list.join("; ")).graded(
        rules::in_a_row_severity(worst as u64, t.failed_runs),
        "SELECT * FROM cron.job_run_details WHERE status = 'failed' ORDER BY start_time DESC shows the errors; a job connects as its user (pg_hba, cron.host) unless cron.use_background_workers is on",
    )
}

/// The oldest row of a family's part, the rule of its policy that applies, and the slack.
fn rollup_parts(table: &str) -> String {
    let family = table;
    let first = |filter: &str| {
        format!("(SELECT r.period_end FROM metrics.{table} AS r {filter} ORDER BY r.period_start LIMIT 1)")
    };
    format!(
        "SELECT '{family}', 'hour rows', 'keep_hourly', interval '1 day', {}
         UNION ALL SELECT '{family}', 'day rows', 'keep_daily', interval '7 days', {}
         UNION ALL SELECT '{family}', 'rows', 'drop_after', interval '1 day', {}",
        first("WHERE r.resolution = 'hour'"),
        first("WHERE r.resolution = 'day'"),
        first("")
    )
}

fn retention_sql(with_cron: bool) -> String {
    // A database still at 0.4.0 (not yet updated) has no GitHub events table.
    let github = if spi::value::<bool>(
        "SELECT pg_catalog.to_regclass('metrics.github_events') IS NOT NULL",
        &[],
    ) == Some(true)
    {
        "UNION ALL SELECT 'github_events', 'GitHub events', 'drop_after', interval '1 day',
             (SELECT min(received_at) FROM metrics.github_events)"
    } else {
        ""
    };
    let cron = if with_cron {
        "UNION ALL SELECT 'cron_job_run_details', 'runs of the extension''s jobs', 'drop_after', interval '1 day',
             (SELECT min(d.start_time) FROM cron.job_run_details AS d JOIN cron.job AS j ON j.jobid = d.jobid
              WHERE j.jobname LIKE 'metrics-%' AND j.database = pg_catalog.current_database())"
    } else {
        ""
    };
    format!(
        "WITH oldest (family, what, rule, slack, at) AS (
             {} UNION ALL {}
             UNION ALL SELECT 'collection_log', 'runs', 'drop_after', interval '1 day',
                 (SELECT min(started_at) FROM metrics.metric_collection_log)
             UNION ALL SELECT 'maintenance_log', 'entries', 'drop_after', interval '1 day',
                 (SELECT min(started_at) FROM metrics.maintenance_log)
             {github}
             {cron}),
         judged AS (
             SELECT o.family, o.what, o.rule, o.slack, o.at,
                    CASE o.rule WHEN 'keep_hourly' THEN p.keep_hourly WHEN 'keep_daily' THEN p.keep_daily
                                ELSE p.drop_after END AS keep
             FROM oldest AS o JOIN metrics.retention_policies AS p ON p.family = o.family)
         SELECT family, what, rule, keep::text, slack::text,
                pg_catalog.to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
                extract(epoch FROM (now() - keep - slack) - at)::float8 / 86400
         FROM judged
         WHERE keep IS NOT NULL AND at IS NOT NULL AND at < now() - keep - slack
         ORDER BY 7 DESC, 1, 2",
        rollup_parts("route_metrics"),
        rollup_parts("operation_metrics")
    )
}

pub fn retention_backlog(t: &Thresholds) -> Check {
    let name = "retention_backlog";
    let behind = spi::rows(&retention_sql(cron_readable().is_ok()), &[], |row| {
        let text = |i| not_null::<String>(row, i);
        Ok((
            format!(
                "{}: {} since {} UTC, past {} ({}) + {}",
                text(1)?,
                text(2)?,
                text(6)?,
                text(3)?,
                text(4)?,
                text(5)?
            ),
            not_null::<f64>(row, 7)?,
        ))
    });
    let threshold = Some(t.retention_days);
    let Some(worst) = behind.first().map(|(_, days)| rules::rounded(*days, 2)) else {
        return Check::ok(
            name,
            Some(0.0),
            threshold,
            "every family is within its retention policy (metrics.retention_policies)",
        );
    };
    let list: Vec<String> = behind.iter().map(|(s, _)| s.clone()).collect();
    Check::ok(name, Some(worst), threshold, format!("{worst} days behind: {}", list.join("; "))).graded(
        rules::retention_severity(worst, t.retention_days),
        "the maintenance job (metrics.run_maintenance) compacts and prunes: look at its last runs in metrics.maintenance_log, or schedule it",
    )
}

/// What direct recording appended and nobody folded: the oldest unfolded row's age (minutes
/// since its last event) and how many rows wait. The reports read every unfolded row, so a
/// database where nothing folds gets slower to read; the buffer writer folds every interval.
pub fn unfolded_backlog(t: &Thresholds) -> Check {
    let name = "unfolded_backlog";
    let limit = Some(t.unfolded_minutes);
    if !crate::requests::fold::installed() {
        return Check::ok(
            name,
            Some(0.0),
            limit,
            "recording appends since 0.7.0: run ALTER EXTENSION metrics UPDATE",
        );
    }
    let (rows, minutes) = spi::rows(
        "SELECT (SELECT count(*) FROM metrics.route_metrics_unfolded) + (SELECT count(*) FROM metrics.operation_metrics_unfolded),
                extract(epoch FROM now() - least((SELECT min(last_request_at) FROM metrics.route_metrics_unfolded),
                                                 (SELECT min(last_execution_at) FROM metrics.operation_metrics_unfolded)))::float8 / 60",
        &[],
        |row| Ok((not_null::<i64>(row, 1)?, row.get::<f64>(2)?)),
    )
    .pop()
    .unwrap_or((0, None));
    let Some(minutes) = minutes.map(|m| rules::rounded(m.max(0.0), 1)) else {
        return Check::ok(name, Some(0.0), limit, "nothing waits to be folded");
    };
    let detail =
        format!("{rows} unfolded rows wait; the oldest holds an event of {minutes} minutes ago");
    Check::ok(name, Some(minutes), limit, detail).graded(
        rules::unfolded_severity(minutes, t.unfolded_minutes),
        "nothing folds what direct recording appends: preload the library (its buffer writer folds every metrics.flush_interval in metrics.buffer_database) or schedule SELECT * FROM metrics.fold_metrics() with pg_cron every minute",
    )
}
