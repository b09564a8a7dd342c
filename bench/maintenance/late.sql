-- A late request: one event of an hour 2 to 91 days old (the period being compacted), in a
-- batch of one (the database sets metrics.max_event_age to 120 days). The casts type the
-- parameters of -M prepared inside jsonb_build_object's "any" arguments.
\set r random(1, 200)
\set day random(2, 91)
\set h random(0, 23)
\set ok random(1, 100)
\set d random_exponential(1, 20000, 8.0) / 10.0
SELECT metrics.record_route_metrics(jsonb_build_array(jsonb_build_object(
    'route', '/api/v1/route-' || :r, 'method', 'GET', 'success', :ok::int <= 98, 'duration_ms', :d::float8,
    'at', date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
          - make_interval(days => :day::int) + make_interval(hours => :h::int, mins => 30))));
