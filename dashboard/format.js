// Number and date formatting for the dashboard: pure functions, no DOM, the same output in
// every browser and in Node (grouping is done here, not by the locale), so a test can compute
// what the page must show with the very function the page uses.
//
// Formats (the `data-format` attribute of every number on the page):
//   int    a count: rounded, grouped by thousands             1234.4 -> "1,234"
//   num    a value: at most 2 decimals, trailing zeros cut    1234.5 -> "1,234.5"
//   ms     milliseconds                                        12.34 -> "12.3 ms", 1234 -> "1,234 ms"
//   pct    a RATIO from 0 to 1, as the API gives the request error rates, shares and
//          change_ratio, shown as a percentage                0.1234 -> "12.3%", 0.0025 -> "0.25%"
//          (the DORA change_failure_rate and rework_rate, and metrics of unit percent, come as
//          0 to 100: the page shows them as `num` with the % outside the number)
//   hours  hours                                               3.25 -> "3.3 h", 150 -> "150 h"
// null (or anything that is not a finite number) shows as an en dash.

export const FORMATS = ['int', 'num', 'ms', 'pct', 'hours'];
export const NO_VALUE = '–';

/** Groups the integer part of a plain decimal string by thousands: "-1234.5" -> "-1,234.5". */
export function groupThousands(text) {
    const [whole, fraction] = text.split('.');
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** `n` with at most `decimals` decimals, trailing zeros cut, grouped; never "-0". */
export function fixed(n, decimals) {
    let text = n.toFixed(decimals);
    if (text.includes('.')) text = text.replace(/\.?0+$/, '');
    if (/^-0(\.0*)?$/.test(text)) text = '0';
    return groupThousands(text);
}

/** How many decimals a value of this size needs to stay readable (3 significant digits). */
function decimalsFor(n, max) {
    const size = Math.abs(n);
    if (size >= 100 || size === 0) return 0;
    if (size >= 10) return Math.min(1, max);
    return max;
}

const formatters = {
    int: (n) => fixed(Math.round(n), 0),
    num: (n) => fixed(n, 2),
    ms: (n) => `${fixed(n, decimalsFor(n, 1))} ms`,
    pct: (n) => `${fixed(n * 100, decimalsFor(n * 100, 2))}%`,
    hours: (n) => `${fixed(n, decimalsFor(n, 1))} h`,
};

/** Parses what a `data-value` attribute holds ("12.5", "null") or a number; null when none. */
export function toNumber(value) {
    if (value === null || value === undefined || value === '' || value === 'null') return null;
    const n = typeof value === 'number' ? value : Number(value);
    return Number.isFinite(n) ? n : null;
}

/** The text of a number on the page: `formatNumber(value, format)`; null shows as "–". */
export function formatNumber(value, format = 'num') {
    const formatter = formatters[format];
    if (!formatter) throw new Error(`unknown number format "${format}"`);
    const n = toNumber(value);
    return n === null ? NO_VALUE : formatter(n);
}

/** What `data-value` holds for a number of the API: `String(n)`, or "null". */
export function dataValue(value) {
    return value === null || value === undefined ? 'null' : String(value);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A short date of an instant in a time zone: "Mar 4" (or "Mar 2026" for months, "Mar 4, 14:00"
 * for hours). Uses Intl only to learn the zone's calendar fields, never for the layout.
 */
export function formatDate(iso, { grain = 'day', timeZone = 'UTC' } = {}) {
    if (!iso) return NO_VALUE;
    const parts = zonedParts(new Date(iso), timeZone);
    const month = MONTHS[parts.month - 1];
    if (grain === 'month') return `${month} ${parts.year}`;
    if (grain === 'hour') return `${month} ${parts.day}, ${pad(parts.hour)}:00`;
    return `${month} ${parts.day}`;
}

/**
 * The label of a bucket of the API (its `time_bucket`): the date (or month) it covers, for a
 * day, week or month grain, and the exact hour for an hour grain. Daily metrics' buckets are
 * midnights of the server's `metrics.timezone` (default UTC), request and DORA buckets midnights
 * of the project's zone: formatting the instant 12 hours after the bucket's start gives the right
 * date in either zone (for offsets under 12 hours), so one label fits both kinds of bucket.
 */
export function bucketLabel(iso, { grain = 'day', timeZone = 'UTC' } = {}) {
    if (!iso) return NO_VALUE;
    if (grain === 'hour') return formatDate(iso, { grain, timeZone });
    const middle = Date.parse(iso) + 12 * 3600e3;
    if (!Number.isFinite(middle)) return NO_VALUE;
    return formatDate(new Date(middle).toISOString(), { grain, timeZone });
}

/** A date and time for freshness lines: "Mar 4, 2026, 14:05 UTC". */
export function formatDateTime(iso, timeZone = 'UTC') {
    if (!iso) return NO_VALUE;
    const p = zonedParts(new Date(iso), timeZone);
    return `${MONTHS[p.month - 1]} ${p.day}, ${p.year}, ${pad(p.hour)}:${pad(p.minute)} ${timeZone}`;
}

function pad(n) {
    return String(n).padStart(2, '0');
}

/** Calendar fields of an instant in a zone (falls back to UTC for an unknown zone). */
export function zonedParts(date, timeZone = 'UTC') {
    let format;
    try {
        format = new Intl.DateTimeFormat('en-US', {
            timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
            hour: 'numeric', minute: 'numeric',
        });
    } catch {
        return zonedParts(date, 'UTC');
    }
    const parts = {};
    for (const { type, value } of format.formatToParts(date)) parts[type] = Number(value);
    return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute };
}

/** A label from a key: "posts_created" -> "Posts created". */
export function humanize(key) {
    const text = String(key ?? '').replace(/_/g, ' ').trim();
    return text ? text[0].toUpperCase() + text.slice(1) : '';
}
