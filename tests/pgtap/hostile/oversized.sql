-- Hostile input against the whole SQL API: oversized and extreme input. Multi-megabyte
-- text, 100,000-element arrays, odd arrays, extreme dates and integers, huge and deeply
-- nested JWT claims: a clean refusal or the correct result, never XX000, nothing written.
--
-- What a clean refusal is, and how each case is run and judged (pg_temp.outcome,
-- pg_temp.expect): tests/fixtures/hostile.sql. The other hostile files: injection.sql
-- (injection strings), search_path.sql (hijacking), jwt.sql (malformed claims).
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(154);
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
           pg_temp.outcome(pg_temp.caller_of(c.fn), pg_temp.claims_of(pg_temp.caller_of(c.fn)), 'public',
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
