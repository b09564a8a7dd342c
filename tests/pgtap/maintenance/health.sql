-- metrics.health() and metrics.check_alerts(): each check provoked and cleared, the
-- thresholds as settings, the transitions check_alerts records (the NOTIFY itself is received
-- in tests/scenarios/maintenance/alerts_notify.sh), who may call them, and bad settings.
-- Without the library preloaded and without pg_cron here, the buffer and pg_cron checks are
-- ok with the reason (their failures: tests/scenarios/maintenance/health_buffer.sh, health_cron.sh).
BEGIN;
-- An exact plan: an assertion that disappears fails the file.
SELECT plan(95);
\ir ../../fixtures/setup.sql

CREATE FUNCTION pg_temp.sev(c text) RETURNS text LANGUAGE sql AS
$$ SELECT severity FROM metrics.health() WHERE check_name = c $$;
CREATE FUNCTION pg_temp.val(c text) RETURNS numeric LANGUAGE sql AS
$$ SELECT value FROM metrics.health() WHERE check_name = c $$;
CREATE FUNCTION pg_temp.detail(c text) RETURNS text LANGUAGE sql AS
$$ SELECT detail FROM metrics.health() WHERE check_name = c $$;
CREATE FUNCTION pg_temp.hint(c text) RETURNS text LANGUAGE sql AS
$$ SELECT hint FROM metrics.health() WHERE check_name = c $$;
-- severity|value|threshold of a check, for one assertion about all three.
CREATE FUNCTION pg_temp.svt(c text) RETURNS text LANGUAGE sql AS
$$ SELECT concat_ws('|', severity, value, threshold) FROM metrics.health() WHERE check_name = c $$;
-- A collection log row, started `ago` before the clock (so later than the runs made so far).
CREATE FUNCTION pg_temp.log_run(run_type text, status text, seconds float8 DEFAULT 1, collected int DEFAULT 0,
                                failed int DEFAULT 0, message text DEFAULT NULL) RETURNS void LANGUAGE sql AS $$
    INSERT INTO metrics.metric_collection_log (collection_date, range_end, run_type, started_at, completed_at, status,
                                               metrics_collected, metrics_failed, timezone, executed_by, error_message)
    SELECT metrics.last_closed_day(), metrics.last_closed_day(), run_type, t, t + seconds * interval '1 second', status,
           collected, failed, 'UTC', 'regress', message
    FROM (SELECT clock_timestamp() AS t) AS c
$$;
CREATE TEMP TABLE l AS SELECT metrics.last_closed_day() AS d;
-- pgTAP keeps its bookkeeping in temporary tables; the roles under test must be able to write them.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;

-- --- a fresh install -------------------------------------------------------------------------
SELECT results_eq($$SELECT check_name, severity FROM metrics.health()$$,
    $$VALUES ('collection_success_rate', 'ok'), ('failed_runs_in_a_row', 'ok'), ('sealed_recently', 'ok'),
             ('last_run_duration', 'ok'), ('missing_dates', 'ok'), ('anomalous_values', 'ok'),
             ('buffer_writer_lag', 'ok'), ('cron_job_failures', 'ok'), ('retention_backlog', 'ok'),
             ('unfolded_backlog', 'ok')$$,
    'a fresh install is healthy: ten checks, all ok');
SELECT results_eq($$SELECT check_name, threshold FROM metrics.health()$$,
    $$VALUES ('collection_success_rate', 99.9), ('failed_runs_in_a_row', 3), ('sealed_recently', 48),
             ('last_run_duration', 60), ('missing_dates', 0), ('anomalous_values', 3),
             ('buffer_writer_lag', 15), ('cron_job_failures', 3), ('retention_backlog', 7), ('unfolded_backlog', 15)$$,
    'the threshold column shows the settings in force (buffer: 3 x the 5 s flush interval)');
SELECT is((SELECT count(*) FROM metrics.health() WHERE hint IS NOT NULL), 0::bigint, 'no hint while everything is ok');
SELECT is(pg_temp.detail('buffer_writer_lag'),
          'buffered mode is not in use: the metrics library is not in shared_preload_libraries',
          'without preloading, the buffer check says buffered mode is not in use');
SELECT is(pg_temp.detail('cron_job_failures'), 'pg_cron is not installed in this database',
          'without pg_cron, the cron check says so');
SELECT is(provolatile::text || prosecdef::text, 'strue', 'health() is STABLE and SECURITY DEFINER')
FROM pg_proc WHERE oid = 'metrics.health()'::regprocedure;

-- --- sealed_recently ---------------------------------------------------------------------------
-- Events on every day from L-40 to L-1 (10 to 12 a day) and 60 on L, the last closed day.
CREATE SCHEMA regress_health;
CREATE TABLE regress_health.events (id serial PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO regress_health.events (created_at)
SELECT (l.d - k)::timestamp AT TIME ZONE 'UTC' + interval '1 hour' * i
FROM l, generate_series(1, 40) AS k, generate_series(1, 10 + ((l.d - k) - date '2000-01-01') % 3) AS i;
INSERT INTO regress_health.events (created_at)
SELECT l.d::timestamp AT TIME ZONE 'UTC' + interval '1 minute' * i FROM l, generate_series(1, 60) AS i;
SELECT lives_ok($$SELECT * FROM metrics.define_metric('health_events', 'created', source_table => 'events', source_schema => 'regress_health')$$,
                'define a metric over regress_health.events');
SELECT is(pg_temp.svt('sealed_recently'), 'warning|48', 'an active metric and nothing sealed: a warning');
-- Values sealed 72 and then 40 hours ago (written directly, with the time they would have).
INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value, collection_timestamp)
SELECT l.d - 35, 'count', 'health_events', 10 + ((l.d - 35) - date '2000-01-01') % 3, now() - interval '72 hours' FROM l;
SELECT is(pg_temp.svt('sealed_recently'), 'critical|72|48', 'the last value sealed 72 hours ago: critical');
SELECT ok(pg_temp.hint('sealed_recently') LIKE '%metrics.schedule_daily_collection()%', 'the hint says how to collect daily');
INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value, collection_timestamp)
SELECT l.d - 20, 'count', 'health_events', 10 + ((l.d - 20) - date '2000-01-01') % 3, now() - interval '40 hours' FROM l;
SELECT is(pg_temp.svt('sealed_recently'), 'warning|40|48', '40 hours ago: a warning (beyond three quarters of 48)');
SET LOCAL metrics.health_stale_hours = 30;
SELECT is(pg_temp.svt('sealed_recently'), 'critical|40|30', 'with metrics.health_stale_hours = 30: critical, threshold 30');
RESET metrics.health_stale_hours;
SELECT is((SELECT status FROM metrics.collect_daily_metrics(metrics.last_closed_day())), 'completed', 'collect the last closed day');
SELECT is(pg_temp.svt('sealed_recently'), 'ok|0|48', 'a value sealed now: ok again');

-- --- missing_dates -----------------------------------------------------------------------------
SELECT is(pg_temp.svt('missing_dates'), 'warning|33|0', 'L-34..L-21 and L-19..L-1 have no value: 33 days, a warning');
SELECT is(pg_temp.detail('missing_dates'),
          format('33 days (33 values) are missing since the first sealed day of their metric: %s..%s, %s..%s',
                 l.d - 34, l.d - 21, l.d - 19, l.d - 1),
          'the detail lists the ranges') FROM l;
SELECT is(pg_temp.hint('missing_dates'),
          format('SELECT * FROM metrics.backfill_daily_metrics(%L, %L); SELECT * FROM metrics.backfill_daily_metrics(%L, %L)',
                 l.d - 34, l.d - 21, l.d - 19, l.d - 1),
          'the hint is the backfill calls that fill them') FROM l;
SELECT lives_ok(call, 'run the hint: ' || call)
FROM unnest(string_to_array(pg_temp.hint('missing_dates'), '; ')) AS call;
SELECT is(pg_temp.svt('missing_dates'), 'ok|0|0', 'after the backfill no day is missing');

-- --- anomalous_values --------------------------------------------------------------------------
SELECT is(pg_temp.sev('anomalous_values'), 'critical', '60 events on L against 10 to 12 on the 28 days before: critical');
SELECT matches(pg_temp.detail('anomalous_values'),
               format('^1 anomalous: health_events on %s: value 60 \(mean 11\.\d\d, sd 0\.8\d, z \d+\.\d+\)$', l.d),
               'the detail names the metric, the day, the value, the mean, the deviation and the z-score') FROM l;
-- A total metric over the same events is judged by its daily change, which jumps too.
SELECT lives_ok($$SELECT * FROM metrics.define_metric('health_events_total', 'total', source_table => 'events', source_schema => 'regress_health')$$,
                'define a total over the events');
SELECT lives_ok(format('SELECT * FROM metrics.backfill_daily_metrics(%L, %L)', l.d - 35, l.d), 'and backfill it') FROM l;
SELECT matches(pg_temp.detail('anomalous_values'), format('^2 anomalous: .*health_events_total on %s: change 60 ', l.d),
               'the total is anomalous by its change of the day') FROM l;
SET LOCAL metrics.health_anomaly_sigma = 40;
SELECT is(pg_temp.sev('anomalous_values'), 'warning', 'with metrics.health_anomaly_sigma = 40 (z below 80): a warning');
RESET metrics.health_anomaly_sigma;
-- The spike was wrong: 49 of its rows go, and the day is corrected.
DELETE FROM regress_health.events WHERE created_at >= (SELECT d::timestamp AT TIME ZONE 'UTC' + interval '12 minutes' FROM l);
SELECT lives_ok($$SELECT * FROM metrics.recollect(metrics.last_closed_day(), ARRAY['health_events', 'health_events_total'], 'the spike was a test')$$,
                'correct the day with recollect');
SELECT is(pg_temp.sev('anomalous_values'), 'ok', 'corrected, no value is anomalous');
SELECT is(pg_temp.hint('anomalous_values'), NULL, 'and there is no hint');

-- --- collection_success_rate -------------------------------------------------------------------
-- A backfill of 2,000 values, then 3 failed values: 99.85 %, then 33 failed: critical.
SELECT pg_temp.log_run('backfill', 'completed', collected => 2000 - (SELECT sum(metrics_collected)::int FROM metrics.metric_collection_log WHERE run_type IN ('collect', 'backfill')));
SELECT pg_temp.log_run('backfill', 'partial', failed => 3);
SELECT is(pg_temp.svt('collection_success_rate'), 'warning|99.8502|99.9', '2,000 values and 3 failures: 99.85 %, a warning');
SELECT pg_temp.log_run('backfill', 'failed', failed => 30);
SELECT is(pg_temp.svt('collection_success_rate'), 'critical|98.3768|99.9', '33 failures: 98.38 %, below 99 %: critical');
SET LOCAL metrics.health_success_rate = 99;
SELECT is(pg_temp.svt('collection_success_rate'), 'warning|98.3768|99', 'with a target of 99 %: a warning (critical below 90 %)');
RESET metrics.health_success_rate;
UPDATE metrics.metric_collection_log SET started_at = started_at - interval '31 days', completed_at = completed_at - interval '31 days'
WHERE metrics_failed > 0;
SELECT is(pg_temp.svt('collection_success_rate'), 'ok|100|99.9', 'the failures are older than 30 days: ok');

-- --- failed_runs_in_a_row ----------------------------------------------------------------------
SELECT pg_temp.log_run('collect', 'failed', failed => 2);
SELECT pg_temp.log_run('collect', 'partial', collected => 1, failed => 1);
SELECT is(pg_temp.svt('failed_runs_in_a_row'), 'warning|2|3', 'a failed and a partial run: 2 in a row, a warning');
SELECT pg_temp.log_run('backfill', 'failed', failed => 2);
SELECT is(pg_temp.val('failed_runs_in_a_row'), 2::numeric, 'a failed backfill does not count (daily collections only)');
SELECT pg_temp.log_run('collect', 'failed', failed => 2, message => 'regress: the source was locked');
SELECT is(pg_temp.svt('failed_runs_in_a_row'), 'critical|3|3', 'a third: critical');
SELECT ok(pg_temp.detail('failed_runs_in_a_row') LIKE '%the latest: regress: the source was locked', 'the detail quotes the latest error');
SET LOCAL metrics.health_failed_runs = 5;
SELECT is(pg_temp.svt('failed_runs_in_a_row'), 'warning|3|5', 'with metrics.health_failed_runs = 5: a warning');
RESET metrics.health_failed_runs;
SELECT pg_temp.log_run('collect', 'completed', collected => 2);
SELECT is(pg_temp.svt('failed_runs_in_a_row'), 'ok|0|3', 'a run that succeeds ends the streak');
UPDATE metrics.metric_collection_log SET started_at = started_at - interval '31 days', completed_at = completed_at - interval '31 days'
WHERE metrics_failed > 0 AND completed_at > now() - interval '30 days';

-- --- last_run_duration -------------------------------------------------------------------------
SELECT pg_temp.log_run('collect', 'completed', seconds => 90, collected => 2);
SELECT is(pg_temp.svt('last_run_duration'), 'warning|90|60', 'a collection of 90 s: a warning');
SELECT ok(pg_temp.detail('last_run_duration') LIKE 'the last daily collection (of %) took 90 s', 'the detail says how long');
SELECT pg_temp.log_run('collect', 'completed', seconds => 700, collected => 2);
SELECT is(pg_temp.sev('last_run_duration'), 'critical', '700 s, beyond ten times 60 s: critical');
SET LOCAL metrics.health_slow_run = '15min';
SELECT is(pg_temp.svt('last_run_duration'), 'ok|700|900', 'with metrics.health_slow_run = 15min: ok, threshold 900 s');
RESET metrics.health_slow_run;
SELECT pg_temp.log_run('collect', 'completed', seconds => 2.5, collected => 2);
SELECT is(pg_temp.svt('last_run_duration'), 'ok|2.5|60', 'a fast run after it: ok');

-- --- retention_backlog -------------------------------------------------------------------------
SET LOCAL metrics.max_event_age = '4000d';
SELECT is(metrics.record_route_metrics(format('[{"route": "/health/old", "method": "GET", "success": true, "duration_ms": 5, "at": "%s"}]',
                                              to_char((now() - interval '92 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::jsonb),
          1::bigint, 'record a request 92 days ago');
SELECT is(pg_temp.sev('retention_backlog'), 'warning', 'an hour row past keep_hourly (90 days) + 1 day: a warning');
SELECT ok(pg_temp.detail('retention_backlog') ~ '^[0-9]+(\.[0-9]+)? days behind: route_metrics: hour rows since .* UTC, past keep_hourly \(90 days\) \+ 1 day$',
          'the detail names the family, the rows and the rule');
SELECT is(metrics.record_route_metrics(format('[{"route": "/health/old", "method": "GET", "success": true, "duration_ms": 5, "at": "%s"}]',
                                              to_char((now() - interval '100 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::jsonb),
          1::bigint, 'and one 100 days ago');
SELECT is(pg_temp.sev('retention_backlog'), 'critical', 'more than 7 days behind: critical');
SELECT ok(pg_temp.hint('retention_backlog') LIKE '%metrics.maintenance_log%', 'the hint points at the maintenance job');
SELECT lives_ok($$SELECT * FROM metrics.set_retention_policy('route_metrics', interval '120 days')$$, 'keep hours for 120 days');
SELECT is(pg_temp.svt('retention_backlog'), 'ok|0|7', 'within the longer policy: ok');
SELECT pg_temp.log_run('collect', 'completed', collected => 0);
UPDATE metrics.metric_collection_log SET started_at = now() - interval '367 days', completed_at = now() - interval '367 days'
WHERE id = (SELECT id FROM metrics.metric_collection_log ORDER BY started_at DESC LIMIT 1);
SELECT is(pg_temp.sev('retention_backlog'), 'warning', 'a collection log row older than drop_after (365 days) + 1 day: a warning');
SELECT ok(pg_temp.detail('retention_backlog') LIKE '%collection_log: runs since % UTC, past drop_after (365 days) + 1 day', 'naming the collection log');
SELECT lives_ok($$SELECT * FROM metrics.set_retention_policy('collection_log', NULL, NULL, interval '730 days')$$, 'keep the log for 730 days');
SELECT is(pg_temp.sev('retention_backlog'), 'ok', 'ok again');

-- --- unfolded_backlog --------------------------------------------------------------------------
SELECT is(pg_temp.svt('unfolded_backlog'), 'ok|0|15', 'nothing unfolded: ok');
SELECT is(pg_temp.detail('unfolded_backlog'), 'nothing waits to be folded', 'and it says so');
SELECT metrics.record_route_metric('/health/now', 'GET', true, 5);
SELECT is(pg_temp.sev('unfolded_backlog'), 'ok', 'a request appended just now: ok');
SELECT is(metrics.record_route_metrics(format('[{"route": "/health/recent", "method": "GET", "success": true, "duration_ms": 5, "at": "%s"}]',
                                              to_char((now() - interval '40 minutes') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::jsonb),
          1::bigint, 'a request of 40 minutes ago, appended (recent hours are)');
SELECT is(pg_temp.sev('unfolded_backlog'), 'warning', 'unfolded for longer than metrics.health_unfolded_minutes (15): a warning');
SELECT ok(pg_temp.detail('unfolded_backlog') ~ '^2 unfolded rows wait; the oldest holds an event of 4[0-9](\.[0-9])? minutes ago$',
          'the detail says how many rows wait and how old the oldest is');
SELECT ok(pg_temp.hint('unfolded_backlog') LIKE '%metrics.fold_metrics()%', 'the hint says what folds them');
SELECT is(metrics.record_operation_metrics(format('[{"operation": "health.op", "success": true, "duration_ms": 5, "at": "%s"}]',
                                                  to_char((now() - interval '4 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::jsonb),
          1::bigint, 'an operation of 4 hours ago');
SELECT is(pg_temp.sev('unfolded_backlog'), 'critical', 'older than 12 x the limit: critical (operations count too)');
SELECT lives_ok($$SELECT * FROM metrics.fold_metrics()$$, 'a fold');
SELECT is(pg_temp.svt('unfolded_backlog'), 'ok|0|15', 'folded: ok again');

-- --- check_alerts ------------------------------------------------------------------------------
SELECT is((SELECT string_agg(check_name || '=' || severity, ',') FROM metrics.health() WHERE severity <> 'ok'), NULL,
          'every check was cleared');
SELECT is((SELECT count(*) FROM metrics.check_alerts()), 0::bigint, 'nothing is critical: no transition');
SELECT pg_temp.log_run('collect', 'failed', failed => 2);
SELECT is((SELECT count(*) FROM metrics.check_alerts()), 0::bigint, 'a warning is no alert');
SELECT is((SELECT severity FROM metrics.alert_state WHERE check_name = 'failed_runs_in_a_row'), 'warning', 'but it is recorded');
SELECT pg_temp.log_run('collect', 'failed', failed => 2);
SELECT pg_temp.log_run('collect', 'failed', failed => 2);
SELECT results_eq($$SELECT check_name, previous_severity, severity, at >= now() FROM metrics.check_alerts()$$,
    $$VALUES ('failed_runs_in_a_row', 'warning', 'critical', true)$$,
    'three failures: the check turns critical, one transition');
SELECT results_eq($$SELECT check_name, previous_severity, severity, value, threshold FROM metrics.alert_log$$,
    $$VALUES ('failed_runs_in_a_row', 'warning', 'critical', 3::numeric, 3::numeric)$$, 'and it is logged');
SELECT is((SELECT count(*) FROM metrics.check_alerts()), 0::bigint, 'called again: still critical, no new transition');
SET LOCAL metrics.health_failed_runs = 5;
SELECT results_eq($$SELECT previous_severity, severity FROM metrics.check_alerts()$$, $$VALUES ('critical', 'warning')$$,
                  'critical to warning is a recovery');
RESET metrics.health_failed_runs;
SELECT results_eq($$SELECT previous_severity, severity FROM metrics.check_alerts()$$, $$VALUES ('warning', 'critical')$$,
                  'and back to critical');
SELECT pg_temp.log_run('collect', 'completed', collected => 2);
SELECT results_eq($$SELECT check_name, previous_severity, severity FROM metrics.check_alerts()$$,
    $$VALUES ('failed_runs_in_a_row', 'critical', 'ok')$$, 'a success: recovered');
SELECT is((SELECT string_agg(previous_severity || '>' || severity, ',' ORDER BY at, severity) FROM metrics.alert_log), 'warning>critical,critical>warning,warning>critical,critical>ok',
          'four transitions logged');
SELECT is((SELECT severity FROM metrics.alert_state WHERE check_name = 'failed_runs_in_a_row'), 'ok', 'the state is ok');

-- --- who may call them -------------------------------------------------------------------------
SELECT is(pg_temp.error_of($$SET LOCAL ROLE anon; SELECT * FROM metrics.health()$$) ->> 'sqlstate', '42501', 'anon may not call health()');
SELECT is(pg_temp.error_of($$SET LOCAL ROLE service_role; SELECT count(*) FROM metrics.health()$$), NULL, 'service_role may');
RESET ROLE;
-- A role given EXECUTE directly, which is no administrator: refused by health() itself.
CREATE ROLE regress_metrics_probe NOLOGIN;
GRANT USAGE ON SCHEMA metrics TO regress_metrics_probe;
GRANT EXECUTE ON FUNCTION metrics.health(), metrics.check_alerts(), metrics.is_admin() TO regress_metrics_probe;
GRANT SELECT ON metrics.admin_check TO regress_metrics_probe;
SET LOCAL ROLE regress_metrics_probe;
SELECT pg_temp.fails_with($$SELECT * FROM metrics.health()$$, '42501', 'health() refuses a caller that is no administrator, with a hint');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.check_alerts()$$, '42501', 'so does check_alerts()');
SELECT is(pg_temp.error_of($$SELECT * FROM metrics.health()$$) ->> 'message',
          'metrics.health() is for administrators; regress_metrics_probe is not one', 'naming the caller');
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"role": "admin"}}', true);
SELECT is((SELECT count(*) FROM metrics.health()), 10::bigint, 'with the admin claim it is an administrator: ten rows');
SELECT set_config('request.jwt.claims', '{"app_metadata": {"role": "admin"', true);
SELECT is(pg_temp.error_of($$SELECT * FROM metrics.health()$$) ->> 'sqlstate', '42501', 'claims that are no JSON: refused, not an error');
SELECT set_config('request.jwt.claims', '', true);
RESET ROLE;
SELECT is(pg_temp.error_of($$SET LOCAL transaction_read_only = on; SELECT count(*) FROM metrics.health(); SELECT 1 / 0$$) ->> 'sqlstate', '22012',
          'health() runs in a read-only transaction (PostgREST GET)');
SELECT is(pg_temp.error_of($$SET LOCAL transaction_read_only = on; SELECT count(*) FROM metrics.check_alerts()$$) ->> 'sqlstate', '25006',
          'check_alerts() records: refused in a read-only transaction, even with nothing to record');
SELECT pg_temp.fails_with($$SET LOCAL transaction_read_only = on; SELECT count(*) FROM metrics.check_alerts()$$, '25006', 'with a hint');

-- --- bad settings ------------------------------------------------------------------------------
SELECT is(pg_temp.error_of($$SET LOCAL metrics.health_success_rate = 'abc'$$) ->> 'sqlstate', '22023', 'a success rate that is no number: 22023');
SELECT is(pg_temp.error_of($$SET LOCAL metrics.health_success_rate = 100.5$$) ->> 'sqlstate', '22023', 'above 100 %: 22023');
SELECT is(pg_temp.error_of($$SET LOCAL metrics.health_failed_runs = 0$$) ->> 'sqlstate', '22023', 'zero failed runs: 22023');
SELECT is(pg_temp.error_of($$SET LOCAL metrics.health_slow_run = '1 fortnight'$$) ->> 'sqlstate', '22023', 'a duration without a known unit: 22023');
SELECT is(pg_temp.error_of($$SET LOCAL metrics.health_anomaly_days = 3$$) ->> 'sqlstate', '22023', 'fewer than 7 trailing days: 22023');
SELECT is(pg_temp.error_of($$SET LOCAL ROLE regress_metrics_probe; SET LOCAL metrics.health_failed_runs = 1$$) ->> 'sqlstate', '42501',
          'only superusers set the thresholds: 42501');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
