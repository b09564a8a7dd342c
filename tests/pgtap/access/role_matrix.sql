-- The role matrix: every function and every table of the extension, called by each kind of
-- caller the way PostgREST calls it, with the outcome each must get.
--
-- Callers: anon (no JWT), authenticated, authenticated with the admin claim, service_role
-- (BYPASSRLS, as on Supabase) and the owner (psql, migrations, pg_cron).
-- Each case runs in a subtransaction that reproduces PostgREST's preamble
-- (set_config of search_path, role, request.jwt.claims, request.method; READ ONLY for STABLE
-- functions and for reads) and is always rolled back, so cases cannot influence each other.
-- An outcome is 'ok:<first column of the result>' or the SQLSTATE of the error.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(1291);
\ir ../../fixtures/setup.sql

-- Data to look at: nine metrics sealed for three days, a revision, a role with an explicit
-- level, and an admin check plugged in (the same rule as the default, through the hook).
SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'install the social preset');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-03')$$, 'seal three days');
DELETE FROM regress_src.posts WHERE id = (SELECT min(id) FROM regress_src.posts WHERE created_at < '2025-06-01');
SELECT lives_ok($$SELECT * FROM metrics.recollect('2025-06-01', ARRAY['posts_total'], 'a revision to look at')$$, 'record a revision');
CREATE ROLE regress_metrics_reader NOLOGIN;
SELECT lives_ok($$SELECT * FROM metrics.grant_api_access('regress_metrics_reader', 'read')$$, 'an explicit read level for a plain role');
CREATE SCHEMA regress_hooks;
CREATE FUNCTION regress_hooks.claims_admin() RETURNS boolean LANGUAGE sql STABLE
    AS $$ SELECT coalesce(auth.jwt() -> 'app_metadata' ->> 'role' = 'admin', false) $$;
GRANT USAGE ON SCHEMA regress_hooks TO anon, authenticated, service_role, regress_metrics_reader;
SELECT lives_ok($$SELECT metrics.set_admin_check('regress_hooks.claims_admin()')$$, 'plug in an admin check');
-- Two requests and an operation in one hour of 2025-06-02 (old events need a wider window).
SET LOCAL metrics.max_event_age = '4000d';
SELECT is(metrics.record_route_metrics('[{"route": "/posts", "method": "GET", "success": true, "duration_ms": 12, "at": "2025-06-02T10:15:00Z"},
                                         {"route": "/posts", "method": "POST", "success": false, "duration_ms": 30, "at": "2025-06-02T10:20:00Z"}]'),
          2::bigint, 'record two requests');
SELECT is(metrics.record_operation_metrics('[{"operation": "send_email", "success": true, "duration_ms": 80, "at": "2025-06-02T10:30:00Z"}]'),
          1::bigint, 'and an operation');
-- Compacted (that day is long past 90 days): two folded periods and a maintenance log row.
SELECT is((SELECT count(*) FROM metrics.compact_metrics() WHERE verified), 2::bigint, 'compact the day of each family');
-- On Supabase the API roles can read the application's tables; define_metric checks that.
GRANT USAGE ON SCHEMA regress_src TO service_role;
GRANT SELECT ON ALL TABLES IN SCHEMA regress_src TO service_role;
-- A small GitHub history of octo/repo in production: deployment 1 succeeds, a push and a
-- merged pull request follow, deployment 2 ships them and succeeds, an incident names it, and
-- a workflow run completes.
SELECT is((SELECT recorded FROM metrics.record_github_events($$[
    {"event": "deployment_status", "payload": {"action": "created", "repository": {"full_name": "octo/repo"},
      "deployment": {"id": 1, "sha": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "ref": "main", "environment": "production",
                     "created_at": "2025-06-02T10:00:00Z"},
      "deployment_status": {"id": 11, "state": "success", "created_at": "2025-06-02T10:05:00Z"}}},
    {"event": "push", "payload": {"ref": "refs/heads/main", "before": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
      "after": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "repository": {"full_name": "octo/repo", "pushed_at": "2025-06-02T12:01:00Z"},
      "commits": [{"id": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "timestamp": "2025-06-02T12:00:00Z"}]}},
    {"event": "pull_request", "payload": {"action": "closed", "repository": {"full_name": "octo/repo"},
      "pull_request": {"number": 5, "id": 5005, "state": "closed", "created_at": "2025-06-02T08:00:00Z",
                       "updated_at": "2025-06-02T12:01:00Z", "merged": true, "merged_at": "2025-06-02T12:01:00Z",
                       "merge_commit_sha": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "base": {"ref": "main"}, "labels": []}}},
    {"event": "deployment_status", "payload": {"action": "created", "repository": {"full_name": "octo/repo"},
      "deployment": {"id": 2, "sha": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "ref": "main", "environment": "production",
                     "created_at": "2025-06-03T09:00:00Z"},
      "deployment_status": {"id": 21, "state": "success", "created_at": "2025-06-03T09:10:00Z"}}},
    {"event": "issues", "payload": {"action": "opened", "repository": {"full_name": "octo/repo"},
      "issue": {"number": 8, "id": 8008, "state": "open", "title": "Checkout fails", "body": "since deployment 2",
                "labels": [{"name": "incident"}], "created_at": "2025-06-03T10:00:00Z", "updated_at": "2025-06-03T10:00:00Z"}}},
    {"event": "workflow_run", "payload": {"action": "completed", "repository": {"full_name": "octo/repo"},
      "workflow_run": {"id": 31, "run_attempt": 1, "status": "completed", "conclusion": "success",
                       "created_at": "2025-06-03T08:00:00Z", "updated_at": "2025-06-03T08:30:00Z"}}}]$$)),
          6, 'record six GitHub events');

-- A project (no caller of the matrix is a member: administrators see it) with a repository,
-- a trend point and a refresh state row (what refresh_read_model leaves).
SELECT is((metrics.create_project('matrix', 'Matrix')).slug, 'matrix', 'create a project');
SELECT isnt(metrics.set_project_repository('octo/repo', 'matrix'), NULL, 'put the repository in it');
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, value_numeric)
SELECT id, 'posts_created', 'day', '2025-06-02', 1 FROM metrics.projects;
INSERT INTO metrics.read_model_state (project_id, source, watermark, cut_day)
SELECT id, 'daily', '2025-06-04', '2025-06-03' FROM metrics.projects;

-- pgTAP keeps its bookkeeping in temporary tables; the roles under test must be able to write them.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;

CREATE FUNCTION pg_temp.outcome(api_role text, claims text, statement text, read_only boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    BEGIN
        PERFORM set_config('search_path', '"metrics", public', true),
                set_config('role', api_role, true),
                set_config('request.jwt.claims', coalesce(claims, ''), true),
                set_config('request.method', CASE WHEN read_only THEN 'GET' ELSE 'POST' END, true),
                set_config('transaction_read_only', CASE WHEN read_only THEN 'on' ELSE 'off' END, true);
        EXECUTE statement INTO result;
        RAISE EXCEPTION USING ERRCODE = 'ZZ001', MESSAGE = 'ok:' || coalesce(result, 'NULL');
    EXCEPTION WHEN OTHERS THEN
        RETURN CASE WHEN SQLSTATE = 'ZZ001' THEN SQLERRM ELSE SQLSTATE END;
    END;
END
$$;

CREATE FUNCTION pg_temp.call_maintenance() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    CALL metrics.run_maintenance();
    RETURN 'called';
END
$$;

CREATE TEMP TABLE callers (caller text PRIMARY KEY, api_role text, claims text, position int);
INSERT INTO callers VALUES
    ('anon',          'anon',          '{"role": "anon"}', 1),
    ('authenticated', 'authenticated', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-000000000001"}', 2),
    ('admin',         'authenticated', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-000000000002", "app_metadata": {"role": "admin"}}', 3),
    ('service_role',  'service_role',  '{"role": "service_role"}', 4),
    ('owner',         current_user,    NULL, 5);

-- Functions: a sample call of each, and what each caller gets (anon, authenticated, admin,
-- service_role, owner). 42501 = permission denied; other codes show the call got past the
-- privilege check and failed on its own terms (no pg_cron here, a procedure that commits).
CREATE TEMP TABLE function_cases (fn text, statement text, read_only boolean, expected text[]);
INSERT INTO function_cases VALUES
    ('metrics.fetch_metrics(date,date,text[],text[],text,text)',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03')$$, true,
     '{ok:27,ok:27,ok:27,ok:27,ok:27}'),
    ('metrics.activity_series(integer,text[],text)',
     $$SELECT count(*)::text FROM metrics.activity_series(3, ARRAY['posts_total'])$$, true,
     '{ok:3,ok:3,ok:3,ok:3,ok:3}'),
    ('metrics.sparkline(text,integer,text)',
     $$SELECT metrics.sparkline('posts_total', 3)$$, true,
     '{ok:···,ok:···,ok:···,ok:···,ok:···}'),
    ('metrics.current_metrics(text)',
     $$SELECT count(*)::text FROM metrics.current_metrics()$$, true,
     '{ok:9,ok:9,ok:9,ok:9,ok:9}'),
    ('metrics.last_closed_day()',
     $$SELECT (metrics.last_closed_day() = (now() AT TIME ZONE 'UTC')::date - 1)::text$$, true,
     '{ok:true,ok:true,ok:true,ok:true,ok:true}'),
    ('metrics.is_admin()',
     $$SELECT metrics.is_admin()::text$$, true,
     '{ok:false,ok:false,ok:true,ok:true,ok:true}'),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text)',
     $$SELECT metric_category FROM metrics.define_metric('matrix_posts', 'created', source_table => 'posts', source_schema => 'regress_src')$$, false,
     '{42501,42501,42501,ok:matrix_posts,ok:matrix_posts}'),
    ('metrics.activate_metric(text)',
     $$SELECT metrics.activate_metric('posts_total')::text$$, false,
     '{42501,42501,42501,ok:false,ok:false}'),
    ('metrics.deactivate_metric(text)',
     $$SELECT metrics.deactivate_metric('top_genres')::text$$, false,
     '{42501,42501,42501,ok:true,ok:true}'),
    ('metrics.install_preset(text,text)',
     $$SELECT count(*) FILTER (WHERE status = 'already defined')::text FROM metrics.install_preset('social', 'regress_src')$$, false,
     '{42501,42501,42501,ok:9,ok:9}'),
    ('metrics.collect_daily_metrics(date)',
     $$SELECT status FROM metrics.collect_daily_metrics('2025-06-04')$$, false,
     '{42501,42501,42501,ok:completed,ok:completed}'),
    ('metrics.backfill_daily_metrics(date,date)',
     $$SELECT total_metrics::text FROM metrics.backfill_daily_metrics('2025-06-04', '2025-06-05')$$, false,
     '{42501,42501,42501,ok:18,ok:18}'),
    ('metrics.backfill_daily_metrics_chunked(date,date,integer)',
     $$CALL metrics.backfill_daily_metrics_chunked('2025-06-04', '2025-06-05')$$, false,
     -- Allowed, and refused before any work: it cannot commit inside this transaction.
     '{42501,42501,42501,25001,25001}'),
    ('metrics.recollect_outdated(date,date,text,text[])',
     $$SELECT count(*)::text FROM metrics.recollect_outdated('2025-06-01', '2025-06-03', 'matrix')$$, false,
     '{42501,42501,42501,ok:0,ok:0}'),
    ('metrics._can_commit()',
     $$SELECT metrics._can_commit()::text$$, false,
     '{42501,42501,42501,ok:false,ok:false}'),
    ('metrics._distinct_sketch(bigint)',
     $$SELECT length(metrics._distinct_sketch(1))::text$$, false,
     '{42501,42501,42501,42501,ok:12}'),
    ('metrics.distinct_sketch_agg_distinct_sketch_agg_state(internal,bigint)',
     -- SQL cannot call it (no expression has type internal): its privilege is what counts.
     $$SELECT has_function_privilege('metrics.distinct_sketch_agg_distinct_sketch_agg_state(internal,bigint)', 'EXECUTE')::text$$, false,
     '{ok:false,ok:false,ok:false,ok:false,ok:true}'),
    ('metrics.distinct_sketch_agg_distinct_sketch_agg_finalize(internal)',
     -- SQL cannot call it (no expression has type internal): its privilege is what counts.
     $$SELECT has_function_privilege('metrics.distinct_sketch_agg_distinct_sketch_agg_finalize(internal)', 'EXECUTE')::text$$, false,
     '{ok:false,ok:false,ok:false,ok:false,ok:true}'),
    ('metrics._protect_history()',
     $$SELECT metrics._protect_history()::text$$, false,
     '{42501,42501,42501,42501,0A000}'),
    ('metrics.recollect(date,text[],text)',
     $$SELECT changed::text FROM metrics.recollect('2025-06-02', ARRAY['posts_created'], 'matrix')$$, false,
     '{42501,42501,42501,ok:false,ok:false}'),
    ('metrics.schedule_daily_collection(text)',
     $$SELECT metrics.schedule_daily_collection()::text$$, false,
     '{42501,42501,42501,42704,42704}'),
    ('metrics.unschedule_daily_collection()',
     $$SELECT metrics.unschedule_daily_collection()::text$$, false,
     '{42501,42501,42501,42704,42704}'),
    -- The maintenance job: the manage level (here it runs without committing, inside the case).
    ('metrics.run_maintenance()',
     -- EXECUTE ... INTO cannot take a CALL: the caller's own function makes it.
     $$SELECT pg_temp.call_maintenance()$$, false,
     '{42501,42501,42501,ok:called,ok:called}'),
    ('metrics.schedule_maintenance(text)',
     $$SELECT metrics.schedule_maintenance()::text$$, false,
     '{42501,42501,42501,42704,42704}'),
    ('metrics.unschedule_maintenance()',
     $$SELECT metrics.unschedule_maintenance()::text$$, false,
     '{42501,42501,42501,42704,42704}'),
    ('metrics._maintenance_begin()',
     $$SELECT (metrics._maintenance_begin() IS NOT NULL)::text$$, false,
     '{42501,42501,42501,ok:true,ok:true}'),
    ('metrics._maintenance_catch_up(uuid)',
     $$SELECT (metrics._maintenance_catch_up(metrics._maintenance_begin()) IS NOT NULL)::text$$, false,
     '{42501,42501,42501,ok:true,ok:true}'),
    ('metrics._maintenance_compact(uuid)',
     $$SELECT (metrics._maintenance_compact(metrics._maintenance_begin()) IS NOT NULL)::text$$, false,
     '{42501,42501,42501,ok:true,ok:true}'),
    ('metrics._maintenance_prune(uuid,integer)',
     $$SELECT metrics._maintenance_prune(metrics._maintenance_begin())::text$$, false,
     '{42501,42501,42501,ok:true,ok:true}'),
    -- One project (matrix) to refresh: the first call does it and says there may be more.
    ('metrics._maintenance_read_model(uuid)',
     $$SELECT metrics._maintenance_read_model(metrics._maintenance_begin())::text$$, false,
     '{42501,42501,42501,ok:true,ok:true}'),
    ('metrics._maintenance_alerts(uuid)',
     $$SELECT metrics._maintenance_alerts(metrics._maintenance_begin())$$, false,
     '{42501,42501,42501,ok:completed,ok:completed}'),
    ('metrics._maintenance_end(uuid)',
     $$SELECT metrics._maintenance_end(metrics._maintenance_begin())$$, false,
     '{42501,42501,42501,ok:completed,ok:completed}'),
    ('metrics.verify_security()',
     $$SELECT count(*)::text FROM metrics.verify_security()$$, true,
     '{42501,42501,42501,ok:0,ok:0}'),
    -- The parts of verify_security: internal, only the owner's code calls them.
    ('metrics._access_levels()',
     $$SELECT string_agg(access, ',' ORDER BY rank) FROM metrics._access_levels()$$, true,
     '{42501,42501,42501,42501,"ok:none,read,manage,owner,internal"}'),
    ('metrics._security_rules()',
     $$SELECT count(*) FILTER (WHERE object_oid IS NULL)::text FROM metrics._security_rules()$$, true,
     '{42501,42501,42501,42501,ok:0}'),
    ('metrics._security_roles()',
     $$SELECT string_agg(role_name || '=' || rank, ',' ORDER BY role_name) FROM metrics._security_roles()$$, true,
     '{42501,42501,42501,42501,"ok:PUBLIC=0,anon=1,authenticated=1,regress_metrics_reader=1,service_role=2"}'),
    ('metrics._security_routines()',
     $$SELECT access FROM metrics._security_routines() WHERE name = 'metrics.verify_security()'$$, true,
     '{42501,42501,42501,42501,ok:manage}'),
    ('metrics._security_relations()',
     $$SELECT access FROM metrics._security_relations() WHERE name = 'metrics.daily_metrics'$$, true,
     '{42501,42501,42501,42501,ok:read}'),
    ('metrics._security_findings_setup()',
     $$SELECT count(*)::text FROM metrics._security_findings_setup()$$, true,
     '{42501,42501,42501,42501,ok:0}'),
    ('metrics._security_findings_privileges()',
     $$SELECT count(*)::text FROM metrics._security_findings_privileges()$$, true,
     '{42501,42501,42501,42501,ok:0}'),
    ('metrics._security_findings_ledger()',
     $$SELECT count(*)::text FROM metrics._security_findings_ledger()$$, true,
     '{42501,42501,42501,42501,ok:0}'),
    ('metrics.access_rules()',
     $$SELECT count(*)::text FROM metrics.access_rules() WHERE access = 'read'$$, true,
     '{42501,42501,42501,ok:67,ok:67}'),
    ('metrics.api_roles()',
     $$SELECT string_agg(role_name || '=' || access, ',' ORDER BY role_name) FROM metrics.api_roles()$$, true,
     '{42501,42501,42501,"ok:anon=read,authenticated=read,regress_metrics_reader=read,service_role=manage","ok:anon=read,authenticated=read,regress_metrics_reader=read,service_role=manage"}'),
    ('metrics.grant_api_access(name,text)',
     $$SELECT status FROM metrics.grant_api_access('regress_metrics_reader', 'manage')$$, false,
     '{42501,42501,42501,42501,ok:applied}'),
    ('metrics.revoke_api_access(name)',
     $$SELECT status FROM metrics.revoke_api_access('regress_metrics_reader')$$, false,
     '{42501,42501,42501,42501,ok:revoked}'),
    ('metrics.set_admin_check(text)',
     $$SELECT coalesce(metrics.set_admin_check(NULL), 'default')$$, false,
     '{42501,42501,42501,42501,ok:default}'),
    ('metrics.apply_api_access(name,text)',
     $$SELECT metrics.apply_api_access('regress_metrics_reader', 'read')::text$$, false,
     '{42501,42501,42501,42501,ok:67}'),
    -- Request and operation metrics: only server-side callers record; everyone may call the
    -- read functions, but the rows are for administrators (one request and one operation
    -- were recorded at 2025-06-02 10:15 UTC by the setup above).
    ('metrics.record_route_metric(text,text,boolean,double precision,text)',
     $$SELECT metrics.record_route_metric('/matrix', 'GET', true, 5)::text$$, false,
     '{42501,42501,42501,ok:,ok:}'),
    ('metrics.record_operation_metric(text,boolean,double precision,text)',
     $$SELECT metrics.record_operation_metric('matrix_op', true, 5)::text$$, false,
     '{42501,42501,42501,ok:,ok:}'),
    ('metrics.record_route_metrics(jsonb,uuid)',
     $$SELECT metrics.record_route_metrics('[{"route": "/matrix", "method": "GET", "success": true, "duration_ms": 5}]')::text$$, false,
     '{42501,42501,42501,ok:1,ok:1}'),
    ('metrics.record_operation_metrics(jsonb,uuid)',
     $$SELECT metrics.record_operation_metrics('[{"operation": "matrix_op", "success": true, "duration_ms": 5}]')::text$$, false,
     '{42501,42501,42501,ok:1,ok:1}'),
    -- Folding writes the hour rows: the manage level, like compaction (one row per family).
    ('metrics.fold_metrics(integer)',
     $$SELECT count(*)::text FROM metrics.fold_metrics()$$, false,
     '{42501,42501,42501,ok:2,ok:2}'),
    ('metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean,text)',
     $$SELECT coalesce(sum(total_requests), 0)::text FROM metrics.get_route_metrics(start_at => '2025-06-02', end_at => '2025-06-03')$$, true,
     '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean,text)',
     $$SELECT coalesce(sum(total_executions), 0)::text FROM metrics.get_operation_metrics(start_at => '2025-06-02', end_at => '2025-06-03')$$, true,
     '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.merge_latency_sketch(bytea,bytea)',
     $$SELECT length(metrics.merge_latency_sketch(NULL, NULL))::text$$, true,
     '{ok:NULL,ok:NULL,ok:NULL,ok:NULL,ok:NULL}'),
    ('metrics.merge_latency_sketches(bytea)',
     $$SELECT length(metrics.merge_latency_sketches(x))::text FROM (VALUES (NULL::bytea)) AS v(x)$$, true,
     '{ok:NULL,ok:NULL,ok:NULL,ok:NULL,ok:NULL}'),
    ('metrics.latency_quantile(bytea,double precision)',
     $$SELECT metrics.latency_quantile(NULL, 0.5)::text$$, true,
     '{ok:NULL,ok:NULL,ok:NULL,ok:NULL,ok:NULL}'),
    ('metrics.latency_sketch_of(double precision)',
     $$SELECT (metrics.latency_quantile(metrics.latency_sketch_of(12.5), 0.5) BETWEEN 12.5 * 0.99 AND 12.5 * 1.01)::text$$, true,
     '{ok:true,ok:true,ok:true,ok:true,ok:true}'),
    -- Retention and compaction: the manage level configures and runs them.
    ('metrics.set_retention_policy(text,interval,interval,interval)',
     $$SELECT kind FROM metrics.set_retention_policy('route_metrics', '30 days')$$, false,
     '{42501,42501,42501,ok:rollup,ok:rollup}'),
    ('metrics.compact_metrics(boolean,integer)',
     $$SELECT count(*)::text FROM metrics.compact_metrics(true)$$, false,
     '{42501,42501,42501,ok:0,ok:0}'),
    ('metrics._retention_defaults()',
     $$SELECT count(*)::text FROM metrics._retention_defaults()$$, true,
     '{42501,42501,42501,ok:10,ok:10}'),
    -- Health and alerts: the manage level, and only administrators (is_admin(), as the caller).
    -- Nothing is critical here (the setup compacted the old request): no transition.
    ('metrics.health()',
     $$SELECT count(*)::text FROM metrics.health()$$, true,
     '{42501,42501,42501,ok:10,ok:10}'),
    ('metrics.check_alerts()',
     $$SELECT string_agg(check_name || ':' || severity, ',') FROM metrics.check_alerts()$$, false,
     '{42501,42501,42501,ok:NULL,ok:NULL}'),
    -- Development metrics. The keys are read as the caller, like the request reports: the
    -- facts' rows are the administrators' (anon and authenticated get no row, the JWT
    -- administrator all); recording, the tiers and the explanation are server-side (manage),
    -- and explain_dora also asks metrics.is_admin().
    ('metrics.get_dora_metrics(date,date,text,text,text)',
     $$SELECT sum(deployments)::text FROM metrics.get_dora_metrics('2025-06-02', '2025-06-08', 'production', 'week', 'octo/repo')$$, true,
     '{ok:NULL,ok:NULL,ok:2,ok:2,ok:2}'),
    ('metrics.explain_dora(text,text,date)',
     $$SELECT string_agg(DISTINCT item, ',' ORDER BY item) FROM metrics.explain_dora('octo/repo', 'production', '2025-06-03')$$, true,
     '{42501,42501,42501,"ok:change,deployment,incident","ok:change,deployment,incident"}'),
    ('metrics.record_github_event(text,jsonb,text,text)',
     $$SELECT recorded::text FROM metrics.record_github_event('ping', '{"zen": "matrix"}')$$, false,
     '{42501,42501,42501,ok:true,ok:true}'),
    ('metrics.record_github_events(jsonb)',
     $$SELECT recorded::text FROM metrics.record_github_events('[{"event": "ping", "payload": {"zen": "matrix batch"}}]')$$, false,
     '{42501,42501,42501,ok:1,ok:1}'),
    ('metrics.set_environment_tier(text,text)',
     $$SELECT tier FROM metrics.set_environment_tier('matrix-env', 'staging')$$, false,
     '{42501,42501,42501,ok:staging,ok:staging}'),
    ('metrics.environment_tier(text)',
     $$SELECT metrics.environment_tier('prod-eu')$$, true,
     '{ok:production,ok:production,ok:production,ok:production,ok:production}'),
    ('metrics._default_environment_tier(text)',
     $$SELECT metrics._default_environment_tier('prod-eu')$$, true,
     '{ok:production,ok:production,ok:production,ok:production,ok:production}'),
    ('metrics._dora_incident_label()',
     $$SELECT metrics._dora_incident_label()$$, true,
     '{ok:incident,ok:incident,ok:incident,ok:incident,ok:incident}'),
    ('metrics._dora_hotfix_label()',
     $$SELECT metrics._dora_hotfix_label()$$, true,
     '{ok:hotfix,ok:hotfix,ok:hotfix,ok:hotfix,ok:hotfix}'),
    ('metrics._dora_incident_window()',
     $$SELECT extract(epoch FROM metrics._dora_incident_window())::bigint::text$$, true,
     '{ok:86400,ok:86400,ok:86400,ok:86400,ok:86400}'),
    ('metrics.sealed_rows_guard()',
     $$SELECT metrics.sealed_rows_guard()::text$$, false,
     -- Only the owner may even try; pgrx's trigger wrapper then refuses with XX000, as
     -- contrib's C triggers do when called directly.
     '{42501,42501,42501,42501,XX000}');

-- Projects: the membership rule runs as the caller (nobody here is a member; administrators
-- read every project); a project one cannot read does not exist (42704).
INSERT INTO function_cases VALUES
    ('metrics.is_project_member(uuid,text)',
     $$SELECT metrics.is_project_member((SELECT id FROM metrics.projects LIMIT 1), 'matrix')::text$$, true,
     '{ok:false,ok:false,ok:false,ok:false,ok:false}'),
    ('metrics.member_projects()',
     $$SELECT cardinality(metrics.member_projects())::text$$, true,
     '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.project_id(text)',
     $$SELECT (metrics.project_id('matrix') IS NOT NULL)::text$$, true,
     '{42704,42704,ok:true,ok:true,ok:true}'),
    ('metrics.create_project(text,text,text,boolean)',
     $$SELECT (metrics.create_project('matrix-2', 'Matrix 2')).slug$$, false,
     '{42501,42501,42501,ok:matrix-2,ok:matrix-2}'),
    ('metrics.update_project(text,text,text,text)',
     $$SELECT (metrics.update_project('matrix', name => 'Renamed')).name$$, false,
     '{42501,42501,42501,ok:Renamed,ok:Renamed}'),
    ('metrics.drop_project(text)',
     $$SELECT metrics.drop_project('matrix')::text$$, false,
     '{42501,42501,42501,ok:true,ok:true}'),
    ('metrics.set_project_repository(text,text)',
     $$SELECT (metrics.set_project_repository('octo/other', 'matrix') IS NOT NULL)::text$$, false,
     '{42501,42501,42501,ok:true,ok:true}'),
    ('metrics.set_project_check(text)',
     $$SELECT coalesce(metrics.set_project_check(NULL), 'default')$$, false,
     '{42501,42501,42501,42501,ok:default}'),
    ('metrics._check_project_fields(text,text,text)',
     $$SELECT metrics._check_project_fields('ok', 'Ok', 'UTC')::text$$, true,
     '{42501,42501,42501,42501,ok:}'),
    ('metrics._resolve_check_function(text,regtype,text)',
     $$SELECT metrics._resolve_check_function('regress_hooks.claims_admin()', NULL, 'an example')::text$$, true,
     '{42501,42501,42501,42501,ok:regress_hooks.claims_admin()}'),
    -- The read model. Refreshing is the manage level (one row per project: matrix); the read
    -- API is the read level, but resolves the project as the caller: a project they may not
    -- read does not exist (42704), administrators get the answer, with the stored point.
    ('metrics.refresh_read_model(text,boolean)',
     $$SELECT count(*)::text FROM metrics.refresh_read_model()$$, false,
     '{42501,42501,42501,ok:1,ok:1}'),
    ('metrics.get_summary(text)',
     $$SELECT metrics.get_summary('matrix') -> 'project' ->> 'slug'$$, true,
     '{42704,42704,ok:matrix,ok:matrix,ok:matrix}'),
    ('metrics.get_trend(text,text,text,timestamp with time zone,timestamp with time zone,jsonb)',
     $$SELECT string_agg(p ->> 'time_bucket', ',')
       FROM jsonb_array_elements(metrics.get_trend('matrix', 'posts_created', 'day', '2025-06-01', '2025-06-04')::jsonb -> 'points') AS p$$, true,
     '{42704,42704,ok:2025-06-02T00:00:00Z,ok:2025-06-02T00:00:00Z,ok:2025-06-02T00:00:00Z}'),
    ('metrics.get_breakdown(text,text,text,timestamp with time zone,timestamp with time zone)',
     $$SELECT (a ->> 'kind') || ':' || jsonb_array_length(a::jsonb -> 'items') FROM metrics.get_breakdown('matrix', 'requests') AS a$$, true,
     '{42704,42704,ok:breakdown:0,ok:breakdown:0,ok:breakdown:0}'),
    ('metrics.get_drilldown(text,text,text,integer,text)',
     $$SELECT (a ->> 'kind') || ':' || jsonb_array_length(a::jsonb -> 'items') FROM metrics.get_drilldown('matrix', 'requests', 'route') AS a$$, true,
     '{42704,42704,ok:drilldown:0,ok:drilldown:0,ok:drilldown:0}');

SELECT is(pg_temp.outcome(c.api_role, c.claims, f.statement, f.read_only), f.expected[c.position],
          format('%s calls %s', c.caller, f.fn))
FROM function_cases AS f CROSS JOIN callers AS c
ORDER BY f.fn, c.position;

SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'metrics'::regnamespace$$,
    $$SELECT to_regprocedure(fn)::text FROM function_cases$$,
    'the matrix covers every function and procedure of the extension');

-- Tables: reading (the number of rows each caller sees) and the three writes, which only the
-- owner may attempt (and the sealing triggers stop even it for sealed rows).
CREATE TEMP TABLE table_cases (tbl text, action text, expected text[]);
INSERT INTO table_cases VALUES
    ('metrics.daily_metrics',         'select', '{ok:27,ok:27,ok:27,ok:27,ok:27}'),
    ('metrics.daily_metrics',         'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.daily_metrics',         'update', '{42501,42501,42501,42501,42501}'),
    ('metrics.daily_metrics',         'delete', '{42501,42501,42501,42501,42501}'),
    ('metrics.metric_definitions',    'select', '{ok:9,ok:9,ok:9,ok:9,ok:9}'),
    ('metrics.metric_definitions',    'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.metric_definitions',    'update', '{42501,42501,42501,42501,ok:9}'),
    ('metrics.metric_definitions',    'delete', '{42501,42501,42501,42501,23503}'),
    ('metrics.metric_collection_log', 'select', '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.metric_collection_log', 'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.metric_collection_log', 'update', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.metric_collection_log', 'delete', '{42501,42501,42501,42501,23503}'),
    ('metrics.metric_revisions',      'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.metric_revisions',      'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.metric_revisions',      'update', '{42501,42501,42501,42501,42501}'),
    ('metrics.metric_revisions',      'delete', '{42501,42501,42501,42501,42501}'),
    ('metrics.admin_check',           'select', '{ok:1,ok:1,ok:1,ok:1,ok:1}'),
    ('metrics.admin_check',           'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.admin_check',           'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.admin_check',           'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.api_access',            'select', '{42501,42501,42501,ok:1,ok:1}'),
    ('metrics.api_access',            'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.api_access',            'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.api_access',            'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.route_metrics',         'select', '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.route_metrics',         'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.route_metrics',         'update', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.route_metrics',         'delete', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.operation_metrics',     'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.operation_metrics',     'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.operation_metrics',     'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.operation_metrics',     'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.route_metrics_unfolded',     'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.route_metrics_unfolded',     'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.route_metrics_unfolded',     'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.route_metrics_unfolded',     'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.operation_metrics_unfolded', 'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.operation_metrics_unfolded', 'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.operation_metrics_unfolded', 'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.operation_metrics_unfolded', 'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.route_metrics_live',         'select', '{ok:0,ok:0,ok:3,ok:3,ok:3}'),
    ('metrics.route_metrics_live',         'insert', '{55000,55000,55000,55000,55000}'),
    ('metrics.route_metrics_live',         'update', '{55000,55000,55000,55000,55000}'),
    ('metrics.route_metrics_live',         'delete', '{55000,55000,55000,55000,55000}'),
    ('metrics.operation_metrics_live',     'select', '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.operation_metrics_live',     'insert', '{55000,55000,55000,55000,55000}'),
    ('metrics.operation_metrics_live',     'update', '{55000,55000,55000,55000,55000}'),
    ('metrics.operation_metrics_live',     'delete', '{55000,55000,55000,55000,55000}'),
    ('metrics.recorded_batches',           'select', '{42501,42501,42501,ok:1,ok:1}'),
    ('metrics.recorded_batches',           'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.recorded_batches',           'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.recorded_batches',           'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.compacted_periods',     'select', '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.compacted_periods',     'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.compacted_periods',     'update', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.compacted_periods',     'delete', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.maintenance_log',       'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.maintenance_log',       'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.maintenance_log',       'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.maintenance_log',       'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.retention_settings',    'select', '{42501,42501,42501,ok:0,ok:0}'),
    ('metrics.retention_settings',    'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.retention_settings',    'update', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.retention_settings',    'delete', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.retention_policies',    'select', '{42501,42501,42501,ok:10,ok:10}'),
    -- Written only by check_alerts(); nothing recorded yet here.
    ('metrics.alert_state',           'select', '{ok:0,ok:0,ok:0,ok:0,ok:0}'),
    ('metrics.alert_state',           'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.alert_state',           'update', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.alert_state',           'delete', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.alert_log',             'select', '{ok:0,ok:0,ok:0,ok:0,ok:0}'),
    ('metrics.alert_log',             'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.alert_log',             'update', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.alert_log',             'delete', '{42501,42501,42501,42501,ok:0}'),
    -- Development metrics: the facts are readable by every level, their rows by administrators
    -- only (the policies); the DORA clusters by everyone; the tiers and the views over the facts
    -- by the manage level. Only the recording functions write (as the owner).
    ('metrics.github_events',               'select', '{ok:0,ok:0,ok:6,ok:6,ok:6}'),
    ('metrics.github_events',               'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.github_events',               'update', '{42501,42501,42501,42501,ok:6}'),
    ('metrics.github_events',               'delete', '{42501,42501,42501,42501,ok:6}'),
    ('metrics.github_deployments',          'select', '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.github_deployments',          'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.github_deployments',          'update', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.github_deployments',          'delete', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.github_deployment_statuses',  'select', '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.github_deployment_statuses',  'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.github_deployment_statuses',  'update', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.github_deployment_statuses',  'delete', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.github_pull_requests',        'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.github_pull_requests',        'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.github_pull_requests',        'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_pull_requests',        'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_pushes',               'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.github_pushes',               'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.github_pushes',               'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_pushes',               'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_workflow_runs',        'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.github_workflow_runs',        'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.github_workflow_runs',        'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_workflow_runs',        'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_issues',               'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.github_issues',               'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.github_issues',               'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_issues',               'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_repositories',         'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.github_repositories',         'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.github_repositories',         'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_repositories',         'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_environments',         'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.github_environments',         'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.github_environments',         'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.github_environments',         'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.dora_deployments',            'select', '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.dora_deployments',            'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.dora_deployments',            'update', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.dora_deployments',            'delete', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.dora_deployed_shas',          'select', '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.dora_deployed_shas',          'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.dora_deployed_shas',          'update', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.dora_deployed_shas',          'delete', '{42501,42501,42501,42501,ok:2}'),
    ('metrics.dora_changes',                'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.dora_changes',                'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.dora_changes',                'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.dora_changes',                'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.dora_levels',                 'select', '{ok:4,ok:4,ok:4,ok:4,ok:4}'),
    ('metrics.dora_levels',                 'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.dora_levels',                 'update', '{42501,42501,42501,42501,ok:4}'),
    ('metrics.dora_levels',                 'delete', '{42501,42501,42501,42501,ok:4}'),
    ('metrics.environment_settings',        'select', '{ok:0,ok:0,ok:0,ok:0,ok:0}'),
    ('metrics.environment_settings',        'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.environment_settings',        'update', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.environment_settings',        'delete', '{42501,42501,42501,42501,ok:0}'),
    -- The views run as their reader: the facts' rows are the administrators'.
    ('metrics.environments',                'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.dora_incidents',              'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.dora_deployment_facts',       'select', '{ok:0,ok:0,ok:2,ok:2,ok:2}'),
    ('metrics.dora_change_facts',           'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.dora_recovery_facts',         'select', '{ok:0,ok:0,ok:0,ok:0,ok:0}'),
    -- Projects and the read model: members and administrators (nobody here is a member).
    ('metrics.projects',                    'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.projects',                    'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.projects',                    'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.projects',                    'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.project_check',               'select', '{ok:0,ok:0,ok:0,ok:0,ok:0}'),
    ('metrics.project_check',               'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.project_check',               'update', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.project_check',               'delete', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.project_repositories',        'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.project_repositories',        'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.project_repositories',        'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.project_repositories',        'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.metrics_trend_point',         'select', '{ok:0,ok:0,ok:1,ok:1,ok:1}'),
    ('metrics.metrics_trend_point',         'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.metrics_trend_point',         'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.metrics_trend_point',         'delete', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.metrics_summary',             'select', '{ok:0,ok:0,ok:0,ok:0,ok:0}'),
    ('metrics.metrics_summary',             'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.metrics_summary',             'update', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.metrics_summary',             'delete', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.metrics_breakdown_point',     'select', '{ok:0,ok:0,ok:0,ok:0,ok:0}'),
    ('metrics.metrics_breakdown_point',     'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.metrics_breakdown_point',     'update', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.metrics_breakdown_point',     'delete', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.metrics_drilldown',           'select', '{ok:0,ok:0,ok:0,ok:0,ok:0}'),
    ('metrics.metrics_drilldown',           'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.metrics_drilldown',           'update', '{42501,42501,42501,42501,ok:0}'),
    ('metrics.metrics_drilldown',           'delete', '{42501,42501,42501,42501,ok:0}'),
    -- The refresh's state: the manage level reads it (its policy: administrators), only the
    -- refresh writes it (as the owner).
    ('metrics.read_model_state',            'select', '{42501,42501,42501,ok:1,ok:1}'),
    ('metrics.read_model_state',            'insert', '{42501,42501,42501,42501,23502}'),
    ('metrics.read_model_state',            'update', '{42501,42501,42501,42501,ok:1}'),
    ('metrics.read_model_state',            'delete', '{42501,42501,42501,42501,ok:1}');

-- Rows not yet folded, for the unfolded tables to show (the function matrix folded the
-- others), and a batch id.
SELECT metrics.record_route_metric('/matrix_unfolded', 'GET', true, 1) IS NULL AS appended,
       metrics.record_operation_metric('matrix_unfolded', true, 1) IS NULL AS appended_too,
       metrics.record_route_metrics('[]', 'c0c0c0c0-0000-4000-8000-000000000001') = 0 AS batch_id;
SELECT is(pg_temp.outcome(c.api_role, c.claims,
              CASE t.action
                  WHEN 'select' THEN format('SELECT count(*)::text FROM %s', t.tbl)
                  WHEN 'insert' THEN format('WITH w AS (INSERT INTO %s DEFAULT VALUES RETURNING 1) SELECT count(*)::text FROM w', t.tbl)
                  WHEN 'update' THEN format('WITH w AS (UPDATE %1$s SET %2$I = %2$I RETURNING 1) SELECT count(*)::text FROM w', t.tbl,
                                            (SELECT attname FROM pg_attribute WHERE attrelid = t.tbl::regclass AND attnum = 1))
                  WHEN 'delete' THEN format('WITH w AS (DELETE FROM %s RETURNING 1) SELECT count(*)::text FROM w', t.tbl)
              END,
              t.action = 'select'),
          t.expected[c.position],
          format('%s: %s on %s', c.caller, t.action, t.tbl))
FROM table_cases AS t CROSS JOIN callers AS c
ORDER BY t.tbl, t.action, c.position;

SELECT set_eq(
    $$SELECT c.oid::regclass::text FROM pg_class c WHERE c.relnamespace = 'metrics'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')$$,
    $$SELECT DISTINCT tbl FROM table_cases$$,
    'the matrix covers every table of the extension');

-- Nothing any case did survived its rollback.
SELECT is((SELECT count(*) FROM metrics.daily_metrics), 27::bigint, 'the matrix left the metrics as they were');
SELECT is((SELECT count(*) FROM metrics.metric_definitions WHERE metric_category = 'matrix_posts'), 0::bigint, 'and defined nothing');
SELECT is((SELECT check_function FROM metrics.admin_check), 'regress_hooks.claims_admin()', 'and kept the admin check');

SELECT * FROM finish();
ROLLBACK;
