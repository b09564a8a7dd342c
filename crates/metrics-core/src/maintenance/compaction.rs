//! The arithmetic of a compaction unit: what it does to a period, and the check that the
//! rows it writes hold exactly what the rows it replaces held.

/// What a unit does to one period of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Deletes the rows of a period older than `drop_after`.
    Drop,
    /// Folds the rows of an ISO week older than `keep_daily` into one row per key.
    Week,
    /// Folds the hour rows of a day older than `keep_hourly` into one row per key.
    Day,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Week => "compact_week",
            Action::Day => "compact_day",
        }
    }

    /// The resolution of the rows the unit writes (none for a drop).
    pub fn resolution(self) -> Option<&'static str> {
        match self {
            Action::Drop => None,
            Action::Week => Some("week"),
            Action::Day => Some("day"),
        }
    }

    /// The grain of `date_trunc` that names the unit's periods.
    pub fn grain(self) -> &'static str {
        match self {
            Action::Drop | Action::Day => "day",
            Action::Week => "week",
        }
    }
}

/// What rows of one key hold together, the part of a bucket that is conserved by folding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conserved {
    pub total: i64,
    pub successful: i64,
    pub failed: i64,
    pub sum_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

/// How far two sums of the same durations may differ: floating-point addition is not
/// associative, so adding 24 hours in another grouping may change the last bits.
pub const SUM_TOLERANCE: f64 = 1e-9;

impl Conserved {
    /// Whether `folded` holds what `replaced` held: counts and extremes exactly, the sum
    /// of durations up to the order of addition.
    pub fn matches(&self, folded: &Conserved) -> bool {
        let scale = self.sum_ms.abs().max(folded.sum_ms.abs()).max(1.0);
        self.total == folded.total
            && self.successful == folded.successful
            && self.failed == folded.failed
            && self.min_ms == folded.min_ms
            && self.max_ms == folded.max_ms
            && (self.sum_ms - folded.sum_ms).abs() <= SUM_TOLERANCE * scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(total: i64, sum_ms: f64) -> Conserved {
        Conserved {
            total,
            successful: total - 1,
            failed: 1,
            sum_ms,
            min_ms: 0.5,
            max_ms: 99.0,
        }
    }

    #[test]
    fn counts_and_extremes_must_be_equal() {
        assert!(c(10, 123.25).matches(&c(10, 123.25)));
        assert!(!c(10, 123.25).matches(&c(11, 123.25)));
        let mut other = c(10, 123.25);
        other.max_ms = 98.0;
        assert!(!c(10, 123.25).matches(&other));
        other = c(10, 123.25);
        other.failed = 2;
        assert!(!c(10, 123.25).matches(&other));
    }

    #[test]
    fn sums_may_differ_by_the_order_of_addition_only() {
        let parts = [0.1, 0.2, 0.3, 1e6, 0.7, 3.3];
        let left: f64 = parts.iter().sum();
        let grouped: f64 = parts[..3].iter().sum::<f64>() + parts[3..].iter().sum::<f64>();
        assert!(c(6, left).matches(&c(6, grouped)));
        assert!(!c(6, left).matches(&c(6, left + 0.01)));
    }

    #[test]
    fn actions_name_their_rows() {
        assert_eq!(Action::Day.resolution(), Some("day"));
        assert_eq!(Action::Week.grain(), "week");
        assert_eq!(Action::Drop.resolution(), None);
        assert!(Action::Drop < Action::Week && Action::Week < Action::Day);
    }
}
