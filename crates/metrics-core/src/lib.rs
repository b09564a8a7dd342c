//! The pure logic of the `metrics` PostgreSQL extension: no PostgreSQL types, no pgrx, so
//! every rule here is unit-tested with a plain `cargo test -p metrics-core` in milliseconds,
//! and the compiler, not a comment, keeps it that way.
//!
//! The folders are the extension's subsystems, as in the extension crate's `src/`, which is
//! the PostgreSQL face of this one (SPI, catalog lookups, shared memory, `#[pg_extern]`s):
//! - `common`: errors as data (`Problem`, SQLSTATEs), calendar days and periods, identifiers;
//! - `snapshots`: metric kinds and definitions, presets, the set-based statements that compute
//!   a day range, and the roll-up of sealed days into weeks and months;
//! - `requests`: request and operation events, JSON batches, hourly buckets and the mergeable
//!   latency sketch with its encoding;
//! - `jobs`: the pg_cron schedule check;
//! - `maintenance`: retention policies, the arithmetic of compaction, and health checks.

pub mod common;
pub mod github;
pub mod jobs;
pub mod maintenance;
pub mod readmodel;
pub mod requests;
pub mod snapshots;
