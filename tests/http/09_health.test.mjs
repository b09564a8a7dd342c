// Health and alerts over HTTP: metrics.health() is STABLE, so PostgREST calls it by GET in a
// read-only transaction; only the service role (the manage level, an administrator) gets the
// rows, anon and users (even with the admin claim, which is no manage level) get 401/403 with
// 42501. check_alerts() records, so GET is refused (405, 25006 with a hint) and POST works for
// the service role only.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AS, api, assertError, assertOk, sql } from './lib.mjs';

const CHECKS = ['collection_success_rate', 'failed_runs_in_a_row', 'sealed_recently', 'last_run_duration',
    'missing_dates', 'anomalous_values', 'buffer_writer_lag', 'cron_job_failures', 'retention_backlog', 'unfolded_backlog'];

describe('GET /rpc/health', () => {
    test('service_role: 200, one row per check, with severity, value, threshold, detail and hint', async () => {
        const rows = assertOk(await api('GET', '/rpc/health', { as: AS.service_role }));
        assert.deepEqual(rows.map((r) => r.check_name), CHECKS);
        for (const r of rows) {
            assert.ok(['ok', 'warning', 'critical'].includes(r.severity), JSON.stringify(r));
            assert.deepEqual(Object.keys(r).sort(), ['check_name', 'detail', 'hint', 'severity', 'threshold', 'value']);
            assert.equal(typeof r.detail, 'string');
            assert.equal(r.hint === null, r.severity === 'ok', `a hint exactly when not ok: ${JSON.stringify(r)}`);
        }
        const threshold = Object.fromEntries(rows.map((r) => [r.check_name, r.threshold]));
        assert.equal(threshold.failed_runs_in_a_row, 3);
        assert.equal(threshold.sealed_recently, 48);
    });

    test('service_role: the same rows as psql sees as the owner', async () => {
        const rows = assertOk(await api('GET', '/rpc/health?select=check_name,severity', { as: AS.service_role }));
        const owner = sql(`SELECT string_agg(check_name || '=' || severity, ',') FROM metrics.health()`);
        assert.equal(rows.map((r) => `${r.check_name}=${r.severity}`).join(','), owner);
    });

    for (const [who, jwt, status] of [['anon (no JWT)', AS.anon, 401], ['authenticated', AS.authenticated, 403],
        ['an admin user', AS.admin, 403]]) {
        test(`${who}: ${status}, 42501`, async () => {
            assertError(await api('GET', '/rpc/health', { as: jwt }), status, '42501', { hint: false });
        });
    }
});

describe('/rpc/check_alerts', () => {
    test('GET: 405, it records (25006 with a hint)', async () => {
        assertError(await api('GET', '/rpc/check_alerts', { as: AS.service_role }), 405, '25006');
    });

    test('POST as service_role: 200, the transitions it made; again: none', async () => {
        const first = assertOk(await api('POST', '/rpc/check_alerts', { as: AS.service_role, body: {} }));
        assert.ok(Array.isArray(first));
        for (const t of first) assert.ok(t.severity === 'critical' || t.previous_severity === 'critical', JSON.stringify(t));
        const again = assertOk(await api('POST', '/rpc/check_alerts', { as: AS.service_role, body: {} }));
        assert.deepEqual(again, []);
        const logged = Number(sql(`SELECT count(*) FROM metrics.alert_log`));
        assert.ok(logged >= first.length);
    });

    test('POST as authenticated: 403, 42501', async () => {
        assertError(await api('POST', '/rpc/check_alerts', { as: AS.authenticated, body: {} }), 403, '42501', { hint: false });
    });
});
