// The server's latency sketch (crates/metrics-core/src/requests/sketch.rs), mirrored step by
// bit for bit: buckets on a logarithmic scale of ratio gamma = (1 + a) / (1 - a), a = 1 %,
// from 1 µs to one day. The server evaluates its formulas with glibc's log and exp; V8's
// Math.log and Math.exp differ from those in the last bit for some arguments (about one
// representative in ten), which would move a duration at a bucket's edge into the next bucket
// and change a percentile in its 16th digit. So the bounds and representatives are tables
// computed with the server's arithmetic (tools/gen-sketch-tables.py, sketch-tables.js), and
// Math.log only guesses the bucket that the table then settles.

import { LOWER_BOUNDS, REPRESENTATIVES } from './sketch-tables.js';

/** Relative accuracy of the reported quantiles. */
export const RELATIVE_ACCURACY = 0.01;
/** Smallest duration tracked with the relative bound (ms); below it: the zero bucket. */
export const MIN_TRACKED_MS = 0.001;
/** Largest duration tracked (ms): one day. */
export const MAX_TRACKED_MS = 86_400_000;
/** ln(gamma) = 2 atanh(a), correctly rounded (the server's constant). */
export const LN_GAMMA = 0.020000666706669524;
/** The zero bucket plus the log buckets k = 0..=1259. */
export const BUCKETS = 1261;

/**
 * The bucket of a duration in milliseconds: 0 below MIN_TRACKED_MS (and for NaN or a
 * negative value), else 1 + floor(ln(v / MIN_TRACKED_MS) / LN_GAMMA), clamped to BUCKETS - 1.
 * @param {number} valueMs
 * @returns {number}
 */
export function bucketOf(valueMs) {
    if (Number.isNaN(valueMs) || valueMs < MIN_TRACKED_MS) {
        return 0;
    }
    const last = BUCKETS - 2;
    let j = Math.min(last, Math.max(0, Math.floor(Math.log(valueMs / MIN_TRACKED_MS) / LN_GAMMA)));
    while (j < last && valueMs >= LOWER_BOUNDS[j + 1]) {
        j += 1;
    }
    while (j > 0 && valueMs < LOWER_BOUNDS[j]) {
        j -= 1;
    }
    return j + 1;
}

/**
 * The value reported for a bucket: 0 for the zero bucket, otherwise
 * MIN_TRACKED_MS * exp(k * LN_GAMMA) * (1 + a) for bucket k + 1, as the server computes it
 * (indexes past the last are clamped).
 * @param {number} bucket
 * @returns {number}
 */
export function representative(bucket) {
    return REPRESENTATIVES[Math.min(Math.max(0, Math.trunc(bucket)), BUCKETS - 1)];
}

/**
 * The 1-based rank of PostgreSQL's percentile_disc: max(1, ceil(q * n)), within 1..n.
 * @param {number} q
 * @param {number} n
 */
export function rank(q, n) {
    return Math.min(n, Math.max(1, Math.ceil(q * n)));
}

/**
 * Quantiles of a sketch given as [bucket, count] pairs in increasing bucket order, with the
 * rank of percentile_disc: the representative of the bucket holding the value at position
 * rank(q, count). null for an empty sketch or a q outside [0, 1] (NaN included).
 * @param {ReadonlyArray<readonly [number, number]>} buckets
 * @param {readonly number[]} qs
 * @returns {(number | null)[]}
 */
export function quantiles(buckets, qs) {
    const count = buckets.reduce((n, [, c]) => n + c, 0);
    return qs.map((q) => {
        if (count === 0 || !(q >= 0 && q <= 1)) {
            return null;
        }
        const wanted = rank(q, count);
        let seen = 0;
        for (const [bucket, n] of buckets) {
            seen += n;
            if (seen >= wanted) {
                return representative(bucket);
            }
        }
        return null; // unreachable: wanted <= count
    });
}

/**
 * A sketch's counts as the sorted [bucket, count] pairs the wire format and quantiles use.
 * @param {Map<number, number>} counts
 * @returns {[number, number][]}
 */
export function sortedBuckets(counts) {
    return [...counts.entries()].sort((a, b) => a[0] - b[0]);
}
