-- Route and operation metrics in direct mode: every validation error with its SQLSTATE and
-- nothing written; the hour rows against an independent count of the events sent; the query
-- API per hour, day and week, per route and combined, with percentiles checked against exact
-- percentile_disc over the same durations.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(67);
\ir ../../fixtures/setup.sql
SET LOCAL metrics.max_event_age = '4000d';

-- The events, kept here so every expected value is computed from them independently.
CREATE TEMP TABLE sent (route text, method text, success boolean, duration_ms float8, at timestamptz);
INSERT INTO sent
SELECT '/api/r' || (i % 7), (ARRAY['GET', 'POST', 'DELETE'])[1 + i % 3], i % 11 <> 0,
       -- log-normal-ish durations from 0.5 ms to a few seconds, deterministic
       round((exp(((i * 7919) % 1000) / 1000.0 * 8) / 2)::numeric, 3)::float8,
       timestamptz '2025-06-01 00:00:00+00' + (i * 37 % (3 * 24 * 3600)) * interval '1 second'
FROM generate_series(1, 6000) AS i;

-- Recorded in batches of 500 through the JSON API.
SELECT is(sum(metrics.record_route_metrics(batch)), 6000::numeric, 'record 6,000 requests in 12 batches')
FROM (SELECT jsonb_agg(jsonb_build_object('route', route, 'method', lower(method), 'success', success,
                                          'duration_ms', duration_ms, 'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))) AS batch
      FROM (SELECT *, row_number() OVER () AS n FROM sent) AS s
      GROUP BY (n - 1) / 500) AS b;

-- The hour rows equal a GROUP BY over what was sent.
SELECT set_eq(
    $$SELECT route, method, period_start, period_end, total_requests, successful, failed, min_duration_ms, max_duration_ms, last_request_at
      FROM metrics.route_metrics$$,
    $$SELECT route, method, date_trunc('hour', at) AS h0, date_trunc('hour', at) + interval '1 hour' AS h1, count(*) AS n,
             count(*) FILTER (WHERE success) AS ok, count(*) FILTER (WHERE NOT success) AS bad, min(duration_ms) AS lo,
             max(duration_ms) AS hi, max(at) AS last
      FROM sent GROUP BY route, method, date_trunc('hour', at)$$,
    'every (route, method, hour) row holds the counts, extremes and last time of its events');
-- Driven by the sent groups, LEFT JOINed: a missing row or a NULL sum fails.
SELECT results_eq(
    $$SELECT count(*), count(*) FILTER (WHERE abs(r.total_duration_ms - s.total) <= 1e-9 * s.total
                                          AND abs(r.average_duration_ms - r.total_duration_ms / r.total_requests) <= 1e-12)
      FROM (SELECT route, method, date_trunc('hour', at) AS h, sum(duration_ms) AS total FROM sent GROUP BY 1, 2, 3) s
      LEFT JOIN metrics.route_metrics r ON (s.route, s.method, s.h) = (r.route, r.method, r.period_start)$$,
    $$SELECT count(*), count(*) FROM (SELECT DISTINCT route, method, date_trunc('hour', at) FROM sent) AS g$$,
    'and the sum and average of their durations');

-- A single event adds into its hour's row, and the method is stored upper-case.
SELECT lives_ok($$SELECT metrics.record_route_metric('/api/single', 'patch', false, 42.5)$$, 'record one request now');
SELECT FROM metrics.fold_metrics();  -- into the hour rows (direct recording appends since 0.7.0)
SELECT results_eq(
    $$SELECT method, total_requests, successful, failed, min_duration_ms, max_duration_ms,
             period_start = date_trunc('hour', now(), 'UTC') FROM metrics.route_metrics WHERE route = '/api/single'$$,
    $$VALUES ('PATCH', 1::bigint, 0::bigint, 1::bigint, 42.5::float8, 42.5::float8, true)$$,
    'a single request lands in the current UTC hour');
SELECT lives_ok($$SELECT metrics.record_route_metric('/api/single', 'PATCH', true, 7.5)$$, 'and a second one adds into the same row');
SELECT FROM metrics.fold_metrics();  -- into the hour rows (direct recording appends since 0.7.0)
SELECT results_eq(
    $$SELECT total_requests, successful, failed, min_duration_ms, max_duration_ms, total_duration_ms FROM metrics.route_metrics WHERE route = '/api/single'$$,
    $$VALUES (2::bigint, 1::bigint, 1::bigint, 7.5::float8, 42.5::float8, 50::float8)$$, 'counts, extremes and sums merge');

-- Operations.
SELECT lives_ok($$SELECT metrics.record_operation_metric('send_email', true, 120)$$, 'record an operation');
SELECT is(metrics.record_operation_metrics('[{"operation": "send_email", "success": false, "duration_ms": 80},
                                             {"operation": "resize_image", "success": true, "duration_ms": 5, "at": "2025-06-01T10:00:00+02:00"}]'),
          2::bigint, 'and a batch of two');
SELECT FROM metrics.fold_metrics();  -- into the hour rows (direct recording appends since 0.7.0)
SELECT results_eq(
    $$SELECT operation, period_start, total_executions, successful, failed, max_duration_ms FROM metrics.operation_metrics ORDER BY operation$$,
    $$VALUES ('resize_image', '2025-06-01 08:00:00+00'::timestamptz, 1::bigint, 1::bigint, 0::bigint, 5::float8),
             ('send_email', date_trunc('hour', now(), 'UTC'), 2::bigint, 1::bigint, 1::bigint, 120::float8)$$,
    'operations per hour; an offset in "at" is honoured');

-- The query API per hour: the same numbers, with percentiles within 1% of exact ones.
CREATE TEMP TABLE hourly AS
SELECT * FROM metrics.get_route_metrics(start_at => '2025-06-01', end_at => '2025-06-04');
SELECT set_eq(
    $$SELECT period_start, route, method, total_requests, successful, failed FROM hourly$$,
    $$SELECT date_trunc('hour', at) AS h, route, method, count(*) AS n, count(*) FILTER (WHERE success) AS ok,
             count(*) FILTER (WHERE NOT success) AS bad
      FROM sent GROUP BY 1, 2, 3$$,
    'get_route_metrics per hour, route and method');
-- The sketch's guarantee (crates/metrics-core/src/requests/sketch.rs): within 1% of the true
-- sample at percentile_disc's rank. A NULL estimate (or exact value) is false, never NULL.
CREATE FUNCTION pg_temp.within(estimate float8, exact float8) RETURNS boolean LANGUAGE sql AS $$
    SELECT estimate IS NOT NULL AND exact IS NOT NULL AND abs(estimate - exact) <= 0.01 * abs(exact) + 1e-9
$$;
SELECT is(pg_temp.within(NULL, 5), false, 'within(): a NULL estimate is not within the bound');
-- Driven by the sent groups, LEFT JOINed: every (hour, route, method) must have its row.
SELECT results_eq(
    $$SELECT count(*), count(*) FILTER (WHERE pg_temp.within(h.p50_ms, e.p50) AND pg_temp.within(h.p95_ms, e.p95)
                                          AND pg_temp.within(h.p99_ms, e.p99))
      FROM (SELECT date_trunc('hour', at) AS hour, route, method,
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
                   percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99
            FROM sent GROUP BY 1, 2, 3) e
      LEFT JOIN hourly h ON (e.hour, e.route, e.method) = (h.period_start, h.route, h.method)$$,
    $$SELECT count(*), count(*) FROM (SELECT DISTINCT date_trunc('hour', at), route, method FROM sent) AS g$$,
    'hourly p50, p95 and p99 of every (hour, route, method) are within 1% of percentile_disc');

-- Per day and per week, and across every route: sketches merge, percentiles still hold.
SELECT results_eq(
    $$SELECT period_start, period_end, total_requests, successful FROM metrics.get_route_metrics(start_at => '2025-06-01', end_at => '2025-06-04', grain => 'day', combined => true)$$,
    $$SELECT d, d + interval '1 day', count(*) AS n, count(*) FILTER (WHERE success) AS ok
      FROM sent, date_trunc('day', at) AS d GROUP BY d ORDER BY d$$,
    'per day across routes');
SELECT set_eq(
    $$SELECT period_start FROM metrics.get_route_metrics(start_at => '2025-06-01', end_at => '2025-06-04', grain => 'week', combined => true)$$,
    $$VALUES ('2025-05-26 00:00:00+00'::timestamptz), ('2025-06-02 00:00:00+00')$$,
    'Sunday 2025-06-01 and Monday 2025-06-02 fall in two weeks, which start on Monday');
SELECT results_eq(
    $$SELECT e.week, w.total_requests IS NOT DISTINCT FROM e.n AND w.min_duration_ms IS NOT DISTINCT FROM e.lo
                     AND w.max_duration_ms IS NOT DISTINCT FROM e.hi AND abs(w.average_duration_ms - e.mean) <= 1e-9 * e.mean,
             pg_temp.within(w.p50_ms, e.p50) AND pg_temp.within(w.p95_ms, e.p95) AND pg_temp.within(w.p99_ms, e.p99)
      FROM (SELECT date_trunc('week', at) AS week, count(*) AS n, min(duration_ms) AS lo, max(duration_ms) AS hi, avg(duration_ms) AS mean,
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
                   percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99 FROM sent GROUP BY 1) e
      LEFT JOIN metrics.get_route_metrics(start_at => '2025-06-01', end_at => '2025-06-04', grain => 'week', combined => true) w
        ON e.week = w.period_start
      ORDER BY 1$$,
    $$VALUES ('2025-05-26 00:00:00+00'::timestamptz, true, true), ('2025-06-02 00:00:00+00', true, true)$$,
    'per week across routes: counts and extremes exact, percentiles within 1% (never an average of averages)');
SELECT is((SELECT sum(total_requests) FROM metrics.get_route_metrics(start_at => '2025-06-01', end_at => '2025-06-04', grain => 'week', combined => true)),
          6000::numeric, 'the weeks hold every request');
SELECT results_eq(
    $$SELECT route, method, sum(total_requests)::bigint FROM metrics.get_route_metrics('/api/r3', 'post', '2025-06-01', '2025-06-04', 'day') GROUP BY 1, 2$$,
    $$SELECT route, method, count(*) FROM sent WHERE route = '/api/r3' AND method = 'POST' GROUP BY 1, 2$$,
    'filtered by route and method (case-insensitive)');
-- Days follow metrics.timezone.
SET LOCAL metrics.timezone = 'America/New_York';
SELECT results_eq(
    $$SELECT period_start, total_requests FROM metrics.get_route_metrics(start_at => '2025-06-01 04:00+00', end_at => '2025-06-03 04:00+00', grain => 'day', combined => true)$$,
    $$SELECT d AT TIME ZONE 'America/New_York', count(*) FROM sent, date_trunc('day', at AT TIME ZONE 'America/New_York') AS d
      WHERE at >= '2025-06-01 04:00+00' AND at < '2025-06-03 04:00+00' GROUP BY d ORDER BY d$$,
    'days in metrics.timezone');
RESET metrics.timezone;
-- A user's own query over the rows, with the aggregate and latency_quantile.
SELECT ok(pg_temp.within(
              (SELECT metrics.latency_quantile(metrics.merge_latency_sketches(latency_sketch), 0.95) FROM metrics.route_metrics WHERE route LIKE '/api/r%'),
              (SELECT percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) FROM sent)),
          'merge_latency_sketches + latency_quantile over raw rows');
SELECT is(metrics.latency_quantile(metrics.merge_latency_sketch(NULL, NULL), 0.5), NULL, 'an empty sketch has no quantile');
SELECT pg_temp.fails_with($$SELECT metrics.latency_quantile('\x0102'::bytea, 0.5)$$, '22P03', 'bytes that are not a sketch are refused');
SELECT pg_temp.fails_with($$SELECT metrics.latency_quantile(latency_sketch, 1.5) FROM metrics.route_metrics LIMIT 1$$, '22023', 'q outside [0, 1] is refused');

-- Every validation error: its SQLSTATE, a hint, and nothing written.
CREATE TEMP TABLE before AS SELECT (SELECT sum(total_requests) FROM metrics.route_metrics) AS r, (SELECT sum(total_executions) FROM metrics.operation_metrics) AS o;
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric(NULL, 'GET', true, 1)$$, '22004', 'a NULL route');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('/a', NULL, true, 1)$$, '22004', 'a NULL method');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('/a', 'GET', NULL, 1)$$, '22004', 'a NULL success');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('/a', 'GET', true, NULL)$$, '22004', 'a NULL duration');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('', 'GET', true, 1)$$, '22023', 'an empty route');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('   ', 'GET', true, 1)$$, '22023', 'a blank route');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric(repeat('x', 1025), 'GET', true, 1)$$, '22001', 'a route over 1,024 bytes');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric(E'/a\nb', 'GET', true, 1)$$, '22023', 'a route with a line break');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('/a', 'BREW', true, 1)$$, '22023', 'an unknown HTTP method');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('/a', 'GET', true, -1)$$, '22023', 'a negative duration');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('/a', 'GET', true, 'NaN')$$, '22023', 'a NaN duration');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('/a', 'GET', true, 'Infinity')$$, '22023', 'an infinite duration');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('/a', 'GET', true, 86400001)$$, '22023', 'a duration over a day');
SELECT pg_temp.fails_with($$SELECT metrics.record_operation_metric('', true, 1)$$, '22023', 'an empty operation');
SELECT pg_temp.fails_with($$SELECT metrics.record_operation_metric('op', true, -0.5)$$, '22023', 'a negative operation duration');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics(NULL)$$, '22004', 'a NULL batch');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('{"route": "/a"}')$$, '22023', 'a batch that is not an array');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true, "duration_ms": 1}, "x"]')$$, '22023', 'an event that is not an object');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true}]')$$, '22004', 'an event without duration_ms');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": 1, "duration_ms": 1}]')$$, '22023', 'success that is not a boolean');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true, "duration_ms": "5"}]')$$, '22023', 'a duration given as a string');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "durationMs": 1}]')$$, '22023', 'an unknown key');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "at": "2025-06-01 12:00"}]')$$, '22007', 'a time without an offset');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "at": "soon"}]')$$, '22007', 'a time that is not one');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "at": "2099-01-01T00:00:00Z"}]')$$, '22008', 'a time in the future');
SET LOCAL metrics.max_event_age = '1d';
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "at": "2025-06-01T00:00:00Z"}]')$$, '22008', 'a time older than metrics.max_event_age');
SET LOCAL metrics.max_event_age = '4000d';
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics((SELECT jsonb_agg(jsonb_build_object('route', '/a', 'method', 'GET', 'success', true, 'duration_ms', 1)) FROM generate_series(1, 100001)))$$,
                          '54000', 'a batch over 100,000 events');
SELECT pg_temp.fails_with($$SELECT metrics.record_operation_metrics('[{"operation": "op", "success": true, "duration_ms": 1, "method": "GET"}]')$$, '22023', 'an operation event with a method');
-- All or nothing: a good event followed by a bad one records neither, and the message names index 1.
SELECT is(pg_temp.error_of($$SELECT metrics.record_route_metrics('[{"route": "/good", "method": "GET", "success": true, "duration_ms": 1},
                                                                    {"route": "/bad", "method": "BREW", "success": true, "duration_ms": 1}]')$$)->>'message',
          'events[1]: unknown HTTP method "BREW"', 'a batch is refused at its first bad event, by index');
SELECT results_eq($$SELECT (SELECT sum(total_requests) FROM metrics.route_metrics) = r, (SELECT sum(total_executions) FROM metrics.operation_metrics) = o FROM before$$,
                  $$VALUES (true, true)$$, 'no refused call wrote anything');
SELECT is_empty($$SELECT 1 FROM metrics.route_metrics WHERE route IN ('/a', '/good', '/bad')$$, 'not even the good event of a refused batch');

-- The query API's own checks.
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_route_metrics(grain => 'month')$$, '22023', 'an unknown grain');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_route_metrics(start_at => '2025-06-02', end_at => '2025-06-01')$$, '22023', 'a range that ends before it starts');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_route_metrics(start_at => '2020-01-01', end_at => '2025-01-01')$$, '22023', 'a range over metrics.max_query_days');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_route_metrics(start_at => '-infinity')$$, '22008', 'an infinite start');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_route_metrics(start_at => NULL)$$, '22004', 'a NULL start');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_route_metrics(method => 'BREW')$$, '22023', 'an unknown method filter');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_operation_metrics(grain => 'year')$$, '22023', 'an unknown grain for operations');

-- Direct mode is the caller's transaction: a rollback takes the events with it.
SAVEPOINT before_rollback;
SELECT lives_ok($$SELECT metrics.record_route_metric('/rolled_back', 'GET', true, 1)$$, 'record inside a savepoint');
ROLLBACK TO SAVEPOINT before_rollback;
SELECT is_empty($$SELECT 1 FROM metrics.route_metrics WHERE route = '/rolled_back'$$, 'a rolled-back call leaves nothing');

-- Without preloading, buffered mode falls back to direct (one WARNING per session).
SET LOCAL metrics.ingest_mode = 'buffered';
SELECT lives_ok($$SELECT metrics.record_route_metric('/fallback', 'GET', true, 1)$$, 'buffered without shared_preload_libraries');
SELECT FROM metrics.fold_metrics();  -- into the hour rows (direct recording appends since 0.7.0)
SELECT is((SELECT total_requests FROM metrics.route_metrics WHERE route = '/fallback'), 1::bigint, 'is written directly');

-- An hour row written around the extension (the owner may INSERT) whose sketch is not one is
-- an error that names the row, not the caller's (22P03 is for bytes a caller passes).
INSERT INTO metrics.route_metrics (route, method, period_start, period_end, total_requests, successful, failed,
                                   total_duration_ms, average_duration_ms, min_duration_ms, max_duration_ms,
                                   last_request_at, latency_sketch)
VALUES ('/corrupt', 'GET', '2025-06-01 10:00+00', '2025-06-01 11:00+00', 1, 1, 0, 5, 5, 5, 5, '2025-06-01 10:30+00', '\x0102');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_route_metrics(route => '/corrupt', start_at => '2025-06-01', end_at => '2025-06-02')$$,
                          'XX001', 'a corrupt stored sketch is a corrupt row');
SELECT throws_like($$SELECT * FROM metrics.get_route_metrics(route => '/corrupt', start_at => '2025-06-01', end_at => '2025-06-02')$$,
                   'row (route, method, hour) = (/corrupt, GET, 2025-06-01T10:00:00%) of metrics.route_metrics cannot be read: latency_sketch is not a sketch%',
                   'which names the row');

SELECT * FROM finish();
ROLLBACK;
