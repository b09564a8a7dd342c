//! A mergeable latency sketch with a stated relative-error bound (the DDSketch idea: buckets on
//! a logarithmic scale), so that per-hour request latencies can be merged into days, weeks and
//! across routes any number of times and still answer p50/p95/p99 within
//! [`RELATIVE_ACCURACY`] of a true sample value. Merging adds bucket counts, so it is exact,
//! associative and commutative: the merge of the hours is identical to the sketch of all their
//! requests. Never an average of averages, never a percentile of percentiles.
//!
//! # Buckets
//!
//! With `a = RELATIVE_ACCURACY` and `gamma = (1 + a) / (1 - a)`, bucket `0` is the zero bucket
//! (every duration below [`MIN_TRACKED_MS`], including 0, reported as 0), and bucket `k + 1`
//! (`k >= 0`) holds the durations `v` with
//!
//! ```text
//! MIN_TRACKED_MS * gamma^k  <=  v  <  MIN_TRACKED_MS * gamma^(k+1)
//! ```
//!
//! that is `k = floor(ln(v / MIN_TRACKED_MS) / ln(gamma))`, computed by [`bucket_of`] without
//! looping. The last bucket, `BUCKETS - 1`, is the one [`MAX_TRACKED_MS`] falls in; anything
//! above is clamped into it (callers refuse such durations).
//!
//! # Error bound
//!
//! A bucket reports [`representative`]`(k + 1) = MIN_TRACKED_MS * gamma^k * (1 + a)`: since
//! `gamma * (1 - a) = 1 + a`, that is both `lower * (1 + a)` and `upper * (1 - a)` of its bucket
//! `[lower, upper)`, the midpoint in log space in the relative sense (DDSketch writes it
//! `2 * gamma^i / (gamma + 1)` for buckets `(gamma^(i-1), gamma^i]`; here the same value). For
//! every `v` in the bucket, `(1 - a) * v < representative <= (1 + a) * v`, so
//! `|representative - v| <= a * v`. Buckets are ordered like their values, so the bucket where
//! the cumulative count first reaches a rank holds the true sample of that rank: the reported
//! quantile is within `a` of it, relatively (up to floating-point rounding of `ln` and `exp`,
//! below 1e-12), or, in the zero bucket, reported as 0 with an absolute error below
//! `MIN_TRACKED_MS`.
//!
//! # Quantile rank
//!
//! [`LatencySketch::quantile`] uses the rank of PostgreSQL's `percentile_disc`
//! (`orderedsetaggs.c`): the value at 1-based position `K = max(1, ceil(q * N))` of the sorted
//! sample, computed in `f64` exactly as PostgreSQL does; that is the smallest value `v` such that
//! at least `q * N` values are `<= v`.
//!
//!
//! The byte encoding of a sketch, as stored in `latency_sketch` columns, is in
//! `sketch_encoding`.

use std::collections::BTreeMap;

/// Relative accuracy: every quantile returned is within this fraction of a true sample value at
/// that rank.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Smallest duration tracked with the relative bound (milliseconds); below it values go to the
/// zero bucket (reported as 0, absolute error < `MIN_TRACKED_MS`).
pub const MIN_TRACKED_MS: f64 = 0.001;

/// Largest duration tracked with the relative bound (milliseconds): one day. Callers refuse
/// durations above it; the sketch clamps them into its last bucket.
pub const MAX_TRACKED_MS: f64 = 86_400_000.0;

/// `ln(gamma)` with `gamma = (1 + a) / (1 - a)`, that is `2 * atanh(a)` for `a = 0.01`,
/// correctly rounded (checked in a test).
const LN_GAMMA: f64 = 0.020_000_666_706_669_524;

/// Number of buckets of the dense form: the zero bucket plus the log buckets `k = 0..=1259`
/// covering `[MIN_TRACKED_MS, MAX_TRACKED_MS]`, since
/// `floor(ln(86_400_000 / 0.001) / ln(gamma)) = floor(25.1822535 / 0.0200006667)
/// = floor(1259.0707) = 1259`; so `BUCKETS = 1 + 1259 + 1 = 1261` (asserted in a test).
pub const BUCKETS: usize = 1261;

/// The bucket of a duration in milliseconds: 0 for the zero bucket (below `MIN_TRACKED_MS`),
/// otherwise `1 + floor(ln(v / MIN_TRACKED_MS) / ln(gamma))`, clamped to `BUCKETS - 1`.
/// The value must be finite and `>= 0`; anything else is clamped too (negative and NaN to the
/// zero bucket, +infinity to the last), callers refuse it before.
pub fn bucket_of(value_ms: f64) -> usize {
    if value_ms.is_nan() || value_ms < MIN_TRACKED_MS {
        return 0;
    }
    let k = ((value_ms / MIN_TRACKED_MS).ln() / LN_GAMMA).floor();
    if k >= (BUCKETS - 2) as f64 {
        BUCKETS - 1
    } else {
        // 0 <= k < BUCKETS - 2: value_ms >= MIN_TRACKED_MS makes the ratio >= 1.
        k as usize + 1
    }
}

/// The value reported for a bucket: 0 for the zero bucket, otherwise
/// `MIN_TRACKED_MS * gamma^k * (1 + a)` for bucket `k + 1`, within `a = RELATIVE_ACCURACY` of
/// every value of the bucket (see the module documentation). Indexes past the last bucket are
/// clamped to it.
pub fn representative(bucket: usize) -> f64 {
    if bucket == 0 {
        return 0.0;
    }
    let k = (bucket.min(BUCKETS - 1) - 1) as f64;
    MIN_TRACKED_MS * (k * LN_GAMMA).exp() * (1.0 + RELATIVE_ACCURACY)
}

/// Request durations of some period, as counts per bucket (only the non-empty ones).
///
/// The invariant `count == sum of the bucket counts` always holds, and no bucket has a count
/// of 0, so two sketches of the same values are equal (`==`) whatever the order of adds and
/// merges. A sketch holds at most `u64::MAX` values; beyond that, adds and merges drop the excess
/// (saturate) rather than overflow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencySketch {
    /// Bucket index (`< BUCKETS`) -> count (`>= 1`).
    buckets: BTreeMap<usize, u64>,
    /// Sum of the counts.
    count: u64,
}

impl LatencySketch {
    pub fn new() -> Self {
        Self::default()
    }

    /// A sketch of checked buckets (each index `< BUCKETS`, each count `>= 1`) whose counts
    /// add up to `count`: what a valid encoding decodes to.
    pub(crate) fn from_checked(buckets: BTreeMap<usize, u64>, count: u64) -> Self {
        debug_assert_eq!(buckets.values().sum::<u64>(), count);
        LatencySketch { buckets, count }
    }

    /// Adds one duration in milliseconds (see [`bucket_of`] for the range). O(log n).
    pub fn add(&mut self, value_ms: f64) {
        self.add_bucket(bucket_of(value_ms), 1);
    }

    /// Adds `n` values to a bucket (indexes past the last bucket are clamped to it; `n = 0`
    /// changes nothing).
    pub fn add_bucket(&mut self, bucket: usize, n: u64) {
        let n = n.min(u64::MAX - self.count);
        if n == 0 {
            return;
        }
        *self.buckets.entry(bucket.min(BUCKETS - 1)).or_insert(0) += n;
        self.count += n;
    }

    /// Adds every value of `other`: the result is the sketch of both sets of values.
    pub fn merge(&mut self, other: &LatencySketch) {
        for (&bucket, &n) in &other.buckets {
            self.add_bucket(bucket, n);
        }
    }

    /// Number of values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The non-empty buckets, as (bucket, count) in increasing bucket order.
    pub fn buckets(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.buckets.iter().map(|(&b, &n)| (b, n))
    }

    /// The `q` quantile with the rank of `percentile_disc`: the representative of the bucket
    /// holding the value at 1-based position `max(1, ceil(q * count))` of the sorted values,
    /// i.e. the smallest value `v` such that at least `q * count` values are `<= v`. `None` when
    /// the sketch is empty, or when `q` is not in `[0, 1]` (NaN included; PostgreSQL raises an
    /// error there, callers check before).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.quantiles(&[q]).pop().flatten()
    }

    /// [`LatencySketch::quantile`] for several `q` (in any order) in one pass over the buckets.
    pub fn quantiles(&self, qs: &[f64]) -> Vec<Option<f64>> {
        let mut out = vec![None; qs.len()];
        if self.count == 0 {
            return out;
        }
        let mut wanted: Vec<(u64, usize)> = qs
            .iter()
            .enumerate()
            .filter(|(_, q)| (0.0..=1.0).contains(*q))
            .map(|(i, &q)| (rank(q, self.count), i))
            .collect();
        wanted.sort_unstable();
        let mut buckets = self.buckets.iter();
        let mut seen = 0u64;
        let mut current = 0usize;
        for (rank, i) in wanted {
            while seen < rank {
                match buckets.next() {
                    Some((&bucket, &n)) => {
                        seen += n;
                        current = bucket;
                    }
                    // Unreachable: rank <= count == the sum of the counts.
                    None => return out,
                }
            }
            out[i] = Some(representative(current));
        }
        out
    }

    /// The sketch of a dense form: `counts[i]` values in bucket `i`, `counts.len() == BUCKETS`
    /// (as in a shared-memory `[u32; BUCKETS]`).
    pub fn from_dense(counts: &[u32]) -> Self {
        debug_assert_eq!(counts.len(), BUCKETS);
        let mut sketch = LatencySketch::new();
        for (bucket, &n) in counts.iter().enumerate() {
            sketch.add_bucket(bucket, u64::from(n));
        }
        sketch
    }

    /// Adds one duration to a dense form (`counts.len() == BUCKETS`); a full bucket stays at
    /// `u32::MAX` (saturates).
    #[cfg(test)]
    pub fn add_to_dense(value_ms: f64, counts: &mut [u32]) {
        debug_assert_eq!(counts.len(), BUCKETS);
        if let Some(n) = counts.get_mut(bucket_of(value_ms)) {
            *n = n.saturating_add(1);
        }
    }
}

/// The 1-based rank of `percentile_disc`: `max(1, ceil(q * n))`, in `f64` as PostgreSQL
/// computes it, kept within `1..=n` (`n >= 1`, `q` in `[0, 1]`).
fn rank(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).clamp(1, n)
}

/// Test data and checks shared by the sketch's tests and its encoding's.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// The tolerance for floating-point rounding in `ln`/`exp` at bucket boundaries.
    pub(crate) const ROUNDING: f64 = 1e-12;

    /// splitmix64: a tiny deterministic generator, enough for test data.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        pub(crate) fn unit(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Uniform in (0, 1].
        pub(crate) fn open_unit(&mut self) -> f64 {
            1.0 - self.unit()
        }

        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }

        /// Standard normal (Box-Muller).
        pub(crate) fn normal(&mut self) -> f64 {
            let (u1, u2) = (self.open_unit(), self.unit());
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    pub(crate) fn uniform(rng: &mut Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.unit() * 2_000.0).collect()
    }

    /// Median 50 ms, sigma 1.5: from sub-millisecond to seconds.
    pub(crate) fn log_normal(rng: &mut Rng, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| (50f64.ln() + 1.5 * rng.normal()).exp())
            .collect()
    }

    /// Pareto with scale 1 ms and shape 1.1: a heavy tail, capped at MAX_TRACKED_MS.
    pub(crate) fn pareto(rng: &mut Rng, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| rng.open_unit().powf(-1.0 / 1.1).min(MAX_TRACKED_MS))
            .collect()
    }

    pub(crate) fn sketch_of(values: &[f64]) -> LatencySketch {
        let mut s = LatencySketch::new();
        for &v in values {
            s.add(v);
        }
        s
    }

    /// The exact `percentile_disc` of a sample, by sorting: position max(1, ceil(q * n)).
    pub(crate) fn exact_quantile(values: &[f64], q: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let k = ((q * n).ceil() as usize).max(1);
        sorted[k - 1]
    }

    pub(crate) fn assert_within_bound(reported: f64, exact: f64, context: &str) {
        if exact < MIN_TRACKED_MS {
            assert_eq!(reported, 0.0, "{context}: {exact} is in the zero bucket");
        } else {
            let error = (reported - exact).abs() / exact;
            assert!(
                error <= RELATIVE_ACCURACY + ROUNDING,
                "{context}: reported {reported}, exact {exact}, relative error {error}"
            );
        }
    }

    pub(crate) const QS: [f64; 9] = [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0];

    pub(crate) fn assert_quantiles(sketch: &LatencySketch, values: &[f64], name: &str) {
        assert_eq!(sketch.count(), values.len() as u64);
        let all = sketch.quantiles(&QS);
        for (&q, got) in QS.iter().zip(all) {
            let got = got.expect("a non-empty sketch has quantiles");
            assert_eq!(sketch.quantile(q), Some(got), "{name}: one pass, q = {q}");
            assert_within_bound(got, exact_quantile(values, q), &format!("{name}, q = {q}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn buckets_constant_matches_the_formula() {
        assert!((LN_GAMMA - 2.0 * RELATIVE_ACCURACY.atanh()).abs() < 1e-16);
        let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
        assert!((LN_GAMMA - gamma.ln()).abs() < 1e-15);
        let k_max = ((MAX_TRACKED_MS / MIN_TRACKED_MS).ln() / LN_GAMMA).floor() as usize;
        assert_eq!(k_max, 1259);
        assert_eq!(BUCKETS, 1 + k_max + 1);
        assert_eq!(bucket_of(MAX_TRACKED_MS), BUCKETS - 1);
        assert_eq!(bucket_of(MIN_TRACKED_MS), 1);
        // The last bucket really holds MAX_TRACKED_MS: its upper bound is above it.
        let upper = MIN_TRACKED_MS * ((k_max + 1) as f64 * LN_GAMMA).exp();
        assert!(MAX_TRACKED_MS < upper);
        let lower = MIN_TRACKED_MS * (k_max as f64 * LN_GAMMA).exp();
        assert!(lower <= MAX_TRACKED_MS);
    }

    #[test]
    fn bucket_of_is_monotone_and_representatives_are_within_the_bound() {
        // Every bucket boundary and points just around it, from MIN to MAX.
        let mut previous = 0;
        for k in 0..BUCKETS - 1 {
            let lower = MIN_TRACKED_MS * (k as f64 * LN_GAMMA).exp();
            for v in [
                lower * (1.0 - 1e-9),
                lower,
                lower * (1.0 + 1e-9),
                lower * 1.005,
            ] {
                if v > MAX_TRACKED_MS {
                    continue;
                }
                let b = bucket_of(v);
                assert!(b >= previous, "bucket_of is not monotone at {v}");
                previous = b;
                assert!(
                    b.abs_diff(k + 1) <= 1,
                    "{v} in bucket {b}, expected ~{}",
                    k + 1
                );
                assert_within_bound(representative(b), v, &format!("value {v}"));
            }
        }
        // Representatives increase with the bucket and fall in their own bucket.
        for b in 1..BUCKETS {
            assert!(representative(b) > representative(b - 1));
            assert_eq!(bucket_of(representative(b)), b);
        }
        assert_eq!(representative(BUCKETS + 10), representative(BUCKETS - 1));
        // Random values over the whole range.
        let mut rng = Rng(7);
        for _ in 0..100_000 {
            let v = MIN_TRACKED_MS * (MAX_TRACKED_MS / MIN_TRACKED_MS).powf(rng.unit());
            assert_within_bound(representative(bucket_of(v)), v, &format!("value {v}"));
        }
    }

    #[test]
    fn out_of_range_values_are_clamped() {
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(-0.0), 0);
        assert_eq!(bucket_of(MIN_TRACKED_MS * 0.999), 0);
        assert_eq!(bucket_of(-5.0), 0);
        assert_eq!(bucket_of(f64::NAN), 0);
        assert_eq!(bucket_of(f64::NEG_INFINITY), 0);
        assert_eq!(bucket_of(MAX_TRACKED_MS * 10.0), BUCKETS - 1);
        assert_eq!(bucket_of(f64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of(f64::INFINITY), BUCKETS - 1);
        let mut s = LatencySketch::new();
        s.add_bucket(BUCKETS + 5, 2);
        s.add_bucket(usize::MAX, 1);
        assert_eq!(s.buckets().collect::<Vec<_>>(), vec![(BUCKETS - 1, 3)]);
    }

    #[test]
    fn empty_sketch() {
        let s = LatencySketch::new();
        assert_eq!(s.count(), 0);
        assert!(s.is_empty());
        assert_eq!(s, LatencySketch::default());
        for q in QS {
            assert_eq!(s.quantile(q), None);
        }
        assert_eq!(s.quantiles(&QS), vec![None; QS.len()]);
        assert_eq!(s.to_bytes(), vec![1, 0]);
        assert_eq!(LatencySketch::from_bytes(&s.to_bytes()), Ok(s.clone()));
        let mut merged = LatencySketch::new();
        merged.merge(&s);
        assert_eq!(merged, s);
        let mut added = LatencySketch::new();
        added.add_bucket(3, 0);
        assert_eq!(added, s, "adding zero values leaves no empty bucket behind");
    }

    #[test]
    fn single_value() {
        for v in [0.0005, MIN_TRACKED_MS, 0.37, 1.0, 12.5, 999.9, 3_600_000.0] {
            let s = sketch_of(&[v]);
            assert_eq!(s.count(), 1);
            assert!(!s.is_empty());
            for q in QS {
                assert_within_bound(s.quantile(q).unwrap(), v, &format!("single {v}, q {q}"));
            }
            assert_eq!(LatencySketch::from_bytes(&s.to_bytes()), Ok(s));
        }
    }

    #[test]
    fn zero_sub_min_and_max_values() {
        let values = [0.0, 0.0, 0.000_5, 0.000_999, 5.0, MAX_TRACKED_MS];
        let s = sketch_of(&values);
        assert_eq!(s.count(), 6);
        assert_eq!(
            s.buckets().collect::<Vec<_>>(),
            vec![(0, 4), (bucket_of(5.0), 1), (BUCKETS - 1, 1)]
        );
        assert_eq!(s.quantile(0.0), Some(0.0));
        assert_eq!(s.quantile(4.0 / 6.0), Some(0.0));
        assert_within_bound(s.quantile(0.8).unwrap(), 5.0, "5 ms");
        assert_within_bound(s.quantile(1.0).unwrap(), MAX_TRACKED_MS, "max");
        assert_quantiles(&s, &values, "zeros and extremes");
        assert_eq!(LatencySketch::from_bytes(&s.to_bytes()), Ok(s));
    }

    #[test]
    fn rank_is_the_one_of_percentile_disc() {
        // 1..=10: percentile_disc(0) = 1, (0.1) = 1, (0.11) = 2, (0.5) = 5, (0.51) = 6, (1) = 10.
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = sketch_of(&values);
        for (q, expected) in [
            (0.0, 1.0),
            (0.1, 1.0),
            (0.11, 2.0),
            (0.5, 5.0),
            (0.51, 6.0),
            (0.95, 10.0),
            (1.0, 10.0),
        ] {
            assert_eq!(exact_quantile(&values, q), expected);
            assert_within_bound(s.quantile(q).unwrap(), expected, &format!("q {q}"));
            assert_eq!(s.quantile(q), Some(representative(bucket_of(expected))));
        }
        assert_eq!(s.quantile(-0.1), None);
        assert_eq!(s.quantile(1.5), None);
        assert_eq!(s.quantile(f64::NAN), None);
        assert_eq!(
            s.quantiles(&[1.0, f64::NAN, 0.0, 0.5]),
            vec![
                Some(representative(bucket_of(10.0))),
                None,
                Some(representative(bucket_of(1.0))),
                Some(representative(bucket_of(5.0))),
            ]
        );
    }

    #[test]
    fn quantiles_stay_within_the_bound() {
        let mut rng = Rng(42);
        let datasets = [
            ("uniform", uniform(&mut rng, 100_000)),
            ("log-normal", log_normal(&mut rng, 100_000)),
            ("pareto", pareto(&mut rng, 100_000)),
        ];
        for (name, values) in &datasets {
            assert_quantiles(&sketch_of(values), values, name);
            // The same values as 1,000 sketches of 100 (an hour each), merged.
            let mut merged = LatencySketch::new();
            for chunk in values.chunks(100) {
                merged.merge(&sketch_of(chunk));
            }
            assert_quantiles(&merged, values, &format!("{name}, 1,000 merged"));
            assert_eq!(merged, sketch_of(values));
        }
    }

    #[test]
    fn merging_is_associative_and_commutative() {
        let mut rng = Rng(2024);
        let mut values = log_normal(&mut rng, 50_000);
        values.extend(pareto(&mut rng, 20_000));
        values.extend([0.0, 0.0001, MAX_TRACKED_MS]);
        let whole = sketch_of(&values);
        // A random split into 7 parts of random sizes.
        let mut parts = vec![Vec::new(); 7];
        for &v in &values {
            parts[rng.below(7)].push(v);
        }
        let sketches: Vec<LatencySketch> = parts.iter().map(|p| sketch_of(p)).collect();
        let fold = |order: &[usize]| {
            let mut s = LatencySketch::new();
            for &i in order {
                s.merge(&sketches[i]);
            }
            s
        };
        assert_eq!(fold(&[0, 1, 2, 3, 4, 5, 6]), whole);
        assert_eq!(fold(&[6, 5, 4, 3, 2, 1, 0]), whole);
        for _ in 0..20 {
            // A random order (Fisher-Yates).
            let mut order: Vec<usize> = (0..7).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            assert_eq!(fold(&order), whole);
        }
        // Groupings: ((0+1)+(2+3)) + ((4+5)+6) and 0+(1+(2+(3+(4+(5+6)))).
        let pair = |a: &LatencySketch, b: &LatencySketch| {
            let mut s = a.clone();
            s.merge(b);
            s
        };
        let s = &sketches;
        let tree = pair(
            &pair(&pair(&s[0], &s[1]), &pair(&s[2], &s[3])),
            &pair(&pair(&s[4], &s[5]), &s[6]),
        );
        assert_eq!(tree, whole);
        let right = (0..6).rev().fold(s[6].clone(), |acc, i| pair(&s[i], &acc));
        assert_eq!(right, whole);
        // The three laws directly.
        assert_eq!(pair(&s[0], &s[1]), pair(&s[1], &s[0]));
        assert_eq!(
            pair(&pair(&s[0], &s[1]), &s[2]),
            pair(&s[0], &pair(&s[1], &s[2]))
        );
        assert_eq!(pair(&s[3], &LatencySketch::new()), s[3]);
        // Merged through their encodings too.
        let decoded = sketches.iter().fold(LatencySketch::new(), |acc, sk| {
            pair(&acc, &LatencySketch::from_bytes(&sk.to_bytes()).unwrap())
        });
        assert_eq!(decoded, whole);
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let mut s = LatencySketch::new();
        s.add_bucket(1, u64::MAX - 1);
        s.add_bucket(2, 5);
        assert_eq!(s.count(), u64::MAX);
        assert_eq!(s.buckets().map(|(_, n)| n).sum::<u64>(), u64::MAX);
        let mut t = s.clone();
        t.merge(&s);
        assert_eq!(t, s);
        // Still decodable.
        assert_eq!(LatencySketch::from_bytes(&s.to_bytes()), Ok(s.clone()));
        assert_eq!(s.quantile(1.0), Some(representative(2)));
        assert_eq!(s.quantile(0.5), Some(representative(1)));
    }

    #[test]
    fn dense_form_equals_the_sparse_sketch() {
        let mut rng = Rng(5);
        let mut values = log_normal(&mut rng, 20_000);
        values.extend([0.0, 0.0002, MIN_TRACKED_MS, MAX_TRACKED_MS]);
        let mut dense = [0u32; BUCKETS];
        for &v in &values {
            LatencySketch::add_to_dense(v, &mut dense);
        }
        assert_eq!(LatencySketch::from_dense(&dense), sketch_of(&values));
        assert_eq!(
            LatencySketch::from_dense(&[0u32; BUCKETS]),
            LatencySketch::new()
        );
        // A full dense bucket saturates.
        let mut full = [0u32; BUCKETS];
        full[7] = u32::MAX;
        LatencySketch::add_to_dense(representative(7), &mut full);
        assert_eq!(full[7], u32::MAX);
        assert_eq!(
            LatencySketch::from_dense(&full).count(),
            u64::from(u32::MAX)
        );
    }
}
