-- The read API (get_summary, get_trend, get_breakdown, get_drilldown): every argument checked
-- with its SQLSTATE and a hint; the answers' values equal the stored read-model rows (written
-- here as the owner, as refresh_read_model would); retention's coarser weeks where the
-- requested grain is gone; the open hour and day computed live from metrics.route_metrics,
-- equal to counting the recorded events ourselves; freshness (as_of, computed_at, open,
-- resolution, partial); keyset pages that return every row exactly once, ties included; and
-- who sees what: anon, members of one project, of two, administrators and service_role. A
-- member of one project asking for another gets the error of a project that does not exist.
BEGIN;
SELECT plan(72);
\ir ../../fixtures/setup.sql

SELECT metrics.create_project('acme', 'Acme Corp') IS NOT NULL AS created \gset
SELECT metrics.create_project('globex', 'Globex', 'Europe/Berlin') IS NOT NULL AS created \gset
SELECT metrics.create_project('everything', 'The whole database', NULL, true) IS NOT NULL AS created \gset
SELECT id AS acme FROM metrics.projects WHERE slug = 'acme' \gset
SELECT id AS globex FROM metrics.projects WHERE slug = 'globex' \gset
SELECT id AS whole FROM metrics.projects WHERE slug = 'everything' \gset

-- Stored rows, as refresh_read_model writes them: closed days of posts_created (acme 10 x k,
-- globex 5000 + k), three old weeks of acme (the days compacted away), closed request days
-- and a partial stored point of today that the live bucket replaces.
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, value_numeric, value_json, computed_at)
SELECT p, 'posts_created', 'day', (current_date - k)::timestamptz, v, jsonb_build_object('value', v, 'complete', true),
       now() - interval '1 hour' - k * interval '1 minute'
FROM generate_series(1, 5) AS k,
     LATERAL (VALUES (:'acme'::uuid, 10 * k), (:'globex'::uuid, 5000 + k)) AS x(p, v);
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, value_numeric, value_json, computed_at)
SELECT :'acme', 'posts_created', 'week', date_trunc('week', current_date - 120 + 7 * i), 700 + i,
       jsonb_build_object('value', 700 + i, 'complete', true), now() - interval '2 days'
FROM generate_series(0, 2) AS i;
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, value_numeric, value_json, computed_at)
SELECT :'acme', 'requests', 'day', (current_date - k)::timestamptz, v,
       jsonb_build_object('total', v, 'complete', k > 0), now() - interval '10 minutes'
FROM (VALUES (0, 999), (1, 101), (2, 102), (3, 103)) AS x(k, v);
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, value_numeric, value_json, computed_at)
SELECT :'acme', 'requests', 'week', date_trunc('week', now()), 5, '{"total": 5, "complete": false}', now() - interval '5 minutes';
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, dimensions, value_numeric, value_json, computed_at)
SELECT :'acme', 'requests', 'day', (current_date - 1)::timestamptz, '{"route": "/a", "method": "GET"}', 41,
       '{"total": 41, "complete": true}', now() - interval '10 minutes';

-- Requests recorded now (the open hour and day), counted by us from this table.
CREATE TEMP TABLE ev (project uuid, route text, method text, success boolean, duration_ms float8, at timestamptz);
INSERT INTO ev
SELECT :'acme'::uuid, '/a', 'GET', i <> 2, 100, now() - i * interval '1 second' FROM generate_series(1, 4) AS i
UNION ALL SELECT :'acme', '/b', 'POST', true, 200, now() - interval '2 seconds' FROM generate_series(1, 2)
UNION ALL SELECT :'acme', '/a', 'GET', true, 100, greatest(date_trunc('day', now()), now() - interval '61 minutes')
UNION ALL SELECT :'globex', '/g', 'GET', false, 50, now() - interval '1 second' FROM generate_series(1, 3)
UNION ALL SELECT NULL, '/n', 'GET', true, 10, now() - interval '1 second' FROM generate_series(1, 2);
SELECT is(metrics.record_route_metrics((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('route', route, 'method', method,
          'success', success, 'duration_ms', duration_ms, 'at', at, 'project', project))) FROM ev)), 12::bigint,
          'twelve requests recorded, each naming its project (or none)');

-- Drill-downs: 23 routes, in groups sharing a time bucket, and two without one.
INSERT INTO metrics.metrics_drilldown (project_id, metric_key, entity_type, reference_id, time_bucket, payload, computed_at)
SELECT :'acme', 'requests', 'route', 'GET /r' || lpad(i::text, 2, '0'),
       CASE WHEN i > 21 THEN NULL ELSE date_trunc('hour', now()) - (i / 5) * interval '1 hour' END,
       jsonb_build_object('requests', i), now() - interval '3 minutes'
FROM generate_series(1, 23) AS i;
INSERT INTO metrics.metrics_drilldown (project_id, metric_key, entity_type, reference_id, time_bucket, payload)
VALUES (:'globex', 'requests', 'route', 'GET /secret', now(), '{"requests": 77}');
-- Breakdowns and summaries.
INSERT INTO metrics.metrics_breakdown_point (project_id, metric_key, time_grain, time_bucket, dimension_key, dimension_value, value_numeric, value_json)
SELECT :'acme', 'top_genres', 'day', (current_date - k)::timestamptz, 'genre', g, v, jsonb_build_object('complete', true)
FROM (VALUES (1, 'jazz', 3), (1, 'rock', 1), (2, 'jazz', 2), (2, 'pop', 4), (40, 'jazz', 100)) AS x(k, g, v);
INSERT INTO metrics.metrics_summary (project_id, captured_at, payload, created_at)
VALUES (:'acme', now() - interval '1 day', '{"version": "1.0", "metrics": [], "n": 1}', now() - interval '1 day'),
       (:'acme', now() - interval '1 hour', '{"version": "1.0", "metrics": [], "n": 2}', now() - interval '50 minutes'),
       (:'globex', now(), '{"version": "1.0", "n": 3}', now());

-- Validation: each argument, before any row is read.
SELECT pg_temp.fails_with($$SELECT metrics.get_trend('acme', 'posts_created', 'daily')::jsonb$$, '22023', 'an unknown grain is 22023');
SELECT pg_temp.fails_with($$SELECT metrics.get_trend('acme', 'posts_created', 'minute')::jsonb$$, '22023', 'grains are hour, day, week and month');
SELECT pg_temp.fails_with($$SELECT metrics.get_trend(NULL, 'posts_created')::jsonb$$, '22004', 'a NULL project is 22004');
SELECT pg_temp.fails_with($$SELECT metrics.get_trend('acme', NULL)::jsonb$$, '22004', 'a NULL metric key is 22004');
SELECT pg_temp.fails_with($$SELECT metrics.get_trend('nope', 'posts_created')::jsonb$$, '42704', 'an unknown project is 42704');
SELECT pg_temp.fails_with($$SELECT metrics.get_trend('acme', 'post_created')::jsonb$$, '42704', 'an unknown metric key is 42704');
SELECT pg_temp.fails_with($$SELECT metrics.get_breakdown('acme', 'nope')::jsonb$$, '42704', '... in every function');
SELECT pg_temp.fails_with($$SELECT metrics.get_trend('acme', 'posts_created', 'day', now(), now() - interval '1 day')::jsonb$$, '22023', 'a start after the end is 22023');
SELECT pg_temp.fails_with($$SELECT metrics.get_trend('acme', 'posts_created', 'day', now() - interval '367 days', now())::jsonb$$, '22023', 'more than metrics.max_query_days is 22023');
SELECT pg_temp.fails_with($$SELECT metrics.get_breakdown('acme', 'top_genres', NULL, now() - interval '367 days')::jsonb$$, '22023', '... for breakdowns too');
SELECT pg_temp.fails_with($$SELECT metrics.get_trend('acme', 'posts_created', 'day', '-infinity')::jsonb$$, '22008', 'an infinite bound is 22008');
SELECT pg_temp.fails_with($$SELECT metrics.get_trend('acme', 'requests', 'day', dimensions => '[]')::jsonb$$, '22023', 'dimensions are an object');
SELECT pg_temp.fails_with($$SELECT metrics.get_drilldown('acme', 'requests', 'route', 0)::jsonb$$, '22023', 'a page of 0 rows is 22023');
SELECT pg_temp.fails_with($$SELECT metrics.get_drilldown('acme', 'requests', 'route', 501)::jsonb$$, '22023', 'a page of 501 rows is 22023');
SELECT pg_temp.fails_with($$SELECT metrics.get_drilldown('acme', 'requests', 'task')::jsonb$$, '22023', 'an unknown entity type is 22023');
SELECT pg_temp.fails_with($$SELECT metrics.get_drilldown('acme', 'requests', 'route', 5, 'bm90IGEgY3Vyc29y')::jsonb$$, '22023', 'a malformed cursor is 22023');
SELECT pg_temp.fails_with($$SELECT metrics.get_drilldown('acme', 'requests', 'route', 5, '%%%')::jsonb$$, '22023', 'so is text that is not base64url');
SELECT is((SELECT (metrics.get_trend('acme', 'posts_created', 'day', now() - interval '366 days', now())::jsonb)->>'version'), '1.0',
          'a range of exactly metrics.max_query_days is accepted');
SET LOCAL metrics.max_query_days = 10;
SELECT is((SELECT (metrics.get_trend('acme', 'posts_created', 'month')::jsonb)->'range'->>'start')::timestamptz, now() - interval '10 days',
          'a default range is clipped to metrics.max_query_days');
RESET metrics.max_query_days;

-- Values equal the stored rows.
CREATE TEMP TABLE t AS SELECT metrics.get_trend('acme', 'posts_created')::jsonb AS a;
SELECT results_eq(
    $$SELECT (p->>'time_bucket')::timestamptz, (p->>'value')::float8, p->'data', (p->>'partial')::boolean
      FROM t, jsonb_array_elements(a->'points') AS p$$,
    $$SELECT time_bucket, value_numeric, value_json, false FROM metrics.metrics_trend_point
      WHERE project_id = (SELECT id FROM metrics.projects WHERE slug = 'acme') AND metric_key = 'posts_created'
        AND time_grain = 'day' ORDER BY time_bucket$$,
    'the points of the default range (30 days) are the stored days, in order');
SELECT is((SELECT a->>'computed_at' FROM t)::timestamptz,
          (SELECT max(computed_at) FROM metrics.metrics_trend_point WHERE project_id = :'acme' AND metric_key = 'posts_created' AND time_grain = 'day'),
          'computed_at is when the latest stored point was computed');
SELECT is((SELECT a->>'as_of' FROM t)::timestamptz, current_date::timestamptz, 'as_of is the end of the last closed day included');
SELECT is((SELECT a->'open' FROM t), 'false', 'the last bucket is closed: posts_created has no live source yet');
SELECT is((SELECT a->>'resolution' FROM t), 'day', 'served at the requested grain');
SELECT is((SELECT a->'project'->>'slug' FROM t), 'acme', 'the answer names its project');
SELECT is((SELECT jsonb_array_length(a->'points') FROM t), 5, 'five days');

-- Where retention folded days into weeks, the weeks are served and the resolution says so.
CREATE TEMP TABLE w AS SELECT metrics.get_trend('acme', 'posts_created', 'day', now() - interval '130 days', now())::jsonb AS a;
SELECT results_eq($$SELECT p->>'grain', (p->>'value')::float8 FROM w, jsonb_array_elements(a->'points') AS p$$,
                  $$VALUES ('week', 700::float8), ('week', 701), ('week', 702), ('day', 50), ('day', 40), ('day', 30), ('day', 20), ('day', 10)$$,
                  'old weeks, then the days that are still there');
SELECT is((SELECT a->>'resolution' FROM w), 'week', 'resolution is the coarsest grain served');
SELECT is((SELECT metrics.get_trend('acme', 'posts_created', 'week', now() - interval '130 days', now())::jsonb->'points'->0->>'value')::numeric, 700::numeric,
          'the weeks are the stored week points');

-- The open hour and day of requests, live from route_metrics: counted by us from ev.
CREATE TEMP TABLE h AS SELECT metrics.get_trend('acme', 'requests', 'hour')::jsonb AS a;
SELECT is((SELECT (a->'points'->-1->>'value')::numeric::bigint FROM h),
          (SELECT count(*) FROM ev WHERE project = :'acme' AND at >= date_trunc('hour', now())), 'the open hour counts the requests recorded in it');
SELECT is((SELECT a->'points'->-1->>'time_bucket' FROM h)::timestamptz, date_trunc('hour', now()), 'the live point is the hour containing now');
SELECT ok((SELECT (a->'points'->-1->'partial')::text::boolean AND (a->'points'->-1->'live')::text::boolean AND (a->'open')::text::boolean FROM h),
          'live, partial, and the answer is open');
SELECT is((SELECT a->>'as_of' FROM h)::timestamptz, now(), 'as_of is now');
CREATE TEMP TABLE d AS SELECT metrics.get_trend('acme', 'requests')::jsonb AS a;
SELECT results_eq(
    $$SELECT (p->>'time_bucket')::timestamptz, (p->>'value')::numeric::bigint, (p->>'partial')::boolean FROM d, jsonb_array_elements(a->'points') AS p$$,
    $$VALUES ((current_date - 3)::timestamptz, 103::bigint, false), ((current_date - 2)::timestamptz, 102, false),
             ((current_date - 1)::timestamptz, 101, false),
             (current_date::timestamptz, (SELECT count(*) FROM ev WHERE project = (SELECT id FROM metrics.projects WHERE slug = 'acme')), true)$$,
    'the closed days are stored; today is live and replaces the partial point stored for it');
SELECT results_eq(
    $$SELECT round((p->'data'->>k)::numeric, 6) FROM d, LATERAL (SELECT a->'points'->-1 AS p) AS x, unnest(ARRAY['total', 'successful', 'failed', 'error_rate']) AS k$$,
    $$SELECT count(*)::numeric FROM ev WHERE project = (SELECT id FROM metrics.projects WHERE slug = 'acme')
      UNION ALL SELECT count(*) FILTER (WHERE success) FROM ev WHERE project = (SELECT id FROM metrics.projects WHERE slug = 'acme')
      UNION ALL SELECT count(*) FILTER (WHERE NOT success) FROM ev WHERE project = (SELECT id FROM metrics.projects WHERE slug = 'acme')
      UNION ALL SELECT round(count(*) FILTER (WHERE NOT success)::numeric / count(*), 6) FROM ev WHERE project = (SELECT id FROM metrics.projects WHERE slug = 'acme')$$,
    'its totals are ours') ;
SELECT is((SELECT (metrics.get_trend('acme', 'request_error_rate', 'hour')::jsonb->'points'->-1->>'value')::numeric(8, 6)),
          (SELECT (count(*) FILTER (WHERE NOT success)::numeric / count(*))::numeric(8, 6) FROM ev WHERE project = :'acme' AND at >= date_trunc('hour', now())),
          'request_error_rate of the open hour is failed / total');
SELECT ok((SELECT abs((metrics.get_trend('acme', 'request_p50_ms', 'hour')::jsonb->'points'->-1->>'value')::float8 - 100) <= 1),
          'request_p50_ms of the open hour is within the sketch''s 1% of the durations (100 ms)');
SELECT is((SELECT (metrics.get_trend('acme', 'requests', 'day', dimensions => '{"route": "/a", "method": "GET"}')::jsonb->'points'->-1->>'value')::numeric),
          (SELECT count(*)::numeric FROM ev WHERE route = '/a'), 'one route''s series: its own requests live');
SELECT is((SELECT (metrics.get_trend('acme', 'requests', 'day', dimensions => '{"route": "/a", "method": "GET"}')::jsonb->'points'->0->>'value')::numeric),
          41::numeric, 'and its stored days');
SELECT is((SELECT (metrics.get_trend('everything', 'requests', 'hour')::jsonb->'points'->-1->>'value')::numeric::bigint),
          (SELECT count(*) FROM ev WHERE at >= date_trunc('hour', now())), 'the whole database''s project counts every request');
SELECT is((SELECT (metrics.get_trend('globex', 'requests', 'hour')::jsonb->'points'->-1->>'value')::numeric::bigint), 3::bigint, 'globex counts its own');
SELECT is((SELECT metrics.get_trend('acme', 'requests', 'hour', now() - interval '3 days', now() - interval '2 days')::jsonb->'points'),
          '[]', 'a range that ends before the open hour has no live point');
-- The open day of a per-project daily metric, live from its source (snapshots::live), counted
-- by us: rows of today per org (slug or id), and rows of no project for the whole database.
CREATE TABLE regress_src.app_events (id int, org text, created_at timestamptz);
INSERT INTO regress_src.app_events
SELECT i, CASE WHEN i % 3 = 0 THEN :'globex' WHEN i % 3 = 1 THEN 'acme' END,
       greatest(date_trunc('day', now()), now() - i * interval '1 second')
FROM generate_series(1, 10) AS i
UNION ALL SELECT 100 + i, 'acme', date_trunc('day', now()) - interval '2 hours' FROM generate_series(1, 4) AS i;
SELECT lives_ok($$SELECT metrics.define_metric('app_events', 'created', source_table => 'app_events', source_schema => 'regress_src', project_column => 'org')$$,
                'a per-project metric');
SELECT is((SELECT (metrics.get_trend('acme', 'app_events')::jsonb->'points'->-1->>'value')::numeric),
          (SELECT count(*)::numeric FROM regress_src.app_events WHERE org IN ('acme', :'acme'::text) AND created_at >= date_trunc('day', now())),
          'today''s value of acme, live: its rows of today');
SELECT ok((SELECT (a->'points'->-1->'live')::text::boolean AND (a->'points'->-1->'partial')::text::boolean AND (a->'open')::text::boolean
           AND (a->'points'->-1->>'time_bucket')::timestamptz = current_date::timestamptz
           FROM (SELECT metrics.get_trend('acme', 'app_events')::jsonb AS a) AS x), 'live and partial, in today''s bucket');
SELECT is((SELECT (metrics.get_trend('globex', 'app_events')::jsonb->'points'->-1->>'value')::numeric),
          (SELECT count(*)::numeric FROM regress_src.app_events WHERE org = :'globex'::text AND created_at >= date_trunc('day', now())),
          'globex''s own rows');
SELECT is((SELECT (metrics.get_trend('everything', 'app_events')::jsonb->'points'->-1->>'value')::numeric),
          (SELECT count(*)::numeric FROM regress_src.app_events WHERE created_at >= date_trunc('day', now())),
          'the whole database counts every row');
SELECT is((SELECT e->>'value' FROM jsonb_array_elements(metrics.get_summary('acme')::jsonb->'today'->'metrics') AS e WHERE e->>'metric_key' = 'app_events')::numeric,
          (SELECT count(*)::numeric FROM regress_src.app_events WHERE org IN ('acme', :'acme'::text) AND created_at >= date_trunc('day', now())),
          'and get_summary''s today shows it');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = 'app_events'), 0::bigint, 'nothing was sealed');

-- Weeks and months: the last stored bucket is the open one.
SELECT ok((SELECT (a->'open')::text::boolean AND (a->'points'->-1->'partial')::text::boolean AND NOT (a->'points'->-1->'live')::text::boolean
           FROM (SELECT metrics.get_trend('acme', 'requests', 'week')::jsonb AS a) AS x), 'the stored week containing now is open and partial');

-- Breakdowns.
CREATE TEMP TABLE b AS SELECT metrics.get_breakdown('acme', 'top_genres')::jsonb AS a;
SELECT results_eq($$SELECT i->>'dimension_value', (i->>'total')::float8, (i->>'share')::float8 FROM b, jsonb_array_elements(a->'items') AS i$$,
                  $$VALUES ('jazz', 5::float8, 0.5::float8), ('pop', 4, 0.4), ('rock', 1, 0.1)$$,
                  'items: totals over the range (the last 30 days) and shares, largest first');
SELECT is((SELECT jsonb_array_length(a->'points') FROM b), 4, 'the points of the range');
SELECT is((SELECT jsonb_array_length(metrics.get_breakdown('acme', 'top_genres', 'genre', now() - interval '60 days')::jsonb->'points')), 5, 'a longer range');
SELECT is((SELECT jsonb_array_length(metrics.get_breakdown('acme', 'top_genres', 'color')::jsonb->'points')), 0, 'another dimension key has none');

-- Drill-downs: pages of 5 return every row once, in (time_bucket DESC, reference_id) order.
CREATE TEMP TABLE pages (n int, a jsonb);
DO $$
DECLARE
    cursor_text text;
    answer jsonb;
    i int := 0;
BEGIN
    LOOP
        answer := metrics.get_drilldown('acme', 'requests', 'route', 5, cursor_text)::jsonb;
        i := i + 1;
        INSERT INTO pages VALUES (i, answer);
        cursor_text := answer->>'next';
        EXIT WHEN cursor_text IS NULL OR i > 10;
    END LOOP;
END
$$;
SELECT is((SELECT count(*) FROM pages), 5::bigint, 'five pages of at most five');
SELECT results_eq(
    $$SELECT e->>'reference_id' FROM pages, jsonb_array_elements(a->'items') WITH ORDINALITY AS x(e, o) ORDER BY n, o$$,
    $$SELECT reference_id FROM metrics.metrics_drilldown WHERE project_id = (SELECT id FROM metrics.projects WHERE slug = 'acme')
      ORDER BY time_bucket DESC, reference_id$$,
    'every row exactly once, in page order, rows of equal time buckets and none included');
SELECT is((SELECT a->'next' FROM pages ORDER BY n DESC LIMIT 1), 'null', 'next is null on the last page');
SELECT is((SELECT jsonb_array_length(a->'items') FROM pages ORDER BY n DESC LIMIT 1), 3, 'which has the 3 left');
SELECT is((SELECT metrics.get_drilldown('acme', 'requests', 'route', 23)::jsonb->'next'), 'null', 'a page holding every row has no next');
SELECT is((SELECT metrics.get_drilldown('acme', 'requests', 'route', 22)::jsonb->'items'->0->'payload'), '{"requests": 22}', 'payloads as stored');
SELECT is((SELECT jsonb_array_length(metrics.get_drilldown('acme', 'requests', 'deployment')::jsonb->'items')), 0, 'another entity type has none');

-- Summaries: the latest stored payload, today live.
CREATE TEMP TABLE s AS SELECT metrics.get_summary('acme')::jsonb AS a;
SELECT is((SELECT a->'summary' FROM s), '{"version": "1.0", "metrics": [], "n": 2}', 'the latest stored summary');
SELECT is((SELECT a->>'computed_at' FROM s)::timestamptz, now() - interval '50 minutes', 'computed when it was stored');
SELECT is((SELECT (a->'today'->'requests'->>'total')::bigint FROM s),
          (SELECT count(*) FROM ev WHERE project = :'acme'), 'today''s requests, live');
SELECT ok((SELECT (a->'today'->'partial')::text::boolean AND (a->'open')::text::boolean FROM s), 'today is partial');
SELECT is((SELECT metrics.get_summary('everything')::jsonb->'summary'), 'null', 'a project without a stored summary has none');

-- Who sees what.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;
CREATE TEMP TABLE callers (caller text, api_role text, claims text);
INSERT INTO callers VALUES
    ('anon', 'anon', '{"role": "anon"}'),
    ('acme member', 'authenticated', '{"role": "authenticated", "app_metadata": {"projects": ["acme"]}}'),
    ('both', 'authenticated', '{"role": "authenticated", "app_metadata": {"projects": ["acme", "globex"]}}'),
    ('admin', 'authenticated', '{"role": "authenticated", "app_metadata": {"role": "admin"}}'),
    ('service_role', 'service_role', '{"role": "service_role"}');
CREATE TEMP TABLE asks (what text, query text);
INSERT INTO asks VALUES
    ('acme trend', $$SELECT (metrics.get_trend('acme', 'posts_created')::jsonb->'points'->0->>'value')::float8::text$$),
    ('globex trend', $$SELECT (metrics.get_trend('globex', 'posts_created')::jsonb->'points'->0->>'value')::float8::text$$),
    ('globex by id', format($$SELECT (metrics.get_trend(%L, 'posts_created')::jsonb->'points'->0->>'value')::float8::text$$, :'globex')),
    ('nonexistent', $$SELECT (metrics.get_trend('initech', 'posts_created')::jsonb->'points'->0->>'value')::float8::text$$),
    ('globex summary', $$SELECT metrics.get_summary('globex')::jsonb->'summary'->>'n'$$),
    ('globex drilldown', $$SELECT metrics.get_drilldown('globex', 'requests', 'route')::jsonb->'items'->0->>'reference_id'$$),
    ('globex breakdown', $$SELECT metrics.get_breakdown('globex', 'posts_created')::jsonb->>'kind'$$),
    ('acme live', $$SELECT metrics.get_trend('acme', 'requests', 'hour')::jsonb->'points'->-1->>'live'$$);
CREATE TEMP TABLE seen AS
SELECT c.caller, q.what, pg_temp.as_caller(c.api_role, c.claims, q.query) AS got FROM callers AS c, asks AS q;
SELECT results_eq($$SELECT what, got FROM seen WHERE caller = 'anon' ORDER BY what$$,
    $$VALUES ('acme live', '42704: project "acme" does not exist'), ('acme trend', '42704: project "acme" does not exist'),
             ('globex breakdown', '42704: project "globex" does not exist'), ('globex by id', format('42704: project "%s" does not exist', (SELECT id FROM metrics.projects WHERE slug = 'globex'))),
             ('globex drilldown', '42704: project "globex" does not exist'), ('globex summary', '42704: project "globex" does not exist'),
             ('globex trend', '42704: project "globex" does not exist'), ('nonexistent', '42704: project "initech" does not exist')$$,
    'anon reads no project: every one is 42704');
SELECT results_eq($$SELECT what, got FROM seen WHERE caller = 'acme member' ORDER BY what$$,
    $$VALUES ('acme live', 'true'), ('acme trend', '50'),
             ('globex breakdown', '42704: project "globex" does not exist'), ('globex by id', format('42704: project "%s" does not exist', (SELECT id FROM metrics.projects WHERE slug = 'globex'))),
             ('globex drilldown', '42704: project "globex" does not exist'), ('globex summary', '42704: project "globex" does not exist'),
             ('globex trend', '42704: project "globex" does not exist'), ('nonexistent', '42704: project "initech" does not exist')$$,
    'a member of acme reads acme; globex is an error exactly like a project that does not exist');
SELECT results_eq($$SELECT caller, what, got FROM seen WHERE caller IN ('both', 'admin', 'service_role') AND what <> 'nonexistent' ORDER BY caller, what$$,
    $$SELECT c, w, CASE w WHEN 'acme live' THEN 'true' WHEN 'acme trend' THEN '50' WHEN 'globex breakdown' THEN 'breakdown'
                          WHEN 'globex drilldown' THEN 'GET /secret' WHEN 'globex summary' THEN '3' ELSE '5005' END
      FROM unnest(ARRAY['admin', 'both', 'service_role']) AS c,
           unnest(ARRAY['acme live', 'acme trend', 'globex breakdown', 'globex by id', 'globex drilldown', 'globex summary', 'globex trend']) AS w
      ORDER BY c, w$$,
    'members of both, administrators and service_role read both projects');
SELECT is((SELECT count(DISTINCT got) FROM seen WHERE what = 'nonexistent'), 1::bigint, 'a project that does not exist is the same error for everyone');
SELECT ok(NOT EXISTS (SELECT FROM seen WHERE caller IN ('anon', 'acme member') AND (got LIKE '%500%' OR got LIKE '%secret%' OR got = '3')),
          'nothing of globex reaches anon or a member of acme');
SELECT * FROM finish();
ROLLBACK;
