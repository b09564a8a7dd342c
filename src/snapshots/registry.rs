//! Metric definitions as rows of `metrics.metric_definitions`: defining (with every check),
//! activating and deactivating, presets, and resolving a definition against the catalog into
//! something the planner can compute.

use pgrx::pg_sys;
use pgrx::pg_sys::PgOid;
use pgrx::prelude::*;

use crate::pg::catalog::{self, Relation};
use crate::pg::spi;
use crate::snapshots::definition::{check_category, check_shape, Definition, Kind, Labels, MetricArgs};
use crate::pg::raise::{catching, raise, sqlstate_text, OrRaise};
use crate::snapshots::filter;
use crate::pg::identity;
use crate::snapshots::statements::{self, Measure, Source};
use crate::snapshots::presets;
use crate::common::problem::{required, Outcome, Problem, SqlState};

/// A metric over a source relation, checked against the catalog and ready to compute.
#[derive(Debug, Clone)]
pub struct Sourced {
    pub relation: Relation,
    pub source: Source,
    pub measure: Measure,
}

/// A percentage of two other metrics of the same day.
#[derive(Debug, Clone)]
pub struct Ratio {
    pub category: String,
    pub numerator: String,
    pub denominator: String,
}

/// A definition checked against the catalog.
#[derive(Debug, Clone)]
pub enum Resolved {
    Sourced(Sourced),
    Ratio(Ratio),
}

const DEFINITION_COLUMNS: &str = "metric_category, kind, source_schema, source_table, time_column, value_column, \"filter\", numerator, denominator, top_n";

fn row_to_definition(row: &pgrx::spi::SpiHeapTupleData) -> pgrx::spi::SpiResult<Definition> {
    let text = |i: usize| row.get::<String>(i);
    let kind = text(2)?.unwrap_or_default();
    let (schema, table, time) = (text(3)?, text(4)?, text(5)?);
    Ok(Definition {
        category: text(1)?.unwrap_or_default(),
        kind: Kind::parse(&kind).unwrap_or(Kind::Created),
        source: match (schema, table, time) {
            (Some(s), Some(t), Some(c)) => Some((s, t, c)),
            _ => None,
        },
        value_column: text(6)?,
        filter: text(7)?,
        ratio: match (text(8)?, text(9)?) {
            (Some(n), Some(d)) => Some((n, d)),
            _ => None,
        },
        top_n: row.get::<i32>(10)?,
    })
}

/// Definitions by category; only active ones unless `categories` names them.
pub fn load(categories: Option<&[String]>) -> Vec<Definition> {
    match categories {
        None => spi::select(
            &format!("SELECT {DEFINITION_COLUMNS} FROM metrics.metric_definitions WHERE is_active ORDER BY metric_category"),
            &[],
            row_to_definition,
        ),
        Some(list) => spi::select(
            &format!(
                "SELECT {DEFINITION_COLUMNS} FROM metrics.metric_definitions WHERE metric_category = ANY($1) ORDER BY metric_category"
            ),
            &[list.to_vec().into()],
            row_to_definition,
        ),
    }
}

/// Checks a definition against the catalog. Runs the filter through the parser, so it must
/// run where an error can be raised or rolled back (see `filter::normalize`).
pub fn resolve(def: &Definition) -> Outcome<Resolved> {
    if let Some((numerator, denominator)) = &def.ratio {
        return Ok(Resolved::Ratio(Ratio {
            category: def.category.clone(),
            numerator: numerator.clone(),
            denominator: denominator.clone(),
        }));
    }
    let (schema, table, time_column) = def.source.clone().expect("sourced kinds have a source");
    let relation = catalog::relation(&schema, &table)?;
    let time_col = catalog::column(&relation, &time_column)?;
    let time_type = catalog::time_type(&relation, &time_col)?;
    if let Some(value_column) = &def.value_column {
        let col = catalog::column(&relation, value_column)?;
        match def.kind {
            Kind::Average => catalog::check_numeric(&relation, &col)?,
            Kind::Distinct => catalog::check_sortable(&relation, &col)?,
            _ => {}
        }
    }
    let filter = match &def.filter {
        Some(f) => Some(filter::normalize(&relation, f)?),
        None => None,
    };
    Ok(Resolved::Sourced(Sourced {
        source: Source {
            schema,
            table,
            time_column,
            time_type,
        },
        measure: Measure {
            category: def.category.clone(),
            kind: def.kind,
            value_column: def.value_column.clone(),
            filter,
            top_n: def.top_n,
        },
        relation,
    }))
}

/// The parameter types of `statements::source_sql` statements: first day, last day, time zone,
/// categories, top_n.
pub const SOURCE_PARAMETER_TYPES: [pg_sys::Oid; 5] = [
    pg_sys::DATEOID,
    pg_sys::DATEOID,
    pg_sys::TEXTOID,
    pg_sys::TEXTARRAYOID,
    pg_sys::INT4OID,
];

/// Prepares (parses and analyzes, without running) the statement that will compute the metric,
/// with the source owner's rights: whatever the catalog checks missed surfaces here, at
/// definition time, instead of at every collection.
fn check_computable(metric: &Sourced) -> Outcome<()> {
    let Sourced {
        relation,
        source,
        measure,
    } = metric;
    let sql = statements::source_sql(source, std::slice::from_ref(measure));
    let args: Vec<PgOid> = SOURCE_PARAMETER_TYPES
        .into_iter()
        .map(PgOid::Custom)
        .collect();
    catching(
        || {
            identity::as_role(relation.owner, || {
                Spi::connect(|client| client.prepare(sql.as_str(), &args).map(|_| ())).or_raise()
            });
            Ok(())
        },
        |report| {
            Problem::new(
                SqlState::DatatypeMismatch,
                format!(
                    "metric \"{}\" cannot be computed: {}",
                    measure.category,
                    report.message()
                ),
            )
            .detail(format!(
                "SQLSTATE {} while preparing the statement that computes it.",
                sqlstate_text(report.sql_error_code())
            ))
            .hint("check the column types against the metric kind")
        },
    )
}

/// Whether and how a category is defined.
struct Existing {
    metric_type: String,
    kind: Kind,
    is_active: bool,
}

fn existing(category: &str) -> Option<Existing> {
    spi::select(
        "SELECT metric_type, kind, is_active FROM metrics.metric_definitions WHERE metric_category = $1",
        &[category.into()],
        |row| {
            Ok(Existing {
                metric_type: row.get::<String>(1)?.unwrap_or_default(),
                kind: Kind::parse(&row.get::<String>(2)?.unwrap_or_default()).unwrap_or(Kind::Created),
                is_active: row.get::<bool>(3)?.unwrap_or(false),
            })
        },
    )
    .into_iter()
    .next()
}

fn unknown_metric(category: &str) -> Problem {
    Problem::new(
        SqlState::UndefinedObject,
        format!("metric \"{category}\" does not exist"),
    )
    .hint("list the defined metrics with: SELECT metric_category FROM metrics.metric_definitions")
}

/// Checks the numerator and denominator of a percentage.
fn check_ratio_parts(ratio: &Ratio) -> Outcome<()> {
    let category = &ratio.category;
    for (role, part) in [
        ("numerator", &ratio.numerator),
        ("denominator", &ratio.denominator),
    ] {
        let found = existing(part).ok_or_else(|| {
            unknown_metric(part).hint(format!(
                "define the {role} metric before the percentage \"{category}\""
            ))
        })?;
        if !found.kind.is_countable() {
            return Err(Problem::new(
                SqlState::InvalidParameterValue,
                format!(
                    "{role} \"{part}\" of percentage \"{category}\" is a {} metric",
                    found.kind.as_str()
                ),
            )
            .hint("numerators and denominators must be created, total or distinct metrics"));
        }
    }
    Ok(())
}

/// Defines (or, with `replace`, redefines) a metric after every check.
pub fn define(args: &MetricArgs, replace: bool) -> Outcome<Definition> {
    let (mut definition, labels) = check_shape(args)?;
    if let Some(found) = existing(&definition.category) {
        if !replace {
            return Err(Problem::new(SqlState::DuplicateObject, format!("metric \"{}\" is already defined", definition.category))
                .hint("pass replace => true to change its definition (sealed values stay as they are), or choose another category"));
        }
        if found.metric_type != definition.kind.metric_type() {
            let sealed = spi::value::<i64>(
                "SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = $1",
                &[definition.category.as_str().into()],
            )
            .unwrap_or(0);
            if sealed > 0 {
                return Err(Problem::new(
                    SqlState::DependentObjectsStillExist,
                    format!(
                        "cannot change metric \"{}\" from {} to {} values: {sealed} values are already sealed",
                        definition.category,
                        found.metric_type,
                        definition.kind.metric_type()
                    ),
                )
                .hint("define the new computation under a new category"));
            }
        }
    }
    match resolve(&definition)? {
        Resolved::Sourced(metric) => {
            catalog::check_readable(
                &metric.relation,
                identity::caller(),
                &identity::caller_name(),
            )?;
            check_computable(&metric)?;
            definition.filter = metric.measure.filter;
        }
        Resolved::Ratio(ratio) => check_ratio_parts(&ratio)?,
    }
    store(&definition, &labels);
    Ok(definition)
}

fn store(def: &Definition, labels: &Labels) {
    let (schema, table, time) = match &def.source {
        Some((s, t, c)) => (Some(s.clone()), Some(t.clone()), Some(c.clone())),
        None => (None, None, None),
    };
    let (num, den) = match &def.ratio {
        Some((n, d)) => (Some(n.clone()), Some(d.clone())),
        None => (None, None),
    };
    spi::run(
        "INSERT INTO metrics.metric_definitions AS d
             (metric_category, metric_type, kind, display_name, description, unit, format_pattern,
              source_schema, source_table, time_column, value_column, \"filter\", numerator, denominator, top_n,
              is_active, defined_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, true, $16)
         ON CONFLICT (metric_category) DO UPDATE SET
             metric_type = EXCLUDED.metric_type, kind = EXCLUDED.kind, display_name = EXCLUDED.display_name,
             description = EXCLUDED.description, unit = EXCLUDED.unit, format_pattern = EXCLUDED.format_pattern,
             source_schema = EXCLUDED.source_schema, source_table = EXCLUDED.source_table,
             time_column = EXCLUDED.time_column, value_column = EXCLUDED.value_column, \"filter\" = EXCLUDED.\"filter\",
             numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator, top_n = EXCLUDED.top_n,
             is_active = true, defined_by = EXCLUDED.defined_by, updated_at = pg_catalog.now()",
        &[
            def.category.as_str().into(),
            def.kind.metric_type().into(),
            def.kind.as_str().into(),
            labels.display_name.as_str().into(),
            labels.description.clone().into(),
            labels.unit.clone().into(),
            labels.format_pattern.as_str().into(),
            schema.into(),
            table.into(),
            time.into(),
            def.value_column.clone().into(),
            def.filter.clone().into(),
            num.into(),
            den.into(),
            def.top_n.into(),
            identity::caller_name().into(),
        ],
    );
}

type DefinedRow = (String, String, String, Option<String>, Option<String>, bool);

fn defined_row(def: &Definition) -> DefinedRow {
    let source = match (&def.source, &def.ratio) {
        (Some((s, t, c)), _) => Some(format!(
            "{}.{} by {}",
            crate::common::ident::quote_ident(s),
            crate::common::ident::quote_ident(t),
            crate::common::ident::quote_ident(c)
        )),
        (None, Some((n, d))) => Some(format!("{n} / {d}")),
        _ => None,
    };
    (
        def.category.clone(),
        def.kind.metric_type().to_string(),
        def.kind.as_str().to_string(),
        source,
        def.filter.clone(),
        true,
    )
}

/// Defines a metric: what to count, over which relation, by which time column.
#[allow(clippy::type_complexity)]
#[allow(clippy::too_many_arguments)]
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn define_metric(
    category: Option<String>,
    kind: Option<String>,
    source_table: default!(Option<String>, "NULL"),
    value_column: default!(Option<String>, "NULL"),
    time_column: default!(Option<String>, "'created_at'"),
    filter: default!(Option<String>, "NULL"),
    numerator: default!(Option<String>, "NULL"),
    denominator: default!(Option<String>, "NULL"),
    source_schema: default!(Option<String>, "'public'"),
    display_name: default!(Option<String>, "NULL"),
    description: default!(Option<String>, "NULL"),
    unit: default!(Option<String>, "NULL"),
    format_pattern: default!(Option<String>, "NULL"),
    top_n: default!(Option<i32>, "5"),
    replace: default!(Option<bool>, "false"),
) -> TableIterator<
    'static,
    (
        name!(metric_category, String),
        name!(metric_type, String),
        name!(kind, String),
        name!(source, Option<String>),
        name!(filter, Option<String>),
        name!(is_active, bool),
    ),
> {
    let args = MetricArgs {
        category: required(category, "category").or_raise(),
        kind: required(kind, "kind").or_raise(),
        source_schema,
        source_table,
        time_column,
        value_column,
        filter,
        numerator,
        denominator,
        display_name,
        description,
        unit,
        format_pattern,
        top_n,
    };
    let def = define(&args, replace.unwrap_or(false)).or_raise();
    TableIterator::once(defined_row(&def))
}

/// Active percentages that read `category`.
fn dependents(category: &str) -> Vec<String> {
    spi::select(
        "SELECT metric_category FROM metrics.metric_definitions
         WHERE is_active AND (numerator = $1 OR denominator = $1) ORDER BY 1",
        &[category.into()],
        |row| Ok(row.get::<String>(1)?.unwrap_or_default()),
    )
}

fn set_active(category: &str, active: bool) {
    spi::run(
        "UPDATE metrics.metric_definitions SET is_active = $2, updated_at = pg_catalog.now() WHERE metric_category = $1",
        &[category.into(), active.into()],
    );
}

/// Stops collecting a metric; its sealed values stay. Returns false if it was already inactive.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn deactivate_metric(category: Option<String>) -> bool {
    let category = required(category, "category").or_raise();
    check_category(&category).or_raise();
    let found = existing(&category)
        .ok_or_else(|| unknown_metric(&category))
        .or_raise();
    if !found.is_active {
        return false;
    }
    let users = dependents(&category);
    if !users.is_empty() {
        raise(
            Problem::new(
                SqlState::DependentObjectsStillExist,
                format!("cannot deactivate metric \"{category}\": active percentages use it"),
            )
            .detail(format!("Used by: {}.", users.join(", ")))
            .hint("deactivate those percentages first"),
        );
    }
    set_active(&category, false);
    true
}

/// Resumes collecting a metric, after checking that its source still fits.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn activate_metric(category: Option<String>) -> bool {
    let category = required(category, "category").or_raise();
    check_category(&category).or_raise();
    let found = existing(&category)
        .ok_or_else(|| unknown_metric(&category))
        .or_raise();
    if found.is_active {
        return false;
    }
    let def = load(Some(std::slice::from_ref(&category)))
        .into_iter()
        .next()
        .expect("exists");
    match resolve(&def).or_raise() {
        Resolved::Sourced(metric) => catalog::check_readable(
            &metric.relation,
            identity::caller(),
            &identity::caller_name(),
        )
        .or_raise(),
        Resolved::Ratio(ratio) => {
            check_ratio_parts(&ratio).or_raise();
            for part in [&ratio.numerator, &ratio.denominator] {
                if !existing(part).map(|e| e.is_active).unwrap_or(false) {
                    raise(
                        Problem::new(
                            SqlState::ForeignKeyViolation,
                            format!(
                            "cannot activate percentage \"{}\": metric \"{part}\" is not active",
                            ratio.category
                        ),
                        )
                        .hint(format!("activate \"{part}\" first")),
                    );
                }
            }
        }
    }
    set_active(&category, true);
    true
}

fn table_exists(schema: &str, table: &str) -> bool {
    spi::value::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))",
        &[schema.into(), table.into()],
    )
    .unwrap_or(false)
}

fn column_exists(schema: &str, table: &str, column: &str) -> bool {
    spi::value::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped)",
        &[schema.into(), table.into(), column.into()],
    )
    .unwrap_or(false)
}

/// Defines a ready-made set of metrics over the tables that exist in `source_schema`.
#[pg_extern(security_definer, volatile)]
#[search_path(pg_catalog, pg_temp)]
fn install_preset(
    preset: Option<String>,
    source_schema: default!(Option<String>, "'public'"),
) -> TableIterator<
    'static,
    (
        name!(metric_category, String),
        name!(kind, String),
        name!(status, String),
    ),
> {
    let preset = required(preset, "preset").or_raise();
    let schema = required(source_schema, "source_schema").or_raise();
    let metrics = presets::preset(&preset, &schema).or_raise();
    let schema_exists = spi::value::<bool>(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
        &[schema.as_str().into()],
    )
    .unwrap_or(false);
    if !schema_exists {
        raise(
            Problem::new(
                SqlState::InvalidSchemaName,
                format!("schema \"{schema}\" does not exist"),
            )
            .hint("pass the schema that holds profiles, posts and comments as source_schema"),
        );
    }
    for m in metrics.iter().filter(|m| m.core) {
        let table = m
            .args
            .source_table
            .as_deref()
            .expect("core metrics read a table");
        if !table_exists(&schema, table) {
            raise(Problem::new(
                SqlState::UndefinedTable,
                format!("preset \"{preset}\" needs table {}.{}", crate::common::ident::quote_ident(&schema), crate::common::ident::quote_ident(table)),
            )
            .hint("the social preset reads profiles, posts and comments, each with a created_at column"));
        }
    }
    let mut out = Vec::new();
    for m in metrics {
        let category = m.args.category.clone();
        let kind = m.args.kind.clone();
        let time_column = m.args.time_column.as_deref().unwrap_or("created_at");
        let missing = match (
            &m.args.source_table,
            &m.args.value_column,
            &m.args.numerator,
            &m.args.denominator,
        ) {
            (Some(t), _, _, _) if !table_exists(&schema, t) => {
                Some(format!("skipped: no table {schema}.{t}"))
            }
            (Some(t), _, _, _) if !column_exists(&schema, t, time_column) => {
                Some(format!("skipped: no column {t}.{time_column}"))
            }
            (Some(t), Some(c), _, _) if !column_exists(&schema, t, c) => {
                Some(format!("skipped: no column {t}.{c}"))
            }
            (None, _, Some(n), Some(d)) if existing(n).is_none() || existing(d).is_none() => {
                Some(format!("skipped: needs {n} and {d}"))
            }
            _ => None,
        };
        let status = if let Some(reason) = missing {
            reason
        } else if existing(&category).is_some() {
            "already defined".to_string()
        } else {
            define(&m.args, false).or_raise();
            "defined".to_string()
        };
        out.push((category, kind, status));
    }
    TableIterator::new(out)
}
