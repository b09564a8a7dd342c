// Shared by the client tests: the PostgREST under test (and how to stop and restart it on the
// same port), the service-role key, supabase-js clients made as an app makes them, psql as the
// superuser for the numbers the API must not be trusted to report, worker processes, and a
// small HTTP proxy that can lose responses or refuse connections.
//
// The environment comes from tests/scenarios/requests/client_postgrest.sh: PGRST_URL,
// PGRST_JWT_SECRET, METRICS_CLIENT_DB, POSTGREST_BIN, POSTGREST_CONF, POSTGREST_LOG,
// POSTGREST_PIDFILE, POSTGREST_ADMIN_URL, and PGHOST/PGPORT/PGUSER of the cluster.
// No node:test hooks here: worker processes import this file too.
import { execFileSync, fork, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFileSync, openSync, readFileSync, closeSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

import { createClient } from '@supabase/supabase-js';
import ws from 'ws';

function required(name) {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run the client tests through tests/scenarios/requests/client_postgrest.sh`);
    return value;
}

export const BASE_URL = required('PGRST_URL');
export const JWT_SECRET = required('PGRST_JWT_SECRET');
export const DB = required('METRICS_CLIENT_DB');

// ---------------------------------------------------------------------------------------------
// The service-role key: a JWT with role service_role, as Supabase's.

function signJwt(claims) {
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
    return `${input}.${createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}
const now = Math.floor(Date.now() / 1000);
export const SERVICE_KEY = signJwt({ iss: 'supabase', role: 'service_role', iat: now, exp: now + 3600 });

// ---------------------------------------------------------------------------------------------
// supabase-js calls <url>/rest/v1/...; PostgREST here has no gateway in front, so the fetch
// given to createClient strips /rest/v1.

export function withoutGateway(input, init) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const direct = url.replace(/^(https?:\/\/[^/]+)\/rest\/v1(?=\/|$)/, '$1');
    return typeof input === 'string' || input instanceof URL ? fetch(direct, init) : fetch(new Request(direct, input), init);
}

/** A Supabase client with the service-role key, as the client's README makes one (Node 20: ws). */
export function supabaseFor(url = BASE_URL) {
    return createClient(url, SERVICE_KEY, {
        db: { schema: 'metrics' },
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        realtime: { transport: ws },
        global: { fetch: withoutGateway },
    });
}

/** POST /rpc/<fn> with the service-role key: { status, body, text }. */
export async function rpc(fn, args, { url = BASE_URL, timeoutMs = 60_000 } = {}) {
    const res = await fetch(`${url}/rpc/${fn}`, {
        method: 'POST',
        headers: {
            Authorization: `Bearer ${SERVICE_KEY}`, apikey: SERVICE_KEY,
            'Content-Type': 'application/json', 'Content-Profile': 'metrics', Accept: 'application/json',
        },
        body: JSON.stringify(args),
        signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body;
    try { body = text === '' ? null : JSON.parse(text); } catch { body = undefined; }
    return { status: res.status, body, text };
}

// ---------------------------------------------------------------------------------------------
// psql as the cluster's superuser.

export function sql(query) {
    return execFileSync('psql', ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', DB, '-c', query],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function sqlRows(query) {
    return JSON.parse(sql(`SELECT coalesce(json_agg(q), '[]') FROM (${query}) AS q`));
}

/**
 * A psql session that runs `statements` in an open transaction and keeps it open (its locks
 * held) until release(): { ready (resolves once they ran), release(), kill() }.
 */
export function openTransaction(statements) {
    const psql = spawn('psql', ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', DB], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    psql.stdout.on('data', (d) => { out += d; });
    psql.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((resolve) => psql.on('exit', (code) => resolve(code)));
    psql.stdin.write(`BEGIN;\n${statements}\nSELECT 'transaction open';\n`);
    const ready = waitFor('the transaction to be open', () => {
        if (psql.exitCode !== null) throw new Error(`psql exited: ${err}`);
        return out.includes('transaction open');
    }, { timeoutMs: 10_000, everyMs: 20 });
    return {
        ready,
        release: async () => { psql.stdin.end('COMMIT;\n'); return exited; },
        kill: () => { if (psql.exitCode === null) psql.kill('SIGKILL'); },
    };
}

/**
 * What the database holds for the routes under `prefix`, per (route, method, project slug or
 * '-'[, hour]): counts, and the sum, minimum and maximum of the durations in whole
 * microseconds, from metrics.route_metrics_live (folded rows and unfolded ones).
 */
export function dbTotals(prefix, { byHour = false } = {}) {
    const hour = byHour ? `, (extract(epoch FROM l.period_start) * 1000)::bigint AS hour` : '';
    const rows = sqlRows(`
        SELECT l.route, l.method, coalesce(p.slug, '-') AS project${hour},
               sum(l.total_requests)::bigint AS count, sum(l.successful)::bigint AS successful,
               sum(l.failed)::bigint AS failed,
               round(sum(l.total_duration_ms::numeric) * 1000)::bigint AS sum_micros,
               round(min(l.min_duration_ms)::numeric * 1000)::bigint AS min_micros,
               round(max(l.max_duration_ms)::numeric * 1000)::bigint AS max_micros
        FROM metrics.route_metrics_live AS l LEFT JOIN metrics.projects AS p ON p.id = l.project_id
        WHERE starts_with(l.route, '${prefix}/')
        GROUP BY 1, 2, 3${byHour ? ', 4' : ''} ORDER BY 1, 2, 3${byHour ? ', 4' : ''}`);
    return new Map(rows.map((r) => {
        const { route, method, project, hour: h, ...numbers } = r;
        return [[route, method, project, ...(byHour ? [h] : [])].join(' '), numbers];
    }));
}

/** The expected side of dbTotals: a tally (events.mjs) without the raw durations. */
export function numbersOf(tallied) {
    return new Map([...tallied].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, { micros, ...n }]) => [k, n]));
}

// ---------------------------------------------------------------------------------------------
// Waiting, bounded.

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (sync or async) every `everyMs` until it is truthy; throws after `timeoutMs`. */
export async function waitFor(what, check, { timeoutMs = 10_000, everyMs = 50 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await sleep(everyMs);
    }
}

/** The promise, or a rejection after `ms`. */
export function withTimeout(promise, ms, what) {
    let timer;
    return Promise.race([
        promise.finally(() => clearTimeout(timer)),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
    ]);
}

// ---------------------------------------------------------------------------------------------
// PostgREST: stopped by PID and started again with the same configuration file, hence on the
// same ports. The PIDs are appended to POSTGREST_PIDFILE (the first line is the one
// postgrest_start started), so the scenario's exit trap stops whichever runs, even if this
// process dies first. A restarted PostgREST is detached: it outlives the test file that
// started it, for the test files after it.

const pidFile = () => required('POSTGREST_PIDFILE');
export const currentPostgrestPid = () => Number(readFileSync(pidFile(), 'utf8').trim().split('\n').at(-1));

/** Whether something accepts TCP connections on the URL's port now. */
export function accepts(url) {
    const { hostname, port } = new URL(url);
    return new Promise((resolve) => {
        const s = connect({ host: hostname, port: Number(port) });
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
    });
}

export async function postgrestReady() {
    try {
        const res = await fetch(`${required('POSTGREST_ADMIN_URL')}/ready`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        return res.status === 200;
    } catch {
        return false;
    }
}

/** SIGTERM to the running PostgREST; resolves once its port refuses connections. */
export async function stopPostgrest() {
    const pid = currentPostgrestPid();
    process.kill(pid, 'SIGTERM');
    await waitFor('PostgREST to stop listening', async () => !(await accepts(BASE_URL)), { timeoutMs: 10_000 });
    return pid;
}

/** Starts PostgREST again with the same configuration (same ports); resolves once /ready. */
export async function startPostgrest() {
    const log = openSync(required('POSTGREST_LOG'), 'a');
    const child = spawn(required('POSTGREST_BIN'), [required('POSTGREST_CONF')], { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    appendFileSync(pidFile(), `${child.pid}\n`);
    child.unref();
    await waitFor('the restarted PostgREST to be ready', postgrestReady, { timeoutMs: 30_000, everyMs: 100 });
    return child.pid;
}

// ---------------------------------------------------------------------------------------------
// Worker processes (worker.mjs), each with its own storage and supabase-js client.

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url));

/**
 * Forks a worker and sends it its job; `started` resolves when it starts recording, `done`
 * with its report ({ events, stats, closed, errors, drops }), `exited` with { code, signal }.
 */
export function startWorker(job) {
    const child = fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const message = (type) => new Promise((resolve, reject) => {
        child.on('message', (m) => { if (m.type === type) resolve(m); });
        exited.then(({ code, signal }) => reject(new Error(`worker ${job.name} exited (code ${code}, signal ${signal}) before '${type}': ${stderr}`)));
    });
    const started = message('started');
    const done = message('done');
    // Unhandled when a test fails early; the test's own awaits report it.
    started.catch(() => {});
    done.catch(() => {});
    child.send(job);
    return { child, started, done, exited, stderr: () => stderr, kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); } };
}

// ---------------------------------------------------------------------------------------------
// A proxy between a client and PostgREST. For each request it logs the function called, the
// batch id and the number of events in the body (successful + failed of each summary, 1 per
// plain event), then does what `policy(entry)` says:
//   'pass'   forwards it and answers with PostgREST's response;
//   'lose'   forwards it, waits for PostgREST's whole response, then destroys the client's
//            socket instead of answering: the batch was committed, the client never hears.
// refuse(true) closes the listening socket (connections are refused: ECONNREFUSED) and destroys
// the open ones; refuse(false) listens on the same port again. (Destroying each connection as
// it is accepted is no substitute: undici's first request on such a connection waits for an
// answer until its own timeout.)

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection']);

export function eventsInBody(events) {
    if (!Array.isArray(events)) return 0;
    return events.reduce((n, e) => n + ('successful' in e || 'failed' in e ? Number(e.successful) + Number(e.failed) : 1), 0);
}

export async function startProxy(targetUrl = BASE_URL) {
    const target = new URL(targetUrl);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const sockets = new Set();
    const state = { policy: () => 'pass', log: [] };
    const server = createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const body = Buffer.concat(chunks);
            const path = req.url.replace(/^\/rest\/v1(?=\/|$)/, '');
            let parsed = null;
            try { parsed = JSON.parse(body.toString('utf8')); } catch { /* not JSON */ }
            const fn = path.startsWith('/rpc/') ? path.slice(5).split('?')[0] : null;
            const entry = {
                n: state.log.length, at: Date.now(), fn, batchId: parsed?.batch_id ?? null,
                events: eventsInBody(parsed?.events), action: null, status: null, response: null,
            };
            state.log.push(entry);
            entry.action = state.policy(entry);
            const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
            delete headers.connection;
            const up = request({ host: target.hostname, port: target.port, method: req.method, path, headers, agent }, (upRes) => {
                const parts = [];
                upRes.on('data', (c) => parts.push(c));
                upRes.on('end', () => {
                    const answer = Buffer.concat(parts);
                    entry.status = upRes.statusCode;
                    entry.response = answer.toString('utf8').slice(0, 2000);
                    if (entry.action === 'lose') {
                        req.socket.destroy();
                        return;
                    }
                    const out = {};
                    for (const [k, v] of Object.entries(upRes.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
                    out['content-length'] = String(answer.length);
                    res.writeHead(upRes.statusCode, out);
                    res.end(answer);
                });
            });
            up.on('error', (e) => {
                entry.status = 0;
                entry.response = `proxy: ${e.message}`;
                req.socket.destroy();
            });
            up.end(body);
        });
    });
    server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    return {
        url: `http://127.0.0.1:${port}`,
        state,
        log: state.log,
        refuse: async (on) => {
            if (on) {
                await new Promise((resolve) => {
                    server.close(() => resolve());
                    for (const s of sockets) s.destroy();
                });
            } else {
                await new Promise((resolve, reject) => {
                    server.once('error', reject);
                    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
                });
            }
        },
        /** Destroys every open connection (a client's keep-alive socket included). */
        dropConnections: () => { for (const s of sockets) s.destroy(); },
        close: () => new Promise((resolve) => {
            for (const s of sockets) s.destroy();
            agent.destroy();
            if (server.listening) server.close(() => resolve()); else resolve();
        }),
    };
}
