#!/usr/bin/env bash
# The DORA keys of a realistic five-week GitHub history (scenario.mjs: two repositories,
# production, production-eu, staging, qa and github-pages, failures, a rollback, redeploys,
# first deployments, a lost push, pending changes, incidents linked every way, hotfixes,
# workflow runs, unknown events; see its header) equal an independent computation from the
# same events (expected.mjs, from the contract in docs/development-metrics.md only).
#
# The events are recorded in the order GitHub sent them, a fifth by record_github_event and the
# rest by record_github_events in batches of 1..60. Then:
#   - every call returned what it should (recorded, kind, event_key; a batch's counts), and
#     metrics.github_events holds exactly the keys delivered;
#   - the derived facts (dora_deployments: outcome, finished_at, baseline, coverage, changes;
#     dora_changes: every change with the deployment that first shipped it per environment;
#     dora_incidents: the link of every incident) equal expected.mjs's;
#   - get_dora_metrics equals expected.mjs's rows (every column; numbers to 1e-9 relative)
#     for production (a tier of two environments), staging, testing, qa (a name), github-pages
#     (a name without a tier), all and *, per day, week (Monday-Sunday, clipped: the range
#     starts on a Wednesday) and month, with metrics.timezone UTC and Europe/Berlin (some
#     deployments are late in the UTC evening, the next day in Berlin, and the range crosses
#     the change to summer time), and for one repository given;
#   - explain_dora lists, for a few days, the deployments and changes expected.mjs says made
#     that day's numbers.
source "$(dirname "$0")/../lib.bash"
source "$(dirname "$0")/github.bash"
T_BEGIN=$SECONDS

gh_events
diag "$GH_N events"
gh_db keys

# --- recording --------------------------------------------------------------------------------
gh_plan "$SCEN_TMP/inorder" --order inorder --single 0.2 --batch-max 60 --seed 3
gh_deliver "$SCEN_TMP/inorder"
is "$?|$(cat "$SCEN_TMP/inorder.err")" "0|" "the $GH_N events are recorded in order without an error"
d=$(node "$GH_DIR/plan.mjs" check "$SCEN_TMP/inorder.json" "$SCEN_TMP/inorder.out")
if [ $? -eq 0 ]; then pass "every call returned recorded = true, its kind and its event_key (batches: events, recorded, 0 duplicates, unknown)"
else fail "every call returned recorded = true, its kind and its event_key (batches: events, recorded, 0 duplicates, unknown)" "$d"; fi
node "$GH_DIR/plan.mjs" keys "$SCEN_TMP/inorder.json" >"$SCEN_TMP/keys.json"
is "$(q "SELECT count(*) FROM metrics.github_events")" "$GH_N" "metrics.github_events has one row per event ($GH_N)"
node -e 'for (const k of JSON.parse(require("fs").readFileSync(process.argv[1])).known) console.log(k)' "$SCEN_TMP/keys.json" \
    | LC_ALL=C sort >"$SCEN_TMP/keys.expected"
q "SELECT event_key FROM metrics.github_events WHERE kind <> 'unknown' OR event_key LIKE 'delivery:%'" | LC_ALL=C sort >"$SCEN_TMP/keys.got"
gh_same "the event keys are the delivery ids where given, else the natural keys of the contract" "$SCEN_TMP/keys.expected" "$SCEN_TMP/keys.got"
is "$(q "SELECT string_agg(event || ':' || n, ',' ORDER BY event) FROM (SELECT event, count(*) AS n FROM metrics.github_events WHERE kind = 'unknown' GROUP BY 1) AS x")" \
    "ping:1,release:2" "ping and release are stored raw with kind unknown"
is "$(q "SELECT string_agg(name || '=' || coalesce(tier, '-'), ',' ORDER BY name) FROM metrics.environments")" \
    "github-pages=-,production=production,production-eu=production,qa=testing,staging=staging" \
    "metrics.environments: the default tiers (production-eu by its prefix; github-pages has none)"
is "$(q "SELECT string_agg(DISTINCT repository, ',') FROM metrics.github_deployments")" \
    "codertocat/hello-world,octocoders/hello-world" "repositories are lower-cased"

# --- the derived facts --------------------------------------------------------------------------
node "$GH_DIR/expected.mjs" tables "$GH_EVENTS" >"$SCEN_TMP/exp.tables.json" || bail_out "expected.mjs tables failed"
gh_tables >"$SCEN_TMP/got.tables.json" 2>"$SCEN_TMP/got.tables.err" || diag "$(cat "$SCEN_TMP/got.tables.err")"
d=$(node "$GH_DIR/compare.mjs" tables "$SCEN_TMP/exp.tables.json" "$SCEN_TMP/got.tables.json")
if [ $? -eq 0 ]; then
    pass "dora_deployments, dora_changes and dora_incidents equal the independent walk ($(node -e '
        const t = JSON.parse(require("fs").readFileSync(process.argv[1]));
        console.log(`${t.deployments.length} deployments, ${t.changes.length} changes, ${t.incidents.length} incidents`)' "$SCEN_TMP/exp.tables.json"))"
else
    fail "dora_deployments, dora_changes and dora_incidents equal the independent walk" "$d"
fi
# Each case of the scenario is there (so the comparison above is not of an empty history).
is "$(node -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1]));
    const n = (f) => t.deployments.filter(f).length;
    console.log([n((d) => d.coverage === "none"), n((d) => d.coverage === "partial"), n((d) => d.outcome === "failure"),
        n((d) => d.outcome === "error"), n((d) => d.outcome === null), n((d) => d.coverage === "complete" && d.changes === 0),
        t.incidents.map((i) => i.link ?? "none").sort().join(" ")].join("|"))' "$SCEN_TMP/exp.tables.json")" \
    "6|4|3|2|1|2|body_id body_id body_sha none window window window window" \
    "the history has 6 first deployments, 4 partial walks, 3 failures, 2 errors, 1 unfinished, 2 successes shipping nothing (a rollback, a redeploy), and incidents of every link"

# --- get_dora_metrics -----------------------------------------------------------------------------
gh_levels "$SCEN_TMP/levels.json"
for tz in UTC Europe/Berlin; do
    for env in production staging testing qa github-pages all '*'; do
        gh_check_rows "$GH_START" "$GH_END" "$env" day "$tz"
        gh_check_rows 2025-03-12 2025-04-09 "$env" week "$tz"
        gh_check_rows 2025-03-12 "$GH_END" "$env" month "$tz"
    done
done
gh_check_rows "$GH_START" "$GH_END" production week UTC octocoders/hello-world
# The two time zones really differ on this history (else the Berlin runs would test nothing new).
is "$(node -e '
    const f = (tz) => require("fs").readFileSync(`${process.argv[1]}/exp.all.day.${tz}.json`, "utf8");
    console.log(f("UTC") !== f("Europe_Berlin"))' "$SCEN_TMP")" true "(the days of UTC and Europe/Berlin give different rows)"

# --- explain_dora ---------------------------------------------------------------------------------
# The deployments finished that day (items 'deployment', id = deployment id) and the changes
# deployed that day (items 'change', id = environment:change key, details: environment and
# deployment id).
check_explain() { # DAY ENV TZ
    local day=$1 env=$2 tz=$3 d
    node "$GH_DIR/expected.mjs" explain "$GH_EVENTS" --day "$day" --env "$env" --repository "$GH_REPO" --tz "$tz" >"$SCEN_TMP/exp.explain.json"
    q "SET metrics.timezone = '$tz'" "SELECT json_build_object(
        'deployments', (SELECT coalesce(json_agg(json_build_object('id', id, 'environment', details->>'environment', 'outcome', details->>'outcome')), '[]')
                        FROM metrics.explain_dora('$GH_REPO', '$env', '$day') WHERE item = 'deployment'),
        'changes', (SELECT coalesce(json_agg(json_build_object('key', substr(id, length(details->>'environment') + 2), 'environment', details->>'environment',
                                                              'deployment', details->>'deployment_id')), '[]')
                    FROM metrics.explain_dora('$GH_REPO', '$env', '$day') WHERE item = 'change'))" >"$SCEN_TMP/got.explain.json" 2>&1
    d=$(node "$GH_DIR/compare.mjs" explain "$SCEN_TMP/exp.explain.json" "$SCEN_TMP/got.explain.json" 2>&1)
    if [ $? -eq 0 ]; then
        pass "explain_dora('$GH_REPO', '$env', '$day') in $tz lists the expected $(node -e '
            const t = JSON.parse(require("fs").readFileSync(process.argv[1]));
            console.log(`${t.deployments.length} deployments and ${t.changes.length} changes`)' "$SCEN_TMP/exp.explain.json")"
    else
        fail "explain_dora('$GH_REPO', '$env', '$day') in $tz lists the expected deployments and changes" "$d"
    fi
}
check_explain 2025-03-12 all UTC
check_explain 2025-03-13 all Europe/Berlin
check_explain 2025-03-18 production UTC
check_explain 2025-03-31 all UTC
check_explain 2025-04-08 production Europe/Berlin

diag "runtime: $((SECONDS - T_BEGIN)) s"
done_testing
