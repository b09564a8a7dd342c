//! Maintenance: what the extension does to keep itself: retention policies and the plan of a
//! compaction (`policy`, `compaction`), and the checks of its health (`health`).

pub mod compaction;
pub mod health;
pub mod policy;
