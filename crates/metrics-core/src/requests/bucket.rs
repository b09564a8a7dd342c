//! Hourly buckets: what the events of one (route, method, hour) or (operation, hour) add up
//! to. Counts of requests, successes and failures, the sum, minimum and maximum of the
//! durations and the time of the last event (`Totals`), and a latency sketch. Buckets merge by
//! adding, the sketch exactly, and this is the only merge: direct mode adds a bucket into the
//! hour's row (the upsert does the same sums in SQL), buffered mode into shared memory, the
//! buffer writer merges what it drained, and the reports merge hours and routes.

use std::collections::BTreeMap;

use crate::requests::event::{Event, Key};
use crate::requests::sketch::LatencySketch;

/// A duration in milliseconds, to the microsecond. Durations are recorded so, and every sum of
/// them is a whole number of microseconds: adding two is exact (a sum of durations below
/// 2^53 µs, 285 years, is a whole number the float holds), so a sum is the same whatever the
/// grouping of its parts: a day's sum is the sum of its hours', a week's of its days'. The
/// upsert in SQL rounds the same way (`statements`).
pub fn whole_micros(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// The sum of two sums of durations, to the microsecond (`whole_micros`).
pub fn add_durations(a: f64, b: f64) -> f64 {
    whole_micros(a + b)
}

/// The counts, sums and extremes of a bucket: everything but its sketch. Plain numbers, so
/// the shared-memory buffer keeps them as they are.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub total: u64,
    pub successful: u64,
    pub failed: u64,
    pub sum_ms: f64,
    /// `+inf` while empty, so that any duration is smaller.
    pub min_ms: f64,
    /// `-inf` while empty.
    pub max_ms: f64,
    /// Time of the latest event, microseconds since the Unix epoch (`i64::MIN` while empty).
    pub last_at: i64,
}

impl Totals {
    /// The totals of no event: adding anything to them gives that thing.
    pub const EMPTY: Totals = Totals {
        total: 0,
        successful: 0,
        failed: 0,
        sum_ms: 0.0,
        min_ms: f64::INFINITY,
        max_ms: f64::NEG_INFINITY,
        last_at: i64::MIN,
    };

    /// Adds one event.
    pub fn add(&mut self, e: &Event) {
        self.total += 1;
        if e.success {
            self.successful += 1;
        } else {
            self.failed += 1;
        }
        self.sum_ms = add_durations(self.sum_ms, e.duration_ms);
        self.min_ms = self.min_ms.min(e.duration_ms);
        self.max_ms = self.max_ms.max(e.duration_ms);
        self.last_at = self.last_at.max(e.at);
    }

    /// Adds the totals of another bucket (of the same key, or of keys being rolled up).
    pub fn merge(&mut self, other: &Totals) {
        self.total += other.total;
        self.successful += other.successful;
        self.failed += other.failed;
        self.sum_ms = add_durations(self.sum_ms, other.sum_ms);
        self.min_ms = self.min_ms.min(other.min_ms);
        self.max_ms = self.max_ms.max(other.max_ms);
        self.last_at = self.last_at.max(other.last_at);
    }
}

/// What one bucket adds up.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub totals: Totals,
    pub sketch: LatencySketch,
}

impl Bucket {
    pub fn of(event: &Event) -> Bucket {
        let mut b = Bucket {
            totals: Totals::EMPTY,
            sketch: LatencySketch::new(),
        };
        b.add(event);
        b
    }

    /// Adds one event.
    pub fn add(&mut self, e: &Event) {
        self.totals.add(e);
        self.sketch.add(e.duration_ms);
    }

    /// Adds another bucket (of the same key, or of keys being rolled up).
    pub fn merge(&mut self, other: &Bucket) {
        self.totals.merge(&other.totals);
        self.sketch.merge(&other.sketch);
    }
}

/// Adds events up per bucket (one upsert per bucket instead of one per event).
pub fn aggregate(events: &[Event]) -> BTreeMap<Key, Bucket> {
    let mut out: BTreeMap<Key, Bucket> = BTreeMap::new();
    for e in events {
        let key = e.key();
        match out.get_mut(&key) {
            Some(b) => b.add(e),
            None => {
                out.insert(key, Bucket::of(e));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_of_durations_do_not_depend_on_their_grouping() {
        let parts: Vec<f64> = (0..500)
            .map(|i| whole_micros((i * 7919 % 20011) as f64 / 7.0))
            .collect();
        let one_by_one = parts.iter().fold(0.0, |s, d| add_durations(s, *d));
        let by_hours = parts
            .chunks(24)
            .map(|c| c.iter().fold(0.0, |s, d| add_durations(s, *d)))
            .fold(0.0, add_durations);
        let reversed = parts.iter().rev().fold(0.0, |s, d| add_durations(s, *d));
        assert_eq!(one_by_one.to_bits(), by_hours.to_bits());
        assert_eq!(one_by_one.to_bits(), reversed.to_bits());
        let plain: f64 = parts.iter().sum();
        assert!((plain - one_by_one).abs() < 1e-6);
        assert_eq!(whole_micros(1.0004), 1.0);
        assert_eq!(whole_micros(1.0006), 1.001);
    }
    use crate::requests::batch::parse_batch;
    use crate::requests::event::{test_window, utc, Subject};
    use serde_json::json;

    #[test]
    fn events_add_up_per_bucket() {
        let w = test_window();
        let batch = json!([
            {"route": "/a", "method": "GET", "success": true, "duration_ms": 10, "at": "2025-06-01T11:00:00Z"},
            {"route": "/a", "method": "GET", "success": false, "duration_ms": 30, "at": "2025-06-01T11:59:59Z"},
            {"route": "/a", "method": "POST", "success": true, "duration_ms": 5, "at": "2025-06-01T11:30:00Z"},
            {"route": "/a", "method": "GET", "success": true, "duration_ms": 20, "at": "2025-06-01T12:00:00Z"},
        ]);
        let buckets = aggregate(&parse_batch(Subject::Route, &batch, w).unwrap().events);
        assert_eq!(buckets.len(), 3);
        let get11 = &buckets[&Key {
            name: "/a".into(),
            method: Some("GET".into()),
            hour: utc("2025-06-01 11:00:00"),
            project: None,
        }];
        assert_eq!(
            (
                get11.totals.total,
                get11.totals.successful,
                get11.totals.failed
            ),
            (2, 1, 1)
        );
        assert_eq!(
            (
                get11.totals.sum_ms,
                get11.totals.min_ms,
                get11.totals.max_ms
            ),
            (40.0, 10.0, 30.0)
        );
        assert_eq!(get11.totals.last_at, utc("2025-06-01 11:59:59"));
        assert_eq!(get11.sketch.count(), 2);
        let mut all = buckets.values().next().unwrap().clone();
        for b in buckets.values().skip(1) {
            all.merge(b);
        }
        assert_eq!(
            (all.totals.total, all.totals.successful, all.totals.failed),
            (4, 3, 1)
        );
        assert_eq!(all.sketch.count(), 4);
        assert_eq!((all.totals.min_ms, all.totals.max_ms), (5.0, 30.0));
    }

    #[test]
    fn empty_totals_are_the_identity_of_merge() {
        let mut t = Totals::EMPTY;
        let e = Event {
            name: "/a".into(),
            method: Some("GET".into()),
            success: false,
            duration_ms: 4.5,
            at: utc("2025-06-01 12:00:00"),
            project: None,
        };
        t.merge(&Bucket::of(&e).totals);
        assert_eq!(t, Bucket::of(&e).totals);
        assert_eq!((t.total, t.failed, t.min_ms, t.max_ms), (1, 1, 4.5, 4.5));
        let mut b = Bucket::of(&e);
        b.merge(&Bucket {
            totals: Totals::EMPTY,
            sketch: LatencySketch::new(),
        });
        assert_eq!(b, Bucket::of(&e));
    }
}
