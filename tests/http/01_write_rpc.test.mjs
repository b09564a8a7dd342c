// The service role sets metrics up and seals days over HTTP, as a backend or an Edge Function
// with the service key would: install_preset, backfill_daily_metrics, collect_daily_metrics.
// Every sealed value is compared with a count computed from regress_src by psql.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
    AS, DAYS, SOCIAL_METRICS, api, assertOk, byDayAndCategory, expectedSocial, sealedSocial, sql,
} from './lib.mjs';

const asService = (fn, body) => api('POST', `/rpc/${fn}`, { as: AS.service_role, body });

function assertSealedAsExpected(d1, d2) {
    const sealed = byDayAndCategory(sealedSocial(d1, d2));
    const expected = byDayAndCategory(expectedSocial(d1, d2));
    assert.deepEqual(Object.fromEntries(sealed), Object.fromEntries(expected),
        `the values sealed for ${d1}..${d2} equal the counts of regress_src`);
}

test('install_preset social over regress_src as service_role defines the nine metrics the tables allow', async () => {
    const rows = assertOk(await asService('install_preset', { preset: 'social', source_schema: 'regress_src' }));
    const defined = rows.filter((r) => r.status === 'defined').map((r) => r.metric_category).sort();
    assert.deepEqual(defined, SOCIAL_METRICS);
    for (const r of rows.filter((r) => r.status !== 'defined')) {
        assert.match(r.status, /^skipped: /, `${r.metric_category} is skipped (regress_src has no such table)`);
    }
    assert.deepEqual(sql(`SELECT string_agg(metric_category, ',' ORDER BY metric_category)
                          FROM metrics.metric_definitions WHERE is_active`), SOCIAL_METRICS.join(','));
});

test('install_preset again defines nothing new', async () => {
    const rows = assertOk(await asService('install_preset', { preset: 'social', source_schema: 'regress_src' }));
    assert.deepEqual(rows.filter((r) => r.status === 'defined'), []);
    assert.equal(rows.filter((r) => r.status === 'already defined').length, SOCIAL_METRICS.length);
});

test(`backfill_daily_metrics ${DAYS.backfillFrom}..${DAYS.backfillTo} as service_role seals the counts of regress_src`, async () => {
    const rows = assertOk(await asService('backfill_daily_metrics',
        { start_date: DAYS.backfillFrom, end_date: DAYS.backfillTo }));
    assert.equal(rows.length, 1);
    assert.equal(rows[0].dates_processed, 5);
    assert.equal(rows[0].total_metrics, 5 * SOCIAL_METRICS.length);
    assert.equal(typeof rows[0].execution_time_ms, 'number');
    assertSealedAsExpected(DAYS.backfillFrom, DAYS.backfillTo);
});

test(`collect_daily_metrics ${DAYS.collect} as service_role seals that day`, async () => {
    const rows = assertOk(await asService('collect_daily_metrics', { target_date: DAYS.collect }));
    assert.equal(rows.length, 1);
    assert.equal(rows[0].metrics_collected, SOCIAL_METRICS.length);
    assert.equal(rows[0].status, 'completed');
    assertSealedAsExpected(DAYS.collect, DAYS.collect);
    // The midnight rows of the fixture: 2025-03-10 00:00 and 23:59:59.999999 are that day's.
    assert.equal(sql(`SELECT value FROM metrics.daily_metrics
                      WHERE metric_date = '2025-03-10' AND metric_category = 'posts_created'`),
    sql(`SELECT count(*) FROM regress_src.posts WHERE created_at >= '2025-03-10 00:00+00' AND created_at < '2025-03-11 00:00+00'`));
});

test('collect_daily_metrics of the same day again records nothing and says skipped', async () => {
    const rows = assertOk(await asService('collect_daily_metrics', { target_date: DAYS.collect }));
    assert.deepEqual([rows[0].metrics_collected, rows[0].status], [0, 'skipped']);
});

test(`backfill_daily_metrics of the last seven closed days (${DAYS.recentFrom}..${DAYS.recentTo}) as service_role`, async () => {
    const rows = assertOk(await asService('backfill_daily_metrics', { start_date: DAYS.recentFrom, end_date: DAYS.recentTo }));
    assert.deepEqual([rows[0].dates_processed, rows[0].total_metrics], [7, 7 * SOCIAL_METRICS.length]);
    assertSealedAsExpected(DAYS.recentFrom, DAYS.recentTo);
    assert.notEqual(sql(`SELECT sum(value) FROM metrics.daily_metrics
                         WHERE metric_category = 'posts_created' AND metric_date >= '${DAYS.recentFrom}'`), '0',
    'the recent days have posts of their own');
});

test('the log has a completed row for each run of the service role', () => {
    const runs = sql(`SELECT string_agg(run_type || ':' || status, ',' ORDER BY started_at) FROM metrics.metric_collection_log`);
    assert.equal(runs, 'backfill:completed,collect:completed,collect:skipped,backfill:completed');
});
