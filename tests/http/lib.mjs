// Shared by the HTTP tests: the PostgREST under test, JWTs signed like Supabase's, HTTP calls
// that fail the test on any 5xx, psql as the superuser for independent checks, and the
// expected values of the social metrics computed straight from regress_src.
//
// The environment comes from tests/scenarios/access/postgrest_http.sh: PGRST_URL,
// PGRST_JWT_SECRET, METRICS_HTTP_DB, and PGHOST/PGPORT/PGUSER of the cluster (a superuser).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { afterEach } from 'node:test';

function required(name) {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run the HTTP tests through tests/scenarios/access/postgrest_http.sh`);
    return value;
}

export const BASE_URL = required('PGRST_URL');
export const JWT_SECRET = required('PGRST_JWT_SECRET');
export const DB = required('METRICS_HTTP_DB');

// ---------------------------------------------------------------------------------------------
// JWTs: HS256 over the secret PostgREST was given, claims shaped like Supabase's.

const b64url = (value) => Buffer.from(value).toString('base64url');

export function signJwt(claims, { secret = JWT_SECRET, alg = 'HS256' } = {}) {
    const input = `${b64url(JSON.stringify({ alg, typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
    const signature = alg === 'none' ? '' : createHmac('sha256', secret).update(input).digest('base64url');
    return `${input}.${signature}`;
}

const now = () => Math.floor(Date.now() / 1000);
export const USER_ID = '6f1e7a52-0b1c-4c37-9d0e-2a4c8b7e1f30';

export function claimsFor(role, extra = {}) {
    const base = { iss: 'supabase', role, iat: now(), exp: now() + 3600 };
    if (role === 'authenticated') {
        Object.assign(base, {
            sub: USER_ID, aud: 'authenticated', email: 'user@example.com',
            app_metadata: { provider: 'email', providers: ['email'] },
        });
    }
    return { ...base, ...extra };
}

export const jwtFor = (role, extra) => signJwt(claimsFor(role, extra));

// Who calls: `anon` sends no JWT at all (PostgREST's db-anon-role); the others send a JWT.
export const AS = {
    anon: null,
    authenticated: jwtFor('authenticated'),
    admin: jwtFor('authenticated', { app_metadata: { provider: 'email', role: 'admin' } }),
    service_role: jwtFor('service_role'),
};

// ---------------------------------------------------------------------------------------------
// HTTP. Every response is screened: a 5xx status, or an error body that carries the
// extension's internals (a Rust backtrace, source paths), is recorded, and the hook below fails
// the test that got it, even when the test itself did not look that far.

const problems = [];
const INTERNALS = /pgrx|rustc|\.rs:\d+|\.cargo\/registry|stack backtrace/;

export function screenResponse(what, status, text) {
    const body = String(text);
    if (status >= 500) problems.push(`${what} answered ${status}, a server error: ${body.slice(0, 500)}`);
    if (status >= 400 && INTERNALS.test(body)) {
        problems.push(`${what} answered ${status} with the extension's internals in the body: ${body.slice(0, 300)}`);
    }
}

afterEach(() => {
    const seen = problems.splice(0);
    assert.deepEqual(seen, [], 'no answer is a 5xx or shows a Rust backtrace');
});

/**
 * api('POST', '/rpc/fetch_metrics', { as: AS.anon, body: {...} }) ->
 *   { status, body (parsed JSON, or undefined), text, headers }
 * `as` is a JWT or null (anon); `body` is JSON-encoded unless it is a string already.
 */
export async function api(method, path, { as = null, body, headers = {}, timeoutMs = 60_000 } = {}) {
    const h = { Accept: 'application/json', ...headers };
    if (as) h.Authorization = `Bearer ${as}`;
    let payload;
    if (body !== undefined) {
        h['Content-Type'] ??= 'application/json';
        payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const what = `${method} ${path}`;
    let res;
    try {
        res = await fetch(BASE_URL + path, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
        throw new Error(`${what}: no answer (${e.name}: ${e.message})`);
    }
    const text = await res.text();
    let parsed;
    try { parsed = text === '' ? null : JSON.parse(text); } catch { parsed = undefined; }
    screenResponse(what, res.status, text);
    assert.ok(res.status < 500, `${what} answered ${res.status}, a server error: ${text.slice(0, 500)}`);
    return { status: res.status, body: parsed, text, headers: res.headers };
}

const short = (res) => `${res.status} ${res.text.slice(0, 400)}`;

/** The response is a success with this status; returns the body. */
export function assertOk(res, status = 200) {
    assert.equal(res.status, status, `expected HTTP ${status}, got ${short(res)}`);
    return res.body;
}

/**
 * The response is an error with this HTTP status and `code`, a non-empty message and (unless
 * hint: false) a non-empty hint. `status` may be a list of acceptable statuses.
 */
export function assertError(res, status, code, { hint = true } = {}) {
    const statuses = [status].flat();
    assert.ok(statuses.includes(res.status) && res.body?.code === code,
        `expected HTTP ${statuses.join(' or ')} with code ${code}, got ${short(res)}`);
    assert.ok(typeof res.body.message === 'string' && res.body.message.length > 0, `a message: ${res.text}`);
    if (hint) assert.ok(typeof res.body.hint === 'string' && res.body.hint.length > 0, `a hint: ${res.text}`);
    return res.body;
}

// ---------------------------------------------------------------------------------------------
// psql as the cluster's superuser (PGUSER), for state the API must not be trusted to report.

export function sql(query) {
    return execFileSync('psql', ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', DB, '-c', query],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The rows of a query as JSON objects (numbers stay numbers, dates are 'YYYY-MM-DD'). */
export function sqlRows(query) {
    return JSON.parse(sql(`SELECT coalesce(json_agg(q), '[]') FROM (${query}) AS q`));
}

/** How many rows each of the extension's tables has (the superuser sees them all). */
export function tableCounts() {
    return sqlRows(`SELECT (SELECT count(*) FROM metrics.daily_metrics) AS daily_metrics,
                           (SELECT count(*) FROM metrics.metric_definitions) AS metric_definitions,
                           (SELECT count(*) FROM metrics.metric_collection_log) AS metric_collection_log,
                           (SELECT count(*) FROM metrics.metric_revisions) AS metric_revisions`)[0];
}

/** Runs fn and checks that no table of the extension gained or lost a row meanwhile. */
export async function assertNothingWritten(fn) {
    const before = tableCounts();
    const result = await fn();
    assert.deepEqual(tableCounts(), before, 'nothing was written to the metrics tables');
    return result;
}

export const addDays = (date, n) => {
    const d = new Date(`${date}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
};

// ---------------------------------------------------------------------------------------------
// The days the tests seal. Fixture days around 2025-03-10 (rows exactly on and next to UTC
// midnight), and the week up to the last closed day (rows added by postgrest_http.sh).

export const LAST_CLOSED = sql('SELECT metrics.last_closed_day()');
export const DAYS = {
    backfillFrom: '2025-03-08',
    backfillTo: '2025-03-12',
    collect: '2025-03-13',
    recentFrom: addDays(LAST_CLOSED, -6),
    recentTo: LAST_CLOSED,
};
export const SOCIAL_METRICS = ['active_users', 'comments_created', 'comments_total', 'engagement_rate', 'posts_created',
    'posts_total', 'top_genres', 'tracks_uploaded', 'users_total'];

/**
 * What the social preset must seal for each day of [d1, d2], computed from regress_src with
 * fixed UTC day boundaries; the extension's own SQL is not involved.
 * Rows: { metric_date, metric_category, value } (value a number).
 */
export function expectedSocial(d1, d2) {
    return sqlRows(`
        WITH days AS (
            SELECT g::date AS day, g AT TIME ZONE 'UTC' AS lo, (g + interval '1 day') AT TIME ZONE 'UTC' AS hi
            FROM generate_series('${d1}'::timestamp, '${d2}'::timestamp, interval '1 day') AS g
        ), v AS (
            SELECT day,
                (SELECT count(*) FROM regress_src.profiles WHERE created_at < hi) AS users_total,
                (SELECT count(*) FROM regress_src.posts WHERE created_at < hi) AS posts_total,
                (SELECT count(*) FROM regress_src.comments WHERE created_at < hi) AS comments_total,
                (SELECT count(*) FROM regress_src.posts WHERE created_at >= lo AND created_at < hi) AS posts_created,
                (SELECT count(*) FROM regress_src.comments WHERE created_at >= lo AND created_at < hi) AS comments_created,
                (SELECT count(*) FROM regress_src.tracks WHERE created_at >= lo AND created_at < hi) AS tracks_uploaded,
                (SELECT count(DISTINCT user_id) FROM regress_src.posts WHERE created_at >= lo AND created_at < hi) AS active_users,
                (SELECT count(DISTINCT genre) FROM regress_src.tracks WHERE created_at >= lo AND created_at < hi) AS top_genres
            FROM days
        )
        SELECT day AS metric_date, c.metric_category, c.value
        FROM v CROSS JOIN LATERAL (VALUES
            ('users_total', users_total::numeric), ('posts_total', posts_total), ('comments_total', comments_total),
            ('posts_created', posts_created), ('comments_created', comments_created),
            ('tracks_uploaded', tracks_uploaded), ('active_users', active_users),
            ('engagement_rate', CASE WHEN users_total = 0 THEN 0 ELSE round(active_users * 100.0 / users_total, 4) END),
            ('top_genres', top_genres)) AS c (metric_category, value)
        ORDER BY 1, 2`);
}

/** 'date|category' -> value, of rows with those three fields (value as a number). */
export function byDayAndCategory(rows, { date = 'metric_date' } = {}) {
    const map = new Map();
    for (const r of rows) {
        const key = `${r[date]}|${r.metric_category}`;
        assert.ok(!map.has(key), `one row per day and metric, but ${key} comes twice`);
        map.set(key, r.value === null ? null : Number(r.value));
    }
    return map;
}

/** The values sealed in metrics.daily_metrics for the social metrics over [d1, d2]. */
export function sealedSocial(d1, d2) {
    return sqlRows(`SELECT metric_date, metric_category, value FROM metrics.daily_metrics
                    WHERE metric_date BETWEEN '${d1}' AND '${d2}'
                      AND metric_category IN (${SOCIAL_METRICS.map((c) => `'${c}'`).join(', ')})
                    ORDER BY 1, 2`);
}

/**
 * Seals, as the superuser, what the write tests seal over HTTP (idempotent: sealed values are
 * skipped), so the read tests do not depend on the write tests having passed.
 */
export function ensureSealedAsSuperuser() {
    sql(`SELECT count(*) FROM metrics.install_preset('social', source_schema => 'regress_src')`);
    sql(`SELECT count(*) FROM metrics.backfill_daily_metrics('${DAYS.backfillFrom}', '${DAYS.backfillTo}')`);
    sql(`SELECT count(*) FROM metrics.collect_daily_metrics('${DAYS.collect}')`);
    sql(`SELECT count(*) FROM metrics.backfill_daily_metrics('${DAYS.recentFrom}', '${DAYS.recentTo}')`);
}

// ---------------------------------------------------------------------------------------------
// supabase-js calls <url>/rest/v1/...; PostgREST here has no gateway in front, so the fetch
// given to createClient strips /rest/v1 (and screens error answers like api() does).

export async function withoutGateway(input, init) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const direct = url.replace(/^(https?:\/\/[^/]+)\/rest\/v1(?=\/|$)/, '$1');
    const res = typeof input === 'string' || input instanceof URL
        ? await fetch(direct, init) : await fetch(new Request(direct, input), init);
    if (res.status >= 400) screenResponse(`supabase-js ${init?.method ?? 'GET'} ${direct}`, res.status, await res.clone().text());
    return res;
}
