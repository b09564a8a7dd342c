//! Maintenance: the extension keeps itself. Retention policies as rows (`policy`), the
//! compaction of old request and operation rows into days and ISO weeks (`compact`), and
//! the SQL functions (`api`). The pure rules are `metrics_core::maintenance`.

// compaction: used by compact.rs, which is being written (unused until then).
#[allow(unused_imports)]
pub use metrics_core::maintenance::{compaction, policy as rules};

pub mod api;
pub mod compact;
pub mod policy;
