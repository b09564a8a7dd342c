// Who may do what over HTTP. The privileged functions answer 401 (no JWT: anon) or 403 (a
// user's JWT) with SQLSTATE 42501 and write nothing; no role writes a table directly, the
// service role included; the collection log is readable, but shows rows only to administrators.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
    AS, DAYS, api, assertError, assertNothingWritten, assertOk, ensureSealedAsSuperuser, jwtFor, sql, sqlRows,
} from './lib.mjs';

before(() => ensureSealedAsSuperuser());

// Each with arguments that would succeed for the service role, so privileges are the only reason to refuse.
const PRIVILEGED = {
    collect_daily_metrics: { target_date: '2025-04-01' },
    backfill_daily_metrics: { start_date: '2025-04-01', end_date: '2025-04-03' },
    define_metric: { category: 'permission_probe', kind: 'created', source_table: 'posts', source_schema: 'regress_src' },
    recollect: { target_date: DAYS.backfillFrom, categories: ['posts_total'], reason: 'permission probe' },
    install_preset: { preset: 'social', source_schema: 'regress_src' },
    verify_security: {},
    deactivate_metric: { category: 'posts_created' },
    schedule_daily_collection: { schedule: '5 0 * * *' },
};

for (const [who, jwt, status] of [['anon (no JWT)', AS.anon, 401], ['authenticated', AS.authenticated, 403]]) {
    describe(`privileged functions as ${who}`, () => {
        for (const [fn, args] of Object.entries(PRIVILEGED)) {
            test(`POST /rpc/${fn}: ${status}, 42501, nothing written`, async () => {
                await assertNothingWritten(async () => {
                    assertError(await api('POST', `/rpc/${fn}`, { as: jwt, body: args }), status, '42501', { hint: false });
                });
            });
        }
        test(`GET /rpc/verify_security: ${status}, 42501`, async () => {
            assertError(await api('GET', '/rpc/verify_security', { as: jwt }), status, '42501', { hint: false });
        });
    });
}

describe('the service role', () => {
    test('GET /rpc/verify_security: 200 and no findings on this install', async () => {
        assert.deepEqual(assertOk(await api('GET', '/rpc/verify_security', { as: AS.service_role })), []);
    });

    test('define_metric over a table it cannot SELECT: 403, 42501 with a hint, nothing written', async () => {
        sql(`CREATE SCHEMA IF NOT EXISTS regress_private;
             CREATE TABLE IF NOT EXISTS regress_private.secrets (id int, created_at timestamptz);
             GRANT USAGE ON SCHEMA regress_private TO service_role`);
        await assertNothingWritten(async () => {
            assertError(await api('POST', '/rpc/define_metric', {
                as: AS.service_role,
                body: { category: 'secrets_created', kind: 'created', source_table: 'secrets', source_schema: 'regress_private' },
            }), 403, '42501');
        });
    });
});

const ROW = { metric_date: '2025-05-01', metric_type: 'count', metric_category: 'posts_created', value: 999, metadata: {} };

describe('direct table writes', () => {
    for (const [who, jwt, status] of [['service_role', AS.service_role, 403], ['authenticated', AS.authenticated, 403],
        ['anon (no JWT)', AS.anon, 401]]) {
        test(`POST /daily_metrics as ${who}: ${status}, 42501, nothing written`, async () => {
            await assertNothingWritten(async () => {
                assertError(await api('POST', '/daily_metrics', { as: jwt, body: ROW }), status, '42501', { hint: false });
            });
        });
    }

    test('PATCH /daily_metrics of a sealed day as service_role: 403, 42501, the values stay', async () => {
        const before = sql(`SELECT string_agg(value::text, ',' ORDER BY metric_category) FROM metrics.daily_metrics WHERE metric_date = '${DAYS.backfillFrom}'`);
        await assertNothingWritten(async () => {
            assertError(await api('PATCH', `/daily_metrics?metric_date=eq.${DAYS.backfillFrom}`, { as: AS.service_role, body: { value: 0 } }),
                403, '42501', { hint: false });
        });
        assert.equal(sql(`SELECT string_agg(value::text, ',' ORDER BY metric_category) FROM metrics.daily_metrics WHERE metric_date = '${DAYS.backfillFrom}'`), before);
    });

    test('DELETE /daily_metrics of a sealed day as service_role: 403, 42501, nothing deleted', async () => {
        await assertNothingWritten(async () => {
            assertError(await api('DELETE', `/daily_metrics?metric_date=eq.${DAYS.backfillFrom}`, { as: AS.service_role }), 403, '42501', { hint: false });
        });
    });

    test('POST /metric_definitions as service_role: 403, 42501, nothing written', async () => {
        await assertNothingWritten(async () => {
            assertError(await api('POST', '/metric_definitions', {
                as: AS.service_role, body: { metric_category: 'sneaky', metric_type: 'count', kind: 'created' },
            }), 403, '42501', { hint: false });
        });
    });

    test('POST /metric_collection_log as authenticated: 403, 42501, nothing written', async () => {
        await assertNothingWritten(async () => {
            assertError(await api('POST', '/metric_collection_log', { as: AS.authenticated, body: { run_type: 'collect' } }),
                403, '42501', { hint: false });
        });
    });
});

describe('the collection log', () => {
    const logRows = () => sqlRows('SELECT id FROM metrics.metric_collection_log ORDER BY id').map((r) => r.id);

    test('there are runs in the log to hide', () => {
        assert.ok(logRows().length > 0);
    });

    for (const [who, jwt] of [['anon (no JWT)', AS.anon], ['authenticated', AS.authenticated]]) {
        test(`GET /metric_collection_log as ${who}: 200 and no rows`, async () => {
            assert.deepEqual(assertOk(await api('GET', '/metric_collection_log?select=id', { as: jwt })), []);
        });
    }

    test('GET /metric_collection_log with a JWT whose app_metadata.role is admin: every row', async () => {
        const rows = assertOk(await api('GET', '/metric_collection_log?select=id&order=id', { as: AS.admin }));
        assert.deepEqual(rows.map((r) => r.id), logRows());
    });

    test('GET /metric_collection_log as service_role: every row', async () => {
        const rows = assertOk(await api('GET', '/metric_collection_log?select=id&order=id', { as: AS.service_role }));
        assert.deepEqual(rows.map((r) => r.id), logRows());
    });

    test('an admin claim elsewhere in the JWT (user_metadata, which users can edit) does not count', async () => {
        const jwt = jwtFor('authenticated', { user_metadata: { role: 'admin' } });
        assert.deepEqual(assertOk(await api('GET', '/metric_collection_log?select=id', { as: jwt })), []);
    });

    // Revisions to hide: a post added to a sealed day, recollected by the service role through
    // the API (a revision), then removed and recollected again (a second one), so the day ends
    // as the other tests expect it.
    describe('the revisions', () => {
        const revisionIds = () => sqlRows('SELECT id FROM metrics.metric_revisions ORDER BY id').map((r) => r.id);
        const recollect = async (reason) => assertOk(await api('POST', '/rpc/recollect', {
            as: AS.service_role, body: { target_date: DAYS.backfillFrom, categories: ['posts_created'], reason },
        }));
        const PROBE_ID = 990000001;

        before(async () => {
            const before = revisionIds().length;
            sql(`INSERT INTO regress_src.posts (id, user_id, status, length, created_at)
                 SELECT ${PROBE_ID}, min(id), 'published', 10, '${DAYS.backfillFrom} 12:00+00' FROM regress_src.profiles
                 WHERE created_at < '${DAYS.backfillFrom}'`);
            const [added] = await recollect('http test: a post added to a sealed day');
            assert.equal(added.changed, true, `recollect revises the day: ${JSON.stringify(added)}`);
            assert.equal(Number(added.new_value), Number(added.old_value) + 1);
            sql(`DELETE FROM regress_src.posts WHERE id = ${PROBE_ID}`);
            const [removed] = await recollect('http test: the added post removed again');
            assert.equal(removed.changed, true, `recollect revises it back: ${JSON.stringify(removed)}`);
            assert.equal(Number(removed.new_value), Number(added.old_value));
            assert.equal(revisionIds().length, before + 2, 'each recollect recorded one revision');
        });

        test('there are revisions to hide', () => {
            assert.ok(revisionIds().length >= 2, `revisions in the table: ${revisionIds().length}`);
        });

        for (const [who, jwt] of [['anon (no JWT)', AS.anon], ['authenticated', AS.authenticated]]) {
            test(`GET /metric_revisions as ${who}: 200 and no rows`, async () => {
                assert.deepEqual(assertOk(await api('GET', '/metric_revisions?select=id', { as: jwt })), []);
            });
        }

        for (const [who, jwt] of [['a JWT whose app_metadata.role is admin', AS.admin], ['service_role', AS.service_role]]) {
            test(`GET /metric_revisions as ${who}: every row, the same as the table`, async () => {
                const rows = assertOk(await api('GET', '/metric_revisions?select=id&order=id', { as: jwt }));
                assert.ok(rows.length >= 2);
                assert.deepEqual(rows.map((r) => r.id), revisionIds());
            });
        }
    });
});
