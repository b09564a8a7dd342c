-- bench/readmodel/harness.sql: the cases of the read-model benchmark and their timing.
--
-- bench.time_ms(statement)        the server's time of one statement, in ms.
-- bench.case_sql(kind, slug, m)   the statement of a case for one project and metric.
-- bench.timings(kind, runs)       runs a case `runs` times over projects and metrics spread
--                                 evenly (after one untimed run), returns p50, p95, max.
-- The baselines compute the same answers on the fly from the sealed values
-- (metrics.daily_metrics), as a dashboard without a read model would.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE FUNCTION bench.time_ms(statement text) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE statement;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;

CREATE FUNCTION bench.case_sql(kind text, slug text, category text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind
        WHEN 'trend' THEN format($q$SELECT metrics.get_trend(%L, %L, 'day', now() - interval '365 days', now())$q$, slug, category)
        WHEN 'trend_stored' THEN format($q$SELECT metrics.get_trend(%L, %L, 'day', current_date - interval '365 days', current_date::timestamptz)$q$, slug, category)
        WHEN 'trend_hour' THEN format($q$SELECT metrics.get_trend(%L, 'requests', 'hour')$q$, slug)
        WHEN 'trend_sql' THEN format($q$
            SELECT json_build_object('metric_key', %2$L, 'points', json_agg(json_build_object(
                       'time_bucket', d.metric_date, 'value', d.value, 'metadata', d.metadata) ORDER BY d.metric_date))
            FROM metrics.daily_metrics AS d
            WHERE d.project_id = (SELECT id FROM metrics.projects WHERE slug = %1$L) AND d.metric_category = %2$L
              AND d.metric_date BETWEEN current_date - 365 AND current_date - 1$q$, slug, category)
        WHEN 'trend_fetch' THEN format($q$SELECT count(*) FROM metrics.fetch_metrics(current_date - 365, current_date - 1,
                                          ARRAY[%2$L], project => %1$L)$q$, slug, category)
        WHEN 'summary' THEN format($q$SELECT metrics.get_summary(%L)$q$, slug)
        WHEN 'summary_sql' THEN format($q$
            SELECT json_agg(json_build_object('metric_key', metric_category, 'value', v, 'previous_value', pv, 'change', v - pv))
            FROM (SELECT metric_category, sum(value) FILTER (WHERE metric_date >= current_date - 7) AS v,
                         sum(value) FILTER (WHERE metric_date < current_date - 7) AS pv
                  FROM metrics.daily_metrics
                  WHERE project_id = (SELECT id FROM metrics.projects WHERE slug = %L)
                    AND metric_date BETWEEN current_date - 14 AND current_date - 1
                  GROUP BY metric_category) AS s$q$, slug)
        WHEN 'summary_fetch' THEN format($q$SELECT count(*) FROM metrics.fetch_metrics(current_date - 14, current_date - 1,
                                            project => %L)$q$, slug)
    END
$$;

CREATE FUNCTION bench.timings(kind text, runs int)
RETURNS TABLE (p50 double precision, p95 double precision, max double precision, n int)
LANGUAGE plpgsql AS $$
DECLARE
    projects int := (SELECT count(*) FROM bench.projects);
    metrics int := (SELECT count(*) FROM bench.metric_names);
    times double precision[] := '{}';
    s text;
    c text;
BEGIN
    PERFORM bench.time_ms(bench.case_sql(kind, 'p0001', 'm01'));
    FOR i IN 1..runs LOOP
        SELECT p.slug INTO s FROM bench.projects AS p WHERE p.n = 1 + (i * 7919) % projects;
        SELECT m.category INTO c FROM bench.metric_names AS m WHERE m.m = 1 + (i * 31) % metrics;
        times := times || bench.time_ms(bench.case_sql(kind, s, c));
    END LOOP;
    RETURN QUERY SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t), percentile_cont(0.95) WITHIN GROUP (ORDER BY t),
                        max(t), runs FROM unnest(times) AS t;
END
$$;
