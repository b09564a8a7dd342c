-- metrics: the chunked backfill. A procedure, not a function, so it can COMMIT after each
-- chunk: an interruption keeps every finished chunk, and calling it again resumes (sealed
-- days are skipped). It has no SET clause and is SECURITY INVOKER because PostgreSQL forbids
-- COMMIT in procedures that have either; it only calls metrics.backfill_daily_metrics, whose
-- EXECUTE privilege the caller needs. CALL it outside an explicit transaction block: inside
-- one it refuses before any work (metrics._can_commit() asks PostgreSQL whether it may commit).
CREATE PROCEDURE metrics.backfill_daily_metrics_chunked(
    start_date date,
    end_date   date DEFAULT metrics.last_closed_day(),
    chunk_days integer DEFAULT 31
)
LANGUAGE plpgsql
AS $$
DECLARE
    chunk_start date := start_date;
    chunk_end   date;
    chunk_count integer;
    chunk_no    integer := 0;
    days_done   integer := 0;
    recorded    bigint := 0;
    started     timestamptz := pg_catalog.clock_timestamp();
    chunk       record;
BEGIN
    IF start_date IS NULL OR end_date IS NULL OR chunk_days IS NULL THEN
        RAISE EXCEPTION 'start_date, end_date and chunk_days must not be NULL'
            USING ERRCODE = '22004', HINT = 'omit end_date and chunk_days to use their defaults';
    END IF;
    IF chunk_days < 1 OR chunk_days > 3660 THEN
        RAISE EXCEPTION 'chunk_days must be between 1 and 3660, not %', chunk_days
            USING ERRCODE = '22023', HINT = 'each chunk is committed on its own; 31 is a month at a time';
    END IF;
    IF NOT isfinite(start_date) OR NOT isfinite(end_date) THEN
        RAISE EXCEPTION 'start_date and end_date must be finite dates, not % and %', start_date, end_date
            USING ERRCODE = '22008', HINT = 'pass the first and the last day to backfill, e.g. ''2025-01-01'' and metrics.last_closed_day()';
    END IF;
    IF start_date > end_date THEN
        RAISE EXCEPTION 'start_date (%) is after end_date (%)', start_date, end_date
            USING ERRCODE = '22023', HINT = 'pass a start_date on or before the end_date';
    END IF;
    IF NOT metrics._can_commit() THEN
        RAISE EXCEPTION 'metrics.backfill_daily_metrics_chunked cannot run inside a transaction block'
            USING ERRCODE = '25001',
                  DETAIL = 'It commits after each chunk, which PostgreSQL allows only to a procedure CALLed on its own, not inside BEGIN ... COMMIT, a function or an exception block.',
                  HINT = 'CALL it on its own (in autocommit mode; psql: outside BEGIN), or, inside your transaction, call SELECT * FROM metrics.backfill_daily_metrics(start_date, end_date)';
    END IF;
    chunk_count := ((end_date - start_date) / chunk_days) + 1;
    WHILE chunk_start <= end_date LOOP
        chunk_end := LEAST(chunk_start + (chunk_days - 1), end_date);
        SELECT * INTO chunk FROM metrics.backfill_daily_metrics(chunk_start, chunk_end);
        COMMIT;
        chunk_no := chunk_no + 1;
        days_done := days_done + chunk.dates_processed;
        recorded := recorded + chunk.total_metrics;
        RAISE NOTICE 'metrics: chunk %/% (% to %) committed: % values recorded; % of % days done, % days/s',
            chunk_no, chunk_count, chunk_start, chunk_end, chunk.total_metrics,
            days_done, end_date - start_date + 1,
            round(days_done / GREATEST(extract(epoch FROM pg_catalog.clock_timestamp() - started), 0.001)::numeric, 1);
        chunk_start := chunk_end + 1;
    END LOOP;
END
$$;
COMMENT ON PROCEDURE metrics.backfill_daily_metrics_chunked(date, date, integer) IS
    'Backfill committing chunk by chunk; an interrupted run keeps finished chunks and resumes when called again.';
