//! The DORA keys per period and repository (`keys`), and what is behind one day's numbers
//! (`explain`). Both read the views of `sql/github/read.sql`, where the rules of failures,
//! rework, incidents and recovery are written once; the periods are those of
//! `fetch_metrics` (days, ISO weeks, months, clipped to the range) in `metrics.timezone`.

use chrono::NaiveDate;
use pgrx::datum::DatumWithOid;

use crate::common::calendar::{periods, Grain};
use crate::common::problem::{Outcome, Problem, SqlState};
use crate::github::environment::{check_environment_name, TIERS};
use crate::github::event::MAX_REPOSITORY;
use crate::github::levels::{classify, LevelRow, PeriodKeys};
use crate::pg::datum::pg_date;
use crate::pg::spi::{not_null, stable};

/// What an `environment` argument means: `all` or `*` every environment, a tier every
/// environment of it, else the one named.
pub struct Environments {
    /// The argument as shown in the rows.
    pub shown: String,
    pub names: Vec<String>,
    /// The tiers whose incidents of no known environment count (production, for `all` and
    /// `production`).
    pub tiers: Vec<String>,
}

pub fn environments(argument: &str) -> Outcome<Environments> {
    let shown = argument.trim().to_lowercase();
    let every = shown == "all" || shown == "*";
    let names: Vec<String> = if every || TIERS.contains(&shown.as_str()) {
        // Every environment, or those of one tier ($1 NULL: every one).
        let tier = (!every).then_some(shown.as_str());
        stable::rows(
            "SELECT name FROM metrics.environments WHERE $1::text IS NULL OR tier = $1 ORDER BY 1",
            &[DatumWithOid::from(tier)],
            |r| not_null::<String>(r, 1),
        )
    } else {
        vec![check_environment_name(&shown)?]
    };
    let tiers = if every || shown == "production" {
        vec!["production".to_string()]
    } else {
        Vec::new()
    };
    Ok(Environments {
        shown,
        names,
        tiers,
    })
}

/// One row of `get_dora_metrics`, numbers as PostgreSQL printed them (numerics exact).
pub struct KeyRow {
    pub period_start: NaiveDate,
    pub repository: String,
    pub deployments: i32,
    pub deploy_days: i32,
    pub lead_time_p50_hours: Option<String>,
    pub lead_time_p90_hours: Option<String>,
    pub lead_time_n: i32,
    pub pending_changes: i32,
    pub change_failure_rate: Option<String>,
    pub recovery_p50_hours: Option<String>,
    pub recovery_n: i32,
    pub rework_rate: Option<String>,
    pub level: Option<String>,
    pub lead_time_first_commit_p50_hours: Option<String>,
}

pub struct KeyQuery<'a> {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// `None`: the whole range is one period (the read model's summary).
    pub grain: Option<Grain>,
    pub environments: &'a Environments,
    /// The repositories to read (`None`: every one).
    pub repositories: Option<Vec<String>>,
    /// Whether the repositories are pooled into one row per period (named `*`), as a
    /// project's keys are, rather than one row per repository.
    pub pooled: bool,
    pub timezone: String,
}

impl KeyQuery<'_> {
    fn spans(&self) -> Vec<crate::common::calendar::Period> {
        match self.grain {
            Some(grain) => periods(self.start, self.end, grain),
            None => vec![crate::common::calendar::Period {
                start: self.start,
                end: self.end,
            }],
        }
    }
}

/// `d` (a date) as the start of its period: the day, or its ISO week's or month's first day,
/// not before the range's start ($1).
fn period_of(d: &str, grain: Option<Grain>) -> String {
    match grain {
        Some(Grain::Daily) => d.to_string(),
        Some(Grain::Weekly) => format!("greatest(pg_catalog.date_trunc('week', {d})::date, $1)"),
        Some(Grain::Monthly) => {
            format!("greatest(pg_catalog.date_trunc('month', {d})::date, $1)")
        }
        None => "$1::date".to_string(),
    }
}

/// The repository a row is counted under: its own, or `*` when pooled ($8).
fn key_of(repository: &str) -> String {
    format!("CASE WHEN $8 THEN '*' ELSE {repository} END")
}

fn local_day(ts: &str) -> String {
    format!("({ts} AT TIME ZONE $4)::date")
}

/// $1 start, $2 end, $3 period starts, $4 time zone, $5 environment names, $6 repositories
/// (NULL: all), $7 the tiers whose incidents of no environment count, $8 whether the
/// repositories are pooled.
/// One statement, kept whole (longer than a function should be) so that it reads as the SQL
/// it is: each key is a CTE over the views, joined per period and repository.
fn keys_sql(grain: Option<Grain>) -> String {
    let p = |ts: &str| period_of(&local_day(ts), grain);
    format!(
        "WITH b AS (SELECT ($1::timestamp AT TIME ZONE $4) AS lo, (($2 + 1)::timestamp AT TIME ZONE $4) AS hi),
         repos AS (SELECT r.repository FROM metrics.github_repositories AS r
                   WHERE $6::text[] IS NULL OR r.repository = ANY ($6)),
         keyed AS (SELECT DISTINCT {repo_key} AS repository FROM repos AS r),
         dep AS (
             SELECT {dep_key} AS repository, {dep_p} AS ps,
                    count(*) FILTER (WHERE f.is_success) AS deployments,
                    count(DISTINCT {dep_day}) FILTER (WHERE f.is_success) AS deploy_days,
                    count(*) AS finished,
                    count(*) FILTER (WHERE f.is_failure) AS failed,
                    count(*) FILTER (WHERE f.is_rework) AS rework
             FROM metrics.dora_deployment_facts AS f, b
             WHERE f.environment = ANY ($5) AND f.finished_at >= b.lo AND f.finished_at < b.hi
               AND f.repository IN (SELECT repository FROM repos)
             GROUP BY 1, 2),
         -- The changes' lead times as metrics.dora_change_facts defines them, read from the
         -- table by its (environment, deployed_at) index.
         lead AS (
             SELECT {lead_key} AS repository, {lead_p} AS ps,
                    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (
                        ORDER BY pg_catalog.date_part('epoch', c.deployed_at - c.merged_at) / 3600) AS p,
                    count(*) AS n,
                    percentile_cont(0.5) WITHIN GROUP (
                        ORDER BY pg_catalog.date_part('epoch', c.deployed_at - c.first_commit_at) / 3600) AS fc50
             FROM metrics.dora_changes AS c, b
             WHERE c.environment = ANY ($5) AND c.deployed_at >= b.lo AND c.deployed_at < b.hi
               AND c.repository IN (SELECT repository FROM repos)
             GROUP BY 1, 2),
         rec AS (
             SELECT {rec_key} AS repository, {rec_p} AS ps,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY r.recovery_hours) AS p50, count(*) AS n
             FROM metrics.dora_recovery_facts AS r, b
             WHERE (r.environment = ANY ($5) OR (r.environment IS NULL AND r.tier = ANY ($7)))
               AND r.started_at >= b.lo AND r.started_at < b.hi
               AND r.repository IN (SELECT repository FROM repos)
             GROUP BY 1, 2),
         {pending},
         -- Running sums: what was merged minus what was shipped, up to each period.
         flows AS MATERIALIZED (SELECT repository, ps, n FROM merged
                                UNION ALL SELECT repository, ps, -n FROM shipped),
         pend AS (
             SELECT p.period_start, f.repository, sum(f.n) AS n
             FROM pg_catalog.unnest($3::date[]) AS p (period_start)
             JOIN flows AS f ON f.ps IS NULL OR f.ps <= p.period_start
             GROUP BY 1, 2)
         SELECT ps.period_start, r.repository,
                coalesce(d.deployments, 0)::int, coalesce(d.deploy_days, 0)::int,
                l.p[1]::numeric::text, l.p[2]::numeric::text, coalesce(l.n, 0)::int,
                coalesce(pd.n, 0)::int,
                CASE WHEN d.finished > 0 THEN pg_catalog.round(d.failed * 100.0 / d.finished, 4)::text END,
                e.p50::numeric::text, coalesce(e.n, 0)::int,
                CASE WHEN d.finished > 0 THEN pg_catalog.round(d.rework * 100.0 / d.finished, 4)::text END,
                l.fc50::numeric::text,
                l.p[1], e.p50, CASE WHEN d.finished > 0 THEN d.failed * 100.0 / d.finished END::float8
         FROM pg_catalog.unnest($3::date[]) AS ps (period_start)
         CROSS JOIN keyed AS r
         LEFT JOIN dep AS d ON d.repository = r.repository AND d.ps = ps.period_start
         LEFT JOIN lead AS l ON l.repository = r.repository AND l.ps = ps.period_start
         LEFT JOIN rec AS e ON e.repository = r.repository AND e.ps = ps.period_start
         LEFT JOIN pend AS pd ON pd.repository = r.repository AND pd.period_start = ps.period_start
         ORDER BY r.repository, ps.period_start",
        repo_key = key_of("r.repository"),
        dep_key = key_of("f.repository"),
        lead_key = key_of("c.repository"),
        rec_key = key_of("r.repository"),
        dep_p = p("f.finished_at"),
        dep_day = local_day("f.finished_at"),
        lead_p = p("c.deployed_at"),
        rec_p = p("r.started_at"),
        pending = pending_sql(grain),
    )
}

/// Pending changes at each period's end: merged PRs into a branch the environment deploys,
/// after its first successful deployment, minus those shipped by then; counted per
/// environment, as running sums (`ps` NULL: before the range).
fn pending_sql(grain: Option<Grain>) -> String {
    // Counted per local day first, then per period (a few hundred days, not every change).
    let p = |d: &str| period_of(d, grain);
    format!(
        "cov AS (
             SELECT d.repository, d.environment, min(d.created_at) AS since,
                    pg_catalog.array_agg(DISTINCT pg_catalog.regexp_replace(coalesce(d.ref, ''), '^refs/heads/', '')) AS refs
             FROM metrics.dora_deployments AS d
             WHERE d.environment = ANY ($5) AND d.outcome = 'success'
               AND d.repository IN (SELECT repository FROM repos)
             GROUP BY 1, 2),
         merged_days AS (
             SELECT {c_key} AS repository, {merged_day} AS day, count(*) AS n
             FROM cov AS c CROSS JOIN b
             JOIN metrics.github_pull_requests AS pr
               ON pr.repository = c.repository AND pr.base_ref = ANY (c.refs)
              AND pr.merged_at > c.since AND pr.merged_at < b.hi
             GROUP BY 1, 2),
         merged AS MATERIALIZED (
             SELECT m.repository, CASE WHEN m.day >= $1 THEN {merged_p} END AS ps, sum(m.n) AS n
             FROM merged_days AS m GROUP BY 1, 2),
         shipped_days AS (
             SELECT {c_key} AS repository, {shipped_day} AS day, count(*) AS n
             FROM cov AS c CROSS JOIN b
             JOIN metrics.dora_changes AS ch
               ON ch.environment = c.environment AND ch.deployed_at < b.hi AND ch.repository = c.repository
              AND ch.kind = 'pull_request' AND ch.base_ref = ANY (c.refs) AND ch.merged_at > c.since
             GROUP BY 1, 2),
         shipped AS MATERIALIZED (
             SELECT s.repository, CASE WHEN s.day >= $1 THEN {shipped_p} END AS ps, sum(s.n) AS n
             FROM shipped_days AS s GROUP BY 1, 2)",
        c_key = key_of("c.repository"),
        merged_day = local_day("pr.merged_at"),
        shipped_day = local_day("ch.deployed_at"),
        merged_p = p("m.day"),
        shipped_p = p("s.day"),
    )
}

/// The levels of the latest source year.
fn level_rows() -> Vec<LevelRow> {
    stable::rows(
        "SELECT source_year, level, rank, min_deploys_per_week, max_lead_time_hours,
                max_change_failure_rate, max_recovery_hours
         FROM metrics.dora_levels
         WHERE source_year = (SELECT max(source_year) FROM metrics.dora_levels)
         ORDER BY rank",
        &[],
        |r| {
            Ok(LevelRow {
                source_year: not_null::<i32>(r, 1)?,
                level: not_null::<String>(r, 2)?,
                rank: not_null::<i32>(r, 3)?,
                min_deploys_per_week: r.get::<f64>(4)?,
                max_lead_time_hours: r.get::<f64>(5)?,
                max_change_failure_rate: r.get::<f64>(6)?,
                max_recovery_hours: r.get::<f64>(7)?,
            })
        },
    )
}

/// The keys of every period of the range, per repository.
pub fn keys(q: &KeyQuery) -> Vec<KeyRow> {
    let spans = q.spans();
    let starts: Vec<pgrx::datum::Date> = spans.iter().map(|p| pg_date(p.start)).collect();
    let levels = level_rows();
    let args = [
        DatumWithOid::from(pg_date(q.start)),
        DatumWithOid::from(pg_date(q.end)),
        DatumWithOid::from(starts),
        DatumWithOid::from(q.timezone.as_str()),
        DatumWithOid::from(q.environments.names.clone()),
        DatumWithOid::from(q.repositories.clone()),
        DatumWithOid::from(q.environments.tiers.clone()),
        DatumWithOid::from(q.pooled),
    ];
    stable::rows(&keys_sql(q.grain), &args, |r| {
        let start = crate::pg::datum::stored_date(not_null::<pgrx::datum::Date>(r, 1)?);
        let days = spans
            .iter()
            .find(|p| p.start == start)
            .map_or(1, |p| p.days());
        let deployments = not_null::<i32>(r, 3)?;
        let keys = PeriodKeys {
            deploys_per_week: Some(deployments as f64 * 7.0 / days as f64),
            lead_time_hours: r.get::<f64>(14)?,
            change_failure_rate: r.get::<f64>(16)?,
            recovery_hours: r.get::<f64>(15)?,
        };
        Ok(KeyRow {
            period_start: start,
            repository: not_null::<String>(r, 2)?,
            deployments,
            deploy_days: not_null::<i32>(r, 4)?,
            lead_time_p50_hours: r.get::<String>(5)?,
            lead_time_p90_hours: r.get::<String>(6)?,
            lead_time_n: not_null::<i32>(r, 7)?,
            pending_changes: not_null::<i32>(r, 8)?,
            change_failure_rate: r.get::<String>(9)?,
            recovery_p50_hours: r.get::<String>(10)?,
            recovery_n: not_null::<i32>(r, 11)?,
            rework_rate: r.get::<String>(12)?,
            level: classify(&levels, &keys),
            lead_time_first_commit_p50_hours: r.get::<String>(13)?,
        })
    })
}

/// The repository argument: lower-cased like the stored names, at most as long as a recorded
/// one (`event::MAX_REPOSITORY`).
pub fn check_repository(text: Option<String>) -> Outcome<Option<String>> {
    match text {
        None => Ok(None),
        Some(t) if t.trim().is_empty() || t.chars().count() > MAX_REPOSITORY => Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("repository must be an owner/name of 1 to {MAX_REPOSITORY} characters"),
        )
        .hint("give the repository as GitHub names it, for example 'octo-org/octo-repo', or NULL for every repository")),
        Some(t) => Ok(Some(t.trim().to_lowercase())),
    }
}

/// $1 repository, $2 environment names, $3 day start, $4 day end (timestamptz), $5 the tiers
/// whose incidents of no environment count.
const EXPLAIN_SQL: &str = "
    WITH cov AS (
        SELECT d.environment, min(d.created_at) AS since,
               pg_catalog.array_agg(DISTINCT pg_catalog.regexp_replace(coalesce(d.ref, ''), '^refs/heads/', '')) AS refs
        FROM metrics.dora_deployments AS d
        WHERE d.repository = $1 AND d.environment = ANY ($2) AND d.outcome = 'success'
        GROUP BY 1)
    SELECT 'deployment', f.deployment_id::text, f.finished_at,
           pg_catalog.jsonb_build_object('environment', f.environment, 'sha', f.sha, 'outcome', f.outcome,
               'failed', f.is_failure, 'incident_linked', f.incident_linked, 'rework', f.is_rework,
               'changes', f.changes, 'coverage', d.coverage, 'baseline_id', d.baseline_id),
           CASE WHEN f.is_success THEN ARRAY['deployments', 'deploy_days', 'change_failure_rate', 'rework_rate']
                ELSE ARRAY['change_failure_rate', 'rework_rate', 'recovery'] END
    FROM metrics.dora_deployment_facts AS f
    JOIN metrics.dora_deployments AS d ON d.repository = f.repository AND d.deployment_id = f.deployment_id
    WHERE f.repository = $1 AND f.environment = ANY ($2) AND f.finished_at >= $3 AND f.finished_at < $4
    UNION ALL
    SELECT 'change', c.environment || ':' || c.change_key, c.deployed_at,
           pg_catalog.jsonb_build_object('environment', c.environment, 'kind', c.kind, 'pr_number', c.pr_number,
               'sha', c.sha, 'merged_at', c.merged_at, 'first_commit_at', c.first_commit_at,
               'deployment_id', c.deployment_id, 'lead_time_hours', c.lead_time_hours),
           ARRAY['lead_time']
    FROM metrics.dora_change_facts AS c
    WHERE c.repository = $1 AND c.environment = ANY ($2) AND c.deployed_at >= $3 AND c.deployed_at < $4
    UNION ALL
    SELECT 'pending', cov.environment || ':pr:' || pr.number, pr.merged_at,
           pg_catalog.jsonb_build_object('environment', cov.environment, 'pr_number', pr.number,
               'base_ref', pr.base_ref, 'merge_commit_sha', pr.merge_commit_sha,
               'age_hours', pg_catalog.date_part('epoch', $4 - pr.merged_at) / 3600),
           ARRAY['pending_changes']
    FROM cov
    JOIN metrics.github_pull_requests AS pr
      ON pr.repository = $1 AND pr.base_ref = ANY (cov.refs) AND pr.merged_at > cov.since AND pr.merged_at < $4
    WHERE NOT EXISTS (SELECT FROM metrics.dora_changes AS ch
                      WHERE ch.repository = $1 AND ch.environment = cov.environment
                        AND ch.pr_number = pr.number AND ch.deployed_at < $4)
    UNION ALL
    SELECT 'incident', i.number::text, i.opened_at,
           pg_catalog.jsonb_build_object('environment', i.environment, 'title', i.title,
               'deployment_id', i.deployment_id, 'link', i.link, 'closed_at', i.closed_at),
           ARRAY['change_failure_rate', 'rework_rate', 'recovery']
    FROM metrics.dora_incidents AS i
    WHERE i.repository = $1 AND (i.environment = ANY ($2) OR (i.environment IS NULL AND i.tier = ANY ($5)))
      AND i.opened_at >= $3 AND i.opened_at < $4
    UNION ALL
    SELECT 'recovery', r.source || ':' || r.id, r.started_at,
           pg_catalog.jsonb_build_object('environment', r.environment, 'source', r.source,
               'recovered_at', r.recovered_at, 'recovery_hours', r.recovery_hours),
           ARRAY['recovery']
    FROM metrics.dora_recovery_facts AS r
    WHERE r.repository = $1 AND (r.environment = ANY ($2) OR (r.environment IS NULL AND r.tier = ANY ($5)))
      AND r.started_at >= $3 AND r.started_at < $4
    ORDER BY 1, 3, 2";

pub struct ExplainRow {
    pub item: String,
    pub id: String,
    pub at: pgrx::datum::TimestampWithTimeZone,
    pub details: serde_json::Value,
    pub counts_for: Vec<Option<String>>,
}

/// What is behind the numbers of one day (in `metrics.timezone`).
pub fn explain(
    repository: &str,
    environments: &Environments,
    day: NaiveDate,
    timezone: &str,
) -> Vec<ExplainRow> {
    let bounds = stable::rows(
        "SELECT ($1::timestamp AT TIME ZONE $2), (($1 + 1)::timestamp AT TIME ZONE $2)",
        &[
            DatumWithOid::from(pg_date(day)),
            DatumWithOid::from(timezone),
        ],
        |r| {
            Ok((
                not_null::<pgrx::datum::TimestampWithTimeZone>(r, 1)?,
                not_null::<pgrx::datum::TimestampWithTimeZone>(r, 2)?,
            ))
        },
    );
    let (lo, hi) = bounds[0];
    let args = [
        DatumWithOid::from(repository),
        DatumWithOid::from(environments.names.clone()),
        DatumWithOid::from(lo),
        DatumWithOid::from(hi),
        DatumWithOid::from(environments.tiers.clone()),
    ];
    stable::rows(EXPLAIN_SQL, &args, |r| {
        Ok(ExplainRow {
            item: not_null::<String>(r, 1)?,
            id: not_null::<String>(r, 2)?,
            at: not_null::<pgrx::datum::TimestampWithTimeZone>(r, 3)?,
            details: not_null::<pgrx::JsonB>(r, 4)?.0,
            counts_for: not_null::<Vec<Option<String>>>(r, 5)?,
        })
    })
}
