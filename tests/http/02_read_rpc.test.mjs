// The read API as a dashboard calls it, without a JWT (anon) and with a user's JWT
// (authenticated): fetch_metrics by POST and by GET (it is STABLE, so PostgREST runs it in a
// read-only transaction and accepts GET), current_metrics, activity_series, and the tables.
// Every value is compared with a count computed from regress_src by psql.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
    AS, DAYS, LAST_CLOSED, SOCIAL_METRICS, addDays, api, assertOk, byDayAndCategory, ensureSealedAsSuperuser,
    expectedSocial, sql, sqlRows,
} from './lib.mjs';

before(() => {
    // Whatever the write tests managed over HTTP, the days they seal are sealed now.
    ensureSealedAsSuperuser();
});

const FROM = DAYS.backfillFrom;
const TO = DAYS.collect;
const qs = (params) => new URLSearchParams(params).toString();

/** fetch_metrics daily rows are exactly the expected values, one row per day and metric. */
function assertDailyRows(rows, d1, d2) {
    for (const r of rows) {
        assert.equal(r.period_start, r.period_end, 'a daily row is one day');
        assert.deepEqual([r.days_in_period, r.days_recorded, r.missing_dates], [1, 1, []], `${r.period_start} ${r.metric_category} is sealed`);
    }
    const got = byDayAndCategory(rows, { date: 'period_start' });
    const expected = byDayAndCategory(expectedSocial(d1, d2));
    assert.equal(got.size, expected.size, 'one row per day and metric');
    assert.deepEqual(Object.fromEntries(got), Object.fromEntries(expected));
}

for (const [who, jwt] of [['anon', AS.anon], ['authenticated', AS.authenticated]]) {
    describe(`as ${who}`, () => {
        test(`POST /rpc/fetch_metrics ${FROM}..${TO}: every daily value equals the count in regress_src`, async () => {
            const rows = assertOk(await api('POST', '/rpc/fetch_metrics', { as: jwt, body: { start_date: FROM, end_date: TO } }));
            assert.equal(rows.length, 6 * SOCIAL_METRICS.length);
            assertDailyRows(rows, FROM, TO);
        });

        test('GET /rpc/fetch_metrics with the same arguments answers the same rows', async () => {
            const post = assertOk(await api('POST', '/rpc/fetch_metrics', { as: jwt, body: { start_date: FROM, end_date: TO } }));
            const get = assertOk(await api('GET', `/rpc/fetch_metrics?${qs({ start_date: FROM, end_date: TO })}`, { as: jwt }));
            assert.deepEqual(get, post);
            assertDailyRows(get, FROM, TO);
        });

        test('GET /rpc/fetch_metrics monthly for two categories: a sum for posts_created, the last value for posts_total', async () => {
            const rows = assertOk(await api('GET', `/rpc/fetch_metrics?${qs({
                start_date: FROM, end_date: TO, categories: '{posts_created,posts_total}', aggregation: 'monthly',
            })}`, { as: jwt }));
            const expected = expectedSocial(FROM, TO);
            const sum = expected.filter((r) => r.metric_category === 'posts_created').reduce((a, r) => a + Number(r.value), 0);
            const last = expected.find((r) => r.metric_category === 'posts_total' && r.metric_date === TO).value;
            assert.deepEqual(rows.map((r) => [r.period_start, r.period_end, r.metric_category, Number(r.value), r.days_recorded]),
                [[FROM, TO, 'posts_created', sum, 6], [FROM, TO, 'posts_total', Number(last), 6]]);
            assert.equal(rows[0].metadata.aggregation, 'sum');
            assert.equal(rows[1].metadata.aggregation, 'last');
        });

        test('GET /rpc/current_metrics: the last closed day\'s value of every metric', async () => {
            const rows = assertOk(await api('GET', '/rpc/current_metrics', { as: jwt }));
            assert.deepEqual(rows.map((r) => r.metric_category).sort(), SOCIAL_METRICS);
            for (const r of rows) {
                assert.equal(r.metric_date, LAST_CLOSED, `${r.metric_category} was last sealed on the last closed day`);
                assert.equal(r.is_active, true);
                assert.ok(r.display_name, `${r.metric_category} has a display name`);
            }
            const got = byDayAndCategory(rows);
            assert.deepEqual(Object.fromEntries(got), Object.fromEntries(byDayAndCategory(expectedSocial(LAST_CLOSED, LAST_CLOSED))));
        });

        test('POST /rpc/activity_series {days: 7}: the created metrics per day, equal to the counts', async () => {
            const rows = assertOk(await api('POST', '/rpc/activity_series', { as: jwt, body: { days: 7 } }));
            const createdMetrics = sql(`SELECT string_agg(metric_category, ',' ORDER BY metric_category)
                                        FROM metrics.metric_definitions WHERE kind = 'created' AND is_active`).split(',');
            assert.deepEqual([...new Set(rows.map((r) => r.metric_category))].sort(), createdMetrics);
            assert.deepEqual([...new Set(rows.map((r) => r.metric_date))].sort(),
                Array.from({ length: 7 }, (_, i) => addDays(DAYS.recentFrom, i)));
            const expected = byDayAndCategory(expectedSocial(DAYS.recentFrom, DAYS.recentTo)
                .filter((r) => createdMetrics.includes(r.metric_category)));
            assert.deepEqual(Object.fromEntries(byDayAndCategory(rows)), Object.fromEntries(expected));
            assert.ok(rows.some((r) => r.metric_category === 'posts_created' && Number(r.value) > 0), 'some posts in the last week');
        });

        test('GET /rpc/activity_series?days=3&categories={comments_created}', async () => {
            const rows = assertOk(await api('GET', `/rpc/activity_series?${qs({ days: 3, categories: '{comments_created}' })}`, { as: jwt }));
            const expected = expectedSocial(addDays(LAST_CLOSED, -2), LAST_CLOSED)
                .filter((r) => r.metric_category === 'comments_created');
            assert.deepEqual(Object.fromEntries(byDayAndCategory(rows)), Object.fromEntries(byDayAndCategory(expected)));
        });

        test('GET /rpc/sparkline?metric=posts_created&days=7: one character per day, heights from the counts', async () => {
            const line = assertOk(await api('GET', `/rpc/sparkline?${qs({ metric: 'posts_created', days: 7 })}`, { as: jwt }));
            // The same drawing, done here over the source's counts: ▁ for the smallest, █ for
            // the largest, rounded in between; a flat line is ▁ (zero) or ▄.
            const values = expectedSocial(DAYS.recentFrom, DAYS.recentTo)
                .filter((r) => r.metric_category === 'posts_created').map((r) => Number(r.value));
            const [lo, hi] = [Math.min(...values), Math.max(...values)];
            const bars = '▁▂▃▄▅▆▇█';
            const expected = values.map((v) => (hi === lo ? (hi === 0 ? '▁' : '▄') : bars[Math.round(((v - lo) / (hi - lo)) * 7)])).join('');
            assert.equal(line, expected);
            assert.equal([...line].length, 7);
        });

        test('GET /daily_metrics of one day: the sealed rows, readable by everyone', async () => {
            const rows = assertOk(await api('GET', `/daily_metrics?metric_date=eq.${FROM}&select=metric_date,metric_category,value`, { as: jwt }));
            assert.deepEqual(Object.fromEntries(byDayAndCategory(rows)), Object.fromEntries(byDayAndCategory(expectedSocial(FROM, FROM))));
        });

        test('GET /metric_definitions lists the nine metrics', async () => {
            const rows = assertOk(await api('GET', '/metric_definitions?select=metric_category,kind,is_active&order=metric_category', { as: jwt }));
            assert.deepEqual(rows, sqlRows(`SELECT metric_category, kind, is_active FROM metrics.metric_definitions ORDER BY 1`));
            assert.equal(rows.length, SOCIAL_METRICS.length);
        });
    });
}
