//! Jobs, the pure part: what a run did as the log records it (`run`), the check of a
//! pg_cron schedule before it reaches pg_cron (`cron_expr`), the days a scheduled collection
//! catches up on (`catch_up`), which failures are retried and after how long (`retry`), and
//! how a maintenance run's steps add up to its status (`maintenance`).

pub mod catch_up;
pub mod cron_expr;
pub mod maintenance;
pub mod retry;
pub mod run;
