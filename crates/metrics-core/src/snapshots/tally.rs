//! What one collection or backfill did, metric by metric, and how that is reported: the
//! status, the log message, the per-metric failures and the NOTICE or WARNING the caller sees.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use crate::common::calendar::days;
use crate::common::problem::{Failure, Problem, SqlState};
use crate::jobs::run::{RunOutcome, Status};
use crate::snapshots::definition::Ratio;

/// Counts of one run over `days` days and `metrics` active definitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub days: i64,
    pub metrics: usize,
    pub recorded: i64,
    pub already_sealed: i64,
    pub failed_values: i64,
    pub failed_metrics: BTreeMap<String, Failure>,
    /// The days a metric failed on, when it failed on some days of the range only (a day
    /// whose data the metric cannot compute); the other days were sealed.
    pub failed_days: BTreeMap<String, Vec<NaiveDate>>,
    /// The SQLSTATEs of the transient failures of each metric that were tried again
    /// (`jobs::retry`), in order; the metric was sealed in the end unless it failed.
    pub retries: BTreeMap<String, Vec<String>>,
    /// Per-project metrics: how many of their rows belong to no known project (counted in
    /// the whole-database value only), which the log message names.
    pub unassigned: BTreeMap<String, i64>,
}

impl Tally {
    pub fn new(days: i64, metrics: usize) -> Tally {
        Tally {
            days,
            metrics,
            recorded: 0,
            already_sealed: 0,
            failed_values: 0,
            failed_metrics: BTreeMap::new(),
            failed_days: BTreeMap::new(),
            retries: BTreeMap::new(),
            unassigned: BTreeMap::new(),
        }
    }

    /// `rows` rows of per-project metric `category` belong to no known project.
    pub fn unassigned(&mut self, category: &str, rows: i64) {
        *self.unassigned.entry(category.to_string()).or_default() += rows;
    }

    /// An attempt of `category` failed with a transient `sqlstate` and is tried again.
    pub fn retried(&mut self, category: &str, sqlstate: &str) {
        self.retries
            .entry(category.to_string())
            .or_default()
            .push(sqlstate.to_string());
    }

    /// A step computed `computed` values, of which `inserted` were new.
    pub fn sealed(&mut self, computed: usize, inserted: i64) {
        self.recorded += inserted;
        self.already_sealed += computed as i64 - inserted;
    }

    /// `values` values of `category` could not be computed.
    pub fn fail(&mut self, category: &str, values: i64, failure: Failure) {
        self.failed_values += values;
        self.failed_metrics.insert(category.to_string(), failure);
    }

    /// `category` could not be computed on `failed` days (a part of the range); the first
    /// failure found is the one logged, with every failed day.
    pub fn fail_days(&mut self, category: &str, failed: &[NaiveDate], failure: Failure) {
        self.failed_values += failed.len() as i64;
        self.failed_metrics
            .entry(category.to_string())
            .or_insert(failure);
        let days = self.failed_days.entry(category.to_string()).or_default();
        days.extend_from_slice(failed);
        days.sort();
    }

    /// Whether `category` failed on any day of this run.
    pub fn failed(&self, category: &str) -> bool {
        self.failed_metrics.contains_key(category)
    }

    /// Values dealt with so far, whichever way.
    pub fn done(&self) -> i64 {
        self.recorded + self.already_sealed + self.failed_values
    }

    /// A percentage sealed only on `recorded` of the days `[start, end]`: the other days
    /// lack its numerator or denominator, which is a failure of those days.
    pub fn ratio_gaps(
        &mut self,
        ratio: &Ratio,
        start: NaiveDate,
        end: NaiveDate,
        recorded: &[NaiveDate],
    ) {
        let missing: Vec<NaiveDate> = days(start, end).filter(|d| !recorded.contains(d)).collect();
        let Some(first) = missing.first() else {
            return;
        };
        let Ratio {
            category,
            numerator,
            denominator,
        } = ratio;
        let problem = Problem::new(
            SqlState::ForeignKeyViolation,
            format!(
                "percentage \"{category}\" has no value for {} of {} days: \"{numerator}\" or \"{denominator}\" is not recorded (first such day: {first})",
                missing.len(),
                self.days
            ),
        )
        .hint(format!(
            "collect or backfill \"{numerator}\" and \"{denominator}\" for those days, then run again"
        ));
        self.fail(category, missing.len() as i64, problem.into());
    }

    pub fn status(&self) -> Status {
        if self.failed_metrics.is_empty() {
            if self.recorded > 0 {
                Status::Completed
            } else {
                Status::Skipped
            }
        } else if self.failed_metrics.len() == self.metrics && self.recorded == 0 {
            Status::Failed
        } else {
            Status::Partial
        }
    }

    /// The run as the log records it.
    pub fn outcome(&self) -> RunOutcome {
        let mut message = if self.metrics == 0 {
            "no active metric definitions: nothing to collect".to_string()
        } else {
            format!(
                "{} days x {} metrics: {} values recorded, {} already sealed, {} failed",
                self.days, self.metrics, self.recorded, self.already_sealed, self.failed_values
            )
        };
        if !self.unassigned.is_empty() {
            let counts: Vec<String> = self
                .unassigned
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            message.push_str(&format!(
                "; rows of no known project, counted in the whole database only: {}",
                counts.join(", ")
            ));
        }
        let (error_message, mut error_details) = if self.failed_metrics.is_empty() {
            (None, None)
        } else {
            let summary: Vec<String> = self
                .failed_metrics
                .iter()
                .map(|(c, f)| format!("{c}: {}", f.message))
                .collect();
            let details: Map<String, Value> = self
                .failed_metrics
                .iter()
                .map(|(c, f)| (c.clone(), self.failure_json(c, f)))
                .collect();
            (
                Some(format!(
                    "{} of {} metrics failed: {}",
                    self.failed_metrics.len(),
                    self.metrics,
                    summary.join("; ")
                )),
                Some(json!({ "failures": Value::Object(details) })),
            )
        };
        if !self.retries.is_empty() {
            let details = error_details.get_or_insert_with(|| json!({}));
            details["retries"] = self.retries_json();
        }
        RunOutcome {
            status: self.status(),
            recorded: self.recorded,
            already_sealed: self.already_sealed,
            failed: self.failed_values,
            message,
            error_message,
            error_details,
        }
    }
}

impl Tally {
    /// A metric's failure in the log: its error, and the days it hit when not all of them.
    fn failure_json(&self, category: &str, failure: &Failure) -> Value {
        let mut json = failure.to_json();
        if let Some(days) = self.failed_days.get(category) {
            json["days"] = days.iter().map(|d| Value::from(d.to_string())).collect();
        }
        if let Some(retried) = self.retries.get(category) {
            json["attempts"] = Value::from(retried.len() + 1);
        }
        json
    }

    /// `{category: {retries, sqlstates, sealed}}`: the metrics tried again after transient
    /// failures, and whether they were sealed in the end.
    fn retries_json(&self) -> Value {
        let per_metric: Map<String, Value> = self
            .retries
            .iter()
            .map(|(c, states)| {
                let entry = json!({
                    "retries": states.len(),
                    "sqlstates": states,
                    "sealed": !self.failed(c),
                });
                (c.clone(), entry)
            })
            .collect();
        Value::Object(per_metric)
    }
}

/// What the caller of a run is told besides its result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Nothing,
    Notice(String),
    Warning(String),
}

/// The NOTICE of a run that recorded nothing new, the WARNING of one where metrics failed.
pub fn report(label: &str, outcome: &RunOutcome) -> Report {
    match outcome.status {
        Status::Completed => Report::Nothing,
        Status::Skipped => Report::Notice(format!(
            "metrics: {label}: nothing new recorded ({})",
            outcome.message
        )),
        Status::Partial | Status::Failed => Report::Warning(format!(
            "metrics: {label}: {} (see metrics.metric_collection_log)",
            outcome.error_message.as_deref().unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn failure(message: &str) -> Failure {
        Problem::new(SqlState::UndefinedTable, message).into()
    }

    #[test]
    fn a_run_that_seals_everything_completes() {
        let mut t = Tally::new(3, 2);
        t.sealed(6, 4);
        assert_eq!(t.done(), 6);
        let o = t.outcome();
        assert_eq!(o.status, Status::Completed);
        assert_eq!((o.recorded, o.already_sealed, o.failed), (4, 2, 0));
        assert_eq!(
            o.message,
            "3 days x 2 metrics: 4 values recorded, 2 already sealed, 0 failed"
        );
        assert_eq!((o.error_message, o.error_details), (None, None));
        assert_eq!(report("2025-01-01", &t.outcome()), Report::Nothing);
    }

    #[test]
    fn nothing_new_is_skipped_with_a_notice() {
        let mut t = Tally::new(1, 1);
        t.sealed(1, 0);
        assert_eq!(t.status(), Status::Skipped);
        assert_eq!(
            report("2025-01-01", &t.outcome()),
            Report::Notice("metrics: 2025-01-01: nothing new recorded (1 days x 1 metrics: 0 values recorded, 1 already sealed, 0 failed)".into())
        );
        let empty = Tally::new(1, 0).outcome();
        assert_eq!(empty.status, Status::Skipped);
        assert_eq!(
            empty.message,
            "no active metric definitions: nothing to collect"
        );
    }

    #[test]
    fn failures_are_partial_or_failed_and_logged_per_metric() {
        let mut t = Tally::new(2, 2);
        t.fail("b", 2, failure("relation gone"));
        t.sealed(2, 2);
        let o = t.outcome();
        assert_eq!(o.status, Status::Partial);
        assert_eq!(o.failed, 2);
        assert_eq!(
            o.error_message.as_deref(),
            Some("1 of 2 metrics failed: b: relation gone")
        );
        assert_eq!(
            o.error_details.unwrap()["failures"]["b"]["sqlstate"],
            "42P01"
        );
        assert!(matches!(report("x", &t.outcome()), Report::Warning(w)
            if w == "metrics: x: 1 of 2 metrics failed: b: relation gone (see metrics.metric_collection_log)"));

        let mut all = Tally::new(1, 1);
        all.fail("a", 1, failure("gone"));
        assert_eq!(all.status(), Status::Failed);
    }

    #[test]
    fn a_failure_on_some_days_lists_them_and_keeps_the_first_error() {
        let mut t = Tally::new(5, 2);
        t.sealed(8, 8);
        t.fail_days("avg", &[d("2025-01-04")], failure("overflow"));
        t.fail_days("avg", &[d("2025-01-02")], failure("second"));
        assert_eq!(t.failed_values, 2);
        assert!(t.failed("avg") && !t.failed("other"));
        let o = t.outcome();
        assert_eq!(o.status, Status::Partial);
        let details = o.error_details.unwrap();
        assert_eq!(details["failures"]["avg"]["message"], "overflow");
        assert_eq!(
            details["failures"]["avg"]["days"],
            json!(["2025-01-02", "2025-01-04"])
        );
    }

    #[test]
    fn retries_are_logged_with_their_outcome() {
        let mut t = Tally::new(1, 2);
        t.retried("a", "40001");
        t.retried("a", "40P01");
        t.sealed(1, 1);
        let o = t.outcome();
        assert_eq!(o.status, Status::Completed);
        assert_eq!(o.error_message, None);
        assert_eq!(
            o.error_details.unwrap(),
            json!({"retries": {"a": {"retries": 2, "sqlstates": ["40001", "40P01"], "sealed": true}}})
        );
        for _ in 0..3 {
            t.retried("b", "55P03");
        }
        let busy = Failure {
            sqlstate: "55P03".into(),
            message: "busy".into(),
            detail: None,
            hint: None,
        };
        t.fail("b", 1, busy);
        let details = t.outcome().error_details.unwrap();
        assert_eq!(details["failures"]["b"]["attempts"], 4);
        assert_eq!(details["retries"]["b"]["sealed"], false);
        assert!(details["failures"].get("a").is_none());
    }

    #[test]
    fn a_percentage_without_its_parts_fails_on_those_days() {
        let ratio = Ratio {
            category: "rate".into(),
            numerator: "a".into(),
            denominator: "b".into(),
        };
        let mut t = Tally::new(4, 1);
        t.ratio_gaps(
            &ratio,
            d("2025-01-01"),
            d("2025-01-04"),
            &[d("2025-01-01"), d("2025-01-03")],
        );
        assert_eq!(t.failed_values, 2);
        let f = &t.failed_metrics["rate"];
        assert_eq!(f.sqlstate, "23503");
        assert_eq!(
            f.message,
            "percentage \"rate\" has no value for 2 of 4 days: \"a\" or \"b\" is not recorded (first such day: 2025-01-02)"
        );
        let mut complete = Tally::new(1, 1);
        complete.ratio_gaps(&ratio, d("2025-01-01"), d("2025-01-01"), &[d("2025-01-01")]);
        assert!(complete.failed_metrics.is_empty());
    }
}

#[cfg(test)]
mod unassigned_tests {
    use super::*;

    #[test]
    fn the_log_names_rows_of_no_known_project() {
        let mut t = Tally::new(2, 3);
        t.sealed(6, 6);
        assert!(!t.outcome().message.contains("no known project"));
        t.unassigned("orders_created", 4);
        t.unassigned("orders_created", 3);
        t.unassigned("orders_total", 9);
        assert_eq!(
            t.outcome().message,
            "2 days x 3 metrics: 6 values recorded, 0 already sealed, 0 failed; rows of no known project, counted in the whole database only: orders_created 7, orders_total 9"
        );
    }
}
