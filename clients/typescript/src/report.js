// Memory mode's reports, computed as the server computes get_route_metrics and
// get_operation_metrics (src/requests/read.rs, crates/metrics-core/src/requests/report.rs):
// the hour summaries overlapping [start, end) grouped per hour, UTC day or ISO week (from
// Monday, UTC), per name and method or all together (combined), merged by adding, with the
// percentiles of the merged sketch kept within [min, max].

import { MetricsError } from './errors.js';
import { rowOf } from './rows.js';
import { quantiles, sortedBuckets } from './sketch.js';
import { HOUR_MS, copyOf, mergeInto } from './summary.js';
import { checkMethod, checkName, checkProject } from './validate.js';

export const DAY_MS = 86_400_000;
const GRAINS = { hour: HOUR_MS, day: DAY_MS, week: 7 * DAY_MS };

/**
 * Start of the period of a grain holding a time (UTC; weeks start on Monday: the epoch's
 * day was a Thursday, 3 days after one).
 * @param {number} at @param {'hour' | 'day' | 'week'} grain
 */
export function periodStart(at, grain) {
    if (grain === 'week') {
        const day = Math.floor(at / DAY_MS);
        return (day - (((day + 3) % 7) + 7) % 7) * DAY_MS;
    }
    const size = GRAINS[grain];
    return Math.floor(at / size) * size;
}

/** @param {string} code @param {string} message @param {string} [hint] */
function refuse(code, message, hint) {
    throw new MetricsError(message, { code, hint });
}

/**
 * The checks of the server's `query` (api.rs) and check_range (report.rs), and the defaults
 * of the report functions: the range [start, end) defaults to the last 24 hours.
 * @param {import('./subjects.js').Subject} subject
 * @param {import('./query.js').Query} q @param {number} now @param {number} maxQueryDays
 */
export function checkedQuery(subject, q, now, maxQueryDays) {
    const start = q.start ?? now - 24 * HOUR_MS;
    const end = q.end ?? now;
    if (!Object.hasOwn(GRAINS, q.grain)) {
        refuse('22023', `unknown grain "${String(q.grain).slice(0, 40)}"`, 'use hour, day or week');
    }
    if (start >= end) {
        refuse('22023', 'start_at must be before end_at', 'the range is [start_at, end_at)');
    }
    if (end - start > maxQueryDays * DAY_MS) {
        refuse('22023', `the range spans more than ${maxQueryDays} days`);
    }
    const nameProblem = q.name === undefined ? null : checkName(subject.nameKey, q.name);
    if (nameProblem) {
        refuse(nameProblem.code, nameProblem.message);
    }
    const m = q.method === undefined || !subject.hasMethod ? undefined : checkMethod(q.method);
    if (m && !('method' in m)) {
        refuse(m.code, m.message);
    }
    const p = q.project === undefined ? undefined : checkProject(q.project);
    if (p && !('project' in p)) {
        refuse('42704', `project "${String(q.project).slice(0, 100)}" does not exist`);
    }
    const grain = /** @type {'hour' | 'day' | 'week'} */ (q.grain);
    const method = m && 'method' in m ? m.method : undefined;
    const project = p && 'project' in p ? p.project : undefined;
    return { ...q, start, end, grain, method, project };
}

/**
 * Whether a stored hour summary is part of a checked query.
 * @param {import('./summary.js').Summary} s @param {ReturnType<typeof checkedQuery>} q
 * @param {import('./subjects.js').Subject} subject
 */
function selected(s, q, subject) {
    return s.subject === subject
        && s.hour < q.end && s.hour + HOUR_MS > q.start
        && (q.name === undefined || s.name === q.name)
        && (q.method === undefined || s.method === q.method)
        && (q.project === undefined || s.project === q.project);
}

/** Code-unit order of strings; null first. @param {string | null} a @param {string | null} b */
function compareText(a, b) {
    if (a === b) {
        return 0;
    }
    if (a === null || b === null) {
        return a === null ? -1 : 1;
    }
    return a < b ? -1 : 1;
}

/**
 * The numbers of one report row (report.rs Stats::of).
 * @param {import('./summary.js').Summary} s
 * @returns {import('./rows.js').ReportStats}
 */
export function statsOf(s) {
    const total = s.successful + s.failed;
    const perEvent = (x) => (total === 0 ? 0 : x / total);
    const clamp = (v) => (v === null ? null : Math.min(Math.max(v, s.minMs), s.maxMs));
    const [p50, p95, p99] = quantiles(sortedBuckets(s.counts), [0.5, 0.95, 0.99]).map(clamp);
    return {
        total,
        successful: s.successful,
        failed: s.failed,
        successRate: perEvent(s.successful),
        averageMs: perEvent(s.sumMs),
        minMs: s.minMs,
        maxMs: s.maxMs,
        p50,
        p95,
        p99,
    };
}

/**
 * The rows of a report over stored hour summaries, in period, then name and method order.
 * @param {import('./subjects.js').Subject} subject
 * @param {Iterable<import('./summary.js').Summary>} summaries
 * @param {ReturnType<typeof checkedQuery>} q
 */
export function report(subject, summaries, q) {
    /** @type {Map<string, { start: number, name: string | null, method: string | null, merged: import('./summary.js').Summary }>} */
    const groups = new Map();
    for (const s of summaries) {
        if (!selected(s, q, subject)) {
            continue;
        }
        const start = periodStart(s.hour, q.grain);
        const [name, method] = q.combined ? [null, null] : [s.name, s.method];
        const key = JSON.stringify([start, name, method]);
        const g = groups.get(key);
        if (g) {
            mergeInto(g.merged, s);
        } else {
            groups.set(key, { start, name, method, merged: copyOf(s) });
        }
    }
    const sorted = [...groups.values()].sort((a, b) =>
        a.start - b.start || compareText(a.name, b.name) || compareText(a.method, b.method));
    return sorted.map((g) => rowOf(subject, {
        start: new Date(g.start),
        end: new Date(g.start + GRAINS[q.grain]),
        name: g.name,
        method: g.method,
        stats: statsOf(g.merged),
        resolution: 'hour',
    }));
}
