-- The read model in metrics.run_maintenance: the step read_model refreshes each project
-- (one call and, CALLed on its own, one commit each), records what each wrote, and leaves
-- the tables as refresh_read_model would (a refresh right after has nothing to write).
-- (Cancel and kill -9 in the middle: tests/scenarios/jobs/maintenance.sh.)
BEGIN;
SELECT plan(6);
\ir ../../fixtures/setup.sql
\ir ../../fixtures/read_model.sql

SET LOCAL client_min_messages = warning;
CALL metrics.run_maintenance();
RESET client_min_messages;
CREATE TEMP TABLE step AS
SELECT * FROM metrics.maintenance_log
WHERE run_id = (SELECT id FROM metrics.maintenance_log WHERE step = 'run' ORDER BY started_at DESC LIMIT 1) AND step = 'read_model';
SELECT is((SELECT status FROM step), 'completed', 'the read-model step completes');
SELECT is((SELECT string_agg(k, ',' ORDER BY k) FROM step, jsonb_object_keys(details->'projects') AS k),
          'acme,everything,globex', 'every project, by slug');
SELECT is((SELECT (details->'projects'->'acme'->'refreshed'->>'days')::bigint FROM step),
          (SELECT count(DISTINCT metric_date) FROM metrics.daily_metrics WHERE project_id = pg_temp.pid('acme')),
          'with what it processed: every day acme has values of (the catch-up sealed the last closed day too)');
SELECT cmp_ok((SELECT (details->'projects'->'acme'->'refreshed'->>'trend_points')::int FROM step), '>', 0, 'and wrote');
SELECT is((SELECT string_agg(concat_ws(':', trend_points, breakdown_points, drilldowns), ',' ORDER BY project)
           FROM metrics.refresh_read_model()), '0:0:0,0:0:0,0:0:0', 'a refresh right after has nothing to write');
SELECT is((SELECT count(*) FROM metrics.read_model_state), 9::bigint, 'the state moved with the points');

SELECT * FROM finish();
ROLLBACK;
