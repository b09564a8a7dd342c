//! How far the refresh has got per project and source (`metrics.read_model_state`).

use chrono::NaiveDate;
use pgrx::datum::{Date, TimestampWithTimeZone};
use pgrx::Uuid;

use crate::pg::datum::{pg_date, stored_date};
use crate::pg::spi::{not_null, volatile as spi};

/// A source's state: changes at or after `watermark` are looked at again; the cut is the
/// last closed day (daily values, DORA) or the end of the last closed hour (requests)
/// already covered.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    pub watermark: TimestampWithTimeZone,
    pub cut_day: Option<NaiveDate>,
    pub cut_hour: Option<TimestampWithTimeZone>,
}

/// The state of one source of a project (`None`: never refreshed, or a full refresh).
pub fn load(project: Uuid, source: &str) -> Option<Mark> {
    spi::rows(
        "SELECT watermark, cut_day, cut_hour FROM metrics.read_model_state
         WHERE project_id = $1 AND source = $2",
        &[project.into(), source.into()],
        |r| {
            Ok(Mark {
                watermark: not_null(r, 1)?,
                cut_day: r.get::<Date>(2)?.map(stored_date),
                cut_hour: r.get(3)?,
            })
        },
    )
    .pop()
}

/// Moves a source's state, in the transaction that wrote what it covers.
pub fn save(project: Uuid, source: &str, mark: Mark) {
    spi::run(
        "INSERT INTO metrics.read_model_state AS s (project_id, source, watermark, cut_day, cut_hour, refreshed_at)
         VALUES ($1, $2, $3, $4, $5, pg_catalog.now())
         ON CONFLICT (project_id, source) DO UPDATE
         SET watermark = excluded.watermark, cut_day = excluded.cut_day, cut_hour = excluded.cut_hour,
             refreshed_at = excluded.refreshed_at",
        &[
            project.into(),
            source.into(),
            mark.watermark.into(),
            mark.cut_day.map(pg_date).into(),
            mark.cut_hour.into(),
        ],
    );
}

/// Forgets a project's state and its points (a full refresh starts from nothing; its
/// summaries are kept, each was the answer of its run).
pub fn reset(project: Uuid) {
    for table in [
        "read_model_state",
        "metrics_trend_point",
        "metrics_breakdown_point",
        "metrics_drilldown",
    ] {
        spi::run(
            &format!("DELETE FROM metrics.{table} WHERE project_id = $1"),
            &[project.into()],
        );
    }
}

/// The watermark of this run: the start of the oldest transaction still open in this
/// database (whose rows, once committed, carry that time or later), at most this one's
/// own start. Without the right to see other roles' transactions, their start is NULL and
/// only what this role sees counts (docs/read-model.md says so).
pub fn this_run() -> TimestampWithTimeZone {
    spi::value::<TimestampWithTimeZone>(
        "SELECT least(pg_catalog.now(), min(a.xact_start))
         FROM pg_catalog.pg_stat_activity AS a
         WHERE a.datname = pg_catalog.current_database() AND a.pid <> pg_catalog.pg_backend_pid()
           AND a.xact_start IS NOT NULL",
        &[],
    )
    .expect("now() is never NULL")
}
