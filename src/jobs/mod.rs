//! Jobs: the log every collection run writes (`run_log`, with what a run did from
//! `metrics_core::jobs::run`), the pg_cron jobs (`schedule`, checked by
//! `metrics_core::jobs::cron_expr`), and the maintenance job: its ledger and the start and end
//! of a run (`ledger`), the work of its steps (`steps`), its rules
//! (`metrics_core::jobs::maintenance`); the SQL functions are in `api`. The catch-up days and
//! the retries of the collection engine are `metrics_core::jobs::{catch_up, retry}`.

pub use metrics_core::jobs::{catch_up, cron_expr, maintenance, retry, run};

pub mod api;
pub mod ledger;
pub mod run_log;
pub mod schedule;
pub mod steps;
