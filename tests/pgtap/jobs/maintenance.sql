-- metrics.run_maintenance() inside a transaction (it does not commit there): the ledger's
-- run and step rows, the catch-up, compaction unit by unit (of request rows recorded more
-- than 90 days ago), pruning of the collection log
-- and of the ledger past their policies, the overlap guard against a run that is alive and
-- the take-over of one that is not, bad arguments of the steps, and who may run it.
-- (Two real sessions, kill -9, cancel and pg_cron: tests/scenarios/jobs/maintenance.sh.)
BEGIN;
SELECT plan(39);
\ir ../../fixtures/setup.sql

CREATE TABLE regress_src.ticks (id serial PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO regress_src.ticks (created_at)
SELECT (metrics.last_closed_day() - d)::timestamp AT TIME ZONE 'UTC' + interval '1 hour' * d FROM generate_series(0, 9) AS d;
SELECT lives_ok($$SELECT * FROM metrics.define_metric('ticks_created', 'created', source_table => 'ticks', source_schema => 'regress_src')$$,
                'a metric');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics(metrics.last_closed_day() - 9, metrics.last_closed_day() - 4)$$,
                'sealed up to L-4');

CREATE FUNCTION pg_temp.steps(run uuid) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(step || '=' || status, ',' ORDER BY started_at) FROM metrics.maintenance_log WHERE run_id = run
$$;
CREATE FUNCTION pg_temp.last_run() RETURNS metrics.maintenance_log LANGUAGE sql AS $$
    SELECT * FROM metrics.maintenance_log WHERE step = 'run' ORDER BY started_at DESC LIMIT 1
$$;

-- Nothing to compact yet: the compaction step is skipped, having done no unit.
SAVEPOINT nothing_to_compact;
CALL metrics.run_maintenance();
SELECT is((pg_temp.last_run()).status, 'completed', 'a run with nothing to compact completes');
SELECT is(pg_temp.steps((pg_temp.last_run()).id), 'catch_up=completed,compact=skipped,read_model=skipped,prune=skipped,alerts=completed',
          'its steps: the catch-up, compaction skipped, nothing to prune, the alerts');
SELECT is((SELECT coalesce(details->>'units', 'none') FROM metrics.maintenance_log WHERE run_id = (pg_temp.last_run()).id AND step = 'compact'),
          'none', 'the compaction step did no unit');
ROLLBACK TO SAVEPOINT nothing_to_compact;

-- Requests of three whole days past the 90 days of hours: two route days, one operation day,
-- one event an hour.
CREATE FUNCTION pg_temp.old_requests(days_ago integer, operation boolean) RETURNS bigint LANGUAGE sql AS $$
    SELECT CASE WHEN operation
        THEN metrics.record_operation_metrics(jsonb_agg(jsonb_build_object('operation', 'tick', 'success', true, 'duration_ms', h, 'at', at)))
        ELSE metrics.record_route_metrics(jsonb_agg(jsonb_build_object('route', '/t', 'method', 'GET', 'success', true, 'duration_ms', h, 'at', at)))
    END
    FROM generate_series(0, 23) AS h, LATERAL (SELECT date_trunc('day', now() - days_ago * interval '1 day') + h * interval '1 hour' AS at) AS x
$$;
SET LOCAL metrics.max_event_age = '400d';
SELECT is(pg_temp.old_requests(100, false) + pg_temp.old_requests(101, false) + pg_temp.old_requests(100, true), 72::bigint,
          'requests of three old days');

-- Old log rows to prune: collection log rows past the 365 days of the policy (one still
-- referenced by a revision, one 'running'), a recent one, and an old maintenance run with a step.
CREATE FUNCTION pg_temp.old_log(days integer, run_status text) RETURNS uuid LANGUAGE sql AS $$
    INSERT INTO metrics.metric_collection_log (collection_date, range_end, run_type, started_at, completed_at, status, timezone, executed_by)
    VALUES ('2024-01-01', '2024-01-01', 'collect', now() - days * interval '1 day', now() - days * interval '1 day', run_status, 'UTC', 'regress')
    RETURNING id
$$;
SELECT pg_temp.old_log(400, 'completed') FROM generate_series(1, 5);
INSERT INTO metrics.metric_revisions (metric_date, metric_type, metric_category, old_value, new_value, new_metadata, reason, revised_by, collection_log_id)
VALUES ('2024-01-01', 'count', 'ticks_created', 1, 2, '{}', 'kept by its revision', 'regress', pg_temp.old_log(400, 'completed'));
SELECT pg_temp.old_log(400, 'running');
SELECT pg_temp.old_log(30, 'completed');
WITH r AS (INSERT INTO metrics.maintenance_log (step, status, started_at, executed_by)
           VALUES ('run', 'completed', now() - interval '400 days', 'regress') RETURNING id)
INSERT INTO metrics.maintenance_log (run_id, step, status, started_at, executed_by)
SELECT id, 'catch_up', 'completed', now() - interval '400 days', 'regress' FROM r;

SET LOCAL client_min_messages = warning;
CALL metrics.run_maintenance();
RESET client_min_messages;
SELECT is((pg_temp.last_run()).status, 'completed', 'a run completes');
SELECT is(pg_temp.steps((pg_temp.last_run()).id), 'catch_up=completed,compact=completed,read_model=skipped,prune=completed,alerts=completed', 'with its five steps (no project: nothing to refresh)');
SELECT is((pg_temp.last_run()).details, jsonb_build_object('steps', jsonb_build_object('catch_up', 'completed', 'compact', 'completed', 'prune', 'completed',
                                                                                       'read_model', 'skipped', 'alerts', 'completed')),
          'the run row sums up its steps');
SELECT ok((SELECT pid = pg_backend_pid() AND backend_start = (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
                  AND executed_by = current_user AND completed_at IS NOT NULL FROM pg_temp.last_run()),
          'the run row has this backend, its caller and its end');
SELECT results_eq($$SELECT details->>'from', details->>'to', details->>'recorded' FROM metrics.maintenance_log
                    WHERE run_id = (pg_temp.last_run()).id AND step = 'catch_up'$$,
                  $$VALUES ((metrics.last_closed_day() - 3)::text, metrics.last_closed_day()::text, '4')$$,
                  'the catch-up step collected L-3 .. L');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = 'ticks_created'), 10::bigint, 'no day is missing');
SELECT is((SELECT details - 'actions' FROM metrics.maintenance_log WHERE run_id = (pg_temp.last_run()).id AND step = 'compact'),
          '{"units": 3, "rows_before": 72, "rows_after": 3, "requests_covered": 72}'::jsonb,
          'compaction did its three units, one call each, and the step has the totals');
SELECT is((SELECT details->'actions' FROM metrics.maintenance_log WHERE run_id = (pg_temp.last_run()).id AND step = 'compact'),
          '{"route_metrics:compact_day": 2, "operation_metrics:compact_day": 1}'::jsonb, 'per family and action');
SELECT is((SELECT string_agg(resolution || ':' || total_requests, ',') FROM metrics.route_metrics), 'day:24,day:24',
          'the route days are one row each');
SELECT is((SELECT details FROM metrics.maintenance_log WHERE run_id = (pg_temp.last_run()).id AND step = 'prune'),
          '{"collection_log": {"done": true, "deleted": 5}, "maintenance_log": {"done": true, "deleted": 1},
            "github_events": {"done": true, "deleted": 0},
            "cron_job_run_details": {"done": true, "kept": "pg_cron is not installed", "deleted": 0},
            "read_model_summary": {"done": true, "deleted": 0}, "read_model_trend": {"done": true, "deleted": 0},
            "read_model_breakdown": {"done": true, "deleted": 0}, "read_model_drilldown": {"done": true, "deleted": 0}}'::jsonb,
          'pruning deleted 5 old collection log rows and one old run (pg_cron is not in this database)');
SELECT results_eq($$SELECT status, now() - started_at > interval '365 days' FROM metrics.metric_collection_log
                    WHERE collection_date = '2024-01-01' ORDER BY status, 2$$,
                  $$VALUES ('completed', false), ('completed', true), ('running', true)$$,
                  'the recent row, the one a revision refers to and the running one are kept');
SELECT is((SELECT count(*) FROM metrics.maintenance_log WHERE started_at < now() - interval '365 days'), 0::bigint,
          'the old run went with its step');

-- A unit that fails (a row written around the extension) stops the compaction for this run.
SELECT is(pg_temp.old_requests(110, false) + pg_temp.old_requests(111, false) + pg_temp.old_requests(112, false), 72::bigint,
          'three more old route days');
UPDATE metrics.route_metrics SET latency_sketch = '\x00ff'
WHERE id = (SELECT id FROM metrics.route_metrics WHERE period_start = date_trunc('day', now() - interval '111 days') + interval '5 hours');
SET LOCAL client_min_messages = error;
CALL metrics.run_maintenance();
RESET client_min_messages;
SELECT is((pg_temp.last_run()).status, 'partial', 'a run whose compaction hit an unverified unit is partial');
SELECT results_eq($$SELECT status, (details->>'units')::int, details->'unverified'->>'family', error_message LIKE '%failed its verification%'
                    FROM metrics.maintenance_log WHERE run_id = (pg_temp.last_run()).id AND step = 'compact'$$,
                  $$VALUES ('partial', 2, 'route_metrics', true)$$, 'the step stopped after the unverified unit');
SELECT is((SELECT count(*) FROM metrics.route_metrics WHERE resolution = 'hour' AND period_start >= date_trunc('day', now() - interval '110 days')
             AND period_start < date_trunc('day', now() - interval '109 days')), 24::bigint, 'the unit after it was left for the next run');
SELECT is((SELECT count(*) FROM metrics.route_metrics WHERE resolution = 'hour' AND period_start >= date_trunc('day', now() - interval '111 days')
             AND period_start < date_trunc('day', now() - interval '110 days')), 24::bigint, 'the failed unit deleted nothing');
-- Its owner deletes the row, as the error's hint says; later runs fold what is left.
DELETE FROM metrics.route_metrics WHERE latency_sketch = '\x00ff';

-- A step's error is recorded and the next step still runs.
SAVEPOINT broken_compaction;
-- (A table changed around the extension: compaction cannot even plan.)
ALTER TABLE metrics.route_metrics RENAME COLUMN resolution TO changed_around_the_extension;
SET LOCAL client_min_messages = error;
CALL metrics.run_maintenance();
RESET client_min_messages;
SELECT is(pg_temp.steps((pg_temp.last_run()).id), 'catch_up=skipped,compact=failed,read_model=skipped,prune=skipped,alerts=failed', 'a failing step does not stop the run');
SELECT results_eq($$SELECT error_message, error_sqlstate FROM metrics.maintenance_log WHERE run_id = (pg_temp.last_run()).id AND step = 'compact'$$,
                  $$VALUES ('column t.resolution does not exist', '42703')$$, 'its error is recorded');
SELECT is((pg_temp.last_run()).status, 'failed', 'the run failed: its only step with work failed');
ROLLBACK TO SAVEPOINT broken_compaction;

-- The overlap guard. A run recorded as running by a backend that is alive (here the
-- checkpointer, whose state this role sees as NULL: taken as alive) is left to work.
INSERT INTO metrics.maintenance_log (step, status, pid, backend_start, executed_by)
SELECT 'run', 'running', pid, backend_start, 'regress' FROM pg_stat_activity WHERE backend_type = 'checkpointer';
CALL metrics.run_maintenance();
SELECT is((pg_temp.last_run()).status, 'skipped', 'a second run while one works is recorded as skipped');
SELECT is((pg_temp.last_run()).details->>'working_run',
          (SELECT id::text FROM metrics.maintenance_log WHERE status = 'running' AND step = 'run'), 'naming the run that works');
SELECT is((SELECT count(*) FROM metrics.maintenance_log WHERE run_id = (pg_temp.last_run()).id), 0::bigint, 'and did nothing');
-- Runs whose backend is gone (a crash) or is this one (a cancelled run) are taken over.
UPDATE metrics.maintenance_log SET pid = 2147483647 WHERE status = 'running';
WITH r AS (INSERT INTO metrics.maintenance_log (step, status, pid, backend_start, executed_by)
           SELECT 'run', 'running', pid, backend_start, 'regress' FROM pg_stat_activity WHERE pid = pg_backend_pid() RETURNING id)
INSERT INTO metrics.maintenance_log (run_id, step, status, executed_by) SELECT id, 'catch_up', 'running', 'regress' FROM r;
CALL metrics.run_maintenance();
SELECT is((pg_temp.last_run()).status, 'completed', 'the next run works');
SELECT results_eq($$SELECT step, status, error_message ~ 'interrupted' FROM metrics.maintenance_log
                    WHERE details->>'taken_over_by' = (pg_temp.last_run()).id::text ORDER BY step, pid$$,
                  $$VALUES ('catch_up', 'failed', true), ('run', 'failed', true), ('run', 'failed', true)$$,
                  'after marking both interrupted runs failed, with their steps, and naming itself');
SELECT is((SELECT count(*) FROM metrics.maintenance_log WHERE status = 'running'), 0::bigint, 'nothing is left running');

-- Bad arguments of the steps: explicit SQLSTATEs with a hint.
SELECT pg_temp.fails_with($$SELECT metrics._maintenance_catch_up(NULL)$$, '22004', 'a step needs its run');
SELECT pg_temp.fails_with($$SELECT metrics._maintenance_compact(gen_random_uuid())$$, '22023', 'a run that does not exist');
SELECT pg_temp.fails_with($$SELECT metrics._maintenance_end((pg_temp.last_run()).id)$$, '22023', 'a run that has ended');
SELECT pg_temp.fails_with($$SELECT metrics._maintenance_prune(metrics._maintenance_begin(), 0)$$, '22023', 'a batch of no rows');

-- Who may run it: the manage level; the ledger is for administrators.
SET LOCAL ROLE service_role;
CALL metrics.run_maintenance();
SELECT is((SELECT executed_by || ' ' || status FROM pg_temp.last_run()), 'service_role completed', 'service_role runs maintenance');
RESET ROLE;
SET LOCAL ROLE authenticated;
SELECT throws_ok($$CALL metrics.run_maintenance()$$, '42501', NULL, 'authenticated may not');
SELECT is((SELECT count(*) FROM metrics.maintenance_log), 0::bigint, 'nor read the ledger (no administrator)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
