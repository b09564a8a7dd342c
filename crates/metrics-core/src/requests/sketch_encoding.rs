//! The byte encoding of a latency sketch (`latency_sketch` columns, and the argument of the
//! sketch functions), and the merge of two encodings without building either.
//!
//! # Encoding (version 1)
//!
//! [`LatencySketch::to_bytes`] writes, with every integer an unsigned LEB128 varint (7 bits per
//! byte, least significant group first, high bit set on every byte but the last, at most 10
//! bytes, shortest form only):
//!
//! ```text
//! byte 0        format version, 1
//! varint        m, the number of non-empty buckets (at most BUCKETS)
//! m times:      varint gap, varint count
//! ```
//!
//! in increasing bucket order, where `gap` is the number of empty buckets skipped since the
//! previous non-empty one (for the first, its index: bucket = previous + 1 + gap, starting from
//! previous = -1) and `count >= 1`. Nothing follows. The total count is not stored; it is the sum
//! of the counts and must fit in a `u64`. The empty sketch is `[1, 0]`. Version 1 includes the
//! bucket mapping: `RELATIVE_ACCURACY = 0.01`, `MIN_TRACKED_MS = 0.001`, the zero bucket and
//! 1,261 buckets; changing any of them needs a new version number. Every valid encoding is
//! canonical: decoding and re-encoding gives back the same bytes. [`LatencySketch::from_bytes`]
//! refuses anything else (truncated, unknown version, overlong or non-minimal varints, buckets
//! out of range, zero counts, a total that overflows, trailing bytes) with a [`SketchError`],
//! and never panics.
//!
//! # Encoding (version 2: version 1 with pending single events)
//!
//! ```text
//! byte 0        format version, 2
//! varint        t, the number of pending events (1..=TAIL_MAX)
//! t times:      u16 little-endian bucket index of one event
//! ...           the version 1 encoding without its version byte (m, then the pairs)
//! ```
//!
//! [`merge_encoded`] writes it when one event is added to a stored sketch: it copies the stored
//! bytes and inserts the event's bucket near the front, instead of re-encoding every bucket.
//! That is what direct recording does for every request, and since the bytes after the
//! pending events do not change, PostgreSQL logs an update of the row without them (an update
//! inside the same page logs only the bytes between the first and last difference). After
//! `TAIL_MAX` pending events the next merge folds them in and writes version 1 again. Decoding
//! adds the pending events to their buckets; `to_bytes` always writes version 1, so only
//! version 1 encodings are canonical.

use std::fmt;

use crate::requests::sketch::{LatencySketch, BUCKETS};

/// Encoding version written by [`LatencySketch::to_bytes`].
const FORMAT_VERSION: u8 = 1;
/// The version with pending single events in front (see the module docs).
const TAIL_VERSION: u8 = 2;
/// Most pending events a version 2 encoding holds before a merge folds them in: about the
/// square root of a busy hour's encoded size, which balances the bytes an update logs for the
/// pending events against the full rewrite of each fold.
pub const TAIL_MAX: usize = 24;

/// Why bytes are not a latency sketch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SketchError(String);

impl SketchError {
    fn new(message: impl Into<String>) -> Self {
        SketchError(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SketchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid latency sketch: {}", self.0)
    }
}

impl std::error::Error for SketchError {}

impl LatencySketch {
    /// The version 1 encoding described in the module documentation.
    pub fn to_bytes(&self) -> Vec<u8> {
        let pairs: Vec<(usize, u64)> = self.buckets().collect();
        encode_pairs(&pairs)
    }

    /// Decodes [`LatencySketch::to_bytes`]; refuses anything that is not exactly such an
    /// encoding, without panicking.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SketchError> {
        let (pairs, count) = decode_pairs(bytes)?;
        Ok(LatencySketch::from_checked(
            pairs.into_iter().collect(),
            count,
        ))
    }
}

/// Appends `x` as an unsigned LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Reads a shortest-form unsigned LEB128 varint of at most 10 bytes at `*pos`, advancing it.
fn get_varint(bytes: &[u8], pos: &mut usize) -> Result<u64, SketchError> {
    let start = *pos;
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *bytes
            .get(*pos)
            .ok_or_else(|| SketchError::new(format!("truncated at byte {}", *pos)))?;
        *pos += 1;
        let payload = u64::from(byte & 0x7f);
        if i == 9 && payload > 1 {
            return Err(SketchError::new(format!(
                "integer at byte {start} overflows 64 bits"
            )));
        }
        value |= payload << (7 * i);
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return Err(SketchError::new(format!(
                    "integer at byte {start} is not in its shortest form"
                )));
            }
            return Ok(value);
        }
    }
    Err(SketchError::new(format!(
        "integer at byte {start} is longer than 10 bytes"
    )))
}

/// A checked encoding: where its version 1 body starts, its pending events, and its pairs.
struct Parsed {
    body_start: usize,
    tail: Vec<usize>,
    pairs: Vec<(usize, u64)>,
    total: u64,
}

/// Checks an encoding of either version without folding the pending events in.
fn parse(bytes: &[u8]) -> Result<Parsed, SketchError> {
    let (&version, _) = bytes
        .split_first()
        .ok_or_else(|| SketchError::new("no bytes"))?;
    let mut pos = 1;
    let tail = match version {
        FORMAT_VERSION => Vec::new(),
        TAIL_VERSION => parse_tail(bytes, &mut pos)?,
        _ => {
            return Err(SketchError::new(format!(
                "unknown format version {version} (this release reads versions {FORMAT_VERSION} and {TAIL_VERSION})"
            )))
        }
    };
    let body_start = pos;
    let (pairs, total) = parse_pairs(bytes, &mut pos, tail.len() as u64)?;
    if pos != bytes.len() {
        return Err(SketchError::new(format!(
            "{} trailing bytes after byte {pos}",
            bytes.len() - pos
        )));
    }
    Ok(Parsed {
        body_start,
        tail,
        pairs,
        total,
    })
}

/// The pending events of a version 2 encoding: their number, then a `u16` bucket each.
fn parse_tail(bytes: &[u8], pos: &mut usize) -> Result<Vec<usize>, SketchError> {
    let t = get_varint(bytes, pos)?;
    if t == 0 || t > TAIL_MAX as u64 {
        return Err(SketchError::new(format!(
            "{t} pending events announced, 1 to {TAIL_MAX} are allowed"
        )));
    }
    let mut tail = Vec::with_capacity(t as usize);
    for _ in 0..t {
        let at = *pos;
        let b = bytes
            .get(at..at + 2)
            .ok_or_else(|| SketchError::new(format!("truncated pending event at byte {at}")))?;
        let bucket = u16::from_le_bytes([b[0], b[1]]) as usize;
        if bucket >= BUCKETS {
            return Err(SketchError::new(format!(
                "pending bucket index out of range (at byte {at}; buckets are 0..{BUCKETS})"
            )));
        }
        tail.push(bucket);
        *pos += 2;
    }
    Ok(tail)
}

/// The version 1 body: the number of non-empty buckets, then (gap, count) pairs in bucket
/// order; returns the pairs and `pending` (the events before the body) plus their counts.
fn parse_pairs(
    bytes: &[u8],
    pos: &mut usize,
    pending: u64,
) -> Result<(Vec<(usize, u64)>, u64), SketchError> {
    let m = get_varint(bytes, pos)?;
    if m > BUCKETS as u64 {
        return Err(SketchError::new(format!(
            "{m} buckets announced, at most {BUCKETS} exist"
        )));
    }
    let mut pairs = Vec::with_capacity(m as usize);
    let mut total = pending;
    let mut next = 0u64;
    for _ in 0..m {
        let at = *pos;
        let gap = get_varint(bytes, pos)?;
        let bucket = next
            .checked_add(gap)
            .filter(|&b| b < BUCKETS as u64)
            .ok_or_else(|| {
                SketchError::new(format!(
                    "bucket index out of range (at byte {at}; buckets are 0..{BUCKETS})"
                ))
            })?;
        let at = *pos;
        let n = get_varint(bytes, pos)?;
        if n == 0 {
            return Err(SketchError::new(format!("zero count at byte {at}")));
        }
        total = total
            .checked_add(n)
            .ok_or_else(|| SketchError::new(format!("total count overflows at byte {at}")))?;
        pairs.push((bucket as usize, n));
        next = bucket + 1;
    }
    Ok((pairs, total))
}

/// Reads an encoding into its (bucket, count) pairs in bucket order, pending events added,
/// and the total count. Refuses every malformed input (see `LatencySketch::from_bytes`).
fn decode_pairs(bytes: &[u8]) -> Result<(Vec<(usize, u64)>, u64), SketchError> {
    Ok(fold(parse(bytes)?))
}

/// Adds a parsed encoding's pending events to its buckets.
fn fold(parsed: Parsed) -> (Vec<(usize, u64)>, u64) {
    let Parsed {
        mut tail,
        pairs,
        total,
        ..
    } = parsed;
    if tail.is_empty() {
        return (pairs, total);
    }
    tail.sort_unstable();
    let mut pending: Vec<(usize, u64)> = Vec::new();
    for b in tail {
        match pending.last_mut() {
            Some((last, n)) if *last == b => *n += 1,
            _ => pending.push((b, 1)),
        }
    }
    (merge_pairs(&pairs, &pending, &mut 0), total)
}

/// Merges two bucket lists; counts of `ys` are cut so that `total` (the running total,
/// updated) never passes u64::MAX, as in `add_bucket`.
fn merge_pairs(xs: &[(usize, u64)], ys: &[(usize, u64)], total: &mut u64) -> Vec<(usize, u64)> {
    let mut out = Vec::with_capacity(xs.len() + ys.len());
    let (mut i, mut j) = (0, 0);
    while i < xs.len() || j < ys.len() {
        if j == ys.len() || (i < xs.len() && xs[i].0 < ys[j].0) {
            out.push(xs[i]);
            i += 1;
            continue;
        }
        let (bucket, n) = ys[j];
        j += 1;
        let n = n.min(u64::MAX - *total);
        *total += n;
        if i < xs.len() && xs[i].0 == bucket {
            out.push((bucket, xs[i].1 + n));
            i += 1;
        } else if n > 0 {
            out.push((bucket, n));
        }
    }
    out
}

fn encode_pairs(pairs: &[(usize, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + 3 * pairs.len());
    out.push(FORMAT_VERSION);
    put_varint(&mut out, pairs.len() as u64);
    let mut next = 0usize;
    for &(bucket, n) in pairs {
        put_varint(&mut out, (bucket - next) as u64);
        put_varint(&mut out, n);
        next = bucket + 1;
    }
    out
}

/// Merges two encoded sketches without building either. Adding a single event to a sketch
/// with room for it copies the stored bytes and inserts the event as pending (version 2);
/// anything else is one pass over both bucket lists, written as version 1. Either way the
/// result decodes to the merge of both (`decode(a).merge(decode(b))`). This is the hot path of
/// direct recording: every upsert merges its event into the hour's row.
pub fn merge_encoded(a: &[u8], b: &[u8]) -> Result<Vec<u8>, SketchError> {
    let x = parse(a)?;
    let (ys, ys_total) = decode_pairs(b)?;
    if ys_total == 1 && x.tail.len() < TAIL_MAX && x.total < u64::MAX {
        let bucket = ys[0].0 as u16;
        let mut out = Vec::with_capacity(a.len() + 4);
        out.push(TAIL_VERSION);
        put_varint(&mut out, x.tail.len() as u64 + 1);
        for &t in &x.tail {
            out.extend_from_slice(&(t as u16).to_le_bytes());
        }
        out.extend_from_slice(&bucket.to_le_bytes());
        out.extend_from_slice(&a[x.body_start..]);
        return Ok(out);
    }
    let (xs, mut total) = fold(x);
    Ok(encode_pairs(&merge_pairs(&xs, &ys, &mut total)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::sketch::test_support::*;

    #[test]
    fn bytes_round_trip_and_stay_small() {
        let mut rng = Rng(1);
        let hour = log_normal(&mut rng, 10_000);
        let s = sketch_of(&hour);
        let bytes = s.to_bytes();
        assert_eq!(LatencySketch::from_bytes(&bytes), Ok(s.clone()));
        // 900 bytes (448 non-empty buckets) for this hour when written.
        assert!(
            bytes.len() < 1_024,
            "a typical hour encodes in {} bytes",
            bytes.len()
        );
        for values in [uniform(&mut rng, 100_000), pareto(&mut rng, 100_000)] {
            let s = sketch_of(&values);
            assert_eq!(LatencySketch::from_bytes(&s.to_bytes()), Ok(s));
        }
        // Every bucket, with counts of every varint length.
        let mut full = LatencySketch::new();
        for b in 0..BUCKETS {
            full.add_bucket(b, 1u64 << (b % 57));
        }
        assert_eq!(LatencySketch::from_bytes(&full.to_bytes()), Ok(full));
        // The exact layout: buckets 0 (x2), 3 (x300) and the last (x1).
        let mut small = LatencySketch::new();
        small.add_bucket(0, 2);
        small.add_bucket(3, 300);
        small.add_bucket(BUCKETS - 1, 1);
        // Gap to the last bucket: 1260 - 4 = 1256 = 0xe8 0x09 (LEB128).
        assert_eq!(
            small.to_bytes(),
            vec![1, 3, 0, 2, 2, 0xac, 0x02, 0xe8, 0x09, 1]
        );
        assert_eq!(LatencySketch::from_bytes(&small.to_bytes()), Ok(small));
    }

    #[test]
    fn malformed_bytes_are_refused() {
        let varint = |x: u64| {
            let mut v = Vec::new();
            put_varint(&mut v, x);
            v
        };
        let big = varint(u64::MAX);
        let past_end = varint(BUCKETS as u64);
        let crafted: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("version only", vec![1]),
            ("version 0", vec![0, 0]),
            ("version 2", vec![2, 0]),
            ("version 255", vec![255, 0]),
            ("trailing byte", vec![1, 0, 0]),
            ("trailing after a bucket", vec![1, 1, 0, 1, 7]),
            ("announced but missing", vec![1, 2, 0, 1]),
            ("count missing", vec![1, 1, 0]),
            ("zero count", vec![1, 1, 5, 0]),
            (
                "bucket = BUCKETS",
                [vec![1, 1], past_end.clone(), vec![1]].concat(),
            ),
            (
                "second bucket past the end",
                [vec![1, 2, 0, 1], varint(BUCKETS as u64 - 1), vec![1]].concat(),
            ),
            (
                "too many buckets",
                [
                    vec![1],
                    varint(BUCKETS as u64 + 1),
                    [0, 1].repeat(BUCKETS + 1),
                ]
                .concat(),
            ),
            ("huge bucket count", [vec![1], big.clone()].concat()),
            (
                "huge gap",
                [vec![1, 2, 0, 1], big.clone(), vec![1]].concat(),
            ),
            (
                "counts overflow",
                [vec![1, 2, 0], big.clone(), vec![0, 1]].concat(),
            ),
            (
                "counts overflow (two huge)",
                [vec![1, 2, 0], big.clone(), vec![0], big.clone()].concat(),
            ),
            ("non-minimal varint", vec![1, 1, 0x80, 0x00, 1]),
            ("non-minimal count", vec![1, 1, 0, 0x81, 0x00]),
            (
                "11-byte varint",
                [vec![1, 1, 0], vec![0xff; 9], vec![0x81, 0x00]].concat(),
            ),
            (
                "varint over 64 bits",
                [vec![1, 1, 0], vec![0xff; 9], vec![0x02]].concat(),
            ),
            ("unterminated varint", vec![1, 1, 0, 0x80]),
        ];
        // The edges of the crafted ones are valid.
        assert!(LatencySketch::from_bytes(
            &[vec![1, 1], varint(BUCKETS as u64 - 1), vec![1]].concat()
        )
        .is_ok());
        assert!(
            LatencySketch::from_bytes(&[vec![1, 1, 0], vec![0xff; 9], vec![0x01]].concat()).is_ok()
        );
        assert!(LatencySketch::from_bytes(&[vec![1, 1, 5, 0x81, 0x01]].concat()).is_ok());
        for (name, bytes) in &crafted {
            let err = LatencySketch::from_bytes(bytes).expect_err(name);
            assert!(!err.message().is_empty(), "{name}");
            assert!(err.to_string().starts_with("invalid latency sketch: "));
        }
        // The largest valid count is accepted.
        let max = [vec![1, 1, 0], big.clone()].concat();
        assert_eq!(LatencySketch::from_bytes(&max).unwrap().count(), u64::MAX);

        // Every strict prefix of a valid encoding is refused.
        let mut rng = Rng(99);
        let valid = sketch_of(&log_normal(&mut rng, 1_000)).to_bytes();
        for len in 0..valid.len() {
            assert!(LatencySketch::from_bytes(&valid[..len]).is_err(), "{len}");
        }
        // Random bytes and random corruptions of valid encodings: never a panic, and whatever
        // is accepted is canonical (re-encodes to the same bytes).
        let mut accepted = 0;
        for i in 0..5_000 {
            let bytes: Vec<u8> = if i % 2 == 0 {
                let len = rng.below(40);
                let mut b: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                if i % 4 == 0 && !b.is_empty() {
                    b[0] = 1;
                }
                b
            } else {
                let mut b = valid.clone();
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(b.len());
                    b[at] = rng.next_u64() as u8;
                }
                if rng.below(4) == 0 {
                    b.truncate(rng.below(b.len() + 1));
                }
                b
            };
            if let Ok(s) = LatencySketch::from_bytes(&bytes) {
                accepted += 1;
                if bytes[0] == FORMAT_VERSION {
                    assert_eq!(s.to_bytes(), bytes);
                }
                assert_eq!(s.buckets().map(|(_, n)| n).sum::<u64>(), s.count());
            }
        }
        assert!(accepted < 5_000);
    }

    #[test]
    fn merging_encodings_equals_merging_sketches() {
        let mut rng = Rng(42);
        for round in 0..200 {
            let mut a = LatencySketch::new();
            let mut b = LatencySketch::new();
            for _ in 0..(round % 17) * 30 {
                a.add(rng.unit() * 3000.0);
            }
            for _ in 0..(round % 5) * 7 {
                b.add(rng.unit() * rng.unit() * 50.0);
            }
            let mut both = a.clone();
            both.merge(&b);
            assert_eq!(
                merge_encoded(&a.to_bytes(), &b.to_bytes()).unwrap(),
                both.to_bytes()
            );
            assert_eq!(
                merge_encoded(&b.to_bytes(), &a.to_bytes()).unwrap(),
                both.to_bytes()
            );
        }
        let ok = LatencySketch::new().to_bytes();
        assert!(merge_encoded(&[], &ok).is_err());
        assert!(merge_encoded(&ok, &[1, 1]).is_err());
        assert!(merge_encoded(&ok, &[1, 0, 9]).is_err());
    }

    #[test]
    fn single_events_merge_as_pending_and_fold_after_tail_max() {
        let mut rng = Rng(7);
        let mut stored = sketch_of(&log_normal(&mut rng, 500)).to_bytes();
        let mut expected = LatencySketch::from_bytes(&stored).unwrap();
        for i in 0..(3 * TAIL_MAX + 5) {
            let v = rng.unit() * 1000.0;
            let mut one = LatencySketch::new();
            one.add(v);
            let before = stored.len();
            stored = merge_encoded(&stored, &one.to_bytes()).unwrap();
            expected.add(v);
            assert_eq!(
                LatencySketch::from_bytes(&stored).unwrap(),
                expected,
                "event {i}"
            );
            // Pending events grow the bytes by two; every TAIL_MAX + 1 events it folds.
            if i % (TAIL_MAX + 1) == TAIL_MAX {
                assert_eq!(stored[0], FORMAT_VERSION, "event {i} folds");
            } else {
                assert_eq!(stored[0], TAIL_VERSION, "event {i} is pending");
                assert!(stored.len() <= before + 3);
            }
        }
        // The bytes after the pending events are the stored version 1 body, unchanged.
        let base = sketch_of(&[1.0, 2.0, 3.0]).to_bytes();
        let with_one = merge_encoded(&base, &sketch_of(&[500.0]).to_bytes()).unwrap();
        assert_eq!(&with_one[with_one.len() - (base.len() - 1)..], &base[1..]);
        assert_eq!(with_one[..2], [TAIL_VERSION, 1]);
        // A version 2 encoding re-encodes as version 1 of the same values.
        let decoded = LatencySketch::from_bytes(&with_one).unwrap();
        assert_eq!(decoded, sketch_of(&[1.0, 2.0, 3.0, 500.0]));
        assert_eq!(decoded.to_bytes()[0], FORMAT_VERSION);
        // Malformed version 2 encodings are refused.
        let body = &base[1..];
        for (label, bytes) in [
            ("no pending events", [vec![2, 0], body.to_vec()].concat()),
            (
                "too many pending",
                [
                    vec![2, TAIL_MAX as u8 + 1],
                    vec![0; 2 * (TAIL_MAX + 1)],
                    body.to_vec(),
                ]
                .concat(),
            ),
            ("truncated pending", vec![2, 2, 5, 0, 7]),
            (
                "pending out of range",
                [
                    vec![2, 1],
                    (BUCKETS as u16).to_le_bytes().to_vec(),
                    body.to_vec(),
                ]
                .concat(),
            ),
            ("no body", vec![2, 1, 5, 0]),
        ] {
            assert!(LatencySketch::from_bytes(&bytes).is_err(), "{label}");
            assert!(merge_encoded(&bytes, &base).is_err(), "{label}");
        }
    }
}
