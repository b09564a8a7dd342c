-- Day boundaries: a day is [00:00, 24:00) in metrics.timezone, whatever the session's
-- TimeZone; a non-UTC zone moves the boundaries, including across daylight-saving changes,
-- for timestamptz, timestamp and date time columns.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(22);
\ir ../../fixtures/setup.sql
SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'install the social preset');

-- The same month collected under three session time zones gives identical values.
SET LOCAL TimeZone = 'UTC';
SAVEPOINT tz;
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-03-01', '2025-03-31')$$, 'backfill March with TimeZone UTC');
SELECT string_agg(format('%s|%s|%s|%s', metric_date, metric_category, value, metadata), E'\n' ORDER BY metric_date, metric_category) AS utc_run
FROM metrics.daily_metrics \gset
ROLLBACK TO SAVEPOINT tz;
SET LOCAL TimeZone = 'Pacific/Auckland';
SAVEPOINT tz;
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-03-01', '2025-03-31')$$, 'backfill March with TimeZone Pacific/Auckland');
SELECT is(string_agg(format('%s|%s|%s|%s', metric_date, metric_category, value, metadata), E'\n' ORDER BY metric_date, metric_category),
          :'utc_run', 'the same values as under UTC')
FROM metrics.daily_metrics;
ROLLBACK TO SAVEPOINT tz;
SET LOCAL TimeZone = 'America/Los_Angeles';
SELECT lives_ok($$SELECT c.* FROM generate_series(date '2025-03-01', date '2025-03-31', interval '1 day') d, LATERAL metrics.collect_daily_metrics(d::date) c$$,
                'collect March day by day with TimeZone America/Los_Angeles');
SELECT is(string_agg(format('%s|%s|%s|%s', metric_date, metric_category, value, metadata), E'\n' ORDER BY metric_date, metric_category),
          :'utc_run', 'the same values as under UTC')
FROM metrics.daily_metrics;
SELECT ok(length(:'utc_run') > 1000 AND :'utc_run' ~ 'posts_created\|[1-9]', 'the compared runs are not empty');

-- A non-UTC metrics.timezone: America/New_York. 2025-03-09 is 23 hours long (clocks go
-- forward at 02:00), 2025-11-02 is 25 hours long (clocks go back at 02:00).
SET LOCAL TimeZone = 'UTC';
SET LOCAL metrics.timezone = 'America/New_York';
CREATE TABLE regress_src.events (id int, at timestamptz, local_at timestamp, on_day date);
INSERT INTO regress_src.events (id, at) VALUES
    (1, '2025-03-09 04:59:59.999999+00'),  -- 2025-03-08 23:59:59.999999 EST
    (2, '2025-03-09 05:00:00+00'),         -- 2025-03-09 00:00 EST: first instant of the short day
    (3, '2025-03-09 06:59:59+00'),         -- 01:59:59 EST
    (4, '2025-03-09 07:00:00+00'),         -- 03:00 EDT, one hour later on the wall clock
    (5, '2025-03-10 03:59:59.999999+00'),  -- 2025-03-09 23:59:59.999999 EDT: last instant of the short day
    (6, '2025-03-10 04:00:00+00'),         -- 2025-03-10 00:00 EDT
    (7, '2025-11-02 03:59:59+00'),         -- 2025-11-01 23:59:59 EDT
    (8, '2025-11-02 04:00:00+00'),         -- 2025-11-02 00:00 EDT: first instant of the long day
    (9, '2025-11-02 05:30:00+00'),         -- 01:30 EDT
    (10, '2025-11-02 06:30:00+00'),        -- 01:30 EST, the repeated hour
    (11, '2025-11-03 04:59:59+00'),        -- 2025-11-02 23:59:59 EST: last instant of the long day
    (12, '2025-11-03 05:00:00+00');        -- 2025-11-03 00:00 EST
UPDATE regress_src.events SET local_at = at AT TIME ZONE 'America/New_York', on_day = (at AT TIME ZONE 'America/New_York')::date;
SELECT lives_ok($$SELECT * FROM metrics.define_metric('events_tz', 'created', source_table => 'events', source_schema => 'regress_src', time_column => 'at')$$, 'a timestamptz metric');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('events_local', 'created', source_table => 'events', source_schema => 'regress_src', time_column => 'local_at')$$, 'a timestamp (wall clock) metric');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('events_dated', 'created', source_table => 'events', source_schema => 'regress_src', time_column => 'on_day')$$, 'a date metric');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('events_total', 'total', source_table => 'events', source_schema => 'regress_src', time_column => 'at')$$, 'a running total');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-03-08', '2025-03-10')$$, 'backfill around the spring change');
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-11-01')$$, 'collect the day before the autumn change');
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-11-02')$$, 'collect the autumn change day');
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-11-03')$$, 'collect the day after');
SELECT results_eq(
    $$SELECT metric_date, metric_category, value::int FROM metrics.daily_metrics
      WHERE metric_category LIKE 'events%' ORDER BY metric_date, metric_category$$,
    $$VALUES ('2025-03-08'::date, 'events_dated', 1), ('2025-03-08', 'events_local', 1), ('2025-03-08', 'events_total', 1), ('2025-03-08', 'events_tz', 1),
             ('2025-03-09', 'events_dated', 4), ('2025-03-09', 'events_local', 4), ('2025-03-09', 'events_total', 5), ('2025-03-09', 'events_tz', 4),
             ('2025-03-10', 'events_dated', 1), ('2025-03-10', 'events_local', 1), ('2025-03-10', 'events_total', 6), ('2025-03-10', 'events_tz', 1),
             ('2025-11-01', 'events_dated', 1), ('2025-11-01', 'events_local', 1), ('2025-11-01', 'events_total', 7), ('2025-11-01', 'events_tz', 1),
             ('2025-11-02', 'events_dated', 4), ('2025-11-02', 'events_local', 4), ('2025-11-02', 'events_total', 11), ('2025-11-02', 'events_tz', 4),
             ('2025-11-03', 'events_dated', 1), ('2025-11-03', 'events_local', 1), ('2025-11-03', 'events_total', 12), ('2025-11-03', 'events_tz', 1)$$,
    'New York days: 23 hours in March, 25 in November, for every time column type');
SELECT results_eq($$SELECT DISTINCT timezone FROM metrics.metric_collection_log WHERE collection_date >= '2025-11-01' OR (run_type = 'backfill' AND collection_date = '2025-03-08')$$,
                  $$VALUES ('America/New_York')$$, 'the log records the zone each run used');

-- The same instants under UTC fall on other days.
SELECT is((SELECT value FROM metrics.daily_metrics WHERE metric_date = '2025-03-08' AND metric_category = 'events_tz'), 1::numeric, 'New York''s 2025-03-08 holds event 1');
SELECT is((SELECT count(*) FROM regress_src.events WHERE at >= '2025-03-08 00:00+00' AND at < '2025-03-09 00:00+00'), 0::bigint, 'which UTC puts on 2025-03-09');

-- The last closed day follows the zone: a day east of UTC may end before UTC's does.
SET LOCAL metrics.timezone = 'Pacific/Kiritimati';  -- UTC+14
SELECT is(metrics.last_closed_day(), (now() AT TIME ZONE 'Pacific/Kiritimati')::date - 1, 'last closed day in UTC+14');
SET LOCAL metrics.timezone = 'Pacific/Pago_Pago';   -- UTC-11
SELECT is(metrics.last_closed_day(), (now() AT TIME ZONE 'Pacific/Pago_Pago')::date - 1, 'last closed day in UTC-11');
SELECT pg_temp.fails_with(format('SELECT * FROM metrics.collect_daily_metrics(%L)', (now() AT TIME ZONE 'Pacific/Pago_Pago')::date),
                          '22008', 'today in the metrics zone is refused even when it has ended in UTC');

SELECT * FROM finish();
ROLLBACK;
