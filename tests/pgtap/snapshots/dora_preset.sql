-- install_preset('dora'): daily metrics over the views of the development facts, per
-- environment tier (production, staging), sealed like every other metric; each day's and
-- each week's values are checked against the same keys computed here over the facts.
--
-- Until the fact views of sql/github/read.sql exist, this test creates stand-ins for them
-- with the contract's columns (docs/development-metrics.md) over tables of its own.
BEGIN;
SELECT plan(15);
\ir ../../fixtures/setup.sql

SELECT throws_ok($$SELECT * FROM metrics.install_preset('dora', 'regress_src')$$, '22023',
                 'the dora preset reads the views of schema metrics, not of schema "regress_src"',
                 'dora refuses another schema');
SELECT CASE WHEN to_regclass('metrics.dora_deployment_facts') IS NULL
            THEN throws_ok($$SELECT * FROM metrics.install_preset('dora')$$, '42P01',
                           'preset "dora" needs table "metrics"."dora_deployment_facts"', 'without the fact views, dora is refused')
            ELSE pass('the fact views exist') END;

-- Stand-ins with the contract's columns.
CREATE TABLE regress_src.deployments (repository text, environment text, tier text, deployment_id bigint, sha text,
    created_at timestamptz, finished_at timestamptz, outcome text, is_success boolean, is_failure boolean,
    incident_linked boolean, is_rework boolean, changes integer);
CREATE TABLE regress_src.changes (repository text, environment text, tier text, change_key text, kind text, pr_number integer,
    merged_at timestamptz, first_commit_at timestamptz, deployment_id bigint, deployed_at timestamptz,
    lead_time_hours double precision, lead_time_first_commit_hours double precision);
CREATE TABLE regress_src.recoveries (repository text, environment text, tier text, source text, id text,
    started_at timestamptz, recovered_at timestamptz, recovery_hours double precision);
DO $$
BEGIN
    IF to_regclass('metrics.dora_deployment_facts') IS NULL THEN
        CREATE VIEW metrics.dora_deployment_facts AS SELECT * FROM regress_src.deployments;
        CREATE VIEW metrics.dora_change_facts AS SELECT * FROM regress_src.changes;
        CREATE VIEW metrics.dora_recovery_facts AS SELECT * FROM regress_src.recoveries;
    END IF;
END
$$;

-- A week (2025-06-02 to 08) of deployments to production-eu, prod and staging, with failures,
-- incident links and rework; changes with lead times; recoveries spanning midnight.
INSERT INTO regress_src.deployments
SELECT 'acme/shop', env, tier, g, md5(g::text), at - interval '10 minutes', at, outcome,
       outcome = 'success', outcome IN ('failure', 'error'), g % 7 = 0, g % 5 = 0, g % 4
FROM (SELECT g, timestamptz '2025-06-02' + (g * 3671 % (7 * 86400)) * interval '1 second' AS at,
             (ARRAY['production-eu', 'prod', 'staging', 'preview-12'])[1 + g % 4] AS env,
             (ARRAY['production', 'production', 'staging', 'development'])[1 + g % 4] AS tier,
             (ARRAY['success', 'success', 'failure', 'success', 'error'])[1 + g % 5] AS outcome
      FROM generate_series(1, 240) AS g) AS d;
INSERT INTO regress_src.changes
SELECT 'acme/shop', 'prod', (ARRAY['production', 'staging'])[1 + g % 2], 'pr:' || g, 'pull_request', g,
       at - lead, at - lead - interval '1 hour', g, at, extract(epoch FROM lead) / 3600, extract(epoch FROM lead) / 3600 + 1
FROM (SELECT g, timestamptz '2025-06-02' + (g * 2713 % (7 * 86400)) * interval '1 second' AS at,
             (g * 7919 % 200000) * interval '1 second' AS lead
      FROM generate_series(1, 300) AS g) AS c;
INSERT INTO regress_src.recoveries
SELECT 'acme/shop', 'prod', (ARRAY['production', 'staging'])[1 + g % 2], 'deployment', g::text,
       at, at + took, extract(epoch FROM took) / 3600
FROM (SELECT g, timestamptz '2025-06-02' + (g * 9973 % (7 * 86400)) * interval '1 second' AS at,
             (g * 104729 % 90000) * interval '1 second' AS took
      FROM generate_series(1, 60) AS g) AS r;

SELECT is((SELECT count(*) FROM metrics.install_preset('dora') WHERE status = 'defined'), 20::bigint,
          'dora defines 20 metrics: ten per tier');
SELECT is((SELECT count(*) FROM metrics.install_preset('dora') WHERE status = 'already defined'), 20::bigint,
          'installing it again defines nothing new');
SELECT results_eq($$SELECT metric_category, kind, source_schema, source_table, time_column, value_column, "filter", percentile
                    FROM metrics.metric_definitions WHERE metric_category LIKE 'dora_production_%' ORDER BY 1$$,
                  $$VALUES ('dora_production_change_failure_rate', 'percentage', NULL, NULL, NULL, NULL, NULL, NULL::float8),
                           ('dora_production_change_failures', 'created', 'metrics', 'dora_deployment_facts', 'finished_at', NULL, '((tier = ''production''::text) AND (is_failure OR incident_linked))', NULL),
                           ('dora_production_deployments', 'created', 'metrics', 'dora_deployment_facts', 'finished_at', NULL, '((tier = ''production''::text) AND is_success)', NULL),
                           ('dora_production_failed_deployments', 'created', 'metrics', 'dora_deployment_facts', 'finished_at', NULL, '((tier = ''production''::text) AND is_failure)', NULL),
                           ('dora_production_finished_deployments', 'created', 'metrics', 'dora_deployment_facts', 'finished_at', NULL, '(tier = ''production''::text)', NULL),
                           ('dora_production_lead_time_p50_hours', 'percentile', 'metrics', 'dora_change_facts', 'deployed_at', 'lead_time_hours', '(tier = ''production''::text)', 0.5),
                           ('dora_production_lead_time_p90_hours', 'percentile', 'metrics', 'dora_change_facts', 'deployed_at', 'lead_time_hours', '(tier = ''production''::text)', 0.9),
                           ('dora_production_recovery_p50_hours', 'percentile', 'metrics', 'dora_recovery_facts', 'started_at', 'recovery_hours', '(tier = ''production''::text)', 0.5),
                           ('dora_production_rework_deployments', 'created', 'metrics', 'dora_deployment_facts', 'finished_at', NULL, '((tier = ''production''::text) AND is_rework)', NULL),
                           ('dora_production_rework_rate', 'percentage', NULL, NULL, NULL, NULL, NULL, NULL)$$,
                  'the production metrics, as stored (filters normalised)');

SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-02', '2025-06-08')$$, 'backfill the week');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_category LIKE 'dora\_%'), 140::bigint,
          'every dora metric is sealed for every day of the week');

-- The oracle, per day of a tier.
CREATE FUNCTION pg_temp.deployments(t text, lo date, hi date, what text) RETURNS numeric LANGUAGE sql AS $$
    SELECT count(*) FILTER (WHERE CASE what WHEN 'success' THEN is_success WHEN 'failed' THEN is_failure
                                            WHEN 'change_failure' THEN is_failure OR incident_linked
                                            WHEN 'rework' THEN is_rework ELSE true END)::numeric
    FROM regress_src.deployments WHERE tier = t AND finished_at >= lo::timestamptz AND finished_at < (hi + 1)::timestamptz
$$;
CREATE FUNCTION pg_temp.lead(t text, p float8, lo date, hi date) RETURNS float8 LANGUAGE sql AS $$
    SELECT percentile_cont(p) WITHIN GROUP (ORDER BY lead_time_hours) FROM regress_src.changes
    WHERE tier = t AND deployed_at >= lo::timestamptz AND deployed_at < (hi + 1)::timestamptz
$$;
CREATE FUNCTION pg_temp.recovery(t text, lo date, hi date) RETURNS float8 LANGUAGE sql AS $$
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY recovery_hours) FROM regress_src.recoveries
    WHERE tier = t AND started_at >= lo::timestamptz AND started_at < (hi + 1)::timestamptz
$$;
CREATE FUNCTION pg_temp.sealed(c text, day date) RETURNS numeric LANGUAGE sql AS $$
    SELECT value FROM metrics.daily_metrics WHERE metric_category = c AND metric_date = day
$$;
CREATE TEMP TABLE days AS
SELECT d::date AS day, t AS tier FROM generate_series(date '2025-06-02', date '2025-06-08', interval '1 day') AS d,
       unnest(ARRAY['production', 'staging']) AS t;

SELECT is((SELECT count(*) FROM days WHERE
              pg_temp.sealed('dora_' || tier || '_deployments', day) <> pg_temp.deployments(tier, day, day, 'success')
           OR pg_temp.sealed('dora_' || tier || '_failed_deployments', day) <> pg_temp.deployments(tier, day, day, 'failed')
           OR pg_temp.sealed('dora_' || tier || '_finished_deployments', day) <> pg_temp.deployments(tier, day, day, 'all')
           OR pg_temp.sealed('dora_' || tier || '_change_failures', day) <> pg_temp.deployments(tier, day, day, 'change_failure')
           OR pg_temp.sealed('dora_' || tier || '_rework_deployments', day) <> pg_temp.deployments(tier, day, day, 'rework')),
          0::bigint, 'each day''s deployment counts per tier');
SELECT ok((SELECT sum(pg_temp.deployments('production', day, day, 'all')) > 0 AND sum(pg_temp.deployments('staging', day, day, 'all')) > 0
                  AND sum(pg_temp.deployments('production', day, day, 'change_failure')) > sum(pg_temp.deployments('production', day, day, 'failed'))
           FROM days WHERE tier = 'production'),
          'the data has deployments in both tiers, and incident-linked successes');
SELECT is((SELECT count(*) FROM days WHERE
              pg_temp.sealed('dora_' || tier || '_change_failure_rate', day)
                <> round(pg_temp.deployments(tier, day, day, 'change_failure') * 100 / nullif(pg_temp.deployments(tier, day, day, 'all'), 0), 4)
           OR pg_temp.sealed('dora_' || tier || '_rework_rate', day)
                <> round(pg_temp.deployments(tier, day, day, 'rework') * 100 / nullif(pg_temp.deployments(tier, day, day, 'all'), 0), 4)),
          0::bigint, 'each day''s change failure and rework rates: over all finished deployments, x 100');
SELECT is((SELECT count(*) FROM days WHERE
              pg_temp.sealed('dora_' || tier || '_lead_time_p50_hours', day)::float8 IS DISTINCT FROM coalesce(pg_temp.lead(tier, 0.5, day, day), 0)
           OR pg_temp.sealed('dora_' || tier || '_lead_time_p90_hours', day)::float8 IS DISTINCT FROM coalesce(pg_temp.lead(tier, 0.9, day, day), 0)
           OR pg_temp.sealed('dora_' || tier || '_recovery_p50_hours', day)::float8 IS DISTINCT FROM coalesce(pg_temp.recovery(tier, day, day), 0)),
          0::bigint, 'each day''s lead time p50 and p90 and recovery p50, exactly');

-- The week: rates are ratios of sums, percentiles those of all the week's facts.
SELECT results_eq($$SELECT metric_category, value::float8 FROM metrics.fetch_metrics('2025-06-02', '2025-06-08',
                        ARRAY['dora_production_lead_time_p90_hours', 'dora_production_recovery_p50_hours', 'dora_staging_lead_time_p50_hours'],
                        aggregation => 'weekly') ORDER BY 1$$,
                  $$VALUES ('dora_production_lead_time_p90_hours', pg_temp.lead('production', 0.9, '2025-06-02', '2025-06-08')),
                           ('dora_production_recovery_p50_hours', pg_temp.recovery('production', '2025-06-02', '2025-06-08')),
                           ('dora_staging_lead_time_p50_hours', pg_temp.lead('staging', 0.5, '2025-06-02', '2025-06-08'))$$,
                  'the week''s lead times and recovery are exact percentiles of the week''s facts');
SELECT results_eq($$SELECT value FROM metrics.fetch_metrics('2025-06-02', '2025-06-08', ARRAY['dora_production_change_failure_rate'], aggregation => 'weekly')$$,
                  $$SELECT round(pg_temp.deployments('production', '2025-06-02', '2025-06-08', 'change_failure') * 100
                                 / pg_temp.deployments('production', '2025-06-02', '2025-06-08', 'all'), 4)$$,
                  'the week''s change failure rate is failed over all finished of the whole week');

-- Sealed: a fact deleted later does not change a sealed day.
DELETE FROM regress_src.deployments WHERE finished_at < '2025-06-03';
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-06-02')$$, 'collect the first day again');
SELECT isnt(pg_temp.sealed('dora_production_finished_deployments', '2025-06-02'), 0::numeric,
            'the first day keeps its sealed deployments');

SELECT * FROM finish();
ROLLBACK;
