#!/usr/bin/env bash
# Concurrent runs seal every value exactly once.
#
# 1. Two sessions collect the same day. A collects inside an open transaction; B's identical
#    call must wait on A's uncommitted rows (a heavyweight lock wait, seen in pg_stat_activity)
#    and, once A commits, record nothing and report 'skipped'. The sealed values equal counts
#    computed independently from the source tables. Had A rolled back instead, B records
#    the day itself.
# 2. Two overlapping backfills (January-June and April-December), released at the same
#    instant by a third session holding a lock on a source table, both finish; every day of
#    2025 then has every metric exactly once, with the values the source says.
source "$(dirname "$0")/../lib.bash"

DAY=2025-06-15

fresh_db
load_fixture
q "CREATE EXTENSION metrics" >/dev/null
q "SELECT count(*) FROM metrics.install_preset('social', source_schema => 'regress_src')" >/dev/null \
    || bail_out "install_preset failed"
install_expected_social >/dev/null || bail_out "cannot create the expectation functions"
METRICS=$(q "SELECT count(*) FROM metrics.metric_definitions WHERE is_active")
is "$METRICS" 9 "the social preset defines 9 metrics over regress_src"

# --- 1. the same day from two sessions ---------------------------------------------------
session_start a
session_start b
PID_A=$(session_backend a)
PID_B=$(session_backend b)

session_run a collect "BEGIN; SELECT * FROM metrics.collect_daily_metrics('$DAY');"
ok "session A collects $DAY inside an open transaction" session_wait a collect 60
A_OUT=$(session_output a collect)
IFS='|' read -r A_VALUES A_MS A_STATUS <<<"$(tail -1 <<<"$A_OUT")"
is "$A_STATUS" completed "A reports status completed"
is "$A_VALUES" "$METRICS" "A reports one value per metric ($METRICS)"
is "$(q "SELECT count(*) FROM metrics.daily_metrics WHERE metric_date = '$DAY'")" 0 \
    "A's values are not visible to others before it commits"

session_run b collect "SELECT * FROM metrics.collect_daily_metrics('$DAY');"
if wait_until 30 backend_waits_on_lock "$PID_B"; then
    pass "session B's collection of the same day waits on a lock"
else
    fail "session B's collection of the same day waits on a lock" \
        "$(q "SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity WHERE pid = $PID_B")"
fi
is "$(q "SELECT pg_blocking_pids($PID_B) = ARRAY[$PID_A]")" t "B is blocked by A and nothing else"
ok "B has not returned while A's transaction is open" not session_done b collect

session_run a commit "COMMIT;"
ok "A commits" session_wait a commit 30
ok "B returns once A has committed" session_wait b collect 60
B_OUT=$(session_output b collect)
IFS='|' read -r B_VALUES B_MS B_STATUS <<<"$(tail -1 <<<"$B_OUT")"
is "$B_VALUES" 0 "B reports 0 values recorded"
is "$B_STATUS" skipped "B reports status skipped"
ok "neither session saw an error" not grep -q ERROR <<<"$A_OUT$B_OUT"

is "$(q "SELECT count(*), count(DISTINCT (metric_type, metric_category)) FROM metrics.daily_metrics WHERE metric_date = '$DAY'")" \
    "$METRICS|$METRICS" "$DAY has every metric exactly once"
is "$(q "SELECT count(*) FROM metrics.daily_metrics WHERE metric_date <> '$DAY'")" 0 "no other day was recorded"
is "$(q "SELECT value FROM metrics.daily_metrics WHERE metric_date = '$DAY' AND metric_category = 'posts_created'")" \
    "$(q "SELECT count(*) FROM regress_src.posts WHERE created_at >= '$DAY 00:00+00' AND created_at < '2025-06-16 00:00+00'")" \
    "posts_created equals the posts created in [$DAY 00:00+00, 2025-06-16 00:00+00)"
is "$(q "SELECT value FROM metrics.daily_metrics WHERE metric_date = '$DAY' AND metric_category = 'users_total'")" \
    "$(q "SELECT count(*) FROM regress_src.profiles WHERE created_at < '2025-06-16 00:00+00'")" \
    "users_total equals the profiles created before 2025-06-16 00:00+00"
check_social_days "every sealed value of $DAY equals the independent count" "ARRAY[date '$DAY']"
is "$(q "SELECT string_agg(format('%s:%s:%s:%s', status, metrics_collected, metrics_skipped, metrics_failed), ',' ORDER BY status)
         FROM metrics.metric_collection_log WHERE run_type = 'collect' AND collection_date = '$DAY'")" \
    "completed:$METRICS:0:0,skipped:0:$METRICS:0" \
    "the log has A's run (completed, $METRICS recorded) and B's (skipped, $METRICS already sealed)"

# When the first session rolls back, the waiting one records the day.
DAY2=2025-06-16
session_run a collect2 "BEGIN; SELECT * FROM metrics.collect_daily_metrics('$DAY2');"
session_wait a collect2 60
is "$(tail -1 <<<"$(session_output a collect2)" | cut -d'|' -f1,3)" "$METRICS|completed" "A collects $DAY2 in an open transaction"
session_run b collect2 "SELECT * FROM metrics.collect_daily_metrics('$DAY2');"
ok "B's collection of $DAY2 waits on A" wait_until 30 backend_waits_on_lock "$PID_B"
session_run a rollback "ROLLBACK;"
session_wait a rollback 30
ok "B returns once A has rolled back" session_wait b collect2 60
is "$(tail -1 <<<"$(session_output b collect2)" | cut -d'|' -f1,3)" "$METRICS|completed" \
    "B records all $METRICS values itself and reports completed"
check_social_days "every sealed value of $DAY2 equals the independent count" "ARRAY[date '$DAY2']"
is "$(q "SELECT string_agg(format('%s:%s:%s:%s', status, metrics_collected, metrics_skipped, metrics_failed), ',')
         FROM metrics.metric_collection_log WHERE collection_date = '$DAY2'")" \
    "completed:$METRICS:0:0" "the log has only B's run; A's went with its rollback"
session_end a
session_end b

# --- 2. overlapping backfills -------------------------------------------------------------
# The first step of each backfill reads regress_src.profiles; a lock on it holds both at the
# start line until both are there, then one COMMIT releases them together.
session_start hold
session_start c1
session_start c2
PID_HOLD=$(session_backend hold)
PID_C1=$(session_backend c1)
PID_C2=$(session_backend c2)
session_run hold lock "BEGIN; LOCK TABLE regress_src.profiles IN ACCESS EXCLUSIVE MODE;"
session_wait hold lock 30 || bail_out "cannot lock regress_src.profiles"

session_run c1 backfill "SELECT * FROM metrics.backfill_daily_metrics('2025-01-01', '2025-06-30');"
session_run c2 backfill "SELECT * FROM metrics.backfill_daily_metrics('2025-04-01', '2025-12-31');"
both_at_start_line() {
    sql_true "SELECT count(*) = 2 FROM pg_stat_activity
              WHERE pid IN ($PID_C1, $PID_C2) AND wait_event_type = 'Lock' AND pg_blocking_pids(pid) = ARRAY[$PID_HOLD]"
}
ok "both backfills start and wait for the source table" wait_until 30 both_at_start_line
session_run hold release "COMMIT;"
session_wait hold release 30
T0=$SECONDS
ok "the January-June backfill finishes" session_wait c1 backfill 120
ok "the April-December backfill finishes" session_wait c2 backfill 120
diag "both backfills done $((SECONDS - T0)) s after the release"
C1_OUT=$(session_output c1 backfill)
C2_OUT=$(session_output c2 backfill)
ok "neither backfill raised an error" not grep -q ERROR <<<"$C1_OUT$C2_OUT"
IFS='|' read -r C1_DAYS C1_VALUES C1_MS <<<"$(tail -1 <<<"$C1_OUT")"
IFS='|' read -r C2_DAYS C2_VALUES C2_MS <<<"$(tail -1 <<<"$C2_OUT")"
is "$C1_DAYS" 181 "the first backfill processed 181 days"
is "$C2_DAYS" 275 "the second backfill processed 275 days"
diag "values recorded: January-June $C1_VALUES, April-December $C2_VALUES"
is "$((C1_VALUES + C2_VALUES))" "$((363 * METRICS))" \
    "together they recorded every value of 2025 once, except those of $DAY and $DAY2, sealed before"
is "$(q "SELECT string_agg(format('%s..%s:%s:%s', collection_date, range_end, status, metrics_failed), ',' ORDER BY collection_date)
         FROM metrics.metric_collection_log WHERE run_type = 'backfill'")" \
    "2025-01-01..2025-06-30:completed:0,2025-04-01..2025-12-31:completed:0" \
    "both backfills are logged completed, with no failed metric"
is "$(q "SELECT sum(metrics_collected + metrics_skipped) FROM metrics.metric_collection_log WHERE run_type = 'backfill'")" \
    "$(((181 + 275) * METRICS))" "between them the logs account for every value of both ranges"
is "$(q "SELECT sum(metrics_collected) FROM metrics.metric_collection_log WHERE run_type = 'backfill'")" \
    "$((C1_VALUES + C2_VALUES))" "the logged counts match what the calls returned"

is "$(q "SELECT count(*), count(DISTINCT metric_date), min(metric_date), max(metric_date) FROM metrics.daily_metrics")" \
    "$((365 * METRICS))|365|2025-01-01|2025-12-31" "every day of 2025 is recorded, and only those"
is "$(q "SELECT count(*) FROM (SELECT metric_date FROM metrics.daily_metrics GROUP BY 1
                              HAVING count(*) <> $METRICS OR count(DISTINCT metric_category) <> $METRICS) AS d")" \
    0 "every day has every metric exactly once"
check_social_days "the values of a sample of days (both ranges, the overlap, month and midnight edges) equal the independent counts" \
    "ARRAY['2025-01-01', '2025-02-28', '2025-03-09', '2025-03-10', '2025-03-11', '2025-03-31', '2025-04-01',
           '2025-05-15', '2025-06-15', '2025-06-30', '2025-07-01', '2025-09-30', '2025-12-31']::date[]"
check_social_days "the values of all 365 days equal the independent counts" \
    "ARRAY(SELECT d::date FROM generate_series(timestamp '2025-01-01', '2025-12-31', interval '1 day') AS d)"

done_testing
