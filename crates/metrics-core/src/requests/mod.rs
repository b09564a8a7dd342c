//! Request and operation metrics, the pure part: what a valid event is (`event`), how a JSON
//! batch of them is read (`batch`) and the summaries an app may send instead (`summary`), how events add up into hourly buckets (`bucket`), the
//! mergeable latency sketch (`sketch`) and its byte encoding (`sketch_encoding`), the upserts
//! that add a bucket into its hour's row (`statements`), and what a report checks and
//! computes (`report`).

pub mod batch;
pub mod bucket;
pub mod event;
pub mod report;
pub mod sketch;
pub mod sketch_encoding;
pub mod statements;
pub mod summary;
