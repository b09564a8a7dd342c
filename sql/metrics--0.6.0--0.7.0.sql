-- metrics 0.6.0 -> 0.7.0: the dashboard, and recording without hot-row contention.
--
-- metrics.sparkline (a metric's last days as one line of text, for psql), at the read level like
-- activity_series, whose days and values it draws.
--
-- Direct recording appends: two new tables, route_metrics_unfolded and operation_metrics_unfolded,
-- take the recent hours' events (one row each) and batches' buckets without a row lock;
-- metrics.latency_sketch_of(duration) gives an event's row its sketch in the views; metrics.fold_metrics() adds them into the hour
-- rows (the buffer's writer, compaction and the read model's refresh call it); the views
-- route_metrics_live and operation_metrics_live read both, and the reports read the views. Nothing
-- already recorded moves: the hour rows stay as they are.
--
-- The single-event recorders run as their caller and take the owner's rights only around their
-- SQL (see below).
--
-- Batch ids: record_route_metrics and record_operation_metrics take a second argument, batch_id
-- (DEFAULT NULL, so every call of 0.6.0 works unchanged), remembered in metrics.recorded_batches.
-- A function cannot gain an argument in place (CREATE OR REPLACE would add an overload, and a
-- call with one argument would be ambiguous): the one-argument functions are dropped and the new
-- ones created, and the grants of their level given again below. A batch element may also be a
-- summary of several events (docs/reference.md).
--
-- Grants: every role with an access level gets what its level gives the new objects, as a fresh
-- install does; access_rules() lists them.

-- The single-event recorders become SECURITY INVOKER without a SET clause: they take the
-- owner's rights and the pinned search_path only around the SQL they run (a direct write, a
-- project lookup), so a buffered call pays for no settings save and restore. CREATE OR
-- REPLACE resets both attributes and keeps their grants.
CREATE OR REPLACE FUNCTION "record_operation_metric"(
	"operation" TEXT, /* Option < String > */
	"success" bool, /* Option < bool > */
	"duration_ms" double precision, /* Option < f64 > */
	"project" TEXT DEFAULT NULL /* Option < String > */
) RETURNS void
VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_operation_event_wrapper';
CREATE OR REPLACE FUNCTION "record_route_metric"(
	"route" TEXT, /* Option < String > */
	"method" TEXT, /* Option < String > */
	"success" bool, /* Option < bool > */
	"duration_ms" double precision, /* Option < f64 > */
	"project" TEXT DEFAULT NULL /* Option < String > */
) RETURNS void
VOLATILE PARALLEL UNSAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_route_event_wrapper';

DROP FUNCTION metrics.record_operation_metrics("events" jsonb);
DROP FUNCTION metrics.record_route_metrics("events" jsonb);
-- metrics: the batch ids recording remembers (since 0.7.0), so that a client may send a batch
-- again when it does not know whether the first try committed (a timeout, a lost response).
-- metrics.record_route_metrics(events, batch_id) and record_operation_metrics first insert
-- the id here, in the caller's transaction: a second call with the id of a committed batch
-- finds it and records nothing, returning the count of the first; a concurrent one waits for
-- the first to commit or roll back (the primary key's insert), then does the same or records.
-- Ids are kept while the batch's events could still be accepted (metrics.max_event_age plus
-- metrics.max_event_lead after it was recorded); metrics.fold_metrics() deletes older ones.
CREATE TABLE metrics.recorded_batches (
    batch_id    uuid PRIMARY KEY,
    -- 'route_metrics' or 'operation_metrics': an id is one batch of one kind.
    family      text NOT NULL,
    events      bigint NOT NULL,
    -- SHA-256 of the batch's JSON (jsonb's form): an id sent again with another batch, even
    -- one of as many events, is refused rather than taken for the first.
    digest      bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.recorded_batches IS
    'Batch ids recorded by metrics.record_route_metrics / record_operation_metrics, kept while a retry of the batch could still be accepted, so a retried batch is counted once.';
CREATE INDEX idx_recorded_batches_recorded_at ON metrics.recorded_batches (recorded_at);
SELECT pg_catalog.pg_extension_config_dump('metrics.recorded_batches', '');
CREATE  FUNCTION "fold_metrics"(
	"max_rows" INT DEFAULT NULL /* Option < i32 > */
) RETURNS TABLE (
	"family" TEXT,  /* String */
	"rows_folded" bigint,  /* i64 */
	"events" bigint,  /* i64 */
	"hour_rows" bigint  /* i64 */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'fold_metrics_wrapper';
CREATE  FUNCTION "latency_sketch_of"(
	"duration_ms" double precision /* f64 */
) RETURNS bytea /* Vec < u8 > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'latency_sketch_of_wrapper';
-- metrics: what direct recording appends (since 0.7.0), and the views that read it with the
-- hour rows.
--
-- Direct mode used to add every event into its hour's row with an upsert, so concurrent
-- requests to one route queued on that row's lock until each caller committed. Now each call
-- appends one row per (route, method, hour, project) it records to route_metrics_unfolded (or
-- operation_metrics_unfolded): an event, or the bucket of a batch's events of one key and hour,
-- with no unique key, no index, no row lock, durable with the caller's commit. metrics.fold_metrics() moves them
-- into the hour rows, each in one transaction that deletes the rows it folds and adds them in,
-- so a row is folded exactly once: the buffer's writer calls it every metrics.flush_interval,
-- compaction and the read model's refresh before they read, and a pg_cron job may.
--
-- Every report reads route_metrics_live / operation_metrics_live, the folded rows and the
-- unfolded ones together, in one snapshot: a report is the same before and after a fold
-- (sums of durations are whole microseconds, so the order of addition does not matter).
-- Only buckets of the last 12 hours are appended; a late event's bucket goes into its row as
-- before (src/requests/late.rs), so compaction never meets an unfolded row of a period it
-- folds, and folds the unfolded rows first anyway.
--
-- No CHECK constraints, as in tables.sql: the only writer is the extension's recording,
-- which checks every event first.
-- A row is one event (duration_ms and success set, the bucket columns NULL: the narrowest
-- durable row, about as many bytes of WAL as a plain event log's) or a bucket of several
-- events of one (key, hour) from a batch (the bucket columns set, duration_ms and success
-- NULL). Its hour is the UTC hour of its last event (last_request_at).
CREATE TABLE metrics.route_metrics_unfolded (
    route             text NOT NULL,
    method            text NOT NULL,
    last_request_at   timestamptz NOT NULL,
    duration_ms       double precision,
    success           boolean,
    total_requests    bigint,
    successful        bigint,
    failed            bigint,
    total_duration_ms double precision,
    min_duration_ms   double precision,
    max_duration_ms   double precision,
    latency_sketch    bytea,
    project_id        uuid
);
COMMENT ON TABLE metrics.route_metrics_unfolded IS
    'Requests recorded directly and not yet folded into metrics.route_metrics (metrics.fold_metrics): one event per row, or a bucket of a batch; read both through metrics.route_metrics_live.';
CREATE TABLE metrics.operation_metrics_unfolded (
    operation         text NOT NULL,
    last_execution_at timestamptz NOT NULL,
    duration_ms       double precision,
    success           boolean,
    total_executions  bigint,
    successful        bigint,
    failed            bigint,
    total_duration_ms double precision,
    min_duration_ms   double precision,
    max_duration_ms   double precision,
    latency_sketch    bytea,
    project_id        uuid
);
COMMENT ON TABLE metrics.operation_metrics_unfolded IS
    'Executions recorded directly and not yet folded into metrics.operation_metrics (metrics.fold_metrics): one event per row, or a bucket of a batch; read both through metrics.operation_metrics_live.';
-- Rows not yet folded are the recent past a dump should keep, like the hour rows.
SELECT pg_catalog.pg_extension_config_dump('metrics.route_metrics_unfolded', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.operation_metrics_unfolded', '');
-- Everything recorded: the rows of the table (folded: true) and those not yet folded, each an
-- hour of one key (several rows of one key and hour until they are folded). security_invoker:
-- the caller sees what the tables' policies let them see.
CREATE VIEW metrics.route_metrics_live WITH (security_invoker = true) AS
    SELECT t.route, t.method, t.project_id, t.period_start, t.period_end, t.resolution, t.timezone,
           t.total_requests, t.successful, t.failed, t.total_duration_ms, t.min_duration_ms,
           t.max_duration_ms, t.last_request_at, t.latency_sketch, t.updated_at, true AS folded
    FROM metrics.route_metrics AS t
    UNION ALL
    SELECT u.route, u.method, u.project_id, h.hour, h.hour + interval '1 hour', 'hour'::text, NULL::text,
           coalesce(u.total_requests, 1), coalesce(u.successful, u.success::integer),
           coalesce(u.failed, (NOT u.success)::integer), coalesce(u.total_duration_ms, u.duration_ms),
           coalesce(u.min_duration_ms, u.duration_ms), coalesce(u.max_duration_ms, u.duration_ms),
           u.last_request_at, coalesce(u.latency_sketch, metrics.latency_sketch_of(u.duration_ms)),
           u.last_request_at, false
    FROM metrics.route_metrics_unfolded AS u,
         LATERAL (SELECT pg_catalog.date_trunc('hour', u.last_request_at, 'UTC') AS hour) AS h;
COMMENT ON VIEW metrics.route_metrics_live IS
    'Every recorded request bucket: the rows of metrics.route_metrics and those recorded since the last fold (folded = false). Sum and merge rows per key and period; never assume one row per hour.';
CREATE VIEW metrics.operation_metrics_live WITH (security_invoker = true) AS
    SELECT t.operation, t.project_id, t.period_start, t.period_end, t.resolution, t.timezone,
           t.total_executions, t.successful, t.failed, t.total_duration_ms, t.min_duration_ms,
           t.max_duration_ms, t.last_execution_at, t.latency_sketch, t.updated_at, true AS folded
    FROM metrics.operation_metrics AS t
    UNION ALL
    SELECT u.operation, u.project_id, h.hour, h.hour + interval '1 hour', 'hour'::text, NULL::text,
           coalesce(u.total_executions, 1), coalesce(u.successful, u.success::integer),
           coalesce(u.failed, (NOT u.success)::integer), coalesce(u.total_duration_ms, u.duration_ms),
           coalesce(u.min_duration_ms, u.duration_ms), coalesce(u.max_duration_ms, u.duration_ms),
           u.last_execution_at, coalesce(u.latency_sketch, metrics.latency_sketch_of(u.duration_ms)),
           u.last_execution_at, false
    FROM metrics.operation_metrics_unfolded AS u,
         LATERAL (SELECT pg_catalog.date_trunc('hour', u.last_execution_at, 'UTC') AS hour) AS h;
COMMENT ON VIEW metrics.operation_metrics_live IS
    'Every recorded operation bucket: the rows of metrics.operation_metrics and those recorded since the last fold (folded = false).';
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
-- Skipped due to `#[pgrx(sql = false)]`
CREATE  FUNCTION "record_operation_metrics"(
	"events" jsonb, /* Option < pgrx :: JsonB > */
	"batch_id" uuid DEFAULT NULL /* Option < pgrx :: Uuid > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_operation_batch_wrapper';
-- Skipped due to `#[pgrx(sql = false)]`
CREATE  FUNCTION "record_route_metrics"(
	"events" jsonb, /* Option < pgrx :: JsonB > */
	"batch_id" uuid DEFAULT NULL /* Option < pgrx :: Uuid > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'record_route_batch_wrapper';
CREATE  FUNCTION "sparkline"(
	"metric" TEXT, /* Option < String > */
	"days" INT DEFAULT 30, /* Option < i32 > */
	"project" TEXT DEFAULT NULL /* Option < String > */
) RETURNS TEXT /* String */
STABLE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sparkline_wrapper';
ALTER TABLE metrics.route_metrics_unfolded ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.operation_metrics_unfolded ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.recorded_batches ENABLE ROW LEVEL SECURITY;
-- Not yet folded, the same data: the same policy (and through the _live views, which run as
-- their reader).
CREATE POLICY "Admins can view unfolded route metrics" ON metrics.route_metrics_unfolded
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view unfolded operation metrics" ON metrics.operation_metrics_unfolded
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- Recording's bookkeeping: administrators only, like the ledger.
CREATE POLICY "Admins can view recorded batches" ON metrics.recorded_batches
    FOR SELECT USING ((SELECT metrics.is_admin()));

-- Nothing new for PUBLIC; each level's new and re-created objects to the roles that hold it
-- (only those: a grant made by an update script is an initial privilege, which pg_dump leaves
-- out, so the grants the owner made before stay ordinary ones). The list of each level comes
-- from access_rules(), filtered to what this update created.
REVOKE EXECUTE ON FUNCTION
    metrics.fold_metrics(integer),
    metrics.latency_sketch_of(double precision),
    metrics.record_operation_metrics(jsonb,uuid),
    metrics.record_route_metrics(jsonb,uuid),
    metrics.sparkline(text,integer,text)
    FROM PUBLIC;
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
            'metrics.recorded_batches',
            'metrics.route_metrics_unfolded',
            'metrics.operation_metrics_unfolded',
            'metrics.route_metrics_live',
            'metrics.operation_metrics_live',
            'metrics.fold_metrics(integer)',
            'metrics.latency_sketch_of(double precision)',
            'metrics.record_operation_metrics(jsonb,uuid)',
            'metrics.record_route_metrics(jsonb,uuid)',
            'metrics.sparkline(text,integer,text)'
        ])
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON %s %s TO %I', r.privilege,
            CASE r.object_type WHEN 'table' THEN 'TABLE' WHEN 'procedure' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
            r.object_name, r.role_name);
    END LOOP;
END
$$;
