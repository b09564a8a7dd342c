//! The SQL functions of the read API (Metrics API contract v1.0): `get_summary`,
//! `get_trend`, `get_breakdown`, `get_drilldown`. Each returns one json answer, is STABLE
//! (PostgREST calls it by GET, in a read-only transaction) and SECURITY DEFINER with a pinned
//! search_path: the arguments are checked first (`query`), then the project is resolved as
//! the caller (`read::resolve`), then only that project's rows are read.

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{Map, Value};

use crate::common::problem::required;
use crate::pg::datum::unix_micros;
use crate::pg::guc;
use crate::pg::jsonb_text::JsonOut;
use crate::pg::raise::OrRaise;
use crate::readmodel::answer::{self, fallback_until, with_live, Point, TrendQuery};
use crate::readmodel::cursor::Cursor;
use crate::readmodel::live::today;
use crate::readmodel::query::{
    check_dimensions, check_entity_type, check_page_size, infinite_bound, key_family,
    resolve_range, KeyFamily, Range, TimeGrain,
};
use crate::readmodel::read::{self, Project, Series};
use crate::readmodel::read_live::{
    daily_point, daily_values, open_bucket, request_point, request_stats,
};

/// `now()`: the start of the transaction, microseconds since the Unix epoch.
fn now() -> i64 {
    let started = unsafe { pgrx::pg_sys::GetCurrentTransactionStartTimestamp() };
    unix_micros(TimestampWithTimeZone::try_from(started).expect("now() is a time"))
}

/// A range bound: NULL for the default, else finite.
fn bound(name: &str, value: Option<TimestampWithTimeZone>) -> Option<i64> {
    let t = value?;
    if t.is_infinity() || t.is_neg_infinity() {
        crate::pg::raise::raise(infinite_bound(name));
    }
    Some(unix_micros(t))
}

fn range_of(
    grain: TimeGrain,
    start_at: Option<TimestampWithTimeZone>,
    end_at: Option<TimestampWithTimeZone>,
) -> Range {
    let (start, end) = (bound("start_at", start_at), bound("end_at", end_at));
    resolve_range(grain, start, end, now(), guc::max_query_days()).or_raise()
}

/// The zone a key's buckets are in: UTC hours; daily metrics' days are days of
/// `metrics.timezone`, the others' of the project's zone.
fn zone_of(project: &Project, key: &str, grain: TimeGrain) -> String {
    match (grain, key_family(key)) {
        (TimeGrain::Hour, _) => "UTC".to_string(),
        (_, KeyFamily::Daily) => guc::timezone(),
        _ => project.info.time_zone.clone(),
    }
}

/// The points of a trend: the stored ones, coarser weeks where retention compacted the
/// requested grain, and the bucket containing now computed live where it can be.
fn trend_points(project: &Project, q: &TrendQuery, zone: &str) -> Vec<Point> {
    let dims = Value::Object(q.dimensions.clone());
    let series = |grain, until| Series {
        key: q.metric_key,
        dimensions: &dims,
        grain,
        range: q.range,
        zone,
        until,
    };
    let mut points = read::trend_points(project, &series(q.grain, None));
    if q.grain < TimeGrain::Week {
        let until = fallback_until(&points, q.range);
        let mut weeks = read::trend_points(project, &series(TimeGrain::Week, Some(until)));
        weeks.append(&mut points);
        points = weeks;
    }
    match live_point(project, q, zone) {
        Some(live) => with_live(points, live),
        None => points,
    }
}

/// The bucket containing now, live, when the range reaches it: requests by the hour or day,
/// daily metrics by the day (DORA keys have no live source: their last stored bucket is
/// marked open instead).
fn live_point(project: &Project, q: &TrendQuery, zone: &str) -> Option<Point> {
    let family = key_family(q.metric_key);
    let daily_day =
        family == KeyFamily::Daily && q.grain == TimeGrain::Day && q.dimensions.is_empty();
    if !(q.grain.is_live() && (family == KeyFamily::Requests || daily_day)) {
        return None;
    }
    let open = open_bucket(q.grain, zone, now());
    if open.0 >= q.range.end || open.1 <= q.range.start {
        return None;
    }
    match family {
        KeyFamily::Requests => Some(request_point(
            project,
            q.metric_key,
            q.dimensions,
            q.grain,
            open,
        )),
        _ => daily_point(project, q.metric_key, open),
    }
}

/// A project's series of one metric key at one grain over a range (by default the last 48
/// hours, 30 days, 26 weeks or 12 months), with the open bucket live.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn get_trend(
    project: Option<String>,
    metric_key: Option<String>,
    grain: default!(Option<String>, "'day'"),
    start_at: default!(Option<TimestampWithTimeZone>, "NULL"),
    end_at: default!(Option<TimestampWithTimeZone>, "NULL"),
    dimensions: default!(Option<JsonB>, "'{}'"),
) -> JsonOut {
    let project = required(project, "project").or_raise();
    let key = required(metric_key, "metric_key").or_raise();
    let grain = TimeGrain::parse(&required(grain, "grain").or_raise()).or_raise();
    let JsonB(dims) = required(dimensions, "dimensions").or_raise();
    let dims: Map<String, Value> = check_dimensions(&dims).or_raise();
    let range = range_of(grain, start_at, end_at);
    let project = read::resolve(&project);
    read::check_key(&project, &key).or_raise();
    let q = TrendQuery {
        metric_key: &key,
        dimensions: &dims,
        grain,
        range,
    };
    let zone = zone_of(&project, &key, grain);
    let points = trend_points(&project, &q, &zone);
    JsonOut(answer::trend(&project.info, &q, &points, now()))
}

/// A project's breakdown of one metric key over a range (by default the last 30 days): per
/// dimension value its points and its total and share.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn get_breakdown(
    project: Option<String>,
    metric_key: Option<String>,
    dimension_key: default!(Option<String>, "NULL"),
    start_at: default!(Option<TimestampWithTimeZone>, "NULL"),
    end_at: default!(Option<TimestampWithTimeZone>, "NULL"),
) -> JsonOut {
    let project = required(project, "project").or_raise();
    let key = required(metric_key, "metric_key").or_raise();
    let range = range_of(TimeGrain::Day, start_at, end_at);
    let project = read::resolve(&project);
    read::check_key(&project, &key).or_raise();
    let zone = zone_of(&project, &key, TimeGrain::Day);
    let points = read::breakdown_points(&project, &key, dimension_key.as_deref(), range, &zone);
    JsonOut(answer::breakdown(
        &project.info,
        &key,
        dimension_key.as_deref(),
        range,
        &points,
        now(),
    ))
}

/// A page of a project's drill-down rows of one metric key and entity type, newest first;
/// `after` is the `next` of the previous page (keyset pagination).
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn get_drilldown(
    project: Option<String>,
    metric_key: Option<String>,
    entity_type: Option<String>,
    page_size: default!(Option<i32>, "50"),
    after: default!(Option<String>, "NULL"),
) -> JsonOut {
    let project = required(project, "project").or_raise();
    let key = required(metric_key, "metric_key").or_raise();
    let entity_type =
        check_entity_type(&required(entity_type, "entity_type").or_raise()).or_raise();
    let page_size = check_page_size(required(page_size, "page_size").or_raise()).or_raise();
    let after = after.map(|a| Cursor::decode(&a).or_raise());
    let project = read::resolve(&project);
    read::check_key(&project, &key).or_raise();
    let mut rows = read::drilldown_rows(
        &project,
        &key,
        entity_type,
        after.as_ref(),
        i64::from(page_size) + 1,
    );
    let next = (rows.len() > page_size as usize).then(|| {
        rows.truncate(page_size as usize);
        let last = rows.last().expect("a full page");
        Cursor {
            time_bucket: last.time_bucket,
            reference_id: last.reference_id.clone(),
        }
        .encode()
    });
    JsonOut(answer::drilldown(
        &project.info,
        &key,
        entity_type,
        page_size,
        &rows,
        next,
    ))
}

/// A project's latest stored summary, with today's values so far computed live.
#[pg_extern(stable, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn get_summary(project: Option<String>) -> JsonOut {
    let project = read::resolve(&required(project, "project").or_raise());
    let stored = read::latest_summary(&project);
    let now = now();
    let day = open_bucket(TimeGrain::Day, &project.info.time_zone, now);
    let requests = request_stats(&project, &Map::new(), day.0, day.1);
    let metrics = daily_values(&project, None);
    let today = today(day.0, now, &metrics, &requests);
    JsonOut(answer::summary(&project.info, stored.as_ref(), today, now))
}
