// The error the reads throw (recording never throws).

export class MetricsError extends Error {
    /**
     * @param {string} message
     * @param {{ code?: string, status?: number, details?: string | null, hint?: string | null,
     *           retryable?: boolean, cause?: unknown }} [info]
     */
    constructor(message, info = {}) {
        super(message, info.cause === undefined ? undefined : { cause: info.cause });
        this.name = 'MetricsError';
        /** The PostgreSQL SQLSTATE or PostgREST code ('' when none, e.g. a network failure). */
        this.code = info.code ?? '';
        /** The HTTP status (0: no response: network failure or timeout; undefined: raised locally). */
        this.status = info.status;
        this.details = info.details ?? null;
        this.hint = info.hint ?? null;
        /** Whether the same call may succeed later (network, timeout, 5xx, 408, 429). */
        this.retryable = info.retryable ?? false;
    }
}
