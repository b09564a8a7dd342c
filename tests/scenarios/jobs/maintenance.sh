#!/usr/bin/env bash
# metrics.run_maintenance() with real sessions: two overlapping runs (the second records that
# it skipped while the first is blocked in its catch-up by a lock), a run cancelled while it
# waits before a retry (the whole run stops; the next run takes over and finishes the work),
# a run whose backend is killed with kill -9 in the middle (nothing of its unit is left; the
# next run marks it failed and finishes), and pg_cron running the maintenance job for real
# in $METRICS_CRON_DB, pruning the extension's own rows of cron.job_run_details past their
# policy, replacing the daily collection job, and going with DROP EXTENSION.
source "$(dirname "$0")/../lib.bash"
# The test cluster commits asynchronously (durability buys nothing there), but a crash loses
# the last commits then; this scenario crashes the server on purpose.
export PGOPTIONS="$PGOPTIONS -c synchronous_commit=on"

# setup_metric NAME: a table scen.NAME with rows on each of the last 10 closed days (d + 1
# on day L-d), a created metric over it, sealed from L-9 to L-6; L-5 .. L are missing.
setup_metric() {
    q "CREATE TABLE scen.$1 (id serial PRIMARY KEY, created_at timestamptz NOT NULL)" "
       INSERT INTO scen.$1 (created_at)
       SELECT (metrics.last_closed_day() - d)::timestamp AT TIME ZONE 'UTC' + k * interval '1 hour'
       FROM generate_series(0, 9) AS d, generate_series(0, 9) AS k WHERE k <= d" \
      "SELECT count(*) FROM metrics.define_metric('$1', 'created', source_table => '$1', source_schema => 'scen')" \
      "SELECT count(*) FROM metrics.backfill_daily_metrics(metrics.last_closed_day() - 9, metrics.last_closed_day() - 6)" >/dev/null \
        || bail_out "cannot set up metric $1"
}
# sealed_right NAME: the sealed values of NAME from L-9 to L equal the rows of its table.
sealed_right() {
    q "SELECT count(*) FROM (
         SELECT g::date AS day, (SELECT count(*) FROM scen.$1 WHERE created_at >= g AND created_at < g + interval '1 day')::numeric AS n
         FROM generate_series((metrics.last_closed_day() - 9)::timestamp AT TIME ZONE 'UTC',
                              metrics.last_closed_day()::timestamp AT TIME ZONE 'UTC', interval '1 day') AS g
         EXCEPT SELECT metric_date, value FROM metrics.daily_metrics WHERE metric_category = '$1') AS missing"
}
sealed_missing() {
    q "SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = '$1' AND metric_date > metrics.last_closed_day() - 6"
}
running_run() { q "SELECT id FROM metrics.maintenance_log WHERE step = 'run' AND status = 'running'"; }
backend_in_pg_sleep() { sql_true "SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = $1"; }

fresh_db
q "CREATE EXTENSION metrics" "CREATE SCHEMA scen" >/dev/null || bail_out "cannot install the extension"

# --- two overlapping runs ---------------------------------------------------------------------
setup_metric first
session_start locker
session_run locker lock1 "BEGIN; LOCK TABLE scen.first IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
session_wait locker lock1 30 || bail_out "the locker did not lock scen.first"
session_start a
session_run a run1 "CALL metrics.run_maintenance();"
if wait_until 30 backend_waits_on_lock "$(session_backend a)"; then pass "run A waits in its catch-up for the lock on scen.first"
else fail "run A waits in its catch-up for the lock on scen.first" "$(session_output a run1)"; fi
RUN_A=$(running_run)
like "$RUN_A" '^[0-9a-f-]{36}$' "run A's row is committed as running, so other sessions see it"
is "$(q "SELECT pid FROM metrics.maintenance_log WHERE id = '$RUN_A'")" "$(session_backend a)" "with run A's backend"
q_try "CALL metrics.run_maintenance()"
is "$Q_STATUS" 0 "a second run while A works returns without error"
is "$(q "SELECT status || ' ' || (details->>'working_run') FROM metrics.maintenance_log WHERE step = 'run' ORDER BY started_at DESC LIMIT 1")" \
    "skipped $RUN_A" "it is recorded as skipped, naming run A"
is "$(q "SELECT count(*) FROM metrics.maintenance_log WHERE run_id IS NOT NULL AND run_id <> '$RUN_A'")" 0 "and did no step"
session_run locker unlock1 "COMMIT;"
session_wait a run1 60 || fail "run A finishes once the lock is released" "$(session_output a run1)"
is "$(q "SELECT status FROM metrics.maintenance_log WHERE id = '$RUN_A'")" completed "run A completes once the lock is released"
is "$(sealed_right first)" 0 "it sealed L-5 .. L of 'first', with the right values"

# --- a cancel during a retry's wait -------------------------------------------------------------
setup_metric second
session_run locker lock2 "BEGIN; LOCK TABLE scen.second IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
session_wait locker lock2 30 || bail_out "the locker did not lock scen.second"
session_run a run2 "SET lock_timeout = '100ms'; SET metrics.retry_delay = '60s'; CALL metrics.run_maintenance();"
if wait_until 30 backend_in_pg_sleep "$(session_backend a)"; then pass "run A's catch-up hit the lock timeout and waits before retrying"
else fail "run A's catch-up hit the lock timeout and waits before retrying" "$(session_output a run2)"; fi
RUN_A=$(running_run)
T0=$SECONDS
q "SELECT pg_cancel_backend($(session_backend a))" >/dev/null
session_wait a run2 20 || fail "the cancelled run returns"
ok "the cancel stops the whole run at once, not after the retries" test $((SECONDS - T0)) -lt 15
like "$(session_output a run2)" 'ERROR:  57014: canceling statement due to user request' "the run fails with 57014, the user's cancel"
is "$(sealed_missing second)" 0 "nothing of the catch-up is left: L-5 .. L of 'second' are not sealed"
is "$(q "SELECT status FROM metrics.maintenance_log WHERE id = '$RUN_A'")" running "the cancelled run's row is still marked running"
session_run locker unlock2 "COMMIT;"
session_wait locker unlock2 30
q_try "CALL metrics.run_maintenance()"
RUN_B=$(q "SELECT id FROM metrics.maintenance_log WHERE step = 'run' ORDER BY started_at DESC LIMIT 1")
is "$(q "SELECT status FROM metrics.maintenance_log WHERE id = '$RUN_B'")" completed "the next run (another session) works and completes"
is "$(q "SELECT status || ' ' || (details->>'taken_over_by') || ' ' || (error_message ~ '^interrupted') FROM metrics.maintenance_log WHERE id = '$RUN_A'")" \
    "failed $RUN_B true" "after marking the cancelled run failed (interrupted), naming itself"
is "$(sealed_right second)" 0 "and sealed L-5 .. L of 'second', with the right values"

# --- kill -9 in the middle ----------------------------------------------------------------------
setup_metric third
session_run locker lock3 "BEGIN; LOCK TABLE scen.third IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
session_wait locker lock3 30 || bail_out "the locker did not lock scen.third"
session_run a run3 "RESET lock_timeout; RESET metrics.retry_delay; CALL metrics.run_maintenance();"
wait_until 30 backend_waits_on_lock "$(session_backend a)" || fail "run A waits for the lock on scen.third"
RUN_A=$(running_run)
like "$RUN_A" '^[0-9a-f-]{36}$' "run A is recorded as running"
kill -9 "$(session_backend a)"
diag "killed run A's backend $(session_backend a) with SIGKILL; the server restarts"
session_wait a run3 30
if wait_until 60 sql_true "SELECT true"; then pass "the server is back after the crash"; else bail_out "the server did not come back"; fi
session_end a
session_end locker
is "$(q "SELECT status FROM metrics.maintenance_log WHERE id = '$RUN_A'") $(q "SELECT count(*) FROM metrics.maintenance_log WHERE run_id = '$RUN_A'")" \
    "running 0" "the killed run's row is still running, and its catch-up step left nothing (rolled back)"
is "$(sealed_missing third)" 0 "nothing of the killed catch-up is sealed"
q_try "CALL metrics.run_maintenance()"
RUN_B=$(q "SELECT id FROM metrics.maintenance_log WHERE step = 'run' ORDER BY started_at DESC LIMIT 1")
is "$(q "SELECT status FROM metrics.maintenance_log WHERE id = '$RUN_B'")" completed "the next run completes"
is "$(q "SELECT status || ' ' || (details->>'taken_over_by') FROM metrics.maintenance_log WHERE id = '$RUN_A'")" \
    "failed $RUN_B" "after marking the killed run failed"
is "$(sealed_right third)" 0 "and finished its work: L-5 .. L of 'third' are sealed, with the right values"
is "$(q "SELECT count(*) FROM metrics.metric_collection_log WHERE status = 'running'")" 0 "no collection is left running"

# --- pg_cron runs the maintenance job --------------------------------------------------------
use_cron_db
cron_cleanup() {
    q "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname IN ('metrics-maintenance', 'metrics-daily-collection')" >/dev/null 2>&1
    q "DELETE FROM cron.job_run_details WHERE command = 'SELECT 1 -- regress'" >/dev/null 2>&1
    q "SET metrics.allow_drop_history = on" "DROP EXTENSION IF EXISTS metrics CASCADE" "DROP SCHEMA IF EXISTS scen CASCADE" >/dev/null 2>&1
    q "DROP SCHEMA IF EXISTS metrics" >/dev/null 2>&1
    if [ "$CREATED_PG_CRON" = t ]; then q "DROP EXTENSION IF EXISTS pg_cron" >/dev/null 2>&1; fi
}
at_exit "DB=$DB cron_cleanup"
q "CREATE EXTENSION IF NOT EXISTS pg_cron" "CREATE EXTENSION metrics" "CREATE SCHEMA scen" >/dev/null || bail_out "cannot install the extensions in $DB"
setup_metric cron_events

DAILY=$(q "SELECT metrics.schedule_daily_collection()")
q_try "SELECT metrics.schedule_maintenance('61 * * * *')"
is "$Q_SQLSTATE" 22023 "a bad schedule fails with 22023"
q_try "SET client_min_messages = notice; SELECT metrics.schedule_maintenance('* * * * *')"
JOBID=$Q_OUT
like "$JOBID" '^[0-9]+$' "schedule_maintenance returns the job id"
like "$Q_ERR" 'NOTICE: .*metrics: the daily collection job \(metrics-daily-collection\) was removed' "and says it removed the daily collection job"
is "$(q "SELECT count(*) FROM cron.job WHERE jobid = $DAILY")" 0 "which is gone"
is "$(q "SELECT format('%s|%s|%s|%s', schedule, command, database, username) FROM cron.job WHERE jobname = 'metrics-maintenance'")" \
    "* * * * *|CALL metrics.run_maintenance()|$DB|postgres" "one maintenance job, every minute, in $DB as postgres"

# Old run details to prune (the policy keeps 30 days): three of the job's, one recent, one of
# another job (kept).
q "INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
   SELECT $JOBID, 1, '$DB', 'postgres', 'CALL metrics.run_maintenance()', 'succeeded', 'CALL', now() - a, now() - a
   FROM unnest(ARRAY[interval '40 days', '41 days', '50 days', '5 days']) AS a" "
   INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
   VALUES (999999, 1, '$DB', 'postgres', 'SELECT 1 -- regress', 'succeeded', 'SELECT 1', now() - interval '90 days', now() - interval '90 days')" >/dev/null
finished() { sql_true "SELECT EXISTS (SELECT FROM metrics.maintenance_log WHERE step = 'run' AND status NOT IN ('running', 'skipped'))"; }
T0=$SECONDS
if wait_until 150 finished; then pass "pg_cron ran the maintenance job"; else fail "pg_cron ran the maintenance job" "$(tail -20 "$CLUSTER_DIR/server.log")"; fi
diag "the first run ended $((SECONDS - T0)) s after scheduling"
wait_until 30 sql_true "SELECT EXISTS (SELECT FROM cron.job_run_details WHERE jobid = $JOBID AND status IN ('succeeded', 'failed'))"
is "$(q "SELECT status || ' ' || return_message FROM cron.job_run_details WHERE jobid = $JOBID AND start_time > now() - interval '1 hour' ORDER BY runid LIMIT 1")" \
    "succeeded CALL" "its run succeeded in cron.job_run_details"
RUN=$(q "SELECT id FROM metrics.maintenance_log WHERE step = 'run' AND status <> 'skipped' ORDER BY started_at LIMIT 1")
is "$(q "SELECT status || ' ' || executed_by FROM metrics.maintenance_log WHERE id = '$RUN'")" "completed postgres" "the ledger has the run, completed, as postgres"
is "$(q "SELECT string_agg(step || '=' || status, ',' ORDER BY started_at) FROM metrics.maintenance_log WHERE run_id = '$RUN'")" \
    "catch_up=completed,compact=skipped,read_model=skipped,prune=completed,alerts=completed" "with its steps"
ok "pg_cron ran it as a procedure that commits step by step" test "$(q "SELECT count(DISTINCT xmin::text) FROM metrics.maintenance_log WHERE id = '$RUN' OR run_id = '$RUN'")" -gt 1
is "$(sealed_right cron_events)" 0 "its catch-up sealed L-5 .. L, with the right values"
is "$(q "SELECT (details->'cron_job_run_details'->>'deleted') FROM metrics.maintenance_log WHERE run_id = '$RUN' AND step = 'prune'")" 3 \
    "pruning deleted three run details"
is "$(q "SELECT string_agg(command || ' ' || (now() - end_time > interval '30 days'), ',' ORDER BY end_time) FROM cron.job_run_details
         WHERE end_time < now() - interval '1 day'")" \
    "SELECT 1 -- regress true,CALL metrics.run_maintenance() false" "the job's details past 30 days are gone; another job's and recent ones are kept"

q_try "SET client_min_messages = notice; SELECT metrics.schedule_daily_collection()"
like "$Q_ERR" 'NOTICE: .*metrics: the maintenance job \(metrics-maintenance\) is scheduled too' "scheduling the daily collection as well says the maintenance job already collects"
is "$(q "SELECT metrics.unschedule_maintenance()")" t "unschedule_maintenance() returns true"
is "$(q "SELECT metrics.unschedule_maintenance()")" f "then false"
q "SELECT metrics.schedule_maintenance()" >/dev/null
is "$(q "SELECT count(*) FROM cron.job WHERE jobname IN ('metrics-maintenance', 'metrics-daily-collection')")" 1 "scheduling maintenance again replaces the daily job"
q "SELECT metrics.schedule_daily_collection()" >/dev/null
q_try "BEGIN; SET LOCAL metrics.allow_drop_history = on; DROP EXTENSION metrics; COMMIT;"
is "$Q_STATUS" 0 "the confirmed drop goes ahead"
is "$(q "SELECT count(*) FROM cron.job WHERE command LIKE '%metrics.%'")" 0 "and both jobs go with it"

done_testing
