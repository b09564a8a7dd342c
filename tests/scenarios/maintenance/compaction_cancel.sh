#!/usr/bin/env bash
# A compaction cancelled in the middle of a unit. The per-unit committing loop (what
# run_maintenance does: compact_metrics(false, 1), COMMIT, again) runs over ~200 units; the
# 20th oldest route day is held up halfway (another session holds one of its hour rows FOR
# UPDATE, so the unit has taken the advisory lock, counted the day and is inside the DELETE
# of its hours when it waits), and pg_cancel_backend stops it there. Afterwards every (family, day)
# is either done (no hour row, one day row per key, a compacted_periods row) or untouched
# (every hour row there, no day row); the totals per key and day are those from before; the
# next run finishes the job, and the day and week reports, per key and combined,
# percentiles included, are the ones taken before compaction.
source "$(dirname "$0")/../lib.bash"
source "$(dirname "$0")/compaction.bash"

plan 15
T_BEGIN=$SECONDS

fresh_db
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
load_history
set_day_policy
take_snapshot before
UNITS=$(foldable)
ok "the policy calls for many units ($UNITS)" test "$UNITS" -ge 150

# The day that will be held up: the 20th oldest route day, and one of its hour rows.
HELD_DAY=$(q "SELECT day FROM scen_compact.hours_before WHERE family = 'route_metrics' ORDER BY day OFFSET 19 LIMIT 1")
session_start blocker
session_run blocker lock "BEGIN; WITH held AS (
    SELECT id FROM metrics.route_metrics
    WHERE route = '/b' AND period_start >= '$HELD_DAY' AND period_start < '$HELD_DAY'::timestamptz + interval '1 day'
    ORDER BY period_start DESC LIMIT 1 FOR UPDATE) SELECT count(*) FROM held;"
session_wait blocker lock 30 || bail_out "the blocker did not lock its row"
is "$(session_output blocker lock)" 1 "another session holds one hour row of the 20th route day FOR UPDATE"

OUT="$SCEN_TMP/loop.out"
PGAPPNAME=scen_compact_loop psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" \
    -c "$(compact_loop_sql)" >"$OUT" 2>&1 &
LOOP_PID=$!
at_exit "kill $LOOP_PID"
loop_backend() {
    LOOP_BACKEND=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'scen_compact_loop' AND datname = current_database()")
    [ -n "$LOOP_BACKEND" ]
}
wait_until 30 loop_backend || bail_out "the loop did not start"
if wait_until 60 sql_true "SELECT wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple') FROM pg_stat_activity WHERE pid = $LOOP_BACKEND"; then
    pass "the loop's unit of that day waits for the row inside its DELETE of the day's hours"
else
    fail "the loop's unit of that day waits for the row" "$(q "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE pid = $LOOP_BACKEND"; cat "$OUT")"
fi
is "$(q "SELECT count(*) FROM pg_locks WHERE pid = $LOOP_BACKEND AND locktype = 'advisory' AND classid = x'6d747264'::int AND granted")" 1 \
    "it holds the advisory lock of its (UTC) day"
is "$(q "SELECT count(*) FROM metrics.compacted_periods")" 19 "19 units were committed before it"
is "$(q "SELECT pg_cancel_backend($LOOP_BACKEND)")" t "the loop is cancelled in the middle of the unit"
wait "$LOOP_PID"
LOOP_STATUS=$?
is "$LOOP_STATUS:$(sqlstate_of "$(cat "$OUT")")" "1:57014" "psql reports the cancel (57014)"
session_run blocker rollback "ROLLBACK;"
session_wait blocker rollback 30

read -r DONE UNTOUCHED PARTIAL <<<"$(unit_states before)"
is "$DONE $PARTIAL" "19 0" "afterwards 19 units are done, none partial"
is "$UNTOUCHED" "$(( $(q "SELECT count(*) FROM scen_compact.hours_before") - 19 ))" "every other (family, day) is untouched: all its hour rows there, no day row"
is "$(q "SELECT count(*) FROM scen_compact.hours_before WHERE family = 'route_metrics' AND day = '$HELD_DAY'
         AND hour_rows = (SELECT count(*) FROM metrics.route_metrics WHERE resolution = 'hour' AND date_trunc('day', period_start, 'UTC') = '$HELD_DAY')")" 1 \
    "the cancelled unit's day has every hour row it had"
take_snapshot cancelled
is "$(totals_differ before cancelled)" 0 "the totals per key and day are those from before"

# The next run finishes the job.
psql -X -qAt -v ON_ERROR_STOP=1 -d "$DB" -c "$(compact_loop_sql)" >"$OUT" 2>&1
is "$?" 0 "the next run finishes without error"
is "$(foldable)" 0 "and leaves nothing to do"
read -r DONE UNTOUCHED PARTIAL <<<"$(unit_states before)"
is "$DONE $PARTIAL" "$UNITS 0" "every unit the policy called for is done ($UNITS)"
take_snapshot after
is "$(totals_differ before after)|$(reports_differ before after)" "0|0" \
    "the totals and the day and week reports (exactly, combined too) are those from before"

diag "runtime: $((SECONDS - T_BEGIN)) s"
done_testing
