// The trend charts of dash-a: one figure.trend[data-metric-key] per selected metric, each with its
// own svg.trend-chart. By default the summary's first two metrics and the requests are charted;
// each chart has one circle per sealed day of the range and the open day (hollow), the per-day
// metrics exactly one gap band at the day that was never sealed and the line broken there, and
// each point's value is the database's, counted in SQL from dash_src.orders / dash_src.requests.
// The grain buttons draw every chart again; checking and unchecking a metric adds and removes its
// chart; ?metrics=a,b restores a selection; one chart's error stays in its figure.
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

// The summary's metrics, in its order (what the page's default selection is made of).
const SUMMARY = sqlRows(`SELECT m->>'metric_key' AS key, m->>'display_name' AS name
                         FROM json_array_elements(metrics.get_summary('${A}')->'summary'->'metrics') AS m`);
const DEFAULT = [...SUMMARY.slice(0, 2).map((m) => m.key), 'requests'];
const DAILY = new Set(SUMMARY.map((m) => m.key));   // sealed per day, so with the missing day

/** Every chart shown, in order: its figure's key and title, and what its svg draws. */
function charts(p = page) {
    return p.$$eval('#trend #trend-charts > figure.trend', (figures) => figures.map((f) => {
        const svg = f.querySelector('svg.trend-chart');
        return {
            key: f.dataset.metricKey,
            title: f.querySelector('figcaption')?.textContent.trim(),
            svgs: f.querySelectorAll('svg.trend-chart').length,
            svgKey: svg?.dataset.metricKey, grain: svg?.dataset.grain, start: svg?.dataset.rangeStart, end: svg?.dataset.rangeEnd,
            points: [...(svg?.querySelectorAll('circle.point') ?? [])].map((c) => ({
                bucket: c.dataset.bucket, value: c.dataset.value, open: c.classList.contains('open'),
                title: c.querySelector('title')?.textContent ?? '',
            })),
            gaps: [...(svg?.querySelectorAll('rect.gap') ?? [])].map((r) => r.dataset.bucket),
            lines: svg?.querySelectorAll('path.line').length ?? 0,
            error: f.querySelector('.section-error')?.textContent.trim() ?? null,
        };
    }));
}

const checked = (p = page) => p.$$eval('#trend-metrics input[type=checkbox]', (cs) => cs.filter((c) => c.checked).map((c) => c.value));
const pressed = () => page.$$eval('#trend button[data-grain]', (bs) => bs.filter((b) => b.getAttribute('aria-pressed') === 'true').map((b) => b.dataset.grain));

/** Waits until exactly `keys` are charted, each drawn at `grain`, and the page is `states`. */
async function waitForCharts(p, keys, grain, states = ['ready']) {
    try {
        await p.waitForFunction((ks, g) => {
            const figures = [...document.querySelectorAll('#trend-charts > figure.trend')];
            return figures.map((f) => f.dataset.metricKey).join() === ks.join()
                && figures.every((f) => f.querySelector('.section-error') || f.querySelector(`svg.trend-chart[data-grain="${g}"]`));
        }, { timeout: 15_000, polling: 50 }, keys, grain);
    } catch (e) {
        const drawn = (await charts(p)).map((c) => `${c.key}: ${c.error ? 'error' : `${c.grain ?? 'not drawn'}`}`);
        throw new Error(`the charts are not ${keys.join(', ')} drawn by the ${grain} (${drawn.join('; ') || 'no chart'})`);
    }
    await waitForState(p, states);
    return charts(p);
}

/** The values of a key per bucket (UTC) overlapping [start, end): sealed days (and today's, by the day) of an order metric, or requests. */
function expected(key, grain, start, end) {
    const overlaps = (b, length = grain) => `${b} + interval '1 ${length}' > '${start}'::timestamptz AND ${b} < '${end}'::timestamptz`;
    if (key === 'requests') {
        // The open day is live (every request); a week or month is the stored one, computed by
        // refresh_read_model from the hours closed by then.
        const stored = grain === 'day' ? '' : "AND at < date_trunc('hour', (SELECT at FROM dash_src.refreshed))";
        return sqlRows(`SELECT to_char(b, 'YYYY-MM-DD') AS bucket, count(*)::int AS value, b = date_trunc('${grain}', now() AT TIME ZONE 'UTC') AS open
                        FROM (SELECT date_trunc('${grain}', at AT TIME ZONE 'UTC') AS b FROM dash_src.requests WHERE project = '${A}' ${stored}) AS r
                        WHERE ${overlaps("b AT TIME ZONE 'UTC'")} GROUP BY b ORDER BY b`);
    }
    const value = key === 'orders_created' ? 'count(*)' : 'count(DISTINCT o.status)';
    return sqlRows(`
        WITH sealed AS (SELECT d.metric_date FROM metrics.daily_metrics AS d JOIN metrics.projects AS p ON p.id = d.project_id
                        WHERE p.slug = '${A}' AND d.metric_category = '${key}'
                          AND ${overlaps("d.metric_date::timestamp AT TIME ZONE 'UTC'", 'day')}
                        UNION ALL SELECT (now() AT TIME ZONE 'UTC')::date WHERE '${grain}' = 'day'),
             counted AS (SELECT s.metric_date, (SELECT ${value} FROM dash_src.orders AS o WHERE o.org = '${A}'
                           AND o.created_at >= s.metric_date::timestamp AT TIME ZONE 'UTC'
                           AND o.created_at < (s.metric_date + 1)::timestamp AT TIME ZONE 'UTC') AS n
                         FROM sealed AS s)
        SELECT to_char(date_trunc('${grain}', metric_date::timestamp), 'YYYY-MM-DD') AS bucket, sum(n)::int AS value,
               date_trunc('${grain}', now() AT TIME ZONE 'UTC') = date_trunc('${grain}', metric_date::timestamp) AS open
        FROM counted GROUP BY 1, 3 ORDER BY 1`);
}

/** A chart's circles are the database's buckets, in order, the open one last; `values`: their values too. */
function assertChart(chart, grain, { values = true } = {}) {
    const want = expected(chart.key, grain, chart.start, chart.end);
    assert.ok(want.length >= (grain === 'day' && DAILY.has(chart.key) ? 29 : 2), `${chart.key}: several ${grain}s (${want.length})`);
    assert.deepEqual(chart.points.map((p) => p.bucket.slice(0, 10)), want.map((w) => w.bucket), `${chart.key}: one circle per ${grain}`);
    if (values) for (const [i, w] of want.entries()) near(num(chart.points[i].value), w.value, `${chart.key}, the ${grain} of ${w.bucket}`);
    // Weeks and months are never live: the one holding today is the stored, open one.
    assert.deepEqual(chart.points.map((p) => p.open), want.map((w) => w.open), `${chart.key}: only the ${grain} holding today is open`);
    for (const p of chart.points) assert.ok(p.title.length > 0, `${chart.key}: a <title> on ${p.bucket}`);
}

describe('the default charts (day)', () => {
    let shown;
    before(async () => { shown = await waitForCharts(page, DEFAULT, 'day'); });

    test('the summary\'s first two metrics and the requests, each its own figure titled by its name, and checked', async () => {
        assert.equal(SUMMARY.length, 2, 'dash-a has two metrics (orders_created, order_statuses)');
        assert.deepEqual(shown.map((c) => c.key), DEFAULT);
        assert.deepEqual(shown.map((c) => c.title), [...SUMMARY.map((m) => m.name), 'Requests']);
        assert.deepEqual(shown.map((c) => [c.svgs, c.svgKey, c.grain]), DEFAULT.map((k) => [1, k, 'day']));
        assert.deepEqual(await checked(), DEFAULT);
        assert.deepEqual(await pressed(), ['day']);
    });

    test('each chart: one circle per sealed day of the range plus the open day, each the database\'s value', () => {
        for (const chart of shown) assertChart(chart, 'day');
    });

    test('the per-day metrics: exactly one gap band, at the missing day, and the line broken there; the requests: none', () => {
        for (const chart of shown) {
            if (DAILY.has(chart.key)) {
                assert.deepEqual(chart.gaps, [`${GAP_DAY}T00:00:00Z`], `${chart.key}: the gap`);
                assert.equal(chart.lines, 2, `${chart.key}: two runs`);
                assert.ok(!chart.points.some((p) => p.bucket.startsWith(GAP_DAY)), `${chart.key}: no circle on the missing day`);
            } else {
                assert.deepEqual(chart.gaps, [], `${chart.key}: no gap`);
                assert.equal(chart.lines, 1, `${chart.key}: one run`);
            }
        }
    });
});

describe('the grain buttons', () => {
    for (const grain of ['week', 'month', 'day']) {
        test(`${grain}: every chart is drawn again at its grain, with one get_trend call each`, async () => {
            const calls = [];
            const listen = (r) => { if (r.method() === 'GET' && r.url().includes('/rpc/get_trend')) calls.push(new URL(r.url()).searchParams); };
            page.on('request', listen);   // the GETs (not the CORS preflights)
            await page.click(`#trend button[data-grain="${grain}"]`);
            const shown = await waitForCharts(page, DEFAULT, grain);
            page.off('request', listen);
            assert.deepEqual(await pressed(), [grain]);
            assert.deepEqual(calls.filter((q) => q.get('grain') === grain).map((q) => q.get('metric_key')).sort(), [...DEFAULT].sort());
            // A breakdown metric's week is not the sum of its days' distinct keys: its buckets only.
            for (const chart of shown) assertChart(chart, grain, { values: grain === 'day' || chart.key !== 'order_statuses' });
        });
    }
});

describe('picking metrics', () => {
    const others = DEFAULT.filter((k) => k !== 'orders_created');

    test('unchecking a metric removes its chart, and the address says what is charted', async () => {
        await page.click('#trend-metrics input[value="orders_created"]');
        const shown = await waitForCharts(page, others, 'day');
        assert.deepEqual(await checked(), others);
        assert.equal(new URL(page.url()).searchParams.get('metrics'), others.join(','));
        assert.ok(page.url().includes(`metrics=${others.join(',')}`), `the list is readable in ${page.url()}`);
        for (const chart of shown) assertChart(chart, 'day');
    });

    test('checking a metric adds its chart, in the picker\'s order, drawn at the current grain', async () => {
        await page.click('#trend-metrics input[value="request_p95_ms"]');
        const keys = [...others, 'request_p95_ms'];
        const shown = await waitForCharts(page, keys, 'day');
        const p95 = shown.at(-1);
        assert.equal(p95.title, 'Request latency p95');
        const days = expected('requests', 'day', p95.start, p95.end).map((w) => w.bucket);
        assert.deepEqual(p95.points.map((p) => p.bucket.slice(0, 10)), days, 'a circle per day with requests');
        const want = sqlRows(`SELECT to_char(date_trunc('day', m.period_start AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS bucket,
                                     metrics.latency_quantile(metrics.merge_latency_sketches(m.latency_sketch), 0.95) AS value
                              FROM metrics.route_metrics_live AS m JOIN metrics.projects AS p ON p.id = m.project_id
                              WHERE p.slug = '${A}' GROUP BY 1 ORDER BY 1`);
        assert.deepEqual(want.map((w) => w.bucket), days);
        for (const [i, w] of want.entries()) near(num(p95.points[i].value), w.value, `p95 of ${w.bucket}`);
        await page.click('#trend-metrics input[value="orders_created"]');
        assert.deepEqual((await waitForCharts(page, [...DEFAULT, 'request_p95_ms'], 'day')).map((c) => c.key), [...DEFAULT, 'request_p95_ms']);
        assert.deepEqual(page.problems, []);
    });

    test('?metrics=a,b restores a selection (in the picker\'s order), and the address of a view reproduces it', async () => {
        const linked = await open(browser, { token: userToken([A]), query: 'metrics=requests,orders_created' });
        assert.deepEqual((await waitForCharts(linked, ['orders_created', 'requests'], 'day')).map((c) => c.key), ['orders_created', 'requests']);
        assert.deepEqual(await checked(linked), ['orders_created', 'requests']);
        await linked.close();
        const again = await open(browser, { token: userToken([A]), query: new URL(page.url()).search.slice(1) });
        const keys = await checked(page);
        assert.deepEqual((await waitForCharts(again, keys, 'day')).map((c) => c.key), keys);
        await again.close();
    });
});

describe('one chart that fails', () => {
    test('its error is in its own figure, the other charts are drawn, the page says error', async () => {
        const p = await open(browser, { token: userToken([A]) });
        await waitForCharts(p, DEFAULT, 'day');
        await p.setRequestInterception(true);
        p.on('request', (r) => {
            const url = r.url();
            if (r.isInterceptResolutionHandled()) return;
            if (url.includes('/rpc/get_trend') && url.includes('metric_key=requests&')) r.continue({ url: url.replace('metric_key=requests&', 'metric_key=no_such_metric&') });
            else r.continue();
        });
        await p.click('#trend button[data-grain="week"]');
        const shown = await waitForCharts(p, DEFAULT, 'week', ['error']);
        const failed = shown.find((c) => c.key === 'requests');
        assert.match(failed.error ?? '', /could not be loaded: .*no_such_metric/, 'the API\'s message, in the figure');
        assert.equal(failed.points.length, 0, 'no stale chart under the message');
        for (const chart of shown.filter((c) => c.key !== 'requests')) {
            assert.equal(chart.error, null);
            assertChart(chart, 'week', { values: chart.key !== 'order_statuses' });
        }
        await p.close();
    });
});

describe('the layout', () => {
    const boxes = (p) => p.$$eval('#trend-charts > figure.trend', (fs) => fs.map((f) => {
        const r = f.querySelector('svg.trend-chart').getBoundingClientRect();
        return { left: Math.round(r.left), top: Math.round(r.top), right: Math.round(r.right), height: Math.round(r.height) };
    }));

    test('desktop (1280 px): the charts side by side', async () => {
        const b = await boxes(page);
        assert.ok(b.length >= 3);
        assert.equal(new Set(b.slice(0, 3).map((x) => x.top)).size, 1, `the first three share a row: ${JSON.stringify(b)}`);
        assert.ok(b.every((x) => x.right <= 1280 && x.height >= 120), JSON.stringify(b));
    });

    test('phone (390 px): the charts stacked, each the width of the screen, no sideways scrolling', async () => {
        const p = await open(browser, { token: userToken([A]), width: 390, height: 844 });
        await waitForCharts(p, DEFAULT, 'day');
        const b = await boxes(p);
        assert.equal(new Set(b.map((x) => x.left)).size, 1, `one column: ${JSON.stringify(b)}`);
        assert.equal(new Set(b.map((x) => x.top)).size, b.length, `one a row: ${JSON.stringify(b)}`);
        assert.ok(b.every((x) => x.left >= 0 && x.right <= 390 && x.right - x.left >= 300 && x.height >= 120), JSON.stringify(b));
        assert.ok(await p.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no sideways scrolling');
        await p.close();
    });
});
