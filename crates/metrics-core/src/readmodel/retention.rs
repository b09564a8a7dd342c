//! What retention removes from the read model, per family and policy (seed 004, section 5):
//! summaries are kept whole for `keep_daily`, then only the last of each project's day, and
//! dropped after `drop_after`; trend points keep their hour and day grains for `keep_daily`,
//! then only their week and month points (the weekly downsampling), dropped after
//! `drop_after` if set; breakdown points and drill-downs are dropped after `drop_after`.

use crate::maintenance::policy::{Policy, Span};

/// One kind of deletion of a read-model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Summaries older than the age, except the last of each project's day.
    ThinSummaries,
    /// Every summary older than the age.
    DropSummaries,
    /// Hour and day trend points whose bucket is older than the age.
    DropFineTrend,
    /// Every trend point whose bucket is older than the age.
    DropTrend,
    /// Breakdown points whose bucket is older than the age.
    DropBreakdown,
    /// Drill-downs whose entity is older than the age.
    DropDrilldown,
}

/// The deletions of a family under its policy, each with the age beyond which it applies,
/// drops first (they delete more for less work); empty when the policy keeps everything or
/// the family is not the read model's.
pub fn plan(family: &str, policy: Policy) -> Vec<(Removal, Span)> {
    let (thin, drop) = match family {
        "read_model_summary" => (Some(Removal::ThinSummaries), Removal::DropSummaries),
        "read_model_trend" => (Some(Removal::DropFineTrend), Removal::DropTrend),
        "read_model_breakdown" => (None, Removal::DropBreakdown),
        "read_model_drilldown" => (None, Removal::DropDrilldown),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    if let Some(age) = policy.drop_after {
        out.push((drop, age));
    }
    if let (Some(thin), Some(age)) = (thin, policy.keep_daily) {
        let dropped_anyway = policy
            .drop_after
            .is_some_and(|d| d.length() <= age.length());
        if !dropped_anyway {
            out.push((thin, age));
        }
    }
    out
}

/// The families `plan` knows, in the order pruning does them.
pub const READ_MODEL_FAMILIES: [&str; 4] = [
    "read_model_summary",
    "read_model_trend",
    "read_model_breakdown",
    "read_model_drilldown",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(daily: Option<i32>, drop: Option<i32>) -> Policy {
        Policy {
            keep_hourly: None,
            keep_daily: daily.map(Span::days),
            drop_after: drop.map(Span::days),
        }
    }

    #[test]
    fn summaries_are_thinned_after_30_days_and_dropped_after_180() {
        let got = plan("read_model_summary", policy(Some(30), Some(180)));
        assert_eq!(
            got,
            vec![
                (Removal::DropSummaries, Span::days(180)),
                (Removal::ThinSummaries, Span::days(30))
            ]
        );
    }

    #[test]
    fn trend_points_lose_hours_and_days_after_90_days_and_keep_weeks() {
        let got = plan("read_model_trend", policy(Some(90), None));
        assert_eq!(got, vec![(Removal::DropFineTrend, Span::days(90))]);
        let got = plan("read_model_trend", policy(Some(90), Some(400)));
        assert_eq!(got[0], (Removal::DropTrend, Span::days(400)));
    }

    #[test]
    fn breakdowns_and_drilldowns_are_dropped() {
        assert_eq!(
            plan("read_model_breakdown", policy(None, Some(90))),
            vec![(Removal::DropBreakdown, Span::days(90))]
        );
        assert_eq!(
            plan("read_model_drilldown", policy(None, Some(30))),
            vec![(Removal::DropDrilldown, Span::days(30))]
        );
        assert!(plan("read_model_drilldown", policy(None, None)).is_empty());
    }

    #[test]
    fn other_families_and_kept_policies_remove_nothing() {
        assert!(plan("collection_log", policy(None, Some(1))).is_empty());
        assert!(plan("read_model_summary", policy(None, None)).is_empty());
    }
}
