// The dashboard's pure modules, without a browser: number formatting (what every number on the
// page shows), the trend chart's geometry (gaps, runs, the open point), the API helpers (JWT
// expiry, error classification), the route fields, the static server's path check, and which
// metrics the trend section charts (trends.js).
//
//   node --test tests/dashboard/format.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { bucketLabel, dataValue, fixed, formatDate, formatDateTime, formatNumber, groupThousands, humanize, toNumber } from '../../dashboard/format.js';
import { findGaps, findRuns, isOpen, isoUtc, niceTicks, splitRun, stepBucket, trendLayout } from '../../dashboard/charts.js';
import { classify, cleanCredential, createApi, isExpired, isHeaderValue, jwtClaims } from '../../dashboard/api.js';
import { keyFormat, metricFormat, routeErrorRate, routeFields } from '../../dashboard/sections.js';
import { fileFor, realFileIn } from '../../dashboard/serve.mjs';
import { chooseSelection, defaultSelection, parseMetricsParam, trendOptions } from '../../dashboard/trends.js';

// --- format.js -------------------------------------------------------------------------------

test('null, undefined, "null" and non-numbers show as an en dash', () => {
    for (const format of ['int', 'num', 'ms', 'pct', 'hours']) {
        for (const v of [null, undefined, 'null', '', NaN, Infinity, 'abc']) assert.equal(formatNumber(v, format), '–');
    }
});

test('int rounds and groups by thousands', () => {
    assert.equal(formatNumber(0, 'int'), '0');
    assert.equal(formatNumber(1234.4, 'int'), '1,234');
    assert.equal(formatNumber(1234567, 'int'), '1,234,567');
    assert.equal(formatNumber(-1500.6, 'int'), '-1,501');
    assert.equal(formatNumber('34556', 'int'), '34,556', 'a data-value string formats like its number');
});

test('num keeps at most two decimals and cuts trailing zeros', () => {
    assert.equal(formatNumber(176, 'num'), '176');
    assert.equal(formatNumber(176.0, 'num'), '176');
    assert.equal(formatNumber(9.5238, 'num'), '9.52');
    assert.equal(formatNumber(4.7, 'num'), '4.7');
    assert.equal(formatNumber(60000, 'num'), '60,000');
    assert.equal(formatNumber(-17, 'num'), '-17');
    assert.equal(formatNumber(-0.001, 'num'), '0', 'never "-0"');
});

test('ms: one decimal below 100, none from 100', () => {
    assert.equal(formatNumber(3.21, 'ms'), '3.2 ms');
    assert.equal(formatNumber(52.64, 'ms'), '52.6 ms');
    assert.equal(formatNumber(196.88131322350606, 'ms'), '197 ms');
    assert.equal(formatNumber(2085.3, 'ms'), '2,085 ms');
    assert.equal(formatNumber(0, 'ms'), '0 ms');
});

test('pct takes a ratio 0..1 and shows a percentage', () => {
    assert.equal(formatNumber(0.04053000779423227, 'pct'), '4.05%');
    assert.equal(formatNumber(0.3804347826086957, 'pct'), '38%');
    assert.equal(formatNumber(0.245, 'pct'), '24.5%');
    assert.equal(formatNumber(1, 'pct'), '100%');
    assert.equal(formatNumber(0, 'pct'), '0%');
    assert.equal(formatNumber(0.0025, 'pct'), '0.25%');
    assert.equal(formatNumber(-0.0881, 'pct'), '-8.81%');
});

test('hours', () => {
    assert.equal(formatNumber(4.97972222222222, 'hours'), '5 h');
    assert.equal(formatNumber(2.173888888888889, 'hours'), '2.2 h');
    assert.equal(formatNumber(12.29, 'hours'), '12.3 h');
    assert.equal(formatNumber(150.4, 'hours'), '150 h');
});

test('an unknown format is a programming error', () => {
    assert.throws(() => formatNumber(1, 'percent'), /unknown number format/);
});

test('data-value is String(n) or "null", and reads back', () => {
    assert.equal(dataValue(176.0), '176');
    assert.equal(dataValue(0.1), '0.1');
    assert.equal(dataValue(null), 'null');
    assert.equal(dataValue(undefined), 'null');
    assert.equal(toNumber('0.1'), 0.1);
    assert.equal(toNumber('null'), null);
});

test('helpers: grouping, fixed, labels and dates', () => {
    assert.equal(groupThousands('-1234567.891'), '-1,234,567.891');
    assert.equal(fixed(2.5, 0), '3');
    assert.equal(humanize('posts_created'), 'Posts created');
    assert.equal(formatDate('2026-11-29T00:00:00Z'), 'Nov 29');
    assert.equal(formatDate('2026-11-01T00:00:00Z', { grain: 'month' }), 'Nov 2026');
    assert.equal(formatDate('2026-11-29T23:00:00Z', { timeZone: 'Europe/Berlin' }), 'Nov 30');
    assert.equal(formatDateTime('2026-12-01T22:45:55.306219Z'), 'Dec 1, 2026, 22:45 UTC');
    assert.equal(formatDate('2026-11-29T00:00:00Z', { timeZone: 'No/Such_Zone' }), 'Nov 29', 'an unknown zone falls back to UTC');
});

// --- charts.js: the trend's geometry ---------------------------------------------------------

const DAY = 86400e3;
/** Day points from `first` (a Date.UTC), skipping the day offsets in `missing`; the last is open. */
function days(count, { missing = [], open = true, first = Date.UTC(2026, 10, 1) } = {}) {
    const points = [];
    for (let d = 0; d < count; d++) {
        if (missing.includes(d)) continue;
        points.push({
            time_bucket: isoUtc(first + d * DAY), bucket_end: isoUtc(first + (d + 1) * DAY), grain: 'day',
            value: 10 + d, data: {}, partial: open && d === count - 1, live: open && d === count - 1,
        });
    }
    return points;
}

test('isoUtc writes instants as the API does', () => {
    assert.equal(isoUtc(Date.UTC(2026, 10, 15)), '2026-11-15T00:00:00Z');
    assert.equal(isoUtc('2026-11-15T05:30:00+00:00'), '2026-11-15T05:30:00Z');
});

test('consecutive days have no gap and one run', () => {
    const points = days(31);
    assert.deepEqual(findGaps(points), []);
    assert.deepEqual(findRuns(points).map((r) => r.length), [31]);
});

test('one missing day in the middle: one gap at that day, two runs', () => {
    const points = days(31, { missing: [14] });
    const gaps = findGaps(points);
    assert.equal(gaps.length, 1);
    assert.equal(gaps[0].start, '2026-11-15T00:00:00Z');
    assert.equal(gaps[0].end, '2026-11-16T00:00:00Z');
    assert.deepEqual(findRuns(points).map((r) => r.length), [14, 16]);
});

test('three missing days are three gap buckets; the count is rounded (a 23-hour DST day is one)', () => {
    assert.deepEqual(findGaps(days(10, { missing: [3, 4, 5] })).map((g) => g.start),
        ['2026-11-04T00:00:00Z', '2026-11-05T00:00:00Z', '2026-11-06T00:00:00Z']);
    const dst = [
        { time_bucket: '2026-03-27T23:00:00Z', bucket_end: '2026-03-28T23:00:00Z', grain: 'day', value: 1 },
        { time_bucket: '2026-03-29T22:00:00Z', bucket_end: '2026-03-30T22:00:00Z', grain: 'day', value: 2 },
    ];
    assert.deepEqual(findGaps(dst).map((g) => g.start), ['2026-03-28T23:00:00Z']);
});

test('gaps use the nominal step of each grain: week, month (30.44 days), hour', () => {
    const week = [
        { time_bucket: '2026-11-02T00:00:00Z', bucket_end: '2026-11-09T00:00:00Z', grain: 'week', value: 1 },
        { time_bucket: '2026-11-23T00:00:00Z', bucket_end: '2026-11-30T00:00:00Z', grain: 'week', value: 2 },
    ];
    assert.deepEqual(findGaps(week).map((g) => g.start), ['2026-11-09T00:00:00Z', '2026-11-16T00:00:00Z']);
    const month = [
        { time_bucket: '2026-01-01T00:00:00Z', bucket_end: '2026-02-01T00:00:00Z', grain: 'month', value: 1 },
        { time_bucket: '2026-04-01T00:00:00Z', bucket_end: '2026-05-01T00:00:00Z', grain: 'month', value: 2 },
    ];
    assert.equal(findGaps(month).length, 2, 'February and March');
    assert.equal(findGaps(month)[0].start, '2026-02-01T00:00:00Z');
    const hour = [
        { time_bucket: '2026-11-02T10:00:00Z', bucket_end: '2026-11-02T11:00:00Z', grain: 'hour', value: 1 },
        { time_bucket: '2026-11-02T12:00:00Z', bucket_end: '2026-11-02T13:00:00Z', grain: 'hour', value: 2 },
    ];
    assert.deepEqual(findGaps(hour).map((g) => g.start), ['2026-11-02T11:00:00Z']);
});

test('every start of a multi-bucket gap is a calendar step: day, week, month (UTC buckets exact)', () => {
    const gap = (grain, prevStart, prevEnd, nextStart, nextEnd) => findGaps([
        { time_bucket: prevStart, bucket_end: prevEnd, grain, value: 1 },
        { time_bucket: nextStart, bucket_end: nextEnd, grain, value: 2 },
    ]).map((g) => [g.start, g.end]);
    assert.deepEqual(gap('day', '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', '2026-11-05T00:00:00Z', '2026-11-06T00:00:00Z'), [
        ['2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z'],
        ['2026-11-03T00:00:00Z', '2026-11-04T00:00:00Z'],
        ['2026-11-04T00:00:00Z', '2026-11-05T00:00:00Z'],
    ]);
    assert.deepEqual(gap('week', '2026-11-02T00:00:00Z', '2026-11-09T00:00:00Z', '2026-11-30T00:00:00Z', '2026-12-07T00:00:00Z'), [
        ['2026-11-09T00:00:00Z', '2026-11-16T00:00:00Z'],
        ['2026-11-16T00:00:00Z', '2026-11-23T00:00:00Z'],
        ['2026-11-23T00:00:00Z', '2026-11-30T00:00:00Z'],
    ]);
    // Four missing months of 28 to 31 days: an even share would start them off by days.
    assert.deepEqual(gap('month', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z'), [
        ['2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
        ['2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'],
        ['2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z'],
        ['2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z'],
    ]);
    // Midnights of Europe/Berlin across the change to summer time (Mar 29): the UTC time of day is
    // kept, so the days after it start within the DST hour (23:00Z rather than 22:00Z), on the right date.
    assert.deepEqual(gap('day', '2026-03-26T23:00:00Z', '2026-03-27T23:00:00Z', '2026-03-30T22:00:00Z', '2026-03-31T22:00:00Z').map((g) => g[0]),
        ['2026-03-27T23:00:00Z', '2026-03-28T23:00:00Z', '2026-03-29T23:00:00Z']);
    assert.equal(stepBucket('2026-01-31T00:00:00Z', 'day', 1), '2026-02-01T00:00:00Z');
    assert.equal(stepBucket('2026-11-02T10:00:00Z', 'hour', 3), '2026-11-02T13:00:00Z');
});

test('bucketLabel: the date of a bucket that is a midnight of UTC or of the project\'s zone', () => {
    for (const timeZone of ['America/New_York', 'Asia/Tokyo', 'UTC']) {
        // A daily metric's bucket: a UTC midnight (metrics.timezone defaults to UTC).
        assert.equal(bucketLabel('2026-11-29T00:00:00Z', { grain: 'day', timeZone }), 'Nov 29', `UTC midnight in ${timeZone}`);
        assert.equal(bucketLabel('2026-11-01T00:00:00Z', { grain: 'month', timeZone }), 'Nov 2026', `UTC month in ${timeZone}`);
        assert.equal(bucketLabel('2026-11-23T00:00:00Z', { grain: 'week', timeZone }), 'Nov 23', `UTC week in ${timeZone}`);
    }
    // Request and DORA buckets: midnights of the project's zone.
    assert.equal(bucketLabel('2026-11-29T05:00:00Z', { grain: 'day', timeZone: 'America/New_York' }), 'Nov 29');
    assert.equal(bucketLabel('2026-11-01T04:00:00Z', { grain: 'month', timeZone: 'America/New_York' }), 'Nov 2026');
    assert.equal(bucketLabel('2026-11-28T15:00:00Z', { grain: 'day', timeZone: 'Asia/Tokyo' }), 'Nov 29');
    assert.equal(bucketLabel('2026-10-31T15:00:00Z', { grain: 'month', timeZone: 'Asia/Tokyo' }), 'Nov 2026');
    // formatDate alone gets both wrong: the reason for the helper.
    assert.equal(formatDate('2026-11-29T00:00:00Z', { timeZone: 'America/New_York' }), 'Nov 28');
    // Hours stay exact.
    assert.equal(bucketLabel('2026-11-29T14:00:00Z', { grain: 'hour', timeZone: 'Asia/Tokyo' }), 'Nov 29, 23:00');
    assert.equal(bucketLabel(null), '–');
});

test('trendLayout labels buckets, gaps included, by bucketLabel in the project\'s zone', () => {
    const layout = trendLayout({ grain: 'day', points: days(5, { missing: [2] }) }, { timeZone: 'America/New_York' });
    assert.equal(layout.points[0].title.split(':')[0], 'Nov 1');
    assert.equal(layout.gaps[0].title, 'Nov 3: no data');
    assert.equal(layout.xTicks[0].label, 'Nov 1');
});

test('a null value breaks the line but is not a gap', () => {
    const points = days(5);
    points[2].value = null;
    assert.deepEqual(findGaps(points), []);
    assert.deepEqual(findRuns(points), [[0, 1], [3, 4]]);
});

test('the open point: partial, or the last when the answer is open', () => {
    const points = days(3, { open: false });
    assert.equal(isOpen(points, 2, false), false);
    assert.equal(isOpen(points, 2, true), true);
    assert.equal(isOpen(points, 1, true), false);
    points[1].partial = true;
    assert.equal(isOpen(points, 1, false), true);
});

test('a run is solid up to the point before the open one, dashed into it', () => {
    const open = (i) => i === 4;
    assert.deepEqual(splitRun([0, 1, 2, 3, 4], open), { solid: [0, 1, 2, 3], dashed: [3, 4] });
    assert.deepEqual(splitRun([0, 1, 2], open), { solid: [0, 1, 2], dashed: [] });
    assert.deepEqual(splitRun([4], open), { solid: [4], dashed: [4] });
});

test('trendLayout: a circle per point, a gap band per missing day, one line per run', () => {
    const answer = { metric_key: 'org_posts', grain: 'day', open: true, points: days(31, { missing: [14] }) };
    const layout = trendLayout(answer, { width: 640, height: 240, format: 'int' });
    assert.equal(layout.points.length, 30);
    assert.equal(layout.points.filter((p) => p.open).length, 1);
    assert.equal(layout.points.at(-1).open, true);
    assert.deepEqual(layout.gaps.map((g) => g.bucket), ['2026-11-15T00:00:00Z']);
    assert.equal(layout.lines.length, 2);
    assert.equal(layout.dashed.length, 1, 'the segment into the open day');
    const before = layout.points[13];
    const after = layout.points[14];
    const gap = layout.gaps[0];
    assert.ok(before.x < gap.x && gap.x + gap.width < after.x, 'the band lies between its neighbours');
    assert.ok(layout.points.every((p) => p.x >= 0 && p.x <= 640 && p.y >= 0 && p.y <= 240));
    assert.match(layout.points.at(-1).title, /^Dec 1: 40 \(so far\)$/);
    assert.ok(layout.xTicks.length >= 3 && layout.yTicks.length >= 2);
});

test('trendLayout of no points draws nothing', () => {
    const layout = trendLayout({ grain: 'day', points: [] });
    assert.deepEqual([layout.points, layout.gaps, layout.lines], [[], [], []]);
});

test('niceTicks are round and cover the values', () => {
    assert.deepEqual(niceTicks(0, 38), [0, 10, 20, 30, 40]);
    assert.deepEqual(niceTicks(0, 1), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(niceTicks(0, 0), [0, 0.25, 0.5, 0.75, 1]);
    const t = niceTicks(0, 2085);
    assert.ok(t[0] === 0 && t.at(-1) >= 2085 && t.length <= 6);
});

// --- api.js ----------------------------------------------------------------------------------

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.signature`;

test('a token whose exp has passed is expired; one without exp is not', () => {
    const now = Date.UTC(2026, 11, 1);
    assert.equal(isExpired(jwt({ exp: now / 1000 - 1 }), now), true);
    assert.equal(isExpired(jwt({ exp: now / 1000 + 60 }), now), false);
    assert.equal(isExpired(jwt({ role: 'anon' }), now), false);
    assert.deepEqual(jwtClaims(jwt({ app_metadata: { projects: ['acmé'] } })), { app_metadata: { projects: ['acmé'] } });
    assert.equal(jwtClaims('not a jwt'), null);
});

test('every call checks the token\'s exp first: an expired token is never sent', async (t) => {
    const calls = [];
    t.mock.method(globalThis, 'fetch', async (url) => {
        calls.push(url);
        return new Response('[]', { status: 200 });
    });
    const live = createApi({ url: 'http://api.test/', anonKey: jwt({ role: 'anon' }), accessToken: jwt({ exp: Date.now() / 1000 + 3600 }) });
    assert.deepEqual(await live.projects(), []);
    assert.equal(calls.length, 1);
    const expired = createApi({ url: 'http://api.test', anonKey: jwt({ role: 'anon' }), accessToken: jwt({ exp: Date.now() / 1000 - 1 }) });
    await assert.rejects(expired.summary('a'), (e) => e.kind === 'expired');
    assert.equal(calls.length, 1, 'no request with an expired token');
});

test('a pasted token or key loses its whitespace; what is still no header value is a credentials error', async (t) => {
    const token = jwt({ role: 'authenticated' });
    assert.equal(cleanCredential(`  ${token.slice(0, 10)}\n${token.slice(10)}\r\n `), token);
    assert.equal(cleanCredential(null), null);
    assert.equal(isHeaderValue(token), true);
    assert.equal(isHeaderValue('abc\u00e9'), false);
    let sent = null;
    t.mock.method(globalThis, 'fetch', async (url, init) => {
        sent = init.headers;
        return new Response('[]', { status: 200 });
    });
    await createApi({ url: 'http://api.test', anonKey: ' key\n', accessToken: `${token.slice(0, 5)}\n${token.slice(5)}` }).projects();
    assert.equal(sent.apikey, 'key');
    assert.equal(sent.Authorization, `Bearer ${token}`);
    sent = null;
    await assert.rejects(createApi({ url: 'http://api.test', anonKey: 'kéy', accessToken: token }).projects(), (e) => e.kind === 'credentials');
    assert.equal(sent, null, 'not sent');
});

test('errors of PostgREST are classified for the page', () => {
    assert.equal(classify(401, { code: 'PGRST301', message: 'JWT expired' }).kind, 'expired');
    assert.equal(classify(401, { code: 'PGRST302', message: 'Anonymous access is disabled' }).kind, 'expired');
    assert.equal(classify(400, { code: '42704', message: 'project "globex" does not exist' }).kind, 'forbidden');
    assert.equal(classify(404, { code: '42704', message: 'project "x" does not exist' }).kind, 'forbidden');
    const key = classify(400, { code: '42704', message: 'metric key "x" does not exist', hint: 'Known keys: ...' });
    assert.deepEqual([key.kind, key.message, key.hint], ['api', 'metric key "x" does not exist', 'Known keys: ...']);
    assert.equal(classify(502, null).message, 'The API answered HTTP 502.');
});

// --- sections.js: formats and route fields ---------------------------------------------------

test('formats by metric key and unit', () => {
    assert.equal(keyFormat('requests'), 'int');
    assert.equal(keyFormat('request_p95_ms'), 'ms');
    assert.equal(keyFormat('request_error_rate'), 'pct');
    assert.equal(keyFormat('lead', [{ metric_key: 'lead', unit: 'hours' }]), 'hours');
    assert.equal(metricFormat({ unit: 'percent' }), 'num', 'percent metrics are 0..100: shown as numbers with a % sign');
    assert.equal(metricFormat({ unit: 'count' }), 'num');
});

test('route fields: the payload\'s, errors from failed, error_rate computed only when missing', () => {
    const payload = { requests: 728, failed: 30, error_rate: 0.0412, p50_ms: 108, p95_ms: 196.9, p99_ms: 203 };
    assert.deepEqual(routeFields(payload), { requests: 728, errors: 30, error_rate: 0.0412, p50_ms: 108, p95_ms: 196.9, p99_ms: 203 });
    assert.equal(routeErrorRate({ requests: 200, errors: 5 }), 0.025);
    assert.equal(routeErrorRate({ requests: 0, failed: 0 }), null);
});

// --- serve.mjs -------------------------------------------------------------------------------

test('the server serves only files inside its folder', () => {
    const root = '/srv/dashboard';
    assert.equal(fileFor('/', root), join(root, 'index.html'));
    assert.equal(fileFor('/app.js?v=1', root), join(root, 'app.js'));
    for (const bad of ['/../secret', '/%2e%2e/secret', '/..%2fsecret', '/a/../../secret', '/%00', '/%E0%A4%A']) {
        assert.equal(fileFor(bad, root), null, bad);
    }
});

// --- trends.js: which metrics are charted ------------------------------------------------------

const SUMMARY_METRICS = [{ metric_key: 'b_metric', display_name: 'B' }, { metric_key: 'a_metric' }, { metric_key: 'c_metric' }];

test('the server resolves symbolic links: a link out of its folder is not served', async () => {
    const base = await mkdtemp(join(tmpdir(), 'dashboard-serve-'));
    try {
        const root = join(base, 'root');
        await mkdir(root);
        await writeFile(join(root, 'app.js'), '');
        await writeFile(join(base, 'secret.txt'), 'secret');
        await symlink(join(base, 'secret.txt'), join(root, 'leak.txt'));
        await symlink(join(root, 'app.js'), join(root, 'alias.js'));
        assert.equal(await realFileIn(fileFor('/leak.txt', root), root), null, 'a link to a file outside');
        assert.equal(await realFileIn(fileFor('/app.js', root), root), join(root, 'app.js'));
        assert.equal(await realFileIn(fileFor('/alias.js', root), root), join(root, 'app.js'), 'a link inside stays inside');
        assert.equal(await realFileIn(fileFor('/missing.js', root), root), null);
    } finally {
        await rm(base, { recursive: true, force: true });
    }
});

test('trendOptions: the summary\'s metrics in its order, then the request keys, each once', () => {
    const options = trendOptions(SUMMARY_METRICS);
    assert.deepEqual(options.map((o) => o.value), ['b_metric', 'a_metric', 'c_metric', 'requests', 'request_p95_ms', 'request_error_rate']);
    assert.equal(options[0].label, 'B');
    assert.equal(options[1].label, 'A metric', 'no display name: the key, humanized');
    assert.deepEqual(trendOptions([]).map((o) => o.value), ['requests', 'request_p95_ms', 'request_error_rate']);
});

test('defaultSelection: the first two metrics of the summary and requests, or what exists', () => {
    assert.deepEqual(defaultSelection(trendOptions(SUMMARY_METRICS), SUMMARY_METRICS), ['b_metric', 'a_metric', 'requests']);
    assert.deepEqual(defaultSelection(trendOptions(SUMMARY_METRICS.slice(0, 1)), SUMMARY_METRICS.slice(0, 1)), ['b_metric', 'requests']);
    assert.deepEqual(defaultSelection(trendOptions([]), []), ['requests']);
});

test('parseMetricsParam and chooseSelection: ?metrics= restores a selection, in the options\' order', () => {
    const options = trendOptions(SUMMARY_METRICS);
    assert.equal(parseMetricsParam(null), null);
    assert.deepEqual(parseMetricsParam(''), []);
    assert.deepEqual(parseMetricsParam('requests, c_metric,,requests'), ['requests', 'c_metric']);
    assert.deepEqual(chooseSelection(['requests', 'c_metric'], options, SUMMARY_METRICS), ['c_metric', 'requests']);
    assert.deepEqual(chooseSelection(['nope', 'request_p95_ms'], options, SUMMARY_METRICS), ['request_p95_ms'], 'unknown keys are left out');
    assert.deepEqual(chooseSelection(['nope'], options, SUMMARY_METRICS), ['b_metric', 'a_metric', 'requests'], 'no known key: the default');
    assert.deepEqual(chooseSelection(null, options, SUMMARY_METRICS), ['b_metric', 'a_metric', 'requests'], 'absent: the default');
    assert.deepEqual(chooseSelection([], options, SUMMARY_METRICS), [], 'empty: nothing selected, as the user left it');
});
