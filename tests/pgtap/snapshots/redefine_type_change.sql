-- define_metric(..., replace => true) over sealed values: a redefinition that keeps the
-- metric_type is allowed and leaves the sealed values as they are; one that changes it (a
-- count into an average, a percentage or a breakdown; an average into a count) is refused
-- with 2BP01 and writes nothing: the definition row and the sealed rows stay byte for byte.
-- With no sealed value under the category, the same change of type is allowed, and what is
-- then collected is the new kind's value.
BEGIN;
SELECT plan(26);
\ir ../../fixtures/setup.sql

SELECT lives_ok($$SELECT * FROM metrics.define_metric('rt_posts', 'created', source_table => 'posts', source_schema => 'regress_src')$$, 'define a count');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rt_length', 'average', source_table => 'posts', source_schema => 'regress_src', value_column => 'length')$$, 'define an average');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rt_total', 'total', source_table => 'posts', source_schema => 'regress_src')$$, 'define a total');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-02')$$, 'seal two days of them');

-- The definitions and the sealed rows, as text, to compare after each refusal.
CREATE FUNCTION pg_temp.sealed() RETURNS text LANGUAGE sql AS $$
SELECT string_agg(format('%s', m), E'\n' ORDER BY m.metric_date, m.metric_category) FROM metrics.daily_metrics AS m
$$;
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
SELECT concat_ws(E'\n',
    (SELECT string_agg(format('%s', d), E'\n' ORDER BY d.metric_category) FROM metrics.metric_definitions AS d),
    pg_temp.sealed())
$$;
SELECT pg_temp.state() AS before, pg_temp.sealed() AS sealed_before \gset
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = 'rt_posts'), 2::bigint, 'rt_posts has two sealed values');

-- Without replace: already defined.
SELECT throws_ok($$SELECT * FROM metrics.define_metric('rt_posts', 'average', source_table => 'posts', source_schema => 'regress_src', value_column => 'length')$$,
                 '42710', 'metric "rt_posts" is already defined', 'without replace, a defined category is 42710');
SELECT is(pg_temp.state(), :'before', 'and nothing is written');

-- With replace, changes of metric_type over sealed values.
SELECT throws_ok($$SELECT * FROM metrics.define_metric('rt_posts', 'average', source_table => 'posts', source_schema => 'regress_src', value_column => 'length', replace => true)$$,
                 '2BP01', 'cannot change metric "rt_posts" from count to average values: 2 values are already sealed',
                 'a count with sealed values cannot become an average: 2BP01');
SELECT is(pg_temp.state(), :'before', 'and neither the definition nor a sealed value changes');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('rt_posts', 'percentage', numerator => 'rt_total', denominator => 'rt_total', replace => true)$$,
                 '2BP01', NULL, 'nor a percentage');
SELECT is(pg_temp.state(), :'before', 'and nothing is written');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('rt_posts', 'breakdown', source_table => 'posts', source_schema => 'regress_src', value_column => 'status', replace => true)$$,
                 '2BP01', NULL, 'nor a breakdown');
SELECT is(pg_temp.state(), :'before', 'and nothing is written');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('rt_length', 'created', source_table => 'posts', source_schema => 'regress_src', replace => true)$$,
                 '2BP01', 'cannot change metric "rt_length" from average to count values: 2 values are already sealed',
                 'an average with sealed values cannot become a count');
SELECT is(pg_temp.state(), :'before', 'and nothing is written');

-- With replace, the same metric_type: allowed; the sealed values stay as they were.
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rt_posts', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'status = ''published''', replace => true)$$,
                'a count with sealed values can be redefined as another count');
SELECT is((SELECT kind || ' ' || metric_type || ' ' || "filter" FROM metrics.metric_definitions WHERE metric_category = 'rt_posts'),
          'created count (status = ''published''::text)', 'the definition is the new one');
SELECT is(pg_temp.sealed(), :'sealed_before', 'every sealed row is as it was');

-- No sealed values: the change of type is allowed.
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rt_fresh', 'created', source_table => 'posts', source_schema => 'regress_src')$$, 'define a count, never collected');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('rt_fresh', 'average', source_table => 'posts', source_schema => 'regress_src', value_column => 'length', replace => true)$$,
                'without sealed values it can become an average');
SELECT is((SELECT kind || ' ' || metric_type || ' ' || value_column FROM metrics.metric_definitions WHERE metric_category = 'rt_fresh'),
          'average average length', 'the definition is the average');
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-06-03')$$, 'collect a day');
SELECT results_eq($$SELECT metric_type, value, (metadata ->> 'sample_size')::bigint FROM metrics.daily_metrics WHERE metric_category = 'rt_fresh'$$,
                  $$SELECT 'average'::text, avg(length), count(length) FROM regress_src.posts
                    WHERE created_at >= '2025-06-03 00:00+00' AND created_at < '2025-06-04 00:00+00'$$,
                  'what is sealed is the average of the day''s posts');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('rt_fresh', 'created', source_table => 'posts', source_schema => 'regress_src', replace => true)$$,
                 '2BP01', 'cannot change metric "rt_fresh" from average to count values: 1 values are already sealed',
                 'and once sealed, it cannot change back');
-- An inactive metric's sealed values count too.
SELECT ok(metrics.deactivate_metric('rt_length'), 'deactivate the average');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('rt_length', 'distinct', source_table => 'posts', source_schema => 'regress_src', value_column => 'user_id', replace => true)$$,
                 '2BP01', NULL, 'an inactive metric''s sealed values still forbid a change of type');

SELECT * FROM finish();
ROLLBACK;
