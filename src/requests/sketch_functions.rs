//! SQL functions over latency sketches (`bytea`, the encoding of `sketch::LatencySketch`):
//! merging two of them (the state function of the `metrics.merge_latency_sketches` aggregate)
//! and reading a quantile. They run no SQL, so they need no pinned `search_path` (a `SET`
//! clause would cost a settings save and restore on every call of the upsert's merge).

use pgrx::prelude::*;

use crate::pg::raise::raise;
use crate::common::problem::{Problem, SqlState};
use crate::requests::sketch::{merge_encoded, LatencySketch, SketchError};

fn refuse(e: SketchError) -> ! {
    raise(
        Problem::new(
            SqlState::InvalidBinaryRepresentation,
            format!("not a latency sketch: {}", e.message()),
        )
        .hint(
            "pass the latency_sketch column of metrics.route_metrics or metrics.operation_metrics",
        ),
    )
}

/// Decodes a stored sketch, or explains that the bytes are not one.
pub fn decode(bytes: &[u8]) -> LatencySketch {
    LatencySketch::from_bytes(bytes).unwrap_or_else(|e| refuse(e))
}

/// Merges two sketches; NULL stands for an empty one (so the aggregate skips NULL rows).
#[pg_extern(immutable, parallel_safe)]
fn merge_latency_sketch(a: Option<&[u8]>, b: Option<&[u8]>) -> Option<Vec<u8>> {
    match (a, b) {
        (None, None) => None,
        (Some(x), None) | (None, Some(x)) => Some(decode(x).to_bytes()),
        (Some(x), Some(y)) => Some(merge_encoded(x, y).unwrap_or_else(|e| refuse(e))),
    }
}

/// The q-quantile (0 <= q <= 1) of the durations a sketch holds, in milliseconds, within
/// the sketch's relative accuracy; NULL for an empty sketch.
#[pg_extern(immutable, parallel_safe)]
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
