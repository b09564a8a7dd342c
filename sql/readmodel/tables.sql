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
