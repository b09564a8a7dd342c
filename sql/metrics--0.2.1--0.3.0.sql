-- metrics 0.2.1 -> 0.3.0: sealed means sealed.
--
-- Provenance: every definition has a version (metric_definitions.definition_version, which a
-- replace that changes the computation raises, keeping the earlier forms in
-- previous_definitions), and every sealed value and revision records the version that
-- computed it (NULL for values sealed before 0.3.0: unknown). recollect_outdated recomputes
-- the values of older versions.
-- Distinct counts and breakdowns keep each day's distinct-count sketch
-- (daily_metrics.distinct_sketch, NULL before 0.3.0), so weeks and months are distinct
-- counts of the whole period; metrics._distinct_sketch is the aggregate that builds it.
-- The seal: the triggers fire ALWAYS (also under session_replication_role = replica), and a
-- sealed row can only be inserted for a day that has ended; an event trigger refuses
-- DROP EXTENSION metrics (and DROP SCHEMA metrics CASCADE, DROP OWNED BY its owner) while
-- sealed values exist (where a superuser updates); the chunked
-- backfill refuses to start inside a transaction block; verify_security() reports a seal
-- that no longer holds.
--
-- No existing sealed value changes. Grants: the two new functions of the manage level go to
-- the roles that have it, as a fresh install gives them; the internal ones to nobody.
\echo Use "ALTER EXTENSION metrics UPDATE TO '0.3.0'" to load this file. \quit

-- Provenance columns (appended, as the fresh install's tables end with them).
ALTER TABLE metrics.metric_definitions
    ADD COLUMN definition_version   integer NOT NULL DEFAULT 1 CHECK (definition_version >= 1),
    ADD COLUMN previous_definitions jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(previous_definitions) = 'array');
ALTER TABLE metrics.daily_metrics
    ADD COLUMN definition_version integer,
    ADD COLUMN distinct_sketch    bytea;
ALTER TABLE metrics.metric_revisions
    ADD COLUMN old_definition_version integer,
    ADD COLUMN new_definition_version integer;

-- New functions (src/snapshots/api.rs, src/snapshots/distinct.rs).
CREATE  FUNCTION "_can_commit"() RETURNS bool /* bool */
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_can_commit_wrapper';

CREATE  FUNCTION "recollect_outdated"(
	"start_date" date, /* Option < Date > */
	"end_date" date, /* Option < Date > */
	"reason" TEXT, /* Option < String > */
	"categories" TEXT[] DEFAULT NULL /* :: std :: option :: Option < Vec < Option < String > > > */
) RETURNS TABLE (
	"metric_date" date,  /* Date */
	"metric_category" TEXT,  /* String */
	"old_value" NUMERIC,  /* Option < AnyNumeric > */
	"new_value" NUMERIC,  /* AnyNumeric */
	"changed" bool  /* bool */
)
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'recollect_outdated_wrapper';

CREATE  FUNCTION "distinct_sketch_agg_distinct_sketch_agg_finalize"(
	"this" internal /* Internal */
) RETURNS bytea /* Vec < u8 > */
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'distinct_sketch_agg_distinct_sketch_agg_finalize_wrapper';

CREATE  FUNCTION "distinct_sketch_agg_distinct_sketch_agg_state"(
	"this" internal, /* Internal */
	"hash" bigint /* Option < i64 > */
) RETURNS internal /* Internal */
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'distinct_sketch_agg_distinct_sketch_agg_state_wrapper';

CREATE AGGREGATE _distinct_sketch (
	"hash" bigint /* Option < i64 > */
)
(
	SFUNC = "distinct_sketch_agg_distinct_sketch_agg_state", /* metrics::snapshots::distinct::DistinctSketchAgg::state */
	STYPE = internal, /* Internal */
	FINALFUNC = "distinct_sketch_agg_distinct_sketch_agg_finalize" /* metrics::snapshots::distinct::DistinctSketchAgg::final */
);

-- The seal on inserts, and every seal trigger fires always.
CREATE TRIGGER daily_metrics_closed_days
    BEFORE INSERT ON metrics.daily_metrics
    FOR EACH ROW EXECUTE FUNCTION metrics.sealed_rows_guard();
ALTER TABLE metrics.daily_metrics ENABLE ALWAYS TRIGGER daily_metrics_sealed;
ALTER TABLE metrics.daily_metrics ENABLE ALWAYS TRIGGER daily_metrics_no_truncate;
ALTER TABLE metrics.daily_metrics ENABLE ALWAYS TRIGGER daily_metrics_closed_days;
ALTER TABLE metrics.metric_revisions ENABLE ALWAYS TRIGGER metric_revisions_sealed;
ALTER TABLE metrics.metric_revisions ENABLE ALWAYS TRIGGER metric_revisions_no_truncate;

-- The guard on DROP EXTENSION (sql/snapshots/protect.sql).
CREATE FUNCTION metrics._protect_history()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'metrics_protect_history';
COMMENT ON FUNCTION metrics._protect_history() IS
    'Event trigger: refuses DROP EXTENSION metrics while sealed values exist, unless metrics.allow_drop_history is on.';

-- Only a superuser may create an event trigger. Where the installing role is not one, the
-- extension installs without the guard and verify_security() reports it missing.
DO $$
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user) THEN
        CREATE EVENT TRIGGER metrics_protect_history ON ddl_command_start
            WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
            EXECUTE FUNCTION metrics._protect_history();
        -- Also under session_replication_role = replica, like the seal's row triggers.
        ALTER EVENT TRIGGER metrics_protect_history ENABLE ALWAYS;
    ELSE
        RAISE NOTICE 'metrics: % is not a superuser, so DROP EXTENSION metrics is not guarded', current_user
            USING HINT = 'a superuser can add the guard: CREATE EVENT TRIGGER metrics_protect_history ON ddl_command_start WHEN TAG IN (''DROP EXTENSION'', ''DROP SCHEMA'', ''DROP OWNED'') EXECUTE FUNCTION metrics._protect_history(); ALTER EVENT TRIGGER metrics_protect_history ENABLE ALWAYS';
    END IF;
END
$$;

-- The chunked backfill checks that it may commit before any work (same signature).
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
    IF NOT metrics._can_commit() THEN
        RAISE EXCEPTION 'metrics.backfill_daily_metrics_chunked cannot run inside a transaction block'
            USING ERRCODE = '25001',
                  DETAIL = 'It commits after each chunk, which PostgreSQL allows only to a procedure CALLed on its own, not inside BEGIN ... COMMIT, a function or an exception block.',
                  HINT = 'CALL it on its own (in autocommit mode; psql: outside BEGIN), or, inside your transaction, call SELECT * FROM metrics.backfill_daily_metrics(start_date, end_date)';
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

-- The access levels of the new objects (sql/access/levels.sql).
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
        ('function',  'metrics.recollect_outdated(date,date,text,text[])',  'EXECUTE', 'manage'),
        -- Asked by backfill_daily_metrics_chunked, which runs as its caller.
        ('function',  'metrics._can_commit()',                              'EXECUTE', 'manage'),
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
        ('function',  'metrics._protect_history()',                         'EXECUTE', 'internal'),
        -- The distinct-count sketch the computing statements call as the source's owner,
        -- who alone is given EXECUTE on it (and USAGE on the schema), when first needed.
        ('function',  'metrics._distinct_sketch(bigint)',                   'EXECUTE', 'internal'),
        ('function',  'metrics.distinct_sketch_agg_distinct_sketch_agg_state(internal,bigint)', 'EXECUTE', 'internal'),
        ('function',  'metrics.distinct_sketch_agg_distinct_sketch_agg_finalize(internal)',     'EXECUTE', 'internal'),
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
COMMENT ON FUNCTION metrics.access_rules() IS
    'The access level (read, manage, owner, internal) of every schema, table and function of the extension.';

-- verify_security reports a seal that no longer holds (sql/access/verify.sql).
CREATE OR REPLACE FUNCTION metrics._security_findings_ledger()
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
    'Part of verify_security: access rules for missing objects, an admin check that is gone or not executable by an API role, and a seal that no longer holds.';

-- Nothing new for PUBLIC; the manage level's new functions to the roles that hold it.
REVOKE EXECUTE ON FUNCTION metrics._can_commit(), metrics.recollect_outdated(date, date, text, text[]),
    metrics._distinct_sketch(bigint), metrics.distinct_sketch_agg_distinct_sketch_agg_state(internal, bigint),
    metrics.distinct_sketch_agg_distinct_sketch_agg_finalize(internal), metrics._protect_history() FROM PUBLIC;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT a.role_name FROM metrics.api_roles() AS a WHERE a.role_exists AND a.access = 'manage' LOOP
        EXECUTE pg_catalog.format(
            'GRANT EXECUTE ON FUNCTION metrics._can_commit(), metrics.recollect_outdated(date, date, text, text[]) TO %I',
            r.role_name);
    END LOOP;
END
$$;
