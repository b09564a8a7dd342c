#!/usr/bin/env bash
# The pg_cron checks of metrics.health(), in $METRICS_CRON_DB where pg_cron runs its jobs.
#
# A job of the extension's (named metrics-...) that fails really runs and fails: the check
# cron_job_failures warns with the job, the count and pg_cron's message. Two more failed runs
# (written into cron.job_run_details) make three or more since the last success: critical. A
# run that succeeds clears it; a failure after it counts from one. Other jobs never count. A run of the extension's jobs older than
# the family's drop_after (30 days) + 1 day is a retention backlog until it is gone.
source "$(dirname "$0")/../lib.bash"

plan 11

PROBE=metrics-health-probe
OTHER=someone-elses-job
use_cron_db

cron_cleanup() {
    q "DELETE FROM cron.job_run_details WHERE jobid IN (SELECT jobid FROM cron.job WHERE jobname IN ('$PROBE', '$OTHER'))" \
      "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname IN ('$PROBE', '$OTHER')" >/dev/null 2>&1
    q "SET metrics.allow_drop_history = on" "DROP EXTENSION IF EXISTS metrics CASCADE" "DROP SCHEMA IF EXISTS metrics" >/dev/null 2>&1
    if [ "$CREATED_PG_CRON" = t ]; then q "DROP EXTENSION IF EXISTS pg_cron" >/dev/null 2>&1; fi
}
at_exit "DB=$DB cron_cleanup"
q "CREATE EXTENSION IF NOT EXISTS pg_cron" "CREATE EXTENSION metrics" >/dev/null || bail_out "cannot install the extensions in $DB"

check() { q "SELECT concat_ws('|', severity, value, threshold) FROM metrics.health() WHERE check_name = '$1'"; }
detail() { q "SELECT detail FROM metrics.health() WHERE check_name = '$1'"; }

is "$(check cron_job_failures)" "ok|0|3" "pg_cron installed, no job failed: ok"

# A failing job of someone else's first, then the extension's; both run every minute.
q "SELECT cron.schedule('$OTHER', '* * * * *', 'SELECT 1 / 0')" "SELECT cron.schedule('$PROBE', '* * * * *', 'SELECT 1 / 0')" >/dev/null
probe_failed() { sql_true "SELECT EXISTS (SELECT FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = '$PROBE' AND d.status = 'failed')"; }
ok "the probe job runs and fails within 75 s" wait_until 75 probe_failed
# The same jobs (cron.schedule upserts by name), now once a year: no more runs during the test.
q "SELECT cron.schedule('$PROBE', '0 0 1 1 *', 'SELECT 1 / 0')" "SELECT cron.schedule('$OTHER', '0 0 1 1 *', 'SELECT 1 / 0')" >/dev/null
N=$(q "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = '$PROBE' AND d.status = 'failed'")
is "$(check cron_job_failures)" "warning|$N|3" "a failed run of an extension's job ($N so far): a warning, the other job's runs do not count"
like "$(detail cron_job_failures)" "^$PROBE: $N failed runs since its last success, the latest: .*division by zero" "naming the job and pg_cron's message"

# add_run STATUS [AGE]: a run of the probe as pg_cron records it.
add_run() {
    q "INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, status, return_message, start_time, end_time)
       SELECT jobid, 0, '$DB', 'postgres', command, '$1', CASE '$1' WHEN 'failed' THEN 'ERROR:  scen: $1' ELSE '1 row' END,
              now() - interval '${2:-0 seconds}', now() - interval '${2:-0 seconds}'
       FROM cron.job WHERE jobname = '$PROBE'" >/dev/null
}
add_run failed; add_run failed
is "$(check cron_job_failures)" "critical|$((N + 2))|3" "$((N + 2)) failed runs since the last success: critical"
is "$(q "SELECT string_agg(check_name, ',') FROM metrics.check_alerts()")" "cron_job_failures" "and check_alerts() announces it"
add_run succeeded
is "$(check cron_job_failures)" "ok|0|3" "a run that succeeds clears it"
add_run failed
is "$(check cron_job_failures)" "warning|1|3" "a failure after it counts from one"

# Retention of pg_cron's history of the extension's jobs: 30 days by default.
is "$(q "SELECT severity FROM metrics.health() WHERE check_name = 'retention_backlog'")" ok "the runs are recent: no backlog"
add_run succeeded '32 days'
like "$(detail retention_backlog)" "cron_job_run_details: runs of the extension's jobs since .* UTC, past drop_after \(30 days\) \+ 1 day" \
     "a run of 32 days ago is past drop_after + 1 day"
q "DELETE FROM cron.job_run_details WHERE start_time < now() - interval '31 days'" >/dev/null
is "$(q "SELECT severity FROM metrics.health() WHERE check_name = 'retention_backlog'")" ok "pruned: no backlog"

done_testing
