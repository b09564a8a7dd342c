//! The read model of dashboards (seed 004): `refresh` fills its tables for each project
//! (`metrics.refresh_read_model`, and the maintenance step), from the sealed daily values
//! (`daily`), the request rows (`traffic`) and the DORA keys (`dora`), with one summary
//! payload per project and run (`summary`); `state` keeps how far each source has got,
//! `write` the upserts every part shares, `project` what a project is to the refresh. The
//! pure rules (buckets, retention, payloads) are `metrics_core::readmodel`.

pub use metrics_core::readmodel::{buckets, payload, retention};

pub mod daily;
pub mod dora;
pub mod project;
pub mod prune;
pub mod refresh;
pub mod state;
pub mod summary;
pub mod traffic;
pub mod write;
