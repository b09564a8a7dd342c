#!/usr/bin/env bash
# Helpers of the compaction scenarios (source after ../lib.bash): the request history, the
# per-unit committing loop, snapshots of totals and reports, and the check that every unit is
# either done or untouched.
#
# The history is tests/fixtures/request_history.sql: 3 routes and 2 operations, every UTC hour
# of the last 130 days but the last 30 hours. With the policy these scenarios set (hours kept
# for 30 days, days kept for ever), about 100 days of each family are folded: ~200 units.

# load_history: the fixture into $DB (it uses SET LOCAL: one transaction).
load_history() {
    psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$DB" \
        -f "$REPO_ROOT/tests/fixtures/request_history.sql" >/dev/null \
        || bail_out "cannot load tests/fixtures/request_history.sql into $DB"
}

# set_day_policy: hours of both families are kept 30 days, then folded into days (no weeks).
set_day_policy() {
    q "SELECT count(*) FROM metrics.set_retention_policy('route_metrics', '30 days', NULL, NULL)" \
      "SELECT count(*) FROM metrics.set_retention_policy('operation_metrics', '30 days', NULL, NULL)" >/dev/null \
        || bail_out "cannot set the retention policies"
}

# The per-unit committing loop (what CALL metrics.run_maintenance() does): one unit per
# transaction, COMMIT after each; raises if a unit did not verify. A DO block, outside any
# transaction block. $1: seconds to sleep between units (default 0).
compact_loop_sql() {
    cat <<SQL
DO \$\$
DECLARE n integer; bad integer;
BEGIN
    LOOP
        SELECT count(*), count(*) FILTER (WHERE verified IS DISTINCT FROM true)
        INTO n, bad FROM metrics.compact_metrics(false, 1);
        IF bad > 0 THEN RAISE EXCEPTION 'a unit did not verify'; END IF;
        EXIT WHEN n = 0;
        COMMIT;
        PERFORM pg_sleep(${1:-0});
    END LOOP;
END \$\$;
SQL
}

# take_snapshot NAME: into schema scen_compact (created here), as seen now,
#  - totals_NAME: per family, key and UTC day, the requests, successes, failures, extremes and
#    the sum of durations of the stored rows, whatever their resolution;
#  - hours_NAME: per family and UTC day, the hour rows and keys;
#  - report_NAME: the day and week reports (get_route_metrics / get_operation_metrics, per
#    key and combined) over the whole history, every column but resolution.
take_snapshot() {
    local n=$1
    q "CREATE SCHEMA IF NOT EXISTS scen_compact" "
CREATE TABLE scen_compact.totals_$n AS
SELECT 'route_metrics' AS family, route || ' ' || method AS key, date_trunc('day', period_start, 'UTC') AS day,
       sum(total_requests) AS total, sum(successful) AS ok, sum(failed) AS failed,
       min(min_duration_ms) AS min_ms, max(max_duration_ms) AS max_ms, sum(total_duration_ms) AS sum_ms
FROM metrics.route_metrics GROUP BY 1, 2, 3
UNION ALL
SELECT 'operation_metrics', operation, date_trunc('day', period_start, 'UTC'),
       sum(total_executions), sum(successful), sum(failed), min(min_duration_ms), max(max_duration_ms), sum(total_duration_ms)
FROM metrics.operation_metrics GROUP BY 1, 2, 3" "
CREATE TABLE scen_compact.hours_$n AS
SELECT family, day, count(*) AS hour_rows, count(DISTINCT key) AS keys FROM (
    SELECT 'route_metrics' AS family, route || ' ' || method AS key, date_trunc('day', period_start, 'UTC') AS day
    FROM metrics.route_metrics WHERE resolution = 'hour'
    UNION ALL
    SELECT 'operation_metrics', operation, date_trunc('day', period_start, 'UTC')
    FROM metrics.operation_metrics WHERE resolution = 'hour') AS h
GROUP BY 1, 2" "
CREATE TABLE scen_compact.report_$n AS
WITH span AS (SELECT date_trunc('week', now() - interval '140 days', 'UTC') AS s, now() + interval '1 hour' AS e)
SELECT 'route' AS subject, g.grain, c.combined, r.period_start, r.period_end, r.route AS name, r.method,
       r.total_requests AS total, r.successful, r.failed, r.success_rate, r.average_duration_ms AS average,
       r.min_duration_ms AS min, r.max_duration_ms AS max, r.p50_ms, r.p95_ms, r.p99_ms
FROM span, (VALUES ('day'), ('week')) AS g(grain), (VALUES (false), (true)) AS c(combined),
     LATERAL metrics.get_route_metrics(NULL, NULL, span.s, span.e, g.grain, c.combined) AS r
UNION ALL
SELECT 'operation', g.grain, c.combined, o.period_start, o.period_end, o.operation, NULL,
       o.total_executions, o.successful, o.failed, o.success_rate, o.average_duration_ms,
       o.min_duration_ms, o.max_duration_ms, o.p50_ms, o.p95_ms, o.p99_ms
FROM span, (VALUES ('day'), ('week')) AS g(grain), (VALUES (false), (true)) AS c(combined),
     LATERAL metrics.get_operation_metrics(NULL, span.s, span.e, g.grain, c.combined) AS o" >/dev/null \
        || bail_out "cannot take the snapshot $n"
}

# totals_differ A B: rows of the per-key, per-day totals that differ (the sum of durations to
# 1e-9 relative: the same durations added in another grouping).
totals_differ() {
    q "SELECT count(*) FROM scen_compact.totals_$1 a FULL JOIN scen_compact.totals_$2 b USING (family, key, day)
       WHERE (a.total, a.ok, a.failed, a.min_ms, a.max_ms) IS DISTINCT FROM (b.total, b.ok, b.failed, b.min_ms, b.max_ms)
          OR abs(a.sum_ms - b.sum_ms) > 1e-9 * greatest(abs(a.sum_ms), 1) OR a.sum_ms IS NULL OR b.sum_ms IS NULL"
}

# reports_differ A B: report rows of A missing in B or the reverse, every column compared
# exactly (sums of durations are whole microseconds: combined averages are the same too).
reports_differ() {
    q "SELECT count(*) FROM (
         SELECT 1 FROM scen_compact.report_$1 a
         WHERE NOT EXISTS (SELECT FROM scen_compact.report_$2 b
                           WHERE (b.subject, b.grain, b.combined, b.period_start, b.period_end, b.total, b.successful, b.failed,
                                  b.success_rate, b.min, b.max, b.p50_ms, b.p95_ms, b.p99_ms)
                                 IS NOT DISTINCT FROM
                                 (a.subject, a.grain, a.combined, a.period_start, a.period_end, a.total, a.successful, a.failed,
                                  a.success_rate, a.min, a.max, a.p50_ms, a.p95_ms, a.p99_ms)
                             AND b.name IS NOT DISTINCT FROM a.name AND b.method IS NOT DISTINCT FROM a.method
                             AND a.average = b.average)
         UNION ALL
         SELECT 1 FROM scen_compact.report_$2 b
         WHERE NOT EXISTS (SELECT FROM scen_compact.report_$1 a
                           WHERE (a.subject, a.grain, a.combined, a.period_start) = (b.subject, b.grain, b.combined, b.period_start)
                             AND a.name IS NOT DISTINCT FROM b.name AND a.method IS NOT DISTINCT FROM b.method)) AS d"
}

# unit_states BEFORE: per family and UTC day of the BEFORE snapshot, whether it is done (no
# hour row left, one day row per key, a compacted_periods row), untouched (every hour row
# there, no day row, no compacted_periods row) or partial. Prints "done untouched partial".
unit_states() {
    q "WITH now_hours AS (
           SELECT 'route_metrics' AS family, date_trunc('day', period_start, 'UTC') AS day,
                  count(*) FILTER (WHERE resolution = 'hour') AS hour_rows, count(*) FILTER (WHERE resolution = 'day') AS day_rows
           FROM metrics.route_metrics GROUP BY 1, 2
           UNION ALL
           SELECT 'operation_metrics', date_trunc('day', period_start, 'UTC'),
                  count(*) FILTER (WHERE resolution = 'hour'), count(*) FILTER (WHERE resolution = 'day')
           FROM metrics.operation_metrics GROUP BY 1, 2
       ), s AS (
           SELECT b.family, b.day, b.hour_rows AS before_rows, b.keys,
                  coalesce(n.hour_rows, 0) AS hour_rows, coalesce(n.day_rows, 0) AS day_rows,
                  EXISTS (SELECT FROM metrics.compacted_periods p WHERE p.family = b.family AND p.period_start = b.day) AS recorded
           FROM scen_compact.hours_$1 b LEFT JOIN now_hours n USING (family, day)
       )
       SELECT count(*) FILTER (WHERE hour_rows = 0 AND day_rows = keys AND recorded) || ' ' ||
              count(*) FILTER (WHERE hour_rows = before_rows AND day_rows = 0 AND NOT recorded) || ' ' ||
              count(*) FILTER (WHERE NOT ((hour_rows = 0 AND day_rows = keys AND recorded)
                                          OR (hour_rows = before_rows AND day_rows = 0 AND NOT recorded)))
       FROM s"
}

# foldable: how many (family, day) units the policy calls for now.
foldable() { q "SELECT count(*) FROM metrics.compact_metrics(dry_run => true)"; }

# hold_route_day N ROUTE: session "blocker" holds the last hour row of ROUTE on the N-th oldest
# route day FOR UPDATE (HELD_DAY), so the unit of that day will wait inside its DELETE.
hold_route_day() {
    local nth=$1 route=$2
    HELD_DAY=$(q "SELECT day FROM scen_compact.hours_before WHERE family = 'route_metrics' ORDER BY day OFFSET $((nth - 1)) LIMIT 1")
    session_start blocker
    session_run blocker lock "BEGIN; WITH held AS (
        SELECT id FROM metrics.route_metrics
        WHERE route = '$route' AND period_start >= '$HELD_DAY' AND period_start < '$HELD_DAY'::timestamptz + interval '1 day'
        ORDER BY period_start DESC LIMIT 1 FOR UPDATE) SELECT count(*) FROM held;"
    session_wait blocker lock 30 || bail_out "the blocker did not lock its row"
    is "$(session_output blocker lock)" 1 "another session holds one hour row of route day number $nth FOR UPDATE"
}

# start_held_loop: the per-unit committing loop in the background (LOOP_PID, its backend
# LOOP_BACKEND, its output in OUT), checked to wait for the held row inside its DELETE.
start_held_loop() {
    OUT="$SCEN_TMP/loop.out"
    PGAPPNAME=scen_compact_loop psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" \
        -c "$(compact_loop_sql)" >"$OUT" 2>&1 &
    LOOP_PID=$!
    at_exit "kill $LOOP_PID"
    wait_until 30 loop_backend || bail_out "the loop did not start"
    if wait_until 60 sql_true "SELECT wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple') FROM pg_stat_activity WHERE pid = $LOOP_BACKEND"; then
        pass "the loop's unit of that day waits for the row inside its DELETE of the day's hours"
    else
        fail "the loop's unit of that day waits for the row inside its DELETE of the day's hours" \
            "$(q "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE pid = $LOOP_BACKEND"; cat "$OUT")"
    fi
}
loop_backend() {
    LOOP_BACKEND=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'scen_compact_loop' AND datname = current_database()")
    [ -n "$LOOP_BACKEND" ]
}

# prepare_history: a database of this script's with the extension and the history, the day
# policy and the "before" snapshot; checks that the policy calls for many units.
prepare_history() {
    fresh_db
    q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
    load_history
    set_day_policy
    take_snapshot before
    UNITS=$(foldable)
    ok "the policy calls for many units ($UNITS)" test "$UNITS" -ge 150
}

# finish_and_compare: the next run of the loop finishes the job; every unit is then done, and
# the totals and the reports are exactly those taken before compaction.
finish_and_compare() {
    psql -X -qAt -v ON_ERROR_STOP=1 -d "$DB" -c "$(compact_loop_sql)" >"$OUT" 2>&1
    is "$?" 0 "the next run finishes without error"
    read -r DONE UNTOUCHED PARTIAL <<<"$(unit_states before)"
    is "$DONE $PARTIAL" "$UNITS 0" "every unit the policy called for is done ($UNITS)"
    take_snapshot after
    is "$(totals_differ before after)|$(reports_differ before after)" "0|0" \
        "the totals and the day and week reports (exactly, combined too) are those from before"
}
