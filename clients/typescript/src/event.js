// One event as the application passes it, checked the way the server checks it, with its
// duration rounded to the microsecond as the server rounds it.

import { checkAt, checkDuration, checkMethod, checkName, checkProject, wholeMicros } from './validate.js';

/**
 * @typedef {object} RawEvent
 * @property {unknown} name
 * @property {unknown} [method]
 * @property {unknown} success
 * @property {unknown} duration
 * @property {{ project?: string | null, at?: Date | number | string } | undefined} [options]
 */

/**
 * @typedef {object} EventSettings
 * @property {string | null} project  the default project of events (checked)
 * @property {number} maxEventAgeMs
 * @property {number} maxEventLeadMs
 */

/** @param {unknown} at @param {number} now */
function timeOf(at, now) {
    if (at === undefined || at === null) {
        return now;
    }
    if (at instanceof Date || typeof at === 'number') {
        return Number(at);
    }
    return typeof at === 'string' ? Date.parse(at) : NaN;
}

/**
 * @param {unknown} given @param {string | null} fallback
 * @returns {{ project: string | null } | { code: string, message: string }}
 */
function projectOf(given, fallback) {
    if (given === undefined) {
        return { project: fallback };
    }
    return given === null ? { project: null } : checkProject(given);
}

/**
 * Checks an event of a subject; the first problem found refuses it.
 * @param {import('./subjects.js').Subject} subject
 * @param {RawEvent} raw
 * @param {EventSettings} settings
 * @param {number} now ms since the epoch
 * @returns {{ event: import('./summary.js').CheckedEvent } | { problem: { code: string, message: string } }}
 */
export function checkEvent(subject, raw, settings, now) {
    const nameProblem = checkName(subject.nameKey, raw.name);
    if (nameProblem) {
        return { problem: nameProblem };
    }
    let method = null;
    if (subject.hasMethod) {
        const m = checkMethod(raw.method);
        if (!('method' in m)) {
            return { problem: m };
        }
        method = m.method;
    }
    if (typeof raw.success !== 'boolean') {
        return { problem: { code: '22023', message: `success must be true or false, not ${typeof raw.success}` } };
    }
    const durationProblem = checkDuration(raw.duration);
    if (durationProblem) {
        return { problem: durationProblem };
    }
    const options = raw.options ?? {};
    const at = timeOf(options.at, now);
    const atProblem = checkAt(at, now, settings.maxEventAgeMs, settings.maxEventLeadMs);
    if (atProblem) {
        return { problem: atProblem };
    }
    const p = projectOf(options.project, settings.project);
    if (!('project' in p)) {
        return { problem: p };
    }
    return {
        event: {
            name: /** @type {string} */ (raw.name),
            method,
            success: raw.success,
            durationMs: wholeMicros(/** @type {number} */ (raw.duration)),
            at,
            project: p.project,
        },
    };
}
