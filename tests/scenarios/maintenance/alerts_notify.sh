#!/usr/bin/env bash
# metrics.check_alerts() sends NOTIFY metrics_alerts once per transition, and a listening
# session receives it.
#
# A psql session LISTENs. Three failed daily collections make failed_runs_in_a_row critical:
# check_alerts() returns the transition and the listener receives one notification whose JSON
# payload names the check, the severities, the detail and the time alert_log recorded. Called
# again, nothing is sent. A check_alerts() whose transaction rolls back sends and records
# nothing, so the next call announces the transition. Two sessions calling check_alerts() at
# the same time: the second waits for the first (the lock on metrics.alert_state), finds the
# transition recorded, and the recovery is received exactly once.
source "$(dirname "$0")/../lib.bash"

plan 17

fresh_db
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
# A backfill of 100,000 values, so the failures below leave the success rate at its target
# and only failed_runs_in_a_row turns critical.
q "INSERT INTO metrics.metric_collection_log (collection_date, range_end, run_type, started_at, completed_at,
       status, metrics_collected, timezone, executed_by)
   VALUES (current_date - 30, current_date - 1, 'backfill', now(), now(), 'completed', 100000, 'UTC', 'scen')" >/dev/null

# log_run STATUS: a daily collection run that just ended with STATUS.
log_run() {
    q "INSERT INTO metrics.metric_collection_log (collection_date, range_end, run_type, started_at, completed_at,
           status, metrics_failed, timezone, executed_by, error_message)
       VALUES (current_date - 1, current_date - 1, 'collect', clock_timestamp(), clock_timestamp(), '$1',
               CASE WHEN '$1' = 'completed' THEN 0 ELSE 1 END, 'UTC', 'scen', 'scen: run $1')" >/dev/null
}

# poll: appends to $NOTES the payloads the listener printed while it ran one command (psql
# shows the notifications that arrived by the end of a command). Not in a subshell: the tag
# counter must advance.
_n=0
poll() {
    local got
    _n=$((_n + 1))
    session_run listener "n$_n" "SELECT 'poll';"
    session_wait listener "n$_n" 30 || bail_out "the listener did not answer"
    got=$(session_output listener "n$_n" | sed -n 's/^Asynchronous notification "metrics_alerts" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p')
    if [ -n "$got" ]; then NOTES+="${NOTES:+$'\n'}$got"; fi
}

# notifications: sets NOTES to every payload received in the next 1.5 s, one a line (a
# notification is delivered a moment after the commit, so a single poll could miss it).
notifications() {
    local i
    NOTES=""
    for i in 1 2 3 4 5; do
        sleep 0.3
        poll
    done
}

# field PAYLOAD EXPR: EXPR over the payload as jsonb p.
field() { q "SELECT $2 FROM (SELECT \$payload\$$1\$payload\$::jsonb AS p) AS x"; }

session_start listener
session_run listener listen "LISTEN metrics_alerts;"
session_wait listener listen 30 || bail_out "LISTEN did not return"

# --- a transition into critical ------------------------------------------------------------
log_run failed; log_run partial; log_run failed
is "$(q "SELECT string_agg(check_name || ':' || previous_severity || '>' || severity, ',') FROM metrics.check_alerts()")" \
   "failed_runs_in_a_row:ok>critical" "three failed runs: check_alerts() returns the transition"
notifications; got=$NOTES
is "$(wc -l <<<"$got" | tr -d ' ')" 1 "the listener received one notification"
payload=$got
is "$(field "$payload" "concat_ws('|', p->>'check', p->>'severity', p->>'previous_severity')")" \
   "failed_runs_in_a_row|critical|ok" "the payload names the check and both severities"
is "$(field "$payload" "p->>'detail' = (SELECT detail FROM metrics.alert_log)")" t "its detail is the one alert_log recorded"
like "$(field "$payload" "p->>'detail'")" "the latest: scen: run failed" "which quotes the latest error"
is "$(field "$payload" "(p->>'at')::timestamptz = (SELECT at FROM metrics.alert_log)")" t "its time is the one alert_log recorded"
is "$(field "$payload" "(SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(p) AS k)")" \
   "at,check,detail,previous_severity,severity" "and it has exactly these keys"

# --- no transition, no notification --------------------------------------------------------
is "$(q "SELECT count(*) FROM metrics.check_alerts()")" 0 "called again: no transition"
notifications; is "$NOTES" "" "and nothing is sent"

# --- a rolled-back call sends and records nothing --------------------------------------------
log_run completed
is "$(q "BEGIN" "SELECT count(*) FROM metrics.check_alerts()" "ROLLBACK")" 1 "a recovery found in a transaction that rolls back"
notifications; is "$NOTES" "" "is not sent"
is "$(q "SELECT severity FROM metrics.alert_state WHERE check_name = 'failed_runs_in_a_row'")" critical "nor recorded"

# --- two sessions at once --------------------------------------------------------------------
session_start a
session_start b
session_run a first "BEGIN; SELECT count(*) FROM metrics.check_alerts();"
session_wait a first 30 || bail_out "session a did not run check_alerts"
session_run b second "SELECT count(*) FROM metrics.check_alerts();"
ok "the second caller waits for the first" wait_until 30 backend_waits_on_lock "$(session_backend b)"
session_run a commit "COMMIT;"
session_wait a commit 30
session_wait b second 30 || bail_out "session b did not return"
is "$(session_output a first)|$(session_output b second)" "1|0" "the first makes the transition, the second finds it made"
notifications; got=$NOTES
is "$(wc -l <<<"$got" | tr -d ' ')" 1 "the recovery is received once"
is "$(field "$got" "p->>'previous_severity' || '>' || (p->>'severity')")" "critical>ok" "as critical>ok"
is "$(q "SELECT string_agg(previous_severity || '>' || severity, ',' ORDER BY at) FROM metrics.alert_log")" \
   "ok>critical,critical>ok" "alert_log has the two transitions"

done_testing
