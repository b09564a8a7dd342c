-- metrics: the tables of daily snapshots. Loaded first (bootstrap); functions, triggers and
-- grants come after.
-- All four tables are registered with pg_extension_config_dump so pg_dump keeps their rows:
-- sealed history is user data, not extension code.

-- The extension owns its schema. CREATE EXTENSION creates "metrics" when it does not exist;
-- a schema of that name that already holds objects, or grants privileges, is someone else's,
-- and installing into it would mix their objects and privileges with ours silently. An
-- empty schema without grants is accepted: that is what pg_dump writes before CREATE
-- EXTENSION when it restores a database.
DO $$
DECLARE
    found text;
BEGIN
    SELECT pg_catalog.string_agg(o.what, ', ' ORDER BY o.what) INTO found
    FROM (
        SELECT pg_catalog.format('%s %I', CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view'
                   WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' ELSE 'relation' END, c.relname) AS what
        FROM pg_catalog.pg_class AS c WHERE c.relnamespace = 'metrics'::regnamespace
        UNION ALL
        SELECT pg_catalog.format('function %I', p.proname)
        FROM pg_catalog.pg_proc AS p WHERE p.pronamespace = 'metrics'::regnamespace
        UNION ALL
        SELECT pg_catalog.format('type %I', t.typname)
        FROM pg_catalog.pg_type AS t
        WHERE t.typnamespace = 'metrics'::regnamespace AND t.typrelid = 0 AND t.typelem = 0
        UNION ALL
        SELECT 'privileges granted on the schema'
        FROM pg_catalog.pg_namespace AS n, pg_catalog.aclexplode(n.nspacl) AS a
        WHERE n.oid = 'metrics'::regnamespace AND a.grantee <> n.nspowner
    ) AS o
    LIMIT 1;
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'schema "metrics" already exists and is not empty: %', found
            USING ERRCODE = '42P06',
                  DETAIL = 'CREATE EXTENSION metrics would install into it and mix its objects and privileges with the extension''s.',
                  HINT = 'rename it first (ALTER SCHEMA metrics RENAME TO metrics_old), or drop it if it is not needed, then CREATE EXTENSION metrics again';
    END IF;
END
$$;

-- What to compute. Definitions are data: a kind, a source relation and its columns, an
-- optional normalised filter; never code.
CREATE TABLE metrics.metric_definitions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    metric_type     text NOT NULL CHECK (metric_type IN ('count', 'average', 'percentage', 'aggregate', 'percentile')),
    metric_category text NOT NULL CHECK (metric_category ~ '^[a-z][a-z0-9_]{0,62}$'),
    display_name    text NOT NULL,
    description     text,
    unit            text,
    format_pattern  text,
    is_active       boolean NOT NULL DEFAULT true,
    kind            text NOT NULL CHECK (kind IN ('created', 'total', 'distinct', 'average', 'percentage', 'breakdown', 'percentile')),
    source_schema   text,
    source_table    text,
    time_column     text,
    value_column    text,
    "filter"        text,
    numerator       text,
    denominator     text,
    top_n           integer CHECK (top_n BETWEEN 1 AND 100),
    defined_by      text NOT NULL DEFAULT current_user,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Provenance: the version changes whenever a replace changes what is computed (kind,
    -- source, columns, filter, parts, top_n); the earlier versions are kept, newest last.
    definition_version   integer NOT NULL DEFAULT 1 CHECK (definition_version >= 1),
    previous_definitions jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(previous_definitions) = 'array'),
    -- Percentiles: the fraction p of percentile_cont(p), for percentile metrics only.
    percentile      double precision CHECK (percentile >= 0 AND percentile <= 1),
    -- Per-project metrics: the source's column naming each row's project (a project id, uuid,
    -- or a slug or id, text); NULL: a metric of the whole database only. Percentages are
    -- per project when both their parts are, and have none.
    project_column  text,
    CONSTRAINT unique_metric_definition UNIQUE (metric_type, metric_category),
    CONSTRAINT unique_metric_category UNIQUE (metric_category),
    CONSTRAINT metric_type_follows_kind CHECK (metric_type = CASE kind
        WHEN 'average' THEN 'average' WHEN 'percentage' THEN 'percentage'
        WHEN 'breakdown' THEN 'aggregate' WHEN 'percentile' THEN 'percentile' ELSE 'count' END),
    CONSTRAINT source_or_ratio CHECK (CASE WHEN kind = 'percentage'
        THEN numerator IS NOT NULL AND denominator IS NOT NULL AND source_table IS NULL
        ELSE source_schema IS NOT NULL AND source_table IS NOT NULL AND time_column IS NOT NULL
             AND numerator IS NULL AND denominator IS NULL END),
    CONSTRAINT value_column_when_needed CHECK ((kind IN ('distinct', 'average', 'breakdown', 'percentile')) = (value_column IS NOT NULL)),
    CONSTRAINT percentile_when_needed CHECK ((kind = 'percentile') = (percentile IS NOT NULL)),
    CONSTRAINT project_column_of_a_source CHECK (project_column IS NULL OR kind <> 'percentage')
);
COMMENT ON TABLE metrics.metric_definitions IS
    'What each metric computes. Change through metrics.define_metric, activate_metric, deactivate_metric.';

-- Sealed daily values: one row per (date, type, category, project), never updated or
-- deleted (the project column and the constraint over it come with the projects, in
-- sql/projects/tables.sql).
CREATE TABLE metrics.daily_metrics (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    metric_date          date NOT NULL,
    metric_type          text NOT NULL CHECK (metric_type IN ('count', 'average', 'percentage', 'aggregate', 'percentile')),
    metric_category      text NOT NULL,
    value                numeric NOT NULL,
    metadata             jsonb NOT NULL DEFAULT '{}',
    collection_timestamp timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- The definition version that computed the value (NULL: sealed before 0.3.0, unknown).
    definition_version   integer,
    -- Distinct counts and breakdowns: the day's distinct-count sketch (of the values, or of
    -- the group keys), which periods merge; percentiles: the day's values, sorted, which
    -- periods rank together (at most 10,000 a day); NULL for the other kinds and before 0.3.0.
    distinct_sketch      bytea,
    CONSTRAINT unique_daily_metric UNIQUE (metric_date, metric_type, metric_category),
    CONSTRAINT daily_metric_is_defined FOREIGN KEY (metric_type, metric_category)
        REFERENCES metrics.metric_definitions (metric_type, metric_category)
);
COMMENT ON TABLE metrics.daily_metrics IS
    'Immutable daily snapshots. Written by collect_daily_metrics and backfill_daily_metrics; corrected only by recollect.';

-- The seed's query patterns: a date range over types, one category over time, monitoring.
CREATE INDEX idx_daily_metrics_date_type ON metrics.daily_metrics (metric_date DESC, metric_type, metric_category);
CREATE INDEX idx_daily_metrics_category ON metrics.daily_metrics (metric_category, metric_date DESC);
CREATE INDEX idx_daily_metrics_collection ON metrics.daily_metrics (collection_timestamp DESC);

-- One row per run: collection, backfill or correction.
CREATE TABLE metrics.metric_collection_log (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    collection_date   date NOT NULL,
    range_end         date NOT NULL,
    run_type          text NOT NULL CHECK (run_type IN ('collect', 'backfill', 'recollect')),
    started_at        timestamptz NOT NULL,
    completed_at      timestamptz,
    status            text NOT NULL CHECK (status IN ('running', 'completed', 'partial', 'failed', 'skipped')),
    metrics_collected integer NOT NULL DEFAULT 0,
    metrics_skipped   integer NOT NULL DEFAULT 0,
    metrics_failed    integer NOT NULL DEFAULT 0,
    timezone          text NOT NULL,
    executed_by       text NOT NULL,
    message           text,
    error_message     text,
    error_details     jsonb,
    created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.metric_collection_log IS
    'One row per collection run: running, then completed, partial, failed or skipped. Failures per metric in error_details.';
CREATE INDEX idx_metric_collection_log_started ON metrics.metric_collection_log (started_at DESC);
CREATE INDEX idx_metric_collection_log_date ON metrics.metric_collection_log (collection_date DESC);

-- Every correction of a sealed value: the value before, the value after, who and why.
CREATE TABLE metrics.metric_revisions (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    metric_date       date NOT NULL,
    metric_type       text NOT NULL,
    metric_category   text NOT NULL,
    old_value         numeric,
    old_metadata      jsonb,
    new_value         numeric NOT NULL,
    new_metadata      jsonb NOT NULL,
    reason            text NOT NULL CHECK (length(btrim(reason)) > 0),
    revised_by        text NOT NULL,
    revised_at        timestamptz NOT NULL DEFAULT now(),
    collection_log_id uuid REFERENCES metrics.metric_collection_log (id),
    -- The definition versions of the value before and after (NULL: unknown, before 0.3.0).
    old_definition_version integer,
    new_definition_version integer
);
COMMENT ON TABLE metrics.metric_revisions IS 'Audit trail of metrics.recollect: previous values, who changed them and why.';
CREATE INDEX idx_metric_revisions_metric ON metrics.metric_revisions (metric_category, metric_date);

SELECT pg_catalog.pg_extension_config_dump('metrics.metric_definitions', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.daily_metrics', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.metric_collection_log', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.metric_revisions', '');
