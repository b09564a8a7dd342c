//! Turns metric definitions into set-based SQL: one statement computes every day of a range for
//! all the scalar metrics over one source (a single scan, grouped by day, with running sums for
//! totals), one statement per breakdown, one per percentage.
//!
//! Every statement returns rows `(metric_date date, metric_type text, metric_category text,
//! value text, metadata text, distinct_sketch bytea)` ordered by date and category (the
//! sketch of the day's distinct values, or of a breakdown's group keys, or a percentile's
//! sorted values (`percentile`); NULL for the other kinds), so concurrent runs over
//! overlapping ranges insert in the same order and wait for each other instead of
//! deadlocking; the collection engine inserts them. Identifiers are always quoted here;
//! categories travel as parameters, never as SQL text; filters arrive already normalised by
//! `filter` (PostgreSQL's own deparser), so they embed as one parenthesised expression.
//!
//! Parameters of the statements `source_sql` builds: `$1` first day, `$2` last day (dates),
//! `$3` the metrics time zone (text), `$4` the categories (text[], in measure order), `$5`
//! top_n (int4, read by breakdowns only).

use crate::common::ident::{qualified, quote_ident};
use crate::snapshots::kind::Kind;
use crate::snapshots::percentile::{exact_text, VALUES_LIMIT, VALUES_TAG};

/// The type of a source's time column, which decides how a day maps onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeType {
    /// `timestamptz`: a day is [local midnight, next local midnight) in the metrics time zone.
    Timestamptz,
    /// `timestamp`: wall-clock values, taken as local times in the metrics time zone.
    Timestamp,
    /// `date`: the value is the day.
    Date,
}

/// Where a metric's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub schema: String,
    pub table: String,
    pub time_column: String,
    pub time_type: TimeType,
    /// Per-project metrics: the column naming each row's project (a project id or slug);
    /// then the statements seal the whole-database row and one row per project.
    pub project_column: Option<String>,
}

/// One scalar or breakdown metric over a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub category: String,
    pub kind: Kind,
    pub value_column: Option<String>,
    /// A normalised boolean expression over the source's columns.
    pub filter: Option<String>,
    /// Breakdowns: how many of the largest groups go into `top_items`.
    pub top_n: Option<i32>,
    /// Distinct counts: how a value is hashed into the day's sketch.
    pub hash: ValueHash,
    /// Percentiles: the fraction of `percentile_cont`, in [0, 1].
    pub percentile: Option<f64>,
}

/// How the values of a distinct count are hashed (64 bits, the same value alike on every day,
/// whatever the session's settings).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ValueHash {
    /// The type's own extended hash function, a built-in of `pg_catalog` (by its name, e.g.
    /// `hashint8extended`): the fastest.
    Function(String),
    /// Through `hash_record_extended` over a one-column row, for a type whose extended hash
    /// function is not a built-in.
    #[default]
    Record,
    /// By the value's text, for the few types without an extended hash function (bit,
    /// tsvector, money, ...).
    Text,
}

impl ValueHash {
    /// The hash of `column` as SQL.
    fn of(&self, column: &str) -> String {
        match self {
            ValueHash::Function(name) => format!("pg_catalog.{}({column}, 0)", quote_ident(name)),
            ValueHash::Record => format!("pg_catalog.hash_record_extended(ROW({column}), 0)"),
            ValueHash::Text => format!("pg_catalog.hashtextextended({column}::text, 0)"),
        }
    }
}

/// Breakdowns keep at most this many groups per day in `metadata.breakdown`.
pub const BREAKDOWN_LIMIT: i64 = 1000;

/// The distinct-count sketch of no value at all, for days without rows.
const EMPTY_SKETCH: &str = "(SELECT metrics._distinct_sketch(NULL::bigint))";

/// The sketch aggregate over a value column, hashed by `hash` (see `ValueHash`). NULLs are
/// not values, as for COUNT(DISTINCT).
fn sketch_of(column: &str, filter: &[String], hash: &ValueHash) -> String {
    let mut conditions = filter.to_vec();
    conditions.push(format!("{column} IS NOT NULL"));
    format!(
        "metrics._distinct_sketch({}){}",
        hash.of(column),
        filter_clause(&conditions)
    )
}

impl Source {
    pub fn qualified(&self) -> String {
        qualified(&self.schema, &self.table)
    }

    fn column(&self) -> String {
        format!("src.{}", quote_ident(&self.time_column))
    }

    /// The first instant (or value) of day `$1`.
    fn lower_bound(&self) -> &'static str {
        match self.time_type {
            TimeType::Timestamptz => "($1::date::timestamp AT TIME ZONE $3)",
            TimeType::Timestamp => "$1::date::timestamp",
            TimeType::Date => "$1::date",
        }
    }

    /// The first instant (or value) after day `$2`.
    fn upper_bound(&self) -> &'static str {
        match self.time_type {
            TimeType::Timestamptz => "(($2::date + 1)::timestamp AT TIME ZONE $3)",
            TimeType::Timestamp => "($2::date + 1)::timestamp",
            TimeType::Date => "($2::date + 1)",
        }
    }

    /// The metrics day a row belongs to.
    fn day_of_row(&self) -> String {
        match self.time_type {
            TimeType::Timestamptz => format!("({} AT TIME ZONE $3)::date", self.column()),
            TimeType::Timestamp => format!("{}::date", self.column()),
            TimeType::Date => self.column(),
        }
    }
}

const DAYS_CTE: &str = "days AS (\n    SELECT d::date AS day\n    FROM pg_catalog.generate_series($1::date::timestamp, $2::date::timestamp, interval '1 day') AS d\n)";

fn filter_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" FILTER (WHERE {})", conditions.join(" AND "))
    }
}

/// What one scalar measure adds to the statement: its aggregates in `per_day`, its column of
/// `series`, and its row of the final `VALUES` list.
struct Parts {
    aggregates: Vec<String>,
    series: String,
    value: String,
}

/// A measure's row conditions: its filter, and the same with the range condition first
/// (when totals pull the rows before the range into the scan).
fn row_filters(m: &Measure, in_range: Option<&str>) -> (Vec<String>, Vec<String>) {
    let user_filter: Vec<String> = m.filter.iter().map(|f| format!("({f})")).collect();
    let mut in_range_filter = user_filter.clone();
    if let Some(condition) = in_range {
        in_range_filter.insert(0, condition.to_string());
    }
    (user_filter, in_range_filter)
}

/// How a scalar statement groups the rows of a day: as one group (a metric of the whole
/// database), or as one group and one per project (a per-project metric: `GROUPING SETS`).
#[derive(Debug, Clone, Copy)]
struct Scope {
    scoped: bool,
}

impl Scope {
    /// The final SELECT's metadata (with `unassigned_rows` on a per-project metric's
    /// whole-database row) and project, and its order.
    fn final_columns(self) -> (&'static str, &'static str, &'static str) {
        if self.scoped {
            (
                "(CASE WHEN s.project IS NULL THEN m.metadata || pg_catalog.jsonb_build_object('unassigned_rows', m.unassigned) ELSE m.metadata END)::text",
                "s.project",
                "s.day, m.metric_category, s.project NULLS FIRST",
            )
        } else {
            ("m.metadata::text", "NULL::uuid", "s.day, m.metric_category")
        }
    }

    /// The `series` column of a running sum of `per_day` column `v`: the rows before the
    /// range (the NULL day, of the same scope) plus the range's days so far.
    fn running_sum(self, v: &str) -> String {
        let (before, partition) = if self.scoped {
            (
                " AND b.whole = (sc.project IS NULL)::int4 AND b.project IS NOT DISTINCT FROM sc.project",
                "PARTITION BY sc.project ",
            )
        } else {
            ("", "")
        };
        format!(
            "coalesce((SELECT b.{v} FROM per_day AS b WHERE b.day IS NULL{before}), 0) \
             + coalesce(pg_catalog.sum(p.{v}) OVER ({partition}ORDER BY days.day), 0) AS {v}"
        )
    }
}

/// Per-project metrics: the rows of measure `i` that belong to no known project (`pk.id IS
/// NULL`), counted into the whole-database row's `unassigned_rows` (a running count for
/// totals, as their value). Adds its aggregate and its `series` column to `parts`.
fn add_unassigned(i: usize, m: &Measure, in_range: Option<&str>, scope: Scope, parts: &mut Parts) {
    let (user_filter, in_range_filter) = row_filters(m, in_range);
    let mut conditions = if m.kind == Kind::Total {
        user_filter
    } else {
        in_range_filter
    };
    conditions.insert(0, "pk.id IS NULL".to_string());
    parts.aggregates.push(format!(
        "pg_catalog.count(*){} AS u{i}",
        filter_clause(&conditions)
    ));
    let series = if m.kind == Kind::Total {
        scope.running_sum(&format!("u{i}"))
    } else {
        format!("coalesce(p.u{i}, 0) AS u{i}")
    };
    parts.series = format!("{}, {series}", parts.series);
}

/// The parts of measure `i`. `in_range` is the range condition when totals pull the rows
/// before the range into the scan: distinct and average then apply it themselves, since
/// feeding them the "before" group would sort or sum the whole history for nothing.
fn scalar_parts(
    i: usize,
    m: &Measure,
    in_range: Option<&str>,
    sketches: bool,
    scope: Scope,
) -> Parts {
    let (user_filter, in_range_filter) = row_filters(m, in_range);
    let category = format!("$4[{}]", i + 1);
    let count_value = format!("'count', {category}, s.v{i}::numeric, '{{}}'::jsonb, NULL::bytea");
    let value_column = || {
        let c = m
            .value_column
            .as_deref()
            .unwrap_or_else(|| panic!("{} metrics need a value column", m.kind.as_str()));
        format!("src.{}", quote_ident(c))
    };
    match m.kind {
        Kind::Created => Parts {
            aggregates: vec![format!(
                "pg_catalog.count(*){} AS v{i}",
                filter_clause(&user_filter)
            )],
            series: format!("coalesce(p.v{i}, 0) AS v{i}"),
            value: count_value,
        },
        Kind::Total => Parts {
            aggregates: vec![format!(
                "pg_catalog.count(*){} AS v{i}",
                filter_clause(&user_filter)
            )],
            series: scope.running_sum(&format!("v{i}")),
            value: count_value,
        },
        Kind::Distinct => {
            let sketch = sketches.then_some(&m.hash);
            distinct_parts(i, &category, &value_column(), &in_range_filter, sketch)
        }
        Kind::Average => average_parts(i, &category, &value_column(), &in_range_filter),
        Kind::Percentile => {
            let p = m
                .percentile
                .unwrap_or_else(|| panic!("percentile metrics need a percentile"));
            let column = format!("{}::float8", value_column());
            percentile_parts(i, &category, &column, &in_range_filter, p, sketches)
        }
        Kind::Percentage | Kind::Breakdown => {
            panic!("{} metrics are not planned by scalar_sql", m.kind.as_str())
        }
    }
}

/// A distinct count: COUNT(DISTINCT) of the day's values of `col`, and with a `sketch` (of a
/// type hashable or not) the day's distinct-count sketch of them (an empty one for a day
/// without rows).
fn distinct_parts(
    i: usize,
    category: &str,
    col: &str,
    filter: &[String],
    sketch: Option<&ValueHash>,
) -> Parts {
    let count = format!(
        "pg_catalog.count(DISTINCT {col}){} AS v{i}",
        filter_clause(filter)
    );
    // The sketch: its aggregate, its column of `series` and its value (NULL without one).
    let (aggregate, series, value) = match sketch {
        Some(hash) => (
            Some(format!("{} AS k{i}", sketch_of(col, filter, hash))),
            format!(", coalesce(p.k{i}, {EMPTY_SKETCH}) AS k{i}"),
            format!("s.k{i}"),
        ),
        None => (None, String::new(), "NULL::bytea".to_string()),
    };
    Parts {
        aggregates: std::iter::once(count).chain(aggregate).collect(),
        series: format!("coalesce(p.v{i}, 0) AS v{i}{series}"),
        value: format!("'count', {category}, s.v{i}::numeric, '{{}}'::jsonb, {value}"),
    }
}

/// An average: the mean, the population standard deviation and the sample size of the day's
/// values of `col` (0, 0 and 0 for a day without any).
fn average_parts(i: usize, category: &str, col: &str, filter: &[String]) -> Parts {
    let f = filter_clause(filter);
    Parts {
        aggregates: vec![
            format!("pg_catalog.avg({col}){f} AS a{i}"),
            format!("pg_catalog.stddev_pop({col}){f} AS d{i}"),
            format!("pg_catalog.count({col}){f} AS n{i}"),
        ],
        series: format!("p.a{i} AS a{i}, p.d{i} AS d{i}, coalesce(p.n{i}, 0) AS n{i}"),
        value: format!(
            "'average', {category}, coalesce(s.a{i}::numeric, 0), \
             pg_catalog.jsonb_build_object('sample_size', s.n{i}, 'std_deviation', coalesce(s.d{i}::numeric, 0)), NULL::bytea"
        ),
    }
}

/// A percentile: `percentile_cont(p)` of the day's values of `col` (a double precision
/// expression), their number, and with `values` the day's values sorted (`percentile`), kept
/// when there are at most `VALUES_LIMIT` of them. A day without values is 0 with sample size
/// 0, as an average's; a day whose values include NaN or an infinity is NaN, which is not
/// sealed (the day fails with 22003, as an average's does). The value is printed as
/// PostgreSQL prints a double (the engine pins `extra_float_digits = 1`), so it is exact.
fn percentile_parts(
    i: usize,
    category: &str,
    col: &str,
    filter: &[String],
    p: f64,
    values: bool,
) -> Parts {
    let f = filter_clause(filter);
    let mut non_finite = filter.to_vec();
    non_finite.push(format!("NOT ({col} > '-Infinity' AND {col} < 'Infinity')"));
    let p = exact_text(p);
    let mut aggregates = vec![
        format!("pg_catalog.percentile_cont({p}::float8) WITHIN GROUP (ORDER BY {col}){f} AS q{i}"),
        format!("pg_catalog.count({col}){f} AS n{i}"),
        format!(
            "pg_catalog.count({col}){} AS x{i}",
            filter_clause(&non_finite)
        ),
    ];
    let kept = format!("s.n{i} <= {VALUES_LIMIT}");
    let (series, sketch) = if values {
        aggregates.push(format!(
            "pg_catalog.string_agg(pg_catalog.float8send({col}), ''::bytea ORDER BY {col}){f} AS k{i}"
        ));
        (
            format!(", p.k{i} AS k{i}"),
            format!("CASE WHEN {kept} THEN pg_catalog.decode('{VALUES_TAG:02x}', 'hex') || coalesce(s.k{i}, ''::bytea) END"),
        )
    } else {
        (String::new(), "NULL::bytea".to_string())
    };
    let kept = if values { kept } else { "false".into() };
    Parts {
        aggregates,
        series: format!(
            "p.q{i} AS q{i}, coalesce(p.n{i}, 0) AS n{i}, coalesce(p.x{i}, 0) AS x{i}{series}"
        ),
        value: format!(
            "'percentile', {category}, CASE WHEN s.x{i} > 0 THEN 'NaN'::numeric ELSE coalesce(s.q{i}::text::numeric, 0) END, \
             pg_catalog.jsonb_build_object('percentile', {p}::numeric, 'sample_size', s.n{i}, 'values_kept', {kept}), {sketch}"
        ),
    }
}

/// One statement for all scalar measures (created, total, distinct, average, percentile) over `source`;
/// with `sketches`, distinct measures also return the day's distinct-count sketch (tables
/// before 0.3.0 have no column for it, nor the aggregate).
///
/// Rows before the range are needed only by totals; when there are totals they fall into a
/// single NULL "before" group whose counts seed the running sums, otherwise the scan starts at
/// the range. A per-project source (`project_column`) is grouped in the same scan by day and
/// by day and project (`scoped_frame`).
pub fn scalar_sql(source: &Source, measures: &[Measure], sketches: bool) -> String {
    assert!(
        !measures.is_empty(),
        "a scalar plan needs at least one measure"
    );
    let scope = Scope {
        scoped: source.project_column.is_some(),
    };
    let has_total = measures.iter().any(|m| m.kind == Kind::Total);
    let column = source.column();
    let in_range = format!("{column} >= {}", source.lower_bound());
    let below_end = format!("{column} < {}", source.upper_bound());
    let (day_key, scan_filter) = if has_total {
        (
            format!("CASE WHEN {in_range} THEN {} END", source.day_of_row()),
            below_end,
        )
    } else {
        (source.day_of_row(), format!("{in_range} AND {below_end}"))
    };
    let in_range = has_total.then_some(in_range.as_str());
    let mut parts: Vec<Parts> = measures
        .iter()
        .enumerate()
        .map(|(i, m)| scalar_parts(i, m, in_range, sketches, scope))
        .collect();
    let mut values = Vec::new();
    for (i, (p, m)) in parts.iter_mut().zip(measures).enumerate() {
        if scope.scoped {
            add_unassigned(i, m, in_range, scope, p);
            values.push(format!("({}, s.u{i})", p.value));
        } else {
            values.push(format!("({}, NULL::int8)", p.value));
        }
    }
    let aggregates: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.aggregates.iter().map(String::as_str))
        .collect();
    let series: Vec<&str> = parts.iter().map(|p| p.series.as_str()).collect();
    let frame = Frame {
        day_key,
        aggregates: aggregates.join(",\n           "),
        from: source.qualified(),
        scan_filter,
        series: series.join(",\n           "),
    };
    let head = match &source.project_column {
        Some(project) => scoped_frame(&frame, &format!("src.{}", quote_ident(project))),
        None => unscoped_frame(&frame),
    };
    let (metadata, project, order) = scope.final_columns();
    format!(
        "{head}\nSELECT s.day AS metric_date, m.metric_type, m.metric_category, m.value::text AS value, {metadata} AS metadata, m.sketch AS distinct_sketch, {project} AS project_id\nFROM series AS s\nCROSS JOIN LATERAL (VALUES\n    {values}\n) AS m(metric_type, metric_category, value, metadata, sketch, unassigned)\nORDER BY {order}",
        values = values.join(",\n    "),
    )
}

/// The parts of a scalar statement before its final SELECT.
struct Frame {
    day_key: String,
    aggregates: String,
    from: String,
    scan_filter: String,
    series: String,
}

/// `per_day` grouped by day, `series` over the range's days.
fn unscoped_frame(f: &Frame) -> String {
    format!(
        "WITH per_day AS (\n    SELECT {day_key} AS day,\n           {aggregates}\n    FROM {from} AS src\n    WHERE {scan_filter}\n    GROUP BY 1\n), {DAYS_CTE}, series AS (\n    SELECT days.day,\n           {series}\n    FROM days LEFT JOIN per_day AS p ON p.day = days.day\n)",
        day_key = f.day_key,
        aggregates = f.aggregates,
        from = f.from,
        scan_filter = f.scan_filter,
        series = f.series,
    )
}

/// The projects a per-project statement knows: `$6` the keys a row's project column may hold
/// (ids as text, slugs), `$7` the project id of each (so a value is one project's or none).
const KEYS_CTE: &str = "keys AS (\n    SELECT k.key, k.id FROM ROWS FROM (pg_catalog.unnest($6::text[]), pg_catalog.unnest($7::uuid[])) AS k(key, id)\n)";

/// The scopes of a per-project statement: the whole database (NULL), then every project.
const SCOPES_CTE: &str = "scopes AS (\n    SELECT NULL::uuid AS project\n    UNION ALL (SELECT DISTINCT k.id FROM keys AS k)\n)";

/// `per_day` grouped by day (the whole database, `whole` = 1) and by day and project in one
/// scan (`GROUPING SETS`; rows of no known project form the project-NULL group of the
/// second set, which no scope reads), `series` over every day and scope. `project` is the
/// source's project column.
fn scoped_frame(f: &Frame, project: &str) -> String {
    format!(
        "WITH {KEYS_CTE}, per_day AS (\n    SELECT {day_key} AS day, pk.id AS project, GROUPING(pk.id) AS whole,\n           {aggregates}\n    FROM {from} AS src LEFT JOIN keys AS pk ON pk.key = {project}::text\n    WHERE {scan_filter}\n    GROUP BY GROUPING SETS (({day_key}), ({day_key}, pk.id))\n), {DAYS_CTE}, {SCOPES_CTE}, series AS (\n    SELECT days.day, sc.project,\n           {series}\n    FROM days CROSS JOIN scopes AS sc\n    LEFT JOIN per_day AS p ON p.day = days.day AND p.whole = (sc.project IS NULL)::int4\n                          AND p.project IS NOT DISTINCT FROM sc.project\n)",
        day_key = f.day_key,
        aggregates = f.aggregates,
        from = f.from,
        scan_filter = f.scan_filter,
        series = f.series,
    )
}

/// The statement computing `measures` over `source`: one breakdown on its own, or any number
/// of scalar measures together.
pub fn source_sql(source: &Source, measures: &[Measure], sketches: bool) -> String {
    match measures {
        [only] if only.kind == Kind::Breakdown && source.project_column.is_some() => {
            scoped_breakdown_sql(source, only, sketches)
        }
        [only] if only.kind == Kind::Breakdown => breakdown_sql(source, only, sketches),
        _ => scalar_sql(source, measures, sketches),
    }
}

/// One statement for a breakdown: per day, the count of rows per value of the column (NULLs
/// are not a group), the number of groups as the value, and the largest `$5` groups.
pub fn breakdown_sql(source: &Source, measure: &Measure, sketches: bool) -> String {
    assert_eq!(measure.kind, Kind::Breakdown);
    let column = source.column();
    let (key, user_filter, sketch, empty_sketch) = breakdown_parts(measure, sketches);
    format!(
        "WITH grouped AS (
    SELECT {day} AS day, {key}::text AS key, pg_catalog.count(*) AS n
    FROM {from} AS src
    WHERE {column} >= {lower} AND {column} < {upper} AND {key} IS NOT NULL{user_filter}
    GROUP BY 1, 2
), ranked AS (
    SELECT g.day, g.key, g.n,
           pg_catalog.row_number() OVER (PARTITION BY g.day ORDER BY g.n DESC, g.key) AS rank,
           pg_catalog.count(*) OVER (PARTITION BY g.day) AS groups
    FROM grouped AS g
), per_day AS (
    SELECT r.day, pg_catalog.max(r.groups) AS groups, pg_catalog.sum(r.n) AS rows,
           pg_catalog.jsonb_object_agg(r.key, r.n) FILTER (WHERE r.rank <= {limit}) AS breakdown,
           pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('key', r.key, 'value', r.n) ORDER BY r.rank)
               FILTER (WHERE r.rank <= $5) AS top_items,
           {sketch} AS sketch
    FROM ranked AS r
    GROUP BY r.day
), {DAYS_CTE}
SELECT days.day AS metric_date, 'aggregate' AS metric_type, $4[1] AS metric_category,
       coalesce(p.groups, 0)::numeric::text AS value,
       pg_catalog.jsonb_build_object(
           'breakdown', coalesce(p.breakdown, '{{}}'::jsonb),
           'top_items', coalesce(p.top_items, '[]'::jsonb),
           'rows', coalesce(p.rows, 0),
           'truncated', coalesce(p.groups > {limit}, false))::text AS metadata,
       coalesce(p.sketch, {empty_sketch}) AS distinct_sketch, NULL::uuid AS project_id
FROM days LEFT JOIN per_day AS p ON p.day = days.day
ORDER BY days.day",
        day = source.day_of_row(),
        from = source.qualified(),
        lower = source.lower_bound(),
        upper = source.upper_bound(),
        limit = BREAKDOWN_LIMIT,
    )
}

/// A breakdown's column and filter condition, and its sketch aggregate and the sketch of a
/// day without rows (both NULL on tables without sketches).
fn breakdown_parts(
    measure: &Measure,
    sketches: bool,
) -> (String, String, &'static str, &'static str) {
    let key = format!(
        "src.{}",
        quote_ident(
            measure
                .value_column
                .as_deref()
                .expect("breakdown needs a column")
        )
    );
    let user_filter = measure
        .filter
        .as_deref()
        .map(|f| format!(" AND ({f})"))
        .unwrap_or_default();
    if sketches {
        (
            key,
            user_filter,
            "metrics._distinct_sketch(pg_catalog.hashtextextended(r.key, 0))",
            EMPTY_SKETCH,
        )
    } else {
        (key, user_filter, "NULL::bytea", "NULL::bytea")
    }
}

/// A per-project breakdown: `breakdown_sql` grouped by day and key, and by day, project and
/// key, in one scan; one row per day for the whole database (with `unassigned_rows`: its
/// rows of no known project) and one per day and project (`$6`, `$7` as `KEYS_CTE`).
pub fn scoped_breakdown_sql(source: &Source, measure: &Measure, sketches: bool) -> String {
    assert_eq!(measure.kind, Kind::Breakdown);
    let column = source.column();
    let project = format!(
        "src.{}",
        quote_ident(
            source
                .project_column
                .as_deref()
                .expect("a per-project source")
        )
    );
    let (key, user_filter, sketch, empty_sketch) = breakdown_parts(measure, sketches);
    format!(
        "WITH {KEYS_CTE}, grouped AS (
    SELECT {day} AS day, pk.id AS project, GROUPING(pk.id) AS whole, {key}::text AS key, pg_catalog.count(*) AS n
    FROM {from} AS src LEFT JOIN keys AS pk ON pk.key = {project}::text
    WHERE {column} >= {lower} AND {column} < {upper} AND {key} IS NOT NULL{user_filter}
    GROUP BY GROUPING SETS (({day}, {key}::text), ({day}, pk.id, {key}::text))
), unassigned AS (
    SELECT g.day, pg_catalog.sum(g.n) AS n FROM grouped AS g WHERE g.whole = 0 AND g.project IS NULL GROUP BY g.day
), ranked AS (
    SELECT g.day, g.project, g.key, g.n,
           pg_catalog.row_number() OVER (PARTITION BY g.day, g.project ORDER BY g.n DESC, g.key) AS rank,
           pg_catalog.count(*) OVER (PARTITION BY g.day, g.project) AS groups
    FROM grouped AS g WHERE g.whole = 1 OR g.project IS NOT NULL
), per_day AS (
    SELECT r.day, r.project, pg_catalog.max(r.groups) AS groups, pg_catalog.sum(r.n) AS rows,
           pg_catalog.jsonb_object_agg(r.key, r.n) FILTER (WHERE r.rank <= {limit}) AS breakdown,
           pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('key', r.key, 'value', r.n) ORDER BY r.rank)
               FILTER (WHERE r.rank <= $5) AS top_items,
           {sketch} AS sketch
    FROM ranked AS r
    GROUP BY r.day, r.project
), {DAYS_CTE}, {SCOPES_CTE}
SELECT days.day AS metric_date, 'aggregate' AS metric_type, $4[1] AS metric_category,
       coalesce(p.groups, 0)::numeric::text AS value,
       (pg_catalog.jsonb_build_object(
           'breakdown', coalesce(p.breakdown, '{{}}'::jsonb),
           'top_items', coalesce(p.top_items, '[]'::jsonb),
           'rows', coalesce(p.rows, 0),
           'truncated', coalesce(p.groups > {limit}, false))
        || CASE WHEN sc.project IS NULL THEN pg_catalog.jsonb_build_object('unassigned_rows', coalesce(u.n, 0)) ELSE '{{}}'::jsonb END)::text AS metadata,
       coalesce(p.sketch, {empty_sketch}) AS distinct_sketch, sc.project AS project_id
FROM days CROSS JOIN scopes AS sc
LEFT JOIN per_day AS p ON p.day = days.day AND p.project IS NOT DISTINCT FROM sc.project
LEFT JOIN unassigned AS u ON u.day = days.day AND sc.project IS NULL
ORDER BY days.day, sc.project NULLS FIRST",
        day = source.day_of_row(),
        from = source.qualified(),
        lower = source.lower_bound(),
        upper = source.upper_bound(),
        limit = BREAKDOWN_LIMIT,
    )
}

/// A percentage for every day of `[$1, $2]` on which both its numerator (`$4`) and its
/// denominator (`$5`) are recorded; `$3` is its category. 0/0 is recorded as 0. With `$6`
/// (a per-project percentage), also per project, from the parts of the same project.
pub const PERCENTAGE_SQL: &str = "SELECT n.metric_date, 'percentage' AS metric_type, $3 AS metric_category,
       (CASE WHEN d.value = 0 THEN 0 ELSE pg_catalog.round(n.value * 100 / d.value, 4) END)::text AS value,
       pg_catalog.jsonb_build_object('numerator', n.value, 'denominator', d.value)::text AS metadata,
       NULL::bytea AS distinct_sketch, n.project_id
FROM metrics.daily_metrics AS n
JOIN metrics.daily_metrics AS d ON d.metric_date = n.metric_date AND d.metric_category = $5
     AND d.project_id IS NOT DISTINCT FROM n.project_id
WHERE n.metric_category = $4 AND n.metric_date BETWEEN $1 AND $2 AND (n.project_id IS NULL OR $6)
ORDER BY n.metric_date, n.project_id NULLS FIRST";

/// `PERCENTAGE_SQL` for tables before 0.6.0, without projects (`$6` unused).
pub const PERCENTAGE_SQL_BEFORE_060: &str = "SELECT n.metric_date, 'percentage' AS metric_type, $3 AS metric_category,
       (CASE WHEN d.value = 0 THEN 0 ELSE pg_catalog.round(n.value * 100 / d.value, 4) END)::text AS value,
       pg_catalog.jsonb_build_object('numerator', n.value, 'denominator', d.value)::text AS metadata,
       NULL::bytea AS distinct_sketch, NULL::uuid AS project_id
FROM metrics.daily_metrics AS n
JOIN metrics.daily_metrics AS d ON d.metric_date = n.metric_date AND d.metric_category = $5
WHERE n.metric_category = $4 AND n.metric_date BETWEEN $1 AND $2 AND $6 IS NOT NULL
ORDER BY n.metric_date";

/// Seals computed rows: a (date, type, category, project) already recorded is left as it
/// is. `$6` is the definition version of each row, `$7` its distinct-count sketch, `$8` its
/// project (NULL: the whole database).
pub const INSERT_SQL: &str = "INSERT INTO metrics.daily_metrics AS dm (metric_date, metric_type, metric_category, value, metadata, definition_version, distinct_sketch, project_id)
SELECT r.metric_date, r.metric_type, r.metric_category, r.value::numeric, r.metadata::jsonb, r.definition_version, r.distinct_sketch, r.project_id
FROM ROWS FROM (pg_catalog.unnest($1::date[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]),
               pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::text[]), pg_catalog.unnest($6::int4[]),
               pg_catalog.unnest($7::bytea[]), pg_catalog.unnest($8::uuid[]))
     AS r(metric_date, metric_type, metric_category, value, metadata, definition_version, distinct_sketch, project_id)
ON CONFLICT ON CONSTRAINT unique_daily_metric DO NOTHING
RETURNING dm.metric_category";

/// `INSERT_SQL` for tables of 0.3.0 to 0.5.0, without projects (`$1..$7`).
pub const INSERT_SQL_BEFORE_060: &str = "INSERT INTO metrics.daily_metrics AS dm (metric_date, metric_type, metric_category, value, metadata, definition_version, distinct_sketch)
SELECT r.metric_date, r.metric_type, r.metric_category, r.value::numeric, r.metadata::jsonb, r.definition_version, r.distinct_sketch
FROM ROWS FROM (pg_catalog.unnest($1::date[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]),
               pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::text[]), pg_catalog.unnest($6::int4[]),
               pg_catalog.unnest($7::bytea[]))
     AS r(metric_date, metric_type, metric_category, value, metadata, definition_version, distinct_sketch)
ON CONFLICT (metric_date, metric_type, metric_category) DO NOTHING
RETURNING dm.metric_category";

/// `INSERT_SQL` for tables before 0.3.0, which have neither column (`$1..$5` only).
pub const INSERT_SQL_BEFORE_030: &str = "INSERT INTO metrics.daily_metrics AS dm (metric_date, metric_type, metric_category, value, metadata)
SELECT r.metric_date, r.metric_type, r.metric_category, r.value::numeric, r.metadata::jsonb
FROM ROWS FROM (pg_catalog.unnest($1::date[]), pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]),
               pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::text[]))
     AS r(metric_date, metric_type, metric_category, value, metadata)
ON CONFLICT (metric_date, metric_type, metric_category) DO NOTHING
RETURNING dm.metric_category";

#[cfg(test)]
mod tests {
    use super::*;

    fn posts() -> Source {
        Source {
            schema: "public".into(),
            table: "posts".into(),
            time_column: "created_at".into(),
            time_type: TimeType::Timestamptz,
            project_column: None,
        }
    }

    fn scalar_sql_t(source: &Source, measures: &[Measure]) -> String {
        scalar_sql(source, measures, true)
    }

    fn breakdown_sql_t(source: &Source, measure: &Measure) -> String {
        breakdown_sql(source, measure, true)
    }

    #[test]
    fn distinct_counts_and_breakdowns_keep_a_sketch_where_the_tables_have_one() {
        let mut users = measure("users", Kind::Distinct);
        users.value_column = Some("user_id".into());
        let with = scalar_sql(&posts(), std::slice::from_ref(&users), true);
        assert!(with.contains("metrics._distinct_sketch(pg_catalog.hash_record_extended(ROW(src.\"user_id\"), 0)) FILTER (WHERE src.\"user_id\" IS NOT NULL) AS k0"));
        assert!(with.contains("s.k0, NULL::int8)"));
        let without = scalar_sql(&posts(), std::slice::from_ref(&users), false);
        users.hash = ValueHash::Function("hashint8extended".into());
        let direct = scalar_sql(&posts(), std::slice::from_ref(&users), true);
        assert!(direct.contains(
            "metrics._distinct_sketch(pg_catalog.\"hashint8extended\"(src.\"user_id\", 0))"
        ));
        users.hash = ValueHash::Function("hashint8extended".into());
        let direct = scalar_sql(&posts(), std::slice::from_ref(&users), true);
        assert!(direct.contains(
            "metrics._distinct_sketch(pg_catalog.\"hashint8extended\"(src.\"user_id\", 0))"
        ));
        users.hash = ValueHash::Text;
        let by_text = scalar_sql(&posts(), std::slice::from_ref(&users), true);
        assert!(by_text.contains(
            "metrics._distinct_sketch(pg_catalog.hashtextextended(src.\"user_id\"::text, 0))"
        ));
        assert!(!without.contains("_distinct_sketch"));
        assert!(without.contains("NULL::bytea"));
        let mut genres = measure("genres", Kind::Breakdown);
        genres.value_column = Some("genre".into());
        assert!(breakdown_sql(&posts(), &genres, true)
            .contains("metrics._distinct_sketch(pg_catalog.hashtextextended(r.key, 0))"));
        assert!(!breakdown_sql(&posts(), &genres, false).contains("_distinct_sketch"));
    }

    fn measure(category: &str, kind: Kind) -> Measure {
        Measure {
            category: category.into(),
            kind,
            value_column: None,
            filter: None,
            top_n: None,
            hash: ValueHash::Record,
            percentile: None,
        }
    }

    #[test]
    fn percentiles_rank_the_day_and_keep_its_sorted_values() {
        let mut lead = measure("lead_p90", Kind::Percentile);
        lead.value_column = Some("hours".into());
        lead.percentile = Some(0.9);
        lead.filter = Some("(tier = 'production'::text)".into());
        let sql = scalar_sql_t(
            &posts(),
            &[measure("posts_total", Kind::Total), lead.clone()],
        );
        assert!(sql.contains("pg_catalog.percentile_cont(0.9::float8) WITHIN GROUP (ORDER BY src.\"hours\"::float8) FILTER (WHERE src.\"created_at\" >= ($1::date::timestamp AT TIME ZONE $3) AND ((tier = 'production'::text))) AS q1"), "{sql}");
        assert!(sql.contains(
            "pg_catalog.count(src.\"hours\"::float8) FILTER (WHERE src.\"created_at\" >="
        ));
        assert!(sql.contains("NOT (src.\"hours\"::float8 > '-Infinity' AND src.\"hours\"::float8 < 'Infinity')) AS x1"));
        assert!(sql.contains("pg_catalog.string_agg(pg_catalog.float8send(src.\"hours\"::float8), ''::bytea ORDER BY src.\"hours\"::float8)"));
        assert!(sql.contains(&format!("CASE WHEN s.n1 <= {VALUES_LIMIT} THEN pg_catalog.decode('70', 'hex') || coalesce(s.k1, ''::bytea) END")));
        assert!(sql.contains("('percentile', $4[2], CASE WHEN s.x1 > 0 THEN 'NaN'::numeric ELSE coalesce(s.q1::text::numeric, 0) END"));
        assert!(sql.contains(
            "'percentile', 0.9::numeric, 'sample_size', s.n1, 'values_kept', s.n1 <= 10000"
        ));
        let without = scalar_sql(&posts(), &[lead], false);
        assert!(!without.contains("string_agg"));
        assert!(without.contains("'values_kept', false), NULL::bytea, NULL::int8)"));
    }

    #[test]
    fn sources_are_qualified_and_quoted() {
        let s = Source {
            schema: "we\"ird".into(),
            table: "t".into(),
            ..posts()
        };
        assert_eq!(s.qualified(), "\"we\"\"ird\".\"t\"");
    }

    #[test]
    fn created_only_scans_the_range() {
        let sql = scalar_sql_t(&posts(), &[measure("posts_created", Kind::Created)]);
        assert!(sql.contains("src.\"created_at\" >= ($1::date::timestamp AT TIME ZONE $3) AND src.\"created_at\" < (($2::date + 1)::timestamp AT TIME ZONE $3)"));
        assert!(!sql.contains("CASE WHEN"));
        assert!(sql.contains("FROM \"public\".\"posts\" AS src"));
        assert!(
            sql.contains("('count', $4[1], s.v0::numeric, '{}'::jsonb, NULL::bytea, NULL::int8)")
        );
        assert!(sql.contains("NULL::uuid AS project_id"));
        assert!(!sql.contains("GROUPING"));
        // Categories are parameters, never SQL text.
        assert!(!sql.contains("posts_created"));
    }

    #[test]
    fn totals_seed_a_running_sum_from_the_rows_before_the_range() {
        let sql = scalar_sql_t(
            &posts(),
            &[
                measure("posts_total", Kind::Total),
                measure("posts_created", Kind::Created),
            ],
        );
        assert!(sql.contains("CASE WHEN src.\"created_at\" >= ($1::date::timestamp AT TIME ZONE $3) THEN (src.\"created_at\" AT TIME ZONE $3)::date END AS day"));
        assert!(sql
            .contains("WHERE src.\"created_at\" < (($2::date + 1)::timestamp AT TIME ZONE $3)\n"));
        assert!(sql.contains("(SELECT b.v0 FROM per_day AS b WHERE b.day IS NULL)"));
        assert!(sql.contains("sum(p.v0) OVER (ORDER BY days.day)"));
        assert!(sql.contains("$4[2]"));
        // One scan of the source for both metrics.
        assert_eq!(sql.matches("FROM \"public\".\"posts\"").count(), 1);
    }

    #[test]
    fn distinct_and_average_skip_the_before_group_and_apply_filters() {
        let mut active = measure("active_users", Kind::Distinct);
        active.value_column = Some("user_id".into());
        active.filter = Some("status = 'published'::text".into());
        let mut avg = measure("avg_len", Kind::Average);
        avg.value_column = Some("length".into());
        let sql = scalar_sql_t(
            &posts(),
            &[measure("posts_total", Kind::Total), active, avg],
        );
        assert!(sql.contains("count(DISTINCT src.\"user_id\") FILTER (WHERE src.\"created_at\" >= ($1::date::timestamp AT TIME ZONE $3) AND (status = 'published'::text)) AS v1"));
        assert!(sql.contains("avg(src.\"length\") FILTER (WHERE src.\"created_at\" >="));
        assert!(sql.contains("'sample_size', s.n2, 'std_deviation'"));
        assert!(sql.contains("('average', $4[3]"));
    }

    #[test]
    fn time_types_map_days_differently() {
        let mut s = posts();
        s.time_type = TimeType::Date;
        let sql = scalar_sql_t(&s, &[measure("x", Kind::Created)]);
        assert!(
            sql.contains("src.\"created_at\" >= $1::date AND src.\"created_at\" < ($2::date + 1)")
        );
        assert!(!sql.contains("AT TIME ZONE $3)::date AS day"));
        s.time_type = TimeType::Timestamp;
        let sql = scalar_sql_t(&s, &[measure("x", Kind::Created)]);
        assert!(sql.contains("src.\"created_at\"::date AS day"));
        assert!(!sql.contains("AT TIME ZONE"));
    }

    #[test]
    fn breakdowns_group_by_day_and_value() {
        let mut m = measure("top_genres", Kind::Breakdown);
        m.value_column = Some("genre".into());
        m.filter = Some("duration > 0".into());
        let sql = breakdown_sql_t(&posts(), &m);
        assert!(sql.contains("src.\"genre\"::text AS key"));
        assert!(sql.contains("src.\"genre\" IS NOT NULL AND (duration > 0)"));
        assert!(sql.contains("FILTER (WHERE r.rank <= $5)"));
        assert!(sql.contains(&format!("r.rank <= {BREAKDOWN_LIMIT}")));
        assert!(!sql.contains("top_genres"));
    }

    fn scoped() -> Source {
        Source {
            project_column: Some("org_id".into()),
            ..posts()
        }
    }

    #[test]
    fn per_project_sources_group_by_day_and_by_day_and_project_in_one_scan() {
        let mut avg = measure("avg_len", Kind::Average);
        avg.value_column = Some("length".into());
        avg.filter = Some("(length > 0)".into());
        let sql = scalar_sql_t(
            &scoped(),
            &[
                measure("posts_total", Kind::Total),
                measure("posts_created", Kind::Created),
                avg,
            ],
        );
        assert_eq!(sql.matches("FROM \"public\".\"posts\"").count(), 1, "{sql}");
        assert!(sql.contains("LEFT JOIN keys AS pk ON pk.key = src.\"org_id\"::text"));
        assert!(sql.contains("ROWS FROM (pg_catalog.unnest($6::text[]), pg_catalog.unnest($7::uuid[])) AS k(key, id)"));
        assert!(sql.contains("GROUP BY GROUPING SETS ((CASE WHEN"));
        assert!(sql.contains("GROUPING(pk.id) AS whole"));
        // Totals run per scope, from the "before" group of the same scope.
        assert!(sql.contains("OVER (PARTITION BY sc.project ORDER BY days.day)"));
        assert!(sql.contains("b.day IS NULL AND b.whole = (sc.project IS NULL)::int4 AND b.project IS NOT DISTINCT FROM sc.project"));
        // Rows of no known project are counted, per measure, with its conditions.
        assert!(sql.contains("pg_catalog.count(*) FILTER (WHERE pk.id IS NULL) AS u0"));
        assert!(sql.contains("pg_catalog.count(*) FILTER (WHERE pk.id IS NULL AND src.\"created_at\" >= ($1::date::timestamp AT TIME ZONE $3) AND ((length > 0))) AS u2"));
        assert!(sql.contains("'unassigned_rows', m.unassigned"));
        assert!(sql.contains("s.project AS project_id"));
        assert!(sql.contains("FROM days CROSS JOIN scopes AS sc"));
    }

    #[test]
    fn per_project_breakdowns_rank_each_scope_apart() {
        let mut m = measure("top_genres", Kind::Breakdown);
        m.value_column = Some("genre".into());
        let sql = source_sql(&scoped(), std::slice::from_ref(&m), true);
        assert_eq!(sql.matches("FROM \"public\".\"posts\"").count(), 1);
        assert!(sql.contains("GROUP BY GROUPING SETS (("));
        assert!(sql.contains("PARTITION BY g.day, g.project ORDER BY g.n DESC"));
        assert!(sql.contains("WHERE g.whole = 0 AND g.project IS NULL"));
        assert!(sql.contains("sc.project AS project_id"));
        assert!(!breakdown_sql_t(&posts(), &m).contains("GROUPING"));
    }

    #[test]
    fn percentages_pair_parts_of_the_same_project() {
        assert!(PERCENTAGE_SQL.contains("d.project_id IS NOT DISTINCT FROM n.project_id"));
        assert!(PERCENTAGE_SQL.contains("(n.project_id IS NULL OR $6)"));
        assert!(!PERCENTAGE_SQL_BEFORE_060.contains("n.project_id"));
        assert!(INSERT_SQL.contains("ON CONFLICT ON CONSTRAINT unique_daily_metric"));
    }

    #[test]
    #[should_panic]
    fn percentages_are_not_scalar() {
        scalar_sql_t(&posts(), &[measure("rate", Kind::Percentage)]);
    }
}
