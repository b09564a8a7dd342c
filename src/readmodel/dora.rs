//! DORA points: the keys of `get_dora_metrics` (the same statement, `github::read::keys`)
//! over the project's repositories pooled (the whole-database project: every repository),
//! per environment tier and day, ISO week and month of the project's zone; deployments per
//! tier and week as breakdown points; pull requests and deployments as drill-downs.

use chrono::{Days, NaiveDate};
use pgrx::datum::TimestampWithTimeZone;
use serde_json::{json, Value};

use crate::common::calendar::Grain;
use crate::github::environment::TIERS;
use crate::github::read::{self, KeyQuery, KeyRow};
use crate::pg::datum::pg_date;
use crate::pg::spi::{not_null, volatile as spi};
use crate::readmodel::buckets::TimeGrain;
use crate::readmodel::payload::exact;
use crate::readmodel::project::Project;
use crate::readmodel::state::Mark;
use crate::readmodel::write::{self, At, Dimensions, Drilldown, Point};

/// The last closed day in the project's zone.
pub fn cut(p: &Project) -> NaiveDate {
    let today = spi::value::<pgrx::datum::Date>(
        "SELECT (pg_catalog.now() AT TIME ZONE $1)::date",
        &[p.zone.as_str().into()],
    )
    .expect("now() is a date");
    crate::pg::datum::stored_date(today) - Days::new(1)
}

/// The events received since `mark` for the project's repositories, and the first local
/// day they (or, without a mark, any of the project's facts) concern.
fn changed(
    p: &Project,
    repos: &Option<Vec<String>>,
    mark: Option<Mark>,
) -> (i64, Option<NaiveDate>) {
    let since = mark.map(|m| m.watermark);
    let (events, first) = spi::rows(
        "SELECT count(*), min(coalesce(e.occurred_at, e.received_at) AT TIME ZONE $3)::date
         FROM metrics.github_events AS e
         WHERE ($1::timestamptz IS NULL OR e.received_at >= $1)
           AND ($2::text[] IS NULL OR e.repository = ANY ($2))",
        &[since.into(), repos.clone().into(), p.zone.as_str().into()],
        |r| Ok((not_null::<i64>(r, 1)?, r.get::<pgrx::datum::Date>(2)?)),
    )
    .pop()
    .expect("an aggregate has a row");
    let mut first = first.map(crate::pg::datum::stored_date);
    if since.is_none() {
        let deployed = spi::value::<pgrx::datum::Date>(
            "SELECT min(d.created_at AT TIME ZONE $2)::date FROM metrics.dora_deployments AS d
             WHERE $1::text[] IS NULL OR d.repository = ANY ($1)",
            &[repos.clone().into(), p.zone.as_str().into()],
        );
        first = first
            .into_iter()
            .chain(deployed.map(crate::pg::datum::stored_date))
            .min();
    }
    // The days the cut moved over are recomputed too (their buckets were not stored whole).
    if let Some(previous) = mark.and_then(|m| m.cut_day) {
        first = first.into_iter().chain([previous + Days::new(1)]).min();
    }
    (events, first)
}

/// The tiers that have environments, with what they mean as an `environment` argument.
fn tiers() -> Vec<(&'static str, read::Environments)> {
    TIERS
        .iter()
        .filter_map(|t| read::environments(t).ok().map(|e| (*t, e)))
        .filter(|(_, e)| !e.names.is_empty())
        .collect()
}

/// What the DORA part of a run did.
#[derive(Debug, Default)]
pub struct Done {
    pub events: i64,
    pub trend: i64,
    pub breakdown: i64,
    pub drilldowns: i64,
}

/// Recomputes every bucket from the first day the new events concern to `cut`.
pub fn refresh(p: &Project, mark: Option<Mark>, cut: NaiveDate) -> Done {
    let repos = p.repositories();
    if repos.as_ref().is_some_and(|r| r.is_empty()) {
        return Done::default();
    }
    let (events, first) = changed(p, &repos, mark);
    let Some(first) = first.filter(|f| *f <= cut) else {
        return Done {
            events,
            ..Done::default()
        };
    };
    let points = key_points(p, &repos, first, cut);
    let (breakdown, trend): (Vec<Point>, Vec<Point>) = points
        .into_iter()
        .partition(|p| matches!(p.dimensions, Dimensions::Breakdown(..)));
    let span = (first, cut);
    let mut drill = entities(
        p,
        &repos,
        span,
        ("dora_lead_time_p50_hours", "pull_request"),
        PULL_REQUESTS,
    );
    drill.extend(entities(
        p,
        &repos,
        span,
        ("dora_deployment_frequency", "deployment"),
        DEPLOYMENTS,
    ));
    Done {
        events,
        trend: write::points(p.id, &p.zone, &trend),
        breakdown: write::points(p.id, &p.zone, &breakdown),
        drilldowns: write::drilldowns(p.id, &p.zone, &drill),
    }
}

/// The points of every tier and grain from the buckets holding `first` to `cut`.
fn key_points(
    p: &Project,
    repos: &Option<Vec<String>>,
    first: NaiveDate,
    cut: NaiveDate,
) -> Vec<Point> {
    let mut points = Vec::new();
    for (tier, environments) in tiers() {
        for (grain, core) in [
            (TimeGrain::Day, Grain::Daily),
            (TimeGrain::Week, Grain::Weekly),
            (TimeGrain::Month, Grain::Monthly),
        ] {
            let rows = read::keys(&KeyQuery {
                start: grain.start(first),
                end: cut,
                grain: Some(core),
                environments: &environments,
                repositories: repos.clone(),
                pooled: true,
                timezone: p.zone.clone(),
            });
            for row in rows {
                points.extend(points_of(
                    tier,
                    grain,
                    &row,
                    grain.end(row.period_start) <= cut,
                ));
            }
        }
    }
    points
}

/// A key row's fields, as `get_dora_metrics` returns them (numerics exact).
pub fn key_json(row: &KeyRow) -> serde_json::Map<String, Value> {
    let n = |t: &Option<String>| t.as_deref().map_or(Value::Null, exact);
    let v = json!({
        "deployments": row.deployments, "deploy_days": row.deploy_days,
        "lead_time_p50_hours": n(&row.lead_time_p50_hours), "lead_time_p90_hours": n(&row.lead_time_p90_hours),
        "lead_time_n": row.lead_time_n, "change_failure_rate": n(&row.change_failure_rate),
        "recovery_p50_hours": n(&row.recovery_p50_hours), "recovery_n": row.recovery_n,
        "rework_rate": n(&row.rework_rate), "level": row.level,
    });
    v.as_object().cloned().expect("an object")
}

fn points_of(tier: &str, grain: TimeGrain, row: &KeyRow, complete: bool) -> Vec<Point> {
    let mut json = key_json(row);
    json.insert("complete".into(), json!(complete));
    let json = Value::Object(json);
    let f = |t: &Option<String>| t.as_deref().and_then(|v| v.parse::<f64>().ok());
    let keys = [
        ("dora_deployment_frequency", Some(row.deployments as f64)),
        ("dora_lead_time_p50_hours", f(&row.lead_time_p50_hours)),
        ("dora_change_failure_rate", f(&row.change_failure_rate)),
        ("dora_recovery_p50_hours", f(&row.recovery_p50_hours)),
        ("dora_rework_rate", f(&row.rework_rate)),
    ];
    let point = |key: &str, value, dimensions| Point {
        metric_key: key.to_string(),
        grain,
        at: At::Day(row.period_start),
        dimensions,
        value,
        json: json.clone(),
    };
    let mut out: Vec<Point> = keys
        .into_iter()
        .map(|(k, v)| point(k, v, Dimensions::Trend(json!({"environment": tier}))))
        .collect();
    if grain == TimeGrain::Week {
        let d = Dimensions::Breakdown("environment".into(), tier.to_string());
        out.push(point(
            "dora_deployment_frequency",
            Some(row.deployments as f64),
            d,
        ));
    }
    out
}

/// The bounds of `[first, cut]` in the project's zone.
fn bounds(
    p: &Project,
    first: NaiveDate,
    cut: NaiveDate,
) -> (TimestampWithTimeZone, TimestampWithTimeZone) {
    spi::rows(
        "SELECT ($1::timestamp AT TIME ZONE $3), (($2 + 1)::timestamp AT TIME ZONE $3)",
        &[
            pg_date(first).into(),
            pg_date(cut).into(),
            p.zone.as_str().into(),
        ],
        |r| Ok((not_null(r, 1)?, not_null(r, 2)?)),
    )
    .pop()
    .expect("one row")
}

/// Each pull request shipped in the range, once per tier (its first deployment there).
const PULL_REQUESTS: &str = "SELECT DISTINCT ON (c.repository, c.pr_number, c.tier)
                c.repository || '#' || c.pr_number || '@' || c.tier, c.deployed_at,
                pg_catalog.jsonb_build_object('repository', c.repository, 'number', c.pr_number, 'title', pr.title,
                    'environment', c.environment, 'tier', c.tier, 'first_commit_at', c.first_commit_at,
                    'opened_at', pr.created_at, 'merged_at', c.merged_at, 'deployed_at', c.deployed_at,
                    'lead_time_hours', c.lead_time_hours,
                    'stages', pg_catalog.jsonb_build_object(
                        'coding_hours', CASE WHEN c.first_commit_at IS NOT NULL THEN GREATEST(0,
                            pg_catalog.date_part('epoch', pr.created_at - c.first_commit_at) / 3600) END,
                        'review_hours', pg_catalog.date_part('epoch', c.merged_at - GREATEST(pr.created_at, c.first_commit_at)) / 3600,
                        'deploy_hours', c.lead_time_hours),
                    'deployment_id', c.deployment_id)::text
         FROM metrics.dora_change_facts AS c
         JOIN metrics.github_pull_requests AS pr ON pr.repository = c.repository AND pr.number = c.pr_number
         WHERE c.kind = 'pull_request' AND ($1::text[] IS NULL OR c.repository = ANY ($1))
           AND c.deployed_at >= $2 AND c.deployed_at < $3
         ORDER BY c.repository, c.pr_number, c.tier, c.deployed_at, c.deployment_id";

/// Each deployment that finished in the range, with its outcome and recovery.
const DEPLOYMENTS: &str = "SELECT f.repository || '/' || f.deployment_id, f.finished_at,
                pg_catalog.jsonb_build_object('repository', f.repository, 'deployment_id', f.deployment_id,
                    'environment', f.environment, 'tier', f.tier, 'sha', f.sha, 'created_at', f.created_at,
                    'finished_at', f.finished_at, 'outcome', f.outcome, 'failed', f.is_failure,
                    'changes', f.changes, 'incident', f.incident_linked, 'rework', f.is_rework,
                    'recovered_at', r.recovered_at, 'recovery_hours', r.recovery_hours)::text
         FROM metrics.dora_deployment_facts AS f
         LEFT JOIN metrics.dora_recovery_facts AS r
           ON r.source = 'deployment' AND r.repository = f.repository AND r.id = f.deployment_id::text
         WHERE ($1::text[] IS NULL OR f.repository = ANY ($1)) AND f.finished_at >= $2 AND f.finished_at < $3
         ORDER BY 1";

/// The drill-downs of a statement over the project's repositories ($1) and the days
/// `[first, cut]` ($2, $3 as instants): each row its reference, time and payload.
fn entities(
    p: &Project,
    repos: &Option<Vec<String>>,
    (first, cut): (NaiveDate, NaiveDate),
    (metric_key, entity_type): (&str, &'static str),
    sql: &str,
) -> Vec<Drilldown> {
    let (lo, hi) = bounds(p, first, cut);
    spi::rows(sql, &[repos.clone().into(), lo.into(), hi.into()], |r| {
        let payload: String = not_null(r, 3)?;
        Ok(Drilldown {
            metric_key: metric_key.to_string(),
            entity_type,
            reference_id: not_null(r, 1)?,
            at: At::Instant(not_null(r, 2)?),
            payload: serde_json::from_str(&payload).expect("jsonb text is JSON"),
        })
    })
}

/// The fields of a tier's entry in the summary's `dora`.
const SUMMARY_KEYS: [&str; 6] = [
    "deployments",
    "lead_time_p50_hours",
    "change_failure_rate",
    "recovery_p50_hours",
    "rework_rate",
    "level",
];

/// The keys of a whole range per tier, for the summary.
pub fn range_keys(p: &Project, start: NaiveDate, end: NaiveDate) -> Vec<Value> {
    let repos = p.repositories();
    if repos.as_ref().is_some_and(|r| r.is_empty()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (tier, environments) in tiers() {
        let q = KeyQuery {
            start,
            end,
            grain: None,
            environments: &environments,
            repositories: repos.clone(),
            pooled: true,
            timezone: p.zone.clone(),
        };
        for row in read::keys(&q) {
            let all = key_json(&row);
            let mut j = serde_json::Map::new();
            j.insert("environment".into(), json!(tier));
            for key in SUMMARY_KEYS {
                j.insert(key.into(), all[key].clone());
            }
            out.push(Value::Object(j));
        }
    }
    out
}
