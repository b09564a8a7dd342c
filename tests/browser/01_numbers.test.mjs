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
// The start of today (UTC), whatever the cluster's TimeZone (current_date is the session's).
const TODAY = `date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;

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
        FROM metrics.route_metrics_live AS m JOIN metrics.projects AS p ON p.id = m.project_id
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
                           WHERE org = '${A}' AND created_at >= ${TODAY}`)[0];

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
        const day = requests(TODAY, 'now()');
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
                              AND d.metric_date >= (now() AT TIME ZONE 'UTC' - interval '30 days')::date AND d.metric_date < (now() AT TIME ZONE 'UTC')::date)
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

/**
 * The DORA keys of dash-a (acme/service-1) per environment tier over the summary's week,
 * computed here from the GitHub facts (github_deployments and their statuses, the pull
 * requests and their labels), as docs/development-metrics.md defines them, without the derived
 * tables or the views the extension reads them from (dora_deployments, dora_changes, the
 * dora_* views, get_dora_metrics):
 * - a deployment's outcome is its latest success / failure / error status (by time, then id),
 *   finished then;
 * - what a successful deployment ships: bench/github/generate.mjs merges every pull request into
 *   one linear main (the k-th merge's sha contains the PRs 1..k, and every deployment is of a
 *   merge sha or of the root), so a deployment of the k-th merge ships the PRs up to k that no
 *   earlier successful deployment of its environment (by creation) contained, and the first
 *   successful deployment of an environment ships nothing (its baseline);
 * - lead time: the median over the PRs shipped in the week of finished - merged_at, in hours;
 *   recovery: the median over the failures finished in the week of the time to the next
 *   successful deployment of the environment; change failure rate and rework rate: the failed /
 *   the hotfix-shipping deployments over all that finished, in percent, to 4 decimals;
 * - the level: the best-ranked row of metrics.dora_levels (latest year) whose every threshold
 *   the week meets (deployments per week = deployments; a NULL key or threshold is not judged).
 * The data has no incident (checked): incident links, their recovery and rework are not
 * computed here.
 */
function doraFacts() {
    const lo = `('${LAST}'::date - 6)::timestamp AT TIME ZONE 'UTC'`;
    const hi = `('${LAST}'::date + 1)::timestamp AT TIME ZONE 'UTC'`;
    return sqlRows(`
        WITH fin AS (
            SELECT DISTINCT ON (d.repository, d.deployment_id) d.repository, d.deployment_id, d.environment,
                   metrics.environment_tier(d.environment) AS tier, d.sha, d.created_at, s.state AS outcome, s.created_at AS finished_at
            FROM metrics.github_deployments AS d JOIN metrics.github_deployment_statuses AS s USING (repository, deployment_id)
            WHERE d.repository = 'acme/service-1' AND s.state IN ('success', 'failure', 'error')
            ORDER BY d.repository, d.deployment_id, s.created_at DESC, s.status_id DESC),
        prs AS (
            SELECT number, merged_at, merge_commit_sha, labels, row_number() OVER (ORDER BY merged_at, number) AS k
            FROM metrics.github_pull_requests WHERE repository = 'acme/service-1' AND merged_at IS NOT NULL),
        ok AS (
            SELECT f.*, coalesce(p.k, 0) AS k,
                   row_number() OVER w AS nth,
                   coalesce(max(coalesce(p.k, 0)) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS had
            FROM fin AS f LEFT JOIN prs AS p ON p.merge_commit_sha = f.sha
            WHERE f.outcome = 'success'
            WINDOW w AS (PARTITION BY f.environment ORDER BY f.created_at, f.deployment_id)),
        ships AS (
            SELECT o.tier, o.deployment_id, o.finished_at, p.number, p.merged_at, p.labels
            FROM ok AS o JOIN prs AS p ON p.k > o.had AND p.k <= o.k
            WHERE o.nth > 1),
        week AS (SELECT * FROM fin WHERE finished_at >= ${lo} AND finished_at < ${hi}),
        tiers AS (SELECT DISTINCT metrics.environment_tier(environment) AS tier FROM metrics.github_deployments
                  WHERE repository = 'acme/service-1' AND metrics.environment_tier(environment) IS NOT NULL),
        dep AS (
            SELECT w.tier, count(*) FILTER (WHERE w.outcome = 'success') AS deployments, count(*) AS finished,
                   count(*) FILTER (WHERE w.outcome <> 'success') AS failed,
                   count(*) FILTER (WHERE EXISTS (SELECT FROM ships AS s WHERE s.deployment_id = w.deployment_id
                                                  AND s.labels @> ARRAY['hotfix'])) AS rework
            FROM week AS w GROUP BY 1),
        lead AS (
            SELECT tier, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - merged_at)::float8 / 3600) AS p50
            FROM ships WHERE finished_at >= ${lo} AND finished_at < ${hi} GROUP BY 1),
        rec AS (
            SELECT w.tier, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM n.at - w.finished_at)::float8 / 3600) AS p50
            FROM week AS w
            CROSS JOIN LATERAL (SELECT min(x.finished_at) AS at FROM fin AS x WHERE x.environment = w.environment
                                AND x.outcome = 'success' AND x.finished_at > w.finished_at) AS n
            WHERE w.outcome <> 'success' AND n.at IS NOT NULL GROUP BY 1),
        keys AS (
            SELECT t.tier, coalesce(d.deployments, 0) AS deployments, l.p50 AS lead_time_p50_hours,
                   CASE WHEN d.finished > 0 THEN d.failed * 100.0 / d.finished END AS cfr,
                   r.p50 AS recovery_p50_hours,
                   CASE WHEN d.finished > 0 THEN round(d.rework * 100.0 / d.finished, 4) END AS rework_rate,
                   coalesce(d.rework, 0) AS rework
            FROM tiers AS t LEFT JOIN dep AS d USING (tier) LEFT JOIN lead AS l USING (tier) LEFT JOIN rec AS r USING (tier))
        SELECT k.tier, k.deployments, k.lead_time_p50_hours, round(k.cfr, 4) AS change_failure_rate,
               k.recovery_p50_hours, k.rework_rate, k.rework,
               (SELECT v.level FROM metrics.dora_levels AS v
                WHERE v.source_year = (SELECT max(source_year) FROM metrics.dora_levels) AND k.deployments > 0
                  AND (v.min_deploys_per_week IS NULL OR k.deployments * 7.0 / 7 >= v.min_deploys_per_week)
                  AND (v.max_lead_time_hours IS NULL OR k.lead_time_p50_hours IS NULL OR k.lead_time_p50_hours <= v.max_lead_time_hours)
                  AND (v.max_change_failure_rate IS NULL OR k.cfr IS NULL OR k.cfr <= v.max_change_failure_rate)
                  AND (v.max_recovery_hours IS NULL OR k.recovery_p50_hours IS NULL OR k.recovery_p50_hours <= v.max_recovery_hours)
                ORDER BY v.rank, v.level LIMIT 1) AS level
        FROM keys AS k ORDER BY k.tier`);
}

describe('the DORA keys', () => {
    const DORA_FIELDS = ['deployments', 'lead_time_p50_hours', 'change_failure_rate', 'recovery_p50_hours', 'rework_rate'];

    test('the data the computation below assumes: no incident, one linear main, a hotfix shipped in the week', () => {
        assert.equal(sql(`SELECT count(*) FROM metrics.github_issues WHERE 'incident' = ANY (labels)`), '0', 'no incident');
        // main: the k-th push follows the one before it and is the k-th merged PR's merge.
        assert.equal(sql(`WITH p AS (SELECT after_sha, before_sha, lag(after_sha) OVER (ORDER BY pushed_at) AS prev,
                                            row_number() OVER (ORDER BY pushed_at) AS k
                                     FROM metrics.github_pushes WHERE repository = 'acme/service-1' AND ref = 'refs/heads/main'),
                               m AS (SELECT merge_commit_sha, row_number() OVER (ORDER BY merged_at, number) AS k
                                     FROM metrics.github_pull_requests WHERE repository = 'acme/service-1' AND merged_at IS NOT NULL)
                          SELECT count(*) FROM p FULL JOIN m USING (k)
                          WHERE p.after_sha IS DISTINCT FROM m.merge_commit_sha OR (p.k > 1 AND p.before_sha <> p.prev)`), '0',
            'one linear main of merges');
        assert.equal(sql(`SELECT count(*) FROM metrics.github_deployments AS d WHERE d.repository = 'acme/service-1'
                          AND d.sha NOT IN (SELECT merge_commit_sha FROM metrics.github_pull_requests WHERE merge_commit_sha IS NOT NULL)
                          AND d.sha <> (SELECT p.before_sha FROM metrics.github_pushes AS p ORDER BY p.pushed_at LIMIT 1)`), '0',
            'every deployment is of a merge or of the root');
        assert.ok(doraFacts().some((k) => k.rework > 0), 'a deployment of the week ships the hotfix');
    });

    test('per environment: every key computed from the GitHub facts, and the level from metrics.dora_levels', async () => {
        const facts = doraFacts();
        const rows = await page.$$eval('#dora tr[data-environment]', (trs) => trs.map((tr) => ({
            tier: tr.dataset.environment,
            level: tr.querySelector('td[data-field=level]')?.textContent.trim(),
            fields: Object.fromEntries([...tr.querySelectorAll('td[data-field][data-value]')].map((td) => [td.dataset.field, { value: td.dataset.value, format: td.dataset.format, text: td.textContent.trim() }])),
        })));
        assert.deepEqual(rows.map((r) => r.tier).sort(), facts.map((f) => f.tier).sort());
        for (const f of facts) {
            const row = rows.find((r) => r.tier === f.tier);
            assert.deepEqual(Object.keys(row.fields).sort(), [...DORA_FIELDS].sort(), `${f.tier}: the numbers shown`);
            for (const key of DORA_FIELDS) {
                near(num(row.fields[key].value), f[key] === null ? null : Number(f[key]), `${f.tier} ${key}`);
            }
            const level = `${f.tier} level: the page shows "${row.level}", the database ${f.level ?? 'none'}`;
            if (f.level === null) assert.equal(row.level, '–', level);
            else assert.match(row.level ?? '', new RegExp(`^${f.level}$`, 'i'), level);
            // The API gives change_failure_rate and rework_rate in percent: shown as such, never above 100%.
            for (const key of ['change_failure_rate', 'rework_rate']) {
                if (row.fields[key].value === 'null') continue;
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
