-- Retention of the read model through the maintenance engine (families read_model_*):
-- summaries whole for 30 days, then the last of each project's day, gone after 180 days;
-- hour and day trend points gone after 90 days, week and month points kept; breakdown
-- points gone after 90 days, drill-downs after 30; the policies checked like the others.
BEGIN;
SELECT plan(17);
\ir ../../fixtures/setup.sql

SELECT is((SELECT string_agg(format('%s:%s:%s:%s:%s', family, kind, keep_hourly, keep_daily, drop_after), ',' ORDER BY family)
           FROM metrics.retention_policies WHERE family LIKE 'read_model%'),
          'read_model_breakdown:log:::90 days,read_model_drilldown:log:::30 days,'
          'read_model_summary:downsample::30 days:180 days,read_model_trend:downsample::90 days:',
          'the read model''s families and their defaults');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('read_model_summary', '1 day', '30 days', '180 days')$$,
                          '22023', 'a read-model family has no hour rows to fold');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('read_model_summary', NULL, '30 days', '30 days')$$,
                          '22023', 'summaries are dropped after they are thinned');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.set_retention_policy('read_model_drilldown', NULL, '3 days', '30 days')$$,
                          '22023', 'drill-downs are only dropped');

SELECT metrics.create_project('acme', 'Acme') IS NOT NULL AS created;
CREATE FUNCTION pg_temp.acme() RETURNS uuid LANGUAGE sql AS $$ SELECT id FROM metrics.projects WHERE slug = 'acme' $$;
-- Summaries: three a day at 200, 100 and 10 days (10:00, 12:00, 18:00 UTC).
INSERT INTO metrics.metrics_summary (project_id, captured_at, payload)
SELECT pg_temp.acme(), (current_date - d) + h * interval '1 hour', jsonb_build_object('d', d, 'h', h)
FROM (VALUES (200), (100), (10)) AS a (d), (VALUES (10), (12), (18)) AS b (h);
-- Trend points of every grain at 100 and 80 days.
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket)
SELECT pg_temp.acme(), 'orders', g, now() - d * interval '1 day'
FROM unnest(enum_range(NULL::metrics.metrics_time_grain)) AS g, (VALUES (100), (80)) AS a (d);
INSERT INTO metrics.metrics_breakdown_point (project_id, metric_key, time_grain, time_bucket, dimension_key, dimension_value)
SELECT pg_temp.acme(), 'genres', 'day', now() - d * interval '1 day', 'genre', 'rock' FROM (VALUES (100), (80)) AS a (d);
INSERT INTO metrics.metrics_drilldown (project_id, metric_key, entity_type, reference_id, time_bucket, payload)
SELECT pg_temp.acme(), 'dora_deployment_frequency', 'deployment', 'acme/shop/' || d, now() - d * interval '1 day', '{}'
FROM (VALUES (40), (20)) AS a (d);

SET LOCAL client_min_messages = warning;
CALL metrics.run_maintenance();
RESET client_min_messages;
CREATE FUNCTION pg_temp.run() RETURNS uuid LANGUAGE sql AS $$
    SELECT id FROM metrics.maintenance_log WHERE step = 'run' ORDER BY started_at DESC LIMIT 1
$$;
SELECT is((SELECT string_agg(payload->>'h', ',' ORDER BY captured_at) FROM metrics.metrics_summary
           WHERE payload->>'d' = '100'), '18', 'after 30 days, the last summary of each day is kept');
SELECT is((SELECT count(*) FROM metrics.metrics_summary WHERE payload->>'d' = '10'), 3::bigint, 'before, every one');
SELECT is((SELECT count(*) FROM metrics.metrics_summary WHERE payload->>'d' = '200'), 0::bigint, 'after 180 days, none');
SELECT is((SELECT count(*) FROM metrics.metrics_summary WHERE NOT payload ? 'd'), 1::bigint,
          'and the run''s own refresh added one');
SELECT is((SELECT string_agg(time_grain::text, ',' ORDER BY time_grain) FROM metrics.metrics_trend_point
           WHERE time_bucket < now() - interval '90 days'), 'week,month', 'old trend points: weeks and months only');
SELECT is((SELECT count(*) FROM metrics.metrics_trend_point WHERE time_bucket > now() - interval '90 days'), 4::bigint,
          'recent ones at every grain');
SELECT is((SELECT count(*) FROM metrics.metrics_breakdown_point), 1::bigint, 'breakdown points for 90 days');
SELECT is((SELECT string_agg(reference_id, ',') FROM metrics.metrics_drilldown), 'acme/shop/20',
          'drill-downs for 30 days');
SELECT is((SELECT details->'read_model_summary' FROM metrics.maintenance_log WHERE run_id = pg_temp.run() AND step = 'prune'),
          '{"done": true, "deleted": 5}'::jsonb, 'the prune step says what it deleted, per family');
SELECT is((SELECT details->'read_model_trend'->'deleted' FROM metrics.maintenance_log WHERE run_id = pg_temp.run() AND step = 'prune'),
          '2'::jsonb, 'two trend points');

-- A policy that keeps everything keeps it.
SELECT is((SELECT drop_after FROM metrics.set_retention_policy('read_model_drilldown', NULL, NULL, NULL)), NULL::interval,
          'drill-downs kept');
UPDATE metrics.metrics_drilldown SET time_bucket = now() - interval '400 days';
SET LOCAL client_min_messages = warning;
CALL metrics.run_maintenance();
RESET client_min_messages;
SELECT is((SELECT count(*) FROM metrics.metrics_drilldown WHERE reference_id = 'acme/shop/20'), 1::bigint,
          'and stay');
SELECT is((SELECT details->'read_model_drilldown'->>'kept' FROM metrics.maintenance_log WHERE run_id = pg_temp.run() AND step = 'prune'),
          'its policy keeps every row', 'the step says why');

SELECT * FROM finish();
ROLLBACK;
