//! Thin helpers over SPI: run a statement with `$n` parameters and map its rows.
//!
//! Like PL/pgSQL, volatile functions run every statement in read-write mode, with a fresh
//! snapshot that sees their own earlier writes (`select`, `update`, `value`, `run`), and
//! STABLE functions read in read-only mode (`read`, `read_value`). The distinction matters
//! inside subtransactions, where pgrx's own choice would read with the statement's snapshot.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiHeapTupleData, SpiResult};

use crate::pg::raise::OrRaise;

/// Runs a query from a STABLE function and maps every row.
pub fn read<T>(
    sql: &str,
    args: &[DatumWithOid],
    map: impl Fn(&SpiHeapTupleData) -> SpiResult<T>,
) -> Vec<T> {
    Spi::connect(|client| {
        client
            .select(sql, None, args)?
            .map(|row| map(&row))
            .collect::<SpiResult<Vec<T>>>()
    })
    .or_raise()
}

/// The first column of the first row, from a STABLE function.
pub fn read_value<T: FromDatum + IntoDatum>(sql: &str, args: &[DatumWithOid]) -> Option<T> {
    read(sql, args, |row| row.get::<T>(1))
        .into_iter()
        .next()
        .flatten()
}

/// Runs a query from a volatile function, seeing its earlier writes, and maps every row.
pub fn select<T>(
    sql: &str,
    args: &[DatumWithOid],
    map: impl Fn(&SpiHeapTupleData) -> SpiResult<T>,
) -> Vec<T> {
    update(sql, args, map)
}

/// Runs a statement that may write, and maps every returned row.
pub fn update<T>(
    sql: &str,
    args: &[DatumWithOid],
    map: impl Fn(&SpiHeapTupleData) -> SpiResult<T>,
) -> Vec<T> {
    Spi::connect_mut(|client| {
        client
            .update(sql, None, args)?
            .map(|row| map(&row))
            .collect::<SpiResult<Vec<T>>>()
    })
    .or_raise()
}

/// The first column of the first row, or `None` for no row or NULL.
pub fn value<T: FromDatum + IntoDatum>(sql: &str, args: &[DatumWithOid]) -> Option<T> {
    select(sql, args, |row| row.get::<T>(1))
        .into_iter()
        .next()
        .flatten()
}

/// Runs a statement that may write, ignoring its rows.
pub fn run(sql: &str, args: &[DatumWithOid]) {
    Spi::connect_mut(|client| client.update(sql, None, args).map(|_| ())).or_raise()
}

/// A calendar date as a PostgreSQL `date`.
pub fn pg_date(date: chrono::NaiveDate) -> pgrx::datum::Date {
    pgrx::datum::Date::saturating_from_raw(crate::common::calendar::to_pg_days(date))
}

/// A PostgreSQL `date` as a calendar date (`None` for infinity).
pub fn naive_date(date: pgrx::datum::Date) -> Option<chrono::NaiveDate> {
    if date.is_finite() {
        crate::common::calendar::from_pg_days(date.to_pg_epoch_days())
    } else {
        None
    }
}

/// A required, finite `date` argument as a calendar date.
pub fn required_date(value: Option<pgrx::datum::Date>, name: &str) -> chrono::NaiveDate {
    let date = crate::common::problem::required(value, name).or_raise();
    naive_date(date)
        .ok_or_else(|| {
            crate::common::problem::Problem::new(
                crate::common::problem::SqlState::DatetimeFieldOverflow,
                format!("{name} must be a finite date"),
            )
            .hint("pass a calendar date such as '2025-01-31'")
        })
        .or_raise()
}
