//! The read side: what a dashboard calls, through SQL or PostgREST RPC. Every function here
//! serves a STABLE, SECURITY INVOKER function, reads only `daily_metrics` and
//! `metric_definitions` (which the read level may read), in read-only mode, after its
//! arguments were checked (`snapshots::checks`).

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use pgrx::datum::{AnyNumeric, Date, Uuid};
use pgrx::pg_sys;

use crate::common::calendar::{self, periods, Grain};
use crate::common::problem::{Outcome, Problem, SqlState};
use crate::pg::datum::{numeric, pg_date, stored_date};
use crate::pg::guc;
use crate::pg::raise::OrRaise;
use crate::pg::spi::{not_null, stable as spi};
use crate::snapshots::checks::check_known;
use crate::snapshots::definition::stored_kind;
use crate::snapshots::layout::layout;
use crate::snapshots::rollup::{self, Day, Series};

thread_local! {
    /// The last closed day of a transaction (its start is `now()`) in a zone: the seal asks
    /// for every row a backfill writes, which would otherwise each be a query.
    static LAST_CLOSED: std::cell::RefCell<Option<(pg_sys::TimestampTz, String, NaiveDate)>> =
        const { std::cell::RefCell::new(None) };
}

/// The last day that has ended in `metrics.timezone`, asked once per transaction and zone.
pub fn last_closed_day_in_zone() -> NaiveDate {
    let started = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    let zone = guc::timezone();
    let cached = LAST_CLOSED.with_borrow(|c| {
        c.as_ref()
            .filter(|(t, z, _)| *t == started && *z == zone)
            .map(|(_, _, d)| *d)
    });
    if let Some(day) = cached {
        return day;
    }
    let today = spi::value::<Date>(
        "SELECT (pg_catalog.now() AT TIME ZONE $1)::date",
        &[zone.as_str().into()],
    )
    .map(stored_date)
    .expect("now() is a date");
    let day = calendar::last_closed_day(today);
    LAST_CLOSED.set(Some((started, zone, day)));
    day
}

/// Refuses categories that are not defined (a typo must not read as "no data").
pub fn check_defined(categories: &[String]) -> Outcome<()> {
    let known: Vec<String> = spi::rows(
        "SELECT metric_category FROM metrics.metric_definitions WHERE metric_category = ANY($1)",
        &[categories.to_vec().into()],
        |row| not_null(row, 1),
    );
    check_known(categories, &known)
}

/// What `fetch_metrics` returns for one metric and period.
pub type Row = rollup::Row;

/// The metrics a fetch reports on: those named, or else the active ones and any with values
/// in the range; only of `types` when given.
fn series_to_fetch(
    categories: &Option<Vec<String>>,
    types: &Option<Vec<String>>,
    start: NaiveDate,
    end: NaiveDate,
    project: Option<Uuid>,
) -> Vec<Series> {
    // Tables without the percentile column hold no percentile metric.
    let percentile = if layout().has_percentiles() {
        "d.percentile"
    } else {
        "NULL::float8"
    };
    let (in_scope, scoped) = scope_conditions("m", 5, project);
    spi::rows(
        &format!(
            "SELECT d.metric_category, d.metric_type, d.kind, coalesce(d.top_n, 5), {percentile}
         FROM metrics.metric_definitions d
         WHERE ($1::text[] IS NULL OR d.metric_category = ANY($1))
           AND ($2::text[] IS NULL OR d.metric_type = ANY($2))
           AND ($1::text[] IS NOT NULL OR d.is_active OR EXISTS (
                 SELECT 1 FROM metrics.daily_metrics m
                 WHERE m.metric_category = d.metric_category AND m.metric_date BETWEEN $3 AND $4{in_scope}))
           {scoped}
         ORDER BY d.metric_category"
        ),
        &[
            categories.clone().into(),
            types.clone().into(),
            pg_date(start).into(),
            pg_date(end).into(),
            project.into(),
        ],
        |row| {
            let category: String = not_null(row, 1)?;
            let kind = stored_kind(&category, &not_null::<String>(row, 3)?).or_raise();
            Ok(Series {
                category,
                metric_type: not_null(row, 2)?,
                kind,
                top_n: not_null::<i32>(row, 4)?.max(1) as usize,
                percentile: row.get::<f64>(5)?,
                days: Vec::new(),
            })
        },
    )
}

/// The sealed days of `wanted` in `[start, end]`, per category, in date order.
fn sealed_days(
    wanted: Vec<String>,
    start: NaiveDate,
    end: NaiveDate,
    project: Option<Uuid>,
) -> HashMap<String, Vec<Day>> {
    let mut values: HashMap<String, Vec<Day>> = HashMap::new();
    // Tables before 0.3.0 have neither column.
    let provenance = if layout().has_provenance() {
        "distinct_sketch, definition_version"
    } else {
        "NULL::bytea, NULL::int4"
    };
    let (in_scope, _) = scope_conditions("daily_metrics", 4, project);
    for (category, day) in spi::rows(
        &format!(
            "SELECT metric_category, metric_date, value::text, metadata::text, {provenance}
             FROM metrics.daily_metrics
             WHERE metric_category = ANY($1) AND metric_date BETWEEN $2 AND $3{in_scope}
             ORDER BY metric_category, metric_date"
        ),
        &[
            wanted.into(),
            pg_date(start).into(),
            pg_date(end).into(),
            project.into(),
        ],
        |row| {
            let category: String = not_null(row, 1)?;
            let date = stored_date(not_null(row, 2)?);
            let metadata: String = not_null(row, 4)?;
            // jsonb prints valid JSON; what serde_json refuses is nested past its limit (128).
            let metadata = serde_json::from_str(&metadata)
                .map_err(|e| {
                    Problem::corrupt_row(
                        "daily_metrics",
                        &format!("({date}, {category})"),
                        format!("metadata cannot be read: {e}"),
                        &format!("recompute it with metrics.recollect('{date}', ARRAY['{category}'], 'repair')"),
                    )
                })
                .or_raise();
            Ok((
                category,
                Day {
                    date,
                    value: not_null(row, 3)?,
                    metadata,
                    sketch: row.get::<Vec<u8>>(5)?,
                    version: row.get::<i32>(6)?,
                },
            ))
        },
    ) {
        values.entry(category).or_default().push(day);
    }
    values
}

/// Sealed metrics of `[start, end]` per period of `grain`, each rolled up by its meaning, in
/// period then category order. Days that have not ended are not reported (they are not
/// missing, they cannot be collected yet).
///
/// `project`: one project's values (its per-project metrics); None: the whole database's.
pub fn fetch(
    start: NaiveDate,
    end: NaiveDate,
    grain: Grain,
    categories: Option<Vec<String>>,
    types: Option<Vec<String>>,
    project: Option<Uuid>,
) -> Outcome<Vec<Row>> {
    let end = end.min(last_closed_day_in_zone());
    if start > end {
        return Ok(Vec::new());
    }
    let mut series = series_to_fetch(&categories, &types, start, end, project);
    let mut days = sealed_days(
        series.iter().map(|s| s.category.clone()).collect(),
        start,
        end,
        project,
    );
    let periods = periods(start, end, grain);
    let mut rows: Vec<Row> = Vec::new();
    for s in &mut series {
        s.days = days.remove(&s.category).unwrap_or_default();
        rows.extend(rollup::roll_up(s, &periods)?);
    }
    rows.sort_by(|a, b| {
        a.period
            .start
            .cmp(&b.period.start)
            .then_with(|| a.category.cmp(&b.category))
    });
    Ok(rows)
}

/// One point of `activity_series`: a day, a category, its sealed value (if any).
pub type Point = (Date, String, Option<AnyNumeric>);

/// The last `days` closed days of `categories` (default: the active `created` metrics, the
/// per-project ones for a project), one point per day and category, NULL where nothing is
/// sealed; a project's values, or the whole database's.
pub fn series(
    days: i64,
    categories: Option<Vec<String>>,
    project: Option<Uuid>,
) -> Outcome<Vec<Point>> {
    let (in_scope, scoped) = scope_conditions("daily_metrics", 4, project);
    let categories = match categories {
        Some(c) => {
            check_defined(&c)?;
            if project.is_some() {
                check_scoped(&c)?;
            }
            c
        }
        None => spi::rows(
            &format!("SELECT d.metric_category FROM metrics.metric_definitions AS d WHERE d.is_active AND d.kind = 'created' {scoped} ORDER BY 1"),
            &[],
            |row| not_null(row, 1),
        ),
    };
    let end = last_closed_day_in_zone();
    let start = end - Days::new(days as u64 - 1);
    let recorded: HashMap<(NaiveDate, String), String> = spi::rows(
        &format!(
            "SELECT metric_date, metric_category, value::text FROM metrics.daily_metrics
         WHERE metric_category = ANY($1) AND metric_date BETWEEN $2 AND $3{in_scope}"
        ),
        &[
            categories.clone().into(),
            pg_date(start).into(),
            pg_date(end).into(),
            project.into(),
        ],
        |row| {
            Ok((
                (stored_date(not_null(row, 1)?), not_null::<String>(row, 2)?),
                not_null::<String>(row, 3)?,
            ))
        },
    )
    .into_iter()
    .collect();
    let mut out = Vec::new();
    for day in calendar::days(start, end) {
        for category in &categories {
            let value = recorded.get(&(day, category.clone())).map(|v| numeric(v));
            out.push((pg_date(day), category.clone(), value));
        }
    }
    Ok(out)
}

/// The conditions of a read in one scope: on the sealed rows of `table` (the project's,
/// parameter `param`,
/// or the whole database's), and on the definitions `d` (only per-project metrics have a
/// project's values). Tables before 0.6.0 hold only the whole database's.
fn scope_conditions(table: &str, param: usize, project: Option<Uuid>) -> (String, &'static str) {
    match (layout().has_projects(), project) {
        (false, _) => (format!(" AND ${param}::uuid IS NULL"), ""),
        (true, None) => (
            format!(" AND {table}.project_id IS NULL AND ${param}::uuid IS NULL"),
            "",
        ),
        (true, Some(_)) => (
            format!(" AND {table}.project_id = ${param}::uuid"),
            "AND d.project_column IS NOT NULL",
        ),
    }
}

/// The id of a project the caller names (slug or id), with the caller's rights: an unknown
/// project and one the caller may not read are the same error (42704, `metrics.project_id`).
pub fn resolve_project(project: Option<String>) -> Option<Uuid> {
    let project = project?;
    spi::value::<Uuid>("SELECT metrics.project_id($1)", &[project.as_str().into()])
}

/// With a project, only per-project metrics have values: naming another is an error.
pub fn check_scoped(categories: &[String]) -> Outcome<()> {
    let unscoped: Vec<String> = spi::rows(
        "SELECT metric_category FROM metrics.metric_definitions
         WHERE metric_category = ANY($1) AND project_column IS NULL ORDER BY 1",
        &[categories.to_vec().into()],
        |row| not_null(row, 1),
    );
    let Some(first) = unscoped.first() else {
        return Ok(());
    };
    Err(Problem::new(
        SqlState::InvalidParameterValue,
        format!("metric \"{first}\" is not a per-project metric: it has no values per project"),
    )
    .detail(format!("Metrics of the whole database only: {}.", unscoped.join(", ")))
    .hint("omit project to read its whole-database values, or define it with project_column => '<column>' (metrics.define_metric(..., replace => true))"))
}
