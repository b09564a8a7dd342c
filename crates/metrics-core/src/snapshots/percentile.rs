//! The percentile kind's day state and its exact merge.
//!
//! A percentile day's value is PostgreSQL's `percentile_cont(p)` over the day's values (as
//! double precision, NULLs ignored). Percentiles do not combine (a week's median is not a
//! median of medians), so each sealed day also keeps its values, sorted, in the column where
//! distinct counts keep their sketch (`daily_metrics.distinct_sketch`), and a week or a month
//! is `percentile_cont(p)` over the union of its days' values: exactly what PostgreSQL gives
//! over the source rows of the period, to the last bit.
//!
//! The bytes: one tag byte (`VALUES_TAG`), then each value as the 8 bytes PostgreSQL's
//! `float8send` writes (IEEE 754, big-endian), in ascending order. The computing statement
//! writes them with `string_agg(float8send(x), '' ORDER BY x)`: no aggregate of the extension
//! is needed. A day keeps at most `VALUES_LIMIT` values (80 kB); a day with more is sealed
//! with its exact value but without its values (`values_kept: false`), and a period that
//! includes it has no value (NULL, `exact: false`, the days named): never an estimate.

/// The first byte of a day's values.
pub const VALUES_TAG: u8 = 0x70;
/// The most values a day keeps for its periods.
pub const VALUES_LIMIT: i64 = 10_000;

/// The bytes of a day's values, sorted (what the computing statement writes).
pub fn encode(values: &[f64]) -> Vec<u8> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut bytes = Vec::with_capacity(1 + 8 * sorted.len());
    bytes.push(VALUES_TAG);
    for v in sorted {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes
}

/// A day's values from their bytes; what is wrong with them otherwise.
pub fn decode(bytes: &[u8]) -> Result<Vec<f64>, String> {
    let Some((&tag, body)) = bytes.split_first() else {
        return Err("its values are empty bytes".into());
    };
    if tag != VALUES_TAG {
        return Err(format!(
            "its values start with byte {tag:#04x}, not {VALUES_TAG:#04x}"
        ));
    }
    if body.len() % 8 != 0 {
        return Err(format!(
            "its values are {} bytes, not a multiple of 8",
            body.len()
        ));
    }
    let values: Vec<f64> = body
        .chunks_exact(8)
        .map(|c| f64::from_be_bytes(c.try_into().expect("8 bytes")))
        .collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err("its values include a non-finite number".into());
    }
    if values.windows(2).any(|w| w[0] > w[1]) {
        return Err("its values are not sorted".into());
    }
    Ok(values)
}

/// PostgreSQL's `percentile_cont(p)` over `values` (any order; `p` in [0, 1]): the value at
/// rank `p * (n - 1)`, interpolated between its neighbours as `float8_lerp` does. `None`
/// without values. The same operations in the same order as PostgreSQL's
/// `percentile_cont_final_common`, so the result is the same double.
pub fn percentile_cont(values: &mut [f64], p: f64) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let rank = p * (n - 1) as f64;
    let (first, second) = (rank.floor() as usize, rank.ceil() as usize);
    let (_, &mut low, above) = values.select_nth_unstable_by(first, f64::total_cmp);
    if second == first {
        return Some(low);
    }
    let high = above
        .iter()
        .copied()
        .min_by(f64::total_cmp)
        .expect("second > first, so a value above");
    let proportion = rank - first as f64;
    Some(low + proportion * (high - low))
}

/// A double as PostgreSQL prints it with `extra_float_digits = 1` (its default): the
/// shortest text that reads back as the same double, which `numeric` keeps exactly.
pub fn exact_text(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else {
        format!("{x}")
    }
}

/// Checks a percentile fraction: a number in [0, 1].
pub fn is_fraction(p: f64) -> bool {
    (0.0..=1.0).contains(&p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook definition, sorting everything: what `percentile_cont` must equal.
    fn reference(values: &[f64], p: f64) -> Option<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        if n == 0 {
            return None;
        }
        let rank = p * (n - 1) as f64;
        let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
        let (a, b) = (sorted[lo], sorted[hi]);
        Some(if lo == hi {
            a
        } else {
            a + (rank - lo as f64) * (b - a)
        })
    }

    #[test]
    fn percentile_cont_interpolates_like_postgresql() {
        // SELECT percentile_cont(p) WITHIN GROUP (ORDER BY x) FROM unnest('{4,1,3,2}') x
        let mut v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(percentile_cont(&mut v, 0.5), Some(2.5));
        assert_eq!(percentile_cont(&mut v, 0.0), Some(1.0));
        assert_eq!(percentile_cont(&mut v, 1.0), Some(4.0));
        // rank 0.9 * 3 = 2.7: 3 + 0.7 * (4 - 3), PostgreSQL prints 3.7
        assert_eq!(exact_text(percentile_cont(&mut v, 0.9).unwrap()), "3.7");
        assert_eq!(percentile_cont(&mut [7.5], 0.9), Some(7.5));
        assert_eq!(percentile_cont(&mut [], 0.5), None);
    }

    #[test]
    fn percentile_cont_is_the_reference_on_many_sets() {
        // A deterministic pseudo-random walk over sizes, duplicates and fractions.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in [1usize, 2, 3, 10, 101, 1000] {
            let values: Vec<f64> = (0..n)
                .map(|_| (next() % 5000) as f64 / 7.0 - 300.0)
                .collect();
            for p in [0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0, 1.0 / 3.0] {
                let mut work = values.clone();
                assert_eq!(
                    percentile_cont(&mut work, p),
                    reference(&values, p),
                    "{n} {p}"
                );
            }
        }
    }

    #[test]
    fn values_round_trip_sorted() {
        let bytes = encode(&[3.5, -1.0, 1e300, 0.1]);
        assert_eq!(bytes[0], VALUES_TAG);
        assert_eq!(bytes.len(), 33);
        // float8send of -1: bf f0 00 00 00 00 00 00
        assert_eq!(&bytes[1..9], &[0xbf, 0xf0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(decode(&bytes).unwrap(), vec![-1.0, 0.1, 3.5, 1e300]);
        assert_eq!(decode(&encode(&[])).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn bad_values_are_named() {
        assert!(decode(&[]).unwrap_err().contains("empty"));
        assert!(decode(&[0x01]).unwrap_err().contains("0x01"));
        assert!(decode(&[VALUES_TAG, 1, 2])
            .unwrap_err()
            .contains("multiple of 8"));
        let mut unsorted = vec![VALUES_TAG];
        unsorted.extend_from_slice(&2.0f64.to_be_bytes());
        unsorted.extend_from_slice(&1.0f64.to_be_bytes());
        assert!(decode(&unsorted).unwrap_err().contains("not sorted"));
        let mut nan = vec![VALUES_TAG];
        nan.extend_from_slice(&f64::NAN.to_be_bytes());
        assert!(decode(&nan).unwrap_err().contains("non-finite"));
    }

    #[test]
    fn exact_text_is_the_shortest_round_trip() {
        assert_eq!(exact_text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(exact_text(26.0 / 3.0), "8.666666666666666");
        assert_eq!(exact_text(-0.0), "0");
        assert_eq!(exact_text(1e21), "1000000000000000000000");
        for x in [1.0 / 3.0, 123.456, 5e-7, 1e-300] {
            assert_eq!(exact_text(x).parse::<f64>().unwrap(), x);
        }
    }

    #[test]
    fn fractions_are_zero_to_one() {
        for ok in [0.0, 0.5, 1.0] {
            assert!(is_fraction(ok));
        }
        for bad in [-0.1, 1.01, f64::NAN, f64::INFINITY] {
            assert!(!is_fraction(bad));
        }
    }
}
