-- metrics: maintenance. Retention policies (what is kept at which resolution), the periods
-- compaction has folded, and the ledger every maintenance job writes.

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
           ('cron_job_run_details', 'log',    NULL::interval,     NULL::interval,      interval '30 days'),
           -- The raw GitHub payloads (metrics.github_events); their facts are kept.
           ('github_events',        'log',    NULL::interval,     NULL::interval,      interval '365 days'),
           -- The read model (seed 004): summaries whole for 30 days, then the last of each
           -- project's day, dropped after 180 days; trend points at hour and day grain for
           -- 90 days, then week and month points only (kept); breakdowns 90 days;
           -- drill-downs 30 days.
           ('read_model_summary',   'downsample', NULL::interval, interval '30 days', interval '180 days'),
           ('read_model_trend',     'downsample', NULL::interval, interval '90 days', NULL::interval),
           ('read_model_breakdown', 'log',    NULL::interval,     NULL::interval,      interval '90 days'),
           ('read_model_drilldown', 'log',    NULL::interval,     NULL::interval,      interval '30 days')
$$;
COMMENT ON FUNCTION metrics._retention_defaults() IS
    'The retention families, their kind (rollup, log or downsample) and their default policy.';

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
    step          text NOT NULL CHECK (step IN ('run', 'catch_up', 'compact', 'read_model', 'prune', 'alerts')),
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
    'The maintenance ledger: each run of metrics.run_maintenance and each of its steps (catch-up, compaction, read-model refresh, pruning, alerts), with what it did.';
CREATE INDEX idx_maintenance_log_started ON metrics.maintenance_log (started_at DESC);
CREATE INDEX idx_maintenance_log_run ON metrics.maintenance_log (run_id);
SELECT pg_catalog.pg_extension_config_dump('metrics.maintenance_log', '');
