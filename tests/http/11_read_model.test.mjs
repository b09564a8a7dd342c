// The read API over HTTP (Metrics API contract v1.0): get_summary, get_trend, get_breakdown
// and get_drilldown answer GET through the real PostgREST, and the same calls go through
// supabase-js (rpc with { get: true }). Members of a project read it, and a project they are
// not a member of is 400 / 42704 exactly like one that does not exist; administrators and
// service_role read both; every answer validates against docs/schema/metrics-api-1.0.json
// (ajv, draft 2020-12), and its values equal the rows stored (by the superuser, here) or,
// for the open hour, the requests recorded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { createClient } from '@supabase/supabase-js';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import ws from 'ws';
import { AS, BASE_URL, api, assertError, assertOk, jwtFor, sql, sqlRows, withoutGateway } from './lib.mjs';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCHEMA = JSON.parse(readFileSync(join(REPO_ROOT, 'docs/schema/metrics-api-1.0.json'), 'utf8'));
const ajv = new Ajv2020({ strict: true, allErrors: true, strictTypes: false });
addFormats(ajv);
ajv.addKeyword('version');
const validate = ajv.compile(SCHEMA);

function assertValid(answer, what) {
    const ok = validate(answer);
    assert.ok(ok, `${what} validates against metrics-api-1.0.json: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(answer).slice(0, 600)}`);
}

const A = 'http-acme';
const B = 'http-globex';
const member = (projects) => jwtFor('authenticated', { app_metadata: { provider: 'email', providers: ['email'], projects } });
const WHO = {
    anon: null,
    memberA: member([A]),
    memberAB: member([A, B]),
    admin: AS.admin,
    service_role: AS.service_role,
};

const q = (args) => new URLSearchParams(args).toString();
const get = (fn, args, as) => api('GET', `/rpc/${fn}?${q(args)}`, { as });

before(() => {
    sql(`SELECT metrics.create_project('${A}', 'Acme over HTTP'), metrics.create_project('${B}', 'Globex over HTTP', 'Europe/Berlin')`);
    sql(`INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, value_numeric, value_json, computed_at)
         SELECT p.id, 'posts_created', 'day', (current_date - k)::timestamptz,
                CASE p.slug WHEN '${A}' THEN 10 * k ELSE 5000 + k END,
                jsonb_build_object('value', CASE p.slug WHEN '${A}' THEN 10 * k ELSE 5000 + k END, 'complete', true),
                now() - interval '1 hour'
         FROM metrics.projects AS p, generate_series(1, 6) AS k WHERE p.slug IN ('${A}', '${B}')`);
    sql(`INSERT INTO metrics.metrics_drilldown (project_id, metric_key, entity_type, reference_id, time_bucket, payload)
         SELECT p.id, 'requests', 'route', 'GET /r' || lpad(i::text, 2, '0'), date_trunc('day', now()) - (i / 4) * interval '1 day',
                jsonb_build_object('route', '/r' || i, 'requests', i)
         FROM metrics.projects AS p, generate_series(1, 11) AS i WHERE p.slug = '${A}'`);
    sql(`INSERT INTO metrics.metrics_breakdown_point (project_id, metric_key, time_grain, time_bucket, dimension_key, dimension_value, value_numeric, value_json)
         SELECT p.id, 'top_genres', 'day', (current_date - 1)::timestamptz, 'genre', g, v, '{"complete": true}'
         FROM metrics.projects AS p, (VALUES ('jazz', 3), ('rock', 1)) AS x(g, v) WHERE p.slug = '${A}'`);
    sql(`INSERT INTO metrics.metrics_summary (project_id, captured_at, payload)
         SELECT p.id, now() - interval '1 hour', jsonb_build_object('version', '1.0', 'metrics', '[]'::jsonb, 'secret', p.slug)
         FROM metrics.projects AS p WHERE p.slug IN ('${A}', '${B}')`);
    // Five requests of acme in the open hour (one failed), recorded with their project.
    sql(`SELECT metrics.record_route_metrics((SELECT jsonb_agg(jsonb_build_object('route', '/http-acme', 'method', 'GET',
           'success', i <> 3, 'duration_ms', 40, 'at', now() - i * interval '1 second', 'project', '${A}'))
           FROM generate_series(1, 5) AS i))`);
});

const stored = (slug) => sqlRows(`SELECT t.value_numeric AS value FROM metrics.metrics_trend_point AS t JOIN metrics.projects AS p ON p.id = t.project_id
                                  WHERE p.slug = '${slug}' AND t.metric_key = 'posts_created' AND t.time_grain = 'day' ORDER BY t.time_bucket`).map((r) => r.value);

describe('GET /rpc/get_* through PostgREST', () => {
    test('a member of acme reads acme: the stored values, a valid answer', async () => {
        const body = assertOk(await get('get_trend', { project: A, metric_key: 'posts_created' }, WHO.memberA));
        assertValid(body, 'get_trend');
        assert.equal(body.project.slug, A);
        assert.deepEqual(body.points.map((p) => p.value), stored(A));
        assert.equal(body.resolution, 'day');
        assert.equal(body.open, false);
    });

    test('a member of acme asking for globex gets 42704, exactly as for a project that does not exist', async () => {
        const forbidden = assertError(await get('get_trend', { project: B, metric_key: 'posts_created' }, WHO.memberA), 400, '42704');
        const unknown = assertError(await get('get_trend', { project: 'http-nobody', metric_key: 'posts_created' }, WHO.memberA), 400, '42704');
        assert.equal(forbidden.message, `project "${B}" does not exist`);
        assert.equal(unknown.message, 'project "http-nobody" does not exist');
        assert.equal(forbidden.hint, unknown.hint);
        for (const [fn, args] of [['get_summary', {}], ['get_breakdown', { metric_key: 'top_genres' }],
            ['get_drilldown', { metric_key: 'requests', entity_type: 'route' }]]) {
            const res = await get(fn, { project: B, ...args }, WHO.memberA);
            assertError(res, 400, '42704');
            assert.ok(!res.text.includes('5001') && !res.text.includes(`"secret"`), `${fn}: nothing of globex in ${res.text}`);
        }
    });

    test('anon reads no project', async () => {
        for (const slug of [A, B]) assertError(await get('get_summary', { project: slug }, WHO.anon), 400, '42704');
    });

    test('members of both, administrators and service_role read both', async () => {
        for (const who of ['memberAB', 'admin', 'service_role']) {
            for (const slug of [A, B]) {
                const body = assertOk(await get('get_trend', { project: slug, metric_key: 'posts_created' }, WHO[who]));
                assertValid(body, `get_trend as ${who}`);
                assert.deepEqual(body.points.map((p) => p.value), stored(slug), `${who} reads ${slug}`);
            }
        }
    });

    test('the open hour is live: the requests recorded in it', async () => {
        const body = assertOk(await get('get_trend', { project: A, metric_key: 'requests', grain: 'hour' }, WHO.memberA));
        assertValid(body, 'get_trend (hour)');
        const last = body.points.at(-1);
        const counted = Number(sql(`SELECT count(*) FROM generate_series(1, 5) AS i WHERE now() - i * interval '1 second' >= date_trunc('hour', now())`));
        assert.equal(last.value, counted);
        assert.equal(last.live, true);
        assert.equal(last.partial, true);
        assert.equal(body.open, true);
        assert.equal(last.data.failed, counted >= 3 ? 1 : 0);
    });

    test('validation errors are 400 with their SQLSTATE and a hint', async () => {
        assertError(await get('get_trend', { project: A, metric_key: 'posts_created', grain: 'daily' }, WHO.memberA), 400, '22023');
        assertError(await get('get_trend', { project: A, metric_key: 'nope' }, WHO.memberA), 400, '42704');
        assertError(await get('get_trend', { project: A, metric_key: 'posts_created', start_at: '2020-01-01T00:00:00Z', end_at: '2025-01-01T00:00:00Z' }, WHO.memberA), 400, '22023');
        assertError(await get('get_drilldown', { project: A, metric_key: 'requests', entity_type: 'route', page_size: 501 }, WHO.memberA), 400, '22023');
        assertError(await get('get_drilldown', { project: A, metric_key: 'requests', entity_type: 'route', after: 'garbage' }, WHO.memberA), 400, '22023');
    });

    test('POST answers the same as GET (both read-only)', async () => {
        const viaGet = assertOk(await get('get_breakdown', { project: A, metric_key: 'top_genres' }, WHO.memberA));
        const viaPost = assertOk(await api('POST', '/rpc/get_breakdown', { as: WHO.memberA, body: { project: A, metric_key: 'top_genres' } }));
        assertValid(viaGet, 'get_breakdown');
        assert.deepEqual(viaGet.items, viaPost.items);
        assert.deepEqual(viaGet.items.map((i) => [i.dimension_value, i.total]), [['jazz', 3], ['rock', 1]]);
    });

    test('the schema catches an answer that breaks the contract', () => {
        const good = { version: '1.0', kind: 'drilldown', project: { id: '6f1e7a52-0b1c-4c37-9d0e-2a4c8b7e1f30', slug: 'a', name: 'A', time_zone: 'UTC' },
            as_of: null, computed_at: null, open: false, resolution: 'entity', metric_key: 'requests', entity_type: 'route',
            page_size: 5, items: [], next: null };
        assert.ok(validate(good), ajv.errorsText(validate.errors));
        for (const broken of [{ ...good, version: '2.0' }, { ...good, next: 'not a cursor!' }, { ...good, extra: 1 },
            { ...good, as_of: 'yesterday' }, { ...good, kind: 'trend' }]) {
            assert.equal(validate(broken), false, JSON.stringify(broken));
        }
    });
});

// ---------------------------------------------------------------------------------------------
// supabase-js, as a dashboard calls it.


const ANON_KEY = jwtFor('anon');
const client = (jwt) => createClient(BASE_URL, ANON_KEY, {
    db: { schema: 'metrics' },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: ws },
    global: { fetch: withoutGateway, headers: jwt ? { Authorization: `Bearer ${jwt}` } : {} },
});

describe('supabase-js', () => {
    test("rpc('get_summary', ..., { get: true }): the stored payload and today live, valid", async () => {
        const { data, error, status } = await client(WHO.memberA).rpc('get_summary', { project: A }, { get: true });
        assert.equal(error, null);
        assert.equal(status, 200);
        assertValid(data, 'get_summary');
        assert.equal(data.summary.secret, A);
        assert.equal(data.today.partial, true);
        assert.ok(data.today.requests.total >= 1);
    });

    test('paging a drill-down with after returns every row once', async () => {
        const acme = client(WHO.memberA);
        const seen = [];
        let after = null;
        for (let page = 0; page < 10; page++) {
            const args = { project: A, metric_key: 'requests', entity_type: 'route', page_size: 3, ...(after ? { after } : {}) };
            const { data, error } = await acme.rpc('get_drilldown', args, { get: true });
            assert.equal(error, null);
            assertValid(data, 'get_drilldown');
            seen.push(...data.items.map((i) => i.reference_id));
            after = data.next;
            if (after === null) break;
        }
        assert.equal(after, null, 'the last page has no next');
        const expected = sqlRows(`SELECT d.reference_id FROM metrics.metrics_drilldown AS d JOIN metrics.projects AS p ON p.id = d.project_id
                                  WHERE p.slug = '${A}' ORDER BY d.time_bucket DESC, d.reference_id`).map((r) => r.reference_id);
        assert.deepEqual(seen, expected);
        assert.equal(new Set(seen).size, 11);
    });

    test('a member of acme gets an error for globex through supabase-js too', async () => {
        const { data, error } = await client(WHO.memberA).rpc('get_trend', { project: B, metric_key: 'posts_created' }, { get: true });
        assert.equal(data, null);
        assert.equal(error.code, '42704');
        const admin = await client(WHO.admin).rpc('get_trend', { project: B, metric_key: 'posts_created' }, { get: true });
        assert.equal(admin.error, null);
        assert.deepEqual(admin.data.points.map((p) => p.value), stored(B));
    });
});
