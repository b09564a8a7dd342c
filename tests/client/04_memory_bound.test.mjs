// The memory bound: while the database cannot be reached (the proxy in front of PostgREST
// refuses connections), a storage with maxPendingKeys = 10 holds at most 10 keys,
// pending plus unsent. Events of a key it holds in its pending map add up; events that would
// need an 11th key are dropped, counted in stats().dropped and reported through onDrop. Once
// the server is back, exactly the accepted events are in the database. And a long outage with
// few keys: however many intervals pass, each key is held at most twice, so nothing is dropped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createMetricsStorage } from '@metrics/client';

import { PROJECTS, tally } from './events.mjs';
import { dbTotals, numbersOf, sleep, sql, startProxy, supabaseFor } from './lib.mjs';

const PREFIX = '/t4';
const BOUND = 10;

let proxy;
let storage;
const drops = [];
const errors = [];
/** What this test recorded, and what it expects the storage to have accepted and dropped. */
const accepted = [];
let expectedDrops = 0;
const seen = {};

/**
 * Records `n` events of key number `key`, and expects from the rule alone: an event adds into
 * its key's pending summary if there is one, else it needs a new key, which is there only while
 * the pending keys plus the `unsent` keys are fewer than BOUND.
 * @param {Set<number>} pending  the keys pending (in the expectation)
 */
function record(pending, key, n, unsent = 0) {
    for (let j = 0; j < n; j += 1) {
        const e = {
            path: `/k${key}`, method: key % 2 ? 'POST' : 'GET', project: PROJECTS[key % 3],
            success: (key + j) % 5 !== 0, micros: 500 + ((key * 7919 + j * 104729) % 90_000),
        };
        storage.recordRouteMetric(PREFIX + e.path, e.method, e.success, e.micros / 1000, { project: e.project });
        if (pending.has(key) || pending.size + unsent < BOUND) {
            pending.add(key);
            accepted.push(e);
        } else {
            expectedDrops += 1;
        }
    }
}

before(async () => {
    proxy = await startProxy();
    await proxy.refuse(true);
    storage = createMetricsStorage({
        mode: 'database', supabase: supabaseFor(proxy.url), env: {}, logger: null, handleSignals: false,
        batchIntervalMs: 60_000, maxPendingKeys: BOUND, requestTimeoutMs: 2000,
        backoff: { initialMs: 50, maxMs: 100, jitter: 0 },
        onDrop: (info) => drops.push(info),
        onError: (info) => errors.push({ retryable: info.retryable, status: info.error.status, message: info.error.message }),
    });

    // 1. Down from the start: 25 keys, in rounds, so that later events of the first 10 keys come
    //    after the 11th key was refused (they still add up: those keys are pending).
    const pending = new Set();
    for (let round = 0; round < 3; round += 1) {
        for (let key = 0; key < 25; key += 1) {
            if (round <= key % 3) record(pending, key, 1);
        }
    }
    seen.afterFirst = storage.stats();

    // 2. A flush fails: the 10 keys wait in an unsent batch. Any event now needs a new pending
    //    key (an unsent batch is never added to), and 10 keys are held: all are dropped, those of
    //    key 0, which is in the unsent batch, too.
    seen.failedFlush = await storage.flush({ timeoutMs: 400 });
    seen.afterFailedFlush = storage.stats();
    seen.inDbWhileDown = Number(sql(`SELECT count(*) FROM metrics.route_metrics_live WHERE starts_with(route, '${PREFIX}/')`));
    const pendingNow = new Set();
    record(pendingNow, 0, 3, pending.size);
    record(pendingNow, 30, 2, pending.size);
    seen.droppedWhileUnsent = expectedDrops;

    // 3. The server is back: the unsent batch is written, and there is room for new keys again.
    await proxy.refuse(false);
    seen.backFlush = await storage.flush({ timeoutMs: 10_000 });
    const fresh = new Set();
    for (const key of [40, 41, 42, 43, 0]) record(fresh, key, 2);
    seen.lastFlush = await storage.flush({ timeoutMs: 10_000 });
    seen.final = storage.stats();
});
after(async () => {
    await storage?.close({ timeoutMs: 100 });
    await proxy?.close();
});

test('while the server is unreachable, at most maxPendingKeys keys are held', () => {
    assert.deepEqual([seen.afterFirst.pendingKeys, seen.afterFirst.unsentBatches], [BOUND, 0]);
    assert.equal(seen.failedFlush.complete, false);
    assert.equal(seen.failedFlush.pendingKeys, BOUND);
    assert.deepEqual([seen.afterFailedFlush.pendingKeys, seen.afterFailedFlush.unsentBatches], [BOUND, 1]);
    assert.ok(seen.afterFailedFlush.retries >= 1, 'the failed call is to be retried');
    assert.ok(errors.length >= 1 && errors.every((e) => e.retryable && e.status === 0), JSON.stringify(errors.slice(0, 2)));
    assert.equal(seen.inDbWhileDown, 0, 'nothing got through');
});

test('the drops are exactly the events that needed a key beyond the bound: in stats().dropped and through onDrop', () => {
    // 25 keys with 1, 2 or 3 events (keys 10..24: 5 x 1 + 5 x 2 + 5 x 3 = 30), then 5 events
    // while the batch was unsent.
    assert.equal(seen.droppedWhileUnsent, 35);
    assert.equal(expectedDrops, 35);
    assert.equal(seen.afterFirst.dropped, 30);
    assert.equal(seen.final.dropped, expectedDrops);
    assert.ok(drops.every((d) => d.reason === 'memory-bound' && d.subject === 'route'), JSON.stringify(drops[0]));
    assert.equal(drops.reduce((n, d) => n + d.events, 0), expectedDrops);
});

test('when the server is back, exactly the accepted events are in the database', () => {
    assert.equal(seen.backFlush.complete, true);
    assert.equal(seen.lastFlush.complete, true);
    const s = seen.final;
    assert.deepEqual([s.recorded, s.flushed, s.rejected, s.invalid, s.pending, s.pendingKeys],
        [accepted.length, accepted.length, 0, 0, 0, 0]);
    assert.deepEqual(dbTotals(PREFIX), numbersOf(tally(accepted, (e) => `${PREFIX}${e.path} ${e.method} ${e.project ?? '-'}`)));
});

describe('an outage of many intervals with few keys', () => {
    const PREFIX2 = '/t4o';
    const KEYS = 3;
    let proxy2;
    let storage2;
    const sent = [];
    const drops2 = [];
    const got = {};

    before(async () => {
        proxy2 = await startProxy();
        await proxy2.refuse(true);
        storage2 = createMetricsStorage({
            mode: 'database', supabase: supabaseFor(proxy2.url), env: {}, logger: null, handleSignals: false,
            batchIntervalMs: 50, maxPendingKeys: 2 * KEYS, backoff: { initialMs: 100, maxMs: 100, jitter: 0 },
            onDrop: (info) => drops2.push(info),
        });
        // 3 keys, one event each every 10 ms, for 1.5 s: about 30 intervals while unreachable.
        const until = Date.now() + 1500;
        for (let i = 0; Date.now() < until; i += 1) {
            for (let k = 0; k < KEYS; k += 1) {
                const e = { path: `/o${k}`, method: 'GET', project: PROJECTS[k], success: i % 7 !== 0, micros: 1000 + ((i * 31 + k * 977) % 50_000) };
                storage2.recordRouteMetric(PREFIX2 + e.path, e.method, e.success, e.micros / 1000, { project: e.project });
                sent.push(e);
            }
            await sleep(10);
        }
        got.whileDown = storage2.stats();
        got.inDbWhileDown = Number(sql(`SELECT count(*) FROM metrics.route_metrics_live WHERE starts_with(route, '${PREFIX2}/')`));
        await proxy2.refuse(false);
        got.flush = await storage2.flush({ timeoutMs: 10_000 });
        got.final = storage2.stats();
    });
    after(async () => {
        await storage2?.close({ timeoutMs: 100 });
        await proxy2?.close();
    });

    test('each key is held at most twice (the batch waiting for its retry, and one behind it): nothing is dropped', () => {
        const s = got.whileDown;
        assert.ok(s.retries >= 5, `the outage lasted many retries (${s.retries})`);
        assert.equal(got.inDbWhileDown, 0, 'nothing got through');
        assert.deepEqual([s.recorded, s.dropped, drops2.length], [sent.length, 0, 0]);
        assert.ok(s.pendingKeys <= 2 * KEYS && s.unsentBatches <= 2, JSON.stringify(s));
    });

    test('once the server is back, every event is in the database once', () => {
        assert.equal(got.flush.complete, true);
        assert.deepEqual([got.final.flushed, got.final.pending], [sent.length, 0]);
        assert.deepEqual(dbTotals(PREFIX2), numbersOf(tally(sent, (e) => `${PREFIX2}${e.path} ${e.method} ${e.project ?? '-'}`)));
    });
});
