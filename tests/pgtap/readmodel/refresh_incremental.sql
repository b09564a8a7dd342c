-- An incremental metrics.refresh_read_model after a new sealed day, new requests and new
-- GitHub events processes only what is new (counted), and leaves exactly the tables a full
-- recompute from scratch makes (every column but ids and computed_at).
BEGIN;
SELECT plan(9);
\ir ../../fixtures/setup.sql
\ir ../../fixtures/read_model.sql

CREATE FUNCTION pg_temp.model() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT format('trend %s %s %s %s %s %s %s', p.slug, t.metric_key, t.time_grain, t.time_bucket, t.dimensions,
                  t.value_numeric, t.value_json)
    FROM metrics.metrics_trend_point AS t JOIN metrics.projects AS p ON p.id = t.project_id
    UNION ALL
    SELECT format('breakdown %s %s %s %s %s %s %s %s', p.slug, b.metric_key, b.time_grain, b.time_bucket, b.dimension_key,
                  b.dimension_value, b.value_numeric, b.value_json)
    FROM metrics.metrics_breakdown_point AS b JOIN metrics.projects AS p ON p.id = b.project_id
    UNION ALL
    SELECT format('drilldown %s %s %s %s %s %s', p.slug, d.metric_key, d.entity_type, d.reference_id, d.time_bucket, d.payload)
    FROM metrics.metrics_drilldown AS d JOIN metrics.projects AS p ON p.id = d.project_id
$$;

SELECT ok((SELECT count(*) FROM metrics.refresh_read_model()) = 3, 'a first refresh of every project');
SELECT is((SELECT count(*) FROM metrics.read_model_state), 9::bigint, 'its state: three sources per project');

-- New since: acme's orders and genres of the last closed day, requests of acme to /a in an
-- hour already refreshed, a deployment of globex/web on the last closed day.
SELECT pg_temp.seal_count('acme', 'orders', metrics.last_closed_day(), 5, now());
SELECT pg_temp.seal_genres(metrics.last_closed_day(), 77, now());
SELECT metrics.record_route_metrics(jsonb_build_array(
    jsonb_build_object('route', '/a', 'method', 'GET', 'project', 'acme', 'success', true, 'duration_ms', 12.5, 'at', date_trunc('hour', now()) - interval '150 minutes'),
    jsonb_build_object('route', '/a', 'method', 'GET', 'project', 'acme', 'duration_ms', 912.25, 'success', false,
                       'at', date_trunc('hour', now()) - interval '140 minutes')));
SELECT pg_temp.ship('globex/web', 2999, metrics.last_closed_day(), 'success');

CREATE TEMP TABLE incremental AS SELECT * FROM metrics.refresh_read_model();
SELECT is((SELECT (days, hours, events)::text FROM incremental WHERE project = 'acme'), '(1,1,0)',
          'acme: only the new day and the one hour with new requests are processed');
SELECT is((SELECT (days, hours, events)::text FROM incremental WHERE project = 'globex'), '(0,0,4)',
          'globex: only its four new events');
SELECT is((SELECT hours FROM incremental WHERE project = 'everything'), 1::bigint, 'the whole database: the one hour');
SELECT cmp_ok((SELECT trend_points FROM incremental WHERE project = 'acme'), '>', 0::bigint, 'points were written');

CREATE TEMP TABLE after_incremental AS SELECT * FROM pg_temp.model();
SELECT ok((SELECT count(*) FROM metrics.refresh_read_model(full => true)) = 3, 'a full recompute from scratch');
CREATE TEMP TABLE after_full AS SELECT * FROM pg_temp.model();
SELECT is((SELECT count(*) FROM (SELECT * FROM after_incremental EXCEPT ALL SELECT * FROM after_full) AS d), 0::bigint,
          'the incremental refresh has nothing the full one has not');
SELECT is((SELECT count(*) FROM (SELECT * FROM after_full EXCEPT ALL SELECT * FROM after_incremental) AS d), 0::bigint,
          'and the full one nothing the incremental one has not');

SELECT * FROM finish();
ROLLBACK;
