# The demo database: a year of generated social data (scripts/lib/generate_social.sql, scale
# 0.1, in schema public) ending on the last closed day, the extensions metrics and pg_cron, the
# social preset, and that year backfilled. scripts/demo prepares it and then shows it;
# tests/scenarios/docs/examples.sh prepares it the same way and runs the documentation's
# examples against it, so every example is tried on the database a reader has.
#
# Source this file (after scripts/lib/cluster.sh or with PGHOST/PGPORT/PGUSER set), then:
#   demo_prepare DATABASE    prints what it does; sets DEMO_LAST_DAY (the data's last day)
# The database must exist and have pg_cron preloaded for it (cron.database_name); its schema
# public is dropped and created fresh.

DEMO_REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

demo_prepare() {
    local db=$1
    # The last day that has ended in UTC (metrics.timezone's default): metrics.last_closed_day().
    DEMO_LAST_DAY=$(psql -X -qAt -d "$db" -c "SELECT (now() AT TIME ZONE 'UTC')::date - 1") || return 1
    echo "== loading a year of social data ending $DEMO_LAST_DAY"
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v schema=public -v scale=0.1 -v end_date="$DEMO_LAST_DAY" \
        -f "$DEMO_REPO_ROOT/scripts/lib/generate_social.sql" || return 1
    psql -X -qAt -d "$db" -c "SELECT format('   %s profiles, %s posts, %s comments, %s tracks',
        (SELECT count(*) FROM profiles), (SELECT count(*) FROM posts), (SELECT count(*) FROM comments), (SELECT count(*) FROM tracks))" \
        || return 1
    psql -X -v ON_ERROR_STOP=1 -d "$db" -v last_day="$DEMO_LAST_DAY" <<'SQL'
\pset footer off
\echo == CREATE EXTENSION metrics, then the metrics of the social preset
CREATE EXTENSION metrics;
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT metric_category, kind, status FROM metrics.install_preset('social');

\echo == backfilling the year in one call (progress as NOTICEs)
SELECT * FROM metrics.backfill_daily_metrics(:'last_day'::date - 364, :'last_day');
SQL
}
