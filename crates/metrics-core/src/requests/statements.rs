//! The SQL that adds a bucket into its hour's row: one `INSERT ... ON CONFLICT DO UPDATE` for
//! each table, whose counts, sums, extremes and sketch merge with what the row already holds,
//! the same merge as `Bucket::merge`, done by PostgreSQL (sums of durations to the
//! microsecond, as `bucket::add_durations` adds them).
//!
//! Parameters: `$1..$k` the key (the route and method, or the operation), then the hour, the
//! total, successful and failed counts, the sum, minimum and maximum duration, the time of the
//! last event, and the encoded sketch. A bucket of a project names its `project_id` in the
//! last parameter (`scoped`); a bucket of no project leaves the column out (NULL), so the
//! statement of unscoped events is the one every earlier version ran (and works on tables
//! that have no project column yet, before `ALTER EXTENSION metrics UPDATE`). The bucket
//! constraint treats NULL projects as equal (`NULLS NOT DISTINCT`), so either adds into
//! its one row.

use crate::requests::event::Subject;

/// A table of hourly rows: its name, its key columns, and its words for the count of events
/// and the time of the last one.
struct Table {
    name: &'static str,
    key: &'static [&'static str],
    total: &'static str,
    last: &'static str,
}

const ROUTES: Table = Table {
    name: "route_metrics",
    key: &["route", "method"],
    total: "total_requests",
    last: "last_request_at",
};

const OPERATIONS: Table = Table {
    name: "operation_metrics",
    key: &["operation"],
    total: "total_executions",
    last: "last_execution_at",
};

/// The number of key columns, which come first among the parameters.
pub fn key_len(subject: Subject) -> usize {
    table(subject).key.len()
}

/// The table of `subject`, its key columns, and its columns for the count of events and
/// the time of the last one.
pub fn columns(
    subject: Subject,
) -> (
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
) {
    let t = table(subject);
    (t.name, t.key, t.total, t.last)
}

fn table(subject: Subject) -> &'static Table {
    match subject {
        Subject::Route => &ROUTES,
        Subject::Operation => &OPERATIONS,
    }
}

/// Where an upsert adds its bucket: the hour's row, or the row of a period compaction has
/// folded (a late event), whose end, resolution and zone come as three more parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Hour,
    Period,
}

/// The upsert of one bucket of no project into the hour rows of `subject`.
pub fn upsert(subject: Subject) -> String {
    upsert_into(subject, Target::Hour, false)
}

/// The upsert of one bucket into a row of `subject`: an hour's (`upsert`), or a folded
/// period's, whose `$k+10..$k+12` are the period's end, resolution and zone; `scoped`, the
/// bucket's project id is the parameter after those. Either way a row that already holds the
/// key's period is added into, never replaced.
pub fn upsert_into(subject: Subject, target: Target, scoped: bool) -> String {
    let Table {
        name,
        key,
        total,
        last,
    } = table(subject);
    let k = key.len();
    let keys: Vec<String> = (1..=k).map(|i| format!("${i}")).collect();
    let [hour, n, ok, failed, sum, min, max, at, sketch] =
        std::array::from_fn::<String, 9, _>(|i| format!("${}", k + 1 + i));
    let (columns, end, project) = match target {
        Target::Hour => (String::new(), format!("{hour} + interval '1 hour'"), k + 10),
        Target::Period => (
            ", resolution, timezone".to_string(),
            format!("${}, ${}, ${}", k + 10, k + 11, k + 12),
            k + 13,
        ),
    };
    let (key, keys) = (key.join(", "), keys.join(", "));
    let (key, keys) = if scoped {
        (format!("{key}, project_id"), format!("{keys}, ${project}"))
    } else {
        (key, keys)
    };
    format!(
        "
INSERT INTO metrics.{name} AS t
    ({key}, period_start, period_end{columns}, {total}, successful, failed,
     total_duration_ms, average_duration_ms, min_duration_ms, max_duration_ms, {last}, latency_sketch)
VALUES ({keys}, {hour}, {end}, {n}, {ok}, {failed}, {sum}, {sum} / {n}, {min}, {max}, {at}, {sketch})
ON CONFLICT ON CONSTRAINT {name}_bucket DO UPDATE SET
    {total} = t.{total} + excluded.{total},
    successful = t.successful + excluded.successful,
    failed = t.failed + excluded.failed,
    total_duration_ms = round((t.total_duration_ms + excluded.total_duration_ms) * 1000) / 1000,
    average_duration_ms = round((t.total_duration_ms + excluded.total_duration_ms) * 1000) / 1000
                          / (t.{total} + excluded.{total}),
    min_duration_ms = least(t.min_duration_ms, excluded.min_duration_ms),
    max_duration_ms = greatest(t.max_duration_ms, excluded.max_duration_ms),
    {last} = greatest(t.{last}, excluded.{last}),
    latency_sketch = metrics.merge_latency_sketch(t.latency_sketch, excluded.latency_sketch),
    updated_at = now()"
    )
}

/// The table that direct recording appends to, `metrics.<table>_unfolded`
/// (sql/requests/unfolded.sql): events and buckets of several events, without a unique key,
/// folded into the hour rows by `metrics.fold_metrics` (the buffer's writer, maintenance,
/// compaction).
pub fn unfolded_table(subject: Subject) -> String {
    format!("{}_unfolded", table(subject).name)
}

/// The append of one event as a row of `unfolded_table`: `$1..$k` the key, then its time,
/// duration and success, and its project when `scoped`. No row is locked and no index is
/// written: concurrent callers of one hot key never wait for each other.
pub fn append_event(subject: Subject, scoped: bool) -> String {
    let Table { key, last, .. } = table(subject);
    let mut columns: Vec<&str> = key.to_vec();
    columns.extend([*last, "duration_ms", "success"]);
    append(subject, columns, scoped)
}

/// The append of one bucket of several events: the parameters of the hour upsert
/// (`upsert_into(subject, Target::Hour, scoped)`) in the same order, but for the hour (`$k+1`,
/// unused: a row's hour is that of its last event).
pub fn append_bucket(subject: Subject, scoped: bool) -> String {
    let Table {
        key, total, last, ..
    } = table(subject);
    let k = key.len();
    let mut columns: Vec<&str> = key.to_vec();
    columns.extend([*total, "successful", "failed", "total_duration_ms"]);
    columns.extend([
        "min_duration_ms",
        "max_duration_ms",
        *last,
        "latency_sketch",
    ]);
    let numbers: Vec<usize> = (1..=k).chain(k + 2..=k + 9).collect();
    append_numbered(subject, &columns, numbers, scoped, k + 10)
}

fn append(subject: Subject, columns: Vec<&str>, scoped: bool) -> String {
    let n = columns.len();
    append_numbered(subject, &columns, (1..=n).collect(), scoped, n + 1)
}

fn append_numbered(
    subject: Subject,
    columns: &[&str],
    numbers: Vec<usize>,
    scoped: bool,
    project: usize,
) -> String {
    let mut columns: Vec<&str> = columns.to_vec();
    let mut values: Vec<String> = numbers.iter().map(|i| format!("${i}")).collect();
    if scoped {
        columns.push("project_id");
        values.push(format!("${project}"));
    }
    format!(
        "INSERT INTO metrics.{} ({}) VALUES ({})",
        unfolded_table(subject),
        columns.join(", "),
        values.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squeeze(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_route_upsert() {
        assert_eq!(key_len(Subject::Route), 2);
        assert_eq!(
            squeeze(&upsert(Subject::Route)),
            squeeze(
                "INSERT INTO metrics.route_metrics AS t
                    (route, method, period_start, period_end, total_requests, successful, failed,
                     total_duration_ms, average_duration_ms, min_duration_ms, max_duration_ms, last_request_at, latency_sketch)
                VALUES ($1, $2, $3, $3 + interval '1 hour', $4, $5, $6, $7, $7 / $4, $8, $9, $10, $11)
                ON CONFLICT ON CONSTRAINT route_metrics_bucket DO UPDATE SET
                    total_requests = t.total_requests + excluded.total_requests,
                    successful = t.successful + excluded.successful,
                    failed = t.failed + excluded.failed,
                    total_duration_ms = round((t.total_duration_ms + excluded.total_duration_ms) * 1000) / 1000,
                    average_duration_ms = round((t.total_duration_ms + excluded.total_duration_ms) * 1000) / 1000
                                          / (t.total_requests + excluded.total_requests),
                    min_duration_ms = least(t.min_duration_ms, excluded.min_duration_ms),
                    max_duration_ms = greatest(t.max_duration_ms, excluded.max_duration_ms),
                    last_request_at = greatest(t.last_request_at, excluded.last_request_at),
                    latency_sketch = metrics.merge_latency_sketch(t.latency_sketch, excluded.latency_sketch),
                    updated_at = now()"
            )
        );
    }

    #[test]
    fn the_period_upsert_names_its_end_resolution_and_zone() {
        let sql = squeeze(&upsert_into(Subject::Route, Target::Period, false));
        assert!(sql.contains(
            "(route, method, period_start, period_end, resolution, timezone, total_requests,"
        ));
        assert!(sql.contains(
            "VALUES ($1, $2, $3, $12, $13, $14, $4, $5, $6, $7, $7 / $4, $8, $9, $10, $11)"
        ));
        let op = squeeze(&upsert_into(Subject::Operation, Target::Period, false));
        assert!(op.contains("VALUES ($1, $2, $11, $12, $13, $3,"));
        assert_eq!(
            upsert(Subject::Route),
            upsert_into(Subject::Route, Target::Hour, false)
        );
    }

    #[test]
    fn a_bucket_of_a_project_names_it_last() {
        let hour = squeeze(&upsert_into(Subject::Route, Target::Hour, true));
        assert!(
            hour.contains("(route, method, project_id, period_start, period_end, total_requests,")
        );
        assert!(hour.contains("VALUES ($1, $2, $12, $3, $3 + interval '1 hour', $4,"));
        assert!(!squeeze(&upsert(Subject::Route)).contains("project_id"));
        let period = squeeze(&upsert_into(Subject::Operation, Target::Period, true));
        assert!(period
            .contains("(operation, project_id, period_start, period_end, resolution, timezone,"));
        assert!(period.contains("VALUES ($1, $14, $2, $11, $12, $13, $3,"));
    }

    #[test]
    fn the_operation_upsert() {
        assert_eq!(key_len(Subject::Operation), 1);
        let sql = squeeze(&upsert(Subject::Operation));
        assert!(sql.starts_with("INSERT INTO metrics.operation_metrics AS t (operation, period_start, period_end, total_executions,"));
        assert!(sql.contains(
            "VALUES ($1, $2, $2 + interval '1 hour', $3, $4, $5, $6, $6 / $3, $7, $8, $9, $10)"
        ));
        assert!(sql.contains("ON CONFLICT ON CONSTRAINT operation_metrics_bucket"));
        assert!(sql.contains(
            "last_execution_at = greatest(t.last_execution_at, excluded.last_execution_at)"
        ));
        assert!(sql.contains("/ (t.total_executions + excluded.total_executions)"));
    }

    #[test]
    fn the_appends_of_an_event_and_of_a_bucket() {
        assert_eq!(
            append_event(Subject::Route, false),
            "INSERT INTO metrics.route_metrics_unfolded (route, method, last_request_at, duration_ms, success) VALUES ($1, $2, $3, $4, $5)"
        );
        assert_eq!(
            append_event(Subject::Operation, true),
            "INSERT INTO metrics.operation_metrics_unfolded (operation, last_execution_at, duration_ms, success, project_id) VALUES ($1, $2, $3, $4, $5)"
        );
        // A bucket takes the hour upsert's parameters, skipping the hour ($3 for routes).
        assert_eq!(
            append_bucket(Subject::Route, false),
            "INSERT INTO metrics.route_metrics_unfolded (route, method, total_requests, successful, failed, total_duration_ms, min_duration_ms, max_duration_ms, last_request_at, latency_sketch) VALUES ($1, $2, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        let scoped = append_bucket(Subject::Operation, true);
        assert!(scoped.ends_with(
            "latency_sketch, project_id) VALUES ($1, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ));
        // The project is the parameter after the sketch, as in the hour upsert.
        assert!(
            squeeze(&upsert_into(Subject::Operation, Target::Hour, true))
                .contains("VALUES ($1, $11, $2,")
        );
    }
}
