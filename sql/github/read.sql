-- metrics: development metrics, the read side. The environment tiers, and the views every
-- reader of the DORA keys goes through (get_dora_metrics, explain_dora and the dora preset):
-- the rules of incidents, failures, rework and recovery are written once, here. All views
-- run as their reader (security_invoker), so the tables' row-level security applies.
-- Reference: docs/development-metrics.md.

-- The settings the views read. Superuser-settable (src/github/settings.rs); before the
-- library is loaded in a session they are unset, and the defaults apply.
CREATE FUNCTION metrics._dora_incident_label()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(nullif(pg_catalog.lower(pg_catalog.btrim(
        pg_catalog.current_setting('metrics.dora_incident_label', true))), ''), 'incident')
$$;
CREATE FUNCTION metrics._dora_hotfix_label()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(nullif(pg_catalog.lower(pg_catalog.btrim(
        pg_catalog.current_setting('metrics.dora_hotfix_label', true))), ''), 'hotfix')
$$;
CREATE FUNCTION metrics._dora_incident_window()
RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- As a number of seconds: the setting prints as '1d', which as an interval would be a
    -- calendar day (23 or 25 hours across a daylight-saving change in the session's zone).
    SELECT coalesce(EXTRACT(epoch FROM nullif(pg_catalog.current_setting('metrics.dora_incident_window', true), '')::interval),
                    86400) * interval '1 second'
$$;

-- The tier of an environment name: the owner's row, else the default.
CREATE FUNCTION metrics.environment_tier(name text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT s.tier FROM metrics.environment_settings AS s
                     WHERE s.name = pg_catalog.lower(pg_catalog.btrim(environment_tier.name))),
                    metrics._default_environment_tier(environment_tier.name))
$$;
COMMENT ON FUNCTION metrics.environment_tier(text) IS
    'The tier (production, staging, testing, development, local) of an environment name, or NULL.';

-- Every environment deployed to or set, with its tier.
CREATE VIEW metrics.environments WITH (security_invoker = true) AS
    WITH names AS (
        SELECT DISTINCT e.environment AS name FROM metrics.github_environments AS e
        UNION
        SELECT s.name FROM metrics.environment_settings AS s
    )
    SELECT n.name,
           coalesce(s.tier, metrics._default_environment_tier(n.name)) AS tier,
           s.name IS NULL AS is_default,
           s.set_by, s.set_at
    FROM names AS n
    LEFT JOIN metrics.environment_settings AS s ON s.name = n.name;
COMMENT ON VIEW metrics.environments IS
    'Environments deployed to or mapped, with their tier and whether it is the default one.';

-- Incidents: issues with the incident label, each linked to at most one deployment: named by
-- id in the body, else by sha in the body, else the last successful deployment of its
-- environment (the production tier when none is known) within the window before it opened.
-- Its environment is the linked deployment's, else the one it was recorded with; with
-- neither, none, and its tier is production.
CREATE VIEW metrics.dora_incidents WITH (security_invoker = true) AS
    -- The settings once per query (the functions pin search_path, so they are not inlined and
    -- would run per row).
    WITH s AS MATERIALIZED (
        SELECT metrics._dora_incident_label() AS label, metrics._dora_incident_window() AS window_length
    )
    SELECT i.repository, i.number,
           coalesce(l.environment, i.environment) AS environment,
           CASE WHEN coalesce(l.environment, i.environment) IS NULL THEN 'production'
                ELSE metrics.environment_tier(coalesce(l.environment, i.environment)) END AS tier,
           i.created_at AS opened_at, i.closed_at, i.title,
           l.deployment_id, l.link
    FROM s
    JOIN metrics.github_issues AS i ON i.labels @> ARRAY[s.label]
    LEFT JOIN LATERAL (
        SELECT c.deployment_id, c.environment, c.link
        FROM (
            SELECT 1 AS priority, d.deployment_id, d.environment, 'body_id' AS link, d.created_at
            FROM metrics.dora_deployments AS d
            WHERE d.repository = i.repository
              AND d.deployment_id IN (
                  SELECT m[1]::bigint
                  FROM pg_catalog.regexp_matches(i.body, 'deployments?[ /#:]*([0-9]{1,18})', 'gi') AS m)
            UNION ALL
            -- A sha or its prefix (7 hex digits or more): the deployments whose sha starts so,
            -- as a range of the (repository, sha) index ('g' follows every hex digit).
            SELECT 2, d.deployment_id, d.environment, 'body_sha', d.created_at
            FROM pg_catalog.regexp_matches(i.body, '\m([0-9a-fA-F]{7,40})\M', 'g') AS m
            CROSS JOIN LATERAL (
                SELECT x.deployment_id, x.environment, x.created_at
                FROM metrics.dora_deployments AS x
                WHERE x.repository = i.repository
                  AND x.sha >= pg_catalog.lower(m[1]) AND x.sha < pg_catalog.lower(m[1]) || 'g'
                  AND x.outcome IS NOT NULL AND x.created_at <= i.created_at
                OFFSET 0) AS d
            JOIN metrics.environments AS e ON e.name = d.environment
            WHERE d.environment = i.environment OR (i.environment IS NULL AND e.tier = 'production')
            UNION ALL
            SELECT 3, d.deployment_id, d.environment, 'window', d.finished_at
            FROM metrics.environments AS e
            JOIN metrics.dora_deployments AS d
              ON d.repository = i.repository AND d.environment = e.name AND d.outcome = 'success'
             AND d.finished_at <= i.created_at
             AND d.finished_at >= i.created_at - s.window_length
            WHERE e.name = i.environment OR (i.environment IS NULL AND e.tier = 'production')
        ) AS c
        ORDER BY c.priority, c.created_at DESC, c.deployment_id DESC
        LIMIT 1
    ) AS l ON true;
COMMENT ON VIEW metrics.dora_incidents IS
    'Issues labelled as incidents (metrics.dora_incident_label), with the deployment each is linked to and how.';

-- Deployments with a final outcome, and what the keys count them as.
CREATE VIEW metrics.dora_deployment_facts WITH (security_invoker = true) AS
    -- The linked incidents once (both parts below read them).
    WITH incidents AS MATERIALIZED (
        SELECT i.repository, i.deployment_id, i.environment, i.opened_at, i.closed_at
        FROM metrics.dora_incidents AS i WHERE i.deployment_id IS NOT NULL
    ),
    linked AS (
        SELECT DISTINCT i.repository, i.deployment_id FROM incidents AS i
    ),
    -- The first successful deployment of the incident's environment after it opened, while open.
    addressing AS (
        SELECT DISTINCT f.repository, f.deployment_id
        FROM incidents AS i
        CROSS JOIN LATERAL (
            SELECT d.repository, d.deployment_id
            FROM metrics.dora_deployments AS d
            WHERE d.repository = i.repository AND d.environment = i.environment
              AND d.outcome = 'success' AND d.finished_at > i.opened_at
              AND (i.closed_at IS NULL OR d.finished_at <= i.closed_at)
            ORDER BY d.finished_at, d.deployment_id
            LIMIT 1
        ) AS f
    ),
    hotfix_label AS MATERIALIZED (SELECT metrics._dora_hotfix_label() AS label),
    hotfix AS (
        SELECT DISTINCT c.repository, c.environment, c.deployment_id
        FROM hotfix_label AS h
        JOIN metrics.github_pull_requests AS p ON p.labels @> ARRAY[h.label]
        JOIN metrics.dora_changes AS c ON c.repository = p.repository AND c.pr_number = p.number
    )
    SELECT d.repository, d.environment, e.tier, d.deployment_id, d.sha,
           d.created_at, d.finished_at, d.outcome,
           d.outcome = 'success' AS is_success,
           (d.outcome <> 'success' OR l.deployment_id IS NOT NULL) AS is_failure,
           l.deployment_id IS NOT NULL AS incident_linked,
           (a.deployment_id IS NOT NULL OR h.deployment_id IS NOT NULL) AS is_rework,
           d.changes
    FROM metrics.dora_deployments AS d
    JOIN metrics.environments AS e ON e.name = d.environment
    LEFT JOIN linked AS l ON l.repository = d.repository AND l.deployment_id = d.deployment_id
    LEFT JOIN addressing AS a ON a.repository = d.repository AND a.deployment_id = d.deployment_id
    LEFT JOIN hotfix AS h ON h.repository = d.repository AND h.environment = d.environment
                         AND h.deployment_id = d.deployment_id
    WHERE d.outcome IS NOT NULL;
COMMENT ON VIEW metrics.dora_deployment_facts IS
    'Deployments with a final outcome: success, failure (failed or linked to an incident), rework.';

CREATE VIEW metrics.dora_change_facts WITH (security_invoker = true) AS
    SELECT c.repository, c.environment, e.tier, c.change_key, c.kind, c.pr_number, c.sha,
           c.merged_at, c.first_commit_at, c.deployment_id, c.deployed_at,
           pg_catalog.date_part('epoch', c.deployed_at - c.merged_at) / 3600 AS lead_time_hours,
           pg_catalog.date_part('epoch', c.deployed_at - c.first_commit_at) / 3600 AS lead_time_first_commit_hours
    FROM metrics.dora_changes AS c
    JOIN metrics.environments AS e ON e.name = c.environment;
COMMENT ON VIEW metrics.dora_change_facts IS
    'Changes shipped per environment, with their lead time in hours (from merge, and from the first commit).';

-- Recovered failures: a failed deployment until the next successful deployment of its
-- environment; an incident from opening to close (unless its deployment failed: that
-- failure is already counted, once). An incident of no known environment has the
-- production tier and no environment.
CREATE VIEW metrics.dora_recovery_facts WITH (security_invoker = true) AS
    SELECT r.repository, r.environment, coalesce(e.tier, r.tier) AS tier, r.source, r.id,
           r.started_at, r.recovered_at,
           pg_catalog.date_part('epoch', r.recovered_at - r.started_at) / 3600 AS recovery_hours
    FROM (
        SELECT d.repository, d.environment, NULL::text AS tier, 'deployment' AS source, d.deployment_id::text AS id,
               d.finished_at AS started_at, n.finished_at AS recovered_at
        FROM metrics.dora_deployments AS d
        CROSS JOIN LATERAL (
            SELECT s.finished_at FROM metrics.dora_deployments AS s
            WHERE s.repository = d.repository AND s.environment = d.environment
              AND s.outcome = 'success' AND s.finished_at > d.finished_at
            ORDER BY s.finished_at LIMIT 1
        ) AS n
        WHERE d.outcome IN ('failure', 'error')
        UNION ALL
        SELECT i.repository, i.environment, i.tier, 'incident', i.number::text, i.opened_at, i.closed_at
        FROM metrics.dora_incidents AS i
        WHERE i.closed_at IS NOT NULL
          AND NOT EXISTS (SELECT FROM metrics.dora_deployments AS d
                          WHERE d.repository = i.repository AND d.deployment_id = i.deployment_id
                            AND d.outcome IN ('failure', 'error'))
    ) AS r
    LEFT JOIN metrics.environments AS e ON e.name = r.environment;
COMMENT ON VIEW metrics.dora_recovery_facts IS
    'Recovered failures (deployments and incidents) with their recovery time in hours.';
