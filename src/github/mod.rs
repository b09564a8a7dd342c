//! Development metrics: GitHub events in, the DORA keys out, per environment.
//!
//! The pure model is `metrics_core::github`, re-exported here: payloads checked and
//! normalised into facts with their exactly-once keys (`event`, `archive`), the default
//! environment tiers (`environment`), the push-chain walk that says which deployment shipped
//! which change (`chain`) and the DORA clusters (`levels`). Its PostgreSQL face: writing the
//! raw events and the facts (`ingest`), recomputing the derived tables for what an event can
//! change (`derive`), the keys and their explanation (`read`), the settings (`settings`) and
//! the SQL functions (`api`). The rules of incidents, failures, rework and recovery are SQL
//! views (`sql/github/read.sql`), shared by the readers.

pub use metrics_core::github::{archive, chain, environment, event, levels};

pub mod api;
pub mod derive;
pub mod ingest;
pub mod read;
pub mod settings;
