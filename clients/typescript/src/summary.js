// Summaries: the events of one (subject, project, name, method, UTC hour) added up in memory
// the way the server adds them up (bucket.rs Totals and Bucket): counts, the sum of the
// durations to the microsecond, minimum, maximum, the time of the last event and the sketch's
// bucket counts. A summary is what the client sends (one element of a batch) and what memory
// mode keeps.

import { bucketOf, sortedBuckets } from './sketch.js';
import { addDurations } from './validate.js';

/**
 * @typedef {object} CheckedEvent  an event that passed the checks (event.js)
 * @property {string} name
 * @property {string | null} method  upper-case (routes), null (operations)
 * @property {boolean} success
 * @property {number} durationMs  to the microsecond
 * @property {number} at  ms since the epoch
 * @property {string | null} project
 */

/**
 * @typedef {object} Summary
 * @property {import('./subjects.js').Subject} subject
 * @property {string | null} project
 * @property {string} name
 * @property {string | null} method
 * @property {number} hour  start of the UTC hour, ms since the epoch
 * @property {number} successful
 * @property {number} failed
 * @property {number} sumMs
 * @property {number} minMs
 * @property {number} maxMs
 * @property {number} lastAt  ms since the epoch
 * @property {Map<number, number>} counts  sketch bucket -> count
 */

export const HOUR_MS = 3_600_000;

/** Start of the UTC hour of a time in ms. @param {number} at */
export function hourOf(at) {
    return Math.floor(at / HOUR_MS) * HOUR_MS;
}

/**
 * The map key of a checked event's bucket. Names carry no control character and projects are
 * slugs or uuids, so U+0000 separates the parts unambiguously.
 * @param {import('./subjects.js').Subject} subject @param {CheckedEvent} e
 */
export function keyOf(subject, e) {
    return [subject.kind, e.project ?? '', e.name, e.method ?? '', hourOf(e.at)].join('\u0000');
}

/**
 * An empty summary for a checked event's bucket.
 * @param {import('./subjects.js').Subject} subject @param {CheckedEvent} e
 * @returns {Summary}
 */
export function emptySummary(subject, e) {
    return {
        subject,
        project: e.project ?? null,
        name: e.name,
        method: e.method ?? null,
        hour: hourOf(e.at),
        successful: 0,
        failed: 0,
        sumMs: 0,
        minMs: Infinity,
        maxMs: -Infinity,
        lastAt: -Infinity,
        counts: new Map(),
    };
}

/** Number of events a summary holds. @param {Summary} s */
export function eventsOf(s) {
    return s.successful + s.failed;
}

/**
 * Adds one checked event (its duration already to the microsecond).
 * @param {Summary} s @param {CheckedEvent} e
 */
export function addEvent(s, e) {
    if (e.success) {
        s.successful += 1;
    } else {
        s.failed += 1;
    }
    s.sumMs = addDurations(s.sumMs, e.durationMs);
    s.minMs = Math.min(s.minMs, e.durationMs);
    s.maxMs = Math.max(s.maxMs, e.durationMs);
    s.lastAt = Math.max(s.lastAt, e.at);
    const b = bucketOf(e.durationMs);
    s.counts.set(b, (s.counts.get(b) ?? 0) + 1);
}

/**
 * Adds summary `b` into `a` (of the same key, or of keys a report rolls up), as Bucket::merge.
 * @param {Summary} a @param {Summary} b
 */
export function mergeInto(a, b) {
    a.successful += b.successful;
    a.failed += b.failed;
    a.sumMs = addDurations(a.sumMs, b.sumMs);
    a.minMs = Math.min(a.minMs, b.minMs);
    a.maxMs = Math.max(a.maxMs, b.maxMs);
    a.lastAt = Math.max(a.lastAt, b.lastAt);
    for (const [bucket, n] of b.counts) {
        a.counts.set(bucket, (a.counts.get(bucket) ?? 0) + n);
    }
}

/**
 * A copy of a summary (a report merges into copies, never into what is stored).
 * @param {Summary} s
 */
export function copyOf(s) {
    return { ...s, counts: new Map(s.counts) };
}

/**
 * The element of a batch that carries a summary: the wire format of record_route_metrics and
 * record_operation_metrics.
 * @param {Summary} s
 * @returns {Record<string, unknown>}
 */
export function toWire(s) {
    /** @type {Record<string, unknown>} */
    const out = { [s.subject.nameKey]: s.name };
    if (s.subject.hasMethod) {
        out.method = s.method;
    }
    if (s.project !== null) {
        out.project = s.project;
    }
    out.at = new Date(s.lastAt).toISOString();
    out.successful = s.successful;
    out.failed = s.failed;
    out.total_duration_ms = s.sumMs;
    out.min_duration_ms = s.minMs;
    out.max_duration_ms = s.maxMs;
    out.sketch = sortedBuckets(s.counts);
    return /** @type {any} */ (out);
}
