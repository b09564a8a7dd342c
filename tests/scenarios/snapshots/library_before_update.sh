#!/usr/bin/env bash
# The new library serves the released 0.5.0 tables until ALTER EXTENSION metrics UPDATE runs:
# a database created with VERSION '0.5.0' (no project_id, no project_column, the old unique
# key and the old function signatures, bound to the symbols the library keeps for them)
# defines, backfills, collects, corrects and reads as before, and seals the same values as a
# fresh install of this version does over the same data (its whole-database rows).
source "$(dirname "$0")/../lib.bash"

plan 9

# fill DATABASE: the same definitions, days and correction in either database.
fill() {
    q_in "$1" "SELECT count(*) FROM metrics.install_preset('social', source_schema => 'regress_src')" \
      "SELECT count(*) FROM metrics.define_metric('average_post_length', 'average', source_table => 'posts',
                                                  source_schema => 'regress_src', value_column => 'length')" \
      "SELECT count(*) FROM metrics.define_metric('post_length_p90', 'percentile', source_table => 'posts',
                                                  source_schema => 'regress_src', value_column => 'length', percentile => 0.9)" \
      "SELECT count(*) FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-07')" \
      "SELECT count(*) FROM metrics.collect_daily_metrics('2025-06-08')" \
      "DELETE FROM regress_src.posts WHERE user_id <= 40 AND created_at >= '2025-06-03 00:00+00' AND created_at < '2025-06-04 00:00+00'" \
      "SELECT count(*) FROM metrics.recollect('2025-06-03', ARRAY['posts_created', 'posts_total'], 'spam removed')" >/dev/null
}
SEALED="SELECT metric_date, metric_type, metric_category, value, metadata, definition_version, distinct_sketch
        FROM metrics.daily_metrics ORDER BY 1, 2, 3"

fresh_db old
load_fixture
OLD=$DB
q_try "CREATE EXTENSION metrics VERSION '0.5.0'"
[ "$Q_STATUS" = 0 ] || bail_out "CREATE EXTENSION metrics VERSION '0.5.0' failed: $Q_ERR"
is "$(q "SELECT count(*) FROM pg_attribute WHERE attrelid = 'metrics.daily_metrics'::regclass AND attname = 'project_id'")" 0 \
   "0.5.0's daily_metrics has no project_id"
if fill "$OLD" 2>"$SCEN_TMP/old.err"; then
    pass "on 0.5.0's tables the new library defines, backfills, collects and corrects"
else
    fail "on 0.5.0's tables the new library defines, backfills, collects and corrects" "$(cat "$SCEN_TMP/old.err")"
fi
is "$(q "SELECT count(*) FROM metrics.metric_revisions")" 2 "the correction kept two revisions"

fresh_db new
load_fixture
NEW=$DB
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
fill "$NEW" || bail_out "filling the fresh database failed"

OLD_ROWS=$(q_in "$OLD" "$SEALED")
ok "the old database sealed values ($(wc -l <<<"$OLD_ROWS") rows)" test "$(wc -l <<<"$OLD_ROWS")" -ge 80
if [ "$OLD_ROWS" = "$(q_in "$NEW" "$SEALED")" ]; then
    pass "every sealed value equals a fresh install's"
else
    fail "every sealed value equals a fresh install's" \
        "$(diff -u --label 0.5.0 --label fresh <(echo "$OLD_ROWS") <(q_in "$NEW" "$SEALED") | head -40)"
fi
for read in "SELECT * FROM metrics.fetch_metrics('2025-06-01', '2025-06-08', aggregation => 'weekly') ORDER BY 1, 3" \
            "SELECT * FROM metrics.fetch_metrics('2025-06-01', '2025-06-08', ARRAY['posts_created', 'post_length_p90']) ORDER BY 1, 3" \
            "SELECT count(*) FROM metrics.activity_series(7, ARRAY['posts_created'])" \
            "SELECT metric_category, metric_date, value FROM metrics.current_metrics() ORDER BY 1"; do
    OLD_OUT=$(q_in "$OLD" "$read" 2>&1)
    is "$OLD_OUT" "$(q_in "$NEW" "$read" 2>&1)" "the old signatures answer as the new ones: ${read:0:60}"
done
done_testing
