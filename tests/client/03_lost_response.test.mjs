// A flush whose response is lost after the commit is counted once. A proxy between the
// workers and PostgREST forwards the first record calls, waits for PostgREST's answer (the
// batch is committed), and then destroys the client's socket instead of answering. The client
// sends the batch again with the same id; the server writes nothing and answers the first count.
// Then the harder case: the client gives up waiting (requestTimeoutMs) while the first call
// still runs, and its retry arrives while the first has not committed yet. Last, what the
// server answers when a batch id comes again with other contents.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { createMetricsStorage } from '@metrics/client';

import { tally } from './events.mjs';
import {
    BASE_URL, dbTotals, numbersOf, openTransaction, rpc, sql, sqlRows, startProxy, startWorker, supabaseFor, waitFor, withTimeout,
} from './lib.mjs';

const isRecord = (entry) => entry.fn === 'record_route_metrics';

describe('responses lost after the commit', () => {
    const WORKERS = 2;
    const N = 3000;
    const LOST = 4;
    const PREFIX = '/t3';
    let proxy;
    let workers = [];
    let reports = [];
    let exits = [];

    before(async () => {
        proxy = await startProxy(BASE_URL);
        // The answers of the first LOST batches are lost (once each: their retries pass).
        const seenIds = new Set();
        proxy.state.policy = (entry) => {
            if (!isRecord(entry) || !entry.batchId || seenIds.has(entry.batchId)) return 'pass';
            seenIds.add(entry.batchId);
            return seenIds.size <= LOST ? 'lose' : 'pass';
        };
        workers = Array.from({ length: WORKERS }, (_, w) => startWorker({
            name: `l${w}`, url: proxy.url, prefix: PREFIX, gen: { seed: 3000 + w, n: N },
            baseAt: null, perTick: 25, tickMs: 5,
            storage: { batchIntervalMs: 100, backoff: { initialMs: 50, maxMs: 200, jitter: 0 } },
            closeTimeoutMs: 20_000,
        }));
        reports = await withTimeout(Promise.all(workers.map((w) => w.done)), 60_000, 'the workers to finish');
        exits = await withTimeout(Promise.all(workers.map((w) => w.exited)), 10_000, 'the workers to exit');
    });
    after(async () => {
        for (const w of workers) w.kill();
        await proxy?.close();
    });

    test(`the first ${LOST} record calls were committed by PostgREST (200, the count) and their answers lost`, () => {
        const lost = proxy.log.filter((e) => e.action === 'lose');
        assert.equal(lost.length, LOST);
        for (const e of lost) {
            assert.equal(e.status, 200, e.response);
            assert.equal(JSON.parse(e.response), e.events, `batch ${e.batchId}: PostgREST answered its count`);
        }
    });

    test('each lost batch was sent again with the same id and contents, and answered the first count', () => {
        const records = proxy.log.filter(isRecord);
        for (const e of records.filter((x) => x.action === 'lose')) {
            const again = records.filter((x) => x.batchId === e.batchId && x.n > e.n);
            assert.equal(again.length, 1, `batch ${e.batchId} was sent once more`);
            assert.deepEqual([again[0].action, again[0].status, again[0].events], ['pass', 200, e.events]);
            assert.equal(JSON.parse(again[0].response), e.events, 'the retry answered the first call\'s count');
        }
        assert.ok(records.every((x) => x.status === 200), 'every record call was answered 200 by PostgREST');
    });

    test('metrics.recorded_batches has every batch id once, with its count of events', () => {
        const byId = new Map();
        for (const e of proxy.log.filter(isRecord)) byId.set(e.batchId, e.events);
        const ids = [...byId.keys()];
        const rows = sqlRows(`SELECT batch_id, family, events FROM metrics.recorded_batches
                              WHERE batch_id = ANY ('{${ids.join(',')}}'::uuid[]) ORDER BY batch_id`);
        assert.deepEqual(rows.map((r) => [r.batch_id, r.family, r.events]),
            [...byId].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, n]) => [id, 'route_metrics', n]));
        assert.equal([...byId.values()].reduce((a, b) => a + b, 0), WORKERS * N, 'the batches hold every event once');
    });

    test('the database counts every event exactly once', () => {
        const events = reports.flatMap((r) => r.events);
        assert.equal(events.length, WORKERS * N);
        assert.deepEqual(dbTotals(PREFIX), numbersOf(tally(events, (e) => `${PREFIX}${e.path} ${e.method} ${e.project ?? '-'}`)));
        assert.equal(Number(sql(`SELECT sum(total_requests) FROM metrics.route_metrics_live WHERE starts_with(route, '${PREFIX}/')`)), WORKERS * N);
    });

    test(`the clients' stats show the ${LOST} retries, and everything flushed`, () => {
        const sum = (f) => reports.reduce((n, r) => n + f(r), 0);
        assert.equal(sum((r) => r.stats.retries), LOST);
        assert.equal(sum((r) => r.errors.length), LOST);
        assert.ok(reports.every((r) => r.errors.every((e) => e.retryable && e.status === 0)), 'no answer: status 0, retryable');
        assert.equal(sum((r) => r.stats.batches), new Set(proxy.log.filter(isRecord).map((e) => e.batchId)).size);
        reports.forEach((r, w) => {
            assert.deepEqual(exits[w], { code: 0, signal: null }, workers[w].stderr());
            assert.equal(r.closed.complete, true);
            assert.deepEqual([r.stats.recorded, r.stats.flushed, r.stats.rejected, r.stats.dropped, r.stats.pending], [N, N, 0, 0, 0]);
        });
    });
});

describe('a retry while the first call has not committed yet', () => {
    const PREFIX = '/t3c';
    const N = 10;
    let lock;
    let storage;
    const errors = [];
    const seen = {};

    before(async () => {
        storage = createMetricsStorage({
            mode: 'database', supabase: supabaseFor(), env: {}, logger: null, handleSignals: false,
            batchIntervalMs: 60_000, requestTimeoutMs: 1500, backoff: { initialMs: 50, maxMs: 50, jitter: 0 },
            onError: (info) => errors.push({ batchId: info.batchId, code: info.error.code, retryable: info.retryable }),
        });
        // The first call claims its batch id, then waits for this lock to append its rows.
        lock = openTransaction('LOCK TABLE metrics.route_metrics_unfolded IN SHARE MODE;');
        await lock.ready;
        for (let i = 0; i < N; i += 1) storage.recordRouteMetric(`${PREFIX}/api/x`, 'GET', i % 4 !== 0, 1 + i);
        const flushed = storage.flush({ timeoutMs: 20_000 });
        // The client times out, and its retry waits on the first call's uncommitted batch id.
        await waitFor('the client to give up waiting', () => errors.length >= 1, { timeoutMs: 10_000 });
        seen.waits = await waitFor('the retry to wait on the batch id', () => {
            const waits = sqlRows(`SELECT wait_event FROM pg_stat_activity
                                   WHERE datname = current_database() AND wait_event_type = 'Lock'
                                     AND query LIKE '%record_route_metrics%' ORDER BY wait_event`).map((r) => r.wait_event);
            return waits.includes('transactionid') ? waits : null;
        }, { timeoutMs: 10_000 });
        await lock.release();
        seen.flush = await flushed;
    });
    after(async () => {
        lock?.kill();
        await storage?.close({ timeoutMs: 100 });
    });

    test('the first call held the id (waiting on the lock) while the retry waited on the primary key', () => {
        assert.deepEqual(seen.waits, ['relation', 'transactionid']);
        assert.deepEqual(errors.map((e) => [e.code, e.retryable]), [['TIMEOUT', true]]);
    });

    test('once the first committed, the retry answered its count: the events are counted once', () => {
        assert.equal(seen.flush.complete, true);
        const s = storage.stats();
        assert.deepEqual([s.flushed, s.retries, s.batches, s.rejected], [N, 1, 1, 0]);
        assert.equal(Number(sql(`SELECT sum(total_requests) FROM metrics.route_metrics_live WHERE starts_with(route, '${PREFIX}/')`)), N);
        assert.equal(sql(`SELECT events FROM metrics.recorded_batches WHERE batch_id = '${errors[0].batchId}'`), String(N));
    });
});

describe('a batch id sent again with other contents', () => {
    const PREFIX = '/t3x';
    const ID = '3f1c2a4e-9b7d-4c1e-8a2b-5d6e7f809a1b';
    const one = (route, ms) => [{ route: `${PREFIX}${route}`, method: 'GET', success: true, duration_ms: ms }];
    const counted = () => Number(sql(`SELECT coalesce(sum(total_requests), 0) FROM metrics.route_metrics_live WHERE starts_with(route, '${PREFIX}/')`));
    const show = (args, res) => `POST /rpc/record_route_metrics ${JSON.stringify(args)} answered ${res.status} ${res.text}`;

    test('the same batch again: 200 with the first count, nothing written again', async () => {
        const first = await rpc('record_route_metrics', { events: one('/a', 5), batch_id: ID });
        assert.deepEqual([first.status, first.body], [200, 1], first.text);
        const again = await rpc('record_route_metrics', { events: one('/a', 5), batch_id: ID });
        assert.deepEqual([again.status, again.body], [200, 1], again.text);
        assert.equal(counted(), 1);
    });

    test('another number of events: 400 with 22023, nothing written', async () => {
        const args = { events: [...one('/a', 5), ...one('/a', 6)], batch_id: ID };
        const res = await rpc('record_route_metrics', args);
        assert.deepEqual([res.status, res.body?.code], [400, '22023'], show(args, res));
        assert.equal(counted(), 1);
    });

    test('the id of a route batch for operations: 400 with 22023', async () => {
        const args = { events: [{ operation: 'send_email', success: true, duration_ms: 5 }], batch_id: ID };
        const res = await rpc('record_operation_metrics', args);
        assert.deepEqual([res.status, res.body?.code], [400, '22023'], `POST /rpc/record_operation_metrics ${JSON.stringify(args)} answered ${res.status} ${res.text}`);
    });

    test('the same number of events but other ones: 400 with 22023, nothing written', async () => {
        // The server remembers a digest of the batch with its id (src/requests/batches.rs, claim).
        const args = { events: one('/b', 700), batch_id: ID };
        const res = await rpc('record_route_metrics', args);
        assert.deepEqual([res.status, res.body?.code], [400, '22023'], show(args, res));
        assert.equal(counted(), 1);
    });
});
