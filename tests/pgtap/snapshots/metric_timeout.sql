-- A metric that takes longer than metrics.metric_timeout is stopped and logged as that
-- metric's failure (57014), and the run goes on with the others.
BEGIN;
SELECT plan(7);
\ir ../../fixtures/setup.sql

CREATE TABLE regress_src.big (id bigint, at timestamptz);
INSERT INTO regress_src.big SELECT g, timestamptz '2025-03-01' + (g % 86400) * interval '1 second' FROM generate_series(1, 300000) AS g;
SELECT lives_ok($$SELECT * FROM metrics.define_metric('big_rows', 'created', source_table => 'big', source_schema => 'regress_src', time_column => 'at')$$,
                'a cheap metric');
-- Immutable, so the filter is accepted, and slow: a 64 kB string per row.
SELECT lives_ok($$SELECT * FROM metrics.define_metric('big_slow', 'created', source_table => 'big', source_schema => 'regress_src', time_column => 'at',
                                                     filter => $f$length(repeat(md5(id::text), 2000)) > 0$f$)$$,
                'and an expensive one over the same table');
SET LOCAL metrics.metric_timeout = '200ms';
-- The time limit is transient: the slow metric is tried 4 times (tests/pgtap/jobs/retries.sql).
SET LOCAL metrics.retry_delay = '10ms';
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-03-01', '2025-03-01')$$,
                'with metrics.metric_timeout = 200ms the backfill finishes');
SELECT is((SELECT status FROM metrics.metric_collection_log WHERE collection_date = '2025-03-01'), 'partial',
          'partially');
SELECT results_eq($$SELECT f.key, f.value->>'sqlstate', f.value->>'message' LIKE '%metrics.metric_timeout (200 ms)%'
                    FROM metrics.metric_collection_log AS l, jsonb_each(l.error_details->'failures') AS f
                    WHERE l.collection_date = '2025-03-01'$$,
                  $$VALUES ('big_slow', '57014', true)$$, 'the slow metric is logged as stopped by metrics.metric_timeout');
SELECT is((SELECT value FROM metrics.daily_metrics WHERE metric_category = 'big_rows' AND metric_date = '2025-03-01'),
          (SELECT count(*)::numeric FROM regress_src.big WHERE at >= '2025-03-01' AND at < '2025-03-02'),
          'the cheap one is sealed, and right');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = 'big_slow'), 0::bigint, 'the slow one is not sealed');

-- (A statement_timeout, which PL/pgSQL cannot catch, is in tests/scenarios/snapshots/backfill_failures.sh.)

SELECT * FROM finish();
ROLLBACK;
