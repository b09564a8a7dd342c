#!/usr/bin/env bash
# The upgrade scenario (upgrade.sh) on plain PostgreSQL: a cluster of its own without
# Supabase's roles (no anon, authenticated, service_role or authenticator; tests/fixtures/
# supabase.sql is never loaded). A database of the oldest released version (0.1.0, which let
# PUBLIC read) filled with data, updated, must have the catalog of a fresh install there too,
# keep its rows and seal the same new values; every other released version is updated empty
# and compared as well.
source "$(dirname "$0")/lib.bash"
source "$REPO_ROOT/scripts/lib/cluster.sh"

cluster_start "upgrade-plain-$$" >/dev/null || bail_out "cannot start a cluster without Supabase's roles"
at_exit "cluster_stop_dir '$CLUSTER_DIR'; rm -rf '$CLUSTER_DIR'"

UPGRADE_PLAIN=1 UPGRADE_FROM=0.1.0 "$(dirname "$0")/upgrade.sh"
exit $?
