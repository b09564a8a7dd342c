// Memory mode without a database: in a process whose sockets, fetch and DNS are traps
// (memory-child.mjs), the reports give the counts of the events recorded and the percentiles
// the server gives for the same events, and nothing is sent anywhere.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';

import { HOUR_MS, hourStart, makeEvents, percentileDisc, tally } from './events.mjs';
import { rpc, sql, withTimeout } from './lib.mjs';

const PREFIX = '/t5';
const REF = '/t5ref';
const AT = Date.now() - 1000;
const RANGE = { start: hourStart(AT), end: hourStart(AT) + HOUR_MS, grain: 'hour' };
const events = makeEvents({ seed: 5000, n: 4000 }).map((e) => ({ ...e, route: PREFIX + e.path }));

let got;
let exit;
const before_ = {};

const batchCount = () => Number(sql('SELECT count(*) FROM metrics.recorded_batches'));
const rowsUnder = (prefix) => Number(sql(`SELECT count(*) FROM metrics.route_metrics_live WHERE starts_with(route, '${prefix}/')`));

before(async () => {
    before_.batches = batchCount();
    const child = fork(fileURLToPath(new URL('./memory-child.mjs', import.meta.url)), [],
        { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const answer = new Promise((resolve) => child.once('message', resolve));
    child.send({ events, at: AT, range: RANGE });
    try {
        got = await withTimeout(answer, 20_000, 'the memory-mode process to answer');
        exit = await withTimeout(exited, 10_000, 'the memory-mode process to exit');
    } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
    }
});

test('nothing is sent anywhere: no socket, fetch or DNS lookup, the supabase option never touched, nothing in the database', () => {
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.deepEqual(got.attempts, []);
    assert.deepEqual(got.touched, []);
    assert.equal(rowsUnder(PREFIX), 0);
    assert.equal(batchCount(), before_.batches);
    assert.deepEqual(got.flush, { complete: true, pending: 0, pendingKeys: 0 });
    assert.deepEqual(got.close, { complete: true, pending: 0, pendingKeys: 0 });
    const { mode, recorded, invalid, dropped, flushed, batches, keys, events: held } = got.stats;
    assert.deepEqual({ mode, recorded, invalid, dropped, flushed, batches, held },
        { mode: 'memory', recorded: events.length, invalid: 0, dropped: 0, flushed: 0, batches: 0, held: events.length });
    assert.equal(keys, new Set(events.map((e) => `${e.route} ${e.method} ${e.project}`)).size);
});

const keyOf = (r) => `${r.route.slice(r.route.indexOf('/', 1))} ${r.method}`;

test('the reports count the events recorded, per route and method and all together, and per project', () => {
    const expected = tally(events, (e) => `${e.path} ${e.method}`);
    assert.equal(got.rows.length, expected.size);
    for (const r of got.rows) {
        const t = expected.get(keyOf(r));
        assert.ok(t, keyOf(r));
        assert.equal(r.periodStart.getTime(), RANGE.start);
        assert.deepEqual(
            [r.totalRequests, r.successful, r.failed, Math.round(r.minDurationMs * 1000), Math.round(r.maxDurationMs * 1000), r.successRate],
            [t.count, t.successful, t.failed, t.min_micros, t.max_micros, t.successful / t.count], keyOf(r));
        const average = t.sum_micros / 1000 / t.count;
        assert.ok(Math.abs(r.averageDurationMs - average) <= 1e-9 * average, `${keyOf(r)}: average`);
        for (const [q, p] of [[0.5, r.p50Ms], [0.95, r.p95Ms], [0.99, r.p99Ms]]) {
            const truth = percentileDisc(t.micros.map((m) => m / 1000), q);
            assert.ok(Math.abs(p - truth) <= 0.01 * truth, `${keyOf(r)}: p${q * 100} = ${p}, the true one ${truth}`);
        }
    }
    assert.equal(got.combined.length, 1);
    assert.deepEqual([got.combined[0].route, got.combined[0].totalRequests], [null, events.length]);
    assert.equal(got.byProject.reduce((n, r) => n + r.totalRequests, 0), events.filter((e) => e.project === 'shop').length);
});

test('every number of every row is the server\'s for the same events (recorded as plain events)', async () => {
    const plain = events.map((e) => ({
        route: REF + e.path, method: e.method, success: e.success, duration_ms: e.micros / 1000,
        at: new Date(AT).toISOString(), ...(e.project === null ? {} : { project: e.project }),
    }));
    const res = await rpc('record_route_metrics', { events: plain });
    assert.equal(res.status, 200, res.text);
    const read = await rpc('get_route_metrics', { start_at: new Date(RANGE.start).toISOString(), end_at: new Date(RANGE.end).toISOString(), grain: 'hour' });
    assert.equal(read.status, 200, read.text);
    const server = new Map(read.body.filter((r) => r.route.startsWith(`${REF}/`)).map((r) => [keyOf(r), r]));
    assert.equal(server.size, got.rows.length);
    for (const r of got.rows) {
        const s = server.get(keyOf(r));
        assert.deepEqual(
            [r.totalRequests, r.successful, r.failed, r.successRate, r.averageDurationMs, r.minDurationMs, r.maxDurationMs, r.p50Ms, r.p95Ms, r.p99Ms, r.resolution],
            [s.total_requests, s.successful, s.failed, s.success_rate, s.average_duration_ms, s.min_duration_ms, s.max_duration_ms, s.p50_ms, s.p95_ms, s.p99_ms, s.resolution],
            keyOf(r));
    }
});
