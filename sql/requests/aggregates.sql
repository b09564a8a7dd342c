-- metrics: the aggregate over latency sketches. Needs metrics.merge_latency_sketch, its state
-- and combine function (src/requests/api.rs).

-- Merges the latency sketches of any set of rows, for percentiles in your own queries:
--   SELECT metrics.latency_quantile(metrics.merge_latency_sketches(latency_sketch), 0.99)
--   FROM metrics.route_metrics WHERE period_start >= now() - interval '1 day';
CREATE AGGREGATE metrics.merge_latency_sketches(bytea) (
    SFUNC = metrics.merge_latency_sketch,
    STYPE = bytea,
    COMBINEFUNC = metrics.merge_latency_sketch,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE metrics.merge_latency_sketches(bytea) IS
    'Merges latency sketches (exactly: bucket counts add); read percentiles with metrics.latency_quantile.';
