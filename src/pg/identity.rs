//! Who is asking, and whose rights a source is read with.
//!
//! The privileged functions are SECURITY DEFINER, so inside them `current_user` is the
//! extension's owner. The caller is the *outer* role: the one PostgREST sets with
//! `set_config('role', ...)` (SET ROLE), or the session user. Source relations are read with
//! their owner's rights inside a security-restricted operation, as ANALYZE and REFRESH
//! MATERIALIZED VIEW do, so a view's functions never run with the extension owner's rights.

use std::ffi::CStr;

use pgrx::pg_sys;

/// The role that called into the extension (SET ROLE target or session user).
pub fn caller() -> pg_sys::Oid {
    unsafe { pg_sys::GetOuterUserId() }
}

pub fn role_name(role: pg_sys::Oid) -> String {
    unsafe {
        let name = pg_sys::GetUserNameFromId(role, true);
        if name.is_null() {
            format!("role {}", role.to_u32())
        } else {
            CStr::from_ptr(name).to_string_lossy().into_owned()
        }
    }
}

pub fn caller_name() -> String {
    role_name(caller())
}

/// Restores the saved user and security context, also when unwinding from an error.
struct Restore {
    user: pg_sys::Oid,
    context: i32,
}

impl Drop for Restore {
    fn drop(&mut self) {
        unsafe { pg_sys::SetUserIdAndSecContext(self.user, self.context) };
    }
}

/// Runs `work` as `role` inside a security-restricted operation.
pub fn as_role<R>(role: pg_sys::Oid, work: impl FnOnce() -> R) -> R {
    let mut user = pg_sys::Oid::INVALID;
    let mut context = 0;
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(
            role,
            context
                | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32
                | pg_sys::SECURITY_RESTRICTED_OPERATION as i32,
        );
    }
    let _restore = Restore { user, context };
    work()
}

/// The extension's owner (who owns its tables), looked up once per backend.
fn extension_owner() -> pg_sys::Oid {
    thread_local! {
        static OWNER: std::cell::Cell<pg_sys::Oid> = const { std::cell::Cell::new(pg_sys::Oid::INVALID) };
    }
    let cached = OWNER.get();
    if cached != pg_sys::Oid::INVALID {
        return cached;
    }
    // Run with the pinned search_path (`as_owner`), and qualified anyway: a caller's own `=`
    // must not choose whose rights recording takes.
    let owner = crate::pg::spi::volatile::value::<pg_sys::Oid>(
        "SELECT e.extowner FROM pg_catalog.pg_extension AS e
         WHERE e.extname OPERATOR(pg_catalog.=) 'metrics'::pg_catalog.name",
        &[],
    )
    .unwrap_or_else(|| pgrx::error!("metrics: the extension is not installed in this database"));
    OWNER.set(owner);
    owner
}

/// Runs `work` as the extension's owner with `search_path = pg_catalog, pg_temp`: what a
/// SECURITY DEFINER function with that SET clause does for its whole call (fmgr's
/// `fmgr_security_definer`), for the part of a call that needs it. The single-event recorders
/// are SECURITY INVOKER and call this only around the SQL they run (a direct write, a project
/// lookup): a buffered call runs no SQL and pays for no user switch and no settings save and
/// restore. EXECUTE on the function is still the only gate.
///
/// The user is restored when `work` returns or unwinds; the setting when it returns, and on an
/// error by the (sub)transaction's abort, as for a SECURITY DEFINER function.
pub fn as_owner<R>(work: impl FnOnce() -> R) -> R {
    let level = unsafe {
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            c"pg_catalog, pg_temp".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            pg_sys::elog::PgLogLevel::ERROR as i32,
            false,
        );
        level
    };
    let owner = extension_owner();
    let mut user = pg_sys::Oid::INVALID;
    let mut context = 0;
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(
            owner,
            context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32,
        );
    }
    let restore = Restore { user, context };
    let out = work();
    drop(restore);
    unsafe { pg_sys::AtEOXact_GUC(true, level) };
    out
}
