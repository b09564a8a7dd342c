//! The distinct-count sketch in SQL: `metrics._distinct_sketch(hash bigint)`, the aggregate
//! the computing statements call over the 64-bit hashes of a day's distinct values (or of a
//! breakdown's group keys). Each sealed day keeps its sketch, and a week or a month is the
//! merge of its days' sketches (`snapshots::distinct_sketch`, exact up to its limit).

use pgrx::aggregate::ToAggregateName;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::Internal;

use crate::snapshots::distinct_sketch::DistinctSketch;

pub struct DistinctSketchAgg;

impl ToAggregateName for DistinctSketchAgg {
    const NAME: &'static str = "_distinct_sketch";
}

#[pg_aggregate]
impl Aggregate<DistinctSketchAgg> for DistinctSketchAgg {
    type State = Internal;
    type Args = name!(hash, Option<i64>);
    type Finalize = Vec<u8>;

    fn state(
        mut current: Self::State,
        hash: Self::Args,
        fcinfo: pg_sys::FunctionCallInfo,
    ) -> Self::State {
        let Some(hash) = hash else {
            return current;
        };
        // SAFETY: the state lives in the aggregate's memory context, so it survives between
        // calls and is dropped with the group; it is only ever a DistinctSketch.
        unsafe {
            let context = Self::memory_context(fcinfo)
                .unwrap_or_else(|| error!("metrics._distinct_sketch is an aggregate"));
            let previous = pg_sys::MemoryContextSwitchTo(context);
            let sketch = current.get_or_insert_default::<DistinctSketch>();
            pg_sys::MemoryContextSwitchTo(previous);
            sketch.add_hash(hash as u64);
        }
        current
    }

    fn finalize(
        current: Self::State,
        _direct_args: Self::OrderedSetArgs,
        _fcinfo: pg_sys::FunctionCallInfo,
    ) -> Self::Finalize {
        // SAFETY: the state is a DistinctSketch, or NULL when the group had no value.
        unsafe { current.get::<DistinctSketch>() }
            .map(DistinctSketch::encode)
            .unwrap_or_else(|| DistinctSketch::new().encode())
    }
}
