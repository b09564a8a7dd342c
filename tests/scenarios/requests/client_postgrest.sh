#!/usr/bin/env bash
# @metrics/client (clients/typescript) against the real extension through PostgREST 12.0.2:
# the node:test files of tests/client/, one at a time, in name order:
#   01 four worker processes, exact totals, percentiles equal to the server's for plain events;
#   02 PostgREST stopped and started again on the same port while workers record;
#   03 responses lost after the commit (a proxy), and a retry while the first call still runs;
#   04 the memory bound reached while the server is unreachable;
#   05 memory mode, in a process that cannot send anything.
#
# Creates database metrics_client with Supabase's roles (tests/fixtures/supabase.sql), the
# extension and the projects shop and blog; starts PostgREST with scripts/lib/postgrest.sh. A
# test may stop it and start it again with the same configuration (tests/client/lib.mjs): every
# PID is appended to $SCEN_TMP/postgrest.pids, and each one still running the PostgREST binary
# is stopped at exit, as are the node processes; the database is dropped, whatever happened.
#
# Needs what scripts/setup installs: target/tools/postgrest-12.0.2/postgrest and
# tests/client/node_modules. Expects what scripts/test exports (PGHOST, PGPORT, PGUSER).
# POSTGREST_LOG_LEVEL=info logs every request; POSTGREST_SHOW_LOG=1 prints the log at the end.
source "$(dirname "$0")/../lib.bash"

CLIENT_DIR="$REPO_ROOT/tests/client"
POSTGREST="$REPO_ROOT/target/tools/postgrest-12.0.2/postgrest"
DB=metrics_client

[ -x "$POSTGREST" ] || bail_out "$POSTGREST is missing: run scripts/setup"
[ -d "$CLIENT_DIR/node_modules/@supabase/supabase-js" ] && [ -e "$CLIENT_DIR/node_modules/@metrics/client/package.json" ] \
    || bail_out "tests/client/node_modules is missing: run scripts/setup (or: cd tests/client && npm ci)"

# --- the database -------------------------------------------------------------------------
dropdb --if-exists --force "$DB" || bail_out "cannot drop an old $DB"
createdb "$DB" || bail_out "cannot create $DB"
at_exit "dropdb --if-exists --force $DB"
source "$REPO_ROOT/scripts/lib/postgrest.sh"
postgrest_roles "$DB" || bail_out "cannot load tests/fixtures/supabase.sql"
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
q "SELECT slug FROM metrics.create_project('shop', 'The shop')" \
  "SELECT slug FROM metrics.create_project('blog', 'The blog')" >/dev/null || bail_out "cannot create the projects"

# --- PostgREST -------------------------------------------------------------------------------
JWT_SECRET="metrics-client-tests-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PIDFILE="$SCEN_TMP/postgrest.pids"
# Every PostgREST a test started again, if it still runs that binary (not a reused PID).
stop_restarted() {
    local pid
    [ -f "$PIDFILE" ] || return 0
    while read -r pid; do
        [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$POSTGREST")" ] \
            && kill -TERM "$pid" 2>/dev/null
    done <"$PIDFILE"
    return 0
}
at_exit stop_restarted
at_exit postgrest_stop
postgrest_start "$DB" "$JWT_SECRET" "$SCEN_TMP" 2>"$SCEN_TMP/postgrest_start.err" || {
    diag "$(cat "$SCEN_TMP/postgrest_start.err")"
    bail_out "PostgREST did not become ready"
}
echo "$POSTGREST_PID" >"$PIDFILE"

# --- the tests --------------------------------------------------------------------------------
export PGRST_URL="$POSTGREST_URL" PGRST_JWT_SECRET="$JWT_SECRET" METRICS_CLIENT_DB="$DB" \
    POSTGREST_BIN="$POSTGREST" POSTGREST_CONF="$SCEN_TMP/postgrest.conf" POSTGREST_LOG="$SCEN_TMP/postgrest.log" \
    POSTGREST_PIDFILE="$PIDFILE" POSTGREST_ADMIN_URL
mapfile -t test_files < <(cd "$CLIENT_DIR" && ls ./*.test.mjs | sort)
# In the background and waited for, so an interrupt reaches the cleanups at once. The flat
# reporter (tests/http's) prints one TAP line per test.
(cd "$CLIENT_DIR" && exec node --test --test-concurrency=1 --test-timeout=90000 \
    --test-reporter=../http/tap-flat.mjs "${test_files[@]}") &
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
