// Bad arguments reach the client as HTTP 400 with the extension's SQLSTATE in `code`, a message
// and a hint (README, "Errors"), and write nothing. GET on a VOLATILE function is 405.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
    AS, DAYS, LAST_CLOSED, addDays, api, assertError, assertNothingWritten, ensureSealedAsSuperuser,
} from './lib.mjs';

before(() => ensureSealedAsSuperuser());

const post = (fn, body, as) => api('POST', `/rpc/${fn}`, { as, body });

describe('read functions, as anon', () => {
    test('fetch_metrics with end_date before start_date: 400, 22023', async () => {
        const body = assertError(await post('fetch_metrics', { start_date: '2025-03-10', end_date: '2025-03-01' }), 400, '22023');
        assert.match(body.message, /start_date|end_date/, 'the message names the arguments');
    });

    test('the same by GET: 400, 22023', async () => {
        assertError(await api('GET', '/rpc/fetch_metrics?start_date=2025-03-10&end_date=2025-03-01'), 400, '22023');
    });

    test('fetch_metrics with an unknown aggregation: 400, 22023', async () => {
        const body = assertError(await post('fetch_metrics', { start_date: DAYS.backfillFrom, end_date: DAYS.backfillTo, aggregation: 'hourly' }),
            400, '22023');
        assert.match(`${body.message} ${body.hint}`, /daily/, 'the valid aggregations are named');
    });

    test('fetch_metrics over more than metrics.max_query_days (366): 400, 22023', async () => {
        assertError(await post('fetch_metrics', { start_date: '2024-01-01', end_date: '2025-12-31' }), 400, '22023');
    });

    test('fetch_metrics with an unknown category: 400, 42704 (the unknown metric error of every function)', async () => {
        assertError(await post('fetch_metrics', { start_date: DAYS.backfillFrom, end_date: DAYS.backfillTo, categories: ['no_such_metric'] }),
            400, '42704');
    });

    test('fetch_metrics with a NULL start_date: 400, 22004', async () => {
        assertError(await post('fetch_metrics', { start_date: null, end_date: DAYS.backfillTo }), 400, '22004');
    });

    test('fetch_metrics from infinity: 400, 22008', async () => {
        assertError(await post('fetch_metrics', { start_date: '-infinity', end_date: DAYS.backfillTo }), 400, '22008');
    });

    test('fetch_metrics with a date PostgreSQL cannot parse: 400 (22007 from the date input), not 5xx', async () => {
        assertError(await post('fetch_metrics', { start_date: 'not-a-date', end_date: DAYS.backfillTo }), 400, '22007', { hint: false });
    });

    test('activity_series with days = 0: 400, 22023', async () => {
        assertError(await post('activity_series', { days: 0 }), 400, '22023');
    });

    test('activity_series with days over the limit, by GET: 400, 22023', async () => {
        assertError(await api('GET', '/rpc/activity_series?days=100000'), 400, '22023');
    });

    test('sparkline of an unknown metric, by GET: 400, 42704', async () => {
        assertError(await api('GET', '/rpc/sparkline?metric=post_created'), 400, '42704');
    });
});

describe('privileged functions, as service_role', () => {
    test('collect_daily_metrics for a future date: 400, 22008, nothing written', async () => {
        await assertNothingWritten(async () => {
            const body = assertError(await post('collect_daily_metrics', { target_date: addDays(LAST_CLOSED, 30) }, AS.service_role), 400, '22008');
            assert.match(body.hint, /\S/);
        });
    });

    test('collect_daily_metrics for today (not ended yet): 400, 22008, nothing written', async () => {
        await assertNothingWritten(async () => {
            assertError(await post('collect_daily_metrics', { target_date: addDays(LAST_CLOSED, 1) }, AS.service_role), 400, '22008');
        });
    });

    test('define_metric with an unknown kind: 400, 22023, nothing written', async () => {
        await assertNothingWritten(async () => {
            const body = assertError(await post('define_metric',
                { category: 'bogus_metric', kind: 'median', source_table: 'posts', source_schema: 'regress_src' }, AS.service_role), 400, '22023');
            assert.match(`${body.message} ${body.hint}`, /created/, 'the valid kinds are named');
        });
    });

    test('define_metric with a filter that is two statements: 400, 42601, nothing written', async () => {
        await assertNothingWritten(async () => {
            assertError(await post('define_metric', {
                category: 'evil_filter', kind: 'created', source_table: 'posts', source_schema: 'regress_src',
                filter: "true; DROP TABLE regress_src.posts",
            }, AS.service_role), 400, '42601');
        });
    });

    test('backfill_daily_metrics with start_date after end_date: 400, 22023, nothing written', async () => {
        await assertNothingWritten(async () => {
            assertError(await post('backfill_daily_metrics', { start_date: '2025-03-12', end_date: '2025-03-08' }, AS.service_role), 400, '22023');
        });
    });

    test('recollect with an empty reason: 400, 22023, nothing written', async () => {
        await assertNothingWritten(async () => {
            assertError(await post('recollect', { target_date: DAYS.backfillFrom, categories: ['posts_total'], reason: '   ' }, AS.service_role),
                400, '22023');
        });
    });

    test('install_preset of an unknown preset: 400, 22023, nothing written', async () => {
        await assertNothingWritten(async () => {
            assertError(await post('install_preset', { preset: 'no_such_preset', source_schema: 'regress_src' }, AS.service_role), 400, '22023');
        });
    });

    test('schedule_daily_collection where pg_cron is not installed: a 4xx with a hint, never 5xx', async () => {
        // The cluster preloads pg_cron for another database only.
        const res = await post('schedule_daily_collection', { schedule: '5 0 * * *' }, AS.service_role);
        assert.ok(res.status >= 400 && res.status < 500, `a client error, got ${res.status} ${res.text}`);
        assert.match(res.body.message, /pg_cron/);
        assert.match(res.body.hint, /pg_cron/);
    });
});

describe('GET on a VOLATILE function', () => {
    test('GET /rpc/collect_daily_metrics as service_role: 405 (read-only transaction), nothing written', async () => {
        await assertNothingWritten(async () => {
            const res = await api('GET', `/rpc/collect_daily_metrics?target_date=2025-04-01`, { as: AS.service_role });
            assert.equal(res.status, 405, `expected 405, got ${res.status} ${res.text}`);
            assert.equal(res.body.code, '25006');
        });
    });

    test('GET /rpc/backfill_daily_metrics as service_role: 405, nothing written', async () => {
        await assertNothingWritten(async () => {
            const res = await api('GET', `/rpc/backfill_daily_metrics?start_date=2025-04-01&end_date=2025-04-02`, { as: AS.service_role });
            assert.equal(res.status, 405, `expected 405, got ${res.status} ${res.text}`);
        });
    });
});
