#!/usr/bin/env bash
# What a backfill says and does when metrics fail. Progress NOTICEs tell the truth: a step
# whose metric failed says FAILED and names it, never "done" or "sealed", and the counts say how
# many values failed so far. A statement_timeout (the caller's limit, unlike
# metrics.metric_timeout) is never taken for a metric's failure: it cancels the whole run,
# which leaves nothing behind.
source "$(dirname "$0")/../lib.bash"

plan 8
fresh_db
q "CREATE EXTENSION metrics" \
  "CREATE SCHEMA src" \
  "CREATE TABLE src.readings (taken_at timestamptz NOT NULL, x float8)" \
  "INSERT INTO src.readings SELECT timestamptz '2025-03-01' + g * interval '1 hour', g FROM generate_series(0, 71) AS g" \
  "INSERT INTO src.readings VALUES ('2025-03-02 12:00+00', 'NaN')" \
  "SELECT 1 FROM metrics.define_metric('readings', 'created', source_table => 'readings', source_schema => 'src', time_column => 'taken_at')" \
  "SELECT 1 FROM metrics.define_metric('avg_x', 'average', source_table => 'readings', source_schema => 'src', time_column => 'taken_at', value_column => 'x')" \
  >/dev/null || bail_out "cannot set up"
out=$(PGOPTIONS="-c client_min_messages=notice" psql -X -qAt -v ON_ERROR_STOP=1 -d "$DB" \
      -c "SET TimeZone = 'UTC'" -c "SELECT * FROM metrics.backfill_daily_metrics('2025-03-01', '2025-03-03')" 2>&1)
diag "$out"
like "$out" 'NOTICE:  metrics: backfill 2025-03-01..2025-03-03: 6/6 values processed \(100%\), 1 failed so far, .*FAILED: avg_x' \
    "the step of the failing metric says FAILED and names it, with the failed count"
ok "no progress line calls it sealed or done" not grep -Eq 'sealed: .*avg_x|done: .*avg_x' <<<"$out"
like "$out" 'WARNING:  metrics: 2025-03-01..2025-03-03: 1 of 2 metrics failed: avg_x: the value of "avg_x" on 2025-03-02 is NaN' \
    "the run's warning names the metric and the bad day"
is "$(q "SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = 'avg_x'")" 2 "the two other days of avg_x are sealed"
is "$(q "SELECT error_details->'failures'->'avg_x'->'days' FROM metrics.metric_collection_log WHERE run_type = 'backfill'")" '["2025-03-02"]' \
    "the log lists the failed day"

q "CREATE TABLE src.big (id bigint, at timestamptz)" \
  "INSERT INTO src.big SELECT g, timestamptz '2025-04-01' + (g % 86400) * interval '1 second' FROM generate_series(1, 300000) AS g" \
  "SELECT 1 FROM metrics.define_metric('big_slow', 'created', source_table => 'big', source_schema => 'src', time_column => 'at', filter => \$f\$length(repeat(md5(id::text), 2000)) > 0\$f\$)" \
  >/dev/null || bail_out "cannot define the slow metric"
before=$(q "SELECT count(*) FROM metrics.metric_collection_log")
q_try "SET statement_timeout = '300ms'; SET metrics.metric_timeout = 0; SELECT * FROM metrics.backfill_daily_metrics('2025-04-01', '2025-04-01')"
is "$Q_SQLSTATE" 57014 "a statement_timeout cancels the backfill (57014)"
like "$Q_ERR" 'canceling statement due to statement timeout' "as the statement timeout, not as a metric's failure"
is "$(q "SELECT count(*) FROM metrics.metric_collection_log") $(q "SELECT count(*) FROM metrics.daily_metrics WHERE metric_date = '2025-04-01'")" "$before 0" \
    "and leaves nothing behind: no log row, no value"
done_testing
