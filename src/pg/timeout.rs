//! A time limit on one piece of work inside a statement (one metric's computation), which
//! `statement_timeout` cannot give: that one is armed once per top-level statement.
//!
//! PostgreSQL's timeout machinery has slots for extensions (USER_TIMEOUT). When ours fires
//! it asks for a query cancel, exactly as the statement timeout does; the work then fails with
//! SQLSTATE 57014 at its next interrupt check. `pg::subxact::isolated` tells that cancel from
//! a user's (which it never swallows) by the flag our handler sets.

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use pgrx::pg_sys;

/// `USER_TIMEOUT` of PostgreSQL 15's `TimeoutId` (utils/timeout.h), the first slot for
/// extensions; RegisterTimeout hands out the next free one.
const USER_TIMEOUT: c_int = 12;

extern "C-unwind" {
    fn RegisterTimeout(id: c_int, handler: Option<unsafe extern "C-unwind" fn()>) -> c_int;
    fn enable_timeout_after(id: c_int, delay_ms: c_int);
    fn disable_timeout(id: c_int, keep_indicator: bool);
}

/// Our timeout's id in this backend, once registered (0: not yet).
static TIMEOUT_ID: AtomicI32 = AtomicI32::new(0);
/// Set by the handler: the cancel in progress is ours.
static FIRED: AtomicBool = AtomicBool::new(false);

/// Runs in a signal handler: only sets flags and the latch, like StatementTimeoutHandler.
unsafe extern "C-unwind" fn on_timeout() {
    FIRED.store(true, Ordering::SeqCst);
    unsafe {
        pg_sys::InterruptPending = 1;
        pg_sys::QueryCancelPending = 1;
        pg_sys::SetLatch(pg_sys::MyLatch);
    }
}

fn timeout_id() -> c_int {
    let id = TIMEOUT_ID.load(Ordering::SeqCst);
    if id != 0 {
        return id;
    }
    // SAFETY: called in a backend after InitializeTimeouts, from the main thread.
    let id = unsafe { RegisterTimeout(USER_TIMEOUT, Some(on_timeout)) };
    TIMEOUT_ID.store(id, Ordering::SeqCst);
    id
}

/// Disarms the timeout when the work ends, also when it ends with an error.
struct Armed(c_int);

impl Drop for Armed {
    fn drop(&mut self) {
        unsafe { disable_timeout(self.0, false) };
        // Our limit passed, but the work ended another way (an error came first): the cancel
        // it asked for is still pending and would stop whatever runs next.
        if FIRED.load(Ordering::SeqCst) {
            unsafe { pg_sys::QueryCancelPending = 0 };
        }
    }
}

/// Runs `work` with a time limit of `limit_ms` milliseconds (none when 0). Past it, the work
/// fails with 57014 and `fired()` is true until the next call.
pub fn within<R>(limit_ms: i32, work: impl FnOnce() -> R) -> R {
    FIRED.store(false, Ordering::SeqCst);
    if limit_ms <= 0 {
        return work();
    }
    let id = timeout_id();
    unsafe { enable_timeout_after(id, limit_ms) };
    let armed = Armed(id);
    let result = work();
    drop(armed);
    // The limit passed just as the work ended, before any interrupt check: the cancel it
    // asked for is ours and has nothing left to stop.
    if FIRED.swap(false, Ordering::SeqCst) {
        unsafe { pg_sys::QueryCancelPending = 0 };
    }
    result
}

/// Whether the cancel being handled was asked for by our time limit; answers once (the flag
/// is consumed), so a later cancel is never taken for ours.
pub fn take_fired() -> bool {
    FIRED.swap(false, Ordering::SeqCst)
}
