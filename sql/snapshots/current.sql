-- metrics: current_metrics(), the read function written in SQL. STABLE and SECURITY INVOKER: they read what the
-- caller may read (the read level may read daily_metrics and metric_definitions).

-- The latest sealed value of every metric, one row per category: the whole database's, or
-- with a project (slug or id, resolved as the caller by metrics.project_id: 42704 for a
-- project unknown or not the caller's) the project's, of its per-project metrics.
CREATE FUNCTION metrics.current_metrics(project text DEFAULT NULL)
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
    WITH scope AS (
        SELECT CASE WHEN current_metrics.project IS NOT NULL
                    THEN metrics.project_id(current_metrics.project) END AS id
    )
    SELECT d.metric_category, d.metric_type, d.display_name, d.unit,
           m.metric_date, m.value, m.metadata, d.is_active
    FROM scope
    CROSS JOIN metrics.metric_definitions AS d
    CROSS JOIN LATERAL (
        SELECT dm.metric_date, dm.value, dm.metadata
        FROM metrics.daily_metrics AS dm
        WHERE dm.metric_category = d.metric_category
          AND CASE WHEN scope.id IS NULL THEN dm.project_id IS NULL ELSE dm.project_id = scope.id END
        ORDER BY dm.metric_date DESC
        LIMIT 1
    ) AS m
    WHERE scope.id IS NULL OR d.project_column IS NOT NULL
    ORDER BY d.metric_category
$$;
COMMENT ON FUNCTION metrics.current_metrics(text) IS
    'The latest sealed value of every metric: the whole database''s, or a project''s (its per-project metrics).';
