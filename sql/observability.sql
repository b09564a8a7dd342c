-- metrics: route and operation metrics, one row per (route, method, UTC hour) and per
-- (operation, UTC hour). Rows are added into by metrics.record_* (directly, or from the
-- shared-memory buffer); nobody writes them otherwise. Durations are milliseconds.
-- latency_sketch is a mergeable log-bucketed histogram (src/sketch.rs documents the format):
-- percentiles of any set of rows come from merging their sketches, never from averages.

CREATE TABLE metrics.route_metrics (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    route               text NOT NULL CHECK (length(route) BETWEEN 1 AND 1024),
    method              text NOT NULL
                        CHECK (method IN ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT')),
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    total_requests      bigint NOT NULL CHECK (total_requests > 0),
    successful          bigint NOT NULL CHECK (successful >= 0),
    failed              bigint NOT NULL CHECK (failed >= 0),
    total_duration_ms   double precision NOT NULL CHECK (total_duration_ms >= 0),
    average_duration_ms double precision GENERATED ALWAYS AS (total_duration_ms / total_requests) STORED,
    min_duration_ms     double precision NOT NULL,
    max_duration_ms     double precision NOT NULL,
    last_request_at     timestamptz NOT NULL,
    latency_sketch      bytea NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT route_metrics_bucket UNIQUE (route, method, period_start),
    CONSTRAINT route_metrics_one_hour CHECK (period_end = period_start + interval '1 hour'),
    CONSTRAINT route_metrics_outcomes CHECK (successful + failed = total_requests)
);
COMMENT ON TABLE metrics.route_metrics IS
    'Requests per (route, method, UTC hour): counts, durations (ms) and a latency sketch. Written by metrics.record_route_metric(s).';
CREATE INDEX idx_route_metrics_period ON metrics.route_metrics (period_start);

CREATE TABLE metrics.operation_metrics (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    operation           text NOT NULL CHECK (length(operation) BETWEEN 1 AND 1024),
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    total_executions    bigint NOT NULL CHECK (total_executions > 0),
    successful          bigint NOT NULL CHECK (successful >= 0),
    failed              bigint NOT NULL CHECK (failed >= 0),
    total_duration_ms   double precision NOT NULL CHECK (total_duration_ms >= 0),
    average_duration_ms double precision GENERATED ALWAYS AS (total_duration_ms / total_executions) STORED,
    min_duration_ms     double precision NOT NULL,
    max_duration_ms     double precision NOT NULL,
    last_execution_at   timestamptz NOT NULL,
    latency_sketch      bytea NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT operation_metrics_bucket UNIQUE (operation, period_start),
    CONSTRAINT operation_metrics_one_hour CHECK (period_end = period_start + interval '1 hour'),
    CONSTRAINT operation_metrics_outcomes CHECK (successful + failed = total_executions)
);
COMMENT ON TABLE metrics.operation_metrics IS
    'Executions per (operation, UTC hour): counts, durations (ms) and a latency sketch. Written by metrics.record_operation_metric(s).';
CREATE INDEX idx_operation_metrics_period ON metrics.operation_metrics (period_start);

SELECT pg_catalog.pg_extension_config_dump('metrics.route_metrics', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.operation_metrics', '');

-- Merges the latency sketches of any set of rows, for percentiles in your own queries:
--   SELECT metrics.latency_quantile(metrics.merge_latency_sketches(latency_sketch), 0.99)
--   FROM metrics.route_metrics WHERE period_start >= now() - interval '1 day';
CREATE AGGREGATE metrics.merge_latency_sketches(bytea) (
    SFUNC = metrics.merge_latency_sketch,
    STYPE = bytea,
    COMBINEFUNC = metrics.merge_latency_sketch,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE metrics.merge_latency_sketches(bytea) IS
    'Merges latency sketches (exactly: bucket counts add); read percentiles with metrics.latency_quantile.';
