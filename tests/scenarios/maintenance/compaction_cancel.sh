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

prepare_history

# The day that will be held up: the 20th oldest route day, and one of its hour rows.
hold_route_day 20 /b
start_held_loop
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
finish_and_compare
is "$(foldable)" 0 "and nothing is left to do"

diag "runtime: $((SECONDS - T_BEGIN)) s"
done_testing
