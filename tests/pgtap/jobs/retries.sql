-- Retries inside a run: a transient failure (serialization failure, deadlock, lock not
-- available, metrics.metric_timeout) is tried again up to 3 more times, waiting
-- metrics.retry_delay, then twice and four times that; the log records the attempts. Other
-- failures are not retried (the next run tries again). The failures are injected with a view
-- over a function that fails while a sequence (not rolled back) is below a bound.
-- (A cancel stopping the whole run: tests/scenarios/jobs/maintenance.sh.)
BEGIN;
SELECT plan(21);
\ir ../../fixtures/setup.sql

CREATE TABLE regress_src.flaky_conf (fail_until bigint NOT NULL, how text NOT NULL);
INSERT INTO regress_src.flaky_conf VALUES (0, '40001');
CREATE SEQUENCE regress_src.flaky_calls;
-- 24 rows a day from 2025-03-01 to 2025-03-03; each call before fail_until fails with the
-- SQLSTATE in how, or sleeps for a second ('sleep').
CREATE FUNCTION regress_src.flaky_rows() RETURNS TABLE (created_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := nextval('regress_src.flaky_calls');
    c record;
BEGIN
    SELECT * INTO c FROM regress_src.flaky_conf;
    IF n <= c.fail_until THEN
        IF c.how = 'sleep' THEN
            PERFORM pg_sleep(1);
        ELSE
            RAISE EXCEPTION 'injected failure, call % of %', n, c.fail_until USING ERRCODE = c.how;
        END IF;
    END IF;
    RETURN QUERY SELECT g FROM generate_series(timestamptz '2025-03-01', timestamptz '2025-03-03 23:00', interval '1 hour') AS g;
END
$$;
CREATE VIEW regress_src.flaky AS SELECT * FROM regress_src.flaky_rows();
SELECT lives_ok($$SELECT * FROM metrics.define_metric('flaky_rows', 'created', source_table => 'flaky', source_schema => 'regress_src')$$,
                'a metric over the flaky view');

-- inject(fail_until, how): the next fail_until calls fail that way.
CREATE FUNCTION pg_temp.inject(n bigint, how text) RETURNS void LANGUAGE sql AS $$
    UPDATE regress_src.flaky_conf SET fail_until = n, how = inject.how;
    SELECT setval('regress_src.flaky_calls', 1, false);
$$;
CREATE FUNCTION pg_temp.calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM regress_src.flaky_calls
$$;
CREATE FUNCTION pg_temp.logged(d date) RETURNS metrics.metric_collection_log LANGUAGE sql AS $$
    SELECT * FROM metrics.metric_collection_log WHERE collection_date = d ORDER BY started_at DESC LIMIT 1
$$;
SET LOCAL metrics.retry_delay = '10ms';

-- Two serialization failures, then success: sealed, and the log says after what.
SELECT pg_temp.inject(2, '40001');
SELECT is((SELECT status FROM metrics.collect_daily_metrics('2025-03-01')), 'completed', 'two serialization failures, then the day is sealed');
SELECT is(pg_temp.calls(), 3::bigint, 'in three attempts');
SELECT is((SELECT value FROM metrics.daily_metrics WHERE metric_category = 'flaky_rows' AND metric_date = '2025-03-01'), 24::numeric,
          'with the right value');
SELECT is((pg_temp.logged('2025-03-01')).error_details, '{"retries": {"flaky_rows": {"retries": 2, "sealed": true, "sqlstates": ["40001", "40001"]}}}'::jsonb,
          'the log records the retries and that they succeeded');
SELECT is((pg_temp.logged('2025-03-01')).error_message, NULL, 'and no error');

-- A deadlock and a lock timeout are retried the same way.
SELECT pg_temp.inject(1, '40P01');
SELECT is((SELECT status FROM metrics.collect_daily_metrics('2025-03-02')), 'completed', 'a deadlock, then the day is sealed');
SELECT pg_temp.inject(1, '55P03');
SELECT is((SELECT total_metrics FROM metrics.backfill_daily_metrics('2025-03-03', '2025-03-04')), 2, 'a lock not available, then the days are sealed');
SELECT is((pg_temp.logged('2025-03-03')).error_details->'retries'->'flaky_rows'->'sqlstates', '["55P03"]'::jsonb, 'after one retry');
SELECT is((pg_temp.logged('2025-03-02')).error_details->'retries'->'flaky_rows'->'sqlstates', '["40P01"]'::jsonb, 'the deadlock too');

-- Always failing: 1 + 3 attempts, then logged as the metric's failure.
SELECT pg_temp.inject(100, '40001');
SELECT is((SELECT status FROM metrics.collect_daily_metrics('2025-03-05')), 'failed', 'a serialization failure every time: the run fails');
SELECT is(pg_temp.calls(), 4::bigint, 'after four attempts (3 retries)');
SELECT is(((pg_temp.logged('2025-03-05')).error_details->'failures'->'flaky_rows') - 'message'::text,
          '{"sqlstate": "40001", "detail": null, "hint": null, "attempts": 4, "days": ["2025-03-05"]}'::jsonb, 'the failure records its 4 attempts');
SELECT is((pg_temp.logged('2025-03-05')).error_details->'retries'->'flaky_rows', '{"retries": 3, "sealed": false, "sqlstates": ["40001", "40001", "40001"]}'::jsonb,
          'and the retries that did not help');

-- A failure that is not transient is not retried: the next run tries again.
SELECT pg_temp.inject(100, 'P0001');
SELECT is((SELECT status FROM metrics.collect_daily_metrics('2025-03-06')), 'failed', 'a permanent error fails the run');
SELECT is(pg_temp.calls(), 1::bigint, 'after one attempt');
SELECT is((pg_temp.logged('2025-03-06')).error_details ? 'retries', false, 'no retry is logged');

-- The extension's own time limit is transient; a slow first attempt is retried.
SET LOCAL metrics.metric_timeout = '100ms';
SELECT pg_temp.inject(1, 'sleep');
SELECT is((SELECT status FROM metrics.collect_daily_metrics('2025-03-07')), 'completed', 'stopped by metrics.metric_timeout once, then sealed');
SELECT is((pg_temp.logged('2025-03-07')).error_details->'retries'->'flaky_rows'->'sqlstates', '["57014"]'::jsonb, 'the time limit is logged as 57014');
RESET metrics.metric_timeout;

-- The waits double: 200, 400 and 800 ms.
SET LOCAL metrics.retry_delay = '200ms';
SELECT pg_temp.inject(3, '40001');
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS at;
SELECT is((SELECT status FROM metrics.collect_daily_metrics('2025-03-08')), 'completed', 'sealed at the fourth attempt');
SELECT ok(clock_timestamp() - (SELECT at FROM t0) >= interval '1400 ms', 'after waiting 200 + 400 + 800 ms');

SELECT * FROM finish();
ROLLBACK;
