-- Daylight-saving days at scale, in zones other than UTC: a year of generated rows (one every
-- 97 seconds, a few users, numeric amounts, a text kind, NULLs in every value column) is
-- backfilled under metrics.timezone = America/New_York and then, from scratch, under
-- Australia/Sydney (the southern hemisphere: its clocks go back in April and forward in
-- October). Every daily value and its metadata, for created, total, distinct, average,
-- breakdown and percentage metrics, is compared with plain SQL grouping the rows on
-- (at AT TIME ZONE zone)::date; the 23-hour and the 25-hour day of each zone are asserted on
-- their own; and weekly and monthly roll-ups of created, total, average and percentage
-- metrics are compared with the source rows of each period. (Weekly and monthly values of
-- distinct and breakdown metrics are left out on purpose: their period semantics are
-- being changed.) The per-zone checks are tests/fixtures/dst_zone_checks.sql.
BEGIN;
SELECT plan(61);
\ir ../../fixtures/setup.sql
-- A session zone that is neither metrics zone (and has a half-hour offset): day boundaries
-- must come from metrics.timezone alone. Every literal below carries its offset.
SET LOCAL TimeZone = 'Asia/Kolkata';

CREATE TABLE regress_src.dst_events (id bigint, user_id int, at timestamptz NOT NULL, amount numeric, kind text);
INSERT INTO regress_src.dst_events (id, user_id, at, amount, kind)
SELECT g.id,
       CASE WHEN g.id % 13 = 0 THEN NULL ELSE ((g.id / 3) % 500)::int END,  -- three rows per user in a row
       g.at,
       CASE WHEN g.id % 11 = 0 THEN NULL ELSE ((g.id * 7919) % 10000) / 100.0 END,
       CASE WHEN g.id % 19 = 0 THEN NULL ELSE 'k' || ((g.id * 31) % 17) END
FROM generate_series(timestamptz '2024-12-25 00:00:00+00', timestamptz '2026-01-05 00:00:00+00', interval '97 seconds')
     WITH ORDINALITY AS g(at, id);
-- Rows on the first and last instants of each zone's daylight-saving days, and on the
-- instants just outside them.
INSERT INTO regress_src.dst_events (id, user_id, at, amount, kind)
SELECT 1000000 + row_number() OVER (), 7, b.at + s.shift, 42.5, 'edge'
FROM (SELECT (d::date::timestamp AT TIME ZONE z) AS at
      FROM (VALUES ('America/New_York', date '2025-03-09'), ('America/New_York', date '2025-03-10'),
                   ('America/New_York', date '2025-11-02'), ('America/New_York', date '2025-11-03'),
                   ('Australia/Sydney', date '2025-04-06'), ('Australia/Sydney', date '2025-04-07'),
                   ('Australia/Sydney', date '2025-10-05'), ('Australia/Sydney', date '2025-10-06')) AS v(z, d)) AS b,
     (VALUES (interval '0'), (interval '-1 microsecond')) AS s(shift);
SELECT cmp_ok((SELECT count(*) FROM regress_src.dst_events), '>', 300000::bigint, 'a few hundred thousand source rows');

-- Each zone gets its own seven metrics (created, total, distinct, average, breakdown, a
-- filtered created and a percentage), named <p>_<metric>; they are deactivated after its
-- checks, so the next zone's backfill seals only its own. The oracles name the metrics
-- without the prefix.

-- The oracle of every day of 2025 in a zone: the source rows grouped by their local date.
CREATE FUNCTION pg_temp.dst_daily(zone text)
RETURNS TABLE (metric_date date, metric_category text, value numeric, metadata jsonb)
LANGUAGE sql STABLE AS $$
WITH ev AS (
    SELECT (e.at AT TIME ZONE zone)::date AS day, e.user_id, e.amount, e.kind FROM regress_src.dst_events AS e
), per_day AS (
    SELECT day, count(*) AS n, count(*) FILTER (WHERE amount >= 50) AS paid, count(DISTINCT user_id) AS users,
           avg(amount) AS mean, stddev_pop(amount) AS sd, count(amount) AS samples
    FROM ev GROUP BY day
), running AS (
    SELECT day, sum(n) OVER (ORDER BY day) AS total FROM per_day
), kinds AS (
    SELECT day, kind, count(*) AS n, row_number() OVER (PARTITION BY day ORDER BY count(*) DESC, kind) AS rank
    FROM ev WHERE kind IS NOT NULL GROUP BY day, kind
), kinds_per_day AS (
    SELECT day, count(*) AS groups, sum(n) AS rows, jsonb_object_agg(kind, n) AS breakdown,
           jsonb_agg(jsonb_build_object('key', kind, 'value', n) ORDER BY rank) FILTER (WHERE rank <= 3) AS top_items
    FROM kinds GROUP BY day
), days AS (
    SELECT d::date AS day FROM generate_series(timestamp '2025-01-01', timestamp '2025-12-31', interval '1 day') AS d
)
SELECT d.day, c.category, c.value, c.metadata
FROM days AS d
LEFT JOIN per_day AS p ON p.day = d.day
LEFT JOIN kinds_per_day AS k ON k.day = d.day
CROSS JOIN LATERAL (VALUES
    ('created', coalesce(p.n, 0)::numeric, '{}'::jsonb),
    ('total', (SELECT r.total FROM running AS r WHERE r.day <= d.day ORDER BY r.day DESC LIMIT 1), '{}'),
    ('users', coalesce(p.users, 0), '{}'),
    ('amount', coalesce(p.mean, 0), jsonb_build_object('sample_size', coalesce(p.samples, 0), 'std_deviation', coalesce(p.sd, 0))),
    ('kinds', coalesce(k.groups, 0), jsonb_build_object('breakdown', coalesce(k.breakdown, '{}'), 'top_items', coalesce(k.top_items, '[]'),
                                                            'rows', coalesce(k.rows, 0), 'truncated', false)),
    ('paid', coalesce(p.paid, 0), '{}'),
    ('paid_rate', CASE WHEN coalesce(p.n, 0) = 0 THEN 0 ELSE round(p.paid::numeric * 100 / p.n, 4) END,
                      jsonb_build_object('numerator', coalesce(p.paid, 0), 'denominator', coalesce(p.n, 0)))
) AS c(category, value, metadata)
$$;

-- The oracle of weeks ('week') or months ('month') of 2025 in a zone, clipped to the year,
-- for the created, total, average and percentage metrics: straight from the rows of each
-- period (a total: the rows before the end of the period's last local day).
CREATE FUNCTION pg_temp.dst_periods(zone text, grain text)
RETURNS TABLE (period_start date, period_end date, metric_category text, value numeric, sample_size bigint,
               std_deviation numeric, numerator bigint, denominator bigint)
LANGUAGE sql STABLE AS $$
WITH periods AS (
    SELECT greatest(date_trunc(grain, d)::date, date '2025-01-01') AS ps,
           least((date_trunc(grain, d) + CASE grain WHEN 'week' THEN interval '6 days' ELSE interval '1 month - 1 day' END)::date,
                 date '2025-12-31') AS pe
    FROM generate_series(timestamp '2025-01-01', timestamp '2025-12-31', interval '1 day') AS d
    GROUP BY 1, 2
), ev AS (
    SELECT greatest(date_trunc(grain, (e.at AT TIME ZONE zone)::date)::date, date '2025-01-01') AS ps, e.amount
    FROM regress_src.dst_events AS e
    WHERE (e.at AT TIME ZONE zone)::date BETWEEN date '2025-01-01' AND date '2025-12-31'
), per_period AS (
    SELECT p.ps, p.pe, count(ev.ps) AS n, count(ev.ps) FILTER (WHERE ev.amount >= 50) AS paid,
           avg(ev.amount) AS mean, stddev_pop(ev.amount) AS sd, count(ev.amount) AS samples
    FROM periods AS p LEFT JOIN ev ON ev.ps = p.ps
    GROUP BY p.ps, p.pe
)
SELECT ps, pe, 'created', n::numeric, NULL::bigint, NULL::numeric, NULL::bigint, NULL::bigint FROM per_period
UNION ALL
SELECT ps, pe, 'total', (SELECT count(*) FROM regress_src.dst_events AS e WHERE e.at < (pe + 1)::timestamp AT TIME ZONE zone),
       NULL, NULL, NULL, NULL FROM per_period
UNION ALL
SELECT ps, pe, 'amount', coalesce(mean, 0), samples, coalesce(sd, 0), NULL, NULL FROM per_period
UNION ALL
SELECT ps, pe, 'paid_rate', CASE WHEN n = 0 THEN 0 ELSE paid::numeric * 100 / n END, NULL, NULL, paid, n FROM per_period
$$;

\set zone America/New_York
\set p ny
\set short_day 2025-03-09
\set long_day 2025-11-02
\ir ../../fixtures/dst_zone_checks.sql

\set zone Australia/Sydney
\set p syd
\set short_day 2025-10-05
\set long_day 2025-04-06
\ir ../../fixtures/dst_zone_checks.sql

SELECT * FROM finish();
ROLLBACK;
