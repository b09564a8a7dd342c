-- What CREATE EXTENSION metrics installs, and the rules every table and function follows.
-- The rules are checked over the catalog, so a table or function added later is held to
-- them without touching this file.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(30);
CREATE EXTENSION metrics;

SELECT has_schema('metrics');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'metrics'), false, 'the extension is not relocatable');
SELECT is((SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'metrics'), 'metrics', 'it lives in schema metrics');

SELECT tables_are('metrics', ARRAY['daily_metrics', 'metric_definitions', 'metric_collection_log', 'metric_revisions',
                                  'api_access', 'admin_check', 'route_metrics', 'operation_metrics',
                                  'route_metrics_unfolded', 'operation_metrics_unfolded', 'recorded_batches',
                                  'retention_settings', 'compacted_periods', 'maintenance_log',
                                  'alert_state', 'alert_log',
                                  'github_events', 'environment_settings', 'github_deployments',
                                  'github_deployment_statuses', 'github_pull_requests', 'github_pushes',
                                  'github_workflow_runs', 'github_issues', 'dora_deployments',
                                  'dora_deployed_shas', 'dora_changes', 'dora_levels',
                                  'github_repositories', 'github_environments',
                                  'projects', 'project_check', 'project_repositories',
                                  'metrics_summary', 'metrics_trend_point', 'metrics_breakdown_point',
                                  'metrics_drilldown', 'read_model_state']);
SELECT columns_are('metrics', 'daily_metrics',
    ARRAY['id', 'metric_date', 'metric_type', 'metric_category', 'value', 'metadata', 'collection_timestamp', 'created_at',
          'definition_version', 'distinct_sketch', 'project_id']);
SELECT col_is_unique('metrics', 'daily_metrics', ARRAY['metric_date', 'metric_type', 'metric_category', 'project_id']);
SELECT is((SELECT indnullsnotdistinct FROM pg_catalog.pg_index WHERE indexrelid = 'metrics.unique_daily_metric'::regclass), true,
          'one value per (date, type, category, project), the whole database (NULL) included');
SELECT indexes_are('metrics', 'daily_metrics', ARRAY['daily_metrics_pkey', 'unique_daily_metric',
    'idx_daily_metrics_date_type', 'idx_daily_metrics_category', 'idx_daily_metrics_collection',
    'idx_daily_metrics_project']);
SELECT has_column('metrics', 'metric_collection_log', 'error_details', 'the log keeps per-metric errors');
SELECT has_column('metrics', 'metric_revisions', 'reason', 'revisions keep why a value changed');

-- metric_type is one of the seed's four.
SELECT throws_ok($$INSERT INTO metrics.metric_definitions (metric_type, metric_category, display_name, kind, source_schema, source_table, time_column)
                   VALUES ('ratio', 'x', 'x', 'created', 'public', 't', 'created_at')$$, '23514', NULL,
                 'metric_type outside count/average/percentage/aggregate is refused');

-- pg_dump keeps every table's rows: sealed history is user data.
SELECT set_eq(
    $$SELECT c.relname::text FROM pg_extension e, unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid WHERE e.extname = 'metrics'$$,
    $$SELECT relname::text FROM pg_class WHERE relnamespace = 'metrics'::regnamespace AND relkind = 'r'$$,
    'every table is registered with pg_extension_config_dump');

-- Row-level security on every table.
SELECT is_empty(
    $$SELECT relname FROM pg_class WHERE relnamespace = 'metrics'::regnamespace AND relkind IN ('r', 'p') AND NOT relrowsecurity$$,
    'RLS is enabled on every table');

-- Every SECURITY DEFINER function pins search_path to pg_catalog, pg_temp.
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'metrics'::regnamespace AND p.prosecdef
        AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)$$,
    'every SECURITY DEFINER function pins search_path');

-- Nothing is executable by PUBLIC: each function is granted to the levels that may call it.
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p
      WHERE p.pronamespace = 'metrics'::regnamespace
        AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                    WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')$$,
    'no function or procedure is executable by PUBLIC');
SELECT is_empty(
    $$SELECT c.relname FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
      WHERE c.relnamespace = 'metrics'::regnamespace AND a.grantee = 0$$,
    'no table privilege is granted to PUBLIC');

-- Every function, procedure and table has an access level in metrics.access_rules(), and
-- every rule names an object that exists: a new object must be classified to pass.
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'metrics'::regnamespace$$,
    $$SELECT to_regprocedure(object_name)::text FROM metrics.access_rules() WHERE object_type IN ('function', 'procedure')$$,
    'every function and procedure has an access level');
SELECT set_eq(
    $$SELECT c.oid::regclass::text FROM pg_class c WHERE c.relnamespace = 'metrics'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')$$,
    $$SELECT to_regclass(object_name)::text FROM metrics.access_rules() WHERE object_type = 'table'$$,
    'every table has an access level');
SELECT is_empty(
    $$SELECT object_name FROM metrics.access_rules() r
      WHERE r.access NOT IN ('read', 'manage', 'owner', 'internal')
         OR (r.object_type IN ('function', 'procedure') AND
             (r.object_type = 'procedure') <> (SELECT prokind = 'p' FROM pg_proc WHERE oid = to_regprocedure(r.object_name)))$$,
    'access rules use the four levels and say procedure exactly for procedures');
-- Every privileged function checks who calls it: SECURITY DEFINER ones write with the owner's
-- rights, so only manage and owner levels may have them. The one exception is the read API
-- (get_summary, get_trend, get_breakdown, get_drilldown): STABLE, so it cannot write, it
-- resolves the project as its caller (metrics.project_id under the caller's RLS) before it
-- reads, with the owner's rights, only that project's rows and live request hours.
SELECT is_empty(
    $$SELECT r.object_name FROM metrics.access_rules() r JOIN pg_proc p
        ON r.object_type IN ('function', 'procedure') AND p.oid = to_regprocedure(r.object_name)
      WHERE p.prosecdef AND r.access = 'read'
        AND NOT (p.proname IN ('get_summary', 'get_trend', 'get_breakdown', 'get_drilldown') AND p.provolatile = 's')$$,
    'no SECURITY DEFINER function is at read level but the STABLE read API');

-- The catalog audit finds nothing on a fresh install (this cluster has Supabase's roles).
SELECT is_empty($$SELECT * FROM metrics.verify_security()$$, 'verify_security() finds nothing on a fresh install');

-- Read functions are STABLE, so PostgREST runs them read-only and allows GET.
-- One assertion over the set (so the plan does not depend on how many there are), guarded
-- so that an empty set of read functions fails instead of passing.
SELECT cmp_ok((SELECT count(*) FROM metrics.access_rules() WHERE object_type = 'function' AND access = 'read'), '>=', 10::bigint,
              'there are read functions to check');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text, p.provolatile FROM metrics.access_rules() r
      LEFT JOIN pg_proc p ON p.oid = to_regprocedure(r.object_name)
      WHERE r.object_type = 'function' AND r.access = 'read' AND p.provolatile IS DISTINCT FROM 's' AND p.provolatile IS DISTINCT FROM 'i'$$,
    'every read function is STABLE or IMMUTABLE');

-- Nobody but the owner may write a table directly.
SELECT is_empty(
    $$SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
      WHERE c.relnamespace = 'metrics'::regnamespace AND c.relkind = 'r' AND a.grantee <> c.relowner
        AND a.privilege_type NOT IN ('SELECT')$$,
    'no role but the owner holds a write privilege on a table');

-- Settings.
SELECT is(current_setting('metrics.timezone'), 'UTC', 'metrics.timezone defaults to UTC');
SELECT is(current_setting('metrics.max_query_days'), '366', 'metrics.max_query_days defaults to 366, a leap year');
SELECT is((SELECT context FROM pg_settings WHERE name = 'metrics.timezone'), 'superuser', 'metrics.timezone is set by administrators');
SELECT throws_ok($$SET metrics.timezone = 'Mars/Olympus_Mons'$$, '22023', NULL, 'an unknown time zone is refused');
SELECT lives_ok($$SET LOCAL metrics.timezone = 'America/New_York'$$, 'a zone name is accepted');

-- pg_cron is optional: the extension does not require it.
SELECT is((SELECT requires FROM pg_available_extension_versions WHERE name = 'metrics' AND version = (SELECT extversion FROM pg_extension WHERE extname = 'metrics')), NULL::name[], 'metrics requires no other extension');

SELECT * FROM finish();
ROLLBACK;
