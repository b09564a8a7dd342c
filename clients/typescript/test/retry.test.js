// Failures: a retryable one keeps the batch (same id, same contents) and retries it with
// backoff; a lost response is not counted twice thanks to the batch id; a refusal (4xx) drops
// and counts the batch; the memory bound drops and counts events of new keys.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DEFAULTS } from '../src/index.js';
import { backoffDelay } from '../src/hooks.js';
import { FakeMetricsServer, fakeClient } from './support/fake-postgrest.js';
import { databaseStorage, until } from './support/helpers.js';

const UNAVAILABLE = { status: 503, code: 'PGRST001', message: 'Database client error. Retrying the connection.' };
const recordCalls = (server) => server.calls.filter((c) => c.fn.startsWith('record_'));

/** Every accepted event is flushed, rejected or still pending: none is counted twice or lost. */
function assertBalanced(storage) {
    const s = storage.stats();
    assert.equal(s.recorded, s.flushed + s.rejected + s.pending, JSON.stringify(s));
}

function recordSome(storage) {
    storage.recordRouteMetric('/a', 'GET', true, 12.5);
    storage.recordRouteMetric('/a', 'GET', false, 30);
    storage.recordRouteMetric('/b', 'POST', true, 1);
}

test('a 503 keeps the batch: it is sent again with the same id and the same contents', async () => {
    const { storage, server, errors } = databaseStorage();
    server.next(UNAVAILABLE, UNAVAILABLE);
    recordSome(storage);
    const result = await storage.flush();
    assert.equal(result.complete, true);
    const calls = recordCalls(server);
    assert.equal(calls.length, 3);
    assert.equal(new Set(calls.map((c) => c.args.batch_id)).size, 1, 'one batch id');
    assert.deepEqual(calls[1].args, calls[0].args);
    assert.deepEqual(calls[2].args, calls[0].args);
    assert.equal(server.eventsWritten('route'), 3);
    const s = storage.stats();
    assert.deepEqual([s.flushed, s.retries, s.rejected, s.pending], [3, 2, 0, 0]);
    assert.equal(s.lastError.status, 503);
    assert.deepEqual(errors.map((e) => [e.retryable, e.error.status, e.events]), [[true, 503, 3], [true, 503, 3]]);
    assert.equal(errors[0].retryInMs, 5, 'backoff.initialMs');
    assert.equal(errors[1].retryInMs, 10, 'doubled');
    assertBalanced(storage);
    await storage.close();
});

for (const [name, clientOptions] of [['resolves with status 0', {}], ['throws', { throwOnNetwork: true }]]) {
    test(`a network failure (the client ${name}) is retried with the same id`, async () => {
        const server = new FakeMetricsServer();
        const { storage } = databaseStorage({}, { server, client: fakeClient(server, clientOptions) });
        server.next({ network: true });
        recordSome(storage);
        assert.equal((await storage.flush()).complete, true);
        const calls = recordCalls(server);
        assert.equal(calls.length, 2);
        assert.equal(calls[0].args.batch_id, calls[1].args.batch_id);
        assert.equal(server.eventsWritten('route'), 3);
        assert.equal(storage.stats().lastError.status, 0);
        await storage.close();
    });
}

test('a lost response (written, then no answer): the retry with the same id writes nothing again', async () => {
    const { storage, server } = databaseStorage();
    server.next({ lose: true });
    recordSome(storage);
    await storage.flush();
    const calls = recordCalls(server);
    assert.equal(calls.length, 2, 'sent twice');
    assert.equal(calls[0].args.batch_id, calls[1].args.batch_id);
    assert.equal(server.written.route.length, 2, 'two summaries written once');
    assert.equal(server.eventsWritten('route'), 3, 'the three events counted once');
    assert.deepEqual([storage.stats().flushed, storage.stats().retries], [3, 1]);
    assertBalanced(storage);
    await storage.close();
});

test('a call without an answer within requestTimeoutMs is retried with the same id', async () => {
    const { storage, server } = databaseStorage({ requestTimeoutMs: 30 });
    server.next({ hang: true });
    recordSome(storage);
    assert.equal((await storage.flush()).complete, true);
    const calls = recordCalls(server);
    assert.equal(calls.length, 2);
    assert.equal(calls[0].args.batch_id, calls[1].args.batch_id);
    assert.equal(storage.stats().lastError.code, 'TIMEOUT');
    await storage.close();
});

test('events recorded while a batch waits for its retry go into a new batch, never into it', async () => {
    const { storage, server } = databaseStorage({ batchIntervalMs: 10, backoff: { initialMs: 60, maxMs: 60, jitter: 0 } });
    server.next(UNAVAILABLE);
    storage.recordRouteMetric('/a', 'GET', true, 1);
    await until(() => recordCalls(server).length === 1);
    storage.recordRouteMetric('/a', 'GET', true, 2); // same key, while the first batch waits
    await until(() => recordCalls(server).length === 3);
    const [first, retry, second] = recordCalls(server);
    assert.deepEqual(retry.args, first.args, 'the retry is the same batch');
    assert.notEqual(second.args.batch_id, first.args.batch_id);
    assert.deepEqual([first.args.events[0].successful, second.args.events[0].successful], [1, 1]);
    assert.equal(second.args.events[0].min_duration_ms, 2);
    assert.equal(server.eventsWritten('route'), 2);
    await storage.close();
});

test('a long outage holds each key at most twice (the waiting batch and one unsent behind it), however many intervals pass', async () => {
    // Two keys, recorded every few ms through 30 and more intervals while the database is down:
    // each interval's summaries go into the one batch not sent yet, not into a new batch each,
    // so the bound of 4 keys is never reached and nothing is dropped.
    const { storage, server } = databaseStorage({ batchIntervalMs: 10, maxPendingKeys: 4, backoff: { initialMs: 40, maxMs: 40, jitter: 0 } });
    server.next(...Array.from({ length: 1000 }, () => UNAVAILABLE));
    let recorded = 0;
    const until300 = Date.now() + 300;
    while (Date.now() < until300) {
        storage.recordRouteMetric('/a', 'GET', true, 1);
        storage.recordRouteMetric('/b', 'GET', false, 2);
        recorded += 2;
        await new Promise((r) => setTimeout(r, 3));
    }
    const s = storage.stats();
    assert.deepEqual([s.recorded, s.dropped], [recorded, 0]);
    assert.ok(s.unsentBatches <= 2 && s.pendingKeys <= 4, JSON.stringify(s));
    server.script = [];
    assert.equal((await storage.flush()).complete, true);
    assert.equal(server.eventsWritten('route'), recorded);
    // Every call of one batch id carried the same contents: a batch is never added to once sent.
    const byId = new Map();
    for (const c of recordCalls(server)) {
        if (byId.has(c.args.batch_id)) assert.deepEqual(c.args, byId.get(c.args.batch_id));
        byId.set(c.args.batch_id, c.args);
    }
    assertBalanced(storage);
    await storage.close();
});

test('a 4xx refusal drops the batch, counts it as rejected with the server message, and the next batch goes on', async () => {
    const server = new FakeMetricsServer({ projects: ['acme'] });
    const { storage, errors } = databaseStorage({}, { server });
    storage.recordRouteMetric('/a', 'GET', true, 1, { project: 'ghost' }); // a slug, but no such project
    storage.recordRouteMetric('/a', 'GET', true, 1, { project: 'acme' });
    const result = await storage.flush();
    assert.equal(result.complete, true, 'a refused batch is settled');
    assert.equal(recordCalls(server).length, 1, 'never retried');
    assert.equal(server.eventsWritten('route'), 0, 'all or nothing');
    const s = storage.stats();
    assert.deepEqual([s.rejected, s.flushed, s.retries, s.pending], [2, 0, 0, 0]);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].retryable, false);
    assertBalanced(storage);
    assert.equal(errors[0].events, 2);
    assert.equal(errors[0].error.status, 400);
    assert.equal(errors[0].error.code, '42704');
    assert.match(errors[0].error.message, /^events\[0\]: project "ghost" does not exist/);
    storage.recordRouteMetric('/a', 'GET', true, 1, { project: 'acme' });
    await storage.flush();
    assert.equal(server.eventsWritten('route'), 1);
    await storage.close();
});

test('408 and 429 are retried; 401, 403, 404 and 413 are refusals', async () => {
    for (const [status, retried] of [[408, true], [429, true], [500, true], [401, false], [403, false], [404, false], [413, false]]) {
        const { storage, server } = databaseStorage();
        server.next({ status, code: 'X', message: `status ${status}` });
        storage.recordOperationMetric('op', true, 1);
        await storage.flush();
        assert.equal(recordCalls(server).length, retried ? 2 : 1, `status ${status}`);
        assert.equal(storage.stats().rejected, retried ? 0 : 1, `status ${status}`);
        await storage.close();
    }
});

test('an internal error (500 XX000) is retried twice, then the batch counts as refused', async () => {
    const { storage, server } = databaseStorage();
    const internal = { status: 500, code: 'XX000', message: 'internal error' };
    server.next(internal, UNAVAILABLE, internal, internal, internal);
    storage.recordOperationMetric('op', true, 1);
    await storage.flush();
    assert.equal(recordCalls(server).length, 4, 'the 503 between does not count');
    assert.deepEqual([storage.stats().rejected, storage.stats().retries], [1, 3]);
    await storage.close();
});

test('flush() gives up after its timeout while the database is down, and keeps the batch', async () => {
    const { storage, server } = databaseStorage({ backoff: { initialMs: 10, maxMs: 10, jitter: 0 } });
    server.next(...Array.from({ length: 1000 }, () => UNAVAILABLE));
    recordSome(storage);
    const started = Date.now();
    const result = await storage.flush({ timeoutMs: 80 });
    const took = Date.now() - started;
    assert.ok(took >= 75 && took < 500, `took ${took} ms`);
    assert.deepEqual(result, { complete: false, pending: 3, pendingKeys: 2 });
    assert.ok(storage.stats().retries >= 3);
    assertBalanced(storage);
    assert.equal(new Set(recordCalls(server).map((c) => c.args.batch_id)).size, 1);
    server.script = [];
    assert.equal((await storage.flush()).complete, true);
    assert.equal(server.eventsWritten('route'), 3);
    await storage.close();
});

test('the memory bound: beyond maxPendingKeys, events of new keys are dropped and counted; known keys still add up', async () => {
    const { storage, server, drops } = databaseStorage({ maxPendingKeys: 3, backoff: { initialMs: 1000, maxMs: 1000, jitter: 0 } });
    server.next(...Array.from({ length: 1000 }, () => UNAVAILABLE));
    for (const r of ['/1', '/2', '/3']) {
        storage.recordRouteMetric(r, 'GET', true, 1);
    }
    storage.recordRouteMetric('/4', 'GET', true, 1); // a new key: dropped
    storage.recordRouteMetric('/1', 'GET', true, 1); // a pending key: added
    assert.deepEqual([storage.stats().recorded, storage.stats().dropped], [4, 1]);
    assert.equal(drops[0].reason, 'memory-bound');
    await storage.flush({ timeoutMs: 20 }); // fails: the three keys wait in an unsent batch
    assert.deepEqual([storage.stats().pendingKeys, storage.stats().unsentBatches], [3, 1]);
    storage.recordRouteMetric('/1', 'GET', true, 1); // new in the new pending map: no room
    assert.equal(storage.stats().dropped, 2, 'unsent batches count in the bound');
    assertBalanced(storage);
    server.script = [];
    await storage.flush();
    assert.equal(server.eventsWritten('route'), 4);
    storage.recordRouteMetric('/5', 'GET', true, 1);
    assert.equal(storage.stats().dropped, 2, 'room again once written');
    await storage.close();
});

test('backoff: initial, doubled, capped, less up to the jitter', () => {
    const b = { initialMs: 100, maxMs: 1000, jitter: 0 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 80].map((n) => backoffDelay(n, b)), [100, 200, 400, 800, 1000, 1000, 1000]);
    assert.equal(backoffDelay(2, { ...b, jitter: 0.5 }, () => 0.999999), 100);
    assert.equal(backoffDelay(2, { ...b, jitter: 0.5 }, () => 0), 200);
    assert.deepEqual(DEFAULTS.backoff, { initialMs: 1000, maxMs: 60_000, jitter: 0.2 });
});
