# PostgREST 12.0.2 in front of a database of a throwaway cluster (scripts/lib/cluster.sh), for the
# HTTP tests, the browser tests and the demo's dashboard. Source it; it needs PGHOST and PGPORT
# (the cluster's unix socket directory and port) and psql, curl and node on PATH.
#
#   postgrest_roles DB
#       Supabase's API roles (anon, authenticated, service_role, authenticator) and auth helpers,
#       from tests/fixtures/supabase.sql, when DB does not have them yet. Returns non-zero on error.
#   postgrest_start DB JWT_SECRET LOG_DIR
#       Starts target/tools/postgrest-12.0.2/postgrest (installed by scripts/setup) on 127.0.0.1,
#       on two free ports (API and admin), connecting as authenticator over the unix socket,
#       db-schemas = metrics, db-anon-role = anon, jwt-secret = JWT_SECRET (at least 32 characters).
#       Writes LOG_DIR/postgrest.conf and LOG_DIR/postgrest.log (POSTGREST_LOG_LEVEL, default
#       error). Waits (up to 30 s) for the admin /ready, then exports POSTGREST_URL
#       (http://127.0.0.1:PORT, no trailing slash), POSTGREST_PID and POSTGREST_ADMIN_URL.
#       On failure prints the log's end on stderr, stops what it started and returns non-zero.
#       The caller stops it (postgrest_stop), e.g. from its exit trap.
#   postgrest_stop
#       Stops the PostgREST of POSTGREST_PID (SIGTERM, SIGKILL after 5 s); nothing when none runs.
#   jwt_sign SECRET CLAIMS_JSON
#       Prints an HS256 JWT of those claims, e.g.
#       jwt_sign "$secret" '{"role":"anon","iss":"supabase","exp":4102444800}'
#   free_port
#       Prints a TCP port free on 127.0.0.1 now.
#   port_free PORT
#       Succeeds when nothing listens on 127.0.0.1:PORT now.

POSTGREST_VERSION=${POSTGREST_VERSION:-12.0.2}
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
POSTGREST_BIN=${POSTGREST_BIN:-$REPO_ROOT/target/tools/postgrest-$POSTGREST_VERSION/postgrest}

free_port() {
    node -e 'const s = require("net").createServer();
             s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# port_free PORT: whether nothing listens on 127.0.0.1:PORT now.
port_free() {
    node -e 'const s = require("net").createServer(); s.on("error", () => process.exit(1));
             s.listen(Number(process.argv[1]), "127.0.0.1", () => s.close());' "$1" 2>/dev/null
}

postgrest_roles() {
    local db=$1
    local have
    have=$(psql -X -qAt -d "$db" -c "SELECT count(*) FROM pg_roles
            WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator')" -c "
            SELECT to_regprocedure('auth.jwt()') IS NOT NULL AND to_regprocedure('auth.uid()') IS NOT NULL") \
        || return 1
    [ "$have" = $'4\nt' ] && return 0
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$REPO_ROOT/tests/fixtures/supabase.sql" >/dev/null
}

jwt_sign() {
    node -e '
        const { createHmac } = require("crypto");
        const [secret, claims] = process.argv.slice(1);
        const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(JSON.parse(claims))}`;
        console.log(`${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`);
    ' "$1" "$2"
}

_postgrest_ready() {
    kill -0 "$POSTGREST_PID" 2>/dev/null || return 2
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$POSTGREST_ADMIN_URL/ready")" = 200 ]
}

postgrest_start() {
    local db=$1 secret=$2 log_dir=$3 port admin_port i
    [ -x "$POSTGREST_BIN" ] || { echo "postgrest_start: $POSTGREST_BIN is missing: run scripts/setup" >&2; return 1; }
    [ ${#secret} -ge 32 ] || { echo "postgrest_start: the JWT secret must have at least 32 characters" >&2; return 1; }
    mkdir -p "$log_dir" || return 1
    port=$(free_port) && admin_port=$(free_port) || { echo "postgrest_start: no free port" >&2; return 1; }
    [ "$port" != "$admin_port" ] || admin_port=$(free_port)
    cat >"$log_dir/postgrest.conf" <<EOF
db-uri = "postgres://authenticator@/$db?host=$PGHOST&port=$PGPORT"
db-schemas = "metrics"
db-anon-role = "anon"
db-pool = 5
jwt-secret = "$secret"
server-host = "127.0.0.1"
server-port = $port
admin-server-port = $admin_port
log-level = "${POSTGREST_LOG_LEVEL:-error}"
EOF
    "$POSTGREST_BIN" "$log_dir/postgrest.conf" >"$log_dir/postgrest.log" 2>&1 &
    export POSTGREST_PID=$! POSTGREST_URL="http://127.0.0.1:$port" POSTGREST_ADMIN_URL="http://127.0.0.1:$admin_port"
    for i in $(seq 1 300); do
        _postgrest_ready && return 0
        [ $? -eq 2 ] && break
        sleep 0.1
    done
    echo "postgrest_start: PostgREST did not become ready on $POSTGREST_URL; its log ends:" >&2
    tail -20 "$log_dir/postgrest.log" >&2
    postgrest_stop
    return 1
}

postgrest_stop() {
    local pid=${POSTGREST_PID:-} i
    [ -n "$pid" ] || return 0
    if kill -TERM "$pid" 2>/dev/null; then
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    unset POSTGREST_PID
}
