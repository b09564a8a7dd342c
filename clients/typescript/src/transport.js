// The only module that talks to the server: one PostgREST call (supabase-js's
// `client.schema(schema).rpc(fn, args)`, or anything of that shape), bounded by a timeout,
// its outcome classified as written, retryable or refused.

import { MetricsError } from './errors.js';

/**
 * Whether a failed call may succeed if made again: no response (network failure, timeout:
 * status 0 or none), a server error (5xx: PostgREST's 503 when the database is unreachable,
 * 500 for a statement timeout, a deadlock or a serialization failure), 408 and 429. Any other
 * 4xx is a refusal that the same call will always get (a class 22/23/42 error: 400, 401, 403,
 * 404, 409, 413).
 * @param {number | undefined} status
 */
export function isRetryable(status) {
    return !status || status >= 500 || status === 408 || status === 429;
}

/**
 * The error of a failed call.
 * @param {{ message?: string, code?: string, details?: string | null, hint?: string | null } | null | undefined} error
 * @param {number | undefined} status @param {unknown} [cause]
 */
export function errorOf(error, status, cause) {
    const message = error?.message || (cause instanceof Error ? cause.message : String(cause ?? 'request failed'));
    return new MetricsError(message, {
        code: error?.code ?? '',
        status: status ?? 0,
        details: error?.details ?? null,
        hint: error?.hint ?? null,
        retryable: isRetryable(status),
        cause,
    });
}

/** @param {number} ms */
function timeout(ms) {
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const promise = new Promise((resolve) => {
        timer = setTimeout(() => resolve({ timedOut: true }), ms);
        timer.unref();
    });
    return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * @param {import('./index.js').MetricsRpcClient} client
 * @param {{ schema?: string, requestTimeoutMs?: number }} [options]
 */
export function createTransport(client, { schema = 'metrics', requestTimeoutMs = 10_000 } = {}) {
    /**
     * One call: { ok: true, data } or { ok: false, error } (a MetricsError); never throws.
     * @param {string} fn @param {Record<string, unknown>} args
     */
    async function call(fn, args) {
        const abort = new AbortController();
        const limit = timeout(requestTimeoutMs);
        try {
            let request = client.schema(schema).rpc(fn, args);
            if (typeof request.abortSignal === 'function') {
                request = request.abortSignal(abort.signal);
            }
            const res = await Promise.race([request, limit.promise]);
            if (res?.timedOut) {
                abort.abort();
                return { ok: false, error: errorOf({ message: `no answer within ${requestTimeoutMs} ms`, code: 'TIMEOUT' }, 0) };
            }
            if (res?.error) {
                return { ok: false, error: errorOf(res.error, res.status) };
            }
            return { ok: true, data: res?.data ?? null };
        } catch (thrown) {
            return { ok: false, error: errorOf(null, 0, thrown) };
        } finally {
            limit.cancel();
        }
    }

    return {
        /**
         * Records a batch of summaries under its batch id; resolves to the server's count.
         * @param {import('./subjects.js').Subject} subject
         * @param {Record<string, unknown>[]} events @param {string} batchId
         */
        async record(subject, events, batchId) {
            const res = await call(subject.recordFn, { events, batch_id: batchId });
            return res.ok ? { ok: true, count: Number(res.data) } : res;
        },
        /**
         * The raw rows of a report; throws a MetricsError when the call fails.
         * @param {import('./subjects.js').Subject} subject @param {Record<string, unknown>} args
         */
        async read(subject, args) {
            const res = await call(subject.readFn, args);
            if (!res.ok) {
                throw res.error;
            }
            return Array.isArray(res.data) ? res.data : [];
        },
    };
}
