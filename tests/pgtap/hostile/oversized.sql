-- Hostile input against the whole SQL API: oversized and extreme input. Multi-megabyte
-- text, 100,000-element arrays, odd arrays, extreme dates and integers, huge and deeply
-- nested JWT claims: a clean refusal or the correct result, never XX000, nothing written.
--
-- What a clean refusal is, and how each case is run and judged (pg_temp.outcome,
-- pg_temp.expect): tests/fixtures/hostile.sql. The other hostile files: injection.sql
-- (injection strings), search_path.sql (hijacking), jwt.sql (malformed claims).
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(279);
\ir ../../fixtures/setup.sql
\ir ../../fixtures/hostile.sql
\ir ../../fixtures/hostile_arguments.sql

SELECT is(pg_temp.evidence(), 0::bigint, 'nothing planted has run yet');

-- Multi-megabyte text in every text argument (4 MiB of ASCII, and 4 MiB of two-byte
-- characters), through the same argument cases as injection.sql
-- (tests/fixtures/hostile_arguments.sql).
CREATE TEMP TABLE huge (position serial, label text, val text);
INSERT INTO huge (label, val) VALUES
    ('4 MiB of ASCII', repeat('x', 4 * 1024 * 1024)),
    ('4 MiB of two-byte characters', repeat('é', 2 * 1024 * 1024));
SELECT pg_temp.expect(
           pg_temp.outcome(coalesce(c.api_role, pg_temp.caller_of(c.fn)), coalesce(c.claims, pg_temp.claims_of(pg_temp.caller_of(c.fn))), 'public',
                           format(c.template, quote_literal(h.val)), format(c.check_template, quote_literal(h.val))),
           CASE WHEN NOT c.free_text OR c.max_len IS NOT NULL THEN 'refused' ELSE 'accepted' END,
           format('%s %s: %s is %s', split_part(c.fn, '(', 1), c.arg, h.label,
                  CASE WHEN NOT c.free_text OR c.max_len IS NOT NULL THEN 'refused' ELSE 'accepted, never run' END))
FROM arg_cases AS c CROSS JOIN huge AS h
ORDER BY c.fn, c.arg, h.position;

-- Huge and odd arrays of categories and types.
CREATE TEMP TABLE array_cases (position serial, label text, api_role text, statement text, expected text);
INSERT INTO array_cases (label, api_role, statement, expected) VALUES
    ('fetch_metrics: 100,000 copies of a category', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY(SELECT 'posts_total' FROM generate_series(1, 100000)))$$, '3'),
    ('fetch_metrics: 100,000 unknown categories', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY(SELECT 'c' || g FROM generate_series(1, 100000) AS g))$$, NULL),
    ('fetch_metrics: 100,000 types', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', types => ARRAY(SELECT 't' || g FROM generate_series(1, 100000) AS g))$$, NULL),
    ('fetch_metrics: 100,000 copies of a type', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', types => ARRAY(SELECT 'percentage' FROM generate_series(1, 100000)))$$, '3'),
    ('fetch_metrics: 100,000 NULLs', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY(SELECT NULL::text FROM generate_series(1, 100000)))$$, NULL),
    ('fetch_metrics: 100,000 long names', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY(SELECT repeat('x', 1000) || g FROM generate_series(1, 100000) AS g))$$, NULL),
    ('fetch_metrics: a two-dimensional array', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY[['posts_total', 'users_total'], ['posts_total', 'users_total']])$$, '6'),
    ('fetch_metrics: an array starting at index 5', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', '[5:6]={posts_total,users_total}'::text[])$$, '6'),
    ('activity_series: 100,000 copies of a category', 'anon',
     $$SELECT count(*)::text FROM metrics.activity_series(3, ARRAY(SELECT 'posts_total' FROM generate_series(1, 100000)))$$, '3'),
    ('activity_series: 100,000 unknown categories', 'anon',
     $$SELECT count(*)::text FROM metrics.activity_series(3, ARRAY(SELECT 'c' || g FROM generate_series(1, 100000) AS g))$$, NULL),
    ('activity_series: a two-dimensional array', 'anon',
     $$SELECT count(*)::text FROM metrics.activity_series(3, ARRAY[['posts_total'], ['users_total']])$$, '6'),
    ('recollect: 100,000 copies of a category', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY(SELECT 'posts_total' FROM generate_series(1, 100000)), 'many copies')$$, '1'),
    ('recollect: 100,000 unknown categories', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY(SELECT 'c' || g FROM generate_series(1, 100000) AS g), 'many unknown')$$, NULL),
    ('recollect: only NULLs', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY[NULL, NULL]::text[], 'nulls')$$, NULL),
    ('recollect: an empty array', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', '{}', 'empty')$$, NULL),
    ('recollect: a two-dimensional array', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY[['posts_total'], ['users_total']], 'two dimensions')$$, '2');
-- Where a result is correct (expected), the call may return it or refuse cleanly; where
-- none is (expected NULL), it must refuse cleanly.
SELECT CASE WHEN o->>'sqlstate' IS NOT NULL OR a.expected IS NULL
            THEN pg_temp.expect(o, 'refused', a.label || CASE WHEN a.expected IS NULL THEN ': refused' ELSE ': the correct result or a clean refusal' END)
            ELSE is(o->>'result', a.expected, a.label || ': the correct result') END
FROM array_cases AS a
CROSS JOIN LATERAL pg_temp.outcome(a.api_role, pg_temp.claims_of(a.api_role), 'public', a.statement) AS o
ORDER BY a.position;

-- Extreme dates and integers.
-- Some of these are legitimate (collecting a day of 4713 BC): a result or a clean refusal.
CREATE TEMP TABLE scalar_cases (position serial, label text, api_role text, statement text, legitimate boolean DEFAULT false);
INSERT INTO scalar_cases (label, api_role, statement, legitimate) VALUES
    ('fetch_metrics from -infinity', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('-infinity', '2025-06-03')$$, false),
    ('fetch_metrics to infinity', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', 'infinity')$$, false),
    ('fetch_metrics from the first date', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('4713-01-01 BC', '2025-06-03')$$, false),
    ('fetch_metrics to the last date', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '5874897-12-31')$$, false),
    ('fetch_metrics over the largest range', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('4713-01-01 BC', '5874897-12-31')$$, false),
    ('fetch_metrics backwards', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('5874897-12-31', '4713-01-01 BC')$$, false),
    ('activity_series of the smallest integer', 'anon', $$SELECT count(*)::text FROM metrics.activity_series(-2147483648)$$, false),
    ('activity_series of the largest integer', 'anon', $$SELECT count(*)::text FROM metrics.activity_series(2147483647)$$, false),
    ('activity_series of 0 days', 'anon', $$SELECT count(*)::text FROM metrics.activity_series(0)$$, false),
    ('collect the first date', 'service_role', $$SELECT status FROM metrics.collect_daily_metrics('4713-01-01 BC')$$, true),
    ('collect the last date', 'service_role', $$SELECT status FROM metrics.collect_daily_metrics('5874897-12-31')$$, false),
    ('collect infinity', 'service_role', $$SELECT status FROM metrics.collect_daily_metrics('infinity')$$, false),
    ('collect -infinity', 'service_role', $$SELECT status FROM metrics.collect_daily_metrics('-infinity')$$, false),
    ('backfill from the first date', 'service_role', $$SELECT dates_processed::text FROM metrics.backfill_daily_metrics('4713-01-01 BC', '2025-06-03')$$, false),
    ('backfill from -infinity', 'service_role', $$SELECT dates_processed::text FROM metrics.backfill_daily_metrics('-infinity', '2025-06-03')$$, false),
    ('backfill to the last date', 'service_role', $$SELECT dates_processed::text FROM metrics.backfill_daily_metrics('2025-06-01', '5874897-12-31')$$, false),
    ('chunked backfill with the smallest chunk', 'service_role', $$CALL metrics.backfill_daily_metrics_chunked('2025-06-01', '2025-06-03', -2147483648)$$, false),
    ('chunked backfill with the largest chunk', 'service_role', $$CALL metrics.backfill_daily_metrics_chunked('2025-06-01', '2025-06-03', 2147483647)$$, false),
    -- Guards that infinite dates are refused first, with a hint, and never reach
    -- end_date - start_date (a bare 22008 "cannot subtract infinite dates").
    ('chunked backfill from -infinity', 'service_role', $$CALL metrics.backfill_daily_metrics_chunked('-infinity', '2025-06-03', 1)$$, false),
    ('chunked backfill to infinity', 'service_role', $$CALL metrics.backfill_daily_metrics_chunked('2025-06-01', 'infinity', 1)$$, false),
    ('recollect the last date', 'service_role', $$SELECT count(*)::text FROM metrics.recollect('5874897-12-31', ARRAY['posts_total'], 'x')$$, false),
    ('recollect the first date', 'service_role', $$SELECT count(*)::text FROM metrics.recollect('4713-01-01 BC', ARRAY['posts_total'], 'x')$$, true),
    ('breakdown top_n of the smallest integer', 'service_role',
     $$SELECT metric_category FROM metrics.define_metric('hostile_top', 'breakdown', source_table => 'tracks', source_schema => 'regress_src', value_column => 'genre', top_n => -2147483648)$$, false),
    ('breakdown top_n of the largest integer', 'service_role',
     $$SELECT metric_category FROM metrics.define_metric('hostile_top', 'breakdown', source_table => 'tracks', source_schema => 'regress_src', value_column => 'genre', top_n => 2147483647)$$, false);
SELECT CASE WHEN s.legitimate AND o->>'sqlstate' IS NULL
            THEN ok((o->>'ran')::bigint = 0, s.label || ': a result or a clean refusal')
            ELSE pg_temp.expect(o, 'refused', s.label || CASE WHEN s.legitimate THEN ': a result or a clean refusal' ELSE ' is refused' END) END
FROM scalar_cases AS s
CROSS JOIN LATERAL pg_temp.outcome(s.api_role, pg_temp.claims_of(s.api_role), 'public', s.statement) AS o
ORDER BY s.position;

-- Development metrics: extreme dates, ids, times and sizes in GitHub events and the keys.
-- legitimate: a result or a clean refusal; otherwise a clean refusal.
CREATE TEMP TABLE github_cases (position serial, label text, api_role text, statement text, legitimate boolean DEFAULT false);
INSERT INTO github_cases (label, api_role, statement, legitimate) VALUES
    ('get_dora_metrics from -infinity', 'anon', $$SELECT count(*)::text FROM metrics.get_dora_metrics('-infinity', '2025-06-03')$$, false),
    ('get_dora_metrics to infinity', 'anon', $$SELECT count(*)::text FROM metrics.get_dora_metrics('2025-06-01', 'infinity')$$, false),
    ('get_dora_metrics over the largest range', 'anon', $$SELECT count(*)::text FROM metrics.get_dora_metrics('4713-01-01 BC', '5874897-12-31')$$, false),
    ('get_dora_metrics backwards', 'anon', $$SELECT count(*)::text FROM metrics.get_dora_metrics('5874897-12-31', '4713-01-01 BC')$$, false),
    ('get_dora_metrics in the first week', 'anon', $$SELECT count(*)::text FROM metrics.get_dora_metrics('4713-01-01 BC', '4713-01-07 BC', 'all', 'day', 'octo/r')$$, true),
    ('get_dora_metrics in the last week', 'anon', $$SELECT count(*)::text FROM metrics.get_dora_metrics('5874897-12-25', '5874897-12-31', 'all', 'week', 'octo/r')$$, true),
    ('explain_dora on infinity', 'service_role', $$SELECT count(*)::text FROM metrics.explain_dora('octo/r', 'production', 'infinity')$$, false),
    ('explain_dora on the last date', 'service_role', $$SELECT count(*)::text FROM metrics.explain_dora('octo/r', 'production', '5874897-12-31')$$, true),
    ('record_github_events: 10,001 events', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_events((SELECT jsonb_agg(jsonb_build_object('event', 'ping', 'payload', jsonb_build_object('n', g))) FROM generate_series(1, 10001) AS g))$$, false),
    ('record_github_events: 100,000 empty objects', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_events((SELECT jsonb_agg('{}'::jsonb) FROM generate_series(1, 100000)))$$, false),
    ('record_github_event: a 4 MiB payload', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('ping', jsonb_build_object('zen', repeat('x', 4 * 1024 * 1024)))$$, true),
    ('record_github_event: 1,000 levels of nesting in a payload', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('ping', ('{"zen": ' || repeat('[', 1000) || repeat(']', 1000) || '}')::jsonb)$$, true),
    ('record_github_event: a push of 10,000 commits', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('push', jsonb_build_object('ref', 'refs/heads/main',
         'before', repeat('a', 40), 'after', repeat('b', 40), 'repository', '{"full_name": "octo/r", "pushed_at": 1748856600}'::jsonb,
         'commits', (SELECT jsonb_agg(jsonb_build_object('id', lpad(to_hex(g), 40, 'c'), 'timestamp', '2025-06-02T09:00:00Z')) FROM generate_series(1, 10000) AS g)))$$, true),
    ('record_github_event: a deployment id beyond bigint', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('deployment', '{"repository": {"full_name": "octo/r"},
         "deployment": {"id": 9223372036854775808, "sha": "aaaaaaa", "environment": "production", "created_at": "2025-06-02T10:00:00Z"}}')$$, false),
    ('record_github_event: a deployment id of 0', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('deployment', '{"repository": {"full_name": "octo/r"},
         "deployment": {"id": 0, "sha": "aaaaaaa", "environment": "production", "created_at": "2025-06-02T10:00:00Z"}}')$$, false),
    ('record_github_event: a fractional deployment id', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('deployment', '{"repository": {"full_name": "octo/r"},
         "deployment": {"id": 1.5, "sha": "aaaaaaa", "environment": "production", "created_at": "2025-06-02T10:00:00Z"}}')$$, false),
    ('record_github_event: a time in the year 99999', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('deployment', '{"repository": {"full_name": "octo/r"},
         "deployment": {"id": 1, "sha": "aaaaaaa", "environment": "production", "created_at": "99999-06-02T10:00:00Z"}}')$$, false),
    ('record_github_event: pushed_at of 1e20 epoch seconds', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('push', '{"ref": "refs/heads/main", "before": "aaaaaaa", "after": "bbbbbbb",
         "repository": {"full_name": "octo/r", "pushed_at": 1e20}, "commits": []}')$$, false),
    ('record_github_event: a run_attempt beyond integer', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('workflow_run', '{"repository": {"full_name": "octo/r"},
         "workflow_run": {"id": 1, "run_attempt": 2147483648, "status": "completed", "created_at": "2025-06-01T00:00:00Z", "updated_at": "2025-06-01T00:01:00Z"}}')$$, false),
    ('record_github_event: 100,000 labels on an issue', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('issues', jsonb_build_object('action', 'opened', 'repository', '{"full_name": "octo/r"}'::jsonb,
         'issue', jsonb_build_object('number', 1, 'id', 1, 'state', 'open', 'created_at', '2025-06-01T00:00:00Z', 'updated_at', '2025-06-01T00:00:00Z',
                                     'labels', (SELECT jsonb_agg(jsonb_build_object('name', 'l' || g)) FROM generate_series(1, 100000) AS g))))$$, true),
    ('record_github_event: a 4 MiB repository name', 'service_role',
     $$SELECT recorded::text FROM metrics.record_github_event('deployment', jsonb_build_object('repository', jsonb_build_object('full_name', repeat('o', 4 * 1024 * 1024) || '/r'),
         'deployment', '{"id": 1, "sha": "aaaaaaa", "environment": "production", "created_at": "2025-06-02T10:00:00Z"}'::jsonb))$$, false);
SELECT CASE WHEN g.legitimate AND o->>'sqlstate' IS NULL
            THEN ok((o->>'ran')::bigint = 0 AND NOT (o->>'slow')::boolean, g.label || ': a result or a clean refusal')
            ELSE pg_temp.expect(o, 'refused', g.label || CASE WHEN g.legitimate THEN ': a result or a clean refusal' ELSE ' is refused' END) END
FROM github_cases AS g
CROSS JOIN LATERAL pg_temp.outcome(g.api_role, pg_temp.claims_of(g.api_role), 'public', g.statement) AS o
ORDER BY g.position;

-- Huge and deeply nested JWT claims: is_admin() gives the correct answer or refuses
-- cleanly. (Malformed claims, in jwt.sql, must never raise.)
CREATE TEMP TABLE big_claims (position serial, label text, claims text, admin boolean);
INSERT INTO big_claims (label, claims, admin) VALUES
    ('8 MiB claims, not an admin', '{"pad": "' || repeat('x', 8 * 1024 * 1024) || '", "app_metadata": {"role": "user"}}', false),
    ('8 MiB claims of an admin', '{"pad": "' || repeat('x', 8 * 1024 * 1024) || '", "app_metadata": {"role": "admin"}}', true),
    ('100,000 keys', '{' || (SELECT string_agg(format('"k%s": %s', g, g), ', ') FROM generate_series(1, 100000) AS g) || ', "app_metadata": {"role": "admin"}}', true),
    ('1,000 levels of nesting beside the admin claim', '{"x": ' || repeat('[', 1000) || repeat(']', 1000) || ', "app_metadata": {"role": "admin"}}', true),
    ('100,000 levels of arrays', repeat('[', 100000) || repeat(']', 100000), false),
    ('100,000 levels inside app_metadata', '{"app_metadata": ' || repeat('{"role": ', 100000) || '"admin"' || repeat('}', 100000) || '}', false),
    ('100,000 levels around the role', '{"app_metadata": {"role": ' || repeat('[', 100000) || '"admin"' || repeat(']', 100000) || '}}', false);
SELECT CASE WHEN o->>'sqlstate' IS NULL
            THEN is(o->>'result', b.admin::text, format('is_admin() with %s, as %s: %s', b.label, r.api_role, b.admin))
            ELSE pg_temp.expect(o, 'refused', format('is_admin() with %s, as %s: %s or a clean refusal', b.label, r.api_role, b.admin)) END
FROM big_claims AS b
CROSS JOIN (VALUES (1, 'anon'), (2, 'authenticated')) AS r(position, api_role)
CROSS JOIN LATERAL pg_temp.outcome(r.api_role, b.claims, 'public', 'SELECT metrics.is_admin()::text') AS o
WHERE b.admin IS FALSE OR r.api_role = 'authenticated'
ORDER BY b.position, r.position;
SELECT CASE WHEN o->>'sqlstate' IS NULL
            THEN is(o->>'result', CASE WHEN b.admin THEN '2' ELSE '0' END, format('the collection log with %s: %s', b.label, CASE WHEN b.admin THEN 'all rows' ELSE 'no rows' END))
            ELSE pg_temp.expect(o, 'refused', format('the collection log with %s: the right rows or a clean refusal', b.label)) END
FROM big_claims AS b
CROSS JOIN LATERAL pg_temp.outcome('authenticated', b.claims, 'public', 'SELECT count(*)::text FROM metrics.metric_collection_log') AS o
ORDER BY b.position;

-- ---------------------------------------------------------------------------------------
-- Nothing hostile left a trace.
-- ---------------------------------------------------------------------------------------
SELECT * FROM pg_temp.no_hostile_trace();

SELECT * FROM finish();
ROLLBACK;
