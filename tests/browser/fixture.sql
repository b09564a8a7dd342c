-- The dashboard's data (tests/scenarios/dashboard/browser.sh loads it, as the superuser, into a
-- database with Supabase's roles and the extension): two projects, dash-a ('Acme Dashboard')
-- and dash-b ('Globex Dashboard'), per-project metrics over a source table with a project
-- column (a count and a breakdown), sealed days over the 40 days up to the last closed day
-- except ONE day in the middle of the last 30 (:'gap_day'), today's orders (live), requests of
-- both projects over the last days (their raw events kept in dash_src.requests, so the tests
-- count them), and acme/service-1 (the GitHub events, recorded by the scenario) in dash-a.
-- Every value of dash-b is far larger than dash-a's, so none of it can pass for dash-a's.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

SELECT slug FROM metrics.create_project('dash-a', 'Acme Dashboard');
SELECT slug FROM metrics.create_project('dash-b', 'Globex Dashboard');

CREATE SCHEMA dash_src;
CREATE TABLE dash_src.orders (
    id         bigint PRIMARY KEY,
    org        text,
    status     text NOT NULL,
    created_at timestamptz NOT NULL
);
GRANT USAGE ON SCHEMA dash_src TO service_role;
GRANT SELECT ON ALL TABLES IN SCHEMA dash_src TO service_role;

-- dash-a: 3 + (k * 7) % 11 orders on the k-th day back (k = 0 today, before now), statuses
-- paid / pending / refunded; dash-b: 900 + k a day, statuses of its own (shipped, lost).
INSERT INTO dash_src.orders
SELECT 1000 * k + i, 'dash-a', (ARRAY['paid', 'paid', 'pending', 'refunded'])[1 + (k + i) % 4],
       CASE WHEN k = 0 THEN now() - (i + 1) * interval '1 second'
            ELSE (metrics.last_closed_day() + 1 - k)::timestamp AT TIME ZONE 'UTC' + i * interval '97 minutes' END
FROM generate_series(0, 40) AS k, generate_series(0, 2 + (k * 7) % 11) AS i;
INSERT INTO dash_src.orders
SELECT 10000000 + 10000 * k + i, 'dash-b', (ARRAY['shipped', 'lost'])[1 + i % 2],
       CASE WHEN k = 0 THEN now() - (i + 1) * interval '10 milliseconds'
            ELSE (metrics.last_closed_day() + 1 - k)::timestamp AT TIME ZONE 'UTC' + i * interval '1 minute' END
FROM generate_series(0, 40) AS k, generate_series(0, 899 + k) AS i;
-- Orders of no project count in the whole database's value only.
INSERT INTO dash_src.orders
SELECT 90000000 + k, NULL, 'paid', (metrics.last_closed_day() + 1 - k)::timestamp AT TIME ZONE 'UTC'
FROM generate_series(1, 40) AS k;

SELECT metric_category FROM metrics.define_metric('orders_created', 'created', source_table => 'orders',
    source_schema => 'dash_src', project_column => 'org', display_name => 'Orders');
SELECT metric_category FROM metrics.define_metric('order_statuses', 'breakdown', source_table => 'orders',
    source_schema => 'dash_src', value_column => 'status', project_column => 'org', display_name => 'Order statuses');

-- Two backfills around the missing day.
SELECT dates_processed FROM metrics.backfill_daily_metrics(metrics.last_closed_day() - 39, :'gap_day'::date - 1);
SELECT dates_processed FROM metrics.backfill_daily_metrics(:'gap_day'::date + 1, metrics.last_closed_day());

-- Requests: dash-a on three routes (one failing 1 in 7), dash-b on its own route; spread over
-- the last 3 days, some in the hour that is still open.
CREATE TABLE dash_src.requests (
    route       text NOT NULL,
    method      text NOT NULL,
    success     boolean NOT NULL,
    duration_ms double precision NOT NULL,
    at          timestamptz NOT NULL,
    project     text NOT NULL
);
INSERT INTO dash_src.requests
SELECT r.route, r.method, i % 7 <> 0 OR r.route <> '/api/orders', r.base + (i * 37) % 120,
       now() - (i % 70) * interval '1 hour' - interval '30 seconds' - i * interval '1 second', 'dash-a'
FROM (VALUES ('/api/orders', 'GET', 10), ('/api/orders', 'POST', 40), ('/api/items', 'GET', 5)) AS r (route, method, base),
     generate_series(1, 400) AS i;
INSERT INTO dash_src.requests
SELECT '/globex/secret-route', 'GET', true, 500 + i % 300,
       now() - (i % 70) * interval '1 hour' - interval '30 seconds', 'dash-b'
FROM generate_series(1, 5000) AS i;
-- A few in the open hour for sure (the ones above may fall just before it).
INSERT INTO dash_src.requests
SELECT '/api/items', 'GET', true, 7, greatest(date_trunc('hour', now()), now() - interval '1 second' * i), 'dash-a'
FROM generate_series(1, 5) AS i;
SELECT metrics.record_route_metrics(jsonb_agg(jsonb_build_object('route', route, 'method', method,
       'success', success, 'duration_ms', duration_ms, 'at', at, 'project', project)))
FROM dash_src.requests;

SELECT metrics.set_project_repository('acme/service-1', 'dash-a') IS NOT NULL AS mapped;
