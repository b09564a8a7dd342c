//! The read model of dashboards (seed 004), the pure part of its refresh: which buckets a
//! run recomputes (`buckets`), what retention removes (`retention`) and the JSON payloads it
//! stores (`payload`).

pub mod buckets;
pub mod payload;
pub mod retention;
