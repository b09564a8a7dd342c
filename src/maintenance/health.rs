//! `metrics.health()`: each check measures with one read-only query (the calling statement's
//! snapshot) and is judged by `metrics_core::maintenance::health`. Nothing is written. The
//! checks run as the extension's owner (SECURITY DEFINER), so the caller must be an
//! administrator (`require_admin`), decided as the caller.

use chrono::NaiveDate;
use pgrx::datum::Date;

use crate::common::problem::{Problem, SqlState};
use crate::maintenance::health_rules::{self as rules, Check, Severity};
use crate::maintenance::health_upkeep as upkeep;
use crate::maintenance::settings::{thresholds, Thresholds};
use crate::pg::datum::stored_date;
use crate::pg::identity;
use crate::pg::raise::raise;
use crate::pg::spi::{not_null, stable as spi};

/// Refuses a caller that `metrics.is_admin()`, evaluated as the caller, does not accept.
pub fn require_admin(function: &str) {
    let caller = identity::caller();
    let may_ask = spi::value::<bool>(
        "SELECT pg_catalog.has_function_privilege($1, 'metrics.is_admin()', 'EXECUTE')",
        &[caller.into()],
    ) == Some(true);
    let admin = may_ask
        && identity::as_role(caller, || {
            spi::value::<bool>("SELECT metrics.is_admin()", &[])
        }) == Some(true);
    if admin {
        return;
    }
    raise(
        Problem::new(
            SqlState::InsufficientPrivilege,
            format!("{function} is for administrators; {} is not one", identity::caller_name()),
        )
        .hint("call it as a role of the manage level (Supabase: service_role), or make the caller an administrator with metrics.set_admin_check; metrics.is_admin() tells"),
    )
}

/// Every check, in the order of `rules::CHECKS`.
pub fn evaluate() -> Vec<Check> {
    let t = thresholds();
    vec![
        success_rate(&t),
        failed_runs(&t),
        sealed_recently(&t),
        last_run_duration(&t),
        missing_dates(),
        anomalous_values(&t),
        upkeep::buffer_writer_lag(&t),
        upkeep::cron_job_failures(&t),
        upkeep::retention_backlog(&t),
        upkeep::unfolded_backlog(&t),
    ]
}

fn success_rate(t: &Thresholds) -> Check {
    let name = "collection_success_rate";
    let (good, failed) = spi::rows(
        "SELECT coalesce(sum(metrics_collected), 0)::float8, coalesce(sum(metrics_failed), 0)::float8
         FROM metrics.metric_collection_log
         WHERE run_type IN ('collect', 'backfill') AND completed_at >= now() - interval '30 days'",
        &[],
        |row| Ok((not_null::<f64>(row, 1)?, not_null::<f64>(row, 2)?)),
    )[0];
    if good + failed == 0.0 {
        return Check::ok(
            name,
            None,
            Some(t.success_rate),
            "no metric value was computed in the last 30 days",
        );
    }
    let rate = rules::rounded(100.0 * good / (good + failed), 4);
    let severity = rules::success_rate_severity(rate, t.success_rate);
    Check::ok(
        name,
        Some(rate),
        Some(t.success_rate),
        format!("{good} of {} values computed without error in the collections and backfills of the last 30 days", good + failed),
    )
    .graded(severity, "metrics.metric_collection_log.error_details names each failed metric and its error; fix the cause, then metrics.backfill_daily_metrics fills the days")
}

fn failed_runs(t: &Thresholds) -> Check {
    let name = "failed_runs_in_a_row";
    let runs = spi::rows(
        "SELECT status, coalesce(error_message, message, '') FROM metrics.metric_collection_log
         WHERE run_type = 'collect' AND status <> 'running'
         ORDER BY started_at DESC LIMIT 1001",
        &[],
        |row| Ok((not_null::<String>(row, 1)?, not_null::<String>(row, 2)?)),
    );
    let n = rules::failed_in_a_row(runs.iter().map(|(s, _)| s.as_str()));
    let threshold = Some(t.failed_runs as f64);
    let detail = match runs.first() {
        None => "no daily collection has run yet".to_string(),
        Some(_) if n == 0 => "the last daily collection succeeded".to_string(),
        Some((_, message)) => {
            format!("the last {n} daily collections failed or were partial; the latest: {message}")
        }
    };
    Check::ok(name, Some(n as f64), threshold, detail).graded(
        rules::in_a_row_severity(n, t.failed_runs),
        "metrics.metric_collection_log.error_details of the failed runs names each failed metric and its error",
    )
}

fn sealed_recently(t: &Thresholds) -> Check {
    let name = "sealed_recently";
    let (active, hours) = spi::rows(
        "SELECT EXISTS (SELECT FROM metrics.metric_definitions WHERE is_active),
                (SELECT extract(epoch FROM now() - max(collection_timestamp))::float8 / 3600 FROM metrics.daily_metrics)",
        &[],
        |row| Ok((not_null::<bool>(row, 1)?, row.get::<f64>(2)?)),
    )[0];
    let threshold = Some(t.stale_hours);
    let hint = "collect every day: SELECT metrics.schedule_daily_collection() (pg_cron), or call metrics.collect_daily_metrics() from a scheduler; look at metrics.metric_collection_log for runs that failed";
    match (active, hours) {
        (false, _) => Check::ok(name, None, threshold, "no metric is active"),
        (true, None) => Check::ok(name, None, threshold, "no value has been sealed yet")
            .graded(Severity::Warning, hint),
        (true, Some(h)) => {
            let h = rules::rounded(h.max(0.0), 2);
            Check::ok(
                name,
                Some(h),
                threshold,
                format!("the last value was sealed {h} hours ago"),
            )
            .graded(rules::stale_severity(h, t.stale_hours), hint)
        }
    }
}

fn last_run_duration(t: &Thresholds) -> Check {
    let name = "last_run_duration";
    let last = spi::rows(
        "SELECT extract(epoch FROM completed_at - started_at)::float8, collection_date::text
         FROM metrics.metric_collection_log
         WHERE run_type = 'collect' AND completed_at IS NOT NULL
         ORDER BY started_at DESC LIMIT 1",
        &[],
        |row| Ok((not_null::<f64>(row, 1)?, not_null::<String>(row, 2)?)),
    );
    let threshold = Some(t.slow_run_secs);
    let Some((secs, day)) = last.into_iter().next() else {
        return Check::ok(name, None, threshold, "no daily collection has run yet");
    };
    let secs = rules::rounded(secs, 3);
    Check::ok(name, Some(secs), threshold, format!("the last daily collection (of {day}) took {secs} s"))
        .graded(
            rules::slow_run_severity(secs, t.slow_run_secs),
            "a source without an index on its time column is read whole every day; metrics.metric_timeout bounds one metric",
        )
}

fn missing_dates() -> Check {
    let name = "missing_dates";
    let rows = spi::rows(
        "WITH firsts AS (
             SELECT d.metric_type, d.metric_category, min(m.metric_date) AS first_day
             FROM metrics.metric_definitions AS d
             JOIN metrics.daily_metrics AS m USING (metric_type, metric_category)
             WHERE d.is_active GROUP BY 1, 2)
         SELECT f.first_day + g AS day, count(*)::bigint
         FROM firsts AS f, pg_catalog.generate_series(0, metrics.last_closed_day() - f.first_day) AS g
         WHERE NOT EXISTS (SELECT FROM metrics.daily_metrics AS m
                           WHERE m.metric_type = f.metric_type AND m.metric_category = f.metric_category
                             AND m.metric_date = f.first_day + g)
         GROUP BY 1 ORDER BY 1",
        &[],
        |row| Ok((stored_date(not_null::<Date>(row, 1)?), not_null::<i64>(row, 2)?)),
    );
    let days: Vec<NaiveDate> = rows.iter().map(|(d, _)| *d).collect();
    let values: i64 = rows.iter().map(|(_, n)| n).sum();
    if days.is_empty() {
        return Check::ok(
            name,
            Some(0.0),
            Some(0.0),
            "every active metric has a value for every day since its first sealed day",
        );
    }
    let ranges = rules::day_ranges(&days);
    Check::ok(
        name,
        Some(days.len() as f64),
        Some(0.0),
        format!(
            "{} days ({values} values) are missing since the first sealed day of their metric: {}",
            days.len(),
            rules::format_ranges(&ranges)
        ),
    )
    .graded(Severity::Warning, rules::backfill_calls(&ranges))
}

/// One metric's recent series: `(category, kind, [(day, value)])`.
type Series = (String, String, Vec<(NaiveDate, f64)>);

fn recent_series(days: i64) -> Vec<Series> {
    // The whole database's values (per-project ones are each project's series, not the
    // metric's); tables before 0.6.0 hold only those.
    let whole = if crate::snapshots::layout::layout().has_projects() {
        " AND m.project_id IS NULL"
    } else {
        ""
    };
    let rows = spi::rows(
        &format!(
            "WITH latest AS (
             SELECT d.metric_type, d.metric_category, d.kind, max(m.metric_date) AS day
             FROM metrics.metric_definitions AS d
             JOIN metrics.daily_metrics AS m USING (metric_type, metric_category)
             WHERE d.is_active GROUP BY 1, 2, 3)
         SELECT l.metric_category, l.kind, m.metric_date, m.value::float8
         FROM latest AS l JOIN metrics.daily_metrics AS m USING (metric_type, metric_category)
         WHERE m.metric_date BETWEEN l.day - ($1 + 1) AND l.day{whole}
         ORDER BY 1, 3"
        ),
        &[(days as i32).into()],
        |row| {
            Ok((
                not_null::<String>(row, 1)?,
                not_null::<String>(row, 2)?,
                stored_date(not_null::<Date>(row, 3)?),
                not_null::<f64>(row, 4)?,
            ))
        },
    );
    let mut out: Vec<Series> = Vec::new();
    for (category, kind, day, value) in rows {
        match out.last_mut() {
            Some((c, _, s)) if *c == category => s.push((day, value)),
            _ => out.push((category, kind, vec![(day, value)])),
        }
    }
    out
}

fn anomalous_values(t: &Thresholds) -> Check {
    let name = "anomalous_values";
    let mut worst: Option<f64> = None;
    let mut found: Vec<(f64, String)> = Vec::new();
    for (category, kind, series) in recent_series(t.anomaly_days) {
        let series = if kind == "total" {
            rules::daily_changes(&series)
        } else {
            series
        };
        let what = if kind == "total" { "change" } else { "value" };
        let Some((day, value, dev)) = rules::latest_deviation(&series, t.anomaly_days) else {
            continue;
        };
        let z = rules::rounded(dev.z, 2);
        worst = Some(worst.map_or(z.abs(), |w: f64| w.max(z.abs())));
        if rules::anomaly_severity(z, t.anomaly_sigma) != Severity::Ok {
            found.push((
                z.abs(),
                format!(
                    "{category} on {day}: {what} {value} (mean {:.2}, sd {:.2}, z {z})",
                    dev.mean, dev.sd
                ),
            ));
        }
    }
    let threshold = Some(t.anomaly_sigma);
    let Some(worst) = worst else {
        return Check::ok(
            name,
            None,
            threshold,
            "no active metric has enough history (7 values in the trailing days)",
        );
    };
    if found.is_empty() {
        return Check::ok(
            name,
            Some(worst),
            threshold,
            format!(
                "every latest value lies within {} standard deviations of its trailing {} days",
                t.anomaly_sigma, t.anomaly_days
            ),
        );
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    let list: Vec<String> = found.iter().take(10).map(|(_, s)| s.clone()).collect();
    Check::ok(name, Some(worst), threshold, format!("{} anomalous: {}", found.len(), list.join("; "))).graded(
        rules::anomaly_severity(worst, t.anomaly_sigma),
        "look at the source rows of that day; if the value is wrong, correct it with metrics.recollect(day, ARRAY[category], reason)",
    )
}
