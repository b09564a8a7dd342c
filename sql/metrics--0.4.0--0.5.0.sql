-- metrics 0.4.0 -> 0.5.0: development metrics (GitHub events and the DORA keys) and the
-- percentile kind of daily metrics.
--
-- Development metrics: the raw GitHub events (metrics.github_events, under the retention
-- family 'github_events'), the facts normalised from them, the tables derived from the facts
-- (which deployment first shipped which change to which environment), the environment tiers,
-- the DORA clusters as data, the views of the keys' rules, and the functions
-- record_github_event(s), set_environment_tier, get_dora_metrics and explain_dora
-- (sql/github/, src/github/). The percentile kind: metric_definitions gets its percentile
-- column and the checks that allow the kind (and metric_type 'percentile', in daily_metrics
-- too); define_metric gets its percentile argument, so it is dropped and created again.
--
-- No existing row changes. Grants: every role with an access level gets what its level gives
-- the new and re-created objects, as a fresh install does (metrics.apply_api_access).

-- The percentile kind (sql/snapshots/tables.sql): the column is appended, as the fresh
-- install's table ends with it, and the checks are replaced by the same-named ones of a
-- fresh install. Every existing row satisfies them (no row has a percentile).
ALTER TABLE metrics.metric_definitions
    ADD COLUMN percentile double precision CHECK (percentile >= 0 AND percentile <= 1),
    DROP CONSTRAINT metric_definitions_metric_type_check,
    ADD CONSTRAINT metric_definitions_metric_type_check
        CHECK (metric_type IN ('count', 'average', 'percentage', 'aggregate', 'percentile')),
    DROP CONSTRAINT metric_definitions_kind_check,
    ADD CONSTRAINT metric_definitions_kind_check
        CHECK (kind IN ('created', 'total', 'distinct', 'average', 'percentage', 'breakdown', 'percentile')),
    DROP CONSTRAINT metric_type_follows_kind,
    ADD CONSTRAINT metric_type_follows_kind CHECK (metric_type = CASE kind
        WHEN 'average' THEN 'average' WHEN 'percentage' THEN 'percentage'
        WHEN 'breakdown' THEN 'aggregate' WHEN 'percentile' THEN 'percentile' ELSE 'count' END),
    DROP CONSTRAINT value_column_when_needed,
    ADD CONSTRAINT value_column_when_needed
        CHECK ((kind IN ('distinct', 'average', 'breakdown', 'percentile')) = (value_column IS NOT NULL)),
    ADD CONSTRAINT percentile_when_needed CHECK ((kind = 'percentile') = (percentile IS NOT NULL));
ALTER TABLE metrics.daily_metrics
    DROP CONSTRAINT daily_metrics_metric_type_check,
    ADD CONSTRAINT daily_metrics_metric_type_check
        CHECK (metric_type IN ('count', 'average', 'percentage', 'aggregate', 'percentile'));

-- define_metric takes a percentile (src/snapshots/api.rs): a new argument, so the function
-- is created again (its 0.4.0 symbol stays in the library for databases not yet updated).
DROP FUNCTION metrics.define_metric(text, text, text, text, text, text, text, text, text, text, text, text, text, integer, boolean);
CREATE FUNCTION metrics."define_metric"(
	"category" TEXT, /* Option < String > */
	"kind" TEXT, /* Option < String > */
	"source_table" TEXT DEFAULT NULL, /* Option < String > */
	"value_column" TEXT DEFAULT NULL, /* Option < String > */
	"time_column" TEXT DEFAULT 'created_at', /* Option < String > */
	"filter" TEXT DEFAULT NULL, /* Option < String > */
	"numerator" TEXT DEFAULT NULL, /* Option < String > */
	"denominator" TEXT DEFAULT NULL, /* Option < String > */
	"source_schema" TEXT DEFAULT 'public', /* Option < String > */
	"display_name" TEXT DEFAULT NULL, /* Option < String > */
	"description" TEXT DEFAULT NULL, /* Option < String > */
	"unit" TEXT DEFAULT NULL, /* Option < String > */
	"format_pattern" TEXT DEFAULT NULL, /* Option < String > */
	"top_n" INT DEFAULT 5, /* Option < i32 > */
	"replace" bool DEFAULT false, /* Option < bool > */
	"percentile" double precision DEFAULT NULL /* Option < f64 > */
) RETURNS TABLE (
	"metric_category" TEXT,  /* String */
	"metric_type" TEXT,  /* String */
	"kind" TEXT,  /* String */
	"source" TEXT,  /* Option < String > */
	"filter" TEXT,  /* Option < String > */
	"is_active" bool  /* bool */
)
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'define_wrapper';

-- The retention families (sql/maintenance/tables.sql): the raw GitHub payloads are one more.
CREATE OR REPLACE FUNCTION metrics._retention_defaults()
RETURNS TABLE (family text, kind text, keep_hourly interval, keep_daily interval, drop_after interval)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    VALUES ('route_metrics',        'rollup', interval '90 days', interval '365 days', NULL::interval),
           ('operation_metrics',    'rollup', interval '90 days', interval '365 days', NULL::interval),
           ('collection_log',       'log',    NULL::interval,     NULL::interval,      interval '365 days'),
           ('maintenance_log',      'log',    NULL::interval,     NULL::interval,      interval '365 days'),
           ('cron_job_run_details', 'log',    NULL::interval,     NULL::interval,      interval '30 days'),
           -- The raw GitHub payloads (metrics.github_events); their facts are kept.
           ('github_events',        'log',    NULL::interval,     NULL::interval,      interval '365 days')
$$;
COMMENT ON FUNCTION metrics._retention_defaults() IS
    'The retention families, their kind (rollup or log) and their default policy.';

-- The development metrics' tables (sql/github/tables.sql).

-- metrics: development metrics. GitHub events as they came (raw, with their hash), the facts
-- normalised from them, and the tables derived from the facts: which deployment first
-- shipped which change to which environment. Written only by metrics.record_github_event(s),
-- which derive in the same transaction (src/github/). Reference: docs/development-metrics.md.

-- Every event once: event_key is the delivery id when GitHub gave one, else a natural key of
-- the payload. Kept for metrics.retention_policies' family 'github_events' (by received_at),
-- so history can be recomputed from the payloads.
CREATE TABLE metrics.github_events (
    event_key      text PRIMARY KEY,
    event          text NOT NULL,
    action         text,
    kind           text NOT NULL CHECK (kind IN ('deployment', 'deployment_status', 'pull_request',
                                                 'push', 'workflow_run', 'issue', 'unknown')),
    known_action   boolean NOT NULL,
    repository     text,
    environment    text,
    delivery_id    text,
    occurred_at    timestamptz,
    received_at    timestamptz NOT NULL DEFAULT now(),
    payload        jsonb NOT NULL,
    payload_sha256 bytea NOT NULL
);
COMMENT ON TABLE metrics.github_events IS
    'GitHub events as recorded, once each (key: delivery id, else a natural key), with the payload and its SHA-256.';
CREATE INDEX idx_github_events_received ON metrics.github_events (received_at);
CREATE INDEX idx_github_events_repository ON metrics.github_events (repository, occurred_at);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_events', '');

-- The owner's environment tiers; names without a row take the default of
-- metrics._default_environment_tier. Written only by metrics.set_environment_tier.
CREATE TABLE metrics.environment_settings (
    name   text PRIMARY KEY CHECK (name = pg_catalog.lower(pg_catalog.btrim(name)) AND name <> ''),
    tier   text NOT NULL CHECK (tier IN ('production', 'staging', 'testing', 'development', 'local')),
    set_by text NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.environment_settings IS
    'Environment tiers chosen with metrics.set_environment_tier; other names keep their default tier.';
SELECT pg_catalog.pg_extension_config_dump('metrics.environment_settings', '');

-- Facts. Each has the natural key of what it describes, so an event delivered twice, or once
-- by webhook and once by a workflow, is one fact.
CREATE TABLE metrics.github_deployments (
    repository    text NOT NULL,
    deployment_id bigint NOT NULL,
    environment   text NOT NULL,
    sha           text NOT NULL,
    ref           text,
    task          text,
    description   text,
    created_at    timestamptz NOT NULL,
    creator       text,
    PRIMARY KEY (repository, deployment_id)
);
COMMENT ON TABLE metrics.github_deployments IS 'GitHub deployments (from deployment and deployment_status events).';
CREATE INDEX idx_github_deployments_env ON metrics.github_deployments (repository, environment, created_at, deployment_id);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_deployments', '');

CREATE TABLE metrics.github_deployment_statuses (
    repository    text NOT NULL,
    status_id     bigint NOT NULL,
    deployment_id bigint NOT NULL,
    state         text NOT NULL,
    created_at    timestamptz NOT NULL,
    environment   text,
    PRIMARY KEY (repository, status_id)
);
COMMENT ON TABLE metrics.github_deployment_statuses IS
    'Every status a deployment went through; its outcome is the latest success, failure or error by time.';
CREATE INDEX idx_github_deployment_statuses_deployment ON metrics.github_deployment_statuses (repository, deployment_id);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_deployment_statuses', '');

-- A pull request as its latest event (by updated_at) describes it.
CREATE TABLE metrics.github_pull_requests (
    repository       text NOT NULL,
    number           bigint NOT NULL,
    pr_id            bigint NOT NULL,
    title            text,
    state            text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    merged_at        timestamptz,
    merge_commit_sha text,
    base_ref         text NOT NULL,
    head_ref         text,
    head_sha         text,
    -- Lower-cased, as GitHub compares label names.
    labels           text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (repository, number),
    CHECK ((merged_at IS NULL) = (merge_commit_sha IS NULL))
);
COMMENT ON TABLE metrics.github_pull_requests IS
    'Pull requests as their latest event describes them (merged only when GitHub said merged: true).';
CREATE INDEX idx_github_pull_requests_merge_sha ON metrics.github_pull_requests (repository, merge_commit_sha)
    WHERE merge_commit_sha IS NOT NULL;
CREATE INDEX idx_github_pull_requests_merged ON metrics.github_pull_requests (repository, base_ref, merged_at)
    WHERE merged_at IS NOT NULL;
-- The hotfix label (metrics.dora_hotfix_label) of the rework rate.
CREATE INDEX idx_github_pull_requests_labels ON metrics.github_pull_requests USING gin (labels);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_pull_requests', '');

-- A push: the ref moved from before to after, adding commits (GitHub lists at most 20).
CREATE TABLE metrics.github_pushes (
    repository   text NOT NULL,
    ref          text NOT NULL,
    after_sha    text NOT NULL,
    before_sha   text NOT NULL,
    pushed_at    timestamptz NOT NULL,
    forced       boolean NOT NULL DEFAULT false,
    created      boolean NOT NULL DEFAULT false,
    deleted      boolean NOT NULL DEFAULT false,
    commit_shas  text[] NOT NULL DEFAULT '{}',
    commit_times timestamptz[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (repository, ref, after_sha),
    CHECK (pg_catalog.cardinality(commit_shas) = pg_catalog.cardinality(commit_times))
);
COMMENT ON TABLE metrics.github_pushes IS 'Pushes: a ref moved from before_sha to after_sha with these commits.';
CREATE INDEX idx_github_pushes_after ON metrics.github_pushes (repository, after_sha, pushed_at);
-- The pushes of a window, which deriving loads at once.
CREATE INDEX idx_github_pushes_time ON metrics.github_pushes (repository, pushed_at);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_pushes', '');

CREATE TABLE metrics.github_workflow_runs (
    repository     text NOT NULL,
    run_id         bigint NOT NULL,
    run_attempt    integer NOT NULL,
    name           text,
    event          text,
    status         text NOT NULL,
    conclusion     text,
    head_sha       text,
    head_branch    text,
    created_at     timestamptz NOT NULL,
    run_started_at timestamptz,
    updated_at     timestamptz NOT NULL,
    environment    text,
    PRIMARY KEY (repository, run_id, run_attempt)
);
COMMENT ON TABLE metrics.github_workflow_runs IS 'Workflow runs, one row per attempt, as their latest event describes them.';
SELECT pg_catalog.pg_extension_config_dump('metrics.github_workflow_runs', '');

CREATE TABLE metrics.github_issues (
    repository  text NOT NULL,
    number      bigint NOT NULL,
    issue_id    bigint NOT NULL,
    title       text,
    body        text,
    state       text NOT NULL,
    labels      text[] NOT NULL DEFAULT '{}',   -- lower-cased, as GitHub compares label names
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    closed_at   timestamptz,
    environment text,
    PRIMARY KEY (repository, number)
);
COMMENT ON TABLE metrics.github_issues IS
    'Issues as their latest event describes them; those labelled metrics.dora_incident_label are incidents.';
-- The incidents among them (labels @> the incident label).
CREATE INDEX idx_github_issues_labels ON metrics.github_issues USING gin (labels);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_issues', '');

-- Derived, per environment (see docs/development-metrics.md, "Derived tables"). Recomputed
-- from the facts for the deployments an event can change, in the recording transaction.
CREATE TABLE metrics.dora_deployments (
    repository    text NOT NULL,
    deployment_id bigint NOT NULL,
    environment   text NOT NULL,
    sha           text NOT NULL,
    ref           text,
    created_at    timestamptz NOT NULL,
    outcome       text CHECK (outcome IN ('success', 'failure', 'error')),
    finished_at   timestamptz,
    baseline_id   bigint,
    coverage      text CHECK (coverage IN ('none', 'complete', 'partial')),
    changes       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (repository, deployment_id),
    CHECK ((outcome IS NULL) = (finished_at IS NULL)),
    CHECK ((coverage IS NOT NULL) = (outcome IS NOT DISTINCT FROM 'success'))
);
COMMENT ON TABLE metrics.dora_deployments IS
    'Deployments with their outcome (latest success/failure/error by time), baseline and what they shipped.';
CREATE INDEX idx_dora_deployments_env ON metrics.dora_deployments (repository, environment, created_at, deployment_id);
CREATE INDEX idx_dora_deployments_finished ON metrics.dora_deployments (environment, finished_at)
    WHERE outcome IS NOT NULL;
-- A deployment by (a prefix of) its sha: incidents naming one in their body.
CREATE INDEX idx_dora_deployments_sha ON metrics.dora_deployments (repository, sha);
-- The next successful deployment after a failure (recovery).
CREATE INDEX idx_dora_deployments_successes ON metrics.dora_deployments (repository, environment, finished_at, deployment_id)
    WHERE outcome = 'success';
SELECT pg_catalog.pg_extension_config_dump('metrics.dora_deployments', '');

CREATE TABLE metrics.dora_deployed_shas (
    repository    text NOT NULL,
    environment   text NOT NULL,
    sha           text NOT NULL,
    deployment_id bigint NOT NULL,
    PRIMARY KEY (repository, environment, sha)
);
COMMENT ON TABLE metrics.dora_deployed_shas IS
    'The first successful deployment of each environment that contained each commit.';
CREATE INDEX idx_dora_deployed_shas_deployment ON metrics.dora_deployed_shas (repository, deployment_id);
SELECT pg_catalog.pg_extension_config_dump('metrics.dora_deployed_shas', '');

CREATE TABLE metrics.dora_changes (
    repository      text NOT NULL,
    environment     text NOT NULL,
    change_key      text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('pull_request', 'commit')),
    pr_number       bigint,
    sha             text NOT NULL,
    base_ref        text,
    merged_at       timestamptz NOT NULL,
    first_commit_at timestamptz,
    deployment_id   bigint NOT NULL,
    deployed_at     timestamptz NOT NULL,
    PRIMARY KEY (repository, environment, change_key)
);
COMMENT ON TABLE metrics.dora_changes IS
    'Each change (merged pull request, or pushed commit of no PR) with the deployment that first shipped it to the environment.';
-- The keys read a range of one environment's changes by this index alone.
CREATE INDEX idx_dora_changes_deployed ON metrics.dora_changes (environment, deployed_at)
    INCLUDE (repository, merged_at, first_commit_at, kind, base_ref);
CREATE INDEX idx_dora_changes_deployment ON metrics.dora_changes (repository, deployment_id);
CREATE INDEX idx_dora_changes_pr ON metrics.dora_changes (repository, pr_number) WHERE pr_number IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('metrics.dora_changes', '');

-- The DORA performance clusters, as data with the year of their source (the extension's
-- reference data: an update script adds next year's rows). Registered for pg_dump with a
-- filter that dumps none of them: CREATE EXTENSION (and the updates) write them.
-- get_dora_metrics uses the latest source_year.
CREATE TABLE metrics.dora_levels (
    source_year             integer NOT NULL,
    level                   text NOT NULL,
    rank                    integer NOT NULL,
    min_deploys_per_week    double precision,
    max_lead_time_hours     double precision,
    max_change_failure_rate double precision,
    max_recovery_hours      double precision,
    source                  text NOT NULL,
    PRIMARY KEY (source_year, level),
    UNIQUE (source_year, rank)
);
SELECT pg_catalog.pg_extension_config_dump('metrics.dora_levels', 'WHERE false');
COMMENT ON TABLE metrics.dora_levels IS
    'DORA performance clusters per source year: the best rank whose every threshold a period meets is its level.';

-- The repositories and environments seen, so that reading never scans the facts to list
-- them. Written with the facts.
CREATE TABLE metrics.github_repositories (
    repository    text PRIMARY KEY,
    first_seen_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.github_repositories IS 'Repositories that have GitHub facts.';
SELECT pg_catalog.pg_extension_config_dump('metrics.github_repositories', '');

CREATE TABLE metrics.github_environments (
    repository    text NOT NULL,
    environment   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, environment)
);
COMMENT ON TABLE metrics.github_environments IS 'Environments each repository has deployed to.';
SELECT pg_catalog.pg_extension_config_dump('metrics.github_environments', '');

-- DORA's 2024 clusters (Accelerate State of DevOps Report 2024, "software delivery
-- performance levels"). Deployment frequency as deployments per week (on demand: several a
-- day, taken as 7 a week; monthly: 12 in 52 weeks); Low is the catch-all.
INSERT INTO metrics.dora_levels (source_year, level, rank, min_deploys_per_week, max_lead_time_hours,
                                 max_change_failure_rate, max_recovery_hours, source)
VALUES (2024, 'elite',  1, 7,         24,   5,  1,    'DORA, Accelerate State of DevOps Report 2024'),
       (2024, 'high',   2, 1,         168,  20, 24,   'DORA, Accelerate State of DevOps Report 2024'),
       (2024, 'medium', 3, 12.0 / 52, 728,  10, 24,   'DORA, Accelerate State of DevOps Report 2024'),
       (2024, 'low',    4, NULL,      NULL, NULL, NULL, 'DORA, Accelerate State of DevOps Report 2024');

-- The development metrics' functions (src/github/api.rs).
-- src/github/api.rs:98
-- metrics::github::api::_default_environment_tier
CREATE FUNCTION metrics."_default_environment_tier"(
	"name" TEXT /* & str */
) RETURNS TEXT /* Option < String > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_default_environment_tier_wrapper';

-- src/github/api.rs:218
-- metrics::github::api::explain_dora
CREATE FUNCTION metrics."explain_dora"(
	"repository" TEXT, /* Option < String > */
	"environment" TEXT, /* Option < String > */
	"day" date /* Option < pgrx :: datum :: Date > */
) RETURNS TABLE (
	"item" TEXT,  /* String */
	"id" TEXT,  /* String */
	"at" timestamp with time zone,  /* pgrx :: datum :: TimestampWithTimeZone */
	"details" jsonb,  /* pgrx :: JsonB */
	"counts_for" TEXT[]  /* Vec < Option < String > > */
)
STABLE SECURITY DEFINER PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'explain_dora_wrapper';

-- src/github/api.rs:150
-- metrics::github::api::get_dora_metrics
CREATE FUNCTION metrics."get_dora_metrics"(
	"start_date" date, /* Option < pgrx :: datum :: Date > */
	"end_date" date, /* Option < pgrx :: datum :: Date > */
	"environment" TEXT DEFAULT 'production', /* Option < String > */
	"grain" TEXT DEFAULT 'week', /* Option < String > */
	"repository" TEXT DEFAULT NULL /* Option < String > */
) RETURNS TABLE (
	"period_start" date,  /* pgrx :: datum :: Date */
	"repository" TEXT,  /* String */
	"environment" TEXT,  /* String */
	"deployments" INT,  /* i32 */
	"deploy_days" INT,  /* i32 */
	"lead_time_p50_hours" NUMERIC,  /* Option < AnyNumeric > */
	"lead_time_p90_hours" NUMERIC,  /* Option < AnyNumeric > */
	"lead_time_n" INT,  /* i32 */
	"pending_changes" INT,  /* i32 */
	"change_failure_rate" NUMERIC,  /* Option < AnyNumeric > */
	"recovery_p50_hours" NUMERIC,  /* Option < AnyNumeric > */
	"recovery_n" INT,  /* i32 */
	"rework_rate" NUMERIC,  /* Option < AnyNumeric > */
	"level" TEXT,  /* Option < String > */
	"lead_time_first_commit_p50_hours" NUMERIC  /* Option < AnyNumeric > */
)
STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_dora_metrics_wrapper';

-- src/github/api.rs:25
-- metrics::github::api::record_github_event
CREATE FUNCTION metrics."record_github_event"(
	"event" TEXT, /* Option < String > */
	"payload" jsonb, /* Option < JsonbText > */
	"delivery_id" TEXT DEFAULT NULL, /* Option < String > */
	"environment" TEXT DEFAULT NULL /* Option < String > */
) RETURNS TABLE (
	"recorded" bool,  /* bool */
	"kind" TEXT,  /* String */
	"event_key" TEXT  /* String */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_github_event_wrapper';

-- src/github/api.rs:63
-- metrics::github::api::record_github_events
CREATE FUNCTION metrics."record_github_events"(
	"events" jsonb /* Option < JsonbText > */
) RETURNS TABLE (
	"events" INT,  /* i32 */
	"recorded" INT,  /* i32 */
	"duplicates" INT,  /* i32 */
	"unknown" INT  /* i32 */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_github_events_wrapper';

-- src/github/api.rs:104
-- metrics::github::api::set_environment_tier
CREATE FUNCTION metrics."set_environment_tier"(
	"name" TEXT, /* Option < String > */
	"tier" TEXT /* Option < String > */
) RETURNS TABLE (
	"name" TEXT,  /* String */
	"tier" TEXT,  /* Option < String > */
	"is_default" bool  /* bool */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'set_environment_tier_wrapper';

-- The read side of development metrics (sql/github/read.sql).

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

-- Every object's access level, with the new ones (sql/access/levels.sql).
CREATE OR REPLACE FUNCTION metrics.access_rules()
RETURNS TABLE (object_type text, object_name text, privilege text, access text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    VALUES
        ('schema',    'metrics',                      'USAGE',   'read'),
        ('table',     'metrics.daily_metrics',         'SELECT',  'read'),
        ('table',     'metrics.metric_definitions',    'SELECT',  'read'),
        -- Readable, but the policies return rows only to administrators.
        ('table',     'metrics.metric_collection_log', 'SELECT',  'read'),
        ('table',     'metrics.metric_revisions',      'SELECT',  'read'),
        -- metrics.is_admin() runs as the caller and reads the configured check.
        ('table',     'metrics.admin_check',           'SELECT',  'read'),
        ('table',     'metrics.api_access',            'SELECT',  'manage'),
        -- Request and operation metrics: readable, but the policies return rows only to
        -- administrators (like the collection log).
        ('table',     'metrics.route_metrics',         'SELECT',  'read'),
        ('table',     'metrics.operation_metrics',     'SELECT',  'read'),
        -- Maintenance: the periods compaction folded and the job ledger are operational
        -- data, readable by administrators only (policies); retention is configuration,
        -- for the manage level (the view runs as its reader, who needs the defaults too).
        ('table',     'metrics.compacted_periods',     'SELECT',  'read'),
        ('table',     'metrics.maintenance_log',       'SELECT',  'read'),
        ('table',     'metrics.retention_settings',    'SELECT',  'manage'),
        ('table',     'metrics.retention_policies',    'SELECT',  'manage'),
        ('function',  'metrics._retention_defaults()',                      'EXECUTE', 'manage'),
        -- maintenance: health and alerts (tables)
        -- The alert state and log are operational data, like the maintenance log: readable,
        -- but the policies return rows only to administrators. Only check_alerts() writes.
        ('table',     'metrics.alert_state',           'SELECT',  'read'),
        ('table',     'metrics.alert_log',             'SELECT',  'read'),
        -- Development metrics (tables): the raw GitHub events, the facts and what is derived
        -- from them are readable, but the policies return rows only to administrators (the
        -- payloads name people and commits); the DORA clusters are public reference data.
        ('table',     'metrics.github_events',              'SELECT', 'read'),
        ('table',     'metrics.github_deployments',         'SELECT', 'read'),
        ('table',     'metrics.github_deployment_statuses', 'SELECT', 'read'),
        ('table',     'metrics.github_pull_requests',       'SELECT', 'read'),
        ('table',     'metrics.github_pushes',              'SELECT', 'read'),
        ('table',     'metrics.github_workflow_runs',       'SELECT', 'read'),
        ('table',     'metrics.github_issues',              'SELECT', 'read'),
        ('table',     'metrics.github_repositories',        'SELECT', 'read'),
        ('table',     'metrics.github_environments',        'SELECT', 'read'),
        ('table',     'metrics.dora_deployments',           'SELECT', 'read'),
        ('table',     'metrics.dora_deployed_shas',         'SELECT', 'read'),
        ('table',     'metrics.dora_changes',               'SELECT', 'read'),
        ('table',     'metrics.dora_levels',                'SELECT', 'read'),
        -- The views of the keys' rules run as their reader, so they show administrators'
        -- rows only; get_dora_metrics reads them as its caller, who needs the environment
        -- tiers too (a name -> tier mapping, not secret).
        ('table',     'metrics.environment_settings',       'SELECT', 'read'),
        ('table',     'metrics.environments',               'SELECT', 'read'),
        ('table',     'metrics.dora_incidents',             'SELECT', 'read'),
        ('table',     'metrics.dora_deployment_facts',      'SELECT', 'read'),
        ('table',     'metrics.dora_change_facts',          'SELECT', 'read'),
        ('table',     'metrics.dora_recovery_facts',        'SELECT', 'read'),
        ('function',  'metrics.fetch_metrics(date,date,text[],text[],text)', 'EXECUTE', 'read'),
        ('function',  'metrics.activity_series(integer,text[])',            'EXECUTE', 'read'),
        ('function',  'metrics.current_metrics()',                          'EXECUTE', 'read'),
        ('function',  'metrics.last_closed_day()',                          'EXECUTE', 'read'),
        ('function',  'metrics.is_admin()',                                 'EXECUTE', 'read'),
        ('function',  'metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean)', 'EXECUTE', 'read'),
        ('function',  'metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean)', 'EXECUTE', 'read'),
        ('function',  'metrics.merge_latency_sketch(bytea,bytea)',          'EXECUTE', 'read'),
        ('function',  'metrics.merge_latency_sketches(bytea)',              'EXECUTE', 'read'),
        ('function',  'metrics.latency_quantile(bytea,double precision)',   'EXECUTE', 'read'),
        -- Recording writes the tables with the owner's rights: server-side callers only
        -- (service_role), never a browser's anon key.
        ('function',  'metrics.record_route_metric(text,text,boolean,double precision)', 'EXECUTE', 'manage'),
        ('function',  'metrics.record_operation_metric(text,boolean,double precision)',  'EXECUTE', 'manage'),
        ('function',  'metrics.record_route_metrics(jsonb)',                'EXECUTE', 'manage'),
        ('function',  'metrics.record_operation_metrics(jsonb)',            'EXECUTE', 'manage'),
        ('function',  'metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision)', 'EXECUTE', 'manage'),
        ('function',  'metrics.activate_metric(text)',                      'EXECUTE', 'manage'),
        ('function',  'metrics.deactivate_metric(text)',                    'EXECUTE', 'manage'),
        ('function',  'metrics.install_preset(text,text)',                  'EXECUTE', 'manage'),
        ('function',  'metrics.collect_daily_metrics(date)',                'EXECUTE', 'manage'),
        ('function',  'metrics.backfill_daily_metrics(date,date)',          'EXECUTE', 'manage'),
        ('procedure', 'metrics.backfill_daily_metrics_chunked(date,date,integer)', 'EXECUTE', 'manage'),
        ('function',  'metrics.recollect(date,text[],text)',                'EXECUTE', 'manage'),
        ('function',  'metrics.recollect_outdated(date,date,text,text[])',  'EXECUTE', 'manage'),
        -- Asked by backfill_daily_metrics_chunked, which runs as its caller.
        ('function',  'metrics._can_commit()',                              'EXECUTE', 'manage'),
        ('function',  'metrics.schedule_daily_collection(text)',            'EXECUTE', 'manage'),
        ('function',  'metrics.unschedule_daily_collection()',             'EXECUTE', 'manage'),
        ('function',  'metrics.verify_security()',                          'EXECUTE', 'manage'),
        -- Retention and compaction: configuration and work of the manage level.
        ('function',  'metrics.set_retention_policy(text,interval,interval,interval)', 'EXECUTE', 'manage'),
        ('function',  'metrics.compact_metrics(boolean,integer)',           'EXECUTE', 'manage'),
        -- maintenance: the maintenance job (functions)
        -- The job and its schedule: the work of the manage level, like collecting and
        -- scheduling the daily collection (service_role runs it, pg_cron as the owner).
        ('procedure', 'metrics.run_maintenance()',                          'EXECUTE', 'manage'),
        ('function',  'metrics.schedule_maintenance(text)',                 'EXECUTE', 'manage'),
        ('function',  'metrics.unschedule_maintenance()',                   'EXECUTE', 'manage'),
        -- Its steps, SECURITY DEFINER: run_maintenance runs as its caller (it commits, so
        -- it can have no SET clause nor SECURITY DEFINER), who needs EXECUTE on each.
        ('function',  'metrics._maintenance_begin()',                       'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_catch_up(uuid)',                'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_compact(uuid)',                 'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_prune(uuid,integer)',           'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_alerts(uuid)',                  'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_end(uuid)',                     'EXECUTE', 'manage'),

        -- maintenance: health and alerts (functions)
        -- health() reads the admin-only tables with the owner's rights and check_alerts()
        -- writes the alert tables: server-side operators only (service_role); both also
        -- refuse callers metrics.is_admin() does not accept, decided as the caller.
        ('function',  'metrics.health()',                                   'EXECUTE', 'manage'),
        ('function',  'metrics.check_alerts()',                             'EXECUTE', 'manage'),

        -- Development metrics (functions). The keys, read as the caller (like the request
        -- reports: their rows are the administrators').
        ('function',  'metrics.get_dora_metrics(date,date,text,text,text)', 'EXECUTE', 'read'),
        -- Recording and the tiers write with the owner's rights: server-side callers only
        -- (service_role, a workflow's service key), never a browser's anon key. explain_dora
        -- lists the facts themselves, and also refuses non-administrators.
        ('function',  'metrics.record_github_event(text,jsonb,text,text)',  'EXECUTE', 'manage'),
        ('function',  'metrics.record_github_events(jsonb)',                'EXECUTE', 'manage'),
        ('function',  'metrics.set_environment_tier(text,text)',            'EXECUTE', 'manage'),
        ('function',  'metrics.explain_dora(text,text,date)',               'EXECUTE', 'manage'),
        -- Called by the views above as their reader.
        ('function',  'metrics.environment_tier(text)',                     'EXECUTE', 'read'),
        ('function',  'metrics._default_environment_tier(text)',            'EXECUTE', 'read'),
        ('function',  'metrics._dora_incident_label()',                     'EXECUTE', 'read'),
        ('function',  'metrics._dora_hotfix_label()',                       'EXECUTE', 'read'),
        ('function',  'metrics._dora_incident_window()',                    'EXECUTE', 'read'),
        ('function',  'metrics.access_rules()',                             'EXECUTE', 'manage'),
        ('function',  'metrics.api_roles()',                                'EXECUTE', 'manage'),
        ('function',  'metrics.grant_api_access(name,text)',                'EXECUTE', 'owner'),
        ('function',  'metrics.revoke_api_access(name)',                    'EXECUTE', 'owner'),
        ('function',  'metrics.set_admin_check(text)',                      'EXECUTE', 'owner'),
        ('function',  'metrics.apply_api_access(name,text)',                'EXECUTE', 'owner'),
        ('function',  'metrics.sealed_rows_guard()',                        'EXECUTE', 'internal'),
        ('function',  'metrics._protect_history()',                         'EXECUTE', 'internal'),
        -- The distinct-count sketch the computing statements call as the source's owner,
        -- who alone is given EXECUTE on it (and USAGE on the schema), when first needed.
        ('function',  'metrics._distinct_sketch(bigint)',                   'EXECUTE', 'internal'),
        ('function',  'metrics.distinct_sketch_agg_distinct_sketch_agg_state(internal,bigint)', 'EXECUTE', 'internal'),
        ('function',  'metrics.distinct_sketch_agg_distinct_sketch_agg_finalize(internal)',     'EXECUTE', 'internal'),
        -- The level order and the parts of verify_security: called only by the owner's code
        -- (apply_api_access under grant_api_access, and verify_security, SECURITY DEFINER).
        ('function',  'metrics._access_levels()',                           'EXECUTE', 'internal'),
        ('function',  'metrics._security_rules()',                          'EXECUTE', 'internal'),
        ('function',  'metrics._security_roles()',                          'EXECUTE', 'internal'),
        ('function',  'metrics._security_routines()',                       'EXECUTE', 'internal'),
        ('function',  'metrics._security_relations()',                      'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_setup()',                 'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_privileges()',            'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_ledger()',                'EXECUTE', 'internal')
$$;
COMMENT ON FUNCTION metrics.access_rules() IS
    'The access level (read, manage, owner, internal) of every schema, table and function of the extension.';

-- Row-level security on the new tables, and their policies (sql/access/policies.sql).
ALTER TABLE metrics.github_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_deployments ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_deployment_statuses ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_pull_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_pushes ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_workflow_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_issues ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_repositories ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_environments ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.dora_deployments ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.dora_deployed_shas ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.dora_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.dora_levels ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.environment_settings ENABLE ROW LEVEL SECURITY;
-- Development metrics: GitHub's events, the facts and what is derived from them are
-- operational data naming people and commits, like the request metrics: administrators only.
CREATE POLICY "Admins can view GitHub events" ON metrics.github_events
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub deployments" ON metrics.github_deployments
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub deployment statuses" ON metrics.github_deployment_statuses
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub pull requests" ON metrics.github_pull_requests
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub pushes" ON metrics.github_pushes
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub workflow runs" ON metrics.github_workflow_runs
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub issues" ON metrics.github_issues
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub repositories" ON metrics.github_repositories
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub environments" ON metrics.github_environments
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view DORA deployments" ON metrics.dora_deployments
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view DORA deployed commits" ON metrics.dora_deployed_shas
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view DORA changes" ON metrics.dora_changes
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- The DORA clusters are public reference data, and the environment tiers a mapping the read
-- level's get_dora_metrics needs (access_rules).
CREATE POLICY "Anyone can view the DORA levels" ON metrics.dora_levels
    FOR SELECT USING (true);
CREATE POLICY "Readers can view environment settings" ON metrics.environment_settings
    FOR SELECT USING (true);

-- Nothing new for PUBLIC; each level's new and re-created objects to the roles that hold it
-- (only those: a grant made by an update script is an initial privilege, which pg_dump leaves
-- out, so the grants the owner made before stay ordinary ones). The list of each level comes
-- from access_rules(), filtered to what this update created.
REVOKE EXECUTE ON FUNCTION
    metrics.get_dora_metrics(date,date,text,text,text),
    metrics.record_github_event(text,jsonb,text,text),
    metrics.record_github_events(jsonb),
    metrics.set_environment_tier(text,text),
    metrics.explain_dora(text,text,date),
    metrics.environment_tier(text),
    metrics._default_environment_tier(text),
    metrics._dora_incident_label(),
    metrics._dora_hotfix_label(),
    metrics._dora_incident_window(),
    metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision)
    FROM PUBLIC;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT a.role_name, ru.object_type, ru.object_name, ru.privilege
        FROM metrics.api_roles() AS a
        JOIN metrics._access_levels() AS have ON have.access = a.access
        CROSS JOIN metrics.access_rules() AS ru
        JOIN metrics._access_levels() AS need ON need.access = ru.access
        WHERE a.role_exists AND need.rank <= have.rank AND ru.object_name = ANY (ARRAY[
            'metrics.github_events',
            'metrics.github_deployments',
            'metrics.github_deployment_statuses',
            'metrics.github_pull_requests',
            'metrics.github_pushes',
            'metrics.github_workflow_runs',
            'metrics.github_issues',
            'metrics.github_repositories',
            'metrics.github_environments',
            'metrics.dora_deployments',
            'metrics.dora_deployed_shas',
            'metrics.dora_changes',
            'metrics.dora_levels',
            'metrics.environment_settings',
            'metrics.environments',
            'metrics.dora_incidents',
            'metrics.dora_deployment_facts',
            'metrics.dora_change_facts',
            'metrics.dora_recovery_facts',
            'metrics.get_dora_metrics(date,date,text,text,text)',
            'metrics.record_github_event(text,jsonb,text,text)',
            'metrics.record_github_events(jsonb)',
            'metrics.set_environment_tier(text,text)',
            'metrics.explain_dora(text,text,date)',
            'metrics.environment_tier(text)',
            'metrics._default_environment_tier(text)',
            'metrics._dora_incident_label()',
            'metrics._dora_hotfix_label()',
            'metrics._dora_incident_window()',
            'metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision)'
        ])
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON %s %s TO %I', r.privilege,
            CASE r.object_type WHEN 'table' THEN 'TABLE' WHEN 'procedure' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
            r.object_name, r.role_name);
    END LOOP;
END
$$;
