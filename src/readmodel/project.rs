//! A project as the refresh sees it: its id, names, zone, and which rows are its own.

use pgrx::datum::DatumWithOid;
use pgrx::Uuid;

use crate::pg::guc;
use crate::pg::spi::{not_null, volatile as spi};

#[derive(Debug, Clone)]
pub struct Project {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// The project's zone (its own, else `metrics.timezone`): request and DORA buckets.
    pub zone: String,
    pub whole_database: bool,
}

impl Project {
    /// The project a row of a source belongs to, as a parameter: NULL for the whole-database
    /// project (its rows are those of no project), else its id. Compare with
    /// `project_id IS NOT DISTINCT FROM $n`.
    pub fn scope(&self) -> DatumWithOid<'static> {
        if self.whole_database {
            DatumWithOid::from(None::<Uuid>)
        } else {
            DatumWithOid::from(self.id)
        }
    }

    /// The project of request rows, as a parameter: NULL for the whole-database project
    /// (every row is its own), else its id. Compare with `($n::uuid IS NULL OR project_id = $n)`.
    pub fn request_scope(&self) -> DatumWithOid<'static> {
        self.scope()
    }

    /// The project's repositories (`None`: every repository, for the whole database).
    pub fn repositories(&self) -> Option<Vec<String>> {
        if self.whole_database {
            return None;
        }
        Some(spi::rows(
            "SELECT repository FROM metrics.project_repositories WHERE project_id = $1 ORDER BY 1",
            &[self.id.into()],
            |r| not_null::<String>(r, 1),
        ))
    }
}

/// The projects, all (`None`) or one id, in slug order.
pub fn load(id: Option<Uuid>) -> Vec<Project> {
    spi::rows(
        "SELECT id, slug, name, coalesce(time_zone, $2), whole_database FROM metrics.projects
         WHERE $1::uuid IS NULL OR id = $1 ORDER BY slug",
        &[id.into(), guc::timezone().into()],
        |r| {
            Ok(Project {
                id: not_null(r, 1)?,
                slug: not_null(r, 2)?,
                name: not_null(r, 3)?,
                zone: not_null(r, 4)?,
                whole_database: not_null(r, 5)?,
            })
        },
    )
}
