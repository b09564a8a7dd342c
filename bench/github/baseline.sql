-- bench/github/baseline.sql: the straightforward SQL baseline of the GitHub benchmark
-- (bench/github/run; bench/README.md, "GitHub benchmark"). Written for the benchmark, not part
-- of the extension.
--
-- bench.dora_baseline(start_date, end_date, environment, grain, time_zone) computes the DORA
-- keys of get_dora_metrics from the FACT tables only (metrics.github_deployments,
-- github_deployment_statuses, github_pull_requests, github_pushes, github_issues), as a careful
-- person without the extension's derived tables would: one correlated subquery per change and
-- per deployment, on the indexes the fact tables have.
--
-- - outcome of a deployment: its latest status among success/failure/error by (created_at,
--   status id), a correlated subquery; finished_at that status's time;
-- - a merged PR's deployment to an environment: the first successful deployment of the
--   environment (by created_at, id) created at or after the merge whose sha was pushed to
--   main at or after the merge. That is "contains the merge commit" in a linear history (one
--   chain of pushes, as bench/github/generate.mjs makes): a sha pushed later has the merge as an
--   ancestor. It is not true of branches, force pushes or merges out of order; the extension
--   walks the push chain instead. A PR contained in the environment's first successful
--   deployment is not counted (nothing before it is known: the contract's coverage "none");
-- - lead time: that deployment's finished_at - merged_at, in hours; exact percentile_cont;
-- - change failure rate: finished deployments that failed (failure/error) or that an incident
--   is linked to (its body names the deployment's id, else its sha, else the last successful
--   deployment of production that finished within 24 hours before it was opened), over all
--   finished, x 100;
-- - recovery: a failed deployment to the next successful deployment of its environment (by
--   created_at, id), finished to finished, and an incident from opening to close, for failures starting in the
--   period; p50 with percentile_cont;
-- - periods: day, week (Monday) or month of the time in time_zone, clipped to the range
--   (period_start is at least start_date), one row per period and repository, empty ones too.
--
-- environment: a name, or 'all' for every environment together (per change and environment,
-- as the extension counts). Incidents count for production (no environment labels are
-- generated). Pending changes, rework and the level are not computed: the run compares
-- deployments, lead_time_n and lead_time_p50_hours, and shows the others as information.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;

-- The latest terminal status of a deployment: the outcome subquery everything below uses.
-- (A set-returning SQL function of one SELECT is inlined by the planner: at each use it is
-- the correlated subquery itself.)
CREATE OR REPLACE FUNCTION bench.deployment_outcome(p_repository text, p_deployment_id bigint)
RETURNS TABLE (state text, finished_at timestamptz)
LANGUAGE sql STABLE
AS $$
    SELECT s.state, s.created_at
    FROM metrics.github_deployment_statuses AS s
    WHERE s.repository = p_repository AND s.deployment_id = p_deployment_id
      AND s.state IN ('success', 'failure', 'error')
    ORDER BY s.created_at DESC, s.status_id DESC
    LIMIT 1
$$;

-- The period (its first day, clipped to the range) of a time in a zone.
CREATE OR REPLACE FUNCTION bench.period_of(p_at timestamptz, p_grain text, p_tz text, p_start date)
RETURNS date
LANGUAGE sql IMMUTABLE
AS $$
    SELECT greatest(date_trunc(CASE p_grain WHEN 'day' THEN 'day' WHEN 'month' THEN 'month' ELSE 'week' END,
                               p_at AT TIME ZONE p_tz)::date, p_start)
$$;

CREATE OR REPLACE FUNCTION bench.dora_baseline(p_start date, p_end date, p_environment text DEFAULT 'production',
                                               p_grain text DEFAULT 'week', p_tz text DEFAULT 'UTC')
RETURNS TABLE (period_start date, repository text, environment text,
               deployments integer, deploy_days integer,
               lead_time_p50_hours numeric, lead_time_p90_hours numeric, lead_time_n integer,
               change_failure_rate numeric, recovery_p50_hours numeric, recovery_n integer)
LANGUAGE sql STABLE
AS $$
WITH
-- Every deployment of the asked environment(s) with its outcome.
deps AS (
    SELECT d.repository, d.environment, d.deployment_id, d.sha, d.created_at, o.state AS outcome, o.finished_at
    FROM metrics.github_deployments AS d
    LEFT JOIN LATERAL bench.deployment_outcome(d.repository, d.deployment_id) AS o ON true
    WHERE p_environment = 'all' OR d.environment = p_environment
),
-- Those that finished in the range.
finished AS (
    SELECT d.*, bench.period_of(d.finished_at, p_grain, p_tz, p_start) AS period_start
    FROM deps AS d
    WHERE d.finished_at IS NOT NULL
      AND (d.finished_at AT TIME ZONE p_tz)::date BETWEEN p_start AND p_end
),
envs AS (
    SELECT DISTINCT d.repository, d.environment FROM deps AS d
),
-- Per merged PR and environment: the first successful deployment that contains it (see the
-- header), one correlated subquery per PR.
changes AS (
    SELECT pr.repository, e.environment, pr.number, pr.merged_at, first_dep.deployment_id,
           first_dep.finished_at AS deployed_at
    FROM metrics.github_pull_requests AS pr
    JOIN envs AS e ON e.repository = pr.repository
    CROSS JOIN LATERAL (
        SELECT x.deployment_id, x.created_at, o.finished_at
        FROM metrics.github_deployments AS x
        CROSS JOIN LATERAL bench.deployment_outcome(x.repository, x.deployment_id) AS o
        WHERE x.repository = pr.repository AND x.environment = e.environment
          AND x.created_at >= pr.merged_at
          AND o.state = 'success'
          AND (SELECT min(p.pushed_at) FROM metrics.github_pushes AS p
               WHERE p.repository = x.repository AND p.after_sha = x.sha) >= pr.merged_at
        ORDER BY x.created_at, x.deployment_id
        LIMIT 1
    ) AS first_dep
    WHERE pr.merged_at IS NOT NULL
      AND (first_dep.finished_at AT TIME ZONE p_tz)::date BETWEEN p_start AND p_end
      -- not the environment's first successful deployment (what that one shipped is unknown)
      AND EXISTS (
        SELECT 1
        FROM metrics.github_deployments AS y
        CROSS JOIN LATERAL bench.deployment_outcome(y.repository, y.deployment_id) AS o
        WHERE y.repository = pr.repository AND y.environment = e.environment
          AND (y.created_at, y.deployment_id) < (first_dep.created_at, first_dep.deployment_id)
          AND o.state = 'success')
),
-- Incidents, and the deployment each is linked to: its id in the body, else its sha in the
-- body (the latest production deployment of that sha created before the incident), else the
-- last successful production deployment that finished within 24 hours before it was opened.
incidents AS (
    SELECT i.repository, i.number, i.created_at AS opened_at, i.closed_at,
           coalesce(
             (SELECT d.deployment_id FROM metrics.github_deployments AS d
              WHERE d.repository = i.repository
                AND d.deployment_id = substring(i.body FROM '(?i)deployments?(?:/|\s+#?)(\d{1,18})')::bigint),
             CASE WHEN i.body ~ '\m[0-9a-f]{7,40}\M' THEN
             (SELECT d.deployment_id FROM metrics.github_deployments AS d
              WHERE d.repository = i.repository AND d.environment = 'production'
                AND d.sha LIKE substring(i.body FROM '\m([0-9a-f]{7,40})\M') || '%'
                AND d.created_at <= i.created_at
              ORDER BY d.created_at DESC, d.deployment_id DESC
              LIMIT 1) END,
             (SELECT d.deployment_id FROM metrics.github_deployments AS d
              CROSS JOIN LATERAL bench.deployment_outcome(d.repository, d.deployment_id) AS o
              WHERE d.repository = i.repository AND d.environment = 'production'
                AND d.created_at > i.created_at - interval '48 hours' AND d.created_at <= i.created_at
                AND o.state = 'success'
                AND o.finished_at <= i.created_at AND o.finished_at >= i.created_at - interval '24 hours'
              ORDER BY o.finished_at DESC, d.deployment_id DESC
              LIMIT 1)) AS deployment_id
    FROM metrics.github_issues AS i
    WHERE 'incident' = ANY (i.labels)
      AND p_environment IN ('all', 'production')
),
-- Failures starting in the range: a failed deployment until the next successful deployment
-- of its environment (by creation) finished, an incident from opening to close.
recoveries AS (
    SELECT f.repository, f.period_start,
           extract(epoch FROM (
               SELECT o.finished_at
               FROM metrics.github_deployments AS n
               CROSS JOIN LATERAL bench.deployment_outcome(n.repository, n.deployment_id) AS o
               WHERE n.repository = f.repository AND n.environment = f.environment
                 AND (n.created_at, n.deployment_id) > (f.created_at, f.deployment_id) AND o.state = 'success'
               ORDER BY n.created_at, n.deployment_id
               LIMIT 1
           ) - f.finished_at) / 3600 AS hours
    FROM finished AS f
    WHERE f.outcome IN ('failure', 'error')
    UNION ALL
    SELECT i.repository, bench.period_of(i.opened_at, p_grain, p_tz, p_start),
           extract(epoch FROM i.closed_at - i.opened_at) / 3600
    FROM incidents AS i
    WHERE (i.opened_at AT TIME ZONE p_tz)::date BETWEEN p_start AND p_end
),
by_deployments AS (
    SELECT f.repository, f.period_start,
           count(*) FILTER (WHERE f.outcome = 'success') AS n,
           count(DISTINCT (f.finished_at AT TIME ZONE p_tz)::date) FILTER (WHERE f.outcome = 'success') AS days,
           count(*) AS finished,
           count(*) FILTER (WHERE f.outcome IN ('failure', 'error')
                               OR EXISTS (SELECT 1 FROM incidents AS i
                                          WHERE i.repository = f.repository AND i.deployment_id = f.deployment_id)) AS failed
    FROM finished AS f
    GROUP BY 1, 2
),
by_changes AS (
    SELECT c.repository, bench.period_of(c.deployed_at, p_grain, p_tz, p_start) AS period_start, count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.deployed_at - c.merged_at) / 3600) AS p50,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM c.deployed_at - c.merged_at) / 3600) AS p90
    FROM changes AS c
    GROUP BY 1, 2
),
by_recoveries AS (
    SELECT r.repository, r.period_start, count(r.hours) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY r.hours) AS p50
    FROM recoveries AS r
    GROUP BY 1, 2
),
repositories AS (
    SELECT r.repository FROM metrics.github_deployments AS r
    UNION SELECT r.repository FROM metrics.github_pull_requests AS r
    UNION SELECT r.repository FROM metrics.github_pushes AS r
),
-- Every period of the range (empty ones too) for every repository.
grid AS (
    SELECT DISTINCT bench.period_of(g.d AT TIME ZONE p_tz, p_grain, p_tz, p_start) AS period_start, r.repository
    FROM generate_series(p_start::timestamp, p_end::timestamp, interval '1 day') AS g(d)
    CROSS JOIN repositories AS r
)
SELECT g.period_start, g.repository, p_environment,
       coalesce(d.n, 0)::integer, coalesce(d.days, 0)::integer,
       c.p50::numeric, c.p90::numeric, coalesce(c.n, 0)::integer,
       round(100.0 * d.failed / nullif(d.finished, 0), 4),
       r.p50::numeric, coalesce(r.n, 0)::integer
FROM grid AS g
LEFT JOIN by_deployments AS d ON d.repository = g.repository AND d.period_start = g.period_start
LEFT JOIN by_changes AS c ON c.repository = g.repository AND c.period_start = g.period_start
LEFT JOIN by_recoveries AS r ON r.repository = g.repository AND r.period_start = g.period_start
ORDER BY g.period_start, g.repository
$$;
