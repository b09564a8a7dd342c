-- bench/backfill/baseline.sql: step (a) of the benchmark, the approach the extension replaces.
--
-- Written by us for this benchmark, NOT part of the extension: a transcription of the seed
-- design's "PostgreSQL Function: collect_daily_metrics()" and its backfill_daily_metrics()
-- (/work/shared/seeds/002_2bb1f0fbfc417652.txt, sections 2 and 4), kept as close to the seed
-- as possible so that step (a) measures what the seed would have done:
--   * per day, five COUNT(*) queries with `created_at::DATE <= d` (totals) and
--     `created_at::DATE = d` (created that day) over profiles, posts and comments; the casts
--     make the predicates non-sargable, so every query scans its whole table;
--   * each value written by INSERT ... ON CONFLICT ... DO UPDATE, with a log row per day and an
--     EXCEPTION block (a subtransaction per day), as in the seed;
--   * a day-by-day loop calling collect for every date of the range, with a NOTICE per day.
-- Differences, none of which changes the cost: the objects live in schema `bench` (the table is
-- bench.daily_metrics_baseline, with the seed's columns, constraint and indexes), the source
-- schema comes from the :schema variable through the functions' search_path, and the seed's
-- loop variable `current_date` (a reserved word) is called `d`.
--
--   psql -X -v schema=bench_src -f bench/backfill/baseline.sql      (schema defaults to bench_src)

\set ON_ERROR_STOP on
\if :{?schema}
\else
\set schema bench_src
\endif
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS bench;
DROP FUNCTION IF EXISTS bench.backfill_daily_metrics(date, date);
DROP FUNCTION IF EXISTS bench.collect_daily_metrics(date);
DROP TABLE IF EXISTS bench.daily_metrics_baseline;
DROP TABLE IF EXISTS bench.metric_collection_log_baseline;

-- The seed's daily_metrics, with its constraint and indexes.
CREATE TABLE bench.daily_metrics_baseline (
    id                   uuid DEFAULT gen_random_uuid() PRIMARY KEY,
    metric_date          date NOT NULL,
    metric_type          text NOT NULL,
    metric_category      text NOT NULL,
    value                numeric NOT NULL,
    metadata             jsonb DEFAULT '{}',
    collection_timestamp timestamptz DEFAULT now() NOT NULL,
    created_at           timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT unique_daily_metric_baseline UNIQUE (metric_date, metric_type, metric_category)
);
CREATE INDEX ON bench.daily_metrics_baseline (metric_date DESC, metric_type, metric_category);
CREATE INDEX ON bench.daily_metrics_baseline (metric_category, metric_date DESC);
CREATE INDEX ON bench.daily_metrics_baseline (collection_timestamp DESC);

-- The seed's metric_collection_log.
CREATE TABLE bench.metric_collection_log_baseline (
    id                uuid DEFAULT gen_random_uuid() PRIMARY KEY,
    collection_date   date NOT NULL,
    started_at        timestamptz NOT NULL,
    completed_at      timestamptz,
    status            text NOT NULL,
    metrics_collected integer DEFAULT 0,
    error_message     text,
    error_details     jsonb,
    created_at        timestamptz DEFAULT now() NOT NULL
);

-- Unqualified names resolve in the source schema first, then in bench (search_path below).
SET search_path = :"schema", bench, pg_catalog;

CREATE FUNCTION bench.collect_daily_metrics(target_date date DEFAULT CURRENT_DATE)
RETURNS TABLE (metrics_collected integer, execution_time_ms integer, status text)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  start_time TIMESTAMPTZ;
  log_id UUID;
  metrics_count INTEGER := 0;
BEGIN
  start_time := clock_timestamp();

  -- Create log entry
  INSERT INTO metric_collection_log_baseline (collection_date, started_at, status)
  VALUES (target_date, start_time, 'running')
  RETURNING id INTO log_id;

  -- Collect total users count
  INSERT INTO daily_metrics_baseline (metric_date, metric_type, metric_category, value)
  VALUES (
    target_date,
    'count',
    'users_total',
    (SELECT COUNT(*) FROM profiles WHERE created_at::DATE <= target_date)
  )
  ON CONFLICT (metric_date, metric_type, metric_category)
  DO UPDATE SET value = EXCLUDED.value;
  metrics_count := metrics_count + 1;

  -- Collect total posts count
  INSERT INTO daily_metrics_baseline (metric_date, metric_type, metric_category, value)
  VALUES (
    target_date,
    'count',
    'posts_total',
    (SELECT COUNT(*) FROM posts WHERE created_at::DATE <= target_date)
  )
  ON CONFLICT (metric_date, metric_type, metric_category)
  DO UPDATE SET value = EXCLUDED.value;
  metrics_count := metrics_count + 1;

  -- Collect total comments count
  INSERT INTO daily_metrics_baseline (metric_date, metric_type, metric_category, value)
  VALUES (
    target_date,
    'count',
    'comments_total',
    (SELECT COUNT(*) FROM comments WHERE created_at::DATE <= target_date)
  )
  ON CONFLICT (metric_date, metric_type, metric_category)
  DO UPDATE SET value = EXCLUDED.value;
  metrics_count := metrics_count + 1;

  -- Collect posts created that day
  INSERT INTO daily_metrics_baseline (metric_date, metric_type, metric_category, value)
  VALUES (
    target_date,
    'count',
    'posts_created',
    (SELECT COUNT(*) FROM posts WHERE created_at::DATE = target_date)
  )
  ON CONFLICT (metric_date, metric_type, metric_category)
  DO UPDATE SET value = EXCLUDED.value;
  metrics_count := metrics_count + 1;

  -- Collect comments created that day
  INSERT INTO daily_metrics_baseline (metric_date, metric_type, metric_category, value)
  VALUES (
    target_date,
    'count',
    'comments_created',
    (SELECT COUNT(*) FROM comments WHERE created_at::DATE = target_date)
  )
  ON CONFLICT (metric_date, metric_type, metric_category)
  DO UPDATE SET value = EXCLUDED.value;
  metrics_count := metrics_count + 1;

  -- Update log entry
  UPDATE metric_collection_log_baseline
  SET completed_at = clock_timestamp(),
      status = 'completed',
      metrics_collected = metrics_count
  WHERE id = log_id;

  RETURN QUERY SELECT
    metrics_count,
    EXTRACT(MILLISECONDS FROM (clock_timestamp() - start_time))::INTEGER,
    'completed'::TEXT;

EXCEPTION WHEN OTHERS THEN
  -- Log error
  UPDATE metric_collection_log_baseline
  SET completed_at = clock_timestamp(),
      status = 'failed',
      error_message = SQLERRM,
      error_details = jsonb_build_object(
        'sqlstate', SQLSTATE,
        'context', PG_EXCEPTION_CONTEXT
      )
  WHERE id = log_id;

  RAISE;
END;
$$;

CREATE FUNCTION bench.backfill_daily_metrics(start_date date, end_date date DEFAULT CURRENT_DATE)
RETURNS TABLE (dates_processed integer, total_metrics integer, execution_time_ms integer)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
  d DATE;
  dates_count INTEGER := 0;
  metrics_total INTEGER := 0;
  start_time TIMESTAMPTZ;
  result RECORD;
BEGIN
  start_time := clock_timestamp();
  d := start_date;

  WHILE d <= end_date LOOP
    -- Call collect_daily_metrics for each date
    SELECT * INTO result FROM collect_daily_metrics(d);

    dates_count := dates_count + 1;
    metrics_total := metrics_total + result.metrics_collected;

    -- Progress logging
    RAISE NOTICE 'Processed date: %, Metrics: %', d, result.metrics_collected;

    d := d + INTERVAL '1 day';
  END LOOP;

  RETURN QUERY SELECT
    dates_count,
    metrics_total,
    EXTRACT(MILLISECONDS FROM (clock_timestamp() - start_time))::INTEGER;
END;
$$;

COMMENT ON FUNCTION bench.collect_daily_metrics(date) IS
    'Benchmark baseline written for bench/: the seed design''s collect_daily_metrics, five COUNT(*) per day. Not part of the extension.';
COMMENT ON FUNCTION bench.backfill_daily_metrics(date, date) IS
    'Benchmark baseline written for bench/: the seed design''s day-by-day backfill loop. Not part of the extension.';

RESET search_path;
