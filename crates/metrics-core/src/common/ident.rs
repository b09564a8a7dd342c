//! SQL identifiers: every schema, table and column name the extension writes into a statement
//! is quoted here, always, so user text never becomes SQL any other way.

/// Quotes an identifier, always: `posts` -> `"posts"`, `a"b` -> `"a""b"`.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A schema-qualified name, both parts quoted: `"public"."posts"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// The `pg_class.relkind`s a metric may read rows from: table, partitioned table, view,
/// materialized view, foreign table.
pub const READABLE_RELKINDS: [&str; 5] = ["r", "p", "v", "m", "f"];

/// Whether a `relkind` is one a metric may read rows from.
pub fn is_readable_relkind(relkind: &str) -> bool {
    READABLE_RELKINDS.contains(&relkind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted() {
        assert_eq!(quote_ident("posts"), "\"posts\"");
        assert_eq!(quote_ident("My Table"), "\"My Table\"");
        assert_eq!(
            quote_ident("x\"; DROP TABLE t; --"),
            "\"x\"\"; DROP TABLE t; --\""
        );
        assert_eq!(qualified("we\"ird", "t"), "\"we\"\"ird\".\"t\"");
    }

    #[test]
    fn readable_relkinds() {
        for k in ["r", "p", "v", "m", "f"] {
            assert!(is_readable_relkind(k), "{k}");
        }
        for k in ["i", "S", "c", "t", "I", ""] {
            assert!(!is_readable_relkind(k), "{k}");
        }
    }
}
