-- A breakdown over more groups than it keeps: metadata.breakdown holds at most 1,000 groups
-- of a day (the largest), metadata.truncated says that some were left out, and the value,
-- rows and top_items still describe every group of the day. Three days: 1,250 groups, exactly
-- 1,000, and 1,001. The counts are chosen so that the 1,000th and 1,001st largest groups
-- differ (checked below), so which groups are kept does not depend on how ties are broken.
BEGIN;
SELECT plan(11);
\ir ../../fixtures/setup.sql

CREATE TABLE regress_src.bc_events (created_at timestamptz NOT NULL, tag text);
-- (day, group number, rows of the group)
CREATE TEMP TABLE bc_groups (day date, g int, n int);
INSERT INTO bc_groups
SELECT date '2025-06-10', g, CASE WHEN g <= 5 THEN 110 - 10 * g WHEN g <= 1000 THEN 2 + g % 3 ELSE 1 END
FROM generate_series(1, 1250) AS g
UNION ALL
SELECT date '2025-06-11', g, CASE WHEN g <= 5 THEN 10 - g ELSE 1 END FROM generate_series(1, 1000) AS g
UNION ALL
SELECT date '2025-06-12', g, CASE WHEN g = 1 THEN 3 WHEN g <= 1000 THEN 2 ELSE 1 END FROM generate_series(1, 1001) AS g;
-- Groups named in an order unrelated to their size, spread over the day (the last second
-- included), and rows without a tag, which are no group.
INSERT INTO regress_src.bc_events
SELECT b.day::timestamp AT TIME ZONE 'UTC' + ((b.g * 7919 + r * 104729) % 86400) * interval '1 second' + interval '0.5 second',
       'tag-' || lpad(((b.g * 389) % 1999)::text, 4, '0')
FROM bc_groups AS b, generate_series(1, b.n) AS r;
INSERT INTO regress_src.bc_events
SELECT d::timestamp AT TIME ZONE 'UTC' + i * interval '1 hour', NULL
FROM (VALUES (date '2025-06-10'), (date '2025-06-11'), (date '2025-06-12')) AS v(d), generate_series(0, 23) AS i;
-- Rows just outside the days, which belong to no sealed day.
INSERT INTO regress_src.bc_events VALUES ('2025-06-09 23:59:59.999999+00', 'tag-outside'), ('2025-06-13 00:00:00+00', 'tag-outside');

SELECT lives_ok($$SELECT * FROM metrics.define_metric('bc_tags', 'breakdown', source_table => 'bc_events', source_schema => 'regress_src', value_column => 'tag')$$,
                'define a breakdown (top_n 5)');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-10', '2025-06-12')$$, 'backfill the three days');

-- The oracle: the day's groups from the rows, ranked by size.
CREATE TEMP TABLE bc_expected AS
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, tag, count(*) AS n,
       row_number() OVER (PARTITION BY (created_at AT TIME ZONE 'UTC')::date ORDER BY count(*) DESC, tag) AS rank
FROM regress_src.bc_events
WHERE tag IS NOT NULL AND created_at >= '2025-06-10 00:00+00' AND created_at < '2025-06-13 00:00+00'
GROUP BY 1, 2;
SELECT results_eq($$SELECT day, count(*), sum(n) FROM bc_expected GROUP BY day ORDER BY day$$,
                  $$VALUES (date '2025-06-10', 1250::bigint, 3634::numeric), (date '2025-06-11', 1000, 1030), (date '2025-06-12', 1001, 2002)$$,
                  'the data has 1,250, 1,000 and 1,001 groups (of 3,634, 1,030 and 2,002 rows)');
SELECT is_empty($$SELECT a.day FROM bc_expected AS a JOIN bc_expected AS b ON b.day = a.day AND b.rank = 1001 WHERE a.rank = 1000 AND a.n = b.n$$,
                'no tie between the 1,000th and the 1,001st largest group of a day');

SELECT results_eq(
    $$SELECT metric_date, value, (metadata ->> 'rows')::bigint, (metadata ->> 'truncated')::boolean FROM metrics.daily_metrics
      WHERE metric_category = 'bc_tags' ORDER BY 1$$,
    $$SELECT day, count(*)::numeric, sum(n)::bigint, count(*) > 1000 FROM bc_expected GROUP BY day ORDER BY day$$,
    'the value is the number of all groups, rows count the rows of all of them, truncated is set past 1,000 groups');
SELECT results_eq(
    $$SELECT metric_date, (SELECT count(*) FROM jsonb_object_keys(metadata -> 'breakdown')) FROM metrics.daily_metrics
      WHERE metric_category = 'bc_tags' ORDER BY 1$$,
    $$VALUES (date '2025-06-10', 1000::bigint), (date '2025-06-11', 1000), (date '2025-06-12', 1000)$$,
    'each day keeps 1,000 groups');
SELECT set_eq(
    $$SELECT m.metric_date, b.key, b.value::bigint FROM metrics.daily_metrics AS m, jsonb_each_text(m.metadata -> 'breakdown') AS b
      WHERE m.metric_category = 'bc_tags'$$,
    $$SELECT day, tag, n FROM bc_expected WHERE rank <= 1000$$,
    'the kept groups are the 1,000 largest of each day, with their counts');
SELECT is_empty(
    $$SELECT e.day, e.tag, e.n FROM bc_expected AS e JOIN metrics.daily_metrics AS m ON m.metric_date = e.day AND m.metric_category = 'bc_tags'
      WHERE e.rank > 1000 AND m.metadata -> 'breakdown' ? e.tag$$,
    'no group smaller than those is kept');
SELECT results_eq(
    $$SELECT metric_date, metadata -> 'top_items' FROM metrics.daily_metrics WHERE metric_category = 'bc_tags' ORDER BY 1$$,
    $$SELECT day, jsonb_agg(jsonb_build_object('key', tag, 'value', n) ORDER BY rank) FROM bc_expected WHERE rank <= 5 GROUP BY day ORDER BY day$$,
    'top_items are the five largest groups of each day, largest first');
SELECT is((SELECT value FROM metrics.daily_metrics WHERE metric_category = 'bc_tags' AND metric_date = '2025-06-10'), 1250::numeric,
          'the 1,250-group day reports 1,250 groups, not the 1,000 kept');
SELECT set_eq(
    $$SELECT period_start, value, metadata FROM metrics.fetch_metrics('2025-06-10', '2025-06-12', ARRAY['bc_tags'])$$,
    $$SELECT metric_date, value, metadata || jsonb_build_object('definition_version', definition_version) FROM metrics.daily_metrics WHERE metric_category = 'bc_tags'$$,
    'fetch_metrics returns the truncated days as sealed');

SELECT * FROM finish();
ROLLBACK;
