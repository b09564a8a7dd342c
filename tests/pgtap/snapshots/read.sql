-- The query API: daily, weekly and monthly values aggregated by each metric's meaning and
-- checked against the source rows of the whole period; gaps reported; arguments validated.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(49);
\ir ../../fixtures/setup.sql
SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'install the social preset');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('avg_post_length', 'average', source_table => 'posts', source_schema => 'regress_src', value_column => 'length')$$, 'define an average');
-- Seal April to June, but leave a gap on 2025-05-14 (a Wednesday).
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-04-01', '2025-05-13')$$, 'backfill to 2025-05-13');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-05-15', '2025-06-30')$$, 'backfill from 2025-05-15');
SELECT is((SELECT count(*) FROM metrics.daily_metrics), 900::bigint,
          'ten metrics sealed for the 90 days (the comparisons with daily_metrics below are not over an empty table)');

-- Daily: the sealed rows as they are, and a row for the gap.
SELECT set_eq(
    $$SELECT period_start, metric_category, value, metadata FROM metrics.fetch_metrics('2025-04-01', '2025-06-30') WHERE value IS NOT NULL$$,
    $$SELECT metric_date, metric_category, value,
             metadata || jsonb_build_object('definition_version', definition_version) FROM metrics.daily_metrics$$,
    'daily aggregation returns the sealed values, with the definition version that computed each');
SELECT results_eq(
    $$SELECT count(*), bool_and(value IS NULL), bool_and(days_recorded = 0), bool_and(missing_dates = '{2025-05-14}')
      FROM metrics.fetch_metrics('2025-05-14', '2025-05-14')$$,
    $$SELECT count(*), true, true, true FROM metrics.metric_definitions$$,
    'a day without snapshots is reported as a gap for every metric, not dropped');

-- Weekly, against the source rows of each ISO week (Monday to Sunday). Each check is driven
-- by the twelve expected weeks and LEFT JOINs the reported rows, comparing with IS NOT DISTINCT
-- FROM: a missing week, a missing category or a NULL value is a failure, never a pass.
CREATE TEMP TABLE weeks AS
SELECT * FROM metrics.fetch_metrics('2025-04-07', '2025-06-29', aggregation => 'weekly');
CREATE TEMP TABLE expected_weeks AS
SELECT w::date AS week, w::date::timestamptz AS lo, (w::date + 7)::timestamptz AS hi
FROM generate_series(date '2025-04-07', date '2025-06-23', interval '7 days') AS w;
-- Source rows of the gap day (2025-05-14) are in no sealed day, so in no week's value.
CREATE FUNCTION pg_temp.sealed_day(t timestamptz) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT NOT (t >= '2025-05-14'::timestamptz AND t < '2025-05-15'::timestamptz)
$$;
SELECT is((SELECT count(*) FROM expected_weeks), 12::bigint, 'the oracle has twelve weeks');
SELECT results_eq(
    $$SELECT period_start, period_end, count(*), count(DISTINCT metric_category) FROM weeks GROUP BY 1, 2 ORDER BY 1$$,
    $$SELECT week, week + 6, count(*), count(*) FROM expected_weeks, metrics.metric_definitions GROUP BY 1 ORDER BY 1$$,
    'twelve weeks, Monday to Sunday, each with one row per metric');
SELECT results_eq(
    $$SELECT e.week, w.value FROM expected_weeks e
      LEFT JOIN weeks w ON w.period_start = e.week AND w.metric_category = 'posts_created' ORDER BY 1$$,
    $$SELECT e.week, (SELECT count(*)::numeric FROM regress_src.posts
                      WHERE created_at >= e.lo AND created_at < e.hi AND pg_temp.sealed_day(created_at))
      FROM expected_weeks e ORDER BY 1$$,
    'created counts add up to the week''s rows (of its sealed days)');
SELECT results_eq(
    $$SELECT e.week, w.value FROM expected_weeks e
      LEFT JOIN weeks w ON w.period_start = e.week AND w.metric_category = 'users_total' ORDER BY 1$$,
    $$SELECT e.week, (SELECT count(*)::numeric FROM regress_src.profiles WHERE created_at < e.hi) FROM expected_weeks e ORDER BY 1$$,
    'totals are the value at the end of the week');
SELECT results_eq(
    $$SELECT e.week, abs(w.value - x.mean) <= 0.000001, abs((w.metadata->>'std_deviation')::numeric - x.sd) <= 0.000001,
             (w.metadata->>'sample_size')::bigint IS NOT DISTINCT FROM x.n
      FROM expected_weeks e
      CROSS JOIN LATERAL (SELECT avg(length) AS mean, stddev_pop(length) AS sd, count(*) AS n FROM regress_src.posts
                          WHERE created_at >= e.lo AND created_at < e.hi AND pg_temp.sealed_day(created_at)) x
      LEFT JOIN weeks w ON w.period_start = e.week AND w.metric_category = 'avg_post_length' ORDER BY 1$$,
    $$SELECT week, true, true, true FROM expected_weeks ORDER BY 1$$,
    'averages are the mean and deviation of all the week''s rows, not an average of averages');
SELECT results_eq(
    $$SELECT e.week, x.den > 0 AND w.value IS NOT DISTINCT FROM round(x.num * 100 / x.den, 4),
             (w.metadata->>'numerator')::numeric IS NOT DISTINCT FROM x.num,
             (w.metadata->>'denominator')::numeric IS NOT DISTINCT FROM x.den
      FROM expected_weeks e
      CROSS JOIN LATERAL (SELECT sum(a.value) AS num, sum(u.value) AS den FROM metrics.daily_metrics a
                          JOIN metrics.daily_metrics u ON u.metric_date = a.metric_date AND u.metric_category = 'users_total'
                          WHERE a.metric_category = 'active_users' AND a.metric_date >= e.week AND a.metric_date < e.week + 7) x
      LEFT JOIN weeks w ON w.period_start = e.week AND w.metric_category = 'engagement_rate' ORDER BY 1$$,
    $$SELECT week, true, true, true FROM expected_weeks ORDER BY 1$$,
    'percentages are recomputed from the summed numerators and denominators');
SELECT results_eq(
    $$SELECT e.week, w.metadata->'breakdown', w.value FROM expected_weeks e
      LEFT JOIN weeks w ON w.period_start = e.week AND w.metric_category = 'top_genres' ORDER BY 1$$,
    $$SELECT e.week, coalesce(jsonb_object_agg(g.genre, g.n) FILTER (WHERE g.genre IS NOT NULL), '{}'), count(g.genre)::numeric
      FROM expected_weeks e
      LEFT JOIN LATERAL (SELECT genre, count(*) AS n FROM regress_src.tracks
                         WHERE genre IS NOT NULL AND created_at >= e.lo AND created_at < e.hi AND pg_temp.sealed_day(created_at)
                         GROUP BY genre) g ON true
      GROUP BY e.week ORDER BY 1$$,
    'breakdowns merge into the week''s groups');
SELECT results_eq(
    $$SELECT e.week, w.value, w.metadata->>'count' FROM expected_weeks e
      LEFT JOIN weeks w ON w.period_start = e.week AND w.metric_category = 'active_users' ORDER BY 1$$,
    $$SELECT e.week, (SELECT count(DISTINCT user_id)::numeric FROM regress_src.posts
                      WHERE created_at >= e.lo AND created_at < e.hi AND pg_temp.sealed_day(created_at)), 'exact'
      FROM expected_weeks e ORDER BY 1$$,
    'a week of distinct users counts each user once over the week (exact at this size), not a mean of days');

-- The week with the gap says so.
SELECT results_eq(
    $$SELECT days_in_period, days_recorded, missing_dates FROM weeks WHERE metric_category = 'posts_created' AND period_start = '2025-05-12'$$,
    $$VALUES (7, 6, '{2025-05-14}'::date[])$$,
    'a partial week lists its missing day');

-- Monthly, with a range that starts mid-month: periods are clipped to the range.
SELECT results_eq(
    $$SELECT period_start, period_end, days_in_period, value FROM metrics.fetch_metrics('2025-04-15', '2025-06-30', ARRAY['comments_created'], aggregation => 'monthly')$$,
    $$SELECT s::date, e::date, (e::date - s::date + 1)::int,
             (SELECT count(*)::numeric FROM regress_src.comments WHERE created_at >= s::timestamptz AND created_at < (e::date + 1)::timestamptz
                AND NOT (created_at >= '2025-05-14' AND created_at < '2025-05-15'))
      FROM (VALUES ('2025-04-15', '2025-04-30'), ('2025-05-01', '2025-05-31'), ('2025-06-01', '2025-06-30')) v(s, e)
      WHERE true ORDER BY 1$$,
    'monthly periods, clipped to the range; May is short of its gap day'
);

-- Filters.
SELECT results_eq($$SELECT DISTINCT metric_type FROM metrics.fetch_metrics('2025-04-01', '2025-04-30', types => ARRAY['percentage'])$$,
                  $$VALUES ('percentage')$$, 'filter by metric type');
SELECT results_eq($$SELECT DISTINCT metric_category FROM metrics.fetch_metrics('2025-04-01', '2025-04-30', ARRAY['posts_total', 'users_total']) ORDER BY 1$$,
                  $$VALUES ('posts_total'), ('users_total')$$, 'filter by category');
SELECT is((SELECT count(*) FROM metrics.fetch_metrics('2025-04-01', '2025-04-30', ARRAY[]::text[])), 300::bigint,
          'an empty array means no filter: 30 days of all ten metrics');
SELECT is((SELECT count(*) FROM metrics.fetch_metrics('2025-04-01', '2025-04-30')), 300::bigint, 'as without the argument');
SELECT is((SELECT max(period_end) FROM metrics.fetch_metrics(current_date - 3, current_date + 10)), metrics.last_closed_day(),
          'days that have not ended are not reported');

-- Validation.
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics(NULL, '2025-01-31')$$, '22004', 'NULL start date');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-01-31', NULL)$$, '22004', 'NULL end date');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-02-01', '2025-01-01')$$, '22023', 'start after end');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2024-01-01', '2025-01-01')$$, '22023', '367 days is more than metrics.max_query_days');
SELECT lives_ok($$SELECT * FROM metrics.fetch_metrics('2024-01-01', '2024-12-31')$$, 'a leap year (366 days) is fine by default');
SELECT lives_ok($$SELECT * FROM metrics.fetch_metrics('2025-01-01', '2025-12-31')$$, '365 days is fine');
SET LOCAL metrics.max_query_days = 31;
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-01-01', '2025-02-01')$$, '22023', 'the limit follows the setting');
RESET metrics.max_query_days;
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-01-01', '2025-01-31', aggregation => 'hourly')$$, '22023', 'unknown aggregation');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-01-01', '2025-01-31', aggregation => NULL)$$, '22004', 'NULL aggregation');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-01-01', '2025-01-31', ARRAY['post_created'])$$, '42704', 'a misspelt category is an unknown metric');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-01-01', '2025-01-31', ARRAY['posts_created', NULL])$$, '22004', 'NULL inside categories');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-01-01', '2025-01-31', types => ARRAY['counts'])$$, '22023', 'an unknown type');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('-infinity', '2025-01-31')$$, '22008', 'an infinite date');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-01-01', '2025-01-31', ARRAY['x''); DROP TABLE metrics.daily_metrics; --'])$$, '42704', 'an injection attempt is an unknown metric');

-- current_metrics: the latest value per category.
SELECT set_eq($$SELECT metric_category, metric_date, value FROM metrics.current_metrics()$$,
              $$SELECT DISTINCT ON (metric_category) metric_category, metric_date, value FROM metrics.daily_metrics ORDER BY metric_category, metric_date DESC$$,
              'current_metrics returns the latest snapshot of each metric');
SELECT is((SELECT max(metric_date) FROM metrics.current_metrics()), '2025-06-30'::date, 'which is the last sealed day');

-- activity_series: the last N closed days of the created metrics, NULL where nothing is sealed.
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics(metrics.last_closed_day())$$, 'collect the last closed day');
SELECT results_eq(
    $$SELECT metric_date, metric_category, value IS NULL FROM metrics.activity_series(2)$$,
    $$SELECT d, c, d <> metrics.last_closed_day()
      FROM (VALUES (metrics.last_closed_day() - 1), (metrics.last_closed_day())) days(d),
           (VALUES ('comments_created'), ('posts_created'), ('tracks_uploaded')) cats(c) ORDER BY 1, 2$$,
    'activity_series gives one row per day and created metric, with gaps as NULL');
SELECT results_eq($$SELECT DISTINCT metric_category FROM metrics.activity_series(5, ARRAY['users_total'])$$,
                  $$VALUES ('users_total')$$, 'activity_series takes categories');
SELECT is((SELECT count(*) FROM metrics.activity_series()), 90::bigint, '30 days by default');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.activity_series(0)$$, '22023', 'zero days');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.activity_series(400)$$, '22023', 'more days than metrics.max_query_days');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.activity_series(NULL)$$, '22004', 'NULL days');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.activity_series(7, ARRAY['nope'])$$, '42704', 'an unknown category is an unknown metric');

-- A sealed row written around the extension (the owner may INSERT) that lacks what the
-- collection always writes is an error naming its key, never read as 0.
INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value, metadata)
VALUES ('2025-07-01', 'average', 'avg_post_length', 12, '{}');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-06-30', '2025-07-06', ARRAY['avg_post_length'], aggregation => 'weekly')$$,
                          'XX001', 'a week with a corrupt day is an error');
SELECT throws_ok($$SELECT * FROM metrics.fetch_metrics('2025-06-30', '2025-07-06', ARRAY['avg_post_length'], aggregation => 'weekly')$$,
                 'XX001', 'row (2025-07-01, avg_post_length) of metrics.daily_metrics cannot be read: metadata has no number "sample_size"',
                 'which names the row and what it lacks');
SELECT is((SELECT value FROM metrics.fetch_metrics('2025-07-01', '2025-07-01', ARRAY['avg_post_length'])), 12::numeric,
          'a daily read passes the sealed row through as it is');

SELECT * FROM finish();
ROLLBACK;
