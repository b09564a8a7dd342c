//! Request and operation metrics: hourly buckets of counts, durations and latency sketches.
//!
//! The pure model comes from `metrics_core::requests` (events, batches, buckets, the sketch).
//! Here is its PostgreSQL face: recording (`api`), the prepared upserts (`store`), the
//! shared-memory buffer and its background writer (`buffer`), the reports (`report`) and the
//! SQL functions over sketches (`sketch_functions`).

pub use metrics_core::requests::{event, sketch};

pub mod api;
pub mod buffer;
pub mod report;
pub mod sketch_functions;
pub mod store;
