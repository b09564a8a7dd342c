// A worker process: an app server's process with its own storage (database mode, its own
// supabase-js client). It receives one job over IPC, records the job's events (made from its
// seed) a few at a time, as requests would come, closes the storage (the final flush), and
// reports what it sent: the events themselves, the storage's stats, close()'s result, what
// the hooks saw, and when it recorded. Then it exits on its own.
//
// job: { name, url, prefix, gen: makeEvents options, baseAt (ms, or null: "now"),
//        perTick, tickMs, storage: options of createMetricsStorage, closeTimeoutMs }
import { createMetricsStorage } from '@metrics/client';

import { atOf, makeEvents } from './events.mjs';
import { sleep, supabaseFor } from './lib.mjs';

// Orphaned (the test process died): stop at once rather than record into the void.
let finished = false;
process.on('disconnect', () => { if (!finished) process.exit(3); });

process.once('message', async (job) => {
    const errors = [];
    const drops = [];
    const storage = createMetricsStorage({
        mode: 'database',
        supabase: supabaseFor(job.url),
        env: {},
        logger: null,
        onError: (info) => errors.push({
            batchId: info.batchId, events: info.events, retryable: info.retryable,
            status: info.error.status, code: info.error.code, message: info.error.message,
        }),
        onDrop: (info) => drops.push({ reason: info.reason, events: info.events, message: info.message }),
        ...job.storage,
    });
    const events = makeEvents(job.gen);
    const startedAt = Date.now();
    process.send({ type: 'started' });
    let i = 0;
    while (i < events.length) {
        for (let k = 0; k < job.perTick && i < events.length; k += 1, i += 1) {
            const e = events[i];
            const at = atOf(e, job.baseAt);
            storage.recordRouteMetric(job.prefix + e.path, e.method, e.success, e.micros / 1000,
                at === null ? { project: e.project } : { project: e.project, at });
        }
        await sleep(job.tickMs);
    }
    const recordedUntil = Date.now();
    const closed = await storage.close({ timeoutMs: job.closeTimeoutMs ?? 15_000 });
    finished = true;
    // Disconnected once the report is written out, so the process then exits on its own.
    process.send({ type: 'done', events, stats: storage.stats(), closed, errors, drops, startedAt, recordedUntil }, () => process.disconnect());
});
