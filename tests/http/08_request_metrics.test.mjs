// Request metrics over HTTP, as an app records them: the service role records single requests
// and a JSON batch (with "at" times), a bad batch is a 400 naming the event, anon and users may
// not record (401/403), and the report is for administrators: get_route_metrics by GET returns
// rows to the admin JWT and none to an ordinary user. Every total is checked with psql.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AS, api, assertError, assertOk, sql } from './lib.mjs';

const HOUR = sql(`SELECT to_char(date_trunc('hour', now() - interval '2 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00:00"Z"')`);
const at = (minute) => HOUR.replace(':00:00Z', `:${String(minute).padStart(2, '0')}:00Z`);
// The oracle for percentiles: PostgreSQL's percentile_disc over the values sent (the value at
// 1-based rank max(1, ceil(q * n)) of the sorted sample), which the sketch answers within its
// relative accuracy (RELATIVE_ACCURACY = 0.01 in crates/metrics-core/src/requests/sketch.rs).
const RELATIVE_ACCURACY = 0.01;
function percentileDisc(values, q) {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}
function assertWithinSketchBound(estimate, values, q, what) {
    const exact = percentileDisc(values, q);
    assert.equal(typeof estimate, 'number', `${what}: a number, got ${JSON.stringify(estimate)}`);
    assert.ok(Math.abs(estimate - exact) <= RELATIVE_ACCURACY * exact + 1e-9,
        `${what} = ${estimate}, within ${RELATIVE_ACCURACY * 100}% of percentile_disc = ${exact}`);
}
// The batch of /http/posts, and 200 requests of /http/latency whose p95 and p99 are neither the
// minimum nor the maximum, so an estimate that is merely inside [min, max] does not pass.
const POSTS_EVENTS = [
    { route: '/http/posts', method: 'GET', success: true, duration_ms: 12.5, at: at(1) },
    { route: '/http/posts', method: 'get', success: false, duration_ms: 250, at: at(2) },
    { route: '/http/posts', method: 'POST', success: true, duration_ms: 40, at: at(3) },
];
const LATENCY_EVENTS = Array.from({ length: 200 }, (_, i) => ({
    // 1.05^k ms for k = 1..200 in a scrambled order: the top ranks lie 5% apart, further than the bound.
    route: '/http/latency', method: 'GET', success: true, duration_ms: Math.round(1.05 ** ((i * 7919) % 200 + 1) * 1000) / 1000,
    at: at(4 + (i % 50)),
}));
const durationsOf = (events, method) => events.filter((e) => e.method.toUpperCase() === method).map((e) => e.duration_ms);

const rowOf = (route, method) => sql(`SELECT concat_ws('|', total_requests, successful, failed, min_duration_ms, max_duration_ms)
    FROM metrics.route_metrics_live WHERE route = '${route}' AND method = '${method}' AND period_start = '${HOUR}'`);

describe('recording requests', () => {
    test('POST /rpc/record_route_metrics as service_role: the batch is recorded, per hour', async () => {
        const events = POSTS_EVENTS;
        assert.equal(assertOk(await api('POST', '/rpc/record_route_metrics', { as: AS.service_role, body: { events } })), 3);
        assert.equal(rowOf('/http/posts', 'GET'), '2|1|1|12.5|250');
        assert.equal(rowOf('/http/posts', 'POST'), '1|1|0|40|40');
    });

    test('POST /rpc/record_route_metrics as service_role: 200 requests of one route in one hour', async () => {
        const events = LATENCY_EVENTS;
        assert.equal(assertOk(await api('POST', '/rpc/record_route_metrics', { as: AS.service_role, body: { events } })), 200);
        const durations = LATENCY_EVENTS.map((e) => e.duration_ms);
        assert.deepEqual(rowOf('/http/latency', 'GET').split('|').map(Number),
            [200, 200, 0, Math.min(...durations), Math.max(...durations)]);
    });

    test('POST /rpc/record_route_metric as service_role: 204, added into the current hour', async () => {
        const before = Number(sql(`SELECT coalesce(sum(total_requests), 0) FROM metrics.route_metrics_live WHERE route = '/http/single'`));
        // A function returning void answers 204 No Content.
        assertOk(await api('POST', '/rpc/record_route_metric', {
            as: AS.service_role, body: { route: '/http/single', method: 'DELETE', success: true, duration_ms: 3 },
        }), 204);
        assert.equal(Number(sql(`SELECT sum(total_requests) FROM metrics.route_metrics_live WHERE route = '/http/single'
                                 AND period_start = date_trunc('hour', now())`)), before + 1);
    });

    test('a batch with a bad event: 400, 22023, the index in the message, nothing recorded', async () => {
        const events = [
            { route: '/http/refused', method: 'GET', success: true, duration_ms: 1 },
            { route: '/http/refused', method: 'GET', success: true, duration_ms: -5 },
        ];
        const body = assertError(await api('POST', '/rpc/record_route_metrics', { as: AS.service_role, body: { events } }), 400, '22023');
        assert.match(body.message, /^events\[1\]: duration_ms/);
        assert.equal(sql(`SELECT count(*) FROM metrics.route_metrics_live WHERE route = '/http/refused'`), '0');
    });

    test('an "at" without an offset: 400, 22007', async () => {
        const events = [{ route: '/http/refused', method: 'GET', success: true, duration_ms: 1, at: '2025-06-01 12:00' }];
        assertError(await api('POST', '/rpc/record_route_metrics', { as: AS.service_role, body: { events } }), 400, '22007');
    });

    for (const [who, jwt, status] of [['anon', AS.anon, 401], ['authenticated', AS.authenticated, 403]]) {
        test(`${who} may not record: ${status}, 42501, nothing recorded`, async () => {
            assertError(await api('POST', '/rpc/record_route_metric', {
                as: jwt, body: { route: '/http/forged', method: 'GET', success: true, duration_ms: 1 },
            }), status, '42501', { hint: false });
            assertError(await api('POST', '/rpc/record_operation_metrics', {
                as: jwt, body: { events: [{ operation: 'forged', success: true, duration_ms: 1 }] },
            }), status, '42501', { hint: false });
            assert.equal(sql(`SELECT count(*) FROM metrics.route_metrics_live WHERE route = '/http/forged'`), '0');
        });
    }
});

describe('reading the report', () => {
    const query = new URLSearchParams({ route: '/http/posts', start_at: HOUR, end_at: at(59), grain: 'hour' }).toString();

    test('GET /rpc/get_route_metrics as an admin: the hour per method, percentiles within 1% of percentile_disc', async () => {
        const rows = assertOk(await api('GET', `/rpc/get_route_metrics?${query}`, { as: AS.admin }));
        const byMethod = Object.fromEntries(rows.map((r) => [r.method, r]));
        assert.deepEqual(Object.keys(byMethod).sort(), ['GET', 'POST']);
        assert.equal(byMethod.GET.total_requests, 2);
        assert.equal(byMethod.GET.success_rate, 0.5);
        assert.equal(byMethod.GET.min_duration_ms, 12.5);
        assert.equal(byMethod.GET.max_duration_ms, 250);
        for (const method of ['GET', 'POST']) {
            for (const [q, column] of [[0.5, 'p50_ms'], [0.95, 'p95_ms'], [0.99, 'p99_ms']]) {
                assertWithinSketchBound(byMethod[method][column], durationsOf(POSTS_EVENTS, method), q, `${method} ${column}`);
            }
        }
    });

    test('GET /rpc/get_route_metrics of 200 requests: p50, p95 and p99 within 1% of percentile_disc of the durations sent', async () => {
        const latencyQuery = new URLSearchParams({ route: '/http/latency', start_at: HOUR, end_at: at(59), grain: 'hour' }).toString();
        const rows = assertOk(await api('GET', `/rpc/get_route_metrics?${latencyQuery}`, { as: AS.admin }));
        assert.equal(rows.length, 1, `one row for the hour: ${JSON.stringify(rows)}`);
        assert.equal(rows[0].total_requests, 200);
        const values = durationsOf(LATENCY_EVENTS, 'GET');
        for (const [q, column] of [[0.5, 'p50_ms'], [0.95, 'p95_ms'], [0.99, 'p99_ms']]) {
            assertWithinSketchBound(rows[0][column], values, q, `/http/latency ${column}`);
        }
        // The oracle is a real test: the maximum (p99 is the 198th of 200 values) is outside the bound.
        const p99 = percentileDisc(values, 0.99);
        assert.ok(Math.max(...values) - p99 > RELATIVE_ACCURACY * p99, 'returning the maximum as p99 would fail');
    });

    test('an ordinary user gets no rows; anon neither (while an admin gets them)', async () => {
        assert.ok(assertOk(await api('GET', `/rpc/get_route_metrics?${query}`, { as: AS.admin })).length > 0, 'there are rows to hide');
        assert.deepEqual(assertOk(await api('GET', `/rpc/get_route_metrics?${query}`, { as: AS.authenticated })), []);
        assert.deepEqual(assertOk(await api('GET', `/rpc/get_route_metrics?${query}`, { as: AS.anon })), []);
    });

    test('an unknown grain: 400, 22023', async () => {
        assertError(await api('GET', '/rpc/get_route_metrics?grain=month', { as: AS.admin }), 400, '22023');
    });
});

describe('requests of a project', () => {
    // The project exists before the calls (made with psql, as its owner would).
    sql(`SELECT metrics.create_project('http-shop', 'HTTP shop') WHERE NOT EXISTS (SELECT FROM metrics.projects WHERE slug = 'http-shop')`);
    const SHOP = sql(`SELECT id FROM metrics.projects WHERE slug = 'http-shop'`);
    const rowsOf = (route) => sql(`SELECT string_agg(concat_ws('|', coalesce(p.slug, '-'), r.total_requests, r.failed), ',' ORDER BY p.slug NULLS FIRST)
        FROM metrics.route_metrics_live AS r LEFT JOIN metrics.projects AS p ON p.id = r.project_id WHERE r.route = '${route}'`);

    test('POST /rpc/record_route_metrics as service_role: events of the project (by slug and by id) and of none, one row each', async () => {
        const events = [
            { route: '/http/shop', method: 'GET', success: true, duration_ms: 5, at: at(10), project: 'http-shop' },
            { route: '/http/shop', method: 'GET', success: false, duration_ms: 7, at: at(11), project: SHOP },
            { route: '/http/shop', method: 'GET', success: true, duration_ms: 9, at: at(12) },
        ];
        assert.equal(assertOk(await api('POST', '/rpc/record_route_metrics', { as: AS.service_role, body: { events } })), 3);
        assert.equal(rowsOf('/http/shop'), '-|1|0,http-shop|2|1');
    });

    test('POST /rpc/record_route_metric with project: 204, into the project\'s row', async () => {
        assertOk(await api('POST', '/rpc/record_route_metric', {
            as: AS.service_role, body: { route: '/http/shop-single', method: 'PUT', success: true, duration_ms: 2, project: 'http-shop' },
        }), 204);
        assert.equal(rowsOf('/http/shop-single'), 'http-shop|1|0');
    });

    test('a project that does not exist: 400, 42704, the batch not recorded', async () => {
        const events = [
            { route: '/http/shop-refused', method: 'GET', success: true, duration_ms: 1 },
            { route: '/http/shop-refused', method: 'GET', success: true, duration_ms: 1, project: 'no-such-shop' },
        ];
        const body = assertError(await api('POST', '/rpc/record_route_metrics', { as: AS.service_role, body: { events } }), 400, '42704');
        assert.equal(body.message, 'events[1]: project "no-such-shop" does not exist');
        assert.equal(sql(`SELECT count(*) FROM metrics.route_metrics_live WHERE route = '/http/shop-refused'`), '0');
    });

    test('GET /rpc/get_route_metrics?project=: the project\'s rows; without it, every project together', async () => {
        const q = (extra) => new URLSearchParams({ route: '/http/shop', start_at: HOUR, end_at: at(59), grain: 'hour', ...extra }).toString();
        const shop = assertOk(await api('GET', `/rpc/get_route_metrics?${q({ project: 'http-shop' })}`, { as: AS.admin }));
        assert.deepEqual(shop.map((r) => [r.total_requests, r.failed, r.min_duration_ms, r.max_duration_ms]), [[2, 1, 5, 7]]);
        const all = assertOk(await api('GET', `/rpc/get_route_metrics?${q({})}`, { as: AS.admin }));
        assert.deepEqual(all.map((r) => [r.total_requests, r.failed, r.min_duration_ms, r.max_duration_ms]), [[3, 1, 5, 9]]);
        assertError(await api('GET', `/rpc/get_route_metrics?${q({ project: 'no-such-shop' })}`, { as: AS.admin }), 400, '42704');
    });
});
