//! Retention of the read model, through the maintenance engine's pruning: the deletions
//! `metrics_core::readmodel::retention::plan` gives for a family's policy in force, in
//! batches that skip rows locked by others (a refresh writing them).

use pgrx::datum::Interval;

use crate::maintenance::policy;
use crate::maintenance::rules::Span;
use crate::pg::guc;
use crate::pg::spi::volatile as spi;
use crate::readmodel::retention::{plan, Removal};

/// $1 the cutoff, $2 the batch size, $3 metrics.timezone (the zone of projects without one).
fn statement(removal: Removal) -> &'static str {
    match removal {
        Removal::DropSummaries => "
            DELETE FROM metrics.metrics_summary WHERE id IN (
                SELECT id FROM metrics.metrics_summary WHERE captured_at < $1
                ORDER BY captured_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        // Whole local days before the cutoff's, each project's last summary of a day kept.
        Removal::ThinSummaries => "
            DELETE FROM metrics.metrics_summary WHERE id IN (
                SELECT r.id FROM (
                    SELECT s.id, pg_catalog.row_number() OVER (
                               PARTITION BY s.project_id, (s.captured_at AT TIME ZONE coalesce(p.time_zone, $3))::date
                               ORDER BY s.captured_at DESC, s.id DESC) AS n
                    FROM metrics.metrics_summary AS s JOIN metrics.projects AS p ON p.id = s.project_id
                    WHERE (s.captured_at AT TIME ZONE coalesce(p.time_zone, $3))::date
                          < ($1 AT TIME ZONE coalesce(p.time_zone, $3))::date) AS r
                WHERE r.n > 1 LIMIT $2)",
        Removal::DropFineTrend => "
            DELETE FROM metrics.metrics_trend_point WHERE id IN (
                SELECT id FROM metrics.metrics_trend_point
                WHERE time_grain IN ('hour', 'day') AND time_bucket < $1
                LIMIT $2 FOR UPDATE SKIP LOCKED)",
        Removal::DropTrend => "
            DELETE FROM metrics.metrics_trend_point WHERE id IN (
                SELECT id FROM metrics.metrics_trend_point WHERE time_bucket < $1
                LIMIT $2 FOR UPDATE SKIP LOCKED)",
        Removal::DropBreakdown => "
            DELETE FROM metrics.metrics_breakdown_point WHERE id IN (
                SELECT id FROM metrics.metrics_breakdown_point WHERE coalesce(time_bucket, computed_at) < $1
                LIMIT $2 FOR UPDATE SKIP LOCKED)",
        Removal::DropDrilldown => "
            DELETE FROM metrics.metrics_drilldown WHERE id IN (
                SELECT id FROM metrics.metrics_drilldown WHERE coalesce(time_bucket, computed_at) < $1
                LIMIT $2 FOR UPDATE SKIP LOCKED)",
    }
}

fn interval(s: Span) -> Interval {
    Interval::new(s.months, s.days, s.micros).expect("a span read from an interval")
}

/// Deletes up to `batch` rows of a read-model family as its policy says; `None` when the
/// policy keeps everything.
pub fn batch(family: &str, batch: i32) -> Option<i64> {
    let removals = plan(family, policy::of(family)?.policy);
    if removals.is_empty() {
        return None;
    }
    let mut left = batch as i64;
    for (removal, age) in removals {
        let before = spi::value::<pgrx::datum::TimestampWithTimeZone>(
            "SELECT pg_catalog.now() - $1",
            &[interval(age).into()],
        );
        let sql = format!(
            "WITH gone AS ({} RETURNING 1) SELECT count(*) FROM gone",
            statement(removal)
        );
        let n = spi::value::<i64>(&sql, &[before.into(), left.into(), guc::timezone().into()])
            .unwrap_or(0);
        left -= n;
        if left <= 0 {
            break;
        }
    }
    Some(batch as i64 - left)
}
