//! What a metric definition is, as data: its kind, the columns the kind needs, and the rules a
//! definition must satisfy before any catalog lookup happens.
//!
//! Definitions are rows of `metrics.metric_definitions`, never code: a kind is one of a fixed
//! set, columns are identifiers, and a filter is checked and normalised by `filter` before it
//! is stored.

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
}

pub const KINDS: [Kind; 6] = [
    Kind::Created,
    Kind::Total,
    Kind::Distinct,
    Kind::Average,
    Kind::Percentage,
    Kind::Breakdown,
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
        }
    }

    /// The seed's `metric_type` for values of this kind.
    pub fn metric_type(self) -> &'static str {
        match self {
            Kind::Created | Kind::Total | Kind::Distinct => "count",
            Kind::Average => "average",
            Kind::Percentage => "percentage",
            Kind::Breakdown => "aggregate",
        }
    }

    /// Kinds computed from one source relation (all but percentage).
    pub fn reads_source(self) -> bool {
        self != Kind::Percentage
    }

    /// Kinds that need `value_column`.
    pub fn needs_value_column(self) -> bool {
        matches!(self, Kind::Distinct | Kind::Average | Kind::Breakdown)
    }

    /// Kinds whose daily values may be a percentage's numerator or denominator.
    pub fn is_countable(self) -> bool {
        matches!(self, Kind::Created | Kind::Total | Kind::Distinct)
    }

    fn default_unit(self) -> Option<&'static str> {
        match self {
            Kind::Created | Kind::Total | Kind::Distinct => Some("count"),
            Kind::Percentage => Some("percent"),
            Kind::Breakdown => Some("groups"),
            Kind::Average => None,
        }
    }

    fn default_format(self) -> &'static str {
        match self {
            Kind::Created | Kind::Total | Kind::Distinct | Kind::Breakdown => "0,0",
            Kind::Percentage => "0.0",
            Kind::Average => "0,0.00",
        }
    }
}

pub const TYPES: [&str; 4] = ["count", "average", "percentage", "aggregate"];

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

/// Categories are API keys (PostgREST filters, JSON keys), so they are kept to a safe slug.
pub fn check_category(category: &str) -> Outcome<()> {
    let ok = !category.is_empty()
        && category.len() <= 63
        && category.starts_with(|c: char| c.is_ascii_lowercase())
        && category
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Problem::new(SqlState::InvalidParameterValue, format!("invalid metric category \"{category}\""))
            .detail("A category is 1 to 63 characters: lower-case letters, digits and underscores, starting with a letter.")
            .hint("use a name like posts_created or active_users"))
    }
}

/// Longest accepted free text (display name, description, unit, format pattern).
pub const MAX_LABEL_LEN: usize = 1000;
/// Longest accepted filter expression.
pub const MAX_FILTER_LEN: usize = 4000;
/// Largest `top_n` a breakdown may ask for.
pub const MAX_TOP_N: i32 = 100;

pub fn check_length(name: &str, value: &str, max: usize) -> Outcome<()> {
    if value.chars().count() > max {
        return Err(Problem::new(
            SqlState::StringDataRightTruncation,
            format!("{name} is longer than {max} characters"),
        )
        .hint(format!("shorten {name}")));
    }
    Ok(())
}

/// The arguments of `metrics.define_metric`, before any catalog lookup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricArgs {
    pub category: String,
    pub kind: String,
    pub source_schema: Option<String>,
    pub source_table: Option<String>,
    pub time_column: Option<String>,
    pub value_column: Option<String>,
    pub filter: Option<String>,
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub unit: Option<String>,
    pub format_pattern: Option<String>,
    pub top_n: Option<i32>,
}

/// What a metric computes, as `metrics.metric_definitions` stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub category: String,
    pub kind: Kind,
    /// (schema, table, time column) for kinds that read a source.
    pub source: Option<(String, String, String)>,
    pub value_column: Option<String>,
    pub filter: Option<String>,
    /// (numerator, denominator) categories for percentages.
    pub ratio: Option<(String, String)>,
    pub top_n: Option<i32>,
}

/// How a metric is shown on a dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    pub display_name: String,
    pub description: Option<String>,
    pub unit: Option<String>,
    pub format_pattern: String,
}

fn non_blank(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Checks which arguments a kind needs and forbids, before any catalog lookup; returns the
/// definition (its filter not yet checked) and its labels.
pub fn check_shape(args: &MetricArgs) -> Outcome<(Definition, Labels)> {
    check_category(&args.category)?;
    let kind = Kind::parse(&args.kind)?;
    let refuse = |what: &str, why: &str| {
        Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("{what} is not used by {} metrics", kind.as_str()),
        )
        .hint(why.to_string()))
    };
    let source_table = non_blank(&args.source_table);
    let value_column = non_blank(&args.value_column);
    let filter = non_blank(&args.filter);
    let numerator = non_blank(&args.numerator);
    let denominator = non_blank(&args.denominator);

    let mut source = None;
    let mut ratio = None;
    if kind.reads_source() {
        let table = source_table.ok_or_else(|| {
            Problem::new(
                SqlState::NullValueNotAllowed,
                format!("{} metrics need source_table", kind.as_str()),
            )
            .hint("pass source_table => 'posts' (and source_schema if it is not public)")
        })?;
        let schema = non_blank(&args.source_schema).unwrap_or_else(|| "public".to_string());
        let time_column = non_blank(&args.time_column).unwrap_or_else(|| "created_at".to_string());
        for (name, value) in [
            ("source_schema", &schema),
            ("source_table", &table),
            ("time_column", &time_column),
        ] {
            check_length(name, value, 63)?;
        }
        source = Some((schema, table, time_column));
        if numerator.is_some() || denominator.is_some() {
            return refuse(
                "numerator/denominator",
                "only percentage metrics take a numerator and a denominator",
            );
        }
        match (&value_column, kind.needs_value_column()) {
            (None, true) => {
                return Err(Problem::new(
                    SqlState::NullValueNotAllowed,
                    format!("{} metrics need value_column", kind.as_str()),
                )
                .hint(match kind {
                    Kind::Distinct => "pass the column whose distinct values are counted, e.g. value_column => 'user_id'",
                    Kind::Average => "pass the numeric column to average, e.g. value_column => 'duration_ms'",
                    _ => "pass the column to group by, e.g. value_column => 'genre'",
                }));
            }
            (Some(_), false) => {
                return refuse(
                    "value_column",
                    "created and total metrics count rows; drop value_column",
                );
            }
            (Some(c), true) => check_length("value_column", c, 63)?,
            (None, false) => {}
        }
        if let Some(f) = &filter {
            check_length("filter", f, MAX_FILTER_LEN)?;
        }
    } else {
        if source_table.is_some() || value_column.is_some() || filter.is_some() {
            return refuse(
                "a source (source_table, value_column, filter)",
                "a percentage is computed from two other metrics: pass numerator and denominator categories",
            );
        }
        let (num, den) = match (numerator, denominator) {
            (Some(n), Some(d)) => (n, d),
            _ => {
                return Err(Problem::new(
                    SqlState::NullValueNotAllowed,
                    "percentage metrics need a numerator and a denominator",
                )
                .hint("pass numerator => 'active_users', denominator => 'users_total' (categories of count metrics)"));
            }
        };
        check_category(&num)?;
        check_category(&den)?;
        if num == args.category || den == args.category {
            return Err(Problem::new(
                SqlState::InvalidParameterValue,
                format!(
                    "percentage metric \"{}\" cannot refer to itself",
                    args.category
                ),
            )
            .hint("use two other metrics as numerator and denominator"));
        }
        ratio = Some((num, den));
    }

    let top_n = if kind == Kind::Breakdown {
        let n = args.top_n.unwrap_or(5);
        if !(1..=MAX_TOP_N).contains(&n) {
            return Err(Problem::new(
                SqlState::InvalidParameterValue,
                format!("top_n must be between 1 and {MAX_TOP_N}, not {n}"),
            )
            .hint("top_n is how many of the largest groups go into top_items"));
        }
        Some(n)
    } else {
        None
    };

    for (name, value) in [
        ("display_name", &args.display_name),
        ("description", &args.description),
        ("unit", &args.unit),
        ("format_pattern", &args.format_pattern),
    ] {
        if let Some(v) = value {
            check_length(name, v, MAX_LABEL_LEN)?;
        }
    }

    let definition = Definition {
        category: args.category.clone(),
        kind,
        source,
        value_column,
        filter,
        ratio,
        top_n,
    };
    let labels = Labels {
        display_name: non_blank(&args.display_name).unwrap_or_else(|| humanize(&args.category)),
        description: non_blank(&args.description),
        unit: non_blank(&args.unit).or(kind.default_unit().map(str::to_string)),
        format_pattern: non_blank(&args.format_pattern)
            .unwrap_or_else(|| kind.default_format().to_string()),
    };
    Ok((definition, labels))
}

/// `posts_created` -> `Posts created`.
pub fn humanize(category: &str) -> String {
    let spaced = category.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => spaced,
    }
}

/// Built-in functions a filter may not call even though they are not volatile: they read
/// beyond the row (other tables as XML, settings, statistics, the catalog, privileges,
/// comments, the connection). A filter runs with the source owner's rights, often a
/// superuser's, so any of them would let a metric leak what its definer cannot read.
/// Operator support functions of `pg_lsn` and `pg_snapshot` values stay allowed, as do a few
/// harmless `pg_` helpers.
pub fn reads_beyond_the_row(function_name: &str) -> bool {
    const HARMLESS_PG: [&str; 4] = [
        "pg_typeof",
        "pg_size_pretty",
        "pg_size_bytes",
        "pg_column_size",
    ];
    const EXACT: [&str; 10] = [
        "current_setting",
        "current_database",
        "current_schema",
        "current_schemas",
        "version",
        "inet_client_addr",
        "inet_client_port",
        "inet_server_addr",
        "inet_server_port",
        "row_security_active",
    ];
    let name = function_name;
    if name.starts_with("pg_") {
        return !(HARMLESS_PG.contains(&name)
            || name.starts_with("pg_lsn")
            || name.starts_with("pg_snapshot_"));
    }
    EXACT.contains(&name)
        || name.contains("_to_xml")
        || name.starts_with("has_") && name.ends_with("_privilege")
        || name.ends_with("description")
        || name.starts_with("to_reg")
        || name.starts_with("txid_")
        || name.starts_with("ts_stat")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(category: &str, kind: &str) -> MetricArgs {
        MetricArgs {
            category: category.into(),
            kind: kind.into(),
            ..Default::default()
        }
    }

    #[test]
    fn kinds_round_trip_and_map_to_seed_types() {
        for k in KINDS {
            assert_eq!(Kind::parse(k.as_str()).unwrap(), k);
            assert!(TYPES.contains(&k.metric_type()));
        }
        assert_eq!(Kind::parse(" Created ").unwrap(), Kind::Created);
        assert_eq!(Kind::Breakdown.metric_type(), "aggregate");
        let e = Kind::parse("sum").unwrap_err();
        assert_eq!(e.state, SqlState::InvalidParameterValue);
        assert!(e.hint.unwrap().contains("breakdown"));
    }

    #[test]
    fn categories_are_slugs() {
        for ok in ["posts_created", "a", "dau_7d", &"x".repeat(63)] {
            assert!(check_category(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Posts",
            "1abc",
            "posts-created",
            "posts created",
            "x'; drop table t; --",
            &"x".repeat(64),
        ] {
            assert_eq!(
                check_category(bad).unwrap_err().state,
                SqlState::InvalidParameterValue,
                "{bad}"
            );
        }
    }

    #[test]
    fn created_metric_defaults() {
        let mut a = args("posts_created", "created");
        a.source_table = Some("posts".into());
        let (s, labels) = check_shape(&a).unwrap();
        assert_eq!(
            s.source,
            Some(("public".into(), "posts".into(), "created_at".into()))
        );
        assert_eq!(labels.display_name, "Posts created");
        assert_eq!(labels.unit.as_deref(), Some("count"));
        assert_eq!(s.top_n, None);
    }

    #[test]
    fn kinds_require_and_refuse_arguments() {
        let e = check_shape(&args("x", "created")).unwrap_err();
        assert_eq!(e.state, SqlState::NullValueNotAllowed);
        assert!(e.message.contains("source_table"));

        let mut a = args("x", "distinct");
        a.source_table = Some("posts".into());
        assert!(check_shape(&a)
            .unwrap_err()
            .message
            .contains("value_column"));

        let mut a = args("x", "total");
        a.source_table = Some("posts".into());
        a.value_column = Some("user_id".into());
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::InvalidParameterValue
        );

        let mut a = args("x", "percentage");
        a.numerator = Some("a".into());
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::NullValueNotAllowed
        );
        a.denominator = Some("b".into());
        assert_eq!(
            check_shape(&a).unwrap().0.ratio,
            Some(("a".into(), "b".into()))
        );
        a.source_table = Some("posts".into());
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::InvalidParameterValue
        );

        let mut a = args("x", "percentage");
        a.numerator = Some("x".into());
        a.denominator = Some("b".into());
        assert!(check_shape(&a).unwrap_err().message.contains("itself"));
    }

    #[test]
    fn breakdown_top_n_is_bounded() {
        let mut a = args("top_genres", "breakdown");
        a.source_table = Some("tracks".into());
        a.value_column = Some("genre".into());
        assert_eq!(check_shape(&a).unwrap().0.top_n, Some(5));
        a.top_n = Some(0);
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::InvalidParameterValue
        );
        a.top_n = Some(101);
        assert!(check_shape(&a).is_err());
    }

    #[test]
    fn long_text_is_refused() {
        let mut a = args("x", "created");
        a.source_table = Some("posts".into());
        a.description = Some("d".repeat(MAX_LABEL_LEN + 1));
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::StringDataRightTruncation
        );
        a.description = None;
        a.filter = Some("a".repeat(MAX_FILTER_LEN + 1));
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::StringDataRightTruncation
        );
    }

    #[test]
    fn metric_types_are_checked() {
        assert!(check_metric_type("count").is_ok());
        assert_eq!(
            check_metric_type("counts").unwrap_err().state,
            SqlState::InvalidParameterValue
        );
    }

    #[test]
    fn filters_cannot_read_beyond_the_row() {
        for name in [
            "table_to_xml",
            "database_to_xml_and_xmlschema",
            "query_to_xml",
            "current_setting",
            "pg_read_file",
            "pg_get_viewdef",
            "pg_stat_get_live_tuples",
            "has_table_privilege",
            "obj_description",
            "to_regclass",
            "inet_server_addr",
            "txid_current_snapshot",
        ] {
            assert!(reads_beyond_the_row(name), "{name}");
        }
        for name in [
            "lower",
            "length",
            "coalesce",
            "date_trunc",
            "jsonb_extract_path_text",
            "textlike",
            "pg_typeof",
            "pg_lsn_gt",
            "int4pl",
            "array_length",
            "to_tsvector",
            "xpath",
        ] {
            assert!(!reads_beyond_the_row(name), "{name}");
        }
    }
}
