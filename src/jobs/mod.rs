//! Jobs: the log every run writes (`run_log`, with what a run did from
//! `metrics_core::jobs::run`) and the daily collection through pg_cron (`schedule`, checked
//! by `metrics_core::jobs::cron_expr`; its functions in `api`).

pub use metrics_core::jobs::{cron_expr, run};

pub mod api;
pub mod run_log;
pub mod schedule;
