#!/usr/bin/env bash
# A filtered metric whose source is locked by another session fails under lock_timeout with
# 55P03, like an unfiltered one: the lock is first waited for while the filter is checked
# again (parsed and analysed) at collection, and that failure is not the definition's fault,
# so it must not be logged as an "invalid filter" with 22023.
source "$(dirname "$0")/../lib.bash"

DAY=2025-06-15

plan 9
fresh_db
load_fixture
q "CREATE EXTENSION metrics" >/dev/null
q "SELECT count(*) FROM metrics.define_metric('published_posts', 'created', source_table => 'posts',
                                              source_schema => 'regress_src', filter => 'status = ''published''')" \
  "SELECT count(*) FROM metrics.define_metric('all_posts', 'created', source_table => 'posts', source_schema => 'regress_src')" \
  >/dev/null || bail_out "cannot define the metrics"

session_start locker
session_run locker lock "BEGIN; LOCK TABLE regress_src.posts IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
ok "another session holds an ACCESS EXCLUSIVE lock on regress_src.posts" session_wait locker lock 30
is "$(session_output locker lock)" locked "the lock is taken"

q_try "SET lock_timeout = '200ms'; SET metrics.retry_delay = '10ms'; SELECT status FROM metrics.collect_daily_metrics('$DAY');"
diag "collect_daily_metrics: status $Q_STATUS, out '$Q_OUT', err '$Q_ERR'"

failure() {
    q "SELECT coalesce(error_details->'failures'->'$1'->>'$2', '(none)') FROM metrics.metric_collection_log
       WHERE run_type = 'collect' AND collection_date = '$DAY' ORDER BY started_at DESC LIMIT 1"
}
is "$(failure all_posts sqlstate)" 55P03 "the unfiltered metric is logged with 55P03"
is "$(failure published_posts sqlstate)" 55P03 "the filtered metric is logged with 55P03, not 22023"
like "$(failure published_posts message)" "lock timeout" "its message is PostgreSQL's lock timeout"
ok "its message does not call the filter invalid" not grep -q "invalid filter" <<<"$(failure published_posts message)"
is "$(q "SELECT count(*) FROM metrics.daily_metrics WHERE metric_date = '$DAY'")" 0 "nothing was sealed for $DAY"

session_run locker release "ROLLBACK;"
ok "the lock is released" session_wait locker release 30
is "$(q "SELECT metrics_collected || ':' || status FROM metrics.collect_daily_metrics('$DAY')")" "2:completed" \
    "once the lock is gone, both metrics are collected"

done_testing
