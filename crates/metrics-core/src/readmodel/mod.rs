//! The read model of dashboards (seed 004), the pure parts. Its refresh: which buckets a run
//! recomputes (`buckets`), what retention removes (`retention`) and the JSON payloads it
//! stores (`payload`). The read API (`get_summary`, `get_trend`, `get_breakdown`,
//! `get_drilldown`): `query` (grains, ranges and their defaults, page sizes, entity types,
//! metric key families), `cursor` (the opaque keyset cursor of drill-downs), `answer` (the
//! JSON answers and their freshness) and `live` (the open bucket's numbers).

pub mod answer;
pub mod buckets;
pub mod cursor;
pub mod live;
pub mod payload;
pub mod query;
pub mod retention;
