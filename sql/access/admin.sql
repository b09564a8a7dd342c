-- metrics: who counts as an administrator. The check is pluggable: by default the JWT claim
-- app_metadata.role = 'admin', or a boolean function the owner sets with set_admin_check.
-- Administrators read the collection log, the revisions and the request metrics (policies).

-- The function that decides who is an administrator, when the default JWT claim is not the
-- rule (at most one row; none means the default).
CREATE TABLE metrics.admin_check (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    check_function text NOT NULL,
    set_by         name NOT NULL DEFAULT session_user,
    set_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.admin_check IS
    'The administrator check configured with metrics.set_admin_check (empty: JWT app_metadata.role = admin).';

SELECT pg_catalog.pg_extension_config_dump('metrics.admin_check', '');

-- Who counts as an administrator (and so reads the collection log and the revisions):
--   * roles that may run collections (the manage level, e.g. service_role);
--   * otherwise the configured check (metrics.set_admin_check), called as the caller;
--   * by default, a JWT whose app_metadata.role is 'admin' (PostgREST's request.jwt.claims).
-- Roles that own the tables or bypass RLS see everything anyway.
CREATE FUNCTION metrics.is_admin()
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    configured text;
    check_fn   regprocedure;
    verdict    boolean;
    claims     text;
BEGIN
    IF pg_catalog.has_function_privilege('metrics.collect_daily_metrics(date)', 'EXECUTE') THEN
        RETURN true;
    END IF;
    SELECT c.check_function INTO configured FROM metrics.admin_check AS c;
    IF configured IS NOT NULL THEN
        check_fn := pg_catalog.to_regprocedure(configured);
        IF check_fn IS NULL THEN
            RETURN false;  -- dropped since it was set: fail closed (verify_security reports it)
        END IF;
        EXECUTE pg_catalog.format('SELECT %s()', check_fn::regproc) INTO verdict;
        RETURN coalesce(verdict, false);
    END IF;
    claims := pg_catalog.current_setting('request.jwt.claims', true);
    IF claims IS NULL OR claims = '' THEN
        RETURN false;
    END IF;
    -- Claims that are not a JSON object, hold values PostgreSQL cannot represent (a NUL escape,
    -- a number beyond numeric) or nest too deeply make nobody an administrator, and never
    -- turn a read of the log into an error.
    BEGIN
        RETURN coalesce((claims::jsonb -> 'app_metadata' ->> 'role') = 'admin', false);
    EXCEPTION WHEN data_exception OR statement_too_complex THEN
        RETURN false;
    END;
END
$$;
COMMENT ON FUNCTION metrics.is_admin() IS
    'True for roles that may run collections, and for requests the admin check accepts (default: JWT app_metadata.role = admin).';

-- A check function named by the owner (set_admin_check, set_project_check), validated: it
-- exists, returns one boolean, takes no argument or exactly one of type `argument`, lives in a
-- permanent schema, and every API role with a level can execute it (the checks run as the
-- caller). Returns it as a regprocedure.
CREATE FUNCTION metrics._resolve_check_function(check_function text, argument regtype, example text)
RETURNS regprocedure
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn      regprocedure;
    p       record;
    missing text;
BEGIN
    IF length(check_function) > 1000 THEN
        RAISE EXCEPTION 'check_function is too long (% characters)', length(check_function)
            USING ERRCODE = '22001', HINT = pg_catalog.format('give a schema-qualified name of %s', example);
    END IF;
    BEGIN
        fn := CASE WHEN strpos(check_function, '(') > 0
                   THEN pg_catalog.to_regprocedure(check_function)
                   ELSE pg_catalog.to_regproc(check_function)::oid::regprocedure END;
    EXCEPTION WHEN OTHERS THEN
        fn := NULL;  -- to_regproc* refuse some malformed names (syntax) instead of returning NULL
    END;
    IF fn IS NULL THEN
        RAISE EXCEPTION 'function % does not exist', pg_catalog.quote_literal(check_function)
            USING ERRCODE = '42883', HINT = pg_catalog.format('give a schema-qualified name of an existing function: %s', example);
    END IF;
    SELECT pr.prokind, pr.prorettype, pr.proretset, pr.pronargs, pr.pronargdefaults,
           pr.proargtypes, pr.pronamespace
    INTO p FROM pg_catalog.pg_proc AS pr WHERE pr.oid = fn;
    IF p.prokind <> 'f' OR p.proretset THEN
        RAISE EXCEPTION '% is not a function returning one value', fn
            USING ERRCODE = '42809', HINT = 'write a function that returns boolean, e.g. LANGUAGE sql STABLE';
    END IF;
    IF p.prorettype <> 'boolean'::regtype THEN
        RAISE EXCEPTION '% returns %, not boolean', fn, p.prorettype::regtype
            USING ERRCODE = '42804', HINT = 'the check must return true when the request passes and false otherwise';
    END IF;
    IF argument IS NULL AND p.pronargs > p.pronargdefaults THEN
        RAISE EXCEPTION '% needs arguments', fn
            USING ERRCODE = '42809', HINT = 'the check is called without arguments; read the request from request.jwt.claims or auth.uid()';
    END IF;
    IF argument IS NOT NULL AND (p.pronargs = 0 OR p.proargtypes[0] <> argument OR p.pronargs - p.pronargdefaults > 1) THEN
        RAISE EXCEPTION '% does not take one argument of type %', fn, argument
            USING ERRCODE = '42809', HINT = pg_catalog.format('the check is called with the %s; write %s', argument, example);
    END IF;
    IF p.pronamespace = pg_catalog.pg_my_temp_schema() OR pg_catalog.pg_is_other_temp_schema(p.pronamespace) THEN
        RAISE EXCEPTION '% is a temporary function', fn
            USING ERRCODE = '22023', HINT = 'create the check in a permanent schema';
    END IF;
    SELECT string_agg(pg_catalog.quote_ident(a.role_name), ', ' ORDER BY a.role_name) INTO missing
    FROM metrics.api_roles() AS a
    WHERE a.role_exists AND a.access <> 'none'
      AND NOT pg_catalog.has_function_privilege(a.role_name, fn, 'EXECUTE');
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'the API roles % cannot execute %', missing, fn
            USING ERRCODE = '42501',
                  HINT = pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', fn, missing);
    END IF;
    RETURN fn;
END
$$;
COMMENT ON FUNCTION metrics._resolve_check_function(text, regtype, text) IS
    'Part of set_admin_check and set_project_check: the named boolean check function, validated.';

CREATE FUNCTION metrics.set_admin_check(check_function text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn regprocedure;
BEGIN
    IF check_function IS NULL THEN
        DELETE FROM metrics.admin_check;
        RETURN NULL;
    END IF;
    fn := metrics._resolve_check_function(check_function, NULL,
        'a function without arguments that returns boolean, such as public.is_admin_user()');
    INSERT INTO metrics.admin_check AS c (singleton, check_function)
    VALUES (true, fn::text)
    ON CONFLICT ON CONSTRAINT admin_check_pkey
    DO UPDATE SET check_function = excluded.check_function, set_by = session_user, set_at = now();
    RETURN fn::text;
END
$$;
COMMENT ON FUNCTION metrics.set_admin_check(text) IS
    'Use a boolean function without arguments to decide who is an administrator; NULL restores the default JWT claim check.';
