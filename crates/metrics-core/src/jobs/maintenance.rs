//! A maintenance run (`metrics.run_maintenance()`), the pure part: its steps, and how their
//! outcomes add up to the run's status in the job ledger (`metrics.maintenance_log`).

/// The steps of a run, in the order they run, as the ledger names them.
pub const STEPS: [&str; 5] = ["catch_up", "compact", "read_model", "prune", "alerts"];

/// The families pruning deletes old rows of, in the order it does them.
pub const PRUNED_FAMILIES: [&str; 8] = [
    "collection_log",
    "maintenance_log",
    "github_events",
    "cron_job_run_details",
    "read_model_summary",
    "read_model_trend",
    "read_model_breakdown",
    "read_model_drilldown",
];

/// The pg_cron job names of the extension, and their commands.
pub const DAILY_JOB: (&str, &str) = (
    "metrics-daily-collection",
    "SELECT * FROM metrics.collect_daily_metrics()",
);
pub const MAINTENANCE_JOB: (&str, &str) = ("metrics-maintenance", "CALL metrics.run_maintenance()");

/// The status of a run from its steps' statuses: `completed` when no step failed (a skipped
/// step had nothing to do), `failed` when every step that had something to do failed,
/// `partial` otherwise.
pub fn run_status<'a>(steps: impl IntoIterator<Item = &'a str>) -> &'static str {
    let mut worked = 0;
    let mut failed = 0;
    let mut partial = 0;
    for status in steps {
        match status {
            "skipped" => {}
            "failed" => {
                worked += 1;
                failed += 1;
            }
            "completed" => worked += 1,
            // partial, and a step left running (it cannot be, once the run ends): not clean.
            _ => {
                worked += 1;
                partial += 1;
            }
        }
    }
    if failed == 0 && partial == 0 {
        "completed"
    } else if failed == worked {
        "failed"
    } else {
        "partial"
    }
}

/// A collection's status as its catch-up step's: the same words; a collection that found
/// nothing new is a step that had nothing to do.
pub fn catch_up_status(collection_status: &str) -> &'static str {
    match collection_status {
        "completed" => "completed",
        "skipped" => "skipped",
        "failed" => "failed",
        _ => "partial",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_as_good_as_its_steps() {
        assert_eq!(run_status([]), "completed");
        assert_eq!(
            run_status(["completed", "skipped", "completed"]),
            "completed"
        );
        assert_eq!(run_status(["skipped", "skipped"]), "completed");
        assert_eq!(run_status(["completed", "failed"]), "partial");
        assert_eq!(run_status(["partial", "completed"]), "partial");
        assert_eq!(run_status(["failed", "partial"]), "partial");
        assert_eq!(run_status(["failed", "skipped", "failed"]), "failed");
        assert_eq!(run_status(["running"]), "partial");
    }

    #[test]
    fn a_collection_maps_onto_its_step() {
        assert_eq!(catch_up_status("completed"), "completed");
        assert_eq!(catch_up_status("skipped"), "skipped");
        assert_eq!(catch_up_status("failed"), "failed");
        assert_eq!(catch_up_status("partial"), "partial");
    }

    #[test]
    fn steps_and_families_are_those_of_the_ledger() {
        assert_eq!(
            STEPS,
            ["catch_up", "compact", "read_model", "prune", "alerts"]
        );
        assert!(MAINTENANCE_JOB.1.starts_with("CALL "));
        assert_eq!(PRUNED_FAMILIES.len(), 8);
    }
}
