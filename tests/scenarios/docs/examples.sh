#!/usr/bin/env bash
# Every ```sql example of README.md and docs/*.md runs as written on the demo database.
#
# For each file (README.md first, then docs/*.md by name) that has ```sql blocks, the database
# $METRICS_CRON_DB (where pg_cron works) is prepared exactly as scripts/demo prepares its own
# (scripts/lib/demo.sh: a year of social data ending yesterday, metrics and pg_cron, the social
# preset, the year backfilled), then the file's blocks run in file order, each in its own psql
# session with ON_ERROR_STOP, as postgres unless the block says otherwise. One TAP line per
# block, named by file and line. The fence's info string says what is expected (the
# conventions are in docs/development.md, "Examples in the documentation"):
#
#   ```sql                     must succeed
#   ```sql fails 22023         must fail, with that SQLSTATE
#   ```sql as anon             run as that role (SET ROLE); combines with fails
#   ```sql norun: REASON       not run here (a TAP skip with the reason)
#
# Anything else after `sql` is an error, so a typo cannot turn an example into a pass. Roles the
# examples create are dropped after each file; at the end the database is left as it was found
# (no metrics, no pg_cron unless it was there, a default public schema with Supabase's grants).
# DOCS_EXAMPLES_OUT=DIR keeps each block with what it printed in DIR/<file>.<line>.txt.
source "$(dirname "$0")/../lib.bash"
source "$REPO_ROOT/scripts/lib/demo.sh"

use_cron_db
ROLES_BEFORE=$(q "SELECT string_agg(quote_literal(rolname), ',') FROM pg_roles")
CRON_JOBS_BEFORE=0
[ "$CREATED_PG_CRON" = f ] && CRON_JOBS_BEFORE=$(q "SELECT coalesce(max(jobid), 0) FROM cron.job")

# What one file's examples leave behind: their cron jobs, the extension, the roles they created.
docs_reset() {
    if [ "$(q "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")" = 1 ]; then
        q "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobid > $CRON_JOBS_BEFORE" >/dev/null
    fi
    q "SET metrics.allow_drop_history = on" "DROP EXTENSION IF EXISTS metrics CASCADE" "DROP SCHEMA IF EXISTS metrics CASCADE" >/dev/null
    local role
    for role in $(q "SELECT quote_ident(rolname) FROM pg_roles WHERE rolname NOT IN ($ROLES_BEFORE)"); do
        q "DROP OWNED BY $role" "DROP ROLE $role" >/dev/null
    done
}
docs_restore() {
    docs_reset
    if [ "$CREATED_PG_CRON" = t ]; then q "DROP EXTENSION IF EXISTS pg_cron" >/dev/null; fi
    # The generator replaced schema public: back to PostgreSQL 15's, with Supabase's grants.
    q "DROP SCHEMA IF EXISTS public CASCADE" "CREATE SCHEMA public AUTHORIZATION pg_database_owner" \
      "GRANT USAGE ON SCHEMA public TO PUBLIC" "COMMENT ON SCHEMA public IS 'standard public schema'" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$REPO_ROOT/tests/fixtures/supabase.sql" >/dev/null
}
at_exit "DB=$DB docs_restore"

# extract_blocks FILE: one line per ```sql block, "LINE<TAB>INFO" (INFO is what follows `sql`),
# and the block's text in $SCEN_TMP/blocks/<FILE with / as _>.<LINE>.sql, indentation of the
# fence removed. Fences are CommonMark's: ``` or ~~~ (3 or more), closed by a line of the same
# character at least as long; other fences (```sh, a ````markdown showing a ```sql) are passed
# over. An unclosed ```sql block is reported as line "LINE<TAB>unclosed".
extract_blocks() {
    local file=$1 prefix
    prefix="$SCEN_TMP/blocks/${file//\//_}"
    mkdir -p "$SCEN_TMP/blocks"
    awk -v prefix="$prefix" '
        function fence_of(s) { sub(/^ */, "", s); return substr(s, 1, 1) }
        function fence_len(s,   t, n) { t = s; sub(/^ */, "", t); n = 0
            while (substr(t, n + 1, 1) == substr(t, 1, 1)) n++; return n }
        !open && /^ *(```|~~~)/ {
            open = 1; ch = fence_of($0); len = fence_len($0)
            indent = $0; sub(/[`~].*/, "", indent); indent = length(indent)
            info = $0; sub(/^ *[`~]+ */, "", info); sub(/ +$/, "", info)
            lang = info; sub(/ .*/, "", lang)
            is_sql = (lang == "sql"); start = NR
            if (is_sql) {
                rest = substr(info, 4); sub(/^ +/, "", rest)
                out = prefix "." NR ".sql"; printf "" > out
            }
            next
        }
        open {
            t = $0; sub(/^ */, "", t)
            if (fence_of($0) == ch && t ~ /^(```+|~~~+) *$/ && fence_len($0) >= len) {
                if (is_sql) { close(out); printf "%d\t%s\n", start, rest }
                open = 0; next
            }
            if (is_sql) {
                line = $0; n = 0
                while (n < indent && substr(line, 1, 1) == " ") { line = substr(line, 2); n++ }
                print line > out
            }
        }
        END { if (open && is_sql) printf "%d\tunclosed\n", start }
    ' "$file"
}

# The extractor itself, on a document with every kind of fence: blocks are found with their
# line and marker, other fences (and a ```sql shown inside a ````markdown) are passed over,
# a list item's indentation is removed, an unclosed block is reported.
mkdir -p "$SCEN_TMP/selftest"
cat >"$SCEN_TMP/selftest/doc.md" <<'MD'
Text.
```sql
SELECT 1;
```
```sh
echo no
```
````markdown
```sql fails 22023
SELECT 2;
```
````
- an item:

  ```sql as web_anon fails 42501
  SELECT 3;
  ```
~~~sql norun: a reason
SELECT 4;
~~~
```sql
SELECT 5;
MD
is "$(cd "$SCEN_TMP/selftest" && extract_blocks doc.md | tr '\t' '|' | paste -sd ' ')" \
    "2| 15|as web_anon fails 42501 18|norun: a reason 21|unclosed" "the extractor finds the sql blocks and nothing else"
is "$(cat "$SCEN_TMP/blocks/doc.md.15.sql")" "SELECT 3;" "and removes a list item's indentation"

skip() { _tap_count=$((_tap_count + 1)); echo "ok $_tap_count - $1 # SKIP $2"; }

# run_block FILE LINE INFO: runs one block and reports it.
run_block() {
    local file=$1 line=$2 info=$3 where="$1:$2" sql="$SCEN_TMP/blocks/${1//\//_}.$2.sql"
    local expect= role= status state err
    if [[ $info =~ ^norun:\ *(.+)$ ]]; then
        skip "$where" "${BASH_REMATCH[1]}"
        n_skip=$((n_skip + 1))
        return
    fi
    local words
    read -ra words <<<"$info"
    set -- "${words[@]}"
    while [ $# -gt 0 ]; do
        case "$1 ${2:-}" in
            fails\ [0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]) expect=$2; shift 2 ;;
            as\ [a-z_]*) [[ $2 =~ ^[a-z_][a-z0-9_]*$ ]] || { fail "$where" "not a role name: '$2'"; return; }
                role=$2; shift 2 ;;
            *) fail "$where" "unknown marker in '\`\`\`sql $info' (expected: fails SQLSTATE, as ROLE, norun: REASON)"
               return ;;
        esac
    done
    if [ -n "$expect" ]; then n_fail=$((n_fail + 1)); else n_succeed=$((n_succeed + 1)); fi
    # A missing role is the example's mistake, never the error a `fails` block expects.
    if [ -n "$role" ] && [ "$(q "SELECT count(*) FROM pg_roles WHERE rolname = '$role'")" != 1 ]; then
        fail "$where" "role $role does not exist (an earlier block of the file must create it)"
        return
    fi
    local args=(-X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB")
    [ -n "$role" ] && args+=(-c "SET ROLE \"$role\"")
    timeout 300 psql "${args[@]}" -f "$sql" </dev/null >"$sql.out" 2>"$sql.err"
    status=$?
    if [ -n "${DOCS_EXAMPLES_OUT:-}" ]; then
        mkdir -p "$DOCS_EXAMPLES_OUT" && cat "$sql" "$sql.out" "$sql.err" >"$DOCS_EXAMPLES_OUT/${file//\//_}.$line.txt"
    fi
    err=$(cat "$sql.err")
    state=$(sqlstate_of "$err")
    local who=${role:+" as $role"}
    if [ -z "$expect" ]; then
        if [ $status -eq 0 ]; then
            pass "$where runs$who"
        else
            fail "$where runs$who" "psql exited with $status:
$(grep -v '^psql:.*NOTICE' <<<"$err" | head -20)"
        fi
    elif [ $status -eq 0 ]; then
        fail "$where fails with $expect$who" "it succeeded"
    elif [ "$state" = "$expect" ]; then
        pass "$where fails with $expect$who"
    else
        fail "$where fails with $expect$who" "it failed with '${state:-no SQLSTATE}' (psql exit $status):
$(head -20 <<<"$err")"
    fi
}

files=(README.md)
while IFS= read -r f; do files+=("$f"); done < <(cd "$REPO_ROOT" && printf '%s\n' docs/*.md | LC_ALL=C sort)
total=0
for file in "${files[@]}"; do
    blocks=$(cd "$REPO_ROOT" && extract_blocks "$file")
    [ -n "$blocks" ] || continue
    total=$((total + $(wc -l <<<"$blocks")))
    runnable=$(grep -cv $'^[0-9]*\tnorun:' <<<"$blocks")
    n_succeed=0 n_fail=0 n_skip=0
    if [ "$runnable" -gt 0 ]; then
        docs_reset
        demo_prepare "$DB" >"$SCEN_TMP/prepare.log" 2>&1 \
            || bail_out "cannot prepare the demo database for $file: $(tail -20 "$SCEN_TMP/prepare.log")"
    fi
    while IFS=$'\t' read -r line info; do
        if [ "$info" = unclosed ]; then fail "$file:$line" "the \`\`\`sql block is not closed"; continue; fi
        run_block "$file" "$line" "$info"
    done <<<"$blocks"
    diag "$file: $n_succeed blocks must succeed, $n_fail must fail, $n_skip not run"
done
ok "the documentation has sql examples ($total blocks)" test "$total" -gt 0

done_testing
