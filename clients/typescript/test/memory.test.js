// Memory mode's reads: the server's report rows computed from the hour summaries: grains
// (UTC hours, UTC days, ISO weeks from Monday), combined, filters, percentiles of the merged
// sketch (percentile_disc rank, kept within [min, max]), the range checks, retention.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MetricsError, bucketOf, representative } from '../src/index.js';
import { toWire } from '../src/summary.js';
import { FakeMetricsServer } from './support/fake-postgrest.js';
import { databaseStorage, memoryStorage } from './support/helpers.js';

const DAY = 86_400_000;
const NOW = Date.parse('2025-06-04T12:30:00Z'); // a Wednesday
const utc = (s) => new Date(`${s}Z`);

/** The percentile_disc of a sample: the value at position max(1, ceil(q n)) of the sorted values. */
function exactPercentile(values, q) {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

test('percentiles come from the sketch at the percentile_disc rank, within 1 % of the exact ones', async () => {
    const { storage } = memoryStorage();
    const durations = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 ms
    for (const d of durations) {
        storage.recordRouteMetric('/p', 'GET', d % 10 !== 0, d);
    }
    const [row] = await storage.getRouteMetrics('/p');
    assert.equal(row.totalRequests, 100);
    assert.deepEqual([row.successful, row.failed, row.successRate], [90, 10, 0.9]);
    assert.equal(row.averageDurationMs, 50.5);
    assert.deepEqual([row.minDurationMs, row.maxDurationMs], [1, 100]);
    assert.equal(row.p50Ms, representative(bucketOf(50)));
    assert.equal(row.p95Ms, representative(bucketOf(95)));
    assert.equal(row.p99Ms, Math.min(representative(bucketOf(99)), 100));
    for (const [q, got] of [[0.5, row.p50Ms], [0.95, row.p95Ms], [0.99, row.p99Ms]]) {
        const exact = exactPercentile(durations, q);
        assert.ok(Math.abs(got - exact) <= 0.01 * exact, `q ${q}: ${got} vs ${exact}`);
    }
    assert.deepEqual([row.periodStart, row.periodEnd, row.resolution], [utc('2025-06-04T12:00:00'), utc('2025-06-04T13:00:00'), 'hour']);
});

test('percentiles are kept within [min, max]: one event reports its own duration', async () => {
    const { storage } = memoryStorage();
    storage.recordOperationMetric('once', true, 10);
    const [row] = await storage.getOperationMetrics('once');
    assert.notEqual(representative(bucketOf(10)), 10);
    assert.deepEqual([row.p50Ms, row.p95Ms, row.p99Ms, row.totalExecutions, row.operation], [10, 10, 10, 1, 'once']);
    assert.equal('method' in row, false);
});

function recordWeekOfEvents(storage) {
    // Sunday 2025-06-01 belongs to the ISO week of Monday 2025-05-26.
    const events = [
        ['/a', 'GET', '2025-06-01T23:59:59.999Z', 10],
        ['/a', 'GET', '2025-06-02T00:00:00Z', 20],
        ['/a', 'GET', '2025-06-02T00:30:00Z', 30],
        ['/a', 'POST', '2025-06-02T01:00:00Z', 40],
        ['/b', 'GET', '2025-06-03T05:00:00Z', 50],
        ['/a', 'GET', '2025-06-04T12:00:00+02:00', 60],
    ];
    for (const [route, method, at, ms] of events) {
        storage.recordRouteMetric(route, method, true, ms, { at });
    }
}

const range = (grain, extra = {}) => ({ start: '2025-05-30T00:00:00Z', end: new Date(NOW), grain, ...extra });
const shape = (rows) => rows.map((r) => [r.periodStart.toISOString().slice(0, 13), r.route, r.method, r.totalRequests]);

test('hour, day and week grains group UTC hours, UTC days and ISO weeks from Monday', async () => {
    const { storage } = memoryStorage();
    recordWeekOfEvents(storage);
    assert.deepEqual(shape(await storage.getRouteMetrics(undefined, undefined, range('hour'))), [
        ['2025-06-01T23', '/a', 'GET', 1],
        ['2025-06-02T00', '/a', 'GET', 2],
        ['2025-06-02T01', '/a', 'POST', 1],
        ['2025-06-03T05', '/b', 'GET', 1],
        ['2025-06-04T10', '/a', 'GET', 1],
    ]);
    assert.deepEqual(shape(await storage.getRouteMetrics(undefined, undefined, range('day'))), [
        ['2025-06-01T00', '/a', 'GET', 1],
        ['2025-06-02T00', '/a', 'GET', 2],
        ['2025-06-02T00', '/a', 'POST', 1],
        ['2025-06-03T00', '/b', 'GET', 1],
        ['2025-06-04T00', '/a', 'GET', 1],
    ]);
    const weeks = await storage.getRouteMetrics(undefined, undefined, range('week'));
    assert.deepEqual(shape(weeks), [
        ['2025-05-26T00', '/a', 'GET', 1],
        ['2025-06-02T00', '/a', 'GET', 3],
        ['2025-06-02T00', '/a', 'POST', 1],
        ['2025-06-02T00', '/b', 'GET', 1],
    ]);
    assert.deepEqual([weeks[1].periodEnd, weeks[1].minDurationMs, weeks[1].maxDurationMs], [utc('2025-06-09T00:00:00'), 20, 60]);
});

test('combined merges routes and methods into one row per period, name and method null', async () => {
    const { storage } = memoryStorage();
    recordWeekOfEvents(storage);
    const rows = await storage.getRouteMetrics(undefined, undefined, range('week', { combined: true }));
    assert.deepEqual(shape(rows), [['2025-05-26T00', null, null, 1], ['2025-06-02T00', null, null, 5]]);
    assert.equal(rows[1].averageDurationMs, 40);
    assert.equal(rows[1].p50Ms, representative(bucketOf(40)));
});

test('filters: route exact, method any case, project; rows overlapping [start, end)', async () => {
    const { storage } = memoryStorage();
    recordWeekOfEvents(storage);
    storage.recordRouteMetric('/a', 'GET', false, 5, { at: '2025-06-02T00:10:00Z', project: 'acme' });
    const at00 = { start: '2025-06-02T00:59:59Z', end: '2025-06-02T01:00:00Z' };
    assert.deepEqual(shape(await storage.getRouteMetrics('/a', 'get', at00)), [['2025-06-02T00', '/a', 'GET', 3]], 'every project together');
    const acme = await storage.getRouteMetrics('/a', undefined, { ...at00, project: 'acme' });
    assert.deepEqual(shape(acme), [['2025-06-02T00', '/a', 'GET', 1]]);
    assert.equal(acme[0].successRate, 0);
    assert.deepEqual(await storage.getRouteMetrics('/a', 'PUT', at00), []);
    assert.deepEqual(await storage.getRouteMetrics('/a', undefined, { start: '2025-06-02T01:00:00Z', end: '2025-06-02T01:00:00.001Z' })
        .then(shape), [['2025-06-02T01', '/a', 'POST', 1]]);
});

test('the default range is the last 24 hours', async () => {
    const { storage } = memoryStorage();
    recordWeekOfEvents(storage);
    assert.deepEqual(shape(await storage.getRouteMetrics()), [['2025-06-04T10', '/a', 'GET', 1]], '/b at 2025-06-03T05 is older');
});

test('bad report arguments reject with the server SQLSTATE', async () => {
    const { storage } = memoryStorage();
    const cases = [
        [{ start: '2025-06-02T00:00:00Z', end: '2025-06-02T00:00:00Z' }, '22023', /before/],
        [{ start: '2024-01-01', end: '2025-06-01' }, '22023', /more than 366 days/],
        [{ start: '2025-06-01', end: '2025-06-02', grain: 'month' }, '22023', /unknown grain/],
        [{ start: '2025-06-01T00:00:00', end: '2025-06-02' }, '22007', /offset/],
        [{ start: 'soon', end: '2025-06-02' }, '22007', /offset/],
    ];
    for (const [r, code, message] of cases) {
        await assert.rejects(storage.getRouteMetrics(undefined, undefined, r), (e) => e instanceof MetricsError && e.code === code && message.test(e.message));
    }
    await assert.rejects(storage.getRouteMetrics('/a', 'BREW'), { code: '22023' });
    await assert.rejects(storage.getOperationMetrics('bad\nname'), { code: '22023' });
    await assert.rejects(storage.getRouteMetrics(undefined, undefined, { ...range('hour'), project: 'No Such' }), { code: '42704' });
});

test('retention: hours that ended retentionDays ago are dropped', async () => {
    const { storage, clock } = memoryStorage({ retentionDays: 2 });
    storage.recordRouteMetric('/old', 'GET', true, 1, { at: new Date(NOW - 2 * DAY + 1) });
    storage.recordRouteMetric('/new', 'GET', true, 1);
    clock.now = NOW + 3_600_000; // the /old hour ended 2 days ago
    const rows = await storage.getRouteMetrics(undefined, undefined, { start: new Date(NOW - 3 * DAY), end: new Date(clock.now) });
    assert.deepEqual(rows.map((r) => r.route), ['/new']);
    assert.deepEqual([storage.stats().pruned, storage.stats().keys, storage.stats().events], [1, 1, 1]);
});

test('maxMemoryKeys bounds memory mode: events of new keys are dropped and counted', async () => {
    const { storage } = memoryStorage({ maxMemoryKeys: 2 });
    storage.recordRouteMetric('/1', 'GET', true, 1);
    storage.recordRouteMetric('/2', 'GET', true, 1);
    storage.recordRouteMetric('/3', 'GET', true, 1);
    storage.recordRouteMetric('/1', 'GET', true, 1);
    assert.deepEqual([storage.stats().recorded, storage.stats().dropped, storage.stats().keys], [3, 1, 2]);
});

test('memory mode keeps exactly the summaries database mode sends, so both report the same numbers', async () => {
    const { storage: memory } = memoryStorage();
    const server = new FakeMetricsServer({ now: () => NOW });
    const { storage: database } = databaseStorage({ now: () => NOW }, { server });
    for (let i = 0; i < 300; i += 1) {
        const args = [`/r${i % 4}`, ['GET', 'post'][i % 2], i % 9 !== 0, (i * 37.1234567) % 2000, { at: new Date(NOW - (i % 5) * 3_600_000) }];
        memory.recordRouteMetric(...args);
        database.recordRouteMetric(...args);
    }
    await database.flush();
    const kept = [...memory.store.values()].map(toWire);
    const key = (e) => `${e.route} ${e.method} ${e.at}`;
    const sort = (list) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
    assert.equal(kept.length, 20, '4 (route, method) x 5 hours');
    assert.deepEqual(sort(server.written.route), sort(kept));
    await database.close();
});
