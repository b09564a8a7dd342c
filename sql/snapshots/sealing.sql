-- metrics: sealed history. Needs the tables and the guard function (src/snapshots/seal.rs).
-- Row triggers refuse UPDATE and DELETE, statement triggers refuse TRUNCATE, for every role
-- including the owner; metrics.recollect is the one way to correct a daily value.
CREATE TRIGGER daily_metrics_sealed
    BEFORE UPDATE OR DELETE ON metrics.daily_metrics
    FOR EACH ROW EXECUTE FUNCTION metrics.sealed_rows_guard();
CREATE TRIGGER daily_metrics_no_truncate
    BEFORE TRUNCATE ON metrics.daily_metrics
    FOR EACH STATEMENT EXECUTE FUNCTION metrics.sealed_rows_guard();
CREATE TRIGGER metric_revisions_sealed
    BEFORE UPDATE OR DELETE ON metrics.metric_revisions
    FOR EACH ROW EXECUTE FUNCTION metrics.sealed_rows_guard();
CREATE TRIGGER metric_revisions_no_truncate
    BEFORE TRUNCATE ON metrics.metric_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION metrics.sealed_rows_guard();
