-- metrics: verify_security(), the audit of schema metrics against the access levels of
-- metrics.access_rules().

-- One row per problem found; a correct install returns none. Checks every object in schema
-- metrics, whether the extension created it or someone added it later.
CREATE FUNCTION metrics.verify_security()
RETURNS TABLE (finding text, object_type text, object_name text, detail text, hint text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH levels (access, rank) AS (
        VALUES ('none', 0), ('read', 1), ('manage', 2), ('owner', 3), ('internal', 4)
    ),
    -- PUBLIC (grantee 0) stands for every role, so it has the lowest level.
    roles AS (
        SELECT r.oid AS role_oid, a.role_name::text AS role_name, l.rank
        FROM metrics.api_roles() AS a
        JOIN pg_catalog.pg_roles AS r ON r.rolname = a.role_name
        JOIN levels AS l ON l.access = a.access
        UNION ALL
        SELECT 0, 'PUBLIC', 0
    ),
    rules AS (
        SELECT x.object_type, x.privilege, l.rank,
               CASE WHEN x.object_type IN ('function', 'procedure') THEN pg_catalog.to_regprocedure(x.object_name)::oid
                    WHEN x.object_type = 'table' THEN pg_catalog.to_regclass(x.object_name)::oid
                    ELSE pg_catalog.to_regnamespace(x.object_name)::oid END AS object_oid,
               x.object_name
        FROM metrics.access_rules() AS x
        JOIN levels AS l ON l.access = x.access
    ),
    routines AS (
        SELECT p.oid, p.oid::regprocedure::text AS name, p.prosecdef, p.proconfig, p.provolatile,
               coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner)) AS acl,
               coalesce((SELECT ru.rank FROM rules AS ru WHERE ru.object_oid = p.oid AND ru.object_type IN ('function', 'procedure')), 3) AS rank
        FROM pg_catalog.pg_proc AS p
        WHERE p.pronamespace = 'metrics'::regnamespace
    ),
    relations AS (
        SELECT c.oid, c.oid::regclass::text AS name, c.relkind, c.relrowsecurity, c.reloptions,
               coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner)) AS acl,
               coalesce((SELECT ru.rank FROM rules AS ru WHERE ru.object_oid = c.oid AND ru.object_type = 'table'), 3) AS rank
        FROM pg_catalog.pg_class AS c
        WHERE c.relnamespace = 'metrics'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    ),
    -- Does a role hold a privilege, directly, through PUBLIC or through membership?
    holds AS (
        SELECT ro.role_name, ro.rank AS role_rank, 'function' AS kind, rt.name, rt.rank AS object_rank, 'EXECUTE' AS privilege
        FROM routines AS rt, roles AS ro
        WHERE CASE WHEN ro.role_oid = 0
                   THEN EXISTS (SELECT FROM pg_catalog.aclexplode(rt.acl) AS x WHERE x.grantee = 0 AND x.privilege_type = 'EXECUTE')
                   ELSE pg_catalog.has_function_privilege(ro.role_oid, rt.oid, 'EXECUTE') END
    )
    SELECT 'table without row level security', 'table', r.name,
           'RLS is disabled, so every role with a table privilege reads and writes every row.',
           pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', r.name)
    FROM relations AS r
    WHERE r.relkind IN ('r', 'p') AND NOT r.relrowsecurity
    UNION ALL
    SELECT 'security definer function without a pinned search_path', 'function', rt.name,
           coalesce('search_path is ' || (SELECT pg_catalog.substr(c, 13) FROM unnest(rt.proconfig) AS c WHERE c LIKE 'search_path=%'),
                    'search_path is not set, so names resolve through the caller''s search_path.'),
           pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', rt.name)
    FROM routines AS rt
    WHERE rt.prosecdef
      AND NOT coalesce((SELECT pg_catalog.regexp_split_to_array(pg_catalog.substr(c, 13), '\s*,\s*') FROM unnest(rt.proconfig) AS c WHERE c LIKE 'search_path=%')
                       IN (ARRAY['pg_catalog', 'pg_temp'], ARRAY['pg_temp']), false)
    UNION ALL
    SELECT 'privileged function executable by an API role', 'function', h.name,
           pg_catalog.format('%s (%s access) may execute a function of %s level.', h.role_name,
                             (SELECT l.access FROM levels AS l WHERE l.rank = h.role_rank),
                             (SELECT l.access FROM levels AS l WHERE l.rank = h.object_rank)),
           pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM %s', h.name,
                             CASE WHEN h.role_name = 'PUBLIC' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(h.role_name) END)
    FROM holds AS h
    WHERE h.object_rank > h.role_rank
    UNION ALL
    SELECT 'read function that is not STABLE', 'function', rt.name,
           'PostgREST runs only STABLE and IMMUTABLE functions in read-only transactions, and refuses GET on the others.',
           pg_catalog.format('ALTER FUNCTION %s STABLE', rt.name)
    FROM routines AS rt
    WHERE rt.rank <= 1 AND rt.provolatile = 'v'
    UNION ALL
    SELECT 'view that is not security_invoker', 'view', r.name,
           'The view reads its tables with its owner''s rights, bypassing the caller''s privileges and RLS.',
           pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', r.name)
    FROM relations AS r
    WHERE r.relkind = 'v' AND NOT coalesce('security_invoker=true' = ANY (r.reloptions) OR 'security_invoker=on' = ANY (r.reloptions), false)
    UNION ALL
    SELECT 'table writable by an API role', CASE r.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' ELSE 'table' END, r.name,
           pg_catalog.format('%s holds %s; every change goes through the extension''s functions.', ro.role_name, w.privilege),
           pg_catalog.format('REVOKE %s ON %s FROM %s', w.privilege, r.name,
                             CASE WHEN ro.role_name = 'PUBLIC' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(ro.role_name) END)
    FROM relations AS r
    CROSS JOIN roles AS ro
    CROSS JOIN LATERAL (
        SELECT string_agg(p.privilege, ', ' ORDER BY p.privilege) AS privilege
        FROM unnest(CASE WHEN r.relkind = 'S' THEN ARRAY['UPDATE', 'USAGE'] ELSE ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] END) AS p(privilege)
        WHERE CASE WHEN ro.role_oid = 0
                   THEN EXISTS (SELECT FROM pg_catalog.aclexplode(r.acl) AS x WHERE x.grantee = 0 AND x.privilege_type = p.privilege)
                   WHEN r.relkind = 'S' THEN pg_catalog.has_sequence_privilege(ro.role_oid, r.oid, p.privilege)
                   ELSE pg_catalog.has_table_privilege(ro.role_oid, r.oid, p.privilege) END
    ) AS w
    WHERE w.privilege IS NOT NULL
    UNION ALL
    SELECT 'table readable beyond its access level', 'table', r.name,
           pg_catalog.format('%s (%s access) may read a table of %s level.', ro.role_name,
                             (SELECT l.access FROM levels AS l WHERE l.rank = ro.rank),
                             (SELECT l.access FROM levels AS l WHERE l.rank = r.rank)),
           pg_catalog.format('REVOKE SELECT ON %s FROM %s', r.name,
                             CASE WHEN ro.role_name = 'PUBLIC' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(ro.role_name) END)
    FROM relations AS r
    CROSS JOIN roles AS ro
    WHERE r.rank > ro.rank AND r.relkind <> 'S'
      AND CASE WHEN ro.role_oid = 0
               THEN EXISTS (SELECT FROM pg_catalog.aclexplode(r.acl) AS x WHERE x.grantee = 0 AND x.privilege_type = 'SELECT')
               ELSE pg_catalog.has_table_privilege(ro.role_oid, r.oid, 'SELECT') END
    UNION ALL
    SELECT 'schema writable by an API role', 'schema', 'metrics',
           pg_catalog.format('%s may create objects in schema metrics, which could shadow the extension''s own.', ro.role_name),
           pg_catalog.format('REVOKE CREATE ON SCHEMA metrics FROM %s',
                             CASE WHEN ro.role_name = 'PUBLIC' THEN 'PUBLIC' ELSE pg_catalog.quote_ident(ro.role_name) END)
    FROM roles AS ro
    WHERE CASE WHEN ro.role_oid = 0
               THEN EXISTS (SELECT FROM pg_catalog.pg_namespace AS n, pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) AS x
                            WHERE n.nspname = 'metrics' AND x.grantee = 0 AND x.privilege_type = 'CREATE')
               ELSE pg_catalog.has_schema_privilege(ro.role_oid, 'metrics', 'CREATE') END
    UNION ALL
    SELECT 'access rule for a missing object', ru.object_type, ru.object_name,
           'metrics.access_rules() names an object that does not exist.',
           'update the extension (ALTER EXTENSION metrics UPDATE) or reinstall it'
    FROM rules AS ru
    WHERE ru.object_oid IS NULL
    UNION ALL
    SELECT 'admin check unavailable', 'function', c.check_function,
           CASE WHEN pg_catalog.to_regprocedure(c.check_function) IS NULL
                THEN 'The configured administrator check no longer exists, so nobody is an administrator.'
                ELSE pg_catalog.format('%s cannot execute it, so reading the collection log fails for them.',
                                       (SELECT string_agg(ro.role_name, ', ' ORDER BY ro.role_name) FROM roles AS ro
                                        WHERE ro.role_oid <> 0 AND ro.rank > 0
                                          AND NOT pg_catalog.has_function_privilege(ro.role_oid, pg_catalog.to_regprocedure(c.check_function), 'EXECUTE'))) END,
           'call metrics.set_admin_check again with an existing function, or with NULL for the default'
    FROM metrics.admin_check AS c
    WHERE pg_catalog.to_regprocedure(c.check_function) IS NULL
       OR EXISTS (SELECT FROM roles AS ro
                  WHERE ro.role_oid <> 0 AND ro.rank > 0
                    AND NOT pg_catalog.has_function_privilege(ro.role_oid, pg_catalog.to_regprocedure(c.check_function), 'EXECUTE'))
    ORDER BY 1, 2, 3, 4
$$;
COMMENT ON FUNCTION metrics.verify_security() IS
    'One row per security problem in schema metrics (RLS, search_path, privileges of API roles, views, admin check); none on a correct install.';
