//! Which built-in functions a metric filter may call. PostgreSQL's parser decides what a
//! filter is (the extension's `snapshots::filter`); this is the rule it applies to every
//! function the parsed expression calls, beyond "a non-volatile built-in of pg_catalog", and
//! how the errors PostgreSQL raises while parsing a filter reach the caller.

use crate::common::problem::{Outcome, Problem, SqlState};

/// The hint of every refused filter.
pub const FILTER_HINT: &str =
    "a filter is one boolean expression over the source's columns, e.g. status = 'published' AND NOT is_spam";

/// What a filter's text must be before the parser sees it: free of NUL characters, which
/// PostgreSQL's C strings would cut it at.
pub fn check_text(filter: &str) -> Outcome<()> {
    if filter.contains('\0') {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            "filter contains a NUL character",
        )
        .hint(FILTER_HINT));
    }
    Ok(())
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

/// The hint of a filter refused for calling something whose value is not fixed by the row.
pub const IMMUTABLE_HINT: &str =
    "compare columns with constants, e.g. created_at >= '2025-01-01 00:00+00' rather than now() - interval '30 days'; the metric's day already bounds the rows";

/// Why a filter may only call immutable built-ins: a sealed value is final, so evaluating the
/// filter again (a recollection, another session) must give the same rows.
pub const IMMUTABLE_DETAIL: &str = "Filters may call only immutable built-in functions and operators, whose result depends on nothing but their arguments: not on the time, the session's settings (TimeZone, DateStyle, the role), the catalog or other tables. Otherwise a sealed value would depend on when and by whom it was collected.";

/// The SQLSTATE a filter's caller gets for an error PostgreSQL raised while parsing or
/// analysing it: syntax, unknown columns and functions and type errors keep their meaning;
/// reading another relation (42P01), an aggregate (42803) or a window function (42P20) is
/// what a filter may not do; another syntax or semantic error (class 42), a bad literal
/// (class 22) or a filter too large for the parser (class 54) is a bad value.
///
/// `None` for every other error: it is not the filter's fault (a lock timeout 55P03, a cancel
/// 57014, out of memory 53xxx, a deadlock 40P01, a lost connection 08xxx, a shutdown 57P01),
/// so it must reach the caller, and the collection log, with its own SQLSTATE.
pub fn filter_error_state(sqlstate: &str) -> Option<SqlState> {
    let state = match sqlstate {
        "42601" => SqlState::SyntaxError,
        "42703" => SqlState::UndefinedColumn,
        "42804" => SqlState::DatatypeMismatch,
        "42883" => SqlState::UndefinedFunction,
        "42P01" | "42803" | "42P20" | "0A000" => SqlState::FeatureNotSupported,
        _ if ["42", "22", "54"].contains(&sqlstate.get(..2).unwrap_or("")) => {
            SqlState::InvalidParameterValue
        }
        _ => return None,
    };
    Some(state)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_nul_cuts_no_filter_short() {
        assert!(check_text("status = 'a'").is_ok());
        let p = check_text("true\0 OR x").unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert_eq!(p.hint.as_deref(), Some(FILTER_HINT));
    }

    #[test]
    fn parser_errors_keep_their_meaning() {
        let state = |code| filter_error_state(code);
        assert_eq!(state("42601"), Some(SqlState::SyntaxError));
        assert_eq!(state("42703"), Some(SqlState::UndefinedColumn));
        assert_eq!(state("42803"), Some(SqlState::FeatureNotSupported));
        assert_eq!(state("42P01"), Some(SqlState::FeatureNotSupported));
        assert_eq!(state("22P02"), Some(SqlState::InvalidParameterValue));
        assert_eq!(state("42725"), Some(SqlState::InvalidParameterValue));
        assert_eq!(state("54001"), Some(SqlState::InvalidParameterValue));
    }

    #[test]
    fn failures_that_are_not_the_filters_keep_their_state() {
        for code in [
            "55P03", "57014", "53200", "53100", "40001", "40P01", "08006", "57P01", "57P02",
            "57P03", "58030", "XX000", "25P02", "",
        ] {
            assert_eq!(filter_error_state(code), None, "{code}");
        }
    }
}
