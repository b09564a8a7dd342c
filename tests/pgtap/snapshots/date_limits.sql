-- Date arguments PostgreSQL accepts but the extension cannot compute with are refused with
-- the real limit: 294276-12-31 is a finite date, beyond the supported calendar (not "not a
-- finite date"); infinity and -infinity are named as such.
BEGIN;
SELECT plan(4);
\ir ../../fixtures/setup.sql

SELECT pg_temp.fails_with($$SELECT * FROM metrics.collect_daily_metrics('294276-12-31')$$, '22008', 'a date beyond the supported range');
SELECT is(pg_temp.error_of($$SELECT * FROM metrics.collect_daily_metrics('294276-12-31')$$)->>'message',
          'target_date is outside the supported range of dates, 262144-01-01 BC to 262142-12-31',
          'it says what the supported range is, not that the date is not finite');
SELECT is(pg_temp.error_of($$SELECT * FROM metrics.collect_daily_metrics('infinity')$$)->>'message',
          'target_date must be a calendar date, not infinity', 'infinity is named as such');
SELECT is(pg_temp.error_of($$SELECT * FROM metrics.fetch_metrics('-infinity', '2025-01-31')$$)->>'message',
          'start_date must be a calendar date, not -infinity', 'and -infinity');

SELECT * FROM finish();
ROLLBACK;
