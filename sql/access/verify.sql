-- metrics: verify_security(), the audit of schema metrics against the access levels of
-- metrics.access_rules(). It checks every object in schema metrics, whether the extension
-- created it or someone added it later, and returns one row per problem; a correct install
-- returns none.
--
-- It is the union of three groups of checks, each a function: how objects are set up
-- (_security_findings_setup), who holds which privilege (_security_findings_privileges), and
-- whether the ledger and the admin check still hold (_security_findings_ledger). They share
-- the facts they look at: the API roles and their levels (_security_roles), the rules with
-- the objects they name (_security_rules), and the routines and relations of the schema with
-- their levels (_security_routines, _security_relations). They are internal: verify_security
-- (manage level) is SECURITY DEFINER with a pinned search_path and calls them as the owner, so
-- no API role needs them. Its answer does not depend on who asks: every privilege it reports
-- is looked up for a named role, never for the current user.

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
    ), project_roles_without_it AS (
        SELECT c.check_function, string_agg(ro.role_name, ', ' ORDER BY ro.role_name) AS names
        FROM metrics.project_check AS c, metrics._security_roles() AS ro
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
    UNION ALL
    -- The membership check likewise: gone, nobody is a member of any project; not executable
    -- by an API role, every read of a project's rows fails for that role.
    SELECT 'project check unavailable', 'function', c.check_function,
           CASE WHEN pg_catalog.to_regprocedure(c.check_function) IS NULL
                THEN 'The configured project membership check no longer exists, so nobody but administrators reads a project.'
                ELSE pg_catalog.format('%s cannot execute it, so reading a project''s rows fails for them.', w.names) END,
           'call metrics.set_project_check again with an existing function, or with NULL for the default'
    FROM metrics.project_check AS c
    LEFT JOIN project_roles_without_it AS w ON w.check_function = c.check_function
    WHERE pg_catalog.to_regprocedure(c.check_function) IS NULL OR w.names IS NOT NULL
    UNION ALL
    -- The seal: its triggers exist and fire always (also under session_replication_role =
    -- replica); a disabled or merely enabled one lets sealed rows change.
    SELECT 'sealed history unprotected', 'trigger', pg_catalog.format('%s on %s', s.name, s.tbl),
           CASE WHEN t.tgenabled IS NULL THEN 'The trigger that seals these rows is missing.'
                WHEN t.tgenabled = 'D' THEN 'The trigger that seals these rows is disabled.'
                ELSE 'The trigger does not fire under session_replication_role = replica.' END,
           pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I (or reinstall the extension)', s.tbl, s.name)
    FROM (VALUES ('daily_metrics_sealed', 'metrics.daily_metrics'), ('daily_metrics_no_truncate', 'metrics.daily_metrics'),
                 ('daily_metrics_closed_days', 'metrics.daily_metrics'), ('metric_revisions_sealed', 'metrics.metric_revisions'),
                 ('metric_revisions_no_truncate', 'metrics.metric_revisions')) AS s(name, tbl)
    LEFT JOIN pg_catalog.pg_trigger AS t ON t.tgrelid = pg_catalog.to_regclass(s.tbl) AND t.tgname = s.name
    WHERE t.tgenabled IS DISTINCT FROM 'A'
    UNION ALL
    SELECT 'sealed history unprotected', 'event trigger', 'metrics_protect_history',
           'DROP EXTENSION metrics would delete the sealed values without asking: the event trigger that guards them is missing, disabled, or does not fire under session_replication_role = replica.',
           'as a superuser: CREATE EVENT TRIGGER metrics_protect_history ON ddl_command_start WHEN TAG IN (''DROP EXTENSION'', ''DROP SCHEMA'', ''DROP OWNED'') EXECUTE FUNCTION metrics._protect_history(); ALTER EVENT TRIGGER metrics_protect_history ENABLE ALWAYS'
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger AS e
                      WHERE e.evtfoid = 'metrics._protect_history()'::regprocedure AND e.evtenabled = 'A'
                        AND e.evttags @> ARRAY['DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED'])
$$;
COMMENT ON FUNCTION metrics._security_findings_ledger() IS
    'Part of verify_security: access rules for missing objects, an admin or project check that is gone or not executable by an API role, and a seal that no longer holds.';

CREATE FUNCTION metrics.verify_security()
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
COMMENT ON FUNCTION metrics.verify_security() IS
    'One row per security problem in schema metrics (RLS, search_path, privileges of API roles, views, admin check); none on a correct install.';
