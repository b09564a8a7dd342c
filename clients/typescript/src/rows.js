// The typed rows of the reports, from the server's rows (snake_case JSON over PostgREST) or
// from memory mode's computation: the same shape in both modes.

/**
 * @typedef {object} ReportStats
 * @property {number} total
 * @property {number} successful
 * @property {number} failed
 * @property {number} successRate
 * @property {number} averageMs
 * @property {number} minMs
 * @property {number} maxMs
 * @property {number | null} p50
 * @property {number | null} p95
 * @property {number | null} p99
 */

/**
 * A typed row of a report.
 * @param {import('./subjects.js').Subject} subject
 * @param {{ start: Date, end: Date, name: string | null, method: string | null,
 *           stats: ReportStats, resolution: string }} r
 */
export function rowOf(subject, r) {
    const s = r.stats;
    /** @type {Record<string, unknown>} */
    const row = { periodStart: r.start, periodEnd: r.end, [subject.nameKey]: r.name };
    if (subject.hasMethod) {
        row.method = r.method;
    }
    Object.assign(row, {
        [subject.totalField]: s.total,
        successful: s.successful,
        failed: s.failed,
        successRate: s.successRate,
        averageDurationMs: s.averageMs,
        minDurationMs: s.minMs,
        maxDurationMs: s.maxMs,
        p50Ms: s.p50,
        p95Ms: s.p95,
        p99Ms: s.p99,
        resolution: r.resolution,
    });
    return row;
}

/** @param {unknown} v */
const num = (v) => (v === null || v === undefined ? null : Number(v));

/**
 * A typed row from a row of get_route_metrics or get_operation_metrics.
 * @param {import('./subjects.js').Subject} subject
 * @param {Record<string, any>} raw
 */
export function rowFromServer(subject, raw) {
    return rowOf(subject, {
        start: new Date(raw.period_start),
        end: new Date(raw.period_end),
        name: raw[subject.nameKey] ?? null,
        method: subject.hasMethod ? raw.method ?? null : null,
        stats: {
            total: Number(raw[subject.totalColumn]),
            successful: Number(raw.successful),
            failed: Number(raw.failed),
            successRate: Number(raw.success_rate),
            averageMs: Number(raw.average_duration_ms),
            minMs: Number(raw.min_duration_ms),
            maxMs: Number(raw.max_duration_ms),
            p50: num(raw.p50_ms),
            p95: num(raw.p95_ms),
            p99: num(raw.p99_ms),
        },
        resolution: raw.resolution ?? 'hour',
    });
}
