//! The catalog, as metric definitions need it: a source relation, its columns and their
//! types, whether the caller may read it, and quick probes of what exists. Names are taken
//! literally (as `quote_ident` would write them); a near miss in case gets a hint.

use pgrx::pg_sys;

use crate::common::ident::{is_readable_relkind, qualified, READABLE_RELKINDS};
use crate::common::problem::{Outcome, Problem, SqlState};
use crate::pg::spi::{not_null, volatile as spi};
use crate::snapshots::kind::Kind;
use crate::snapshots::statements::{TimeType, ValueHash};

/// A relation a metric may read: a table, partitioned table, view, materialized view or
/// foreign table.
#[derive(Debug, Clone)]
pub struct Relation {
    pub oid: pg_sys::Oid,
    pub schema: String,
    pub name: String,
    pub owner: pg_sys::Oid,
}

impl Relation {
    pub fn display(&self) -> String {
        qualified(&self.schema, &self.name)
    }
}

/// The relation kinds a metric may read, as a `text[]` parameter.
fn readable_relkinds() -> Vec<String> {
    READABLE_RELKINDS.map(str::to_string).to_vec()
}

pub fn schema_exists(schema: &str) -> bool {
    spi::exists(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
        &[schema.into()],
    )
}

/// Whether `schema.table` is a relation a metric may read.
pub fn readable_relation_exists(schema: &str, table: &str) -> bool {
    spi::exists(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind::text = ANY ($3))",
        &[schema.into(), table.into(), readable_relkinds().into()],
    )
}

/// Whether `schema.table` has a (live) column `column`.
pub fn column_exists(schema: &str, table: &str, column: &str) -> bool {
    spi::exists(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped)",
        &[schema.into(), table.into(), column.into()],
    )
}

/// The relation `schema.table`, if it is one a metric may read.
pub fn relation(schema: &str, table: &str) -> Outcome<Relation> {
    if !schema_exists(schema) {
        return Err(no_such_schema(schema));
    }
    let found = spi::rows(
        "SELECT c.oid, c.relkind::text, c.relowner
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = $2",
        &[schema.into(), table.into()],
        |row| {
            Ok((
                not_null::<pg_sys::Oid>(row, 1)?,
                not_null::<String>(row, 2)?,
                not_null::<pg_sys::Oid>(row, 3)?,
            ))
        },
    );
    let Some((oid, relkind, owner)) = found.into_iter().next() else {
        return Err(no_such_relation(schema, table));
    };
    if !is_readable_relkind(&relkind) {
        return Err(Problem::new(
            SqlState::WrongObjectType,
            format!(
                "{} is not a table, view, materialized view or foreign table",
                qualified(schema, table)
            ),
        )
        .hint("metrics read rows from a relation; pass the table the rows live in"));
    }
    Ok(Relation {
        oid,
        schema: schema.to_string(),
        name: table.to_string(),
        owner,
    })
}

/// The error for a source schema that does not exist.
pub fn no_such_schema(schema: &str) -> Problem {
    Problem::new(
        SqlState::InvalidSchemaName,
        format!("schema \"{schema}\" does not exist"),
    )
    .hint("pass source_schema with the schema that holds the table (names are case-sensitive)")
}

/// The error for a relation that does not exist, with a did-you-mean for a case mismatch.
fn no_such_relation(schema: &str, table: &str) -> Problem {
    let near = spi::value::<String>(
        "SELECT c.relname::text FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND lower(c.relname) = lower($2) AND c.relkind::text = ANY ($3)
         ORDER BY c.relname LIMIT 1",
        &[schema.into(), table.into(), readable_relkinds().into()],
    );
    let hint = match near {
        Some(n) => format!("names are case-sensitive: did you mean \"{n}\"?"),
        None => format!("create the table first, or pass the schema it lives in (looked in schema \"{schema}\")"),
    };
    Problem::new(
        SqlState::UndefinedTable,
        format!("relation {} does not exist", qualified(schema, table)),
    )
    .hint(hint)
}

/// A column of a relation, with its type resolved through domains.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub base_type: pg_sys::Oid,
    pub type_name: String,
}

pub fn column(rel: &Relation, name: &str) -> Outcome<Column> {
    let found = spi::rows(
        "SELECT a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod)
         FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = $1 AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
        &[rel.oid.into(), name.into()],
        |row| {
            Ok((
                not_null::<pg_sys::Oid>(row, 1)?,
                not_null::<String>(row, 2)?,
            ))
        },
    );
    match found.into_iter().next() {
        Some((typ, type_name)) => Ok(Column {
            name: name.to_string(),
            base_type: unsafe { pg_sys::getBaseType(typ) },
            type_name,
        }),
        None => {
            let columns = spi::value::<String>(
                "SELECT string_agg(pg_catalog.quote_ident(attname), ', ' ORDER BY attnum)
                 FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped",
                &[rel.oid.into()],
            )
            .unwrap_or_default();
            Err(Problem::new(
                SqlState::UndefinedColumn,
                format!(
                    "column \"{name}\" of relation {} does not exist",
                    rel.display()
                ),
            )
            .detail(format!("Its columns are: {columns}."))
            .hint("column names are case-sensitive"))
        }
    }
}

/// The time column decides which day a row belongs to.
pub fn time_type(rel: &Relation, col: &Column) -> Outcome<TimeType> {
    match col.base_type {
        pg_sys::TIMESTAMPTZOID => Ok(TimeType::Timestamptz),
        pg_sys::TIMESTAMPOID => Ok(TimeType::Timestamp),
        pg_sys::DATEOID => Ok(TimeType::Date),
        _ => Err(Problem::new(
            SqlState::DatatypeMismatch,
            format!(
                "time column \"{}\" of {} has type {}",
                col.name,
                rel.display(),
                col.type_name
            ),
        )
        .hint("the time column must be timestamptz, timestamp or date")),
    }
}

/// Averages and percentiles need a number (a percentile ranks it as a double precision, as
/// `percentile_cont` does).
pub fn check_numeric(rel: &Relation, col: &Column, kind: Kind) -> Outcome<()> {
    const NUMERIC_TYPES: [pg_sys::Oid; 6] = [
        pg_sys::INT2OID,
        pg_sys::INT4OID,
        pg_sys::INT8OID,
        pg_sys::FLOAT4OID,
        pg_sys::FLOAT8OID,
        pg_sys::NUMERICOID,
    ];
    if NUMERIC_TYPES.contains(&col.base_type) {
        return Ok(());
    }
    Err(Problem::new(
        SqlState::DatatypeMismatch,
        format!(
            "value column \"{}\" of {} has type {}, which cannot be {}",
            col.name,
            rel.display(),
            col.type_name,
            if kind == Kind::Percentile {
                "ranked as a number"
            } else {
                "averaged"
            }
        ),
    )
    .hint(format!(
        "{} metrics need a smallint, integer, bigint, real, double precision or numeric column",
        kind.as_str()
    )))
}

/// Counting distinct values needs an ordering on the type (as `count(DISTINCT ...)` sorts).
pub fn check_sortable(rel: &Relation, col: &Column) -> Outcome<()> {
    let sortable = unsafe {
        let entry = pg_sys::lookup_type_cache(col.base_type, pg_sys::TYPECACHE_LT_OPR as i32);
        !entry.is_null() && (*entry).lt_opr != pg_sys::Oid::INVALID
    };
    if sortable {
        return Ok(());
    }
    Err(Problem::new(
        SqlState::UndefinedFunction,
        format!(
            "value column \"{}\" of {} has type {}, whose values cannot be compared",
            col.name,
            rel.display(),
            col.type_name
        ),
    )
    .hint(
        "count distinct values of a column with an ordering, e.g. a uuid, integer or text column",
    ))
}

/// How a column's values are hashed into a distinct-count sketch: by the type's extended
/// (64-bit) hash function when it is a built-in (named, as SQL can call it), through
/// `hash_record_extended` when it is not, and by the text when the type has none.
pub fn value_hash(col: &Column) -> ValueHash {
    let proc = unsafe {
        let entry =
            pg_sys::lookup_type_cache(col.base_type, pg_sys::TYPECACHE_HASH_EXTENDED_PROC as i32);
        if entry.is_null() {
            pg_sys::Oid::INVALID
        } else {
            (*entry).hash_extended_proc
        }
    };
    if proc == pg_sys::Oid::INVALID {
        return ValueHash::Text;
    }
    spi::value::<String>(
        "SELECT p.proname::text FROM pg_catalog.pg_proc AS p
         WHERE p.oid = $1 AND p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace",
        &[proc.into()],
    )
    .map(ValueHash::Function)
    .unwrap_or(ValueHash::Record)
}

/// The caller must be able to read the source: a metric must not reveal what its definer
/// cannot see.
pub fn check_readable(rel: &Relation, role: pg_sys::Oid, role_name: &str) -> Outcome<()> {
    let allowed = spi::exists(
        "SELECT pg_catalog.has_table_privilege($1, $2, 'SELECT')",
        &[role.into(), rel.oid.into()],
    );
    if allowed {
        return Ok(());
    }
    Err(Problem::new(
        SqlState::InsufficientPrivilege,
        format!("permission denied for relation {}", rel.display()),
    )
    .detail(format!(
        "Role \"{role_name}\" may not SELECT from it, so it may not define metrics over it."
    ))
    .hint("define the metric as a role that can read the table, or GRANT SELECT on it"))
}
