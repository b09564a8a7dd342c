-- bench/backfill/lower_bound.sql: step (c) of the benchmark, the lower bound for the backfill.
--
-- The least work that yields the five core series for every day of a range: ONE pass over each
-- source table, GROUP BY created_at::date, then a running sum (window function) for the totals.
-- Rows before the range are folded into a single group on the day before the range, which
-- seeds the running sums; days without rows count 0. Nothing is written: it only computes.
-- Days are the session's TimeZone days (the benchmark sets TimeZone = 'UTC' everywhere, the
-- extension's default metrics.timezone).
--
--   psql -X -v schema=bench_src -f bench/backfill/lower_bound.sql    (schema defaults to bench_src)
--   SELECT * FROM bench.lower_bound('2025-01-01', '2025-12-31');
--     -> (metric_date, metric_category, value), 5 rows per day

\set ON_ERROR_STOP on
\if :{?schema}
\else
\set schema bench_src
\endif
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS bench;
DROP FUNCTION IF EXISTS bench.lower_bound(date, date);

-- Built with format() so that the source tables are schema-qualified in the body: with no SET
-- clause the function is inlined into the calling query, where the dates become constants,
-- exactly as if the statement had been written out by hand.
-- The three per-day counts are stacked (UNION ALL) and pivoted rather than joined to each
-- other: the planner has no statistics on created_at::date, and three outer joins of
-- unknown-size sets multiply into an estimate of 10^11 rows, which makes it spend far more time
-- compiling the query (JIT) than running it.
SELECT format($create$
CREATE FUNCTION bench.lower_bound(start_date date, end_date date)
RETURNS TABLE (metric_date date, metric_category text, value numeric)
LANGUAGE sql STABLE
AS $body$
WITH per_day AS (
    -- one pass per table; rows before the range fall into one group on the day before it
    SELECT greatest(created_at::date, start_date - 1) AS day, 1 AS source, count(*) AS n
    FROM %1$I.profiles
    WHERE created_at < (end_date + 1)::timestamptz
    GROUP BY 1
    UNION ALL
    SELECT greatest(created_at::date, start_date - 1), 2, count(*)
    FROM %1$I.posts
    WHERE created_at < (end_date + 1)::timestamptz
    GROUP BY 1
    UNION ALL
    SELECT greatest(created_at::date, start_date - 1), 3, count(*)
    FROM %1$I.comments
    WHERE created_at < (end_date + 1)::timestamptz
    GROUP BY 1
), days AS (
    SELECT g::date AS day
    FROM generate_series((start_date - 1)::timestamp, end_date::timestamp, interval '1 day') AS g
), series AS (
    SELECT days.day,
           sum(coalesce(sum(p.n) FILTER (WHERE p.source = 1), 0)) OVER w AS users_total,
           sum(coalesce(sum(p.n) FILTER (WHERE p.source = 2), 0)) OVER w AS posts_total,
           sum(coalesce(sum(p.n) FILTER (WHERE p.source = 3), 0)) OVER w AS comments_total,
           coalesce(sum(p.n) FILTER (WHERE p.source = 2), 0) AS posts_created,
           coalesce(sum(p.n) FILTER (WHERE p.source = 3), 0) AS comments_created
    FROM days LEFT JOIN per_day AS p ON p.day = days.day
    GROUP BY days.day
    WINDOW w AS (ORDER BY days.day)
)
SELECT s.day, v.category, v.value
FROM series AS s
CROSS JOIN LATERAL (VALUES
    ('users_total', s.users_total),
    ('posts_total', s.posts_total),
    ('comments_total', s.comments_total),
    ('posts_created', s.posts_created),
    ('comments_created', s.comments_created)
) AS v(category, value)
WHERE s.day >= start_date
$body$
$create$, :'schema') \gexec

COMMENT ON FUNCTION bench.lower_bound(date, date) IS
    'Benchmark lower bound written for bench/: one GROUP BY created_at::date pass per table plus running sums.';

