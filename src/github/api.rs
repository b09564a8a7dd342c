//! The SQL functions of development metrics: recording GitHub events (one, or a batch), the
//! environment tiers, the DORA keys and their explanation. Recording and the tiers write
//! with the owner's rights (SECURITY DEFINER, pinned `search_path`), for the manage level;
//! the keys are read as the caller (read level, like the request reports): the facts'
//! row-level security shows them to administrators. Dashboards for everyone read the keys
//! sealed as daily metrics (`install_preset('dora')`).

use pgrx::prelude::*;

use crate::common::problem::required;
use crate::github::archive::parse_batch;
use crate::github::environment::{check_environment_name, check_tier};
use crate::github::ingest::{record, Payloads};
use crate::github::read::{self, check_repository, KeyQuery};
use crate::maintenance::health::require_admin;
use crate::pg::datum::{pg_date, required_date};
use crate::pg::guc;
use crate::pg::jsonb_text::JsonbText;
use crate::pg::raise::OrRaise;
use crate::pg::spi::{not_null, volatile};
use crate::snapshots::checks::check_fetch;

/// Records one GitHub event (a webhook delivery, or a workflow's `github.event`) exactly once.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn record_github_event(
    event: Option<String>,
    payload: Option<JsonbText>,
    delivery_id: default!(Option<String>, "NULL"),
    environment: default!(Option<String>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(recorded, bool),
        name!(kind, String),
        name!(event_key, String),
    ),
> {
    let event = required(event, "event").or_raise();
    let payload_text = required(payload, "payload").or_raise();
    let payload = payload_text.parse("payload").or_raise();
    let parsed = crate::github::event::parse(
        &event,
        &payload,
        delivery_id.as_deref(),
        environment.as_deref(),
    )
    .or_raise();
    let outcomes = record(
        std::slice::from_ref(&parsed),
        Payloads::One(payload_text.argument()),
    );
    TableIterator::new(
        outcomes
            .into_iter()
            .map(|o| (o.recorded, o.kind.to_string(), o.event_key)),
    )
}

/// Records a batch of GitHub events (`{event, payload, delivery_id}` objects, or GitHub
/// events-API / GH Archive objects), checked as a whole before anything is written.
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn record_github_events(
    events: Option<JsonbText>,
) -> TableIterator<
    'static,
    (
        name!(events, i32),
        name!(recorded, i32),
        name!(duplicates, i32),
        name!(unknown, i32),
    ),
> {
    let text = required(events, "events").or_raise();
    let parsed = parse_batch(&text.parse("events").or_raise()).or_raise();
    let outcomes = if parsed.is_empty() {
        Vec::new()
    } else {
        record(&parsed, Payloads::Batch(text.argument()))
    };
    let recorded = outcomes.iter().filter(|o| o.recorded).count() as i32;
    let unknown = parsed
        .iter()
        .zip(&outcomes)
        .filter(|(p, o)| o.recorded && (p.kind == "unknown" || !p.known_action))
        .count() as i32;
    let total = parsed.len() as i32;
    TableIterator::once((total, recorded, total - recorded, unknown))
}

/// The default tier of an environment name (production, staging, testing, development,
/// local), or NULL.
#[pg_extern(immutable, strict, parallel_safe)]
fn _default_environment_tier(name: &str) -> Option<String> {
    crate::github::environment::default_tier(name).map(str::to_string)
}

/// Sets the tier of an environment name (NULL: back to its default).
#[pg_extern(security_definer, volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn set_environment_tier(
    name: Option<String>,
    tier: Option<String>,
) -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(tier, Option<String>),
        name!(is_default, bool),
    ),
> {
    let name = check_environment_name(&required(name, "name").or_raise()).or_raise();
    match tier {
        Some(t) => {
            let tier = check_tier(&t).or_raise();
            // set_by is the caller (over PostgREST, the request's role), as in retention_settings.
            volatile::run(
                "INSERT INTO metrics.environment_settings (name, tier, set_by) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET tier = EXCLUDED.tier, set_by = EXCLUDED.set_by, set_at = now()",
                &[
                    name.as_str().into(),
                    tier.into(),
                    crate::pg::identity::caller_name().into(),
                ],
            );
        }
        None => volatile::run(
            "DELETE FROM metrics.environment_settings WHERE name = $1",
            &[name.as_str().into()],
        ),
    }
    let rows = volatile::rows(
        "SELECT metrics.environment_tier($1),
                NOT EXISTS (SELECT FROM metrics.environment_settings WHERE name = $1)",
        &[name.as_str().into()],
        |r| Ok((r.get::<String>(1)?, not_null::<bool>(r, 2)?)),
    );
    let (tier, is_default) = rows.into_iter().next().expect("one row");
    TableIterator::once((name, tier, is_default))
}

/// The five DORA keys per period and repository, for an environment, a tier or all. Runs as
/// its caller: the facts' row-level security decides what it counts (administrators: all).
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn get_dora_metrics(
    start_date: Option<pgrx::datum::Date>,
    end_date: Option<pgrx::datum::Date>,
    environment: default!(Option<String>, "'production'"),
    grain: default!(Option<String>, "'week'"),
    repository: default!(Option<String>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(period_start, pgrx::datum::Date),
        name!(repository, String),
        name!(environment, String),
        name!(deployments, i32),
        name!(deploy_days, i32),
        name!(lead_time_p50_hours, Option<AnyNumeric>),
        name!(lead_time_p90_hours, Option<AnyNumeric>),
        name!(lead_time_n, i32),
        name!(pending_changes, i32),
        name!(change_failure_rate, Option<AnyNumeric>),
        name!(recovery_p50_hours, Option<AnyNumeric>),
        name!(recovery_n, i32),
        name!(rework_rate, Option<AnyNumeric>),
        name!(level, Option<String>),
        name!(lead_time_first_commit_p50_hours, Option<AnyNumeric>),
    ),
> {
    let start = required_date(start_date, "start_date");
    let end = required_date(end_date, "end_date");
    let grain = required(grain, "grain").or_raise();
    let grain = check_fetch(start, end, &grain, guc::max_query_days()).or_raise();
    let environment = required(environment, "environment").or_raise();
    let environments = read::environments(&environment).or_raise();
    let repository = check_repository(repository).or_raise();
    let rows = read::keys(&KeyQuery {
        start,
        end,
        grain: Some(grain),
        environments: &environments,
        repositories: repository.map(|r| vec![r]),
        pooled: false,
        timezone: guc::timezone(),
    });
    let shown = environments.shown;
    let n = |t: Option<String>| t.as_deref().map(crate::pg::datum::numeric);
    TableIterator::new(rows.into_iter().map(move |r| {
        (
            pg_date(r.period_start),
            r.repository,
            shown.clone(),
            r.deployments,
            r.deploy_days,
            n(r.lead_time_p50_hours),
            n(r.lead_time_p90_hours),
            r.lead_time_n,
            r.pending_changes,
            n(r.change_failure_rate),
            n(r.recovery_p50_hours),
            r.recovery_n,
            n(r.rework_rate),
            r.level,
            n(r.lead_time_first_commit_p50_hours),
        )
    }))
}

/// The deployments, changes, pending changes, incidents and recoveries behind one day's keys.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, security_definer, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn explain_dora(
    repository: Option<String>,
    environment: Option<String>,
    day: Option<pgrx::datum::Date>,
) -> TableIterator<
    'static,
    (
        name!(item, String),
        name!(id, String),
        name!(at, pgrx::datum::TimestampWithTimeZone),
        name!(details, pgrx::JsonB),
        name!(counts_for, Vec<Option<String>>),
    ),
> {
    require_admin("metrics.explain_dora");
    let repository = check_repository(Some(required(repository, "repository").or_raise()))
        .or_raise()
        .expect("given");
    let environment = required(environment, "environment").or_raise();
    let environments = read::environments(&environment).or_raise();
    let day = required_date(day, "day");
    let rows = read::explain(&repository, &environments, day, &guc::timezone());
    TableIterator::new(
        rows.into_iter()
            .map(|r| (r.item, r.id, r.at, pgrx::JsonB(r.details), r.counts_for)),
    )
}
