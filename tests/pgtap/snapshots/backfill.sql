-- Backfill: a year in one call gives every day every metric, equal to collecting day by day
-- and to independent counts; it is resumable and idempotent, and validates its range.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(24);
\ir ../../fixtures/setup.sql
SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'install the social preset');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('avg_post_length', 'average', source_table => 'posts', source_schema => 'regress_src', value_column => 'length')$$, 'define an average');

-- The reference: the same year collected one day at a time, kept in a psql variable so it
-- survives rolling the savepoint back.
SAVEPOINT day_by_day;
SELECT is(count(*), 365::bigint, 'collect 2025 one day at a time')
FROM generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') AS d,
     LATERAL metrics.collect_daily_metrics(d::date) AS c WHERE c.status = 'completed';
SELECT string_agg(format('%s|%s|%s|%s|%s', metric_date, metric_type, metric_category, value, metadata), E'\n'
                  ORDER BY metric_date, metric_category) AS day_by_day
FROM metrics.daily_metrics \gset
ROLLBACK TO SAVEPOINT day_by_day;
SELECT is((SELECT count(*) FROM metrics.daily_metrics), 0::bigint, 'the reference run is rolled back');

-- Resumable: a first half, then the whole year skips what is sealed.
SELECT results_eq($$SELECT dates_processed, total_metrics FROM metrics.backfill_daily_metrics('2025-01-01', '2025-06-30')$$,
                  $$VALUES (181, 181 * 10)$$, 'backfill the first half of 2025');
SELECT results_eq($$SELECT dates_processed, total_metrics FROM metrics.backfill_daily_metrics('2025-01-01', '2025-12-31')$$,
                  $$VALUES (365, 184 * 10)$$, 'the full year only records the days not yet sealed');
SELECT results_eq($$SELECT dates_processed, total_metrics FROM metrics.backfill_daily_metrics('2025-01-01', '2025-12-31')$$,
                  $$VALUES (365, 0)$$, 'running it again records nothing');
SELECT results_eq($$SELECT status, metrics_collected, metrics_skipped FROM metrics.metric_collection_log WHERE run_type = 'backfill' ORDER BY started_at$$,
                  $$VALUES ('completed', 1810, 0), ('completed', 1840, 1810), ('skipped', 0, 3650)$$,
                  'each backfill is one log row counting recorded and already sealed values');

-- Every date has every metric, once.
SELECT is((SELECT count(DISTINCT metric_date) FROM metrics.daily_metrics), 365::bigint, 'every date of the year is recorded');
SELECT is_empty($$SELECT d::date, c.metric_category FROM generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') d
                  CROSS JOIN metrics.metric_definitions c
                  EXCEPT SELECT metric_date, metric_category FROM metrics.daily_metrics$$,
                'every date has every metric');

-- Equal to the day-by-day reference, value and metadata.
SELECT set_eq($$SELECT format('%s|%s|%s|%s|%s', metric_date, metric_type, metric_category, value, metadata) FROM metrics.daily_metrics$$,
              format('SELECT line FROM string_to_table(%L, E''\n'') AS line', :'day_by_day'),
              'the backfill equals collecting day by day');

-- And equal to independent counts over the source, for every day.
SELECT is_empty($$
    WITH days AS (SELECT d::date AS day FROM generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') d),
    expected AS (
        SELECT day, 'users_total' AS c, (SELECT count(*) FROM regress_src.profiles WHERE created_at < (day + 1)::timestamptz) AS v FROM days
        UNION ALL SELECT day, 'posts_total', (SELECT count(*) FROM regress_src.posts WHERE created_at < (day + 1)::timestamptz) FROM days
        UNION ALL SELECT day, 'comments_total', (SELECT count(*) FROM regress_src.comments WHERE created_at < (day + 1)::timestamptz) FROM days
        UNION ALL SELECT day, 'posts_created', (SELECT count(*) FROM regress_src.posts WHERE created_at >= day::timestamptz AND created_at < (day + 1)::timestamptz) FROM days
        UNION ALL SELECT day, 'comments_created', (SELECT count(*) FROM regress_src.comments WHERE created_at >= day::timestamptz AND created_at < (day + 1)::timestamptz) FROM days
        UNION ALL SELECT day, 'tracks_uploaded', (SELECT count(*) FROM regress_src.tracks WHERE created_at >= day::timestamptz AND created_at < (day + 1)::timestamptz) FROM days
        UNION ALL SELECT day, 'active_users', (SELECT count(DISTINCT user_id) FROM regress_src.posts WHERE created_at >= day::timestamptz AND created_at < (day + 1)::timestamptz) FROM days
        UNION ALL SELECT day, 'top_genres', (SELECT count(DISTINCT genre) FROM regress_src.tracks WHERE created_at >= day::timestamptz AND created_at < (day + 1)::timestamptz) FROM days
        UNION ALL SELECT day, 'avg_post_length', (SELECT coalesce(avg(length), 0) FROM regress_src.posts WHERE created_at >= day::timestamptz AND created_at < (day + 1)::timestamptz) FROM days
    )
    SELECT e.day, e.c, e.v, m.value FROM expected e
    LEFT JOIN metrics.daily_metrics m ON m.metric_date = e.day AND m.metric_category = e.c
    WHERE m.value IS DISTINCT FROM e.v
$$, 'every value of every day equals an independent count over the source');
-- Driven by the 365 days, LEFT JOINed: a missing or NULL percentage fails.
SELECT results_eq($$
    SELECT count(*), count(*) FILTER (
        WHERE m.value IS NOT DISTINCT FROM CASE WHEN u.value = 0 THEN 0 ELSE round(a.value * 100 / u.value, 4) END
          AND m.metadata IS NOT DISTINCT FROM jsonb_build_object('numerator', a.value, 'denominator', u.value)
          AND a.value IS NOT NULL AND u.value IS NOT NULL)
    FROM generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') AS d
    LEFT JOIN metrics.daily_metrics m ON m.metric_date = d::date AND m.metric_category = 'engagement_rate'
    LEFT JOIN metrics.daily_metrics a ON a.metric_date = d::date AND a.metric_category = 'active_users'
    LEFT JOIN metrics.daily_metrics u ON u.metric_date = d::date AND u.metric_category = 'users_total'
$$, $$VALUES (365::bigint, 365::bigint)$$, 'every percentage equals numerator / denominator x 100 of its day');
SELECT is((SELECT sum(value) FROM metrics.daily_metrics WHERE metric_category = 'posts_created'),
          (SELECT count(*)::numeric FROM regress_src.posts WHERE created_at >= '2025-01-01' AND created_at < '2026-01-01'),
          'created counts over the year add up to the year''s rows');

-- Range validation; nothing is written by a refused call.
SELECT pg_temp.fails_with($$SELECT * FROM metrics.backfill_daily_metrics(NULL, '2025-01-31')$$, '22004', 'NULL start date');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.backfill_daily_metrics('2025-01-01', NULL)$$, '22004', 'NULL end date');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.backfill_daily_metrics('2025-02-01', '2025-01-01')$$, '22023', 'start after end');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.backfill_daily_metrics('2025-01-01', current_date)$$, '22008', 'an end date that has not ended');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.backfill_daily_metrics('1800-01-01', '2025-01-01')$$, '22023', 'more than a century at once');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.backfill_daily_metrics('-infinity', '2025-01-01')$$, '22008', 'an infinite start');
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 3::bigint, 'refused calls are not even logged');
SELECT pg_temp.fails_with($$CALL metrics.backfill_daily_metrics_chunked('2025-02-01', '2025-01-01')$$, '22023', 'the chunked form validates its range');
SELECT pg_temp.fails_with($$CALL metrics.backfill_daily_metrics_chunked('2025-01-01', '2025-01-31', 0)$$, '22023', 'and its chunk size');

-- The default end is the last closed day.
SELECT is((SELECT pg_get_function_arguments('metrics.backfill_daily_metrics(date, date)'::regprocedure)),
          'start_date date, end_date date DEFAULT metrics.last_closed_day()', 'end_date defaults to the last closed day');

SELECT * FROM finish();
ROLLBACK;
