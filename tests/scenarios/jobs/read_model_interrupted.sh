#!/usr/bin/env bash
# The read-model step of metrics.run_maintenance() interrupted in the middle, with kill -9 and
# with a cancel: the projects refreshed before are kept (each one committed), the project in
# progress is left untouched (no point, no summary, no state: its watermarks did not move),
# and the next run refreshes it to exactly what refresh_read_model(full => true) computes.
source "$(dirname "$0")/../lib.bash"
export PGOPTIONS="$PGOPTIONS -c synchronous_commit=on"

fresh_db
q "CREATE EXTENSION metrics" "CREATE SCHEMA scen" >/dev/null || bail_out "cannot install the extension"
# Two projects with per-project values sealed by a real backfill of the last 10 closed days.
q "CREATE TABLE scen.ev (id serial PRIMARY KEY, created_at timestamptz NOT NULL, org text)" \
  "SELECT count(*) FROM (SELECT metrics.create_project('a', 'A'), metrics.create_project('b', 'B')) AS p" \
  "INSERT INTO scen.ev (created_at, org)
   SELECT (metrics.last_closed_day() - d)::timestamp AT TIME ZONE 'UTC' + k * interval '1 hour', o
   FROM generate_series(0, 9) AS d, generate_series(0, 9) AS k, (VALUES ('a'), ('b')) AS v (o) WHERE k <= d" \
  "SELECT count(*) FROM metrics.define_metric('ev', 'created', source_table => 'ev', source_schema => 'scen', project_column => 'org')" \
  "SELECT count(*) FROM metrics.backfill_daily_metrics(metrics.last_closed_day() - 9)" >/dev/null \
    || bail_out "cannot set up the projects"

model() {
    q "SELECT format('%s %s %s %s %s %s', p.slug, t.metric_key, t.time_grain, t.time_bucket, t.dimensions, t.value_json)
       FROM metrics.metrics_trend_point AS t JOIN metrics.projects AS p ON p.id = t.project_id ORDER BY 1"
}
of_project() {
    q "SELECT (SELECT count(*) FROM metrics.metrics_trend_point WHERE project_id = p.id) || ' '
              || (SELECT count(*) FROM metrics.metrics_summary WHERE project_id = p.id) || ' '
              || (SELECT count(*) FROM metrics.read_model_state WHERE project_id = p.id)
       FROM metrics.projects AS p WHERE slug = '$1'"
}
last_run() { q "SELECT id FROM metrics.maintenance_log WHERE step = 'run' ORDER BY started_at DESC LIMIT 1"; }

# interrupt HOW: a run whose refresh of project b waits (its first write checks b's row, which
# the locker holds FOR UPDATE) is killed with HOW (kill -9, or pg_cancel_backend).
interrupt() {
    local locker="locker_$1" run="run_$1"
    session_start "$locker"
    session_run "$locker" lock "BEGIN; SELECT 1 FROM metrics.projects WHERE slug = 'b' FOR UPDATE;"
    session_wait "$locker" lock 30 || bail_out "the locker did not lock project b"
    session_start "$run"
    session_run "$run" run "CALL metrics.run_maintenance();"
    wait_until 60 backend_waits_on_lock "$(session_backend "$run")" || fail "the run waits in project b's refresh" "$(session_output "$run" run)"
    if [ "$1" = kill ]; then
        kill -9 "$(session_backend "$run")"
        diag "killed the run's backend $(session_backend "$run") with SIGKILL; the server restarts"
        session_wait "$run" run 30
        wait_until 60 sql_true "SELECT true" || bail_out "the server did not come back"
    else
        q "SELECT pg_cancel_backend($(session_backend "$run"))" >/dev/null
        session_wait "$run" run 30 || fail "the cancelled run returns"
        like "$(session_output "$run" run)" "57014" "the run is cancelled (57014)"
    fi
    session_end "$run"
    session_end "$locker"
}

for how in kill cancel; do
    if [ "$how" = cancel ]; then
        # A new day for both projects since the first pass: b's refresh has work again.
        q "INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value, project_id)
           SELECT metrics.last_closed_day() - 10, 'count', 'ev', 7, id FROM metrics.projects" >/dev/null
        q "DELETE FROM metrics.read_model_state WHERE project_id = (SELECT id FROM metrics.projects WHERE slug = 'b')" \
          "DELETE FROM metrics.metrics_trend_point WHERE project_id = (SELECT id FROM metrics.projects WHERE slug = 'b')" \
          "DELETE FROM metrics.metrics_summary WHERE project_id = (SELECT id FROM metrics.projects WHERE slug = 'b')" >/dev/null
    fi
    A_BEFORE=$(of_project a)
    interrupt "$how"
    A_AFTER=$(of_project a)
    like "$A_AFTER" '^[1-9][0-9]* [1-9][0-9]* 3$' "$how: project a, refreshed before, is kept (points, summary, state)"
    [ "$A_AFTER" != "$A_BEFORE" ] && pass "$how: and its refresh in the interrupted run was committed" \
        || fail "$how: and its refresh in the interrupted run was committed" "$A_BEFORE -> $A_AFTER"
    is "$(of_project b)" "0 0 0" "$how: project b, in progress, is untouched: no point, no summary, no state"
    q_try "CALL metrics.run_maintenance()"
    is "$(q "SELECT status FROM metrics.maintenance_log WHERE run_id = '$(last_run)' AND step = 'read_model'")" completed \
        "$how: the next run's read-model step completes"
    like "$(of_project b)" '^[1-9][0-9]* 1 3$' "$how: and refreshes project b"
    INCREMENTAL=$(model)
    q "SELECT count(*) FROM metrics.refresh_read_model(full => true)" >/dev/null
    FULL=$(model)
    if [ "$FULL" = "$INCREMENTAL" ]; then pass "$how: to exactly what a full recompute gives"
    else fail "$how: to exactly what a full recompute gives" "$(diff <(echo "$INCREMENTAL") <(echo "$FULL") | head -20)"; fi
done

done_testing
