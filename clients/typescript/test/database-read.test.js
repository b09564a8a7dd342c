// Database mode's reads: the arguments sent to get_route_metrics / get_operation_metrics, the
// rows typed (Dates, numbers, null percentiles), the errors as MetricsError. Reads return what
// the database holds: events still pending are not included.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MetricsError } from '../src/index.js';
import { databaseStorage } from './support/helpers.js';

const SERVER_ROW = {
    period_start: '2025-06-02T00:00:00+00:00',
    period_end: '2025-06-03T00:00:00+00:00',
    route: '/api/x',
    method: 'GET',
    total_requests: 12,
    successful: 10,
    failed: 2,
    success_rate: 0.8333333333333334,
    average_duration_ms: 102.875,
    min_duration_ms: 0.5,
    max_duration_ms: 300.2,
    p50_ms: 50.1,
    p95_ms: 290.3,
    p99_ms: 300.2,
    resolution: 'day',
};

test('getRouteMetrics sends the named arguments and types the rows', async () => {
    const { storage, server } = databaseStorage();
    server.reads = () => [SERVER_ROW];
    const rows = await storage.getRouteMetrics('/api/x', 'get', {
        start: new Date('2025-06-01T00:00:00Z'), end: '2025-06-08T00:00:00+02:00', grain: 'day', combined: false, project: 'acme',
    });
    assert.deepEqual(server.calls.at(-1), {
        schema: 'metrics',
        fn: 'get_route_metrics',
        args: {
            route: '/api/x', method: 'get', start_at: '2025-06-01T00:00:00.000Z', end_at: '2025-06-07T22:00:00.000Z',
            grain: 'day', combined: false, project: 'acme',
        },
    });
    assert.deepEqual(rows, [{
        periodStart: new Date('2025-06-02T00:00:00Z'),
        periodEnd: new Date('2025-06-03T00:00:00Z'),
        route: '/api/x',
        method: 'GET',
        totalRequests: 12,
        successful: 10,
        failed: 2,
        successRate: 0.8333333333333334,
        averageDurationMs: 102.875,
        minDurationMs: 0.5,
        maxDurationMs: 300.2,
        p50Ms: 50.1,
        p95Ms: 290.3,
        p99Ms: 300.2,
        resolution: 'day',
    }]);
    await storage.close();
});

test('getOperationMetrics without a range leaves the server defaults; combined rows have null names', async () => {
    const { storage, server } = databaseStorage();
    const { route, method, total_requests: n, ...rest } = SERVER_ROW;
    server.reads = () => [{ ...rest, operation: null, total_executions: n, p50_ms: null, p95_ms: null, p99_ms: null }];
    const [row] = await storage.getOperationMetrics(undefined, { start: '2025-06-01', end: '2025-06-02', combined: true });
    assert.deepEqual(server.calls.at(-1).args, { start_at: '2025-06-01T00:00:00.000Z', end_at: '2025-06-02T00:00:00.000Z', grain: 'hour', combined: true });
    assert.deepEqual([row.operation, row.totalExecutions, row.p50Ms, 'route' in row], [null, 12, null, false]);
    await storage.getOperationMetrics();
    assert.deepEqual(server.calls.at(-1), { schema: 'metrics', fn: 'get_operation_metrics', args: { grain: 'hour', combined: false } });
    await storage.close();
});

test('reads return what the database holds: pending events are not read (flush() first)', async () => {
    const { storage, server } = databaseStorage();
    server.reads = () => [];
    storage.recordRouteMetric('/pending', 'GET', true, 1);
    assert.deepEqual(await storage.getRouteMetrics(), []);
    assert.equal(server.calls.filter((c) => c.fn.startsWith('record_')).length, 0, 'a read does not flush');
    await storage.close();
});

test('a failed read rejects with a MetricsError carrying status, code, message and retryable', async () => {
    const { storage, server } = databaseStorage();
    server.next({ status: 400, code: '22023', message: 'the range spans more than 366 days' });
    await assert.rejects(storage.getRouteMetrics(undefined, undefined, { start: '2020-01-01', end: '2025-01-01' }),
        (e) => e instanceof MetricsError && e.status === 400 && e.code === '22023' && e.retryable === false && /366 days/.test(e.message));
    server.next({ network: true });
    await assert.rejects(storage.getRouteMetrics(), (e) => e instanceof MetricsError && e.status === 0 && e.retryable === true);
    const before = server.calls.length;
    await assert.rejects(storage.getRouteMetrics(undefined, undefined, { start: '2025-06-01T00:00', end: '2025-06-02' }), { code: '22007' });
    assert.equal(server.calls.length, before, 'refused before any call');
    await storage.close();
});
