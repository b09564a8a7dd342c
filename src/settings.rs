//! The extension's settings (GUCs).
//!
//! Both are superuser-settable (PGC_SUSET): the day boundary decides what gets sealed forever,
//! and the query limit protects the server from API callers, so neither may differ per API
//! session. Set them with `ALTER DATABASE ... SET` or `ALTER SYSTEM` (or grant SET on them).

use std::ffi::{c_char, c_void, CString};

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;
use pgrx::prelude::*;

static TIMEZONE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"UTC"));
static MAX_QUERY_DAYS: GucSetting<i32> = GucSetting::<i32>::new(365);

/// Refuses a `metrics.timezone` that is not a time zone PostgreSQL knows, at SET time.
#[pg_guard]
unsafe extern "C-unwind" fn check_timezone(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    unsafe {
        if newval.is_null() || (*newval).is_null() {
            return false;
        }
        if !pg_sys::pg_tzset(*newval).is_null() {
            return true;
        }
        let detail = c"Use a time zone name such as UTC, Europe/Berlin or America/New_York (see pg_timezone_names).";
        pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(detail.as_ptr());
        false
    }
}

pub fn register() {
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"metrics.timezone",
            c"Time zone whose midnights delimit a metrics day.",
            c"A day is [00:00, 24:00) in this zone, whatever the session's TimeZone. Changing it does not change days already sealed.",
            &TIMEZONE,
            GucContext::Suset,
            GucFlags::default(),
            Some(check_timezone),
            None,
            None,
        );
    }
    GucRegistry::define_int_guc(
        c"metrics.max_query_days",
        c"Longest date range, in days, that the query API accepts.",
        c"Calls of metrics.fetch_metrics and metrics.activity_series spanning more days are refused.",
        &MAX_QUERY_DAYS,
        1,
        36500,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// The zone that delimits metric days.
pub fn timezone() -> String {
    TIMEZONE
        .get()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|| "UTC".to_string())
}

pub fn max_query_days() -> i64 {
    MAX_QUERY_DAYS.get() as i64
}
