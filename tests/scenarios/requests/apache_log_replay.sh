#!/usr/bin/env bash
# Real traffic: a real Apache access log replayed through the batch API adds up to the same
# hourly, daily and weekly totals as an independent GROUP BY over the parsed log.
#
# The log: tests/fixtures/http/apache_logs.gz, 10,000 requests over 84 hours of May 2015 in the
# combined log format (github.com/elastic/examples, "Common Data Formats/apache_logs/
# apache_logs", Apache-2.0, unmodified; see tests/fixtures/http/README.md). Its SHA-256 is
# checked after decompression, so the exact numbers asserted below belong to that file.
#
# The API under test (metrics, route metrics):
#   metrics.record_route_metrics(events jsonb) RETURNS bigint: a JSON array of
#     {"route", "method", "success", "duration_ms", "at"} ("at": ISO 8601 with an offset).
#     The whole batch is validated first; the first bad event refuses everything with a
#     message starting "events[<index>]: " (22023 for an unknown method, 22008 for an "at"
#     older than metrics.max_event_age, default 7 days, superuser-settable). Returns the number
#     of events recorded. metrics.ingest_mode = direct (default) adds into the hour's row in
#     the caller's transaction.
#   metrics.route_metrics: one row per (route, method, UTC hour): period_start, period_end
#     (= +1 h), total_requests, successful, failed, total_duration_ms, min_duration_ms,
#     max_duration_ms, last_request_at, latency_sketch.
#   metrics.get_route_metrics(route, method, start_at, end_at, grain => hour|day|week,
#     combined): the hour rows overlapping [start_at, end_at) grouped per grain (days and weeks
#     in metrics.timezone) and per (route, method), or all together when combined; p50/p95/p99
#     come from the merged latency sketches, within 1% (relative) of the true sample value at
#     the rank percentile_disc uses.
#
# Two independent code paths read the log:
#   - the replay side: perl parses each line with its regex and writes JSON batches of 500
#     events, sent with psql as superuser (SET metrics.max_event_age, direct mode);
#   - the expectation side: the raw lines are loaded with COPY into a table and parsed in SQL
#     with regexp_match / to_timestamp; the checks compare against GROUP BYs over that.
# Both derive an event the same way from a line:
#   route       = the request target without its query string (from the first '?'), capped
#                 at 1024 bytes (the API's limit; no path of this log comes near it);
#   method      = the request method (the API stores it upper-case);
#   success     = status < 400;
#   duration_ms = bytes / 1000.0, bytes "-" = 0. The log has no durations; this is a
#                 deterministic stand-in with a realistic spread (0 to ~70,000 "ms");
#   at          = the log time, with its offset.
# Lines the API would refuse are excluded by both sides and counted: lines that do not parse,
# requests that do not parse ("METHOD TARGET [PROTOCOL]"), unknown methods (the API refuses
# them with 22023) and empty routes (a target starting with '?', or with control characters).
# This log has none of them: the sides must agree on exactly which lines they exclude, and
# the test asserts that there are 0.
source "$(dirname "$0")/../lib.bash"

LOG_GZ="$REPO_ROOT/tests/fixtures/http/apache_logs.gz"
LOG_SHA256=f15c31e905f86c7b4b6ab44aee74d0a2086dce89f010187d983edea7ef0364ef
LOG="$SCEN_TMP/apache_logs"
BATCH_SIZE=500
# What the pinned file holds: counted once with a separate perl one-liner, and asserted here
# against both parsers and the extension.
EXP_LINES=10000
EXP_EXCLUDED=0
EXP_HOURS=84
EXP_ROUTES=1368
EXP_ROUTE_METHODS=1387
EXP_BUCKETS=5474
EXP_DAYS=4
EXP_WEEKS=2 # 2015-05-17 is a Sunday: the log spans the ISO weeks of May 11 and May 18
# The log is about 4,200 days old in late 2026 (so '4000d' would already refuse it); 20,000
# days (1.7e9 s, below the setting's i32 limit) keeps the replay valid until about 2070.
MAX_EVENT_AGE=20000d
T_BEGIN=$SECONDS

gzip -dc "$LOG_GZ" >"$LOG" 2>"$SCEN_TMP/gunzip.err" || bail_out "cannot decompress $LOG_GZ: $(cat "$SCEN_TMP/gunzip.err")"
sha=$(sha256sum "$LOG" | cut -d' ' -f1)
is "$sha" "$LOG_SHA256" "the decompressed log is the unmodified original (sha256)"
[ "$sha" = "$LOG_SHA256" ] || bail_out "tests/fixtures/http/apache_logs.gz is not the pinned log"

fresh_db
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
# Days and weeks of the query API are those of metrics.timezone: UTC, like the expectations.
q "ALTER DATABASE \"$DB\" SET metrics.timezone = 'UTC'" >/dev/null || bail_out "cannot set metrics.timezone"
is "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" t "the replay runs as a superuser"

# --- the replay side: perl -------------------------------------------------------------------
# Writes one "SELECT metrics.record_route_metrics(<batch>)" per 500 events, the excluded lines
# ("line number<TAB>reason<TAB>line") and prints its counts.
cat >"$SCEN_TMP/replay.pl" <<'PERL'
use strict;
use warnings;

my ($log, $out, $excluded, $batch_size) = @ARGV;
my %month = (Jan => 1, Feb => 2, Mar => 3, Apr => 4, May => 5, Jun => 6,
             Jul => 7, Aug => 8, Sep => 9, Oct => 10, Nov => 11, Dec => 12);
my %known = map { $_ => 1 } qw(GET HEAD POST PUT PATCH DELETE OPTIONS TRACE CONNECT);
my %count = map { $_ => 0 } qw(lines events excluded capped batches);
my @batch;

open my $in, '<:raw', $log or die "$log: $!";
open my $sql, '>:raw', $out or die "$out: $!";
open my $ex, '>:raw', $excluded or die "$excluded: $!";

sub json_string {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/([\x00-\x1f\x7f])/sprintf('\\u%04x', ord $1)/ge;
    return qq("$s");
}

sub flush_batch {
    return unless @batch;
    my $json = '[' . join(',', @batch) . ']';
    die "a batch contains the dollar-quote tag\n" if index($json, '$replay$') >= 0;
    print $sql 'SELECT metrics.record_route_metrics($replay$' . $json . '$replay$::jsonb);' . "\n";
    @batch = ();
    $count{batches}++;
}

sub exclude {
    my ($n, $reason, $line) = @_;
    $count{excluded}++;
    $count{"excluded: $reason"}++;
    $line =~ s/[\t\r\n]/ /g;
    print $ex "$n\t$reason\t$line\n";
}

while (my $line = <$in>) {
    my $n = ++$count{lines};
    $line =~ s/\n\z//;
    # host ident user [DD/Mon/YYYY:HH:MM:SS +HHMM] "request" status bytes ...
    # (inside the request, Apache writes " as \" and \ as \\)
    my @f = $line =~ m{^\S+ \S+ \S+ \[(\d\d)/(\w\w\w)/(\d\d\d\d):(\d\d):(\d\d):(\d\d) ([-+]\d\d)(\d\d)\] "((?:[^"\\]|\\.)*)" (\d\d\d) (\d+|-)(?: |$)};
    if (!@f || !exists $month{$f[1]}) { exclude($n, 'unparsed line', $line); next; }
    my ($day, $mon, $year, $hh, $mi, $ss, $oh, $om, $request, $status, $bytes) = @f;
    my ($method, $target) = $request =~ m{^(\S+) (\S+)(?: \S+)?$};
    if (!defined $target) { exclude($n, 'unparsed request', $line); next; }
    if (!$known{uc $method}) { exclude($n, 'unknown method', $line); next; }
    my ($route) = $target =~ m{^([^?]*)};
    if ($route eq '' || $route =~ /[\x00-\x1f\x7f]/) { exclude($n, 'empty route', $line); next; }
    if (length($route) > 1024) { $route = substr($route, 0, 1024); $count{capped}++; }
    $bytes = 0 if $bytes eq '-';
    # bytes / 1000 written as an exact decimal (integer arithmetic, no binary rounding here)
    my $duration = sprintf('%d.%03d', int($bytes / 1000), $bytes % 1000);
    my $at = sprintf('%04d-%02d-%02dT%02d:%02d:%02d%s:%s',
                     $year, $month{$mon}, $day, $hh, $mi, $ss, $oh, $om);
    push @batch, sprintf('{"route":%s,"method":%s,"success":%s,"duration_ms":%s,"at":"%s"}',
                         json_string($route), json_string($method),
                         $status < 400 ? 'true' : 'false', $duration, $at);
    $count{events}++;
    flush_batch() if @batch >= $batch_size;
}
flush_batch();
close $sql or die;
close $ex or die;
print "$_=$count{$_}\n" for sort keys %count;
PERL
perl "$SCEN_TMP/replay.pl" "$LOG" "$SCEN_TMP/batches.sql" "$SCEN_TMP/excluded.tsv" "$BATCH_SIZE" \
    >"$SCEN_TMP/replay.counts" 2>"$SCEN_TMP/replay.err" || bail_out "the perl parser failed: $(cat "$SCEN_TMP/replay.err")"
count_of() { sed -n "s/^$1=//p" "$SCEN_TMP/replay.counts"; }
PL_LINES=$(count_of lines)
PL_EVENTS=$(count_of events)
PL_EXCLUDED=$(count_of excluded)
PL_BATCHES=$(count_of batches)
diag "perl: $(tr '\n' ' ' <"$SCEN_TMP/replay.counts")"
[ "$PL_EXCLUDED" -gt 0 ] && diag "lines excluded by perl (first 10):
$(head -10 "$SCEN_TMP/excluded.tsv")"
is "$PL_LINES" "$EXP_LINES" "perl reads $EXP_LINES lines"
is "$PL_EXCLUDED" "$EXP_EXCLUDED" "perl parses every line into an event the API accepts ($EXP_EXCLUDED excluded)"
is "$(count_of capped)" 0 "no route needed the 1024-byte cap"
is "$PL_BATCHES" $(((PL_EVENTS + BATCH_SIZE - 1) / BATCH_SIZE)) "the events go in $PL_BATCHES batches of at most $BATCH_SIZE"

# --- the expectation side: COPY and SQL ------------------------------------------------------
# CSV with a delimiter and a quote that do not occur in the log: every line is loaded as is
# (no backslash processing), numbered in file order.
q "CREATE SCHEMA replay_check" \
  "CREATE TABLE replay_check.raw (n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, line text)" \
  "CREATE TABLE replay_check.perl_excluded (n bigint, reason text, line text)" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
    -c "COPY replay_check.raw (line) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')" \
    <"$LOG" || bail_out "cannot COPY the log"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
    -c "COPY replay_check.perl_excluded FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x02')" \
    <"$SCEN_TMP/excluded.tsv" || bail_out "cannot COPY perl's excluded lines"

psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL' || bail_out "cannot create the expectation views"
-- The fields of a line: time, request, status, bytes (NULL when the line does not parse).
CREATE TEMP VIEW fields AS
SELECT r.n, m.f[1] AS logtime, m.f[2] AS request, m.f[3]::int AS status, m.f[4] AS bytes
FROM replay_check.raw AS r,
     LATERAL regexp_match(r.line,
        '^\S+ \S+ \S+ \[([0-9]{2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4})\] "((?:[^"\\]|\\.)*)" ([0-9]{3}) ([0-9]+|-)(?: |$)') AS m(f); -- in FROM: evaluated once per line

-- Each line's verdict, and for the accepted ones the event's fields (parsed once).
CREATE TABLE replay_check.classified AS
SELECT f.n, f.logtime, f.status, f.bytes, rq.p[1] AS method, rq.p[2] AS target,
       split_part(rq.p[2], '?', 1) AS path,
       CASE WHEN f.logtime IS NULL THEN 'unparsed line'
            WHEN rq.p IS NULL THEN 'unparsed request'
            WHEN upper(rq.p[1]) NOT IN ('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT')
                THEN 'unknown method'
            WHEN split_part(rq.p[2], '?', 1) = '' OR split_part(rq.p[2], '?', 1) ~ '[\x01-\x1f\x7f]' THEN 'empty route'
            ELSE 'ok' END AS verdict
FROM fields AS f,
     LATERAL regexp_match(f.request, '^(\S+) (\S+)(?: \S+)?$') AS rq(p);

CREATE TABLE replay_check.events AS
SELECT n,
       left(path, 1024) AS route,
       upper(method) AS method,
       status < 400 AS success,
       ((CASE WHEN bytes = '-' THEN 0 ELSE bytes::numeric END) / 1000)::float8 AS duration_ms,
       to_timestamp(logtime, 'DD/Mon/YYYY:HH24:MI:SS TZHTZM') AS at
FROM replay_check.classified
WHERE verdict = 'ok';

CREATE VIEW replay_check.expected_buckets AS
SELECT route, method, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS period_start,
       count(*) AS total, count(*) FILTER (WHERE success) AS successful,
       count(*) FILTER (WHERE NOT success) AS failed,
       min(duration_ms) AS min_ms, max(duration_ms) AS max_ms, max(at) AS last_at
FROM replay_check.events
GROUP BY 1, 2, 3;
SQL

is "$(q "SELECT count(*) FROM replay_check.raw")" "$EXP_LINES" "COPY loads $EXP_LINES lines"
is "$(q "SELECT count(*) FROM replay_check.classified WHERE verdict <> 'ok'")" "$EXP_EXCLUDED" \
    "the SQL parser excludes $EXP_EXCLUDED lines too"
diag "SQL verdicts: $(q "SELECT string_agg(verdict || '=' || c, ' ' ORDER BY verdict) FROM (SELECT verdict, count(*) AS c FROM replay_check.classified GROUP BY 1) AS v")"
diff=$(q "(SELECT 'SQL only: ' || n || ' ' || verdict FROM replay_check.classified WHERE verdict <> 'ok'
           EXCEPT SELECT 'SQL only: ' || n || ' ' || reason FROM replay_check.perl_excluded)
          UNION ALL
          (SELECT 'perl only: ' || n || ' ' || reason FROM replay_check.perl_excluded
           EXCEPT SELECT 'perl only: ' || n || ' ' || verdict FROM replay_check.classified WHERE verdict <> 'ok')
          ORDER BY 1 LIMIT 20")
is "$diff" "" "both parsers exclude exactly the same lines for the same reasons"
is "$(q "SELECT count(*) FROM replay_check.events")" "$PL_EVENTS" "both parsers yield the same number of events ($PL_EVENTS)"

# --- the API refuses the 2015 events under the default window ----------------------------------
FIRST_EVENT=$(grep -o '^SELECT metrics.record_route_metrics(\$replay\$\[{[^}]*}' "$SCEN_TMP/batches.sql" | head -1 | sed 's/^.*\[//')
q_try "SELECT metrics.record_route_metrics('[$FIRST_EVENT]'::jsonb)"
is "$Q_SQLSTATE" 22008 "with the default metrics.max_event_age a 2015 event is refused with 22008"

# --- replay ----------------------------------------------------------------------------------
{
    echo "SET metrics.max_event_age = '$MAX_EVENT_AGE';"
    echo "SET metrics.ingest_mode = 'direct';"
    cat "$SCEN_TMP/batches.sql"
} >"$SCEN_TMP/replay.sql"
T0=$SECONDS
psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$DB" -f "$SCEN_TMP/replay.sql" \
    >"$SCEN_TMP/replay.out" 2>"$SCEN_TMP/replay.stderr"
status=$?
diag "replay of $PL_EVENTS events in $PL_BATCHES calls: $((SECONDS - T0)) s"
if [ $status -eq 0 ] && [ ! -s "$SCEN_TMP/replay.stderr" ]; then
    pass "every batch is accepted, without error or warning"
else
    fail "every batch is accepted, without error or warning" "psql exit $status: $(head -20 "$SCEN_TMP/replay.stderr")"
fi
is "$(wc -l <"$SCEN_TMP/replay.out" | tr -d ' ')" "$PL_BATCHES" "each of the $PL_BATCHES calls returns a count"
is "$(awk '{ s += $1 } END { print s + 0 }' "$SCEN_TMP/replay.out")" "$PL_EVENTS" \
    "the calls report $PL_EVENTS events recorded in all"
expected_counts=$(awk -v b="$BATCH_SIZE" -v n="$PL_EVENTS" 'BEGIN { for (; n > 0; n -= b) print (n < b ? n : b) }')
is "$(cat "$SCEN_TMP/replay.out")" "$expected_counts" "each call reports the size of its batch"

# --- totals, per (route, method, hour) ---------------------------------------------------------
is "$(q "SELECT sum(total_requests) FROM metrics.route_metrics")" "$(q "SELECT count(*) FROM replay_check.events")" \
    "the table holds as many requests as the log has parsed lines ($EXP_LINES)"
is "$(q "SELECT count(*) FROM metrics.route_metrics")|$(q "SELECT count(*) FROM replay_check.expected_buckets")" \
    "$EXP_BUCKETS|$EXP_BUCKETS" "one row per (route, method, hour): $EXP_BUCKETS on both sides"
is "$(q "SELECT count(*) FROM metrics.route_metrics WHERE period_end <> period_start + interval '1 hour'
                                                  OR period_start <> date_trunc('hour', period_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")" 0 \
    "every row is one whole UTC hour"

# Differing rows, both ways, of a recorded and an expected query with the same columns.
diff_sets() { # diff_sets RECORDED_SQL EXPECTED_SQL
    q "(SELECT 'recorded only: ' || x::text FROM (($1) EXCEPT ALL ($2)) AS x)
       UNION ALL
       (SELECT 'expected only: ' || x::text FROM (($2) EXCEPT ALL ($1)) AS x)
       ORDER BY 1 LIMIT 30"
}
check_same() { # check_same DESCRIPTION RECORDED_SQL EXPECTED_SQL
    local d
    d=$(diff_sets "$2" "$3" 2>&1)
    if [ $? -eq 0 ] && [ -z "$d" ]; then pass "$1"; else fail "$1" "$d"; fi
}
check_same "for every (route, method, hour) the table's total_requests, successful and failed equal the GROUP BY over the log" \
    "SELECT route, method, period_start, total_requests, successful, failed FROM metrics.route_metrics" \
    "SELECT route, method, period_start, total, successful, failed FROM replay_check.expected_buckets"
check_same "for every (route, method, hour) min_duration_ms, max_duration_ms and last_request_at are exact" \
    "SELECT route, method, period_start, min_duration_ms, max_duration_ms, last_request_at FROM metrics.route_metrics" \
    "SELECT route, method, period_start, min_ms, max_ms, last_at FROM replay_check.expected_buckets"
is "$(q "SELECT count(*) FROM metrics.route_metrics AS t
         JOIN (SELECT route, method, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS h, sum(duration_ms::numeric) AS s
               FROM replay_check.events GROUP BY 1, 2, 3) AS e
           ON e.route = t.route AND e.method = t.method AND e.h = t.period_start
         WHERE abs(t.total_duration_ms::numeric - e.s) > 1e-9 * greatest(e.s, 1)")" 0 \
    "for every (route, method, hour) total_duration_ms equals the sum of the stand-in durations (to 1e-9)"

# --- through the query API -----------------------------------------------------------------
# The span: whole UTC days around the log, from the independent side.
SPAN_START=$(q "SELECT date_trunc('day', min(at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM replay_check.events")
SPAN_END=$(q "SELECT (date_trunc('day', max(at) AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC' FROM replay_check.events")
diag "span: [$SPAN_START, $SPAN_END)"
api_args="start_at => '$SPAN_START', end_at => '$SPAN_END'"

check_same "get_route_metrics(grain => 'hour') gives the same (route, method, hour) rows" \
    "SELECT route, method, period_start, period_end, total_requests, successful, failed, min_duration_ms, max_duration_ms
     FROM metrics.get_route_metrics($api_args, grain => 'hour')" \
    "SELECT route, method, period_start, period_start + interval '1 hour', total, successful, failed, min_ms, max_ms
     FROM replay_check.expected_buckets"
check_same "per (route, method), the totals over all hours equal the GROUP BY over the log ($EXP_ROUTE_METHODS pairs)" \
    "SELECT route, method, sum(total_requests), sum(successful), sum(failed)
     FROM metrics.get_route_metrics($api_args, grain => 'hour') GROUP BY 1, 2" \
    "SELECT route, method, count(*), count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success)
     FROM replay_check.events GROUP BY 1, 2"
check_same "per route, the totals over all methods and hours equal the GROUP BY over the log ($EXP_ROUTES routes)" \
    "SELECT route, sum(total_requests), sum(successful), sum(failed) FROM metrics.route_metrics GROUP BY 1" \
    "SELECT route, count(*), count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success)
     FROM replay_check.events GROUP BY 1"
is "$(q "SELECT count(DISTINCT route) || '|' || count(DISTINCT (route, method)) FROM replay_check.events")" \
    "$EXP_ROUTES|$EXP_ROUTE_METHODS" "the log has $EXP_ROUTES routes and $EXP_ROUTE_METHODS (route, method) pairs"
is "$(q "SELECT count(DISTINCT period_start) FROM metrics.route_metrics")|$(q "SELECT count(DISTINCT date_trunc('hour', at AT TIME ZONE 'UTC')) FROM replay_check.events")" \
    "$EXP_HOURS|$EXP_HOURS" "the recorded rows span $EXP_HOURS distinct hours, as the log does"
is "$(q "SELECT count(*) FROM metrics.get_route_metrics($api_args, grain => 'hour', combined => true)")" "$EXP_HOURS" \
    "get_route_metrics(grain => 'hour', combined => true) returns one row per hour ($EXP_HOURS)"
check_same "combined per hour, totals equal the GROUP BY over the log" \
    "SELECT period_start, total_requests, successful, failed FROM metrics.get_route_metrics($api_args, grain => 'hour', combined => true)" \
    "SELECT date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*), count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success)
     FROM replay_check.events GROUP BY 1"

# Per day, combined (days of metrics.timezone = UTC).
DAY_EXPECTED="SELECT date_trunc('day', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS d, count(*) AS n,
                     count(*) FILTER (WHERE success) AS s, count(*) FILTER (WHERE NOT success) AS f
              FROM replay_check.events GROUP BY 1"
is "$(q "SELECT count(*) FROM ($DAY_EXPECTED) AS x")" "$EXP_DAYS" "the log spans $EXP_DAYS UTC days"
check_same "get_route_metrics(grain => 'day', combined => true): each day's totals equal the GROUP BY over the log" \
    "SELECT period_start, period_end, route, method, total_requests, successful, failed
     FROM metrics.get_route_metrics($api_args, grain => 'day', combined => true)" \
    "SELECT d, d + interval '1 day', NULL::text, NULL::text, n, s, f FROM ($DAY_EXPECTED) AS x"
diag "per day: $(q "SELECT string_agg(to_char(period_start AT TIME ZONE 'UTC', 'MM-DD') || '=' || total_requests || '/' || failed || ' failed', ', ' ORDER BY period_start)
                    FROM metrics.get_route_metrics($api_args, grain => 'day', combined => true)")"

# Per week, combined: counts, min and max exact; p50/p95/p99 within 1% of percentile_disc.
WEEKS="WITH e AS (
    SELECT date_trunc('week', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS w, count(*) AS n,
           min(duration_ms) AS mn, max(duration_ms) AS mx,
           percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS p
    FROM replay_check.events GROUP BY 1
), r AS (
    SELECT * FROM metrics.get_route_metrics($api_args, grain => 'week', combined => true)
), j AS (
    SELECT coalesce(e.w, r.period_start) AS w, e.n, r.total_requests, e.mn, r.min_duration_ms, e.mx, r.max_duration_ms,
           e.p, ARRAY[r.p50_ms, r.p95_ms, r.p99_ms] AS rp
    FROM e FULL JOIN r ON r.period_start = e.w
)"
is "$(q "$WEEKS SELECT count(*) FROM j")|$(q "$WEEKS SELECT count(*) FROM j WHERE n IS NOT NULL AND total_requests IS NOT NULL")" \
    "$EXP_WEEKS|$EXP_WEEKS" "get_route_metrics(grain => 'week', combined => true) returns the log's $EXP_WEEKS weeks"
diag "per week (exact percentile_disc p50/p95/p99 vs reported):
$(q "$WEEKS SELECT to_char(w AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ': n=' || n || '/' || total_requests || ' min=' || mn || '/' || min_duration_ms
        || ' max=' || mx || '/' || max_duration_ms || ' p=' || p::text || ' reported ' || rp::text FROM j ORDER BY w")"
is "$(q "$WEEKS SELECT count(*) FROM j WHERE n IS DISTINCT FROM total_requests OR mn IS DISTINCT FROM min_duration_ms OR mx IS DISTINCT FROM max_duration_ms")" 0 \
    "per week, total_requests, min_duration_ms and max_duration_ms equal the log's exactly"
is "$(q "$WEEKS SELECT count(*) FROM j, generate_series(1, 3) AS i
         WHERE rp[i] IS NULL OR abs(rp[i] - p[i]) > 0.01 * p[i] + 1e-9")" 0 \
    "per week, p50, p95 and p99 are within 1% (relative) of percentile_disc over the stand-in durations"
is "$(q "$WEEKS SELECT count(*) FROM j, generate_series(1, 3) AS i WHERE p[i] > 0")" $((3 * EXP_WEEKS)) \
    "(and none of those percentiles is 0, so the 1% bound is a real one)"

# --- a malformed batch is refused whole --------------------------------------------------------
PROBE='[{"route": "/replay-probe", "method": "GET", "success": true, "duration_ms": 1.5, "at": "2015-05-18T12:00:00+00:00"},
        {"route": "/replay-probe", "method": "FETCH", "success": true, "duration_ms": 2.5, "at": "2015-05-18T12:00:01+00:00"}]'
BEFORE=$(q "SELECT sum(total_requests) || '|' || count(*) FROM metrics.route_metrics")
q_try "SET metrics.max_event_age = '$MAX_EVENT_AGE'; SELECT metrics.record_route_metrics('$PROBE'::jsonb)"
is "$Q_SQLSTATE" 22023 "a batch of a valid event and one with an unknown method is refused with 22023"
like "$Q_ERR" 'ERROR:  22023: events\[1\]: .*FETCH' "the message names the event with index 1 and its method"
ok "the refusal has a hint" test -n "$Q_HINT"
is "$(q "SELECT count(*) FROM metrics.route_metrics WHERE route = '/replay-probe'")" 0 \
    "nothing of the refused batch was recorded (not even its valid event)"
is "$(q "SELECT sum(total_requests) || '|' || count(*) FROM metrics.route_metrics")" "$BEFORE" "the table is unchanged"

diag "runtime: $((SECONDS - T_BEGIN)) s"
done_testing
