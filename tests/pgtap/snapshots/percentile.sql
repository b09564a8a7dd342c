-- The percentile kind: each day's value is exactly percentile_cont(p) over the day's source
-- rows (NULL values ignored, 0 for a day without values), and a week's or a month's is
-- exactly percentile_cont(p) over the source rows of the whole period (the union of the
-- days' kept values, never a percentile of percentiles), checked against percentile_cont
-- computed here over the source rows, to the last bit of the double. A day with more values
-- than it keeps is sealed exactly and its periods have no value; a day with NaN is not
-- sealed; the arguments are checked.
BEGIN;
SELECT plan(29);
\ir ../../fixtures/setup.sql

-- March 2025, Monday 3 to Sunday 30 in four ISO weeks: a varying number of values a day,
-- none on the 5th, only NULLs on the 6th; doubles that print with 15 to 17 digits.
CREATE TABLE regress_src.samples (at timestamptz, hours double precision, amount numeric, tier text);
INSERT INTO regress_src.samples
SELECT timestamptz '2025-03-01' + (d - 1) * interval '1 day' + (g * 617 % 86400) * interval '1 second',
       CASE WHEN d = 6 THEN NULL ELSE ((g * 7919 + d * 104729) % 100003) / 7.0 END,
       ((g * 31 + d) % 997) / 3.0,
       CASE WHEN g % 3 = 0 THEN 'prod' ELSE 'dev' END
FROM generate_series(1, 31) AS d, generate_series(1, 5 + (d * 13) % 40) AS g
WHERE d <> 5;

-- The oracle: percentile_cont over the source rows of [lo, hi].
CREATE FUNCTION pg_temp.oracle(p float8, col text, lo date, hi date, prod_only boolean DEFAULT false)
RETURNS float8 LANGUAGE sql AS $$
    SELECT percentile_cont(p) WITHIN GROUP (ORDER BY CASE col WHEN 'hours' THEN hours ELSE amount::float8 END)
    FROM regress_src.samples
    WHERE at >= lo::timestamptz AND at < (hi + 1)::timestamptz AND (NOT prod_only OR tier = 'prod')
$$;

-- The arguments.
SELECT throws_ok($$SELECT * FROM metrics.define_metric('p_missing', 'percentile', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', value_column => 'hours')$$,
                 '22004', 'percentile metrics need a percentile', 'a percentile needs its fraction');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('p_big', 'percentile', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', value_column => 'hours', percentile => 1.5)$$,
                 '22023', 'percentile must be between 0 and 1, not 1.5', 'a fraction above 1 is refused');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('p_nan', 'percentile', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', value_column => 'hours', percentile => 'NaN')$$,
                 '22023', NULL, 'a NaN fraction is refused');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('p_created', 'created', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', percentile => 0.5)$$,
                 '22023', 'percentile is not used by created metrics', 'other kinds refuse a percentile');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('p_text', 'percentile', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', value_column => 'tier', percentile => 0.5)$$,
                 '42804', NULL, 'a percentile of a text column is refused');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('p_nocol', 'percentile', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', percentile => 0.5)$$,
                 '22004', 'percentile metrics need value_column', 'a percentile needs its column');

SELECT results_eq($$SELECT metric_type, kind FROM metrics.define_metric('hours_p50', 'percentile', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', value_column => 'hours', percentile => 0.5)$$,
                  $$VALUES ('percentile', 'percentile')$$, 'hours_p50 is defined as a percentile');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('amount_p90', 'percentile', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', value_column => 'amount', percentile => 0.9, filter => 'tier = ''prod''')$$,
                'amount_p90: a numeric column, filtered');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('hours_max', 'percentile', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', value_column => 'hours', percentile => 1)$$,
                'hours_max: percentile 1');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('samples_created', 'created', source_table => 'samples', source_schema => 'regress_src', time_column => 'at')$$,
                'a created metric over the same source (one scan)');
SELECT is((SELECT percentile FROM metrics.metric_definitions WHERE metric_category = 'amount_p90'), 0.9::float8,
          'the fraction is stored');

-- A session that prints doubles with 15 digits must not round the sealed values.
SET LOCAL extra_float_digits = 0;
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-03-01', '2025-03-31')$$, 'backfill March');
RESET extra_float_digits;

SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_type = 'percentile'), 93::bigint,
          'every day of March is sealed for the three percentiles');
SELECT is((SELECT count(*) FROM metrics.daily_metrics AS m
           WHERE m.metric_category IN ('hours_p50', 'amount_p90', 'hours_max')
             AND m.value::float8 IS DISTINCT FROM coalesce(pg_temp.oracle(
                     CASE m.metric_category WHEN 'hours_p50' THEN 0.5 WHEN 'amount_p90' THEN 0.9 ELSE 1 END,
                     CASE m.metric_category WHEN 'amount_p90' THEN 'amount' ELSE 'hours' END,
                     m.metric_date, m.metric_date, m.metric_category = 'amount_p90'), 0)),
          0::bigint, 'each day''s value is exactly percentile_cont over its rows, to the last bit');
SELECT ok((SELECT bool_and(m.value::text = (pg_temp.oracle(0.5, 'hours', m.metric_date, m.metric_date))::text)
           FROM metrics.daily_metrics AS m WHERE m.metric_category = 'hours_p50' AND m.metric_date NOT IN ('2025-03-01', '2025-03-02', '2025-03-05', '2025-03-06', '2025-03-31')),
          'the sealed numeric reads as PostgreSQL prints the double (shortest exact text)');
SELECT results_eq($$SELECT metric_date, value, metadata->>'sample_size', metadata->>'values_kept' FROM metrics.daily_metrics
                    WHERE metric_category = 'hours_p50' AND metric_date IN ('2025-03-05', '2025-03-06', '2025-03-07') ORDER BY 1$$,
                  $$VALUES (date '2025-03-05', 0::numeric, '0', 'true'), (date '2025-03-06', 0::numeric, '0', 'true'),
                           (date '2025-03-07', (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FROM regress_src.samples
                                                WHERE at >= '2025-03-07' AND at < '2025-03-08')::text::numeric,
                            (SELECT count(*) FROM regress_src.samples WHERE at >= '2025-03-07' AND at < '2025-03-08')::text, 'true')$$,
                  'a day without rows, or with NULL values only, is 0 with sample size 0, as an average''s');
SELECT is((SELECT octet_length(distinct_sketch) FROM metrics.daily_metrics WHERE metric_category = 'hours_p50' AND metric_date = '2025-03-07'),
          (SELECT 1 + 8 * count(*) FROM regress_src.samples WHERE at >= '2025-03-07' AND at < '2025-03-08')::integer,
          'the day keeps its values: one tag byte and 8 bytes each');

-- Periods: exactly percentile_cont over the source rows of the whole week or month.
SELECT is((SELECT count(*) FROM metrics.fetch_metrics('2025-03-03', '2025-03-30', ARRAY['hours_p50', 'amount_p90', 'hours_max'], aggregation => 'weekly') AS f
           WHERE f.value::float8 IS DISTINCT FROM pg_temp.oracle(
                     CASE f.metric_category WHEN 'hours_p50' THEN 0.5 WHEN 'amount_p90' THEN 0.9 ELSE 1 END,
                     CASE f.metric_category WHEN 'amount_p90' THEN 'amount' ELSE 'hours' END,
                     f.period_start, f.period_end, f.metric_category = 'amount_p90')
              OR f.metadata->>'exact' <> 'true' OR f.metadata->>'aggregation' <> 'merged_values'),
          0::bigint, 'each week''s value is exactly percentile_cont over the week''s rows');
SELECT results_eq($$SELECT value::float8, (metadata->>'sample_size')::bigint, (metadata->>'percentile')::float8
                    FROM metrics.fetch_metrics('2025-03-01', '2025-03-31', ARRAY['amount_p90'], aggregation => 'monthly')$$,
                  $$SELECT pg_temp.oracle(0.9, 'amount', '2025-03-01', '2025-03-31', true),
                           (SELECT count(*) FROM regress_src.samples WHERE tier = 'prod' AND at >= '2025-03-01' AND at < '2025-04-01'), 0.9::float8$$,
                  'March''s p90 is exactly percentile_cont over March''s rows, with its sample size');
SELECT ok((SELECT value::float8 = pg_temp.oracle(0.5, 'hours', '2025-03-01', '2025-03-31')
                  AND value::float8 <> (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d.value::float8) FROM metrics.daily_metrics AS d
                                        WHERE d.metric_category = 'hours_p50' AND d.metric_date BETWEEN '2025-03-07' AND '2025-03-30')
           FROM metrics.fetch_metrics('2025-03-01', '2025-03-31', ARRAY['hours_p50'], aggregation => 'monthly')),
          'March''s median is the median of its values, not a median of the days'' medians');
SELECT results_eq($$SELECT value::float8 FROM metrics.fetch_metrics('2025-03-03', '2025-03-09', ARRAY['hours_max'], aggregation => 'weekly')$$,
                  $$SELECT max(hours) FROM regress_src.samples WHERE at >= '2025-03-03' AND at < '2025-03-10'$$,
                  'percentile 1 of a week is its largest value');

-- More values than a day keeps: the day is exact, its periods have no value.
INSERT INTO regress_src.samples
SELECT timestamptz '2025-04-08' + g * interval '8 seconds', g / 3.0, g, 'prod' FROM generate_series(1, 10001) AS g;
INSERT INTO regress_src.samples VALUES ('2025-04-09 10:00+00', 1.5, 1, 'prod');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-04-07', '2025-04-13')$$, 'backfill a week with a large day');
SELECT results_eq($$SELECT value::float8, metadata->>'values_kept', distinct_sketch IS NULL FROM metrics.daily_metrics
                    WHERE metric_category = 'hours_p50' AND metric_date = '2025-04-08'$$,
                  $$SELECT pg_temp.oracle(0.5, 'hours', '2025-04-08', '2025-04-08'), 'false', true$$,
                  'a day of 10,001 values is sealed exactly, without its values');
SELECT results_eq($$SELECT value, metadata->>'exact', metadata->'days_without_values', days_recorded
                    FROM metrics.fetch_metrics('2025-04-07', '2025-04-13', ARRAY['hours_p50'], aggregation => 'weekly')$$,
                  $$VALUES (NULL::numeric, 'false', '["2025-04-08"]'::jsonb, 7)$$,
                  'its week has no value, and says which day kept no values');

-- A day whose values include NaN is not sealed: its failure is logged with 22003.
INSERT INTO regress_src.samples VALUES ('2025-04-15 10:00+00', 'NaN', 1, 'dev'), ('2025-04-15 11:00+00', 2, 1, 'dev');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-04-14', '2025-04-16')$$, 'backfill a NaN day');
SELECT is((SELECT array_agg(metric_date ORDER BY metric_date) FROM metrics.daily_metrics WHERE metric_category = 'hours_p50' AND metric_date >= '2025-04-14'),
          ARRAY[date '2025-04-14', date '2025-04-16'], 'the NaN day is not sealed, the others are');
SELECT is((SELECT error_details->'failures'->'hours_p50'->>'sqlstate' FROM metrics.metric_collection_log
           WHERE run_type = 'backfill' AND collection_date = '2025-04-14'), '22003', 'its failure is 22003');

-- A new fraction is a new definition version, the old one kept; periods use the current.
SELECT lives_ok($$SELECT * FROM metrics.define_metric('hours_p50', 'percentile', source_table => 'samples', source_schema => 'regress_src', time_column => 'at', value_column => 'hours', percentile => 0.75, replace => true)$$,
                'redefine hours_p50 at 0.75');
SELECT results_eq($$SELECT definition_version, (previous_definitions->0->>'percentile')::float8 FROM metrics.metric_definitions WHERE metric_category = 'hours_p50'$$,
                  $$VALUES (2, 0.5::float8)$$, 'the version goes up and the previous fraction is kept');

SELECT * FROM finish();
ROLLBACK;
