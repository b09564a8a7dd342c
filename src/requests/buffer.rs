//! Buffered mode: recorded buckets add up in shared memory, and a background worker writes
//! them into the tables every `metrics.flush_interval` and when the server shuts down
//! cleanly, the way pg_stat_statements keeps its counters in shared memory.
//!
//! The buffer is a fixed hash table of `PARTITIONS * SLOTS_PER_PARTITION` slots, one per
//! (route, method, hour) or (operation, hour) seen since the last write. A key's partition
//! and first slot come from its hash; each partition has its own LWLock, held only to add a
//! few numbers, so concurrent callers rarely wait for each other and never for disk. A slot
//! keeps the counts, sums, extremes and the dense form of the latency sketch
//! (`sketch::BUCKETS` counters). When a partition is full, the caller writes that bucket
//! directly instead: nothing is dropped.
//!
//! Durability: a crash (or an immediate shutdown) loses what was added since the last write,
//! at most one interval. A write that fails (a deadlock with a client holding the same hour's
//! row, a lock timeout) is rolled back and retried a second later with everything added
//! since: the worker keeps what it took out of shared memory until a write commits. It writes
//! in key order, the order in which clients' batches take the same rows, so the two wait for
//! each other rather than deadlock.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;

use crate::requests::event::{Bucket, Key, Subject, MAX_NAME_BYTES, METHODS};
use crate::pg::guc;
use crate::requests::sketch::{LatencySketch, BUCKETS};
use crate::requests::store;

const PARTITIONS: usize = 16;
const SLOTS_PER_PARTITION: usize = 64;
const TRANCHE: &CStr = c"metrics_buffer";

#[repr(C)]
#[derive(Clone, Copy)]
struct Slot {
    used: bool,
    /// 0 route, 1 operation.
    subject: u8,
    /// 1 + index into METHODS for routes, 0 for operations.
    method: u8,
    name_len: u16,
    hash: u64,
    hour: i64,
    total: u64,
    successful: u64,
    failed: u64,
    sum_ms: f64,
    min_ms: f64,
    max_ms: f64,
    last_at: i64,
    name: [u8; MAX_NAME_BYTES],
    counts: [u32; BUCKETS],
}

#[repr(C)]
struct Partition {
    slots: [Slot; SLOTS_PER_PARTITION],
}

#[repr(C)]
struct Shared {
    partitions: [Partition; PARTITIONS],
}

static PRELOADED: AtomicBool = AtomicBool::new(false);
static mut SHARED: *mut Shared = ptr::null_mut();
static mut LOCKS: *mut pg_sys::LWLockPadded = ptr::null_mut();
static mut PREV_SHMEM_REQUEST: pg_sys::shmem_request_hook_type = None;
static mut PREV_SHMEM_STARTUP: pg_sys::shmem_startup_hook_type = None;

/// Called from `_PG_init`: with the library preloaded, asks for the shared memory and
/// registers the writer. Otherwise buffered mode stays unavailable in this server.
pub fn init() {
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    PRELOADED.store(true, Ordering::SeqCst);
    unsafe {
        PREV_SHMEM_REQUEST = pg_sys::shmem_request_hook;
        pg_sys::shmem_request_hook = Some(request_shmem);
        PREV_SHMEM_STARTUP = pg_sys::shmem_startup_hook;
        pg_sys::shmem_startup_hook = Some(startup_shmem);
    }
    BackgroundWorkerBuilder::new("metrics buffer writer")
        .set_type("metrics buffer writer")
        .set_function("metrics_buffer_writer_main")
        .set_library("metrics")
        .enable_spi_access()
        .set_restart_time(Some(Duration::from_secs(10)))
        .load();
}

#[pg_guard]
unsafe extern "C-unwind" fn request_shmem() {
    unsafe {
        if let Some(prev) = PREV_SHMEM_REQUEST {
            prev();
        }
        pg_sys::RequestAddinShmemSpace(size_of::<Shared>());
        pg_sys::RequestNamedLWLockTranche(TRANCHE.as_ptr(), PARTITIONS as i32);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn startup_shmem() {
    unsafe {
        if let Some(prev) = PREV_SHMEM_STARTUP {
            prev();
        }
        // AddinShmemInitLock, as every extension that allocates shared memory takes it.
        let init_lock = &raw mut (*pg_sys::MainLWLockArray.add(21)).lock;
        pg_sys::LWLockAcquire(init_lock, pg_sys::LWLockMode::LW_EXCLUSIVE);
        let mut found = false;
        let shared = pg_sys::ShmemInitStruct(TRANCHE.as_ptr(), size_of::<Shared>(), &mut found)
            .cast::<Shared>();
        if !found {
            // All zeroes is an empty buffer: every slot unused.
            ptr::write_bytes(shared.cast::<u8>(), 0, size_of::<Shared>());
        }
        SHARED = shared;
        LOCKS = pg_sys::GetNamedLWLockTranche(TRANCHE.as_ptr());
        pg_sys::LWLockRelease(init_lock);
    }
}

/// Whether this session can buffer, or why not.
pub fn availability() -> Result<(), String> {
    if !PRELOADED.load(Ordering::SeqCst) || unsafe { SHARED.is_null() } {
        return Err("the metrics library is not in shared_preload_libraries".to_string());
    }
    let here = unsafe {
        let name = pg_sys::get_database_name(pg_sys::MyDatabaseId);
        if name.is_null() {
            String::new()
        } else {
            CStr::from_ptr(name).to_string_lossy().into_owned()
        }
    };
    let target = guc::buffer_database();
    if here != target {
        return Err(format!(
            "buffered events are written only in database \"{target}\" (metrics.buffer_database), not \"{here}\""
        ));
    }
    Ok(())
}

fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn method_code(method: Option<&str>) -> u8 {
    method
        .and_then(|m| METHODS.iter().position(|x| *x == m))
        .map(|i| i as u8 + 1)
        .unwrap_or(0)
}

fn hash(subject: u8, method: u8, hour: i64, name: &[u8]) -> u64 {
    let h = fnv1a(&[subject, method], 0xcbf29ce484222325);
    let h = fnv1a(&hour.to_le_bytes(), h);
    fnv1a(name, h)
}

struct Locked(usize);

impl Locked {
    fn partition(p: usize) -> Locked {
        unsafe {
            pg_sys::LWLockAcquire(
                &raw mut (*LOCKS.add(p)).lock,
                pg_sys::LWLockMode::LW_EXCLUSIVE,
            )
        };
        Locked(p)
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        unsafe { pg_sys::LWLockRelease(&raw mut (*LOCKS.add(self.0)).lock) };
    }
}

/// Adds a bucket into shared memory; false when its partition is full (write it directly).
pub fn add(subject: Subject, key: &Key, bucket: &Bucket) -> bool {
    let name = key.name.as_bytes();
    if name.len() > MAX_NAME_BYTES {
        return false;
    }
    let subject_code = subject as u8;
    let method = method_code(key.method.as_deref());
    let h = hash(subject_code, method, key.hour, name);
    let p = (h % PARTITIONS as u64) as usize;
    let start = ((h / PARTITIONS as u64) % SLOTS_PER_PARTITION as u64) as usize;
    let _lock = Locked::partition(p);
    // SAFETY: the partition's lock is held; SHARED points at memory sized for Shared.
    let part = unsafe { &mut (*SHARED).partitions[p] };
    for i in 0..SLOTS_PER_PARTITION {
        let slot = &mut part.slots[(start + i) % SLOTS_PER_PARTITION];
        if !slot.used {
            slot.used = true;
            slot.subject = subject_code;
            slot.method = method;
            slot.hash = h;
            slot.hour = key.hour;
            slot.name_len = name.len() as u16;
            slot.name[..name.len()].copy_from_slice(name);
            slot.total = 0;
            slot.successful = 0;
            slot.failed = 0;
            slot.sum_ms = 0.0;
            slot.min_ms = f64::INFINITY;
            slot.max_ms = f64::NEG_INFINITY;
            slot.last_at = i64::MIN;
            slot.counts = [0; BUCKETS];
            add_into(slot, bucket);
            return true;
        }
        if slot.hash == h
            && slot.subject == subject_code
            && slot.method == method
            && slot.hour == key.hour
            && &slot.name[..slot.name_len as usize] == name
        {
            add_into(slot, bucket);
            return true;
        }
    }
    false
}

fn add_into(slot: &mut Slot, b: &Bucket) {
    slot.total += b.total;
    slot.successful += b.successful;
    slot.failed += b.failed;
    slot.sum_ms += b.sum_ms;
    slot.min_ms = slot.min_ms.min(b.min_ms);
    slot.max_ms = slot.max_ms.max(b.max_ms);
    slot.last_at = slot.last_at.max(b.last_at);
    for (i, n) in b.sketch.buckets() {
        slot.counts[i] = slot.counts[i].saturating_add(n.min(u32::MAX as u64) as u32);
    }
}

/// Takes everything out of the buffer (partition by partition, each lock held only to copy).
fn drain() -> Vec<(Subject, Key, Bucket)> {
    let mut out = Vec::new();
    for p in 0..PARTITIONS {
        let _lock = Locked::partition(p);
        // SAFETY: the partition's lock is held.
        let part = unsafe { &mut (*SHARED).partitions[p] };
        for slot in part.slots.iter_mut().filter(|s| s.used) {
            let subject = if slot.subject == 0 {
                Subject::Route
            } else {
                Subject::Operation
            };
            let key = Key {
                name: String::from_utf8_lossy(&slot.name[..slot.name_len as usize]).into_owned(),
                method: (slot.method > 0).then(|| METHODS[slot.method as usize - 1].to_string()),
                hour: slot.hour,
            };
            let bucket = Bucket {
                total: slot.total,
                successful: slot.successful,
                failed: slot.failed,
                sum_ms: slot.sum_ms,
                min_ms: slot.min_ms,
                max_ms: slot.max_ms,
                last_at: slot.last_at,
                sketch: LatencySketch::from_dense(&slot.counts),
            };
            out.push((subject, key, bucket));
            slot.used = false;
        }
    }
    out
}

/// What the worker took out of shared memory and has not written yet, in key order.
type Pending = BTreeMap<(Subject, Key), Bucket>;

/// Most buckets kept for a retry; beyond that a persistently failing write starts dropping
/// (and says so), rather than growing without bound.
const MAX_PENDING: usize = 200_000;

/// Moves what the buffer holds into `pending` and writes it all in one transaction. On
/// failure the transaction is rolled back and `pending` keeps everything for the next try.
fn flush(pending: &mut Pending) -> bool {
    for (subject, key, bucket) in drain() {
        match pending.get_mut(&(subject, key.clone())) {
            Some(b) => b.merge(&bucket),
            None => {
                pending.insert((subject, key), bucket);
            }
        }
    }
    if pending.is_empty() {
        return true;
    }
    match write(pending) {
        Ok(()) => {
            let events: u64 = pending.values().map(|b| b.total).sum();
            debug1!(
                "metrics: wrote {events} buffered events in {} rows",
                pending.len()
            );
            pending.clear();
            true
        }
        Err(why) => {
            warning!(
                "metrics buffer writer: writing {} buffered rows failed, retrying in a second: {why}",
                pending.len()
            );
            if pending.len() > MAX_PENDING {
                let dropped = pending.len() - MAX_PENDING;
                while pending.len() > MAX_PENDING {
                    pending.pop_last();
                }
                warning!("metrics buffer writer: dropped {dropped} buffered rows that could not be written");
            }
            false
        }
    }
}

/// One transaction that adds every pending bucket, or an error after rolling it back.
fn write(pending: &Pending) -> Result<(), String> {
    PgTryBuilder::new(|| {
        unsafe {
            pg_sys::SetCurrentStatementStartTimestamp();
            pg_sys::StartTransactionCommand();
            pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
        }
        for subject in [Subject::Route, Subject::Operation] {
            store::add(
                subject,
                pending
                    .iter()
                    .filter(|((s, _), _)| *s == subject)
                    .map(|((_, k), b)| (k, b)),
            );
        }
        unsafe {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommitTransactionCommand();
        }
        Ok(())
    })
    .catch_others(|e| {
        let why = match &e {
            CaughtError::PostgresError(report) | CaughtError::ErrorReport(report) => {
                report.message().to_string()
            }
            CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
        };
        unsafe {
            pg_sys::AbortCurrentTransaction();
            pg_sys::MemoryContextSwitchTo(pg_sys::TopMemoryContext);
        }
        Err(why)
    })
    .execute()
}

/// The background worker: writes the buffer every `metrics.flush_interval`, and once more
/// when asked to stop (a clean shutdown).
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn metrics_buffer_writer_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = guc::buffer_database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    log!(
        "metrics buffer writer started for database \"{database}\", every {} s",
        guc::flush_interval_secs()
    );
    let mut pending = Pending::new();
    let mut wait = Duration::from_secs(guc::flush_interval_secs());
    loop {
        let running = BackgroundWorker::wait_latch(Some(wait));
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        let written = flush(&mut pending);
        if !running {
            break;
        }
        wait = if written {
            Duration::from_secs(guc::flush_interval_secs())
        } else {
            Duration::from_secs(1)
        };
    }
    // Asked to stop: a few more tries if the last write failed, then say what is lost.
    for _ in 0..3 {
        if flush(&mut pending) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if pending.is_empty() {
        log!("metrics buffer writer: buffered events written, stopping");
    } else {
        let events: u64 = pending.values().map(|b| b.total).sum();
        warning!("metrics buffer writer: stopping with {events} buffered events that could not be written");
    }
}
