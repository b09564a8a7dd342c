// The server's checks of an event (crates/metrics-core/src/requests/event.rs: check_name,
// check_method, check_duration, check_at) and its rounding of durations (bucket.rs), mirrored
// so that an event the server would refuse is dropped (and counted) when it is recorded,
// instead of refusing the whole batch it would have been sent in.

import { MAX_TRACKED_MS } from './sketch.js';

/** The HTTP methods a route event may carry, upper-case (RFC 9110 and PATCH). */
export const METHODS = Object.freeze(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
/** Longest route or operation name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 1024;
/** Longest duration accepted (ms): a day. */
export const MAX_DURATION_MS = MAX_TRACKED_MS;

/**
 * Unicode's format characters (Cf) and the line and paragraph separators (Zl, Zp), as the
 * server lists them: sorted inclusive ranges of code points.
 */
const INVISIBLE = [
    [0x00AD, 0x00AD], [0x0600, 0x0605], [0x061C, 0x061C], [0x06DD, 0x06DD], [0x070F, 0x070F],
    [0x0890, 0x0891], [0x08E2, 0x08E2], [0x180E, 0x180E], [0x200B, 0x200F], [0x2028, 0x202E],
    [0x2060, 0x2064], [0x2066, 0x206F], [0xFEFF, 0xFEFF], [0xFFF9, 0xFFFB], [0x110BD, 0x110BD],
    [0x110CD, 0x110CD], [0x13430, 0x1343F], [0x1BCA0, 0x1BCA3], [0x1D173, 0x1D17A],
    [0xE0001, 0xE0001], [0xE0020, 0xE007F],
];

/** Rust's str::trim: Unicode White_Space at both ends (JavaScript's trim also strips U+FEFF). */
const EDGE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;

/** @param {string} s */
export function rustTrim(s) {
    return s.replace(EDGE_SPACE, '');
}

/** @param {number} cp a code point */
export function isInvisible(cp) {
    return INVISIBLE.some(([first, last]) => first <= cp && cp <= last);
}

/** Rust's char::is_control: the category Cc. @param {number} cp */
export function isControl(cp) {
    return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F);
}

/** @param {string} code @param {string} message @returns {{code: string, message: string}} */
const problem = (code, message) => ({ code, message });

const hex = (cp) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Checks a route or operation name: not blank, at most MAX_NAME_BYTES bytes, no control or
 * invisible formatting character; and well-formed UTF-16 (a lone surrogate cannot be sent
 * as JSON to PostgreSQL). null when valid.
 * @param {'route' | 'operation'} what
 * @param {unknown} name
 */
export function checkName(what, name) {
    if (typeof name !== 'string') {
        return problem('22023', `${what} must be a string, not ${typeof name}`);
    }
    if (rustTrim(name) === '') {
        return problem('22023', `${what} must not be empty`);
    }
    if (!name.isWellFormed()) {
        return problem('22P05', `${what} contains a lone surrogate (not valid Unicode)`);
    }
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > MAX_NAME_BYTES) {
        return problem('22001', `${what} is ${bytes} bytes long; at most ${MAX_NAME_BYTES} are accepted`);
    }
    for (const ch of name) {
        const cp = /** @type {number} */ (ch.codePointAt(0));
        if (isControl(cp)) {
            return problem('22023', `${what} contains a control character, ${hex(cp)}`);
        }
        if (isInvisible(cp)) {
            return problem('22023', `${what} contains an invisible formatting character, ${hex(cp)}`);
        }
    }
    return null;
}

/**
 * Checks an HTTP method: trimmed, upper-cased (ASCII only, as the server), one of METHODS.
 * @param {unknown} method
 * @returns {{ method: string } | { code: string, message: string }}
 */
export function checkMethod(method) {
    if (typeof method !== 'string') {
        return problem('22023', `method must be a string, not ${typeof method}`);
    }
    const upper = rustTrim(method).replace(/[a-z]+/g, (s) => s.toUpperCase());
    if (METHODS.includes(upper)) {
        return { method: upper };
    }
    return problem('22023', `unknown HTTP method "${[...method].slice(0, 40).join('')}"`);
}

/**
 * Checks a duration in milliseconds: a number from 0 to a day. null when valid.
 * @param {unknown} ms
 */
export function checkDuration(ms) {
    if (typeof ms !== 'number') {
        return problem('22023', `duration must be a number of milliseconds, not ${typeof ms}`);
    }
    if (Number.isNaN(ms)) {
        return problem('22023', 'duration_ms is NaN, not a number of milliseconds');
    }
    if (ms < 0) {
        return problem('22023', `duration_ms is negative (${ms} ms); a duration is 0 ms or more`);
    }
    if (ms > MAX_DURATION_MS) {
        return problem('22023', `duration_ms is more than a day (${ms} ms); at most ${MAX_DURATION_MS} ms are accepted`);
    }
    return null;
}

/**
 * Checks that an event's time (ms since the epoch) lies in [now - maxAge, now + maxLead].
 * @param {number} at @param {number} now @param {number} maxAgeMs @param {number} maxLeadMs
 */
export function checkAt(at, now, maxAgeMs, maxLeadMs) {
    if (!Number.isFinite(at)) {
        return problem('22007', '"at" is not a valid time');
    }
    if (at < now - maxAgeMs) {
        return problem('22008', `the event is ${Math.round((now - at) / 1000)} s old, older than the window of ${maxAgeMs / 1000} s`);
    }
    if (at > now + maxLeadMs) {
        return problem('22008', `the event is ${Math.round((at - now) / 1000)} s in the future (at most ${maxLeadMs / 1000} s)`);
    }
    return null;
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks a project's slug (as metrics.projects allows them) or id (a uuid, either case) and
 * returns it as the server compares it (an id lower-case).
 * @param {unknown} project
 * @returns {{ project: string } | { code: string, message: string }}
 */
export function checkProject(project) {
    if (typeof project === 'string' && (SLUG.test(project) || UUID.test(project))) {
        return { project: project.toLowerCase() };
    }
    const shown = typeof project === 'string' ? `"${[...project].slice(0, 70).join('')}"` : typeof project;
    return problem('42704', `project ${shown} is neither a slug (^[a-z0-9][a-z0-9_-]{0,62}$) nor a uuid`);
}

/**
 * A duration to the microsecond, as the server rounds every duration and sum
 * (bucket.rs whole_micros; Math.round equals Rust's f64::round for values >= 0).
 * @param {number} ms
 */
export function wholeMicros(ms) {
    return Math.round(ms * 1000) / 1000;
}

/** The sum of two sums of durations, to the microsecond (bucket.rs add_durations). */
export function addDurations(a, b) {
    return wholeMicros(a + b);
}
