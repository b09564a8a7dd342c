#!/usr/bin/env bash
# A compacting backend killed with SIGKILL in the middle of a unit. In a cluster of its own
# (the postmaster answers a killed backend by ending every session and recovering from WAL):
# the per-unit committing loop runs over ~200 units; the 30th oldest route day is held up
# inside its DELETE (another session holds one of its hour rows FOR UPDATE) and the loop's
# backend is killed with kill -9 there. After crash recovery every (family, day) is either
# done (no hour row, one day row per key, a compacted_periods row) or untouched (every hour
# row there, no day row), the totals per key and day are those from before, the next run
# finishes the job, and the day and week reports, per key and combined, percentiles included,
# are the ones taken before compaction.
source "$(dirname "$0")/../lib.bash"
source "$(dirname "$0")/compaction.bash"
source "$REPO_ROOT/scripts/lib/cluster.sh"

plan 14
T_BEGIN=$SECONDS
# synchronous_commit on: a commit is in the WAL on disk before it returns, so every unit seen
# committed survives the crash (cluster_start turns it off for throwaway data; with it off
# the last unit committed before the kill may be lost whole: still done-or-untouched).
cluster_start "compaction-kill-$$" "restart_after_crash = on" "synchronous_commit = on" >/dev/null || bail_out "cannot start a cluster"
KILL_DIR=$CLUSTER_DIR
at_exit "cluster_stop_dir '$KILL_DIR'; rm -rf '$KILL_DIR'"

prepare_history

hold_route_day 30 /a
start_held_loop
is "$(q "SELECT count(*) FROM metrics.compacted_periods")" 29 "29 units were committed before it"

# kill -9 the backend (a postgres process: we run as root, it as postgres).
ok "the loop's backend is killed with SIGKILL" kill -KILL "$LOOP_BACKEND"
wait "$LOOP_PID"
diag "psql: $(head -3 "$OUT")"
server_back() { psql -X -qAt -d "$DB" -c "SELECT 1" >/dev/null 2>&1; }
if wait_until 60 server_back; then
    pass "the server recovers and accepts connections again"
else
    bail_out "the server did not come back: $(tail -20 "$KILL_DIR/server.log")"
fi
like "$(cat "$KILL_DIR/server.log")" "was terminated by signal 9" "the server log records the killed backend and the recovery"
session_end blocker

read -r DONE UNTOUCHED PARTIAL <<<"$(unit_states before)"
is "$DONE $PARTIAL" "29 0" "after recovery 29 units are done, none partial"
is "$UNTOUCHED" "$(( $(q "SELECT count(*) FROM scen_compact.hours_before") - 29 ))" "every other (family, day) is untouched"
take_snapshot killed
is "$(totals_differ before killed)" 0 "the totals per key and day are those from before"
is "$(q "SELECT count(*) FROM metrics.compact_metrics(dry_run => true)")" "$((UNITS - 29))" "the plan holds the other units"

finish_and_compare

diag "runtime: $((SECONDS - T_BEGIN)) s"
done_testing
