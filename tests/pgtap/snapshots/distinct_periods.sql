-- Distinct counts and breakdown group counts of weeks and months are the distinct count of
-- the whole period (the merge of the days' sketches), checked against exact COUNT(DISTINCT)
-- over real data (a real Apache access log: visitors by IP, pages by path) and over large
-- generated data (hundreds of thousands of values, past the sketch's exact range), and a
-- period is never below its largest day, also for a breakdown truncated to its 1,000 groups.
BEGIN;
SELECT plan(18);
\ir ../../fixtures/setup.sql

-- The log: tests/fixtures/http/apache_logs.gz (see tests/fixtures/http/README.md), 10,000
-- requests from 2015-05-17 10:05 to 2015-05-20 21:05 UTC.
CREATE TABLE regress_src.raw_log (line text);
\copy regress_src.raw_log (line) FROM PROGRAM 'gzip -dc tests/fixtures/http/apache_logs.gz' WITH (FORMAT csv, DELIMITER E'\x01', QUOTE E'\x02')
CREATE TABLE regress_src.requests AS
SELECT split_part(line, ' ', 1) AS ip,
       to_timestamp(substring(line FROM '\[([0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9:]{8}) \+0000\]'), 'DD/Mon/YYYY:HH24:MI:SS') AS at,
       split_part(substring(line FROM '"[A-Z]+ (\S+)'), '?', 1) AS path
FROM regress_src.raw_log;
SELECT is((SELECT count(*) FROM regress_src.requests WHERE at IS NOT NULL), 10000::bigint, 'the log''s 10,000 requests');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('visitors', 'distinct', source_table => 'requests', source_schema => 'regress_src', time_column => 'at', value_column => 'ip')$$,
                'visitors: distinct IPs');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('pages', 'breakdown', source_table => 'requests', source_schema => 'regress_src', time_column => 'at', value_column => 'path')$$,
                'pages: requests per path');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2015-05-17', '2015-05-20')$$, 'backfill the four days');

-- The oracle: distinct IPs and paths of each period, exactly.
CREATE FUNCTION pg_temp.exact(what text, lo date, hi date) RETURNS numeric LANGUAGE sql AS $$
    SELECT CASE what WHEN 'ip' THEN count(DISTINCT ip) ELSE count(DISTINCT path) END::numeric
    FROM regress_src.requests WHERE at >= lo::timestamptz AND at < (hi + 1)::timestamptz AND (what = 'ip' OR path IS NOT NULL)
$$;
-- An estimate must lie within 3 standard errors (0.81% each); an exact count must be exact.
CREATE FUNCTION pg_temp.agrees(got numeric, quality text, expected numeric) RETURNS boolean LANGUAGE sql AS $$
    SELECT CASE quality WHEN 'exact' THEN got = expected
                        WHEN 'estimate' THEN abs(got - expected) <= 3 * 0.0081 * expected
                        ELSE false END
$$;
SELECT results_eq($$SELECT metric_date, value FROM metrics.daily_metrics WHERE metric_category = 'visitors' ORDER BY 1$$,
                  $$SELECT d::date, pg_temp.exact('ip', d::date, d::date) FROM generate_series(date '2015-05-17', date '2015-05-20', interval '1 day') d ORDER BY 1$$,
                  'each day''s visitors are its distinct IPs');
SELECT results_eq($$SELECT period_start, period_end, pg_temp.agrees(value, metadata->>'count', pg_temp.exact('ip', period_start, period_end))
                    FROM metrics.fetch_metrics('2015-05-11', '2015-05-24', ARRAY['visitors'], aggregation => 'weekly') ORDER BY 1$$,
                  $$VALUES (date '2015-05-11', date '2015-05-17', true), (date '2015-05-18', date '2015-05-24', true)$$,
                  'a week''s visitors are the distinct IPs of the whole week, not a mean of days');
SELECT ok((SELECT pg_temp.agrees(value, metadata->>'count', pg_temp.exact('ip', '2015-05-01', '2015-05-31'))
             AND value > (SELECT max(value) FROM metrics.daily_metrics WHERE metric_category = 'visitors')
           FROM metrics.fetch_metrics('2015-05-01', '2015-05-31', ARRAY['visitors'], aggregation => 'monthly')),
          'May''s visitors are the distinct IPs of the month, more than any day''s');
SELECT results_eq($$SELECT period_start, value, metadata->>'groups', metadata->>'counts'
                    FROM metrics.fetch_metrics('2015-05-18', '2015-05-24', ARRAY['pages'], aggregation => 'weekly')$$,
                  $$SELECT date '2015-05-18', pg_temp.exact('path', '2015-05-18', '2015-05-24'), 'exact', 'exact'$$,
                  'a week''s pages are its distinct paths, exactly (no day was truncated)');

-- Large: 400,000 rows of 7 days, users drawn from overlapping ranges, past the exact range.
CREATE TABLE regress_src.visits (user_id bigint, at timestamptz);
INSERT INTO regress_src.visits
SELECT d * 20000 + (g * 7919) % 90000, timestamptz '2025-02-03' + d * interval '1 day' + (g % 86400) * interval '1 second'
FROM generate_series(0, 6) AS d, generate_series(1, 57143) AS g;
SELECT lives_ok($$SELECT * FROM metrics.define_metric('weekly_visitors', 'distinct', source_table => 'visits', source_schema => 'regress_src', time_column => 'at', value_column => 'user_id')$$,
                'a distinct metric over 400,000 visits');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-02-03', '2025-02-09')$$, 'backfill the week');
SELECT ok((SELECT metadata->>'count' = 'estimate'
                  AND abs(value - (SELECT count(DISTINCT user_id) FROM regress_src.visits)) <= 3 * 0.0081 * (SELECT count(DISTINCT user_id) FROM regress_src.visits)
           FROM metrics.fetch_metrics('2025-02-03', '2025-02-09', ARRAY['weekly_visitors'], aggregation => 'weekly')),
          'the week''s distinct users are within 3 standard errors of COUNT(DISTINCT)');

-- A breakdown of 100,000 groups one day (1,000 kept) and 2,000 the next (half of them new).
CREATE TABLE regress_src.tags (tag text, at timestamptz);
INSERT INTO regress_src.tags SELECT 'tag' || g, timestamptz '2025-02-10 12:00' FROM generate_series(1, 100000) g;
INSERT INTO regress_src.tags SELECT 'tag' || (g + 99000), timestamptz '2025-02-11 12:00' FROM generate_series(1, 2000) g;
SELECT lives_ok($$SELECT * FROM metrics.define_metric('tag_groups', 'breakdown', source_table => 'tags', source_schema => 'regress_src', time_column => 'at', value_column => 'tag')$$,
                'a breakdown over 102,000 tag uses');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-02-10', '2025-02-16')$$, 'backfill the week');
SELECT results_eq($$SELECT metric_date, value, (metadata->>'truncated')::boolean FROM metrics.daily_metrics WHERE metric_category = 'tag_groups' AND value > 0 ORDER BY 1$$,
                  $$VALUES (date '2025-02-10', 100000::numeric, true), (date '2025-02-11', 2000::numeric, true)$$,
                  'the days count all their groups, and list their largest');
SELECT ok((SELECT value >= 100000 AND abs(value - 101000) <= 3 * 0.0081 * 101000
                  AND metadata->>'groups' = 'estimate' AND metadata->>'counts' = 'lower_bound'
           FROM metrics.fetch_metrics('2025-02-10', '2025-02-16', ARRAY['tag_groups'], aggregation => 'weekly')),
          'the week has about 101,000 groups, never fewer than its largest day, and says it is an estimate');
-- A type without an extended hash function (bit) is hashed by its text, the same way on
-- every day: the same flags on two days count once.
CREATE TABLE regress_src.flags (flags bit(8), at timestamptz);
INSERT INTO regress_src.flags SELECT (g % 200)::bit(8), timestamptz '2025-02-17 00:00' + (g % 2) * interval '1 day' FROM generate_series(1, 1000) g;
SELECT lives_ok($$SELECT * FROM metrics.define_metric('distinct_flags', 'distinct', source_table => 'flags', source_schema => 'regress_src', time_column => 'at', value_column => 'flags')$$,
                'a distinct metric over a bit column');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-02-17', '2025-02-23')$$, 'backfill its week');
SELECT results_eq($$SELECT value, metadata->>'count' FROM metrics.fetch_metrics('2025-02-17', '2025-02-23', ARRAY['distinct_flags'], aggregation => 'weekly')$$,
                  $$SELECT count(DISTINCT flags)::numeric, 'exact' FROM regress_src.flags$$,
                  'its week counts each value once, exactly');

SELECT * FROM finish();
ROLLBACK;
