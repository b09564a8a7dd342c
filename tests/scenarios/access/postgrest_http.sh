#!/usr/bin/env bash
# The extension over real HTTP: PostgREST 12.0.2 in front of the test cluster, then the same
# calls through @supabase/supabase-js, as a Supabase app makes them.
#
# Creates database metrics_http with Supabase's roles (tests/fixtures/supabase.sql), the social
# fixture (schema regress_src) plus a few rows on the last closed days, and the extension;
# starts PostgREST on 127.0.0.1 with scripts/lib/postgrest.sh (connecting as authenticator over
# the cluster's unix socket, db-schemas = metrics, db-anon-role = anon; it waits for the admin
# /ready), and runs the node:test files of tests/http/ in name order, one at a time; they print
# the TAP stream prove reads.
# PostgREST is stopped by PID and the database dropped at exit, whatever happened.
#
# Needs what scripts/setup installs: target/tools/postgrest-12.0.2/postgrest and
# tests/http/node_modules. Expects what scripts/test exports (PGHOST, PGPORT, PGUSER).
# POSTGREST_LOG_LEVEL=info logs every request; POSTGREST_SHOW_LOG=1 prints the log at the end.
source "$(dirname "$0")/../lib.bash"

HTTP_DIR="$REPO_ROOT/tests/http"
POSTGREST="$REPO_ROOT/target/tools/postgrest-12.0.2/postgrest"
DB=metrics_http

[ -x "$POSTGREST" ] || bail_out "$POSTGREST is missing: run scripts/setup"
[ -d "$HTTP_DIR/node_modules/@supabase/supabase-js" ] || bail_out "tests/http/node_modules is missing: run scripts/setup"

# --- the database -------------------------------------------------------------------------
dropdb --if-exists --force "$DB" || bail_out "cannot drop an old $DB"
createdb "$DB" || bail_out "cannot create $DB"
at_exit "dropdb --if-exists --force $DB"
source "$REPO_ROOT/scripts/lib/postgrest.sh"
postgrest_roles "$DB" || bail_out "cannot load tests/fixtures/supabase.sql"
load_fixture
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
# The extension's own grants to Supabase's roles (made by CREATE EXTENSION) are under test;
# the source tables are granted here, as Supabase grants its public tables: whoever defines a
# metric must be able to read the source.
q "GRANT USAGE ON SCHEMA regress_src TO service_role" \
  "GRANT SELECT ON ALL TABLES IN SCHEMA regress_src TO service_role" >/dev/null || bail_out "cannot grant regress_src"
# The fixture ends with 2025; add posts, comments and tracks on the seven last closed days, so
# current_metrics and activity_series have something of their own to show. They are added
# before anything is sealed, and the tests compute their expectations from the tables.
q "INSERT INTO regress_src.posts
   SELECT 200000 + 10 * k + i, 1 + (k * 37 + i * 11) % 300, 'published', 50 + i,
          (metrics.last_closed_day() - k)::timestamp AT TIME ZONE 'UTC' + (i * interval '3 hours 7 minutes')
   FROM generate_series(0, 6) AS k, generate_series(0, k) AS i" "
   INSERT INTO regress_src.comments
   SELECT 200000 + 10 * k + i, 200000 + 10 * k, 1 + (k * 13 + i) % 300,
          (metrics.last_closed_day() - k)::timestamp AT TIME ZONE 'UTC' + interval '23 hours 59 minutes' - i * interval '1 hour'
   FROM generate_series(0, 6) AS k, generate_series(0, 2 * k % 5) AS i" "
   INSERT INTO regress_src.tracks
   SELECT 200000 + k, 1 + k, (ARRAY['jazz', 'rock', NULL])[1 + k % 3],
          (metrics.last_closed_day() - k)::timestamp AT TIME ZONE 'UTC' + interval '12 hours'
   FROM generate_series(0, 6, 2) AS k" >/dev/null || bail_out "cannot add the recent rows"

# --- PostgREST -------------------------------------------------------------------------------
JWT_SECRET="metrics-http-tests-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
at_exit postgrest_stop
postgrest_start "$DB" "$JWT_SECRET" "$SCEN_TMP" 2>"$SCEN_TMP/postgrest_start.err" || {
    diag "$(cat "$SCEN_TMP/postgrest_start.err")"
    bail_out "PostgREST did not become ready"
}

# --- the tests --------------------------------------------------------------------------------
# One file at a time, in name order: they share the database, and the last one drops and
# re-creates the extension. The flat reporter prints one TAP line per test.
export PGRST_URL="$POSTGREST_URL" PGRST_JWT_SECRET="$JWT_SECRET" METRICS_HTTP_DB="$DB"
mapfile -t test_files < <(cd "$HTTP_DIR" && ls ./*.test.mjs | sort)
# In the background and waited for, so an interrupt reaches the cleanups at once.
(cd "$HTTP_DIR" && exec node --test --test-concurrency=1 --test-timeout=120000 \
    --test-reporter=./tap-flat.mjs "${test_files[@]}") &
NODE_PID=$!
at_exit "kill $NODE_PID"
wait "$NODE_PID"
status=$?
if [ -n "${POSTGREST_SHOW_LOG:-}" ]; then
    diag "PostgREST's log:
$(cat "$SCEN_TMP/postgrest.log")"
elif [ "$status" -ne 0 ] && [ -s "$SCEN_TMP/postgrest.log" ]; then
    diag "PostgREST's log (the end; POSTGREST_SHOW_LOG=1 shows all of it):
$(tail -20 "$SCEN_TMP/postgrest.log")"
fi
exit "$status"
