// Every number the dashboard shows for a member of dash-a equals the database's, computed here
// by psql from the tables (the orders of dash_src, the sealed days of daily_metrics, the raw
// requests and the latency sketches of route_metrics, the GitHub facts), not from the API the
// page called; and its text is formatNumber(data-value, data-format) of dashboard/format.js.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { A, assertFormatted, launch, near, num, numbersIn, open, sql, sqlRows, userToken } from './lib.mjs';

let browser;
let page;
before(async () => {
    browser = await launch();
    page = await open(browser, { token: userToken([A]) });
});
after(async () => { await browser?.close(); });

// The summary's days: the last 7 closed days and the 7 before (UTC, dash-a's zone).
const LAST = sql('SELECT metrics.last_closed_day()');
const period = (from, to) => `'${LAST}'::date - ${from}, '${LAST}'::date - ${to}`;

/** Per sealed day of dash-a in [d1, d2]: orders and statuses counted from dash_src.orders. */
function orders(d1, d2) {
    return sqlRows(`
        WITH sealed AS (SELECT d.metric_date FROM metrics.daily_metrics AS d JOIN metrics.projects AS p ON p.id = d.project_id
                        WHERE p.slug = '${A}' AND d.metric_category = 'orders_created' AND d.metric_date BETWEEN ${d1} AND ${d2})
        SELECT count(o.id) AS orders, count(DISTINCT o.status) AS statuses
        FROM sealed AS s LEFT JOIN dash_src.orders AS o
          ON o.org = '${A}' AND o.created_at >= s.metric_date::timestamp AT TIME ZONE 'UTC'
         AND o.created_at < (s.metric_date + 1)::timestamp AT TIME ZONE 'UTC'`)[0];
}

/** Requests of dash-a in [lo, hi) (SQL expressions): counted from the raw events, percentiles merged from the sketches. */
function requests(lo, hi, route) {
    const routeFilter = route ? `AND method || ' ' || route = '${route}'` : '';
    const sketchFilter = route ? `AND m.method || ' ' || m.route = '${route}'` : '';
    return sqlRows(`
        SELECT (SELECT count(*) FROM dash_src.requests WHERE project = '${A}' AND at >= ${lo} AND at < ${hi} ${routeFilter}) AS requests,
               (SELECT count(*) FILTER (WHERE NOT success) FROM dash_src.requests WHERE project = '${A}' AND at >= ${lo} AND at < ${hi} ${routeFilter}) AS errors,
               metrics.latency_quantile(metrics.merge_latency_sketches(m.latency_sketch), 0.5) AS p50_ms,
               metrics.latency_quantile(metrics.merge_latency_sketches(m.latency_sketch), 0.95) AS p95_ms,
               metrics.latency_quantile(metrics.merge_latency_sketches(m.latency_sketch), 0.99) AS p99_ms
        FROM metrics.route_metrics AS m JOIN metrics.projects AS p ON p.id = m.project_id
        WHERE p.slug = '${A}' AND m.period_start >= ${lo} AND m.period_start < ${hi} ${sketchFilter}`)
        .map((r) => ({ ...r, error_rate: r.requests ? r.errors / r.requests : null }))[0];
}

/** The numbers of a card, by their class: value (or none), previous, change, today. */
async function cardNumbers(key) {
    const card = `#summary .card[data-metric-key="${key}"]`;
    assert.ok(await page.$(card), `${card} is on the page`);
    const numbers = await numbersIn(page, card);
    const classed = await page.$$eval(`${card} [data-value]`, (els) => els.map((el) => {
        for (const c of ['card-today', 'card-previous', 'card-change', 'card-value']) if (el.closest(`.${c}`)) return c;
        return 'card-value';   // the period's other numbers (the requests card's error rate, p95)
    }));
    return numbers.map((n, i) => ({ ...n, kind: classed[i] }));
}

function assertCard(numbers, allowed, what, required = Object.keys(allowed)) {
    assertFormatted(numbers, what);
    for (const kind of required) {
        assert.ok(numbers.some((n) => n.kind === kind), `${what} has a .${kind} number`);
    }
    for (const n of numbers) {
        const expected = allowed[n.kind];
        assert.ok(expected, `${n.path}: a number of ${what} that is none of ${Object.keys(allowed).join(', ')}`);
        const v = num(n.value);
        assert.ok(expected.some((e) => (e === null ? v === null : v !== null && Math.abs(v - e) <= 1e-9 * Math.max(1, Math.abs(e)))),
            `${n.path}: ${n.value} is not the database's (${JSON.stringify(expected)})`);
    }
}

describe('the summary cards', () => {
    const now = orders(`'${LAST}'::date - 6`, `'${LAST}'::date`);
    const prev = orders(`'${LAST}'::date - 13`, `'${LAST}'::date - 7`);
    const today = sqlRows(`SELECT count(*) AS orders, count(DISTINCT status) AS statuses FROM dash_src.orders
                           WHERE org = '${A}' AND created_at >= current_date::timestamp AT TIME ZONE 'UTC'`)[0];

    test('orders_created: the orders of the last 7 sealed days, the 7 before, the change, and today so far', async () => {
        const change = now.orders - prev.orders;
        assertCard(await cardNumbers('orders_created'), {
            'card-value': [now.orders], 'card-previous': [prev.orders],
            'card-change': [change, prev.orders ? change / prev.orders : null], 'card-today': [today.orders],
        }, 'the orders_created card');
    });

    test('order_statuses (a breakdown): the distinct statuses of each period, and of today', async () => {
        const change = now.statuses - prev.statuses;
        assertCard(await cardNumbers('order_statuses'), {
            'card-value': [now.statuses], 'card-previous': [prev.statuses],
            'card-change': [change, prev.statuses ? change / prev.statuses : null], 'card-today': [today.statuses],
        }, 'the order_statuses card');
    });

    test('requests: the total, error rate and latency of the last 7 closed days, and of today', async () => {
        const week = requests(`('${LAST}'::date - 6)::timestamp AT TIME ZONE 'UTC'`, `('${LAST}'::date + 1)::timestamp AT TIME ZONE 'UTC'`);
        const before7 = requests(`('${LAST}'::date - 13)::timestamp AT TIME ZONE 'UTC'`, `('${LAST}'::date - 6)::timestamp AT TIME ZONE 'UTC'`);
        const day = requests(`current_date::timestamp AT TIME ZONE 'UTC'`, 'now()');
        const values = (r) => [r.requests, r.errors, r.error_rate, r.p50_ms, r.p95_ms, r.p99_ms];
        const changes = [week.requests - before7.requests, before7.requests ? (week.requests - before7.requests) / before7.requests : null];
        const numbers = await cardNumbers('requests');
        assertCard(numbers, { 'card-value': values(week), 'card-today': values(day), 'card-previous': values(before7), 'card-change': changes },
            'the requests card', ['card-value', 'card-today']);
        const shown = numbers.filter((n) => n.kind === 'card-value').map((n) => num(n.value));
        assert.ok(shown.includes(week.requests), `the card shows the week's ${week.requests} requests: ${shown}`);
        assert.ok(shown.some((v) => Math.abs(v - week.p95_ms) < 1e-9), `the card shows the week's p95 ${week.p95_ms}: ${shown}`);
        assert.ok(shown.some((v) => Math.abs(v - week.error_rate) < 1e-12), `the card shows the week's error rate ${week.error_rate}: ${shown}`);
    });

    test('a metric card for every metric of the project, and "today so far" is said', async () => {
        const keys = await page.$$eval('#summary .card[data-metric-key]', (els) => els.map((e) => e.dataset.metricKey).sort());
        assert.deepEqual(keys, ['order_statuses', 'orders_created', 'requests']);
        const text = await page.$eval('#summary', (e) => e.textContent);
        assert.match(text, /today so far/i);
        assert.match(text, /Orders/, 'the display name is the label');
    });
});

describe('the breakdown bars', () => {
    test('order statuses over the last 30 days: each status once, its total and share from the sealed days', async () => {
        const expected = sqlRows(`
            WITH sealed AS (SELECT d.metric_date FROM metrics.daily_metrics AS d JOIN metrics.projects AS p ON p.id = d.project_id
                            WHERE p.slug = '${A}' AND d.metric_category = 'order_statuses'
                              AND d.metric_date >= (now() - interval '30 days')::date AND d.metric_date < now()::date)
            SELECT o.status, count(*) AS total FROM sealed AS s JOIN dash_src.orders AS o
              ON o.org = '${A}' AND o.created_at >= s.metric_date::timestamp AT TIME ZONE 'UTC'
             AND o.created_at < (s.metric_date + 1)::timestamp AT TIME ZONE 'UTC'
            GROUP BY o.status ORDER BY total DESC, o.status`);
        const sum = expected.reduce((a, r) => a + r.total, 0);
        const metric = await page.$eval('#breakdown-metric', (s) => s.value);
        assert.equal(metric, 'order_statuses', 'the first breakdown metric is selected');
        const bars = await page.$$eval('#breakdown .bar[data-dimension-value]', (els) => els.map((b) => ({
            key: b.dataset.dimensionValue,
            total: b.querySelector('.bar-total')?.dataset.value,
            share: b.querySelector('.bar-share')?.dataset.value,
        })));
        assert.deepEqual(bars.map((b) => b.key).sort(), expected.map((r) => r.status).sort());
        for (const r of expected) {
            const bar = bars.find((b) => b.key === r.status);
            near(num(bar.total), r.total, `${r.status} total`);
            near(num(bar.share), r.total / sum, `${r.status} share`);
        }
        assertFormatted(await numbersIn(page, '#breakdown'), '#breakdown');
    });
});

describe('the routes table', () => {
    test('per route the requests, errors, error rate and p50/p95/p99 of the 30 days before the refresh hour', async () => {
        const hi = `date_trunc('hour', (SELECT at FROM dash_src.refreshed))`;
        const lo = `${hi} - interval '30 days'`;
        const routes = sql(`SELECT string_agg(DISTINCT method || ' ' || route, ',') FROM dash_src.requests WHERE project = '${A}'`).split(',');
        const rows = await page.$$eval('#routes tr[data-route]', (trs) => trs.map((tr) => ({
            route: tr.dataset.route,
            fields: Object.fromEntries([...tr.querySelectorAll('td[data-field][data-value]')].map((td) => [td.dataset.field, td.dataset.value])),
        })));
        assert.deepEqual(rows.map((r) => r.route).sort(), routes.sort());
        for (const route of routes) {
            const e = requests(lo, hi, route);
            const got = rows.find((r) => r.route === route).fields;
            for (const f of ['requests', 'errors', 'error_rate', 'p50_ms', 'p95_ms', 'p99_ms']) {
                assert.ok(f in got, `${route}: td[data-field=${f}]`);
                near(num(got[f]), e[f], `${route} ${f}`);
            }
        }
        assertFormatted(await numbersIn(page, '#routes'), '#routes');
    });
});

describe('the DORA keys', () => {
    test('per environment: deployments and change failure rate from the GitHub facts, the rest as stored, the level', async () => {
        const facts = sqlRows(`
            SELECT metrics.environment_tier(d.environment) AS tier,
                   count(*) FILTER (WHERE s.state = 'success') AS deployments,
                   round(100.0 * count(*) FILTER (WHERE s.state IN ('failure', 'error')) / count(*), 4) AS cfr
            FROM metrics.github_deployments AS d JOIN metrics.github_deployment_statuses AS s USING (repository, deployment_id)
            WHERE s.state IN ('success', 'failure', 'error')
              AND s.created_at >= ('${LAST}'::date - 6)::timestamp AT TIME ZONE 'UTC'
              AND s.created_at < ('${LAST}'::date + 1)::timestamp AT TIME ZONE 'UTC'
            GROUP BY 1`);
        const stored = JSON.parse(sql(`SELECT s.payload -> 'dora' FROM metrics.metrics_summary AS s JOIN metrics.projects AS p ON p.id = s.project_id
                                       WHERE p.slug = '${A}' ORDER BY s.captured_at DESC LIMIT 1`));
        const rows = await page.$$eval('#dora tr[data-environment]', (trs) => trs.map((tr) => ({
            tier: tr.dataset.environment,
            level: tr.querySelector('td[data-field=level]')?.textContent.trim(),
            fields: Object.fromEntries([...tr.querySelectorAll('td[data-field][data-value]')].map((td) => [td.dataset.field, { value: td.dataset.value, format: td.dataset.format, text: td.textContent.trim() }])),
        })));
        assert.deepEqual(rows.map((r) => r.tier).sort(), facts.map((f) => f.tier).sort());
        for (const f of facts) {
            const row = rows.find((r) => r.tier === f.tier);
            const s = stored.find((x) => x.environment === f.tier);
            near(num(row.fields.deployments?.value), f.deployments, `${f.tier} deployments`);
            near(num(row.fields.change_failure_rate?.value), Number(f.cfr), `${f.tier} change failure rate`);
            for (const key of ['lead_time_p50_hours', 'recovery_p50_hours', 'rework_rate']) {
                assert.ok(row.fields[key], `${f.tier}: td[data-field=${key}]`);
                near(num(row.fields[key].value), s[key], `${f.tier} ${key}`);
            }
            assert.match(row.level ?? '', new RegExp(s.level, 'i'), `${f.tier} level`);
            // The API gives change_failure_rate and rework_rate in percent: shown as such, never above 100%.
            for (const key of ['change_failure_rate', 'rework_rate']) {
                const shown = Number.parseFloat(row.fields[key].text.replace(/,/g, ''));
                assert.ok(!(shown > 100), `${f.tier} ${key}: ${row.fields[key].value} percent reads "${row.fields[key].text}"`);
                assert.ok(Math.abs(shown - Number(row.fields[key].value)) <= 0.5, `${f.tier} ${key}: ${row.fields[key].value} percent reads "${row.fields[key].text}"`);
            }
        }
        assertFormatted(await numbersIn(page, '#dora'), '#dora');
    });
});

describe('the page as a whole', () => {
    test('every section rendered, and no script error', async () => {
        for (const id of ['#summary', '#trend', '#breakdown', '#routes', '#dora', '#drilldown']) {
            const text = await page.$eval(id, (e) => e.textContent.trim());
            assert.ok(text.length > 0, `${id} is not blank`);
        }
        assert.equal(await page.$eval('#as-of', (e) => e.textContent.trim().length > 0), true, '#as-of says when');
        assert.deepEqual(page.problems, []);
    });
});
