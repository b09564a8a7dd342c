//! Metric filters: a boolean expression over the source relation's columns, checked by
//! PostgreSQL's own parser and analyzer and stored in the form PostgreSQL's deparser prints.
//!
//! A filter is accepted only when
//! - the text parses, inside `SELECT 1 FROM <relation> WHERE (<filter>)`, as exactly that
//!   statement shape (so `true) UNION SELECT ...` or `...; DROP ...` are refused);
//! - the text alone is one expression: `SELECT <filter>` parses as one target and nothing else,
//!   so text balanced only by the parentheses around it (`false) OR (true`) is refused;
//! - it references no relation but the source (no subqueries, CTEs or other tables);
//! - every function and operator it calls, casts included, is an immutable built-in of
//!   `pg_catalog`, and it uses no SQL value function (`current_date`, `current_user`) and no
//!   `reg*` type, so evaluating it reads the row in front of it and nothing else: not the
//!   clock, the session's settings or the catalog.
//!
//! An error PostgreSQL raises while checking that is not the filter's fault (a lock timeout,
//! a cancel) keeps its own SQLSTATE (`filter_policy::filter_error_state`).
//!
//! The stored text is the deparsed expression, fully parenthesised by PostgreSQL itself, which
//! is what lets `statements` embed it in a larger statement without changing its meaning.

use std::ffi::{c_void, CStr, CString};

use pgrx::pg_sys;
use pgrx::pg_sys::panic::{CaughtError, ErrorReportWithLevel};
use pgrx::prelude::*;
use pgrx::PgList;

use crate::common::ident::qualified;
use crate::common::problem::{Outcome, Problem, SqlState};
use crate::pg::catalog::Relation;
use crate::pg::raise::{report_of, sqlstate_text};
use crate::snapshots::filter_policy::{
    check_text, filter_error_state, reads_beyond_the_row, FILTER_HINT, IMMUTABLE_DETAIL,
    IMMUTABLE_HINT,
};

fn refuse(state: SqlState, message: String) -> Problem {
    Problem::new(state, message).hint(FILTER_HINT)
}

/// What the expression walk found that a filter may not contain.
#[derive(Default)]
struct Walk {
    bad_function: Option<pg_sys::Oid>,
    bad_node: Option<&'static str>,
    value_function: Option<&'static str>,
    catalog_type: Option<pg_sys::Oid>,
}

/// The types whose values are catalog lookups (`'posts'::regclass` reads pg_class, and so does
/// printing one): a filter over them would depend on the catalog at collection time.
const CATALOG_REFERENCE_TYPES: [pg_sys::Oid; 11] = [
    pg_sys::REGCLASSOID,
    pg_sys::REGCOLLATIONOID,
    pg_sys::REGCONFIGOID,
    pg_sys::REGDICTIONARYOID,
    pg_sys::REGNAMESPACEOID,
    pg_sys::REGOPERATOROID,
    pg_sys::REGOPEROID,
    pg_sys::REGPROCEDUREOID,
    pg_sys::REGPROCOID,
    pg_sys::REGROLEOID,
    pg_sys::REGTYPEOID,
];

#[pg_guard]
unsafe extern "C-unwind" fn check_function(func: pg_sys::Oid, context: *mut c_void) -> bool {
    unsafe {
        let builtin =
            pg_sys::get_func_namespace(func) == pg_sys::Oid::from(pg_sys::PG_CATALOG_NAMESPACE);
        let immutable = pg_sys::func_volatile(func) as u8 == pg_sys::PROVOLATILE_IMMUTABLE;
        if builtin && immutable {
            let name = pg_sys::get_func_name(func);
            let outside =
                !name.is_null() && reads_beyond_the_row(&CStr::from_ptr(name).to_string_lossy());
            if !outside {
                return false;
            }
        }
        (*(context as *mut Walk)).bad_function = Some(func);
        true
    }
}

/// The SQL spelling of a SQL value function: the time, the role or the database, all of
/// them mutable.
unsafe fn value_function_name(node: *mut pg_sys::Node) -> &'static str {
    use pg_sys::SQLValueFunctionOp::*;
    match unsafe { (*(node as *mut pg_sys::SQLValueFunction)).op } {
        SVFOP_CURRENT_DATE => "current_date",
        SVFOP_CURRENT_TIME | SVFOP_CURRENT_TIME_N => "current_time",
        SVFOP_CURRENT_TIMESTAMP | SVFOP_CURRENT_TIMESTAMP_N => "current_timestamp",
        SVFOP_LOCALTIME | SVFOP_LOCALTIME_N => "localtime",
        SVFOP_LOCALTIMESTAMP | SVFOP_LOCALTIMESTAMP_N => "localtimestamp",
        SVFOP_CURRENT_ROLE => "current_role",
        SVFOP_CURRENT_USER => "current_user",
        SVFOP_USER => "user",
        SVFOP_SESSION_USER => "session_user",
        SVFOP_CURRENT_CATALOG => "current_catalog",
        SVFOP_CURRENT_SCHEMA => "current_schema",
        _ => "a SQL value function",
    }
}

/// The `reg*` type (or array of one) an expression node has, if it has one. Only node types
/// `exprType` knows are asked (lists and CASE arms are not expressions of their own).
unsafe fn catalog_type(node: *mut pg_sys::Node) -> Option<pg_sys::Oid> {
    use pg_sys::NodeTag::*;
    unsafe {
        let typed = matches!(
            (*node).type_,
            T_Var
                | T_Const
                | T_FuncExpr
                | T_OpExpr
                | T_RelabelType
                | T_CoerceViaIO
                | T_ArrayCoerceExpr
                | T_ArrayExpr
                | T_CaseExpr
                | T_CoalesceExpr
                | T_MinMaxExpr
                | T_NullIfExpr
                | T_SubscriptingRef
                | T_CollateExpr
                | T_FieldSelect
        );
        if !typed {
            return None;
        }
        let ty = pg_sys::exprType(node);
        let element = pg_sys::get_element_type(ty);
        let base = if element == pg_sys::InvalidOid {
            ty
        } else {
            element
        };
        CATALOG_REFERENCE_TYPES.contains(&base).then_some(ty)
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn walk(node: *mut pg_sys::Node, context: *mut c_void) -> bool {
    unsafe {
        if node.is_null() {
            return false;
        }
        let refused = match (*node).type_ {
            pg_sys::NodeTag::T_SubLink => Some("subqueries"),
            pg_sys::NodeTag::T_Param => Some("parameters"),
            pg_sys::NodeTag::T_CoerceToDomain => Some("casts to domain types"),
            pg_sys::NodeTag::T_NextValueExpr => Some("sequence functions"),
            _ => None,
        };
        if let Some(what) = refused {
            (*(context as *mut Walk)).bad_node = Some(what);
            return true;
        }
        // Innermost first, so the refusal names what was written (now()), not the operator
        // around it (timestamptz - interval).
        if pg_sys::expression_tree_walker(node, Some(walk), context) {
            return true;
        }
        if (*node).type_ == pg_sys::NodeTag::T_SQLValueFunction {
            (*(context as *mut Walk)).value_function = Some(value_function_name(node));
            return true;
        }
        if let Some(ty) = catalog_type(node) {
            (*(context as *mut Walk)).catalog_type = Some(ty);
            return true;
        }
        pg_sys::check_functions_in_node(node, Some(check_function), context)
    }
}

#[cfg(any(feature = "pg13", feature = "pg14"))]
unsafe fn analyze(raw: *mut pg_sys::RawStmt, sql: &CStr) -> *mut pg_sys::Query {
    unsafe {
        pg_sys::parse_analyze(
            raw,
            sql.as_ptr(),
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
        )
    }
}

#[cfg(not(any(feature = "pg13", feature = "pg14")))]
unsafe fn analyze(raw: *mut pg_sys::RawStmt, sql: &CStr) -> *mut pg_sys::Query {
    unsafe {
        pg_sys::parse_analyze_fixedparams(
            raw,
            sql.as_ptr(),
            std::ptr::null(),
            0,
            std::ptr::null_mut(),
        )
    }
}

/// The raw statement must be `SELECT <one target> FROM <one relation> WHERE <expr>` and nothing else.
unsafe fn check_shape(list: *mut pg_sys::List) -> Result<*mut pg_sys::RawStmt, Problem> {
    unsafe {
        let statements = PgList::<pg_sys::RawStmt>::from_pg(list);
        let not_one = || {
            refuse(
                SqlState::SyntaxError,
                "filter is not a single boolean expression".to_string(),
            )
            .detail("It ends the expression early or adds clauses, statements or set operations.")
        };
        if statements.len() != 1 {
            return Err(not_one());
        }
        let raw = statements.get_ptr(0).ok_or_else(not_one)?;
        let stmt = (*raw).stmt;
        if stmt.is_null() || (*stmt).type_ != pg_sys::NodeTag::T_SelectStmt {
            return Err(not_one());
        }
        let select = stmt as *mut pg_sys::SelectStmt;
        let s = &*select;
        let len = |l: *mut pg_sys::List| PgList::<c_void>::from_pg(l).len();
        let plain = without_other_clauses(s)
            && len(s.targetList) == 1
            && len(s.fromClause) == 1
            && !s.whereClause.is_null();
        if plain {
            Ok(raw)
        } else {
            Err(not_one())
        }
    }
}

/// Checks `filter` against `rel` and returns its normalised text.
///
/// Must run where an error can abort the transaction or be rolled back by a subtransaction:
/// PostgreSQL errors from the parser that are the filter's fault are caught here only to be
/// re-raised as a `Problem`; any other error (a lock timeout, a cancel) is re-thrown as it is.
pub fn normalize(rel: &Relation, filter: &str) -> Outcome<String> {
    check_text(filter)?;
    let sql = CString::new(format!(
        "SELECT 1 FROM {} WHERE ({filter})",
        qualified(&rel.schema, &rel.name)
    ))
    .expect("no NUL");
    catching_filter_faults(
        || unsafe {
            let raw = check_shape(pg_sys::raw_parser(
                sql.as_ptr(),
                pg_sys::RawParseMode::RAW_PARSE_DEFAULT,
            ))?;
            check_alone(filter)?;
            let query = &*analyze(raw, &sql);
            check_query(query, rel)?;
            let quals = (*query.jointree).quals;
            check_calls(quals)?;
            check_immutable(quals)?;
            Ok(deparse(quals, rel))
        },
        |report, state| Problem {
            state,
            message: format!("invalid filter: {}", report.message()),
            detail: report.detail().map(str::to_string),
            hint: Some(FILTER_HINT.to_string()),
        },
    )
}

/// Runs `work`; an error PostgreSQL raises that is the filter's fault (`filter_error_state`)
/// comes back as the `Problem` that `explain` makes of it, with the state the filter's caller
/// gets. Any other error, and a Rust panic, is re-thrown unchanged, with its own SQLSTATE.
fn catching_filter_faults<R>(
    work: impl FnOnce() -> Outcome<R> + std::panic::UnwindSafe,
    explain: impl Fn(&ErrorReportWithLevel, SqlState) -> Problem + std::panic::RefUnwindSafe,
) -> Outcome<R> {
    PgTryBuilder::new(work)
        .catch_others(|caught| {
            if matches!(caught, CaughtError::RustPanic { .. }) {
                caught.rethrow()
            }
            let report = report_of(&caught);
            match filter_error_state(&sqlstate_text(report.sql_error_code())) {
                Some(state) => Err(explain(report, state)),
                None => caught.rethrow(),
            }
        })
        .execute()
}

/// The filter's text on its own must be one expression: `SELECT <filter>` parses as a single
/// unnamed target and nothing else. Text such as `id > 0) OR (true` is balanced only by the
/// parentheses `normalize` puts around it, and is refused.
unsafe fn check_alone(filter: &str) -> Outcome<()> {
    let sql = CString::new(format!("SELECT {filter}")).expect("no NUL");
    let unbalanced = |why: String| {
        refuse(
            SqlState::SyntaxError,
            "filter is not one balanced expression on its own".to_string(),
        )
        .detail(format!("Read alone, the text {why}: it closes a parenthesis it did not open, leaves one open, or adds clauses, so it is one expression only inside the parentheses the extension adds."))
    };
    let list = catching_filter_faults(
        || unsafe {
            Ok(pg_sys::raw_parser(
                sql.as_ptr(),
                pg_sys::RawParseMode::RAW_PARSE_DEFAULT,
            ))
        },
        |report, _| unbalanced(format!("does not parse ({})", report.message())),
    )?;
    if unsafe { one_plain_target(list) } {
        Ok(())
    } else {
        Err(unbalanced("is not a single expression".to_string()))
    }
}

/// Whether a raw parse is exactly `SELECT <expression>`: one statement, one target without a
/// name, no FROM, WHERE or any other clause.
unsafe fn one_plain_target(list: *mut pg_sys::List) -> bool {
    unsafe {
        let statements = PgList::<pg_sys::RawStmt>::from_pg(list);
        let Some(raw) = statements.get_ptr(0).filter(|_| statements.len() == 1) else {
            return false;
        };
        let stmt = (*raw).stmt;
        if stmt.is_null() || (*stmt).type_ != pg_sys::NodeTag::T_SelectStmt {
            return false;
        }
        let s = &*(stmt as *mut pg_sys::SelectStmt);
        let targets = PgList::<pg_sys::ResTarget>::from_pg(s.targetList);
        let unnamed = targets.len() == 1
            && targets
                .get_ptr(0)
                .is_some_and(|t| (*t).name.is_null() && (*t).indirection.is_null());
        unnamed && without_other_clauses(s) && s.fromClause.is_null() && s.whereClause.is_null()
    }
}

/// Whether a parsed SELECT is a plain one: no set operation, DISTINCT, INTO, GROUP BY,
/// HAVING, WINDOW, VALUES, ORDER BY, LIMIT/OFFSET, locking or WITH. (Its target list, FROM
/// and WHERE are for the caller to check.)
fn without_other_clauses(s: &pg_sys::SelectStmt) -> bool {
    s.op == pg_sys::SetOperation::SETOP_NONE
        && s.distinctClause.is_null()
        && s.intoClause.is_null()
        && s.groupClause.is_null()
        && s.havingClause.is_null()
        && s.windowClause.is_null()
        && s.valuesLists.is_null()
        && s.sortClause.is_null()
        && s.limitOffset.is_null()
        && s.limitCount.is_null()
        && s.lockingClause.is_null()
        && s.withClause.is_null()
}

/// The analyzed statement reads only `rel`, one row at a time: no CTE, set operation,
/// aggregate, window function, set-returning function, subquery or other relation.
unsafe fn check_query(q: &pg_sys::Query, rel: &Relation) -> Outcome<()> {
    unsafe {
        let range_table = PgList::<pg_sys::RangeTblEntry>::from_pg(q.rtable);
        let single_source = range_table.len() == 1
            && range_table
                .get_ptr(0)
                .is_some_and(|rte| (*rte).relid == rel.oid);
        if q.commandType != pg_sys::CmdType::CMD_SELECT
            || !q.cteList.is_null()
            || !q.setOperations.is_null()
            || q.hasAggs
            || q.hasWindowFuncs
            || q.hasTargetSRFs
            || !single_source
        {
            return Err(refuse(
                SqlState::FeatureNotSupported,
                format!("filter may only read columns of {}", rel.display()),
            ));
        }
        if q.hasSubLinks {
            return Err(refuse(
                SqlState::FeatureNotSupported,
                "filter may not contain subqueries".to_string(),
            ));
        }
        Ok(())
    }
}

/// Every function and operator the expression calls, casts included, is an immutable
/// built-in that reads nothing but the row, and no node reaches elsewhere (subqueries,
/// parameters, domains, sequences, SQL value functions, `reg*` types).
unsafe fn check_calls(quals: *mut pg_sys::Node) -> Outcome<()> {
    unsafe {
        let mut found = Walk::default();
        if !walk(quals, &mut found as *mut Walk as *mut c_void) {
            return Ok(());
        }
        let text = |s: *const std::ffi::c_char| CStr::from_ptr(s).to_string_lossy().into_owned();
        if let Some(func) = found.bad_function {
            let name = text(pg_sys::format_procedure(func));
            return Err(refuse(SqlState::FeatureNotSupported, format!("filter may not call {name}"))
                .detail(format!("{name} is called by the filter, directly or through a cast or operator. {IMMUTABLE_DETAIL} Nor may they read settings, statistics or other tables."))
                .hint(IMMUTABLE_HINT));
        }
        if let Some(name) = found.value_function {
            return Err(refuse(
                SqlState::FeatureNotSupported,
                format!("filter may not use {name}"),
            )
            .detail(format!(
                "{name} depends on when or by whom the filter is evaluated. {IMMUTABLE_DETAIL}"
            ))
            .hint(IMMUTABLE_HINT));
        }
        if let Some(ty) = found.catalog_type {
            let name = text(pg_sys::format_type_be(ty));
            return Err(refuse(
                SqlState::FeatureNotSupported,
                format!("filter may not use the type {name}"),
            )
            .detail(format!("A {name} value is a catalog lookup: it would be resolved against the catalog at collection time. {IMMUTABLE_DETAIL}"))
            .hint("compare plain columns and constants; to count rows of some relations, store their names or oids in a column"));
        }
        let what = found.bad_node.unwrap_or("this construct");
        Err(refuse(
            SqlState::FeatureNotSupported,
            format!("filter may not contain {what}"),
        ))
    }
}

/// PostgreSQL's own verdict on the checked expression: nothing in it is mutable. The walk of
/// `check_calls` names what it refuses; this catches whatever it might not know of.
unsafe fn check_immutable(quals: *mut pg_sys::Node) -> Outcome<()> {
    if unsafe { pg_sys::contain_mutable_functions(quals) } {
        return Err(refuse(
            SqlState::FeatureNotSupported,
            "filter is not immutable: its value could change with the time, the settings or the catalog".to_string(),
        )
        .detail(IMMUTABLE_DETAIL)
        .hint(IMMUTABLE_HINT));
    }
    Ok(())
}

/// The expression as PostgreSQL's deparser prints it, fully parenthesised.
unsafe fn deparse(quals: *mut pg_sys::Node, rel: &Relation) -> String {
    unsafe {
        let rel_name = CString::new(rel.name.clone()).expect("no NUL");
        let context = pg_sys::deparse_context_for(rel_name.as_ptr(), rel.oid);
        let text = pg_sys::deparse_expression(quals, context, false, false);
        CStr::from_ptr(text).to_string_lossy().into_owned()
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use super::normalize;
    use crate::common::problem::SqlState;
    use crate::pg::catalog;

    #[pg_test]
    fn normalising_twice_changes_nothing() {
        Spi::run("CREATE TABLE public.f_posts (id int, status text, length int, tags text[], created_at timestamptz)")
            .unwrap();
        let rel = catalog::relation("public", "f_posts").unwrap();
        for filter in [
            "status = 'published'",
            "length > 500 AND status IN ('a', 'b') OR NOT (id < 3)",
            "tags @> ARRAY['x'] AND created_at > '2025-01-01'",
            "lower(status) LIKE 'pub%' AND length BETWEEN 1 AND 10",
            "coalesce(length, 0) + 1 > 2 AND status IS NOT NULL",
        ] {
            let once = normalize(&rel, filter).unwrap();
            assert_eq!(normalize(&rel, &once).unwrap(), once, "{filter}");
        }
    }

    #[pg_test]
    fn a_parenthesis_trick_is_not_one_expression() {
        Spi::run("CREATE TABLE public.f_posts (id int, created_at timestamptz)").unwrap();
        let rel = catalog::relation("public", "f_posts").unwrap();
        for filter in [
            "false) OR (true",
            "id > 0) OR (true",
            "(id > 0",
            "id > 0 --",
        ] {
            let p = normalize(&rel, filter).unwrap_err();
            assert_eq!(p.state, SqlState::SyntaxError, "{filter}: {p}");
        }
        assert_eq!(
            normalize(&rel, "(id > 0) OR (true)").unwrap(),
            "((id > 0) OR true)"
        );
    }

    #[pg_test]
    fn what_depends_on_the_time_or_the_catalog_is_refused() {
        Spi::run("CREATE TABLE public.f_posts (id int, created_at timestamptz, owner oid)")
            .unwrap();
        let rel = catalog::relation("public", "f_posts").unwrap();
        for (filter, named) in [
            ("created_at > now() - interval '1 day'", "now()"),
            ("created_at::date = '2025-01-01'", "date("),
            ("created_at < current_timestamp", "current_timestamp"),
            ("current_date > '2025-01-01'", "current_date"),
            ("current_user = 'x'", "current_user"),
            ("localtime > '10:00'", "localtime"),
            ("owner = 'f_posts'::regclass", "regclass"),
            ("owner::regrole::text = 'x'", "regrole"),
            ("created_at::text LIKE '2025%'", "timestamptz_out"),
        ] {
            let p = normalize(&rel, filter).unwrap_err();
            assert_eq!(p.state, SqlState::FeatureNotSupported, "{filter}: {p}");
            assert!(p.message.contains(named), "{filter}: {p}");
            assert!(p.hint.is_some() && p.detail.is_some(), "{filter}");
        }
        assert!(normalize(&rel, "created_at >= '2025-01-01 00:00+00' AND id % 2 = 0").is_ok());
    }
}
