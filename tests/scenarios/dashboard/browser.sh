#!/usr/bin/env bash
# The dashboard (dashboard/) in a real browser: Debian's headless Chromium, driven by
# puppeteer-core, loads the page served by dashboard/serve.mjs against PostgREST 12.0.2 in front
# of the test cluster, and tests/browser/*.test.mjs check what it shows against the database.
#
# Creates database metrics_dashboard with Supabase's roles and the extension, loads
# tests/browser/fixture.sql (two projects, per-project metrics with one sealed day missing in
# the middle of the last 30, today's rows, requests of both projects), records a week of GitHub
# events of acme/service-1 (bench/github/generate.mjs: enough pull requests and deployments
# for several drill-down pages; one pull request of the summary's week labelled hotfix afterwards,
# so that the rework rate is not 0) and refreshes the read model. Starts PostgREST
# (scripts/lib/postgrest.sh) and the page's server on free ports, runs tests/dashboard/format.test.mjs
# and the browser tests one file at a time, and stops both servers by PID at exit.
# Screenshots go to target/dashboard/ (desktop.png, phone.png).
#
# Needs what scripts/setup installs: chromium, PostgREST, tests/browser/node_modules.
# Expects what scripts/test exports (PGHOST, PGPORT, PGUSER). DASHBOARD_SHOW_LOG=1 prints the
# servers' logs at the end.
source "$(dirname "$0")/../lib.bash"
source "$REPO_ROOT/scripts/lib/postgrest.sh"

BROWSER_DIR="$REPO_ROOT/tests/browser"
DB=metrics_dashboard
SHOTS="$REPO_ROOT/target/dashboard"

[ -x /usr/bin/chromium ] || bail_out "/usr/bin/chromium is missing: run scripts/setup"
[ -d "$BROWSER_DIR/node_modules/puppeteer-core" ] || bail_out "tests/browser/node_modules is missing: run scripts/setup"
[ -f "$REPO_ROOT/dashboard/serve.mjs" ] || bail_out "dashboard/serve.mjs is missing"

# --- the clock ------------------------------------------------------------------------------
# The checks depend on the wall clock: the last closed day, the open day and the open hour (the
# routes' 30 days end at the refresh's hour). A run that crossed a UTC hour (and so midnight)
# between the refresh and the checks would compare other windows than the page's: when the
# next UTC hour is near, wait for it before building the data. DASHBOARD_HOUR_MARGIN: seconds.
HOUR_MARGIN=${DASHBOARD_HOUR_MARGIN:-240}   # the scenario takes under a minute here; four times that
to_next_hour=$((3600 - $(date -u +%s) % 3600))
if [ "$to_next_hour" -le "$HOUR_MARGIN" ]; then
    diag "the next UTC hour is ${to_next_hour} s away: waiting for it, so that the refresh and the checks fall in the same hour"
    sleep "$((to_next_hour + 2))"
fi

# --- the database -------------------------------------------------------------------------
dropdb --if-exists --force "$DB" || bail_out "cannot drop an old $DB"
createdb "$DB" || bail_out "cannot create $DB"
at_exit "dropdb --if-exists --force $DB"
postgrest_roles "$DB" || bail_out "cannot make Supabase's roles"
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"

# The missing day: 12 days before the last closed one, in the middle of the last 30.
GAP_DAY=$(q "SELECT metrics.last_closed_day() - 12")
psql -X -q -v ON_ERROR_STOP=1 -v gap_day="$GAP_DAY" -d "$DB" -f "$BROWSER_DIR/fixture.sql" \
    >"$SCEN_TMP/fixture.log" 2>&1 || { diag "$(tail -20 "$SCEN_TMP/fixture.log")"; bail_out "cannot load tests/browser/fixture.sql"; }

# A week of acme/service-1: 3 pull requests merged a day, 2 deployments a day in each of
# production, staging and dev (48 deployments: 5 pages of 10), up to the last closed day.
LAST_DAY=$(q "SELECT metrics.last_closed_day()")
node "$REPO_ROOT/bench/github/generate.mjs" --out "$SCEN_TMP/github" --days 8 \
    --start "$(date -u -d "$LAST_DAY - 8 days" +%F)" --deploys-per-day 2 --prs-per-day 3 \
    --batch 5000 --seed 13 >/dev/null || bail_out "bench/github/generate.mjs failed"
for f in "$SCEN_TMP"/github/batch-*.json; do
    psql -X -q -At -v ON_ERROR_STOP=1 -v file="$f" -d "$DB" >/dev/null <<'SQL' || bail_out "cannot record $f"
\set batch `cat :'file'`
SELECT recorded FROM metrics.record_github_events(:'batch'::jsonb);
SQL
done
# One pull request merged in the summary's week labelled hotfix (as a later `labeled` event
# says), so that the deployments shipping it are rework and the rework rate is not 0 everywhere.
q "SELECT recorded FROM metrics.record_github_event('pull_request', (
     SELECT jsonb_build_object('action', 'labeled', 'number', number, 'repository', jsonb_build_object('full_name', repository),
            'pull_request', jsonb_build_object('id', pr_id, 'number', number, 'state', state, 'title', title,
                'merged', true, 'created_at', created_at, 'updated_at', updated_at + interval '1 hour',
                'closed_at', closed_at, 'merged_at', merged_at, 'merge_commit_sha', merge_commit_sha,
                'base', jsonb_build_object('ref', base_ref), 'head', jsonb_build_object('ref', head_ref),
                'labels', (SELECT jsonb_agg(jsonb_build_object('name', l)) FROM unnest(labels || 'hotfix'::text) AS l)))
     FROM metrics.github_pull_requests
     WHERE repository = 'acme/service-1' AND merged_at >= ('$LAST_DAY'::date - 4)::timestamp AT TIME ZONE 'UTC'
     ORDER BY merged_at LIMIT 1))" | grep -qx t || bail_out "cannot label a pull request hotfix"
q "CREATE TABLE dash_src.refreshed AS SELECT now() AS at" \
  "SELECT count(*) FROM metrics.refresh_read_model()" >/dev/null || bail_out "refresh_read_model failed"

# --- the servers -----------------------------------------------------------------------------
JWT_SECRET="metrics-dashboard-tests-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ANON_KEY=$(jwt_sign "$JWT_SECRET" '{"role":"anon","iss":"supabase","iat":1700000000,"exp":4102444800}')
at_exit postgrest_stop
postgrest_start "$DB" "$JWT_SECRET" "$SCEN_TMP" 2>"$SCEN_TMP/postgrest_start.err" || {
    diag "$(cat "$SCEN_TMP/postgrest_start.err")"
    bail_out "PostgREST did not become ready"
}

node "$REPO_ROOT/dashboard/serve.mjs" --host 127.0.0.1 --port 0 --api-url "$POSTGREST_URL" \
    --anon-key "$ANON_KEY" >"$SCEN_TMP/serve.log" 2>&1 &
SERVE_PID=$!
at_exit "kill $SERVE_PID"
dashboard_url() { sed -n 's|^dashboard: \(http://[^ ]*\)$|\1|p' "$SCEN_TMP/serve.log" | head -1; }
served() { kill -0 "$SERVE_PID" 2>/dev/null && [ -n "$(dashboard_url)" ]; }
wait_until 15 served || { diag "$(cat "$SCEN_TMP/serve.log")"; bail_out "dashboard/serve.mjs did not say where it listens"; }

# --- the tests --------------------------------------------------------------------------------
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
export DASHBOARD_URL=$(dashboard_url) PGRST_URL="$POSTGREST_URL" PGRST_JWT_SECRET="$JWT_SECRET" \
    PGRST_ANON_KEY="$ANON_KEY" METRICS_DASHBOARD_DB="$DB" DASHBOARD_SHOTS="$SHOTS" GAP_DAY
mapfile -t test_files < <(cd "$BROWSER_DIR" && ls ./*.test.mjs | sort)
# The unit test of the page's pure modules runs first; when it is missing, a test says so and
# the browser tests run all the same.
FORMAT_TEST="$REPO_ROOT/tests/dashboard/format.test.mjs"
if [ ! -f "$FORMAT_TEST" ]; then
    FORMAT_TEST="$SCEN_TMP/format_test_missing.test.mjs"
    echo "import { test } from 'node:test'; test('tests/dashboard/format.test.mjs exists', () => { throw new Error('tests/dashboard/format.test.mjs is missing'); });" >"$FORMAT_TEST"
fi
(cd "$BROWSER_DIR" && exec node --test --test-concurrency=1 --test-timeout=60000 \
    --test-reporter="$REPO_ROOT/tests/http/tap-flat.mjs" \
    "$FORMAT_TEST" "${test_files[@]}") &
NODE_PID=$!
at_exit "kill $NODE_PID"
wait "$NODE_PID"
status=$?
if [ -n "${DASHBOARD_SHOW_LOG:-}" ] || [ "$status" -ne 0 ]; then
    diag "PostgREST's log (the end):
$(tail -20 "$SCEN_TMP/postgrest.log")
serve.mjs's log (the end):
$(tail -20 "$SCEN_TMP/serve.log")"
fi
exit "$status"
