-- The read API over what refresh_read_model writes: the answers' values equal the sealed
-- values (days, and weeks as fetch_metrics rolls them up), the stored summary is served, and
-- request hours stored by the refresh are followed by the open hour, live.
BEGIN;
SELECT plan(6);
\ir ../../fixtures/setup.sql
SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'the social preset');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-02', '2025-06-15')$$, 'two weeks sealed');
SELECT lives_ok($$SELECT metrics.create_project('all', 'Everything', NULL, true)$$, 'the whole database''s project');
SELECT lives_ok($$SELECT * FROM metrics.refresh_read_model('all')$$, 'refreshed');
SELECT results_eq(
    $$SELECT (p->>'time_bucket')::timestamptz::date, (p->>'value')::numeric
      FROM jsonb_array_elements(metrics.get_trend('all', 'posts_created', 'day', '2025-06-02', '2025-06-16')::jsonb->'points') AS p$$,
    $$SELECT metric_date, value FROM metrics.daily_metrics WHERE metric_category = 'posts_created' AND project_id IS NULL
        AND metric_date BETWEEN '2025-06-02' AND '2025-06-15' ORDER BY 1$$,
    'get_trend''s days are the sealed values');
SELECT results_eq(
    $$SELECT (p->>'time_bucket')::timestamptz::date, (p->>'value')::numeric
      FROM jsonb_array_elements(metrics.get_trend('all', 'posts_created', 'week', '2025-06-02', '2025-06-16')::jsonb->'points') AS p$$,
    $$SELECT period_start, value FROM metrics.fetch_metrics('2025-06-02', '2025-06-15', ARRAY['posts_created'], aggregation => 'weekly')$$,
    'and its weeks are fetch_metrics''s');
SELECT * FROM finish();
ROLLBACK;
