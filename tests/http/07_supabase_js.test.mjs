// The same calls through @supabase/supabase-js, as an app makes them: the anon key for a
// dashboard, a signed-in user's JWT, and the service key on a backend. supabase-js calls
// <url>/rest/v1/...; the fetch given to it strips /rest/v1, since PostgREST here has no gateway.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createClient } from '@supabase/supabase-js';
import ws from 'ws';
import {
    AS, BASE_URL, DAYS, LAST_CLOSED, SOCIAL_METRICS, assertNothingWritten, byDayAndCategory, ensureSealedAsSuperuser,
    expectedSocial, jwtFor, sealedSocial, sql, withoutGateway,
} from './lib.mjs';

before(() => ensureSealedAsSuperuser());


function client(key, headers = {}) {
    return createClient(BASE_URL, key, {
        db: { schema: 'metrics' },
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        realtime: { transport: ws },
        global: { fetch: withoutGateway, headers },
    });
}

// Supabase's API keys are JWTs: the anon key has role anon, the service key role service_role.
const ANON_KEY = jwtFor('anon');
const SERVICE_KEY = AS.service_role;
const anon = client(ANON_KEY);
const user = client(ANON_KEY, { Authorization: `Bearer ${AS.authenticated}` });
const admin = client(ANON_KEY, { Authorization: `Bearer ${AS.admin}` });
const service = client(SERVICE_KEY);
// No channel is opened, so nothing is left to close (removeAllChannels would wait 10 s for a socket that never was).

const values = (rows, date = 'metric_date') => Object.fromEntries(byDayAndCategory(rows, { date }));

describe('a dashboard with the anon key', () => {
    test("rpc('fetch_metrics', {start_date, end_date}): the sealed values, equal to the counts", async () => {
        const { data, error, status } = await anon.rpc('fetch_metrics', { start_date: DAYS.backfillFrom, end_date: DAYS.collect });
        assert.equal(error, null);
        assert.equal(status, 200);
        assert.equal(data.length, 6 * SOCIAL_METRICS.length);
        assert.deepEqual(values(data, 'period_start'), values(expectedSocial(DAYS.backfillFrom, DAYS.collect)));
    });

    test("rpc('fetch_metrics', ..., { get: true }) answers the same", async () => {
        const args = { start_date: DAYS.backfillFrom, end_date: DAYS.collect, aggregation: 'weekly' };
        const viaGet = await anon.rpc('fetch_metrics', args, { get: true });
        const viaPost = await anon.rpc('fetch_metrics', args);
        assert.equal(viaGet.error, null);
        assert.deepEqual(viaGet.data, viaPost.data);
        assert.ok(viaGet.data.length > 0);
    });

    test("rpc('current_metrics'): the last closed day of every metric", async () => {
        const { data, error } = await anon.rpc('current_metrics');
        assert.equal(error, null);
        assert.deepEqual(data.map((r) => r.metric_category).sort(), SOCIAL_METRICS);
        assert.deepEqual(values(data), values(expectedSocial(LAST_CLOSED, LAST_CLOSED)));
    });

    test("rpc('activity_series', { days: 7, categories: ['posts_created'] })", async () => {
        const { data, error } = await anon.rpc('activity_series', { days: 7, categories: ['posts_created'] });
        assert.equal(error, null);
        assert.deepEqual(values(data), values(expectedSocial(DAYS.recentFrom, DAYS.recentTo).filter((r) => r.metric_category === 'posts_created')));
    });

    test("from('daily_metrics').select().eq('metric_date', ...)", async () => {
        const { data, error } = await anon.from('daily_metrics').select('metric_date, metric_category, value').eq('metric_date', DAYS.backfillTo);
        assert.equal(error, null);
        assert.deepEqual(values(data), values(expectedSocial(DAYS.backfillTo, DAYS.backfillTo)));
    });

    test("rpc('fetch_metrics') with end_date before start_date: error.code 22023 with a hint", async () => {
        const { data, error, status } = await anon.rpc('fetch_metrics', { start_date: '2025-03-10', end_date: '2025-03-01' });
        assert.equal(data, null);
        assert.equal(status, 400);
        assert.equal(error.code, '22023');
        assert.ok(error.message && error.hint, JSON.stringify(error));
    });

    test("rpc('collect_daily_metrics'): error.code 42501, nothing written", async () => {
        await assertNothingWritten(async () => {
            const { data, error, status } = await anon.rpc('collect_daily_metrics', { target_date: '2025-05-05' });
            assert.equal(data, null);
            assert.equal(error?.code, '42501', JSON.stringify(error));
            assert.ok([401, 403].includes(status), `401 or 403, got ${status}`);
        });
    });

    test("from('metric_collection_log').select(): no rows (of those the table has)", async () => {
        assert.ok(Number(sql('SELECT count(*) FROM metrics.metric_collection_log')) > 0, 'there are runs in the log to hide');
        const { data, error } = await anon.from('metric_collection_log').select('id');
        assert.equal(error, null);
        assert.deepEqual(data, []);
    });
});

describe('a signed-in user', () => {
    test("rpc('collect_daily_metrics'): error.code 42501 (403), nothing written", async () => {
        await assertNothingWritten(async () => {
            const { error, status } = await user.rpc('collect_daily_metrics', { target_date: '2025-05-05' });
            assert.equal(error?.code, '42501', JSON.stringify(error));
            assert.equal(status, 403);
        });
    });

    test("from('daily_metrics').insert(...): error.code 42501, nothing written", async () => {
        await assertNothingWritten(async () => {
            const { error } = await user.from('daily_metrics')
                .insert({ metric_date: '2025-05-05', metric_type: 'count', metric_category: 'posts_created', value: 1 });
            assert.equal(error?.code, '42501', JSON.stringify(error));
        });
    });

    test('an administrator (app_metadata.role = admin) reads the collection log', async () => {
        const { data, error } = await admin.from('metric_collection_log').select('id').order('id');
        assert.equal(error, null);
        assert.deepEqual(data.map((r) => r.id), sql('SELECT string_agg(id::text, \',\' ORDER BY id) FROM metrics.metric_collection_log').split(','));
    });
});

describe('a backend with the service key', () => {
    const DAY = '2025-05-05';

    test(`rpc('collect_daily_metrics', { target_date: '${DAY}' }) seals the day, equal to the counts`, async () => {
        const { data, error } = await service.rpc('collect_daily_metrics', { target_date: DAY });
        assert.equal(error, null, JSON.stringify(error));
        assert.deepEqual(data.map((r) => [r.metrics_collected, r.status]), [[SOCIAL_METRICS.length, 'completed']]);
        assert.deepEqual(values(sealedSocial(DAY, DAY)), values(expectedSocial(DAY, DAY)));
    });

    test("rpc('fetch_metrics') of that day returns what was sealed", async () => {
        const { data, error } = await service.rpc('fetch_metrics', { start_date: DAY, end_date: DAY });
        assert.equal(error, null);
        assert.deepEqual(values(data, 'period_start'), values(expectedSocial(DAY, DAY)));
    });

    test("rpc('verify_security', {}, { get: true }): no findings", async () => {
        const { data, error } = await service.rpc('verify_security', {}, { get: true });
        assert.equal(error, null, JSON.stringify(error));
        assert.deepEqual(data, []);
    });

    test("from('daily_metrics').delete(): error.code 42501, the sealed day stays", async () => {
        await assertNothingWritten(async () => {
            const { error } = await service.from('daily_metrics').delete().eq('metric_date', DAY);
            assert.equal(error?.code, '42501', JSON.stringify(error));
        });
    });
});
