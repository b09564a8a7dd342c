// Database mode: events add up per (route, method, UTC hour, project) and are sent as
// summaries in batches, on the interval or as soon as maxBatchKeys keys are pending.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bucketOf } from '../src/index.js';
import { addDurations, wholeMicros } from '../src/validate.js';
import { FakeMetricsServer } from './support/fake-postgrest.js';
import { databaseStorage, until } from './support/helpers.js';

const NOW = Date.parse('2025-06-04T12:30:00Z');
const at = (iso) => ({ at: iso });

function fixedClock() {
    const server = new FakeMetricsServer({ now: () => NOW });
    return { server, options: { now: () => NOW } };
}

test('events add up per (route, method, hour) into one summary each, in the wire format', async () => {
    const { server, options } = fixedClock();
    const { storage } = databaseStorage(options, { server });
    storage.recordRouteMetric('/api/x', 'GET', true, 10.0004, at('2025-06-04T11:05:00Z'));
    storage.recordRouteMetric('/api/x', 'get', false, 300.2, at('2025-06-04T11:59:59.999Z'));
    storage.recordRouteMetric('/api/x', 'GET', true, 0.5, at('2025-06-04T11:30:00Z'));
    storage.recordRouteMetric('/api/x', 'POST', true, 7, at('2025-06-04T11:10:00Z'));
    storage.recordRouteMetric('/api/x', 'GET', true, 1, at('2025-06-04T12:00:00Z'));
    storage.recordRouteMetric('/api/x', 'GET', true, 2, { at: '2025-06-04T12:01:00Z', project: 'acme' });
    storage.recordOperationMetric('send_email', true, 80, at('2025-06-04T12:10:00+02:00'));
    const result = await storage.flush();
    assert.deepEqual(result, { complete: true, pending: 0, pendingKeys: 0 });

    const routeCalls = server.calls.filter((c) => c.fn === 'record_route_metrics');
    assert.equal(routeCalls.length, 1, 'one call for all route summaries');
    const { events, batch_id: batchId } = routeCalls[0].args;
    assert.match(batchId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(events.length, 4, 'GET 11h, POST 11h, GET 12h, GET 12h of acme');
    assert.deepEqual(events[0], {
        route: '/api/x',
        method: 'GET',
        at: '2025-06-04T11:59:59.999Z',
        successful: 2,
        failed: 1,
        total_duration_ms: 310.7,
        min_duration_ms: 0.5,
        max_duration_ms: 300.2,
        sketch: [[bucketOf(0.5), 1], [bucketOf(10), 1], [bucketOf(300.2), 1]].sort((a, b) => a[0] - b[0]),
    });
    assert.equal(events[3].project, 'acme');
    assert.equal(events[2].project, undefined, 'no project: the key is left out');

    const op = server.calls.find((c) => c.fn === 'record_operation_metrics').args.events;
    assert.deepEqual(op, [{
        operation: 'send_email', at: '2025-06-04T10:10:00.000Z', successful: 1, failed: 0,
        total_duration_ms: 80, min_duration_ms: 80, max_duration_ms: 80, sketch: [[bucketOf(80), 1]],
    }]);
    const s = storage.stats();
    assert.deepEqual([s.recorded, s.flushed, s.pending, s.batches, s.retries], [7, 7, 0, 2, 0]);
    await storage.close();
});

test('sums are to the microsecond and independent of the order, as the server sums them', async () => {
    const { server, options } = fixedClock();
    const { storage } = databaseStorage(options, { server });
    const durations = Array.from({ length: 500 }, (_, i) => ((i * 7919) % 20011) / 7);
    for (const d of durations) {
        storage.recordRouteMetric('/sum', 'GET', true, d);
    }
    await storage.flush();
    const [e] = server.written.route;
    const expected = durations.map(wholeMicros).reduce(addDurations, 0);
    assert.equal(e.total_duration_ms, expected);
    assert.equal(e.total_duration_ms, durations.map(wholeMicros).reverse().reduce(addDurations, 0));
    assert.equal(Math.round(e.total_duration_ms * 1000) / 1000, e.total_duration_ms);
    assert.equal(e.sketch.reduce((n, [, c]) => n + c, 0), 500);
    await storage.close();
});

test('the interval flushes on its own; no call is made when nothing is pending', async () => {
    const { storage, server } = databaseStorage({ batchIntervalMs: 15 });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.calls.length, 0, 'no empty batches');
    storage.recordRouteMetric('/tick', 'GET', true, 1);
    await until(() => storage.stats().flushed === 1);
    assert.equal(server.calls.length, 1);
    assert.equal(server.eventsWritten('route'), 1);
    await storage.close();
});

test('maxBatchKeys pending keys start a flush at once, before the interval', async () => {
    const { storage, server } = databaseStorage({ maxBatchKeys: 3 });
    storage.recordRouteMetric('/a', 'GET', true, 1);
    storage.recordRouteMetric('/a', 'GET', true, 2);
    storage.recordRouteMetric('/b', 'GET', true, 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.calls.length, 0, 'two keys: nothing sent yet');
    storage.recordRouteMetric('/c', 'GET', true, 1);
    await until(() => storage.stats().flushed === 4);
    assert.equal(server.calls.length, 1);
    assert.equal(server.calls[0].args.events.length, 3);
    assert.equal(server.eventsWritten('route'), 4);
    await storage.close();
});

test('a batch is split into calls of at most maxBatchElements summaries, each with its own id', async () => {
    const { storage, server } = databaseStorage({ maxBatchElements: 2 });
    for (let i = 0; i < 5; i += 1) {
        storage.recordRouteMetric(`/r${i}`, 'GET', true, i);
    }
    await storage.flush();
    assert.deepEqual(server.calls.map((c) => c.args.events.length), [2, 2, 1]);
    assert.equal(new Set(server.calls.map((c) => c.args.batch_id)).size, 3);
    assert.equal(server.eventsWritten('route'), 5);
    await storage.close();
});

test('close() flushes, then drops later events as closed and sends nothing more', async () => {
    const { storage, server, drops } = databaseStorage({ batchIntervalMs: 10 });
    storage.recordRouteMetric('/last', 'GET', true, 1);
    const result = await storage.close();
    assert.equal(result.complete, true);
    assert.equal(server.eventsWritten('route'), 1);
    storage.recordRouteMetric('/late', 'GET', true, 1);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(server.calls.length, 1);
    assert.deepEqual([storage.stats().dropped, drops.at(-1).reason], [1, 'closed']);
    assert.equal(await storage.close(), result, 'closing again is the same close');
});
