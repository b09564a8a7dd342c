//! What every subsystem shares: errors as data with their SQLSTATE (`problem`), calendar
//! days, ranges and periods (`calendar`), and quoting of SQL identifiers (`ident`).

pub mod calendar;
pub mod ident;
pub mod problem;
