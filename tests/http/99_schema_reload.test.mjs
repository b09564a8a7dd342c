// PostgREST's schema cache follows DROP EXTENSION / CREATE EXTENSION once told to reload
// (NOTIFY pgrst, 'reload schema'; Supabase sends it from an event trigger). Runs last: it
// drops the extension and leaves a fresh one, set up again over HTTP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AS, DAYS, api, assertError, assertOk, byDayAndCategory, expectedSocial, sql } from './lib.mjs';

const ARGS = { start_date: DAYS.backfillFrom, end_date: DAYS.backfillTo };

/** Calls probe every 200 ms until it returns true; fails with the last answer after timeoutMs. */
async function eventually(what, probe, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        const res = await api('POST', '/rpc/fetch_metrics', { body: ARGS });
        if (probe(res)) return res;
        last = res;
        if (Date.now() > deadline) assert.fail(`${what}: still ${last.status} ${last.text.slice(0, 300)} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

test('before: POST /rpc/fetch_metrics answers 200', async () => {
    assertOk(await api('POST', '/rpc/fetch_metrics', { body: ARGS }));
});

test("DROP EXTENSION metrics and NOTIFY pgrst, 'reload schema': fetch_metrics is 404 PGRST202", async () => {
    // Confirmed, as the guard on sealed history asks (the database holds sealed values).
    sql('SET metrics.allow_drop_history = on; DROP EXTENSION metrics');
    assert.equal(sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'metrics'"), '1', 'the (empty) schema metrics stays');
    sql("NOTIFY pgrst, 'reload schema'");
    const res = await eventually('PGRST202 after the reload', (r) => r.status === 404 && r.body?.code === 'PGRST202');
    assertError(res, 404, 'PGRST202', { hint: false });
    assert.equal((await api('GET', '/rpc/current_metrics')).status, 404);
});

test("CREATE EXTENSION metrics and NOTIFY pgrst, 'reload schema': fetch_metrics answers 200 again", async () => {
    sql('CREATE EXTENSION metrics');
    sql("NOTIFY pgrst, 'reload schema'");
    const res = await eventually('200 after the reload', (r) => r.status === 200);
    assert.deepEqual(res.body, [], 'a fresh install has nothing sealed');
    assert.deepEqual(assertOk(await api('GET', '/rpc/current_metrics', { as: AS.authenticated })), []);
});

test('the fresh install has its API grants again: anon is refused collect (401), service_role sets up and seals over HTTP', async () => {
    assertError(await api('POST', '/rpc/collect_daily_metrics', { body: { target_date: DAYS.backfillFrom } }), 401, '42501', { hint: false });
    assert.deepEqual(assertOk(await api('GET', '/rpc/verify_security', { as: AS.service_role })), []);
    assertOk(await api('POST', '/rpc/install_preset', { as: AS.service_role, body: { preset: 'social', source_schema: 'regress_src' } }));
    assertOk(await api('POST', '/rpc/backfill_daily_metrics', { as: AS.service_role, body: ARGS }));
    const rows = assertOk(await api('POST', '/rpc/fetch_metrics', { body: ARGS }));
    assert.deepEqual(Object.fromEntries(byDayAndCategory(rows, { date: 'period_start' })),
        Object.fromEntries(byDayAndCategory(expectedSocial(DAYS.backfillFrom, DAYS.backfillTo))));
});
