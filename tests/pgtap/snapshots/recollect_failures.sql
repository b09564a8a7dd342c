-- recollect's failure modes: each refusal has its SQLSTATE and writes nothing (no revision,
-- no log row, every sealed value as it was), even when the call also names metrics that
-- could be corrected; then the same correction, made valid, does write, so the refusals are
-- not silent because there was nothing to write.
BEGIN;
SELECT plan(45);
\ir ../../fixtures/setup.sql

-- A small source of our own, sealed for three days; then rows of 2025-06-11 are deleted, so
-- a correction of that day has something to change.
CREATE TABLE regress_src.rc_items (id int, created_at timestamptz, score numeric);
INSERT INTO regress_src.rc_items
SELECT g, timestamptz '2025-06-10 00:00+00' + (g * interval '7 minutes'), g % 10 FROM generate_series(0, 616) AS g;  -- to 2025-06-12 23:52
CREATE TABLE regress_src.rc_doomed (id int, created_at timestamptz);
INSERT INTO regress_src.rc_doomed SELECT id, created_at FROM regress_src.rc_items;
CREATE TABLE regress_src.rc_scores (id int, created_at timestamptz, score numeric);
INSERT INTO regress_src.rc_scores SELECT * FROM regress_src.rc_items;
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rc_created', 'created', source_table => 'rc_items', source_schema => 'regress_src')$$, 'define rc_created');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rc_total', 'total', source_table => 'rc_items', source_schema => 'regress_src')$$, 'define rc_total');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rc_rate', 'percentage', numerator => 'rc_created', denominator => 'rc_total')$$, 'define rc_rate');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rc_gone', 'created', source_table => 'rc_doomed', source_schema => 'regress_src')$$, 'define rc_gone');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rc_scored', 'average', source_table => 'rc_scores', source_schema => 'regress_src', value_column => 'score')$$, 'define rc_scored');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-10', '2025-06-12')$$, 'backfill 2025-06-10..12');
SELECT is((SELECT value FROM metrics.daily_metrics WHERE metric_date = '2025-06-11' AND metric_category = 'rc_created'),
          (SELECT count(*)::numeric FROM regress_src.rc_items WHERE created_at >= '2025-06-11 00:00+00' AND created_at < '2025-06-12 00:00+00'),
          'rc_created of 2025-06-11 is sealed as the count of its rows');
DELETE FROM regress_src.rc_items WHERE created_at >= '2025-06-11 00:00+00' AND created_at < '2025-06-11 12:00+00';
-- rc_gone's source goes away; rc_scored's value column too.
DROP TABLE regress_src.rc_doomed;
ALTER TABLE regress_src.rc_scores DROP COLUMN score;

-- Everything recollect could write, as one text: the sealed rows, the revisions, the log.
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
SELECT concat_ws(E'\n',
    (SELECT string_agg(format('%s|%s|%s|%s|%s|%s', metric_date, metric_type, metric_category, value, metadata, collection_timestamp),
                       E'\n' ORDER BY metric_date, metric_category) FROM metrics.daily_metrics),
    (SELECT 'revisions: ' || count(*) FROM metrics.metric_revisions),
    (SELECT 'log: ' || count(*) || ' ' || string_agg(run_type || ':' || status, ',' ORDER BY run_type) FROM metrics.metric_collection_log))
$$;
SELECT pg_temp.written() AS before \gset
SELECT ok(:'before' ~ 'revisions: 0' AND :'before' ~ 'log: 1 backfill:completed' AND :'before' ~ '2025-06-11\|count\|rc_created\|',
          'the state to compare with: sealed values, no revision, one log row');

-- Unknown categories: alone, or beside one that would change.
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY['rc_nope'], 'fix')$$,
                 '42704', 'metric "rc_nope" does not exist', 'an unknown category is 42704');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY['rc_created', 'rc_nope'], 'fix')$$,
                 '42704', 'metric "rc_nope" does not exist', 'an unknown category beside a known one is 42704');
SELECT is(pg_temp.written(), :'before', 'and the known one is not corrected either');

-- Days that are not closed.
SELECT throws_ok(format('SELECT * FROM metrics.recollect(%L, ARRAY[''rc_created''], ''fix'')', (now() AT TIME ZONE 'UTC')::date),
                 '22008', NULL, 'today (not ended in metrics.timezone) is 22008');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');
SELECT throws_ok($$SELECT * FROM metrics.recollect(current_date + 30, ARRAY['rc_created'], 'fix')$$,
                 '22008', NULL, 'a future day is 22008');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');
SELECT throws_ok($$SELECT * FROM metrics.recollect('infinity', ARRAY['rc_created'], 'fix')$$,
                 '22008', NULL, 'infinity is 22008');
SELECT throws_ok($$SELECT * FROM metrics.recollect(NULL, ARRAY['rc_created'], 'fix')$$,
                 '22004', NULL, 'a NULL day is 22004');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');

-- Reasons.
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY['rc_created'], NULL)$$,
                 '22004', NULL, 'a NULL reason is 22004');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY['rc_created'], '')$$,
                 '22023', 'reason must be between 1 and 2000 characters', 'an empty reason is 22023');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY['rc_created'], E' \t\n  ')$$,
                 '22023', 'reason must be between 1 and 2000 characters', 'a blank reason (spaces, a tab, a newline) is 22023');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');
SELECT throws_ok(format('SELECT * FROM metrics.recollect(%L, ARRAY[''rc_created''], %L)', '2025-06-11', repeat('r', 2001)),
                 '22023', 'reason must be between 1 and 2000 characters', 'a reason of 2001 characters is 22023');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');

-- Categories.
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', NULL, 'fix')$$,
                 '22004', NULL, 'NULL categories are 22004');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY[]::text[], 'fix')$$,
                 '22023', 'categories must name at least one metric', 'no categories is 22023');
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY[NULL]::text[], 'fix')$$,
                 '22023', 'categories must name at least one metric', 'categories of only NULL name no metric: 22023');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');

-- Sources that changed since the definition, alone or after a metric that would change.
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY['rc_gone'], 'fix')$$,
                 '42P01', NULL, 'a metric whose source was dropped is 42P01');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY['rc_created', 'rc_gone'], 'fix')$$,
                 '42P01', NULL, 'beside a metric that would change, still 42P01');
SELECT is(pg_temp.written(), :'before', 'and the other one is not corrected');
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-11', ARRAY['rc_scored'], 'fix')$$,
                 '42703', NULL, 'a metric whose value column was dropped is 42703');
SELECT is(pg_temp.written(), :'before', 'and nothing is written');

-- A percentage on a day where its parts are not recorded: its numerator is computed (and
-- would be inserted) first, then the percentage fails, and all of it is rolled back.
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-13', ARRAY['rc_created', 'rc_rate'], 'fix')$$,
                 '23503', NULL, 'a percentage whose parts are not recorded that day is 23503');
SELECT is(pg_temp.written(), :'before', 'and the numerator computed before it is not written');

-- The same correction, valid: it writes (the refusals above would have had something to do).
SELECT results_eq(
    format('SELECT metric_category, old_value, new_value, changed FROM metrics.recollect(%L, ARRAY[''rc_created'', ''rc_total''], %L) ORDER BY 1',
           '2025-06-11', repeat('é', 2000)),
    $$SELECT c, o, n, true FROM (VALUES
        ('rc_created', (SELECT count(*)::numeric FROM generate_series(0, 616) AS g
                        WHERE timestamptz '2025-06-10 00:00+00' + g * interval '7 minutes' >= '2025-06-11 00:00+00'
                          AND timestamptz '2025-06-10 00:00+00' + g * interval '7 minutes' < '2025-06-12 00:00+00'),
                       (SELECT count(*)::numeric FROM regress_src.rc_items WHERE created_at >= '2025-06-11 00:00+00' AND created_at < '2025-06-12 00:00+00')),
        ('rc_total', (SELECT count(*)::numeric FROM generate_series(0, 616) AS g
                      WHERE timestamptz '2025-06-10 00:00+00' + g * interval '7 minutes' < '2025-06-12 00:00+00'),
                     (SELECT count(*)::numeric FROM regress_src.rc_items WHERE created_at < '2025-06-12 00:00+00'))) AS v(c, o, n)$$,
    'a valid correction (a reason of 2000 two-byte characters) replaces both values, old and new as counted from the rows');
SELECT is((SELECT count(*) FROM metrics.metric_revisions WHERE metric_date = '2025-06-11' AND reason = repeat('é', 2000)), 2::bigint,
          'and keeps two revisions with the reason');
SELECT isnt(pg_temp.written(), :'before', 'so this time something is written');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_date = '2025-06-13'), 0::bigint,
          'nothing of 2025-06-13 was ever sealed');
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 2::bigint,
          'the log has the backfill and the one correction: no refused call left a row');

SELECT * FROM finish();
ROLLBACK;
