//! Jobs, the pure part: what a run did as the log records it (`run`), and the check of a
//! pg_cron schedule before it reaches pg_cron (`cron_expr`).

pub mod cron_expr;
pub mod run;
