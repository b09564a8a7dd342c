//! What a metric definition is, as data, and the rules it must satisfy before any catalog
//! lookup happens.
//!
//! Definitions are rows of `metrics.metric_definitions`, never code: a kind is one of a fixed
//! set (`kind`), columns are identifiers, and a filter is checked and normalised by
//! PostgreSQL's parser before it is stored. A definition either reads a source relation or is
//! a percentage of two other metrics, and the type says which.

use crate::common::ident::{qualified, quote_ident};
use crate::common::problem::{check_length, Outcome, Problem, SqlState};
use crate::snapshots::kind::Kind;
use crate::snapshots::percentile::is_fraction;

/// Longest accepted free text (display name, description, unit, format pattern).
pub const MAX_LABEL_LEN: usize = 1000;
/// Longest accepted filter expression.
pub const MAX_FILTER_LEN: usize = 4000;
/// Largest `top_n` a breakdown may ask for.
pub const MAX_TOP_N: i32 = 100;
/// The `top_n` of a breakdown that does not say.
pub const DEFAULT_TOP_N: i32 = 5;
/// Longest schema, table or column name (PostgreSQL's NAMEDATALEN - 1).
const MAX_IDENTIFIER_LEN: usize = 63;

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
    /// Percentiles: the fraction `p` of `percentile_cont(p)`, in [0, 1].
    pub percentile: Option<f64>,
    /// Per-project metrics: the source's column naming each row's project (id or slug).
    pub project_column: Option<String>,
}

/// Where a metric's rows come from: a relation and the column that dates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    pub schema: String,
    pub table: String,
    pub time_column: String,
}

/// A metric computed from the rows of one relation (every kind but percentage).
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedDefinition {
    pub category: String,
    pub kind: Kind,
    pub source: SourceRef,
    /// The column distinct, average, breakdown and percentile metrics read.
    pub value_column: Option<String>,
    /// A boolean expression over the source's columns (normalised once checked).
    pub filter: Option<String>,
    /// Breakdowns: how many of the largest groups go into `top_items`.
    pub top_n: Option<i32>,
    /// Percentiles: the fraction of `percentile_cont`, in [0, 1].
    pub percentile: Option<f64>,
    /// Per-project metrics: the source's column naming each row's project (id or slug).
    pub project_column: Option<String>,
}

/// A percentage of two other metrics of the same day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ratio {
    pub category: String,
    pub numerator: String,
    pub denominator: String,
}

/// What a metric computes, as `metrics.metric_definitions` stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum Definition {
    Sourced(SourcedDefinition),
    Ratio(Ratio),
}

impl Definition {
    pub fn category(&self) -> &str {
        match self {
            Definition::Sourced(d) => &d.category,
            Definition::Ratio(r) => &r.category,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Definition::Sourced(d) => d.kind,
            Definition::Ratio(_) => Kind::Percentage,
        }
    }

    /// What the metric reads, as `define_metric` reports it: `"public"."posts" by
    /// "created_at"`, or `active_users / users_total`.
    pub fn describe_source(&self) -> String {
        match self {
            Definition::Sourced(d) => format!(
                "{} by {}",
                qualified(&d.source.schema, &d.source.table),
                quote_ident(&d.source.time_column)
            ),
            Definition::Ratio(r) => format!("{} / {}", r.numerator, r.denominator),
        }
    }

    pub fn filter(&self) -> Option<&str> {
        match self {
            Definition::Sourced(d) => d.filter.as_deref(),
            Definition::Ratio(_) => None,
        }
    }
}

/// The columns of a stored definition, as read from `metrics.metric_definitions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredDefinition {
    pub category: String,
    pub kind: String,
    pub source_schema: Option<String>,
    pub source_table: Option<String>,
    pub time_column: Option<String>,
    pub value_column: Option<String>,
    pub filter: Option<String>,
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    pub top_n: Option<i32>,
    pub percentile: Option<f64>,
    pub project_column: Option<String>,
}

/// The error for a stored definition the table's constraints should have refused.
fn corrupt_definition(category: &str, what: String) -> Problem {
    Problem::corrupt_row(
        "metric_definitions",
        &format!("\"{category}\""),
        what,
        "redefine the metric with metrics.define_metric(..., replace => true)",
    )
}

/// The kind column of a stored definition.
pub fn stored_kind(category: &str, kind: &str) -> Outcome<Kind> {
    Kind::parse(kind).map_err(|_| corrupt_definition(category, format!("unknown kind \"{kind}\"")))
}

impl StoredDefinition {
    /// The definition a stored row holds; a row the table's constraints should have refused
    /// (an unknown kind, a source without its table) is an error naming its category.
    pub fn definition(self) -> Outcome<Definition> {
        let corrupt = |what: String| corrupt_definition(&self.category, what);
        let kind = stored_kind(&self.category, &self.kind)?;
        if kind == Kind::Percentage {
            return match (&self.numerator, &self.denominator) {
                (Some(n), Some(d)) => Ok(Definition::Ratio(Ratio {
                    numerator: n.clone(),
                    denominator: d.clone(),
                    category: self.category,
                })),
                _ => Err(corrupt(
                    "a percentage without its numerator or denominator".into(),
                )),
            };
        }
        let (Some(schema), Some(table), Some(time_column)) =
            (&self.source_schema, &self.source_table, &self.time_column)
        else {
            return Err(corrupt(format!(
                "a {} metric without its source schema, table or time column",
                kind.as_str()
            )));
        };
        if (kind == Kind::Percentile) != self.percentile.is_some_and(is_fraction) {
            return Err(corrupt(format!(
                "a {} metric with percentile {:?}",
                kind.as_str(),
                self.percentile
            )));
        }
        Ok(Definition::Sourced(SourcedDefinition {
            source: SourceRef {
                schema: schema.clone(),
                table: table.clone(),
                time_column: time_column.clone(),
            },
            category: self.category,
            kind,
            value_column: self.value_column,
            filter: self.filter,
            top_n: self.top_n,
            percentile: self.percentile,
            project_column: self.project_column,
        }))
    }
}

/// How a metric is shown on a dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    pub display_name: String,
    pub description: Option<String>,
    pub unit: Option<String>,
    pub format_pattern: String,
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

/// The error for a category that is not defined, wherever a metric is named.
pub fn unknown_metric(category: &str) -> Problem {
    Problem::new(
        SqlState::UndefinedObject,
        format!("metric \"{category}\" does not exist"),
    )
    .hint("list the defined metrics with: SELECT metric_category FROM metrics.metric_definitions")
}

fn non_blank(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// An argument the kind does not take.
fn not_used(kind: Kind, what: &str, why: &str) -> Problem {
    Problem::new(
        SqlState::InvalidParameterValue,
        format!("{what} is not used by {} metrics", kind.as_str()),
    )
    .hint(why.to_string())
}

/// Checks which arguments a kind needs and forbids, before any catalog lookup; returns the
/// definition (its filter not yet checked) and its labels.
pub fn check_shape(args: &MetricArgs) -> Outcome<(Definition, Labels)> {
    check_category(&args.category)?;
    let kind = Kind::parse(&args.kind)?;
    let definition = if kind.reads_source() {
        Definition::Sourced(check_sourced(kind, args)?)
    } else {
        Definition::Ratio(check_ratio(args)?)
    };
    Ok((definition, check_labels(kind, args)?))
}

/// The arguments of a metric over a source: its relation, time column, value column and
/// filter, and a breakdown's `top_n`.
fn check_sourced(kind: Kind, args: &MetricArgs) -> Outcome<SourcedDefinition> {
    let table = non_blank(&args.source_table).ok_or_else(|| {
        Problem::new(
            SqlState::NullValueNotAllowed,
            format!("{} metrics need source_table", kind.as_str()),
        )
        .hint("pass source_table => 'posts' (and source_schema if it is not public)")
    })?;
    let source = SourceRef {
        schema: non_blank(&args.source_schema).unwrap_or_else(|| "public".to_string()),
        table,
        time_column: non_blank(&args.time_column).unwrap_or_else(|| "created_at".to_string()),
    };
    for (name, value) in [
        ("source_schema", &source.schema),
        ("source_table", &source.table),
        ("time_column", &source.time_column),
    ] {
        check_length(name, value, MAX_IDENTIFIER_LEN)?;
    }
    if non_blank(&args.numerator).is_some() || non_blank(&args.denominator).is_some() {
        return Err(not_used(
            kind,
            "numerator/denominator",
            "only percentage metrics take a numerator and a denominator",
        ));
    }
    let value_column = check_value_column(kind, non_blank(&args.value_column))?;
    let filter = non_blank(&args.filter);
    if let Some(f) = &filter {
        check_length("filter", f, MAX_FILTER_LEN)?;
    }
    let project_column = non_blank(&args.project_column);
    if let Some(c) = &project_column {
        check_length("project_column", c, MAX_IDENTIFIER_LEN)?;
    }
    Ok(SourcedDefinition {
        category: args.category.clone(),
        kind,
        source,
        value_column,
        filter,
        top_n: check_top_n(kind, args.top_n)?,
        percentile: check_percentile(kind, args.percentile)?,
        project_column,
    })
}

/// Distinct, average and breakdown metrics need a value column; created and total refuse one.
fn check_value_column(kind: Kind, value_column: Option<String>) -> Outcome<Option<String>> {
    match (value_column, kind.needs_value_column()) {
        (None, true) => Err(Problem::new(
            SqlState::NullValueNotAllowed,
            format!("{} metrics need value_column", kind.as_str()),
        )
        .hint(match kind {
            Kind::Distinct => {
                "pass the column whose distinct values are counted, e.g. value_column => 'user_id'"
            }
            Kind::Average => {
                "pass the numeric column to average, e.g. value_column => 'duration_ms'"
            }
            Kind::Percentile => {
                "pass the numeric column to rank, e.g. value_column => 'lead_time_hours'"
            }
            _ => "pass the column to group by, e.g. value_column => 'genre'",
        })),
        (Some(_), false) => Err(not_used(
            kind,
            "value_column",
            "created and total metrics count rows; drop value_column",
        )),
        (Some(c), true) => {
            check_length("value_column", &c, MAX_IDENTIFIER_LEN)?;
            Ok(Some(c))
        }
        (None, false) => Ok(None),
    }
}

/// A breakdown's `top_n` (default 5, at most 100); other kinds have none.
fn check_top_n(kind: Kind, top_n: Option<i32>) -> Outcome<Option<i32>> {
    if kind != Kind::Breakdown {
        return Ok(None);
    }
    let n = top_n.unwrap_or(DEFAULT_TOP_N);
    if !(1..=MAX_TOP_N).contains(&n) {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("top_n must be between 1 and {MAX_TOP_N}, not {n}"),
        )
        .hint("top_n is how many of the largest groups go into top_items"));
    }
    Ok(Some(n))
}

/// A percentile's fraction (required, in [0, 1]); other kinds refuse one.
fn check_percentile(kind: Kind, percentile: Option<f64>) -> Outcome<Option<f64>> {
    match (kind == Kind::Percentile, percentile) {
        (false, None) => Ok(None),
        (false, Some(_)) => Err(not_used(
            kind,
            "percentile",
            "only percentile metrics take a percentile; drop it",
        )),
        (true, None) => Err(Problem::new(
            SqlState::NullValueNotAllowed,
            "percentile metrics need a percentile",
        )
        .hint(
            "pass the fraction of percentile_cont, e.g. percentile => 0.5 for the median or 0.9",
        )),
        (true, Some(p)) if is_fraction(p) => Ok(Some(p)),
        (true, Some(p)) => Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("percentile must be between 0 and 1, not {p}"),
        )
        .hint("pass a fraction: 0.5 for the median, 0.9 for the 90th percentile")),
    }
}

/// The arguments of a percentage: two other categories, and no source.
fn check_ratio(args: &MetricArgs) -> Outcome<Ratio> {
    let kind = Kind::Percentage;
    if non_blank(&args.project_column).is_some() {
        return Err(not_used(
            kind,
            "project_column",
            "a percentage is per project when both its numerator and its denominator are: drop project_column",
        ));
    }
    if [&args.source_table, &args.value_column, &args.filter]
        .into_iter()
        .any(|a| non_blank(a).is_some())
        || args.percentile.is_some()
    {
        return Err(not_used(
            kind,
            "a source (source_table, value_column, filter, percentile)",
            "a percentage is computed from two other metrics: pass numerator and denominator categories",
        ));
    }
    let (Some(numerator), Some(denominator)) =
        (non_blank(&args.numerator), non_blank(&args.denominator))
    else {
        return Err(Problem::new(
            SqlState::NullValueNotAllowed,
            "percentage metrics need a numerator and a denominator",
        )
        .hint("pass numerator => 'active_users', denominator => 'users_total' (categories of count metrics)"));
    };
    check_category(&numerator)?;
    check_category(&denominator)?;
    if numerator == args.category || denominator == args.category {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!(
                "percentage metric \"{}\" cannot refer to itself",
                args.category
            ),
        )
        .hint("use two other metrics as numerator and denominator"));
    }
    Ok(Ratio {
        category: args.category.clone(),
        numerator,
        denominator,
    })
}

/// The labels, each at most `MAX_LABEL_LEN` characters, with the kind's defaults.
fn check_labels(kind: Kind, args: &MetricArgs) -> Outcome<Labels> {
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
    Ok(Labels {
        display_name: non_blank(&args.display_name).unwrap_or_else(|| humanize(&args.category)),
        description: non_blank(&args.description),
        unit: non_blank(&args.unit).or(kind.default_unit().map(str::to_string)),
        format_pattern: non_blank(&args.format_pattern)
            .unwrap_or_else(|| kind.default_format().to_string()),
    })
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

    fn sourced(d: Definition) -> SourcedDefinition {
        match d {
            Definition::Sourced(s) => s,
            Definition::Ratio(r) => panic!("expected a sourced metric, got {r:?}"),
        }
    }

    #[test]
    fn a_project_column_belongs_to_a_source() {
        let mut a = args("orders_created", "created");
        a.source_table = Some("orders".into());
        a.project_column = Some(" org_id ".into());
        let s = sourced(check_shape(&a).unwrap().0);
        assert_eq!(s.project_column.as_deref(), Some("org_id"));
        a.project_column = Some("   ".into());
        assert_eq!(sourced(check_shape(&a).unwrap().0).project_column, None);
        a.project_column = Some("x".repeat(64));
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::StringDataRightTruncation
        );
        let mut p = args("share", "percentage");
        p.numerator = Some("a".into());
        p.denominator = Some("b".into());
        p.project_column = Some("org".into());
        let e = check_shape(&p).unwrap_err();
        assert_eq!(e.state, SqlState::InvalidParameterValue);
        assert!(e.message.contains("project_column"), "{}", e.message);
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
    fn an_unknown_metric_is_one_error_everywhere() {
        let p = unknown_metric("posts_craeted");
        assert_eq!(p.state, SqlState::UndefinedObject);
        assert_eq!(p.message, "metric \"posts_craeted\" does not exist");
        assert!(p.hint.unwrap().contains("metric_definitions"));
    }

    #[test]
    fn created_metric_defaults() {
        let mut a = args("posts_created", "created");
        a.source_table = Some("posts".into());
        a.top_n = Some(5);
        let (d, labels) = check_shape(&a).unwrap();
        assert_eq!(
            d.describe_source(),
            "\"public\".\"posts\" by \"created_at\""
        );
        let s = sourced(d);
        assert_eq!(
            s.source,
            SourceRef {
                schema: "public".into(),
                table: "posts".into(),
                time_column: "created_at".into()
            }
        );
        assert_eq!(labels.display_name, "Posts created");
        assert_eq!(labels.unit.as_deref(), Some("count"));
        assert_eq!(labels.format_pattern, "0,0");
        assert_eq!(s.top_n, None, "only breakdowns keep top_n");
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

        let mut a = args("x", "created");
        a.source_table = Some("posts".into());
        a.numerator = Some("a".into());
        assert!(check_shape(&a)
            .unwrap_err()
            .message
            .contains("numerator/denominator is not used by created metrics"));

        let mut a = args("x", "percentage");
        a.numerator = Some("a".into());
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::NullValueNotAllowed
        );
        a.denominator = Some("b".into());
        let (d, labels) = check_shape(&a).unwrap();
        assert_eq!(
            d,
            Definition::Ratio(Ratio {
                category: "x".into(),
                numerator: "a".into(),
                denominator: "b".into()
            })
        );
        assert_eq!(d.describe_source(), "a / b");
        assert_eq!(labels.unit.as_deref(), Some("percent"));
        a.source_table = Some("posts".into());
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::InvalidParameterValue
        );

        let mut a = args("x", "percentage");
        a.numerator = Some("x".into());
        a.denominator = Some("b".into());
        assert!(check_shape(&a).unwrap_err().message.contains("itself"));
        a.numerator = Some("Not a slug".into());
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::InvalidParameterValue
        );
    }

    #[test]
    fn breakdown_top_n_is_bounded() {
        let mut a = args("top_genres", "breakdown");
        a.source_table = Some("tracks".into());
        a.value_column = Some("genre".into());
        assert_eq!(sourced(check_shape(&a).unwrap().0).top_n, Some(5));
        a.top_n = Some(0);
        assert_eq!(
            check_shape(&a).unwrap_err().state,
            SqlState::InvalidParameterValue
        );
        a.top_n = Some(101);
        assert!(check_shape(&a).is_err());
        a.top_n = Some(100);
        assert_eq!(sourced(check_shape(&a).unwrap().0).top_n, Some(100));
    }

    #[test]
    fn percentiles_need_a_fraction_that_others_refuse() {
        let mut a = args("lead_p90", "percentile");
        a.source_table = Some("changes".into());
        let e = check_shape(&a).unwrap_err();
        assert_eq!(e.state, SqlState::NullValueNotAllowed);
        assert!(e.message.contains("value_column"), "{}", e.message);
        a.value_column = Some("lead_time_hours".into());
        let e = check_shape(&a).unwrap_err();
        assert_eq!(e.state, SqlState::NullValueNotAllowed);
        assert!(e.hint.unwrap().contains("percentile => 0.5"));
        for bad in [-0.01, 1.5, f64::NAN, f64::INFINITY] {
            a.percentile = Some(bad);
            let e = check_shape(&a).unwrap_err();
            assert_eq!(e.state, SqlState::InvalidParameterValue, "{bad}");
            assert!(e.hint.is_some());
        }
        a.percentile = Some(0.9);
        let (d, labels) = check_shape(&a).unwrap();
        assert_eq!(d.kind().metric_type(), "percentile");
        let s = sourced(d);
        assert_eq!((s.percentile, s.top_n), (Some(0.9), None));
        assert_eq!(labels.unit, None);
        assert_eq!(labels.format_pattern, "0,0.00");

        let mut c = args("x", "created");
        c.source_table = Some("posts".into());
        c.percentile = Some(0.5);
        let e = check_shape(&c).unwrap_err();
        assert_eq!(e.state, SqlState::InvalidParameterValue);
        assert_eq!(e.message, "percentile is not used by created metrics");
        let mut r = args("x", "percentage");
        r.numerator = Some("a".into());
        r.denominator = Some("b".into());
        r.percentile = Some(0.5);
        assert_eq!(
            check_shape(&r).unwrap_err().state,
            SqlState::InvalidParameterValue
        );
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
        a.filter = None;
        a.time_column = Some("t".repeat(64));
        assert!(check_shape(&a).unwrap_err().message.contains("time_column"));
    }

    #[test]
    fn blank_arguments_are_absent() {
        let mut a = args("x", "created");
        a.source_table = Some("posts".into());
        a.source_schema = Some("  ".into());
        a.filter = Some(" ".into());
        a.display_name = Some("".into());
        let (d, labels) = check_shape(&a).unwrap();
        let s = sourced(d);
        assert_eq!(s.source.schema, "public");
        assert_eq!(s.filter, None);
        assert_eq!(labels.display_name, "X");
    }

    fn stored(category: &str, kind: &str) -> StoredDefinition {
        StoredDefinition {
            category: category.into(),
            kind: kind.into(),
            ..Default::default()
        }
    }

    #[test]
    fn stored_rows_read_back_as_definitions() {
        let mut row = stored("posts_created", "created");
        row.source_schema = Some("app".into());
        row.source_table = Some("posts".into());
        row.time_column = Some("at".into());
        let d = row.definition().unwrap();
        assert_eq!(d.category(), "posts_created");
        assert_eq!(d.kind(), Kind::Created);
        assert_eq!(d.describe_source(), "\"app\".\"posts\" by \"at\"");

        let mut row = stored("rate", "percentage");
        row.numerator = Some("a".into());
        row.denominator = Some("b".into());
        assert_eq!(row.definition().unwrap().kind(), Kind::Percentage);

        let mut row = stored("p90", "percentile");
        row.source_schema = Some("metrics".into());
        row.source_table = Some("changes".into());
        row.time_column = Some("deployed_at".into());
        row.value_column = Some("hours".into());
        row.percentile = Some(0.9);
        let Definition::Sourced(d) = row.definition().unwrap() else {
            panic!("a percentile reads a source")
        };
        assert_eq!(d.percentile, Some(0.9));
    }

    #[test]
    fn a_corrupt_stored_row_is_an_error_with_its_key() {
        for (row, what) in [
            (stored("m", "sum"), "unknown kind \"sum\""),
            (stored("m", "percentage"), "without its numerator"),
            (stored("m", "total"), "a total metric without its source"),
            (
                StoredDefinition {
                    source_schema: Some("s".into()),
                    source_table: Some("t".into()),
                    time_column: Some("at".into()),
                    ..stored("m", "percentile")
                },
                "a percentile metric with percentile None",
            ),
            (
                StoredDefinition {
                    source_schema: Some("s".into()),
                    source_table: Some("t".into()),
                    time_column: Some("at".into()),
                    percentile: Some(0.5),
                    ..stored("m", "created")
                },
                "a created metric with percentile Some(0.5)",
            ),
        ] {
            let p = row.definition().unwrap_err();
            assert_eq!(p.state, SqlState::DataCorrupted);
            assert!(p
                .message
                .contains("row \"m\" of metrics.metric_definitions"));
            assert!(p.message.contains(what), "{}", p.message);
        }
    }
}
