-- metrics 0.1.0 -> 0.2.0.
--
-- Access levels for API roles: 0.1.0 let PUBLIC read the metrics and call the read
-- functions; 0.2.0 grants nothing to PUBLIC. Supabase's roles get their level (anon and
-- authenticated read, service_role manages), other roles get one with
-- metrics.grant_api_access(role, level). New: the access_rules() / api_roles() catalog,
-- grant_api_access, revoke_api_access, a pluggable administrator check (set_admin_check),
-- verify_security(); route and operation metrics (hourly tables, record_* and get_*,
-- latency sketches); the chunked backfill refuses infinite dates.
\echo Use "ALTER EXTENSION metrics UPDATE TO '0.2.0'" to load this file. \quit

-- Latency sketches (src/latency.rs), needed by the aggregate below.
CREATE FUNCTION metrics."merge_latency_sketch"(
	"a" bytea, /* Option < & [u8] > */
	"b" bytea /* Option < & [u8] > */
) RETURNS bytea /* :: std :: option :: Option < Vec < u8 > > */
IMMUTABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'merge_latency_sketch_wrapper';

CREATE FUNCTION metrics."latency_quantile"(
	"sketch" bytea, /* Option < & [u8] > */
	"q" double precision /* Option < f64 > */
) RETURNS double precision /* Option < f64 > */
IMMUTABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'latency_quantile_wrapper';

-- sql/observability.sql as 0.2.0 installs it.
-- metrics: route and operation metrics, one row per (route, method, UTC hour) and per
-- (operation, UTC hour). Rows are added into by metrics.record_* (directly, or from the
-- shared-memory buffer); nobody writes them otherwise. Durations are milliseconds.
-- latency_sketch is a mergeable log-bucketed histogram (src/sketch.rs documents the format):
-- percentiles of any set of rows come from merging their sketches, never from averages.
--
-- Columns that change with every event come last, the sketch at the very end: an update
-- inside the same page logs only the bytes between the first and the last changed one, so
-- what precedes the counters (names, hour) and what follows the changed sketch bucket is
-- not written to WAL again.
--
-- No CHECK constraints and no generated column: PostgreSQL parses those expressions again on
-- every upsert, about a fifth of the CPU of recording one request. The only writers are the
-- extension's functions (no other role holds a write privilege), and they check every event
-- first: names, methods, durations and times.

CREATE TABLE metrics.route_metrics (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    route               text NOT NULL,
    method              text NOT NULL,
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    total_requests      bigint NOT NULL,
    successful          bigint NOT NULL,
    failed              bigint NOT NULL,
    total_duration_ms   double precision NOT NULL,
    average_duration_ms double precision NOT NULL,
    min_duration_ms     double precision NOT NULL,
    max_duration_ms     double precision NOT NULL,
    last_request_at     timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    latency_sketch      bytea NOT NULL,
    CONSTRAINT route_metrics_bucket UNIQUE (route, method, period_start)
);
COMMENT ON TABLE metrics.route_metrics IS
    'Requests per (route, method, UTC hour): counts, durations (ms) and a latency sketch. Written by metrics.record_route_metric(s).';
CREATE INDEX idx_route_metrics_period ON metrics.route_metrics (period_start);

CREATE TABLE metrics.operation_metrics (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    operation           text NOT NULL,
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    total_executions    bigint NOT NULL,
    successful          bigint NOT NULL,
    failed              bigint NOT NULL,
    total_duration_ms   double precision NOT NULL,
    average_duration_ms double precision NOT NULL,
    min_duration_ms     double precision NOT NULL,
    max_duration_ms     double precision NOT NULL,
    last_execution_at   timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    latency_sketch      bytea NOT NULL,
    CONSTRAINT operation_metrics_bucket UNIQUE (operation, period_start)
);
COMMENT ON TABLE metrics.operation_metrics IS
    'Executions per (operation, UTC hour): counts, durations (ms) and a latency sketch. Written by metrics.record_operation_metric(s).';
CREATE INDEX idx_operation_metrics_period ON metrics.operation_metrics (period_start);

SELECT pg_catalog.pg_extension_config_dump('metrics.route_metrics', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.operation_metrics', '');

-- Merges the latency sketches of any set of rows, for percentiles in your own queries:
--   SELECT metrics.latency_quantile(metrics.merge_latency_sketches(latency_sketch), 0.99)
--   FROM metrics.route_metrics WHERE period_start >= now() - interval '1 day';
CREATE AGGREGATE metrics.merge_latency_sketches(bytea) (
    SFUNC = metrics.merge_latency_sketch,
    STYPE = bytea,
    COMBINEFUNC = metrics.merge_latency_sketch,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE metrics.merge_latency_sketches(bytea) IS
    'Merges latency sketches (exactly: bucket counts add); read percentiles with metrics.latency_quantile.';

-- Recording and reporting (src/recorder.rs, src/reports.rs).
CREATE FUNCTION metrics."record_route_metric"(
	"route" TEXT, /* Option < String > */
	"method" TEXT, /* Option < String > */
	"success" bool, /* Option < bool > */
	"duration_ms" double precision /* Option < f64 > */
) RETURNS void
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_route_metric_wrapper';

CREATE FUNCTION metrics."record_operation_metric"(
	"operation" TEXT, /* Option < String > */
	"success" bool, /* Option < bool > */
	"duration_ms" double precision /* Option < f64 > */
) RETURNS void
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_operation_metric_wrapper';

CREATE FUNCTION metrics."record_route_metrics"(
	"events" jsonb /* Option < pgrx :: JsonB > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_route_metrics_wrapper';

CREATE FUNCTION metrics."record_operation_metrics"(
	"events" jsonb /* Option < pgrx :: JsonB > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_operation_metrics_wrapper';

CREATE FUNCTION metrics."get_route_metrics"(
	"route" TEXT DEFAULT NULL, /* Option < String > */
	"method" TEXT DEFAULT NULL, /* Option < String > */
	"start_at" timestamp with time zone DEFAULT now() - interval '24 hours', /* Option < TimestampWithTimeZone > */
	"end_at" timestamp with time zone DEFAULT now(), /* Option < TimestampWithTimeZone > */
	"grain" TEXT DEFAULT 'hour', /* Option < String > */
	"combined" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"period_start" timestamp with time zone,  /* TimestampWithTimeZone */
	"period_end" timestamp with time zone,  /* TimestampWithTimeZone */
	"route" TEXT,  /* Option < String > */
	"method" TEXT,  /* Option < String > */
	"total_requests" bigint,  /* i64 */
	"successful" bigint,  /* i64 */
	"failed" bigint,  /* i64 */
	"success_rate" double precision,  /* f64 */
	"average_duration_ms" double precision,  /* f64 */
	"min_duration_ms" double precision,  /* f64 */
	"max_duration_ms" double precision,  /* f64 */
	"p50_ms" double precision,  /* Option < f64 > */
	"p95_ms" double precision,  /* Option < f64 > */
	"p99_ms" double precision  /* Option < f64 > */
)
STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_route_metrics_wrapper';

CREATE FUNCTION metrics."get_operation_metrics"(
	"operation" TEXT DEFAULT NULL, /* Option < String > */
	"start_at" timestamp with time zone DEFAULT now() - interval '24 hours', /* Option < TimestampWithTimeZone > */
	"end_at" timestamp with time zone DEFAULT now(), /* Option < TimestampWithTimeZone > */
	"grain" TEXT DEFAULT 'hour', /* Option < String > */
	"combined" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"period_start" timestamp with time zone,  /* TimestampWithTimeZone */
	"period_end" timestamp with time zone,  /* TimestampWithTimeZone */
	"operation" TEXT,  /* Option < String > */
	"total_executions" bigint,  /* i64 */
	"successful" bigint,  /* i64 */
	"failed" bigint,  /* i64 */
	"success_rate" double precision,  /* f64 */
	"average_duration_ms" double precision,  /* f64 */
	"min_duration_ms" double precision,  /* f64 */
	"max_duration_ms" double precision,  /* f64 */
	"p50_ms" double precision,  /* Option < f64 > */
	"p95_ms" double precision,  /* Option < f64 > */
	"p99_ms" double precision  /* Option < f64 > */
)
STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'get_operation_metrics_wrapper';

-- The objects of sql/access.sql, as 0.2.0 installs them; is_admin() existed and is replaced.
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
--   internal  never called directly (trigger functions)
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

SELECT pg_catalog.pg_extension_config_dump('metrics.api_access', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.admin_check', '');

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
        ('function',  'metrics.sealed_rows_guard()',                        'EXECUTE', 'internal')
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
    levels  constant text[] := ARRAY['none', 'read', 'manage', 'owner', 'internal'];
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
    FOR rule IN SELECT * FROM metrics.access_rules() LOOP
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
        IF array_position(levels, rule.access) <= array_position(levels, apply_api_access.access) THEN
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

-- Who counts as an administrator (and so reads the collection log and the revisions):
--   * roles that may run collections (the manage level, e.g. service_role);
--   * otherwise the configured check (metrics.set_admin_check), called as the caller;
--   * by default, a JWT whose app_metadata.role is 'admin' (PostgREST's request.jwt.claims).
-- Roles that own the tables or bypass RLS see everything anyway.
CREATE OR REPLACE FUNCTION metrics.is_admin()
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

CREATE FUNCTION metrics.set_admin_check(check_function text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn      regprocedure;
    p       record;
    missing text;
BEGIN
    IF check_function IS NULL THEN
        DELETE FROM metrics.admin_check;
        RETURN NULL;
    END IF;
    IF length(check_function) > 1000 THEN
        RAISE EXCEPTION 'check_function is too long (% characters)', length(check_function)
            USING ERRCODE = '22001', HINT = 'give a schema-qualified function name such as public.is_admin_user()';
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
            USING ERRCODE = '42883',
                  HINT = 'give a schema-qualified name of an existing function without arguments, such as public.is_admin_user()';
    END IF;
    SELECT pr.prokind, pr.prorettype, pr.proretset, pr.pronargs, pr.pronargdefaults,
           pr.pronamespace, pr.oid::regproc::text AS name
    INTO p FROM pg_catalog.pg_proc AS pr WHERE pr.oid = fn;
    IF p.prokind <> 'f' OR p.proretset THEN
        RAISE EXCEPTION '% is not a function returning one value', fn
            USING ERRCODE = '42809', HINT = 'write a function that returns boolean, e.g. LANGUAGE sql STABLE';
    END IF;
    IF p.prorettype <> 'boolean'::regtype THEN
        RAISE EXCEPTION '% returns %, not boolean', fn, p.prorettype::regtype
            USING ERRCODE = '42804', HINT = 'the check must return true for administrators and false otherwise';
    END IF;
    IF p.pronargs > p.pronargdefaults THEN
        RAISE EXCEPTION '% needs arguments', fn
            USING ERRCODE = '42809', HINT = 'the check is called without arguments; read the request from request.jwt.claims or auth.uid()';
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
    INSERT INTO metrics.admin_check AS c (singleton, check_function)
    VALUES (true, fn::text)
    ON CONFLICT ON CONSTRAINT admin_check_pkey
    DO UPDATE SET check_function = excluded.check_function, set_by = session_user, set_at = now();
    RETURN fn::text;
END
$$;
COMMENT ON FUNCTION metrics.set_admin_check(text) IS
    'Use a boolean function without arguments to decide who is an administrator; NULL restores the default JWT claim check.';

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

-- sql/procedures.sql as 0.2.0 installs it: the chunked backfill refuses infinite dates.
-- metrics: the chunked backfill. A procedure, not a function, so it can COMMIT after each
-- chunk: an interruption keeps every finished chunk, and calling it again resumes (sealed
-- days are skipped). It has no SET clause and is SECURITY INVOKER because PostgreSQL forbids
-- COMMIT in procedures that have either; it only calls metrics.backfill_daily_metrics, whose
-- EXECUTE privilege the caller needs. CALL it outside an explicit transaction block.
CREATE OR REPLACE PROCEDURE metrics.backfill_daily_metrics_chunked(
    start_date date,
    end_date   date DEFAULT metrics.last_closed_day(),
    chunk_days integer DEFAULT 31
)
LANGUAGE plpgsql
AS $$
DECLARE
    chunk_start date := start_date;
    chunk_end   date;
    chunk_count integer;
    chunk_no    integer := 0;
    days_done   integer := 0;
    recorded    bigint := 0;
    started     timestamptz := pg_catalog.clock_timestamp();
    chunk       record;
BEGIN
    IF start_date IS NULL OR end_date IS NULL OR chunk_days IS NULL THEN
        RAISE EXCEPTION 'start_date, end_date and chunk_days must not be NULL'
            USING ERRCODE = '22004', HINT = 'omit end_date and chunk_days to use their defaults';
    END IF;
    IF chunk_days < 1 OR chunk_days > 3660 THEN
        RAISE EXCEPTION 'chunk_days must be between 1 and 3660, not %', chunk_days
            USING ERRCODE = '22023', HINT = 'each chunk is committed on its own; 31 is a month at a time';
    END IF;
    IF NOT isfinite(start_date) OR NOT isfinite(end_date) THEN
        RAISE EXCEPTION 'start_date and end_date must be finite dates, not % and %', start_date, end_date
            USING ERRCODE = '22008', HINT = 'pass the first and the last day to backfill, e.g. ''2025-01-01'' and metrics.last_closed_day()';
    END IF;
    IF start_date > end_date THEN
        RAISE EXCEPTION 'start_date (%) is after end_date (%)', start_date, end_date
            USING ERRCODE = '22023', HINT = 'pass a start_date on or before the end_date';
    END IF;
    chunk_count := ((end_date - start_date) / chunk_days) + 1;
    WHILE chunk_start <= end_date LOOP
        chunk_end := LEAST(chunk_start + (chunk_days - 1), end_date);
        SELECT * INTO chunk FROM metrics.backfill_daily_metrics(chunk_start, chunk_end);
        COMMIT;
        chunk_no := chunk_no + 1;
        days_done := days_done + chunk.dates_processed;
        recorded := recorded + chunk.total_metrics;
        RAISE NOTICE 'metrics: chunk %/% (% to %) committed: % values recorded; % of % days done, % days/s',
            chunk_no, chunk_count, chunk_start, chunk_end, chunk.total_metrics,
            days_done, end_date - start_date + 1,
            round(days_done / GREATEST(extract(epoch FROM pg_catalog.clock_timestamp() - started), 0.001)::numeric, 1);
        chunk_start := chunk_end + 1;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE metrics.backfill_daily_metrics_chunked(date, date, integer) IS
    'Backfill committing chunk by chunk; an interrupted run keeps finished chunks and resumes when called again.';

-- RLS on the new tables; the administrator policies evaluate is_admin() once per query.
ALTER TABLE metrics.api_access ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.admin_check ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.route_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.operation_metrics ENABLE ROW LEVEL SECURITY;
DROP POLICY "Admins can view collection logs" ON metrics.metric_collection_log;
CREATE POLICY "Admins can view collection logs" ON metrics.metric_collection_log
    FOR SELECT USING ((SELECT metrics.is_admin()));
DROP POLICY "Admins can view metric revisions" ON metrics.metric_revisions;
CREATE POLICY "Admins can view metric revisions" ON metrics.metric_revisions
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view route metrics" ON metrics.route_metrics
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view operation metrics" ON metrics.operation_metrics
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Readers can view the admin check" ON metrics.admin_check
    FOR SELECT USING (true);
CREATE POLICY "Managers can view API access" ON metrics.api_access
    FOR SELECT USING (true);

-- Take back what 0.1.0 gave PUBLIC, then give each API role exactly its level.
REVOKE USAGE ON SCHEMA metrics FROM PUBLIC;
REVOKE SELECT ON metrics.daily_metrics, metrics.metric_definitions,
                 metrics.metric_collection_log, metrics.metric_revisions FROM PUBLIC;
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA metrics FROM PUBLIC;
SELECT count(*) FROM metrics.grant_api_access();
