// A stand-in for PostgREST in front of the metrics extension, in process: the batch recording
// functions with the checks of the summary wire format, the all-or-nothing refusal (400), the
// batch-id memory (a batch id already recorded writes nothing and answers the first count),
// and scripted failures: a status, a network error, a lost response (written, then the answer
// never arrives), a hang. Written independently of the client's code, so that it checks it.

const HOUR = 3_600_000;
const ROUTE_KEYS = ['route', 'method', 'project', 'at', 'successful', 'failed', 'total_duration_ms', 'min_duration_ms', 'max_duration_ms', 'sketch'];
const OPERATION_KEYS = ROUTE_KEYS.filter((k) => k !== 'route' && k !== 'method').concat(['operation']);
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'];

const isMicros = (v) => typeof v === 'number' && v >= 0 && v <= 86_400_000 && Math.abs(v * 1000 - Math.round(v * 1000)) < 1e-6;
const isCount = (v) => Number.isInteger(v) && v >= 0;

/** The problem with one element, or null. */
function checkElement(kind, e, now, window) {
    const allowed = kind === 'route' ? ROUTE_KEYS : OPERATION_KEYS;
    const unknown = Object.keys(e).find((k) => !allowed.includes(k));
    if (unknown) return `unknown key "${unknown}"`;
    if (typeof e[kind] !== 'string' || e[kind].trim() === '') return `${kind} must be a non-empty string`;
    if (kind === 'route' && !METHODS.includes(e.method)) return `unknown HTTP method "${e.method}"`;
    if (e.project !== undefined && typeof e.project !== 'string') return 'project must be a string';
    const at = Date.parse(e.at);
    if (typeof e.at !== 'string' || !/(Z|[+-]\d\d:\d\d)$/.test(e.at) || Number.isNaN(at)) return '"at" is not a timestamp with an offset';
    if (at < now - window.maxAgeMs || at > now + window.maxLeadMs) return 'the event is outside the window';
    if (!isCount(e.successful) || !isCount(e.failed) || e.successful + e.failed < 1) return 'bad counts';
    for (const k of ['total_duration_ms', 'min_duration_ms', 'max_duration_ms']) {
        if (!isMicros(e[k]) && !(k === 'total_duration_ms' && e[k] >= 0)) return `${k} is not a duration to the microsecond`;
    }
    if (e.min_duration_ms > e.max_duration_ms) return 'min above max';
    if (!Array.isArray(e.sketch)) return 'sketch must be an array';
    let previous = -1;
    let sum = 0;
    for (const pair of e.sketch) {
        if (!Array.isArray(pair) || pair.length !== 2 || !Number.isInteger(pair[0]) || pair[0] <= previous || pair[0] > 1260 || !Number.isInteger(pair[1]) || pair[1] < 1) {
            return `bad sketch pair ${JSON.stringify(pair)}`;
        }
        previous = pair[0];
        sum += pair[1];
    }
    if (sum !== e.successful + e.failed) return 'the sketch counts do not add up to successful + failed';
    return null;
}

export class FakeMetricsServer {
    constructor({ now = Date.now, maxAgeMs = 7 * 86_400_000, maxLeadMs = 300_000, projects = null } = {}) {
        this.now = now;
        this.window = { maxAgeMs, maxLeadMs };
        /** Known project slugs (null: any). */
        this.projects = projects;
        /** Every call received: { schema, fn, args }. */
        this.calls = [];
        /** batch id -> count recorded the first time. */
        this.batchIds = new Map();
        /** The elements written (each once), per function. */
        this.written = { route: [], operation: [] };
        /** Scripted behaviours of the next calls, consumed in order. */
        this.script = [];
        /** The answer of the report functions: (fn, args) => rows. */
        this.reads = null;
    }

    /** Scripts the next call: { status, code, message } | { network: true } | { lose: true } | { hang: true }. */
    next(...behaviours) {
        this.script.push(...behaviours);
        return this;
    }

    /** Events written (sum of successful + failed), per kind. */
    eventsWritten(kind) {
        return this.written[kind].reduce((n, e) => n + e.successful + e.failed, 0);
    }

    /**
     * Answers one call: { status, data } or { status, error } (a PostgREST error body), or
     * { network: true } (no answer), or { hang: true }.
     */
    handle(schema, fn, args) {
        this.calls.push({ schema, fn, args: structuredClone(args) });
        const behaviour = this.script.shift();
        if (behaviour?.hang) return { hang: true };
        if (behaviour?.network) return { network: true };
        if (behaviour?.status) {
            return { status: behaviour.status, error: { code: behaviour.code ?? '', message: behaviour.message ?? 'scripted failure', details: null, hint: null } };
        }
        const answer = this.answer(schema, fn, args);
        return behaviour?.lose ? { network: true } : answer;
    }

    answer(schema, fn, args) {
        if (schema !== 'metrics') {
            return { status: 406, error: { code: 'PGRST106', message: `schema ${schema} is not exposed` } };
        }
        if (fn.startsWith('get_') && this.reads) {
            return { status: 200, data: this.reads(fn, args) };
        }
        const kind = { record_route_metrics: 'route', record_operation_metrics: 'operation' }[fn];
        if (!kind) {
            return { status: 404, error: { code: 'PGRST202', message: `Could not find the function metrics.${fn}` } };
        }
        return this.record(kind, args);
    }

    record(kind, { events, batch_id: batchId, ...rest }) {
        if (Object.keys(rest).length > 0) return { status: 404, error: { code: 'PGRST202', message: 'unknown arguments' } };
        if (batchId !== undefined && this.batchIds.has(batchId)) return { status: 200, data: this.batchIds.get(batchId) };
        if (!Array.isArray(events)) return { status: 400, error: { code: '22023', message: 'events must be a JSON array' } };
        if (events.length > 100_000) return { status: 413, error: { code: '54000', message: 'a batch holds at most 100000 events' } };
        for (const [i, e] of events.entries()) {
            const problem = checkElement(kind, e, this.now(), this.window);
            if (problem) return { status: 400, error: { code: '22023', message: `events[${i}]: ${problem}`, details: 'nothing was recorded', hint: null } };
            if (e.project !== undefined && this.projects && !this.projects.includes(e.project)) {
                return { status: 400, error: { code: '42704', message: `events[${i}]: project "${e.project}" does not exist` } };
            }
        }
        const count = events.reduce((n, e) => n + e.successful + e.failed, 0);
        this.written[kind].push(...structuredClone(events));
        if (batchId !== undefined) this.batchIds.set(batchId, count);
        return { status: 200, data: count };
    }
}

/**
 * A client of the shape supabase-js has (`schema(name).rpc(fn, args)` resolving to
 * { data, error, status }), over a FakeMetricsServer. A network failure resolves to an error
 * with status 0 as supabase-js does, or throws when `throwOnNetwork`.
 */
export function fakeClient(server, { throwOnNetwork = false } = {}) {
    return {
        schema(schema) {
            return {
                rpc(fn, args) {
                    return new Promise((resolve, reject) => {
                        const r = server.handle(schema, fn, args);
                        if (r.hang) return;
                        if (r.network) {
                            if (throwOnNetwork) reject(new TypeError('fetch failed'));
                            else resolve({ data: null, error: { message: 'TypeError: fetch failed', details: '', hint: '', code: '' }, status: 0, statusText: '' });
                            return;
                        }
                        setImmediate(() => resolve(r.error
                            ? { data: null, error: r.error, status: r.status, statusText: 'error' }
                            : { data: r.data, error: null, status: r.status, statusText: 'OK' }));
                    });
                },
            };
        },
    };
}

export { HOUR };
