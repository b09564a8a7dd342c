// PostgREST stopped and started again (same configuration, same port) while three worker
// processes keep recording: the batches that fail meanwhile are kept and sent again, with
// their ids, once it is back. Afterwards the database holds exactly what the workers sent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { tally } from './events.mjs';
import {
    BASE_URL, accepts, currentPostgrestPid, dbTotals, numbersOf, postgrestReady, sleep, startPostgrest, startWorker,
    stopPostgrest, withTimeout,
} from './lib.mjs';

const WORKERS = 3;
const PREFIX = '/t2';
const PER_TICK = 20;
const TICK_MS = 20;
const N = 8000; // 400 ticks of at least 20 ms: 8 s or more of recording each, past the restart
const DOWN_MS = 3000;

let workers = [];
let reports = [];
let exits = [];
const outage = {};

before(async () => {
    workers = Array.from({ length: WORKERS }, (_, w) => startWorker({
        name: `r${w}`, url: BASE_URL, prefix: PREFIX, gen: { seed: 2000 + w, n: N },
        baseAt: null, perTick: PER_TICK, tickMs: TICK_MS,
        storage: { batchIntervalMs: 200, requestTimeoutMs: 3000, backoff: { initialMs: 100, maxMs: 500, jitter: 0 } },
        closeTimeoutMs: 20_000,
    }));
    await withTimeout(Promise.all(workers.map((w) => w.started)), 20_000, 'the workers to start');
    await sleep(1500);
    outage.downAt = Date.now();
    outage.stoppedPid = await stopPostgrest();
    outage.refusedWhileDown = !(await accepts(BASE_URL));
    await sleep(DOWN_MS);
    outage.startedPid = await startPostgrest();
    outage.backAt = Date.now();
    reports = await withTimeout(Promise.all(workers.map((w) => w.done)), 60_000, 'the workers to finish');
    exits = await withTimeout(Promise.all(workers.map((w) => w.exited)), 10_000, 'the workers to exit');
});
after(() => {
    for (const w of workers) w.kill();
});

test('PostgREST was really down in the middle of the run and is back on the same port', async () => {
    assert.equal(outage.refusedWhileDown, true, 'its port refused connections');
    assert.notEqual(outage.startedPid, outage.stoppedPid);
    assert.equal(currentPostgrestPid(), outage.startedPid);
    assert.equal(await postgrestReady(), true);
    // Every worker recorded before, during and after the outage.
    reports.forEach((r, w) => {
        assert.ok(r.startedAt < outage.downAt && r.recordedUntil > outage.backAt,
            `worker ${w} recorded from ${r.startedAt} to ${r.recordedUntil}; PostgREST was down from ${outage.downAt} to ${outage.backAt}`);
    });
});

test('every worker saw failed calls, retried them, and flushed everything in the end', () => {
    reports.forEach((r, w) => {
        assert.deepEqual(exits[w], { code: 0, signal: null }, workers[w].stderr());
        assert.equal(r.closed.complete, true, `worker ${w}: close() completed`);
        const { recorded, invalid, dropped, flushed, rejected, pending } = r.stats;
        assert.deepEqual({ recorded, invalid, dropped, flushed, rejected, pending },
            { recorded: N, invalid: 0, dropped: 0, flushed: N, rejected: 0, pending: 0 }, `worker ${w}`);
        assert.ok(r.stats.retries >= 1, `worker ${w} retried (${r.stats.retries} retries)`);
        assert.ok(r.errors.length >= 1 && r.errors.every((e) => e.retryable), `worker ${w}: only retryable failures: ${JSON.stringify(r.errors.slice(0, 3))}`);
    });
});

test('the database holds exactly the events sent, per (route, method, project)', () => {
    const events = reports.flatMap((r) => r.events);
    const expected = numbersOf(tally(events, (e) => `${PREFIX}${e.path} ${e.method} ${e.project ?? '-'}`));
    assert.deepEqual(dbTotals(PREFIX), expected);
});
