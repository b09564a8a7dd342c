//! Which version of the tables the library is talking to. After the package is upgraded and
//! before `ALTER EXTENSION metrics UPDATE` runs, the new library serves the old tables: the
//! collection (a pg_cron job at 00:05), definitions, reads and corrections must keep working,
//! as they did, without what later versions add. Every statement that names a 0.3.0 column,
//! or the percentile column of the definitions, asks here.

use crate::pg::spi::stable as spi;

/// The tables' layout in this database, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layout {
    /// Before 0.3.0: no definition versions, no day sketches, and no
    /// `metrics._distinct_sketch` aggregate.
    Before030,
    /// 0.3.0 and later: definition versions, the day's distinct-count sketch.
    Provenance,
    /// And the definitions' `percentile` column (the percentile kind).
    Percentiles,
    /// 0.6.0 and later: per-project values (`daily_metrics.project_id`, the definitions'
    /// `project_column`, `unique_daily_metric` over the project too).
    Projects,
}

impl Layout {
    pub fn has_provenance(self) -> bool {
        self >= Layout::Provenance
    }

    pub fn has_percentiles(self) -> bool {
        self >= Layout::Percentiles
    }

    pub fn has_projects(self) -> bool {
        self >= Layout::Projects
    }
}

/// Whether each table has the column of a layout (one catalog lookup).
const COLUMNS: &str = "SELECT
    EXISTS (SELECT FROM pg_catalog.pg_attribute
            WHERE attrelid = 'metrics.daily_metrics'::pg_catalog.regclass
              AND attname = 'definition_version' AND NOT attisdropped),
    EXISTS (SELECT FROM pg_catalog.pg_attribute
            WHERE attrelid = 'metrics.metric_definitions'::pg_catalog.regclass
              AND attname = 'percentile' AND NOT attisdropped),
    EXISTS (SELECT FROM pg_catalog.pg_attribute
            WHERE attrelid = 'metrics.metric_definitions'::pg_catalog.regclass
              AND attname = 'project_column' AND NOT attisdropped)
    AND EXISTS (SELECT FROM pg_catalog.pg_attribute
            WHERE attrelid = 'metrics.daily_metrics'::pg_catalog.regclass
              AND attname = 'project_id' AND NOT attisdropped)";

/// The layout of this database's tables.
pub fn layout() -> Layout {
    let found = spi::rows(COLUMNS, &[], |row| {
        Ok((
            row.get::<bool>(1)?.unwrap_or(false),
            row.get::<bool>(2)?.unwrap_or(false),
            row.get::<bool>(3)?.unwrap_or(false),
        ))
    })
    .pop()
    .unwrap_or((false, false, false));
    match found {
        (true, true, true) => Layout::Projects,
        (true, true, false) => Layout::Percentiles,
        (true, false, _) => Layout::Provenance,
        _ => Layout::Before030,
    }
}
