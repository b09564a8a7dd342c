-- bench/readmodel/setup.sql: the data of the read-model benchmark, set-based, as the owner.
-- psql variables: projects, metrics, days (of sealed values before today), hour_days (of
-- hourly request points before the current hour).
--
-- Per project and metric a year of sealed daily values (metrics.daily_metrics, per-project
-- rows of 'created' metrics m01..mNN over bench.events, project column org), the read
-- model's day points with the same contents (what refresh_read_model writes for them:
-- value_numeric = value, value_json = {value, metadata, days_in_period, days_recorded,
-- missing_dates, complete}), hourly 'requests' points, one summary per project computed from
-- the sealed values, and the current hour's request rows (5 routes per project), which the
-- open bucket reads live.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE SCHEMA bench;
CREATE TABLE bench.events (id bigint, org uuid, created_at timestamptz);
CREATE INDEX ON bench.events (created_at);

INSERT INTO metrics.projects (slug, name)
SELECT format('p%s', lpad(i::text, 4, '0')), format('Project %s', i) FROM generate_series(1, :projects) AS i;
CREATE TABLE bench.projects AS
SELECT id, slug, row_number() OVER (ORDER BY slug)::int AS n FROM metrics.projects;
CREATE TABLE bench.metric_names AS
SELECT m, format('m%s', lpad(m::text, 2, '0')) AS category FROM generate_series(1, :metrics) AS m;
SELECT count(*) FROM bench.metric_names AS n,
    LATERAL metrics.define_metric(n.category, 'created', source_table => 'events', source_schema => 'bench',
                                  project_column => 'org') AS d;

-- The sealed values: days 1 .. :days before today.
INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value, project_id, definition_version, collection_timestamp)
SELECT current_date - d, 'count', n.category, (p.n * 7 + n.m * 13 + d * 3) % 1000, p.id, 1, now() - d * interval '1 day'
FROM bench.projects AS p, bench.metric_names AS n, generate_series(1, :days) AS d;

-- The read model's day points of the same values.
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, value_numeric, value_json, computed_at)
SELECT m.project_id, m.metric_category, 'day', m.metric_date::timestamp AT TIME ZONE 'UTC', m.value,
       jsonb_build_object('value', m.value, 'metadata', m.metadata, 'days_in_period', 1, 'days_recorded', 1,
                          'missing_dates', '[]'::jsonb, 'complete', true),
       m.collection_timestamp + interval '5 minutes'
FROM metrics.daily_metrics AS m;

-- Hourly request points: the :hour_days days before the current hour.
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, value_numeric, value_json, computed_at)
SELECT p.id, 'requests', 'hour', date_trunc('hour', now()) - h * interval '1 hour', v,
       jsonb_build_object('total', v, 'successful', v - v / 50, 'failed', v / 50, 'error_rate', (v / 50)::float8 / v,
                          'p50_ms', 20, 'p95_ms', 80, 'p99_ms', 150, 'average_ms', 31.5, 'complete', true),
       date_trunc('hour', now()) - (h - 1) * interval '1 hour' + interval '2 minutes'
FROM bench.projects AS p, generate_series(1, :hour_days * 24) AS h, LATERAL (SELECT 50 + (p.n + h) % 200 AS v) AS x;

-- One summary per project, from the sealed values: the last 7 closed days and the 7 before.
INSERT INTO metrics.metrics_summary (project_id, captured_at, payload)
SELECT p.id, now() - interval '10 minutes',
       jsonb_build_object('version', '1.0', 'project', jsonb_build_object('id', p.id, 'slug', p.slug),
           'as_of', current_date::timestamp AT TIME ZONE 'UTC',
           'period', jsonb_build_object('start', current_date - 7, 'end', current_date - 1, 'days', 7),
           'previous_period', jsonb_build_object('start', current_date - 14, 'end', current_date - 8, 'days', 7),
           'metrics', s.metrics)
FROM bench.projects AS p
JOIN (SELECT project_id, jsonb_agg(jsonb_build_object('metric_key', metric_category, 'value', v, 'previous_value', pv,
                                                      'change', v - pv, 'days_recorded', n) ORDER BY metric_category) AS metrics
      FROM (SELECT project_id, metric_category,
                   sum(value) FILTER (WHERE metric_date >= current_date - 7) AS v,
                   sum(value) FILTER (WHERE metric_date < current_date - 7) AS pv,
                   count(*) FILTER (WHERE metric_date >= current_date - 7) AS n
            FROM metrics.daily_metrics WHERE metric_date BETWEEN current_date - 14 AND current_date - 1
            GROUP BY project_id, metric_category) AS g
      GROUP BY project_id) AS s ON s.project_id = p.id;

-- The current hour's requests: 5 routes per project, with a real sketch (one recorded event's).
SELECT metrics.record_route_metric('/bench-template', 'GET', true, 25);
INSERT INTO metrics.route_metrics (route, method, period_start, period_end, total_requests, successful, failed,
    total_duration_ms, average_duration_ms, min_duration_ms, max_duration_ms, last_request_at, latency_sketch, project_id)
SELECT format('/p%s/r%s', p.n, r), 'GET', t.period_start, t.period_end, t.total_requests, t.successful, t.failed,
       t.total_duration_ms, t.average_duration_ms, t.min_duration_ms, t.max_duration_ms, t.last_request_at, t.latency_sketch, p.id
FROM bench.projects AS p, generate_series(1, 5) AS r, metrics.route_metrics AS t WHERE t.route = '/bench-template';
