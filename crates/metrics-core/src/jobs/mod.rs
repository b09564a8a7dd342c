//! Scheduled work: the check of a pg_cron schedule before it reaches pg_cron.

pub mod cron_expr;
