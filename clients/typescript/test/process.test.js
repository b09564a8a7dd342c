// The flush on a signal and on beforeExit, in child processes that use the real supabase-js
// against a fake PostgREST over HTTP: everything recorded arrives, the signal still ends the
// process as it would have (re-raised, not swallowed), and a storage whose database is down
// does not keep the process alive.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { FakeMetricsServer } from './support/fake-postgrest.js';
import { startHttpPostgrest } from './support/http-postgrest.js';

const CHILD = fileURLToPath(new URL('./support/child.js', import.meta.url));

/** @type {FakeMetricsServer} */
let fake;
let http;

before(async () => {
    fake = new FakeMetricsServer();
    http = await startHttpPostgrest({ handle: (...args) => fake.handle(...args) });
});
after(() => http.close());

/** Runs the child; `onReady(child)` once it has recorded. Resolves with how it ended. */
function runChild(scenario, onReady = () => {}) {
    const child = spawn(process.execPath, [CHILD, http.url, scenario], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.on('data', (d) => {
        if (String(d).includes('ready')) onReady(child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    return new Promise((resolve) => {
        child.on('exit', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stderr });
        });
    });
}

function assertEverythingArrived() {
    assert.equal(fake.eventsWritten('route'), 25);
    assert.equal(fake.eventsWritten('operation'), 1);
    assert.deepEqual(fake.written.route.map((e) => e.route).sort(), ['/api/r0', '/api/r1', '/api/r2', '/api/r3', '/api/r4']);
}

for (const signal of ['SIGTERM', 'SIGINT']) {
    test(`${signal}: the pending events are flushed, then the process dies of ${signal}`, async () => {
        fake = new FakeMetricsServer();
        const ended = await runChild('signal', (child) => child.kill(signal));
        assert.deepEqual([ended.code, ended.signal], [null, signal], ended.stderr);
        assertEverythingArrived();
        assert.ok(fake.calls.every((c) => c.schema === 'metrics' && typeof c.args.batch_id === 'string'));
    });
}

test('beforeExit: a process whose event loop empties flushes, then exits with code 0', async () => {
    fake = new FakeMetricsServer();
    const ended = await runChild('exit');
    assert.deepEqual([ended.code, ended.signal], [0, null], ended.stderr);
    assertEverythingArrived();
});

test('an own SIGTERM listener of the application has the last word: the flush runs, the signal is not raised again', async () => {
    fake = new FakeMetricsServer();
    const ended = await runChild('own-handler', (child) => child.kill('SIGTERM'));
    assert.deepEqual([ended.code, ended.signal], [7, null], ended.stderr);
    assertEverythingArrived();
});

test('with the database down, the exit flush gives up after shutdownTimeoutMs and the process still exits', async () => {
    fake = new FakeMetricsServer();
    fake.next(...Array.from({ length: 1000 }, () => ({ status: 503, code: 'PGRST001', message: 'Database client error' })));
    const started = Date.now();
    const ended = await runChild('exit');
    assert.deepEqual([ended.code, ended.signal], [0, null], ended.stderr);
    assert.ok(Date.now() - started < 6000, 'exits without waiting for the backoff');
    assert.equal(fake.eventsWritten('route'), 0);
    const ids = new Set(fake.calls.filter((c) => c.fn === 'record_route_metrics').map((c) => c.args.batch_id));
    assert.equal(ids.size, 1, 'every attempt carried the same batch id');
    assert.ok(fake.calls.length > 2, 'it was retried');
});
