//! Jobs: the log every run writes (`run_log`) and the daily collection through pg_cron
//! (`schedule`, with the schedule check of `metrics_core::jobs::cron_expr`).

pub use metrics_core::jobs::cron_expr;

pub mod run_log;
pub mod schedule;
