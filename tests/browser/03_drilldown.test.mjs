// The drill-down table of dash-a, paged 10 at a time: next through every page and back again.
// The reference ids of all pages are the database's (metrics_drilldown, newest first, then by
// reference id), each once, in that order; the deployments are the finished deployments of the
// GitHub facts, the pull requests the merged ones shipped by a successful deployment; Prev and Next are disabled where there is no page that way.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { A, assertFormatted, launch, numbersIn, open, sqlRows, userToken, waitForState } from './lib.mjs';

let browser;
let page;
before(async () => {
    browser = await launch();
    page = await open(browser, { token: userToken([A]) });
});
after(async () => { await browser?.close(); });

const PAGE_SIZE = 10;

async function table() {
    return page.evaluate(() => ({
        ids: [...document.querySelectorAll('#drilldown tbody tr[data-reference-id]')].map((tr) => tr.dataset.referenceId),
        label: document.querySelector('#drilldown-page')?.textContent.trim(),
        prev: document.querySelector('#drilldown-prev')?.disabled,
        next: document.querySelector('#drilldown-next')?.disabled,
    }));
}

/** Clicks a paging button and waits until the table shows another page. */
async function turn(button, from) {
    await page.click(button);
    await page.waitForFunction((label) => document.querySelector('#drilldown-page')?.textContent.trim() !== label,
        { timeout: 15_000, polling: 50 }, from.label);
    await waitForState(page);
    return table();
}

async function choose(entity) {
    const value = await page.$$eval('#drilldown-type option', (opts, e) => opts.find((o) => o.value === e
        || o.value.split(/[^a-z_]/).includes(e))?.value, entity);
    assert.ok(value, `#drilldown-type has an option for ${entity}`);
    if (await page.$eval('#drilldown-type', (s) => s.value) !== value) {
        const before = await table();
        await page.select('#drilldown-type', value);
        await page.waitForFunction((ids) => {
            const now = [...document.querySelectorAll('#drilldown tbody tr[data-reference-id]')].map((tr) => tr.dataset.referenceId);
            return now.length > 0 && now.join() !== ids;
        }, { timeout: 15_000, polling: 50 }, before.ids.join());
        await waitForState(page);
    }
    return table();
}

const stored = (entity) => sqlRows(`
    SELECT d.reference_id FROM metrics.metrics_drilldown AS d JOIN metrics.projects AS p ON p.id = d.project_id
    WHERE p.slug = '${A}' AND d.entity_type = '${entity}' ORDER BY d.time_bucket DESC, d.reference_id`).map((r) => r.reference_id);

for (const entity of ['deployment', 'pull_request']) {
    describe(`paging the ${entity}s`, () => {
        test('next through every page, then back to the first: the database\'s ids, each once, in order', async () => {
            const expected = stored(entity);
            assert.ok(expected.length > 2 * PAGE_SIZE, `more than two pages of ${entity}s (${expected.length})`);
            let shown = await choose(entity);
            assert.equal(shown.label, 'Page 1');
            assert.equal(shown.prev, true, 'Prev is disabled on the first page');
            const pages = [shown.ids];
            while (!shown.next) {
                shown = await turn('#drilldown-next', shown);
                assert.equal(shown.label, `Page ${pages.length + 1}`);
                assert.equal(shown.prev, false, `Prev is enabled on page ${pages.length + 1}`);
                pages.push(shown.ids);
                assert.ok(pages.length <= 50, 'paging ends');
            }
            assert.equal(pages.length, Math.ceil(expected.length / PAGE_SIZE), 'as many pages as the rows need');
            for (const ids of pages.slice(0, -1)) assert.equal(ids.length, PAGE_SIZE);
            assert.deepEqual(pages.flat(), expected);
            assert.equal(new Set(pages.flat()).size, expected.length, 'each once');
            assertFormatted(await numbersIn(page, '#drilldown'), `#drilldown (${entity}, last page)`);

            for (let n = pages.length - 1; n >= 1; n--) {
                shown = await turn('#drilldown-prev', shown);
                assert.equal(shown.label, `Page ${n}`);
                assert.deepEqual(shown.ids, pages[n - 1], `page ${n} again, the same rows`);
                assert.equal(shown.next, false, `Next is enabled on page ${n}`);
            }
            assert.equal(shown.prev, true, 'back on the first page, Prev is disabled');
        });
    });
}

test('the deployments paged are the finished deployments of acme/service-1 in the GitHub facts', () => {
    const facts = sqlRows(`SELECT DISTINCT d.repository || '/' || d.deployment_id AS id
                           FROM metrics.github_deployments AS d JOIN metrics.github_deployment_statuses AS s USING (repository, deployment_id)
                           WHERE s.state IN ('success', 'failure', 'error') AND d.repository = 'acme/service-1'`).map((r) => r.id);
    assert.deepEqual([...stored('deployment')].sort(), facts.sort());
});

// The pull requests paged, from the GitHub facts alone (docs/read-model.md: one `owner/name#N@tier` per
// merged pull request and tier it was shipped to by a finished successful deployment). main is a
// chain of merge commits (bench/github/generate.mjs), so a deployment of the merge commit of Q ships
// every pull request merged no later than Q; a deployment's outcome is its latest success, failure
// or error. All the events lie within the drill-down's 30 days.
test('the pull requests paged are the merged pull requests of acme/service-1 shipped to a tier, each once', () => {
    const facts = sqlRows(`
        WITH outcome AS (SELECT DISTINCT ON (repository, deployment_id) repository, deployment_id, state
                         FROM metrics.github_deployment_statuses WHERE state IN ('success', 'failure', 'error')
                         ORDER BY repository, deployment_id, created_at DESC, status_id DESC),
             shipping AS (SELECT d.repository, metrics.environment_tier(d.environment) AS tier, q.merged_at AS head_merged_at
                          FROM metrics.github_deployments AS d JOIN outcome AS o USING (repository, deployment_id)
                          JOIN metrics.github_pull_requests AS q ON q.repository = d.repository AND q.merge_commit_sha = d.sha
                          WHERE o.state = 'success' AND d.repository = 'acme/service-1')
        SELECT DISTINCT p.repository || '#' || p.number || '@' || s.tier AS id
        FROM metrics.github_pull_requests AS p JOIN shipping AS s ON s.repository = p.repository AND s.head_merged_at >= p.merged_at
        WHERE p.merged_at IS NOT NULL AND s.tier IS NOT NULL`).map((r) => r.id);
    const ids = stored('pull_request');
    assert.ok(facts.length > 2 * PAGE_SIZE, `more than two pages of shipped pull requests in the facts (${facts.length})`);
    assert.equal(new Set(ids).size, ids.length, 'each pull request and tier once');
    assert.deepEqual([...ids].sort(), facts.sort());
});
