//! The DORA performance clusters as data (`dora_2024`, the rows the extension installs in
//! `metrics.dora_levels`) and the classification of one period's keys (`classify`), the
//! `level` column of `metrics.get_dora_metrics`.
//!
//! Source: Google Cloud / DORA, *Accelerate State of DevOps Report 2024*, "Software delivery
//! performance levels", p. 13 (<https://services.google.com/fh/files/misc/2024_final_dora_report.pdf>):
//!
//! | level | change lead time | deployment frequency | change fail rate | failed deployment recovery time |
//! |---|---|---|---|---|
//! | Elite | less than one day | on demand (multiple deploys per day) | 5% | less than one hour |
//! | High | between one day and one week | between once per day and once per week | 20% | less than one day |
//! | Medium | between one week and one month | between once per week and once per month | 10% | less than one day |
//! | Low | between one month and six months | between once per month and once every six months | 40% | between one week and one month |
//!
//! The report's levels are clusters (what respondents of a level typically answered), not
//! limits; the thresholds below turn them into limits:
//! - deployments per week: Elite at least 7 (once a day on average: "multiple per day" read
//!   as "daily or more"), High at least 1, Medium at least 12/52 (twelve a year, monthly);
//! - lead time and recovery, in hours: the upper end of the level's answer (one day = 24,
//!   one week = 168, one month = a twelfth of a 52-week year = 728, the same month as the
//!   12/52 deployments per week above; one hour = 1);
//! - change failure rate, in percent: the level's rate as a maximum.
//!
//! Low is the catch-all: it has no threshold, so every period with deployments gets a level
//! (its 40% and "one week to one month" describe the cluster, and a period worse than that is
//! still Low, not unclassified).
//!
//! The oddity of 2024: Medium's change failure rate (10%) is *below* High's (20%) — the
//! report notes that the medium cluster trades throughput for stability. The rule below
//! judges each row on its own thresholds, so it is kept as the report says: a period at 15%
//! that deploys weekly and has a lead time under a week is High, while the same 15% with
//! monthly deployments is not Medium (15 > 10) and falls to Low. No row inherits another's
//! limits.

/// One performance level of one report (a row of `metrics.dora_levels`). A threshold that
/// is None is not judged.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelRow {
    pub source_year: i32,
    /// Lower-case: elite, high, medium, low.
    pub level: String,
    /// 1 = best.
    pub rank: i32,
    /// Met when the period's deployments per week are at least this.
    pub min_deploys_per_week: Option<f64>,
    /// Met when the period's lead time (median, hours) is at most this.
    pub max_lead_time_hours: Option<f64>,
    /// Met when the period's change failure rate (percent, 0-100) is at most this.
    pub max_change_failure_rate: Option<f64>,
    /// Met when the period's recovery time (median, hours) is at most this.
    pub max_recovery_hours: Option<f64>,
}

/// One period's keys as `get_dora_metrics` computes them; None where the period has no
/// value (no change deployed, nothing finished, nothing recovered).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PeriodKeys {
    /// Successful deployments finished in the period, per 7 days of the period.
    pub deploys_per_week: Option<f64>,
    /// The median lead time of the changes deployed in the period, in hours.
    pub lead_time_hours: Option<f64>,
    /// Percent, 0-100.
    pub change_failure_rate: Option<f64>,
    /// The median recovery time of the failures starting in the period, in hours.
    pub recovery_hours: Option<f64>,
}

/// The year of the report `dora_2024` transcribes.
pub const DORA_2024: i32 = 2024;

/// Hours in a day, a week and a month (a twelfth of a 52-week year, like 12/52 deployments a
/// week is "monthly").
const DAY: f64 = 24.0;
const WEEK: f64 = 7.0 * DAY;
const MONTH: f64 = 52.0 * WEEK / 12.0;

/// The 2024 levels (module documentation: source and reading), best first.
pub fn dora_2024() -> Vec<LevelRow> {
    let row = |level: &str, rank, deploys, lead, cfr, recovery| LevelRow {
        source_year: DORA_2024,
        level: level.to_string(),
        rank,
        min_deploys_per_week: deploys,
        max_lead_time_hours: lead,
        max_change_failure_rate: cfr,
        max_recovery_hours: recovery,
    };
    vec![
        row("elite", 1, Some(7.0), Some(DAY), Some(5.0), Some(1.0)),
        row("high", 2, Some(1.0), Some(WEEK), Some(20.0), Some(DAY)),
        row(
            "medium",
            3,
            Some(12.0 / 52.0),
            Some(MONTH),
            Some(10.0),
            Some(DAY),
        ),
        row("low", 4, None, None, None, None),
    ]
}

/// The level of a period: among the rows of the latest `source_year` present, the best-ranked
/// (lowest `rank`; equal ranks by level name) whose every threshold the keys meet. Bounds are
/// inclusive (`min <=` value, value `<= max`): the report's "less than one day" is read as at
/// most 24 hours, one comparison the SQL side can repeat exactly. A key that is None is not
/// judged, nor is a threshold that is None; a key that is NaN meets no threshold.
///
/// None when the period has no deployments (`deploys_per_week` None, zero, negative or NaN),
/// when `rows` is empty, or when no row matches (rows without a catch-all).
pub fn classify(rows: &[LevelRow], keys: &PeriodKeys) -> Option<String> {
    let deploys = keys.deploys_per_week.filter(|d| *d > 0.0)?;
    let year = rows.iter().map(|r| r.source_year).max()?;
    let mut candidates: Vec<&LevelRow> = rows.iter().filter(|r| r.source_year == year).collect();
    candidates.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.level.cmp(&b.level)));
    candidates
        .into_iter()
        .find(|r| meets(r, deploys, keys))
        .map(|r| r.level.clone())
}

fn meets(row: &LevelRow, deploys: f64, keys: &PeriodKeys) -> bool {
    at_least(Some(deploys), row.min_deploys_per_week)
        && at_most(keys.lead_time_hours, row.max_lead_time_hours)
        && at_most(keys.change_failure_rate, row.max_change_failure_rate)
        && at_most(keys.recovery_hours, row.max_recovery_hours)
}

fn at_least(value: Option<f64>, min: Option<f64>) -> bool {
    match (value, min) {
        (Some(v), Some(m)) => v >= m,
        _ => true,
    }
}

fn at_most(value: Option<f64>, max: Option<f64>) -> bool {
    match (value, max) {
        (Some(v), Some(m)) => v <= m,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(deploys: f64, lead: f64, cfr: f64, recovery: f64) -> PeriodKeys {
        PeriodKeys {
            deploys_per_week: Some(deploys),
            lead_time_hours: Some(lead),
            change_failure_rate: Some(cfr),
            recovery_hours: Some(recovery),
        }
    }

    fn level(k: PeriodKeys) -> Option<String> {
        classify(&dora_2024(), &k)
    }

    fn is(k: PeriodKeys, expected: &str) {
        assert_eq!(level(k).as_deref(), Some(expected), "{k:?}");
    }

    /// Just above a bound (the next representable step is too fine to read in a failure).
    fn above(x: f64) -> f64 {
        x + 1e-9
    }

    #[test]
    fn the_rows_are_the_2024_report() {
        let rows = dora_2024();
        let names: Vec<&str> = rows.iter().map(|r| r.level.as_str()).collect();
        assert_eq!(names, ["elite", "high", "medium", "low"]);
        assert_eq!(
            rows.iter().map(|r| r.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert!(rows.iter().all(|r| r.source_year == 2024));
        let cfr: Vec<_> = rows.iter().map(|r| r.max_change_failure_rate).collect();
        assert_eq!(cfr, [Some(5.0), Some(20.0), Some(10.0), None]);
        let lead: Vec<_> = rows.iter().map(|r| r.max_lead_time_hours).collect();
        assert_eq!(lead, [Some(24.0), Some(168.0), Some(728.0), None]);
        let recovery: Vec<_> = rows.iter().map(|r| r.max_recovery_hours).collect();
        assert_eq!(recovery, [Some(1.0), Some(24.0), Some(24.0), None]);
        let deploys: Vec<_> = rows.iter().map(|r| r.min_deploys_per_week).collect();
        assert_eq!(deploys, [Some(7.0), Some(1.0), Some(12.0 / 52.0), None]);
    }

    #[test]
    fn each_level_at_its_bounds() {
        is(keys(7.0, 24.0, 5.0, 1.0), "elite");
        is(keys(1.0, 168.0, 20.0, 24.0), "high");
        is(keys(12.0 / 52.0, 728.0, 10.0, 24.0), "medium");
        is(keys(0.01, 5000.0, 100.0, 10_000.0), "low");
    }

    #[test]
    fn deployment_frequency_bounds() {
        let good = |d| keys(d, 1.0, 0.0, 0.5);
        is(good(7.0), "elite");
        is(good(6.999), "high");
        is(good(1.0), "high");
        is(good(0.999), "medium");
        is(good(12.0 / 52.0), "medium");
        is(good(0.23), "low");
        // Once every 30 days meets "monthly" (12/52 a week is once every 30.33 days)...
        is(good(7.0 / 30.0), "medium");
        // ...once every 31 days does not.
        is(good(7.0 / 31.0), "low");
    }

    #[test]
    fn lead_time_bounds() {
        let daily = |h| keys(10.0, h, 0.0, 0.5);
        is(daily(24.0), "elite");
        is(daily(above(24.0)), "high");
        is(daily(168.0), "high");
        is(daily(above(168.0)), "medium");
        is(daily(728.0), "medium");
        is(daily(above(728.0)), "low");
        is(daily(0.0), "elite");
    }

    #[test]
    fn change_failure_rate_bounds() {
        let daily = |c| keys(10.0, 1.0, c, 0.5);
        is(daily(5.0), "elite");
        is(daily(above(5.0)), "high");
        is(daily(20.0), "high");
        // Above 20% neither High nor Medium (10%) accepts it.
        is(daily(above(20.0)), "low");
        is(daily(100.0), "low");
    }

    #[test]
    fn recovery_bounds() {
        let daily = |r| keys(10.0, 1.0, 0.0, r);
        is(daily(1.0), "elite");
        is(daily(above(1.0)), "high");
        is(daily(24.0), "high");
        // Medium allows no longer recovery than High: past a day is Low.
        is(daily(above(24.0)), "low");
    }

    #[test]
    fn medium_is_stricter_on_failures_than_high() {
        // Weekly with 15% failures: High accepts up to 20%.
        is(keys(1.0, 100.0, 15.0, 2.0), "high");
        // Monthly with the same 15%: not High (frequency), not Medium (15 > 10): Low.
        is(keys(0.5, 100.0, 15.0, 2.0), "low");
        is(keys(0.5, 100.0, 10.0, 2.0), "medium");
        // Elite frequency and lead time with 15% failures is High, not Medium.
        is(keys(20.0, 2.0, 15.0, 0.5), "high");
        is(keys(20.0, 2.0, 10.0, 0.5), "high");
    }

    #[test]
    fn the_worst_key_decides() {
        is(keys(50.0, 1.0, 1.0, 200.0), "low");
        is(keys(50.0, 100.0, 1.0, 0.5), "high");
        is(keys(50.0, 400.0, 1.0, 0.5), "medium");
    }

    #[test]
    fn keys_without_a_value_are_not_judged() {
        let only_deploys = |d| PeriodKeys {
            deploys_per_week: Some(d),
            ..PeriodKeys::default()
        };
        is(only_deploys(7.0), "elite");
        is(only_deploys(2.0), "high");
        is(only_deploys(0.5), "medium");
        is(only_deploys(0.1), "low");
        let no_lead = PeriodKeys {
            lead_time_hours: None,
            ..keys(10.0, 0.0, 4.0, 0.5)
        };
        is(no_lead, "elite");
        let no_cfr = PeriodKeys {
            change_failure_rate: None,
            ..keys(10.0, 30.0, 0.0, 0.5)
        };
        is(no_cfr, "high");
    }

    #[test]
    fn no_deployments_no_level() {
        assert_eq!(level(PeriodKeys::default()), None);
        assert_eq!(level(keys(0.0, 1.0, 0.0, 0.5)), None);
        assert_eq!(level(keys(-1.0, 1.0, 0.0, 0.5)), None);
        assert_eq!(level(keys(f64::NAN, 1.0, 0.0, 0.5)), None);
        assert_eq!(classify(&[], &keys(10.0, 1.0, 0.0, 0.5)), None);
    }

    #[test]
    fn a_key_that_is_not_a_number_meets_no_threshold() {
        is(keys(10.0, f64::NAN, 0.0, 0.5), "low");
        is(keys(f64::INFINITY, 1.0, 0.0, 0.5), "elite");
    }

    #[test]
    fn the_latest_report_present_decides() {
        let mut rows = dora_2024();
        // An older report that would call everything elite is ignored...
        rows.push(LevelRow {
            source_year: 2023,
            level: "elite".into(),
            rank: 1,
            min_deploys_per_week: None,
            max_lead_time_hours: None,
            max_change_failure_rate: None,
            max_recovery_hours: None,
        });
        let weekly = keys(1.0, 100.0, 15.0, 2.0);
        assert_eq!(classify(&rows, &weekly).as_deref(), Some("high"));
        // ...and a newer one replaces 2024 entirely.
        rows.push(LevelRow {
            source_year: 2025,
            level: "steady".into(),
            rank: 1,
            min_deploys_per_week: Some(1.0),
            max_lead_time_hours: None,
            max_change_failure_rate: None,
            max_recovery_hours: None,
        });
        assert_eq!(classify(&rows, &weekly).as_deref(), Some("steady"));
        // Without a catch-all, a period no row accepts has no level.
        assert_eq!(classify(&rows, &keys(0.5, 1.0, 0.0, 0.5)), None);
    }

    #[test]
    fn the_order_of_the_rows_does_not_matter() {
        let mut rows = dora_2024();
        rows.reverse();
        rows.swap(0, 2);
        for k in [
            keys(7.0, 24.0, 5.0, 1.0),
            keys(1.0, 168.0, 20.0, 24.0),
            keys(0.5, 700.0, 10.0, 24.0),
            keys(0.1, 1.0, 0.0, 0.5),
        ] {
            assert_eq!(classify(&rows, &k), level(k), "{k:?}");
        }
    }
}
