// The arguments of a report (getRouteMetrics, getOperationMetrics), read once for both
// modes: the times as instants (ms), the grain, combined, the project.

import { MetricsError } from './errors.js';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const WITH_OFFSET = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * A bound of a range as ms since the epoch: a Date, a number of ms, or an ISO 8601 string
 * with a UTC offset (a date alone is its UTC midnight). A time without an offset would mean
 * different instants to JavaScript and to PostgreSQL, so it is refused.
 * @param {unknown} v @param {string} what
 */
export function instantOf(v, what) {
    let ms = NaN;
    if (v instanceof Date || typeof v === 'number') {
        ms = Number(v);
    } else if (typeof v === 'string' && (DATE_ONLY.test(v.trim()) || WITH_OFFSET.test(v.trim()))) {
        ms = Date.parse(v.trim());
    }
    if (!Number.isFinite(ms)) {
        throw new MetricsError(`${what} is not a time with a UTC offset: ${String(v).slice(0, 40)}`, {
            code: '22007',
            hint: 'pass a Date, or an ISO 8601 string such as 2026-12-01T00:00:00Z',
        });
    }
    return ms;
}

/**
 * @typedef {object} Query
 * @property {string | undefined} name
 * @property {string | undefined} method
 * @property {number | undefined} start  ms; undefined: the server's default (24 hours ago)
 * @property {number | undefined} end  ms; undefined: now
 * @property {string} grain
 * @property {boolean} combined
 * @property {string | undefined} project
 */

/**
 * @param {unknown} name @param {unknown} method
 * @param {import('./index.js').TimeRange | undefined} range
 * @returns {Query}
 */
export function queryOf(name, method, range) {
    const r = range ?? /** @type {Partial<import('./index.js').TimeRange>} */ ({});
    const given = (v) => v !== undefined && v !== null;
    return {
        name: given(name) ? /** @type {string} */ (name) : undefined,
        method: given(method) ? /** @type {string} */ (method) : undefined,
        start: given(r.start) ? instantOf(r.start, 'start') : undefined,
        end: given(r.end) ? instantOf(r.end, 'end') : undefined,
        grain: r.grain ?? 'hour',
        combined: r.combined ?? false,
        project: given(r.project) ? /** @type {string} */ (r.project) : undefined,
    };
}

/**
 * The named arguments of the report function (only those given: the server's defaults apply
 * to the others).
 * @param {import('./subjects.js').Subject} subject @param {Query} q
 */
export function rpcArgs(subject, q) {
    /** @type {Record<string, unknown>} */
    const args = {};
    if (q.name !== undefined) {
        args[subject.nameKey] = q.name;
    }
    if (subject.hasMethod && q.method !== undefined) {
        args.method = q.method;
    }
    if (q.start !== undefined) {
        args.start_at = new Date(q.start).toISOString();
    }
    if (q.end !== undefined) {
        args.end_at = new Date(q.end).toISOString();
    }
    args.grain = q.grain;
    args.combined = q.combined;
    if (q.project !== undefined) {
        args.project = q.project;
    }
    return args;
}
