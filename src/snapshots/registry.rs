//! Metric definitions as rows of `metrics.metric_definitions`: loading them, resolving one
//! against the catalog into something the statements can compute, defining (with every
//! check), activating, deactivating, and installing presets.

use pgrx::pg_sys;
use pgrx::pg_sys::PgOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiHeapTupleData, SpiResult};

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::pg::catalog::{self, Relation};
use crate::pg::identity;
use crate::pg::raise::{catching, sqlstate_text, OrRaise};
use crate::pg::spi::{not_null, volatile as spi};
use crate::snapshots::definition::{
    check_category, check_shape, stored_kind, unknown_metric, Definition, Labels, MetricArgs,
    Ratio, StoredDefinition,
};
use crate::snapshots::filter;
use crate::snapshots::kind::Kind;
use crate::snapshots::layout::{layout, Layout};
use crate::snapshots::presets;
use crate::snapshots::statements::{self, Measure, Source, ValueHash};

/// A metric over a source relation, checked against the catalog and ready to compute.
#[derive(Debug, Clone)]
pub struct Sourced {
    pub relation: Relation,
    pub source: Source,
    pub measure: Measure,
    /// Per-project metrics: whether the project column is a uuid (it holds project ids) or
    /// text (ids or slugs).
    pub project_is_uuid: bool,
}

/// A definition checked against the catalog.
// A run holds one per definition: boxing the larger variant would save nothing that counts.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Resolved {
    Sourced(Sourced),
    Ratio(Ratio),
}

impl Resolved {
    pub fn category(&self) -> &str {
        match self {
            Resolved::Sourced(m) => &m.measure.category,
            Resolved::Ratio(r) => &r.category,
        }
    }
}

const DEFINITION_COLUMNS: &str = "metric_category, kind, source_schema, source_table, time_column, value_column, \"filter\", numerator, denominator, top_n";

fn stored_definition(row: &SpiHeapTupleData) -> SpiResult<StoredDefinition> {
    Ok(StoredDefinition {
        category: not_null(row, 1)?,
        kind: not_null(row, 2)?,
        source_schema: row.get(3)?,
        source_table: row.get(4)?,
        time_column: row.get(5)?,
        value_column: row.get(6)?,
        filter: row.get(7)?,
        numerator: row.get(8)?,
        denominator: row.get(9)?,
        top_n: row.get(10)?,
        percentile: row.get(11)?,
        project_column: row.get(13)?,
    })
}

/// Definitions in category order, each with its version: the active ones, or those
/// `categories` names.
///
/// The rows are locked FOR SHARE, so a redefinition (`define_metric(..., replace => true)`,
/// or any UPDATE of the row) in progress is waited for and then read as committed, never
/// computed in its old form: a run computes with the definitions current when it runs. A
/// redefinition that starts later waits for the run's transaction to end.
pub fn load_versioned(categories: Option<&[String]>) -> Vec<(Definition, i32)> {
    load_rows(categories, " FOR SHARE")
}

/// Like `load_versioned`, without locking the rows: for what only reads (the live values of
/// the open day, which read-only transactions ask for).
pub fn load_unlocked(categories: Option<&[String]>) -> Vec<Definition> {
    load_rows(categories, "")
        .into_iter()
        .map(|(definition, _)| definition)
        .collect()
}

fn load_rows(categories: Option<&[String]>, lock: &str) -> Vec<(Definition, i32)> {
    let versioned =
        |row: &SpiHeapTupleData| Ok((stored_definition(row)?, not_null::<i32>(row, 12)?));
    // Tables before 0.3.0 have no versions: every definition counts as version 1; tables
    // without the percentile column have no percentile metric.
    let layout = layout();
    let percentile = if layout.has_percentiles() {
        "percentile"
    } else {
        "NULL::float8"
    };
    let version = if layout.has_provenance() {
        "definition_version"
    } else {
        "1"
    };
    let project_column = if layout.has_projects() {
        "project_column"
    } else {
        "NULL::text"
    };
    let version = format!("{percentile}, {version}, {project_column}");
    let rows = match categories {
        None => spi::rows(
            &format!("SELECT {DEFINITION_COLUMNS}, {version} FROM metrics.metric_definitions WHERE is_active ORDER BY metric_category{lock}"),
            &[],
            versioned,
        ),
        Some(list) => spi::rows(
            &format!(
                "SELECT {DEFINITION_COLUMNS}, {version} FROM metrics.metric_definitions WHERE metric_category = ANY($1) ORDER BY metric_category{lock}"
            ),
            &[list.to_vec().into()],
            versioned,
        ),
    };
    rows.into_iter()
        .map(|(row, version)| (row.definition().or_raise(), version))
        .collect()
}

/// Definitions in category order: the active ones, or those `categories` names (locked like
/// `load_versioned`).
pub fn load(categories: Option<&[String]>) -> Vec<Definition> {
    load_versioned(categories)
        .into_iter()
        .map(|(definition, _)| definition)
        .collect()
}

/// Checks a definition against the catalog. Runs the filter through the parser, so it must
/// run where an error can be raised or rolled back (see `filter::normalize`).
pub fn resolve(def: &Definition) -> Outcome<Resolved> {
    let d = match def {
        Definition::Ratio(ratio) => return Ok(Resolved::Ratio(ratio.clone())),
        Definition::Sourced(d) => d,
    };
    let relation = catalog::relation(&d.source.schema, &d.source.table)?;
    let time_col = catalog::column(&relation, &d.source.time_column)?;
    let time_type = catalog::time_type(&relation, &time_col)?;
    let mut hash = ValueHash::Record;
    if let Some(value_column) = &d.value_column {
        let col = catalog::column(&relation, value_column)?;
        match d.kind {
            Kind::Average | Kind::Percentile => catalog::check_numeric(&relation, &col, d.kind)?,
            Kind::Distinct => {
                catalog::check_sortable(&relation, &col)?;
                hash = catalog::value_hash(&col);
            }
            _ => {}
        }
    }
    let filter = match &d.filter {
        Some(f) => Some(filter::normalize(&relation, f)?),
        None => None,
    };
    let project_is_uuid = match &d.project_column {
        Some(c) => check_project_column(&relation, &catalog::column(&relation, c)?)?,
        None => false,
    };
    Ok(Resolved::Sourced(Sourced {
        source: Source {
            schema: d.source.schema.clone(),
            table: d.source.table.clone(),
            time_column: d.source.time_column.clone(),
            time_type,
            project_column: d.project_column.clone(),
        },
        measure: Measure {
            category: d.category.clone(),
            kind: d.kind,
            value_column: d.value_column.clone(),
            filter,
            top_n: d.top_n,
            hash,
            percentile: d.percentile,
        },
        relation,
        project_is_uuid,
    }))
}

/// A project column holds project ids (uuid) or slugs or ids (text, varchar); returns
/// whether it is a uuid.
fn check_project_column(relation: &Relation, col: &catalog::Column) -> Outcome<bool> {
    match col.base_type {
        pg_sys::UUIDOID => Ok(true),
        pg_sys::TEXTOID | pg_sys::VARCHAROID => Ok(false),
        _ => Err(Problem::new(
            SqlState::DatatypeMismatch,
            format!(
                "project column \"{}\" of {} has type {}",
                col.name,
                relation.display(),
                col.type_name
            ),
        )
        .hint("the project column must hold project ids (uuid) or slugs (text or varchar)")),
    }
}

/// The parameter types of `statements::source_sql` statements: first day, last day, time
/// zone, categories, top_n, and for per-project ones the project keys and their ids.
pub const SOURCE_PARAMETER_TYPES: [pg_sys::Oid; 7] = [
    pg_sys::DATEOID,
    pg_sys::DATEOID,
    pg_sys::TEXTOID,
    pg_sys::TEXTARRAYOID,
    pg_sys::INT4OID,
    pg_sys::TEXTARRAYOID,
    pg_sys::UUIDARRAYOID,
];

/// Prepares (parses and analyzes, without running) the statement that will compute the metric,
/// with the source owner's rights: whatever the catalog checks missed surfaces here, at
/// definition time, instead of at every collection.
fn check_computable(metric: &Sourced) -> Outcome<()> {
    let Sourced {
        relation,
        source,
        measure,
        ..
    } = metric;
    let sketches = layout().has_provenance();
    if sketches && measure.kind.has_sketch() {
        allow_sketch(relation.owner);
    }
    let sql = statements::source_sql(source, std::slice::from_ref(measure), sketches);
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
    spi::rows(
        "SELECT metric_type, kind, is_active FROM metrics.metric_definitions WHERE metric_category = $1",
        &[category.into()],
        |row| Ok((not_null::<String>(row, 1)?, not_null::<String>(row, 2)?, not_null::<bool>(row, 3)?)),
    )
    .into_iter()
    .next()
    .map(|(metric_type, kind, is_active)| Existing {
        metric_type,
        kind: stored_kind(category, &kind).or_raise(),
        is_active,
    })
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

/// A metric that percentages read (as numerator or denominator) must stay a count.
fn check_parts_stay_countable(definition: &Definition) -> Outcome<()> {
    let category = definition.category();
    if definition.kind().is_countable() {
        return Ok(());
    }
    let users: Vec<String> = spi::rows(
        "SELECT metric_category FROM metrics.metric_definitions
         WHERE (numerator = $1 OR denominator = $1) ORDER BY 1",
        &[category.into()],
        |row| not_null(row, 1),
    );
    if users.is_empty() {
        return Ok(());
    }
    Err(Problem::new(
        SqlState::DependentObjectsStillExist,
        format!(
            "cannot redefine metric \"{category}\" as a {} metric: percentages read it as a count",
            definition.kind().as_str()
        ),
    )
    .detail(format!("Used by: {}.", users.join(", ")))
    .hint("numerators and denominators must be created, total or distinct metrics; define the new computation under a new category"))
}

/// A redefinition may not change the `metric_type` of a category that has sealed values.
fn check_redefinition(definition: &Definition, replace: bool) -> Outcome<()> {
    let category = definition.category();
    let Some(found) = existing(category) else {
        return Ok(());
    };
    if !replace {
        return Err(Problem::new(SqlState::DuplicateObject, format!("metric \"{category}\" is already defined"))
            .hint("pass replace => true to change its definition (sealed values stay as they are), or choose another category"));
    }
    check_parts_stay_countable(definition)?;
    let new_type = definition.kind().metric_type();
    if found.metric_type == new_type {
        return Ok(());
    }
    let sealed = spi::value::<i64>(
        "SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = $1",
        &[category.into()],
    )
    .expect("count(*) returns a row");
    if sealed > 0 {
        return Err(Problem::new(
            SqlState::DependentObjectsStillExist,
            format!(
                "cannot change metric \"{category}\" from {} to {new_type} values: {sealed} values are already sealed",
                found.metric_type
            ),
        )
        .hint("define the new computation under a new category"));
    }
    Ok(())
}

/// Defines (or, with `replace`, redefines) a metric after every check.
pub fn define(args: &MetricArgs, replace: bool) -> Outcome<Definition> {
    let (mut definition, labels) = check_shape(args)?;
    check_redefinition(&definition, replace)?;
    match (resolve(&definition)?, &mut definition) {
        (Resolved::Sourced(metric), Definition::Sourced(d)) => {
            catalog::check_readable(
                &metric.relation,
                identity::caller(),
                &identity::caller_name(),
            )?;
            check_computable(&metric)?;
            d.filter = metric.measure.filter;
        }
        (Resolved::Ratio(ratio), _) => {
            check_ratio_parts(&ratio)?;
            check_ratio_scope(&ratio.category, &ratio.numerator, &ratio.denominator, None)?;
        }
        (Resolved::Sourced(_), Definition::Ratio(_)) => {
            unreachable!("a ratio resolves to a ratio")
        }
    }
    check_percentages_keep_their_scope(&definition)?;
    store(&definition, &labels);
    Ok(definition)
}

/// Whether a category is a per-project metric (`changed`: as it is being redefined).
fn is_scoped(category: &str, changed: Option<(&str, bool)>) -> bool {
    match changed {
        Some((c, scoped)) if c == category => scoped,
        _ => {
            layout().has_projects()
                && spi::exists(
                    "SELECT project_column IS NOT NULL FROM metrics.metric_definitions WHERE metric_category = $1",
                    &[category.into()],
                )
        }
    }
}

/// A percentage is per project when both its parts are, of the whole database only when
/// neither is: one of each has no value per project to divide.
fn check_ratio_scope(
    category: &str,
    numerator: &str,
    denominator: &str,
    changed: Option<(&str, bool)>,
) -> Outcome<()> {
    let (n, d) = (
        is_scoped(numerator, changed),
        is_scoped(denominator, changed),
    );
    if n == d {
        return Ok(());
    }
    let (scoped, whole) = if n {
        (numerator, denominator)
    } else {
        (denominator, numerator)
    };
    Err(Problem::new(
        SqlState::InvalidParameterValue,
        format!(
            "percentage \"{category}\" would divide per-project metric \"{scoped}\" by \"{whole}\", a metric of the whole database only"
        ),
    )
    .hint("give both parts a project_column, or neither (metrics.define_metric(..., replace => true))"))
}

/// A metric that percentages read may not change its scope alone: their parts must agree
/// (`check_ratio_scope`); projects need the 0.6.0 tables.
fn check_percentages_keep_their_scope(definition: &Definition) -> Outcome<()> {
    let Definition::Sourced(d) = definition else {
        return Ok(());
    };
    if d.project_column.is_some() && !layout().has_projects() {
        return Err(Problem::new(
            SqlState::FeatureNotSupported,
            "per-project metrics need the tables of metrics 0.6.0",
        )
        .hint("run ALTER EXTENSION metrics UPDATE first"));
    }
    if !layout().has_projects() {
        return Ok(());
    }
    let users: Vec<(String, String, String)> = spi::rows(
        "SELECT metric_category, numerator, denominator FROM metrics.metric_definitions
         WHERE kind = 'percentage' AND (numerator = $1 OR denominator = $1) ORDER BY 1",
        &[d.category.as_str().into()],
        |row| Ok((not_null(row, 1)?, not_null(row, 2)?, not_null(row, 3)?)),
    );
    let changed = Some((d.category.as_str(), d.project_column.is_some()));
    for (category, numerator, denominator) in users {
        check_ratio_scope(&category, &numerator, &denominator, changed)?;
    }
    Ok(())
}

/// Whether an upsert changes what the definition computes (not only its labels): then its
/// version goes up and the replaced form is kept in `previous_definitions`.
/// (`PERCENTILE` is the percentile column, or nothing on tables without it.)
const CHANGED_COMPUTATION: &str = "(d.kind, d.source_schema, d.source_table, d.time_column, d.value_column, d.\"filter\", d.numerator, d.denominator, d.top_nPERCENTILE) IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.source_schema, EXCLUDED.source_table, EXCLUDED.time_column, EXCLUDED.value_column, EXCLUDED.\"filter\", EXCLUDED.numerator, EXCLUDED.denominator, EXCLUDED.top_nEXCLUDED_PERCENTILE)";

/// The upsert's assignments that keep a definition's versions (none before 0.3.0); a
/// previous form names its percentile when the table has the column.
fn versioning(layout: Layout) -> String {
    if !layout.has_provenance() {
        return String::new();
    }
    let (mut percentile, mut excluded, mut previous) = if layout.has_percentiles() {
        (
            ", d.percentile".to_string(),
            ", EXCLUDED.percentile".to_string(),
            " 'percentile', d.percentile,".to_string(),
        )
    } else {
        Default::default()
    };
    if layout.has_projects() {
        percentile.push_str(", d.project_column");
        excluded.push_str(", EXCLUDED.project_column");
        previous.push_str(" 'project_column', d.project_column,");
    }
    let changed = CHANGED_COMPUTATION
        .replace("EXCLUDED_PERCENTILE", &excluded)
        .replace("PERCENTILE", &percentile);
    ",
             definition_version = d.definition_version + CASE WHEN (COMPUTED) THEN 1 ELSE 0 END,
             previous_definitions = CASE WHEN (COMPUTED) THEN d.previous_definitions || pg_catalog.jsonb_build_object(
                 'definition_version', d.definition_version, 'kind', d.kind, 'source_schema', d.source_schema,
                 'source_table', d.source_table, 'time_column', d.time_column, 'value_column', d.value_column,
                 'filter', d.\"filter\", 'numerator', d.numerator, 'denominator', d.denominator, 'top_n', d.top_n,PREVIOUS
                 'defined_by', d.defined_by, 'replaced_at', pg_catalog.now()) ELSE d.previous_definitions END"
        .replace("COMPUTED", &changed)
        .replace("PREVIOUS", &previous)
}

fn store(def: &Definition, labels: &Labels) {
    let (mut schema, mut table, mut time, mut value_column, mut top_n) =
        (None, None, None, None, None);
    let (mut percentile, mut project_column) = (None, None);
    let (mut numerator, mut denominator) = (None, None);
    match def {
        Definition::Sourced(d) => {
            schema = Some(d.source.schema.clone());
            table = Some(d.source.table.clone());
            time = Some(d.source.time_column.clone());
            value_column = d.value_column.clone();
            top_n = d.top_n;
            percentile = d.percentile;
            project_column = d.project_column.clone();
        }
        Definition::Ratio(r) => {
            numerator = Some(r.numerator.clone());
            denominator = Some(r.denominator.clone());
        }
    }
    spi::run(
        &store_sql(layout()),
        &[
            def.category().into(),
            def.kind().metric_type().into(),
            def.kind().as_str().into(),
            labels.display_name.as_str().into(),
            labels.description.clone().into(),
            labels.unit.clone().into(),
            labels.format_pattern.as_str().into(),
            schema.into(),
            table.into(),
            time.into(),
            value_column.into(),
            def.filter().map(str::to_string).into(),
            numerator.into(),
            denominator.into(),
            top_n.into(),
            identity::caller_name().into(),
            percentile.into(),
            project_column.into(),
        ],
    );
}

/// The upsert of a definition: `$1..$16`, `$17` its percentile and `$18` its project
/// column, which tables without the columns do not hold (nor a percentile metric: their kind check refuses one); the
/// parameter is passed all the same, its type given.
fn store_sql(layout: Layout) -> String {
    let (column, value, assign) = match layout {
        Layout::Projects => (
            ", percentile, project_column",
            ", $17, $18",
            ", percentile = EXCLUDED.percentile, project_column = EXCLUDED.project_column",
        ),
        Layout::Percentiles => (
            ", percentile",
            ", $17",
            ", percentile = EXCLUDED.percentile",
        ),
        _ => ("", "", ""),
    };
    format!(
        "INSERT INTO metrics.metric_definitions AS d
             (metric_category, metric_type, kind, display_name, description, unit, format_pattern,
              source_schema, source_table, time_column, value_column, \"filter\", numerator, denominator, top_n,
              is_active, defined_by{column})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, true, $16{value})
         ON CONFLICT (metric_category) DO UPDATE SET
             metric_type = EXCLUDED.metric_type, kind = EXCLUDED.kind, display_name = EXCLUDED.display_name,
             description = EXCLUDED.description, unit = EXCLUDED.unit, format_pattern = EXCLUDED.format_pattern,
             source_schema = EXCLUDED.source_schema, source_table = EXCLUDED.source_table,
             time_column = EXCLUDED.time_column, value_column = EXCLUDED.value_column, \"filter\" = EXCLUDED.\"filter\",
             numerator = EXCLUDED.numerator, denominator = EXCLUDED.denominator, top_n = EXCLUDED.top_n{assign},
             is_active = true, defined_by = EXCLUDED.defined_by, updated_at = pg_catalog.now(){}",
        versioning(layout)
    )
}

/// Whether a percentage is a per-project metric: both its parts are (the definition checks
/// that they agree). Tables before 0.6.0 have none.
pub fn ratio_is_scoped(ratio: &Ratio) -> bool {
    layout().has_projects()
        && spi::exists(
            "SELECT pg_catalog.count(*) = 2 FROM metrics.metric_definitions
             WHERE metric_category IN ($1, $2) AND project_column IS NOT NULL",
            &[
                ratio.numerator.as_str().into(),
                ratio.denominator.as_str().into(),
            ],
        )
}

/// Active percentages that read `category`.
fn dependents(category: &str) -> Vec<String> {
    spi::rows(
        "SELECT metric_category FROM metrics.metric_definitions
         WHERE is_active AND (numerator = $1 OR denominator = $1) ORDER BY 1",
        &[category.into()],
        |row| not_null(row, 1),
    )
}

fn set_active(category: &str, active: bool) {
    spi::run(
        "UPDATE metrics.metric_definitions SET is_active = $2, updated_at = pg_catalog.now() WHERE metric_category = $1",
        &[category.into(), active.into()],
    );
}

/// Whether a defined category is active; an unknown one is an error.
fn is_active(category: &str) -> Outcome<bool> {
    check_category(category)?;
    existing(category)
        .map(|found| found.is_active)
        .ok_or_else(|| unknown_metric(category))
}

/// Stops collecting a metric; its sealed values stay. False if it was already inactive.
pub fn deactivate(category: &str) -> Outcome<bool> {
    if !is_active(category)? {
        return Ok(false);
    }
    let users = dependents(category);
    if !users.is_empty() {
        return Err(Problem::new(
            SqlState::DependentObjectsStillExist,
            format!("cannot deactivate metric \"{category}\": active percentages use it"),
        )
        .detail(format!("Used by: {}.", users.join(", ")))
        .hint("deactivate those percentages first"));
    }
    set_active(category, false);
    Ok(true)
}

/// Resumes collecting a metric, after checking that its source still fits. False if it was
/// already active.
pub fn activate(category: &str) -> Outcome<bool> {
    if is_active(category)? {
        return Ok(false);
    }
    let def = load(Some(&[category.to_string()]))
        .pop()
        .expect("the category exists");
    match resolve(&def)? {
        Resolved::Sourced(metric) => catalog::check_readable(
            &metric.relation,
            identity::caller(),
            &identity::caller_name(),
        )?,
        Resolved::Ratio(ratio) => {
            check_ratio_parts(&ratio)?;
            for part in [&ratio.numerator, &ratio.denominator] {
                if !existing(part).is_some_and(|e| e.is_active) {
                    return Err(Problem::new(
                        SqlState::ForeignKeyViolation,
                        format!(
                            "cannot activate percentage \"{}\": metric \"{part}\" is not active",
                            ratio.category
                        ),
                    )
                    .hint(format!("activate \"{part}\" first")));
                }
            }
        }
    }
    set_active(category, true);
    Ok(true)
}

/// What installing one metric of a preset did.
pub struct Installed {
    pub category: String,
    pub kind: String,
    /// `defined`, `already defined`, or `skipped: <why>`.
    pub status: String,
}

/// Defines the metrics of a preset over the tables that exist in its schema (`schema` for
/// `social`, schema metrics for `dora`): a missing core table is an error, a missing
/// optional table or column skips its metric.
pub fn install_preset(preset: &str, schema: &str) -> Outcome<Vec<Installed>> {
    let presets::Preset {
        schema,
        metrics,
        needs,
    } = presets::preset(preset, schema)?;
    let schema = schema.as_str();
    if !catalog::schema_exists(schema) {
        return Err(catalog::no_such_schema(schema)
            .hint("pass the schema that holds profiles, posts and comments as source_schema"));
    }
    for m in metrics.iter().filter(|m| m.core) {
        let Some(table) = m.args.source_table.as_deref() else {
            continue;
        };
        if !catalog::readable_relation_exists(schema, table) {
            return Err(Problem::new(
                SqlState::UndefinedTable,
                format!(
                    "preset \"{preset}\" needs table {}",
                    crate::common::ident::qualified(schema, table)
                ),
            )
            .hint(needs));
        }
    }
    let mut out = Vec::new();
    for m in metrics {
        let status = match missing_part(schema, &m.args) {
            Some(reason) => reason,
            None if existing(&m.args.category).is_some() => "already defined".to_string(),
            None => {
                define(&m.args, false)?;
                "defined".to_string()
            }
        };
        out.push(Installed {
            category: m.args.category,
            kind: m.args.kind,
            status,
        });
    }
    Ok(out)
}

/// Why a preset metric cannot be defined here (`skipped: ...`), if it cannot.
fn missing_part(schema: &str, args: &MetricArgs) -> Option<String> {
    let time_column = args.time_column.as_deref().unwrap_or("created_at");
    match (
        &args.source_table,
        &args.value_column,
        &args.numerator,
        &args.denominator,
    ) {
        (Some(t), _, _, _) if !catalog::readable_relation_exists(schema, t) => {
            Some(format!("skipped: no table {schema}.{t}"))
        }
        (Some(t), _, _, _) if !catalog::column_exists(schema, t, time_column) => {
            Some(format!("skipped: no column {t}.{time_column}"))
        }
        (Some(t), Some(c), _, _) if !catalog::column_exists(schema, t, c) => {
            Some(format!("skipped: no column {t}.{c}"))
        }
        (None, _, Some(n), Some(d)) if existing(n).is_none() || existing(d).is_none() => {
            Some(format!("skipped: needs {n} and {d}"))
        }
        _ => None,
    }
}

/// Lets `owner`, whose rights compute a metric over its relation, call the sketch aggregate
/// (`metrics._distinct_sketch`, with USAGE on the schema to name it): the one thing in schema
/// metrics a source owner is given. Superusers and roles that already may are left alone.
pub fn allow_sketch(owner: pg_sys::Oid) {
    let allowed = spi::exists(
        "SELECT r.rolsuper OR (pg_catalog.has_schema_privilege(r.oid, 'metrics', 'USAGE')
                AND pg_catalog.has_function_privilege(r.oid, 'metrics._distinct_sketch(bigint)', 'EXECUTE'))
         FROM pg_catalog.pg_roles AS r WHERE r.oid = $1",
        &[owner.into()],
    );
    if allowed {
        return;
    }
    let role = spi::value::<String>(
        "SELECT pg_catalog.quote_ident(rolname) FROM pg_catalog.pg_roles WHERE oid = $1",
        &[owner.into()],
    )
    .expect("the owner of a relation exists");
    spi::run(&format!("GRANT USAGE ON SCHEMA metrics TO {role}"), &[]);
    spi::run(
        &format!("GRANT EXECUTE ON FUNCTION metrics._distinct_sketch(bigint) TO {role}"),
        &[],
    );
}
