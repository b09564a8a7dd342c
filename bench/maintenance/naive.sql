-- The naive baseline: one transaction folds every hour row older than the cutoff into a daily
-- table with INSERT ... SELECT ... GROUP BY, then deletes the hours (READ COMMITTED, as a
-- cron job would run it). It compacts the live table the recorders write to.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO bench.route_daily
    (id, route, method, period_start, period_end, created_at, total_requests, successful, failed,
     total_duration_ms, average_duration_ms, min_duration_ms, max_duration_ms, last_request_at,
     updated_at, latency_sketch, resolution, timezone)
SELECT gen_random_uuid(), route, method, date_trunc('day', period_start, 'UTC'),
       date_trunc('day', period_start, 'UTC') + interval '1 day', now(),
       sum(total_requests), sum(successful), sum(failed), sum(total_duration_ms),
       sum(total_duration_ms) / sum(total_requests), min(min_duration_ms), max(max_duration_ms),
       max(last_request_at), now(), metrics.merge_latency_sketches(latency_sketch), 'day', 'UTC'
FROM metrics.route_metrics
WHERE resolution = 'hour' AND period_start < date_trunc('day', now() - interval '1 day', 'UTC')
GROUP BY route, method, date_trunc('day', period_start, 'UTC');
DELETE FROM metrics.route_metrics
WHERE resolution = 'hour' AND period_start < date_trunc('day', now() - interval '1 day', 'UTC');
COMMIT;
