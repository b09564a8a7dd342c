-- metrics 0.2.0 -> 0.2.1.
--
-- A restructuring release. The library moved into one folder per subsystem; in SQL,
-- verify_security() is now the union of three groups of checks, each a function of its own
-- over shared facts (metrics._security_*), with the same findings, and the order of the
-- access levels is defined once (metrics._access_levels), which apply_api_access uses. The
-- new functions are internal: verify_security, now SECURITY DEFINER with its pinned
-- search_path, calls them as the owner, so no API role is granted anything by this update.
-- (Privileges granted inside an update script become the objects' initial privileges, which
-- pg_dump does not dump: only the new functions' grants are touched here, and only to take
-- EXECUTE from PUBLIC, as a fresh install does.)
--
-- Two changes callers can see come with the library, whatever the installed version: an
-- unknown metric category is SQLSTATE 42704 in every function (fetch_metrics and
-- activity_series said 22023), and a stored row the extension cannot read is an error XX001
-- that names it, never a 0.
\echo Use "ALTER EXTENSION metrics UPDATE TO '0.2.1'" to load this file. \quit

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

-- The ledger lists the new functions.
-- The access level of every object. A function or table missing here is treated as 'owner'
-- by metrics.verify_security, and the install test fails until it is listed.
CREATE OR REPLACE FUNCTION metrics.access_rules()
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
        ('function',  'metrics.fetch_metrics(date,date,text[],text[],text)', 'EXECUTE', 'read'),
        ('function',  'metrics.activity_series(integer,text[])',            'EXECUTE', 'read'),
        ('function',  'metrics.current_metrics()',                          'EXECUTE', 'read'),
        ('function',  'metrics.last_closed_day()',                          'EXECUTE', 'read'),
        ('function',  'metrics.is_admin()',                                 'EXECUTE', 'read'),
        ('function',  'metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean)', 'EXECUTE', 'read'),
        ('function',  'metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean)', 'EXECUTE', 'read'),
        ('function',  'metrics.merge_latency_sketch(bytea,bytea)',          'EXECUTE', 'read'),
        ('function',  'metrics.merge_latency_sketches(bytea)',              'EXECUTE', 'read'),
        ('function',  'metrics.latency_quantile(bytea,double precision)',   'EXECUTE', 'read'),
        -- Recording writes the tables with the owner's rights: server-side callers only
        -- (service_role), never a browser's anon key.
        ('function',  'metrics.record_route_metric(text,text,boolean,double precision)', 'EXECUTE', 'manage'),
        ('function',  'metrics.record_operation_metric(text,boolean,double precision)',  'EXECUTE', 'manage'),
        ('function',  'metrics.record_route_metrics(jsonb)',                'EXECUTE', 'manage'),
        ('function',  'metrics.record_operation_metrics(jsonb)',            'EXECUTE', 'manage'),
        ('function',  'metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'EXECUTE', 'manage'),
        ('function',  'metrics.activate_metric(text)',                      'EXECUTE', 'manage'),
        ('function',  'metrics.deactivate_metric(text)',                    'EXECUTE', 'manage'),
        ('function',  'metrics.install_preset(text,text)',                  'EXECUTE', 'manage'),
        ('function',  'metrics.collect_daily_metrics(date)',                'EXECUTE', 'manage'),
        ('function',  'metrics.backfill_daily_metrics(date,date)',          'EXECUTE', 'manage'),
        ('procedure', 'metrics.backfill_daily_metrics_chunked(date,date,integer)', 'EXECUTE', 'manage'),
        ('function',  'metrics.recollect(date,text[],text)',                'EXECUTE', 'manage'),
        ('function',  'metrics.schedule_daily_collection(text)',            'EXECUTE', 'manage'),
        ('function',  'metrics.unschedule_daily_collection()',             'EXECUTE', 'manage'),
        ('function',  'metrics.verify_security()',                          'EXECUTE', 'manage'),

        ('function',  'metrics.access_rules()',                             'EXECUTE', 'manage'),
        ('function',  'metrics.api_roles()',                                'EXECUTE', 'manage'),
        ('function',  'metrics.grant_api_access(name,text)',                'EXECUTE', 'owner'),
        ('function',  'metrics.revoke_api_access(name)',                    'EXECUTE', 'owner'),
        ('function',  'metrics.set_admin_check(text)',                      'EXECUTE', 'owner'),
        ('function',  'metrics.apply_api_access(name,text)',                'EXECUTE', 'owner'),
        ('function',  'metrics.sealed_rows_guard()',                        'EXECUTE', 'internal'),
        -- The level order and the parts of verify_security: called only by the owner's code
        -- (apply_api_access under grant_api_access, and verify_security, SECURITY DEFINER).
        ('function',  'metrics._access_levels()',                           'EXECUTE', 'internal'),
        ('function',  'metrics._security_rules()',                          'EXECUTE', 'internal'),
        ('function',  'metrics._security_roles()',                          'EXECUTE', 'internal'),
        ('function',  'metrics._security_routines()',                       'EXECUTE', 'internal'),
        ('function',  'metrics._security_relations()',                      'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_setup()',                 'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_privileges()',            'EXECUTE', 'internal'),
        ('function',  'metrics._security_findings_ledger()',                'EXECUTE', 'internal')
$$;

-- Grants (and revokes) every privilege of access_rules() so that role_name holds exactly
-- what its level allows. Internal: callers go through grant_api_access / revoke_api_access.
CREATE OR REPLACE FUNCTION metrics.apply_api_access(role_name name, access text)
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

-- verify_security(), in parts (sql/access/verify.sql as 0.2.1 installs it).
-- Every rule of access_rules() with the rank of its level and the object it names (NULL when
-- that object does not exist).
CREATE FUNCTION metrics._security_rules()
RETURNS TABLE (object_type text, object_name text, privilege text, access text, rank integer, object_oid oid)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT x.object_type, x.object_name, x.privilege, x.access, l.rank,
           CASE WHEN x.object_type IN ('function', 'procedure') THEN pg_catalog.to_regprocedure(x.object_name)::oid
                WHEN x.object_type = 'table' THEN pg_catalog.to_regclass(x.object_name)::oid
                ELSE pg_catalog.to_regnamespace(x.object_name)::oid END
    FROM metrics.access_rules() AS x
    JOIN metrics._access_levels() AS l ON l.access = x.access
$$;
COMMENT ON FUNCTION metrics._security_rules() IS
    'Part of verify_security: every access rule with its level''s rank and the oid of the object it names.';

-- The API roles that exist, with their level, and PUBLIC (grantee 0): it stands for every
-- role, so it has the lowest level.
CREATE FUNCTION metrics._security_roles()
RETURNS TABLE (role_oid oid, role_name text, access text, rank integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.oid, a.role_name::text, a.access, l.rank
    FROM metrics.api_roles() AS a
    JOIN pg_catalog.pg_roles AS r ON r.rolname = a.role_name
    JOIN metrics._access_levels() AS l ON l.access = a.access
    UNION ALL
    SELECT 0, 'PUBLIC', 'none', 0
$$;
COMMENT ON FUNCTION metrics._security_roles() IS
    'Part of verify_security: the API roles that exist with their access level, and PUBLIC.';

-- Every routine in schema metrics: SECURITY DEFINER or not, its settings and volatility, its
-- effective ACL, and its level (the owner level when no rule names it).
CREATE FUNCTION metrics._security_routines()
RETURNS TABLE (routine_oid oid, name text, security_definer boolean, config text[], volatility "char",
               acl aclitem[], access text, rank integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH rules AS (
        SELECT ru.object_oid, ru.access, ru.rank FROM metrics._security_rules() AS ru
        WHERE ru.object_type IN ('function', 'procedure')
    )
    SELECT p.oid, p.oid::regprocedure::text, p.prosecdef, p.proconfig, p.provolatile,
           coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner)),
           coalesce(ru.access, 'owner'), coalesce(ru.rank, 3)
    FROM pg_catalog.pg_proc AS p
    LEFT JOIN rules AS ru ON ru.object_oid = p.oid
    WHERE p.pronamespace = 'metrics'::regnamespace
$$;
COMMENT ON FUNCTION metrics._security_routines() IS
    'Part of verify_security: every routine of schema metrics with its settings, ACL and access level.';

-- Every relation in schema metrics (tables, views, materialized views, foreign tables,
-- sequences): its kind, RLS, options, effective ACL, and its level (owner when unlisted).
CREATE FUNCTION metrics._security_relations()
RETURNS TABLE (relation_oid oid, name text, relkind "char", row_security boolean, options text[],
               acl aclitem[], access text, rank integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH rules AS (
        SELECT ru.object_oid, ru.access, ru.rank FROM metrics._security_rules() AS ru
        WHERE ru.object_type = 'table'
    )
    SELECT c.oid, c.oid::regclass::text, c.relkind, c.relrowsecurity, c.reloptions,
           coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner)),
           coalesce(ru.access, 'owner'), coalesce(ru.rank, 3)
    FROM pg_catalog.pg_class AS c
    LEFT JOIN rules AS ru ON ru.object_oid = c.oid
    WHERE c.relnamespace = 'metrics'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
$$;
COMMENT ON FUNCTION metrics._security_relations() IS
    'Part of verify_security: every relation of schema metrics with its RLS, options, ACL and access level.';

-- How objects are set up: RLS on every table, a pinned search_path on SECURITY DEFINER
-- functions (an empty one counts: pg_temp would be searched first), read functions STABLE,
-- views security_invoker.
CREATE FUNCTION metrics._security_findings_setup()
RETURNS TABLE (finding text, object_type text, object_name text, detail text, hint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH routines AS (SELECT * FROM metrics._security_routines()),
    relations AS (SELECT * FROM metrics._security_relations())
    SELECT 'table without row level security', 'table', r.name,
           'RLS is disabled, so every role with a table privilege reads and writes every row.',
           pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.name)
    FROM relations AS r
    WHERE r.relkind IN ('r', 'p') AND NOT r.row_security
    UNION ALL
    SELECT 'security definer function without a pinned search_path', 'function', rt.name,
           coalesce('search_path is ' || (SELECT pg_catalog.substr(c, 13) FROM unnest(rt.config) AS c WHERE c LIKE 'search_path=%'),
                    'search_path is not set, so names resolve through the caller''s search_path.'),
           pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', rt.name)
    FROM routines AS rt
    WHERE rt.security_definer
      AND NOT coalesce((SELECT pg_catalog.regexp_split_to_array(pg_catalog.substr(c, 13), '\s*,\s*') FROM unnest(rt.config) AS c WHERE c LIKE 'search_path=%')
                       IN (ARRAY['pg_catalog', 'pg_temp'], ARRAY['pg_temp']), false)
    UNION ALL
    SELECT 'read function that is not STABLE', 'function', rt.name,
           'PostgREST runs only STABLE and IMMUTABLE functions in read-only transactions, and refuses GET on the others.',
           pg_catalog.format('ALTER FUNCTION %s STABLE', rt.name)
    FROM routines AS rt
    WHERE rt.rank <= 1 AND rt.volatility = 'v'
    UNION ALL
    SELECT 'view that is not security_invoker', 'view', r.name,
           'The view reads its tables with its owner''s rights, bypassing the caller''s privileges and RLS.',
           pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', r.name)
    FROM relations AS r
    WHERE r.relkind = 'v' AND NOT coalesce('security_invoker=true' = ANY (r.options) OR 'security_invoker=on' = ANY (r.options), false)
$$;
COMMENT ON FUNCTION metrics._security_findings_setup() IS
    'Part of verify_security: tables without RLS, SECURITY DEFINER functions without a pinned search_path, volatile read functions, views that are not security_invoker.';

-- Who holds what: a function, a table or the schema beyond a role's level, granted directly,
-- through PUBLIC or through role membership.
CREATE FUNCTION metrics._security_findings_privileges()
RETURNS TABLE (finding text, object_type text, object_name text, detail text, hint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH roles AS (
        SELECT ro.*, CASE WHEN ro.role_oid = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(ro.role_name) END AS grantee
        FROM metrics._security_roles() AS ro
    ),
    relations AS (SELECT * FROM metrics._security_relations()),
    -- Does a role hold EXECUTE on a routine? For PUBLIC: is it granted to PUBLIC itself.
    holds AS (
        SELECT ro.role_name, ro.access AS role_access, ro.grantee, rt.name, rt.access, rt.rank, ro.rank AS role_rank
        FROM metrics._security_routines() AS rt, roles AS ro
        WHERE CASE WHEN ro.role_oid = 0
                   THEN EXISTS (SELECT FROM pg_catalog.aclexplode(rt.acl) AS x WHERE x.grantee = 0 AND x.privilege_type = 'EXECUTE')
                   ELSE pg_catalog.has_function_privilege(ro.role_oid, rt.routine_oid, 'EXECUTE') END
    )
    SELECT 'privileged function executable by an API role', 'function', h.name,
           pg_catalog.format('%s (%s access) may execute a function of %s level.', h.role_name, h.role_access, h.access),
           pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM %s', h.name, h.grantee)
    FROM holds AS h
    WHERE h.rank > h.role_rank
    UNION ALL
    SELECT 'table writable by an API role', CASE r.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' ELSE 'table' END, r.name,
           pg_catalog.format('%s holds %s; every change goes through the extension''s functions.', ro.role_name, w.privilege),
           pg_catalog.format('REVOKE %s ON %s FROM %s', w.privilege, r.name, ro.grantee)
    FROM relations AS r
    CROSS JOIN roles AS ro
    CROSS JOIN LATERAL (
        SELECT string_agg(p.privilege, ', ' ORDER BY p.privilege) AS privilege
        FROM unnest(CASE WHEN r.relkind = 'S' THEN ARRAY['UPDATE', 'USAGE'] ELSE ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] END) AS p(privilege)
        WHERE CASE WHEN ro.role_oid = 0
                   THEN EXISTS (SELECT FROM pg_catalog.aclexplode(r.acl) AS x WHERE x.grantee = 0 AND x.privilege_type = p.privilege)
                   WHEN r.relkind = 'S' THEN pg_catalog.has_sequence_privilege(ro.role_oid, r.relation_oid, p.privilege)
                   ELSE pg_catalog.has_table_privilege(ro.role_oid, r.relation_oid, p.privilege) END
    ) AS w
    WHERE w.privilege IS NOT NULL
    UNION ALL
    SELECT 'table readable beyond its access level', 'table', r.name,
           pg_catalog.format('%s (%s access) may read a table of %s level.', ro.role_name, ro.access, r.access),
           pg_catalog.format('REVOKE SELECT ON %s FROM %s', r.name, ro.grantee)
    FROM relations AS r
    CROSS JOIN roles AS ro
    WHERE r.rank > ro.rank AND r.relkind <> 'S'
      AND CASE WHEN ro.role_oid = 0
               THEN EXISTS (SELECT FROM pg_catalog.aclexplode(r.acl) AS x WHERE x.grantee = 0 AND x.privilege_type = 'SELECT')
               ELSE pg_catalog.has_table_privilege(ro.role_oid, r.relation_oid, 'SELECT') END
    UNION ALL
    SELECT 'schema writable by an API role', 'schema', 'metrics',
           pg_catalog.format('%s may create objects in schema metrics, which could shadow the extension''s own.', ro.role_name),
           pg_catalog.format('REVOKE CREATE ON SCHEMA metrics FROM %s', ro.grantee)
    FROM roles AS ro
    WHERE CASE WHEN ro.role_oid = 0
               THEN EXISTS (SELECT FROM pg_catalog.pg_namespace AS n, pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) AS x
                            WHERE n.nspname = 'metrics' AND x.grantee = 0 AND x.privilege_type = 'CREATE')
               ELSE pg_catalog.has_schema_privilege(ro.role_oid, 'metrics', 'CREATE') END
$$;
COMMENT ON FUNCTION metrics._security_findings_privileges() IS
    'Part of verify_security: functions executable, tables writable or readable, and the schema writable beyond an API role''s level.';

-- Whether the ledger and the admin check still hold: a rule naming an object that does not
-- exist, an admin check that was dropped or that an API role cannot execute.
CREATE FUNCTION metrics._security_findings_ledger()
RETURNS TABLE (finding text, object_type text, object_name text, detail text, hint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH roles_without_it AS (
        SELECT c.check_function, string_agg(ro.role_name, ', ' ORDER BY ro.role_name) AS names
        FROM metrics.admin_check AS c, metrics._security_roles() AS ro
        WHERE ro.role_oid <> 0 AND ro.rank > 0
          AND NOT pg_catalog.has_function_privilege(ro.role_oid, pg_catalog.to_regprocedure(c.check_function), 'EXECUTE')
        GROUP BY c.check_function
    )
    SELECT 'access rule for a missing object', ru.object_type, ru.object_name,
           'metrics.access_rules() names an object that does not exist.',
           'update the extension (ALTER EXTENSION metrics UPDATE) or reinstall it'
    FROM metrics._security_rules() AS ru
    WHERE ru.object_oid IS NULL
    UNION ALL
    SELECT 'admin check unavailable', 'function', c.check_function,
           CASE WHEN pg_catalog.to_regprocedure(c.check_function) IS NULL
                THEN 'The configured administrator check no longer exists, so nobody is an administrator.'
                ELSE pg_catalog.format('%s cannot execute it, so reading the collection log fails for them.', w.names) END,
           'call metrics.set_admin_check again with an existing function, or with NULL for the default'
    FROM metrics.admin_check AS c
    LEFT JOIN roles_without_it AS w ON w.check_function = c.check_function
    WHERE pg_catalog.to_regprocedure(c.check_function) IS NULL OR w.names IS NOT NULL
$$;
COMMENT ON FUNCTION metrics._security_findings_ledger() IS
    'Part of verify_security: access rules for missing objects, and an admin check that is gone or not executable by an API role.';

CREATE OR REPLACE FUNCTION metrics.verify_security()
RETURNS TABLE (finding text, object_type text, object_name text, detail text, hint text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT * FROM metrics._security_findings_setup()
    UNION ALL
    SELECT * FROM metrics._security_findings_privileges()
    UNION ALL
    SELECT * FROM metrics._security_findings_ledger()
    ORDER BY 1, 2, 3, 4
$$;

-- Functions are executable by PUBLIC when created; the new ones are internal.
REVOKE EXECUTE ON FUNCTION metrics._access_levels(), metrics._security_rules(), metrics._security_roles(),
    metrics._security_routines(), metrics._security_relations(), metrics._security_findings_setup(),
    metrics._security_findings_privileges(), metrics._security_findings_ledger() FROM PUBLIC;
