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
