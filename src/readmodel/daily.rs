//! Daily-metric points: each sealed value of the project as a day point, and its weeks and
//! months rolled up by `snapshots::rollup` exactly as `fetch_metrics(..., 'weekly' /
//! 'monthly')` rolls them (the same `Series` of sealed days, the same periods); breakdown
//! metrics also as breakdown points per group and day, and their keys as drill-downs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use pgrx::datum::Date;
use serde_json::{json, Value};

use crate::common::calendar::Period;
use crate::common::problem::Problem;
use crate::pg::datum::{pg_date, stored_date};
use crate::pg::guc;
use crate::pg::raise::OrRaise;
use crate::pg::spi::{not_null, volatile as spi};
use crate::readmodel::buckets::{self, Bucket, TimeGrain};
use crate::readmodel::payload;
use crate::readmodel::project::Project;
use crate::readmodel::state::Mark;
use crate::readmodel::write::{self, At, Dimensions, Drilldown, Point};
use crate::snapshots::definition::stored_kind;
use crate::snapshots::kind::Kind;
use crate::snapshots::rollup::{self, Day, Series};

/// A metric of the project, with what the summary shows of its definition.
pub struct Metric {
    pub series: Series,
    pub display_name: String,
    pub unit: Option<String>,
    /// Breakdowns: the column whose values are the groups.
    pub value_column: Option<String>,
}

/// The project's days with values sealed or revised at or after `since`.
fn new_days(p: &Project, since: pgrx::datum::TimestampWithTimeZone) -> Vec<NaiveDate> {
    spi::rows(
        "SELECT m.metric_date FROM metrics.daily_metrics AS m
         WHERE m.project_id IS NOT DISTINCT FROM $1 AND (m.collection_timestamp >= $2 OR m.created_at >= $2)
         UNION
         SELECT r.metric_date FROM metrics.metric_revisions AS r
         WHERE r.project_id IS NOT DISTINCT FROM $1 AND r.revised_at >= $2",
        &[p.scope(), since.into()],
        |r| Ok(stored_date(not_null::<Date>(r, 1)?)),
    )
}

/// Every day the project has values of.
fn all_days(p: &Project) -> Vec<NaiveDate> {
    spi::rows(
        "SELECT DISTINCT metric_date FROM metrics.daily_metrics WHERE project_id IS NOT DISTINCT FROM $1",
        &[p.scope()],
        |r| Ok(stored_date(not_null::<Date>(r, 1)?)),
    )
}

/// The project's metrics with values in `span`, each with its sealed days there.
pub fn metrics(p: &Project, span: Period) -> Vec<Metric> {
    let range = [
        p.scope(),
        pg_date(span.start).into(),
        pg_date(span.end).into(),
    ];
    let mut metrics: Vec<Metric> = spi::rows(
        "SELECT d.metric_category, d.metric_type, d.kind, coalesce(d.top_n, 5), d.percentile,
                d.display_name, d.unit, d.value_column
         FROM metrics.metric_definitions AS d
         WHERE EXISTS (SELECT FROM metrics.daily_metrics AS m
                       WHERE m.metric_category = d.metric_category AND m.project_id IS NOT DISTINCT FROM $1
                         AND m.metric_date BETWEEN $2 AND $3)
         ORDER BY d.metric_category",
        &range,
        |r| {
            let category: String = not_null(r, 1)?;
            let kind = stored_kind(&category, &not_null::<String>(r, 3)?).or_raise();
            Ok(Metric {
                series: Series {
                    category,
                    metric_type: not_null(r, 2)?,
                    kind,
                    top_n: not_null::<i32>(r, 4)?.max(1) as usize,
                    percentile: r.get::<f64>(5)?,
                    days: Vec::new(),
                },
                display_name: not_null(r, 6)?,
                unit: r.get(7)?,
                value_column: r.get(8)?,
            })
        },
    );
    let mut days = sealed_days(p, span);
    for m in &mut metrics {
        m.series.days = days.remove(&m.series.category).unwrap_or_default();
    }
    metrics
}

/// The project's sealed days in `span`, per category, in date order.
fn sealed_days(p: &Project, span: Period) -> BTreeMap<String, Vec<Day>> {
    let mut out: BTreeMap<String, Vec<Day>> = BTreeMap::new();
    let rows = spi::rows(
        "SELECT metric_category, metric_date, value::text, metadata::text, distinct_sketch, definition_version
         FROM metrics.daily_metrics
         WHERE project_id IS NOT DISTINCT FROM $1 AND metric_date BETWEEN $2 AND $3
         ORDER BY metric_category, metric_date",
        &[p.scope(), pg_date(span.start).into(), pg_date(span.end).into()],
        |r| {
            let category: String = not_null(r, 1)?;
            let date = stored_date(not_null(r, 2)?);
            let metadata = serde_json::from_str(&not_null::<String>(r, 4)?)
                .map_err(|e| {
                    Problem::corrupt_row(
                        "daily_metrics",
                        &format!("({date}, {category})"),
                        format!("metadata cannot be read: {e}"),
                        &format!("recompute it with metrics.recollect('{date}', ARRAY['{category}'], 'repair')"),
                    )
                })
                .or_raise();
            let day = Day {
                date,
                value: not_null(r, 3)?,
                metadata,
                sketch: r.get::<Vec<u8>>(5)?,
                version: r.get::<i32>(6)?,
            };
            Ok((category, day))
        },
    );
    for (category, day) in rows {
        out.entry(category).or_default().push(day);
    }
    out
}

/// What the daily part of a run did.
#[derive(Debug, Default)]
pub struct Done {
    pub days: i64,
    pub trend: i64,
    pub breakdown: i64,
}

/// Recomputes the buckets holding the days changed since `mark` (every day when `None`),
/// up to `cut`.
pub fn refresh(p: &Project, mark: Option<Mark>, cut: NaiveDate) -> Done {
    let changed = match mark {
        Some(m) => buckets::changed_days(new_days(p, m.watermark), m.cut_day, cut),
        None => buckets::changed_days(all_days(p), None, cut),
    };
    let grains = [TimeGrain::Day, TimeGrain::Week, TimeGrain::Month];
    let affected = buckets::affected(&changed, &grains, cut);
    let Some(span) = buckets::span(&affected) else {
        return Done::default();
    };
    let metrics = metrics(p, span);
    let mut points = Vec::new();
    for m in &metrics {
        points.extend(trend_points(&m.series, &affected).or_raise());
        points.extend(breakdown_points(m, &changed));
    }
    let (breakdown, trend): (Vec<Point>, Vec<Point>) = points
        .into_iter()
        .partition(|p| matches!(p.dimensions, Dimensions::Breakdown(..)));
    Done {
        days: changed.len() as i64,
        trend: write::points(p.id, &guc::timezone(), &trend),
        breakdown: drop_stale_groups(p, &metrics, &changed, &breakdown)
            + write::points(p.id, &guc::timezone(), &breakdown),
    }
}

/// The trend points of one metric in the affected buckets (none where nothing is sealed).
fn trend_points(s: &Series, affected: &[Bucket]) -> crate::common::problem::Outcome<Vec<Point>> {
    let mut out = Vec::new();
    for b in affected {
        let row = rollup::roll_up(s, std::slice::from_ref(&b.period))?.remove(0);
        if row.days_recorded == 0 {
            continue;
        }
        out.push(Point {
            metric_key: s.category.clone(),
            grain: b.grain,
            at: At::Day(b.period.start),
            dimensions: Dimensions::Trend(json!({})),
            value: row.value.as_deref().and_then(|v| v.parse::<f64>().ok()),
            json: payload::daily_point(&row, b.complete),
        });
    }
    Ok(out)
}

/// A breakdown metric's groups of each changed day, one point per group.
fn breakdown_points(m: &Metric, changed: &BTreeSet<NaiveDate>) -> Vec<Point> {
    let (Kind::Breakdown, Some(column)) = (&m.series.kind, &m.value_column) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for day in m.series.days.iter().filter(|d| changed.contains(&d.date)) {
        let groups = day.metadata.get("breakdown").and_then(Value::as_object);
        for (key, count) in groups.into_iter().flatten() {
            out.push(Point {
                metric_key: m.series.category.clone(),
                grain: TimeGrain::Day,
                at: At::Day(day.date),
                dimensions: Dimensions::Breakdown(column.clone(), key.clone()),
                value: count.as_f64(),
                json: json!({"count": count, "complete": true}),
            });
        }
    }
    out
}

/// Deletes the groups of recomputed breakdown days that their values no longer have (a
/// revised day may have other groups).
fn drop_stale_groups(
    p: &Project,
    metrics: &[Metric],
    changed: &BTreeSet<NaiveDate>,
    kept: &[Point],
) -> i64 {
    let categories: Vec<String> = metrics
        .iter()
        .filter(|m| m.series.kind == Kind::Breakdown)
        .map(|m| m.series.category.clone())
        .collect();
    if categories.is_empty() {
        return 0;
    }
    let keys: Vec<String> = kept
        .iter()
        .filter_map(|k| match (&k.dimensions, k.at) {
            (Dimensions::Breakdown(_, v), At::Day(d)) => {
                Some(format!("{}\u{1}{d}\u{1}{v}", k.metric_key))
            }
            _ => None,
        })
        .collect();
    let days: Vec<Date> = changed.iter().map(|d| pg_date(*d)).collect();
    spi::value::<i64>(
        "WITH w AS (DELETE FROM metrics.metrics_breakdown_point AS b
                    WHERE b.project_id = $1 AND b.metric_key = ANY ($2) AND b.time_grain = 'day'
                      AND (b.time_bucket AT TIME ZONE $5)::date = ANY ($3)
                      AND b.metric_key || E'\\x01' || (b.time_bucket AT TIME ZONE $5)::date || E'\\x01' || b.dimension_value
                          <> ALL ($4)
                    RETURNING 1)
         SELECT count(*) FROM w",
        &[p.id.into(), categories.into(), days.into(), keys.into(), guc::timezone().into()],
    )
    .unwrap_or(0)
}

/// The breakdown keys of the last 30 days as drill-downs: each key's count on the last
/// sealed day, its total over the 30 days and its share of all groups' total.
pub fn key_drilldowns(p: &Project, cut: NaiveDate) -> Vec<Drilldown> {
    let window = Period {
        start: cut - Days::new(29),
        end: cut,
    };
    let mut out = Vec::new();
    for m in metrics(p, window)
        .iter()
        .filter(|m| m.series.kind == Kind::Breakdown)
    {
        out.extend(keys_of(m));
    }
    out
}

fn keys_of(m: &Metric) -> Vec<Drilldown> {
    let mut totals: BTreeMap<String, (f64, NaiveDate)> = BTreeMap::new();
    for day in &m.series.days {
        let groups = day.metadata.get("breakdown").and_then(Value::as_object);
        for (key, count) in groups.into_iter().flatten() {
            let e = totals.entry(key.clone()).or_insert((0.0, day.date));
            e.0 += count.as_f64().unwrap_or(0.0);
            e.1 = e.1.max(day.date);
        }
    }
    let all: f64 = totals.values().map(|(n, _)| n).sum();
    let last = m.series.days.last();
    totals
        .into_iter()
        .map(|(key, (total, seen))| {
            let today = last
                .and_then(|d| d.metadata.get("breakdown")?.get(&key).cloned())
                .unwrap_or(json!(0));
            Drilldown {
                metric_key: m.series.category.clone(),
                entity_type: "breakdown_key",
                reference_id: key.clone(),
                at: At::Day(seen),
                payload: json!({"key": key, "metric_key": m.series.category,
                                "value": today, "last_sealed_day": last.map(|d| d.date.to_string()),
                                "total": total, "share": (all > 0.0).then(|| total / all)}),
            }
        })
        .collect()
}
