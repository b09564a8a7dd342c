// Known events, made from a seed, and what they add up to, computed here from the events
// themselves (integers of microseconds), never from the client's own numbers. Shared by the
// tests, the worker processes and the benchmark's checks; imports nothing but Node.

/** A small deterministic PRNG (mulberry32): the same seed gives the same events. */
export function prng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export const PATHS = ['/api/posts', '/api/posts/:id', '/api/users/:id/settings', '/health'];
export const METHODS = ['GET', 'POST', 'DELETE'];
/** null: the event has no project. The slugs are created by client_postgrest.sh. */
export const PROJECTS = [null, 'shop', 'blog'];
export const HOUR_MS = 3_600_000;

/**
 * A duration in whole microseconds: 0 now and then, otherwise log-uniform from 1 µs to 30 s,
 * so the events fall into hundreds of the sketch's buckets.
 */
function micros(rand) {
    if (rand() < 0.03) {
        return 0;
    }
    return Math.max(1, Math.round(Math.exp(rand() * Math.log(3e7))));
}

/**
 * `n` events: { path, method, project, hourOffset, success, micros }. `hours` > 1 spreads them
 * over that many UTC hours back from the given time (an event's `at` is then
 * at - hourOffset hours), so one worker's keys span hours too.
 * @param {{ seed: number, n: number, hours?: number, paths?: string[], successRate?: number }} o
 */
export function makeEvents({ seed, n, hours = 1, paths = PATHS, successRate = 0.9 }) {
    const rand = prng(seed);
    const out = [];
    for (let i = 0; i < n; i += 1) {
        out.push({
            path: paths[Math.floor(rand() * paths.length)],
            method: METHODS[Math.floor(rand() * METHODS.length)],
            project: PROJECTS[Math.floor(rand() * PROJECTS.length)],
            hourOffset: Math.floor(rand() * hours),
            success: rand() < successRate,
            micros: micros(rand),
        });
    }
    return out;
}

/** The time of an event recorded at `baseAt` (ms) with its hour offset; null: "now". */
export function atOf(event, baseAt) {
    return baseAt === null || baseAt === undefined ? null : baseAt - event.hourOffset * HOUR_MS;
}

export const hourStart = (ms) => Math.floor(ms / HOUR_MS) * HOUR_MS;

/**
 * Adds events up per key: count, successful, failed, and the sum, minimum and maximum of the
 * durations in whole microseconds (exact integers). `keyOf(event)` names the group.
 * @returns {Map<string, {count: number, successful: number, failed: number, sum_micros: number, min_micros: number, max_micros: number, micros: number[]}>}
 */
export function tally(events, keyOf) {
    const groups = new Map();
    for (const e of events) {
        const k = keyOf(e);
        let g = groups.get(k);
        if (!g) {
            g = { count: 0, successful: 0, failed: 0, sum_micros: 0, min_micros: Infinity, max_micros: -Infinity, micros: [] };
            groups.set(k, g);
        }
        g.count += 1;
        if (e.success) g.successful += 1; else g.failed += 1;
        g.sum_micros += e.micros;
        g.min_micros = Math.min(g.min_micros, e.micros);
        g.max_micros = Math.max(g.max_micros, e.micros);
        g.micros.push(e.micros);
    }
    return groups;
}

/** PostgreSQL's percentile_disc of exact values: the value at rank max(1, ceil(q * n)). */
export function percentileDisc(values, q) {
    const sorted = [...values].sort((a, b) => a - b);
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
    return sorted[rank - 1];
}
