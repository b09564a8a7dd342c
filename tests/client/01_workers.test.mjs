// Four worker processes, each an app server with its own storage and supabase-js client,
// record known events over several routes, methods, projects and hours with a short batch
// interval, then close. The database must hold exactly what they say they sent, and the
// percentiles must be those of the same events recorded as plain events by the server itself.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createMetricsStorage } from '@metrics/client';

import { HOUR_MS, atOf, hourStart, percentileDisc, tally } from './events.mjs';
import { BASE_URL, dbTotals, numbersOf, rpc, startWorker, supabaseFor, withTimeout } from './lib.mjs';

const WORKERS = 4;
const N = 5000;
const HOURS = 3;
const PREFIX = '/t1';
const REF = '/t1ref';
// Every event's time is this instant less 0..2 hours: the same for the client's events and the
// reference's, so each (route, method, hour) is one row on both sides.
const BASE_AT = Date.now() - 1000;
const RANGE = { start: hourStart(BASE_AT) - (HOURS - 1) * HOUR_MS, end: hourStart(BASE_AT) + HOUR_MS, grain: 'hour' };

let workers = [];
let reports = [];
let exits = [];
let events = [];
const reader = createMetricsStorage({ mode: 'database', supabase: supabaseFor(), env: {}, logger: null, handleSignals: false });

before(async () => {
    workers = Array.from({ length: WORKERS }, (_, w) => startWorker({
        name: `w${w}`, url: BASE_URL, prefix: PREFIX, gen: { seed: 1000 + w, n: N, hours: HOURS },
        baseAt: BASE_AT, perTick: 25, tickMs: 5,
        storage: { batchIntervalMs: 100 }, closeTimeoutMs: 20_000,
    }));
    reports = await withTimeout(Promise.all(workers.map((w) => w.done)), 60_000, 'the workers to finish');
    exits = await withTimeout(Promise.all(workers.map((w) => w.exited)), 10_000, 'the workers to exit');
    events = reports.flatMap((r) => r.events);
});
after(async () => {
    for (const w of workers) w.kill();
    await reader.close();
});

test('each worker recorded all its events in several batches, flushed them all and exited with code 0', () => {
    assert.equal(events.length, WORKERS * N);
    reports.forEach((r, w) => {
        assert.deepEqual(exits[w], { code: 0, signal: null }, workers[w].stderr());
        assert.equal(r.closed.complete, true, `worker ${w}: close() completed`);
        const { recorded, invalid, dropped, flushed, rejected, pending, pendingKeys, unsentBatches } = r.stats;
        assert.deepEqual({ recorded, invalid, dropped, flushed, rejected, pending, pendingKeys, unsentBatches },
            { recorded: N, invalid: 0, dropped: 0, flushed: N, rejected: 0, pending: 0, pendingKeys: 0, unsentBatches: 0 }, `worker ${w}`);
        assert.deepEqual(r.errors, [], `worker ${w}: no call failed`);
        assert.ok(r.stats.batches >= 3, `worker ${w} sent several batches (${r.stats.batches})`);
    });
});

test('the database holds exactly the events sent, per (route, method, project, hour): counts, sum, min and max', () => {
    const expected = numbersOf(tally(events, (e) => `${PREFIX}${e.path} ${e.method} ${e.project ?? '-'} ${hourStart(atOf(e, BASE_AT))}`));
    assert.ok(expected.size > 80, `many keys (${expected.size})`);
    assert.deepEqual(dbTotals(PREFIX, { byHour: true }), expected);
});

/** The client's report rows of routes under `prefix`, per "path method hour". */
async function rowsOf(prefix) {
    const rows = (await reader.getRouteMetrics(undefined, undefined, RANGE)).filter((r) => r.route.startsWith(`${prefix}/`));
    const map = new Map();
    for (const r of rows) {
        const key = `${r.route.slice(prefix.length)} ${r.method} ${r.periodStart.getTime()}`;
        assert.ok(!map.has(key), `one row per route, method and hour: ${key}`);
        map.set(key, r);
    }
    return map;
}

test('get_route_metrics per (route, method, hour), read through the client: the totals sent, all projects together', async () => {
    const expected = tally(events, (e) => `${e.path} ${e.method} ${hourStart(atOf(e, BASE_AT))}`);
    const rows = await rowsOf(PREFIX);
    assert.deepEqual([...rows.keys()].sort(), [...expected.keys()].sort());
    for (const [key, t] of expected) {
        const r = rows.get(key);
        assert.deepEqual(
            [r.totalRequests, r.successful, r.failed, Math.round(r.minDurationMs * 1000), Math.round(r.maxDurationMs * 1000)],
            [t.count, t.successful, t.failed, t.min_micros, t.max_micros], key);
        const average = t.sum_micros / 1000 / t.count;
        assert.ok(Math.abs(r.averageDurationMs - average) <= 1e-9 * average, `${key}: average ${r.averageDurationMs} = ${average}`);
    }
});

test('p50, p95 and p99 equal those of the same events recorded one by one as plain events (the sketch buckets are the server\'s)', async () => {
    // The same events, each its own element of record_route_metrics, under other route names.
    const plain = events.map((e) => ({
        route: REF + e.path, method: e.method, success: e.success, duration_ms: e.micros / 1000,
        at: new Date(atOf(e, BASE_AT)).toISOString(), ...(e.project === null ? {} : { project: e.project }),
    }));
    for (let i = 0; i < plain.length; i += 5000) {
        const chunk = plain.slice(i, i + 5000);
        const res = await rpc('record_route_metrics', { events: chunk });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.body, chunk.length);
    }
    const viaClient = await rowsOf(PREFIX);
    const viaServer = await rowsOf(REF);
    assert.deepEqual([...viaClient.keys()].sort(), [...viaServer.keys()].sort());
    const exact = tally(events, (e) => `${e.path} ${e.method} ${hourStart(atOf(e, BASE_AT))}`);
    let compared = 0;
    for (const [key, c] of viaClient) {
        const s = viaServer.get(key);
        const pick = (r) => ({
            n: r.totalRequests, successful: r.successful, failed: r.failed, min: r.minDurationMs, max: r.maxDurationMs,
            average: r.averageDurationMs, p50: r.p50Ms, p95: r.p95Ms, p99: r.p99Ms,
        });
        assert.deepEqual(pick(c), pick(s), `${key}: summaries sent by the client = the plain events`);
        // And the percentiles are what the sketch promises of the true durations: within 1%.
        const values = exact.get(key).micros.map((m) => m / 1000);
        for (const [q, p] of [[0.5, c.p50Ms], [0.95, c.p95Ms], [0.99, c.p99Ms]]) {
            const truth = percentileDisc(values, q);
            assert.ok(Math.abs(p - truth) <= 0.01 * truth, `${key}: p${q * 100} = ${p}, the true one ${truth}`);
        }
        compared += 1;
    }
    assert.ok(compared > 30, `compared ${compared} rows`);
});
