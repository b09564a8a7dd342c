//! `metrics.refresh_read_model`: fills the read model of every project (or one) from what
//! changed since its last run, each project in one go: its points, drill-downs, summary and
//! state are written together, so an interrupted run leaves each project done or untouched.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::Uuid;
use serde_json::{json, Value};

use crate::pg::identity::{as_role, caller};
use crate::pg::spi::volatile as spi;
use crate::readmodel::project::{self, Project};
use crate::readmodel::state::{self, Mark};
use crate::readmodel::write;
use crate::readmodel::{daily, dora, summary, traffic};
use crate::snapshots::read::last_closed_day_in_zone;

/// What one project's refresh wrote and processed.
#[derive(Debug, Default, Clone)]
pub struct Refreshed {
    pub project: String,
    pub trend_points: i64,
    pub breakdown_points: i64,
    pub drilldowns: i64,
    pub summaries: i64,
    pub days: i64,
    pub hours: i64,
    pub events: i64,
}

impl Refreshed {
    pub fn to_json(&self) -> Value {
        json!({"project": self.project, "trend_points": self.trend_points,
               "breakdown_points": self.breakdown_points, "drilldowns": self.drilldowns,
               "summaries": self.summaries, "days": self.days, "hours": self.hours,
               "events": self.events})
    }
}

/// The end of the last closed UTC hour.
fn cut_hour() -> TimestampWithTimeZone {
    spi::value::<TimestampWithTimeZone>(
        "SELECT pg_catalog.date_trunc('hour', pg_catalog.now(), 'UTC')",
        &[],
    )
    .expect("now() is never NULL")
}

/// Drill-downs recomputed whole at every run (their window moves with the cut): routes of
/// the last 30 days, breakdown keys of the last 30 sealed days.
fn windowed_drilldowns(p: &Project, day: chrono::NaiveDate, hour: TimestampWithTimeZone) -> i64 {
    let mut n = 0;
    for (entity, rows) in [
        ("route", traffic::route_drilldowns(p, hour)),
        ("breakdown_key", daily::key_drilldowns(p, day)),
    ] {
        n += write::drop_other_drilldowns(p.id, entity, &rows);
        n += write::drilldowns(p.id, &crate::pg::guc::timezone(), &rows);
    }
    n
}

/// Refreshes one project: what changed since its state (everything when `full`), then its
/// summary, then its state, all in the caller's transaction.
pub fn project(p: &Project, full: bool) -> Refreshed {
    if full {
        state::reset(p.id);
    }
    // What direct recording appended goes into the hour rows first, which the refresh reads.
    if crate::requests::fold::installed() {
        crate::requests::fold::fold_all();
    }
    let watermark = state::this_run();
    let (day, hour, dora_day) = (last_closed_day_in_zone(), cut_hour(), dora::cut(p));
    let d = daily::refresh(p, state::load(p.id, "daily"), day);
    let r = traffic::refresh(p, state::load(p.id, "requests"), hour);
    let g = dora::refresh(p, state::load(p.id, "github"), dora_day);
    let drilldowns = g.drilldowns + windowed_drilldowns(p, day, hour);
    summary::insert(p, day);
    let mark = |cut_day, cut_hour| Mark {
        watermark,
        cut_day,
        cut_hour,
    };
    state::save(p.id, "daily", mark(Some(day), None));
    state::save(p.id, "requests", mark(None, Some(hour)));
    state::save(p.id, "github", mark(Some(dora_day), None));
    Refreshed {
        project: p.slug.clone(),
        trend_points: d.trend + r.trend + g.trend,
        breakdown_points: d.breakdown + r.breakdown + g.breakdown,
        drilldowns,
        summaries: 1,
        days: d.days,
        hours: r.hours,
        events: g.events,
    }
}

/// The project named (slug or id), resolved with the caller's rights (unknown and
/// forbidden read the same: 42704), or every project.
fn projects(name: Option<&str>) -> Vec<Project> {
    match name {
        None => project::load(None),
        Some(name) => {
            let id = as_role(caller(), || {
                crate::pg::spi::volatile::value::<Uuid>(
                    "SELECT metrics.project_id($1)",
                    &[name.into()],
                )
            });
            project::load(id)
        }
    }
}

/// Fills the read model of every project (or the one named) from what changed since its
/// last run (`full`: from scratch); one row per project.
#[allow(clippy::type_complexity)]
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn refresh_read_model(
    project: default!(Option<&str>, "NULL"),
    full: default!(Option<bool>, "false"),
) -> TableIterator<
    'static,
    (
        name!(project, String),
        name!(trend_points, i64),
        name!(breakdown_points, i64),
        name!(drilldowns, i64),
        name!(summaries, i64),
        name!(days, i64),
        name!(hours, i64),
        name!(events, i64),
    ),
> {
    let full = crate::common::problem::required(full, "full")
        .map_err(|p| p.hint("pass true to recompute everything, false for what changed"))
        .unwrap_or_else(|p| crate::pg::raise::raise(p));
    let done: Vec<_> = projects(project)
        .iter()
        .map(|p| {
            let r = self::project(p, full);
            (
                r.project,
                r.trend_points,
                r.breakdown_points,
                r.drilldowns,
                r.summaries,
                r.days,
                r.hours,
                r.events,
            )
        })
        .collect();
    TableIterator::new(done)
}
