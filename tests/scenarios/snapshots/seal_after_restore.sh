#!/usr/bin/env bash
# The seal survives a dump and restore. A database with sealed values (a backfill, a
# collection, a correction by recollect) is dumped with pg_dump and restored into a new
# database; there every row of daily_metrics and metric_revisions is identical (the full
# ordered text of every column), and UPDATE, DELETE and TRUNCATE of them still fail for the
# superuser (42501) and change nothing. recollect, the one correction path, still works there.
source "$(dirname "$0")/../lib.bash"

plan 22

fresh_db
load_fixture
SRC=$DB
q "CREATE EXTENSION metrics" \
  "SELECT count(*) FROM metrics.install_preset('social', source_schema => 'regress_src')" \
  "SELECT count(*) FROM metrics.define_metric('average_post_length', 'average', source_table => 'posts',
                                              source_schema => 'regress_src', value_column => 'length')" \
  "SELECT count(*) FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-07')" \
  "SELECT count(*) FROM metrics.collect_daily_metrics('2025-06-08')" \
  "DELETE FROM regress_src.posts WHERE user_id <= 40 AND created_at >= '2025-06-03 00:00+00' AND created_at < '2025-06-04 00:00+00'" \
  "SELECT count(*) FROM metrics.recollect('2025-06-03', ARRAY['posts_created', 'posts_total'], 'spam removed')" >/dev/null \
    || bail_out "cannot fill $SRC with sealed values"

# The full text of a table, every column, in a fixed order.
table_text() { # table_text DATABASE TABLE ORDER_BY
    q_in "$1" "COPY (SELECT * FROM metrics.$2 ORDER BY $3) TO STDOUT"
}
DM_ORDER="metric_date, metric_type, metric_category"
REV_ORDER="metric_date, metric_category, revised_at, id"
SEALED=$(table_text "$SRC" daily_metrics "$DM_ORDER")
REVISIONS=$(table_text "$SRC" metric_revisions "$REV_ORDER")
SEALED_ROWS=$(wc -l <<<"$SEALED")
ok "the source database has sealed values ($SEALED_ROWS rows)" test "$SEALED_ROWS" -ge 80
is "$(wc -l <<<"$REVISIONS")" 2 "and two revisions"

fresh_db restored
DST=$DB
if pg_dump -d "$SRC" -Fc -f "$SCEN_TMP/sealed.dump" 2>"$SCEN_TMP/dump.err" \
    && pg_restore -d "$DST" --exit-on-error "$SCEN_TMP/sealed.dump" 2>"$SCEN_TMP/restore.err"; then
    pass "the database dumps and restores"
else
    fail "the database dumps and restores" "$(cat "$SCEN_TMP/dump.err" "$SCEN_TMP/restore.err")"
fi

is "$(table_text "$DST" daily_metrics "$DM_ORDER")" "$SEALED" "every sealed row is restored identically (all columns)"
is "$(table_text "$DST" metric_revisions "$REV_ORDER")" "$REVISIONS" "every revision is restored identically"
is "$(q_in "$DST" "SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger
                   WHERE tgrelid IN ('metrics.daily_metrics'::regclass, 'metrics.metric_revisions'::regclass) AND NOT tgisinternal")" \
   "daily_metrics_closed_days:A,daily_metrics_no_truncate:A,daily_metrics_sealed:A,metric_revisions_no_truncate:A,metric_revisions_sealed:A" \
   "the restored tables have their sealing triggers, enabled ALWAYS"
is "$(q_in "$DST" "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" t "the checks below run as a superuser"

# refused DESCRIPTION SQL: the statement fails with 42501 in the restored database.
refused() {
    Q_DB=$DST q_try "$2"
    if [ "$Q_STATUS" != 0 ] && [ "$Q_SQLSTATE" = 42501 ]; then
        pass "$1"
    else
        fail "$1" "status $Q_STATUS, SQLSTATE '$Q_SQLSTATE': $Q_ERR$Q_OUT"
    fi
}
refused "UPDATE of a sealed value is refused (42501)" \
    "UPDATE metrics.daily_metrics SET value = value + 1 WHERE metric_date = '2025-06-05' AND metric_category = 'posts_created'"
refused "UPDATE of every sealed row's metadata is refused" "UPDATE metrics.daily_metrics SET metadata = '{}'"
refused "DELETE of a sealed day is refused" "DELETE FROM metrics.daily_metrics WHERE metric_date = '2025-06-05'"
refused "DELETE of every sealed row is refused" "DELETE FROM metrics.daily_metrics"
refused "TRUNCATE is refused" "TRUNCATE metrics.daily_metrics"
refused "TRUNCATE ... CASCADE is refused" "TRUNCATE metrics.daily_metrics CASCADE"
refused "UPDATE of a revision is refused" "UPDATE metrics.metric_revisions SET reason = 'rewritten'"
refused "DELETE of a revision is refused" "DELETE FROM metrics.metric_revisions"
refused "TRUNCATE of the revisions is refused" "TRUNCATE metrics.metric_revisions"
is "$(table_text "$DST" daily_metrics "$DM_ORDER")" "$SEALED" "after the refusals every sealed row is still identical"
is "$(table_text "$DST" metric_revisions "$REV_ORDER")" "$REVISIONS" "and so is every revision"

# Collecting a sealed day again records nothing; recollect still corrects, and keeps the old value.
DB=$DST
is "$(q "SELECT metrics_collected || ' ' || status FROM metrics.collect_daily_metrics('2025-06-05')")" "0 skipped" \
    "collecting a restored day again records nothing"
q "DELETE FROM regress_src.posts WHERE user_id <= 100 AND created_at >= '2025-06-05 00:00+00' AND created_at < '2025-06-06 00:00+00'" >/dev/null
OLD=$(q "SELECT value FROM metrics.daily_metrics WHERE metric_date = '2025-06-05' AND metric_category = 'posts_created'")
NEW=$(q "SELECT count(*) FROM regress_src.posts WHERE created_at >= '2025-06-05 00:00+00' AND created_at < '2025-06-06 00:00+00'")
ok "posts of 2025-06-05 were deleted in the restored database ($OLD sealed, $NEW left)" test "$NEW" -lt "$OLD"
is "$(q "SELECT old_value || ' ' || new_value || ' ' || changed FROM metrics.recollect('2025-06-05', ARRAY['posts_created'], 'after restore')")" \
    "$OLD $NEW true" "recollect corrects a restored value"
is "$(q "SELECT old_value || ' ' || new_value FROM metrics.metric_revisions WHERE reason = 'after restore'")" "$OLD $NEW" \
    "and keeps the old value in a revision"

done_testing
