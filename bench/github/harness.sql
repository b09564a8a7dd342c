-- bench/github/harness.sql: the ingest baseline, timing and comparison helpers of
-- bench/github/run (schema bench). Written for the benchmark, not part of the extension.
--
-- bench.events_raw, bench.naive_ingest(batch jsonb) -> (events, recorded)
--     the ingest baseline, fourkeys style: every event's raw payload into one plain table
--     (fourkeys' events_raw columns; the key is the delivery id), one event at a time in a
--     PL/pgSQL loop that checks first (SELECT ... IF NOT FOUND THEN INSERT). No facts, no
--     derivation: what a team stores before its reporting queries parse the JSON.
-- CALL bench.ingest_files(kind, files)
--     reads each file (pg_read_file, not timed), runs the kind's statement on its text as a
--     parameter ($1::jsonb, as a client's bind parameter would arrive) and COMMITs, file by
--     file; logs each file's statement and commit times into bench.ingest_log. Kinds: ours
--     (record_github_events), naive, parse (only $1::jsonb: a floor for any ingest).
-- bench.time_ms(statement)   one statement's time by the server's clock, in ms.
-- bench.time_runs(statement, runs)  an untimed run, then the timed runs (3 if it is slow).
-- bench.compare(start, end, environment, grain, time_zone)
--     get_dora_metrics against bench.dora_baseline (bench/github/baseline.sql), column by column.
-- bench.loaded_library_inode()  which metrics.so this backend has loaded.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;

-- fourkeys' events_raw (event_type, id, metadata, time_created, signature, msg_id, source);
-- signature here is the payload's SHA-256 (the extension keeps one too), id the delivery id.
CREATE TABLE IF NOT EXISTS bench.events_raw (
    event_type   text NOT NULL,
    id           text PRIMARY KEY,
    metadata     jsonb NOT NULL,
    time_created timestamptz,
    signature    text NOT NULL,
    msg_id       text NOT NULL,
    source       text NOT NULL
);

CREATE OR REPLACE FUNCTION bench.naive_ingest(batch jsonb, OUT events integer, OUT recorded integer)
LANGUAGE plpgsql
AS $$
DECLARE
    e jsonb;
    n integer := 0;
BEGIN
    events := jsonb_array_length(batch);
    FOR e IN SELECT value FROM jsonb_array_elements(batch) LOOP
        PERFORM 1 FROM bench.events_raw WHERE id = e->>'delivery_id';
        IF NOT FOUND THEN
            INSERT INTO bench.events_raw (event_type, id, metadata, time_created, signature, msg_id, source)
            VALUES (e->>'event', e->>'delivery_id', e->'payload',
                    (CASE e->>'event'
                         WHEN 'push' THEN e#>>'{payload,head_commit,timestamp}'
                         WHEN 'deployment' THEN e#>>'{payload,deployment,updated_at}'
                         WHEN 'deployment_status' THEN e#>>'{payload,deployment_status,updated_at}'
                         WHEN 'pull_request' THEN e#>>'{payload,pull_request,updated_at}'
                         WHEN 'issues' THEN e#>>'{payload,issue,updated_at}'
                     END)::timestamptz,
                    encode(sha256(convert_to((e->'payload')::text, 'UTF8')), 'hex'),
                    e->>'delivery_id', 'github');
            n := n + 1;
        END IF;
    END LOOP;
    recorded := n;
END
$$;

CREATE TABLE IF NOT EXISTS bench.ingest_log (
    kind         text NOT NULL,
    seq          integer NOT NULL,
    file         text NOT NULL,
    events       integer NOT NULL,
    recorded     integer NOT NULL,
    statement_ms double precision NOT NULL,
    commit_ms    double precision NOT NULL,
    PRIMARY KEY (kind, seq)
);

CREATE OR REPLACE PROCEDURE bench.ingest_files(p_kind text, p_files text[])
LANGUAGE plpgsql
AS $$
DECLARE
    stmt text := CASE p_kind
        WHEN 'ours' THEN 'SELECT events, recorded FROM metrics.record_github_events($1::jsonb)'
        WHEN 'naive' THEN 'SELECT events, recorded FROM bench.naive_ingest($1::jsonb)'
        -- only the parse of the batch (text to jsonb): a floor for any ingest (diagnostic)
        WHEN 'parse' THEN 'SELECT jsonb_array_length($1::jsonb), 0'
    END;
    content text;
    t0 timestamptz; t1 timestamptz; t2 timestamptz;
    n_events integer; n_recorded integer;
    log_events integer[] := '{}'; log_recorded integer[] := '{}';
    log_stmt double precision[] := '{}'; log_commit double precision[] := '{}';
BEGIN
    IF stmt IS NULL THEN
        RAISE EXCEPTION 'bench.ingest_files: unknown kind %', p_kind;
    END IF;
    FOR i IN 1 .. cardinality(p_files) LOOP
        content := pg_read_file(p_files[i]);
        t0 := clock_timestamp();
        EXECUTE stmt INTO n_events, n_recorded USING content;
        t1 := clock_timestamp();
        COMMIT;
        t2 := clock_timestamp();
        log_events := log_events || n_events;
        log_recorded := log_recorded || n_recorded;
        log_stmt := log_stmt || extract(epoch FROM t1 - t0) * 1000;
        log_commit := log_commit || extract(epoch FROM t2 - t1) * 1000;
    END LOOP;
    INSERT INTO bench.ingest_log (kind, seq, file, events, recorded, statement_ms, commit_ms)
    SELECT p_kind, i, p_files[i], log_events[i], log_recorded[i], log_stmt[i], log_commit[i]
    FROM generate_series(1, cardinality(p_files)) AS i;
    COMMIT;
END
$$;

CREATE OR REPLACE FUNCTION bench.time_ms(statement text)
RETURNS double precision
LANGUAGE plpgsql
AS $$
DECLARE
    t0 timestamptz;
BEGIN
    t0 := clock_timestamp();
    EXECUTE statement;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;

-- An untimed run, then `runs` timed runs of a statement in this session; only `slow_runs`
-- when the untimed run took longer than slow_ms (a statement of seconds need not run 20 times).
CREATE OR REPLACE FUNCTION bench.time_runs(statement text, runs integer, slow_ms double precision DEFAULT 1000,
                                           slow_runs integer DEFAULT 3)
RETURNS SETOF double precision
LANGUAGE plpgsql
AS $$
BEGIN
    IF bench.time_ms(statement) > slow_ms THEN
        runs := least(runs, slow_runs);
    END IF;
    FOR i IN 1 .. runs LOOP
        RETURN NEXT bench.time_ms(statement);
    END LOOP;
END
$$;

-- get_dora_metrics (in time_zone: metrics.timezone is set for the call) against the baseline,
-- per column: periods compared, periods equal, the largest difference, a few examples.
-- Numbers are equal when both are NULL or they differ by at most 1e-6 (the baseline's
-- percentiles are double precision; the extension's numeric).
CREATE OR REPLACE FUNCTION bench.compare(p_start date, p_end date, p_environment text, p_grain text, p_tz text)
RETURNS TABLE (col text, periods bigint, equal bigint, max_diff numeric, examples text)
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('metrics.timezone', p_tz, true);
    DROP TABLE IF EXISTS pg_temp.cmp_ours, pg_temp.cmp_base;
    CREATE TEMP TABLE cmp_ours ON COMMIT DROP AS
        SELECT * FROM metrics.get_dora_metrics(p_start, p_end, p_environment, p_grain);
    CREATE TEMP TABLE cmp_base ON COMMIT DROP AS
        SELECT * FROM bench.dora_baseline(p_start, p_end, p_environment, p_grain, p_tz);
    RETURN QUERY
    WITH j AS (
        SELECT coalesce(o.period_start, b.period_start) AS period_start, coalesce(o.repository, b.repository) AS repository,
               x.col, x.ours, x.base
        FROM cmp_ours AS o
        FULL JOIN cmp_base AS b ON b.period_start = o.period_start AND b.repository = o.repository
        CROSS JOIN LATERAL (VALUES
            ('deployments', o.deployments::numeric, b.deployments::numeric),
            ('lead_time_n', o.lead_time_n::numeric, b.lead_time_n::numeric),
            ('lead_time_p50_hours', o.lead_time_p50_hours::numeric, b.lead_time_p50_hours::numeric),
            ('deploy_days', o.deploy_days::numeric, b.deploy_days::numeric),
            ('lead_time_p90_hours', o.lead_time_p90_hours::numeric, b.lead_time_p90_hours::numeric),
            ('change_failure_rate', o.change_failure_rate::numeric, b.change_failure_rate::numeric),
            ('recovery_n', o.recovery_n::numeric, b.recovery_n::numeric),
            ('recovery_p50_hours', o.recovery_p50_hours::numeric, b.recovery_p50_hours::numeric)
        ) AS x(col, ours, base)
    ), d AS (
        SELECT j.*, (j.ours IS NULL AND j.base IS NULL) OR abs(j.ours - j.base) <= 0.000001 AS same
        FROM j
    )
    SELECT d.col, count(*), count(*) FILTER (WHERE d.same),
           round(max(abs(d.ours - d.base)), 6),
           (SELECT string_agg(format('%s %s: ours %s, baseline %s', e.period_start, e.repository,
                                     coalesce(round(e.ours, 6)::text, 'NULL'), coalesce(round(e.base, 6)::text, 'NULL')), '; ')
            FROM (SELECT * FROM d AS e2 WHERE e2.col = d.col AND NOT e2.same ORDER BY e2.period_start, e2.repository LIMIT 3) AS e)
    FROM d
    GROUP BY d.col
    ORDER BY min(array_position(ARRAY['deployments', 'lead_time_n', 'lead_time_p50_hours', 'deploy_days', 'lead_time_p90_hours',
                                      'change_failure_rate', 'recovery_n', 'recovery_p50_hours'], d.col));
END
$$;

CREATE OR REPLACE FUNCTION bench.loaded_library_inode()
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN (regexp_match(pg_read_file('/proc/self/maps'), '(\d+) +/\S*/metrics\.so'))[1];
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$$;
