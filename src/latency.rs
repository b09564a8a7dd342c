//! SQL functions over latency sketches (`bytea`, the encoding of `sketch::LatencySketch`):
//! merging two of them (the state function of the `metrics.merge_latency_sketches` aggregate)
//! and reading a quantile.

use pgrx::prelude::*;

use crate::errors::raise;
use crate::problem::{Problem, SqlState};
use crate::sketch::LatencySketch;

/// Decodes a stored sketch, or explains that the bytes are not one.
pub fn decode(bytes: &[u8]) -> LatencySketch {
    LatencySketch::from_bytes(bytes).unwrap_or_else(|e| {
        raise(
            Problem::new(
                SqlState::InvalidBinaryRepresentation,
                format!("not a latency sketch: {}", e.message()),
            )
            .hint("pass the latency_sketch column of metrics.route_metrics or metrics.operation_metrics"),
        )
    })
}

/// Merges two sketches; NULL stands for an empty one (so the aggregate skips NULL rows).
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn merge_latency_sketch(a: Option<&[u8]>, b: Option<&[u8]>) -> Option<Vec<u8>> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(decode(x).to_bytes()),
        (Some(x), Some(y)) => {
            let mut merged = decode(x);
            merged.merge(&decode(y));
            Some(merged.to_bytes())
        }
    }
}

/// The q-quantile (0 <= q <= 1) of the durations a sketch holds, in milliseconds, within
/// the sketch's relative accuracy; NULL for an empty sketch.
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn latency_quantile(sketch: Option<&[u8]>, q: Option<f64>) -> Option<f64> {
    let q = q?;
    if !(0.0..=1.0).contains(&q) {
        raise(
            Problem::new(
                SqlState::InvalidParameterValue,
                format!("q must be between 0 and 1, not {q}"),
            )
            .hint("0.5 is the median, 0.99 the 99th percentile"),
        );
    }
    decode(sketch?).quantile(q)
}
