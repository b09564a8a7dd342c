-- bench/backfill/harness.sql: timing and correctness helpers used by bench/backfill/run (schema bench).
--
-- bench.time_ms(statement)   runs a statement (its rows are discarded) and returns how long it
--                            took by the server's clock, in ms: no client round trip, no parse
--                            of the psql command, no COMMIT/ROLLBACK inside the measure.
-- bench.loaded_library_inode() which metrics.so file this backend has loaded.
-- bench.check_results(s, e)  compares the five core series of (a) bench.daily_metrics_baseline,
--                            (b) metrics.daily_metrics and (c) bench.lower_bound(s, e), value by
--                            value, over [s, e].

\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;

CREATE OR REPLACE FUNCTION bench.time_ms(statement text)
RETURNS double precision
LANGUAGE plpgsql
AS $$
DECLARE
    t0 timestamptz;
BEGIN
    t0 := clock_timestamp();
    EXECUTE statement;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;

CREATE OR REPLACE FUNCTION bench.check_results(start_date date, end_date date)
RETURNS TABLE (expected bigint, rows_a bigint, rows_b bigint, rows_c bigint, mismatches bigint, examples text)
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY
    WITH categories(category) AS (
        VALUES ('users_total'), ('posts_total'), ('comments_total'), ('posts_created'), ('comments_created')
    ), a AS (
        SELECT x.metric_date, x.metric_category, x.value
        FROM bench.daily_metrics_baseline AS x
        WHERE x.metric_type = 'count' AND x.metric_date BETWEEN start_date AND end_date
          AND x.metric_category IN (SELECT category FROM categories)
    ), b AS (
        SELECT x.metric_date, x.metric_category, x.value
        FROM metrics.daily_metrics AS x
        WHERE x.metric_type = 'count' AND x.metric_date BETWEEN start_date AND end_date
          AND x.metric_category IN (SELECT category FROM categories)
    ), c AS (
        SELECT x.metric_date, x.metric_category, x.value
        FROM bench.lower_bound(start_date, end_date) AS x
    ), joined AS (
        SELECT coalesce(a.metric_date, b.metric_date, c.metric_date) AS metric_date,
               coalesce(a.metric_category, b.metric_category, c.metric_category) AS metric_category,
               a.value AS va, b.value AS vb, c.value AS vc
        FROM a
        FULL JOIN b ON b.metric_date = a.metric_date AND b.metric_category = a.metric_category
        FULL JOIN c ON c.metric_date = coalesce(a.metric_date, b.metric_date)
                   AND c.metric_category = coalesce(a.metric_category, b.metric_category)
    ), bad AS (
        SELECT j.*
        FROM joined AS j
        WHERE j.va IS NULL OR j.vb IS NULL OR j.vc IS NULL OR j.va <> j.vb OR j.vb <> j.vc
    )
    SELECT (end_date - start_date + 1)::bigint * 5,
           (SELECT count(*) FROM a), (SELECT count(*) FROM b), (SELECT count(*) FROM c),
           (SELECT count(*) FROM bad),
           (SELECT string_agg(format('%s %s: a=%s b=%s c=%s', x.metric_date, x.metric_category,
                                     coalesce(x.va::text, 'missing'), coalesce(x.vb::text, 'missing'),
                                     coalesce(x.vc::text, 'missing')), '; ')
            FROM (SELECT * FROM bad ORDER BY 1, 2 LIMIT 5) AS x);
END
$$;

-- The inode of the metrics.so this backend has mapped, from /proc/self/maps (NULL if it is not
-- loaded or cannot be read). bench/backfill/run compares it with the file it installed: other people
-- install builds into the same system directory, and a run must time its own build.
CREATE OR REPLACE FUNCTION bench.loaded_library_inode()
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (regexp_match(pg_read_file('/proc/self/maps'), '(\d+) +/\S*/metrics\.so'))[1];
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;
