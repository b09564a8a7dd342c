//! Which version of the tables the library is talking to. After the package is upgraded and
//! before `ALTER EXTENSION metrics UPDATE` runs, the new library serves the old tables: the
//! collection (a pg_cron job at 00:05), definitions, reads and corrections must keep working,
//! as they did, without what 0.3.0 adds. Every statement that names a 0.3.0 column asks here.

use crate::pg::spi::stable as spi;

/// The tables' layout in this database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 0.3.0 and later: definition versions, the day's distinct-count sketch.
    Provenance,
    /// Before 0.3.0: neither, and no `metrics._distinct_sketch` aggregate.
    Before030,
}

impl Layout {
    pub fn has_provenance(self) -> bool {
        self == Layout::Provenance
    }
}

/// The layout of this database's tables (one catalog lookup).
pub fn layout() -> Layout {
    let current = spi::value::<bool>(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute
                        WHERE attrelid = 'metrics.daily_metrics'::pg_catalog.regclass
                          AND attname = 'definition_version' AND NOT attisdropped)",
        &[],
    )
    .unwrap_or(false);
    if current {
        Layout::Provenance
    } else {
        Layout::Before030
    }
}
