//! The kinds of metric and the `metric_type` each kind's values are recorded under.
//!
//! A kind is one of a fixed set: definitions are data, never code.

use crate::common::problem::{Outcome, Problem, SqlState};

/// How a metric is computed from its source relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Rows whose time column falls inside the day.
    Created,
    /// Rows whose time column is before the end of the day.
    Total,
    /// Distinct values of a column among the day's rows.
    Distinct,
    /// Mean of a numeric column over the day's rows.
    Average,
    /// numerator / denominator x 100, both other metrics of the same day.
    Percentage,
    /// Counts of the day's rows grouped by a column.
    Breakdown,
    /// The exact `percentile_cont(p)` of a numeric column over the day's rows.
    Percentile,
}

pub const KINDS: [Kind; 7] = [
    Kind::Created,
    Kind::Total,
    Kind::Distinct,
    Kind::Average,
    Kind::Percentage,
    Kind::Breakdown,
    Kind::Percentile,
];

impl Kind {
    pub fn parse(text: &str) -> Outcome<Kind> {
        KINDS
            .into_iter()
            .find(|k| k.as_str() == text.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                Problem::new(
                    SqlState::InvalidParameterValue,
                    format!("unknown metric kind \"{text}\""),
                )
                .hint(format!(
                    "use one of: {}",
                    KINDS.map(Kind::as_str).join(", ")
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::Total => "total",
            Kind::Distinct => "distinct",
            Kind::Average => "average",
            Kind::Percentage => "percentage",
            Kind::Breakdown => "breakdown",
            Kind::Percentile => "percentile",
        }
    }

    /// The seed's `metric_type` for values of this kind.
    pub fn metric_type(self) -> &'static str {
        match self {
            Kind::Created | Kind::Total | Kind::Distinct => "count",
            Kind::Average => "average",
            Kind::Percentage => "percentage",
            Kind::Breakdown => "aggregate",
            Kind::Percentile => "percentile",
        }
    }

    /// Kinds computed from one source relation (all but percentage).
    pub fn reads_source(self) -> bool {
        self != Kind::Percentage
    }

    /// Kinds that need `value_column`.
    pub fn needs_value_column(self) -> bool {
        matches!(
            self,
            Kind::Distinct | Kind::Average | Kind::Breakdown | Kind::Percentile
        )
    }

    /// Kinds whose value column must be numeric (averaged, or ranked as a double precision).
    pub fn needs_numeric_value(self) -> bool {
        matches!(self, Kind::Average | Kind::Percentile)
    }

    /// Kinds whose daily values may be a percentage's numerator or denominator.
    pub fn is_countable(self) -> bool {
        matches!(self, Kind::Created | Kind::Total | Kind::Distinct)
    }

    /// Kinds whose days keep a distinct-count sketch (of their values, or of their groups),
    /// so a period's count is the merge of its days. (Percentiles keep their day's sorted
    /// values in the same column, `daily_metrics.distinct_sketch`, but need no aggregate of
    /// the extension to make them: see `snapshots::percentile`.)
    pub fn has_sketch(self) -> bool {
        matches!(self, Kind::Distinct | Kind::Breakdown)
    }

    pub fn default_unit(self) -> Option<&'static str> {
        match self {
            Kind::Created | Kind::Total | Kind::Distinct => Some("count"),
            Kind::Percentage => Some("percent"),
            Kind::Breakdown => Some("groups"),
            Kind::Average | Kind::Percentile => None,
        }
    }

    pub fn default_format(self) -> &'static str {
        match self {
            Kind::Created | Kind::Total | Kind::Distinct | Kind::Breakdown => "0,0",
            Kind::Percentage => "0.0",
            Kind::Average | Kind::Percentile => "0,0.00",
        }
    }
}

pub const TYPES: [&str; 5] = ["count", "average", "percentage", "aggregate", "percentile"];

/// Checks a `metric_type` filter value of the query API.
pub fn check_metric_type(text: &str) -> Outcome<()> {
    if TYPES.contains(&text) {
        Ok(())
    } else {
        Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("unknown metric type \"{text}\""),
        )
        .hint(format!("use one of: {}", TYPES.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_map_to_seed_types() {
        for k in KINDS {
            assert_eq!(Kind::parse(k.as_str()).unwrap(), k);
            assert!(TYPES.contains(&k.metric_type()));
        }
        assert_eq!(Kind::parse(" Created ").unwrap(), Kind::Created);
        assert_eq!(Kind::Breakdown.metric_type(), "aggregate");
        assert_eq!(Kind::Percentile.metric_type(), "percentile");
        assert!(Kind::Percentile.needs_value_column() && Kind::Percentile.needs_numeric_value());
        assert!(!Kind::Percentile.is_countable() && !Kind::Percentile.has_sketch());
        let e = Kind::parse("sum").unwrap_err();
        assert_eq!(e.state, SqlState::InvalidParameterValue);
        assert!(e.hint.unwrap().contains("breakdown, percentile"));
    }

    #[test]
    fn metric_types_are_checked() {
        assert!(check_metric_type("count").is_ok());
        assert_eq!(
            check_metric_type("counts").unwrap_err().state,
            SqlState::InvalidParameterValue
        );
    }
}
