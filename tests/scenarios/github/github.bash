#!/usr/bin/env bash
# Shared set-up of the GitHub scenarios (source it after ../lib.bash): the event list of
# scenario.mjs, databases with the extension and the events in a table scen.events (i, e),
# delivery plans (plan.mjs) run by psql, the extension's answers as JSON, sorted dumps of the
# fact and derived tables, and comparisons with expected.mjs.

GH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GH_EVENTS="$SCEN_TMP/events.json"
# The range every scenario reads: the whole history of deliveries that matter.
GH_START=2025-03-10
GH_END=2025-04-13
GH_REPO=codertocat/hello-world

command -v node >/dev/null || bail_out "node is needed (Node 20)"

# gh_events [SEED]: writes the scenario's events to $GH_EVENTS and one JSON object a line to
# $GH_EVENTS.ndjson (for \copy).
gh_events() {
    node "$GH_DIR/scenario.mjs" "$GH_EVENTS" "${1:-11}" 2> >(sed "s/^/# /" >&2) || bail_out "scenario.mjs failed"
    node -e '
        const ev = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        require("fs").writeFileSync(process.argv[1] + ".ndjson", ev.map((e) => JSON.stringify(e)).join("\n") + "\n");
    ' "$GH_EVENTS" || bail_out "cannot write the ndjson file"
    GH_N=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).length)' "$GH_EVENTS")
}

# gh_db SUFFIX: a fresh database (DB) with the extension and the events in scen.events.
gh_db() {
    fresh_db "$1"
    q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed in $DB"
    # Fields are separated and quoted by control characters JSON never leaves unescaped.
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL || bail_out "cannot load the events into $DB"
CREATE SCHEMA scen;
CREATE TABLE scen.raw (line text);
\\copy scen.raw FROM '$GH_EVENTS.ndjson' WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')
CREATE TABLE scen.events AS SELECT (line::jsonb ->> 'i')::int AS i, line::jsonb AS e FROM scen.raw;
ALTER TABLE scen.events ADD PRIMARY KEY (i);
DROP TABLE scen.raw;
SQL
    [ "$(q "SELECT count(*) FROM scen.events")" = "$GH_N" ] || bail_out "scen.events does not hold the $GH_N events"
}

# gh_plan PREFIX ARGS...: a delivery plan (see plan.mjs make).
gh_plan() {
    local prefix=$1; shift
    node "$GH_DIR/plan.mjs" make "$GH_EVENTS" "$prefix" "$@" 2> >(sed "s/^/# /" >&2) || bail_out "plan.mjs make failed"
}

# gh_deliver PREFIX: runs PREFIX.sql in $DB, output in PREFIX.out, errors in PREFIX.err;
# returns psql's status.
gh_deliver() {
    psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" -f "$1.sql" >"$1.out" 2>"$1.err"
}

# gh_rows START END ENV GRAIN TZ [REPOSITORY]: get_dora_metrics as a JSON array.
gh_rows() {
    local repo=${6:+", repository => '$6'"}
    q "SET metrics.timezone = '$5'" "SELECT coalesce(json_agg(r ORDER BY r.period_start, r.repository), '[]')
       FROM metrics.get_dora_metrics('$1', '$2', environment => '$3', grain => '$4'$repo) AS r"
}

# gh_levels FILE: the reference data of metrics.dora_levels as JSON.
gh_levels() { q "SELECT coalesce(json_agg(l), '[]') FROM metrics.dora_levels AS l" >"$1"; }

# gh_expected_rows START END ENV GRAIN TZ [REPOSITORY]: expected.mjs's rows.
gh_expected_rows() {
    node "$GH_DIR/expected.mjs" rows "$GH_EVENTS" --start "$1" --end "$2" --env "$3" --grain "$4" --tz "$5" \
        --levels "$SCEN_TMP/levels.json" ${6:+--repository "$6"}
}

# gh_check_rows START END ENV GRAIN TZ [REPOSITORY]: one TAP line: the extension's rows equal
# expected.mjs's.
gh_check_rows() {
    local tag="$3.$4.${5//\//_}" d
    gh_expected_rows "$@" >"$SCEN_TMP/exp.$tag.json" || { fail "expected.mjs rows $*"; return; }
    gh_rows "$@" >"$SCEN_TMP/got.$tag.json" 2>"$SCEN_TMP/got.$tag.err" \
        || { fail "get_dora_metrics('$1', '$2', '$3', '$4') in $5${6:+ for $6}" "$(cat "$SCEN_TMP/got.$tag.err")"; return; }
    d=$(node "$GH_DIR/compare.mjs" rows "$SCEN_TMP/exp.$tag.json" "$SCEN_TMP/got.$tag.json")
    if [ $? -eq 0 ]; then
        pass "get_dora_metrics('$1', '$2', '$3', '$4') in $5${6:+ for $6}: $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).length)' "$SCEN_TMP/exp.$tag.json") rows as computed independently"
    else
        fail "get_dora_metrics('$1', '$2', '$3', '$4') in $5${6:+ for $6}: rows as computed independently" "$d"
    fi
}

# gh_tables: the derived facts the extension holds, as JSON in the shape of expected.mjs tables.
gh_tables() {
    q "SELECT json_build_object(
        'deployments', (SELECT coalesce(json_agg(json_build_object(
            'repository', repository, 'deployment_id', deployment_id::text, 'environment', environment, 'sha', sha,
            'ref', ref, 'created_at', created_at, 'outcome', outcome, 'finished_at', finished_at,
            'baseline_id', CASE WHEN outcome = 'success' THEN baseline_id::text END, 'coverage', coverage,
            'changes', changes) ORDER BY deployment_id), '[]') FROM metrics.dora_deployments),
        'changes', (SELECT coalesce(json_agg(json_build_object(
            'repository', repository, 'environment', environment, 'change_key', change_key, 'kind', kind,
            'pr_number', pr_number::text, 'sha', sha, 'merged_at', merged_at, 'first_commit_at', first_commit_at,
            'deployment_id', deployment_id::text, 'deployed_at', deployed_at)), '[]') FROM metrics.dora_changes),
        'incidents', (SELECT coalesce(json_agg(json_build_object(
            'repository', repository, 'number', number::text, 'opened_at', opened_at, 'closed_at', closed_at,
            'deployment_id', deployment_id::text, 'link', link)), '[]') FROM metrics.dora_incidents))"
}

# gh_dump: sorted dumps of every fact and derived table (without received_at, which is the
# time of recording), one section per table.
GH_FACT_TABLES="github_deployments github_deployment_statuses github_pull_requests github_pushes github_workflow_runs github_issues"
GH_DERIVED_TABLES="dora_deployments dora_deployed_shas dora_changes"
gh_dump() {
    local t
    for t in $GH_FACT_TABLES $GH_DERIVED_TABLES; do
        echo "== $t"
        q "SELECT x::text FROM metrics.$t AS x ORDER BY 1"
    done
}
# gh_dump_events: the raw events table without received_at, sorted.
gh_dump_events() {
    q "SELECT (to_jsonb(x) - 'received_at')::text FROM metrics.github_events AS x ORDER BY event_key"
}
# gh_fingerprint: one md5 over every metrics table's rows (received_at included: a duplicate
# must not touch its event's row either).
gh_fingerprint() {
    q "SELECT md5(string_agg(t, E'\n' ORDER BY t)) FROM (
         SELECT 'e' || x::text AS t FROM metrics.github_events AS x
         $(for t in $GH_FACT_TABLES $GH_DERIVED_TABLES; do echo "UNION ALL SELECT '$t' || x::text FROM metrics.$t AS x"; done)
       ) AS a"
}

# gh_same DESCRIPTION FILE_A FILE_B: one TAP line: the files are identical (diff shown).
gh_same() {
    local d
    d=$(diff "$2" "$3" | head -30)
    if [ -z "$d" ] && [ -s "$2" ]; then pass "$1"; else fail "$1" "${d:-both empty}"; fi
}
