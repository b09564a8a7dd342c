-- metrics.refresh_read_model: every stored value against an independent computation from
-- the sources, per project (a day point is the sealed value, a week or month point what
-- fetch_metrics returns for the project's metric (its project argument), a request point what get_route_metrics
-- returns for the project's route, a DORA point what get_dora_metrics returns for the
-- project's repository), the whole-database project against normal ones, and reruns that
-- change nothing but the summary.
BEGIN;
SELECT plan(38);
\ir ../../fixtures/setup.sql
\ir ../../fixtures/read_model.sql

CREATE TEMP TABLE first_run AS SELECT * FROM metrics.refresh_read_model();
SELECT is((SELECT string_agg(project, ',' ORDER BY project) FROM first_run), 'acme,everything,globex',
          'a row per project');
SELECT is((SELECT days FROM first_run WHERE project = 'acme'), 40::bigint, 'acme: each of its 40 sealed days processed');
SELECT is((SELECT summaries FROM first_run WHERE project = 'acme'), 1::bigint, 'one summary per project and run');

CREATE FUNCTION pg_temp.points(project text, key text, grain text) RETURNS SETOF metrics.metrics_trend_point
LANGUAGE sql AS $$
    SELECT * FROM metrics.metrics_trend_point
    WHERE project_id = pg_temp.pid(project) AND metric_key = key AND time_grain = grain::metrics.metrics_time_grain
$$;

-- Daily values: the day points are the sealed values, the weeks and months fetch_metrics'.
SELECT is((SELECT count(*) FROM pg_temp.points('acme', 'orders', 'day')), 40::bigint, 'a day point per sealed day');
SELECT is((SELECT count(*) FROM pg_temp.points('acme', 'orders', 'day') AS t
           JOIN metrics.daily_metrics AS m ON m.metric_category = 'orders'
            AND t.time_bucket = m.metric_date::timestamp AT TIME ZONE 'UTC'
           WHERE t.value_numeric = m.value::float8 AND (t.value_json->>'value')::numeric = m.value
             AND (t.value_json->>'complete')::boolean), 40::bigint, 'each day point is its sealed value, complete');
CREATE FUNCTION pg_temp.rolled_mismatches(project text, key text, grain text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_temp.points(project, key, grain) AS t
    CROSS JOIN LATERAL (SELECT (t.time_bucket AT TIME ZONE 'UTC')::date AS s) AS b
    LEFT JOIN LATERAL metrics.fetch_metrics(b.s, least(CASE grain WHEN 'week' THEN b.s + 6 ELSE (b.s + interval '1 month')::date - 1 END,
                                                       metrics.last_closed_day()),
                                            ARRAY[key], aggregation => grain || 'ly',
                                            project => nullif(project, 'everything')) AS f ON true
    WHERE f.value IS DISTINCT FROM (t.value_json->>'value')::numeric
       OR f.days_recorded <> (t.value_json->>'days_recorded')::int
       OR f.days_in_period <> (t.value_json->>'days_in_period')::int
       OR f.metadata <> t.value_json->'metadata'
       OR to_jsonb(f.missing_dates) <> t.value_json->'missing_dates'
$$;
SELECT is(pg_temp.rolled_mismatches('acme', 'orders', 'week'), 0::bigint, 'week points are fetch_metrics weekly');
SELECT is(pg_temp.rolled_mismatches('acme', 'orders', 'month'), 0::bigint, 'month points are fetch_metrics monthly');
SELECT is(pg_temp.rolled_mismatches('acme', 'genres', 'week'), 0::bigint, 'breakdown weeks too (merged groups)');
SELECT is(pg_temp.rolled_mismatches('everything', 'ticks_created', 'month'), 0::bigint, 'and the whole database''s months');
SELECT cmp_ok((SELECT count(*) FROM pg_temp.points('acme', 'orders', 'week')), '>=', 6::bigint, 'there are weeks to compare');
SELECT is((SELECT (value_json->>'complete')::boolean FROM pg_temp.points('acme', 'orders', 'month')
           ORDER BY time_bucket DESC LIMIT 1),
          -- The last sealed day is the day before the last closed one (read_model.sql), so the
          -- last month point is that day's month: complete when it ended by the last closed day
          -- (on the 1st of a month, the month before is).
          (date_trunc('month', (metrics.last_closed_day() - 1)::timestamp) + interval '1 month')::date - 1
              <= metrics.last_closed_day(),
          'the last month is complete only when it ended by the last closed day');

-- Scope: a project has its own values only; the whole database what belongs to none.
SELECT is((SELECT array_agg(DISTINCT metric_key ORDER BY metric_key) FROM metrics.metrics_trend_point
           WHERE project_id = pg_temp.pid('acme') AND metric_key NOT LIKE 'dora%' AND metric_key NOT LIKE 'request%'),
          ARRAY['genres', 'orders'], 'acme: its metrics only');
SELECT is((SELECT array_agg(DISTINCT metric_key ORDER BY metric_key) FROM metrics.metrics_trend_point
           WHERE project_id = pg_temp.pid('everything') AND metric_key NOT LIKE 'dora%' AND metric_key NOT LIKE 'request%'),
          ARRAY['ticks_created'], 'the whole database: the values of no project');

-- Breakdown points: each group of each sealed day.
SELECT is((SELECT count(*) FROM metrics.metrics_breakdown_point AS b
           JOIN metrics.daily_metrics AS m ON m.metric_category = 'genres'
            AND b.time_bucket = m.metric_date::timestamp AT TIME ZONE 'UTC'
           CROSS JOIN LATERAL jsonb_each(m.metadata->'breakdown') AS g
           WHERE b.project_id = pg_temp.pid('acme') AND b.metric_key = 'genres' AND b.dimension_key = 'genre'
             AND b.dimension_value = g.key AND b.value_numeric = g.value::text::float8),
          (SELECT sum((SELECT count(*) FROM jsonb_object_keys(metadata->'breakdown'))) FROM metrics.daily_metrics
           WHERE metric_category = 'genres')::bigint, 'a breakdown point per group and day, its count');

-- Requests: per route and day, get_route_metrics of the project's route; combined hours.
CREATE FUNCTION pg_temp.request_mismatches(project text, grain text, r text, m text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_temp.points(project, 'request_p95_ms', grain) AS t
    LEFT JOIN metrics.get_route_metrics(r, m, now() - interval '5 days', date_trunc('hour', now()), grain) AS g
      ON g.period_start = t.time_bucket
    WHERE t.dimensions = jsonb_build_object('route', r, 'method', m)
      AND (g.p95_ms IS DISTINCT FROM t.value_numeric OR g.total_requests <> (t.value_json->>'total')::bigint
           OR g.failed <> (t.value_json->>'failed')::bigint OR g.p99_ms IS DISTINCT FROM (t.value_json->>'p99_ms')::float8
           OR abs(g.average_duration_ms - (t.value_json->>'average_ms')::float8) > 1e-9)
$$;
SELECT is(pg_temp.request_mismatches('acme', 'day', '/a', 'GET'), 0::bigint, 'acme /a per day: get_route_metrics');
SELECT is(pg_temp.request_mismatches('acme', 'hour', '/a', 'GET'), 0::bigint, 'acme /a per hour too');
SELECT is((SELECT count(*) FROM pg_temp.points('acme', 'request_p95_ms', 'hour') WHERE dimensions = '{}'),
          (SELECT count(DISTINCT date_trunc('hour', at)) FROM events WHERE route = '/a'), 'a combined point per hour with requests');
SELECT is((SELECT count(*) FROM pg_temp.points('acme', 'requests', 'day') WHERE dimensions ? 'route' AND dimensions->>'route' <> '/a'),
          0::bigint, 'acme has only its route');
SELECT is((SELECT sum(value_numeric) FROM pg_temp.points('everything', 'requests', 'day') WHERE dimensions = '{}'),
          (SELECT count(*)::float8 FROM events), 'the whole database counts every request');
SELECT is((SELECT t.value_numeric FROM pg_temp.points('everything', 'request_p99_ms', 'week') AS t
           WHERE t.dimensions = '{}' ORDER BY t.time_bucket DESC LIMIT 1),
          (SELECT g.p99_ms FROM metrics.get_route_metrics(NULL, NULL, now() - interval '40 days', date_trunc('hour', now()), 'week', true) AS g
           ORDER BY g.period_start DESC LIMIT 1), 'combined weeks: the merged sketch, as get_route_metrics combined');

-- DORA: acme's week points are get_dora_metrics of acme/shop.
SELECT is((SELECT count(*) FROM pg_temp.points('acme', 'dora_deployment_frequency', 'week') AS t
           JOIN metrics.get_dora_metrics((t.time_bucket AT TIME ZONE 'UTC')::date,
                                         least((t.time_bucket AT TIME ZONE 'UTC')::date + 6, metrics.last_closed_day()),
                                         'production', 'week', 'acme/shop') AS g ON true
           WHERE t.dimensions = '{"environment": "production"}'
             AND (g.deployments <> t.value_numeric OR g.lead_time_p50_hours IS DISTINCT FROM (t.value_json->>'lead_time_p50_hours')::numeric
                  OR g.change_failure_rate IS DISTINCT FROM (t.value_json->>'change_failure_rate')::numeric
                  OR g.recovery_p50_hours IS DISTINCT FROM (t.value_json->>'recovery_p50_hours')::numeric
                  OR g.level IS DISTINCT FROM t.value_json->>'level')), 0::bigint, 'acme''s DORA weeks: get_dora_metrics of acme/shop');
SELECT is((SELECT sum(value_numeric) FROM pg_temp.points('acme', 'dora_deployment_frequency', 'day')
           WHERE dimensions = '{"environment": "production"}'), 16::float8, 'acme: 16 successful deployments');
SELECT is((SELECT sum(value_numeric) FROM pg_temp.points('everything', 'dora_deployment_frequency', 'month')
           WHERE dimensions = '{"environment": "production"}'), 32::float8, 'the whole database: both repositories');

-- Drill-downs.
SELECT is((SELECT count(*) FROM metrics.metrics_drilldown WHERE project_id = pg_temp.pid('acme') AND entity_type = 'pull_request'),
          (SELECT count(DISTINCT pr_number) FROM metrics.dora_change_facts WHERE repository = 'acme/shop' AND kind = 'pull_request'),
          'a drill-down per pull request shipped');
SELECT is((SELECT payload->>'lead_time_hours' FROM metrics.metrics_drilldown
           WHERE project_id = pg_temp.pid('acme') AND reference_id = 'acme/shop#1002@production')::float8,
          3 + 5 / 60.0::float8, 'with its lead time (merged 3 hours before the deployment, which took 5 minutes)');
-- The stages against the facts: coding from the first commit to the opening (never negative),
-- review from the later of the two to the merge, deploy from the merge to the deployment.
SELECT is((SELECT count(*) FROM metrics.metrics_drilldown AS d
           JOIN metrics.dora_change_facts AS c ON d.reference_id = c.repository || '#' || c.pr_number || '@' || c.tier
                AND c.deployment_id::text = d.payload->>'deployment_id' AND c.environment = d.payload->>'environment'
           JOIN metrics.github_pull_requests AS pr ON pr.repository = c.repository AND pr.number = c.pr_number
           WHERE d.project_id = pg_temp.pid('acme') AND d.entity_type = 'pull_request'
             AND (d.payload->'stages'->>'coding_hours')::float8 IS NOT DISTINCT FROM
                 CASE WHEN c.first_commit_at IS NOT NULL THEN greatest(0, extract(epoch FROM pr.created_at - c.first_commit_at)::float8 / 3600) END
             AND abs((d.payload->'stages'->>'review_hours')::float8
                     - extract(epoch FROM c.merged_at - greatest(pr.created_at, c.first_commit_at))::float8 / 3600) < 1e-9
             AND (d.payload->'stages'->>'deploy_hours')::float8 = (d.payload->>'lead_time_hours')::float8),
          (SELECT count(*) FROM metrics.metrics_drilldown WHERE project_id = pg_temp.pid('acme') AND entity_type = 'pull_request'),
          'every pull request''s stages are those of its facts');
SELECT is((SELECT count(*) FROM metrics.metrics_drilldown WHERE project_id = pg_temp.pid('acme') AND entity_type = 'pull_request'
             AND (payload->'stages'->>'coding_hours')::float8 < 0), 0::bigint, 'and no stage is negative');
SELECT is((SELECT count(*) FROM metrics.metrics_drilldown WHERE project_id = pg_temp.pid('acme') AND entity_type = 'deployment'),
          20::bigint, 'a drill-down per deployment');
SELECT is((SELECT (payload->>'requests')::bigint FROM metrics.metrics_drilldown
           WHERE project_id = pg_temp.pid('acme') AND entity_type = 'route' AND reference_id = 'GET /a'),
          (SELECT count(*) FROM events WHERE route = '/a'), 'the route drill-down counts its requests');
SELECT is((SELECT string_agg(reference_id, ',' ORDER BY reference_id) FROM metrics.metrics_drilldown
           WHERE project_id = pg_temp.pid('acme') AND entity_type = 'breakdown_key'), 'jazz,pop,rock', 'a drill-down per breakdown key');

-- Summary.
SELECT is((SELECT (e->>'value')::numeric FROM metrics.metrics_summary AS s, jsonb_array_elements(s.payload->'metrics') AS e
           WHERE s.project_id = pg_temp.pid('acme') AND e->>'metric_key' = 'orders'),
          (SELECT sum(value) FROM metrics.fetch_metrics(metrics.last_closed_day() - 6, metrics.last_closed_day(), ARRAY['orders'],
                                                        project => 'acme')),
          'the summary''s value is the sum of the last 7 days');

SELECT is((SELECT (payload->'requests'->>'total')::bigint FROM metrics.metrics_summary WHERE project_id = pg_temp.pid('acme')),
          (SELECT count(*) FROM events WHERE route = '/a' AND at < (metrics.last_closed_day() + 1)::timestamp AT TIME ZONE 'UTC'),
          'the summary''s requests: those of the 7 closed days');
SELECT is((SELECT (d->>'deployments')::bigint FROM metrics.metrics_summary AS s, jsonb_array_elements(s.payload->'dora') AS d
           WHERE s.project_id = pg_temp.pid('acme') AND d->>'environment' = 'production'),
          (SELECT sum(deployments) FROM metrics.get_dora_metrics(metrics.last_closed_day() - 6, metrics.last_closed_day(),
                                                                 'production', 'day', 'acme/shop')),
          'its DORA deployments: get_dora_metrics over the 7 days');
SELECT is((SELECT payload->'period' FROM metrics.metrics_summary WHERE project_id = pg_temp.pid('acme')),
          jsonb_build_object('start', metrics.last_closed_day() - 6, 'end', metrics.last_closed_day(), 'days', 7),
          'its period: the last 7 closed days');

-- A rerun with nothing new writes nothing but the summary.
CREATE TEMP TABLE rerun AS SELECT * FROM metrics.refresh_read_model('acme');
SELECT is((SELECT (trend_points, breakdown_points, drilldowns, summaries)::text FROM rerun), '(0,0,0,1)', 'a rerun changes nothing but the summary');
SELECT is((SELECT count(*) FROM metrics.metrics_summary WHERE project_id = pg_temp.pid('acme')), 2::bigint, 'which it adds');

-- Arguments.
SELECT pg_temp.fails_with($$SELECT * FROM metrics.refresh_read_model('nope')$$, '42704', 'an unknown project is 42704');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.refresh_read_model('acme', NULL)$$, '22004', 'full must not be NULL');

SELECT * FROM finish();
ROLLBACK;
