//! Retrying transient failures inside a run: which errors are worth another attempt, and how
//! long to wait before each.
//!
//! A serialization failure, a deadlock, a lock that could not be had in time, or the
//! extension's own per-metric time limit (`metrics.metric_timeout`) may well not happen again
//! a moment later: the unit of work is tried again, up to `MAX_RETRIES` more times, waiting
//! `metrics.retry_delay`, then twice that, then four times. Any other failure is the same on
//! every attempt: it is logged and tried again at the next run. A user's cancel and a
//! `statement_timeout` never reach this: they stop the whole run.

/// Further attempts after the first one.
pub const MAX_RETRIES: u32 = 3;
/// The default of `metrics.retry_delay`, in milliseconds.
pub const DEFAULT_RETRY_DELAY_MS: i32 = 1000;
/// The largest `metrics.retry_delay`: ten minutes.
pub const MAX_RETRY_DELAY_MS: i32 = 600_000;

/// The SQLSTATEs retried: serialization_failure, deadlock_detected, lock_not_available, and
/// query_canceled, which a run only ever sees from its own time limit (a user's cancel is
/// never caught).
pub const TRANSIENT: [&str; 4] = ["40001", "40P01", "55P03", "57014"];

/// Whether a failure with this SQLSTATE is worth another attempt.
pub fn is_transient(sqlstate: &str) -> bool {
    TRANSIENT.contains(&sqlstate)
}

/// How long to wait before retry number `retry` (1 for the first), given the base delay:
/// base, 2 x base, 4 x base, ... (saturating); `None` when no retry is left.
pub fn delay_ms(retry: u32, base_ms: i32) -> Option<u64> {
    if retry == 0 || retry > MAX_RETRIES {
        return None;
    }
    let base = base_ms.max(0) as u64;
    Some(base.saturating_mul(1u64 << (retry - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_sqlstates_are_retried_others_are_not() {
        for s in ["40001", "40P01", "55P03", "57014"] {
            assert!(is_transient(s), "{s}");
        }
        for s in [
            "22012", "42P01", "42501", "23505", "XX000", "57P01", "25P02", "",
        ] {
            assert!(!is_transient(s), "{s}");
        }
    }

    #[test]
    fn the_delay_doubles_three_times() {
        assert_eq!(delay_ms(0, 1000), None);
        assert_eq!(delay_ms(1, 1000), Some(1000));
        assert_eq!(delay_ms(2, 1000), Some(2000));
        assert_eq!(delay_ms(3, 1000), Some(4000));
        assert_eq!(delay_ms(4, 1000), None);
        assert_eq!(delay_ms(2, 0), Some(0));
        assert_eq!(delay_ms(3, -5), Some(0));
        assert_eq!(delay_ms(3, i32::MAX), Some(i32::MAX as u64 * 4));
    }
}
