// Bodies of several megabytes: refused with a 4xx about the input (not about privileges), in
// reasonable time, never a 5xx, and nothing written.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { AS, DAYS, api, assertNothingWritten, ensureSealedAsSuperuser } from './lib.mjs';

before(() => ensureSealedAsSuperuser());

const MB = 1024 * 1024;

async function refusedInTime(path, { as, body }) {
    const started = Date.now();
    const res = await api('POST', path, { as, body, timeoutMs: 60_000 });
    const what = `${path} with ${(JSON.stringify(body).length / MB).toFixed(1)} MB: ${res.status} ${res.text.slice(0, 300)}`;
    assert.ok(res.status >= 400 && res.status < 500, `a client error, got ${what}`);
    assert.notEqual(res.body?.code, '42501', `refused for the input, not for the caller's privileges: ${what}`);
    assert.ok(Date.now() - started < 30_000, `answered within 30 s (${Date.now() - started} ms)`);
    return res;
}

test('recollect with a 5 MB reason as service_role: 4xx (22023/22001), nothing written', async () => {
    await assertNothingWritten(async () => {
        const res = await refusedInTime('/rpc/recollect', {
            as: AS.service_role,
            body: { target_date: DAYS.backfillFrom, categories: ['posts_total'], reason: 'r'.repeat(5 * MB) },
        });
        assert.match(res.body.code, /^22/, 'a data exception');
    });
});

test('define_metric with a 5 MB filter (one huge string literal) as service_role: 4xx, nothing written', async () => {
    await assertNothingWritten(async () => {
        await refusedInTime('/rpc/define_metric', {
            as: AS.service_role,
            body: {
                category: 'huge_filter', kind: 'created', source_table: 'posts', source_schema: 'regress_src',
                filter: `status = '${'x'.repeat(5 * MB)}'`,
            },
        });
    });
});

test('define_metric with a 5 MB category as service_role: 4xx, nothing written', async () => {
    await assertNothingWritten(async () => {
        await refusedInTime('/rpc/define_metric', {
            as: AS.service_role,
            body: { category: 'c'.repeat(5 * MB), kind: 'created', source_table: 'posts', source_schema: 'regress_src' },
        });
    });
});

test('fetch_metrics as anon with 300,000 categories (about 5 MB): 4xx', async () => {
    const categories = Array.from({ length: 300_000 }, (_, i) => `no_such_metric_${i}`);
    await refusedInTime('/rpc/fetch_metrics', { as: AS.anon, body: { start_date: DAYS.backfillFrom, end_date: DAYS.backfillTo, categories } });
});

test('5 MB that is not JSON, as service_role: 400 (PGRST102), nothing written', async () => {
    await assertNothingWritten(async () => {
        const res = await api('POST', '/rpc/collect_daily_metrics', { as: AS.service_role, body: `{"target_date": "${'9'.repeat(5 * MB)}` });
        assert.equal(res.status, 400, `${res.status} ${res.text.slice(0, 300)}`);
        assert.equal(res.body?.code, 'PGRST102');
    });
});
