-- bench/maintenance/setup.sql: the data of the compaction benchmark (bench/maintenance/run).
-- Owned by the benchmark, not part of the extension. Run as a superuser, in UTC, with
-- :days (90) and :routes (200) set.
--
-- bench.template holds :days x :routes x 24 hour rows of metrics.route_metrics, the days
-- 2 .. :days + 1 before today (UTC): every one of them ended more than a day ago. One day of
-- events is recorded through metrics.record_route_metrics (1 to 8 events per route and hour,
-- so each row and its sketch are the extension's own), then that day's rows are copied to the
-- other days, shifted by whole days: each copy is a row the extension could have written.
-- Before each case the rows are copied from bench.template into metrics.route_metrics.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET metrics.max_event_age = '400d';
CREATE SCHEMA bench;

-- The naive job's daily table: the shape of metrics.route_metrics (no id default needed:
-- the naive job names its columns).
CREATE TABLE bench.route_daily (LIKE metrics.route_metrics INCLUDING DEFAULTS);

-- The first day of the data, and the events of it.
CREATE TABLE bench.span AS
SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - make_interval(days => :days + 1) AS first_day;
SELECT metrics.record_route_metrics(jsonb_agg(jsonb_build_object(
           'route', '/api/v1/route-' || r,
           'method', 'GET',
           'success', random() < 0.98,
           'duration_ms', round((-ln(1 - random()) * 40)::numeric + 0.1, 2),
           'at', s.first_day + make_interval(hours => h, mins => (e * 7) % 60))))
FROM bench.span AS s, generate_series(1, :routes) AS r, generate_series(0, 23) AS h,
     LATERAL generate_series(1, 1 + (r * 7 + h) % 8) AS e;

CREATE TABLE bench.template AS
SELECT gen_random_uuid() AS id, t.route, t.method,
       t.period_start + make_interval(days => d) AS period_start,
       t.period_end + make_interval(days => d) AS period_end,
       t.created_at, t.total_requests, t.successful, t.failed, t.total_duration_ms,
       t.average_duration_ms, t.min_duration_ms, t.max_duration_ms,
       t.last_request_at + make_interval(days => d) AS last_request_at,
       t.updated_at, t.latency_sketch, t.resolution, t.timezone
FROM metrics.route_metrics AS t, generate_series(0, :days - 1) AS d;
TRUNCATE metrics.route_metrics;
