#!/usr/bin/env bash
# The buffer writer check of metrics.health(), on a cluster of its own with the library
# preloaded (metrics.flush_interval = 1 s, so the limit is 3 s).
#
# With the writer keeping up, the check is ok and nothing waits. A session holds the row of
# an hour that a buffered event must be added into, so the writer's write waits for it: after
# the limit the check is critical (events wait, the last write is older than 3 intervals) and
# check_alerts() announces it. When the session commits the writer writes, the check is ok
# again, the event is in the table once, and check_alerts() announces the recovery.
source "$(dirname "$0")/../lib.bash"
source "$REPO_ROOT/scripts/lib/cluster.sh"

plan 9

BUFFER_DB=metrics_health_buffer
cluster_start "healthbuf-$$" \
    "shared_preload_libraries = 'metrics'" \
    "metrics.buffer_database = '$BUFFER_DB'" \
    "metrics.flush_interval = 1" >/dev/null \
    || bail_out "cannot start a cluster with metrics preloaded"
at_exit "cluster_stop_dir '$CLUSTER_DIR'; rm -rf '$CLUSTER_DIR'"
createdb "$BUFFER_DB" || bail_out "cannot create $BUFFER_DB"
DB=$BUFFER_DB
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"

writer_running() {
    sql_true "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'metrics buffer writer' AND datname = '$BUFFER_DB'"
}
wait_until 30 writer_running || bail_out "the buffer writer did not start"

check() { q "SELECT concat_ws('|', severity, value, threshold) FROM metrics.health() WHERE check_name = 'buffer_writer_lag'"; }
detail() { q "SELECT detail FROM metrics.health() WHERE check_name = 'buffer_writer_lag'"; }
severity_is() { [ "$(q "SELECT severity FROM metrics.health() WHERE check_name = 'buffer_writer_lag'")" = "$1" ]; }

q "SET metrics.ingest_mode = buffered" "SELECT metrics.record_route_metric('/health/lag', 'GET', true, 5)" >/dev/null
ok "buffered events are written and the check is ok" wait_until 10 sql_true \
    "SELECT EXISTS (SELECT FROM metrics.route_metrics WHERE route = '/health/lag') AND
            (SELECT severity = 'ok' AND value = 0 FROM metrics.health() WHERE check_name = 'buffer_writer_lag')"
like "$(detail)" '^0 buffered events wait; the writer last caught up [0-9.]+ s ago \(limit 3 s: 3 x metrics.flush_interval\)$' \
     "the detail says nothing waits and when the writer caught up"

# A session holds the hour's row; the next buffered event must be added into it.
session_start holder
session_run holder hold "BEGIN; UPDATE metrics.route_metrics SET updated_at = updated_at WHERE route = '/health/lag';"
session_wait holder hold 30 || bail_out "the holder did not take the row"
q "SET metrics.ingest_mode = buffered" "SELECT metrics.record_route_metric('/health/lag', 'GET', false, 7)" >/dev/null
ok "with the writer blocked, the check turns critical within 15 s" wait_until 15 severity_is critical
like "$(detail)" '^1 buffered events wait; the writer last caught up [0-9.]+ s ago \(limit 3 s' "one event waits"
like "$(check)" '^critical\|[0-9.]+\|3$' "the value is the lag in seconds, the threshold 3 s"
is "$(q "SELECT string_agg(check_name || ':' || severity, ',') FROM metrics.check_alerts()")" "buffer_writer_lag:critical" \
   "check_alerts() announces it"

session_run holder commit "COMMIT;"
session_wait holder commit 30
ok "the holder gone, the writer writes and the check is ok again" wait_until 15 severity_is ok
is "$(q "SELECT total_requests || '|' || failed FROM metrics.route_metrics WHERE route = '/health/lag'")" "2|1" \
   "the event is in the table, once"
is "$(q "SELECT string_agg(previous_severity || '>' || severity, ',') FROM metrics.check_alerts()")" "critical>ok" \
   "and check_alerts() announces the recovery"

done_testing
