-- (b) One plain INSERT per request into an append-only table (setup.sql).
\set r random(1, 10)
\set ok random(1, 100)
\set d random_exponential(1, 20000, 8.0) / 10.0
INSERT INTO bench.route_events (route, method, success, duration_ms)
VALUES ('/api/v1/route-' || :r, 'GET', :ok <= 98, :d);
