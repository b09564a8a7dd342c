//! The extension's settings (GUCs).
//!
//! The session-level ones are superuser-settable (PGC_SUSET): the day boundary decides what
//! gets sealed forever, the query limit protects the server from API callers, and the ingest
//! mode and event window decide durability and what may be recorded, so none may differ per
//! API session. Set them with `ALTER DATABASE ... SET` or `ALTER SYSTEM` (or grant SET on
//! them). The buffer's database and flush interval belong to the server (postmaster, SIGHUP).

use std::ffi::{c_char, c_void, CStr, CString};

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting, PostgresGucEnum};
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::jobs::catch_up::{DEFAULT_CATCH_UP_DAYS, MAX_CATCH_UP_DAYS};
use crate::jobs::retry::{DEFAULT_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS};
use crate::snapshots::checks::DEFAULT_MAX_QUERY_DAYS;

static TIMEZONE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"UTC"));
static MAX_QUERY_DAYS: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_MAX_QUERY_DAYS);
static METRIC_TIMEOUT: GucSetting<i32> = GucSetting::<i32>::new(30_000);
static CATCH_UP_DAYS: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_CATCH_UP_DAYS);
static RETRY_DELAY: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_RETRY_DELAY_MS);
static ALLOW_DROP_HISTORY: GucSetting<bool> = GucSetting::<bool>::new(false);

/// Where recorded requests and operations go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PostgresGucEnum)]
pub enum IngestMode {
    /// Into the hour's row, in the caller's transaction.
    #[name = c"direct"]
    Direct,
    /// Into shared memory, written to the tables by a background worker.
    #[name = c"buffered"]
    Buffered,
}

static INGEST_MODE: GucSetting<IngestMode> = GucSetting::<IngestMode>::new(IngestMode::Direct);
static FLUSH_INTERVAL: GucSetting<i32> = GucSetting::<i32>::new(5);
static MAX_EVENT_AGE: GucSetting<i32> = GucSetting::<i32>::new(7 * 24 * 3600);
static MAX_EVENT_LEAD: GucSetting<i32> = GucSetting::<i32>::new(300);
static BUFFER_DATABASE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"postgres"));

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

/// Defines every setting; called from `_PG_init`.
pub fn register() {
    register_snapshot_settings();
    register_protection_settings();
    register_request_settings();
}

/// The bound on one metric's computation, and the confirmation that drops sealed history.
fn register_protection_settings() {
    GucRegistry::define_int_guc(
        c"metrics.metric_timeout",
        c"Longest time one metric's computation may take in a collection or backfill (0: no limit).",
        c"A metric that takes longer is rolled back and logged as that metric's failure (SQLSTATE 57014); the run goes on with the others.",
        &METRIC_TIMEOUT,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_bool_guc(
        c"metrics.allow_drop_history",
        c"Confirms that DROP EXTENSION metrics may delete the sealed daily values.",
        c"Set it with SET LOCAL in the transaction that drops the extension, after exporting what you want to keep.",
        &ALLOW_DROP_HISTORY,
        GucContext::Userset,
        GucFlags::default(),
    );
}

/// The time limit of one metric's computation, in milliseconds (0: none).
pub fn metric_timeout_ms() -> i32 {
    METRIC_TIMEOUT.get()
}

/// Whether the drop of sealed history is confirmed.
pub fn allow_drop_history() -> bool {
    ALLOW_DROP_HISTORY.get()
}

/// How many missed days one scheduled collection catches up on, per metric.
pub fn catch_up_days() -> i32 {
    CATCH_UP_DAYS.get()
}

/// The wait before the first retry of a transient failure, in milliseconds (then doubled).
pub fn retry_delay_ms() -> i32 {
    RETRY_DELAY.get()
}

/// How a scheduled collection catches up and retries.
fn register_collection_settings() {
    GucRegistry::define_int_guc(
        c"metrics.catch_up_days",
        c"Most missed days one collect_daily_metrics() without a date collects per metric.",
        c"A scheduled collection collects every closed day after each metric's last sealed day, oldest first, at most this many per run; the next run continues.",
        &CATCH_UP_DAYS,
        1,
        MAX_CATCH_UP_DAYS,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"metrics.retry_delay",
        c"Wait before retrying a metric after a transient failure; doubled for each further retry (3 at most).",
        c"Serialization failures, deadlocks, lock timeouts and metrics.metric_timeout are retried inside the run; other failures at the next run.",
        &RETRY_DELAY,
        0,
        MAX_RETRY_DELAY_MS,
        GucContext::Suset,
        GucFlags::UNIT_MS,
    );
}

/// The day boundary and the query limit of the read API.
fn register_snapshot_settings() {
    register_collection_settings();
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

/// How requests and operations are recorded: the mode, the buffer's interval and database,
/// and the window an event's time must lie in.
fn register_request_settings() {
    GucRegistry::define_enum_guc(
        c"metrics.ingest_mode",
        c"Where metrics.record_* calls add their events: direct or buffered.",
        c"direct adds into the hour's row in the caller's transaction (durable with its commit); buffered adds into shared memory, written every metrics.flush_interval by a background worker (needs shared_preload_libraries = 'metrics'; a crash loses at most one interval).",
        &INGEST_MODE,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"metrics.flush_interval",
        c"How often the background worker writes buffered events to the tables.",
        c"Also written at a clean shutdown. Buffered events of at most one interval are lost in a crash.",
        &FLUSH_INTERVAL,
        1,
        3600,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"metrics.max_event_age",
        c"How old an event's time may be when it is recorded.",
        c"Events with an older \"at\" are refused (22008). Raise it for a session to import history.",
        &MAX_EVENT_AGE,
        60,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"metrics.max_event_lead",
        c"How far in the future an event's time may be (client clock skew).",
        c"Events with a later \"at\" are refused (22008).",
        &MAX_EVENT_LEAD,
        0,
        86400,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
    // A postmaster setting can only be defined while the library is preloaded; without
    // preloading there is no buffer, and buffer_database() is never asked.
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    GucRegistry::define_string_guc(
        c"metrics.buffer_database",
        c"The database whose buffered events the background worker writes.",
        c"Buffered mode works in this one database (like pg_cron's cron.database_name); calls elsewhere write directly.",
        &BUFFER_DATABASE,
        GucContext::Postmaster,
        GucFlags::default(),
    );
}

pub fn ingest_mode() -> IngestMode {
    INGEST_MODE.get()
}

pub fn flush_interval_secs() -> u64 {
    FLUSH_INTERVAL.get().max(1) as u64
}

/// The window around now in which an event's time must lie, in microseconds.
pub fn event_window_micros() -> (i64, i64) {
    (
        MAX_EVENT_AGE.get() as i64 * 1_000_000,
        MAX_EVENT_LEAD.get() as i64 * 1_000_000,
    )
}

pub fn buffer_database() -> String {
    BUFFER_DATABASE
        .get()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|| "postgres".to_string())
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

/// Pops the GUC nest level of `with_local_settings`, also when unwinding from an error.
struct NestLevel(i32);

impl Drop for NestLevel {
    fn drop(&mut self) {
        unsafe { pg_sys::AtEOXact_GUC(true, self.0) };
    }
}

/// Runs `work` with PostgreSQL settings changed for its duration only, the way a function's
/// `SET` clause does (a GUC nest level that is popped afterwards).
pub fn with_local_settings<R>(settings: &[(&CStr, &CStr)], work: impl FnOnce() -> R) -> R {
    let level = NestLevel(unsafe { pg_sys::NewGUCNestLevel() });
    for (name, value) in settings {
        unsafe {
            pg_sys::set_config_option(
                name.as_ptr(),
                value.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                PgLogLevel::ERROR as i32,
                false,
            );
        }
    }
    let result = work();
    drop(level);
    result
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use super::with_local_settings;

    fn jit() -> String {
        Spi::get_one::<String>("SELECT current_setting('jit')")
            .unwrap()
            .unwrap()
    }

    #[pg_test]
    fn local_settings_last_for_the_work_only() {
        Spi::run("SET jit = on").unwrap();
        assert_eq!(with_local_settings(&[(c"jit", c"off")], jit), "off");
        assert_eq!(jit(), "on");
        let failed = crate::pg::subxact::isolated(|| {
            with_local_settings(&[(c"jit", c"off")], || Spi::run("SELECT 1 / 0").unwrap())
        });
        assert!(failed.is_err());
        assert_eq!(jit(), "on");
    }
}
