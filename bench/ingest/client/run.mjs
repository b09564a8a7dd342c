// Runs one case of bench/ingest/client_run: forks the workers (worker.mjs), starts them all at
// once, waits for their reports and prints one JSON line: the case, the wall time from the
// start to the last report (the final flush included), and the workers' counts added up.
//
//   node run.mjs CASE SECONDS WORKERS CONCURRENCY BATCH_INTERVAL_MS   (BENCH_URL, BENCH_KEY)
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [kind, seconds, workers, concurrency, batchIntervalMs] = process.argv.slice(2);
const { BENCH_URL: url, BENCH_KEY: key } = process.env;
if (!['client', 'rpc'].includes(kind) || !url || !key) {
    console.error('usage: BENCH_URL=... BENCH_KEY=... node run.mjs client|rpc SECONDS WORKERS CONCURRENCY BATCH_INTERVAL_MS');
    process.exit(2);
}
const job = { case: kind, url, key, seconds: Number(seconds), concurrency: Number(concurrency), batchIntervalMs: Number(batchIntervalMs) };
const worker = fileURLToPath(new URL('./worker.mjs', import.meta.url));

const children = Array.from({ length: Number(workers) }, () => fork(worker, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
// A run that hangs is ended: the time, plus the final flush's bound, plus a margin.
const watchdog = setTimeout(() => {
    console.error('run.mjs: the workers did not finish in time; killing them');
    for (const c of children) c.kill('SIGKILL');
    process.exit(1);
}, (job.seconds + 90) * 1000);

const message = (child, type) => new Promise((resolve, reject) => {
    child.on('message', (m) => { if (m.type === type) resolve(m); });
    child.on('exit', (code) => reject(new Error(`a worker exited (code ${code}) before '${type}'`)));
});

try {
    const ready = children.map((c) => message(c, 'ready'));
    for (const c of children) c.send(job);
    await Promise.all(ready);
    const done = children.map((c) => message(c, 'done'));
    const started = performance.now();
    for (const c of children) c.send('go');
    const reports = await Promise.all(done);
    const elapsedMs = performance.now() - started;
    const sum = (f) => reports.reduce((n, r) => n + f(r), 0);
    const perRoute = {};
    const failures = {};
    for (const r of reports) {
        for (const [k, v] of Object.entries(r.perRoute)) perRoute[k] = (perRoute[k] ?? 0) + v;
        for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    }
    console.log(JSON.stringify({
        case: kind, elapsedMs, handled: sum((r) => r.handled), confirmed: sum((r) => r.confirmed), perRoute, failures,
        flushMs: Math.max(...reports.map((r) => r.flushMs)),
        complete: reports.every((r) => r.closed === null || r.closed.complete),
        invalid: sum((r) => r.stats?.invalid ?? 0), dropped: sum((r) => r.stats?.dropped ?? 0),
        rejected: sum((r) => r.stats?.rejected ?? 0), recorded: sum((r) => r.stats?.recorded ?? r.confirmed),
        calls: sum((r) => r.stats?.batches ?? r.handled),
    }));
} catch (e) {
    console.error(`run.mjs: ${e.message}`);
    for (const c of children) c.kill('SIGKILL');
    process.exitCode = 1;
} finally {
    clearTimeout(watchdog);
}
