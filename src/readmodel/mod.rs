//! The read model of dashboards: summary, trend, breakdown and drill-down rows per project
//! (`sql/readmodel/tables.sql`), read through the API of Metrics API contract v1.0.
//!
//! The pure model is `metrics_core::readmodel`, re-exported here: the checks of the
//! arguments (`query`), the drill-down cursor (`cursor`), the answers and their freshness
//! (`answer`) and the live open bucket's numbers (`live`). Its PostgreSQL face: the stored
//! rows of a project (`read`), the open bucket computed live from the sources
//! (`read_live`), and the SQL functions (`api`).

pub use metrics_core::readmodel::{answer, cursor, live, query};

pub mod api;
pub mod read;
pub mod read_live;
