-- The maintenance job as users run it: CALL metrics.run_maintenance() (catch-up, compaction
-- one unit per transaction, pruning, alerts); fails unless its compact step completed.
\set ON_ERROR_STOP on
CALL metrics.run_maintenance();
DO $$
DECLARE
    s text;
BEGIN
    SELECT status INTO s FROM metrics.maintenance_log
    WHERE step = 'compact' ORDER BY started_at DESC LIMIT 1;
    IF s IS DISTINCT FROM 'completed' THEN
        RAISE EXCEPTION 'the maintenance job''s compact step ended %', s;
    END IF;
END $$;
