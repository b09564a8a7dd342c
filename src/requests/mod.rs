//! Request and operation metrics: hourly buckets of counts, durations and latency sketches.
//!
//! The pure model is `metrics_core::requests`, re-exported here: events, JSON batches,
//! buckets, the sketch and its encoding, what a report checks and computes. Its PostgreSQL
//! face: where recorded events go (`record`), the prepared upserts and appends (`store`),
//! folding what direct mode appended into the hour rows (`fold`), batch ids (`batches`), the
//! shared-memory buffer (`buffer`) and its background writer (`writer`), the projects events
//! name (`project`), the reports (`read`), and the SQL functions (`api`).

pub use metrics_core::requests::{
    batch, bucket, event, report, sketch, sketch_encoding, statements,
};

pub mod api;
pub mod batches;
pub mod buffer;
pub mod fold;
pub mod late;
pub mod project;
pub mod read;
pub mod record;
pub mod store;
pub mod writer;
