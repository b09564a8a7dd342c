//! The thresholds of `metrics.health()`, as settings. Superuser-settable (PGC_SUSET) like the
//! extension's other settings: `metrics.check_alerts()` records transitions from what they
//! say, so they must not differ per API session. Set them with `ALTER DATABASE ... SET` or
//! `ALTER SYSTEM` (or grant SET on them).

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

static SUCCESS_RATE: GucSetting<f64> = GucSetting::<f64>::new(99.9);
static FAILED_RUNS: GucSetting<i32> = GucSetting::<i32>::new(3);
static STALE_HOURS: GucSetting<i32> = GucSetting::<i32>::new(48);
static SLOW_RUN: GucSetting<i32> = GucSetting::<i32>::new(60);
static ANOMALY_SIGMA: GucSetting<f64> = GucSetting::<f64>::new(3.0);
static ANOMALY_DAYS: GucSetting<i32> = GucSetting::<i32>::new(28);
static WRITER_LAG: GucSetting<i32> = GucSetting::<i32>::new(3);
static RETENTION_DAYS: GucSetting<i32> = GucSetting::<i32>::new(7);
static UNFOLDED_MINUTES: GucSetting<i32> = GucSetting::<i32>::new(15);

/// Defines the thresholds; called from `_PG_init`.
pub fn register() {
    register_collection_thresholds();
    register_value_thresholds();
    register_upkeep_thresholds();
}

fn int(
    name: &'static std::ffi::CStr,
    short: &'static std::ffi::CStr,
    long: &'static std::ffi::CStr,
    setting: &'static GucSetting<i32>,
    min: i32,
    max: i32,
    flags: GucFlags,
) {
    GucRegistry::define_int_guc(
        name,
        short,
        long,
        setting,
        min,
        max,
        GucContext::Suset,
        flags,
    );
}

fn register_collection_thresholds() {
    GucRegistry::define_float_guc(
        c"metrics.health_success_rate",
        c"Target share of metric values computed without error over 30 days, in percent.",
        c"Below it metrics.health() warns; below 100 - 10 x (100 - target) it is critical.",
        &SUCCESS_RATE,
        0.0,
        100.0,
        GucContext::Suset,
        GucFlags::default(),
    );
    int(
        c"metrics.health_failed_runs",
        c"Failed (or partial) daily collections in a row that make metrics.health() critical.",
        c"One is a warning. Also the number of failed pg_cron runs of the extension's jobs since their last success.",
        &FAILED_RUNS,
        1,
        1000,
        GucFlags::default(),
    );
    int(
        c"metrics.health_stale_hours",
        c"Hours without a newly sealed value after which metrics.health() is critical.",
        c"Beyond three quarters of it, a warning.",
        &STALE_HOURS,
        1,
        8760,
        GucFlags::default(),
    );
    int(
        c"metrics.health_slow_run",
        c"Longest time the last daily collection may take before metrics.health() warns.",
        c"Beyond ten times it, critical.",
        &SLOW_RUN,
        1,
        86400,
        GucFlags::UNIT_S,
    );
}

fn register_value_thresholds() {
    GucRegistry::define_float_guc(
        c"metrics.health_anomaly_sigma",
        c"Standard deviations from the trailing days beyond which a metric's latest value is anomalous.",
        c"Beyond it metrics.health() warns; beyond twice it, critical.",
        &ANOMALY_SIGMA,
        0.5,
        1000.0,
        GucContext::Suset,
        GucFlags::default(),
    );
    int(
        c"metrics.health_anomaly_days",
        c"Trailing days a metric's latest value is compared with.",
        c"At least 7 of them must have a value.",
        &ANOMALY_DAYS,
        7,
        366,
        GucFlags::default(),
    );
}

fn register_upkeep_thresholds() {
    int(
        c"metrics.health_writer_lag",
        c"Flush intervals the buffer writer may fall behind while events wait before metrics.health() is critical.",
        c"Only in buffered mode (the library preloaded).",
        &WRITER_LAG,
        1,
        1000,
        GucFlags::default(),
    );
    int(
        c"metrics.health_retention_days",
        c"Days retention may lag behind its policy before metrics.health() is critical.",
        c"Any lag beyond the policy (plus a day for the daily job, a week for days) is a warning.",
        &RETENTION_DAYS,
        1,
        3650,
        GucFlags::default(),
    );
    int(
        c"metrics.health_unfolded_minutes",
        c"Minutes the oldest row direct recording appended may wait unfolded before metrics.health() warns.",
        c"Twelve times it is critical. The buffer writer folds every metrics.flush_interval; without it, schedule metrics.fold_metrics().",
        &UNFOLDED_MINUTES,
        1,
        100000,
        GucFlags::UNIT_MIN,
    );
}

/// The thresholds in force, read once per evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub success_rate: f64,
    pub failed_runs: u64,
    pub stale_hours: f64,
    pub slow_run_secs: f64,
    pub anomaly_sigma: f64,
    pub anomaly_days: i64,
    pub writer_lag_intervals: f64,
    pub retention_days: f64,
    pub unfolded_minutes: f64,
}

pub fn thresholds() -> Thresholds {
    Thresholds {
        success_rate: SUCCESS_RATE.get(),
        failed_runs: FAILED_RUNS.get().max(1) as u64,
        stale_hours: STALE_HOURS.get() as f64,
        slow_run_secs: SLOW_RUN.get() as f64,
        anomaly_sigma: ANOMALY_SIGMA.get(),
        anomaly_days: ANOMALY_DAYS.get() as i64,
        writer_lag_intervals: WRITER_LAG.get() as f64,
        retention_days: RETENTION_DAYS.get() as f64,
        unfolded_minutes: UNFOLDED_MINUTES.get() as f64,
    }
}
