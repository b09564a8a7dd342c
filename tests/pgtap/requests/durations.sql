-- Durations beyond the accepted range (0 ms to a day) are refused saying which limit they
-- pass: 1e400 in a JSON batch is more than a day (not NaN), infinities are not printed as inf.
BEGIN;
SELECT plan(5);
\ir ../../fixtures/setup.sql

SELECT is(pg_temp.error_of($$SELECT metrics.record_route_metrics('[{"route": "/a", "method": "GET", "success": true, "duration_ms": 1e400}]')$$)->>'message',
          'events[0]: duration_ms is more than a day (infinite); at most 86400000 ms are accepted', 'a duration of 1e400 is more than a day, not NaN');
SELECT is(pg_temp.error_of($$SELECT metrics.record_route_metric('/a', 'GET', true, 'Infinity')$$)->>'message',
          'duration_ms is more than a day (infinite); at most 86400000 ms are accepted', 'an infinite duration does not print as inf');
SELECT is(pg_temp.error_of($$SELECT metrics.record_operation_metric('op', true, '-Infinity')$$)->>'message',
          'duration_ms is negative (-infinity); a duration is 0 ms or more', 'nor a negative infinite one');
SELECT is(pg_temp.error_of($$SELECT metrics.record_operation_metric('op', true, 'NaN')$$)->>'message',
          'duration_ms is NaN, not a number of milliseconds', 'NaN is named as NaN');

SELECT is((SELECT count(*) FROM metrics.route_metrics) + (SELECT count(*) FROM metrics.operation_metrics), 0::bigint,
          'nothing was recorded');

SELECT * FROM finish();
ROLLBACK;
