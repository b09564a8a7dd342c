#!/usr/bin/env bash
# A redefinition in progress is never sealed in its old form.
#
# Session A redefines a metric (define_metric(..., replace => true), a new filter) inside an
# open transaction; session B collects (or backfills) meanwhile. B waits for A (on the
# definition's row), and once A commits it seals the value of the NEW definition, recording
# version 2; had A rolled back, B seals the old one, version 1. Repeated over many days so a
# race that only sometimes loses would be seen; each value is checked against a count made
# independently from the source table.
source "$(dirname "$0")/../lib.bash"

ROUNDS=8
plan $((ROUNDS * 4 + 3))

fresh_db
load_fixture
q "CREATE EXTENSION metrics" >/dev/null
q "SELECT * FROM metrics.define_metric('race_posts', 'created', source_table => 'posts', source_schema => 'regress_src')" >/dev/null \
    || bail_out "cannot define the metric"

# The count of a day's posts under a filter, from the source.
posts_on() { # DAY [STATUS]
    q "SELECT count(*) FROM regress_src.posts WHERE created_at >= '$1'::date::timestamptz
         AND created_at < ('$1'::date + 1)::timestamptz ${2:+AND status = '$2'}"
}

session_start a
session_start b
PID_B=$(session_backend b)
filters=("status = 'published'" "status = 'draft'")
for round in $(seq 1 "$ROUNDS"); do
    day=$(q "SELECT (date '2025-03-01' + $round * 3)::text")
    status=$([ $((round % 2)) -eq 0 ] && echo published || echo draft)
    call="SELECT * FROM metrics.collect_daily_metrics('$day');"
    [ $((round % 3)) -eq 0 ] && call="SELECT * FROM metrics.backfill_daily_metrics('$day', '$day');"
    session_run a "redefine$round" "BEGIN; SELECT 1 FROM metrics.define_metric('race_posts', 'created', source_table => 'posts', source_schema => 'regress_src', filter => \$f\$status = '$status'\$f\$, replace => true);"
    session_wait a "redefine$round" 30 || bail_out "A could not redefine"
    session_run b "collect$round" "$call"
    if wait_until 30 backend_waits_on_lock "$PID_B"; then
        pass "round $round: B's collection of $day waits for the redefinition"
    else
        fail "round $round: B's collection of $day waits for the redefinition"
    fi
    version_before=$(q "SELECT definition_version FROM metrics.metric_definitions WHERE metric_category = 'race_posts'")
    session_run a "commit$round" "COMMIT;"
    session_wait a "commit$round" 30 || bail_out "A could not commit"
    ok "round $round: B returns once A has committed" session_wait b "collect$round" 60
    is "$(q "SELECT value FROM metrics.daily_metrics WHERE metric_category = 'race_posts' AND metric_date = '$day'")" \
        "$(posts_on "$day" "$status")" "round $round: the value of $day is the new filter's ($status posts)"
    is "$(q "SELECT dm.definition_version = d.definition_version AND dm.definition_version > $version_before
             FROM metrics.daily_metrics dm JOIN metrics.metric_definitions d USING (metric_category)
             WHERE dm.metric_category = 'race_posts' AND dm.metric_date = '$day'")" t \
        "round $round: it records the new definition's version"
done

# A redefinition that is rolled back: B seals the definition as it stands.
day=2025-04-20
current=$(q "SELECT \"filter\" FROM metrics.metric_definitions WHERE metric_category = 'race_posts'")
session_run a redefine_last "BEGIN; SELECT 1 FROM metrics.define_metric('race_posts', 'created', source_table => 'posts', source_schema => 'regress_src', replace => true);"
session_wait a redefine_last 30 || bail_out "A could not redefine"
session_run b collect_last "SELECT * FROM metrics.collect_daily_metrics('$day');"
wait_until 30 backend_waits_on_lock "$PID_B" || diag "B did not wait"
session_run a rollback "ROLLBACK;"
ok "after A rolls back, B returns" session_wait b collect_last 60
status=$(grep -oE "'[a-z]+'" <<<"$current" | tr -d "'")
is "$(q "SELECT value FROM metrics.daily_metrics WHERE metric_category = 'race_posts' AND metric_date = '$day'")" \
    "$(posts_on "$day" "$status")" "and seals the definition that is still current ($current)"
ok "no session saw an error in any round" not grep -q ERROR "$SCEN_TMP"/session_a/out "$SCEN_TMP"/session_b/out
done_testing
