//! A mergeable distinct-count sketch, so that the weekly and monthly value of a `distinct`
//! metric (WAU, MAU) is the distinct count of the whole period, computed by merging the
//! per-day sketches, instead of a mean of daily counts; breakdowns use it to count distinct
//! group keys across a period.
//!
//! A [`DistinctSketch`] takes 64-bit hashes computed by PostgreSQL (`hash_record_extended`,
//! `hashtextextended`) and mixes each with murmur3's 64-bit finalizer first, so that values
//! whose PostgreSQL hashes are close still spread over the whole range. It has two forms:
//!
//! - **exact**: the set of mixed hashes, while it holds at most [`EXACT_LIMIT`] of them. Its
//!   estimate is the number of distinct hashes, so small sets (tests, small sites) count
//!   exactly: only two values whose PostgreSQL hashes collide count once, which for 64-bit
//!   hashes is negligible.
//! - **dense**: a HyperLogLog of precision [`PRECISION`] (16,384 registers of 6 bits). Its
//!   estimate is Otmar Ertl's improved estimator ("New cardinality estimation algorithms for
//!   HyperLogLog sketches", 2017), which needs no bias tables and is accurate over the whole
//!   range. The relative standard error is [`RELATIVE_STANDARD_ERROR`], 1.04/√16384 ≈ 0.81%:
//!   about 95% of estimates are within ±1.6% of the true count and 99.7% within ±2.5%.
//!
//! An exact set that grows past the limit, by [`DistinctSketch::add_hash`] or by
//! [`DistinctSketch::merge`], becomes dense. The form and the registers depend only on the
//! set of hashes added (and on whether a merged sketch was already dense), so merge is
//! commutative, associative and idempotent, and merging per-day sketches gives exactly the
//! sketch of the union of the days.
//!
//! # Encoding (version 1)
//!
//! All integers little-endian:
//!
//! ```text
//! exact:  byte 0  tag 1          dense:  byte 0  tag 2
//!         byte 1  precision, 14          byte 1  precision, 14
//!         u16     n, at most EXACT_LIMIT  12,288 bytes: the 16,384 registers, 6 bits each,
//!         n × u64 the mixed hashes,       four to three bytes: registers 4k..4k+3 are the
//!                 strictly increasing     24-bit little-endian word r0 | r1<<6 | r2<<12 | r3<<18
//! ```
//!
//! Each register is at most 51 (64 − 14 + 1). Nothing follows. The empty sketch is
//! `[1, 14, 0, 0]`; an exact encoding (at most 12,004 bytes) is never larger than a dense
//! one (12,290 bytes). The tag is the version: another precision or layout needs new tags.
//! Every valid encoding is canonical (it does not depend on the order of the adds), and
//! [`DistinctSketch::decode`] refuses anything else (truncated, unknown tag, another
//! precision, a register out of range, hashes out of order or repeated, too many hashes,
//! trailing bytes) with an XX001 [`Problem`], never a panic.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::common::problem::{Problem, SqlState};

/// Register index bits of the dense form: m = 2^14 = 16,384 registers.
pub const PRECISION: u8 = 14;
/// Number of registers of the dense form.
const M: usize = 1 << PRECISION;
/// Hash bits left for the rank, q = 64 − p; a register holds 0..=q+1.
const Q: u32 = 64 - PRECISION as u32;
/// Bytes of the packed registers: 6 bits each.
const PACKED: usize = M * 6 / 8;

/// Most distinct hashes the exact form holds; one more makes it dense. Its encoding
/// (4 + 8 × 1,500 = 12,004 bytes) stays below the dense one (2 + 12,288 bytes).
pub const EXACT_LIMIT: usize = 1_500;

/// Relative standard error of a dense estimate, 1.04/√m ≈ 0.81%: about 99.7% of estimates
/// are within ±2.5% (three standard errors). Exact sketches (up to [`EXACT_LIMIT`] distinct
/// values) have no error.
pub const RELATIVE_STANDARD_ERROR: f64 = 1.04 / 128.0;

const TAG_EXACT: u8 = 1;
const TAG_DENSE: u8 = 2;
const EXACT_HEADER: usize = 4;
const DENSE_LEN: usize = 2 + PACKED;

/// The mixed hashes are already uniformly distributed: a `HashSet` of them needs no
/// further hashing (SipHash would cost more than the rest of an add).
#[derive(Default)]
struct MixedHasher(u64);

impl Hasher for MixedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

type HashedSet = HashSet<u64, BuildHasherDefault<MixedHasher>>;

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// The distinct mixed hashes, at most [`EXACT_LIMIT`].
    Exact(HashedSet),
    /// The `M` registers, one byte each, each at most `Q + 1`.
    Dense(Vec<u8>),
}

/// A distinct-count sketch: exact up to [`EXACT_LIMIT`] distinct values, a HyperLogLog
/// with [`RELATIVE_STANDARD_ERROR`] beyond (see the module documentation).
#[derive(Clone, PartialEq, Eq)]
pub struct DistinctSketch {
    repr: Repr,
}

/// The form and the estimate, not 16,384 registers.
impl std::fmt::Debug for DistinctSketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let form = if self.is_exact() { "exact" } else { "dense" };
        write!(f, "DistinctSketch({form}, {})", self.estimate())
    }
}

impl Default for DistinctSketch {
    fn default() -> Self {
        DistinctSketch::new()
    }
}

/// murmur3's 64-bit finalizer: a bijection, so distinct hashes stay distinct, and every
/// input bit affects every output bit.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Adds a mixed hash to dense registers: the top p bits choose the register, the rank is
/// the number of leading zeros of the other q bits plus one (q + 1 when they are all zero).
fn insert(registers: &mut [u8], mixed: u64) {
    let index = (mixed >> Q) as usize;
    let rank = ((mixed << PRECISION).leading_zeros() + 1).min(Q + 1) as u8;
    if registers[index] < rank {
        registers[index] = rank;
    }
}

fn dense_of(hashes: &HashedSet) -> Vec<u8> {
    let mut registers = vec![0u8; M];
    for &h in hashes {
        insert(&mut registers, h);
    }
    registers
}

impl DistinctSketch {
    /// The empty sketch (exact, estimate 0).
    pub fn new() -> Self {
        DistinctSketch {
            repr: Repr::Exact(HashedSet::default()),
        }
    }

    /// Adds one value by its 64-bit PostgreSQL hash; amortised O(1).
    pub fn add_hash(&mut self, h: u64) {
        let mixed = mix(h);
        match &mut self.repr {
            Repr::Dense(registers) => insert(registers, mixed),
            Repr::Exact(hashes) => {
                if hashes.insert(mixed) && hashes.len() > EXACT_LIMIT {
                    self.repr = Repr::Dense(dense_of(hashes));
                }
            }
        }
    }

    /// Adds every value of `other`: the union stays exact while it holds at most
    /// [`EXACT_LIMIT`] hashes; otherwise, or if either side is dense, it is dense (the
    /// register-wise maximum).
    pub fn merge(&mut self, other: &DistinctSketch) {
        match (&mut self.repr, &other.repr) {
            (Repr::Dense(mine), Repr::Dense(theirs)) => {
                for (a, &b) in mine.iter_mut().zip(theirs) {
                    *a = (*a).max(b);
                }
            }
            (Repr::Dense(mine), Repr::Exact(theirs)) => {
                for &h in theirs {
                    insert(mine, h);
                }
            }
            (Repr::Exact(mine), Repr::Dense(theirs)) => {
                let mut registers = theirs.clone();
                for &h in mine.iter() {
                    insert(&mut registers, h);
                }
                self.repr = Repr::Dense(registers);
            }
            (Repr::Exact(mine), Repr::Exact(theirs)) => {
                mine.extend(theirs);
                if mine.len() > EXACT_LIMIT {
                    self.repr = Repr::Dense(dense_of(mine));
                }
            }
        }
    }

    /// Whether the sketch still holds its hashes, so that [`estimate`](Self::estimate) is
    /// the exact number of distinct values.
    pub fn is_exact(&self) -> bool {
        matches!(self.repr, Repr::Exact(_))
    }

    /// The number of distinct values: exact for an exact sketch, otherwise Ertl's improved
    /// estimate, rounded, with [`RELATIVE_STANDARD_ERROR`].
    pub fn estimate(&self) -> u64 {
        match &self.repr {
            Repr::Exact(hashes) => hashes.len() as u64,
            Repr::Dense(registers) => ertl_estimate(registers).round() as u64,
        }
    }
}

/// Ertl's improved raw estimator (2017, algorithm 6) over the register histogram.
fn ertl_estimate(registers: &[u8]) -> f64 {
    let q = Q as usize;
    let mut histogram = [0u32; Q as usize + 2];
    for &r in registers {
        histogram[r as usize] += 1;
    }
    let m = M as f64;
    let mut z = m * tau(1.0 - f64::from(histogram[q + 1]) / m);
    for k in (1..=q).rev() {
        z = 0.5 * (z + f64::from(histogram[k]));
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    let alpha_infinity = 1.0 / (2.0 * std::f64::consts::LN_2);
    // All registers zero: z is infinite and the estimate is 0.
    alpha_infinity * m * m / z
}

/// σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1), infinite at x = 1.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if z == previous {
            return z;
        }
    }
}

/// τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k) / 3, zero at x = 0 and x = 1.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == previous {
            return z / 3.0;
        }
    }
}

impl DistinctSketch {
    /// The version 1 encoding described in the module documentation.
    pub fn encode(&self) -> Vec<u8> {
        match &self.repr {
            Repr::Exact(hashes) => encode_exact(hashes),
            Repr::Dense(registers) => encode_dense(registers),
        }
    }

    /// Decodes [`encode`](Self::encode); bytes that are not exactly such an encoding are
    /// corrupt stored data (XX001), refused without panicking.
    pub fn decode(bytes: &[u8]) -> Result<DistinctSketch, Problem> {
        parse(bytes).map_err(|what| {
            Problem::new(
                SqlState::DataCorrupted,
                format!("invalid distinct sketch: {what}"),
            )
            .detail(
                "The extension never writes such bytes; they were written or changed around it.",
            )
            .hint("recompute the days it was read from with metrics.recollect(..., 'repair')")
        })
    }

    /// [`decode`](Self::decode) for the sketch stored in row `key` of `metrics.table`: the
    /// error is [`Problem::corrupt_row`], naming the row, with the caller's repair `hint`.
    pub fn decode_row(
        bytes: &[u8],
        table: &str,
        key: &str,
        hint: &str,
    ) -> Result<DistinctSketch, Problem> {
        parse(bytes).map_err(|what| {
            Problem::corrupt_row(table, key, format!("not a distinct sketch: {what}"), hint)
        })
    }
}

fn encode_exact(hashes: &HashedSet) -> Vec<u8> {
    let mut sorted: Vec<u64> = hashes.iter().copied().collect();
    sorted.sort_unstable();
    let mut out = Vec::with_capacity(EXACT_HEADER + 8 * sorted.len());
    out.extend([TAG_EXACT, PRECISION]);
    // At most EXACT_LIMIT, which fits in a u16.
    out.extend((sorted.len() as u16).to_le_bytes());
    for h in sorted {
        out.extend(h.to_le_bytes());
    }
    out
}

fn encode_dense(registers: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DENSE_LEN);
    out.extend([TAG_DENSE, PRECISION]);
    for four in registers.chunks_exact(4) {
        let word = four
            .iter()
            .enumerate()
            .fold(0u32, |w, (i, &r)| w | u32::from(r) << (6 * i));
        out.extend(&word.to_le_bytes()[..3]);
    }
    out
}

/// Checks and reads an encoding; the error says what is wrong with the bytes.
fn parse(bytes: &[u8]) -> Result<DistinctSketch, String> {
    let [tag, precision, ..] = *bytes else {
        return Err(format!("truncated: {} bytes, no header", bytes.len()));
    };
    if tag != TAG_EXACT && tag != TAG_DENSE {
        return Err(format!(
            "unknown tag {tag} (this release reads {TAG_EXACT}, exact, and {TAG_DENSE}, dense)"
        ));
    }
    if precision != PRECISION {
        return Err(format!(
            "precision {precision}, this release reads precision {PRECISION} only"
        ));
    }
    let repr = if tag == TAG_EXACT {
        Repr::Exact(parse_exact(bytes)?)
    } else {
        Repr::Dense(parse_dense(bytes)?)
    };
    Ok(DistinctSketch { repr })
}

/// Refuses a length other than the one the header announces, saying which way it is off.
fn check_length(len: usize, expected: usize, what: &str) -> Result<(), String> {
    match len.cmp(&expected) {
        std::cmp::Ordering::Less => Err(format!("truncated: {len} bytes, {what} has {expected}")),
        std::cmp::Ordering::Greater => Err(format!(
            "{} trailing bytes: {what} has {expected}",
            len - expected
        )),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

fn parse_exact(bytes: &[u8]) -> Result<HashedSet, String> {
    let Some(&[lo, hi]) = bytes.get(2..EXACT_HEADER) else {
        return Err(format!("truncated: {} bytes, no count", bytes.len()));
    };
    let n = usize::from(u16::from_le_bytes([lo, hi]));
    if n > EXACT_LIMIT {
        return Err(format!(
            "{n} hashes, an exact sketch holds at most {EXACT_LIMIT}"
        ));
    }
    check_length(
        bytes.len(),
        EXACT_HEADER + 8 * n,
        &format!("an exact sketch of {n} hashes"),
    )?;
    let mut hashes = HashedSet::with_capacity_and_hasher(n, Default::default());
    let mut previous = None;
    for (i, chunk) in bytes[EXACT_HEADER..].chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let h = u64::from_le_bytes(word);
        if previous.is_some_and(|p| p >= h) {
            return Err(format!(
                "hash {i} is not greater than the one before (hashes must be sorted and unique)"
            ));
        }
        previous = Some(h);
        hashes.insert(h);
    }
    Ok(hashes)
}

fn parse_dense(bytes: &[u8]) -> Result<Vec<u8>, String> {
    check_length(bytes.len(), DENSE_LEN, "a dense sketch")?;
    let mut registers = Vec::with_capacity(M);
    for three in bytes[2..].chunks_exact(3) {
        let word = u32::from_le_bytes([three[0], three[1], three[2], 0]);
        registers.extend((0..4).map(|i| ((word >> (6 * i)) & 0x3f) as u8));
    }
    if let Some(i) = registers.iter().position(|&r| u32::from(r) > Q + 1) {
        return Err(format!(
            "register {i} holds {}, at most {} is possible",
            registers[i],
            Q + 1
        ));
    }
    Ok(registers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for PostgreSQL's hash: splitmix64's finalizer, a bijection unrelated to
    /// the sketch's own mixing.
    fn pseudo_hash(v: u64) -> u64 {
        let mut z = v.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `n` distinct values, different for every seed.
    fn values(seed: u64, n: u64) -> impl Iterator<Item = u64> {
        (0..n).map(move |i| (seed << 40) | i)
    }

    fn sketch_of(values: impl IntoIterator<Item = u64>) -> DistinctSketch {
        let mut s = DistinctSketch::new();
        for v in values {
            s.add_hash(pseudo_hash(v));
        }
        s
    }

    fn relative_error(s: &DistinctSketch, n: u64) -> f64 {
        (s.estimate() as f64 - n as f64) / n as f64
    }

    #[test]
    fn the_empty_sketch_counts_zero() {
        let s = DistinctSketch::new();
        assert!(s.is_exact());
        assert_eq!(s.estimate(), 0);
        assert_eq!(s.encode(), [1, 14, 0, 0]);
        assert_eq!(s, DistinctSketch::default());
        let dense = DistinctSketch {
            repr: Repr::Dense(vec![0; M]),
        };
        assert_eq!(dense.estimate(), 0, "all registers zero");
    }

    #[test]
    fn small_sets_count_exactly_with_duplicates() {
        let s = sketch_of((0..3).flat_map(|_| values(1, 1000)));
        assert!(s.is_exact());
        assert_eq!(s.estimate(), 1000);
        let mut one = DistinctSketch::new();
        one.add_hash(42);
        one.add_hash(42);
        assert_eq!(one.estimate(), 1);
    }

    #[test]
    fn the_exact_form_becomes_dense_past_the_limit() {
        let limit = EXACT_LIMIT as u64;
        let mut s = sketch_of(values(2, limit));
        assert!(s.is_exact());
        assert_eq!(s.estimate(), limit);
        s.add_hash(pseudo_hash(2 << 40)); // a value already in
        assert!(s.is_exact(), "a duplicate does not convert");
        s.add_hash(pseudo_hash((2 << 40) | limit));
        assert!(!s.is_exact());
        assert!(relative_error(&s, limit + 1).abs() <= 3.0 * RELATIVE_STANDARD_ERROR);
        assert_eq!(s, sketch_of(values(2, limit + 1)));
        let mut more = s.clone();
        more.add_hash(pseudo_hash(7));
        assert!(!more.is_exact(), "dense stays dense");
    }

    #[test]
    fn exact_merges_stay_exact_below_the_limit_and_turn_dense_above() {
        let mut a = sketch_of(values(3, 700));
        a.merge(&sketch_of((600..1300).map(|i| (3 << 40) | i)));
        assert!(a.is_exact());
        assert_eq!(a.estimate(), 1300);

        let mut b = sketch_of(values(4, 1000));
        b.merge(&sketch_of((600..1600).map(|i| (4 << 40) | i)));
        assert!(!b.is_exact(), "1,600 distinct is past the limit");
        assert_eq!(b.encode(), sketch_of(values(4, 1600)).encode());
        assert!(relative_error(&b, 1600).abs() <= 3.0 * RELATIVE_STANDARD_ERROR);
    }

    /// Within three standard errors at every scale, from just past the exact limit (where
    /// Ertl's estimator replaces linear counting) to ten million.
    #[test]
    fn estimates_are_within_three_standard_errors() {
        for (seed, n) in [
            (10, 2_000),
            (11, 10_000),
            (12, 100_000),
            (13, 1_000_000),
            (14, 10_000_000),
        ] {
            let s = sketch_of(values(seed, n));
            let error = relative_error(&s, n);
            eprintln!(
                "n = {n}: estimate {}, error {:+.3}%",
                s.estimate(),
                100.0 * error
            );
            assert!(!s.is_exact());
            assert!(
                error.abs() <= 3.0 * RELATIVE_STANDARD_ERROR,
                "n = {n}: estimate {} is {:+.2}% off",
                s.estimate(),
                100.0 * error
            );
        }
    }

    /// Over many seeds the estimator has no visible bias, and its spread is the standard
    /// error: the mean of 24 errors is within 3σ/√24, their root mean square near σ.
    #[test]
    fn errors_over_seeds_are_unbiased_and_of_the_stated_size() {
        let seeds = 24;
        for n in [3_000, 30_000, 300_000] {
            let errors: Vec<f64> = (0..seeds)
                .map(|seed| relative_error(&sketch_of(values(100 + seed, n)), n))
                .collect();
            let mean = errors.iter().sum::<f64>() / seeds as f64;
            let rms = (errors.iter().map(|e| e * e).sum::<f64>() / seeds as f64).sqrt();
            eprintln!(
                "n = {n}: mean error {:+.3}%, rms {:.3}%",
                100.0 * mean,
                100.0 * rms
            );
            let sigma = RELATIVE_STANDARD_ERROR;
            assert!(
                mean.abs() <= 3.0 * sigma / (seeds as f64).sqrt(),
                "n = {n}: bias {mean}"
            );
            assert!(rms <= 1.5 * sigma, "n = {n}: rms {rms}");
            assert!(
                rms >= 0.5 * sigma,
                "n = {n}: rms {rms} is suspiciously small"
            );
        }
    }

    /// The mixing spreads even hashes that are consecutive integers (a weak hash).
    #[test]
    fn consecutive_hashes_are_spread_by_the_mixing() {
        for n in [5_000u64, 200_000] {
            let mut s = DistinctSketch::new();
            for h in 0..n {
                s.add_hash(h);
            }
            let error = relative_error(&s, n);
            assert!(
                error.abs() <= 3.0 * RELATIVE_STANDARD_ERROR,
                "n = {n}: {error}"
            );
        }
    }

    #[test]
    fn the_series_have_their_end_values() {
        assert_eq!(sigma(0.0), 0.0);
        assert_eq!(sigma(1.0), f64::INFINITY);
        assert_eq!(tau(0.0), 0.0);
        assert_eq!(tau(1.0), 0.0);
        // σ(x) ≥ x and τ is positive in between.
        assert!(sigma(0.5) > 0.5 && tau(0.5) > 0.0);
    }

    /// Seven days of users from a sliding window: day d sees users d·step .. d·step + width,
    /// so most users come back on several days.
    fn days(seed: u64, width: u64, step: u64) -> Vec<DistinctSketch> {
        (0..7)
            .map(|d| sketch_of((d * step..d * step + width).map(|i| (seed << 40) | i)))
            .collect()
    }

    fn merged<'a>(sketches: impl IntoIterator<Item = &'a DistinctSketch>) -> DistinctSketch {
        let mut total = DistinctSketch::new();
        for s in sketches {
            total.merge(s);
        }
        total
    }

    /// Merging the days in any order, or as a tree, gives the sketch of the week's users.
    fn assert_week(seed: u64, width: u64, step: u64) -> DistinctSketch {
        let days = days(seed, width, step);
        let week = sketch_of(values(seed, 6 * step + width));
        let forward = merged(&days);
        let backward = merged(days.iter().rev());
        let mut halves = merged(&days[3..]);
        halves.merge(&merged(&days[..3]));
        for (order, m) in [
            ("forward", &forward),
            ("backward", &backward),
            ("tree", &halves),
        ] {
            assert_eq!(m.encode(), week.encode(), "{order} merge of the week");
            assert_eq!(m, &week, "{order}");
        }
        week
    }

    #[test]
    fn merged_days_are_the_sketch_of_the_period() {
        let small = assert_week(20, 150, 50);
        assert!(small.is_exact());
        assert_eq!(small.estimate(), 450, "returning users count once");
        let across = assert_week(21, 400, 200); // days exact, week of 1,600 dense
        assert!(!across.is_exact());
        let large = assert_week(22, 20_000, 5_000);
        assert!(!large.is_exact());
        assert!(relative_error(&large, 50_000).abs() <= 3.0 * RELATIVE_STANDARD_ERROR);
    }

    #[test]
    fn merge_is_commutative_associative_and_idempotent() {
        let small = sketch_of(values(30, 40));
        let other = sketch_of((20..90).map(|i| (30 << 40) | i));
        let big = sketch_of(values(31, 5_000));
        let all = [&small, &other, &big];
        for a in all {
            let mut twice = a.clone();
            twice.merge(a);
            assert_eq!(&twice, a, "merging a sketch with itself changes nothing");
            for b in all {
                let (mut ab, mut ba) = (a.clone(), b.clone());
                ab.merge(b);
                ba.merge(a);
                assert_eq!(ab, ba, "commutative");
                for c in all {
                    let mut left = ab.clone();
                    left.merge(c);
                    let mut bc = b.clone();
                    bc.merge(c);
                    let mut right = a.clone();
                    right.merge(&bc);
                    assert_eq!(left.encode(), right.encode(), "associative");
                }
            }
        }
        let mut empty = DistinctSketch::new();
        empty.merge(&big);
        assert_eq!(empty, big, "the empty sketch is neutral");
    }

    fn round_trips(s: &DistinctSketch) {
        let bytes = s.encode();
        let back = DistinctSketch::decode(&bytes).unwrap();
        assert_eq!(&back, s);
        assert_eq!(back.encode(), bytes);
        assert_eq!(back.estimate(), s.estimate());
    }

    #[test]
    fn encodings_round_trip_and_do_not_depend_on_the_order_of_adds() {
        let small = sketch_of(values(40, 300));
        let full = sketch_of(values(40, EXACT_LIMIT as u64));
        let dense = sketch_of(values(41, 100_000));
        for s in [&DistinctSketch::new(), &small, &full, &dense] {
            round_trips(s);
        }
        assert_eq!(small.encode().len(), 4 + 8 * 300);
        assert_eq!(full.encode().len(), 12_004);
        assert_eq!(dense.encode().len(), 12_290);
        assert!(full.encode().len() <= dense.encode().len());
        let reversed = sketch_of((0..300).rev().map(|i| (40 << 40) | i));
        assert_eq!(reversed.encode(), small.encode());
        let dense_reversed = sketch_of((0..100_000).rev().map(|i| (41 << 40) | i));
        assert_eq!(dense_reversed.encode(), dense.encode());
    }

    #[test]
    fn the_layout_is_as_documented() {
        let mut s = DistinctSketch::new();
        s.add_hash(5);
        let mut expected = vec![1, 14, 1, 0];
        expected.extend(mix(5).to_le_bytes());
        assert_eq!(s.encode(), expected);
        let mut registers = vec![0u8; M];
        registers[..4].copy_from_slice(&[1, 2, 3, 51]);
        let dense = DistinctSketch {
            repr: Repr::Dense(registers),
        }
        .encode();
        // 1 | 2<<6 | 3<<12 | 51<<18 = 0xcc3081, little-endian.
        assert_eq!(dense[..5], [2, 14, 0x81, 0x30, 0xcc]);
        round_trips(&DistinctSketch::decode(&dense).unwrap());
    }

    /// Decoding fails with XX001 and a message that contains `fragment`.
    fn refused(bytes: &[u8], fragment: &str) {
        let p = DistinctSketch::decode(bytes).unwrap_err();
        assert_eq!(p.state, SqlState::DataCorrupted, "{fragment}");
        assert!(
            p.message.starts_with("invalid distinct sketch: ") && p.message.contains(fragment),
            "expected \"{fragment}\" in: {}",
            p.message
        );
        assert!(p.hint.is_some());
    }

    #[test]
    fn corrupt_exact_encodings_are_refused() {
        let good = sketch_of(values(50, 20)).encode();
        refused(&[], "truncated: 0 bytes, no header");
        refused(&[1], "truncated: 1 bytes, no header");
        refused(&[1, 14, 0], "truncated: 3 bytes, no count");
        for tag in [0, 3, 255] {
            refused(&[tag, 14, 0, 0], &format!("unknown tag {tag}"));
        }
        refused(&[1, 12, 0, 0], "precision 12");
        for len in 0..good.len() {
            refused(&good[..len], "truncated");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        refused(&trailing, "1 trailing bytes");
        let mut swapped = good.clone();
        let (a, b) = (4..12, 12..20);
        let first = good[a.clone()].to_vec();
        swapped.copy_within(b.clone(), a.start);
        swapped[b].copy_from_slice(&first);
        refused(&swapped, "hash 1 is not greater");
        let mut repeated = good.clone();
        repeated.copy_within(4..12, 12);
        refused(&repeated, "hash 1 is not greater");
        let mut too_many = vec![1, 14];
        too_many.extend((EXACT_LIMIT as u16 + 1).to_le_bytes());
        too_many.extend((1..=EXACT_LIMIT as u64 + 1).flat_map(u64::to_le_bytes));
        refused(&too_many, "1501 hashes, an exact sketch holds at most 1500");
    }

    #[test]
    fn corrupt_dense_encodings_are_refused() {
        let good = sketch_of(values(51, 10_000)).encode();
        refused(&good[..good.len() - 1], "truncated: 12289 bytes");
        refused(&good[..2], "truncated: 2 bytes");
        let mut trailing = good.clone();
        trailing.push(0);
        refused(&trailing, "1 trailing bytes");
        let mut precision = good.clone();
        precision[1] = 15;
        refused(&precision, "precision 15");
        for value in [52u32, 63] {
            let mut bad = good.clone();
            // The last register of the last 3-byte word: bits 18..24.
            let at = bad.len() - 1;
            bad[at] = (bad[at] & 0x03) | (value << 2) as u8;
            refused(&bad, &format!("register {} holds {value}", M - 1));
        }
    }

    /// Any byte string decodes to a sketch or an error, never a panic; what decodes
    /// re-encodes to the same bytes.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 7u64;
        let dense = sketch_of(values(52, 3_000)).encode();
        for round in 0..2_000 {
            state = pseudo_hash(state);
            let mut bytes = if round % 2 == 0 {
                dense.clone()
            } else {
                sketch_of(values(53, state % 40)).encode()
            };
            let at = (state >> 20) as usize % bytes.len();
            bytes[at] ^= 1 << (state % 8);
            if round % 7 == 0 {
                bytes.truncate(at);
            }
            if let Ok(s) = DistinctSketch::decode(&bytes) {
                assert_eq!(s.encode(), bytes, "canonical");
            }
        }
    }

    #[test]
    fn stored_sketches_name_their_row() {
        let p = DistinctSketch::decode_row(
            &[9],
            "daily_metrics",
            "(2025-06-01, wau)",
            "recompute it with metrics.recollect",
        )
        .unwrap_err();
        assert_eq!(p.state, SqlState::DataCorrupted);
        assert_eq!(
            p.message,
            "row (2025-06-01, wau) of metrics.daily_metrics cannot be read: \
             not a distinct sketch: truncated: 1 bytes, no header"
        );
        let ok = DistinctSketch::decode_row(&[1, 14, 0, 0], "t", "k", "h").unwrap();
        assert_eq!(ok, DistinctSketch::new());
        assert_eq!(format!("{ok:?}"), "DistinctSketch(exact, 0)");
    }

    /// Ten million adds, as the daily aggregate makes for a busy day: many distinct users
    /// (dense), and a small site's few users over and over (exact). Run with
    /// `cargo test -p metrics-core --release -- --ignored adds_are_fast --nocapture`.
    #[test]
    #[ignore = "a timing, meaningful in a release build only"]
    fn adds_are_fast() {
        for (label, distinct) in [("dense", u64::MAX), ("exact", 1_000)] {
            let hashes: Vec<u64> = (0..10_000_000u64)
                .map(|i| pseudo_hash(i % distinct))
                .collect();
            let start = std::time::Instant::now();
            let mut s = DistinctSketch::new();
            for &h in &hashes {
                s.add_hash(h);
            }
            let elapsed = start.elapsed();
            eprintln!(
                "{label}: 10M adds in {elapsed:?} ({:.1} ns each), estimate {}",
                elapsed.as_nanos() as f64 / 1e7,
                std::hint::black_box(s.estimate())
            );
            if !cfg!(debug_assertions) {
                assert!(elapsed.as_secs_f64() < 0.5, "{label}: {elapsed:?}");
            }
        }
    }
}
