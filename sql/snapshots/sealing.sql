-- metrics: sealed history. Needs the tables and the guard functions (src/snapshots/seal.rs,
-- src/snapshots/protect.rs).
-- Row triggers refuse UPDATE and DELETE, statement triggers refuse TRUNCATE, for every role
-- including the owner; metrics.recollect is the one way to correct a daily value. A sealed
-- row can only be written for a day that has ended (in metrics.timezone), so no value of a
-- day still running, or of a future day, can be planted ahead of its collection.
CREATE TRIGGER daily_metrics_sealed
    BEFORE UPDATE OR DELETE ON metrics.daily_metrics
    FOR EACH ROW EXECUTE FUNCTION metrics.sealed_rows_guard();
CREATE TRIGGER daily_metrics_no_truncate
    BEFORE TRUNCATE ON metrics.daily_metrics
    FOR EACH STATEMENT EXECUTE FUNCTION metrics.sealed_rows_guard();
CREATE TRIGGER daily_metrics_closed_days
    BEFORE INSERT ON metrics.daily_metrics
    FOR EACH ROW EXECUTE FUNCTION metrics.sealed_rows_guard();
CREATE TRIGGER metric_revisions_sealed
    BEFORE UPDATE OR DELETE ON metrics.metric_revisions
    FOR EACH ROW EXECUTE FUNCTION metrics.sealed_rows_guard();
CREATE TRIGGER metric_revisions_no_truncate
    BEFORE TRUNCATE ON metrics.metric_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION metrics.sealed_rows_guard();

-- ENABLE ALWAYS: the seal also holds under session_replication_role = replica (which turns
-- ordinary triggers off), so a superuser cannot step around it by accident. Logical
-- replication's apply workers run as replica too: the guard lets them apply the publisher's
-- revisions (which the publisher's own seal allowed) and checks their inserts like any other.
ALTER TABLE metrics.daily_metrics ENABLE ALWAYS TRIGGER daily_metrics_sealed;
ALTER TABLE metrics.daily_metrics ENABLE ALWAYS TRIGGER daily_metrics_no_truncate;
ALTER TABLE metrics.daily_metrics ENABLE ALWAYS TRIGGER daily_metrics_closed_days;
ALTER TABLE metrics.metric_revisions ENABLE ALWAYS TRIGGER metric_revisions_sealed;
ALTER TABLE metrics.metric_revisions ENABLE ALWAYS TRIGGER metric_revisions_no_truncate;
