// One worker process of bench/ingest/client_run: an app server that handles requests as fast
// as it can, `concurrency` at a time, for `seconds`, and records each one:
//   client  with @metrics/client's recordRouteMetric (batched, flushed through PostgREST every
//           batchIntervalMs; the final flush is close());
//   rpc     with one POST /rpc/record_route_metric per request, awaited, over keep-alive
//           connections (an http.Agent of `concurrency` sockets).
// A "request" is a turn of the event loop (setImmediate) plus the recording; its route is one
// of 10, GET, 98% successful, its duration what performance.now() measured.
// It reports over IPC what it counted: requests handled, events confirmed (client: flushed by
// the storage; rpc: answered 204), failures, and per route the events it recorded.
import { Agent, request } from 'node:http';

import { createClient } from '@supabase/supabase-js';
import ws from 'ws';
import { createMetricsStorage } from '@metrics/client';

const ROUTES = Array.from({ length: 10 }, (_, i) => `/bench/api/v1/route-${i + 1}`);
const turn = () => new Promise((resolve) => setImmediate(resolve));

function withoutGateway(input, init) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const direct = url.replace(/^(https?:\/\/[^/]+)\/rest\/v1(?=\/|$)/, '$1');
    return typeof input === 'string' || input instanceof URL ? fetch(direct, init) : fetch(new Request(direct, input), init);
}

/** One POST /rpc/record_route_metric; resolves to the HTTP status (0: no answer). */
function rpcRecord(agent, url, key, route, success, durationMs) {
    const body = JSON.stringify({ route, method: 'GET', success, duration_ms: durationMs });
    const { hostname, port } = new URL(url);
    return new Promise((resolve) => {
        const req = request({
            host: hostname, port, path: '/rpc/record_route_metric', method: 'POST', agent,
            headers: {
                Authorization: `Bearer ${key}`, apikey: key, 'Content-Type': 'application/json',
                'Content-Profile': 'metrics', 'Content-Length': Buffer.byteLength(body), Prefer: 'return=minimal',
            },
        }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', () => resolve(0));
        req.end(body);
    });
}

process.once('message', async (job) => {
    const perRoute = Object.fromEntries(ROUTES.map((r) => [r, 0]));
    let handled = 0;
    let confirmed = 0;
    const failures = {};
    let storage = null;
    let agent = null;
    if (job.case === 'client') {
        const supabase = createClient(job.url, job.key, {
            db: { schema: 'metrics' },
            auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
            realtime: { transport: ws },
            global: { fetch: withoutGateway },
        });
        storage = createMetricsStorage({
            mode: 'database', supabase, env: {}, logger: null, batchIntervalMs: job.batchIntervalMs,
            onError: (info) => { const k = `${info.error.status} ${info.error.code}`; failures[k] = (failures[k] ?? 0) + 1; },
        });
    } else {
        agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
    }
    await new Promise((resolve) => { process.once('message', resolve); process.send({ type: 'ready' }); });
    const end = performance.now() + job.seconds * 1000;
    let n = 0;
    async function loop() {
        while (performance.now() < end) {
            const i = n++;
            const route = ROUTES[i % ROUTES.length];
            const success = i % 50 !== 0;
            const t0 = performance.now();
            await turn();
            const duration = performance.now() - t0;
            if (storage) {
                storage.recordRouteMetric(route, 'GET', success, duration);
                perRoute[route] += 1;
            } else {
                const status = await rpcRecord(agent, job.url, job.key, route, success, duration);
                if (status === 204 || status === 200) {
                    confirmed += 1;
                    perRoute[route] += 1;
                } else {
                    failures[status] = (failures[status] ?? 0) + 1;
                }
            }
            handled += 1;
        }
    }
    await Promise.all(Array.from({ length: job.concurrency }, loop));
    const handledAt = performance.now();
    let closed = null;
    let stats = null;
    if (storage) {
        closed = await storage.close({ timeoutMs: 60_000 });
        stats = storage.stats();
        confirmed = stats.flushed;
    } else {
        agent.destroy();
    }
    process.send({
        type: 'done', handled, confirmed, failures, perRoute, closed, stats,
        flushMs: performance.now() - handledAt,
    }, () => process.disconnect());
});
