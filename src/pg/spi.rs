//! Running SQL through SPI, with `$n` parameters, by the snapshot rule of the function that
//! runs it, as PL/pgSQL does:
//!
//! - `stable`: for STABLE functions. Read-only, with the snapshot of the calling statement,
//!   so a query sees the database as the caller's statement does.
//! - `volatile`: for volatile functions. Read-write, every statement with a fresh snapshot
//!   that sees the function's own earlier writes (and, inside a subtransaction, what the
//!   subtransaction wrote). pgrx's own choice would read with the statement's snapshot there.
//!
//! An SPI error here is a bug in our SQL, not bad input: it is raised as an internal error.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiHeapTupleData, SpiResult, SpiTupleTable};

use crate::pg::raise::OrRaise;

/// Column `i` of a result row that is never NULL (a NOT NULL column, a `coalesce`, an
/// `EXISTS`): a NULL there means our SQL or the catalog is broken, and is not read as a
/// default.
pub fn not_null<T: FromDatum + IntoDatum>(row: &SpiHeapTupleData, i: usize) -> SpiResult<T> {
    Ok(row.get::<T>(i)?.unwrap_or_else(|| {
        panic!("metrics: column {i} of a result row is NULL, which it never is")
    }))
}

/// Maps every row of a result.
fn mapped<T>(
    table: SpiTupleTable,
    map: impl Fn(&SpiHeapTupleData) -> SpiResult<T>,
) -> SpiResult<Vec<T>> {
    table.map(|row| map(&row)).collect()
}

/// For STABLE functions: read-only, the calling statement's snapshot.
pub mod stable {
    use super::*;

    /// Runs a query and maps every row.
    pub fn rows<T>(
        sql: &str,
        args: &[DatumWithOid],
        map: impl Fn(&SpiHeapTupleData) -> SpiResult<T>,
    ) -> Vec<T> {
        Spi::connect(|client| mapped(client.select(sql, None, args)?, map)).or_raise()
    }

    /// The first column of the first row (`None` for no row or NULL).
    pub fn value<T: FromDatum + IntoDatum>(sql: &str, args: &[DatumWithOid]) -> Option<T> {
        rows(sql, args, |row| row.get::<T>(1))
            .into_iter()
            .next()
            .flatten()
    }

    std::thread_local! {
        /// The plans `rows_kept` prepared in this backend, by statement text. PostgreSQL's
        /// plan cache revalidates them (after DDL, for another role under row-level
        /// security, another search_path), so keeping them is only a saving.
        static KEPT: std::cell::RefCell<std::collections::HashMap<String, pgrx::spi::OwnedPreparedStatement>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }

    /// `rows`, with the statement prepared once per backend and kept: for the statements of
    /// the read API, run on every dashboard request, whose parsing and planning cost about as
    /// much as running them. `sql` must be one of a fixed set of texts (never built from
    /// values), and every call must give the same argument types.
    pub fn rows_kept<T>(
        sql: &str,
        args: &[DatumWithOid],
        map: impl Fn(&SpiHeapTupleData) -> SpiResult<T>,
    ) -> Vec<T> {
        Spi::connect(|client| {
            let cached = KEPT.with(|kept| kept.borrow().contains_key(sql));
            if !cached {
                let types: Vec<pgrx::PgOid> =
                    args.iter().map(|a| pgrx::PgOid::from(a.oid())).collect();
                let plan = client.prepare(sql, &types)?.keep();
                KEPT.with(|kept| kept.borrow_mut().insert(sql.to_string(), plan));
            }
            KEPT.with(|kept| {
                let kept = kept.borrow();
                let plan = kept.get(sql).expect("the plan was just kept");
                mapped(client.select(plan, None, args)?, map)
            })
        })
        .or_raise()
    }

    /// `value` through a kept plan (`rows_kept`).
    pub fn value_kept<T: FromDatum + IntoDatum>(sql: &str, args: &[DatumWithOid]) -> Option<T> {
        rows_kept(sql, args, |row| row.get::<T>(1))
            .into_iter()
            .next()
            .flatten()
    }
}

/// For volatile functions: read-write, a fresh snapshot for every statement.
pub mod volatile {
    use super::*;

    /// Runs a statement (that may write) and maps every row it returns.
    pub fn rows<T>(
        sql: &str,
        args: &[DatumWithOid],
        map: impl Fn(&SpiHeapTupleData) -> SpiResult<T>,
    ) -> Vec<T> {
        Spi::connect_mut(|client| mapped(client.update(sql, None, args)?, map)).or_raise()
    }

    /// The first column of the first row (`None` for no row or NULL).
    pub fn value<T: FromDatum + IntoDatum>(sql: &str, args: &[DatumWithOid]) -> Option<T> {
        rows(sql, args, |row| row.get::<T>(1))
            .into_iter()
            .next()
            .flatten()
    }

    /// Whether a `SELECT EXISTS (...)` is true.
    pub fn exists(sql: &str, args: &[DatumWithOid]) -> bool {
        value::<bool>(sql, args) == Some(true)
    }

    /// Runs a statement that may write, ignoring its rows.
    pub fn run(sql: &str, args: &[DatumWithOid]) {
        Spi::connect_mut(|client| client.update(sql, None, args).map(|_| ())).or_raise()
    }
}
