//! Keeps `DROP EXTENSION metrics` (and `DROP SCHEMA metrics CASCADE`, which drops it too)
//! from deleting sealed history without a word.
//!
//! An event trigger on `ddl_command_start` looks at the parse tree of the DROP before
//! anything is dropped (at `sql_drop` the trigger itself would already be gone with the
//! extension). While sealed values exist, the drop is refused unless the transaction
//! confirms it with `SET LOCAL metrics.allow_drop_history = on`; a drop that goes ahead takes
//! the extension's pg_cron job with it, so nothing keeps calling functions that no longer
//! exist. Creating an event trigger needs a superuser: `sql/snapshots/protect.sql` creates
//! it when the installing role is one, and `verify_security()` reports its absence.

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgList;

use crate::common::problem::{Problem, SqlState};
use crate::jobs::schedule;
use crate::pg::guc;
use crate::pg::raise::raise;
use crate::pg::spi::volatile as spi;
use crate::pg::subxact::isolated;

/// What a DROP statement would take with it, if it takes the extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drop {
    Extension,
    SchemaCascade,
    /// DROP OWNED BY the extension's owner drops the extension with everything it owns.
    OwnedByOwner,
}

/// Whether `names` (a list of String nodes) holds "metrics".
unsafe fn names_metrics(names: *mut pg_sys::List) -> bool {
    let names = unsafe { PgList::<pg_sys::Node>::from_pg(names) };
    let found = names.iter_ptr().any(|node| unsafe {
        !node.is_null()
            && (*node).type_ == pg_sys::NodeTag::T_String
            && CStr::from_ptr((*(node as *mut pg_sys::String)).sval).to_bytes() == b"metrics"
    });
    found
}

/// Whether `roles` (a list of RoleSpec nodes) names the extension's owner.
unsafe fn names_owner(roles: *mut pg_sys::List) -> bool {
    let Some(owner) = spi::value::<pg_sys::Oid>(
        "SELECT extowner FROM pg_catalog.pg_extension WHERE extname = 'metrics'",
        &[],
    ) else {
        return false;
    };
    let roles = unsafe { PgList::<pg_sys::Node>::from_pg(roles) };
    let found = roles.iter_ptr().any(|node| unsafe {
        !node.is_null()
            && (*node).type_ == pg_sys::NodeTag::T_RoleSpec
            && pg_sys::get_rolespec_oid(node as *const pg_sys::RoleSpec, true) == owner
    });
    found
}

/// The drop of the extension that the event trigger's statement would do, if any.
unsafe fn dropped(fcinfo: pg_sys::FunctionCallInfo) -> Option<Drop> {
    unsafe {
        let context = (*fcinfo).context;
        if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_EventTriggerData {
            return None;
        }
        let tree = (*(context as *mut pg_sys::EventTriggerData)).parsetree;
        if tree.is_null() {
            return None;
        }
        if (*tree).type_ == pg_sys::NodeTag::T_DropOwnedStmt {
            let stmt = tree as *mut pg_sys::DropOwnedStmt;
            return names_owner((*stmt).roles).then_some(Drop::OwnedByOwner);
        }
        if (*tree).type_ != pg_sys::NodeTag::T_DropStmt {
            return None;
        }
        let stmt = tree as *mut pg_sys::DropStmt;
        if !names_metrics((*stmt).objects) {
            return None;
        }
        match (*stmt).removeType {
            pg_sys::ObjectType::OBJECT_EXTENSION => Some(Drop::Extension),
            pg_sys::ObjectType::OBJECT_SCHEMA
                if (*stmt).behavior == pg_sys::DropBehavior::DROP_CASCADE =>
            {
                Some(Drop::SchemaCascade)
            }
            _ => None,
        }
    }
}

/// Refuses the drop while sealed values exist and it is not confirmed; otherwise removes the
/// pg_cron job, which would keep calling a function that no longer exists.
fn guard(what: Drop) {
    let sealed = spi::value::<i64>("SELECT count(*) FROM metrics.daily_metrics", &[]).unwrap_or(0);
    if sealed > 0 && !guc::allow_drop_history() {
        let statement = match what {
            Drop::Extension => "DROP EXTENSION metrics",
            Drop::SchemaCascade => "DROP SCHEMA metrics CASCADE",
            Drop::OwnedByOwner => "DROP OWNED BY the extension's owner",
        };
        raise(
            Problem::new(
                SqlState::DependentObjectsStillExist,
                format!("{statement} would delete {sealed} sealed daily values"),
            )
            .detail("Sealed history is kept in metrics.daily_metrics and metrics.metric_revisions; dropping the extension deletes it for good.")
            .hint(format!(
                "export it first (pg_dump --data-only --schema=metrics, or \\copy metrics.daily_metrics TO 'daily_metrics.csv' CSV HEADER), then confirm in the same transaction: BEGIN; SET LOCAL metrics.allow_drop_history = on; {statement}; COMMIT;"
            )),
        );
    }
    // The job goes with the extension; a caller who may not unschedule it (pg_cron's rules)
    // is told, and the drop is not stopped by it.
    if let Err(failure) = isolated(schedule::remove_jobs) {
        warning!(
            "metrics: the pg_cron job metrics-daily-collection could not be removed: {}",
            failure.message
        );
    }
    if what == Drop::Extension {
        revoke_schema_grants();
    }
}

/// The schema stays behind when the extension is dropped (CREATE EXTENSION made it, but it
/// is not a member); the privileges the extension granted on it go, so that a later
/// CREATE EXTENSION finds an empty schema that is not someone else's.
fn revoke_schema_grants() {
    let grantees = spi::rows(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END
         FROM pg_catalog.pg_namespace AS n, pg_catalog.aclexplode(n.nspacl) AS a
         LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
         WHERE n.nspname = 'metrics' AND a.grantee <> n.nspowner",
        &[],
        |row| crate::pg::spi::not_null::<String>(row, 1),
    );
    for grantee in grantees {
        spi::run(&format!("REVOKE ALL ON SCHEMA metrics FROM {grantee}"), &[]);
    }
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_metrics_protect_history() -> &'static pg_sys::Pg_finfo_record {
    static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// The event trigger function (`metrics._protect_history()`, RETURNS event_trigger).
///
/// # Safety
/// Called by PostgreSQL's function manager with a valid `fcinfo`.
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn metrics_protect_history(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    if let Some(what) = unsafe { dropped(fcinfo) } {
        guard(what);
    }
    pg_sys::Datum::from(0)
}
