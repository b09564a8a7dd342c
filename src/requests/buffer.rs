//! Buffered mode: recorded buckets add up in shared memory, and a background worker
//! (`writer`) writes them into the tables every `metrics.flush_interval` and when the server
//! shuts down cleanly, the way pg_stat_statements keeps its counters in shared memory.
//!
//! The buffer is a fixed hash table of `PARTITIONS * SLOTS_PER_PARTITION` slots, one per
//! (route, method, hour, project) or (operation, hour, project) seen since the last write. A key's partition
//! and first slot come from its hash; each partition has its own LWLock, held only to add a
//! few numbers, so concurrent callers rarely wait for each other and never for disk. A slot
//! keeps the bucket's `Totals` as they are and the dense form of its latency sketch
//! (`sketch::BUCKETS` counters). When a partition is full, the caller writes that bucket
//! directly instead: nothing is dropped. Durability: a crash (or an immediate shutdown) loses
//! what was added since the last write, at most one interval (see `writer`).

use std::ffi::CStr;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use pgrx::bgworkers::BackgroundWorkerBuilder;
use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::pg::guc;
use crate::requests::bucket::{Bucket, Totals};
use crate::requests::event::{Key, Subject, MAX_NAME_BYTES, METHODS};
use crate::requests::sketch::{LatencySketch, BUCKETS};

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
    /// Whether the bucket is a project's (`project` holds its id) or of no project.
    scoped: bool,
    hash: u64,
    hour: i64,
    project: [u8; 16],
    totals: Totals,
    name: [u8; MAX_NAME_BYTES],
    counts: [u32; BUCKETS],
}

#[repr(C)]
struct Partition {
    slots: [Slot; SLOTS_PER_PARTITION],
}

/// What the health check (`metrics.health()`, buffer_writer_lag) reads: events added since
/// the server started, how many of them the writer has written, and when it last caught up.
#[repr(C)]
struct Stats {
    /// Events added into the buffer (counted under the partition's lock, after the add).
    added: AtomicU64,
    /// `added` as it was just before the last drain whose write committed: every event
    /// counted up to it is in the tables (or was dropped and said so).
    written: AtomicU64,
    /// When the writer last caught up (or started), PostgreSQL microseconds; 0: never.
    last_write: AtomicI64,
}

#[repr(C)]
struct Shared {
    partitions: [Partition; PARTITIONS],
    stats: Stats,
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
    // A backend's database never changes, nor does metrics.buffer_database (a server
    // setting): asked once per backend, not on every recorded request.
    thread_local! {
        static HERE: std::cell::OnceCell<Result<(), String>> = const { std::cell::OnceCell::new() };
    }
    HERE.with(|here| here.get_or_init(in_buffer_database).clone())
}

fn in_buffer_database() -> Result<(), String> {
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

fn hash(subject: u8, method: u8, hour: i64, project: Option<&[u8; 16]>, name: &[u8]) -> u64 {
    let h = fnv1a(&[subject, method], 0xcbf29ce484222325);
    let h = fnv1a(&hour.to_le_bytes(), h);
    let h = match project {
        Some(id) => fnv1a(id, fnv1a(&[1], h)),
        None => h,
    };
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
    let h = hash(subject_code, method, key.hour, key.project.as_ref(), name);
    let (scoped, project) = (key.project.is_some(), key.project.unwrap_or_default());
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
            slot.scoped = scoped;
            slot.project = project;
            slot.name_len = name.len() as u16;
            slot.name[..name.len()].copy_from_slice(name);
            slot.totals = Totals::EMPTY;
            slot.counts = [0; BUCKETS];
            add_into(slot, bucket);
            counted(bucket);
            return true;
        }
        if slot.hash == h
            && slot.subject == subject_code
            && slot.method == method
            && slot.hour == key.hour
            && slot.scoped == scoped
            && slot.project == project
            && &slot.name[..slot.name_len as usize] == name
        {
            add_into(slot, bucket);
            counted(bucket);
            return true;
        }
    }
    false
}

fn stats() -> &'static Stats {
    // SAFETY: only called where the buffer exists (SHARED set at shared memory startup);
    // the fields are atomics.
    unsafe { &(*SHARED).stats }
}

/// Counts a bucket's events as added (with its partition's lock held, so a drain that
/// follows a read of the count finds them).
fn counted(bucket: &Bucket) {
    stats()
        .added
        .fetch_add(bucket.totals.total, Ordering::SeqCst);
}

/// The count of added events, read by the writer just before it drains.
pub fn added_so_far() -> u64 {
    stats().added.load(Ordering::SeqCst)
}

/// The writer caught up: every event counted up to `through` is written, at `at`.
pub fn mark_written(through: u64, at: i64) {
    stats().written.store(through, Ordering::SeqCst);
    stats().last_write.store(at, Ordering::SeqCst);
}

/// The writer started: its lag counts from now, not from the server's start.
pub fn mark_started(at: i64) {
    stats().last_write.store(at, Ordering::SeqCst);
}

/// The writer as the health check sees it.
#[derive(Debug, Clone, Copy)]
pub struct WriterStats {
    /// Events added since the last write that committed.
    pub waiting: u64,
    /// When the writer last caught up or started (PostgreSQL microseconds; 0: never).
    pub last_write: i64,
}

/// The writer's state, or `None` when the library is not preloaded (no buffer).
pub fn writer_stats() -> Option<WriterStats> {
    if !PRELOADED.load(Ordering::SeqCst) || unsafe { SHARED.is_null() } {
        return None;
    }
    let s = stats();
    Some(WriterStats {
        waiting: s
            .added
            .load(Ordering::SeqCst)
            .saturating_sub(s.written.load(Ordering::SeqCst)),
        last_write: s.last_write.load(Ordering::SeqCst),
    })
}

fn add_into(slot: &mut Slot, b: &Bucket) {
    slot.totals.merge(&b.totals);
    for (i, n) in b.sketch.buckets() {
        slot.counts[i] = slot.counts[i].saturating_add(n.min(u32::MAX as u64) as u32);
    }
}

/// Takes everything out of the buffer (partition by partition, each lock held only to copy).
pub fn drain() -> Vec<(Subject, Key, Bucket)> {
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
                project: slot.scoped.then_some(slot.project),
            };
            let bucket = Bucket {
                totals: slot.totals,
                sketch: LatencySketch::from_dense(&slot.counts),
            };
            out.push((subject, key, bucket));
            slot.used = false;
        }
    }
    out
}
