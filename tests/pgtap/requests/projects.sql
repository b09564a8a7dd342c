-- Request and operation events of projects: each event may name its project (slug or id), its
-- buckets are the project's, and a batch naming a project that does not exist writes nothing.
-- Per-project totals and p50/p95/p99 against an independent count of the events sent; the
-- report of every project together (project NULL) equals, column for column, the report of
-- the same events recorded without projects; compaction folds each project apart, exactly.
BEGIN;
SELECT plan(39);
\ir ../../fixtures/setup.sql
SET LOCAL metrics.max_event_age = '4000d';

SELECT lives_ok($$SELECT metrics.create_project('acme', 'Acme Corp')$$, 'project acme');
SELECT lives_ok($$SELECT metrics.create_project('beta', 'Beta Ltd')$$, 'project beta');
CREATE TEMP TABLE ids AS SELECT slug, id FROM metrics.projects;

-- The events, kept here so every expected value is computed from them independently: a
-- quarter of no project, the others of acme (by slug or by id, in upper case) or beta, from
-- 100 to 80 days ago, so compaction folds the older days and leaves the newer hours.
CREATE TEMP TABLE sent (route text, method text, success boolean, duration_ms float8, at timestamptz, project text, slug text);
INSERT INTO sent
SELECT '/api/r' || (i % 5), (ARRAY['GET', 'POST'])[1 + i % 2], i % 13 <> 0,
       round((exp(((i * 7919) % 1000) / 1000.0 * 7) / 2)::numeric, 3)::float8,
       date_trunc('day', now() - interval '100 days', 'UTC') + (i * 7919 % (20 * 24 * 3600)) * interval '1 second',
       p.ref, p.slug
FROM generate_series(1, 4000) AS i
CROSS JOIN LATERAL (SELECT CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN 'acme'
                                      WHEN 2 THEN upper((SELECT id::text FROM ids WHERE slug = 'acme')) ELSE 'beta' END AS ref,
                           CASE i % 4 WHEN 0 THEN NULL WHEN 3 THEN 'beta' ELSE 'acme' END AS slug) AS p;
CREATE FUNCTION pg_temp.batch(prefix text, with_project boolean, chunk int) RETURNS SETOF jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('route', prefix || route, 'method', method, 'success', success,
                     'duration_ms', duration_ms, 'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                     'project', CASE WHEN with_project THEN project END)))
    FROM (SELECT *, row_number() OVER (ORDER BY at, route) AS n FROM sent) AS s GROUP BY (n - 1) / chunk
$$;

SELECT is(sum(metrics.record_route_metrics(b)), 4000::numeric, 'record 4,000 requests of acme, beta and no project in batches of 500')
FROM pg_temp.batch('', true, 500) AS b;
-- The same events again under other routes and without projects: what every report of all
-- projects together must read like.
SELECT is(sum(metrics.record_route_metrics(b)), 4000::numeric, 'and the same requests without projects, under /copy')
FROM pg_temp.batch('/copy', false, 1000) AS b;

SELECT set_eq(
    $$SELECT route, method, period_start, project_id, total_requests, successful, failed, min_duration_ms, max_duration_ms, last_request_at
      FROM metrics.route_metrics WHERE route NOT LIKE '/copy%'$$,
    $$SELECT route, method, date_trunc('hour', at) AS h, i.id, count(*) AS n, count(*) FILTER (WHERE success) AS ok,
             count(*) FILTER (WHERE NOT success) AS bad, min(duration_ms) AS lo, max(duration_ms) AS hi, max(at) AS last
      FROM sent LEFT JOIN ids AS i USING (slug) GROUP BY route, method, date_trunc('hour', at), i.id$$,
    'one row per (route, method, hour, project), the project named by slug or by id, holding its events');
SELECT is((SELECT count(*) FROM metrics.route_metrics WHERE route LIKE '/copy%' AND project_id IS NOT NULL), 0::bigint,
          'events without a project are of no project');

-- A batch naming a project that does not exist is refused whole: nothing of it is written.
CREATE TEMP TABLE before_refusal AS SELECT count(*) AS rows, sum(total_requests) AS requests FROM metrics.route_metrics;
SELECT throws_ok(
    $$SELECT metrics.record_route_metrics('[{"route": "/api/new", "method": "GET", "success": true, "duration_ms": 1},
                                           {"route": "/api/r1", "method": "GET", "success": true, "duration_ms": 2, "project": "acme"},
                                           {"route": "/api/r1", "method": "GET", "success": true, "duration_ms": 3, "project": "nope"}]')$$,
    '42704', 'events[2]: project "nope" does not exist', 'a batch with an unknown project is refused with 42704, naming the event');
SELECT results_eq($$SELECT count(*), sum(total_requests) FROM metrics.route_metrics$$,
                  $$SELECT rows, requests FROM before_refusal$$, 'and nothing of it was written');
SELECT pg_temp.fails_with($$SELECT metrics.record_operation_metrics('[{"operation": "o", "success": true, "duration_ms": 1, "project": "0e5c2a4b-1f00-4c3d-8e9f-00112233aaff"}]')$$,
                          '42704', 'an unknown project id');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true, "duration_ms": 1, "project": 3}]')$$,
                          '22023', 'a project that is not a string');
SELECT pg_temp.fails_with($$SELECT metrics.record_route_metric('/api/new', 'GET', true, 1, 'nope')$$, '42704',
                          'a single event of an unknown project');
SELECT is((SELECT count(*) FROM metrics.route_metrics WHERE route = '/api/new'), 0::bigint, 'none of them wrote a row');

-- The per-project reports at day grain, against the events: counts, and percentiles within
-- the sketch's 1% of percentile_disc over the same durations.
CREATE FUNCTION pg_temp.within(estimate float8, exact float8) RETURNS boolean LANGUAGE sql AS $$
    SELECT estimate IS NOT NULL AND exact IS NOT NULL AND abs(estimate - exact) <= 0.01 * abs(exact) + 1e-9
$$;
CREATE TEMP TABLE span AS SELECT now() - interval '120 days' AS s, now() AS e;
CREATE FUNCTION pg_temp.expected(slug text) RETURNS TABLE (d timestamptz, route text, method text, n bigint, ok bigint, bad bigint,
                                                          p50 float8, p95 float8, p99 float8) LANGUAGE sql AS $$
    SELECT date_trunc('day', at, 'UTC'), route, method, count(*), count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success),
           percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms), percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms),
           percentile_disc(0.99) WITHIN GROUP (ORDER BY duration_ms)
    FROM sent WHERE slug = $1 OR $1 IS NULL GROUP BY 1, 2, 3
$$;
CREATE FUNCTION pg_temp.matches(project text, expected_slug text) RETURNS TABLE (groups bigint, matching bigint) LANGUAGE sql AS $$
    SELECT count(*), count(*) FILTER (WHERE (r.total_requests, r.successful, r.failed) = (x.n, x.ok, x.bad)
                                        AND pg_temp.within(r.p50_ms, x.p50) AND pg_temp.within(r.p95_ms, x.p95)
                                        AND pg_temp.within(r.p99_ms, x.p99))
    FROM pg_temp.expected(expected_slug) AS x
    LEFT JOIN (SELECT * FROM span, metrics.get_route_metrics(NULL, NULL, span.s, span.e, 'day', false, project)) AS r
           ON (r.period_start, r.route, r.method) = (x.d, x.route, x.method)
$$;
SELECT results_eq($$SELECT matching FROM pg_temp.matches('acme', 'acme')$$, $$SELECT groups FROM pg_temp.matches('acme', 'acme')$$,
                  'acme per day and route: counts and p50/p95/p99 of its events (by slug and by id)');
SELECT results_eq($$SELECT matching FROM pg_temp.matches((SELECT id::text FROM ids WHERE slug = 'beta'), 'beta')$$,
                  $$SELECT groups FROM pg_temp.matches('beta', 'beta')$$, 'beta, named by its id');
SELECT is((SELECT count(*) FROM span, metrics.get_route_metrics(NULL, NULL, span.s, span.e, 'day', false, 'acme') AS r
           WHERE NOT EXISTS (SELECT FROM sent WHERE slug = 'acme' AND sent.route = r.route AND sent.method = r.method
                                                AND date_trunc('day', sent.at, 'UTC') = r.period_start)), 0::bigint,
          'and no row of another project');
SELECT results_eq(
    $$SELECT sum(total_requests)::bigint, sum(failed)::bigint FROM span, metrics.get_route_metrics(NULL, NULL, span.s, span.e, 'week', true, 'beta')$$,
    $$SELECT count(*), count(*) FILTER (WHERE NOT success) FROM sent WHERE slug = 'beta'$$, 'beta combined per week');
-- Every project together: the same events with and without projects read the same, every
-- column (the /copy routes are the same events, of no project).
CREATE FUNCTION pg_temp.together(grain text, combined boolean, copy boolean) RETURNS TABLE (
    a timestamptz, b timestamptz, route text, method text, n bigint, ok bigint, bad bigint, rate float8, avg float8,
    lo float8, hi float8, p50 float8, p95 float8, p99 float8, res text) LANGUAGE sql AS $$
    SELECT period_start, period_end, CASE WHEN copy THEN substr(route, 6) ELSE route END, method, total_requests, successful, failed,
           success_rate, average_duration_ms, min_duration_ms, max_duration_ms, p50_ms, p95_ms, p99_ms, resolution
    FROM span, metrics.get_route_metrics(NULL, NULL, span.s, span.e, grain, combined)
    WHERE combined OR (route LIKE '/copy%') = copy
$$;
SELECT results_eq($$SELECT * FROM pg_temp.together('hour', false, false) ORDER BY 1, 3, 4$$,
                  $$SELECT * FROM pg_temp.together('hour', false, true) ORDER BY 1, 3, 4$$,
                  'project NULL: every hour of every project together reads exactly as the same events of no project');
SELECT results_eq($$SELECT * FROM pg_temp.together('day', false, false) ORDER BY 1, 3, 4$$,
                  $$SELECT * FROM pg_temp.together('day', false, true) ORDER BY 1, 3, 4$$, 'and per day');
SELECT results_eq($$SELECT matching FROM pg_temp.matches(NULL, NULL)$$, $$SELECT groups FROM pg_temp.matches(NULL, NULL)$$,
                  'project NULL: counts and percentiles of all the events');
SELECT results_eq(
    $$SELECT sum(total_requests)::bigint FROM span, metrics.get_route_metrics(NULL, NULL, span.s, span.e, 'week', true)$$,
    $$SELECT (SELECT sum(total_requests) FROM span, metrics.get_route_metrics(NULL, NULL, span.s, span.e, 'week', true, 'acme'))::bigint
           + (SELECT sum(total_requests) FROM span, metrics.get_route_metrics(NULL, NULL, span.s, span.e, 'week', true, 'beta'))::bigint
           + (SELECT count(*) FROM sent WHERE slug IS NULL) + 4000$$,
    'the total of all is acme''s + beta''s + no project''s (+ the copies)');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_route_metrics(project => 'nope')$$, '42704', 'a report of an unknown project');

-- Single events and operations of a project.
SELECT lives_ok($$SELECT metrics.record_route_metric('/api/single', 'get', true, 5, 'acme')$$, 'one request of acme');
SELECT lives_ok($$SELECT metrics.record_route_metric('/api/single', 'GET', false, 7, NULL)$$, 'one of no project');
SELECT lives_ok($$SELECT metrics.record_route_metric(route => '/api/single', method => 'GET', success => true, duration_ms => 9)$$,
                'one without the argument, by the old names');
SELECT FROM metrics.fold_metrics();  -- into the hour rows (direct recording appends since 0.7.0)
SELECT results_eq(
    $$SELECT i.slug, r.total_requests, r.failed FROM metrics.route_metrics AS r LEFT JOIN ids AS i ON i.id = r.project_id
      WHERE r.route = '/api/single' ORDER BY 1$$,
    $$VALUES ('acme', 1::bigint, 0::bigint), (NULL, 2::bigint, 1::bigint)$$, 'the single events in their projects'' rows');
SELECT is(metrics.record_operation_metrics('[{"operation": "send", "success": true, "duration_ms": 4, "project": "beta"},
                                             {"operation": "send", "success": false, "duration_ms": 6, "project": "beta"},
                                             {"operation": "send", "success": true, "duration_ms": 8}]'), 3::bigint, 'three operations');
SELECT lives_ok($$SELECT metrics.record_operation_metric('send', true, 10, 'acme')$$, 'one of acme');
SELECT results_eq(
    $$SELECT coalesce(p, 'all'), total_executions, failed, max_duration_ms
      FROM unnest(ARRAY['beta', 'acme', NULL]) AS p, metrics.get_operation_metrics('send', project => p) ORDER BY 1$$,
    $$VALUES ('acme', 1::bigint, 0::bigint, 10::float8), ('all', 4::bigint, 1::bigint, 10::float8), ('beta', 2::bigint, 1::bigint, 6::float8)$$,
    'get_operation_metrics per project and all together');

-- Who names a project: the recorder (service_role, a member of no project) records for any
-- project, with the owner's rights; a reader names only the projects it may read, as itself.
SELECT is(pg_temp.error_of($$SET LOCAL ROLE service_role; SELECT metrics.record_route_metric('/api/role', 'GET', true, 3, 'beta')$$),
          NULL, 'service_role, a member of no project, records an event of beta');
RESET ROLE;
SELECT FROM metrics.fold_metrics();  -- into the hour rows (direct recording appends since 0.7.0)
SELECT is((SELECT count(*) FROM metrics.route_metrics AS r JOIN ids AS i ON i.id = r.project_id WHERE r.route = '/api/role' AND i.slug = 'beta'),
          1::bigint, 'into beta''s row');
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"projects": ["acme"]}}', true);
SET LOCAL ROLE authenticated;
SELECT is((SELECT count(*) FROM metrics.get_route_metrics(project => 'acme')), 0::bigint,
          'a member of acme names it (the rows stay for administrators: RLS)');
RESET ROLE;
SELECT is(pg_temp.error_of($$SET LOCAL ROLE authenticated; SELECT * FROM metrics.get_route_metrics(project => 'beta')$$) ->> 'sqlstate',
          '42704', 'a project the caller may not read does not exist for them');
SELECT set_config('request.jwt.claims', '', true);

-- Compaction folds the days older than keep_hourly (90 days) per (route, method, project):
-- the reports of each project and of all together read the same after, every column but
-- the resolution (the folded days are made of day rows now).
CREATE FUNCTION pg_temp.reports() RETURNS TABLE (p text, a timestamptz, b timestamptz, route text, method text, n bigint,
    ok bigint, bad bigint, rate float8, avg float8, lo float8, hi float8, p50 float8, p95 float8, p99 float8, res text) LANGUAGE sql AS $$
    SELECT p, r.period_start, r.period_end, r.route, r.method, r.total_requests, r.successful, r.failed, r.success_rate,
           r.average_duration_ms, r.min_duration_ms, r.max_duration_ms, r.p50_ms, r.p95_ms, r.p99_ms, r.resolution
    FROM unnest(ARRAY['acme', 'beta', NULL]) AS p, span, LATERAL metrics.get_route_metrics(NULL, NULL, span.s, span.e, 'day', false, p) AS r
$$;
CREATE TEMP TABLE report AS SELECT * FROM pg_temp.reports();
CREATE TEMP TABLE done AS SELECT * FROM metrics.compact_metrics();
SELECT ok((SELECT count(*) FROM done WHERE family = 'route_metrics' AND action = 'compact_day' AND verified) >= 9,
          'compaction folds the older days, each unit verified');
SELECT is((SELECT count(*) FROM done WHERE NOT verified), 0::bigint, 'no unit failed');
CREATE TEMP TABLE folded_until AS
SELECT max(period_end) AS t FROM metrics.compacted_periods WHERE family = 'route_metrics';
SELECT set_eq(
    $$SELECT route, method, period_start, project_id, total_requests, failed, min_duration_ms, max_duration_ms FROM metrics.route_metrics
      WHERE resolution = 'day' AND route NOT LIKE '/copy%'$$,
    $$SELECT route, method, date_trunc('day', at, 'UTC') AS d, i.id, count(*) AS n, count(*) FILTER (WHERE NOT success) AS bad,
             min(duration_ms) AS lo, max(duration_ms) AS hi
      FROM sent LEFT JOIN ids AS i USING (slug), folded_until WHERE at < folded_until.t
      GROUP BY 1, 2, 3, 4$$,
    'one day row per (route, method, day, project), with its own events only');
SELECT results_eq(
    $$SELECT count(*) FILTER (WHERE period_start < folded_until.t) = 0, count(*) FILTER (WHERE period_start >= folded_until.t) > 0
      FROM metrics.route_metrics, folded_until WHERE resolution = 'hour'$$,
    $$VALUES (true, true)$$, 'no hour row is left in the folded days, and the newer hours stay');
SELECT bag_eq($$SELECT p, a, b, route, method, n, ok, bad, rate, avg, lo, hi, p50, p95, p99 FROM report$$,
              $$SELECT p, a, b, route, method, n, ok, bad, rate, avg, lo, hi, p50, p95, p99 FROM pg_temp.reports()$$,
              'every report row reads the same after: each project''s and all together');
SELECT results_eq(
    $$SELECT count(*) FILTER (WHERE res = 'day') > 0, count(*) FILTER (WHERE res = 'day' AND p IS NULL) > 0 FROM pg_temp.reports()$$,
    $$VALUES (true, true)$$, 'and the comparison holds folded days, of projects and of all together');
SELECT is((SELECT count(*) FROM metrics.compact_metrics()), 0::bigint, 'a second run has nothing to do');

SELECT * FROM finish();
ROLLBACK;
