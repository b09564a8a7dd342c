// The sketch against the server's formulas: expected values computed by
// test/fixtures/sketch-values.py with the server's arithmetic (IEEE doubles, glibc's log and
// exp: what Rust's f64 does on Linux), at and around every bucket bound.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { BUCKETS, LN_GAMMA, MIN_TRACKED_MS, bucketOf, quantiles, rank, representative } from '../src/index.js';
import { LOWER_BOUNDS } from '../src/sketch-tables.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/sketch-values.json', import.meta.url), 'utf8'));

test('bucketOf equals the server formula at, just below and just above every bucket bound', () => {
    const wrong = fixture.bucket_of.filter(([v, expected]) => bucketOf(v) !== expected);
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${fixture.bucket_of.length} values are in another bucket`);
    assert.ok(fixture.bucket_of.length > 3 * (BUCKETS - 1));
});

test('bucketOf follows the float formula where it differs from exact arithmetic', () => {
    const differing = fixture.bucket_of.filter(([, rust, exact]) => rust !== exact);
    assert.ok(differing.length > 100, 'the fixture has such values');
    for (const [v, rust] of differing) {
        assert.equal(bucketOf(v), rust, `bucketOf(${v})`);
    }
});

test('bucketOf where V8 Math.log alone would be wrong: a bound one ulp apart', () => {
    // 0.0014049635143486261 is the first value of bucket 17 for the server, while
    // floor(Math.log(v / 0.001) / LN_GAMMA) + 1 gives 18 in V8.
    const v = 0.0014049635143486261;
    assert.equal(fixture.bucket_of.find(([x]) => x === v)?.[1], 17);
    assert.equal(bucketOf(v), 17);
    assert.notEqual(Math.floor(Math.log(v / MIN_TRACKED_MS) / LN_GAMMA) + 1, 17, 'V8 alone differs here');
});

test('bucketOf edges: the zero bucket, the last bucket, NaN and infinities', () => {
    assert.equal(bucketOf(0), 0);
    assert.equal(bucketOf(-0), 0);
    assert.equal(bucketOf(0.000999), 0);
    assert.equal(bucketOf(MIN_TRACKED_MS), 1);
    assert.equal(bucketOf(86_400_000), BUCKETS - 1);
    assert.equal(bucketOf(1e300), BUCKETS - 1);
    assert.equal(bucketOf(Infinity), BUCKETS - 1);
    assert.equal(bucketOf(NaN), 0);
    assert.equal(bucketOf(-5), 0);
    assert.equal(LOWER_BOUNDS.length, BUCKETS - 1);
});

test('representative equals the server value of every bucket, bit for bit', () => {
    assert.equal(fixture.representatives.length, BUCKETS);
    for (let b = 0; b < BUCKETS; b += 1) {
        assert.equal(representative(b), fixture.representatives[b], `bucket ${b}`);
    }
    assert.equal(representative(BUCKETS + 5), fixture.representatives[BUCKETS - 1], 'clamped');
});

test('each representative lies in its bucket, within 1 % of its values', () => {
    for (let b = 1; b < BUCKETS - 1; b += 1) {
        const r = representative(b);
        assert.equal(bucketOf(r), b, `bucket ${b}`);
        assert.ok(r >= LOWER_BOUNDS[b - 1] * 1.0099999 && r <= LOWER_BOUNDS[b] * 0.9900001, `bucket ${b}`);
    }
});

test('rank is percentile_disc: max(1, ceil(q * n)) within 1..n', () => {
    assert.equal(rank(0, 10), 1);
    assert.equal(rank(0.5, 10), 5);
    assert.equal(rank(0.51, 10), 6);
    assert.equal(rank(0.95, 20), 19);
    assert.equal(rank(0.99, 100), 99);
    assert.equal(rank(0.99, 101), 100);
    assert.equal(rank(1, 7), 7);
    assert.equal(rank(0.5, 1), 1);
});

test('quantiles walk the sorted buckets to the rank', () => {
    // 10 values: 4 in bucket 100, 5 in bucket 200, 1 in bucket 300.
    const sketch = [[100, 4], [200, 5], [300, 1]];
    assert.deepEqual(quantiles(sketch, [0, 0.4, 0.41, 0.5, 0.9, 0.91, 1]), [
        representative(100), representative(100), representative(200), representative(200),
        representative(200), representative(300), representative(300),
    ]);
    assert.deepEqual(quantiles([], [0.5]), [null]);
    assert.deepEqual(quantiles(sketch, [-0.1, 1.5, NaN]), [null, null, null]);
    assert.deepEqual(quantiles([[0, 3]], [0.99]), [0]);
});
