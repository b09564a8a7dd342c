//! The SQL functions of daily snapshots. Each takes its arguments, runs the pure checks,
//! calls the engine and returns rows; the work is in `registry` (defining), `collect` and
//! `revise` (sealing and correcting) and `read` (the query API).

use pgrx::datum::{AnyNumeric, Date};
use pgrx::prelude::*;
use pgrx::JsonB;

use crate::common::calendar::check_closed;
use crate::common::problem::required;
use crate::jobs::run::RunType;
use crate::pg::datum::{numeric, pg_date, required_date};
use crate::pg::guc;
use crate::pg::raise::OrRaise;
use crate::snapshots::checks::{
    check_backfill, check_correction, check_fetch, check_reason, check_series_days, text_list,
};
use crate::snapshots::collect;
use crate::snapshots::definition::MetricArgs;
use crate::snapshots::kind::check_metric_type;
use crate::snapshots::read::{self, last_closed_day_in_zone};
use crate::snapshots::registry;
use crate::snapshots::revise;

/// Defines a metric: what to count, over which relation, by which time column.
#[allow(clippy::type_complexity)]
#[allow(clippy::too_many_arguments)]
#[pg_extern(name = "define_metric", security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn define_in_projects(
    category: Option<String>,
    kind: Option<String>,
    source_table: default!(Option<String>, "NULL"),
    value_column: default!(Option<String>, "NULL"),
    time_column: default!(Option<String>, "'created_at'"),
    filter: default!(Option<String>, "NULL"),
    numerator: default!(Option<String>, "NULL"),
    denominator: default!(Option<String>, "NULL"),
    source_schema: default!(Option<String>, "'public'"),
    display_name: default!(Option<String>, "NULL"),
    description: default!(Option<String>, "NULL"),
    unit: default!(Option<String>, "NULL"),
    format_pattern: default!(Option<String>, "NULL"),
    top_n: default!(Option<i32>, "5"),
    replace: default!(Option<bool>, "false"),
    percentile: default!(Option<f64>, "NULL"),
    project_column: default!(Option<String>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(metric_category, String),
        name!(metric_type, String),
        name!(kind, String),
        name!(source, Option<String>),
        name!(filter, Option<String>),
        name!(is_active, bool),
    ),
> {
    let args = MetricArgs {
        category: required(category, "category").or_raise(),
        kind: required(kind, "kind").or_raise(),
        source_schema,
        source_table,
        time_column,
        value_column,
        filter,
        numerator,
        denominator,
        display_name,
        description,
        unit,
        format_pattern,
        top_n,
        percentile,
        project_column,
    };
    let def = registry::define(&args, replace.unwrap_or(false)).or_raise();
    TableIterator::once((
        def.category().to_string(),
        def.kind().metric_type().to_string(),
        def.kind().as_str().to_string(),
        Some(def.describe_source()),
        def.filter().map(str::to_string),
        true,
    ))
}

/// `define_metric` as the install scripts before the percentile kind declare it (without
/// `percentile`), which they bind to this symbol: a database that has the new library but
/// has not run `ALTER EXTENSION metrics UPDATE` yet keeps calling it. No SQL of this version.
mod before_percentile {
    use super::*;

    #[allow(clippy::type_complexity)]
    #[allow(clippy::too_many_arguments)]
    #[pg_extern(security_definer, volatile, sql = false)]
    fn define_metric(
        category: Option<String>,
        kind: Option<String>,
        source_table: Option<String>,
        value_column: Option<String>,
        time_column: Option<String>,
        filter: Option<String>,
        numerator: Option<String>,
        denominator: Option<String>,
        source_schema: Option<String>,
        display_name: Option<String>,
        description: Option<String>,
        unit: Option<String>,
        format_pattern: Option<String>,
        top_n: Option<i32>,
        replace: Option<bool>,
    ) -> TableIterator<
        'static,
        (
            name!(metric_category, String),
            name!(metric_type, String),
            name!(kind, String),
            name!(source, Option<String>),
            name!(filter, Option<String>),
            name!(is_active, bool),
        ),
    > {
        define_in_projects(
            category,
            kind,
            source_table,
            value_column,
            time_column,
            filter,
            numerator,
            denominator,
            source_schema,
            display_name,
            description,
            unit,
            format_pattern,
            top_n,
            replace,
            None,
            None,
        )
    }
}

/// `define_metric` as the install scripts of 0.4.0 and 0.5.0 declare it (without
/// `project_column`), bound to this symbol (`define_wrapper`): kept for a database that has
/// the new library but has not run `ALTER EXTENSION metrics UPDATE` yet. No SQL of this
/// version.
mod before_projects {
    use super::*;

    #[allow(clippy::type_complexity)]
    #[allow(clippy::too_many_arguments)]
    #[pg_extern(security_definer, volatile, sql = false)]
    fn define(
        category: Option<String>,
        kind: Option<String>,
        source_table: Option<String>,
        value_column: Option<String>,
        time_column: Option<String>,
        filter: Option<String>,
        numerator: Option<String>,
        denominator: Option<String>,
        source_schema: Option<String>,
        display_name: Option<String>,
        description: Option<String>,
        unit: Option<String>,
        format_pattern: Option<String>,
        top_n: Option<i32>,
        replace: Option<bool>,
        percentile: Option<f64>,
    ) -> TableIterator<
        'static,
        (
            name!(metric_category, String),
            name!(metric_type, String),
            name!(kind, String),
            name!(source, Option<String>),
            name!(filter, Option<String>),
            name!(is_active, bool),
        ),
    > {
        define_in_projects(
            category,
            kind,
            source_table,
            value_column,
            time_column,
            filter,
            numerator,
            denominator,
            source_schema,
            display_name,
            description,
            unit,
            format_pattern,
            top_n,
            replace,
            percentile,
            None,
        )
    }
}

/// Stops collecting a metric; its sealed values stay. Returns false if it was already inactive.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn deactivate_metric(category: Option<String>) -> bool {
    let category = required(category, "category").or_raise();
    registry::deactivate(&category).or_raise()
}

/// Resumes collecting a metric, after checking that its source still fits.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn activate_metric(category: Option<String>) -> bool {
    let category = required(category, "category").or_raise();
    registry::activate(&category).or_raise()
}

/// Defines a ready-made set of metrics over the tables that exist in `source_schema`.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn install_preset(
    preset: Option<String>,
    source_schema: default!(Option<String>, "'public'"),
) -> TableIterator<
    'static,
    (
        name!(metric_category, String),
        name!(kind, String),
        name!(status, String),
    ),
> {
    let preset = required(preset, "preset").or_raise();
    let schema = required(source_schema, "source_schema").or_raise();
    let installed = registry::install_preset(&preset, &schema).or_raise();
    TableIterator::new(
        installed
            .into_iter()
            .map(|m| (m.category, m.kind, m.status)),
    )
}

/// Seals the values of every active metric for one day that has ended; without a day (NULL,
/// the default), catches up: each metric over the closed days after its last sealed day, at
/// most `metrics.catch_up_days` of them, up to `metrics.last_closed_day()`.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn collect_daily_metrics(
    target_date: default!(Option<Date>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(metrics_collected, i32),
        name!(execution_time_ms, i32),
        name!(status, String),
    ),
> {
    let summary = match target_date {
        None => collect::catch_up(),
        Some(_) => {
            let target = required_date(target_date, "target_date");
            check_closed(target, last_closed_day_in_zone(), &guc::timezone()).or_raise();
            collect::run(RunType::Collect, target, target)
        }
    };
    TableIterator::once((
        summary.recorded as i32,
        summary.elapsed_ms,
        summary.status.as_str().to_string(),
    ))
}

/// Seals every active metric for every day of a range, skipping what is already sealed.
#[pg_extern(security_definer, volatile, requires = [last_closed_day])]
#[search_path(pg_catalog, pg_temp)]
fn backfill_daily_metrics(
    start_date: Option<Date>,
    end_date: default!(Option<Date>, "metrics.last_closed_day()"),
) -> TableIterator<
    'static,
    (
        name!(dates_processed, i32),
        name!(total_metrics, i32),
        name!(execution_time_ms, i32),
    ),
> {
    let start = required_date(start_date, "start_date");
    let end = required_date(end_date, "end_date");
    check_backfill(start, end, last_closed_day_in_zone(), &guc::timezone()).or_raise();
    let summary = collect::run(RunType::Backfill, start, end);
    TableIterator::once((
        summary.days as i32,
        summary.recorded as i32,
        summary.elapsed_ms,
    ))
}

/// Whether the procedure calling it may COMMIT: it was CALLed on its own, not inside a
/// transaction block, a function or a subtransaction (PostgreSQL's own rule, asked of the
/// caller's SPI connection). `backfill_daily_metrics_chunked` checks it before any work.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn _can_commit() -> bool {
    // SAFETY: reads the state of the current SPI connection, if any.
    unsafe { pgrx::pg_sys::SPI_inside_nonatomic_context() }
}

/// Recomputes sealed values of one day from the current source data, keeping the previous
/// values, who changed them and why in `metrics.metric_revisions`.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn recollect(
    target_date: Option<Date>,
    categories: Option<Vec<Option<String>>>,
    reason: Option<String>,
) -> TableIterator<
    'static,
    (
        name!(metric_category, String),
        name!(old_value, Option<AnyNumeric>),
        name!(new_value, AnyNumeric),
        name!(changed, bool),
    ),
> {
    let target = required_date(target_date, "target_date");
    // NULL elements are dropped, as they always were: a correction names what it corrects.
    let categories: Vec<String> = required(categories, "categories")
        .or_raise()
        .into_iter()
        .flatten()
        .collect();
    let reason = required(reason, "reason").or_raise();
    let correction = check_correction(categories, &reason).or_raise();
    check_closed(target, last_closed_day_in_zone(), &guc::timezone()).or_raise();
    let revisions = revise::recollect(target, &correction).or_raise();
    TableIterator::new(
        revisions
            .into_iter()
            .map(|r| (r.category, r.old_value, r.new_value, r.changed)),
    )
}

/// Recomputes every sealed value of a date range that an older version of its definition
/// computed (after `define_metric(..., replace => true)` changed what it computes), keeping
/// the previous values in `metrics.metric_revisions`. Values of the current version are left
/// alone.
#[allow(clippy::type_complexity)]
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn recollect_outdated(
    start_date: Option<Date>,
    end_date: Option<Date>,
    reason: Option<String>,
    categories: default!(Option<Vec<Option<String>>>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(metric_date, Date),
        name!(metric_category, String),
        name!(old_value, Option<AnyNumeric>),
        name!(new_value, AnyNumeric),
        name!(changed, bool),
    ),
> {
    let start = required_date(start_date, "start_date");
    let end = required_date(end_date, "end_date");
    let reason = check_reason(&required(reason, "reason").or_raise()).or_raise();
    let categories = text_list(categories, "categories").or_raise();
    check_backfill(start, end, last_closed_day_in_zone(), &guc::timezone()).or_raise();
    let revisions =
        revise::recollect_outdated(start, end, categories.as_deref(), &reason).or_raise();
    TableIterator::new(revisions.into_iter().map(|r| {
        (
            pg_date(r.date),
            r.category,
            r.old_value,
            r.new_value,
            r.changed,
        )
    }))
}

/// The last day that has ended in the time zone of `metrics.timezone`: the default day to collect.
#[pg_extern(stable)]
#[search_path(pg_catalog, pg_temp)]
fn last_closed_day() -> Date {
    pg_date(last_closed_day_in_zone())
}

/// Sealed metrics over a date range, per day, week or month, each aggregated by its meaning.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, name = "fetch_metrics")]
#[search_path(pg_catalog, pg_temp)]
fn fetch_project_metrics(
    start_date: Option<Date>,
    end_date: Option<Date>,
    categories: default!(Option<Vec<Option<String>>>, "NULL"),
    types: default!(Option<Vec<Option<String>>>, "NULL"),
    aggregation: default!(Option<String>, "'daily'"),
    project: default!(Option<String>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(period_start, Date),
        name!(period_end, Date),
        name!(metric_category, String),
        name!(metric_type, String),
        name!(value, Option<AnyNumeric>),
        name!(metadata, JsonB),
        name!(days_in_period, i32),
        name!(days_recorded, i32),
        name!(missing_dates, Vec<Date>),
    ),
> {
    let start = required_date(start_date, "start_date");
    let end = required_date(end_date, "end_date");
    let aggregation = required(aggregation, "aggregation").or_raise();
    let grain = check_fetch(start, end, &aggregation, guc::max_query_days()).or_raise();
    let categories = text_list(categories, "categories").or_raise();
    let types = text_list(types, "types").or_raise();
    if let Some(c) = &categories {
        read::check_defined(c).or_raise();
    }
    for t in types.iter().flatten() {
        check_metric_type(t).or_raise();
    }
    let project = read::resolve_project(project);
    if let (Some(_), Some(c)) = (project, &categories) {
        read::check_scoped(c).or_raise();
    }
    let rows = read::fetch(start, end, grain, categories, types, project).or_raise();
    TableIterator::new(rows.into_iter().map(|r| {
        (
            pg_date(r.period.start),
            pg_date(r.period.end),
            r.category,
            r.metric_type,
            r.value.as_deref().map(numeric),
            JsonB(r.metadata),
            r.period.days() as i32,
            r.days_recorded as i32,
            r.missing.into_iter().map(pg_date).collect(),
        )
    }))
}

/// A per-day series of the last `days` closed days, for charts; days without a snapshot
/// have a NULL value. By default, every active "created" metric (posts and comments per day).
#[pg_extern(stable, name = "activity_series")]
#[search_path(pg_catalog, pg_temp)]
fn project_activity_series(
    days: default!(Option<i32>, "30"),
    categories: default!(Option<Vec<Option<String>>>, "NULL"),
    project: default!(Option<String>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(metric_date, Date),
        name!(metric_category, String),
        name!(value, Option<AnyNumeric>),
    ),
> {
    let days = required(days, "days").or_raise() as i64;
    let days = check_series_days(days, guc::max_query_days()).or_raise();
    let categories = text_list(categories, "categories").or_raise();
    let project = read::resolve_project(project);
    TableIterator::new(read::series(days, categories, project).or_raise())
}

/// The last `days` closed days of one metric as a line of text, one character per day
/// (`▁▂▃▄▅▆▇█` over the series' own range, `·` for a day without a sealed value): a chart
/// in psql. The same days and values as `activity_series(days, ARRAY[metric], project)`.
#[pg_extern(stable)]
#[search_path(pg_catalog, pg_temp)]
fn sparkline(
    metric: Option<String>,
    days: default!(Option<i32>, "30"),
    project: default!(Option<String>, "NULL"),
) -> String {
    let metric = required(metric, "metric").or_raise();
    let days = required(days, "days").or_raise() as i64;
    let days = check_series_days(days, guc::max_query_days()).or_raise();
    let project = read::resolve_project(project);
    let values: Vec<Option<f64>> = read::series(days, Some(vec![metric]), project)
        .or_raise()
        .into_iter()
        .map(|(_, _, value)| value.and_then(|v| v.to_string().parse().ok()))
        .collect();
    crate::snapshots::sparkline::render(&values)
}

/// `fetch_metrics` and `activity_series` as the install scripts before 0.6.0 declare them
/// (without `project`), bound to these symbols: kept for a database that has the new
/// library but has not run `ALTER EXTENSION metrics UPDATE` yet. No SQL of this version.
mod reads_before_projects {
    use super::*;

    #[allow(clippy::type_complexity)]
    #[pg_extern(stable, sql = false)]
    fn fetch_metrics(
        start_date: Option<Date>,
        end_date: Option<Date>,
        categories: Option<Vec<Option<String>>>,
        types: Option<Vec<Option<String>>>,
        aggregation: Option<String>,
    ) -> TableIterator<
        'static,
        (
            name!(period_start, Date),
            name!(period_end, Date),
            name!(metric_category, String),
            name!(metric_type, String),
            name!(value, Option<AnyNumeric>),
            name!(metadata, JsonB),
            name!(days_in_period, i32),
            name!(days_recorded, i32),
            name!(missing_dates, Vec<Date>),
        ),
    > {
        fetch_project_metrics(start_date, end_date, categories, types, aggregation, None)
    }

    #[pg_extern(stable, sql = false)]
    fn activity_series(
        days: Option<i32>,
        categories: Option<Vec<Option<String>>>,
    ) -> TableIterator<
        'static,
        (
            name!(metric_date, Date),
            name!(metric_category, String),
            name!(value, Option<AnyNumeric>),
        ),
    > {
        project_activity_series(days, categories, None)
    }
}
