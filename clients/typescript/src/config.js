// The settings of a storage: the options given, else the environment variables, else the
// defaults. A setting that is wrong throws at creation (application startup), never later.

import { checkProject } from './validate.js';

export const DEFAULTS = Object.freeze({
    mode: 'memory',
    batchIntervalMs: 5000,
    retentionDays: 90,
    maxBatchKeys: 1000,
    maxPendingKeys: 50_000,
    maxBatchElements: 100_000,
    maxMemoryKeys: 100_000,
    requestTimeoutMs: 10_000,
    flushTimeoutMs: 10_000,
    shutdownTimeoutMs: 5000,
    /** The server's metrics.max_event_age (7 days) less an hour to send the event in. */
    maxEventAgeMs: 7 * 86_400_000 - 3_600_000,
    /** The server's metrics.max_event_lead is 5 minutes; 4 are left for clock skew. */
    maxEventLeadMs: 60_000,
    maxQueryDays: 366,
    schema: 'metrics',
    handleSignals: true,
    backoff: Object.freeze({ initialMs: 1000, maxMs: 60_000, jitter: 0.2 }),
});

/** The server's limit of elements per batch call (MAX_BATCH_EVENTS). */
export const MAX_BATCH_ELEMENTS = 100_000;

/** @param {string} what @param {unknown} v @param {(n: number) => boolean} ok @param {string} expected */
function numberSetting(what, v, ok, expected) {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || !ok(n)) {
        throw new TypeError(`@metrics/client: ${what} must be ${expected}, not ${JSON.stringify(v)}`);
    }
    return n;
}

const positive = (what, v) => numberSetting(what, v, (n) => n > 0, 'a number > 0');
const count = (what, v, max = Infinity) =>
    numberSetting(what, v, (n) => Number.isInteger(n) && n >= 1 && n <= max, `an integer from 1 to ${max}`);

/**
 * @param {unknown} option @param {Record<string, string | undefined>} env
 * @param {string | undefined} envName @param {unknown} fallback
 */
function pick(option, env, envName, fallback) {
    if (option !== undefined) {
        return option;
    }
    const fromEnv = envName ? env[envName] : undefined;
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : fallback;
}

/** The default project of events, checked. @param {unknown} p */
function projectOf(p) {
    if (p === undefined || p === null) {
        return null;
    }
    const checked = checkProject(p);
    if (!('project' in checked)) {
        throw new TypeError(`@metrics/client: the option project: ${checked.message}`);
    }
    return checked.project;
}

/** @param {import('./index.js').BackoffOptions | undefined} b */
function backoffOf(b = {}) {
    const d = DEFAULTS.backoff;
    const jitter = numberSetting('backoff.jitter', b.jitter ?? d.jitter, (n) => n >= 0 && n <= 1, 'from 0 to 1');
    return {
        initialMs: positive('backoff.initialMs', b.initialMs ?? d.initialMs),
        maxMs: positive('backoff.maxMs', b.maxMs ?? d.maxMs),
        jitter,
    };
}

/**
 * @param {import('./index.js').MetricsStorageOptions} o
 * @param {Record<string, string | undefined>} env
 */
export function resolveOptions(o = {}, env = process.env) {
    const mode = pick(o.mode, env, 'OBSERVABILITY_METRICS_STORAGE', DEFAULTS.mode);
    if (mode !== 'memory' && mode !== 'database') {
        throw new TypeError(`@metrics/client: the mode (OBSERVABILITY_METRICS_STORAGE) must be memory or database, not ${JSON.stringify(mode)}`);
    }
    if (mode === 'database' && typeof o.supabase?.schema !== 'function') {
        throw new TypeError('@metrics/client: database mode needs the option supabase: a Supabase client (createClient with the service-role key) or an object with schema(name).rpc(fn, args)');
    }
    const d = DEFAULTS;
    const n = (key, env_) => pick(o[key], env, env_, d[key]);
    return {
        mode,
        supabase: o.supabase,
        schema: String(o.schema ?? d.schema),
        project: projectOf(o.project),
        batchIntervalMs: positive('batchIntervalMs (OBSERVABILITY_METRICS_BATCH_INTERVAL)', n('batchIntervalMs', 'OBSERVABILITY_METRICS_BATCH_INTERVAL')),
        retentionDays: positive('retentionDays (OBSERVABILITY_METRICS_RETENTION_DAYS)', n('retentionDays', 'OBSERVABILITY_METRICS_RETENTION_DAYS')),
        maxBatchKeys: count('maxBatchKeys', n('maxBatchKeys')),
        maxPendingKeys: count('maxPendingKeys', n('maxPendingKeys')),
        maxBatchElements: count('maxBatchElements', n('maxBatchElements'), MAX_BATCH_ELEMENTS),
        maxMemoryKeys: count('maxMemoryKeys', n('maxMemoryKeys')),
        requestTimeoutMs: positive('requestTimeoutMs', n('requestTimeoutMs')),
        flushTimeoutMs: positive('flushTimeoutMs', n('flushTimeoutMs')),
        shutdownTimeoutMs: positive('shutdownTimeoutMs', n('shutdownTimeoutMs')),
        maxEventAgeMs: positive('maxEventAgeMs', n('maxEventAgeMs')),
        maxEventLeadMs: numberSetting('maxEventLeadMs', n('maxEventLeadMs'), (x) => x >= 0, 'a number >= 0'),
        maxQueryDays: positive('maxQueryDays', n('maxQueryDays')),
        handleSignals: o.handleSignals ?? d.handleSignals,
        backoff: backoffOf(o.backoff),
        onError: o.onError,
        onDrop: o.onDrop,
        logger: o.logger,
        now: o.now ?? Date.now,
        random: o.random ?? Math.random,
    };
}
