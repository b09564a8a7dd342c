-- (a) The seed's database mode: one upsert per request into its hourly table (setup.sql).
-- 10 hot routes, GET, 98% successful, durations 0.1 ms .. 2 s, mostly short.
\set r random(1, 10)
\set ok random(1, 100)
\set d random_exponential(1, 20000, 8.0) / 10.0
INSERT INTO bench.route_metrics AS t
    (route, method, total_requests, successful, failed, total_duration_ms, average_duration_ms,
     last_request_at, period_start, period_end)
VALUES ('/api/v1/route-' || :r, 'GET', 1,
        CASE WHEN :ok <= 98 THEN 1 ELSE 0 END, CASE WHEN :ok <= 98 THEN 0 ELSE 1 END,
        round(:d), :d, now(), date_trunc('hour', now()), date_trunc('hour', now()) + interval '1 hour')
ON CONFLICT (route, method, period_start, period_end) DO UPDATE SET
    total_requests      = t.total_requests + 1,
    successful          = t.successful + excluded.successful,
    failed              = t.failed + excluded.failed,
    total_duration_ms   = t.total_duration_ms + excluded.total_duration_ms,
    average_duration_ms = (t.total_duration_ms + excluded.total_duration_ms)::numeric / (t.total_requests + 1),
    last_request_at     = excluded.last_request_at,
    updated_at          = now();
