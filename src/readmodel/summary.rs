//! The summary payload of a project (Metrics API contract v1.0), one row per refresh run:
//! each metric over the last 7 closed days and the 7 before, rolled up like `fetch_metrics`;
//! the requests and the DORA keys per tier over the same days.

use chrono::{Days, NaiveDate};
use pgrx::datum::datetime_support::ToIsoString;
use pgrx::datum::TimestampWithTimeZone;
use serde_json::{json, Map, Value};

use crate::common::calendar::Period;
use crate::pg::datum::pg_date;
use crate::pg::guc;
use crate::pg::raise::OrRaise;
use crate::pg::spi::{not_null, volatile as spi};
use crate::readmodel::payload::{self, MetricEntry};
use crate::readmodel::project::Project;
use crate::readmodel::{daily, dora, traffic};
use crate::snapshots::rollup;

/// The 7 days that end with `cut`, and the 7 before them.
fn periods(cut: NaiveDate) -> (Period, Period) {
    let now = Period {
        start: cut - Days::new(6),
        end: cut,
    };
    let before = Period {
        start: cut - Days::new(13),
        end: cut - Days::new(7),
    };
    (now, before)
}

fn period_json(p: &Period) -> Value {
    json!({"start": p.start.to_string(), "end": p.end.to_string(), "days": p.days()})
}

/// Every metric of the project over both periods.
fn metric_entries(p: &Project, now: Period, before: Period) -> Vec<Value> {
    let span = Period {
        start: before.start,
        end: now.end,
    };
    daily::metrics(p, span)
        .iter()
        .map(|m| {
            let rows = rollup::roll_up(&m.series, &[before, now]).or_raise();
            payload::metric_entry(&MetricEntry {
                metric_key: &m.series.category,
                display_name: &m.display_name,
                unit: m.unit.as_deref(),
                metric_type: &m.series.metric_type,
                now: &rows[1],
                before: &rows[0],
            })
        })
        .collect()
}

/// The requests of both periods (days of the project's zone).
fn requests(p: &Project, now: Period, before: Period) -> Value {
    let stats = |span: Period| -> Map<String, Value> {
        let mut m = payload::request_stats(&traffic::stats_between(p, span.start, span.end));
        for gone in ["successful", "failed", "average_ms"] {
            m.remove(gone);
        }
        m
    };
    let mut out = stats(now);
    out.insert("previous".into(), Value::Object(stats(before)));
    Value::Object(out)
}

/// Builds and inserts the project's summary; returns its payload.
pub fn insert(p: &Project, cut: NaiveDate) -> Value {
    let (now, before) = periods(cut);
    let (captured, as_of) = spi::rows(
        "SELECT pg_catalog.now(), (($1 + 1)::timestamp AT TIME ZONE $2)",
        &[pg_date(cut).into(), guc::timezone().into()],
        |r| {
            Ok((
                not_null::<TimestampWithTimeZone>(r, 1)?,
                not_null::<TimestampWithTimeZone>(r, 2)?,
            ))
        },
    )
    .pop()
    .expect("one row");
    let body = json!({
        "version": "1.0",
        "project": {"id": p.id.to_string(), "slug": p.slug, "name": p.name, "time_zone": p.zone},
        "captured_at": captured.to_iso_string(),
        "as_of": as_of.to_iso_string(),
        "period": period_json(&now),
        "previous_period": period_json(&before),
        "metrics": metric_entries(p, now, before),
        "requests": requests(p, now, before),
        "dora": dora::range_keys(p, now.start, now.end),
    });
    spi::run(
        "INSERT INTO metrics.metrics_summary (project_id, captured_at, version, payload)
         VALUES ($1, $2, '1.0', $3::jsonb)",
        &[p.id.into(), captured.into(), body.to_string().into()],
    );
    body
}
