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
