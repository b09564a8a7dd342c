-- The extension, one unit per transaction: compact_metrics(false, 1) in a loop, COMMIT after
-- each (what CALL metrics.run_maintenance() will do). Fails if a unit did not verify; reports
-- the number of units and the longest one (a NOTICE "units=N longest_ms=X").
\set ON_ERROR_STOP on
DO $$
DECLARE
    n integer;
    bad integer;
    units integer := 0;
    t0 timestamptz;
    longest interval := interval '0';
BEGIN
    LOOP
        t0 := clock_timestamp();
        SELECT count(*), count(*) FILTER (WHERE verified IS DISTINCT FROM true)
        INTO n, bad FROM metrics.compact_metrics(false, 1);
        IF bad > 0 THEN
            RAISE EXCEPTION 'a compaction unit did not verify';
        END IF;
        EXIT WHEN n = 0;
        COMMIT;
        units := units + n;
        longest := greatest(longest, clock_timestamp() - t0);
    END LOOP;
    RAISE NOTICE 'units=% longest_ms=%', units, round((extract(epoch FROM longest) * 1000)::numeric, 1);
END $$;
