#!/usr/bin/env bash
# Updating a database from a released version gives the same extension as a fresh install,
# and keeps its data.
#
# Database A gets the released version FROM (0.1.0: the frozen sql/metrics--0.1.0.sql,
# installed by install_extension), data through FROM's API (the social preset, a custom
# metric, a deactivated one, a backfill, a collection, a correction by recollect), then
# ALTER EXTENSION metrics UPDATE to the control file's default_version. Database B gets a
# fresh CREATE EXTENSION metrics. Then:
#   - the catalog fingerprints of A and B (tests/upgrade/fingerprint.sql: every object of the
#     extension, its attributes, ACLs, policies, comments, init privileges...) are identical;
#     a difference is printed as a unified diff (lines with - are A only, + are B only);
#   - A's rows (all four tables, FROM's columns) are exactly what they were before the update;
#   - A still works: a collection and a backfill of new days seal the same values in A and B,
#     and fetch_metrics answers the same.
# When the default version is FROM itself there is nothing to update: A and B are two fresh
# installs and must be identical. When it is not, a missing update path fails the test.
# Finally, for every released version frozen as sql/metrics--<version>.sql: it is installed,
# there is an update path from it to the default version, and (for versions other than FROM)
# an empty database updated from it matches a fresh install too.
source "$(dirname "$0")/lib.bash"

FROM=${UPGRADE_FROM:-0.1.0}
# UPGRADE_PLAIN=1: plain PostgreSQL, without Supabase's roles (tests/fixtures/supabase.sql is
# not loaded); upgrade_plain.sh runs this script so on a cluster of its own.
PLAIN=${UPGRADE_PLAIN:-0}
FINGERPRINT="$REPO_ROOT/tests/upgrade/fingerprint.sql"
# The full diffs stay next to the throwaway cluster for a look after the run.
DIFF_DIR=${CLUSTER_DIR:-$SCEN_TMP}

# The server's view of the installed extension: its extension directory and default version.
DB=postgres
SHAREDIR=$(q "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'") || bail_out "cannot ask the server for its SHAREDIR"
EXTDIR="$SHAREDIR/extension"
DEFAULT=$(q "SELECT default_version FROM pg_available_extensions WHERE name = 'metrics'")
[ -n "$DEFAULT" ] || bail_out "the metrics extension is not installed in $EXTDIR"
if [ "$FROM" = "$DEFAULT" ]; then
    diag "the default version is $FROM itself: A and B are two fresh installs of $FROM"
else
    diag "updating from $FROM to the default version $DEFAULT"
fi
CRATE_VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$REPO_ROOT/Cargo.toml" | head -1)
is "$DEFAULT" "$CRATE_VERSION" "the installed default_version is the crate's version in Cargo.toml (else the installed build is stale)"

# FROM's install script must be the frozen one: a different file would test another update.
# (When FROM is the default version, install_extension keeps the build's own script.)
if [ "$FROM" != "$DEFAULT" ]; then
    ok "the installed metrics--$FROM.sql is the frozen sql/metrics--$FROM.sql" \
        cmp -s "$REPO_ROOT/sql/metrics--$FROM.sql" "$EXTDIR/metrics--$FROM.sql"
fi

# load_supabase: Supabase's roles and helpers into $DB (not with UPGRADE_PLAIN=1).
load_supabase() {
    [ "$PLAIN" = 1 ] && return 0
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$REPO_ROOT/tests/fixtures/supabase.sql" >/dev/null \
        || bail_out "cannot load tests/fixtures/supabase.sql into $DB"
}
if [ "$PLAIN" = 1 ]; then
    DB=postgres
    is "$(q "SELECT count(*) FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator')")" 0 \
        "plain PostgreSQL: the cluster has none of Supabase's roles"
fi

# new_db SUFFIX: a database with Supabase's roles and helpers (unless plain) and the social fixture.
new_db() {
    fresh_db "$1"
    load_supabase
    load_fixture
}

# fingerprint DATABASE FILE. FP_IGNORE, when set, is an extended regex of lines left out.
fingerprint() {
    psql -X -qAt -v ON_ERROR_STOP=1 -d "$1" -f "$FINGERPRINT" >"$2.all" 2>"$2.err" \
        || bail_out "tests/upgrade/fingerprint.sql failed in $1: $(cat "$2.err")"
    if [ -n "${FP_IGNORE:-}" ]; then grep -Ev "$FP_IGNORE" "$2.all" >"$2" || true; else cp "$2.all" "$2"; fi
}

# same_fingerprint NAME DESCRIPTION DB_A LABEL_A DB_B LABEL_B: passes when the two
# fingerprints are identical; otherwise prints the unified diff (A's lines with -, B's with +)
# and keeps it as NAME.diff in the cluster's directory.
same_fingerprint() {
    local name=$1 desc=$2 a=$3 la=$4 b=$5 lb=$6 diff n
    fingerprint "$a" "$SCEN_TMP/$a.fp"
    fingerprint "$b" "$SCEN_TMP/$b.fp"
    diag "fingerprint of $la: $(wc -l <"$SCEN_TMP/$a.fp") lines"
    if diff -u --label "$la" --label "$lb" "$SCEN_TMP/$a.fp" "$SCEN_TMP/$b.fp" >"$DIFF_DIR/$name.diff"; then
        pass "$desc"
        rm -f "$DIFF_DIR/$name.diff"
    else
        n=$(grep -c '^[-+][^-+]' "$DIFF_DIR/$name.diff")
        diff=$(head -400 "$DIFF_DIR/$name.diff")
        [ "$(wc -l <"$DIFF_DIR/$name.diff")" -gt 400 ] && diff+=$'\n'"... (cut; the whole diff is in $DIFF_DIR/$name.diff)"
        fail "$desc" "$n lines differ (- only in $la, + only in $lb):
$diff"
    fi
}

# The rows of the four tables, in the columns the table has now (call before the update and
# pass the same column lists after, so columns an update adds are not compared).
TABLES=(metric_definitions daily_metrics metric_collection_log metric_revisions)
declare -A COLS=()
snapshot() {
    local out=$1 t
    : >"$out"
    for t in "${TABLES[@]}"; do
        [ -n "${COLS[$t]:-}" ] || COLS[$t]=$(q "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
                                                WHERE attrelid = 'metrics.$t'::regclass AND attnum > 0 AND NOT attisdropped")
        echo "== metrics.$t (${COLS[$t]})" >>"$out"
        q "COPY (SELECT ${COLS[$t]} FROM metrics.$t ORDER BY 1) TO STDOUT" >>"$out" 2>&1 || echo "(query failed)" >>"$out"
    done
}

# fill_social: the same definitions in A and B, through the API of the oldest version.
fill_social() {
    q "SELECT count(*) FROM metrics.install_preset('social', source_schema => 'regress_src')" \
      "SELECT count(*) FROM metrics.define_metric('published_posts', 'created', source_table => 'posts',
                                                  source_schema => 'regress_src', filter => 'status = ''published''')" \
      "SELECT count(*) FROM metrics.define_metric('average_post_length', 'average', source_table => 'posts',
                                                  source_schema => 'regress_src', value_column => 'length')" \
      "SELECT metrics.deactivate_metric('tracks_uploaded')" >/dev/null
}
# The spam cleanup both databases get: posts of 2025-06-03 by users 1-40 (their comments go too).
SPAM_DELETE="DELETE FROM regress_src.posts WHERE user_id <= 40
             AND created_at >= '2025-06-03 00:00+00' AND created_at < '2025-06-04 00:00+00'"

# The owner's own choices, made after CREATE EXTENSION where the version has access levels: a
# plain role with the read level, and a delegate of the owner level. An update must leave
# them what they are, grants made after the install: pg_dump dumps those, but privileges
# granted inside an extension script become the objects' initial privileges, which it does
# not dump. (The roles are the cluster's, so they are made once and dropped last.)
CHOICE_READER=regress_metrics_upgrade_reader
CHOICE_DELEGATE=regress_metrics_upgrade_delegate
DB=postgres
q "DO \$\$ BEGIN
       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$CHOICE_READER') THEN CREATE ROLE $CHOICE_READER LOGIN; END IF;
       IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$CHOICE_DELEGATE') THEN CREATE ROLE $CHOICE_DELEGATE LOGIN; END IF;
   END \$\$" >/dev/null || bail_out "cannot create the roles of the owner's choices"
at_exit "psql -X -q -d postgres -c 'DROP ROLE IF EXISTS $CHOICE_READER, $CHOICE_DELEGATE'"
choices_possible() { [ "$(q "SELECT to_regprocedure('metrics.grant_api_access(name,text)') IS NOT NULL")" = t ]; }
make_choices() {
    q "SELECT count(*) FROM metrics.grant_api_access('$CHOICE_READER', 'read')" \
      "GRANT EXECUTE ON FUNCTION metrics.grant_api_access(name, text) TO $CHOICE_DELEGATE" >/dev/null
}

# --- A: the released version, with data -------------------------------------------------
new_db a
A=$DB
q_try "CREATE EXTENSION metrics VERSION '$FROM'"
[ "$Q_STATUS" = 0 ] || bail_out "CREATE EXTENSION metrics VERSION '$FROM' failed: $Q_ERR"
is "$(q "SELECT extversion FROM pg_extension WHERE extname = 'metrics'")" "$FROM" "A has version $FROM"

fill_social || bail_out "defining the metrics in A failed"
CHOICES=false
if choices_possible; then
    make_choices || bail_out "making the owner's choices in A failed"
    CHOICES=true
    diag "A: $CHOICE_READER has the read level and $CHOICE_DELEGATE may grant access (owner's choices)"
fi
is "$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE is_active) FROM metrics.metric_definitions")" "11 10" \
    "A: 11 metrics (the social preset and two more), one of them inactive"
is "$(q "SELECT dates_processed || ' ' || total_metrics FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-07')")" "7 70" \
    "A: backfill of 2025-06-01..07 seals 7 days x 10 metrics"
is "$(q "SELECT metrics_collected || ' ' || status FROM metrics.collect_daily_metrics('2025-06-08')")" "10 completed" \
    "A: collection of 2025-06-08 seals 10 values"
DELETED=$(q "WITH d AS ($SPAM_DELETE RETURNING 1) SELECT count(*) FROM d")
ok "A: $DELETED spam posts of 2025-06-03 are deleted" test "$DELETED" -gt 0
is "$(q "SELECT string_agg(metric_category || ':' || changed, ',' ORDER BY metric_category)
         FROM metrics.recollect('2025-06-03', ARRAY['posts_created', 'published_posts', 'posts_total'], 'spam posts removed')")" \
    "posts_created:true,posts_total:true,published_posts:true" "A: recollect of 2025-06-03 corrects three values"
is "$(q "SELECT count(*) FROM metrics.metric_revisions WHERE reason = 'spam posts removed'")" 3 "A: with three revisions"
LOG_ROWS=$(q "SELECT count(*) FROM metrics.metric_collection_log")
is "$LOG_ROWS" 3 "A: three log rows (backfill, collect, recollect)"
snapshot "$SCEN_TMP/a-before.txt"
diag "A before the update: $(q "SELECT count(*) FROM metrics.daily_metrics") sealed values, $LOG_ROWS log rows"

# --- the update -----------------------------------------------------------------------------
q_try "ALTER EXTENSION metrics UPDATE"
UPDATED=$Q_STATUS
if [ "$FROM" = "$DEFAULT" ]; then
    is "$UPDATED" 0 "ALTER EXTENSION metrics UPDATE: nothing to do, $FROM is the default version (A and B are both fresh installs)"
elif [ "$UPDATED" = 0 ]; then
    pass "ALTER EXTENSION metrics UPDATE from $FROM to $DEFAULT succeeds"
else
    fail "ALTER EXTENSION metrics UPDATE from $FROM to $DEFAULT succeeds" "$Q_ERR
update scripts in $EXTDIR: $(cd "$EXTDIR" && ls metrics--*--*.sql 2>/dev/null | tr '\n' ' ')
an update from $FROM to $DEFAULT needs sql/metrics--$FROM--$DEFAULT.sql (or a chain of such scripts)"
fi
is "$(q "SELECT extversion FROM pg_extension WHERE extname = 'metrics'")" "$DEFAULT" "A now has the default version $DEFAULT"

# --- B: a fresh install of the default version ----------------------------------------------
new_db b
B=$DB
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed in B"
if $CHOICES; then
    make_choices || bail_out "making the owner's choices in B failed"
fi
is "$(q "SELECT extversion FROM pg_extension WHERE extname = 'metrics'")" "$DEFAULT" "B: a fresh CREATE EXTENSION metrics installs $DEFAULT"

# The grants an update gives the owner's chosen roles on the objects it creates are initial
# privileges (PostgreSQL records every grant an extension script makes so), while a fresh
# install's owner grants them afterwards, as ordinary ones: those init-privs lines are left
# out. The privileges themselves (the acl lines) are compared.
if $CHOICES; then
    FP_IGNORE="^init privs of .* \(extension\): ($CHOICE_READER|$CHOICE_DELEGATE) = "
fi
# Even when the update failed: the diff is then what an update script has to do.
same_fingerprint "upgrade-from-$FROM" "the catalog of A (updated from $FROM) is identical to B's (fresh $DEFAULT)" \
    "$A" "A: $FROM updated to $DEFAULT" "$B" "B: fresh $DEFAULT"

# --- A's data and behaviour after the update ------------------------------------------------
if [ "$UPDATED" != 0 ]; then
    diag "the update failed: A's data and behaviour after it are not checked"
else
    DB=$A
    snapshot "$SCEN_TMP/a-after.txt"
    if diff -u --label "A before the update" --label "A after the update" \
        "$SCEN_TMP/a-before.txt" "$SCEN_TMP/a-after.txt" >"$SCEN_TMP/data.diff"; then
        pass "every row of A's four tables is unchanged by the update"
    else
        fail "every row of A's four tables is unchanged by the update" "$(head -100 "$SCEN_TMP/data.diff")"
    fi

    # B gets the same definitions and the same source data; then both seal new days.
    DB=$B
    fill_social || bail_out "defining the metrics in B failed"
    q "$SPAM_DELETE" >/dev/null
    for DB in "$A" "$B"; do
        out=$(q "SELECT * FROM metrics.collect_daily_metrics('2025-06-20')" \
                "SELECT * FROM metrics.backfill_daily_metrics('2025-06-10', '2025-06-14')" 2>&1) \
            || fail "collect 2025-06-20 and backfill 2025-06-10..14 in $DB" "$out"
    done
    sealed="SELECT metric_date, metric_type, metric_category, value, metadata FROM metrics.daily_metrics
            WHERE metric_date = '2025-06-20' OR metric_date BETWEEN '2025-06-10' AND '2025-06-14' ORDER BY 1, 2, 3"
    A_NEW=$(q_in "$A" "$sealed")
    B_NEW=$(q_in "$B" "$sealed")
    is "$(wc -l <<<"$A_NEW")" 60 "after the update A seals 6 new days x 10 metrics"
    if [ "$A_NEW" = "$B_NEW" ]; then
        pass "and they equal B's values for the same days"
    else
        fail "and they equal B's values for the same days" \
            "$(diff -u --label A --label B <(echo "$A_NEW") <(echo "$B_NEW") | head -60)"
    fi
    fetch="SELECT * FROM metrics.fetch_metrics('2025-06-10', '2025-06-20', aggregation => 'weekly') ORDER BY 1, 3"
    A_FETCH=$(q_in "$A" "$fetch" 2>&1)
    is "$A_FETCH" "$(q_in "$B" "$fetch" 2>&1)" "fetch_metrics over them answers the same in A and B"
    is "$(q_in "$A" "SELECT count(*) FROM metrics.metric_collection_log")" "$((LOG_ROWS + 2))" \
        "A's log has the two new runs after the three old ones"

    # A dump of the updated database restores, into an empty database, with the same catalog
    # and the same access (the roles are the cluster's).
    fresh_db restored
    C=$DB
    if pg_dump -d "$A" -Fc -f "$SCEN_TMP/a.dump" 2>"$SCEN_TMP/dump.err" \
        && pg_restore -d "$C" --exit-on-error "$SCEN_TMP/a.dump" 2>"$SCEN_TMP/restore.err"; then
        pass "A, updated, dumps and restores"
        # pg_dump leaves out initial privileges: the chosen roles' grants on what the update
        # created are given again, as docs/upgrading.md says to do after a restore.
        if $CHOICES; then
            q "SELECT count(*) FROM metrics.grant_api_access('$CHOICE_READER', 'read')" >/dev/null
        fi
        same_fingerprint "restore-of-$FROM-updated" "the restored database has the catalog of A (privileges included)" \
            "$A" "A: $FROM updated to $DEFAULT" "$C" "A dumped and restored"
        if $CHOICES; then
            is "$(psql -X -qAt -U "$CHOICE_READER" -d "$C" -c "SELECT count(*) FROM metrics.fetch_metrics('2025-06-01', '2025-06-07')" 2>&1)" \
               "$(q_in "$A" "SELECT count(*) FROM metrics.fetch_metrics('2025-06-01', '2025-06-07')")" \
               "after the restore, the role given the read level before the update still reads the metrics"
            is "$(q_in "$C" "SELECT has_function_privilege('$CHOICE_DELEGATE', 'metrics.grant_api_access(name,text)', 'EXECUTE')")" t \
               "and the delegate still holds the owner level"
        fi
    else
        fail "A, updated, dumps and restores" "$(cat "$SCEN_TMP/dump.err" "$SCEN_TMP/restore.err")"
    fi
fi

# --- every released version can reach the default version ------------------------------------
released=()
for f in "$REPO_ROOT"/sql/metrics--*.sql; do
    v=$(basename "$f" .sql)
    v=${v#metrics--}
    [[ $v == *--* ]] || released+=("$v")
done
ok "at least one released version is frozen in sql/ (sql/metrics--<version>.sql)" test ${#released[@]} -gt 0
DB=postgres
for v in "${released[@]}"; do
    is "$(q "SELECT count(*) FROM pg_available_extension_versions WHERE name = 'metrics' AND version = '$v'")" 1 \
        "released version $v is installed (run install_extension)"
    [ "$v" = "$DEFAULT" ] && continue
    path=$(q "SELECT path FROM pg_extension_update_paths('metrics') WHERE source = '$v' AND target = '$DEFAULT'")
    if [ -n "$path" ]; then
        pass "there is an update path from $v to $DEFAULT: $path"
    else
        fail "there is an update path from $v to $DEFAULT" "no chain of metrics--<from>--<to>.sql scripts leads from $v to $DEFAULT
known paths: $(q "SELECT string_agg(source || ' -> ' || target || ': ' || path, '; ') FROM pg_extension_update_paths('metrics') WHERE path IS NOT NULL")"
    fi
    # FROM has been updated with data above; other released versions are updated empty.
    if [ "$v" != "$FROM" ] && [ -n "$path" ]; then
        fresh_db "from_${v//[^0-9a-zA-Z]/_}"
        load_supabase
        q_try "CREATE EXTENSION metrics VERSION '$v'"
        [ "$Q_STATUS" = 0 ] && q_try "ALTER EXTENSION metrics UPDATE"
        [ "$Q_STATUS" = 0 ] || fail "CREATE EXTENSION metrics VERSION '$v', then ALTER EXTENSION metrics UPDATE" "$Q_ERR"
        # B has the owner's choices: the same ones, after the update.
        if $CHOICES; then
            make_choices || fail "making the owner's choices after updating from $v"
        fi
        same_fingerprint "upgrade-from-$v-empty" "an empty database updated from $v is identical to a fresh $DEFAULT" \
            "$DB" "$v updated to $DEFAULT" "$B" "fresh $DEFAULT"
        DB=postgres
    fi
done

# --- the fingerprint sees what an update script could miss ------------------------------------
# (so identical fingerprints cannot come from a query that looks at nothing)
DB=$B
PROBE_ROLE=service_role
[ "$PLAIN" = 1 ] && PROBE_ROLE=$CHOICE_READER
q "GRANT EXECUTE ON FUNCTION metrics.last_closed_day() TO $PROBE_ROLE WITH GRANT OPTION" \
  "CREATE POLICY scen_probe ON metrics.daily_metrics FOR DELETE TO $PROBE_ROLE USING (false)" \
  "COMMENT ON COLUMN metrics.daily_metrics.metadata IS 'probe'" >/dev/null || bail_out "cannot change B for the probe"
fingerprint "$B" "$SCEN_TMP/probe.fp"
PROBE=$(diff "$SCEN_TMP/$B.fp" "$SCEN_TMP/probe.fp" | sed -n 's/^> //p')
like "$PROBE" "^function metrics\\.last_closed_day\\(\\): acl $PROBE_ROLE = EXECUTE WITH GRANT OPTION \\(granted by postgres\\)\$" \
    "the fingerprint shows a GRANT on a function"
like "$PROBE" '^policy scen_probe on metrics\.daily_metrics: command = DELETE$' "the fingerprint shows a new policy"
like "$PROBE" '^comment on table column metrics\.daily_metrics\.metadata: probe$' "the fingerprint shows a comment"
if [ "$PLAIN" = 1 ]; then
    DB=postgres
    is "$(q "SELECT count(*) FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator')")" 0 \
        "plain PostgreSQL: no install or update created any of Supabase's roles"
fi

done_testing
