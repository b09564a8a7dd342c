-- Catch-up: collect_daily_metrics() without a date collects, per metric, every closed day
-- after its last sealed day, oldest first, at most metrics.catch_up_days per run; the next
-- run continues. After a simulated outage (40 days missing) nothing is left out, and the
-- values equal an independent count of the source rows. A metric that cannot be computed
-- holds back only itself; a metric with nothing sealed gets only the last closed day.
BEGIN;
SELECT plan(23);
\ir ../../fixtures/setup.sql

-- Rows on each of the last 50 days: (day mod 5) + 1 per day, one at the day's first instant.
CREATE TABLE regress_src.ticks (id serial PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO regress_src.ticks (created_at)
SELECT (metrics.last_closed_day() - d)::timestamp AT TIME ZONE 'UTC' + k * interval '3 hours'
FROM generate_series(0, 49) AS d, generate_series(0, 4) AS k
WHERE k <= (metrics.last_closed_day() - d - date '2000-01-01') % 5;
CREATE TABLE regress_src.doomed (created_at timestamptz);
SELECT lives_ok($$SELECT * FROM metrics.define_metric('ticks_created', 'created', source_table => 'ticks', source_schema => 'regress_src')$$,
                'a created metric');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('ticks_total', 'total', source_table => 'ticks', source_schema => 'regress_src')$$,
                'a total over the same table');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('doomed_created', 'created', source_table => 'doomed', source_schema => 'regress_src')$$,
                'and one whose table goes away');

-- Independent expectations: the rows per day and up to each day's end, with fixed UTC bounds.
CREATE FUNCTION pg_temp.expected(d1 date, d2 date) RETURNS TABLE (metric_date date, metric_category text, value numeric)
LANGUAGE sql AS $$
    SELECT d::date, c, CASE c WHEN 'ticks_created' THEN
               (SELECT count(*) FROM regress_src.ticks WHERE created_at >= d::date::timestamp AT TIME ZONE 'UTC'
                                                           AND created_at < (d::date + 1)::timestamp AT TIME ZONE 'UTC')
           ELSE (SELECT count(*) FROM regress_src.ticks WHERE created_at < (d::date + 1)::timestamp AT TIME ZONE 'UTC') END
    FROM generate_series(d1::timestamp, d2::timestamp, interval '1 day') AS d, unnest(ARRAY['ticks_created', 'ticks_total']) AS c
$$;
CREATE FUNCTION pg_temp.sealed(d1 date, d2 date) RETURNS TABLE (metric_date date, metric_category text, value numeric)
LANGUAGE sql AS $$
    SELECT metric_date, metric_category, value FROM metrics.daily_metrics
    WHERE metric_date BETWEEN d1 AND d2 AND metric_category IN ('ticks_created', 'ticks_total')
$$;
CREATE FUNCTION pg_temp.last_run() RETURNS text LANGUAGE sql AS $$
    SELECT concat_ws('|', run_type, metrics.last_closed_day() - collection_date, metrics.last_closed_day() - range_end,
                     status, metrics_collected, metrics_failed)
    FROM metrics.metric_collection_log ORDER BY started_at DESC LIMIT 1
$$;

-- Before the outage: days L-45 .. L-41 are sealed (L: the last closed day).
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics(metrics.last_closed_day() - 45, metrics.last_closed_day() - 41)$$,
                'days L-45 .. L-41 are sealed');
DROP TABLE regress_src.doomed;

-- The first run after 40 days of outage: 31 days, the oldest first.
SELECT is((SELECT status FROM metrics.collect_daily_metrics()), 'partial', 'the first catch-up after the outage is partial (the doomed metric)');
SELECT is(pg_temp.last_run(), 'collect|40|10|partial|62|31',
          'it collected L-40 .. L-10 (31 days, metrics.catch_up_days): 62 values, the doomed metric''s 31 days failed');
SELECT is((SELECT max(metric_date) FROM metrics.daily_metrics), metrics.last_closed_day() - 10, 'nothing after L-10 is sealed yet');
SELECT is((SELECT count(*) FROM jsonb_array_elements((SELECT error_details->'failures'->'doomed_created'->'days'
                                                       FROM metrics.metric_collection_log ORDER BY started_at DESC LIMIT 1))),
          0::bigint, 'the doomed metric failed as a whole (its table is gone), not day by day');

-- The next run continues, here with a smaller bound; the doomed metric is tried again on its
-- own window and does not hold the others back.
SET LOCAL metrics.catch_up_days = 4;
SELECT is((SELECT status FROM metrics.collect_daily_metrics()), 'partial', 'the second run is partial too');
SELECT is(pg_temp.last_run(), 'collect|40|6|partial|8|4',
          'it covers L-40 .. L-6: the doomed metric L-40 .. L-37 again (4 failed), the others L-9 .. L-6 (8 values)');
SELECT lives_ok($$SELECT metrics.deactivate_metric('doomed_created')$$, 'the doomed metric is deactivated');
RESET metrics.catch_up_days;
SELECT is((SELECT status FROM metrics.collect_daily_metrics()), 'completed', 'the third run completes');
SELECT is(pg_temp.last_run(), 'collect|5|0|completed|12|0', 'with the last days, L-5 .. L');
SELECT set_eq($$SELECT * FROM pg_temp.sealed(metrics.last_closed_day() - 45, metrics.last_closed_day())$$,
              $$SELECT * FROM pg_temp.expected(metrics.last_closed_day() - 45, metrics.last_closed_day())$$,
              'no day is missing from L-45 to L, and every value equals the independent count');
SELECT ok((SELECT count(DISTINCT value) > 3 FROM pg_temp.sealed(metrics.last_closed_day() - 45, metrics.last_closed_day())
           WHERE metric_category = 'ticks_created'), 'the daily counts differ from day to day (the check means something)');

-- Up to date: the last closed day again, found sealed.
SELECT is((SELECT status FROM metrics.collect_daily_metrics()), 'skipped', 'a fourth run has nothing new');
SELECT is(pg_temp.last_run(), 'collect|0|0|skipped|0|0', 'it looked at the last closed day only');

-- A metric with nothing sealed gets the last closed day only (history is backfill's job).
SELECT lives_ok($$SELECT * FROM metrics.define_metric('ticks_late', 'created', source_table => 'ticks', source_schema => 'regress_src')$$,
                'a metric defined later');
SELECT is((SELECT metrics_collected FROM metrics.collect_daily_metrics()), 1, 'the next run records one value');
SELECT results_eq($$SELECT metric_date, value FROM metrics.daily_metrics WHERE metric_category = 'ticks_late'$$,
                  $$SELECT metrics.last_closed_day(), (SELECT value FROM pg_temp.expected(metrics.last_closed_day(), metrics.last_closed_day())
                                                      WHERE metric_category = 'ticks_created')$$,
                  'the last closed day, with the same value as ticks_created');

-- An explicit day keeps its meaning; the bound is checked.
SELECT is((SELECT status FROM metrics.collect_daily_metrics(metrics.last_closed_day() - 47)), 'completed', 'an explicit day is collected as before');
SELECT is(pg_temp.last_run(), 'collect|47|47|completed|3|0', 'that day only, every active metric');
SELECT throws_ok($$SET LOCAL metrics.catch_up_days = 0$$, '22023', NULL, 'metrics.catch_up_days is at least 1');

SELECT * FROM finish();
ROLLBACK;
