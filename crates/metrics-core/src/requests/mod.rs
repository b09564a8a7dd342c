//! Request and operation metrics, the pure part: what a valid event is, how a JSON batch of
//! them is read and how events add up into hourly buckets (`event`), and the mergeable
//! latency sketch with its byte encoding (`sketch`).

pub mod event;
pub mod sketch;
