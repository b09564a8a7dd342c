# The demo's dashboard (scripts/demo --dashboard): PostgREST in front of the demo database and the
# page of dashboard/ served on 127.0.0.1, as a Supabase project has them: an anon key, and a signed-in
# user whose JWT makes them a member of two projects (acme, and app: the whole database), not globex.
#
# Source it after scripts/lib/cluster.sh (PGHOST, PGPORT, CLUSTER_DIR set), then:
#   demo_dashboard DATABASE [KEEP_CLUSTER: true|false]
# Prints the page's URL (which signs the user in), their token and the anon key, and waits until
# interrupted (Ctrl-C, SIGTERM); then stops PostgREST and the page's server by PID and returns.
# dashboard_stop stops them too (the demo's exit trap calls it, for an exit half-way).
# DASHBOARD_PORT picks the page's port (default 8080 when free, else any free port).

source "$(dirname "${BASH_SOURCE[0]}")/postgrest.sh"

# The servers this started, stopped by PID (each may have stopped on its own already: Ctrl-C in a
# terminal reaches them too). Safe to call twice; scripts/demo calls it again at exit.
dashboard_stop() {
    if [ -n "${DASHBOARD_PID:-}" ]; then
        kill -TERM "$DASHBOARD_PID" 2>/dev/null || true
        wait "$DASHBOARD_PID" 2>/dev/null || true
        unset DASHBOARD_PID
    fi
    postgrest_stop || true
}

# The page's port: DASHBOARD_PORT, or 8080 when nothing listens there, or any free port.
_dashboard_port() {
    if [ -n "${DASHBOARD_PORT:-}" ]; then
        echo "$DASHBOARD_PORT"
    elif port_free 8080; then
        echo 8080
    else
        echo 0
    fi
}

# serve.mjs in the background; waits for its one line "dashboard: URL" and sets DASHBOARD_URL.
_dashboard_serve() {
    local log=$1 i
    : >"$log"
    node "$REPO_ROOT/dashboard/serve.mjs" --host 127.0.0.1 --port "$(_dashboard_port)" \
        --api-url "$POSTGREST_URL" --anon-key "$ANON_KEY" >"$log" 2>&1 &
    DASHBOARD_PID=$!
    for i in $(seq 1 100); do
        DASHBOARD_URL=$(sed -n 's/^dashboard: //p' "$log")
        [ -n "$DASHBOARD_URL" ] && return 0
        kill -0 "$DASHBOARD_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "demo: the dashboard's server did not start:" >&2
    cat "$log" >&2
    return 1
}

demo_dashboard() {
    local db=$1 keep_cluster=${2:-false} dir="$CLUSTER_DIR/dashboard" secret now user_token
    echo "== the dashboard: PostgREST $POSTGREST_VERSION in front of $db, and the page of dashboard/"
    # Supabase's API roles, which the cluster has not had so far; the extension gives each its
    # default level (anon and authenticated: read; service_role: manage).
    postgrest_roles "$db" || return 1
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
        -c "SELECT api_role || ': ' || api_access FROM metrics.grant_api_access() WHERE api_role IN ('anon', 'authenticated', 'service_role') ORDER BY 1" \
        || return 1
    secret="demo-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    now=$(date +%s)
    # The anon key is public (it is in the page's config); the user's token says who they are.
    ANON_KEY=$(jwt_sign "$secret" "{\"iss\":\"supabase\",\"role\":\"anon\",\"iat\":$now,\"exp\":$((now + 30 * 86400))}")
    user_token=$(jwt_sign "$secret" "{\"iss\":\"supabase\",\"role\":\"authenticated\",\"aud\":\"authenticated\",
        \"sub\":\"6f1e7a52-0b1c-4c37-9d0e-2a4c8b7e1f30\",\"email\":\"ada@acme.example\",\"iat\":$now,
        \"exp\":$((now + 8 * 3600)),\"app_metadata\":{\"provider\":\"email\",\"projects\":[\"acme\",\"app\"]}}")
    postgrest_start "$db" "$secret" "$dir" || return 1
    _dashboard_serve "$dir/serve.log" || { dashboard_stop; return 1; }
    cat <<EOF

The dashboard of the demo database is served at

  ${DASHBOARD_URL}#access_token=${user_token}

Open it in a browser on this machine: it signs you in as ada@acme.example, a member of the
projects acme and app (the whole database) but not globex, for 8 hours. To sign in by hand,
open $DASHBOARD_URL and paste the token:

  $user_token

PostgREST: $POSTGREST_URL (anon key: $ANON_KEY)
Both listen on 127.0.0.1 only; from another machine, forward the ports (ssh -L).
Ctrl-C stops the servers$($keep_cluster && echo ' (the cluster keeps running)' || echo ' and the cluster').
EOF
    # Until interrupted: Ctrl-C (or SIGTERM) ends the wait; the servers are stopped by PID here and
    # again by the demo's exit trap, whichever comes first.
    trap 'echo; echo "== stopping the dashboard"' INT TERM
    wait "$DASHBOARD_PID" 2>/dev/null || true
    trap - INT TERM
    dashboard_stop
}
