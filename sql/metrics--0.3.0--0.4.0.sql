-- metrics 0.3.0 -> 0.4.0: the extension maintains itself.
--
-- Retention: policies per family (metrics.retention_settings, shown with the defaults by the
-- view metrics.retention_policies, set with metrics.set_retention_policy), and compaction
-- (metrics.compact_metrics) that folds the hour rows of request and operation metrics into
-- days and ISO weeks, recording the periods it folded (metrics.compacted_periods) and its
-- runs in the maintenance ledger (metrics.maintenance_log). The request tables get the
-- resolution and the zone of each row (every existing row is an hour: 'hour', no zone), and
-- the report functions a resolution column, so they are dropped and created again.
--
-- No existing row changes. Grants: every role with an access level gets what its level gives
-- the new and re-created objects, as a fresh install does (metrics.apply_api_access).

-- Each row's resolution and zone (appended, as the fresh install's tables end with them).
ALTER TABLE metrics.route_metrics ADD COLUMN resolution text NOT NULL DEFAULT 'hour', ADD COLUMN timezone text;
ALTER TABLE metrics.operation_metrics ADD COLUMN resolution text NOT NULL DEFAULT 'hour', ADD COLUMN timezone text;
-- The hour rows alone, by time, where each compaction unit looks for the oldest one
-- (sql/requests/tables.sql).
CREATE INDEX idx_route_metrics_hours ON metrics.route_metrics (period_start) WHERE resolution = 'hour';
CREATE INDEX idx_operation_metrics_hours ON metrics.operation_metrics (period_start) WHERE resolution = 'hour';

-- The maintenance tables (sql/maintenance/tables.sql).

-- The owner's choices of retention, one row per family that differs from its default.
-- Written only by metrics.set_retention_policy, never at CREATE EXTENSION, so a dump
-- restores them without conflict; metrics.retention_policies shows every family.
CREATE TABLE metrics.retention_settings (
    family      text PRIMARY KEY,
    keep_hourly interval,
    keep_daily  interval,
    drop_after  interval,
    set_by      text NOT NULL,
    set_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.retention_settings IS
    'Retention chosen with metrics.set_retention_policy, per family; families without a row keep their default.';
SELECT pg_catalog.pg_extension_config_dump('metrics.retention_settings', '');

-- The families and their defaults. A rollup family's hour rows are folded into days after
-- keep_hourly and days into ISO weeks after keep_daily (NULL: days are kept); a log family's
-- rows are deleted after drop_after. NULL drop_after: never dropped.
CREATE FUNCTION metrics._retention_defaults()
RETURNS TABLE (family text, kind text, keep_hourly interval, keep_daily interval, drop_after interval)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    VALUES ('route_metrics',        'rollup', interval '90 days', interval '365 days', NULL::interval),
           ('operation_metrics',    'rollup', interval '90 days', interval '365 days', NULL::interval),
           ('collection_log',       'log',    NULL::interval,     NULL::interval,      interval '365 days'),
           ('maintenance_log',      'log',    NULL::interval,     NULL::interval,      interval '365 days'),
           ('cron_job_run_details', 'log',    NULL::interval,     NULL::interval,      interval '30 days')
$$;
COMMENT ON FUNCTION metrics._retention_defaults() IS
    'The retention families, their kind (rollup or log) and their default policy.';

-- Every family with the policy in force: the owner's choice where there is one (NULLs
-- included: a NULL chosen is "keep"), else the default. security_invoker: the settings'
-- row-level security applies to the reader.
CREATE VIEW metrics.retention_policies WITH (security_invoker = true) AS
    SELECT d.family, d.kind,
           CASE WHEN s.family IS NULL THEN d.keep_hourly ELSE s.keep_hourly END AS keep_hourly,
           CASE WHEN s.family IS NULL THEN d.keep_daily  ELSE s.keep_daily  END AS keep_daily,
           CASE WHEN s.family IS NULL THEN d.drop_after  ELSE s.drop_after  END AS drop_after,
           s.family IS NULL AS is_default,
           s.set_by, s.set_at
    FROM metrics._retention_defaults() AS d
    LEFT JOIN metrics.retention_settings AS s ON s.family = d.family;
COMMENT ON VIEW metrics.retention_policies IS
    'The retention policy in force per family (route_metrics, operation_metrics: hourly, then daily, then weekly; logs: dropped after).';

-- The periods compaction has folded, per family: a day (its hours are one row per key) or
-- an ISO week (its days), in the zone named. A late event for such a period is added into
-- the period's row, not into an hour row. Written only by compaction.
CREATE TABLE metrics.compacted_periods (
    family           text NOT NULL,
    period_start     timestamptz NOT NULL,
    period_end       timestamptz NOT NULL,
    resolution       text NOT NULL CHECK (resolution IN ('day', 'week')),
    timezone         text NOT NULL,
    rows_before      integer NOT NULL,
    rows_after       integer NOT NULL,
    requests_covered bigint NOT NULL,
    compacted_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (family, period_start),
    CHECK (period_end > period_start)
);
COMMENT ON TABLE metrics.compacted_periods IS
    'Days and ISO weeks whose request or operation rows compaction has folded into one row per key.';
SELECT pg_catalog.pg_extension_config_dump('metrics.compacted_periods', '');

-- The job ledger: one row per maintenance run (step = 'run') and one per step of it, or of
-- a step called on its own (run_id NULL). A running run's pid and backend_start tell a
-- second run whether the first is still alive.
CREATE TABLE metrics.maintenance_log (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id        uuid REFERENCES metrics.maintenance_log (id) ON DELETE CASCADE,
    step          text NOT NULL CHECK (step IN ('run', 'catch_up', 'compact', 'prune', 'alerts')),
    status        text NOT NULL CHECK (status IN ('running', 'completed', 'partial', 'failed', 'skipped')),
    started_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    completed_at  timestamptz,
    pid           integer,
    backend_start timestamptz,
    executed_by   text NOT NULL,
    details       jsonb,
    error_message text,
    error_sqlstate text
);
COMMENT ON TABLE metrics.maintenance_log IS
    'The maintenance ledger: each run of metrics.run_maintenance and each of its steps (catch-up, compaction, pruning, alerts), with what it did.';
CREATE INDEX idx_maintenance_log_started ON metrics.maintenance_log (started_at DESC);
CREATE INDEX idx_maintenance_log_run ON metrics.maintenance_log (run_id);
SELECT pg_catalog.pg_extension_config_dump('metrics.maintenance_log', '');

-- The new functions (src/maintenance/api.rs).
CREATE FUNCTION metrics."set_retention_policy"(
	"family" TEXT, /* Option < & str > */
	"keep_hourly" interval, /* Option < Interval > */
	"keep_daily" interval DEFAULT NULL, /* Option < Interval > */
	"drop_after" interval DEFAULT NULL /* Option < Interval > */
) RETURNS TABLE (
	"family" TEXT,  /* String */
	"kind" TEXT,  /* String */
	"keep_hourly" interval,  /* Option < Interval > */
	"keep_daily" interval,  /* Option < Interval > */
	"drop_after" interval,  /* Option < Interval > */
	"is_default" bool  /* bool */
)
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'set_retention_policy_wrapper';

CREATE FUNCTION metrics."compact_metrics"(
	"dry_run" bool DEFAULT false, /* Option < bool > */
	"max_units" INT DEFAULT NULL /* Option < i32 > */
) RETURNS TABLE (
	"family" TEXT,  /* String */
	"action" TEXT,  /* String */
	"period_start" timestamp with time zone,  /* TimestampWithTimeZone */
	"period_end" timestamp with time zone,  /* TimestampWithTimeZone */
	"rows_before" bigint,  /* i64 */
	"rows_after" bigint,  /* i64 */
	"requests_covered" bigint,  /* i64 */
	"verified" bool,  /* Option < bool > */
	"error" TEXT  /* Option < String > */
)
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'compact_metrics_wrapper';

-- The reports name the resolution of their rows: a new result column, so the functions are
-- created again (their 0.3.0 symbols stay in the library for databases not yet updated).
DROP FUNCTION metrics.get_route_metrics(text, text, timestamp with time zone, timestamp with time zone, text, boolean);
DROP FUNCTION metrics.get_operation_metrics(text, timestamp with time zone, timestamp with time zone, text, boolean);
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
	"p99_ms" double precision,  /* Option < f64 > */
	"resolution" TEXT  /* String */
)
STABLE PARALLEL SAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'route_report_wrapper';

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
	"p99_ms" double precision,  /* Option < f64 > */
	"resolution" TEXT  /* String */
)
STABLE PARALLEL SAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'operation_report_wrapper';

-- Health and alerts: their tables (sql/maintenance/alerts.sql) and functions (src/maintenance/api.rs).
-- metrics: health alerts. The severity each check of metrics.health() had when
-- metrics.check_alerts() last looked, and every transition into or out of critical it
-- announced with NOTIFY metrics_alerts. Written only by metrics.check_alerts().

-- One row per check that was ever not ok: its severity as last recorded (a check without a
-- row is ok), and what was measured when it changed.
CREATE TABLE metrics.alert_state (
    check_name text PRIMARY KEY,
    severity   text NOT NULL CHECK (severity IN ('ok', 'warning', 'critical')),
    value      numeric,
    threshold  numeric,
    detail     text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.alert_state IS
    'The severity of each health check as metrics.check_alerts() last recorded it (no row: ok).';
-- Kept by pg_dump: a restored database must not announce the alerts in force again.
SELECT pg_catalog.pg_extension_config_dump('metrics.alert_state', '');

-- Every transition into critical or out of it (a recovery), as announced.
CREATE TABLE metrics.alert_log (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    check_name        text NOT NULL,
    previous_severity text NOT NULL CHECK (previous_severity IN ('ok', 'warning', 'critical')),
    severity          text NOT NULL CHECK (severity IN ('ok', 'warning', 'critical')),
    value             numeric,
    threshold         numeric,
    detail            text NOT NULL,
    hint              text,
    at                timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    CHECK (previous_severity <> severity AND 'critical' IN (previous_severity, severity))
);
COMMENT ON TABLE metrics.alert_log IS
    'Health alerts: each transition of a check into or out of critical, sent with NOTIFY metrics_alerts by metrics.check_alerts().';
CREATE INDEX idx_alert_log_at ON metrics.alert_log (at DESC);
-- The history of alerts is the operators' record, like the collection log.
SELECT pg_catalog.pg_extension_config_dump('metrics.alert_log', '');

CREATE FUNCTION metrics."health"() RETURNS TABLE (
	"check_name" TEXT,  /* String */
	"severity" TEXT,  /* String */
	"value" NUMERIC,  /* Option < AnyNumeric > */
	"threshold" NUMERIC,  /* Option < AnyNumeric > */
	"detail" TEXT,  /* String */
	"hint" TEXT  /* Option < String > */
)
STRICT STABLE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'health_wrapper';

CREATE FUNCTION metrics."check_alerts"() RETURNS TABLE (
	"check_name" TEXT,  /* String */
	"previous_severity" TEXT,  /* String */
	"severity" TEXT,  /* String */
	"detail" TEXT,  /* String */
	"at" timestamp with time zone  /* TimestampWithTimeZone */
)
STRICT VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'check_alerts_wrapper';

-- Catch-up: without a date, the collection catches up each metric's missed days (the
-- default was metrics.last_closed_day()).
CREATE OR REPLACE FUNCTION metrics."collect_daily_metrics"(
	"target_date" date DEFAULT NULL /* Option < Date > */
) RETURNS TABLE (
	"metrics_collected" INT,  /* i32 */
	"execution_time_ms" INT,  /* i32 */
	"status" TEXT  /* String */
)
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'collect_daily_metrics_wrapper';

-- The maintenance job: its steps and scheduling (src/jobs/api.rs), and the procedure (sql/maintenance/run.sql).
CREATE FUNCTION metrics."_maintenance_begin"() RETURNS uuid /* Option < Uuid > */
STRICT VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_maintenance_begin_wrapper';

CREATE FUNCTION metrics."_maintenance_catch_up"(
	"run_id" uuid /* Option < Uuid > */
) RETURNS TEXT /* String */
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_maintenance_catch_up_wrapper';

CREATE FUNCTION metrics."_maintenance_compact"(
	"run_id" uuid /* Option < Uuid > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_maintenance_compact_wrapper';

CREATE FUNCTION metrics."_maintenance_prune"(
	"run_id" uuid, /* Option < Uuid > */
	"batch_size" INT DEFAULT 10000 /* Option < i32 > */
) RETURNS bool /* bool */
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_maintenance_prune_wrapper';

CREATE FUNCTION metrics."_maintenance_alerts"(
	"run_id" uuid /* Option < Uuid > */
) RETURNS TEXT /* String */
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_maintenance_alerts_wrapper';

CREATE FUNCTION metrics."_maintenance_end"(
	"run_id" uuid /* Option < Uuid > */
) RETURNS TEXT /* String */
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', '_maintenance_end_wrapper';

CREATE FUNCTION metrics."schedule_maintenance"(
	"schedule" TEXT DEFAULT '5 0 * * *' /* Option < String > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'schedule_maintenance_wrapper';

CREATE FUNCTION metrics."unschedule_maintenance"() RETURNS bool /* bool */
STRICT VOLATILE SECURITY DEFINER
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'unschedule_maintenance_wrapper';

-- metrics: the maintenance job. One procedure runs every step in order (catch-up collection,
-- compaction, pruning, then alerts) and records each in metrics.maintenance_log; the steps
-- are SECURITY DEFINER functions metrics._maintenance_*. It is a procedure with no SET
-- clause and SECURITY INVOKER, like backfill_daily_metrics_chunked, so that it may COMMIT
-- after every unit of work: an interrupted run keeps what it finished, and the next run
-- finishes the rest. CALLed on its own (pg_cron's job, psql in autocommit) it commits;
-- inside a transaction block it runs in the caller's transaction without committing, so
-- BEGIN; CALL metrics.run_maintenance(); ROLLBACK; leaves nothing behind.
CREATE PROCEDURE metrics.run_maintenance()
LANGUAGE plpgsql
AS $$
DECLARE
    commits  boolean := metrics._can_commit();
    this_run uuid;
    outcome  text;
BEGIN
    -- Another run working: this one is recorded as skipped, and does nothing.
    this_run := metrics._maintenance_begin();
    IF this_run IS NULL THEN
        RAISE NOTICE 'metrics: another maintenance run is working; this one did nothing (recorded as skipped in metrics.maintenance_log)';
        RETURN;
    END IF;
    -- The run's row, committed at once, tells other sessions that this run is working.
    IF commits THEN COMMIT; END IF;

    -- Catch-up: every closed day each metric misses, oldest first (metrics.catch_up_days
    -- at most); transient failures are retried inside it, the others at the next run.
    PERFORM metrics._maintenance_catch_up(this_run);
    IF commits THEN COMMIT; END IF;

    -- Compaction: one unit (metrics.compact_metrics(false, 1)) per call, committed each.
    WHILE metrics._maintenance_compact(this_run) LOOP
        IF commits THEN COMMIT; END IF;
    END LOOP;
    IF commits THEN COMMIT; END IF;

    -- Pruning: the collection log, the ledger and pg_cron's run details of the extension's
    -- jobs, past their retention policies, one batch per call, committed each.
    WHILE metrics._maintenance_prune(this_run) LOOP
        IF commits THEN COMMIT; END IF;
    END LOOP;
    IF commits THEN COMMIT; END IF;

    -- Alerts: the health checks, each transition into or out of critical recorded and sent
    -- with NOTIFY metrics_alerts (metrics.check_alerts()).
    PERFORM metrics._maintenance_alerts(this_run);
    IF commits THEN COMMIT; END IF;

    outcome := metrics._maintenance_end(this_run);
    IF outcome <> 'completed' THEN
        RAISE WARNING 'metrics: maintenance run % ended %; see metrics.maintenance_log', this_run, outcome;
    END IF;
END
$$;
COMMENT ON PROCEDURE metrics.run_maintenance() IS
    'The maintenance job: catch-up collection, compaction, pruning and alerts, each step recorded in metrics.maintenance_log; a second run while one works is recorded as skipped.';


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
        ('function',  'metrics._maintenance_end(uuid)',                     'EXECUTE', 'manage'),

        -- maintenance: health and alerts (functions)
        -- health() reads the admin-only tables with the owner's rights and check_alerts()
        -- writes the alert tables: server-side operators only (service_role); both also
        -- refuse callers metrics.is_admin() does not accept, decided as the caller.
        ('function',  'metrics.health()',                                   'EXECUTE', 'manage'),
        ('function',  'metrics.check_alerts()',                             'EXECUTE', 'manage'),

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

-- Row-level security of the new tables (sql/access/policies.sql).
ALTER TABLE metrics.retention_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.compacted_periods ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.maintenance_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Admins can view compacted periods" ON metrics.compacted_periods
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view the maintenance log" ON metrics.maintenance_log
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Managers can view retention settings" ON metrics.retention_settings
    FOR SELECT USING (true);
ALTER TABLE metrics.alert_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.alert_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Admins can view the alert state" ON metrics.alert_state
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view the alert log" ON metrics.alert_log
    FOR SELECT USING ((SELECT metrics.is_admin()));

-- Nothing new for PUBLIC; each level's new and re-created objects to the roles that hold it
-- (only those: a grant made by an update script is an initial privilege, which pg_dump leaves
-- out, so the grants the owner made before stay ordinary ones). The list of each level comes
-- from access_rules(), filtered to what this update created.
REVOKE EXECUTE ON FUNCTION metrics._retention_defaults(), metrics.set_retention_policy(text, interval, interval, interval),
    metrics.compact_metrics(boolean, integer),
    metrics.get_route_metrics(text, text, timestamp with time zone, timestamp with time zone, text, boolean),
    metrics.get_operation_metrics(text, timestamp with time zone, timestamp with time zone, text, boolean)
    , metrics.health(), metrics.check_alerts(), metrics._maintenance_begin(), metrics._maintenance_catch_up(uuid),
    metrics._maintenance_compact(uuid), metrics._maintenance_prune(uuid, integer), metrics._maintenance_alerts(uuid),
    metrics._maintenance_end(uuid), metrics.schedule_maintenance(text), metrics.unschedule_maintenance()
    FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE metrics.run_maintenance() FROM PUBLIC;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT a.role_name, ru.object_type, ru.object_name, ru.privilege
        FROM metrics.api_roles() AS a
        JOIN metrics._access_levels() AS have ON have.access = a.access
        CROSS JOIN metrics.access_rules() AS ru
        JOIN metrics._access_levels() AS need ON need.access = ru.access
        WHERE a.role_exists AND need.rank <= have.rank AND ru.object_name = ANY (ARRAY[
            'metrics.compacted_periods', 'metrics.maintenance_log', 'metrics.retention_settings',
            'metrics.retention_policies', 'metrics._retention_defaults()',
            'metrics.set_retention_policy(text,interval,interval,interval)',
            'metrics.compact_metrics(boolean,integer)',
            'metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean)',
            'metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean)'
            , 'metrics.alert_state', 'metrics.alert_log', 'metrics.health()', 'metrics.check_alerts()',
            'metrics.run_maintenance()', 'metrics.schedule_maintenance(text)', 'metrics.unschedule_maintenance()',
            'metrics._maintenance_begin()', 'metrics._maintenance_catch_up(uuid)', 'metrics._maintenance_compact(uuid)',
            'metrics._maintenance_prune(uuid,integer)', 'metrics._maintenance_alerts(uuid)', 'metrics._maintenance_end(uuid)'
        ])
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON %s %s TO %I', r.privilege,
            CASE r.object_type WHEN 'table' THEN 'TABLE' WHEN 'procedure' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
            r.object_name, r.role_name);
    END LOOP;
END
$$;
