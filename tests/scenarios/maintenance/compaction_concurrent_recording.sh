#!/usr/bin/env bash
# Recording from other sessions while compaction runs is never blocked for longer than one
# unit. 10 days x 100 routes x 24 hours of hour rows (one day recorded through the batch API,
# then copied to the other days), folded into days.
#
# First, one unit held open (compact_metrics(false, 1) in a transaction not yet committed):
#   - a late event into the day the unit folds waits for that UTC day's advisory lock (pg_locks:
#     not granted), while one into another old day is recorded at once (the lock is per day);
#   - an event "now" from a third session is recorded at once, while the unit is still open;
#   - when the unit commits, the late event goes into the folded day's row (no hour row).
# Then the per-unit committing loop over the other 9 days, while one session records events
# "now" and another late events into the days being folded, each call timed: the longest
# "now" call is shorter than the longest unit, and the longest late call is no longer than the
# longest unit (plus 100 ms for the call itself on a busy machine); every request is counted
# once.
source "$(dirname "$0")/../lib.bash"
source "$(dirname "$0")/compaction.bash"

plan 16
T_BEGIN=$SECONDS
ROUTES=200
DAYS=10

fresh_db
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
q "ALTER DATABASE \"$DB\" SET metrics.max_event_age = '30d'" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || bail_out "cannot generate the hour rows"
SET metrics.max_event_age = '30d';
CREATE SCHEMA scen;
CREATE TABLE scen.span AS SELECT date_trunc('day', now(), 'UTC') - interval '$((DAYS + 1)) days' AS first_day;
SELECT metrics.record_route_metrics(jsonb_agg(jsonb_build_object(
           'route', '/r' || r, 'method', 'GET', 'success', (r + h + e) % 17 <> 0,
           'duration_ms', round((((r * 31 + h * 7 + e * 13) % 997) / 3.0 + 0.25)::numeric, 3),
           'at', s.first_day + make_interval(hours => h, mins => (e * 11) % 60))))
FROM scen.span AS s, generate_series(1, $ROUTES) AS r, generate_series(0, 23) AS h, LATERAL generate_series(1, 1 + (r + h) % 4) AS e;
INSERT INTO metrics.route_metrics (route, method, period_start, period_end, total_requests, successful, failed,
    total_duration_ms, average_duration_ms, min_duration_ms, max_duration_ms, last_request_at, latency_sketch)
SELECT route, method, period_start + make_interval(days => d), period_end + make_interval(days => d), total_requests,
       successful, failed, total_duration_ms, average_duration_ms, min_duration_ms, max_duration_ms,
       last_request_at + make_interval(days => d), latency_sketch
FROM metrics.route_metrics, generate_series(1, $((DAYS - 1))) AS d;
CREATE TABLE scen.stop (at timestamptz);
CREATE TABLE scen.latency (kind text, ms float8);
CREATE TABLE scen.units (ms float8);
SELECT count(*) FROM metrics.set_retention_policy('route_metrics', '1 day', NULL, NULL);
SQL
FIRST_DAY=$(q "SELECT first_day FROM scen.span")
TOTAL_BEFORE=$(q "SELECT sum(total_requests) FROM metrics.route_metrics")
is "$(q "SELECT count(*) FROM metrics.route_metrics")|$(foldable)" "$((ROUTES * 24 * DAYS))|$DAYS" \
    "$((ROUTES * 24 * DAYS)) hour rows, $DAYS days to fold"

# --- one unit held open ------------------------------------------------------------------------
session_start compactor
session_start late1
session_start late2
session_start now1
session_run compactor unit "BEGIN; SELECT action || ' ' || rows_before || ' ' || rows_after || ' ' || verified FROM metrics.compact_metrics(false, 1);"
session_wait compactor unit 60 || bail_out "the unit did not run"
is "$(session_output compactor unit)" "compact_day $((ROUTES * 24)) $ROUTES true" "a unit folds the oldest day ($((ROUTES * 24)) hour rows into $ROUTES) and stays uncommitted"
late_event() { # late_event DAY_OFFSET: one late event into the day FIRST_DAY + offset, at 05:30
    echo "SELECT metrics.record_route_metrics(jsonb_build_array(jsonb_build_object('route', '/r7', 'method', 'GET',
            'success', true, 'duration_ms', 4242.5, 'at', '$FIRST_DAY'::timestamptz + interval '$1 days 5 hours 30 minutes')));"
}
session_run late1 rec "$(late_event 0)"
session_run late2 rec "$(late_event 5)"
waits_on_advisory() {
    sql_true "SELECT count(*) = 1 FROM pg_locks WHERE pid = $1 AND locktype = 'advisory'
              AND classid = x'6d747264'::int AND objid = (extract(epoch FROM '$FIRST_DAY'::timestamptz) / 86400)::int
              AND mode = 'ShareLock' AND NOT granted"
}
if wait_until 20 waits_on_advisory "$(session_backend late1)"; then
    pass "a late event into the day being folded waits for that UTC day's advisory lock"
else
    fail "a late event into the day being folded waits for that UTC day's advisory lock" "$(session_output late1 rec)"
fi
if session_wait late2 rec 10 && ! session_done late1 rec; then
    pass "a late event into another old day is recorded at once (the lock is per day)"
else
    fail "a late event into another old day is recorded at once (the lock is per day)" "$(session_output late2 rec)"
fi
session_run now1 rec "SELECT metrics.record_route_metric('/r7', 'GET', true, 1.5);"
if session_wait now1 rec 10 && ! session_done late1 rec; then
    pass "an event \"now\" is recorded at once while the unit is open"
else
    fail "an event \"now\" is recorded at once while the unit is open" "$(session_output now1 rec)"
fi
DAY0_BEFORE=$(q "SELECT sum(total_requests) FROM metrics.route_metrics WHERE route = '/r7' AND period_start >= '$FIRST_DAY' AND period_start < '$FIRST_DAY'::timestamptz + interval '1 day'")
session_run compactor commit "COMMIT;"
session_wait compactor commit 30
if session_wait late1 rec 20; then
    pass "when the unit commits, the waiting late event is recorded"
else
    fail "when the unit commits, the waiting late event is recorded" "$(session_output late1 rec)"
fi
is "$(q "SELECT resolution || ' ' || total_requests || ' ' || max_duration_ms FROM metrics.route_metrics WHERE route = '/r7' AND period_start = '$FIRST_DAY'")" \
    "day $((DAY0_BEFORE + 1)) 4242.5" "the late event went into the folded day's row"
is "$(q "SELECT count(*) FROM metrics.route_metrics WHERE resolution = 'hour' AND period_start >= '$FIRST_DAY' AND period_start < '$FIRST_DAY'::timestamptz + interval '1 day'")" 0 \
    "and made no hour row in it"
session_end late1; session_end late2; session_end now1; session_end compactor

# --- the loop, with recorders -----------------------------------------------------------------
recorder_sql() { # recorder_sql KIND EVENT_SQL: records until scen.stop has a row, timing each call with its commit
    cat <<SQL
SET metrics.max_event_age = '30d';
DO \$\$
DECLARE i integer := 0; t timestamptz; ms float8[] := '{}';
BEGIN
    WHILE NOT EXISTS (SELECT FROM scen.stop) AND i < 200000 LOOP
        t := clock_timestamp();
        $2
        COMMIT;
        ms := ms || (extract(epoch FROM clock_timestamp() - t) * 1000)::float8;
        i := i + 1;
        PERFORM pg_sleep(0.002);
    END LOOP;
    INSERT INTO scen.latency SELECT '$1', unnest(ms);
END \$\$;
SQL
}
session_start rec_now
session_start rec_late
session_start loop
session_run rec_now run "$(recorder_sql now "PERFORM metrics.record_route_metric('/r' || (1 + i % $ROUTES), 'GET', true, 2.5);")"
# late events into the 9 days the loop folds, round robin, at a random hour
session_run rec_late run "$(recorder_sql late "PERFORM metrics.record_route_metrics(jsonb_build_array(jsonb_build_object(
    'route', '/r' || (1 + i % $ROUTES), 'method', 'GET', 'success', true, 'duration_ms', 7.5,
    'at', '$FIRST_DAY'::timestamptz + make_interval(days => 1 + i % $((DAYS - 1)), hours => (i * 7) % 24, mins => 10))));")"
sleep 1
session_run loop run "DO \$\$
DECLARE n integer; bad integer; t timestamptz;
BEGIN
    LOOP
        t := clock_timestamp();
        SELECT count(*), count(*) FILTER (WHERE verified IS DISTINCT FROM true) INTO n, bad FROM metrics.compact_metrics(false, 1);
        IF bad > 0 THEN RAISE EXCEPTION 'a unit did not verify'; END IF;
        EXIT WHEN n = 0;
        COMMIT;
        INSERT INTO scen.units VALUES (extract(epoch FROM clock_timestamp() - t) * 1000);
        COMMIT;
    END LOOP;
END \$\$;"
session_wait loop run 120 || bail_out "the loop did not finish"
sleep 1
q "INSERT INTO scen.stop VALUES (now())" >/dev/null
session_wait rec_now run 60 && session_wait rec_late run 60 || bail_out "the recorders did not stop"
is "$(session_output loop run; session_output rec_now run; session_output rec_late run)" "" "the loop and both recorders ran without error"
is "$(q "SELECT count(*) FROM scen.units")|$(foldable)" "$((DAYS - 1))|0" "the loop folded the other $((DAYS - 1)) days"

read -r LONGEST SHORTEST <<<"$(q "SELECT round(max(ms)::numeric, 1) || ' ' || round(min(ms)::numeric, 1) FROM scen.units")"
read -r NOW_N NOW_P99 NOW_MAX <<<"$(q "SELECT count(*) || ' ' || round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' || round(max(ms)::numeric, 1) FROM scen.latency WHERE kind = 'now'")"
read -r LATE_N LATE_P99 LATE_MAX LATE_WAITED <<<"$(q "SELECT count(*) || ' ' || round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ' || round(max(ms)::numeric, 1)
                                                        || ' ' || count(*) FILTER (WHERE ms > $SHORTEST / 4) FROM scen.latency WHERE kind = 'late'")"
diag "units: $((DAYS - 1)), $SHORTEST..$LONGEST ms; \"now\" calls: $NOW_N, p99 $NOW_P99 ms, max $NOW_MAX ms; late calls: $LATE_N, p99 $LATE_P99 ms, max $LATE_MAX ms, $LATE_WAITED longer than a quarter of the shortest unit"
ok "both recorders recorded during the loop ($NOW_N now, $LATE_N late)" test "$NOW_N" -ge 20 -a "$LATE_N" -ge 20
ok "the longest \"now\" call ($NOW_MAX ms) is shorter than the longest unit ($LONGEST ms)" \
    awk -v a="$NOW_MAX" -v b="$LONGEST" 'BEGIN { exit !(a < b) }'
ok "the longest late call ($LATE_MAX ms) is no longer than the longest unit ($LONGEST ms) + 100 ms" \
    awk -v a="$LATE_MAX" -v b="$LONGEST" 'BEGIN { exit !(a <= b + 100) }'
ok "some late calls did wait for a unit ($LATE_WAITED)" test "$LATE_WAITED" -ge 1
# (the "now" calls since the last unit's fold are still unfolded: the live view reads both)
is "$(q "SELECT sum(total_requests) FROM metrics.route_metrics_live")" "$((TOTAL_BEFORE + 3 + NOW_N + LATE_N))" \
    "every request is counted once (before, plus the 3 above, plus every recorded call)"
is "$(q "SELECT count(*) FROM metrics.route_metrics WHERE resolution = 'hour' AND period_start < date_trunc('day', now(), 'UTC') - interval '1 day'")" 0 \
    "no late event made an hour row in a folded day"

diag "runtime: $((SECONDS - T_BEGIN)) s"
done_testing
