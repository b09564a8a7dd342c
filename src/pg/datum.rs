//! Conversions between PostgreSQL's dates, times and numerics and the plain values of
//! `metrics_core`: calendar dates, microseconds since the Unix epoch, numbers as text.

use pgrx::datum::{AnyNumeric, Date};
use pgrx::prelude::*;

use crate::common::calendar::{date_argument, from_pg_days, to_pg_days};
use crate::common::problem::required;
use crate::pg::raise::OrRaise;

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A calendar date as a PostgreSQL `date`.
pub fn pg_date(date: chrono::NaiveDate) -> Date {
    Date::saturating_from_raw(to_pg_days(date))
}

/// A PostgreSQL `date` as a calendar date (`None` for infinity).
pub fn naive_date(date: Date) -> Option<chrono::NaiveDate> {
    if date.is_finite() {
        from_pg_days(date.to_pg_epoch_days())
    } else {
        None
    }
}

/// A `date` column that holds a finite date (every date the extension stores).
pub fn stored_date(date: Date) -> chrono::NaiveDate {
    naive_date(date).unwrap_or_else(|| panic!("metrics: a stored date is {date:?}, not finite"))
}

/// A required `date` argument as a calendar date: not infinite, and inside the calendar the
/// extension computes with (`calendar::date_argument` says which limit it is beyond).
pub fn required_date(value: Option<Date>, name: &str) -> chrono::NaiveDate {
    let date = required(value, name).or_raise();
    date_argument(name, date.to_pg_epoch_days()).or_raise()
}

/// A time in microseconds since the Unix epoch as a `timestamptz` (an event's time or hour,
/// which `metrics_core` checked to lie near now).
pub fn timestamptz(unix_micros: i64) -> TimestampWithTimeZone {
    TimestampWithTimeZone::try_from(unix_micros - PG_EPOCH_OFFSET_MICROS)
        .unwrap_or_else(|_| panic!("metrics: {unix_micros} µs is not a valid timestamptz"))
}

/// A `timestamptz` in microseconds since the Unix epoch (+/-infinity saturate).
pub fn unix_micros(at: TimestampWithTimeZone) -> i64 {
    i64::from(at).saturating_add(PG_EPOCH_OFFSET_MICROS)
}

/// A `timestamptz` in microseconds since PostgreSQL's epoch, `None` for +/-infinity.
pub fn finite_micros(at: TimestampWithTimeZone) -> Option<i64> {
    (!at.is_infinity() && !at.is_neg_infinity()).then(|| at.into())
}

/// PostgreSQL's clock now, microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    unsafe { pg_sys::GetCurrentTimestamp() + PG_EPOCH_OFFSET_MICROS }
}

/// A `numeric` from the text PostgreSQL printed for one.
pub fn numeric(text: &str) -> AnyNumeric {
    AnyNumeric::try_from(text).unwrap_or_else(|_| panic!("metrics: {text:?} is not a numeric"))
}
