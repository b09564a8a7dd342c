//! The read model of dashboards (seed 004): `refresh` fills its tables for each project
//! (`metrics.refresh_read_model`, and the maintenance step), from the sealed daily values
//! (`daily`), the request rows (`traffic`) and the DORA keys (`dora`), with one summary
//! payload per project and run (`summary`); `state` keeps how far each source has got,
//! `write` the upserts every part shares, `project` what a project is to the refresh.
//! The read API (Metrics API contract v1.0): the stored rows of a project (`read`), the
//! open bucket computed live from the sources (`read_live`), and the SQL functions (`api`).
//! The pure rules are `metrics_core::readmodel`.

pub use metrics_core::readmodel::{answer, buckets, cursor, live, payload, query, retention};

pub mod api;
pub mod daily;
pub mod dora;
pub mod project;
pub mod prune;
pub mod read;
pub mod read_live;
pub mod refresh;
pub mod state;
pub mod summary;
pub mod traffic;
pub mod write;
