#!/usr/bin/env bash
# Direct recording under 32 concurrent sessions (0.7.0: appended, folded later), on a cluster of
# its own with the library preloaded, so that the buffer's writer folds every second while the
# sessions append (metrics.flush_interval = 1 s).
#
# pgbench runs 32 clients for a few seconds; each transaction records one request (10 routes x
# 3 methods, 3 projects and none) and one operation, and logs both into scen.sent in the same
# transaction, so the log holds exactly the committed events. Then:
# 1. the writer folded during the run (hour rows exist), and rows were still unfolded at the end;
# 2. get_route_metrics and get_operation_metrics, per key, per project and combined, per hour
#    and per day, equal the log: counts, successful and failed, min and max exactly, sums to the
#    microsecond, and p50/p95/p99 within 1% of percentile_disc over the logged durations;
# 3. after metrics.fold_metrics() nothing is unfolded, the hour rows hold one row per (key, hour,
#    project), and every answer of the get functions is identical, row for row, to before the
#    fold: the appended design reads exactly as the upserted one (the fold adds with the
#    upsert every earlier version recorded with).
# 4. no session waited for another's row lock (sampled pg_stat_activity; relation extension
#    waits, which every INSERT has, are not row locks).
source "$(dirname "$0")/../lib.bash"
source "$REPO_ROOT/scripts/lib/cluster.sh"

DB=metrics_direct
CLIENTS=32
SECONDS_RUN=${DIRECT_SECONDS:-6}
plan 13

# The checks compare hours: stay clear of the next UTC hour (the run takes well under a minute).
to_next_hour=$((3600 - $(date -u +%s) % 3600))
if [ "$to_next_hour" -le 90 ]; then
    diag "the next UTC hour is ${to_next_hour} s away: waiting for it"
    sleep "$((to_next_hour + 2))"
fi

cluster_start "direct-$$" \
    "shared_preload_libraries = 'metrics'" \
    "metrics.buffer_database = '$DB'" \
    "metrics.flush_interval = 1" \
    "max_connections = 60" >/dev/null \
    || bail_out "cannot start a cluster with metrics preloaded"
at_exit "cluster_stop_dir '$CLUSTER_DIR'; rm -rf '$CLUSTER_DIR'"
createdb "$DB" || bail_out "cannot create $DB"
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
q "SELECT metrics.create_project('pa', 'A'), metrics.create_project('pb', 'B'), metrics.create_project('pc', 'C')" >/dev/null \
    || bail_out "cannot create the projects"
q "CREATE SCHEMA scen" \
  "CREATE TABLE scen.sent (kind text, name text, method text, project text, success boolean, duration float8)" >/dev/null \
    || bail_out "cannot create the log"

writer_running() {
    sql_true "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'metrics buffer writer' AND datname = '$DB'"
}
wait_until 30 writer_running || bail_out "the buffer writer did not connect to $DB"

cat >"$SCEN_TMP/direct.sql" <<'SQL'
\set r random(1, 10)
\set m random(1, 3)
\set p random(1, 4)
\set ok random(1, 100)
\set d random_exponential(1, 200000, 8.0)
BEGIN;
SELECT metrics.record_route_metric('/c/r' || :r, (ARRAY['GET', 'POST', 'PUT'])[:m], :ok <= 95, :d / 1000.0, (ARRAY['pa', 'pb', 'pc', NULL])[:p]);
SELECT metrics.record_operation_metric('op' || :m, :ok > 3, :d / 500.0);
INSERT INTO scen.sent VALUES
    ('route', '/c/r' || :r, (ARRAY['GET', 'POST', 'PUT'])[:m], (ARRAY['pa', 'pb', 'pc', NULL])[:p], :ok <= 95, :d / 1000.0),
    ('operation', 'op' || :m, NULL, NULL, :ok > 3, :d / 500.0);
END;
SQL

# Row-lock waits of the recording sessions (what upserting hot hour rows made them do: a
# transactionid or tuple lock), sampled every 0.2 s during the run. Extending the table
# (Lock:extend) is every INSERT's, an event log's too, and not counted.
(
    while [ ! -e "$SCEN_TMP/stop" ]; do
        q "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple')) || ' ' || count(*)
           FROM pg_stat_activity WHERE application_name = 'pgbench' AND state = 'active'" 2>/dev/null
        sleep 0.2
    done
) >"$SCEN_TMP/waits" &
sampler=$!
at_exit "touch '$SCEN_TMP/stop'; kill $sampler 2>/dev/null || true"
pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_RUN" -f "$SCEN_TMP/direct.sql" "$DB" >"$SCEN_TMP/pgbench.out" 2>&1
status=$?
touch "$SCEN_TMP/stop"; wait "$sampler" 2>/dev/null || true
is "$status" 0 "pgbench ran $CLIENTS clients for $SECONDS_RUN s" 
tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$SCEN_TMP/pgbench.out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$SCEN_TMP/pgbench.out")
diag "$tx transactions, ${failed:-0} failed"
is "$(q "SELECT count(*) FROM scen.sent WHERE kind = 'route'")" "$tx" "the log holds one request per committed transaction"
lock_samples=$(awk '{ w += $1; n += $2 } END { print w + 0 " " n + 0 }' "$SCEN_TMP/waits")
is "${lock_samples%% *}" 0 "no recording session waited for a row lock (${lock_samples#* } active-session samples)"

# 1. The writer folded while the sessions appended.
ok "the writer folded during the run (hour rows exist)" sql_true "SELECT count(*) > 0 FROM metrics.route_metrics"

# 2. The reports against the log. Everything is in one UTC hour (and day).
q "CREATE TABLE scen.expected AS
   SELECT CASE WHEN GROUPING(project) = 0 THEN 'project' WHEN GROUPING(name) = 0 THEN 'all' ELSE 'kind' END AS scope,
          kind, name, method, project, count(*) AS n, count(*) FILTER (WHERE success) AS ok, count(*) FILTER (WHERE NOT success) AS bad,
          min(duration) AS lo, max(duration) AS hi, round((sum(duration) * 1000)::numeric) / 1000 AS total,
          percentile_disc(0.5) WITHIN GROUP (ORDER BY duration) AS p50,
          percentile_disc(0.95) WITHIN GROUP (ORDER BY duration) AS p95,
          percentile_disc(0.99) WITHIN GROUP (ORDER BY duration) AS p99
   FROM scen.sent GROUP BY GROUPING SETS ((kind, name, method, project), (kind, name, method), (kind))" \
  "CREATE FUNCTION scen.answers() RETURNS TABLE (what text, row_text text) LANGUAGE sql STABLE AS \$\$
       SELECT 'route ' || g || ' ' || coalesce(p, 'all'), r::text
       FROM unnest(ARRAY['hour', 'day']) AS g, unnest(ARRAY['pa', 'pb', 'pc', NULL]) AS p,
            LATERAL metrics.get_route_metrics(NULL, NULL, now() - interval '2 hours', now() + interval '1 hour', g, false, p) AS r
       UNION ALL
       SELECT 'route combined ' || g, r::text
       FROM unnest(ARRAY['hour', 'day', 'week']) AS g,
            LATERAL metrics.get_route_metrics(NULL, NULL, now() - interval '2 hours', now() + interval '1 hour', g, true) AS r
       UNION ALL
       SELECT 'operation ' || g || ' ' || c, r::text
       FROM unnest(ARRAY['hour', 'day']) AS g, unnest(ARRAY[false, true]) AS c,
            LATERAL metrics.get_operation_metrics(NULL, now() - interval '2 hours', now() + interval '1 hour', g, c) AS r
   \$\$" \
  "CREATE TABLE scen.before_fold AS SELECT * FROM scen.answers()" >/dev/null || bail_out "cannot compute the answers"
unfolded_at_end=$(q "SELECT count(*) FROM metrics.route_metrics_unfolded")
ok "rows were still unfolded at the end ($unfolded_at_end): the reports below read both kinds" test "$unfolded_at_end" -gt 0

# The report rows that differ from the log's groups of SCOPE ('project': each project's own,
# 'all': every project and none together, the report's project NULL).
THRESHOLDS="abs(r.p50_ms - e.p50) > 0.01 * e.p50 + 1e-9 OR abs(r.p95_ms - e.p95) > 0.01 * e.p95 + 1e-9
            OR abs(r.p99_ms - e.p99) > 0.01 * e.p99 + 1e-9"
route_mismatches() {
    q "SELECT e.name, e.method, e.project, e.n, r.total_requests, e.lo, r.min_duration_ms, e.hi, r.max_duration_ms, e.p95, r.p95_ms
       FROM scen.expected AS e
       LEFT JOIN LATERAL (SELECT * FROM metrics.get_route_metrics(e.name, e.method, now() - interval '2 hours', now() + interval '1 hour',
                                                                  'day', false, e.project)) AS r ON true
       WHERE e.kind = 'route' AND e.scope = '$1' AND ('$1' = 'all' OR e.project IS NOT NULL)
         AND (r.total_requests IS DISTINCT FROM e.n OR r.successful <> e.ok OR r.failed <> e.bad
              OR r.min_duration_ms <> e.lo OR r.max_duration_ms <> e.hi
              OR round((r.average_duration_ms * r.total_requests * 1000)::numeric) / 1000 <> e.total
              OR $THRESHOLDS)" 2>&1
}
is "$(route_mismatches project)" "" "per route, method and project: counts, extremes and sums exact, percentiles within 1% of percentile_disc"
is "$(route_mismatches all)" "" "per route and method, every project and none together: the same"
out=$(q "SELECT e.name, e.n, r.total_executions FROM scen.expected AS e
         LEFT JOIN LATERAL (SELECT * FROM metrics.get_operation_metrics(e.name, now() - interval '2 hours', now() + interval '1 hour', 'day')) AS r ON true
         WHERE e.kind = 'operation' AND e.scope = 'all'
           AND (r.total_executions IS DISTINCT FROM e.n OR r.failed <> e.bad OR r.min_duration_ms <> e.lo OR r.max_duration_ms <> e.hi
                OR round((r.average_duration_ms * r.total_executions * 1000)::numeric) / 1000 <> e.total OR $THRESHOLDS)" 2>&1)
is "$out" "" "per operation: the same against the log"
is "$(q "SELECT sum(total_requests) || ' ' || sum(failed) FROM metrics.get_route_metrics(NULL, NULL, now() - interval '2 hours', now() + interval '1 hour', 'week', true)")" \
   "$(q "SELECT n || ' ' || bad FROM scen.expected WHERE kind = 'route' AND scope = 'kind'")" "all routes together: every request, every failure"

# 3. Folded: nothing left, one row per key, and the same answers.
q "SELECT * FROM metrics.fold_metrics()" >/dev/null
is "$(q "SELECT (SELECT count(*) FROM metrics.route_metrics_unfolded) + (SELECT count(*) FROM metrics.operation_metrics_unfolded)")" 0 \
   "fold_metrics() leaves nothing unfolded"
is "$(q "SELECT count(*) FROM metrics.route_metrics")" "$(q "SELECT count(DISTINCT (name, method, project)) FROM scen.sent WHERE kind = 'route'")" \
   "one hour row per (route, method, project): the writer's folds and the last one added into the same rows"
is "$(q "SELECT count(*) FROM scen.before_fold")" "$(q "SELECT count(*) FROM scen.answers()")" "as many report rows after the fold"
out=$(q "(SELECT * FROM scen.before_fold EXCEPT ALL SELECT * FROM scen.answers())
         UNION ALL (SELECT * FROM scen.answers() EXCEPT ALL SELECT * FROM scen.before_fold)" 2>&1)
is "$out" "" "every answer of get_route_metrics and get_operation_metrics is identical before and after the fold"

done_testing
