-- (e) and (f) One call per batch of 1,000 requests. bench/ingest/run passes the JSON array as
-- -D events=...; with -M prepared it travels as a parameter, so the server parses it every call
-- as it would a client's.
SELECT metrics.record_route_metrics(CAST(:events AS jsonb));
