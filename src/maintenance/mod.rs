//! Maintenance: the extension keeps itself. Retention policies as rows (`policy`), the
//! compaction of old request and operation rows into days and ISO weeks (`compact`), its
//! health (`health`: the collection and the values; `health_upkeep`: the buffer writer,
//! pg_cron and retention), the alerts on its transitions (`alerts`), their thresholds
//! (`settings`) and the SQL functions (`api`). The pure rules are `metrics_core::maintenance`.

pub use metrics_core::maintenance::{compaction, health as health_rules, policy as rules};

pub mod alerts;
pub mod api;
pub mod compact;
pub mod health;
pub mod health_upkeep;
pub mod policy;
pub mod settings;
