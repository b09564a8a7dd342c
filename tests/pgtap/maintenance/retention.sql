-- Retention policies are checked before anything is written; drop_after deletes what is
-- older; a unit whose rows cannot be folded is rolled back whole and reported; the manage
-- level runs compaction, the read level cannot.
BEGIN;
SELECT plan(27);
\ir ../../fixtures/setup.sql
\ir ../../fixtures/request_history.sql

-- Bad policies: each refused with its SQLSTATE and a hint, nothing written.
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('nope', '1 day')$$, '42704', 'an unknown family');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy(NULL, '1 day')$$, '22004', 'a NULL family');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('route_metrics', NULL)$$, '22004', 'a rollup without keep_hourly');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('route_metrics', '-3 days')$$, '22023', 'a negative keep_hourly');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('route_metrics', '12 hours')$$, '22023', 'keep_hourly under a day');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('route_metrics', '90 days', '30 days')$$, '22023', 'keep_daily shorter than keep_hourly');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('route_metrics', '90 days', '3 mons')$$, '22023', 'keep_daily equal to keep_hourly (a month is 30 days)');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('route_metrics', '90 days', '365 days', '200 days')$$, '22023', 'drop_after before keep_daily');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('operation_metrics', '90 days', NULL, '60 days')$$, '22023', 'drop_after before keep_hourly');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('collection_log', '1 day', NULL, '365 days')$$, '22023', 'a log has no hours to keep');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('collection_log', NULL, NULL, '-1 day')$$, '22023', 'a negative drop_after');
SELECT is((SELECT count(*) FROM metrics.retention_settings), 0::bigint, 'nothing was written');
SELECT is((SELECT e->>'message' FROM pg_temp.error_of($$SELECT * FROM metrics.set_retention_policy('route_metrics', '90 days', '30 days')$$) AS e),
          'keep_daily (30 days) must be longer than keep_hourly (90 days)', 'the message names both intervals');

-- A log keeps rows forever when asked; a choice can be changed and shows who made it.
SELECT is((SELECT drop_after FROM metrics.set_retention_policy('collection_log', NULL, NULL, NULL)), NULL::interval, 'a log may be kept forever');
SELECT is((SELECT count(*) FROM metrics.retention_policies WHERE family = 'collection_log' AND drop_after IS NULL AND NOT is_default AND set_by = current_user),
          1::bigint, 'the view shows the choice and who made it');

-- drop_after: everything that ended more than 100 days ago goes, days and weeks first kept.
SELECT lives_ok($$SELECT * FROM metrics.set_retention_policy('operation_metrics', '30 days', '60 days', '100 days')$$, 'a policy that drops');
CREATE TEMP TABLE done AS SELECT * FROM metrics.compact_metrics();
SELECT ok((SELECT bool_and(verified) FROM done) AND (SELECT count(*) FROM done WHERE action = 'drop') > 0, 'drop units ran and verified');
SELECT is((SELECT count(*) FROM metrics.operation_metrics WHERE period_end <= now() - interval '100 days'), 0::bigint, 'nothing older than drop_after is left');
SELECT is((SELECT sum(total_executions)::bigint FROM metrics.operation_metrics),
          (SELECT count(*) FROM events e WHERE operation IS NOT NULL
             AND date_trunc('hour', e.at) + interval '1 hour' > now() - interval '100 days'),
          'what is left counts exactly the events of the hours that ended after the cutoff');
SELECT is((SELECT sum(requests_covered)::bigint FROM done WHERE action = 'drop'),
          (SELECT count(*) FROM events e WHERE operation IS NOT NULL) - (SELECT sum(total_executions)::bigint FROM metrics.operation_metrics),
          'the drop units covered exactly the requests that are gone');
SELECT is((SELECT count(*) FROM metrics.compacted_periods WHERE family = 'operation_metrics' AND period_end <= now() - interval '100 days'), 0::bigint,
          'dropped periods leave compacted_periods');

-- A row the extension did not write (a corrupt sketch): its unit is rolled back and reported.
SELECT lives_ok($$SELECT * FROM metrics.set_retention_policy('route_metrics', '30 days')$$, 'routes: hours for 30 days');
UPDATE metrics.route_metrics SET latency_sketch = '\x00ff'
WHERE id = (SELECT id FROM metrics.route_metrics WHERE resolution = 'hour' ORDER BY period_start LIMIT 1);
CREATE TEMP TABLE before_rows AS SELECT id, period_start FROM metrics.route_metrics;
CREATE TEMP TABLE bad AS SELECT * FROM metrics.compact_metrics(max_units => 2);
SELECT is((SELECT array_agg(coalesce(verified::text, 'null') ORDER BY period_start) FROM bad), ARRAY['false', 'true'],
          'the unit with the bad row fails, the next one is done');
SELECT ok((SELECT error FROM bad WHERE NOT verified) LIKE '%latency_sketch is not a sketch%(XX001)', 'its error names the row');
SELECT is((SELECT count(*) FROM metrics.route_metrics r, bad WHERE NOT bad.verified
             AND r.period_start >= bad.period_start AND r.period_start < bad.period_end),
          (SELECT count(*) FROM before_rows b, bad WHERE NOT bad.verified
             AND b.period_start >= bad.period_start AND b.period_start < bad.period_end), 'the failed unit deleted nothing');
SELECT ok((SELECT count(*) FROM before_rows b, bad WHERE NOT bad.verified
             AND b.period_start >= bad.period_start AND b.period_start < bad.period_end) > 1, 'it had rows to fold');
SELECT is((SELECT status FROM metrics.maintenance_log WHERE step = 'compact' ORDER BY started_at DESC LIMIT 1), 'partial',
          'the log says the compaction was partial');

SELECT * FROM finish();
ROLLBACK;
