#!/usr/bin/env bash
# Daily collection scheduled with pg_cron really runs and seals the last closed day.
#
# In $METRICS_CRON_DB (the database pg_cron's background workers run in): the social preset
# plus two metrics over a small table with rows around the last closed day, scheduled every
# minute; the run succeeds in cron.job_run_details, the values of metrics.last_closed_day()
# equal counts computed independently, the log has a completed 'collect' row. Unscheduling
# returns true, then false. Without pg_cron in a database scheduling fails with 42704 and a
# hint; a bad schedule fails with 22023 (before it reaches pg_cron).
source "$(dirname "$0")/../lib.bash"

JOB=metrics-daily-collection
COMMAND='SELECT * FROM metrics.collect_daily_metrics()'

# --- without pg_cron -------------------------------------------------------------------------
fresh_db nocron
q "CREATE EXTENSION metrics" >/dev/null
q_try "SELECT metrics.schedule_daily_collection()"
is "$Q_SQLSTATE" 42704 "without pg_cron in the database, scheduling fails with 42704"
like "$Q_ERR" 'ERROR:  42704: pg_cron is not installed in this database' "and says pg_cron is not installed"
like "$Q_HINT" 'CREATE EXTENSION pg_cron' "with a hint on how to install it"
q_try "SELECT metrics.unschedule_daily_collection()"
is "$Q_SQLSTATE" 42704 "unscheduling fails the same way"
q_try "SELECT metrics.schedule_daily_collection('61 * * * *')"
is "$Q_SQLSTATE" 22023 "schedule '61 * * * *' fails with 22023"
like "$Q_ERR" 'invalid schedule "61 \* \* \* \*": "61" is not valid in the minute field' "naming the bad field"
q_try "SELECT metrics.schedule_daily_collection('*/30 * * * * *')"
is "$Q_SQLSTATE" 22023 "a six-field schedule (seconds) fails with 22023"
q_try "SELECT metrics.schedule_daily_collection(NULL)"
is "$Q_SQLSTATE" 22004 "a NULL schedule fails with 22004"

# --- with pg_cron ----------------------------------------------------------------------------
use_cron_db

cron_cleanup() {
    q "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = '$JOB'" >/dev/null 2>&1
    q "SET metrics.allow_drop_history = on" "DROP EXTENSION IF EXISTS metrics CASCADE" "DROP SCHEMA IF EXISTS regress_src CASCADE" \
      "DROP SCHEMA IF EXISTS scen_cron CASCADE" "DROP SCHEMA IF EXISTS scen_check CASCADE" >/dev/null 2>&1
    # DROP EXTENSION leaves the schema named in metrics.control behind (empty).
    q "DROP SCHEMA IF EXISTS metrics" >/dev/null 2>&1
    if [ "$CREATED_PG_CRON" = t ]; then q "DROP EXTENSION IF EXISTS pg_cron" >/dev/null 2>&1; fi
}
at_exit "DB=$DB cron_cleanup"

q "CREATE EXTENSION IF NOT EXISTS pg_cron" "CREATE EXTENSION metrics" >/dev/null || bail_out "cannot install the extensions in $DB"
load_fixture
q "SELECT count(*) FROM metrics.install_preset('social', source_schema => 'regress_src')" >/dev/null \
    || bail_out "install_preset failed"
install_expected_social >/dev/null || bail_out "cannot create the expectation functions"

# A table with rows on the last closed day L (including its first and last instants), the day
# before and today, so a collection of L has a count of its own that no other day has.
q "CREATE SCHEMA scen_cron" "
   CREATE TABLE scen_cron.events (id serial PRIMARY KEY, created_at timestamptz NOT NULL)" "
   INSERT INTO scen_cron.events (created_at)
   SELECT metrics.last_closed_day()::timestamp AT TIME ZONE 'UTC' + o
   FROM unnest(ARRAY[interval '-19 hours', '0', '12 hours', '1 day - 1 microsecond', '1 day', '30 hours']) AS o" >/dev/null
q "SELECT * FROM metrics.define_metric('events_created', 'created', source_table => 'events', source_schema => 'scen_cron')" \
  "SELECT * FROM metrics.define_metric('events_total', 'total', source_table => 'events', source_schema => 'scen_cron')" >/dev/null \
    || bail_out "define_metric over scen_cron.events failed"
METRICS=$(q "SELECT count(*) FROM metrics.metric_definitions WHERE is_active")
is "$METRICS" 11 "11 metrics: the social preset and two over scen_cron.events"
is "$(q "SELECT count(*) FROM metrics.daily_metrics")" 0 "nothing is sealed before the job runs"

# Scheduling twice keeps one job and changes its schedule.
JOBID=$(q "SELECT metrics.schedule_daily_collection()")
like "$JOBID" '^[0-9]+$' "schedule_daily_collection() returns the job id"
is "$(q "SELECT schedule FROM cron.job WHERE jobid = $JOBID")" "5 0 * * *" "the default schedule is 00:05 every day"
is "$(q "SELECT metrics.schedule_daily_collection('* * * * *')")" "$JOBID" "scheduling again returns the same job"
is "$(q "SELECT format('%s|%s|%s|%s|%s', schedule, command, database, username, active) FROM cron.job WHERE jobname = '$JOB'")" \
    "* * * * *|$COMMAND|$DB|postgres|t" "one job, now every minute, collecting in $DB as postgres"
q_try "SELECT metrics.schedule_daily_collection('61 * * * *')"
is "$Q_SQLSTATE" 22023 "a bad schedule fails with 22023 where pg_cron is installed too"
is "$(q "SELECT schedule FROM cron.job WHERE jobname = '$JOB'")" "* * * * *" "and leaves the job as it was"

T0=$SECONDS
ran() {
    sql_true "SELECT coalesce(bool_or(status = 'failed')
                              OR (bool_or(status = 'succeeded')
                                  AND EXISTS (SELECT FROM metrics.daily_metrics WHERE metric_date = metrics.last_closed_day())), false)
              FROM cron.job_run_details WHERE jobid = $JOBID"
}
if wait_until 150 ran; then pass "pg_cron ran the job"; else fail "pg_cron ran the job" "$(tail -20 "$CLUSTER_DIR/server.log")"; fi
diag "the first run came $((SECONDS - T0)) s after scheduling"
is "$(q "SELECT status || ' ' || return_message FROM cron.job_run_details WHERE jobid = $JOBID ORDER BY runid LIMIT 1")" \
    "succeeded SELECT 1" "its first run succeeded"

DAY=$(q "SELECT min(metric_date) FROM metrics.daily_metrics")
is "$DAY" "$(q "SELECT metrics.last_closed_day()")" "it collected metrics.last_closed_day()"
is "$(q "SELECT count(*), count(DISTINCT metric_category), count(DISTINCT metric_date) FROM metrics.daily_metrics")" \
    "$METRICS|$METRICS|1" "every metric of that day is sealed once, and no other day"
check_social_days "the social metrics equal the independent counts for $DAY" "ARRAY[date '$DAY']"
EXPECTED_EVENTS=$(q "SELECT count(*) FILTER (WHERE created_at >= lo AND created_at < hi) || ' ' || count(*) FILTER (WHERE created_at < hi)
                     FROM scen_cron.events, (SELECT date '$DAY'::timestamp AT TIME ZONE 'UTC' AS lo,
                                                    (date '$DAY' + 1)::timestamp AT TIME ZONE 'UTC' AS hi) AS b")
is "$(q "SELECT (SELECT value FROM metrics.daily_metrics WHERE metric_date = '$DAY' AND metric_category = 'events_created')
         || ' ' || (SELECT value FROM metrics.daily_metrics WHERE metric_date = '$DAY' AND metric_category = 'events_total')")" \
    "$EXPECTED_EVENTS" "events_created and events_total equal the rows of scen_cron.events on and up to $DAY ($EXPECTED_EVENTS)"
ok "events_created is not zero that day" test "${EXPECTED_EVENTS%% *}" -gt 0
is "$(q "SELECT value FROM metrics.daily_metrics WHERE metric_date = '$DAY' AND metric_category = 'users_total'")" \
    "$(q "SELECT count(*) FROM regress_src.profiles WHERE created_at < (date '$DAY' + 1)::timestamp AT TIME ZONE 'UTC'")" \
    "users_total equals the profiles created up to $DAY"
is "$(q "SELECT format('%s|%s|%s|%s|%s', run_type, status, metrics_collected, metrics_failed, executed_by)
         FROM metrics.metric_collection_log WHERE collection_date = '$DAY' ORDER BY started_at LIMIT 1")" \
    "collect|completed|$METRICS|0|postgres" "the log's first row for $DAY: a completed collect of $METRICS values"
is "$(q "SELECT count(*) FROM metrics.metric_collection_log
         WHERE collection_date = '$DAY' AND (run_type, status, metrics_collected) <> ('collect', 'skipped', 0)")" 1 \
    "any later run of the job for $DAY is a skipped collect that recorded nothing"

is "$(q "SELECT metrics.unschedule_daily_collection()")" t "unschedule_daily_collection() returns true"
is "$(q "SELECT count(*) FROM cron.job WHERE jobname = '$JOB'")" 0 "the job is gone"
is "$(q "SELECT metrics.unschedule_daily_collection()")" f "unscheduling again returns false"

# Dropping the extension: refused while sealed values exist; once confirmed, the job goes
# with it, so pg_cron does not go on calling a function that no longer exists.
JOBID=$(q "SELECT metrics.schedule_daily_collection()")
q_try "DROP EXTENSION metrics"
is "$Q_SQLSTATE" 2BP01 "DROP EXTENSION metrics with sealed values fails with 2BP01"
like "$Q_HINT" 'SET LOCAL metrics.allow_drop_history = on' "and the hint says how to confirm (and to export first)"
is "$(q "SELECT count(*) FROM cron.job WHERE jobname = '$JOB'") $(q "SELECT count(*) > 0 FROM metrics.daily_metrics")" "1 t" \
    "the job and the sealed values are still there"
q_try "BEGIN; SET LOCAL metrics.allow_drop_history = on; DROP EXTENSION metrics; COMMIT;"
is "$Q_STATUS" 0 "confirmed in its transaction, the drop goes ahead"
is "$(q "SELECT count(*) FROM cron.job WHERE jobname = '$JOB' OR command LIKE '%metrics.%'")" 0 "and the job is gone with it"
is "$(q "SELECT count(*) FROM pg_extension WHERE extname = 'metrics'")" 0 "the extension is dropped"

done_testing
