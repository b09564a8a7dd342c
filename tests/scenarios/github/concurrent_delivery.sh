#!/usr/bin/env bash
# Concurrent deliveries of the same events: 6 psql sessions each deliver the scenario's whole
# event list (scenario.mjs) at the same time, in different orders (in order, reversed, four
# shuffles), mixing record_github_event and batches of different sizes, two of them sending
# a share of the events without their delivery id. They start together (each waits on an
# advisory lock the script holds until all six wait for it).
#
# Afterwards: no session had an error (no deadlock, no unique violation, no serialization
# failure); the recorded counts of all sessions add up to the number of distinct event keys
# delivered, so each key was recorded by exactly one session; metrics.github_events holds
# exactly those keys, once each; the facts and derived tables (sorted dumps) and get_dora_metrics
# are identical to a serial in-order run's in another database, and get_dora_metrics equals
# expected.mjs's rows too.
source "$(dirname "$0")/../lib.bash"
source "$(dirname "$0")/github.bash"
T_BEGIN=$SECONDS
SESSIONS=6

gh_events
diag "$GH_N events"

# --- the serial reference ---------------------------------------------------------------------------
gh_db serial
SERIAL_DB=$DB
gh_plan "$SCEN_TMP/serial" --order inorder --batch-max 50 --seed 5
gh_deliver "$SCEN_TMP/serial"
is "$?|$(cat "$SCEN_TMP/serial.err")" "0|" "serial: the $GH_N events are recorded in order without an error"
gh_dump >"$SCEN_TMP/serial.dump"
answers() {
    local env grain
    for env in production staging all; do for grain in day week; do
        echo "== $env $grain"
        gh_rows "$GH_START" "$GH_END" "$env" "$grain" UTC
    done; done
}
answers >"$SCEN_TMP/serial.answers" 2>&1

# --- the concurrent run ------------------------------------------------------------------------------
gh_db concurrent
plans=()
for k in $(seq 1 $SESSIONS); do
    p="$SCEN_TMP/c$k"
    case $k in
        1) gh_plan "$p" --order inorder --seed 11 --single 0.5 --batch-max 20 ;;
        2) gh_plan "$p" --order reverse --seed 12 --single 0.1 --batch-max 80 --strip 0.3 ;;
        3) gh_plan "$p" --order shuffle --seed 13 --single 1 ;;
        4) gh_plan "$p" --order shuffle --seed 14 --single 0 --batch-max 200 ;;
        5) gh_plan "$p" --order shuffle --seed 15 --single 0.3 --batch-max 30 --strip 0.2 --dup 0.05 ;;
        *) gh_plan "$p" --order shuffle --seed $((10 + k)) --single 0.2 --batch-max 60 --dup 0.05 ;;
    esac
    # Wait at the barrier first, then deliver everything; errors do not stop the session.
    { echo "SELECT pg_advisory_lock_shared(424242); SELECT pg_advisory_unlock_shared(424242);"; cat "$p.sql"; } >"$p.run.sql"
    plans+=("$p")
done
session_start barrier
session_run barrier hold "SELECT pg_advisory_lock(424242);"
session_wait barrier hold 30 || bail_out "the barrier lock was not taken"
pids=()
for p in "${plans[@]}"; do
    PGAPPNAME=scen_gh_deliver psql -X -qAt -v VERBOSITY=verbose -d "$DB" -f "$p.run.sql" >"$p.out" 2>"$p.err" &
    pids+=($!)
    at_exit "kill ${pids[-1]}"
done
wait_until 60 sql_true "SELECT count(*) = $SESSIONS FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242 AND NOT granted" \
    || bail_out "the sessions did not all reach the barrier"
T_RUN=$SECONDS
session_run barrier release "SELECT pg_advisory_unlock(424242);"
statuses=()
for pid in "${pids[@]}"; do wait "$pid"; statuses+=($?); done
diag "the $SESSIONS sessions took $((SECONDS - T_RUN)) s"
is "${statuses[*]}" "$(printf '0 %.0s' $(seq 2 $SESSIONS))0" "every session's psql exited with 0"
errs=$(cat "${plans[@]/%/.err}")
is "$errs" "" "no session had an error (no deadlock, unique violation or serialization failure)"
is "$(cat "${plans[@]/%/.err}" | grep -c '40P01')" 0 "(none of them was a deadlock, 40P01)"

# Each key was recorded by exactly one session: the recorded counts add up to the keys.
node "$GH_DIR/plan.mjs" keys "${plans[@]/%/.json}" >"$SCEN_TMP/union.json"
UNION_KNOWN=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).known.length)' "$SCEN_TMP/union.json")
UNION_UNKNOWN=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).unknown)' "$SCEN_TMP/union.json")
recorded=$(awk -F'|' '$1 == "S" && $2 == "t" { n++ } $1 == "B" { n += $3 } END { print n + 0 }' "${plans[@]/%/.out}")
calls=$(cat "${plans[@]/%/.out}" | grep -c '^[SB]|')
expected_calls=$(node -e 'let n = 0; for (const f of process.argv.slice(1)) n += JSON.parse(require("fs").readFileSync(f)).calls.length; console.log(n)' "${plans[@]/%/.json}")
is "$calls" "$expected_calls" "every call of every session returned its row ($expected_calls calls)"
# Unknown events with a delivery id are among the known keys (delivery:...); those without
# one are keyed by their payload's hash.
DB_UNKNOWN_NATURAL=$(q "SELECT count(*) FROM metrics.github_events WHERE event_key NOT LIKE 'delivery:%' AND kind = 'unknown'")
is "$recorded" "$((UNION_KNOWN + UNION_UNKNOWN))" "the sessions recorded $((UNION_KNOWN + UNION_UNKNOWN)) events in all: one per distinct key delivered"
is "$(q "SELECT count(*) FROM metrics.github_events")|$DB_UNKNOWN_NATURAL" "$((UNION_KNOWN + UNION_UNKNOWN))|$UNION_UNKNOWN" \
    "metrics.github_events has one row per key ($((UNION_KNOWN + UNION_UNKNOWN)))"
node -e 'for (const k of JSON.parse(require("fs").readFileSync(process.argv[1])).known) console.log(k)' "$SCEN_TMP/union.json" | LC_ALL=C sort >"$SCEN_TMP/union.keys"
q "SELECT event_key FROM metrics.github_events WHERE event_key LIKE 'delivery:%' OR kind <> 'unknown'" | LC_ALL=C sort >"$SCEN_TMP/db.keys"
gh_same "the keys are exactly those delivered" "$SCEN_TMP/union.keys" "$SCEN_TMP/db.keys"

gh_dump >"$SCEN_TMP/concurrent.dump"
gh_same "facts and derived tables (sorted dumps) equal the serial run's" "$SCEN_TMP/serial.dump" "$SCEN_TMP/concurrent.dump"
answers >"$SCEN_TMP/concurrent.answers" 2>&1
gh_same "get_dora_metrics (production, staging, all; day, week) equals the serial run's" "$SCEN_TMP/serial.answers" "$SCEN_TMP/concurrent.answers"
gh_levels "$SCEN_TMP/levels.json"
gh_check_rows "$GH_START" "$GH_END" all week UTC
gh_check_rows "$GH_START" "$GH_END" production day UTC

diag "runtime: $((SECONDS - T_BEGIN)) s"
done_testing
