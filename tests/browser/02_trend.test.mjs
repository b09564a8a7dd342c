// The trend chart of orders_created for dash-a: one circle per sealed day of the range and the
// open day (hollow), exactly one gap band at the day that was never sealed and the line broken
// there; each point's value is the day's orders counted from dash_src.orders. The week and
// month buttons draw the chart again at their grain, with the sums of the sealed days.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { A, GAP_DAY, launch, near, num, open, sqlRows, userToken, waitForState } from './lib.mjs';

let browser;
let page;
before(async () => {
    browser = await launch();
    page = await open(browser, { token: userToken([A]) });
});
after(async () => { await browser?.close(); });

const chart = (grain) => `#trend svg.trend-chart[data-metric-key="orders_created"][data-grain="${grain}"]`;

async function show(grain) {
    if (await page.$eval('#trend-metric', (s) => s.value) !== 'orders_created') {
        await page.select('#trend-metric', 'orders_created');
    }
    await page.click(`#trend button[data-grain="${grain}"]`);
    await page.waitForSelector(chart(grain), { timeout: 15_000 });
    await waitForState(page);
    return page.$eval(chart(grain), (svg) => ({
        start: svg.dataset.rangeStart, end: svg.dataset.rangeEnd,
        points: [...svg.querySelectorAll('circle.point')].map((c) => ({
            bucket: c.dataset.bucket, value: c.dataset.value, open: c.classList.contains('open'),
            title: c.querySelector('title')?.textContent ?? '',
        })),
        gaps: [...svg.querySelectorAll('rect.gap')].map((r) => r.dataset.bucket),
        lines: svg.querySelectorAll('path.line').length,
        pressed: [...document.querySelectorAll('#trend button[data-grain]')].filter((b) => b.getAttribute('aria-pressed') === 'true').map((b) => b.dataset.grain),
    }));
}

/** Orders of dash-a per bucket (day, week or month, UTC) over the sealed days overlapping [start, end), and today's. */
function expected(grain, start, end) {
    return sqlRows(`
        WITH sealed AS (SELECT d.metric_date FROM metrics.daily_metrics AS d JOIN metrics.projects AS p ON p.id = d.project_id
                        WHERE p.slug = '${A}' AND d.metric_category = 'orders_created'
                          AND (d.metric_date + 1)::timestamp AT TIME ZONE 'UTC' > '${start}'::timestamptz
                          AND d.metric_date::timestamp AT TIME ZONE 'UTC' < '${end}'::timestamptz
                        UNION ALL SELECT current_date WHERE '${grain}' = 'day'),
             counted AS (SELECT s.metric_date, (SELECT count(*) FROM dash_src.orders AS o WHERE o.org = '${A}'
                           AND o.created_at >= s.metric_date::timestamp AT TIME ZONE 'UTC'
                           AND o.created_at < (s.metric_date + 1)::timestamp AT TIME ZONE 'UTC') AS n
                         FROM sealed AS s)
        SELECT to_char(date_trunc('${grain}', metric_date), 'YYYY-MM-DD') AS bucket, sum(n)::int AS value,
               date_trunc('${grain}', current_date) = date_trunc('${grain}', metric_date) AS open
        FROM counted GROUP BY 1, 3 ORDER BY 1`);
}

describe('the day trend', () => {
    let shown;
    before(async () => { shown = await show('day'); });

    test('one circle per sealed day of the range, plus the open day, in order, each with the day\'s orders', () => {
        const want = expected('day', shown.start, shown.end);
        assert.ok(want.length >= 29, `the range holds about 30 days (${want.length})`);
        assert.deepEqual(shown.points.map((p) => p.bucket.slice(0, 10)), want.map((w) => w.bucket));
        for (const [i, w] of want.entries()) near(num(shown.points[i].value), w.value, `the day ${w.bucket}`);
        assert.ok(!shown.points.some((p) => p.bucket.startsWith(GAP_DAY)), 'no circle on the missing day');
    });

    test('the open day is the last circle, and the only one marked open', () => {
        assert.deepEqual(shown.points.map((p, i) => [i, p.open]).filter(([, o]) => o).map(([i]) => i), [shown.points.length - 1]);
    });

    test('exactly one gap band, at the missing day, and the line broken there (two runs)', () => {
        assert.deepEqual(shown.gaps, [`${GAP_DAY}T00:00:00Z`]);
        assert.equal(shown.lines, 2);
    });

    test('each circle has a title naming its value; the day button is the pressed one', () => {
        for (const p of shown.points) assert.ok(p.title.length > 0, `a <title> on ${p.bucket}`);
        assert.deepEqual(shown.pressed, ['day']);
    });
});

for (const grain of ['week', 'month']) {
    describe(`the ${grain} trend`, () => {
        test(`the ${grain} button draws the chart again: one circle per ${grain} with the sealed days' orders, the last open`, async () => {
            const shown = await show(grain);
            assert.deepEqual(shown.pressed, [grain]);
            const want = expected(grain, shown.start, shown.end);
            assert.ok(want.length >= 2, `several ${grain}s (${want.length})`);
            assert.deepEqual(shown.points.map((p) => p.bucket.slice(0, 10)), want.map((w) => w.bucket));
            // Weeks and months are never live: the one holding today is stored up to the last
            // closed day (and has no point on the first day of a week or month).
            for (const [i, w] of want.entries()) near(num(shown.points[i].value), w.value, `the ${grain} of ${w.bucket}`);
            assert.deepEqual(shown.points.map((p) => p.open), want.map((w) => w.open), `only the ${grain} holding today is open`);
            assert.equal(await page.$$eval('#trend svg.trend-chart', (s) => s.length), 1, 'one chart, drawn again');
        });
    });
}
