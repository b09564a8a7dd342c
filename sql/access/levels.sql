-- metrics: who may call what. Every object of the extension has an access level, declared
-- once in metrics.access_rules(); roles are given a level with metrics.grant_api_access().
--
--   read      dashboards: the sealed metrics, their definitions, the read functions
--             (Supabase: anon, authenticated)
--   manage    read, plus defining, collecting, correcting and scheduling metrics
--             (Supabase: service_role)
--   owner     changing access itself: the extension owner, and the roles it delegates to
--             with GRANT EXECUTE (on Supabase, where supabase_admin owns privileged
--             extensions, to postgres); these functions run as the owner
--   internal  never called by an API role: the trigger function, and the parts of the
--             owner's own code (the level order, the checks verify_security is made of)
--
-- Supabase's roles get their level at CREATE EXTENSION when they exist. Plain PostgreSQL has
-- none of them, so nobody but the owner can use the extension until it grants access: to
-- roles created later, or to its own roles (PostgREST's web_anon, an analyst role, ...).

-- Explicit choices of the owner, which override the Supabase defaults. Rows are written only
-- by metrics.grant_api_access and metrics.revoke_api_access, never at CREATE EXTENSION, so a
-- dump restores them without conflict.
CREATE TABLE metrics.api_access (
    role_name  name PRIMARY KEY,
    access     text NOT NULL CHECK (access IN ('read', 'manage', 'none')),
    granted_by name NOT NULL DEFAULT session_user,
    granted_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.api_access IS
    'Access levels given to roles with metrics.grant_api_access / revoke_api_access (overrides the Supabase defaults).';

SELECT pg_catalog.pg_extension_config_dump('metrics.api_access', '');

-- The levels in order, lowest first; a level may do what the levels below it may.
CREATE FUNCTION metrics._access_levels()
RETURNS TABLE (access text, rank integer)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    VALUES ('none', 0), ('read', 1), ('manage', 2), ('owner', 3), ('internal', 4)
$$;
COMMENT ON FUNCTION metrics._access_levels() IS
    'The access levels in order (none, read, manage, owner, internal), with their rank.';

-- The access level of every object. A function or table missing here is treated as 'owner'
-- by metrics.verify_security, and the install test fails until it is listed.
CREATE FUNCTION metrics.access_rules()
RETURNS TABLE (object_type text, object_name text, privilege text, access text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    VALUES
        ('schema',    'metrics',                      'USAGE',   'read'),
        ('table',     'metrics.daily_metrics',         'SELECT',  'read'),
        ('table',     'metrics.metric_definitions',    'SELECT',  'read'),
        -- Readable, but the policies return rows only to administrators.
        ('table',     'metrics.metric_collection_log', 'SELECT',  'read'),
        ('table',     'metrics.metric_revisions',      'SELECT',  'read'),
        -- metrics.is_admin() runs as the caller and reads the configured check.
        ('table',     'metrics.admin_check',           'SELECT',  'read'),
        ('table',     'metrics.api_access',            'SELECT',  'manage'),
        -- Request and operation metrics: readable, but the policies return rows only to
        -- administrators (like the collection log).
        ('table',     'metrics.route_metrics',         'SELECT',  'read'),
        ('table',     'metrics.operation_metrics',     'SELECT',  'read'),
        -- 0.7.0: what direct recording appended and has not been folded yet, and the views
        -- of both (security_invoker: the same policies, administrators only). The batch ids
        -- are recording's bookkeeping, read by the manage level that records.
        ('table',     'metrics.route_metrics_unfolded',     'SELECT',  'read'),
        ('table',     'metrics.operation_metrics_unfolded', 'SELECT',  'read'),
        ('table',     'metrics.route_metrics_live',         'SELECT',  'read'),
        ('table',     'metrics.operation_metrics_live',     'SELECT',  'read'),
        ('table',     'metrics.recorded_batches',           'SELECT',  'manage'),
        -- Maintenance: the periods compaction folded and the job ledger are operational
        -- data, readable by administrators only (policies); retention is configuration,
        -- for the manage level (the view runs as its reader, who needs the defaults too).
        ('table',     'metrics.compacted_periods',     'SELECT',  'read'),
        ('table',     'metrics.maintenance_log',       'SELECT',  'read'),
        ('table',     'metrics.retention_settings',    'SELECT',  'manage'),
        ('table',     'metrics.retention_policies',    'SELECT',  'manage'),
        ('function',  'metrics._retention_defaults()',                      'EXECUTE', 'manage'),
        -- maintenance: health and alerts (tables)
        -- The alert state and log are operational data, like the maintenance log: readable,
        -- but the policies return rows only to administrators. Only check_alerts() writes.
        ('table',     'metrics.alert_state',           'SELECT',  'read'),
        ('table',     'metrics.alert_log',             'SELECT',  'read'),
        -- Development metrics (tables): the raw GitHub events, the facts and what is derived
        -- from them are readable, but the policies return rows only to administrators (the
        -- payloads name people and commits); the DORA clusters are public reference data.
        ('table',     'metrics.github_events',              'SELECT', 'read'),
        ('table',     'metrics.github_deployments',         'SELECT', 'read'),
        ('table',     'metrics.github_deployment_statuses', 'SELECT', 'read'),
        ('table',     'metrics.github_pull_requests',       'SELECT', 'read'),
        ('table',     'metrics.github_pushes',              'SELECT', 'read'),
        ('table',     'metrics.github_workflow_runs',       'SELECT', 'read'),
        ('table',     'metrics.github_issues',              'SELECT', 'read'),
        ('table',     'metrics.github_repositories',        'SELECT', 'read'),
        ('table',     'metrics.github_environments',        'SELECT', 'read'),
        ('table',     'metrics.dora_deployments',           'SELECT', 'read'),
        ('table',     'metrics.dora_deployed_shas',         'SELECT', 'read'),
        ('table',     'metrics.dora_changes',               'SELECT', 'read'),
        ('table',     'metrics.dora_levels',                'SELECT', 'read'),
        -- The views of the keys' rules run as their reader, so they show administrators'
        -- rows only; get_dora_metrics reads them as its caller, who needs the environment
        -- tiers too (a name -> tier mapping, not secret).
        ('table',     'metrics.environment_settings',       'SELECT', 'read'),
        ('table',     'metrics.environments',               'SELECT', 'read'),
        ('table',     'metrics.dora_incidents',             'SELECT', 'read'),
        ('table',     'metrics.dora_deployment_facts',      'SELECT', 'read'),
        ('table',     'metrics.dora_change_facts',          'SELECT', 'read'),
        ('table',     'metrics.dora_recovery_facts',        'SELECT', 'read'),
        -- Projects: readable, but the policies show a reader only the projects they are a
        -- member of (administrators: all), and the rows of those projects; is_project_member()
        -- runs as the caller and reads the configured check, like is_admin() the admin check.
        ('table',     'metrics.projects',                   'SELECT', 'read'),
        ('table',     'metrics.project_check',              'SELECT', 'read'),
        ('table',     'metrics.project_repositories',       'SELECT', 'read'),
        ('function',  'metrics.is_project_member(uuid,text)',               'EXECUTE', 'read'),
        ('function',  'metrics.member_projects()',                          'EXECUTE', 'read'),
        ('function',  'metrics.project_id(text)',                           'EXECUTE', 'read'),
        -- The read model: readable, but the policies show a reader only their projects' rows.
        ('table',     'metrics.metrics_summary',            'SELECT', 'read'),
        ('table',     'metrics.metrics_trend_point',        'SELECT', 'read'),
        ('table',     'metrics.metrics_breakdown_point',    'SELECT', 'read'),
        ('table',     'metrics.metrics_drilldown',          'SELECT', 'read'),
        -- The read API: one json answer each, STABLE (GET). SECURITY DEFINER, but the project
        -- is resolved as the caller first (metrics.project_id, the caller's RLS: a project they
        -- may not read is 42704 like one that does not exist), and only its rows are read.
        ('function',  'metrics.get_summary(text)',                          'EXECUTE', 'read'),
        ('function',  'metrics.get_trend(text,text,text,timestamp with time zone,timestamp with time zone,jsonb)', 'EXECUTE', 'read'),
        ('function',  'metrics.get_breakdown(text,text,text,timestamp with time zone,timestamp with time zone)', 'EXECUTE', 'read'),
        ('function',  'metrics.get_drilldown(text,text,text,integer,text)', 'EXECUTE', 'read'),
        -- How far refresh_read_model has got per project and source: what the jobs that
        -- refresh need to see (the policy shows it to administrators only).
        ('table',     'metrics.read_model_state',           'SELECT', 'manage'),
        -- Refreshing writes every project's read model with the owner's rights (a project
        -- named is resolved as the caller, like every project argument): the manage level.
        ('function',  'metrics.refresh_read_model(text,boolean)',           'EXECUTE', 'manage'),
        -- Creating and changing projects writes with the owner's rights: the manage level.
        ('function',  'metrics.create_project(text,text,text,boolean)',     'EXECUTE', 'manage'),
        ('function',  'metrics.update_project(text,text,text,text)',        'EXECUTE', 'manage'),
        ('function',  'metrics.drop_project(text)',                         'EXECUTE', 'manage'),
        ('function',  'metrics.set_project_repository(text,text)',          'EXECUTE', 'manage'),
        -- The daily reads take an optional project (0.6.0): SECURITY INVOKER, they resolve it
        -- with the caller's rights and read what the caller's policies show, so the read level.
        ('function',  'metrics.fetch_metrics(date,date,text[],text[],text,text)', 'EXECUTE', 'read'),
        ('function',  'metrics.activity_series(integer,text[],text)',       'EXECUTE', 'read'),
        -- A sparkline (0.7.0) draws what activity_series returns, read as the caller (SECURITY
        -- INVOKER): the read level.
        ('function',  'metrics.sparkline(text,integer,text)',               'EXECUTE', 'read'),
        ('function',  'metrics.current_metrics(text)',                      'EXECUTE', 'read'),
        ('function',  'metrics.last_closed_day()',                          'EXECUTE', 'read'),
        ('function',  'metrics.is_admin()',                                 'EXECUTE', 'read'),
        -- 0.6.0: the reports take a project (last, NULL: every project together); they run as
        -- the caller, who names the project through metrics.project_id (RLS: administrators).
        ('function',  'metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean,text)', 'EXECUTE', 'read'),
        ('function',  'metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean,text)', 'EXECUTE', 'read'),
        ('function',  'metrics.merge_latency_sketch(bytea,bytea)',          'EXECUTE', 'read'),
        ('function',  'metrics.merge_latency_sketches(bytea)',              'EXECUTE', 'read'),
        ('function',  'metrics.latency_quantile(bytea,double precision)',   'EXECUTE', 'read'),
        -- 0.7.0: the sketch of one duration, which the _live views give an event's row.
        ('function',  'metrics.latency_sketch_of(double precision)',        'EXECUTE', 'read'),
        -- Recording writes the tables with the owner's rights: server-side callers only
        -- (service_role), never a browser's anon key.
        -- 0.6.0: an event may name its project (the last argument, or the batch's "project"
        -- field), resolved with the owner's rights: the recorder is a server, not a member.
        ('function',  'metrics.record_route_metric(text,text,boolean,double precision,text)', 'EXECUTE', 'manage'),
        ('function',  'metrics.record_operation_metric(text,boolean,double precision,text)',  'EXECUTE', 'manage'),
        -- 0.7.0: a batch may carry an id, remembered so that a retry is counted once.
        ('function',  'metrics.record_route_metrics(jsonb,uuid)',           'EXECUTE', 'manage'),
        ('function',  'metrics.record_operation_metrics(jsonb,uuid)',       'EXECUTE', 'manage'),
        -- 0.7.0: folding writes the hour rows with the owner's rights, like compaction.
        ('function',  'metrics.fold_metrics(integer)',                      'EXECUTE', 'manage'),
        -- Defining writes the definitions with the owner's rights (0.6.0: and a project column).
        ('function',  'metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text)', 'EXECUTE', 'manage'),
        ('function',  'metrics.activate_metric(text)',                      'EXECUTE', 'manage'),
        ('function',  'metrics.deactivate_metric(text)',                    'EXECUTE', 'manage'),
        ('function',  'metrics.install_preset(text,text)',                  'EXECUTE', 'manage'),
        ('function',  'metrics.collect_daily_metrics(date)',                'EXECUTE', 'manage'),
        ('function',  'metrics.backfill_daily_metrics(date,date)',          'EXECUTE', 'manage'),
        ('procedure', 'metrics.backfill_daily_metrics_chunked(date,date,integer)', 'EXECUTE', 'manage'),
        ('function',  'metrics.recollect(date,text[],text)',                'EXECUTE', 'manage'),
        ('function',  'metrics.recollect_outdated(date,date,text,text[])',  'EXECUTE', 'manage'),
        -- Asked by backfill_daily_metrics_chunked, which runs as its caller.
        ('function',  'metrics._can_commit()',                              'EXECUTE', 'manage'),
        ('function',  'metrics.schedule_daily_collection(text)',            'EXECUTE', 'manage'),
        ('function',  'metrics.unschedule_daily_collection()',             'EXECUTE', 'manage'),
        ('function',  'metrics.verify_security()',                          'EXECUTE', 'manage'),
        -- Retention and compaction: configuration and work of the manage level.
        ('function',  'metrics.set_retention_policy(text,interval,interval,interval)', 'EXECUTE', 'manage'),
        ('function',  'metrics.compact_metrics(boolean,integer)',           'EXECUTE', 'manage'),
        -- maintenance: the maintenance job (functions)
        -- The job and its schedule: the work of the manage level, like collecting and
        -- scheduling the daily collection (service_role runs it, pg_cron as the owner).
        ('procedure', 'metrics.run_maintenance()',                          'EXECUTE', 'manage'),
        ('function',  'metrics.schedule_maintenance(text)',                 'EXECUTE', 'manage'),
        ('function',  'metrics.unschedule_maintenance()',                   'EXECUTE', 'manage'),
        -- Its steps, SECURITY DEFINER: run_maintenance runs as its caller (it commits, so
        -- it can have no SET clause nor SECURITY DEFINER), who needs EXECUTE on each.
        ('function',  'metrics._maintenance_begin()',                       'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_catch_up(uuid)',                'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_compact(uuid)',                 'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_prune(uuid,integer)',           'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_alerts(uuid)',                  'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_read_model(uuid)',              'EXECUTE', 'manage'),
        ('function',  'metrics._maintenance_end(uuid)',                     'EXECUTE', 'manage'),

        -- maintenance: health and alerts (functions)
        -- health() reads the admin-only tables with the owner's rights and check_alerts()
        -- writes the alert tables: server-side operators only (service_role); both also
        -- refuse callers metrics.is_admin() does not accept, decided as the caller.
        ('function',  'metrics.health()',                                   'EXECUTE', 'manage'),
        ('function',  'metrics.check_alerts()',                             'EXECUTE', 'manage'),

        -- Development metrics (functions). The keys, read as the caller (like the request
        -- reports: their rows are the administrators').
        ('function',  'metrics.get_dora_metrics(date,date,text,text,text)', 'EXECUTE', 'read'),
        -- Recording and the tiers write with the owner's rights: server-side callers only
        -- (service_role, a workflow's service key), never a browser's anon key. explain_dora
        -- lists the facts themselves, and also refuses non-administrators.
        ('function',  'metrics.record_github_event(text,jsonb,text,text)',  'EXECUTE', 'manage'),
        ('function',  'metrics.record_github_events(jsonb)',                'EXECUTE', 'manage'),
        ('function',  'metrics.set_environment_tier(text,text)',            'EXECUTE', 'manage'),
        ('function',  'metrics.explain_dora(text,text,date)',               'EXECUTE', 'manage'),
        -- Called by the views above as their reader.
        ('function',  'metrics.environment_tier(text)',                     'EXECUTE', 'read'),
        ('function',  'metrics._default_environment_tier(text)',            'EXECUTE', 'read'),
        ('function',  'metrics._dora_incident_label()',                     'EXECUTE', 'read'),
        ('function',  'metrics._dora_hotfix_label()',                       'EXECUTE', 'read'),
        ('function',  'metrics._dora_incident_window()',                    'EXECUTE', 'read'),
        ('function',  'metrics.access_rules()',                             'EXECUTE', 'manage'),
        ('function',  'metrics.api_roles()',                                'EXECUTE', 'manage'),
        ('function',  'metrics.grant_api_access(name,text)',                'EXECUTE', 'owner'),
        ('function',  'metrics.revoke_api_access(name)',                    'EXECUTE', 'owner'),
        ('function',  'metrics.set_admin_check(text)',                      'EXECUTE', 'owner'),
        -- Who is a member of a project decides what every reader sees, like the admin check.
        ('function',  'metrics.set_project_check(text)',                    'EXECUTE', 'owner'),
        ('function',  'metrics.apply_api_access(name,text)',                'EXECUTE', 'owner'),
        ('function',  'metrics.sealed_rows_guard()',                        'EXECUTE', 'internal'),
        ('function',  'metrics._protect_history()',                         'EXECUTE', 'internal'),
        -- The distinct-count sketch the computing statements call as the source's owner,
        -- who alone is given EXECUTE on it (and USAGE on the schema), when first needed.
        ('function',  'metrics._distinct_sketch(bigint)',                   'EXECUTE', 'internal'),
        ('function',  'metrics.distinct_sketch_agg_distinct_sketch_agg_state(internal,bigint)', 'EXECUTE', 'internal'),
        ('function',  'metrics.distinct_sketch_agg_distinct_sketch_agg_finalize(internal)',     'EXECUTE', 'internal'),
        -- The level order and the parts of verify_security: called only by the owner's code
        -- (apply_api_access under grant_api_access, and verify_security, SECURITY DEFINER).
        -- Parts of the owner's functions that validate (set_*_check, create_project, update_project).
        ('function',  'metrics._resolve_check_function(text,regtype,text)', 'EXECUTE', 'internal'),
        ('function',  'metrics._check_project_fields(text,text,text)',      'EXECUTE', 'internal'),
        ('function',  'metrics._access_levels()',                           'EXECUTE', 'internal'),
        ('function',  'metrics._security_rules()',                          'EXECUTE', 'internal'),
        ('function',  'metrics._security_roles()',                          'EXECUTE', 'internal'),
        ('function',  'metrics._security_routines()',                       'EXECUTE', 'internal'),
        ('function',  'metrics._security_relations()',                      'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_setup()',                 'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_privileges()',            'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_ledger()',                'EXECUTE', 'internal')
$$;
COMMENT ON FUNCTION metrics.access_rules() IS
    'The access level (read, manage, owner, internal) of every schema, table and function of the extension.';

-- The roles that use the extension through an API and their level: Supabase's roles by
-- default, overridden by the owner's explicit choices. Roles that do not exist are listed
-- with role_exists = false.
CREATE FUNCTION metrics.api_roles()
RETURNS TABLE (role_name name, access text, source text, role_exists boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH defaults (role_name, access) AS (
        VALUES ('anon'::name, 'read'), ('authenticated'::name, 'read'), ('service_role'::name, 'manage')
    ),
    chosen AS (
        SELECT coalesce(a.role_name, d.role_name) AS role_name,
               coalesce(a.access, d.access) AS access,
               CASE WHEN a.role_name IS NULL THEN 'supabase default' ELSE 'granted' END AS source
        FROM defaults AS d
        FULL JOIN metrics.api_access AS a ON a.role_name = d.role_name
    )
    SELECT c.role_name, c.access, c.source,
           EXISTS (SELECT FROM pg_catalog.pg_roles AS r WHERE r.rolname = c.role_name)
    FROM chosen AS c
    ORDER BY c.role_name
$$;
COMMENT ON FUNCTION metrics.api_roles() IS
    'Roles with an access level: Supabase''s anon, authenticated and service_role by default, overridden by metrics.grant_api_access.';

-- Grants (and revokes) every privilege of access_rules() so that role_name holds exactly
-- what its level allows. Internal: callers go through grant_api_access / revoke_api_access.
CREATE FUNCTION metrics.apply_api_access(role_name name, access text)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rule    record;
    target  text;
    granted integer := 0;
BEGIN
    IF access IS NULL OR access NOT IN ('none', 'read', 'manage') THEN
        RAISE EXCEPTION 'unknown access level "%"', access
            USING ERRCODE = '22023', HINT = 'the levels a role can have are none, read and manage';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles AS pr WHERE pr.rolname = apply_api_access.role_name) THEN
        RAISE EXCEPTION 'role "%" does not exist', apply_api_access.role_name
            USING ERRCODE = '42704', HINT = 'create the role first; metrics.api_roles() lists the roles with a level';
    END IF;
    -- In the ledger's order; a rule of a level this function does not know is revoked.
    FOR rule IN
        SELECT r.object_type, r.object_name, r.privilege,
               coalesce(l.rank <= (SELECT m.rank FROM metrics._access_levels() AS m WHERE m.access = apply_api_access.access),
                        false) AS allowed
        FROM metrics.access_rules() WITH ORDINALITY AS r (object_type, object_name, privilege, access, position)
        LEFT JOIN metrics._access_levels() AS l ON l.access = r.access
        ORDER BY r.position
    LOOP
        target := CASE rule.object_type
            WHEN 'schema' THEN pg_catalog.quote_ident(rule.object_name)
            WHEN 'table' THEN 'TABLE ' || pg_catalog.to_regclass(rule.object_name)::text
            WHEN 'function' THEN 'FUNCTION ' || pg_catalog.to_regprocedure(rule.object_name)::text
            WHEN 'procedure' THEN 'PROCEDURE ' || pg_catalog.to_regprocedure(rule.object_name)::text
        END;
        IF target IS NULL THEN
            RAISE EXCEPTION 'access rule names % %, which does not exist', rule.object_type, rule.object_name
                USING ERRCODE = '42704',
                      HINT = 'the installed extension files do not match; reinstall the extension or update it with ALTER EXTENSION metrics UPDATE';
        END IF;
        IF rule.object_type = 'schema' THEN
            target := 'SCHEMA ' || target;
        END IF;
        IF rule.allowed THEN
            EXECUTE pg_catalog.format('GRANT %s ON %s TO %I', rule.privilege, target, apply_api_access.role_name);
            granted := granted + 1;
        ELSE
            EXECUTE pg_catalog.format('REVOKE %s ON %s FROM %I', rule.privilege, target, apply_api_access.role_name);
        END IF;
    END LOOP;
    RETURN granted;
END
$$;

-- The owner-level functions are SECURITY DEFINER so that a role the owner delegates to (by
-- GRANT EXECUTE) can change grants on objects it does not own; EXECUTE is the only gate.
CREATE FUNCTION metrics.grant_api_access(role_name name DEFAULT NULL, access text DEFAULT NULL)
RETURNS TABLE (api_role name, api_access text, privileges integer, status text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    owner_oid oid := (SELECT e.extowner FROM pg_catalog.pg_extension AS e WHERE e.extname = 'metrics');
    r record;
BEGIN
    IF role_name IS NULL THEN
        IF access IS NOT NULL THEN
            RAISE EXCEPTION 'access given without a role'
                USING ERRCODE = '22004',
                      HINT = 'name the role, e.g. metrics.grant_api_access(''web_anon'', ''read''), or call metrics.grant_api_access() to (re)apply every level';
        END IF;
        -- (Re)apply every level: the Supabase defaults and the owner's choices.
        FOR r IN SELECT * FROM metrics.api_roles() AS a ORDER BY a.role_name LOOP
            api_role := r.role_name;
            api_access := r.access;
            IF NOT r.role_exists THEN
                privileges := 0;
                status := 'skipped: role does not exist';
            ELSE
                privileges := metrics.apply_api_access(r.role_name, r.access);
                status := 'applied';
            END IF;
            RETURN NEXT;
        END LOOP;
        RETURN;
    END IF;

    access := coalesce(access, 'read');
    IF access NOT IN ('read', 'manage') THEN
        RAISE EXCEPTION 'unknown access level "%"', access
            USING ERRCODE = '22023',
                  HINT = 'use read (dashboards) or manage (define, collect, schedule); metrics.revoke_api_access removes access';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles AS pr WHERE pr.rolname = grant_api_access.role_name) THEN
        RAISE EXCEPTION 'role "%" does not exist', grant_api_access.role_name
            USING ERRCODE = '42704',
                  HINT = 'create the role first, or call metrics.grant_api_access() with no arguments to apply the defaults to the roles that exist';
    END IF;
    IF (SELECT pr.oid = owner_oid OR pr.rolsuper FROM pg_catalog.pg_roles AS pr WHERE pr.rolname = grant_api_access.role_name) THEN
        RAISE EXCEPTION 'role "%" owns the extension or is a superuser; its access cannot be changed', grant_api_access.role_name
            USING ERRCODE = '22023', HINT = 'grant access to the roles your API or users connect as';
    END IF;

    INSERT INTO metrics.api_access AS a (role_name, access)
    VALUES (grant_api_access.role_name, grant_api_access.access)
    ON CONFLICT ON CONSTRAINT api_access_pkey
    DO UPDATE SET access = excluded.access, granted_by = session_user, granted_at = now();

    api_role := grant_api_access.role_name;
    api_access := grant_api_access.access;
    privileges := metrics.apply_api_access(grant_api_access.role_name, grant_api_access.access);
    status := 'applied';
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION metrics.grant_api_access(name, text) IS
    'Give a role read or manage access (recorded, re-applied on upgrades); with no arguments, (re)apply every level to the roles that exist.';

CREATE FUNCTION metrics.revoke_api_access(role_name name)
RETURNS TABLE (api_role name, api_access text, privileges integer, status text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF role_name IS NULL THEN
        RAISE EXCEPTION 'role_name must not be NULL'
            USING ERRCODE = '22004', HINT = 'name the role whose access to remove';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles AS pr WHERE pr.rolname = revoke_api_access.role_name)
       AND NOT EXISTS (SELECT FROM metrics.api_roles() AS a WHERE a.role_name = revoke_api_access.role_name) THEN
        RAISE EXCEPTION 'role "%" does not exist', revoke_api_access.role_name
            USING ERRCODE = '42704', HINT = 'see metrics.api_roles() for the roles that have access';
    END IF;
    INSERT INTO metrics.api_access AS a (role_name, access)
    VALUES (revoke_api_access.role_name, 'none')
    ON CONFLICT ON CONSTRAINT api_access_pkey
    DO UPDATE SET access = 'none', granted_by = session_user, granted_at = now();

    api_role := revoke_api_access.role_name;
    api_access := 'none';
    privileges := 0;
    status := 'recorded';
    IF EXISTS (SELECT FROM pg_catalog.pg_roles AS pr WHERE pr.rolname = revoke_api_access.role_name) THEN
        PERFORM metrics.apply_api_access(revoke_api_access.role_name, 'none');
        status := 'revoked';
    END IF;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION metrics.revoke_api_access(name) IS
    'Remove every privilege of a role on the extension; recorded, so upgrades and grant_api_access() keep it removed.';
