-- metrics: the maintenance job. One procedure runs every step in order (catch-up collection,
-- compaction, the read model's refresh, pruning, then alerts) and records each in metrics.maintenance_log; the steps
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

    -- The read model: one project per call (metrics.refresh_read_model's work for it, from
    -- what changed since its last refresh), committed each, so a cancel or a crash keeps
    -- every project done and leaves the one in progress untouched.
    WHILE metrics._maintenance_read_model(this_run) LOOP
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
    'The maintenance job: catch-up collection, compaction, read-model refresh, pruning and alerts, each step recorded in metrics.maintenance_log; a second run while one works is recorded as skipped.';
