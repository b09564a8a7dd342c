#!/usr/bin/env bash
# Real traffic compacted: the real Apache access log of tests/fixtures/http/apache_logs.gz
# (10,000 requests over 84 hours of May 2015; see requests/apache_log_replay.sh, which checks
# the replay itself against an independent parse) is replayed through the batch API, then
# folded into days, then the days into ISO weeks. Every day and week answer of
# get_route_metrics, per (route, method) and combined, is compared before and after each
# fold, percentiles and averages included: every column is bit-identical, per key and
# combined (sums of durations are whole microseconds). The log's days are about 4,200 days
# old, far past any policy.
source "$(dirname "$0")/../lib.bash"

plan 14
T_BEGIN=$SECONDS
LOG_GZ="$REPO_ROOT/tests/fixtures/http/apache_logs.gz"
LOG_SHA256=f15c31e905f86c7b4b6ab44aee74d0a2086dce89f010187d983edea7ef0364ef
LOG="$SCEN_TMP/apache_logs"
MAX_EVENT_AGE=20000d   # as requests/apache_log_replay.sh: the log is ~4,200 days old
EXP_BUCKETS=5474       # (route, method, hour) rows of the log, asserted there too
EXP_DAYS=4
EXP_WEEKS=2

gzip -dc "$LOG_GZ" >"$LOG" || bail_out "cannot decompress $LOG_GZ"
is "$(sha256sum "$LOG" | cut -d' ' -f1)" "$LOG_SHA256" "the decompressed log is the pinned original"

# The replay, as requests/apache_log_replay.sh derives events: route = the target without
# its query string, method, success = status < 400, duration_ms = bytes / 1000, at = the log time.
perl -ne '
    BEGIN { %m = (Jan=>1,Feb=>2,Mar=>3,Apr=>4,May=>5,Jun=>6,Jul=>7,Aug=>8,Sep=>9,Oct=>10,Nov=>11,Dec=>12); @b = () }
    sub js { my $s = shift; $s =~ s/(["\\])/\\$1/g; $s =~ s/([\x00-\x1f\x7f])/sprintf("\\u%04x", ord $1)/ge; qq("$s") }
    sub out { return unless @b; print q{SELECT metrics.record_route_metrics($r$[}, join(",", @b), qq{]\$r\$::jsonb);\n}; @b = () }
    chomp;
    my @f = m{^\S+ \S+ \S+ \[(\d\d)/(\w\w\w)/(\d\d\d\d):(\d\d):(\d\d):(\d\d) ([-+]\d\d)(\d\d)\] "((?:[^"\\]|\\.)*)" (\d\d\d) (\d+|-)(?: |$)} or die "unparsed line $.\n";
    my ($method, $target) = $f[8] =~ m{^(\S+) (\S+)(?: \S+)?$} or die "unparsed request $.\n";
    my ($route) = $target =~ m{^([^?]*)};
    my $bytes = $f[10] eq "-" ? 0 : $f[10];
    push @b, sprintf(q({"route":%s,"method":%s,"success":%s,"duration_ms":%d.%03d,"at":"%04d-%02d-%02dT%02d:%02d:%02d%s:%s"}),
        js($route), js($method), $f[9] < 400 ? "true" : "false", int($bytes / 1000), $bytes % 1000,
        $f[2], $m{$f[1]}, $f[0], $f[3], $f[4], $f[5], $f[6], $f[7]);
    out() if @b >= 500;
    END { out() }' "$LOG" >"$SCEN_TMP/batches.sql" 2>"$SCEN_TMP/perl.err" || bail_out "perl: $(cat "$SCEN_TMP/perl.err")"

fresh_db
q "CREATE EXTENSION metrics" "ALTER DATABASE \"$DB\" SET metrics.timezone = 'UTC'" >/dev/null || bail_out "cannot install"
{ echo "SET metrics.max_event_age = '$MAX_EVENT_AGE';"; cat "$SCEN_TMP/batches.sql"; } \
    | psql -X -qAt -v ON_ERROR_STOP=1 -d "$DB" >"$SCEN_TMP/replay.out" 2>"$SCEN_TMP/replay.err" || bail_out "replay: $(head -5 "$SCEN_TMP/replay.err")"
is "$(q "SELECT sum(total_requests) || ' ' || count(*) FROM metrics.route_metrics")" "10000 $EXP_BUCKETS" \
    "the log is recorded: 10,000 requests in $EXP_BUCKETS (route, method, hour) rows"

SPAN="'2015-05-11 00:00+00', '2015-05-25 00:00+00'"
# snapshot NAME: every day and week answer, per key and combined, every column but resolution.
snapshot() {
    q "CREATE SCHEMA IF NOT EXISTS chk" "CREATE TABLE chk.$1 AS
       SELECT g.grain, c.combined, r.period_start, r.period_end, r.route, r.method, r.total_requests, r.successful,
              r.failed, r.success_rate, r.average_duration_ms, r.min_duration_ms, r.max_duration_ms,
              r.p50_ms, r.p95_ms, r.p99_ms, r.resolution
       FROM (VALUES ('day'), ('week')) AS g(grain), (VALUES (false), (true)) AS c(combined),
            LATERAL metrics.get_route_metrics(NULL, NULL, $SPAN, g.grain, c.combined) AS r" >/dev/null
}
# differ A B GRAIN COMBINED: answers of A not found identically in B, and of B not in A.
differ() {
    local avg="a.average_duration_ms = b.average_duration_ms"
    q "SELECT count(*) FROM chk.$1 a FULL JOIN chk.$2 b
         ON (a.grain, a.combined, a.period_start) = (b.grain, b.combined, b.period_start)
        AND a.route IS NOT DISTINCT FROM b.route AND a.method IS NOT DISTINCT FROM b.method
       WHERE coalesce(a.grain, b.grain) = '$3' AND coalesce(a.combined, b.combined) = $4
         AND (a.grain IS NULL OR b.grain IS NULL
              OR (a.period_end, a.total_requests, a.successful, a.failed, a.success_rate, a.min_duration_ms,
                  a.max_duration_ms, a.p50_ms, a.p95_ms, a.p99_ms)
                 IS DISTINCT FROM
                 (b.period_end, b.total_requests, b.successful, b.failed, b.success_rate, b.min_duration_ms,
                  b.max_duration_ms, b.p50_ms, b.p95_ms, b.p99_ms)
              OR NOT ($avg))"
}
snapshot hours
is "$(q "SELECT count(*) FILTER (WHERE grain = 'day' AND combined) || ' ' || count(*) FILTER (WHERE grain = 'week' AND combined)
         || ' ' || count(*) FILTER (WHERE grain = 'day' AND NOT combined) FROM chk.hours")" \
    "$EXP_DAYS $EXP_WEEKS $(q "SELECT count(DISTINCT (route, method, date_trunc('day', period_start, 'UTC'))) FROM metrics.route_metrics")" \
    "before: $EXP_DAYS days and $EXP_WEEKS weeks combined, one day answer per key and day"

# --- hours into days ---------------------------------------------------------------------------
q "SELECT count(*) FROM metrics.set_retention_policy('route_metrics', '1 day', NULL, NULL)" >/dev/null
is "$(q "SELECT count(*) || ' ' || bool_and(verified) || ' ' || sum(rows_before) || ' ' || sum(requests_covered) FROM metrics.compact_metrics()")" \
    "$EXP_DAYS true $EXP_BUCKETS 10000" "compaction folds the $EXP_DAYS days, each verified, $EXP_BUCKETS hour rows holding 10,000 requests"
is "$(q "SELECT count(*) FILTER (WHERE resolution = 'hour') || ' ' || sum(total_requests) FROM metrics.route_metrics")" "0 10000" \
    "no hour row is left; the day rows hold the 10,000 requests"
snapshot days
for grain in day week; do
    is "$(differ hours days $grain false)" 0 "hours -> days: every $grain answer per (route, method) is identical, percentiles included"
    is "$(differ hours days $grain true)" 0 "hours -> days: every $grain answer combined is identical"
done
is "$(q "SELECT string_agg(DISTINCT resolution, ',') FROM chk.days WHERE grain = 'day'")" day "the day answers say they come from day rows"

# --- days into weeks ---------------------------------------------------------------------------
q "SELECT count(*) FROM metrics.set_retention_policy('route_metrics', '1 day', '2 days', NULL)" >/dev/null
is "$(q "SELECT count(*) || ' ' || bool_and(verified) || ' ' || sum(requests_covered) FROM metrics.compact_metrics()")" \
    "$EXP_WEEKS true 10000" "compaction folds the days into the $EXP_WEEKS ISO weeks, each verified"
snapshot weeks
is "$(differ hours weeks week false)" 0 "hours -> weeks: every week answer per (route, method) is identical, percentiles included"
is "$(differ hours weeks week true)" 0 "hours -> weeks: every week answer combined is identical"
is "$(q "SELECT count(*) FROM metrics.route_metrics WHERE resolution <> 'week'") $(q "SELECT count(*) FROM metrics.compact_metrics()")" "0 0" \
    "only week rows are left, and a rerun has nothing to do"

diag "runtime: $((SECONDS - T_BEGIN)) s"
done_testing
