#!/usr/bin/env bash
# Plain PostgreSQL first, Supabase's roles later.
#
# On a cluster of its own without anon, authenticated, service_role or authenticator, CREATE
# EXTENSION works and grants nothing to anyone. The roles are created afterwards (as when a
# database is moved under Supabase or PostgREST is added later); metrics.grant_api_access()
# then gives them their levels, and a plain role gets the read level by name. A pg_dump of
# that database restored elsewhere keeps the recorded choices and the grants.
source "$(dirname "$0")/../lib.bash"
source "$REPO_ROOT/scripts/lib/cluster.sh"

cluster_start "plain-$$" >/dev/null || bail_out "cannot start a cluster without Supabase's roles"
at_exit "cluster_stop_dir '$CLUSTER_DIR'; rm -rf '$CLUSTER_DIR'"

is "$(psql -X -qAt -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role', 'authenticator')")" 0 \
    "the cluster has none of Supabase's roles"

fresh_db
load_fixture
q_try "CREATE EXTENSION metrics"
is "$Q_STATUS" 0 "CREATE EXTENSION works without them"
is "$(q "SELECT string_agg(role_name || ':' || access || ':' || role_exists, ',' ORDER BY role_name) FROM metrics.api_roles()")" \
    "anon:read:false,authenticated:read:false,service_role:manage:false" "the defaults are known but their roles are missing"
is "$(q "SELECT string_agg(status, ',') FROM metrics.grant_api_access()")" \
    "skipped: role does not exist,skipped: role does not exist,skipped: role does not exist" "grant_api_access() skips roles that do not exist"
is "$(q "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a WHERE c.relnamespace = 'metrics'::regnamespace AND a.grantee <> c.relowner")" 0 \
    "no table privilege is granted to anyone but the owner"
is "$(q "SELECT count(*) FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE p.pronamespace = 'metrics'::regnamespace AND a.grantee <> p.proowner")" 0 \
    "no function is executable by anyone but the owner"
is "$(q "SELECT count(*) FROM metrics.verify_security()")" 0 "verify_security() finds nothing"

q "SELECT count(*) FROM metrics.install_preset('social', 'regress_src')" >/dev/null
q "SELECT count(*) FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-03')" >/dev/null
q "CREATE ROLE regress_metrics_analyst LOGIN"
at_exit "psql -X -q -d postgres -c 'DROP ROLE IF EXISTS regress_metrics_analyst' 2>/dev/null"
Q_DB=$DB q_try "SET ROLE regress_metrics_analyst; SELECT count(*) FROM metrics.fetch_metrics('2025-06-01', '2025-06-03')"
is "$Q_SQLSTATE" 42501 "a plain role cannot read the metrics before it is given access"

# Supabase's roles arrive.
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$REPO_ROOT/tests/fixtures/supabase.sql" >/dev/null || bail_out "cannot create Supabase's roles"
as_api() { # as_api ROLE SQL: the way PostgREST connects (as authenticator) and switches role
    psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -U authenticator -d "$DB" \
        -c "SELECT set_config('role', '$1', false)" -c "$2" 2>&1 | tail -n +2
}
like "$(as_api anon "SELECT count(*) FROM metrics.fetch_metrics('2025-06-01', '2025-06-03')")" "ERROR:  42501" \
    "roles created after the extension have no access yet"
is "$(q "SELECT string_agg(api_role || ':' || api_access || ':' || status, ',' ORDER BY api_role) FROM metrics.grant_api_access()")" \
    "anon:read:applied,authenticated:read:applied,service_role:manage:applied" "grant_api_access() gives each its level"

expected=$(q "SELECT count(*) FROM metrics.daily_metrics WHERE metric_date BETWEEN '2025-06-01' AND '2025-06-03'")
is "$(as_api anon "SELECT count(*) FROM metrics.fetch_metrics('2025-06-01', '2025-06-03')")" "$expected" "now anon reads the metrics"
is "$(as_api authenticated "SELECT count(*) FROM metrics.current_metrics()")" \
    "$(q "SELECT count(*) FROM metrics.metric_definitions")" "authenticated reads the current values"
like "$(as_api anon "SELECT * FROM metrics.collect_daily_metrics('2025-06-04')")" "ERROR:  42501" "anon still cannot collect"
is "$(as_api service_role "SELECT status FROM metrics.collect_daily_metrics('2025-06-04')")" completed "service_role collects"
posts=$(q "SELECT count(*) FROM regress_src.posts WHERE created_at >= '2025-06-04' AND created_at < '2025-06-05'")
is "$(as_api anon "SELECT value::bigint FROM metrics.fetch_metrics('2025-06-04', '2025-06-04', ARRAY['posts_created'])")" "$posts" \
    "and the value it sealed equals a count of the posts of that day"
is "$(q "SELECT count(*) FROM metrics.verify_security()")" 0 "verify_security() still finds nothing"

is "$(q "SELECT status FROM metrics.grant_api_access('regress_metrics_analyst')")" applied "a plain role gets the read level by name"
is "$(psql -X -qAt -U regress_metrics_analyst -d "$DB" -c "SELECT count(*) FROM metrics.fetch_metrics('2025-06-01', '2025-06-03')")" "$expected" \
    "and reads the metrics when it logs in"

# pg_dump keeps the choices (a table of the extension's config) and the grants made after
# CREATE EXTENSION; a restore elsewhere gives the same access.
restored="${DB}_restored"
createdb "$restored" || bail_out "cannot create $restored"
at_exit "dropdb --if-exists --force '$restored'"
if pg_dump -d "$DB" -Fc -f "$SCEN_TMP/dump" && pg_restore -d "$restored" --exit-on-error "$SCEN_TMP/dump" 2>"$SCEN_TMP/restore.err"; then
    pass "the database dumps and restores"
else
    fail "the database dumps and restores" "$(cat "$SCEN_TMP/restore.err")"
fi
is "$(q_in "$restored" "SELECT string_agg(role_name || ':' || access, ',') FROM metrics.api_access")" "regress_metrics_analyst:read" \
    "the restored database keeps the recorded choice"
is "$(psql -X -qAt -U regress_metrics_analyst -d "$restored" -c "SELECT count(*) FROM metrics.fetch_metrics('2025-06-01', '2025-06-03')")" "$expected" \
    "and the analyst reads there too"
is "$(q_in "$restored" "SELECT count(*) FROM metrics.verify_security()")" 0 "verify_security() finds nothing after the restore"

done_testing
