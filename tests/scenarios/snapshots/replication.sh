#!/usr/bin/env bash
# The seal on a logical replication subscriber, and what it lets through.
#
# A cluster of its own with wal_level = logical: database "pub" seals a week of the social
# preset and publishes the three tables of sealed history; database "sub", with the extension
# installed, subscribes. The subscriber receives every sealed value; a correction on the
# publisher (recollect, the one UPDATE the seal allows) is applied there too, because the
# guard lets logical replication's apply worker replay it; a new day sealed on the publisher
# arrives as well. On the subscriber itself the seal holds as anywhere: UPDATE, DELETE and
# TRUNCATE are refused for a superuser, also under session_replication_role = replica.
source "$(dirname "$0")/../lib.bash"
source "$REPO_ROOT/scripts/lib/cluster.sh"

plan 10
cluster_start "replication-$$" "wal_level = logical" "max_replication_slots = 4" "max_wal_senders = 4" \
    >/dev/null || bail_out "cannot start a cluster with wal_level = logical"
REPL_DIR=$CLUSTER_DIR
at_exit "cluster_stop_dir '$REPL_DIR'; rm -rf '$REPL_DIR'"
createdb pub && createdb sub || bail_out "cannot create the databases"

DB=pub
load_fixture
q "CREATE EXTENSION metrics" "SELECT count(*) FROM metrics.install_preset('social', 'regress_src')" \
  "SELECT count(*) FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-07')" >/dev/null || bail_out "cannot seal on pub"
q "CREATE PUBLICATION sealed FOR TABLE metrics.metric_definitions, metrics.daily_metrics, metrics.metric_revisions" \
  "SELECT pg_create_logical_replication_slot('sealed_sub', 'pgoutput')" >/dev/null || bail_out "cannot publish"
DB=sub
q "CREATE EXTENSION metrics" >/dev/null || bail_out "cannot install on sub"
q "CREATE SUBSCRIPTION sealed CONNECTION 'host=$PGHOST port=$PGPORT dbname=pub user=postgres'
   PUBLICATION sealed WITH (create_slot = false, slot_name = 'sealed_sub')" >/dev/null || bail_out "cannot subscribe"
at_exit "DB=sub q 'DROP SUBSCRIPTION IF EXISTS sealed'"

fingerprint() { q_in "$1" "SELECT md5(string_agg(format('%s|%s|%s|%s|%s', metric_date, metric_category, value, metadata, definition_version), ',' ORDER BY metric_date, metric_category)) FROM metrics.daily_metrics"; }
same() { [ "$(fingerprint pub)" = "$(fingerprint sub)" ] && [ "$(q_in pub "SELECT count(*) FROM metrics.daily_metrics")" -gt 0 ]; }
if wait_until 60 same; then pass "the subscriber receives every sealed value"; else fail "the subscriber receives every sealed value" "$(tail -20 "$REPL_DIR/server.log")"; fi

# A correction on the publisher: the one UPDATE its seal allows, replayed by the apply worker.
q_in pub "DELETE FROM regress_src.posts WHERE id = (SELECT min(id) FROM regress_src.posts WHERE created_at < '2025-06-02')" \
  "SELECT count(*) FROM metrics.recollect('2025-06-01', ARRAY['posts_total'], 'replicated correction')" >/dev/null
corrected() { [ "$(q_in sub "SELECT value FROM metrics.daily_metrics WHERE metric_date = '2025-06-01' AND metric_category = 'posts_total'")" \
                = "$(q_in pub "SELECT value FROM metrics.daily_metrics WHERE metric_date = '2025-06-01' AND metric_category = 'posts_total'")" ]; }
if wait_until 60 corrected; then pass "a recollect on the publisher is applied on the subscriber"; else fail "a recollect on the publisher is applied on the subscriber" "$(tail -20 "$REPL_DIR/server.log")"; fi
is "$(q_in sub "SELECT count(*) FROM metrics.metric_revisions WHERE reason = 'replicated correction'")" 1 "with its revision"
q_in pub "SELECT count(*) FROM metrics.backfill_daily_metrics('2025-06-08', '2025-06-08')" >/dev/null
if wait_until 60 same; then pass "a day sealed later arrives too"; else fail "a day sealed later arrives too"; fi

# On the subscriber the seal holds like anywhere else.
Q_DB=sub q_try "UPDATE metrics.daily_metrics SET value = value + 1"
is "$Q_SQLSTATE" 42501 "on the subscriber, a superuser's UPDATE is refused"
Q_DB=sub q_try "SET session_replication_role = replica; UPDATE metrics.daily_metrics SET value = value + 1"
is "$Q_SQLSTATE" 42501 "also under session_replication_role = replica"
Q_DB=sub q_try "SET session_replication_role = replica; DELETE FROM metrics.daily_metrics"
is "$Q_SQLSTATE" 42501 "and a DELETE"
Q_DB=sub q_try "SET session_replication_role = replica; TRUNCATE metrics.daily_metrics"
is "$Q_SQLSTATE" 42501 "and a TRUNCATE"
Q_DB=sub q_try "SET session_replication_role = replica; INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value) VALUES (current_date + 1, 'count', 'posts_created', 1)"
is "$Q_SQLSTATE" 23514 "and a value for a day that has not ended"
ok "the subscription still replicates (no apply error in the log)" not grep -q 'logical replication apply worker.*exited with exit code 1' "$REPL_DIR/server.log"
done_testing
