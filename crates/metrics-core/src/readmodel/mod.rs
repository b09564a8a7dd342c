//! The read model of dashboards, the pure parts. The read API (`get_summary`, `get_trend`,
//! `get_breakdown`, `get_drilldown`): `query` (grains, ranges and their defaults, page
//! sizes, entity types, metric key families), `cursor` (the opaque keyset cursor of
//! drill-downs) and `answer` (the JSON answers and their freshness).

pub mod answer;
pub mod cursor;
pub mod live;
pub mod query;
