-- Direct recording appends (0.7.0): the recent hours' buckets go to the unfolded tables, not
-- into the hour rows; the reports read both and answer the same before and after
-- metrics.fold_metrics() moves them; summaries add exactly what their events add; a batch id
-- is counted once. Every expected number comes from the events sent, kept in a temp table.
BEGIN;
SELECT plan(44);
\ir ../../fixtures/setup.sql

-- Events of the current and the previous UTC hour (recent: appended), deterministic.
CREATE TEMP TABLE sent (route text, method text, success boolean, duration_ms float8, at timestamptz);
INSERT INTO sent
SELECT '/api/u' || (i % 3), (ARRAY['GET', 'POST'])[1 + i % 2], i % 13 <> 0,
       round((exp(((i * 7919) % 1000) / 1000.0 * 7) / 3)::numeric, 3)::float8,
       date_trunc('hour', now(), 'UTC') - interval '1 hour' + (i * 17 % 3600) * interval '1 second'
FROM generate_series(1, 900) AS i;

SELECT is(metrics.record_route_metrics(
            (SELECT jsonb_agg(jsonb_build_object('route', route, 'method', method, 'success', success,
                                                 'duration_ms', duration_ms, 'at', at)) FROM sent)),
          900::bigint, 'a batch of 900 recent requests');
SELECT is((SELECT count(*) FROM metrics.route_metrics), 0::bigint, 'no hour row is written by direct recording');
SELECT is((SELECT sum(total_requests) FROM metrics.route_metrics_unfolded), 900::numeric, 'the events are in the unfolded rows, as buckets of a batch');
SELECT is((SELECT count(*) FROM metrics.route_metrics_unfolded),
          (SELECT count(DISTINCT (route, method, date_trunc('hour', at))) FROM sent),
          'one unfolded row per (route, method, hour) of the batch');
SELECT is((SELECT bool_and(NOT folded) FROM metrics.route_metrics_live), true, 'the live view shows them as not folded');

-- The report, against the events and again after the fold.
CREATE TEMP TABLE expected AS
SELECT route, method, date_trunc('hour', at) AS h, count(*) AS n, count(*) FILTER (WHERE success) AS ok,
       min(duration_ms) AS lo, max(duration_ms) AS hi, round((sum(duration_ms) * 1000)::numeric) / 1000 AS total
FROM sent GROUP BY 1, 2, 3;
CREATE TEMP TABLE before_fold AS
SELECT * FROM metrics.get_route_metrics(start_at => now() - interval '3 hours', end_at => now() + interval '1 hour');
SELECT set_eq(
    $$SELECT route, method, period_start, total_requests, successful, min_duration_ms, max_duration_ms,
             round((average_duration_ms * total_requests * 1000)::numeric) / 1000 FROM before_fold$$,
    $$SELECT route, method, h, n, ok, lo, hi, total FROM expected$$,
    'get_route_metrics reads the unfolded rows: counts, extremes and sums per hour');
SELECT is((SELECT count(*) FROM before_fold WHERE resolution = 'hour'), (SELECT count(*) FROM expected), 'as hours');
CREATE TEMP TABLE before_fold_combined AS
SELECT * FROM metrics.get_route_metrics(start_at => now() - interval '3 hours', end_at => now() + interval '1 hour',
                                        grain => 'day', combined => true);
SELECT results_eq($$SELECT period_start, total_requests, p50_ms IS NOT NULL FROM before_fold_combined ORDER BY 1$$,
                  $$SELECT date_trunc('day', at), count(*), true FROM sent GROUP BY 1 ORDER BY 1$$, 'and combined per day');

SELECT results_eq($$SELECT family, rows_folded, events FROM metrics.fold_metrics() ORDER BY family$$,
                  $$VALUES ('operation_metrics', 0::bigint, 0::bigint),
                           ('route_metrics', (SELECT count(*) FROM expected), 900::bigint)$$,
                  'fold_metrics folds every unfolded row, and says how many events they held');
SELECT is((SELECT count(*) FROM metrics.route_metrics_unfolded), 0::bigint, 'nothing is left unfolded');
SELECT set_eq($$SELECT route, method, period_start, total_requests, successful, min_duration_ms, max_duration_ms FROM metrics.route_metrics$$,
              $$SELECT route, method, h, n, ok, lo, hi FROM expected$$, 'the hour rows hold what the events add up to');
SELECT results_eq(
    $$SELECT * FROM metrics.get_route_metrics(start_at => now() - interval '3 hours', end_at => now() + interval '1 hour') ORDER BY 1, 3, 4$$,
    $$SELECT * FROM before_fold ORDER BY 1, 3, 4$$,
    'get_route_metrics answers the same after the fold, to the last digit and percentile');
SELECT results_eq(
    $$SELECT * FROM metrics.get_route_metrics(start_at => now() - interval '3 hours', end_at => now() + interval '1 hour', grain => 'day', combined => true)$$,
    $$SELECT * FROM before_fold_combined$$, 'and combined per day');

-- Recording after a fold adds unfolded rows again; the report merges both kinds.
SELECT lives_ok($$SELECT metrics.record_route_metric('/api/u1', 'GET', false, 5000)$$, 'one more request now');
SELECT results_eq(
    $$SELECT sum(total_requests), sum(failed), max(max_duration_ms)
      FROM metrics.get_route_metrics('/api/u1', 'GET', now() - interval '3 hours', now() + interval '1 hour')$$,
    $$SELECT count(*)::numeric + 1, count(*) FILTER (WHERE NOT success)::numeric + 1, 5000::float8 FROM sent WHERE route = '/api/u1' AND method = 'GET'$$,
    'a folded hour row and an unfolded row of one key add up in the report');
SELECT is((SELECT count(*) FROM metrics.route_metrics_live WHERE route = '/api/u1' AND method = 'GET'
                                                        AND period_start = date_trunc('hour', now(), 'UTC')),
          (SELECT count(*) + 1 FROM metrics.route_metrics WHERE route = '/api/u1' AND method = 'GET'
                                                          AND period_start = date_trunc('hour', now(), 'UTC')),
          'the live view holds both rows of the hour until the next fold');

-- A late bucket (older than 12 hours) is added into its hour's row directly, as before.
SET LOCAL metrics.max_event_age = '30d';
SELECT is(metrics.record_route_metrics(jsonb_build_array(jsonb_build_object(
              'route', '/api/late', 'method', 'GET', 'success', true, 'duration_ms', 3, 'at', now() - interval '2 days'))),
          1::bigint, 'a request of two days ago');
SELECT results_eq($$SELECT (SELECT count(*) FROM metrics.route_metrics WHERE route = '/api/late'),
                           (SELECT count(*) FROM metrics.route_metrics_unfolded WHERE route = '/api/late')$$,
                  $$VALUES (1::bigint, 0::bigint)$$, 'goes into its hour row, not the unfolded table');

-- Summaries: the events of /api/s0 sent one by one, and the same events sent as summaries
-- under /api/s1 (the sketch buckets computed here with the formula of sketch::bucket_of).
CREATE TEMP TABLE twins AS SELECT * FROM sent WHERE route = '/api/u0';
SELECT is(metrics.record_route_metrics(
            (SELECT jsonb_agg(jsonb_build_object('route', '/api/s0', 'method', method, 'success', success,
                                                 'duration_ms', duration_ms, 'at', at)) FROM twins)),
          (SELECT count(*) FROM twins), 'the twins'' events one by one');
CREATE TEMP TABLE summaries AS
WITH b AS (
    SELECT method, date_trunc('hour', at) AS h, success, duration_ms, at,
           CASE WHEN duration_ms < 0.001 THEN 0
                ELSE least(1 + floor(ln(duration_ms / 0.001) / 0.020000666706669524)::int, 1260) END AS bucket
    FROM twins),
sk AS (SELECT method, h, bucket, count(*) AS n FROM b GROUP BY 1, 2, 3)
SELECT jsonb_build_object(
           'route', '/api/s1', 'method', b.method, 'at', max(b.at),
           'successful', count(*) FILTER (WHERE b.success), 'failed', count(*) FILTER (WHERE NOT b.success),
           'total_duration_ms', round((sum(b.duration_ms) * 1000)::numeric) / 1000,
           'min_duration_ms', min(b.duration_ms), 'max_duration_ms', max(b.duration_ms),
           'sketch', (SELECT jsonb_agg(jsonb_build_array(sk.bucket, sk.n) ORDER BY sk.bucket) FROM sk
                      WHERE sk.method = b.method AND sk.h = b.h)) AS summary
FROM b GROUP BY b.method, b.h;
SELECT is(metrics.record_route_metrics((SELECT jsonb_agg(summary) FROM summaries)),
          (SELECT count(*) FROM twins), 'the same events as summaries, one per (method, hour): the count of their events');
SELECT results_eq(
    $$SELECT period_start, method, total_requests, successful, failed, success_rate, average_duration_ms, min_duration_ms,
             max_duration_ms, p50_ms, p95_ms, p99_ms
      FROM metrics.get_route_metrics('/api/s1', NULL, now() - interval '3 hours', now() + interval '1 hour') ORDER BY 1, 2$$,
    $$SELECT period_start, method, total_requests, successful, failed, success_rate, average_duration_ms, min_duration_ms,
             max_duration_ms, p50_ms, p95_ms, p99_ms
      FROM metrics.get_route_metrics('/api/s0', NULL, now() - interval '3 hours', now() + interval '1 hour') ORDER BY 1, 2$$,
    'a summary reports exactly as its events do: counts, sums, extremes and percentiles');
SELECT is((SELECT count(*) FROM metrics.get_route_metrics('/api/s1', NULL, now() - interval '3 hours', now() + interval '1 hour')),
          (SELECT count(*) FROM summaries), 'one report row per summary');

-- Summaries that cannot be: refused as a whole, nothing written.
CREATE TEMP TABLE before_refusals AS SELECT (SELECT sum(total_requests) FROM metrics.route_metrics_live) AS n;
SELECT pg_temp.fails_with(format($$SELECT metrics.record_route_metrics('[%s]')$$,
           (SELECT (summary || '{"failed": 1000}')::text FROM summaries LIMIT 1)), '22023', 'counts that disagree with the sketch');
SELECT pg_temp.fails_with(format($$SELECT metrics.record_route_metrics('[%s]')$$,
           (SELECT (summary || '{"total_duration_ms": 1e9}')::text FROM summaries LIMIT 1)), '22023', 'a sum its durations cannot have');
SELECT pg_temp.fails_with(format($$SELECT metrics.record_route_metrics('[%s]')$$,
           (SELECT (summary - 'at')::text FROM summaries LIMIT 1)), '22004', 'a summary without its time');
SELECT pg_temp.fails_with(format($$SELECT metrics.record_route_metrics('[%s]')$$,
           (SELECT (summary || '{"sketch": [[9999, 1]]}')::text FROM summaries LIMIT 1)), '22023', 'a sketch bucket out of range');
SELECT is((SELECT sum(total_requests) FROM metrics.route_metrics_live), (SELECT n FROM before_refusals), 'no refused summary wrote anything');

-- Batch ids: the same batch twice is counted once; an id is one batch.
SELECT is(metrics.record_route_metrics('[{"route": "/api/once", "method": "GET", "success": true, "duration_ms": 1},
                                         {"route": "/api/once", "method": "GET", "success": false, "duration_ms": 2}]',
                                       'a4b5c6d7-0000-4000-8000-000000000001'),
          2::bigint, 'a batch with an id');
SELECT is(metrics.record_route_metrics('[{"route": "/api/once", "method": "GET", "success": true, "duration_ms": 1},
                                         {"route": "/api/once", "method": "GET", "success": false, "duration_ms": 2}]',
                                       'a4b5c6d7-0000-4000-8000-000000000001'),
          2::bigint, 'sent again: the first call''s count');
SELECT is((SELECT sum(total_requests) FROM metrics.route_metrics_live WHERE route = '/api/once'), 2::numeric,
          'and recorded once');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/api/once", "method": "GET", "success": true, "duration_ms": 1}]',
                                                                  'a4b5c6d7-0000-4000-8000-000000000001')$$,
                          '22023', 'the id with another batch is refused');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/api/twice", "method": "GET", "success": true, "duration_ms": 1},
                                                                    {"route": "/api/twice", "method": "GET", "success": false, "duration_ms": 2}]',
                                                                  'a4b5c6d7-0000-4000-8000-000000000001')$$,
                          '22023', 'and so is the id with another batch of as many events');
SELECT pg_temp.fails_with($$SELECT metrics.record_operation_metrics('[{"operation": "op", "success": true, "duration_ms": 1},
                                                                      {"operation": "op", "success": true, "duration_ms": 1}]',
                                                                    'a4b5c6d7-0000-4000-8000-000000000001')$$,
                          '22023', 'and with a batch of operations');
SELECT results_eq($$SELECT family, events FROM metrics.recorded_batches$$, $$VALUES ('route_metrics', 2::bigint)$$,
                  'the id is remembered with its family and count');
SELECT is(metrics.record_route_metrics('[]', 'a4b5c6d7-0000-4000-8000-000000000002'), 0::bigint, 'an empty batch with an id records nothing');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/api/once", "method": "GET", "success": true, "duration_ms": 1}]',
                                                                  'a4b5c6d7-0000-4000-8000-000000000002')$$,
                          '22023', 'and its id stays that empty batch''s');
-- Ids older than a retry could be accepted are forgotten by the fold.
UPDATE metrics.recorded_batches SET recorded_at = now() - interval '31 days';
SELECT lives_ok($$SELECT * FROM metrics.fold_metrics()$$, 'a fold');
SELECT is((SELECT count(*) FROM metrics.recorded_batches), 0::bigint, 'forgets ids older than metrics.max_event_age + max_event_lead');

-- Operations go the same way.
SELECT lives_ok($$SELECT metrics.record_operation_metric('send_email', true, 120)$$, 'an operation now');
SELECT results_eq($$SELECT (SELECT count(*) FROM metrics.operation_metrics), (SELECT count(*) FROM metrics.operation_metrics_unfolded),
                         (SELECT duration_ms::text || ' ' || success || ' ' || (total_executions IS NULL) FROM metrics.operation_metrics_unfolded)$$,
                  $$VALUES (0::bigint, 1::bigint, '120 true true')$$, 'appended as one event''s row, not upserted');
SELECT is((SELECT total_executions FROM metrics.get_operation_metrics('send_email')), 1::bigint, 'and reported');

-- A rolled-back recording leaves no unfolded row; a bounded fold folds that many rows.
SAVEPOINT s;
SELECT metrics.record_route_metric('/api/rolled_back', 'GET', true, 1);
ROLLBACK TO SAVEPOINT s;
SELECT is_empty($$SELECT 1 FROM metrics.route_metrics_unfolded WHERE route = '/api/rolled_back'$$, 'a rolled-back call appends nothing');
SELECT metrics.record_route_metric('/api/bounded', 'GET', true, 1), metrics.record_route_metric('/api/bounded', 'POST', true, 1);
SELECT results_eq($$SELECT family, rows_folded FROM metrics.fold_metrics(1) ORDER BY family$$,
                  $$VALUES ('operation_metrics', 1::bigint), ('route_metrics', 1::bigint)$$, 'fold_metrics(1) folds one row per family');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fold_metrics(0)$$, '22023', 'max_rows 0 is refused');

SELECT * FROM finish();
ROLLBACK;
