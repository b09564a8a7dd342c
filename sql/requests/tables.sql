-- metrics: route and operation metrics, one row per (route, method, UTC hour) and per
-- (operation, UTC hour), and per project since 0.6.0 (project_id and the bucket constraints
-- with it: sql/projects/tables.sql); after the retention policy's time, one per day or ISO
-- week (metrics.compact_metrics, sql/maintenance/tables.sql). Rows are added into by
-- metrics.record_* (directly, or from the shared-memory buffer) and folded by compaction;
-- nobody writes them otherwise. Durations are milliseconds, to the microsecond.
-- latency_sketch is a mergeable log-bucketed histogram (its format is documented in
-- crates/metrics-core/src/requests/sketch_encoding.rs): percentiles of any set of rows come
-- from merging their sketches, never from averages.
--
-- Columns that change with every event come last, the sketch at the very end: an update
-- inside the same page logs only the bytes between the first and the last changed one, so
-- what precedes the counters (names, hour) and what follows the changed sketch bucket is
-- not written to WAL again.
--
-- No CHECK constraints and no generated column: PostgreSQL parses those expressions again on
-- every upsert, about a fifth of the CPU of recording one request. The only writers are the
-- extension's functions (no other role holds a write privilege), and they check every event
-- first: names, methods, durations and times.

CREATE TABLE metrics.route_metrics (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    route               text NOT NULL,
    method              text NOT NULL,
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    total_requests      bigint NOT NULL,
    successful          bigint NOT NULL,
    failed              bigint NOT NULL,
    total_duration_ms   double precision NOT NULL,
    average_duration_ms double precision NOT NULL,
    min_duration_ms     double precision NOT NULL,
    max_duration_ms     double precision NOT NULL,
    last_request_at     timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    latency_sketch      bytea NOT NULL,
    -- 'hour' as recorded; 'day' or 'week' once compaction has folded the period, in the
    -- zone named by timezone (NULL for hour rows, which are UTC hours).
    resolution          text NOT NULL DEFAULT 'hour',
    timezone            text,
    CONSTRAINT route_metrics_bucket UNIQUE (route, method, period_start)
);
COMMENT ON TABLE metrics.route_metrics IS
    'Requests per (route, method, UTC hour): counts, durations (ms) and a latency sketch. Written by metrics.record_route_metric(s).';
CREATE INDEX idx_route_metrics_period ON metrics.route_metrics (period_start);
-- The hour rows alone, by time: every unit of metrics.compact_metrics first looks for the
-- family's oldest hour row, and through idx_route_metrics_period that walks every day row
-- already folded (and the dead entries of the hours it replaced) first, so a loop of units
-- slowed down with each day folded (90 days: 4.1 s instead of 2.6 s). Recording never changes
-- resolution, so its updates stay HOT; a new hour row adds one more index entry.
CREATE INDEX idx_route_metrics_hours ON metrics.route_metrics (period_start) WHERE resolution = 'hour';

CREATE TABLE metrics.operation_metrics (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    operation           text NOT NULL,
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    total_executions    bigint NOT NULL,
    successful          bigint NOT NULL,
    failed              bigint NOT NULL,
    total_duration_ms   double precision NOT NULL,
    average_duration_ms double precision NOT NULL,
    min_duration_ms     double precision NOT NULL,
    max_duration_ms     double precision NOT NULL,
    last_execution_at   timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    latency_sketch      bytea NOT NULL,
    resolution          text NOT NULL DEFAULT 'hour',
    timezone            text,
    CONSTRAINT operation_metrics_bucket UNIQUE (operation, period_start)
);
COMMENT ON TABLE metrics.operation_metrics IS
    'Executions per (operation, UTC hour): counts, durations (ms) and a latency sketch. Written by metrics.record_operation_metric(s).';
CREATE INDEX idx_operation_metrics_period ON metrics.operation_metrics (period_start);
CREATE INDEX idx_operation_metrics_hours ON metrics.operation_metrics (period_start) WHERE resolution = 'hour';

SELECT pg_catalog.pg_extension_config_dump('metrics.route_metrics', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.operation_metrics', '');
