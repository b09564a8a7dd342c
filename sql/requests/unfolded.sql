-- metrics: what direct recording appends (since 0.7.0), and the views that read it with the
-- hour rows.
--
-- Direct mode used to add every event into its hour's row with an upsert, so concurrent
-- requests to one route queued on that row's lock until each caller committed. Now each call
-- appends one row per (route, method, hour, project) it records to route_metrics_unfolded (or
-- operation_metrics_unfolded): an event, or the bucket of a batch's events of one key and hour,
-- with no unique key, no index, no row lock, durable with the caller's commit. metrics.fold_metrics() moves them
-- into the hour rows, each in one transaction that deletes the rows it folds and adds them in,
-- so a row is folded exactly once: the buffer's writer calls it every metrics.flush_interval,
-- compaction and the read model's refresh before they read, and a pg_cron job may.
--
-- Every report reads route_metrics_live / operation_metrics_live, the folded rows and the
-- unfolded ones together, in one snapshot: a report is the same before and after a fold
-- (sums of durations are whole microseconds, so the order of addition does not matter).
-- Only buckets of the last 12 hours are appended; a late event's bucket goes into its row as
-- before (src/requests/late.rs), so compaction never meets an unfolded row of a period it
-- folds, and folds the unfolded rows first anyway.
--
-- No CHECK constraints, as in tables.sql: the only writer is the extension's recording,
-- which checks every event first.

-- A row is one event (duration_ms and success set, the bucket columns NULL: the narrowest
-- durable row, about as many bytes of WAL as a plain event log's) or a bucket of several
-- events of one (key, hour) from a batch (the bucket columns set, duration_ms and success
-- NULL). Its hour is the UTC hour of its last event (last_request_at).
CREATE TABLE metrics.route_metrics_unfolded (
    route             text NOT NULL,
    method            text NOT NULL,
    last_request_at   timestamptz NOT NULL,
    duration_ms       double precision,
    success           boolean,
    total_requests    bigint,
    successful        bigint,
    failed            bigint,
    total_duration_ms double precision,
    min_duration_ms   double precision,
    max_duration_ms   double precision,
    latency_sketch    bytea,
    project_id        uuid
);
COMMENT ON TABLE metrics.route_metrics_unfolded IS
    'Requests recorded directly and not yet folded into metrics.route_metrics (metrics.fold_metrics): one event per row, or a bucket of a batch; read both through metrics.route_metrics_live.';

CREATE TABLE metrics.operation_metrics_unfolded (
    operation         text NOT NULL,
    last_execution_at timestamptz NOT NULL,
    duration_ms       double precision,
    success           boolean,
    total_executions  bigint,
    successful        bigint,
    failed            bigint,
    total_duration_ms double precision,
    min_duration_ms   double precision,
    max_duration_ms   double precision,
    latency_sketch    bytea,
    project_id        uuid
);
COMMENT ON TABLE metrics.operation_metrics_unfolded IS
    'Executions recorded directly and not yet folded into metrics.operation_metrics (metrics.fold_metrics): one event per row, or a bucket of a batch; read both through metrics.operation_metrics_live.';

-- Rows not yet folded are the recent past a dump should keep, like the hour rows.
SELECT pg_catalog.pg_extension_config_dump('metrics.route_metrics_unfolded', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.operation_metrics_unfolded', '');

-- Everything recorded: the rows of the table (folded: true) and those not yet folded, each an
-- hour of one key (several rows of one key and hour until they are folded). security_invoker:
-- the caller sees what the tables' policies let them see.
CREATE VIEW metrics.route_metrics_live WITH (security_invoker = true) AS
    SELECT t.route, t.method, t.project_id, t.period_start, t.period_end, t.resolution, t.timezone,
           t.total_requests, t.successful, t.failed, t.total_duration_ms, t.min_duration_ms,
           t.max_duration_ms, t.last_request_at, t.latency_sketch, t.updated_at, true AS folded
    FROM metrics.route_metrics AS t
    UNION ALL
    SELECT u.route, u.method, u.project_id, h.hour, h.hour + interval '1 hour', 'hour'::text, NULL::text,
           coalesce(u.total_requests, 1), coalesce(u.successful, u.success::integer),
           coalesce(u.failed, (NOT u.success)::integer), coalesce(u.total_duration_ms, u.duration_ms),
           coalesce(u.min_duration_ms, u.duration_ms), coalesce(u.max_duration_ms, u.duration_ms),
           u.last_request_at, coalesce(u.latency_sketch, metrics.latency_sketch_of(u.duration_ms)),
           u.last_request_at, false
    FROM metrics.route_metrics_unfolded AS u,
         LATERAL (SELECT pg_catalog.date_trunc('hour', u.last_request_at, 'UTC') AS hour) AS h;
COMMENT ON VIEW metrics.route_metrics_live IS
    'Every recorded request bucket: the rows of metrics.route_metrics and those recorded since the last fold (folded = false). Sum and merge rows per key and period; never assume one row per hour.';

CREATE VIEW metrics.operation_metrics_live WITH (security_invoker = true) AS
    SELECT t.operation, t.project_id, t.period_start, t.period_end, t.resolution, t.timezone,
           t.total_executions, t.successful, t.failed, t.total_duration_ms, t.min_duration_ms,
           t.max_duration_ms, t.last_execution_at, t.latency_sketch, t.updated_at, true AS folded
    FROM metrics.operation_metrics AS t
    UNION ALL
    SELECT u.operation, u.project_id, h.hour, h.hour + interval '1 hour', 'hour'::text, NULL::text,
           coalesce(u.total_executions, 1), coalesce(u.successful, u.success::integer),
           coalesce(u.failed, (NOT u.success)::integer), coalesce(u.total_duration_ms, u.duration_ms),
           coalesce(u.min_duration_ms, u.duration_ms), coalesce(u.max_duration_ms, u.duration_ms),
           u.last_execution_at, coalesce(u.latency_sketch, metrics.latency_sketch_of(u.duration_ms)),
           u.last_execution_at, false
    FROM metrics.operation_metrics_unfolded AS u,
         LATERAL (SELECT pg_catalog.date_trunc('hour', u.last_execution_at, 'UTC') AS hour) AS h;
COMMENT ON VIEW metrics.operation_metrics_live IS
    'Every recorded operation bucket: the rows of metrics.operation_metrics and those recorded since the last fold (folded = false).';
