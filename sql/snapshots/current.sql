-- metrics: current_metrics(), the read function written in SQL. STABLE and SECURITY INVOKER: they read what the
-- caller may read (the read level may read daily_metrics and metric_definitions).

-- The latest sealed value of every metric, one row per category.
CREATE FUNCTION metrics.current_metrics()
RETURNS TABLE (
    metric_category text,
    metric_type     text,
    display_name    text,
    unit            text,
    metric_date     date,
    value           numeric,
    metadata        jsonb,
    is_active       boolean
)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT d.metric_category, d.metric_type, d.display_name, d.unit,
           m.metric_date, m.value, m.metadata, d.is_active
    FROM metrics.metric_definitions AS d
    CROSS JOIN LATERAL (
        SELECT dm.metric_date, dm.value, dm.metadata
        FROM metrics.daily_metrics AS dm
        WHERE dm.metric_category = d.metric_category
        ORDER BY dm.metric_date DESC
        LIMIT 1
    ) AS m
    ORDER BY d.metric_category
$$;
COMMENT ON FUNCTION metrics.current_metrics() IS 'The latest sealed value of every metric.';
