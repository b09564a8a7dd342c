-- bench/ingest/setup.sql: the tables the ingest benchmark (bench/ingest/run) writes besides
-- the extension's own metrics.route_metrics. Owned by the benchmark, not part of the extension.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS bench;

-- (a) The seed's hourly table (its Phase 12 migration, column for column), which its
-- "database" storage mode adds every request into with one upsert: see naive.sql.
CREATE TABLE bench.route_metrics (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    route               text NOT NULL,
    method              text NOT NULL,
    total_requests      integer DEFAULT 0,
    successful          integer DEFAULT 0,
    failed              integer DEFAULT 0,
    total_duration_ms   bigint DEFAULT 0,
    average_duration_ms numeric(10, 2),
    last_request_at     timestamptz,
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now(),
    UNIQUE (route, method, period_start, period_end)
);
CREATE INDEX ON bench.route_metrics (route, method);
CREATE INDEX ON bench.route_metrics (period_start, period_end);

-- (b) An append-only event log: one row per request, no index (the cheapest durable write).
CREATE TABLE bench.route_events (
    route       text NOT NULL,
    method      text NOT NULL,
    success     boolean NOT NULL,
    duration_ms double precision NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
