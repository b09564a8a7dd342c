-- metrics: row-level security and privileges. Loaded last (finalize), when every table and
-- function exists. Least privilege: everyone may read the metrics and their definitions; the
-- log and the revisions are filtered to administrators; nobody writes to a table directly.
-- Every write goes through a SECURITY DEFINER function that pins search_path.

-- RLS on every table. No INSERT, UPDATE or DELETE policy exists, so a role other than the
-- owner cannot write even if someone grants it table privileges by mistake.
ALTER TABLE metrics.metric_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.daily_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metric_collection_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metric_revisions ENABLE ROW LEVEL SECURITY;

CREATE POLICY "Anyone can view metrics" ON metrics.daily_metrics
    FOR SELECT USING (true);
CREATE POLICY "Anyone can view metric definitions" ON metrics.metric_definitions
    FOR SELECT USING (true);
CREATE POLICY "Admins can view collection logs" ON metrics.metric_collection_log
    FOR SELECT USING (metrics.is_admin());
CREATE POLICY "Admins can view metric revisions" ON metrics.metric_revisions
    FOR SELECT USING (metrics.is_admin());

-- Dashboards (anon and authenticated API roles included) must reach the read functions and tables.
GRANT USAGE ON SCHEMA metrics TO PUBLIC;
-- Snapshots and definitions are public analytics: read-only for everyone.
GRANT SELECT ON metrics.daily_metrics, metrics.metric_definitions TO PUBLIC;
-- Readable, but the policies above return rows only to administrators.
GRANT SELECT ON metrics.metric_collection_log, metrics.metric_revisions TO PUBLIC;

-- Functions are executable by PUBLIC by default. These write, read any source table with the
-- owner's rights, or schedule jobs, so only the owner (and roles it grants) may call them.
REVOKE EXECUTE ON FUNCTION metrics.define_metric(text, text, text, text, text, text, text, text, text, text, text, text, text, integer, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION metrics.activate_metric(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION metrics.deactivate_metric(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION metrics.install_preset(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION metrics.collect_daily_metrics(date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION metrics.backfill_daily_metrics(date, date) FROM PUBLIC;
REVOKE EXECUTE ON PROCEDURE metrics.backfill_daily_metrics_chunked(date, date, integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION metrics.recollect(date, text[], text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION metrics.schedule_daily_collection(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION metrics.unschedule_daily_collection() FROM PUBLIC;
-- A trigger function; nothing calls it directly.
REVOKE EXECUTE ON FUNCTION metrics.sealed_rows_guard() FROM PUBLIC;
-- The read functions (fetch_metrics, activity_series, current_metrics, last_closed_day,
-- is_admin) keep PUBLIC's EXECUTE: they are SECURITY INVOKER and read only what RLS allows.
