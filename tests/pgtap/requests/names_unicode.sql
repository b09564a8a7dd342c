-- Route and operation names with invisible formatting characters (Unicode's Cf: zero-width
-- spaces and joiners, direction marks, overrides and isolates, the BOM, tags, ...) or line
-- and paragraph separators could make two different names look alike on a dashboard: they
-- are refused like control characters (22023), naming the code point, through every
-- recording function, and nothing is written.
BEGIN;
SELECT plan(24);
\ir ../../fixtures/setup.sql

CREATE TEMP TABLE invisible (position serial, code int);
INSERT INTO invisible (code) VALUES
    (x'200B'::int), (x'200C'::int), (x'200D'::int), (x'200E'::int), (x'200F'::int), (x'202A'::int), (x'202E'::int),
    (x'2066'::int), (x'2069'::int), (x'2060'::int), (x'FEFF'::int), (x'00AD'::int), (x'061C'::int), (x'180E'::int),
    (x'FFF9'::int), (x'E0001'::int), (x'E0041'::int), (x'2028'::int), (x'2029'::int);

-- The name with the character, and the code point the message must name.
CREATE TEMP VIEW cases AS
SELECT position, '/api/' || chr(code) || 'admin' AS name, 'U+' || lpad(upper(to_hex(code)), 4, '0') AS named FROM invisible;

CREATE FUNCTION pg_temp.refused_everywhere(name text, named text) RETURNS text[]
LANGUAGE sql AS $$
SELECT array_remove(ARRAY[
    CASE WHEN e1->>'sqlstate' = '22023' AND strpos(e1->>'message', named) > 0 AND e1->>'hint' IS NOT NULL THEN NULL ELSE 'record_route_metric: ' || coalesce(e1::text, 'accepted') END,
    CASE WHEN e2->>'sqlstate' = '22023' AND strpos(e2->>'message', named) > 0 AND e2->>'hint' IS NOT NULL THEN NULL ELSE 'record_operation_metric: ' || coalesce(e2::text, 'accepted') END,
    CASE WHEN e3->>'sqlstate' = '22023' AND strpos(e3->>'message', named) > 0 AND e3->>'hint' IS NOT NULL THEN NULL ELSE 'record_route_metrics: ' || coalesce(e3::text, 'accepted') END,
    CASE WHEN e4->>'sqlstate' = '22023' AND strpos(e4->>'message', named) > 0 AND e4->>'hint' IS NOT NULL THEN NULL ELSE 'record_operation_metrics: ' || coalesce(e4::text, 'accepted') END
], NULL)
FROM pg_temp.error_of(format('SELECT metrics.record_route_metric(%L, ''GET'', true, 1)', name)) AS e1,
     pg_temp.error_of(format('SELECT metrics.record_operation_metric(%L, true, 1)', name)) AS e2,
     pg_temp.error_of(format('SELECT metrics.record_route_metrics(%L::jsonb)',
                             jsonb_build_array(jsonb_build_object('route', name, 'method', 'GET', 'success', true, 'duration_ms', 1)))) AS e3,
     pg_temp.error_of(format('SELECT metrics.record_operation_metrics(%L::jsonb)',
                             jsonb_build_array(jsonb_build_object('operation', name, 'success', true, 'duration_ms', 1)))) AS e4
$$;

SELECT is(pg_temp.refused_everywhere(c.name, c.named), '{}'::text[],
          format('a name with %s is refused by all four recording functions, naming it', c.named))
FROM cases AS c ORDER BY c.position;

SELECT is(pg_temp.error_of($$SELECT metrics.record_route_metric(E'/api/\u202Eadmin', 'GET', true, 1)$$)->>'message',
          'route contains an invisible formatting character, U+202E', 'the message names the right-to-left override');
SELECT is(pg_temp.error_of($$SELECT metrics.record_operation_metrics('[{"operation": "send\u200bemail", "success": true, "duration_ms": 1}]')$$)->>'message',
          'events[0]: operation contains an invisible formatting character, U+200B', 'and the zero-width space in a batch');
SELECT lives_ok($$SELECT metrics.record_route_metric('/api/café/日本/🎉', 'GET', true, 1)$$, 'visible non-ASCII names are fine');

-- Nothing but the one visible name was written.
SELECT is((SELECT array_agg(DISTINCT route) FROM metrics.route_metrics_live), ARRAY['/api/café/日本/🎉'], 'only the visible name was recorded');
SELECT is((SELECT count(*) FROM metrics.operation_metrics_live), 0::bigint, 'no operation was recorded');

SELECT * FROM finish();
ROLLBACK;
