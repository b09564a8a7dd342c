//! The projects recorded events name: a slug or an id, resolved to the project's id with the
//! rights of the recording functions' owner (they are SECURITY DEFINER: the recorder is a
//! server, not a member of the project), as `metrics.project_id` compares them. A batch asks
//! once for all of its distinct projects, through a statement prepared once per backend; a
//! batch without projects asks nothing.

use std::cell::OnceCell;

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::OwnedPreparedStatement;

use crate::common::problem::{Problem, SqlState};
use crate::pg::raise::{raise, OrRaise};
use crate::pg::spi::volatile as spi;
use crate::requests::event::{parse_uuid, ProjectId};

thread_local! {
    static PLAN: OnceCell<OwnedPreparedStatement> = const { OnceCell::new() };
}

/// Per name (`$1`, with `$2` its uuid when it reads as one), the id of the project whose slug
/// or id it is (an id first, should a slug look like another project's id), or NULL.
const RESOLVE: &str = "SELECT (SELECT p.id FROM metrics.projects AS p
                WHERE p.slug = r.name OR p.id = r.id
                ORDER BY coalesce(p.id = r.id, false) DESC
                LIMIT 1)
        FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS r (name, id, i)
        ORDER BY r.i";

fn prepare() -> OwnedPreparedStatement {
    // The new library serves a database not yet updated to 0.6.0 (no projects) until
    // ALTER EXTENSION metrics UPDATE: events of no project are recorded, a project is refused.
    if !spi::exists(
        "SELECT pg_catalog.to_regclass('metrics.projects') IS NOT NULL",
        &[],
    ) {
        raise(
            Problem::new(
                SqlState::FeatureNotSupported,
                "events of a project need the extension's version 0.6.0",
            )
            .hint("run ALTER EXTENSION metrics UPDATE, or record the events without \"project\""),
        );
    }
    let types = [
        PgBuiltInOids::TEXTARRAYOID.oid(),
        PgBuiltInOids::UUIDARRAYOID.oid(),
    ];
    Spi::connect(|client| client.prepare_mut(RESOLVE, &types).map(|p| p.keep())).or_raise()
}

/// The id of each named project (`None`: no such project), in the order of `names`.
pub fn resolve(names: &[&str]) -> Vec<Option<ProjectId>> {
    let ids: Vec<Option<pgrx::Uuid>> = names
        .iter()
        .map(|n| parse_uuid(n).map(pgrx::Uuid::from_bytes))
        .collect();
    let texts: Vec<&str> = names.to_vec();
    let args: Vec<DatumWithOid> = vec![texts.into(), ids.into()];
    PLAN.with(|plan| {
        let plan = plan.get_or_init(prepare);
        Spi::connect(|client| {
            let rows = client.select(plan, None, &args)?;
            rows.map(|row| {
                row.get::<pgrx::Uuid>(1)
                    .map(|id| id.map(|id| *id.as_bytes()))
            })
            .collect::<Result<Vec<_>, _>>()
        })
        .or_raise()
    })
}
