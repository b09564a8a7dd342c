// The application's hooks (onError, onDrop) and the logger, called so that nothing they do
// (or throw) reaches the request path; the default logger warns at most once a minute per
// kind of trouble.

/**
 * @param {{ onError?: Function, onDrop?: Function, logger?: { warn: Function } | null | false }} options
 * @param {() => number} now
 */
export function createHooks(options, now) {
    const logger = options.logger === undefined ? console : options.logger || null;
    /** @type {Map<string, number>} */
    const lastWarned = new Map();
    /** @param {string} kind @param {string} text */
    function warn(kind, text) {
        const t = now();
        if (!logger || (lastWarned.get(kind) ?? -Infinity) > t - 60_000) {
            return;
        }
        lastWarned.set(kind, t);
        safely(() => logger.warn(`@metrics/client: ${text}`));
    }
    return {
        /** @param {import('./index.js').FlushErrorInfo} info */
        error(info) {
            if (options.onError) {
                safely(() => options.onError?.(info));
            } else {
                const what = info.retryable ? `will retry in ${info.retryInMs} ms` : `${info.events} events rejected`;
                warn(info.retryable ? 'retry' : 'rejected', `${info.fn} failed (${what}): ${info.error.message}`);
            }
        },
        /** @param {import('./index.js').DropInfo} info */
        drop(info) {
            if (options.onDrop) {
                safely(() => options.onDrop?.(info));
            } else {
                warn(`drop:${info.reason}`, `dropped ${info.events} ${info.subject} event(s) (${info.reason}): ${info.message}`);
            }
        },
    };
}

/** Runs a hook, swallowing what it throws or rejects with. @param {() => unknown} fn */
function safely(fn) {
    try {
        const r = fn();
        if (r && typeof (/** @type {any} */ (r)).catch === 'function') {
            /** @type {Promise<unknown>} */ (r).catch(() => {});
        }
    } catch {
        // a hook's failure is not the application's request's
    }
}

/**
 * The delay before retry number `attempt` (1, 2, ...): initial * 2^(attempt - 1), at most max,
 * less up to `jitter` of it at random (so that many servers do not retry in step).
 * @param {number} attempt
 * @param {{ initialMs: number, maxMs: number, jitter: number }} backoff
 * @param {() => number} [random]
 */
export function backoffDelay(attempt, backoff, random = Math.random) {
    const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt - 1, 52));
    return Math.max(0, Math.round(base * (1 - backoff.jitter * random())));
}
