-- (c) and (d) One call per request; the database's metrics.ingest_mode decides direct or buffered.
\set r random(1, 10)
\set ok random(1, 100)
\set d random_exponential(1, 20000, 8.0) / 10.0
SELECT metrics.record_route_metric('/api/v1/route-' || :r, 'GET', :ok <= 98, :d);
