-- metrics.sparkline: the last days of a metric as one line of text. Each character is checked
-- against the heights computed here, in SQL, from an independent count over the source rows
-- (not from daily_metrics): one character per closed day, the day that was never collected a
-- gap; per project, as its members see it; and the argument errors.
BEGIN;
SELECT plan(26);
\ir ../../fixtures/setup.sql

SELECT lives_ok($$SELECT metrics.create_project('acme', 'Acme')$$, 'create project acme');
SELECT lives_ok($$SELECT metrics.create_project('globex', 'Globex')$$, 'create project globex');

-- Signups of the last 40 closed days: day k (0 = the last closed day) has (k * 7) % 11 of acme's
-- and k % 3 of globex's, so the heights vary and one day has none at all.
CREATE TABLE regress_src.signups (id bigserial PRIMARY KEY, org text, created_at timestamptz NOT NULL);
INSERT INTO regress_src.signups (org, created_at)
SELECT org, (metrics.last_closed_day() - k)::timestamp AT TIME ZONE 'UTC' + i * interval '37 minutes'
FROM generate_series(0, 39) AS k,
     LATERAL (SELECT 'acme' AS org, generate_series(1, (k * 7) % 11) AS i
              UNION ALL SELECT 'globex', generate_series(1, k % 3)) AS r;
SELECT lives_ok($$
    SELECT metrics.define_metric('signups', 'created', source_table => 'signups', source_schema => 'regress_src');
    SELECT metrics.define_metric('org_signups', 'created', source_table => 'signups', source_schema => 'regress_src', project_column => 'org');
$$, 'define signups (whole database) and org_signups (per project)');
-- Seal the 40 days but day 12 (counted back from the last closed day): it stays a gap.
SELECT lives_ok($$
    SELECT metrics.backfill_daily_metrics(metrics.last_closed_day() - 39, metrics.last_closed_day() - 13);
    SELECT metrics.backfill_daily_metrics(metrics.last_closed_day() - 11, metrics.last_closed_day());
$$, 'seal the last 40 closed days but one');

-- The expected line, from the source rows: per day its count (NULL on the day never sealed),
-- the height round((v - min) / (max - min) * 7) over the days shown, a middle dot for a gap.
CREATE FUNCTION pg_temp.expected_line(days int, org text) RETURNS text LANGUAGE sql AS $$
    WITH d AS (
        SELECT k, CASE WHEN k <> 12 THEN (SELECT count(*) FROM regress_src.signups AS s
                                          WHERE ($2 IS NULL OR s.org = $2)
                                            AND s.created_at >= (metrics.last_closed_day() - k)::timestamp AT TIME ZONE 'UTC'
                                            AND s.created_at < (metrics.last_closed_day() - k + 1)::timestamp AT TIME ZONE 'UTC') END AS v
        FROM generate_series(0, days - 1) AS k
    ), r AS (SELECT min(v) AS lo, max(v) AS hi FROM d)
    SELECT string_agg(CASE WHEN v IS NULL THEN '·'
                           WHEN hi = lo THEN CASE WHEN hi = 0 THEN '▁' ELSE '▄' END
                           ELSE (ARRAY['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'])[1 + round((v - lo)::numeric / (hi - lo) * 7)::int] END,
                      '' ORDER BY k DESC)
    FROM d, r
$$;
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = 'signups'), 39::bigint,
          'thirty-nine days are sealed (the comparisons below are not over an empty table)');

SELECT is(metrics.sparkline('signups'), pg_temp.expected_line(30, NULL),
          'the last 30 days by default, each height from the source''s count, the unsealed day a gap');
SELECT is(char_length(metrics.sparkline('signups')), 30, 'one character per day');
SELECT is(metrics.sparkline('signups', 40), pg_temp.expected_line(40, NULL), 'forty days');
SELECT is(metrics.sparkline('signups', 12), pg_temp.expected_line(12, NULL), 'twelve days: the gap is just outside');
SELECT is(strpos(metrics.sparkline('signups', 13), '·'), 1, 'thirteen days: the gap is the first character (the oldest day)');
SELECT is(metrics.sparkline('signups', 1), '▁', 'one day without a signup (the last closed day) is the lowest height');
SELECT is(metrics.sparkline('signups', 50), repeat('·', 10) || pg_temp.expected_line(40, NULL),
          'days before the first sealed one are gaps, never zeros');
SELECT is(metrics.sparkline('signups', 30, NULL), metrics.sparkline('signups'), 'project NULL is the whole database');

-- Per project: the project's own sealed values, as the members see them.
SELECT is(metrics.sparkline('org_signups', 30, 'acme'), pg_temp.expected_line(30, 'acme'), 'acme''s line, counted over acme''s rows');
SELECT is(metrics.sparkline('org_signups', 30, 'globex'), pg_temp.expected_line(30, 'globex'), 'globex''s line');
SELECT isnt(metrics.sparkline('org_signups', 30, 'acme'), metrics.sparkline('org_signups', 30, 'globex'), 'which differ');
SELECT is(pg_temp.as_caller('authenticated', '{"role": "authenticated", "app_metadata": {"projects": ["acme"]}}',
                            $q$SELECT metrics.sparkline('org_signups', 30, 'acme')$q$),
          pg_temp.expected_line(30, 'acme'), 'a member of acme draws acme''s line');
SELECT is(pg_temp.as_caller('authenticated', '{"role": "authenticated", "app_metadata": {"projects": ["acme"]}}',
                            $q$SELECT metrics.sparkline('org_signups', 30, 'globex')$q$),
          '42704: project "globex" does not exist', 'and globex does not exist for them');
SELECT is(pg_temp.as_caller('anon', NULL, $q$SELECT metrics.sparkline('signups', 30)$q$),
          pg_temp.expected_line(30, NULL), 'anon draws the whole database''s line (the read level)');

-- Bad arguments: an error with its SQLSTATE, never an empty line.
SELECT pg_temp.fails_with($$SELECT metrics.sparkline(NULL)$$, '22004', 'NULL metric');
SELECT pg_temp.fails_with($$SELECT metrics.sparkline('signups', NULL)$$, '22004', 'NULL days');
SELECT pg_temp.fails_with($$SELECT metrics.sparkline('signups', 0)$$, '22023', 'zero days');
SELECT pg_temp.fails_with($$SELECT metrics.sparkline('signups', 400)$$, '22023', 'more days than metrics.max_query_days');
SELECT pg_temp.fails_with($$SELECT metrics.sparkline('signup')$$, '42704', 'a misspelt metric is an unknown metric');
SELECT pg_temp.fails_with($$SELECT metrics.sparkline('signups', 30, 'acme')$$, '22023', 'a whole-database metric has no line per project');
SELECT pg_temp.fails_with($$SELECT metrics.sparkline('org_signups', 30, 'initech')$$, '42704', 'an unknown project');

SELECT * FROM finish();
ROLLBACK;
