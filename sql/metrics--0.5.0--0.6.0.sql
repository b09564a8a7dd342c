-- metrics 0.5.0 -> 0.6.0: projects (tenants) and the dashboard read model.
--
-- Projects (sql/projects/): metrics.projects with its membership check (the JWT claim
-- app_metadata.projects, or a function set with set_project_check), the repositories of each
-- project, and project_id on daily values, revisions, request and operation buckets, whose unique
-- keys now include it (NULLs not distinct: every existing row, of no project, stays unique).
-- Per-project daily metrics: metric_definitions gets project_column; define_metric, fetch_metrics,
-- activity_series and current_metrics get a project argument, and the request functions too, so
-- they are dropped and created again (their 0.5.0 symbols stay in the library for databases not
-- yet updated). The read model (sql/readmodel/): its type, tables and refresh state, the
-- functions refresh_read_model, get_summary, get_trend, get_breakdown and get_drilldown, the
-- read_model step of run_maintenance and the read_model_* retention families. Row-level
-- security: the policy on daily_metrics shows a project's values to its members and
-- administrators only; every new table has RLS and its policy.
--
-- No existing row changes. Grants: every role with an access level gets what its level gives
-- the new and re-created objects, as a fresh install does (metrics.apply_api_access).

-- Per-project metrics (sql/snapshots/tables.sql): the column is appended, as the fresh
-- install's table ends with it; no existing definition is a percentage with a project column.
ALTER TABLE metrics.metric_definitions
    ADD COLUMN project_column text,
    ADD CONSTRAINT project_column_of_a_source CHECK (project_column IS NULL OR kind <> 'percentage');

-- The maintenance ledger has one more step, the read model's refresh (sql/maintenance/tables.sql):
-- the check is replaced by the fresh install's, under its name.
ALTER TABLE metrics.maintenance_log
    DROP CONSTRAINT maintenance_log_step_check,
    ADD CONSTRAINT maintenance_log_step_check CHECK (step IN ('run', 'catch_up', 'compact', 'read_model', 'prune', 'alerts'));

DROP FUNCTION metrics.current_metrics();
DROP FUNCTION metrics.activity_series("days" INT, "categories" TEXT[]);
DROP FUNCTION metrics.define_metric("category" TEXT, "kind" TEXT, "source_table" TEXT, "value_column" TEXT, "time_column" TEXT, "filter" TEXT, "numerator" TEXT, "denominator" TEXT, "source_schema" TEXT, "display_name" TEXT, "description" TEXT, "unit" TEXT, "format_pattern" TEXT, "top_n" INT, "replace" bool, "percentile" double precision);
DROP FUNCTION metrics.fetch_metrics("start_date" date, "end_date" date, "categories" TEXT[], "types" TEXT[], "aggregation" TEXT);
DROP FUNCTION metrics.get_operation_metrics("operation" TEXT, "start_at" timestamp with time zone, "end_at" timestamp with time zone, "grain" TEXT, "combined" bool);
DROP FUNCTION metrics.get_route_metrics("route" TEXT, "method" TEXT, "start_at" timestamp with time zone, "end_at" timestamp with time zone, "grain" TEXT, "combined" bool);
DROP FUNCTION metrics.record_operation_metric("operation" TEXT, "success" bool, "duration_ms" double precision);
DROP FUNCTION metrics.record_route_metric("route" TEXT, "method" TEXT, "success" bool, "duration_ms" double precision);
-- requires:
--   snapshot_tables
-- metrics: current_metrics(), the read function written in SQL. STABLE and SECURITY INVOKER: they read what the
-- caller may read (the read level may read daily_metrics and metric_definitions).
-- The latest sealed value of every metric, one row per category: the whole database's, or
-- with a project (slug or id, resolved as the caller by metrics.project_id: 42704 for a
-- project unknown or not the caller's) the project's, of its per-project metrics.
CREATE FUNCTION metrics.current_metrics(project text DEFAULT NULL)
RETURNS TABLE (
    metric_category text,
    metric_type     text,
    display_name    text,
    unit            text,
    metric_date     date,
    value           numeric,
    metadata        jsonb,
    is_active       boolean
)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH scope AS (
        SELECT CASE WHEN current_metrics.project IS NOT NULL
                    THEN metrics.project_id(current_metrics.project) END AS id
    )
    SELECT d.metric_category, d.metric_type, d.display_name, d.unit,
           m.metric_date, m.value, m.metadata, d.is_active
    FROM scope
    CROSS JOIN metrics.metric_definitions AS d
    CROSS JOIN LATERAL (
        SELECT dm.metric_date, dm.value, dm.metadata
        FROM metrics.daily_metrics AS dm
        WHERE dm.metric_category = d.metric_category
          AND CASE WHEN scope.id IS NULL THEN dm.project_id IS NULL ELSE dm.project_id = scope.id END
        ORDER BY dm.metric_date DESC
        LIMIT 1
    ) AS m
    WHERE scope.id IS NULL OR d.project_column IS NOT NULL
    ORDER BY d.metric_category
$$;
COMMENT ON FUNCTION metrics.current_metrics(text) IS
    'The latest sealed value of every metric: the whole database''s, or a project''s (its per-project metrics).';
-- The families and their defaults. A rollup family's hour rows are folded into days after
-- keep_hourly and days into ISO weeks after keep_daily (NULL: days are kept); a log family's
-- rows are deleted after drop_after. NULL drop_after: never dropped.
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
           ('github_events',        'log',    NULL::interval,     NULL::interval,      interval '365 days'),
           -- The read model (seed 004): summaries whole for 30 days, then the last of each
           -- project's day, dropped after 180 days; trend points at hour and day grain for
           -- 90 days, then week and month points only (kept); breakdowns 90 days;
           -- drill-downs 30 days.
           ('read_model_summary',   'downsample', NULL::interval, interval '30 days', interval '180 days'),
           ('read_model_trend',     'downsample', NULL::interval, interval '90 days', NULL::interval),
           ('read_model_breakdown', 'log',    NULL::interval,     NULL::interval,      interval '90 days'),
           ('read_model_drilldown', 'log',    NULL::interval,     NULL::interval,      interval '30 days')
$$;
COMMENT ON FUNCTION metrics._retention_defaults() IS
    'The retention families, their kind (rollup, log or downsample) and their default policy.';
COMMENT ON TABLE metrics.maintenance_log IS
    'The maintenance ledger: each run of metrics.run_maintenance and each of its steps (catch-up, compaction, read-model refresh, pruning, alerts), with what it did.';
-- requires:
--   snapshot_tables
--   request_tables
-- metrics: projects, the scope of the read model and of what a user may see. A project is a
-- tenant (a customer organisation of a B2B app, a team, an app): per-project metrics seal one
-- value per (day, metric, project), request events may name a project, GitHub repositories
-- belong to one, and every row of the read model belongs to exactly one.
--
-- At most one project covers the whole database (whole_database): its read model is made of
-- what belongs to no project (the daily values of the whole database, every request, every
-- repository), so a single-tenant app has a dashboard without scoping anything.
CREATE TABLE metrics.projects (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- What URLs, JWT claims and API arguments name a project by; ids work everywhere too.
    slug           text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- The zone the project's read model buckets hours into days, weeks and months (and
    -- what "today" means for its live values); NULL: metrics.timezone. Sealed daily values
    -- are days of metrics.timezone, for every project alike.
    time_zone      text,
    whole_database boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_slug_key UNIQUE (slug)
);
COMMENT ON TABLE metrics.projects IS
    'Projects (tenants): the scope of the read model and of per-project metrics. Change through metrics.create_project, update_project, drop_project.';
CREATE UNIQUE INDEX projects_one_whole_database ON metrics.projects (whole_database) WHERE whole_database;
-- The function that decides who is a member of a project, when the default JWT claim is not
-- the rule (at most one row; none means the default: app_metadata.projects).
CREATE TABLE metrics.project_check (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    check_function text NOT NULL,
    set_by         name NOT NULL DEFAULT session_user,
    set_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.project_check IS
    'The membership check configured with metrics.set_project_check (empty: JWT app_metadata.projects).';
-- GitHub repositories belong to a project ("owner/name", as recorded): their DORA keys are
-- the project's.
CREATE TABLE metrics.project_repositories (
    repository text PRIMARY KEY,
    project_id uuid NOT NULL REFERENCES metrics.projects (id) ON DELETE CASCADE,
    mapped_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.project_repositories IS
    'Which project each GitHub repository belongs to. Change through metrics.set_project_repository.';
CREATE INDEX idx_project_repositories_project ON metrics.project_repositories (project_id);
-- Per-project daily values: the project a sealed value belongs to (NULL: the whole database,
-- as every value before 0.6.0). A project with sealed values cannot be dropped: sealed is
-- sealed.
ALTER TABLE metrics.daily_metrics
    ADD COLUMN project_id uuid,
    ADD CONSTRAINT daily_metric_project FOREIGN KEY (project_id) REFERENCES metrics.projects (id);
ALTER TABLE metrics.metric_revisions ADD COLUMN project_id uuid;
-- A project's series (fetch_metrics, activity_series, current_metrics with a project, the read
-- model's refresh): the other indexes lead with the date or the category, and would walk every
-- project's rows of a category (at 200 projects, a year of one metric read in 72 ms instead of 1).
CREATE INDEX idx_daily_metrics_project ON metrics.daily_metrics (project_id, metric_category, metric_date DESC)
    WHERE project_id IS NOT NULL;
-- One value per (date, type, category, project), the whole database's (NULL) included: NULL
-- is one scope, not "distinct from every other NULL".
ALTER TABLE metrics.daily_metrics
    DROP CONSTRAINT unique_daily_metric,
    ADD CONSTRAINT unique_daily_metric UNIQUE NULLS NOT DISTINCT (metric_date, metric_type, metric_category, project_id);
-- Request and operation events may name a project; their buckets are then the project's
-- (NULL: no project). No foreign key: recording checks the project once per batch, and a
-- foreign key would cost every upsert a lookup.
ALTER TABLE metrics.route_metrics ADD COLUMN project_id uuid;
ALTER TABLE metrics.operation_metrics ADD COLUMN project_id uuid;
-- A bucket is per project: a (route, method, hour) has a row for each project its events
-- named and one for the events of no project; NULLS NOT DISTINCT keeps those of no project
-- one row, as before 0.6.0. Recording adds into the buckets with ON CONFLICT ON CONSTRAINT,
-- so the constraints keep their names (sql/metrics--0.5.0--0.6.0.sql makes the same change).
ALTER TABLE metrics.route_metrics
    DROP CONSTRAINT route_metrics_bucket,
    ADD CONSTRAINT route_metrics_bucket UNIQUE NULLS NOT DISTINCT (route, method, period_start, project_id);
ALTER TABLE metrics.operation_metrics
    DROP CONSTRAINT operation_metrics_bucket,
    ADD CONSTRAINT operation_metrics_bucket UNIQUE NULLS NOT DISTINCT (operation, period_start, project_id);
SELECT pg_catalog.pg_extension_config_dump('metrics.projects', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.project_check', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.project_repositories', '');
-- requires:
--   request_tables
--   project_tables
-- metrics: what the read API (get_summary, get_trend, get_breakdown, get_drilldown) needs
-- besides the read model's tables. The open hour and day of a project's requests are read
-- live from metrics.route_metrics by project and time: without this index every call would
-- walk the open day's rows of every project (idx_route_metrics_period) to keep its own. A
-- recorded request adds an entry only when it makes a new hour row (project and hour never
-- change, so updates of the counters stay HOT).
CREATE INDEX idx_route_metrics_project ON metrics.route_metrics (project_id, period_start);
-- requires:
--   project_tables
-- metrics: the read model of dashboards (seed 004): summary, trend, breakdown and drill-down
-- rows, every one scoped by project_id, computed by metrics.refresh_read_model from the
-- sealed daily values, the request metrics and the DORA keys, and compacted by the retention
-- policy (families read_model_*). Closed buckets only: the open day and hour are computed live
-- by the get_* functions, never stored. Rows are written only by refresh_read_model and
-- maintenance; RLS shows a reader the rows of their projects (sql/access/policies.sql).
CREATE TYPE metrics.metrics_time_grain AS ENUM ('hour', 'day', 'week', 'month');
COMMENT ON TYPE metrics.metrics_time_grain IS 'The grains of the read model: hour, day, week (ISO, Monday), month.';
-- Summary payloads (Metrics API contract v1.0), one per project per scheduled run.
CREATE TABLE metrics.metrics_summary (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid NOT NULL REFERENCES metrics.projects (id) ON DELETE CASCADE,
    captured_at timestamptz NOT NULL,
    version     text NOT NULL DEFAULT '1.0',
    scope       jsonb NOT NULL DEFAULT '{}',
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.metrics_summary IS
    'Summary payloads of each project, one per refresh_read_model run (contract version in version).';
CREATE INDEX idx_metrics_summary_project ON metrics.metrics_summary (project_id, captured_at DESC);
-- Time-series points: one per (project, metric key, grain, bucket, dimensions).
CREATE TABLE metrics.metrics_trend_point (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id    uuid NOT NULL REFERENCES metrics.projects (id) ON DELETE CASCADE,
    metric_key    text NOT NULL,
    time_grain    metrics.metrics_time_grain NOT NULL,
    time_bucket   timestamptz NOT NULL,
    dimensions    jsonb NOT NULL DEFAULT '{}',
    value_numeric double precision,
    value_json    jsonb NOT NULL DEFAULT '{}',
    computed_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT metrics_trend_point_key UNIQUE (project_id, metric_key, time_grain, time_bucket, dimensions)
);
COMMENT ON TABLE metrics.metrics_trend_point IS
    'Trend points per project, metric key, grain and bucket (closed buckets; written by refresh_read_model).';
CREATE INDEX idx_metrics_trend_point_series ON metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket DESC);
CREATE INDEX idx_metrics_trend_point_dimensions ON metrics.metrics_trend_point USING gin (dimensions);
-- Category breakdowns: one per (project, metric key, grain, bucket, dimension, value).
CREATE TABLE metrics.metrics_breakdown_point (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id      uuid NOT NULL REFERENCES metrics.projects (id) ON DELETE CASCADE,
    metric_key      text NOT NULL,
    time_grain      metrics.metrics_time_grain,
    time_bucket     timestamptz,
    dimension_key   text NOT NULL,
    dimension_value text NOT NULL,
    value_numeric   double precision,
    value_json      jsonb NOT NULL DEFAULT '{}',
    computed_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT metrics_breakdown_point_key UNIQUE NULLS NOT DISTINCT
        (project_id, metric_key, time_grain, time_bucket, dimension_key, dimension_value)
);
COMMENT ON TABLE metrics.metrics_breakdown_point IS
    'Breakdown points per project, metric key, bucket and dimension value (written by refresh_read_model).';
CREATE INDEX idx_metrics_breakdown_point_series ON metrics.metrics_breakdown_point (project_id, metric_key, time_grain, time_bucket DESC);
CREATE INDEX idx_metrics_breakdown_point_dimension ON metrics.metrics_breakdown_point (project_id, dimension_key, dimension_value);
-- Entity drill-downs: one per (project, metric key, entity type, entity).
CREATE TABLE metrics.metrics_drilldown (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id   uuid NOT NULL REFERENCES metrics.projects (id) ON DELETE CASCADE,
    metric_key   text NOT NULL,
    entity_type  text NOT NULL,
    entity_id    uuid,
    -- The entity's key when it is not a uuid (a pull request "owner/name#12", a deployment
    -- id, a route "GET /users"); always set, so paging has one total order.
    reference_id text NOT NULL,
    time_bucket  timestamptz,
    payload      jsonb NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT metrics_drilldown_key UNIQUE (project_id, metric_key, entity_type, reference_id)
);
COMMENT ON TABLE metrics.metrics_drilldown IS
    'Entity drill-downs per project and metric key: pull requests, deployments, routes, breakdown keys (written by refresh_read_model).';
CREATE INDEX idx_metrics_drilldown_entity ON metrics.metrics_drilldown (project_id, metric_key, entity_type, entity_id);
CREATE INDEX idx_metrics_drilldown_reference ON metrics.metrics_drilldown (project_id, metric_key, reference_id);
-- Keyset pagination of get_drilldown: newest first, then by reference.
CREATE INDEX idx_metrics_drilldown_page ON metrics.metrics_drilldown (project_id, metric_key, entity_type, time_bucket DESC, reference_id);
-- Derived, but kept by pg_dump like the sealed values: after retention has compacted the
-- sources (request hours, raw events), the read model's history can no longer be rebuilt.
SELECT pg_catalog.pg_extension_config_dump('metrics.metrics_summary', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.metrics_trend_point', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.metrics_breakdown_point', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.metrics_drilldown', '');
-- requires:
--   readmodel_tables
-- metrics: how far metrics.refresh_read_model has got, per project and source, so that a run
-- recomputes only what changed since the last one. Written only by the refresh, in the same
-- transaction as the points it covers: a cancelled or killed run leaves both as they were.
--
--   daily     sealed daily values: rows sealed (collection_timestamp, created_at) or revised
--             (metric_revisions.revised_at) at or after watermark; cut_day the last closed
--             day covered
--   requests  request rows updated (route_metrics.updated_at) at or after watermark;
--             cut_hour the end of the last closed hour covered
--   github    GitHub events received (github_events.received_at) at or after watermark;
--             cut_day the last closed day covered
--
-- The watermark is the start of the oldest transaction still open when the run began (at
-- most the run's own start): a row committed later by a transaction that started earlier
-- carries an earlier time, and would be missed by a watermark of the run's own start.
CREATE TABLE metrics.read_model_state (
    project_id   uuid NOT NULL REFERENCES metrics.projects (id) ON DELETE CASCADE,
    source       text NOT NULL CHECK (source IN ('daily', 'requests', 'github')),
    watermark    timestamptz NOT NULL,
    cut_day      date,
    cut_hour     timestamptz,
    refreshed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, source)
);
COMMENT ON TABLE metrics.read_model_state IS
    'How far refresh_read_model has got per project and source (watermark of changes, last closed day or hour covered).';
-- Derived like the read model, and kept by pg_dump with it: a restored read model and its
-- state go together (a state without its points would make the next run skip them).
SELECT pg_catalog.pg_extension_config_dump('metrics.read_model_state', '');
-- requires:
--   project_tables
-- metrics: projects and who is a member of them. The membership check is pluggable like the
-- administrator check: by default the JWT claim app_metadata.projects (an array of project
-- ids or slugs, or one of them), or a function of the project id the owner sets with
-- set_project_check. Administrators read every project.
--
-- How the policies use it (sql/access/policies.sql): the projects table shows a reader the
-- projects is_project_member accepts (per row: it reads no table, so it never recurses);
-- every project-scoped table shows the rows of member_projects(), the ids of the projects a
-- reader sees, computed once per query as an InitPlan.
-- Whether the request is a member of the project (not counting administrators): the
-- configured check, called as the caller, or the default JWT claim.
CREATE FUNCTION metrics.is_project_member(project_id uuid, project_slug text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    configured text;
    check_fn   regprocedure;
    verdict    boolean;
    claims     text;
    claimed    jsonb;
BEGIN
    IF project_id IS NULL THEN
        RETURN false;
    END IF;
    SELECT c.check_function INTO configured FROM metrics.project_check AS c;
    IF configured IS NOT NULL THEN
        check_fn := pg_catalog.to_regprocedure(configured);
        IF check_fn IS NULL THEN
            RETURN false;  -- dropped since it was set: fail closed (verify_security reports it)
        END IF;
        EXECUTE pg_catalog.format('SELECT %s($1)', check_fn::regproc) INTO verdict USING project_id;
        RETURN coalesce(verdict, false);
    END IF;
    claims := pg_catalog.current_setting('request.jwt.claims', true);
    IF claims IS NULL OR claims = '' THEN
        RETURN false;
    END IF;
    -- Claims that are not a JSON object, hold values PostgreSQL cannot represent or nest too
    -- deeply make nobody a member, and never turn a read into an error (as is_admin).
    BEGIN
        claimed := claims::jsonb -> 'app_metadata' -> 'projects';
    EXCEPTION WHEN data_exception OR statement_too_complex THEN
        RETURN false;
    END;
    RETURN CASE pg_catalog.jsonb_typeof(claimed)
        WHEN 'array' THEN claimed ? (project_id::text) OR (project_slug IS NOT NULL AND claimed ? project_slug)
        WHEN 'string' THEN claimed #>> '{}' IN (project_id::text, project_slug)
        ELSE false END;
END
$$;
COMMENT ON FUNCTION metrics.is_project_member(uuid, text) IS
    'True when the request is a member of the project: the check set with metrics.set_project_check, or by default the JWT claim app_metadata.projects (ids or slugs).';
-- The ids of the projects the caller reads: all of them for administrators, else those the
-- projects table's policy shows (is_project_member). Policies call it as (SELECT ...): once
-- per query.
CREATE FUNCTION metrics.member_projects()
RETURNS uuid[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(pg_catalog.array_agg(p.id ORDER BY p.id), '{}') FROM metrics.projects AS p
$$;
COMMENT ON FUNCTION metrics.member_projects() IS
    'The ids of the projects the caller may read (administrators: all).';
-- A project named by slug or id, among those the caller reads. A project the caller may not
-- read does not exist for them: same error, same message, whether it exists or not.
CREATE FUNCTION metrics.project_id(project text)
RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found uuid;
BEGIN
    IF project IS NULL THEN
        RAISE EXCEPTION 'project must not be NULL'
            USING ERRCODE = '22004', HINT = 'name a project by its slug or id; metrics.projects lists the projects you can read';
    END IF;
    SELECT p.id INTO found FROM metrics.projects AS p
    WHERE p.slug = project OR p.id::text = pg_catalog.lower(project);
    IF found IS NULL THEN
        RAISE EXCEPTION 'project "%" does not exist', pg_catalog.left(project, 100)
            USING ERRCODE = '42704', HINT = 'name a project by its slug or id; metrics.projects lists the projects you can read';
    END IF;
    RETURN found;
END
$$;
COMMENT ON FUNCTION metrics.project_id(text) IS
    'The id of a project named by slug or id, among the projects the caller reads (42704 otherwise).';
-- Checks a project's fields; raises 22023 with the field's name.
CREATE FUNCTION metrics._check_project_fields(slug text, name text, time_zone text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF slug IS NOT NULL AND slug !~ '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'slug "%" is not a valid project slug', pg_catalog.left(slug, 100)
            USING ERRCODE = '22023',
                  HINT = 'use 1 to 63 lowercase letters, digits, "-" or "_", starting with a letter or digit, e.g. acme-corp';
    END IF;
    IF name IS NOT NULL AND pg_catalog.length(pg_catalog.btrim(name)) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'name must have 1 to 200 characters besides spaces'
            USING ERRCODE = '22023', HINT = 'give the project a name people recognise, e.g. Acme Corp';
    END IF;
    IF time_zone IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.pg_timezone_names AS z WHERE z.name = time_zone) THEN
        RAISE EXCEPTION 'time_zone "%" is not a time zone', pg_catalog.left(time_zone, 100)
            USING ERRCODE = '22023',
                  HINT = 'use a name from pg_timezone_names such as UTC or Europe/Berlin, or NULL for metrics.timezone';
    END IF;
END
$$;
COMMENT ON FUNCTION metrics._check_project_fields(text, text, text) IS
    'Part of create_project and update_project: refuses a bad slug, name or time zone (22023).';
CREATE FUNCTION metrics.create_project(slug text, name text, time_zone text DEFAULT NULL, whole_database boolean DEFAULT false)
RETURNS metrics.projects
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    created metrics.projects;
BEGIN
    IF slug IS NULL OR name IS NULL OR whole_database IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN slug IS NULL THEN 'slug' WHEN name IS NULL THEN 'name' ELSE 'whole_database' END
            USING ERRCODE = '22004', HINT = 'metrics.create_project(''acme-corp'', ''Acme Corp'')';
    END IF;
    PERFORM metrics._check_project_fields(slug, name, time_zone);
    IF EXISTS (SELECT FROM metrics.projects AS p WHERE p.slug = create_project.slug) THEN
        RAISE EXCEPTION 'project "%" already exists', slug
            USING ERRCODE = '23505', HINT = 'choose another slug, or change the project with metrics.update_project';
    END IF;
    IF whole_database AND EXISTS (SELECT FROM metrics.projects AS p WHERE p.whole_database) THEN
        RAISE EXCEPTION 'another project already covers the whole database'
            USING ERRCODE = '23505', HINT = 'only one project can hold what belongs to no project; SELECT slug FROM metrics.projects WHERE whole_database';
    END IF;
    INSERT INTO metrics.projects AS p (slug, name, time_zone, whole_database)
    VALUES (create_project.slug, pg_catalog.btrim(create_project.name), create_project.time_zone, create_project.whole_database)
    RETURNING p.* INTO created;
    RETURN created;
END
$$;
COMMENT ON FUNCTION metrics.create_project(text, text, text, boolean) IS
    'Creates a project (slug, name, time zone or NULL for metrics.timezone, whether it covers the whole database).';
CREATE FUNCTION metrics.update_project(project text, slug text DEFAULT NULL, name text DEFAULT NULL, time_zone text DEFAULT NULL)
RETURNS metrics.projects
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target  uuid := metrics.project_id(project);
    changed metrics.projects;
BEGIN
    PERFORM metrics._check_project_fields(slug, name, time_zone);
    IF slug IS NOT NULL AND EXISTS (SELECT FROM metrics.projects AS p WHERE p.slug = update_project.slug AND p.id <> target) THEN
        RAISE EXCEPTION 'project "%" already exists', slug
            USING ERRCODE = '23505', HINT = 'choose another slug';
    END IF;
    UPDATE metrics.projects AS p
    SET slug = coalesce(update_project.slug, p.slug),
        name = coalesce(pg_catalog.btrim(update_project.name), p.name),
        time_zone = coalesce(update_project.time_zone, p.time_zone),
        updated_at = pg_catalog.now()
    WHERE p.id = target
    RETURNING p.* INTO changed;
    RETURN changed;
END
$$;
COMMENT ON FUNCTION metrics.update_project(text, text, text, text) IS
    'Changes a project''s slug, name or time zone (NULL keeps each).';
CREATE FUNCTION metrics.drop_project(project text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target uuid := metrics.project_id(project);
    sealed bigint;
BEGIN
    SELECT pg_catalog.count(*) INTO sealed FROM metrics.daily_metrics AS d WHERE d.project_id = target;
    IF sealed > 0 THEN
        RAISE EXCEPTION 'project "%" has % sealed daily values', project, sealed
            USING ERRCODE = '2BP01',
                  DETAIL = 'Sealed values are never deleted, so their project stays.',
                  HINT = 'keep the project; remove its members from the check (or the JWT claim) to hide it';
    END IF;
    DELETE FROM metrics.projects AS p WHERE p.id = target;
    RETURN true;
END
$$;
COMMENT ON FUNCTION metrics.drop_project(text) IS
    'Drops a project without sealed values, with its read model and repository mappings.';
-- A GitHub repository's project (NULL: no project any more).
CREATE FUNCTION metrics.set_project_repository(repository text, project text)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target uuid;
BEGIN
    IF repository IS NULL OR repository !~ '^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$' THEN
        RAISE EXCEPTION 'repository % is not "owner/name"', coalesce(pg_catalog.quote_literal(pg_catalog.left(repository, 100)), 'NULL')
            USING ERRCODE = '22023', HINT = 'name the repository as GitHub does, e.g. acme/shop';
    END IF;
    IF project IS NULL THEN
        DELETE FROM metrics.project_repositories AS r WHERE r.repository = set_project_repository.repository;
        RETURN NULL;
    END IF;
    target := metrics.project_id(project);
    INSERT INTO metrics.project_repositories AS r (repository, project_id)
    VALUES (set_project_repository.repository, target)
    ON CONFLICT ON CONSTRAINT project_repositories_pkey
    DO UPDATE SET project_id = excluded.project_id, mapped_at = pg_catalog.now();
    RETURN target;
END
$$;
COMMENT ON FUNCTION metrics.set_project_repository(text, text) IS
    'Puts a GitHub repository (owner/name) in a project, so its DORA keys are the project''s; NULL removes it.';
CREATE FUNCTION metrics.set_project_check(check_function text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn regprocedure;
BEGIN
    IF check_function IS NULL THEN
        DELETE FROM metrics.project_check;
        RETURN NULL;
    END IF;
    fn := metrics._resolve_check_function(check_function, 'uuid'::regtype,
        'a function of the project id that returns boolean, such as public.is_member(uuid)');
    INSERT INTO metrics.project_check AS c (singleton, check_function)
    VALUES (true, fn::text)
    ON CONFLICT ON CONSTRAINT project_check_pkey
    DO UPDATE SET check_function = excluded.check_function, set_by = session_user, set_at = pg_catalog.now();
    RETURN fn::text;
END
$$;
COMMENT ON FUNCTION metrics.set_project_check(text) IS
    'Use a boolean function of the project id (uuid) to decide who is a member of a project; NULL restores the default JWT claim check (app_metadata.projects).';
CREATE  FUNCTION "_maintenance_read_model"(
	"run_id" uuid /* Option < Uuid > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_maintenance_read_model_wrapper';
-- requires:
--   maintenance_tables
--   snapshots::api::_can_commit
--   jobs::api::_maintenance_begin
--   jobs::api::_maintenance_catch_up
--   jobs::api::_maintenance_compact
--   jobs::api::_maintenance_prune
--   jobs::api::_maintenance_alerts
--   jobs::api::_maintenance_read_model
--   jobs::api::_maintenance_end
-- metrics: the maintenance job. One procedure runs every step in order (catch-up collection,
-- compaction, the read model's refresh, pruning, then alerts) and records each in metrics.maintenance_log; the steps
-- are SECURITY DEFINER functions metrics._maintenance_*. It is a procedure with no SET
-- clause and SECURITY INVOKER, like backfill_daily_metrics_chunked, so that it may COMMIT
-- after every unit of work: an interrupted run keeps what it finished, and the next run
-- finishes the rest. CALLed on its own (pg_cron's job, psql in autocommit) it commits;
-- inside a transaction block it runs in the caller's transaction without committing, so
-- BEGIN; CALL metrics.run_maintenance(); ROLLBACK; leaves nothing behind.
CREATE OR REPLACE PROCEDURE metrics.run_maintenance()
LANGUAGE plpgsql
AS $$
DECLARE
    commits  boolean := metrics._can_commit();
    this_run uuid;
    outcome  text;
BEGIN
    -- Another run working: this one is recorded as skipped, and does nothing.
    this_run := metrics._maintenance_begin();
    IF this_run IS NULL THEN
        RAISE NOTICE 'metrics: another maintenance run is working; this one did nothing (recorded as skipped in metrics.maintenance_log)';
        RETURN;
    END IF;
    -- The run's row, committed at once, tells other sessions that this run is working.
    IF commits THEN COMMIT; END IF;

    -- Catch-up: every closed day each metric misses, oldest first (metrics.catch_up_days
    -- at most); transient failures are retried inside it, the others at the next run.
    PERFORM metrics._maintenance_catch_up(this_run);
    IF commits THEN COMMIT; END IF;

    -- Compaction: one unit (metrics.compact_metrics(false, 1)) per call, committed each.
    WHILE metrics._maintenance_compact(this_run) LOOP
        IF commits THEN COMMIT; END IF;
    END LOOP;
    IF commits THEN COMMIT; END IF;

    -- The read model: one project per call (metrics.refresh_read_model's work for it, from
    -- what changed since its last refresh), committed each, so a cancel or a crash keeps
    -- every project done and leaves the one in progress untouched.
    WHILE metrics._maintenance_read_model(this_run) LOOP
        IF commits THEN COMMIT; END IF;
    END LOOP;
    IF commits THEN COMMIT; END IF;

    -- Pruning: the collection log, the ledger and pg_cron's run details of the extension's
    -- jobs, past their retention policies, one batch per call, committed each.
    WHILE metrics._maintenance_prune(this_run) LOOP
        IF commits THEN COMMIT; END IF;
    END LOOP;
    IF commits THEN COMMIT; END IF;

    -- Alerts: the health checks, each transition into or out of critical recorded and sent
    -- with NOTIFY metrics_alerts (metrics.check_alerts()).
    PERFORM metrics._maintenance_alerts(this_run);
    IF commits THEN COMMIT; END IF;

    outcome := metrics._maintenance_end(this_run);
    IF outcome <> 'completed' THEN
        RAISE WARNING 'metrics: maintenance run % ended %; see metrics.maintenance_log', this_run, outcome;
    END IF;
END
$$;
COMMENT ON PROCEDURE metrics.run_maintenance() IS
    'The maintenance job: catch-up collection, compaction, read-model refresh, pruning and alerts, each step recorded in metrics.maintenance_log; a second run while one works is recorded as skipped.';
-- The access level of every object. A function or table missing here is treated as 'owner'
-- by metrics.verify_security, and the install test fails until it is listed.
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
        -- Projects: readable, but the policies show a reader only the projects they are a
        -- member of (administrators: all), and the rows of those projects; is_project_member()
        -- runs as the caller and reads the configured check, like is_admin() the admin check.
        ('table',     'metrics.projects',                   'SELECT', 'read'),
        ('table',     'metrics.project_check',              'SELECT', 'read'),
        ('table',     'metrics.project_repositories',       'SELECT', 'read'),
        ('function',  'metrics.is_project_member(uuid,text)',               'EXECUTE', 'read'),
        ('function',  'metrics.member_projects()',                          'EXECUTE', 'read'),
        ('function',  'metrics.project_id(text)',                           'EXECUTE', 'read'),
        -- The read model: readable, but the policies show a reader only their projects' rows.
        ('table',     'metrics.metrics_summary',            'SELECT', 'read'),
        ('table',     'metrics.metrics_trend_point',        'SELECT', 'read'),
        ('table',     'metrics.metrics_breakdown_point',    'SELECT', 'read'),
        ('table',     'metrics.metrics_drilldown',          'SELECT', 'read'),
        -- The read API: one json answer each, STABLE (GET). SECURITY DEFINER, but the project
        -- is resolved as the caller first (metrics.project_id, the caller's RLS: a project they
        -- may not read is 42704 like one that does not exist), and only its rows are read.
        ('function',  'metrics.get_summary(text)',                          'EXECUTE', 'read'),
        ('function',  'metrics.get_trend(text,text,text,timestamp with time zone,timestamp with time zone,jsonb)', 'EXECUTE', 'read'),
        ('function',  'metrics.get_breakdown(text,text,text,timestamp with time zone,timestamp with time zone)', 'EXECUTE', 'read'),
        ('function',  'metrics.get_drilldown(text,text,text,integer,text)', 'EXECUTE', 'read'),
        -- How far refresh_read_model has got per project and source: what the jobs that
        -- refresh need to see (the policy shows it to administrators only).
        ('table',     'metrics.read_model_state',           'SELECT', 'manage'),
        -- Refreshing writes every project's read model with the owner's rights (a project
        -- named is resolved as the caller, like every project argument): the manage level.
        ('function',  'metrics.refresh_read_model(text,boolean)',           'EXECUTE', 'manage'),
        -- Creating and changing projects writes with the owner's rights: the manage level.
        ('function',  'metrics.create_project(text,text,text,boolean)',     'EXECUTE', 'manage'),
        ('function',  'metrics.update_project(text,text,text,text)',        'EXECUTE', 'manage'),
        ('function',  'metrics.drop_project(text)',                         'EXECUTE', 'manage'),
        ('function',  'metrics.set_project_repository(text,text)',          'EXECUTE', 'manage'),
        -- The daily reads take an optional project (0.6.0): SECURITY INVOKER, they resolve it
        -- with the caller's rights and read what the caller's policies show, so the read level.
        ('function',  'metrics.fetch_metrics(date,date,text[],text[],text,text)', 'EXECUTE', 'read'),
        ('function',  'metrics.activity_series(integer,text[],text)',       'EXECUTE', 'read'),
        ('function',  'metrics.current_metrics(text)',                      'EXECUTE', 'read'),
        ('function',  'metrics.last_closed_day()',                          'EXECUTE', 'read'),
        ('function',  'metrics.is_admin()',                                 'EXECUTE', 'read'),
        -- 0.6.0: the reports take a project (last, NULL: every project together); they run as
        -- the caller, who names the project through metrics.project_id (RLS: administrators).
        ('function',  'metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean,text)', 'EXECUTE', 'read'),
        ('function',  'metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean,text)', 'EXECUTE', 'read'),
        ('function',  'metrics.merge_latency_sketch(bytea,bytea)',          'EXECUTE', 'read'),
        ('function',  'metrics.merge_latency_sketches(bytea)',              'EXECUTE', 'read'),
        ('function',  'metrics.latency_quantile(bytea,double precision)',   'EXECUTE', 'read'),
        -- Recording writes the tables with the owner's rights: server-side callers only
        -- (service_role), never a browser's anon key.
        -- 0.6.0: an event may name its project (the last argument, or the batch's "project"
        -- field), resolved with the owner's rights: the recorder is a server, not a member.
        ('function',  'metrics.record_route_metric(text,text,boolean,double precision,text)', 'EXECUTE', 'manage'),
        ('function',  'metrics.record_operation_metric(text,boolean,double precision,text)',  'EXECUTE', 'manage'),
        ('function',  'metrics.record_route_metrics(jsonb)',                'EXECUTE', 'manage'),
        ('function',  'metrics.record_operation_metrics(jsonb)',            'EXECUTE', 'manage'),
        -- Defining writes the definitions with the owner's rights (0.6.0: and a project column).
        ('function',  'metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text)', 'EXECUTE', 'manage'),
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
        ('function',  'metrics._maintenance_read_model(uuid)',              'EXECUTE', 'manage'),
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
        -- Who is a member of a project decides what every reader sees, like the admin check.
        ('function',  'metrics.set_project_check(text)',                    'EXECUTE', 'owner'),
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
        -- Parts of the owner's functions that validate (set_*_check, create_project, update_project).
        ('function',  'metrics._resolve_check_function(text,regtype,text)', 'EXECUTE', 'internal'),
        ('function',  'metrics._check_project_fields(text,text,text)',      'EXECUTE', 'internal'),
        ('function',  'metrics._access_levels()',                           'EXECUTE', 'internal'),
        ('function',  'metrics._security_rules()',                          'EXECUTE', 'internal'),
        ('function',  'metrics._security_roles()',                          'EXECUTE', 'internal'),
        ('function',  'metrics._security_routines()',                       'EXECUTE', 'internal'),
        ('function',  'metrics._security_relations()',                      'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_setup()',                 'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_privileges()',            'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_ledger()',                'EXECUTE', 'internal')
$$;
-- A check function named by the owner (set_admin_check, set_project_check), validated: it
-- exists, returns one boolean, takes no argument or exactly one of type `argument`, lives in a
-- permanent schema, and every API role with a level can execute it (the checks run as the
-- caller). Returns it as a regprocedure.
CREATE FUNCTION metrics._resolve_check_function(check_function text, argument regtype, example text)
RETURNS regprocedure
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn      regprocedure;
    p       record;
    missing text;
BEGIN
    IF length(check_function) > 1000 THEN
        RAISE EXCEPTION 'check_function is too long (% characters)', length(check_function)
            USING ERRCODE = '22001', HINT = pg_catalog.format('give a schema-qualified name of %s', example);
    END IF;
    BEGIN
        fn := CASE WHEN strpos(check_function, '(') > 0
                   THEN pg_catalog.to_regprocedure(check_function)
                   ELSE pg_catalog.to_regproc(check_function)::oid::regprocedure END;
    EXCEPTION WHEN OTHERS THEN
        fn := NULL;  -- to_regproc* refuse some malformed names (syntax) instead of returning NULL
    END;
    IF fn IS NULL THEN
        RAISE EXCEPTION 'function % does not exist', pg_catalog.quote_literal(check_function)
            USING ERRCODE = '42883', HINT = pg_catalog.format('give a schema-qualified name of an existing function: %s', example);
    END IF;
    SELECT pr.prokind, pr.prorettype, pr.proretset, pr.pronargs, pr.pronargdefaults,
           pr.proargtypes, pr.pronamespace
    INTO p FROM pg_catalog.pg_proc AS pr WHERE pr.oid = fn;
    IF p.prokind <> 'f' OR p.proretset THEN
        RAISE EXCEPTION '% is not a function returning one value', fn
            USING ERRCODE = '42809', HINT = 'write a function that returns boolean, e.g. LANGUAGE sql STABLE';
    END IF;
    IF p.prorettype <> 'boolean'::regtype THEN
        RAISE EXCEPTION '% returns %, not boolean', fn, p.prorettype::regtype
            USING ERRCODE = '42804', HINT = 'the check must return true when the request passes and false otherwise';
    END IF;
    IF argument IS NULL AND p.pronargs > p.pronargdefaults THEN
        RAISE EXCEPTION '% needs arguments', fn
            USING ERRCODE = '42809', HINT = 'the check is called without arguments; read the request from request.jwt.claims or auth.uid()';
    END IF;
    IF argument IS NOT NULL AND (p.pronargs = 0 OR p.proargtypes[0] <> argument OR p.pronargs - p.pronargdefaults > 1) THEN
        RAISE EXCEPTION '% does not take one argument of type %', fn, argument
            USING ERRCODE = '42809', HINT = pg_catalog.format('the check is called with the %s; write %s', argument, example);
    END IF;
    IF p.pronamespace = pg_catalog.pg_my_temp_schema() OR pg_catalog.pg_is_other_temp_schema(p.pronamespace) THEN
        RAISE EXCEPTION '% is a temporary function', fn
            USING ERRCODE = '22023', HINT = 'create the check in a permanent schema';
    END IF;
    SELECT string_agg(pg_catalog.quote_ident(a.role_name), ', ' ORDER BY a.role_name) INTO missing
    FROM metrics.api_roles() AS a
    WHERE a.role_exists AND a.access <> 'none'
      AND NOT pg_catalog.has_function_privilege(a.role_name, fn, 'EXECUTE');
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'the API roles % cannot execute %', missing, fn
            USING ERRCODE = '42501',
                  HINT = pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', fn, missing);
    END IF;
    RETURN fn;
END
$$;
COMMENT ON FUNCTION metrics._resolve_check_function(text, regtype, text) IS
    'Part of set_admin_check and set_project_check: the named boolean check function, validated.';
CREATE OR REPLACE FUNCTION metrics.set_admin_check(check_function text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn regprocedure;
BEGIN
    IF check_function IS NULL THEN
        DELETE FROM metrics.admin_check;
        RETURN NULL;
    END IF;
    fn := metrics._resolve_check_function(check_function, NULL,
        'a function without arguments that returns boolean, such as public.is_admin_user()');
    INSERT INTO metrics.admin_check AS c (singleton, check_function)
    VALUES (true, fn::text)
    ON CONFLICT ON CONSTRAINT admin_check_pkey
    DO UPDATE SET check_function = excluded.check_function, set_by = session_user, set_at = now();
    RETURN fn::text;
END
$$;
-- Skipped due to `#[pgrx(sql = false)]`
CREATE  FUNCTION "activity_series"(
	"days" INT DEFAULT 30, /* Option < i32 > */
	"categories" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"project" TEXT DEFAULT NULL /* Option < String > */
) RETURNS TABLE (
	"metric_date" date,  /* Date */
	"metric_category" TEXT,  /* String */
	"value" NUMERIC  /* Option < AnyNumeric > */
)
STABLE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'project_activity_series_wrapper';
-- Skipped due to `#[pgrx(sql = false)]`
CREATE  FUNCTION "define_metric"(
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
	"percentile" double precision DEFAULT NULL, /* Option < f64 > */
	"project_column" TEXT DEFAULT NULL /* Option < String > */
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
AS 'MODULE_PATHNAME', 'define_in_projects_wrapper';
-- Skipped due to `#[pgrx(sql = false)]`
CREATE  FUNCTION "fetch_metrics"(
	"start_date" date, /* Option < Date > */
	"end_date" date, /* Option < Date > */
	"categories" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"types" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"aggregation" TEXT DEFAULT 'daily', /* Option < String > */
	"project" TEXT DEFAULT NULL /* Option < String > */
) RETURNS TABLE (
	"period_start" date,  /* Date */
	"period_end" date,  /* Date */
	"metric_category" TEXT,  /* String */
	"metric_type" TEXT,  /* String */
	"value" NUMERIC,  /* Option < AnyNumeric > */
	"metadata" jsonb,  /* JsonB */
	"days_in_period" INT,  /* i32 */
	"days_recorded" INT,  /* i32 */
	"missing_dates" date[]  /* Vec < Date > */
)
STABLE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'fetch_project_metrics_wrapper';
CREATE  FUNCTION "get_breakdown"(
	"project" TEXT, /* Option < String > */
	"metric_key" TEXT, /* Option < String > */
	"dimension_key" TEXT DEFAULT NULL, /* Option < String > */
	"start_at" timestamp with time zone DEFAULT NULL, /* Option < TimestampWithTimeZone > */
	"end_at" timestamp with time zone DEFAULT NULL /* Option < TimestampWithTimeZone > */
) RETURNS json /* JsonOut */
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_breakdown_wrapper';
CREATE  FUNCTION "get_drilldown"(
	"project" TEXT, /* Option < String > */
	"metric_key" TEXT, /* Option < String > */
	"entity_type" TEXT, /* Option < String > */
	"page_size" INT DEFAULT 50, /* Option < i32 > */
	"after" TEXT DEFAULT NULL /* Option < String > */
) RETURNS json /* JsonOut */
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_drilldown_wrapper';
-- Skipped due to `#[pgrx(sql = false)]`
CREATE  FUNCTION "get_operation_metrics"(
	"operation" TEXT DEFAULT NULL, /* Option < String > */
	"start_at" timestamp with time zone DEFAULT now() - interval '24 hours', /* Option < TimestampWithTimeZone > */
	"end_at" timestamp with time zone DEFAULT now(), /* Option < TimestampWithTimeZone > */
	"grain" TEXT DEFAULT 'hour', /* Option < String > */
	"combined" bool DEFAULT false, /* Option < bool > */
	"project" TEXT DEFAULT NULL /* Option < String > */
) RETURNS TABLE (
	"period_start" timestamp with time zone,  /* TimestampWithTimeZone */
	"period_end" timestamp with time zone,  /* TimestampWithTimeZone */
	"operation" TEXT,  /* Option < String > */
	"total_executions" bigint,  /* i64 */
	"successful" bigint,  /* i64 */
	"failed" bigint,  /* i64 */
	"success_rate" double precision,  /* f64 */
	"average_duration_ms" double precision,  /* f64 */
	"min_duration_ms" double precision,  /* f64 */
	"max_duration_ms" double precision,  /* f64 */
	"p50_ms" double precision,  /* Option < f64 > */
	"p95_ms" double precision,  /* Option < f64 > */
	"p99_ms" double precision,  /* Option < f64 > */
	"resolution" TEXT  /* String */
)
STABLE PARALLEL SAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'operation_metrics_report_wrapper';
-- Skipped due to `#[pgrx(sql = false)]`
CREATE  FUNCTION "get_route_metrics"(
	"route" TEXT DEFAULT NULL, /* Option < String > */
	"method" TEXT DEFAULT NULL, /* Option < String > */
	"start_at" timestamp with time zone DEFAULT now() - interval '24 hours', /* Option < TimestampWithTimeZone > */
	"end_at" timestamp with time zone DEFAULT now(), /* Option < TimestampWithTimeZone > */
	"grain" TEXT DEFAULT 'hour', /* Option < String > */
	"combined" bool DEFAULT false, /* Option < bool > */
	"project" TEXT DEFAULT NULL /* Option < String > */
) RETURNS TABLE (
	"period_start" timestamp with time zone,  /* TimestampWithTimeZone */
	"period_end" timestamp with time zone,  /* TimestampWithTimeZone */
	"route" TEXT,  /* Option < String > */
	"method" TEXT,  /* Option < String > */
	"total_requests" bigint,  /* i64 */
	"successful" bigint,  /* i64 */
	"failed" bigint,  /* i64 */
	"success_rate" double precision,  /* f64 */
	"average_duration_ms" double precision,  /* f64 */
	"min_duration_ms" double precision,  /* f64 */
	"max_duration_ms" double precision,  /* f64 */
	"p50_ms" double precision,  /* Option < f64 > */
	"p95_ms" double precision,  /* Option < f64 > */
	"p99_ms" double precision,  /* Option < f64 > */
	"resolution" TEXT  /* String */
)
STABLE PARALLEL SAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'route_metrics_report_wrapper';
CREATE  FUNCTION "get_summary"(
	"project" TEXT /* Option < String > */
) RETURNS json /* JsonOut */
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_summary_wrapper';
CREATE  FUNCTION "get_trend"(
	"project" TEXT, /* Option < String > */
	"metric_key" TEXT, /* Option < String > */
	"grain" TEXT DEFAULT 'day', /* Option < String > */
	"start_at" timestamp with time zone DEFAULT NULL, /* Option < TimestampWithTimeZone > */
	"end_at" timestamp with time zone DEFAULT NULL, /* Option < TimestampWithTimeZone > */
	"dimensions" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS json /* JsonOut */
STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_trend_wrapper';
CREATE  FUNCTION "record_operation_metric"(
	"operation" TEXT, /* Option < String > */
	"success" bool, /* Option < bool > */
	"duration_ms" double precision, /* Option < f64 > */
	"project" TEXT DEFAULT NULL /* Option < String > */
) RETURNS void
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_operation_event_wrapper';
CREATE  FUNCTION "record_route_metric"(
	"route" TEXT, /* Option < String > */
	"method" TEXT, /* Option < String > */
	"success" bool, /* Option < bool > */
	"duration_ms" double precision, /* Option < f64 > */
	"project" TEXT DEFAULT NULL /* Option < String > */
) RETURNS void
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_route_event_wrapper';
CREATE  FUNCTION "refresh_read_model"(
	"project" TEXT DEFAULT NULL, /* Option < & str > */
	"full" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"project" TEXT,  /* String */
	"trend_points" bigint,  /* i64 */
	"breakdown_points" bigint,  /* i64 */
	"drilldowns" bigint,  /* i64 */
	"summaries" bigint,  /* i64 */
	"days" bigint,  /* i64 */
	"hours" bigint,  /* i64 */
	"events" bigint  /* i64 */
)
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'refresh_read_model_wrapper';
-- Whether the ledger and the admin check still hold: a rule naming an object that does not
-- exist, an admin check that was dropped or that an API role cannot execute.
CREATE OR REPLACE FUNCTION metrics._security_findings_ledger()
RETURNS TABLE (finding text, object_type text, object_name text, detail text, hint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH roles_without_it AS (
        SELECT c.check_function, string_agg(ro.role_name, ', ' ORDER BY ro.role_name) AS names
        FROM metrics.admin_check AS c, metrics._security_roles() AS ro
        WHERE ro.role_oid <> 0 AND ro.rank > 0
          AND NOT pg_catalog.has_function_privilege(ro.role_oid, pg_catalog.to_regprocedure(c.check_function), 'EXECUTE')
        GROUP BY c.check_function
    ), project_roles_without_it AS (
        SELECT c.check_function, string_agg(ro.role_name, ', ' ORDER BY ro.role_name) AS names
        FROM metrics.project_check AS c, metrics._security_roles() AS ro
        WHERE ro.role_oid <> 0 AND ro.rank > 0
          AND NOT pg_catalog.has_function_privilege(ro.role_oid, pg_catalog.to_regprocedure(c.check_function), 'EXECUTE')
        GROUP BY c.check_function
    )
    SELECT 'access rule for a missing object', ru.object_type, ru.object_name,
           'metrics.access_rules() names an object that does not exist.',
           'update the extension (ALTER EXTENSION metrics UPDATE) or reinstall it'
    FROM metrics._security_rules() AS ru
    WHERE ru.object_oid IS NULL
    UNION ALL
    SELECT 'admin check unavailable', 'function', c.check_function,
           CASE WHEN pg_catalog.to_regprocedure(c.check_function) IS NULL
                THEN 'The configured administrator check no longer exists, so nobody is an administrator.'
                ELSE pg_catalog.format('%s cannot execute it, so reading the collection log fails for them.', w.names) END,
           'call metrics.set_admin_check again with an existing function, or with NULL for the default'
    FROM metrics.admin_check AS c
    LEFT JOIN roles_without_it AS w ON w.check_function = c.check_function
    WHERE pg_catalog.to_regprocedure(c.check_function) IS NULL OR w.names IS NOT NULL
    UNION ALL
    -- The membership check likewise: gone, nobody is a member of any project; not executable
    -- by an API role, every read of a project's rows fails for that role.
    SELECT 'project check unavailable', 'function', c.check_function,
           CASE WHEN pg_catalog.to_regprocedure(c.check_function) IS NULL
                THEN 'The configured project membership check no longer exists, so nobody but administrators reads a project.'
                ELSE pg_catalog.format('%s cannot execute it, so reading a project''s rows fails for them.', w.names) END,
           'call metrics.set_project_check again with an existing function, or with NULL for the default'
    FROM metrics.project_check AS c
    LEFT JOIN project_roles_without_it AS w ON w.check_function = c.check_function
    WHERE pg_catalog.to_regprocedure(c.check_function) IS NULL OR w.names IS NOT NULL
    UNION ALL
    -- The seal: its triggers exist and fire always (also under session_replication_role =
    -- replica); a disabled or merely enabled one lets sealed rows change.
    SELECT 'sealed history unprotected', 'trigger', pg_catalog.format('%s on %s', s.name, s.tbl),
           CASE WHEN t.tgenabled IS NULL THEN 'The trigger that seals these rows is missing.'
                WHEN t.tgenabled = 'D' THEN 'The trigger that seals these rows is disabled.'
                ELSE 'The trigger does not fire under session_replication_role = replica.' END,
           pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I (or reinstall the extension)', s.tbl, s.name)
    FROM (VALUES ('daily_metrics_sealed', 'metrics.daily_metrics'), ('daily_metrics_no_truncate', 'metrics.daily_metrics'),
                 ('daily_metrics_closed_days', 'metrics.daily_metrics'), ('metric_revisions_sealed', 'metrics.metric_revisions'),
                 ('metric_revisions_no_truncate', 'metrics.metric_revisions')) AS s(name, tbl)
    LEFT JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = pg_catalog.to_regclass(s.tbl) AND t.tgname = s.name
    WHERE t.tgenabled IS DISTINCT FROM 'A'
    UNION ALL
    SELECT 'sealed history unprotected', 'event trigger', 'metrics_protect_history',
           'DROP EXTENSION metrics would delete the sealed values without asking: the event trigger that guards them is missing, disabled, or does not fire under session_replication_role = replica.',
           'as a superuser: CREATE EVENT TRIGGER metrics_protect_history ON ddl_command_start WHEN TAG IN (''DROP EXTENSION'', ''DROP SCHEMA'', ''DROP OWNED'') EXECUTE FUNCTION metrics._protect_history(); ALTER EVENT TRIGGER metrics_protect_history ENABLE ALWAYS'
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger AS e
                      WHERE e.evtfoid = 'metrics._protect_history()'::regprocedure AND e.evtenabled = 'A'
                        AND e.evttags @> ARRAY['DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED'])
$$;
COMMENT ON FUNCTION metrics._security_findings_ledger() IS
    'Part of verify_security: access rules for missing objects, an admin or project check that is gone or not executable by an API role, and a seal that no longer holds.';
ALTER TABLE metrics.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.project_check ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.project_repositories ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metrics_summary ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metrics_trend_point ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.read_model_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metrics_breakdown_point ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metrics_drilldown ENABLE ROW LEVEL SECURITY;
DROP POLICY "Anyone can view metrics" ON metrics.daily_metrics;
-- Sealed metrics and their definitions are public analytics for whoever has read access;
-- a project's values only for its members (and administrators). The sub-selects are
-- InitPlans: evaluated once per query, not once per row.
CREATE POLICY "Anyone can view metrics" ON metrics.daily_metrics
    FOR SELECT USING (project_id IS NULL OR (SELECT metrics.is_admin())
                      OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
-- How far the read model's refresh has got, like the ledger: administrators only.
CREATE POLICY "Admins can view the read model state" ON metrics.read_model_state
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- Projects: a reader sees the projects they are a member of (is_project_member reads no
-- table, so the policy never recurses), administrators all; a project's repositories go with it.
CREATE POLICY "Members can view their projects" ON metrics.projects
    FOR SELECT USING ((SELECT metrics.is_admin()) OR metrics.is_project_member(id, slug));
CREATE POLICY "Members can view their projects' repositories" ON metrics.project_repositories
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
-- The read model: every row belongs to a project, and shows to its members and administrators.
CREATE POLICY "Members can view their projects' summaries" ON metrics.metrics_summary
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
CREATE POLICY "Members can view their projects' trend points" ON metrics.metrics_trend_point
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
CREATE POLICY "Members can view their projects' breakdown points" ON metrics.metrics_breakdown_point
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
CREATE POLICY "Members can view their projects' drill-downs" ON metrics.metrics_drilldown
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
-- is_project_member() runs as the caller and reads the configured check (access_rules).
CREATE POLICY "Readers can view the project check" ON metrics.project_check
    FOR SELECT USING (true);

-- Nothing new for PUBLIC; each level's new and re-created objects to the roles that hold it
-- (only those: a grant made by an update script is an initial privilege, which pg_dump leaves
-- out, so the grants the owner made before stay ordinary ones). The list of each level comes
-- from access_rules(), filtered to what this update created.
REVOKE EXECUTE ON FUNCTION
    metrics.current_metrics(text),
    metrics.is_project_member(uuid,text),
    metrics.member_projects(),
    metrics.project_id(text),
    metrics._check_project_fields(text,text,text),
    metrics.create_project(text,text,text,boolean),
    metrics.update_project(text,text,text,text),
    metrics.drop_project(text),
    metrics.set_project_repository(text,text),
    metrics.set_project_check(text),
    metrics._maintenance_read_model(uuid),
    metrics._resolve_check_function(text,regtype,text),
    metrics.activity_series(integer,text[],text),
    metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text),
    metrics.fetch_metrics(date,date,text[],text[],text,text),
    metrics.get_breakdown(text,text,text,timestamp with time zone,timestamp with time zone),
    metrics.get_drilldown(text,text,text,integer,text),
    metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean,text),
    metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean,text),
    metrics.get_summary(text),
    metrics.get_trend(text,text,text,timestamp with time zone,timestamp with time zone,jsonb),
    metrics.record_operation_metric(text,boolean,double precision,text),
    metrics.record_route_metric(text,text,boolean,double precision,text),
    metrics.refresh_read_model(text,boolean)
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
            'metrics.projects',
            'metrics.project_check',
            'metrics.project_repositories',
            'metrics.metrics_summary',
            'metrics.metrics_trend_point',
            'metrics.metrics_breakdown_point',
            'metrics.metrics_drilldown',
            'metrics.read_model_state',
            'metrics.current_metrics(text)',
            'metrics.is_project_member(uuid,text)',
            'metrics.member_projects()',
            'metrics.project_id(text)',
            'metrics._check_project_fields(text,text,text)',
            'metrics.create_project(text,text,text,boolean)',
            'metrics.update_project(text,text,text,text)',
            'metrics.drop_project(text)',
            'metrics.set_project_repository(text,text)',
            'metrics.set_project_check(text)',
            'metrics._maintenance_read_model(uuid)',
            'metrics._resolve_check_function(text,regtype,text)',
            'metrics.activity_series(integer,text[],text)',
            'metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text)',
            'metrics.fetch_metrics(date,date,text[],text[],text,text)',
            'metrics.get_breakdown(text,text,text,timestamp with time zone,timestamp with time zone)',
            'metrics.get_drilldown(text,text,text,integer,text)',
            'metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean,text)',
            'metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean,text)',
            'metrics.get_summary(text)',
            'metrics.get_trend(text,text,text,timestamp with time zone,timestamp with time zone,jsonb)',
            'metrics.record_operation_metric(text,boolean,double precision,text)',
            'metrics.record_route_metric(text,text,boolean,double precision,text)',
            'metrics.refresh_read_model(text,boolean)'
        ])
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON %s %s TO %I', r.privilege,
            CASE r.object_type WHEN 'table' THEN 'TABLE' WHEN 'procedure' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
            r.object_name, r.role_name);
    END LOOP;
END
$$;
