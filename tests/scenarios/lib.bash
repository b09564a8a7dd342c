#!/usr/bin/env bash
# Helpers for the multi-session scenarios: TAP output, one throwaway database per script,
# the social fixture, background psql sessions fed through fifos, poll loops and checks of
# sealed values against counts computed independently from the source tables.
#
# Source it from a scenario:  source "$(dirname "$0")/../lib.bash"  (in a subsystem's folder;
# upgrade.sh, next to this file, sources "$(dirname "$0")/lib.bash"). REPO_ROOT is found from
# this file's place, so fixtures are "$REPO_ROOT/tests/fixtures/..." wherever the scenario is.
# The scenarios expect what scripts/test exports: PGHOST, PGPORT, PGUSER (a superuser),
# CLUSTER_DIR and METRICS_CRON_DB.

set -uo pipefail

SCEN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=${REPO_ROOT:-$(cd "$SCEN_DIR/../.." && pwd)}
SCEN_NAME=$(basename "$0" .sh)
SCEN_TMP=$(mktemp -d "/tmp/scen-${SCEN_NAME}.XXXXXX")
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

# ---------------------------------------------------------------------------------------
# TAP

_tap_count=0
_tap_failed=0
_tap_planned=

plan() { _tap_planned=$1; echo "1..$1"; }

diag() {
    local line
    while IFS= read -r line; do echo "# $line"; done <<<"$*" >&2
}

pass() { _tap_count=$((_tap_count + 1)); echo "ok $_tap_count - $1"; }

fail() {
    _tap_count=$((_tap_count + 1)); _tap_failed=$((_tap_failed + 1))
    echo "not ok $_tap_count - $1"
    [ $# -gt 1 ] && diag "$2"
    return 0
}

# ok DESCRIPTION COMMAND [ARGS...]: passes when the command succeeds.
ok() {
    local desc=$1; shift
    if "$@"; then pass "$desc"; else fail "$desc" "command failed: $*"; fi
}

# not COMMAND [ARGS...]: succeeds when the command fails (for ok).
not() { ! "$@"; }

# is GOT EXPECTED DESCRIPTION
is() {
    if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "     got: '$1'
expected: '$2'"; fi
}

# like GOT EXTENDED_REGEX DESCRIPTION
like() {
    if grep -Eq -- "$2" <<<"$1"; then pass "$3"; else fail "$3" "     got: '$1'
expected to match: /$2/"; fi
}

bail_out() { echo "Bail out! $*"; exit 255; }

done_testing() {
    [ -z "$_tap_planned" ] && echo "1..$_tap_count"
    if [ -n "$_tap_planned" ] && [ "$_tap_planned" != "$_tap_count" ]; then
        diag "planned $_tap_planned tests but ran $_tap_count"
        return 1
    fi
    [ "$_tap_failed" -eq 0 ]
}

# ---------------------------------------------------------------------------------------
# Cleanup: commands run at exit, last registered first.

_cleanups=()
at_exit() { _cleanups+=("$1"); }

_run_cleanups() {
    local status=$? i
    for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
    done
    rm -rf "$SCEN_TMP"
    exit $status
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# SQL

# q SQL...: runs each argument as one -c command in $DB; prints unaligned, tuples only.
q() {
    local args=() s
    for s in "$@"; do args+=(-c "$s"); done
    psql -X -qAt -v ON_ERROR_STOP=1 -d "$DB" "${args[@]}"
}

# q_in DATABASE SQL...
q_in() { local DB=$1; shift; q "$@"; }

# q_try SQL: runs SQL in $DB expecting it may fail. Sets Q_STATUS (psql's exit status),
# Q_OUT (stdout), Q_ERR (stderr), Q_SQLSTATE and Q_HINT (of the first ERROR, else empty).
q_try() {
    local db=${Q_DB:-$DB}
    psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" -c "$1" \
        >"$SCEN_TMP/q_try.out" 2>"$SCEN_TMP/q_try.err"
    Q_STATUS=$?
    Q_OUT=$(cat "$SCEN_TMP/q_try.out")
    Q_ERR=$(cat "$SCEN_TMP/q_try.err")
    Q_SQLSTATE=$(sqlstate_of "$Q_ERR")
    Q_HINT=$(sed -n 's/^HINT:  //p' <<<"$Q_ERR" | head -1)
}

# sqlstate_of TEXT: the SQLSTATE of the first "ERROR:  XXXXX: ..." line (VERBOSITY verbose).
sqlstate_of() { sed -nE 's/^(psql:[^ ]* )?ERROR:  ([0-9A-Z]{5}): .*/\2/p' <<<"$1" | head -1; }

# fresh_db [SUFFIX]: creates a database of its own for this script, sets DB, drops it at exit.
fresh_db() {
    local name="scen_${SCEN_NAME}${1:+_$1}_$$"
    createdb "$name" || bail_out "cannot create database $name"
    at_exit "dropdb --if-exists --force '$name'"
    DB=$name
}

# use_cron_db: DB becomes $METRICS_CRON_DB, the database pg_cron runs jobs in, which must have
# no metrics yet; CREATED_PG_CRON says whether pg_cron is still to be created there (t), so
# the script's cleanup knows whether to drop it again.
use_cron_db() {
    DB=$METRICS_CRON_DB
    [ "$(q "SELECT current_setting('cron.database_name', true)")" = "$DB" ] \
        || bail_out "pg_cron is not preloaded with cron.database_name = $DB"
    [ "$(q "SELECT count(*) FROM pg_extension WHERE extname = 'metrics'")" = 0 ] \
        || bail_out "metrics is already installed in $DB: this scenario needs it fresh"
    CREATED_PG_CRON=$(q "SELECT count(*) = 0 FROM pg_extension WHERE extname = 'pg_cron'")
}

# load_fixture: the social dataset (schema regress_src) into $DB. The file uses SET LOCAL,
# so it runs in one transaction.
load_fixture() {
    psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$DB" \
        -f "$REPO_ROOT/tests/fixtures/social.sql" >/dev/null \
        || bail_out "cannot load tests/fixtures/social.sql into $DB"
}

# wait_until TIMEOUT_SECONDS COMMAND [ARGS...]: polls every 0.1 s until the command
# succeeds; returns 1 when the time is up.
wait_until() {
    local timeout=$1; shift
    local deadline=$((SECONDS + timeout))
    while :; do
        "$@" && return 0
        [ "$SECONDS" -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# sql_true SQL: succeeds when the query returns 't' (for wait_until).
sql_true() { [ "$(q "$1" 2>/dev/null)" = t ]; }

# ---------------------------------------------------------------------------------------
# Background sessions: one psql per name, reading commands from a fifo, so a transaction
# can stay open while other sessions act. Commands are tagged; their output is read back
# from between the tag's markers. Errors are shown with their SQLSTATE (VERBOSITY verbose).

declare -gA _session_fd=() _session_pid=() _session_backend=()

# session_start NAME [DATABASE]
session_start() {
    local name=$1 db=${2:-$DB} dir="$SCEN_TMP/session_$1" fd
    mkdir -p "$dir"
    mkfifo "$dir/in"
    # The new psql must not inherit the other sessions' fifo ends, or they would never see EOF.
    (
        for fd in "${_session_fd[@]}"; do eval "exec $fd>&-"; done
        PGAPPNAME="scen_$name" exec psql -X -qAt -v VERBOSITY=verbose -d "$db" \
            <"$dir/in" >"$dir/out" 2>&1
    ) &
    _session_pid[$name]=$!
    exec {fd}>"$dir/in"
    _session_fd[$name]=$fd
    at_exit "session_end $name"
    session_run "$name" pid "SELECT pg_backend_pid();"
    session_wait "$name" pid 30 || bail_out "session $name did not start"
    _session_backend[$name]=$(session_output "$name" pid)
}

# session_run NAME TAG SQL: sends SQL and returns at once.
session_run() {
    local name=$1 tag=$2 sql=$3
    printf '\\echo <<%s\n%s\n\\echo >>%s\n' "$tag" "$sql" "$tag" >&"${_session_fd[$name]}"
}

# session_wait NAME TAG [TIMEOUT]: waits until the commands sent with TAG are done.
session_wait() {
    local out="$SCEN_TMP/session_$1/out" mark=">>$2"
    wait_until "${3:-60}" grep -qxF -- "$mark" "$out"
}

# session_done NAME TAG: whether the commands sent with TAG are done (no waiting).
session_done() { grep -qxF -- ">>$2" "$SCEN_TMP/session_$1/out"; }

# session_output NAME TAG: what the commands sent with TAG printed (stdout and stderr).
session_output() {
    awk -v s="<<$2" -v e=">>$2" '$0 == e { exit } on { print } $0 == s { on = 1 }' \
        "$SCEN_TMP/session_$1/out"
}

# session_backend NAME: the backend pid of the session.
session_backend() { echo "${_session_backend[$1]}"; }

# session_end NAME: closes the session's input, so psql exits (rolling back anything open).
session_end() {
    local name=$1 fd=${_session_fd[$1]:-} pid=${_session_pid[$1]:-} i
    [ -n "$fd" ] || return 0
    exec {fd}>&-
    unset "_session_fd[$name]"
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# backend_waits_on_lock PID: the backend is waiting for a heavyweight lock.
backend_waits_on_lock() {
    sql_true "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1"
}

# ---------------------------------------------------------------------------------------
# Independent expectations for the social preset, straight from regress_src with fixed UTC
# day boundaries: the metrics' own SQL is not involved.

install_expected_social() {
    q "CREATE SCHEMA IF NOT EXISTS scen_check" "
CREATE FUNCTION scen_check.expected_social(d1 date, d2 date)
RETURNS TABLE (metric_date date, metric_type text, metric_category text, value numeric, detail jsonb)
LANGUAGE sql STABLE AS \$\$
WITH days AS (
    SELECT g::date AS day,
           g::date::timestamp AT TIME ZONE 'UTC' AS lo,
           (g::date + 1)::timestamp AT TIME ZONE 'UTC' AS hi
    FROM generate_series(d1::timestamp, d2::timestamp, interval '1 day') AS g
), v AS (
    SELECT day,
        (SELECT count(*) FROM regress_src.profiles WHERE created_at < hi) AS users_total,
        (SELECT count(*) FROM regress_src.posts WHERE created_at < hi) AS posts_total,
        (SELECT count(*) FROM regress_src.comments WHERE created_at < hi) AS comments_total,
        (SELECT count(*) FROM regress_src.posts WHERE created_at >= lo AND created_at < hi) AS posts_created,
        (SELECT count(*) FROM regress_src.comments WHERE created_at >= lo AND created_at < hi) AS comments_created,
        (SELECT count(*) FROM regress_src.tracks WHERE created_at >= lo AND created_at < hi) AS tracks_uploaded,
        (SELECT count(DISTINCT user_id) FROM regress_src.posts WHERE created_at >= lo AND created_at < hi) AS active_users,
        (SELECT count(DISTINCT genre) FROM regress_src.tracks WHERE created_at >= lo AND created_at < hi) AS genres,
        (SELECT jsonb_build_object('breakdown', coalesce(jsonb_object_agg(genre, n), '{}'), 'rows', coalesce(sum(n), 0))
         FROM (SELECT genre, count(*) AS n FROM regress_src.tracks
               WHERE created_at >= lo AND created_at < hi AND genre IS NOT NULL GROUP BY genre) AS g) AS genre_detail
    FROM days
)
SELECT day, 'count', 'users_total', users_total::numeric, '{}'::jsonb FROM v
UNION ALL SELECT day, 'count', 'posts_total', posts_total, '{}' FROM v
UNION ALL SELECT day, 'count', 'comments_total', comments_total, '{}' FROM v
UNION ALL SELECT day, 'count', 'posts_created', posts_created, '{}' FROM v
UNION ALL SELECT day, 'count', 'comments_created', comments_created, '{}' FROM v
UNION ALL SELECT day, 'count', 'tracks_uploaded', tracks_uploaded, '{}' FROM v
UNION ALL SELECT day, 'count', 'active_users', active_users, '{}' FROM v
UNION ALL SELECT day, 'percentage', 'engagement_rate',
                 CASE WHEN users_total = 0 THEN 0 ELSE round(active_users * 100.0 / users_total, 4) END,
                 jsonb_build_object('numerator', active_users, 'denominator', users_total) FROM v
UNION ALL SELECT day, 'aggregate', 'top_genres', genres, genre_detail FROM v
\$\$" "
CREATE FUNCTION scen_check.sealed_social(d1 date, d2 date)
RETURNS TABLE (metric_date date, metric_type text, metric_category text, value numeric, detail jsonb)
LANGUAGE sql STABLE AS \$\$
SELECT m.metric_date, m.metric_type, m.metric_category, m.value,
       CASE m.metric_category
           WHEN 'engagement_rate' THEN m.metadata
           WHEN 'top_genres' THEN jsonb_build_object('breakdown', m.metadata -> 'breakdown', 'rows', m.metadata -> 'rows')
           ELSE '{}' END
FROM metrics.daily_metrics AS m
WHERE m.metric_date BETWEEN d1 AND d2
  AND m.metric_category IN ('users_total', 'posts_total', 'comments_total', 'posts_created', 'comments_created',
                            'tracks_uploaded', 'active_users', 'engagement_rate', 'top_genres')
\$\$" "
-- Rows that differ between the sealed values and the expectation over a set of days.
CREATE FUNCTION scen_check.mismatches(days date[])
RETURNS TABLE (side text, metric_date date, metric_type text, metric_category text, value numeric, detail jsonb)
LANGUAGE sql STABLE AS \$\$
WITH e AS (SELECT x.* FROM unnest(days) AS d, scen_check.expected_social(d, d) AS x),
     s AS (SELECT x.* FROM unnest(days) AS d, scen_check.sealed_social(d, d) AS x)
(SELECT 'expected only', * FROM (SELECT * FROM e EXCEPT ALL SELECT * FROM s) AS a)
UNION ALL
(SELECT 'sealed only', * FROM (SELECT * FROM s EXCEPT ALL SELECT * FROM e) AS b)
ORDER BY 2, 4, 1
\$\$"
}

# check_social_days DESCRIPTION DATE_ARRAY_SQL: the sealed values of the social metrics on
# those days are exactly the expected ones (every metric once, same values); differences are
# shown as diagnostics. Other metrics a scenario defines are not looked at.
check_social_days() {
    local desc=$1 days=$2 diff
    diff=$(q "SELECT side || ': ' || metric_date || ' ' || metric_category || ' = ' || value || ' ' || detail
              FROM scen_check.mismatches($days)")
    if [ $? -eq 0 ] && [ -z "$diff" ]; then pass "$desc"; else fail "$desc" "$(head -40 <<<"$diff")"; fi
}
