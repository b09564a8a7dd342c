#!/usr/bin/env bash
# Delivery order and redeliveries do not change anything: the scenario's events (scenario.mjs)
# recorded in order, then in three shuffled orders with duplicates, give the same facts,
# derived tables and DORA keys; a redelivery returns recorded = false and changes nothing.
#
#   reference: the events in order, in batches of 1..40.
#   seeds 1..3: shuffled (so statuses come before their deployment, merges before their push,
#     issue edits and closes before the opening, a success before the status that makes it a
#     failure), mixing record_github_event (a third of the deliveries) and batches of 1..60; about
#     8% of the events delivered again later (the same delivery id, or the same event without a
#     delivery id again) and 5% again without their delivery id (a new event key, the same
#     fact). Each: every call returned what a serial run must (recorded true only for a new
#     key, batches' duplicates counted), github_events holds exactly the keys delivered, and
#     the sorted dumps of github_deployments, github_deployment_statuses, github_pull_requests,
#     github_pushes, github_workflow_runs, github_issues, dora_deployments, dora_deployed_shas
#     and dora_changes, and get_dora_metrics (production, staging, all; day and week; UTC and
#     Europe/Berlin), are identical to the reference's.
#   then, on the reference: 30 events redelivered one by one and as a batch, with their
#     delivery ids, and 10 events without a delivery id twice: every call says recorded =
#     false (batches: recorded 0, all duplicates) and the fingerprint of every metrics table,
#     received_at included, is unchanged; 10 events delivered once more without their delivery
#     id are recorded (new keys) but facts and derived tables stay the same.
source "$(dirname "$0")/../lib.bash"
source "$(dirname "$0")/github.bash"
T_BEGIN=$SECONDS
SEEDS="1 2 3"

gh_events
diag "$GH_N events"

# keys_of PLAN: the known keys of a plan, sorted bytewise, one a line.
keys_of() { node -e 'for (const k of JSON.parse(require("fs").readFileSync(0)).known) console.log(k)' < <(node "$GH_DIR/plan.mjs" keys "$1.json") | LC_ALL=C sort; }
db_keys() { q "SELECT event_key FROM metrics.github_events WHERE event_key NOT LIKE 'ping:%' AND event_key NOT LIKE 'release:%'" | LC_ALL=C sort; }
# answers DIR: what get_dora_metrics returns for a few environments, grains and zones.
answers() {
    local env grain tz
    for tz in UTC Europe/Berlin; do for env in production staging all; do for grain in day week; do
        echo "== $env $grain $tz"
        gh_rows "$GH_START" "$GH_END" "$env" "$grain" "$tz"
    done; done; done
}
# check_run NAME PREFIX: the checks of one database after its plan ran.
check_run() {
    local name=$1 p=$2 d
    d=$(node "$GH_DIR/plan.mjs" check "$p.json" "$p.out")
    if [ $? -eq 0 ]; then pass "$name: every call returned what a serial delivery must (recorded only for a new key)"
    else fail "$name: every call returned what a serial delivery must (recorded only for a new key)" "$d"; fi
    keys_of "$p" >"$p.keys.expected"
    db_keys >"$p.keys.got"
    gh_same "$name: metrics.github_events holds exactly the keys delivered ($(wc -l <"$p.keys.expected") known ones)" "$p.keys.expected" "$p.keys.got"
    gh_dump >"$p.dump"
    gh_same "$name: facts and derived tables (sorted dumps) equal the in-order run's" "$SCEN_TMP/ref.dump" "$p.dump"
    answers >"$p.answers" 2>&1
    gh_same "$name: get_dora_metrics (production, staging, all; day, week; UTC, Europe/Berlin) equals the in-order run's" \
        "$SCEN_TMP/ref.answers" "$p.answers"
}

# --- the reference ---------------------------------------------------------------------------------
gh_db ref
REF_DB=$DB
gh_plan "$SCEN_TMP/ref" --order inorder --batch-max 40 --seed 7
gh_deliver "$SCEN_TMP/ref"
is "$?|$(cat "$SCEN_TMP/ref.err")" "0|" "in order: the $GH_N events are recorded without an error"
gh_dump >"$SCEN_TMP/ref.dump"
answers >"$SCEN_TMP/ref.answers" 2>&1
like "$(grep -c '^\[{' "$SCEN_TMP/ref.answers")" '^12$' "in order: the 12 reference answers are rows"
is "$(q "SELECT count(*) > 50 FROM metrics.dora_changes")|$(q "SELECT count(*) FROM metrics.github_events")" "t|$GH_N" \
    "in order: changes were derived and every event is stored once"

# --- shuffled, with duplicates ---------------------------------------------------------------------
for seed in $SEEDS; do
    gh_db "s$seed"
    p="$SCEN_TMP/seed$seed"
    gh_plan "$p" --order shuffle --seed "$seed" --single 0.33 --batch-max 60 --dup 0.08 --pair 0.05 --strip 0.1
    gh_deliver "$p"
    is "$?|$(cat "$p.err")" "0|" "seed $seed: the shuffled deliveries with duplicates are recorded without an error"
    check_run "seed $seed" "$p"
done
# The shuffles really reorder: in seed 1 some status comes before its deployment's event, and
# some pull request is closed before it is opened.
is "$(node -e '
    const plan = JSON.parse(require("fs").readFileSync(process.argv[1]));
    const ev = JSON.parse(require("fs").readFileSync(plan.file));
    const order = plan.calls.flatMap((c) => c.deliveries.map((d) => d.i));
    const pos = new Map(); order.forEach((i, k) => { if (!pos.has(i)) pos.set(i, k); });
    let statusFirst = 0, closedFirst = 0;
    const depEvent = new Map(), opened = new Map();
    ev.forEach((e, i) => { if (e.event === "deployment") depEvent.set(e.payload.deployment.id, i); if (e.event === "pull_request" && e.payload.action === "opened") opened.set(e.payload.pull_request.id, i); });
    ev.forEach((e, i) => {
        if (e.event === "deployment_status" && depEvent.has(e.payload.deployment.id) && pos.get(i) < pos.get(depEvent.get(e.payload.deployment.id))) statusFirst++;
        if (e.event === "pull_request" && e.payload.action === "closed" && pos.get(i) < pos.get(opened.get(e.payload.pull_request.id))) closedFirst++;
    });
    console.log(statusFirst > 10 && closedFirst > 10)' "$SCEN_TMP/seed1.json")" true \
    "(seed 1 delivers statuses before their deployment and closes before openings)"

# --- redeliveries change nothing ------------------------------------------------------------------
DB=$REF_DB
FP=$(gh_fingerprint)
# 30 events with a delivery id, spread over the list, one by one and then as one batch.
REDELIVER=$(node -e '
    const ev = JSON.parse(require("fs").readFileSync(process.argv[1]));
    const w = ev.filter((e) => e.delivery_id).map((e) => e.i);
    console.log(Array.from({ length: 30 }, (_, k) => w[Math.floor(k * w.length / 30)]).join(","))' "$GH_EVENTS")
got=$(q "SELECT string_agg(r.recorded::text, ',') FROM unnest('{$REDELIVER}'::int[]) AS u(i) JOIN scen.events AS x USING (i),
         metrics.record_github_event(x.e->>'event', x.e->'payload', x.e->>'delivery_id', x.e->>'environment') AS r" 2>&1)
is "$got" "$(printf 'false,%.0s' $(seq 1 29))false" "30 redeliveries (same delivery id) one by one: each returns recorded = false"
got=$(q "SELECT r.events || '|' || r.recorded || '|' || r.duplicates FROM metrics.record_github_events((
             SELECT jsonb_agg(x.e - 'i') FROM unnest('{$REDELIVER}'::int[]) AS u(i) JOIN scen.events AS x USING (i))) AS r" 2>&1)
is "$got" "30|0|30" "the same 30 as one batch: 30 events, 0 recorded, 30 duplicates"
NODELIVERY=$(node -e '
    const ev = JSON.parse(require("fs").readFileSync(process.argv[1]));
    const known = new Set(["deployment", "deployment_status", "pull_request", "push", "workflow_run", "issues"]);
    const w = ev.filter((e) => !e.delivery_id && known.has(e.event)).map((e) => e.i);
    console.log(Array.from({ length: 10 }, (_, k) => w[Math.floor(k * w.length / 10)]).join(","))' "$GH_EVENTS")
got=$(q "SELECT string_agg(r.recorded::text, ',') FROM unnest('{$NODELIVERY}'::int[]) AS u(i) JOIN scen.events AS x USING (i),
         metrics.record_github_event(x.e->>'event', x.e->'payload', NULL, x.e->>'environment') AS r" 2>&1)
is "$got" "$(printf 'false,%.0s' $(seq 1 9))false" "10 events without a delivery id delivered a second time: each returns recorded = false"
is "$(gh_fingerprint)" "$FP" "after the redeliveries every metrics table (received_at included) is unchanged"

gh_dump >"$SCEN_TMP/ref.dump.before"
EVENTS_BEFORE=$(q "SELECT count(*) FROM metrics.github_events")
PAIRS=$(cut -d, -f1-10 <<<"$REDELIVER")
got=$(q "SELECT string_agg(r.recorded::text || ':' || (r.event_key LIKE 'delivery:%')::text, ',') FROM unnest('{$PAIRS}'::int[]) AS u(i) JOIN scen.events AS x USING (i),
         metrics.record_github_event(x.e->>'event', x.e->'payload', NULL, x.e->>'environment') AS r" 2>&1)
is "$got" "$(printf 'true:false,%.0s' $(seq 1 9))true:false" \
    "10 events delivered once more without their delivery id: recorded under their natural key"
is "$(q "SELECT count(*) FROM metrics.github_events")" "$((EVENTS_BEFORE + 10))" "... as 10 more events"
gh_dump >"$SCEN_TMP/ref.dump.after"
gh_same "... but the facts and derived tables are the same (one fact per thing)" "$SCEN_TMP/ref.dump.before" "$SCEN_TMP/ref.dump.after"

diag "runtime: $((SECONDS - T_BEGIN)) s"
done_testing
