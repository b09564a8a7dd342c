-- Per-project metrics: every kind's value per project and day against an independent count
-- over the source, the whole-database row unchanged against an unscoped twin, rows of no
-- known project reported, a project created after days were sealed, corrections, the
-- definition checks, the reads with a project, and row-level security across projects.
BEGIN;
SELECT plan(61);
\ir ../../fixtures/setup.sql

SELECT lives_ok($$SELECT metrics.create_project('acme', 'Acme')$$, 'create project acme');
SELECT lives_ok($$SELECT metrics.create_project('globex', 'Globex')$$, 'create project globex');

-- Orders of three tenants: acme (by slug or by id), globex (by slug), initech (not a project
-- yet), and rows without a tenant; globex has no order on June 3rd.
CREATE TABLE regress_src.orders (
    id         bigint PRIMARY KEY,
    org        text,
    org_id     uuid,
    customer   bigint NOT NULL,
    amount     numeric NOT NULL,
    kind       text NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO regress_src.orders
SELECT g,
       CASE g % 6 WHEN 0 THEN 'acme' WHEN 1 THEN (SELECT id::text FROM metrics.projects WHERE slug = 'acme')
                  WHEN 2 THEN 'globex' WHEN 3 THEN NULL WHEN 4 THEN 'initech' ELSE 'acme' END,
       CASE WHEN g % 6 IN (0, 1, 5) THEN (SELECT id FROM metrics.projects WHERE slug = 'acme')
            WHEN g % 6 = 2 THEN (SELECT id FROM metrics.projects WHERE slug = 'globex') END,
       g % 11, (g * 13) % 97 + 1, (ARRAY['a', 'b', 'c'])[(g / 7) % 3 + 1],
       timestamptz '2025-05-28 00:00+00' + ((g * 37) % 216) * interval '1 hour' + (g % 60) * interval '1 minute'
FROM generate_series(1, 400) AS g;
DELETE FROM regress_src.orders WHERE org = 'globex' AND created_at >= '2025-06-03' AND created_at < '2025-06-04';

-- Per project (by its slug in text column org), an unscoped twin of each, one by a uuid column.
SELECT lives_ok($$
    SELECT metrics.define_metric('o_created', 'created', source_table => 'orders', source_schema => 'regress_src', project_column => 'org');
    SELECT metrics.define_metric('o_total', 'total', source_table => 'orders', source_schema => 'regress_src', project_column => 'org');
    SELECT metrics.define_metric('o_customers', 'distinct', source_table => 'orders', source_schema => 'regress_src', value_column => 'customer', project_column => 'org');
    SELECT metrics.define_metric('o_avg', 'average', source_table => 'orders', source_schema => 'regress_src', value_column => 'amount', project_column => 'org');
    SELECT metrics.define_metric('o_p90', 'percentile', source_table => 'orders', source_schema => 'regress_src', value_column => 'amount', percentile => 0.9, project_column => 'org');
    SELECT metrics.define_metric('o_kinds', 'breakdown', source_table => 'orders', source_schema => 'regress_src', value_column => 'kind', project_column => 'org');
    SELECT metrics.define_metric('o_big', 'created', source_table => 'orders', source_schema => 'regress_src', filter => 'amount > 50', project_column => 'org');
    SELECT metrics.define_metric('o_big_share', 'percentage', numerator => 'o_big', denominator => 'o_created');
    SELECT metrics.define_metric('u_created', 'created', source_table => 'orders', source_schema => 'regress_src', project_column => 'org_id');
    SELECT metrics.define_metric('w_created', 'created', source_table => 'orders', source_schema => 'regress_src');
    SELECT metrics.define_metric('w_total', 'total', source_table => 'orders', source_schema => 'regress_src');
    SELECT metrics.define_metric('w_customers', 'distinct', source_table => 'orders', source_schema => 'regress_src', value_column => 'customer');
    SELECT metrics.define_metric('w_avg', 'average', source_table => 'orders', source_schema => 'regress_src', value_column => 'amount');
    SELECT metrics.define_metric('w_p90', 'percentile', source_table => 'orders', source_schema => 'regress_src', value_column => 'amount', percentile => 0.9);
    SELECT metrics.define_metric('w_kinds', 'breakdown', source_table => 'orders', source_schema => 'regress_src', value_column => 'kind');
    SELECT metrics.define_metric('w_big', 'created', source_table => 'orders', source_schema => 'regress_src', filter => 'amount > 50');
    SELECT metrics.define_metric('w_big_share', 'percentage', numerator => 'w_big', denominator => 'w_created');
$$, 'define per-project metrics of every kind and their unscoped twins');
SELECT is((SELECT project_column FROM metrics.metric_definitions WHERE metric_category = 'o_avg'), 'org', 'the project column is stored');

SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-04')$$, 'backfill four days');

-- The expected values, per project and day, counted directly over the source.
CREATE TEMP VIEW expected AS
SELECT d.day, p.id AS project_id, p.slug,
       (SELECT count(*) FROM regress_src.orders o WHERE o.org IN (p.slug, p.id::text) AND o.created_at >= d.day AND o.created_at < d.day + 1)::numeric AS created,
       (SELECT count(*) FROM regress_src.orders o WHERE o.org IN (p.slug, p.id::text) AND o.created_at < d.day + 1)::numeric AS total,
       (SELECT count(DISTINCT customer) FROM regress_src.orders o WHERE o.org IN (p.slug, p.id::text) AND o.created_at >= d.day AND o.created_at < d.day + 1)::numeric AS customers,
       (SELECT coalesce(avg(amount), 0) FROM regress_src.orders o WHERE o.org IN (p.slug, p.id::text) AND o.created_at >= d.day AND o.created_at < d.day + 1) AS avg,
       (SELECT count(amount) FROM regress_src.orders o WHERE o.org IN (p.slug, p.id::text) AND o.created_at >= d.day AND o.created_at < d.day + 1) AS sample_size,
       (SELECT coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY amount::float8), 0) FROM regress_src.orders o WHERE o.org IN (p.slug, p.id::text) AND o.created_at >= d.day AND o.created_at < d.day + 1) AS p90,
       (SELECT count(*) FROM regress_src.orders o WHERE o.org IN (p.slug, p.id::text) AND o.created_at >= d.day AND o.created_at < d.day + 1 AND amount > 50)::numeric AS big,
       (SELECT coalesce(jsonb_object_agg(k.kind, k.n), '{}') FROM (SELECT kind, count(*) AS n FROM regress_src.orders o WHERE o.org IN (p.slug, p.id::text) AND o.created_at >= d.day AND o.created_at < d.day + 1 GROUP BY kind) AS k) AS kinds,
       (SELECT count(*) FROM regress_src.orders o WHERE o.org_id = p.id AND o.created_at >= d.day AND o.created_at < d.day + 1)::numeric AS by_id
FROM generate_series(date '2025-06-01', date '2025-06-04', interval '1 day') AS g(t)
CROSS JOIN LATERAL (SELECT g.t::date AS day) AS d
CROSS JOIN metrics.projects AS p;
CREATE FUNCTION pg_temp.sealed(category text, day date, project uuid) RETURNS metrics.daily_metrics
LANGUAGE sql AS $$
    SELECT * FROM metrics.daily_metrics AS m
    WHERE m.metric_category = category AND m.metric_date = day AND m.project_id IS NOT DISTINCT FROM project
$$;
-- Rows of no known project (NULL, or naming no project) per day.
CREATE TEMP VIEW unassigned AS
SELECT d::date AS day,
       (SELECT count(*) FROM regress_src.orders o WHERE o.created_at >= d::date AND o.created_at < d::date + 1
          AND NOT EXISTS (SELECT FROM metrics.projects p WHERE o.org IN (p.slug, p.id::text))) AS created,
       (SELECT count(*) FROM regress_src.orders o WHERE o.created_at < d::date + 1
          AND NOT EXISTS (SELECT FROM metrics.projects p WHERE o.org IN (p.slug, p.id::text))) AS total
FROM generate_series(date '2025-06-01', date '2025-06-04', interval '1 day') AS d;

SELECT ok((SELECT bool_and(created > 0) FROM expected WHERE slug = 'acme') AND (SELECT count(*) FROM expected WHERE created = 0) = 1,
          'the data: acme has orders every day, globex none on one day');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = 'o_created'), 12::bigint,
          'a per-project metric seals the whole database and each project every day (4 x 3)');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = 'w_created'), 4::bigint,
          'an unscoped metric seals the whole database only');
SELECT is((SELECT count(*) FROM expected e WHERE (pg_temp.sealed('o_created', e.day, e.project_id)).value IS DISTINCT FROM e.created), 0::bigint,
          'created per project and day (a day without rows is 0)');
SELECT is((SELECT count(*) FROM expected e WHERE (pg_temp.sealed('o_total', e.day, e.project_id)).value IS DISTINCT FROM e.total), 0::bigint,
          'totals per project: running sums from before the range');
SELECT is((SELECT count(*) FROM expected e WHERE (pg_temp.sealed('o_customers', e.day, e.project_id)).value IS DISTINCT FROM e.customers), 0::bigint,
          'distinct counts per project');
SELECT is((SELECT count(*) FROM expected e WHERE (pg_temp.sealed('o_customers', e.day, e.project_id)).distinct_sketch IS NULL), 0::bigint,
          'each project keeps its own sketch of the day');
SELECT is((SELECT count(*) FROM expected e, pg_temp.sealed('o_avg', e.day, e.project_id) AS s
           WHERE s.value IS DISTINCT FROM e.avg OR (s.metadata->>'sample_size')::bigint IS DISTINCT FROM e.sample_size), 0::bigint,
          'averages per project, with their sample size');
SELECT is((SELECT count(*) FROM expected e WHERE (pg_temp.sealed('o_p90', e.day, e.project_id)).value::float8 IS DISTINCT FROM e.p90), 0::bigint,
          'percentiles per project');
SELECT is((SELECT count(*) FROM expected e, pg_temp.sealed('o_kinds', e.day, e.project_id) AS s
           WHERE s.metadata->'breakdown' IS DISTINCT FROM e.kinds OR s.value <> (SELECT count(*) FROM jsonb_object_keys(e.kinds))), 0::bigint,
          'breakdowns per project: the groups of its rows only');
SELECT is((SELECT count(*) FROM expected e
           WHERE (pg_temp.sealed('o_big_share', e.day, e.project_id)).value
                 IS DISTINCT FROM CASE WHEN e.created = 0 THEN 0 ELSE round(e.big * 100 / e.created, 4) END), 0::bigint,
          'percentages per project, from the parts of the same project');
SELECT is((SELECT count(*) FROM expected e WHERE (pg_temp.sealed('u_created', e.day, e.project_id)).value IS DISTINCT FROM e.by_id), 0::bigint,
          'a uuid project column holds project ids');

-- The whole-database row is the unscoped metric's, plus the count of unassigned rows.
SELECT is((SELECT count(*) FROM metrics.daily_metrics AS s
           JOIN metrics.daily_metrics AS w ON w.metric_date = s.metric_date AND w.metric_category = 'w' || substr(s.metric_category, 2)
           WHERE s.metric_category LIKE 'o\_%' AND s.project_id IS NULL AND w.project_id IS NULL
             AND s.value = w.value AND (s.metadata - 'unassigned_rows') = w.metadata
             AND s.distinct_sketch IS NOT DISTINCT FROM w.distinct_sketch), 32::bigint,
          'every whole-database row equals its unscoped twin''s (8 metrics x 4 days)');
SELECT is((SELECT count(*) FROM unassigned u WHERE (pg_temp.sealed('o_created', u.day, NULL)).metadata->>'unassigned_rows' = u.created::text AND u.created > 0), 4::bigint,
          'unassigned rows are reported on the whole-database row, day by day');
SELECT is((SELECT count(*) FROM unassigned u WHERE (pg_temp.sealed('o_total', u.day, NULL)).metadata->>'unassigned_rows' = u.total::text), 4::bigint,
          'and as a running count for totals');
SELECT is((SELECT count(*) FROM unassigned u WHERE (pg_temp.sealed('o_kinds', u.day, NULL)).metadata->>'unassigned_rows' = u.created::text), 4::bigint,
          'and for breakdowns');
SELECT ok((SELECT message FROM metrics.metric_collection_log WHERE run_type = 'backfill')
          LIKE '%rows of no known project, counted in the whole database only: % o_created ' ||
               (SELECT sum(created) FROM unassigned) || ',%',
          'the collection log names each metric with rows of no known project, and their count');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE project_id IS NOT NULL AND metadata ? 'unassigned_rows'), 0::bigint,
          'project rows carry no unassigned count');

-- A project created after its days were sealed gets them from a backfill; nothing else changes.
CREATE TEMP TABLE before_initech AS SELECT id, value, metadata FROM metrics.daily_metrics;
SELECT lives_ok($$SELECT metrics.create_project('initech', 'Initech')$$, 'create project initech later');
SELECT is((SELECT total_metrics FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-04')), 36,
          'the backfill seals only what is missing: initech''s 4 days of 9 per-project metrics');
SELECT is((SELECT count(*) FROM before_initech b JOIN metrics.daily_metrics m USING (id) WHERE m.value = b.value AND m.metadata = b.metadata),
          (SELECT count(*) FROM before_initech), 'every value sealed before is unchanged');
SELECT is((SELECT count(*) FROM expected e
           WHERE e.slug = 'initech' AND (pg_temp.sealed('o_created', e.day, e.project_id)).value = e.created
             AND (pg_temp.sealed('o_total', e.day, e.project_id)).value = e.total AND e.created > 0), 4::bigint,
          'initech''s values are its rows''');
SELECT is((SELECT count(*) FROM expected e WHERE (pg_temp.sealed('o_avg', e.day, e.project_id)).value IS DISTINCT FROM e.avg), 0::bigint,
          'and every project''s averages still match');

-- The project that covers the whole database has the whole database's values: no row of its own.
SELECT lives_ok($$SELECT metrics.create_project('everything', 'Everything', NULL, true)$$, 'create the whole database''s project');
SELECT is((SELECT total_metrics FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-04')), 0,
          'a backfill seals nothing for it');
SELECT is((SELECT count(*) FROM metrics.daily_metrics AS d JOIN metrics.projects AS p ON p.id = d.project_id WHERE p.whole_database),
          0::bigint, 'and no value is sealed in its name');

-- Collecting one day and correcting one.
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-06-05')$$, 'collect one day');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_date = '2025-06-05' AND metric_category = 'o_created'), 4::bigint,
          'a collection seals every project too');
INSERT INTO regress_src.orders VALUES (10001, 'acme', NULL, 1, 10, 'a', '2025-06-02 12:00+00');
SELECT lives_ok($$SELECT * FROM metrics.recollect('2025-06-02', ARRAY['o_created'], 'a late acme order')$$, 'recollect a per-project metric');
SELECT is((SELECT value FROM pg_temp.sealed('o_created', '2025-06-02', (SELECT id FROM metrics.projects WHERE slug = 'acme'))),
          (SELECT created FROM expected WHERE slug = 'acme' AND day = '2025-06-02'), 'acme''s value is corrected');
SELECT is((SELECT count(*) FROM metrics.metric_revisions WHERE metric_category = 'o_created'), 2::bigint,
          'two values changed: acme''s and the whole database''s');
SELECT is((SELECT project_id FROM metrics.metric_revisions WHERE metric_category = 'o_created' AND project_id IS NOT NULL),
          (SELECT id FROM metrics.projects WHERE slug = 'acme'), 'the revision names its project');

-- The definition checks.
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('bad', 'created', source_table => 'orders', source_schema => 'regress_src', project_column => 'tenant')$$,
                          '42703', 'a project column that does not exist');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('bad', 'created', source_table => 'orders', source_schema => 'regress_src', project_column => 'amount')$$,
                          '42804', 'a project column that is neither uuid nor text');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('bad', 'percentage', numerator => 'o_big', denominator => 'w_created')$$,
                          '22023', 'a percentage of a per-project and a whole-database metric');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('bad', 'percentage', numerator => 'o_big', denominator => 'o_created', project_column => 'org')$$,
                          '22023', 'a percentage takes no project column');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('o_big', 'created', source_table => 'orders', source_schema => 'regress_src', filter => 'amount > 50', replace => true)$$,
                          '22023', 'a part of a per-project percentage cannot lose its project alone');
SELECT lives_ok($$SELECT metrics.define_metric('r_created', 'created', source_table => 'orders', source_schema => 'regress_src');
                   SELECT metrics.define_metric('r_created', 'created', source_table => 'orders', source_schema => 'regress_src', project_column => 'org', replace => true)$$,
                'an unscoped metric can become per-project');
SELECT is((SELECT definition_version FROM metrics.metric_definitions WHERE metric_category = 'r_created'), 2,
          'changing the project column is a new definition version');
SELECT is((SELECT previous_definitions->0->>'project_column' FROM metrics.metric_definitions WHERE metric_category = 'r_created'), NULL,
          'and the previous form is kept, without one');
SELECT lives_ok($$SELECT metrics.deactivate_metric('r_created')$$, 'deactivate it again');

-- Reads with a project.
SELECT is((SELECT array_agg(value ORDER BY period_start) FROM metrics.fetch_metrics('2025-06-01', '2025-06-04', ARRAY['o_created'], project => 'acme')),
          (SELECT array_agg(created ORDER BY day) FROM expected WHERE slug = 'acme'), 'fetch_metrics reads a project''s values');
SELECT is((SELECT value FROM metrics.fetch_metrics('2025-06-01', '2025-06-04', ARRAY['o_created'], aggregation => 'monthly')),
          (SELECT sum(value) FROM metrics.daily_metrics WHERE metric_category = 'o_created' AND project_id IS NULL AND metric_date <= '2025-06-04'),
          'without a project, the whole database''s');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-06-01', '2025-06-04', ARRAY['w_big'], project => 'acme')$$,
                          '22023', 'a metric of the whole database has no project values');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-06-01', '2025-06-04', project => 'umbrella')$$,
                          '42704', 'an unknown project');
SELECT is((SELECT value FROM metrics.current_metrics('acme') WHERE metric_category = 'o_created'),
          (SELECT value FROM pg_temp.sealed('o_created', '2025-06-05', (SELECT id FROM metrics.projects WHERE slug = 'acme'))),
          'current_metrics reads a project''s latest value');
SELECT is((SELECT count(*) FROM metrics.current_metrics('acme') WHERE metric_category LIKE 'w\_%'), 0::bigint,
          'only per-project metrics have project values');

-- Row-level security: anon sees the whole database's rows only.
SELECT set_config('role', 'anon', true);
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE project_id IS NOT NULL), 0::bigint, 'anon sees no project row');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-06-01', '2025-06-04', project => 'acme')$$,
                          '42704', 'anon cannot read a project: as if it did not exist');
SELECT set_config('role', 'none', true);

-- A member of acme sees acme's rows, never globex's, through the table and every read.
GRANT SELECT ON expected TO authenticated;
SELECT set_config('regress.acme', (SELECT id::text FROM metrics.projects WHERE slug = 'acme'), true);
SELECT set_config('regress.acme_rows', (SELECT count(*) FROM metrics.daily_metrics m JOIN metrics.projects p ON p.id = m.project_id WHERE p.slug = 'acme')::text, true);
SELECT set_config('role', 'authenticated', true);
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"projects": ["acme"]}}', true);
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE project_id IS NOT NULL), current_setting('regress.acme_rows')::bigint,
          'a member of acme sees acme''s project rows');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE project_id IS NOT NULL AND project_id <> current_setting('regress.acme')::uuid), 0::bigint,
          'and no other project''s');
SELECT is((SELECT array_agg(value ORDER BY period_start) FROM metrics.fetch_metrics('2025-06-01', '2025-06-04', ARRAY['o_created'], project => 'acme')),
          (SELECT array_agg(created ORDER BY day) FROM expected WHERE slug = 'acme'), 'and reads them with fetch_metrics');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.fetch_metrics('2025-06-01', '2025-06-04', project => 'globex')$$,
                          '42704', 'globex through fetch_metrics: the error of an unknown project');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.current_metrics('globex')$$, '42704', 'globex through current_metrics');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.activity_series(7, ARRAY['o_created'], 'globex')$$, '42704', 'globex through activity_series');
SELECT is((SELECT count(*) FROM metrics.activity_series(7, ARRAY['o_created'], 'acme')), 7::bigint, 'activity_series of acme: a point per day');
SELECT set_config('role', 'none', true);
SELECT set_config('request.jwt.claims', '', true);

SELECT * FROM finish();
ROLLBACK;
