-- Compaction folds hours into days and days into ISO weeks (in metrics.timezone, here a zone
-- with a DST change inside the data), exactly: every report at week grain, and at day grain
-- where days remain, per key or combined, percentiles included, reads the same before and
-- after; the counts are checked against the recorded events. A dry run writes nothing; a
-- rerun has nothing to do; late events go into the folded rows; hours are never invented.
BEGIN;
SELECT plan(40);
\ir ../../fixtures/setup.sql
SET LOCAL metrics.timezone = 'Europe/Berlin';
\ir ../../fixtures/request_history.sql

-- The range every report reads: from a Monday in Berlin before the first event.
CREATE TEMP TABLE span AS
SELECT date_trunc('week', now() - interval '140 days', 'Europe/Berlin') AS s, now() + interval '1 hour' AS e;
CREATE FUNCTION pg_temp.routes(grain text, combined boolean) RETURNS SETOF record LANGUAGE sql AS $$
    SELECT period_start, period_end, route, method, total_requests, successful, failed, success_rate,
           average_duration_ms, min_duration_ms, max_duration_ms, p50_ms, p95_ms, p99_ms, resolution
    FROM span, metrics.get_route_metrics(NULL, NULL, span.s, span.e, grain, combined)
$$;
CREATE FUNCTION pg_temp.operations(grain text, combined boolean) RETURNS SETOF record LANGUAGE sql AS $$
    SELECT period_start, period_end, operation, NULL::text, total_executions, successful, failed, success_rate,
           average_duration_ms, min_duration_ms, max_duration_ms, p50_ms, p95_ms, p99_ms, resolution
    FROM span, metrics.get_operation_metrics(NULL, span.s, span.e, grain, combined)
$$;
CREATE TEMP TABLE report (subject text, grain text, combined boolean, taken text,
    period_start timestamptz, period_end timestamptz, name text, method text, total bigint, successful bigint,
    failed bigint, success_rate float8, average float8, min float8, max float8, p50 float8, p95 float8, p99 float8,
    resolution text);
CREATE FUNCTION pg_temp.take_reports(taken text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE g text; c boolean;
BEGIN
    FOREACH g IN ARRAY ARRAY['hour', 'day', 'week'] LOOP
        FOREACH c IN ARRAY ARRAY[false, true] LOOP
            EXECUTE format($q$INSERT INTO report SELECT 'route', %L, %L, %L, * FROM pg_temp.routes(%L, %L) AS r(
                a timestamptz, b timestamptz, c text, d text, e bigint, f bigint, g bigint, h float8, i float8, j float8,
                k float8, l float8, m float8, n float8, o text)$q$, g, c, taken, g, c);
            EXECUTE format($q$INSERT INTO report SELECT 'operation', %L, %L, %L, * FROM pg_temp.operations(%L, %L) AS r(
                a timestamptz, b timestamptz, c text, d text, e bigint, f bigint, g bigint, h float8, i float8, j float8,
                k float8, l float8, m float8, n float8, o text)$q$, g, c, taken, g, c);
        END LOOP;
    END LOOP;
END $$;
-- Rows of a report taken before and missing after (or the reverse), every column exactly
-- (sums of durations are whole microseconds, so even the combined averages are the same).
CREATE FUNCTION pg_temp.differences(subject text, grain text, combined boolean) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM (
        SELECT period_start, name, method FROM report b
        WHERE b.taken = 'before' AND b.subject = $1 AND b.grain = $2 AND b.combined = $3
          AND NOT EXISTS (SELECT FROM report a
                          WHERE a.taken = 'after' AND a.subject = b.subject AND a.grain = b.grain AND a.combined = b.combined
                            AND (a.period_start, a.period_end, a.total, a.successful, a.failed, a.success_rate, a.min, a.max, a.p50, a.p95, a.p99)
                                IS NOT DISTINCT FROM (b.period_start, b.period_end, b.total, b.successful, b.failed, b.success_rate, b.min, b.max, b.p50, b.p95, b.p99)
                            AND a.name IS NOT DISTINCT FROM b.name AND a.method IS NOT DISTINCT FROM b.method
                            AND a.average = b.average)
        UNION ALL
        SELECT period_start, name, method FROM report a
        WHERE a.taken = 'after' AND a.subject = $1 AND a.grain = $2 AND a.combined = $3
          AND NOT EXISTS (SELECT FROM report b WHERE b.taken = 'before' AND b.subject = a.subject AND b.grain = a.grain
                            AND b.combined = a.combined AND b.period_start = a.period_start
                            AND b.name IS NOT DISTINCT FROM a.name AND b.method IS NOT DISTINCT FROM a.method)
    ) AS d
$$;
SELECT pg_temp.take_reports('before');

-- The reports count what was recorded.
SELECT is((SELECT sum(total)::bigint FROM report WHERE taken = 'before' AND subject = 'route' AND grain = 'week' AND NOT combined),
          (SELECT count(*) FROM events), 'the weekly route report counts every recorded request');
SELECT is((SELECT sum(failed)::bigint FROM report WHERE taken = 'before' AND subject = 'operation' AND grain = 'day' AND combined),
          (SELECT count(*) FROM events WHERE operation IS NOT NULL AND NOT success), 'the daily operation report counts every failure');

-- Routes: hours for 30 days, days until 60, then weeks. Operations keep the defaults (90, 365).
SELECT is((SELECT keep_daily FROM metrics.set_retention_policy('route_metrics', '30 days', '60 days')),
          interval '60 days', 'set_retention_policy returns the policy in force');
SELECT is((SELECT array_agg(family || ':' || coalesce(keep_hourly::text, '-') || ':' || coalesce(keep_daily::text, '-') || ':' || is_default ORDER BY family)
           FROM metrics.retention_policies WHERE kind = 'rollup'),
          ARRAY['operation_metrics:90 days:365 days:true', 'route_metrics:30 days:60 days:false'], 'retention_policies shows defaults and choices');

-- A dry run: the plan, nothing written.
CREATE TEMP TABLE before_rows AS
SELECT 'r' AS t, id, updated_at FROM metrics.route_metrics UNION ALL SELECT 'o', id, updated_at FROM metrics.operation_metrics;
CREATE TEMP TABLE plan AS SELECT * FROM metrics.compact_metrics(dry_run => true);
SELECT ok((SELECT count(*) FROM plan) > 0 AND (SELECT bool_and(verified IS NULL) FROM plan), 'a dry run returns units, none verified');
SELECT is((SELECT count(*) FROM (SELECT 'r' AS t, id, updated_at FROM metrics.route_metrics UNION ALL
                                 SELECT 'o', id, updated_at FROM metrics.operation_metrics
                                 EXCEPT SELECT * FROM before_rows) AS x)
          + (SELECT count(*) FROM metrics.compacted_periods) + (SELECT count(*) FROM metrics.maintenance_log),
          0::bigint, 'a dry run writes nothing');
SELECT is((SELECT array_agg(DISTINCT family || ' ' || action ORDER BY family || ' ' || action) FROM plan),
          ARRAY['operation_metrics compact_day', 'route_metrics compact_day', 'route_metrics compact_week'],
          'the plan folds route weeks and days, and operation days');

-- The compaction.
CREATE TEMP TABLE done AS SELECT * FROM metrics.compact_metrics();
SELECT ok((SELECT bool_and(verified) FROM done), 'every unit verified');
SELECT is((SELECT array_agg(family || action || period_start || rows_before || rows_after || requests_covered ORDER BY family, action, period_start) FROM done),
          (SELECT array_agg(family || action || period_start || rows_before || rows_after || requests_covered ORDER BY family, action, period_start) FROM plan),
          'the dry run''s plan is what was done');
SELECT is((SELECT sum(requests_covered)::bigint FROM done WHERE family = 'route_metrics'),
          (SELECT count(*) FROM events WHERE ((date_trunc('day', date_trunc('hour', at), 'Europe/Berlin') AT TIME ZONE 'Europe/Berlin')
                                                + interval '1 day') AT TIME ZONE 'Europe/Berlin' <= now() - interval '30 days'),
          'the route units covered the requests of the hours whose day ended before the policy''s 30 days');
SELECT is((SELECT count(*) FROM metrics.route_metrics WHERE resolution = 'hour' AND period_start < now() - interval '31 days'), 0::bigint,
          'no route hour row older than keep_hourly (and a day) is left');
SELECT is((SELECT count(*) FROM metrics.route_metrics WHERE resolution = 'day' AND period_end > now() - interval '60 days' - interval '7 days'
             AND period_start >= now() - interval '30 days'), 0::bigint, 'no day row is newer than keep_hourly');
SELECT ok((SELECT count(*) FROM metrics.route_metrics WHERE resolution = 'week') > 0
          AND (SELECT count(*) FROM metrics.route_metrics WHERE resolution = 'day') > 0
          AND (SELECT count(*) FROM metrics.operation_metrics WHERE resolution = 'day') > 0
          AND (SELECT count(*) FROM metrics.operation_metrics WHERE resolution = 'week') = 0, 'weeks for routes, days for both');
SELECT is((SELECT array_agg(DISTINCT timezone) FROM metrics.route_metrics WHERE resolution <> 'hour'), ARRAY['Europe/Berlin'],
          'coarse rows record the zone they were made in');
SELECT ok((SELECT bool_and(period_start = date_trunc('week', period_start, 'Europe/Berlin')
                  AND period_end = ((period_start AT TIME ZONE 'Europe/Berlin') + interval '1 week') AT TIME ZONE 'Europe/Berlin')
           FROM metrics.route_metrics WHERE resolution = 'week'), 'week rows are ISO weeks in the zone');
SELECT ok((SELECT bool_and(period_start = date_trunc('day', period_start, 'Europe/Berlin'))
           FROM metrics.route_metrics WHERE resolution = 'day')
          AND (SELECT count(DISTINCT period_end - period_start) FROM metrics.route_metrics WHERE resolution = 'day') = 2,
          'day rows are days in the zone, one of them 25 hours long (the DST change)');
SELECT is((SELECT count(*) FROM metrics.compacted_periods), (SELECT count(DISTINCT (family, period_start)) FROM (
               SELECT 'route_metrics' AS family, period_start FROM metrics.route_metrics WHERE resolution <> 'hour'
               UNION ALL SELECT 'operation_metrics', period_start FROM metrics.operation_metrics WHERE resolution <> 'hour') AS c),
          'compacted_periods lists each folded period once');
SELECT is((SELECT status || ' ' || (details->>'units') FROM metrics.maintenance_log WHERE step = 'compact'),
          'completed ' || (SELECT count(*) FROM done), 'the compaction is in the maintenance log');

SELECT pg_temp.take_reports('after');
SELECT is(pg_temp.differences('route', 'week', false), 0::bigint, 'routes per week and key: identical');
SELECT is(pg_temp.differences('route', 'week', true), 0::bigint, 'routes per week combined: identical');
SELECT is(pg_temp.differences('operation', 'week', false), 0::bigint, 'operations per week and key: identical');
SELECT is(pg_temp.differences('operation', 'week', true), 0::bigint, 'operations per week combined: identical');
SELECT is(pg_temp.differences('operation', 'day', false), 0::bigint, 'operations per day and key: identical');
SELECT is(pg_temp.differences('operation', 'day', true), 0::bigint, 'operations per day combined: identical');
-- Routes per day: identical where days remain; a folded week is one row, marked, holding its days.
DELETE FROM report b WHERE subject = 'route' AND grain = 'day'
   AND EXISTS (SELECT FROM metrics.route_metrics w WHERE w.resolution = 'week' AND b.period_start >= w.period_start AND b.period_start < w.period_end);
SELECT is((SELECT sum(total)::bigint FROM report WHERE taken = 'after' AND subject = 'route' AND grain = 'day' AND NOT combined),
          (SELECT count(*) FROM events) - (SELECT sum(total_requests)::bigint FROM metrics.route_metrics WHERE resolution = 'week'),
          'the day report outside the weeks counts the rest');
DELETE FROM report WHERE subject = 'route' AND grain = 'day' AND taken = 'after' AND resolution = 'week';
SELECT is(pg_temp.differences('route', 'day', false), 0::bigint, 'routes per day and key where days remain: identical');
SELECT is(pg_temp.differences('route', 'day', true), 0::bigint, 'routes per day combined where days remain: identical');
SELECT is((SELECT array_agg(DISTINCT resolution) FROM pg_temp.routes('day', false) AS r(a timestamptz, b timestamptz, c text, d text,
              e bigint, f bigint, g bigint, h float8, i float8, j float8, k float8, l float8, m float8, n float8, resolution text)),
          ARRAY['day', 'hour', 'week'], 'day rows say which resolution they come from');

-- Hours where only days remain: the day rows, marked, never invented hours.
SELECT is((SELECT array_agg(DISTINCT resolution || ' ' || (period_end - period_start))
           FROM metrics.get_operation_metrics('op.x', now() - interval '100 days', now() - interval '98 days', 'hour')),
          ARRAY['day 1 day'], 'asking for hours of folded days returns the days, marked as such');
SELECT is((SELECT count(*) FROM metrics.get_operation_metrics('op.x', now() - interval '100 days', now() - interval '98 days', 'hour')),
          3::bigint, 'one row per day overlapping the range, no hours');

-- A rerun has nothing to do.
SELECT is((SELECT count(*) FROM metrics.compact_metrics()), 0::bigint, 'a second run has nothing to do');
SELECT is((SELECT count(*) FROM metrics.maintenance_log WHERE step = 'compact'), 1::bigint, 'and logs nothing');

-- Late events into a folded day and a folded week: added into their rows, no hour row made.
CREATE TEMP TABLE late AS SELECT
    (SELECT period_start FROM metrics.route_metrics WHERE resolution = 'day' AND route = '/a' ORDER BY period_start LIMIT 1) AS d,
    (SELECT period_start FROM metrics.route_metrics WHERE resolution = 'week' AND route = '/a' ORDER BY period_start LIMIT 1) AS w;
CREATE TEMP TABLE late_before AS SELECT period_start, total_requests, max_duration_ms FROM metrics.route_metrics, late
    WHERE route = '/a' AND method = 'GET' AND period_start IN (late.d, late.w);
SELECT is(metrics.record_route_metrics(jsonb_build_array(
              jsonb_build_object('route', '/a', 'method', 'GET', 'success', true, 'duration_ms', 86000000, 'at', d + interval '5 hours'),
              jsonb_build_object('route', '/a', 'method', 'GET', 'success', false, 'duration_ms', 1, 'at', w + interval '50 hours'),
              jsonb_build_object('route', '/new', 'method', 'GET', 'success', true, 'duration_ms', 2, 'at', w + interval '51 hours'))), 3::bigint)
FROM late;
SELECT is((SELECT array_agg(r.total_requests - b.total_requests ORDER BY r.period_start) FROM metrics.route_metrics r JOIN late_before b USING (period_start)
           WHERE r.route = '/a' AND r.method = 'GET'), ARRAY[1::bigint, 1::bigint], 'each late event is added into its folded row');
SELECT is((SELECT max_duration_ms FROM metrics.route_metrics, late WHERE route = '/a' AND method = 'GET' AND period_start = late.d),
          86000000::float8, 'with its duration');
SELECT is((SELECT resolution || ' ' || timezone FROM metrics.route_metrics, late WHERE route = '/new' AND period_start = late.w),
          'week Europe/Berlin', 'a key new to a folded week gets a week row');
SELECT is((SELECT count(*) FROM metrics.route_metrics, late WHERE resolution = 'hour'
             AND period_start >= late.w AND period_start < late.w + interval '7 days'), 0::bigint, 'no hour row was made for them');

-- Bad input: clear errors, nothing written.
SELECT pg_temp.fails_with($$SELECT * FROM metrics.compact_metrics(NULL)$$, '22004', 'dry_run NULL');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.compact_metrics(false, 0)$$, '22023', 'max_units 0');
SELECT is((SELECT count(*) FROM metrics.compact_metrics(true, 1)), 0::bigint, 'max_units bounds the plan (nothing left to plan)');

SELECT * FROM finish();
ROLLBACK;
