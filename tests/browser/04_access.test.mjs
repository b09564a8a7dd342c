// Who sees what: a member of dash-a sees nothing of dash-b (its slug, name, routes and values are
// nowhere on the page) and ?project=dash-b is the forbidden message with no data; an expired
// token (caught before any call) and a token PostgREST refuses (401) show the sign-in form
// with the expired-session message; a user of no project is told so.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { A, B, formatNumber, launch, open, sql, sqlRows, userToken } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const everything = (page) => page.evaluate(() => ({
    html: document.documentElement.outerHTML,
    text: document.body.innerText,
    storage: JSON.stringify(sessionStorage),
}));

/** dash-b's own numbers as the page would print them (its orders and requests are far above dash-a's). */
function numbersOfB() {
    // Days are UTC days (metrics.timezone), whatever the cluster's TimeZone.
    const rows = sqlRows(`
        WITH t AS (SELECT (now() AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC' AS today)
        SELECT (SELECT count(*) FROM dash_src.orders, t WHERE org = '${B}' AND created_at >= today - interval '7 days' AND created_at < today) AS week_orders,
               (SELECT count(*) FROM dash_src.orders, t WHERE org = '${B}' AND created_at >= today) AS today_orders,
               (SELECT count(*) FROM dash_src.requests WHERE project = '${B}') AS requests,
               (SELECT count(*) FROM dash_src.requests, t WHERE project = '${B}' AND at >= today) AS today_requests`)[0];
    const days = sqlRows(`SELECT d.value FROM metrics.daily_metrics AS d JOIN metrics.projects AS p ON p.id = d.project_id
                          WHERE p.slug = '${B}' AND d.metric_category = 'orders_created'`).map((r) => r.value);
    return [...Object.values(rows), ...days].filter((n) => n >= 900).map((n) => formatNumber(n, 'int'));
}

describe('a member of dash-a', () => {
    test('sees nothing of dash-b: not its slug, name, route or numbers', async () => {
        const page = await open(browser, { token: userToken([A]) });
        const options = await page.$$eval('#project-select option', (os) => os.map((o) => [o.value, o.textContent.trim()]));
        assert.deepEqual(options, [[A, 'Acme Dashboard']]);
        const { html, text, storage } = await everything(page);
        for (const secret of [B, 'Globex', '/globex/secret-route', 'shipped']) {
            assert.ok(!html.includes(secret) && !storage.includes(secret), `"${secret}" is nowhere on the page`);
        }
        const numbers = numbersOfB();
        assert.ok(numbers.length > 10);
        for (const n of numbers) assert.ok(!text.includes(n), `dash-b's ${n} is not on the page`);
        await page.close();
    });

    test('?project=dash-b shows the forbidden message and no project data', async () => {
        const page = await open(browser, { token: userToken([A]), query: `project=${B}`, states: ['error'] });
        const error = await page.$eval('#error', (e) => ({ kind: e.dataset.errorKind, text: e.textContent.trim(), visible: e.offsetParent !== null }));
        assert.equal(error.kind, 'forbidden');
        assert.match(error.text, /no access to this project, or it does not exist/);
        assert.ok(error.visible, '#error is visible');
        const values = await page.$$eval('[data-value]', (els) => els.length);
        assert.equal(values, 0, 'no number of any project is shown');
        const { html } = await everything(page);
        assert.ok(!html.includes('Globex'), 'not even its name');
        await page.close();
    });

    test('a project that does not exist gives the very same message', async () => {
        const page = await open(browser, { token: userToken([A]), query: 'project=no-such-project', states: ['error'] });
        assert.equal(await page.$eval('#error', (e) => e.dataset.errorKind), 'forbidden');
        await page.close();
    });
});

describe('tokens', () => {
    test('an expired token shows the sign-in form with "Your session has expired"', async () => {
        const page = await open(browser, { token: userToken([A], { exp: Math.floor(Date.now() / 1000) - 60 }), states: ['signed-out'] });
        const message = await page.$eval('#signin-message', (e) => ({ reason: e.dataset.reason, text: e.textContent.trim() }));
        assert.equal(message.reason, 'expired');
        assert.match(message.text, /Your session has expired\. Sign in again\./);
        assert.ok(await page.$eval('#signin', (e) => e.offsetParent !== null), 'the sign-in form is shown');
        assert.equal(await page.$$eval('[data-value]', (els) => els.length), 0, 'no data');
        await page.close();
    });

    test('a token PostgREST refuses (401: a bad signature) shows the same sign-in message', async () => {
        const token = userToken([A]).replace(/.{4}$/, 'AAAA');
        const page = await open(browser, { token, states: ['signed-out'] });
        assert.equal(await page.$eval('#signin-message', (e) => e.dataset.reason), 'expired');
        await page.close();
    });

    test('a user of no project is told "Your account has no project yet."', async () => {
        const page = await open(browser, { token: userToken([]), states: ['error'] });
        const error = await page.$eval('#error', (e) => ({ kind: e.dataset.errorKind, text: e.textContent.trim() }));
        assert.equal(error.kind, 'no-projects');
        assert.match(error.text, /Your account has no project yet\./);
        assert.equal(Number(sql(`SELECT count(*) FROM metrics.projects`)), 2, 'while two projects exist');
        await page.close();
    });
});
