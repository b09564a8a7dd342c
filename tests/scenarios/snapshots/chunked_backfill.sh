#!/usr/bin/env bash
# An interrupted chunked backfill keeps its finished chunks, and calling it again resumes.
#
# Three metrics read a view that sleeps once per statement (so each 30-day chunk takes a
# known ~0.3 s) and one reads a plain table. CALL metrics.backfill_daily_metrics_chunked over
# 2025 is cancelled once its first chunk is committed: the call fails with 57014, whole
# chunks from 2025-01-01 stay sealed with every metric and a completed log row each, the
# chunk in progress leaves nothing. Called again, it skips the sealed chunks, finishes the
# year, and every value equals counts computed independently from the source tables.
#
# So that the cancel cannot miss (a loaded machine could poll too late and find the whole
# year done), the view numbers its executions with a sequence and, during the interrupted
# run, the second execution on (the second chunk) sleeps 600 s instead: the cancel always
# lands in chunk 2's sleep, after chunk 1 is committed.
source "$(dirname "$0")/../lib.bash"

SLEEP=0.3
CHUNK=30
CHUNKS=13      # ceil(365 / 30)

fresh_db
load_fixture
q "CREATE EXTENSION metrics" >/dev/null

# The sleep sits in an uncorrelated sub-select in WHERE: an InitPlan evaluated once per
# statement (a One-Time Filter), whatever join or aggregate the metric's SQL puts above it.
# Execution number hold_from and later sleep 600 s (NULL: never).
q "CREATE SEQUENCE regress_src.slow_executions" \
  "CREATE TABLE regress_src.slow_knob (hold_from bigint)" \
  "INSERT INTO regress_src.slow_knob VALUES (NULL)" \
  "CREATE VIEW regress_src.slow_posts AS
   SELECT p.* FROM regress_src.posts AS p
   WHERE (SELECT true FROM pg_sleep(CASE WHEN nextval('regress_src.slow_executions') >= (SELECT hold_from FROM regress_src.slow_knob)
                                         THEN 600 ELSE $SLEEP END))" >/dev/null || bail_out "cannot create the slow view"
PLAN=$(q "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
          SELECT (created_at AT TIME ZONE 'UTC')::date, count(*), count(DISTINCT user_id)
          FROM regress_src.slow_posts
          WHERE created_at >= '2025-01-01 00:00+00' AND created_at < '2025-01-31 00:00+00'
          GROUP BY 1")
like "$PLAN" 'Function Scan on pg_sleep \(actual rows=1 loops=1\)' \
    "the view sleeps exactly once per statement"
is "$(q "SELECT last_value FROM regress_src.slow_executions")" 1 "and counts one execution per statement"

define() { q "SELECT metric_category FROM metrics.define_metric($1)" >/dev/null || bail_out "define_metric($1) failed"; }
define "'slow_posts_created', 'created', source_table => 'slow_posts', source_schema => 'regress_src'"
define "'slow_published_created', 'created', source_table => 'slow_posts', source_schema => 'regress_src', filter => 'status = ''published'''"
define "'slow_active_users', 'distinct', source_table => 'slow_posts', source_schema => 'regress_src', value_column => 'user_id'"
define "'users_total', 'total', source_table => 'profiles', source_schema => 'regress_src'"
METRICS=4
is "$(q "SELECT count(*) FROM metrics.metric_definitions WHERE is_active")" $METRICS "$METRICS metrics defined, 3 over the view"

# Independent counts: the same numbers from regress_src.posts and profiles, UTC days.
q "CREATE SCHEMA scen_check" "
CREATE FUNCTION scen_check.expected(d1 date, d2 date)
RETURNS TABLE (metric_date date, metric_category text, value numeric) LANGUAGE sql STABLE AS \$\$
    WITH days AS (
        SELECT g::date AS day, g::date::timestamp AT TIME ZONE 'UTC' AS lo,
               (g::date + 1)::timestamp AT TIME ZONE 'UTC' AS hi
        FROM generate_series(d1::timestamp, d2::timestamp, interval '1 day') AS g)
    SELECT day, c, v FROM days CROSS JOIN LATERAL (VALUES
        ('slow_posts_created', (SELECT count(*) FROM regress_src.posts WHERE created_at >= lo AND created_at < hi)),
        ('slow_published_created', (SELECT count(*) FROM regress_src.posts WHERE created_at >= lo AND created_at < hi AND status = 'published')),
        ('slow_active_users', (SELECT count(DISTINCT user_id) FROM regress_src.posts WHERE created_at >= lo AND created_at < hi)),
        ('users_total', (SELECT count(*) FROM regress_src.profiles WHERE created_at < hi))
    ) AS x(c, v)
\$\$" "
CREATE FUNCTION scen_check.mismatches(d1 date, d2 date) RETURNS SETOF text LANGUAGE sql STABLE AS \$\$
    WITH e AS (SELECT * FROM scen_check.expected(d1, d2)),
         s AS (SELECT metric_date, metric_category, value FROM metrics.daily_metrics WHERE metric_date BETWEEN d1 AND d2)
    SELECT 'expected only: ' || r FROM (SELECT * FROM e EXCEPT ALL SELECT * FROM s) AS r
    UNION ALL
    SELECT 'sealed only: ' || r FROM (SELECT * FROM s EXCEPT ALL SELECT * FROM e) AS r
\$\$" >/dev/null || bail_out "cannot create the expectation functions"

check_days() {
    local desc=$1 d1=$2 d2=$3 diff
    diff=$(q "SELECT * FROM scen_check.mismatches('$d1', '$d2')")
    if [ $? -eq 0 ] && [ -z "$diff" ]; then pass "$desc"; else fail "$desc" "$(head -20 <<<"$diff")"; fi
}

# --- a procedure that commits cannot run inside a transaction block ---------------------
q_try "BEGIN; CALL metrics.backfill_daily_metrics_chunked('2025-01-01', '2025-01-02', 1); COMMIT;"
is "$Q_SQLSTATE" 25001 "inside an explicit transaction the CALL is refused with 25001, before any work"
like "$Q_ERR" 'cannot run inside a transaction block' "saying why"
like "$Q_HINT" 'CALL it on its own' "with a hint"
is "$(q "SELECT count(*) FROM metrics.daily_metrics") $(q "SELECT count(*) FROM metrics.metric_collection_log")" "0 0" \
    "and leaves neither values nor log rows"

# --- the interrupted run ------------------------------------------------------------------
q "SELECT setval('regress_src.slow_executions', 1, false)" "UPDATE regress_src.slow_knob SET hold_from = 2" >/dev/null
OUT1="$SCEN_TMP/call1.out" ERR1="$SCEN_TMP/call1.err"
T0=$SECONDS
PGAPPNAME=scen_chunked_call1 PGOPTIONS="-c client_min_messages=notice" \
    psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" \
    -c "CALL metrics.backfill_daily_metrics_chunked('2025-01-01', '2025-12-31', $CHUNK)" >"$OUT1" 2>"$ERR1" &
CALL1=$!
at_exit "[ -n \"\${CALL1_DONE:-}\" ] || kill $CALL1"
call_backend() {
    CALL1_BACKEND=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'scen_chunked_call1' AND datname = current_database()")
    [ -n "$CALL1_BACKEND" ]
}
wait_until 30 call_backend || bail_out "the CALL did not start"
if wait_until 60 sql_true "SELECT count(DISTINCT metric_date) >= $CHUNK FROM metrics.daily_metrics"; then
    pass "the first chunk is committed while the call goes on"
else
    fail "the first chunk is committed while the call goes on" "$(cat "$ERR1")"
fi
if wait_until 30 sql_true "SELECT wait_event = 'PgSleep' FROM pg_stat_activity WHERE pid = $CALL1_BACKEND"; then
    pass "the call is inside the second chunk's sleep"
else
    fail "the call is inside the second chunk's sleep" \
        "$(q "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity WHERE pid = $CALL1_BACKEND")"
fi
is "$(q "SELECT pg_cancel_backend($CALL1_BACKEND)")" t "the running CALL is cancelled"
wait_until 30 not kill -0 "$CALL1" 2>/dev/null
wait "$CALL1"
CALL1_STATUS=$?
CALL1_DONE=1
diag "the interrupted CALL ran $((SECONDS - T0)) s"
is "$CALL1_STATUS" 1 "psql reports the CALL failed"
is "$(sqlstate_of "$(cat "$ERR1")")" 57014 "the CALL ended with SQLSTATE 57014 (query_canceled)"

SEALED_DAYS=$(q "SELECT count(DISTINCT metric_date) FROM metrics.daily_metrics")
FINISHED=$((SEALED_DAYS / CHUNK))
is "$FINISHED" 1 "one chunk was finished when the cancel came"
ok "the sealed days are whole chunks ($SEALED_DAYS days: a multiple of $CHUNK, more than 0, fewer than 365)" \
    test $((SEALED_DAYS % CHUNK)) -eq 0 -a "$SEALED_DAYS" -gt 0 -a "$SEALED_DAYS" -lt 365
is "$(q "SELECT min(metric_date) || ' ' || max(metric_date) FROM metrics.daily_metrics")" \
    "2025-01-01 $(q "SELECT date '2025-01-01' + $SEALED_DAYS - 1")" "they run from 2025-01-01 without a gap"
is "$(q "SELECT count(*) FROM (SELECT metric_date FROM metrics.daily_metrics GROUP BY 1
                              HAVING count(*) <> $METRICS OR count(DISTINCT metric_category) <> $METRICS) AS d")" \
    0 "each sealed day has every metric exactly once"
expected_log=""
for ((i = 0; i < FINISHED; i++)); do
    expected_log+="$(q "SELECT format('%s..%s:completed:%s', d, d + $CHUNK - 1, $CHUNK * $METRICS) FROM (SELECT date '2025-01-01' + $i * $CHUNK AS d) AS x"),"
done
is "$(q "SELECT string_agg(format('%s..%s:%s:%s', collection_date, range_end, status, metrics_collected), ',' ORDER BY collection_date)
         FROM metrics.metric_collection_log")," \
    "$expected_log" "the log has one completed backfill row per finished chunk, and none for the cancelled one"
is "$(grep -cE "metrics: chunk [0-9]+/$CHUNKS \(.*\) committed: $((CHUNK * METRICS)) values recorded" "$ERR1")" "$FINISHED" \
    "a NOTICE reported each committed chunk"
like "$(cat "$ERR1")" "metrics: chunk 1/$CHUNKS \(2025-01-01 to 2025-01-30\) committed: $((CHUNK * METRICS)) values recorded; $CHUNK of 365 days done, [0-9.]+ days/s" \
    "the first chunk's NOTICE says what was committed and how far the backfill is"
like "$(cat "$ERR1")" "metrics: backfill 2025-01-01\.\.2025-01-30: [0-9]+/$((CHUNK * METRICS)) values processed \([0-9]+%\), 0 failed so far, [0-9]+ values/s" \
    "the backfill function reports its progress in values and values/s"
like "$(cat "$ERR1")" "metrics: backfill 2025-01-01\.\.2025-01-30: $((CHUNK * METRICS))/$((CHUNK * METRICS)) values processed \(100%\)" \
    "and reaches 100% for a finished chunk"
check_days "the values sealed before the cancel equal the independent counts" 2025-01-01 \
    "$(q "SELECT date '2025-01-01' + $SEALED_DAYS - 1")"

# --- the resumed run ------------------------------------------------------------------------
q "UPDATE regress_src.slow_knob SET hold_from = NULL" >/dev/null
ERR2="$SCEN_TMP/call2.err"
T0=$SECONDS
PGOPTIONS="-c client_min_messages=notice" psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" \
    -c "CALL metrics.backfill_daily_metrics_chunked('2025-01-01', '2025-12-31', $CHUNK)" >/dev/null 2>"$ERR2"
is "$?" 0 "called again, the backfill completes"
diag "the resumed CALL ran $((SECONDS - T0)) s"
ok "without an error or a warning" not grep -qE '^(ERROR|WARNING)' "$ERR2"
is "$(q "SELECT count(*), count(DISTINCT metric_date), min(metric_date), max(metric_date) FROM metrics.daily_metrics")" \
    "$((365 * METRICS))|365|2025-01-01|2025-12-31" "all 365 days x $METRICS metrics are sealed"
is "$(q "SELECT count(*) FROM (SELECT metric_date FROM metrics.daily_metrics GROUP BY 1
                              HAVING count(*) <> $METRICS OR count(DISTINCT metric_category) <> $METRICS) AS d")" \
    0 "each day has every metric exactly once"
is "$(grep -cE "metrics: chunk [0-9]+/$CHUNKS \(.*\) committed: 0 values recorded" "$ERR2")" "$FINISHED" \
    "the chunks sealed before record nothing the second time"
is "$(grep -cE "metrics: chunk [0-9]+/$CHUNKS \(.*\) committed: [1-9][0-9]* values recorded" "$ERR2")" "$((CHUNKS - FINISHED))" \
    "the other chunks are recorded now"
like "$(cat "$ERR2")" "metrics: chunk $CHUNKS/$CHUNKS \(2025-12-27 to 2025-12-31\) committed: $((5 * METRICS)) values recorded; 365 of 365 days done" \
    "the last chunk is the 5 days left over"
is "$(grep -cE "metrics: backfill [0-9-]+\.\.[0-9-]+: ([0-9]+)/\1 values processed \(100%\)" "$ERR2")" "$CHUNKS" \
    "every chunk's progress reaches 100%, sealed ones included"
is "$(q "SELECT count(*) FILTER (WHERE status = 'completed') || ' ' || count(*) FILTER (WHERE status = 'skipped') || ' ' || count(*)
         FROM metrics.metric_collection_log WHERE run_type = 'backfill'")" \
    "$CHUNKS $FINISHED $((CHUNKS + FINISHED))" \
    "the log: one completed row per chunk, and a skipped row for each chunk that was already sealed"
is "$(q "SELECT count(*) FROM metrics.metric_collection_log AS l WHERE status = 'skipped'
         AND (metrics_collected, metrics_skipped) <> (0, (range_end - collection_date + 1) * $METRICS)")" 0 \
    "the skipped rows found every value of their chunk already sealed"
is "$(q "SELECT sum(metrics_collected) FROM metrics.metric_collection_log WHERE status = 'completed'")" "$((365 * METRICS))" \
    "the completed rows account for every value once"
check_days "the values of the first chunk equal the independent counts" 2025-01-01 2025-01-30
check_days "the values of the resumed part (a sample of days) equal the independent counts" 2025-03-09 2025-03-11
check_days "the values of the last chunk equal the independent counts" 2025-12-27 2025-12-31
check_days "the values of all 365 days equal the independent counts" 2025-01-01 2025-12-31

done_testing
