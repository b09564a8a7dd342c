-- One request "now" (the current hour's row), as an application records it: direct mode.
\set r random(1, 200)
\set ok random(1, 100)
\set d random_exponential(1, 20000, 8.0) / 10.0
SELECT metrics.record_route_metric('/api/v1/route-' || :r, 'GET', :ok <= 98, :d);
