//! The read side: what a dashboard calls, through SQL or PostgREST RPC. Every function here
//! is STABLE and SECURITY INVOKER, reads only `daily_metrics` and `metric_definitions` (which
//! the read level may read), and validates its arguments before touching them.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use pgrx::datum::{AnyNumeric, Date};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;

use crate::common::calendar::{self, check_order, check_span, periods, Grain};
use crate::pg::spi::{self, naive_date, pg_date};
use crate::snapshots::definition::{check_metric_type, Kind};
use crate::pg::raise::{raise, OrRaise};
use crate::common::problem::{required, Problem, SqlState};
use crate::snapshots::rollup::{self, Day, Series};
use crate::pg::guc;

/// The last day that has ended in `metrics.timezone`.
pub fn last_closed_day_in_zone() -> NaiveDate {
    let today = spi::read_value::<Date>(
        "SELECT (pg_catalog.now() AT TIME ZONE $1)::date",
        &[guc::timezone().into()],
    )
    .and_then(naive_date)
    .expect("now() is a finite date");
    calendar::last_closed_day(today)
}

/// The last day that has ended in the time zone of `metrics.timezone`: the default day to collect.
#[pg_extern(stable)]
#[search_path(pg_catalog, pg_temp)]
fn last_closed_day() -> Date {
    pg_date(last_closed_day_in_zone())
}

fn numeric(text: &str) -> AnyNumeric {
    AnyNumeric::try_from(text).unwrap_or_else(|_| panic!("metrics: {text:?} is not a numeric"))
}

/// Non-NULL, de-duplicated array elements; an empty array means "no filter".
fn text_list(values: Option<Vec<Option<String>>>, name: &str) -> Option<Vec<String>> {
    let values = values?;
    if values.iter().any(Option::is_none) {
        raise(
            Problem::new(
                SqlState::NullValueNotAllowed,
                format!("{name} must not contain NULL"),
            )
            .hint(format!("pass {name} as an array of names, or NULL for all")),
        );
    }
    let mut list: Vec<String> = values.into_iter().flatten().collect();
    list.sort();
    list.dedup();
    (!list.is_empty()).then_some(list)
}

/// Refuses categories that are not defined (a typo must not read as "no data").
fn check_known_categories(categories: &[String]) {
    let known: Vec<String> = spi::read(
        "SELECT metric_category FROM metrics.metric_definitions WHERE metric_category = ANY($1)",
        &[categories.to_vec().into()],
        |row| Ok(row.get::<String>(1)?.unwrap_or_default()),
    );
    if let Some(unknown) = categories.iter().find(|c| !known.contains(c)) {
        raise(Problem::new(SqlState::InvalidParameterValue, format!("unknown metric category \"{unknown}\""))
            .hint("list the defined metrics with: SELECT metric_category FROM metrics.metric_definitions"));
    }
}

struct Meta {
    category: String,
    metric_type: String,
    kind: Kind,
    top_n: usize,
}

/// Sealed metrics over a date range, per day, week or month, each aggregated by its meaning.
#[allow(clippy::type_complexity)]
#[pg_extern(stable)]
#[search_path(pg_catalog, pg_temp)]
fn fetch_metrics(
    start_date: Option<Date>,
    end_date: Option<Date>,
    categories: default!(Option<Vec<Option<String>>>, "NULL"),
    types: default!(Option<Vec<Option<String>>>, "NULL"),
    aggregation: default!(Option<String>, "'daily'"),
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
    let start = spi::required_date(start_date, "start_date");
    let end = spi::required_date(end_date, "end_date");
    let grain = Grain::parse(&required(aggregation, "aggregation").or_raise()).or_raise();
    check_order(start, end, "start_date", "end_date").or_raise();
    check_span(start, end, guc::max_query_days()).or_raise();
    let categories = text_list(categories, "categories");
    let types = text_list(types, "types");
    if let Some(c) = &categories {
        check_known_categories(c);
    }
    for t in types.iter().flatten() {
        check_metric_type(t).or_raise();
    }
    // Days that have not ended are not missing, they are not collectable yet.
    let end = end.min(last_closed_day_in_zone());
    if start > end {
        return TableIterator::new(Vec::new());
    }

    let metas = spi::read(
        "SELECT d.metric_category, d.metric_type, d.kind, coalesce(d.top_n, 5)
         FROM metrics.metric_definitions d
         WHERE ($1::text[] IS NULL OR d.metric_category = ANY($1))
           AND ($2::text[] IS NULL OR d.metric_type = ANY($2))
           AND ($1::text[] IS NOT NULL OR d.is_active OR EXISTS (
                 SELECT 1 FROM metrics.daily_metrics m
                 WHERE m.metric_category = d.metric_category AND m.metric_date BETWEEN $3 AND $4))
         ORDER BY d.metric_category",
        &[
            categories.clone().into(),
            types.into(),
            pg_date(start).into(),
            pg_date(end).into(),
        ],
        |row| {
            Ok(Meta {
                category: row.get::<String>(1)?.unwrap_or_default(),
                metric_type: row.get::<String>(2)?.unwrap_or_default(),
                kind: Kind::parse(&row.get::<String>(3)?.unwrap_or_default())
                    .unwrap_or(Kind::Created),
                top_n: row.get::<i32>(4)?.unwrap_or(5).max(1) as usize,
            })
        },
    );
    let wanted: Vec<String> = metas.iter().map(|m| m.category.clone()).collect();
    let mut values: HashMap<String, Vec<Day>> = HashMap::new();
    for (category, day) in spi::read(
        "SELECT metric_category, metric_date, value::text, metadata::text
         FROM metrics.daily_metrics
         WHERE metric_category = ANY($1) AND metric_date BETWEEN $2 AND $3
         ORDER BY metric_category, metric_date",
        &[wanted.into(), pg_date(start).into(), pg_date(end).into()],
        |row| {
            let metadata: String = row.get(4)?.unwrap_or_else(|| "{}".to_string());
            Ok((
                row.get::<String>(1)?.unwrap_or_default(),
                Day {
                    date: row
                        .get::<Date>(2)?
                        .and_then(naive_date)
                        .expect("finite metric_date"),
                    value: row.get::<String>(3)?.unwrap_or_default(),
                    metadata: serde_json::from_str(&metadata).unwrap_or(Value::Null),
                },
            ))
        },
    ) {
        values.entry(category).or_default().push(day);
    }

    let periods = periods(start, end, grain);
    let mut rows: Vec<rollup::Row> = Vec::new();
    for meta in metas {
        let series = Series {
            days: values.remove(&meta.category).unwrap_or_default(),
            category: meta.category,
            metric_type: meta.metric_type,
            kind: meta.kind,
            top_n: meta.top_n,
        };
        rows.extend(rollup::roll_up(&series, &periods));
    }
    rows.sort_by(|a, b| {
        a.period
            .start
            .cmp(&b.period.start)
            .then_with(|| a.category.cmp(&b.category))
    });
    TableIterator::new(rows.into_iter().map(|r| {
        (
            pg_date(r.period.start),
            pg_date(r.period.end),
            r.category,
            r.metric_type,
            r.value.as_deref().map(numeric),
            JsonB(r.metadata),
            r.period.len() as i32,
            r.days_recorded as i32,
            r.missing.into_iter().map(pg_date).collect(),
        )
    }))
}

/// A per-day series of the last `days` closed days, for charts; days without a snapshot
/// have a NULL value. By default, every active "created" metric (posts and comments per day).
#[pg_extern(stable)]
#[search_path(pg_catalog, pg_temp)]
fn activity_series(
    days: default!(Option<i32>, "30"),
    categories: default!(Option<Vec<Option<String>>>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(metric_date, Date),
        name!(metric_category, String),
        name!(value, Option<AnyNumeric>),
    ),
> {
    let days = required(days, "days").or_raise() as i64;
    let max = guc::max_query_days();
    if !(1..=max).contains(&days) {
        raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                format!("days must be between 1 and {max}, not {days}"),
            )
            .hint("the upper limit is the setting metrics.max_query_days"),
        );
    }
    let categories = match text_list(categories, "categories") {
        Some(c) => {
            check_known_categories(&c);
            c
        }
        None => spi::read(
            "SELECT metric_category FROM metrics.metric_definitions WHERE is_active AND kind = 'created' ORDER BY 1",
            &[],
            |row| Ok(row.get::<String>(1)?.unwrap_or_default()),
        ),
    };
    let end = last_closed_day_in_zone();
    let start = end - Days::new(days as u64 - 1);
    let recorded: HashMap<(NaiveDate, String), String> = spi::read(
        "SELECT metric_date, metric_category, value::text FROM metrics.daily_metrics
         WHERE metric_category = ANY($1) AND metric_date BETWEEN $2 AND $3",
        &[
            categories.clone().into(),
            pg_date(start).into(),
            pg_date(end).into(),
        ],
        |row| {
            Ok((
                (
                    row.get::<Date>(1)?.and_then(naive_date).expect("finite"),
                    row.get::<String>(2)?.unwrap_or_default(),
                ),
                row.get::<String>(3)?.unwrap_or_default(),
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
    TableIterator::new(out)
}
