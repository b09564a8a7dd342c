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
