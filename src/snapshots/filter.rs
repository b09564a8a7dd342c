//! Metric filters: a boolean expression over the source relation's columns, checked by
//! PostgreSQL's own parser and analyzer and stored in the form PostgreSQL's deparser prints.
//!
//! A filter is accepted only when
//! - the text parses, inside `SELECT 1 FROM <relation> WHERE (<filter>)`, as exactly that
//!   statement shape (so `true) UNION SELECT ...` or `...; DROP ...` are refused);
//! - it references no relation but the source (no subqueries, CTEs or other tables);
//! - every function and operator it calls is a non-volatile built-in of `pg_catalog`, so
//!   evaluating it can only read the row in front of it.
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
    check_text, filter_error_state, reads_beyond_the_row, FILTER_HINT,
};

fn refuse(state: SqlState, message: String) -> Problem {
    Problem::new(state, message).hint(FILTER_HINT)
}

/// What the expression walk found that a filter may not contain.
#[derive(Default)]
struct Walk {
    bad_function: Option<pg_sys::Oid>,
    bad_node: Option<&'static str>,
}

#[pg_guard]
unsafe extern "C-unwind" fn check_function(func: pg_sys::Oid, context: *mut c_void) -> bool {
    unsafe {
        let builtin =
            pg_sys::get_func_namespace(func) == pg_sys::Oid::from(pg_sys::PG_CATALOG_NAMESPACE);
        let volatile = pg_sys::func_volatile(func) as u8 == pg_sys::PROVOLATILE_VOLATILE;
        if builtin && !volatile {
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
        if pg_sys::check_functions_in_node(node, Some(check_function), context) {
            return true;
        }
        pg_sys::expression_tree_walker(node, Some(walk), context)
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
        let plain = s.op == pg_sys::SetOperation::SETOP_NONE
            && s.distinctClause.is_null()
            && s.intoClause.is_null()
            && len(s.targetList) == 1
            && len(s.fromClause) == 1
            && !s.whereClause.is_null()
            && s.groupClause.is_null()
            && s.havingClause.is_null()
            && s.windowClause.is_null()
            && s.valuesLists.is_null()
            && s.sortClause.is_null()
            && s.limitOffset.is_null()
            && s.limitCount.is_null()
            && s.lockingClause.is_null()
            && s.withClause.is_null();
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
            let query = &*analyze(raw, &sql);
            check_query(query, rel)?;
            let quals = (*query.jointree).quals;
            check_calls(quals)?;
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

/// Every function and operator the expression calls is a non-volatile built-in that reads
/// nothing but the row, and no node reaches elsewhere (subqueries, parameters, domains,
/// sequences).
unsafe fn check_calls(quals: *mut pg_sys::Node) -> Outcome<()> {
    unsafe {
        let mut found = Walk::default();
        if !walk(quals, &mut found as *mut Walk as *mut c_void) {
            return Ok(());
        }
        if let Some(func) = found.bad_function {
            let name = CStr::from_ptr(pg_sys::format_procedure(func))
                .to_string_lossy()
                .into_owned();
            return Err(refuse(SqlState::FeatureNotSupported, format!("filter may not call {name}"))
                .detail("Filters may call only built-in functions and operators that are not volatile and read nothing but the row (no other tables, settings, statistics or catalog lookups).")
                .hint("rewrite the condition with built-in operators and functions"));
        }
        let what = found.bad_node.unwrap_or("this construct");
        Err(refuse(
            SqlState::FeatureNotSupported,
            format!("filter may not contain {what}"),
        ))
    }
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
    use crate::pg::catalog;

    #[pg_test]
    fn normalising_twice_changes_nothing() {
        Spi::run("CREATE TABLE public.f_posts (id int, status text, length int, tags text[], created_at timestamptz)")
            .unwrap();
        let rel = catalog::relation("public", "f_posts").unwrap();
        for filter in [
            "status = 'published'",
            "length > 500 AND status IN ('a', 'b') OR NOT (id < 3)",
            "false) OR (true",
            "tags @> ARRAY['x'] AND created_at > '2025-01-01'",
            "lower(status) LIKE 'pub%' AND length BETWEEN 1 AND 10",
            "coalesce(length, 0) + 1 > 2 AND status IS NOT NULL",
        ] {
            let once = normalize(&rel, filter).unwrap();
            assert_eq!(normalize(&rel, &once).unwrap(), once, "{filter}");
        }
    }

    #[pg_test]
    fn a_parenthesis_trick_is_one_expression() {
        Spi::run("CREATE TABLE public.f_posts (id int, created_at timestamptz)").unwrap();
        let rel = catalog::relation("public", "f_posts").unwrap();
        assert_eq!(
            normalize(&rel, "false) OR (true").unwrap(),
            "(false OR true)"
        );
    }
}
