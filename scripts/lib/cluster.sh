# Throwaway PostgreSQL clusters for the demo, the tests and the benchmark.
# Source this file, then: cluster_start NAME [postgresql.conf lines...]; cluster_stop.
# Servers run as the postgres OS user (PostgreSQL refuses root), listen only on a unix
# socket inside their own directory, and are stopped by PID.

PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# Runs a command as the postgres OS user from a directory it can enter (the caller's may be
# a private home directory).
as_postgres() {
    (cd / && runuser -u postgres -- "$@")
}

# The cluster lives under the repository's build directory when the postgres user can reach
# it; a checkout under a private home directory (mode 700) cannot be, so we fall back to /var/tmp.
cluster_root() {
    local preferred="$REPO_ROOT/target/pg"
    mkdir -p "$preferred"
    chown postgres: "$preferred"
    if as_postgres test -w "$preferred"; then
        echo "$preferred"
    else
        local fallback="/var/tmp/metrics-pg-$(echo "$REPO_ROOT" | md5sum | cut -c1-8)"
        mkdir -p "$fallback" && chown postgres: "$fallback" && chmod 700 "$fallback"
        echo "$fallback"
    fi
}

# cluster_start NAME [extra postgresql.conf lines...]
# Exports PGHOST, PGPORT, PGUSER and CLUSTER_DIR for psql and friends.
cluster_start() {
    local name=$1; shift
    CLUSTER_DIR="$(cluster_root)/$name"
    if [ -f "$CLUSTER_DIR/data/postmaster.pid" ]; then
        cluster_stop_dir "$CLUSTER_DIR"
    fi
    rm -rf "$CLUSTER_DIR"
    mkdir -p "$CLUSTER_DIR"
    chown postgres: "$CLUSTER_DIR"
    as_postgres "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$CLUSTER_DIR/initdb.log" 2>&1 || {
        cat "$CLUSTER_DIR/initdb.log" >&2; return 1; }
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$CLUSTER_DIR'"
        echo "port = 5432"
        echo "fsync = off"                      # throwaway data: durability buys nothing here
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "max_worker_processes = 16"
        echo "log_min_messages = warning"
        local line
        for line in "$@"; do echo "$line"; done
    } >>"$CLUSTER_DIR/data/postgresql.conf"
    as_postgres "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/server.log" \
        -w -t 60 start >/dev/null || { cat "$CLUSTER_DIR/server.log" >&2; return 1; }
    export PGHOST="$CLUSTER_DIR" PGPORT=5432 PGUSER=postgres CLUSTER_DIR
}

# Stops the server of a cluster directory by the PID in its postmaster.pid (fast shutdown).
cluster_stop_dir() {
    local dir=$1 pidfile="$1/data/postmaster.pid" pid i
    [ -f "$pidfile" ] || return 0
    pid=$(head -1 "$pidfile")
    kill -INT "$pid" 2>/dev/null || return 0
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cluster_stop() {
    [ -n "${CLUSTER_DIR:-}" ] && cluster_stop_dir "$CLUSTER_DIR"
}

# Builds the extension and installs it into the system PostgreSQL (lib and extension dirs).
# PROFILE=release for the demo and the benchmark; the tests use the faster debug build.
# Files are packaged first and then replaced (not overwritten in place), so servers that have
# the previous build loaded keep running while a new one is installed.
install_extension() {
    local profile_flag=(--debug) pkg
    [ "${PROFILE:-debug}" = release ] && profile_flag=()
    pkg="$REPO_ROOT/target/package-${PROFILE:-debug}"
    rm -rf "$pkg"
    local log="$REPO_ROOT/target/package-${PROFILE:-debug}.log"
    if ! (cd "$REPO_ROOT" && cargo pgrx package --pg-config "$PG_BIN/pg_config" "${profile_flag[@]}" --out-dir "$pkg" >"$log" 2>&1); then
        tail -n 40 "$log" >&2
        echo "install_extension: the build failed; full output in $log" >&2
        return 1
    fi
    local libdir sharedir
    libdir=$("$PG_BIN/pg_config" --pkglibdir)
    sharedir=$("$PG_BIN/pg_config" --sharedir)
    cp --remove-destination "$pkg$libdir"/metrics.so "$libdir"/
    cp --remove-destination "$pkg$sharedir"/extension/metrics* "$sharedir"/extension/
    # The frozen install scripts of released versions (sql/metrics--<version>.sql, never
    # edited), so CREATE EXTENSION metrics VERSION '<released>' and upgrade tests work; pgrx
    # packages only the current version's script (and the metrics--<from>--<to>.sql updates).
    # The build's own script wins over a frozen file of the same version.
    local frozen name version
    for frozen in "$REPO_ROOT"/sql/metrics--*.sql; do
        [ -f "$frozen" ] || continue
        name=$(basename "$frozen")
        version=${name#metrics--}
        version=${version%.sql}
        [[ $version == *--* ]] && continue
        [ -f "$pkg$sharedir/extension/$name" ] && continue
        cp --remove-destination "$frozen" "$sharedir"/extension/
    done
}
