#!/usr/bin/env bash
# Buffered recording of events of projects, on a cluster of its own with the library preloaded
# (metrics.buffer_database = metrics_projects). The buffer keys a bucket by project too: the
# same (route, method, hour) of acme, of beta and of no project are three buckets in shared
# memory and three rows once written, each holding exactly its own events.
#
# 1. With a 1 h interval, buffered batches and single calls of acme (by slug and by id), beta
#    and no project, over the same routes and hours: nothing is in the tables yet; a batch
#    naming a project that does not exist is refused (42704) and buffers nothing.
# 2. The interval reset to 2 s: the writer writes them, one row per (route, method, hour,
#    project), the totals, extremes and sums of each equal to the logged events; the report of
#    each project and of all together (get_route_metrics) reads those events.
# 3. Late events: days 100 days ago, recorded directly for acme and no project and folded by
#    compaction, then buffered events of those days for acme, beta and no project: the writer
#    adds each into its own project's folded row (beta gets its own), and no hour row appears.
# 4. A clean (fast) shutdown with buffered events of projects pending writes them, each into
#    its project's row.
source "$(dirname "$0")/../lib.bash"
source "$REPO_ROOT/scripts/lib/cluster.sh"

BUFFER_DB=metrics_projects
T_START=$SECONDS

buffered() { q "SET metrics.ingest_mode = buffered" "SET metrics.max_event_age = '400d'" "$@"; }

cluster_start "projects-$$" \
    "shared_preload_libraries = 'metrics'" \
    "metrics.buffer_database = '$BUFFER_DB'" \
    "metrics.flush_interval = 3600" >/dev/null \
    || bail_out "cannot start a cluster with metrics preloaded"
at_exit "cluster_stop_dir '$CLUSTER_DIR'; rm -rf '$CLUSTER_DIR'"
SERVER_LOG=$CLUSTER_DIR/server.log
createdb "$BUFFER_DB" || bail_out "cannot create $BUFFER_DB"
DB=$BUFFER_DB
q "CREATE EXTENSION metrics" "SELECT metrics.create_project('acme', 'Acme')" "SELECT metrics.create_project('beta', 'Beta')" >/dev/null \
    || bail_out "CREATE EXTENSION metrics or the projects failed"
writer_running() {
    sql_true "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'metrics buffer writer' AND datname = '$BUFFER_DB'"
}
ok "the buffer writer runs, connected to $BUFFER_DB" wait_until 30 writer_running
pg_ctl_do() { as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$SERVER_LOG" -w -t 60 "$@" >/dev/null; }
ACME=$(q "SELECT id FROM metrics.projects WHERE slug = 'acme'")

# The events sent, with their project's slug, and the differences between them and the rows.
q "CREATE SCHEMA scen" "
CREATE TABLE scen.events (section text, route text, method text, success boolean, duration float8, at timestamptz, slug text)" "
CREATE FUNCTION scen.batch(sec text) RETURNS jsonb LANGUAGE sql AS \$\$
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('route', route, 'method', method, 'success', success, 'duration_ms', duration,
                     'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                     'project', CASE WHEN slug = 'acme' AND duration::int % 2 = 0 THEN '$ACME' ELSE slug END)))
    FROM scen.events WHERE section = sec
\$\$" "
CREATE FUNCTION scen.mismatches(sec text, grain text DEFAULT 'hour') RETURNS SETOF text LANGUAGE sql STABLE AS \$\$
WITH e AS (
    SELECT route, method, date_trunc(grain, at, 'UTC') AS p, p.id AS project, count(*) AS n, count(*) FILTER (WHERE success) AS ok,
           count(*) FILTER (WHERE NOT success) AS bad, sum(duration) AS s, min(duration) AS lo, max(duration) AS hi
    FROM scen.events AS e LEFT JOIN metrics.projects AS p USING (slug)
    WHERE e.route IN (SELECT route FROM scen.events WHERE section = sec) GROUP BY 1, 2, 3, 4
), r AS (
    SELECT route, method, period_start AS p, project_id AS project, total_requests AS n, successful AS ok, failed AS bad,
           total_duration_ms AS s, min_duration_ms AS lo, max_duration_ms AS hi
    FROM metrics.route_metrics WHERE route IN (SELECT route FROM scen.events WHERE section = sec)
)
SELECT concat_ws(' ', 'events', e.route, e.method, e.p, e.project, e.n, e.ok, e.bad, e.s, e.lo, e.hi, 'rows', r.n, r.ok, r.bad, r.s, r.lo, r.hi)
FROM e FULL JOIN r ON (e.route, e.method, e.p) = (r.route, r.method, r.p) AND e.project IS NOT DISTINCT FROM r.project
WHERE (e.n, e.ok, e.bad, e.lo, e.hi) IS DISTINCT FROM (r.n, r.ok, r.bad, r.lo, r.hi) OR abs(e.s - r.s) > 1e-9 * e.s
\$\$" >/dev/null || bail_out "cannot make the scratch schema"
no_mismatch() { local out; out=$(q "SELECT * FROM scen.mismatches('$1'${2:+, '$2'})") && [ -z "$out" ]; }
check_exact() {
    local out
    out=$(q "SELECT * FROM scen.mismatches('$2'${3:+, '$3'})" 2>&1)
    if [ $? -eq 0 ] && [ -z "$out" ]; then pass "$1"; else fail "$1" "$(head -20 <<<"$out")"; fi
}

# --- 1. buffered, not written yet ---------------------------------------------------------------
q "INSERT INTO scen.events
   SELECT 'b', '/b/r' || (i % 4), (ARRAY['GET', 'POST'])[1 + (i / 4) % 2], i % 7 <> 0, (i % 50) + 0.25,
          date_trunc('hour', now()) - (i % 3) * interval '1 hour' + interval '1 second',
          (ARRAY['acme', 'beta', NULL])[1 + i % 3]
   FROM generate_series(1, 600) AS i" >/dev/null
got=$(buffered "SELECT metrics.record_route_metrics(scen.batch('b'))" \
               "SELECT metrics.record_route_metric('/b/r1', 'GET', true, 5.5, 'beta')" \
               "SELECT metrics.record_route_metric('/b/r1', 'GET', false, 6.5, '$ACME')" \
               "SELECT metrics.record_route_metric('/b/r1', 'GET', true, 7.5)" 2>&1)
is "$(head -1 <<<"$got")" 600 "buffered: a batch of 600 events of acme (slug and id), beta and no project"
q "INSERT INTO scen.events VALUES ('b', '/b/r1', 'GET', true, 5.5, now(), 'beta'), ('b', '/b/r1', 'GET', false, 6.5, now(), 'acme'),
                                  ('b', '/b/r1', 'GET', true, 7.5, now(), NULL)" >/dev/null
err=$(buffered "SELECT metrics.record_route_metrics('[{\"route\": \"/b/r0\", \"method\": \"GET\", \"success\": true, \"duration_ms\": 1, \"project\": \"acme\"},
                                                     {\"route\": \"/b/r0\", \"method\": \"GET\", \"success\": true, \"duration_ms\": 1, \"project\": \"nope\"}]')" 2>&1)
like "$err" 'events\[1\]: project "nope" does not exist' "buffered: a batch naming an unknown project is refused"
is "$(q "SELECT count(*) FROM metrics.route_metrics WHERE route LIKE '/b/%'")" 0 "buffered: with a 1 h interval nothing is in the table yet"

# --- 2. written, per project ---------------------------------------------------------------------
q "ALTER SYSTEM RESET metrics.flush_interval" "ALTER SYSTEM SET metrics.flush_interval = 2" "SELECT pg_reload_conf()" >/dev/null
if wait_until 15 no_mismatch b; then
    pass "written: one row per (route, method, hour, project), each with exactly its project's events"
else
    fail "written: one row per (route, method, hour, project), each with exactly its project's events" "$(q "SELECT * FROM scen.mismatches('b')" | head -20)"
fi
is "$(q "SELECT count(DISTINCT project_id) || ' ' || count(*) FILTER (WHERE project_id IS NULL) FROM metrics.route_metrics WHERE route LIKE '/b/%'")" \
   "2 $(q "SELECT count(DISTINCT (route, method, date_trunc('hour', at))) FROM scen.events WHERE section = 'b' AND slug IS NULL")" \
   "written: rows of both projects, and the rows of no project apart"
sleep 2.5
check_exact "written: still exact one interval later (nothing written twice; the refused batch is not there)" b
is "$(q "SELECT string_agg(coalesce(p, 'all') || ':' || total, ' ' ORDER BY p NULLS LAST) FROM (
           SELECT p, sum(total_requests) AS total FROM unnest(ARRAY['acme', 'beta', NULL]) AS p,
                  metrics.get_route_metrics(start_at => now() - interval '4 hours', end_at => now() + interval '1 hour', combined => true, project => p)
           GROUP BY p) AS t")" \
   "$(q "SELECT string_agg(coalesce(s, 'all') || ':' || n, ' ' ORDER BY s NULLS LAST) FROM (
           SELECT slug AS s, count(*) AS n FROM scen.events WHERE section = 'b' AND slug IS NOT NULL GROUP BY slug
           UNION ALL SELECT NULL, count(*) FROM scen.events WHERE section = 'b') AS t")" \
   "written: get_route_metrics of each project and of all together counts their events"

# --- 3. late events into folded days of their own project -----------------------------------------
q "INSERT INTO scen.events
   SELECT 'l', '/l/r', 'GET', i % 5 <> 0, i + 0.5, date_trunc('day', now() - interval '100 days', 'UTC') + i * interval '37 minutes',
          CASE WHEN i % 2 = 0 THEN 'acme' END
   FROM generate_series(1, 60) AS i" >/dev/null
q "SET metrics.max_event_age = '400d'" "SELECT metrics.record_route_metrics(scen.batch('l'))" >/dev/null || bail_out "cannot record the old events"
folded=$(q "SELECT count(*) FROM metrics.compact_metrics() WHERE family = 'route_metrics' AND verified")
ok "late: compaction folds the old days ($folded units)" test "${folded:-0}" -ge 2
q "CREATE TABLE scen.late AS
   SELECT 'l'::text AS section, '/l/r'::text AS route, 'GET'::text AS method, i % 3 <> 0 AS success, i + 0.75 AS duration,
          date_trunc('day', now() - interval '100 days', 'UTC') + i * interval '53 minutes' AS at, (ARRAY['acme', 'beta', NULL])[1 + i % 3] AS slug
   FROM generate_series(1, 30) AS i" "INSERT INTO scen.events SELECT 'm', route, method, success, duration, at, slug FROM scen.late" >/dev/null
is "$(buffered "SELECT metrics.record_route_metrics(scen.batch('m'))")" 30 "late: 30 buffered events into the folded days, of acme, beta and no project"
if wait_until 15 no_mismatch l day; then
    pass "late: the writer adds each into its own project's day row (beta's a new one)"
else
    fail "late: the writer adds each into its own project's day row (beta's a new one)" "$(q "SELECT * FROM scen.mismatches('l', 'day')" | head -20)"
fi
is "$(q "SELECT count(*) FILTER (WHERE resolution = 'hour') || ' ' || count(DISTINCT project_id) FROM metrics.route_metrics WHERE route = '/l/r'")" "0 2" \
   "late: no hour row in the folded days, rows of both projects"

# --- 4. a clean shutdown writes the pending events of projects --------------------------------------
q "ALTER SYSTEM SET metrics.flush_interval = 3600" "SELECT pg_reload_conf()" >/dev/null
sleep 1
q "INSERT INTO scen.events VALUES ('s', '/s/r', 'PUT', true, 3, now(), 'acme'), ('s', '/s/r', 'PUT', false, 4, now(), 'beta'),
                                  ('s', '/s/r', 'PUT', true, 5, now(), NULL), ('s', '/s/r', 'PUT', true, 6, now(), 'beta')" >/dev/null
buffered "SELECT metrics.record_route_metrics(scen.batch('s'))" >/dev/null
sleep 2
is "$(q "SELECT count(*) FROM metrics.route_metrics WHERE route = '/s/r'")" 0 "shutdown: with a 1 h interval the events wait in the buffer"
if pg_ctl_do -m fast stop; then pass "shutdown: pg_ctl -m fast stop"; else fail "shutdown: pg_ctl -m fast stop"; fi
pg_ctl_do start || bail_out "the server does not start again after a fast stop"
check_exact "shutdown: after the restart each project's buffered events are in its row" s
is "$(grep -E "terminated by signal|was terminated|PANIC" "$SERVER_LOG")" "" "no backend or worker crashed"

diag "runtime $((SECONDS - T_START)) s"
done_testing
