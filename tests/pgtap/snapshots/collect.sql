-- Collecting a day: every kind's value against an independent count over the source,
-- zeros before any data, idempotent re-runs, sealed values that survive deletes, the one
-- correction path (recollect), and failure isolation.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(49);
\ir ../../fixtures/setup.sql

SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'install the social preset');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('avg_post_length', 'average', source_table => 'posts', source_schema => 'regress_src', value_column => 'length')$$, 'define an average');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('published_posts', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'status = ''published''')$$, 'define a filtered count');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('escape_attempt', 'created', source_table => 'posts', source_schema => 'regress_src', filter => '(false) OR (true)')$$, 'define a metric whose filter is an OR that is always true');

-- The expected values of a day, computed independently of the extension's planner.
CREATE FUNCTION pg_temp.expected(d date) RETURNS TABLE (category text, value numeric, metadata jsonb)
LANGUAGE sql AS $$
    WITH lo AS (SELECT d::timestamptz AS t), hi AS (SELECT (d + 1)::timestamptz AS t),
    day_posts AS (SELECT * FROM regress_src.posts WHERE created_at >= (SELECT t FROM lo) AND created_at < (SELECT t FROM hi)),
    counts AS (
        SELECT 'users_total' AS category, (SELECT count(*) FROM regress_src.profiles WHERE created_at < (SELECT t FROM hi))::numeric AS value, '{}'::jsonb AS metadata
        UNION ALL SELECT 'posts_total', (SELECT count(*) FROM regress_src.posts WHERE created_at < (SELECT t FROM hi)), '{}'
        UNION ALL SELECT 'comments_total', (SELECT count(*) FROM regress_src.comments WHERE created_at < (SELECT t FROM hi)), '{}'
        UNION ALL SELECT 'posts_created', (SELECT count(*) FROM day_posts), '{}'
        UNION ALL SELECT 'comments_created', (SELECT count(*) FROM regress_src.comments WHERE created_at >= (SELECT t FROM lo) AND created_at < (SELECT t FROM hi)), '{}'
        UNION ALL SELECT 'tracks_uploaded', (SELECT count(*) FROM regress_src.tracks WHERE created_at >= (SELECT t FROM lo) AND created_at < (SELECT t FROM hi)), '{}'
        UNION ALL SELECT 'active_users', (SELECT count(DISTINCT user_id) FROM day_posts), '{}'
        UNION ALL SELECT 'published_posts', (SELECT count(*) FROM day_posts WHERE status = 'published'), '{}'
        UNION ALL SELECT 'escape_attempt', (SELECT count(*) FROM day_posts), '{}'
        UNION ALL SELECT 'avg_post_length', coalesce((SELECT avg(length) FROM day_posts), 0),
                         jsonb_build_object('sample_size', (SELECT count(length) FROM day_posts),
                                            'std_deviation', coalesce((SELECT stddev_pop(length) FROM day_posts), 0))
    )
    SELECT * FROM counts
    UNION ALL
    SELECT 'engagement_rate',
           CASE WHEN u.value = 0 THEN 0 ELSE round(a.value * 100 / u.value, 4) END,
           jsonb_build_object('numerator', a.value, 'denominator', u.value)
    FROM counts a, counts u WHERE a.category = 'active_users' AND u.category = 'users_total'
    UNION ALL
    SELECT 'top_genres', count(*)::numeric,
           jsonb_build_object('breakdown', coalesce(jsonb_object_agg(genre, n), '{}'),
                              'top_items', coalesce((SELECT jsonb_agg(jsonb_build_object('key', genre, 'value', n) ORDER BY n DESC, genre)
                                                     FROM (SELECT genre, count(*) AS n FROM regress_src.tracks
                                                           WHERE genre IS NOT NULL AND created_at >= (SELECT t FROM lo) AND created_at < (SELECT t FROM hi)
                                                           GROUP BY genre ORDER BY n DESC, genre LIMIT 5) top), '[]'),
                              'rows', coalesce(sum(n), 0), 'truncated', false)
    FROM (SELECT genre, count(*) AS n FROM regress_src.tracks
          WHERE genre IS NOT NULL AND created_at >= (SELECT t FROM lo) AND created_at < (SELECT t FROM hi)
          GROUP BY genre) g
$$;

CREATE FUNCTION pg_temp.recorded(d date) RETURNS TABLE (category text, value numeric, metadata jsonb)
LANGUAGE sql AS $$
    SELECT metric_category, value, metadata FROM metrics.daily_metrics WHERE metric_date = d
$$;

-- One day, every kind.
SELECT results_eq($$SELECT metrics_collected, status FROM metrics.collect_daily_metrics('2025-06-15')$$,
                  $$VALUES (12, 'completed')$$, 'collecting a day records every active metric');
SELECT set_eq($$SELECT * FROM pg_temp.recorded('2025-06-15')$$, $$SELECT * FROM pg_temp.expected('2025-06-15')$$,
              'every value equals an independent count over the source tables');
SELECT ok((SELECT value FROM metrics.daily_metrics WHERE metric_date = '2025-06-15' AND metric_category = 'posts_created') > 0,
          'the day has activity (the comparison is not between zeros)');
SELECT ok((SELECT value FROM metrics.daily_metrics WHERE metric_date = '2025-06-15' AND metric_category = 'escape_attempt')
          < (SELECT count(*) FROM regress_src.posts),
          'a filter cannot escape the day''s time bounds');

-- Midnight: the fixture puts posts exactly at 2025-03-10 00:00 UTC and a microsecond before.
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-03-09')$$, 'collect 2025-03-09');
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-03-10')$$, 'collect 2025-03-10');
SELECT set_eq($$SELECT * FROM pg_temp.recorded('2025-03-09') UNION ALL SELECT * FROM pg_temp.recorded('2025-03-10')$$,
              $$SELECT * FROM pg_temp.expected('2025-03-09') UNION ALL SELECT * FROM pg_temp.expected('2025-03-10')$$,
              'rows at and next to midnight fall on the right day');

-- A day before any data completes with zeros.
SELECT results_eq($$SELECT metrics_collected, status FROM metrics.collect_daily_metrics('2020-01-01')$$,
                  $$VALUES (12, 'completed')$$, 'a day before any data is collected');
SELECT results_eq($$SELECT count(*), count(*) FILTER (WHERE value = 0) FROM metrics.daily_metrics WHERE metric_date = '2020-01-01'$$,
                  $$VALUES (12::bigint, 12::bigint)$$, 'with every value zero (none NULL, none missing)');
SELECT results_eq($$SELECT metadata FROM metrics.daily_metrics WHERE metric_date = '2020-01-01' AND metric_category IN ('avg_post_length', 'engagement_rate', 'top_genres') ORDER BY metric_category$$,
                  $$VALUES ('{"sample_size": 0, "std_deviation": 0}'::jsonb), ('{"numerator": 0, "denominator": 0}'),
                           ('{"rows": 0, "breakdown": {}, "top_items": [], "truncated": false}')$$,
                  'and metadata saying so');

-- Re-running records nothing and says so.
SELECT results_eq($$SELECT metrics_collected, status FROM metrics.collect_daily_metrics('2025-06-15')$$,
                  $$VALUES (0, 'skipped')$$, 're-running a collected day records nothing new');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_date = '2025-06-15'), 12::bigint, 'and duplicates nothing');

-- Sealed history: deleting source rows (with CASCADE) changes nothing that was recorded.
CREATE TEMP TABLE before_delete AS SELECT * FROM pg_temp.recorded('2025-06-15');
DELETE FROM regress_src.profiles WHERE id IN (SELECT user_id FROM regress_src.posts
    WHERE created_at >= '2025-06-15' AND created_at < '2025-06-16' LIMIT 3);
SELECT isnt_empty($$SELECT * FROM pg_temp.expected('2025-06-15') EXCEPT SELECT * FROM before_delete$$,
                  'the deletion changed what a live count would say');
SELECT results_eq($$SELECT metrics_collected, status FROM metrics.collect_daily_metrics('2025-06-15')$$,
                  $$VALUES (0, 'skipped')$$, 're-running after the deletion records nothing');
SELECT set_eq($$SELECT * FROM pg_temp.recorded('2025-06-15')$$, $$SELECT * FROM before_delete$$,
              'the sealed values are unchanged');

-- Nobody, not even the owner, updates, deletes or truncates sealed rows.
SELECT pg_temp.fails_with($$UPDATE metrics.daily_metrics SET value = 0 WHERE metric_date = '2025-06-15'$$, '42501', 'UPDATE of a sealed row is refused');
SELECT pg_temp.fails_with($$DELETE FROM metrics.daily_metrics WHERE metric_date = '2025-06-15'$$, '42501', 'DELETE of a sealed row is refused');
SELECT pg_temp.fails_with($$TRUNCATE metrics.daily_metrics$$, '42501', 'TRUNCATE is refused');
SELECT matches((pg_temp.error_of($$DELETE FROM metrics.daily_metrics$$))->>'hint', 'metrics\.recollect', 'the hint names the correction path');

-- The correction path: recollect keeps the old value, who and why.
SELECT results_eq(
    $$SELECT metric_category, old_value, new_value, changed FROM metrics.recollect('2025-06-15', ARRAY['posts_total', 'users_total'], 'removed spam accounts') ORDER BY 1$$,
    $$SELECT b.category, b.value, e.value, b.value IS DISTINCT FROM e.value FROM before_delete b JOIN pg_temp.expected('2025-06-15') e USING (category)
      WHERE category IN ('posts_total', 'users_total') ORDER BY 1$$,
    'recollect recomputes the values from the current source');
SELECT ok((SELECT bool_and(changed) FROM metrics.recollect('2025-06-15', ARRAY['posts_total'], 'noop')) IS FALSE,
          'recollecting an unchanged value changes nothing');
SELECT results_eq(
    $$SELECT metric_category, old_value, new_value, reason, revised_by FROM metrics.metric_revisions ORDER BY metric_category$$,
    $$SELECT b.category, b.value, e.value, 'removed spam accounts'::text, current_user::text COLLATE "default"
      FROM before_delete b JOIN pg_temp.expected('2025-06-15') e USING (category)
      WHERE category IN ('posts_total', 'users_total') ORDER BY 1$$,
    'each change is a revision with the old value, the reason and who made it');
SELECT set_eq($$SELECT * FROM pg_temp.recorded('2025-06-15') WHERE category IN ('posts_total', 'users_total')$$,
              $$SELECT * FROM pg_temp.expected('2025-06-15') WHERE category IN ('posts_total', 'users_total')$$,
              'and daily_metrics holds the corrected values');
SELECT pg_temp.fails_with($$DELETE FROM metrics.metric_revisions$$, '42501', 'revisions cannot be deleted');
SELECT results_eq($$SELECT run_type, status, metrics_collected FROM metrics.metric_collection_log WHERE run_type = 'recollect' ORDER BY started_at$$,
                  $$VALUES ('recollect', 'completed', 2), ('recollect', 'completed', 0)$$, 'corrections are logged as runs');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.recollect('2025-06-15', ARRAY['posts_total'], '   ')$$, '22023', 'a correction needs a reason');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.recollect('2025-06-15', ARRAY[]::text[], 'x')$$, '22023', 'a correction needs categories');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.recollect('2025-06-15', ARRAY['nope'], 'x')$$, '42704', 'a correction of an unknown metric');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.recollect('2025-06-15', NULL, 'x')$$, '22004', 'NULL categories');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.recollect(current_date + 1, ARRAY['posts_total'], 'x')$$, '22008', 'a correction of a future day');

-- Dates that cannot be collected.
-- Without a date (NULL, the default) it catches up instead: tests/pgtap/jobs/catch_up.sql.
SAVEPOINT catch_up;
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics(NULL)$$, 'a NULL target date catches up');
ROLLBACK TO SAVEPOINT catch_up;
SELECT pg_temp.fails_with($$SELECT * FROM metrics.collect_daily_metrics((now() AT TIME ZONE 'UTC')::date)$$, '22008', 'today has not ended');
SELECT matches((pg_temp.error_of($$SELECT * FROM metrics.collect_daily_metrics((now() AT TIME ZONE 'UTC')::date)$$))->>'message',
               'has not ended yet', 'and the error says so');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.collect_daily_metrics(current_date + 30)$$, '22008', 'a future day');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.collect_daily_metrics('infinity')$$, '22008', 'infinity');
SELECT is(metrics.last_closed_day(), (now() AT TIME ZONE 'UTC')::date - 1, 'the default day is the last one that has ended');

-- Failure isolation: a broken definition is logged, the others are recorded.
CREATE TABLE regress_src.doomed (id int, created_at timestamptz);
SELECT lives_ok($$SELECT * FROM metrics.define_metric('doomed_rows', 'created', source_table => 'doomed', source_schema => 'regress_src')$$, 'define a metric over a table');
DROP TABLE regress_src.doomed;
SELECT results_eq($$SELECT metrics_collected, status FROM metrics.collect_daily_metrics('2025-07-01')$$,
                  $$VALUES (12, 'partial')$$, 'with its table dropped, the run is partial');
SELECT set_eq($$SELECT * FROM pg_temp.recorded('2025-07-01')$$, $$SELECT * FROM pg_temp.expected('2025-07-01')$$,
              'the other metrics are recorded correctly');
SELECT results_eq(
    $$SELECT status, metrics_collected, metrics_failed, error_details->'failures'->'doomed_rows'->>'sqlstate'
      FROM metrics.metric_collection_log WHERE collection_date = '2025-07-01'$$,
    $$VALUES ('partial', 12, 1, '42P01')$$,
    'the log names the failed metric and its error');
SELECT matches((SELECT error_message FROM metrics.metric_collection_log WHERE collection_date = '2025-07-01'),
               'doomed_rows: relation "regress_src"."doomed" does not exist', 'in words too');

-- When every metric fails, the run still returns and its log row stays.
SAVEPOINT all_fail;
ALTER TABLE regress_src.profiles RENAME TO profiles_gone;
ALTER TABLE regress_src.posts RENAME TO posts_gone;
ALTER TABLE regress_src.comments RENAME TO comments_gone;
ALTER TABLE regress_src.tracks RENAME TO tracks_gone;
SELECT results_eq($$SELECT metrics_collected, status FROM metrics.collect_daily_metrics('2025-07-02')$$,
                  $$VALUES (0, 'failed')$$, 'a run where everything fails reports failed');
SELECT is((SELECT status FROM metrics.metric_collection_log WHERE collection_date = '2025-07-02'), 'failed', 'and is logged as failed');
ROLLBACK TO SAVEPOINT all_fail;

-- Every run is logged.
SELECT results_eq($$SELECT run_type, status FROM metrics.metric_collection_log WHERE run_type = 'collect' ORDER BY started_at$$,
                  $$VALUES ('collect', 'completed'), ('collect', 'completed'), ('collect', 'completed'), ('collect', 'completed'),
                           ('collect', 'skipped'), ('collect', 'skipped'), ('collect', 'partial')$$,
                  'each collection left a log row with its outcome');
SELECT is((SELECT count(*) FROM metrics.metric_collection_log WHERE completed_at IS NULL OR status = 'running'), 0::bigint, 'no run is left running');

SELECT * FROM finish();
ROLLBACK;
